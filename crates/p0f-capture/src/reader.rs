//! Offline capture reader for classic pcap and pcapng files.
//!
//! Both formats are parsed by hand rather than with `pcap-parser`: they are
//! small, and what matters here is not the formats as specified but the exact
//! acceptance rules of libpcap 1.10 (`sf-pcap.c`, `sf-pcapng.c`), because
//! p0f's packet count is "packets libpcap delivered before it stopped". Every
//! check below mirrors a check libpcap makes, in the same order, so that a
//! damaged file stops at the same record.
//!
//! The reader streams through any [`std::io::Read`] with one reused buffer:
//! no per-packet allocation, memory bounded by the largest record (libpcap's
//! own limits: the per-link-type maximum snapshot length for pcap, the
//! maximum block size for pcapng).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::linktype::{adjust_snapshot, linktype_to_dlt, max_snaplen_for_dlt};

/// Errors from opening or reading a capture. The messages follow libpcap's.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// An operating-system error while opening or reading the file.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Neither a pcap nor a pcapng file.
    #[error("unknown file format")]
    UnknownFormat,
    /// The file ends in the middle of a header or record.
    #[error("{0}")]
    Truncated(String),
    /// A header or record libpcap refuses.
    #[error("{0}")]
    Invalid(String),
}

/// One packet as libpcap delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Seconds since the epoch.
    pub ts_sec: i64,
    /// Microseconds (nanosecond and other resolutions are scaled as libpcap
    /// does for a microsecond-precision `pcap_t`).
    pub ts_usec: u32,
    /// Captured length, equal to `data.len()`.
    pub caplen: u32,
    /// Original length on the wire.
    pub len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

const TCPDUMP_MAGIC: u32 = 0xa1b2_c3d4;
const KUZNETZOV_TCPDUMP_MAGIC: u32 = 0xa1b2_cd34;
const NSEC_TCPDUMP_MAGIC: u32 = 0xa1b2_3c4d;

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const BT_SHB_INSANE_MAX: u32 = 1024 * 1024;
const INITIAL_MAX_BLOCKSIZE: u32 = 16 * 1024 * 1024;
const USER_TSRESOL: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LengthsSwapped {
    Not,
    Maybe,
    Swapped,
}

#[derive(Debug)]
struct PcapState {
    hdrsize: usize,
    nsec: bool,
    lengths: LengthsSwapped,
}

#[derive(Debug, Clone, Copy)]
enum Scale {
    Pass,
    UpDec(u64),
    DownDec(u64),
    Bin,
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    tsresol: u64,
    tsoffset: u64,
    scale: Scale,
}

#[derive(Debug)]
struct NgState {
    ifaces: Vec<Iface>,
    max_blocksize: u32,
}

#[derive(Debug)]
enum Format {
    Pcap(PcapState),
    Ng(NgState),
}

/// An open capture file (or any byte stream holding one).
#[derive(Debug)]
pub struct CaptureFile<R: BufRead = BufReader<File>> {
    rdr: R,
    buf: Vec<u8>,
    /// Bytes of the reader's buffer that the last packet was read from in
    /// place; consumed at the next read.
    in_place: usize,
    fmt: Format,
    big_endian: bool,
    linktype: u32,
    dlt: u32,
    snapshot: u32,
    done: bool,
}

#[inline]
fn u16_at(b: &[u8], off: usize, be: bool) -> u16 {
    let a = [b[off], b[off + 1]];
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

#[inline]
fn u32_at(b: &[u8], off: usize, be: bool) -> u32 {
    let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Read until `buf` is full or end of file; returns the number of bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the next `n` bytes of `r` (fewer at end of file) into the start of
/// `buf` and returns how many were read; bytes past that are stale.
///
/// Records up to [`EAGER_READ`] bytes are read straight into the buffer,
/// which keeps its largest size so that it is zero-filled only when it
/// grows (a per-packet `read_to_end` cost about 60 instructions a packet).
/// Larger records (pcapng blocks can claim 16 MiB) grow the buffer only as
/// data actually arrives, so a bogus length in a short file costs no memory.
fn read_into<R: Read>(r: &mut R, buf: &mut Vec<u8>, n: u64) -> io::Result<usize> {
    if n <= EAGER_READ {
        let n = n as usize;
        if buf.len() < n {
            buf.resize(n, 0);
        }
        return read_full(r, &mut buf[..n]);
    }
    buf.clear();
    r.by_ref().take(n).read_to_end(buf)
}

/// The largest record [`read_into`] reads without growing step by step:
/// libpcap's largest snapshot length.
const EAGER_READ: u64 = 256 * 1024;

impl CaptureFile<BufReader<File>> {
    /// Open a capture file the way `pcap_open_offline` does.
    pub fn open<P: AsRef<Path>>(path: P) -> Result<Self, CaptureError> {
        let f = File::open(path)?;
        Self::from_reader(BufReader::with_capacity(256 * 1024, f))
    }
}

/// Which pcapng block kinds may appear while looking for the first IDB.
struct Cursor {
    pos: usize,
    end: usize,
}

impl Cursor {
    fn get(&mut self, n: usize, block_type: u32) -> Result<usize, CaptureError> {
        if self.end - self.pos < n {
            return Err(CaptureError::Invalid(format!(
                "block of type {block_type} in pcapng dump file is too short"
            )));
        }
        let p = self.pos;
        self.pos += n;
        Ok(p)
    }
}

impl<R: BufRead> CaptureFile<R> {
    /// Parse the file header from a reader (`pcap_fopen_offline`).
    pub fn from_reader(mut rdr: R) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let n = read_full(&mut rdr, &mut magic)?;
        if n != 4 {
            return Err(CaptureError::Truncated(format!(
                "truncated dump file; tried to read 4 file header bytes, only got {n}"
            )));
        }
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let is_pcap =
            |m: u32| m == TCPDUMP_MAGIC || m == KUZNETZOV_TCPDUMP_MAGIC || m == NSEC_TCPDUMP_MAGIC;
        if is_pcap(le) {
            Self::open_pcap(rdr, le, false)
        } else if is_pcap(be) {
            Self::open_pcap(rdr, be, true)
        } else if le == BT_SHB {
            Self::open_pcapng(rdr)
        } else {
            Err(CaptureError::UnknownFormat)
        }
    }

    fn open_pcap(mut rdr: R, magic: u32, big_endian: bool) -> Result<Self, CaptureError> {
        let mut h = [0u8; 20];
        let n = read_full(&mut rdr, &mut h)?;
        if n != 20 {
            return Err(CaptureError::Truncated(format!(
                "truncated dump file; tried to read 24 file header bytes, only got {}",
                n + 4
            )));
        }
        let major = u16_at(&h, 0, big_endian);
        let minor = u16_at(&h, 2, big_endian);
        let snaplen = u32_at(&h, 12, big_endian);
        let linktype = u32_at(&h, 16, big_endian) & 0x03FF_FFFF;
        if major < 2 {
            return Err(CaptureError::Invalid("archaic pcap savefile format".into()));
        }
        if !((major == 2 && minor <= 4) || (major == 543 && minor == 0)) {
            return Err(CaptureError::Invalid(format!(
                "unsupported pcap savefile version {major}.{minor}"
            )));
        }
        let dlt = linktype_to_dlt(linktype);
        let mut snapshot = adjust_snapshot(dlt, snaplen);
        let lengths = match major {
            2 if minor < 3 => LengthsSwapped::Swapped,
            2 if minor == 3 => LengthsSwapped::Maybe,
            543 => LengthsSwapped::Swapped,
            _ => LengthsSwapped::Not,
        };
        let hdrsize = if magic == KUZNETZOV_TCPDUMP_MAGIC {
            if dlt == crate::linktype::dlt::EN10MB {
                snapshot = snapshot.saturating_add(14).min(i32::MAX as u32);
            }
            24
        } else {
            16
        };
        Ok(CaptureFile {
            rdr,
            buf: Vec::with_capacity(2048),
            in_place: 0,
            fmt: Format::Pcap(PcapState {
                hdrsize,
                nsec: magic == NSEC_TCPDUMP_MAGIC,
                lengths,
            }),
            big_endian,
            linktype,
            dlt,
            snapshot,
            done: false,
        })
    }

    fn open_pcapng(mut rdr: R) -> Result<Self, CaptureError> {
        let mut h = [0u8; 8];
        if read_full(&mut rdr, &mut h)? != 8 {
            return Err(CaptureError::UnknownFormat);
        }
        let big_endian = if u32::from_le_bytes([h[4], h[5], h[6], h[7]]) == BYTE_ORDER_MAGIC {
            false
        } else if u32::from_be_bytes([h[4], h[5], h[6], h[7]]) == BYTE_ORDER_MAGIC {
            true
        } else {
            return Err(CaptureError::UnknownFormat);
        };
        let total_length = u32_at(&h, 0, big_endian);
        if !(28..=BT_SHB_INSANE_MAX).contains(&total_length) {
            return Err(CaptureError::Invalid(format!(
                "Section Header Block in pcapng dump file has invalid length 28 < _{total_length}_ < {BT_SHB_INSANE_MAX} (BT_SHB_INSANE_MAX)"
            )));
        }
        let mut cf = CaptureFile {
            rdr,
            buf: Vec::with_capacity(2048),
            in_place: 0,
            fmt: Format::Ng(NgState {
                ifaces: Vec::new(),
                max_blocksize: INITIAL_MAX_BLOCKSIZE,
            }),
            big_endian,
            linktype: 0,
            dlt: 0,
            snapshot: 0,
            done: false,
        };
        let rest = u64::from(total_length - 12);
        let n = read_into(&mut cf.rdr, &mut cf.buf, rest)?;
        if n as u64 != rest {
            return Err(CaptureError::Truncated(format!(
                "truncated pcapng dump file; tried to read {rest} bytes, only got {n}"
            )));
        }
        let major = u16_at(&cf.buf, 0, big_endian);
        let minor = u16_at(&cf.buf, 2, big_endian);
        if !(major == 1 && (minor == 0 || minor == 2)) {
            return Err(CaptureError::Invalid(format!(
                "unsupported pcapng savefile version {major}.{minor}"
            )));
        }
        // Skip blocks up to the first Interface Description Block.
        loop {
            let (block_type, mut cur) = match cf.read_block()? {
                None => {
                    return Err(CaptureError::Invalid(
                        "the capture file has no Interface Description Blocks".into(),
                    ))
                }
                Some(b) => b,
            };
            match block_type {
                BT_IDB => {
                    let p = cur.get(8, block_type)?;
                    let lt = u32::from(u16_at(&cf.buf, p, big_endian));
                    let snaplen = u32_at(&cf.buf, p + 4, big_endian);
                    cf.add_interface(&mut cur)?;
                    cf.linktype = lt;
                    cf.dlt = linktype_to_dlt(lt);
                    cf.snapshot = adjust_snapshot(cf.dlt, snaplen);
                    let need = 8u64 + 20 + u64::from(max_snaplen_for_dlt(cf.dlt)) + 131_072 + 4;
                    if let Format::Ng(ng) = &mut cf.fmt {
                        if need > u64::from(ng.max_blocksize) {
                            ng.max_blocksize = need.min(u64::from(u32::MAX)) as u32;
                        }
                    }
                    return Ok(cf);
                }
                BT_EPB | BT_SPB | BT_PB => return Err(CaptureError::Invalid(
                    "the capture file has a packet block before any Interface Description Blocks"
                        .into(),
                )),
                _ => {}
            }
        }
    }

    /// The DLT value, as `pcap_datalink` reports it.
    pub fn link_type(&self) -> u32 {
        self.dlt
    }

    /// The LINKTYPE value stored in the file (for pcapng, of the first
    /// interface).
    pub fn file_link_type(&self) -> u32 {
        self.linktype
    }

    /// Whether the file's byte order differs from this machine's (libpcap's
    /// `swapped`). It matters to filters on DLT_NULL, whose header is in the
    /// capturing host's byte order.
    pub fn is_swapped(&self) -> bool {
        self.big_endian != cfg!(target_endian = "big")
    }

    /// Whether the file (or current pcapng section) is big-endian.
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The snapshot length libpcap reports (`pcap_snapshot`).
    pub fn snaplen(&self) -> u32 {
        self.snapshot
    }

    /// Whether this is a pcapng file.
    pub fn is_pcapng(&self) -> bool {
        matches!(self.fmt, Format::Ng(_))
    }

    /// The next packet; `Ok(None)` at the end of the file. An error ends the
    /// capture the way libpcap does (p0f then stops silently); after an error
    /// or the end, further calls return `Ok(None)`.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let r = match self.fmt {
            Format::Pcap(_) => self.next_pcap(),
            Format::Ng(_) => self.next_pcapng(),
        };
        match r {
            Ok(Some((hdr, at))) => {
                let data = match at {
                    Data::Record(start) => &self.buf[start..start + hdr.caplen as usize],
                    Data::InPlace(start) => {
                        // Still buffered: fill_buf returns the same bytes.
                        let avail = self.rdr.fill_buf()?;
                        &avail[start..start + hdr.caplen as usize]
                    }
                };
                Ok(Some(Packet {
                    ts_sec: hdr.ts_sec,
                    ts_usec: hdr.ts_usec,
                    caplen: hdr.caplen,
                    len: hdr.len,
                    data,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    fn next_pcap(&mut self) -> Result<Option<(Hdr, Data)>, CaptureError> {
        let Format::Pcap(st) = &self.fmt else {
            unreachable!()
        };
        let hdrsize = st.hdrsize;
        self.rdr.consume(std::mem::take(&mut self.in_place));
        // Most records lie whole in the reader's buffer: read them in place,
        // without copying header or data (a copy each cost a tenth of the
        // instructions spent on a packet).
        let avail = self.rdr.fill_buf()?;
        if avail.len() >= hdrsize {
            let rec = RecordHeader::decode(&avail[..hdrsize], st, self.big_endian)?;
            rec.check(self.dlt, self.snapshot)?;
            let end = hdrsize + rec.caplen as usize;
            if rec.caplen <= self.snapshot && avail.len() >= end {
                self.in_place = end;
                return Ok(Some((rec.hdr(rec.caplen), Data::InPlace(hdrsize))));
            }
        }
        let mut h = [0u8; 24];
        let n = read_full(&mut self.rdr, &mut h[..hdrsize])?;
        if n != hdrsize {
            if n == 0 {
                return Ok(None);
            }
            return Err(CaptureError::Truncated(format!(
                "truncated dump file; tried to read {hdrsize} header bytes, only got {n}"
            )));
        }
        let rec = RecordHeader::decode(&h[..hdrsize], st, self.big_endian)?;
        rec.check(self.dlt, self.snapshot)?;
        let mut caplen = rec.caplen;
        if caplen > self.snapshot {
            let snap = u64::from(self.snapshot);
            let n = read_into(&mut self.rdr, &mut self.buf, snap)?;
            if n as u64 != snap {
                return Err(CaptureError::Truncated(format!(
                    "truncated dump file; tried to read {snap} captured bytes, only got {n}"
                )));
            }
            let discard = u64::from(caplen - self.snapshot);
            let got = io::copy(&mut self.rdr.by_ref().take(discard), &mut io::sink())?;
            if got != discard {
                return Err(CaptureError::Truncated(format!(
                    "truncated dump file; tried to read {caplen} captured bytes, only got {}",
                    snap + got
                )));
            }
            caplen = self.snapshot;
        } else {
            let n = read_into(&mut self.rdr, &mut self.buf, u64::from(caplen))?;
            if n as u64 != u64::from(caplen) {
                return Err(CaptureError::Truncated(format!(
                    "truncated dump file; tried to read {caplen} captured bytes, only got {n}"
                )));
            }
        }
        Ok(Some((rec.hdr(caplen), Data::Record(0))))
    }

    /// libpcap's `read_block`: the block body (after type and length, without
    /// the trailer) is left in `self.buf`; returns its type and a cursor.
    fn read_block(&mut self) -> Result<Option<(u32, Cursor)>, CaptureError> {
        let be = self.big_endian;
        let mut h = [0u8; 8];
        let n = read_full(&mut self.rdr, &mut h)?;
        if n == 0 {
            return Ok(None);
        }
        if n != 8 {
            return Err(CaptureError::Truncated(format!(
                "truncated pcapng dump file; tried to read 8 bytes, only got {n}"
            )));
        }
        let block_type = u32_at(&h, 0, be);
        let total_length = u32_at(&h, 4, be);
        if total_length < 12 {
            return Err(CaptureError::Invalid(format!(
                "block in pcapng dump file has a length of {total_length} < 12"
            )));
        }
        if total_length & 3 != 0 {
            return Err(CaptureError::Invalid(format!(
                "block in pcapng dump file has a length of {total_length} that is not a multiple of 4"
            )));
        }
        let max = match &self.fmt {
            Format::Ng(ng) => ng.max_blocksize,
            Format::Pcap(_) => unreachable!(),
        };
        if total_length > max {
            return Err(CaptureError::Invalid(format!(
                "pcapng block size {total_length} > maximum {max}"
            )));
        }
        let rest = u64::from(total_length - 8);
        let n = read_into(&mut self.rdr, &mut self.buf, rest)?;
        if n as u64 != rest {
            return Err(CaptureError::Truncated(format!(
                "truncated pcapng dump file; tried to read {rest} bytes, only got {n}"
            )));
        }
        let end = rest as usize - 4;
        if u32_at(&self.buf, end, be) != total_length {
            return Err(CaptureError::Invalid(
                "block total length in header and trailer don't match".into(),
            ));
        }
        Ok(Some((block_type, Cursor { pos: 0, end })))
    }

    /// libpcap's `add_interface` with `process_idb_options`.
    fn add_interface(&mut self, cur: &mut Cursor) -> Result<(), CaptureError> {
        const IDB: u32 = BT_IDB;
        let be = self.big_endian;
        let mut tsresol: u64 = 1_000_000;
        let mut tsoffset: u64 = 0;
        let mut is_binary = false;
        let mut saw_tsresol = false;
        let mut saw_tsoffset = false;
        while cur.pos != cur.end {
            let p = cur.get(4, IDB)?;
            let code = u16_at(&self.buf, p, be);
            let olen = u16_at(&self.buf, p + 2, be);
            let padded = usize::from(olen).div_ceil(4) * 4;
            let v = cur.get(padded, IDB)?;
            match code {
                0 => {
                    if olen != 0 {
                        return Err(CaptureError::Invalid(format!(
                            "Interface Description Block has opt_endofopt option with length {olen} != 0"
                        )));
                    }
                    break;
                }
                9 => {
                    if olen != 1 {
                        return Err(CaptureError::Invalid(format!(
                            "Interface Description Block has if_tsresol option with length {olen} != 1"
                        )));
                    }
                    if saw_tsresol {
                        return Err(CaptureError::Invalid(
                            "Interface Description Block has more than one if_tsresol option"
                                .into(),
                        ));
                    }
                    saw_tsresol = true;
                    let r = self.buf[v];
                    if r & 0x80 != 0 {
                        let shift = r & 0x7f;
                        if shift > 63 {
                            return Err(CaptureError::Invalid(format!(
                                "Interface Description Block if_tsresol option resolution 2^-{shift} is too high"
                            )));
                        }
                        is_binary = true;
                        tsresol = 1u64 << shift;
                    } else {
                        if r > 19 {
                            return Err(CaptureError::Invalid(format!(
                                "Interface Description Block if_tsresol option resolution 10^-{r} is too high"
                            )));
                        }
                        is_binary = false;
                        tsresol = 10u64.pow(u32::from(r));
                    }
                }
                14 => {
                    if olen != 8 {
                        return Err(CaptureError::Invalid(format!(
                            "Interface Description Block has if_tsoffset option with length {olen} != 8"
                        )));
                    }
                    if saw_tsoffset {
                        return Err(CaptureError::Invalid(
                            "Interface Description Block has more than one if_tsoffset option"
                                .into(),
                        ));
                    }
                    saw_tsoffset = true;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&self.buf[v..v + 8]);
                    tsoffset = if be {
                        u64::from_be_bytes(a)
                    } else {
                        u64::from_le_bytes(a)
                    };
                }
                _ => {}
            }
        }
        let scale = if tsresol == USER_TSRESOL {
            Scale::Pass
        } else if is_binary {
            Scale::Bin
        } else if tsresol > USER_TSRESOL {
            Scale::DownDec(tsresol / USER_TSRESOL)
        } else {
            Scale::UpDec(USER_TSRESOL / tsresol)
        };
        if let Format::Ng(ng) = &mut self.fmt {
            ng.ifaces.push(Iface {
                tsresol,
                tsoffset,
                scale,
            });
        }
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<(Hdr, Data)>, CaptureError> {
        let be = self.big_endian;
        let (interface_id, caplen, len, t, mut cur, bt) = loop {
            let Some((bt, mut cur)) = self.read_block()? else {
                return Ok(None);
            };
            match bt {
                BT_EPB => {
                    let p = cur.get(20, bt)?;
                    let b = &self.buf;
                    let t =
                        (u64::from(u32_at(b, p + 4, be)) << 32) | u64::from(u32_at(b, p + 8, be));
                    break (
                        u32_at(b, p, be),
                        u32_at(b, p + 12, be),
                        u32_at(b, p + 16, be),
                        t,
                        cur,
                        bt,
                    );
                }
                BT_SPB => {
                    let p = cur.get(4, bt)?;
                    let len = u32_at(&self.buf, p, be);
                    break (0, len.min(self.snapshot), len, 0, cur, bt);
                }
                BT_PB => {
                    let p = cur.get(20, bt)?;
                    let b = &self.buf;
                    let t =
                        (u64::from(u32_at(b, p + 4, be)) << 32) | u64::from(u32_at(b, p + 8, be));
                    let iface = u32::from(u16_at(b, p, be));
                    break (
                        iface,
                        u32_at(b, p + 12, be),
                        u32_at(b, p + 16, be),
                        t,
                        cur,
                        bt,
                    );
                }
                BT_IDB => {
                    let p = cur.get(8, bt)?;
                    let lt = u32::from(u16_at(&self.buf, p, be));
                    let snaplen = u32_at(&self.buf, p + 4, be);
                    // libpcap 1.10 compares the first interface's DLT with
                    // this interface's raw LINKTYPE.
                    if self.dlt != lt {
                        return Err(CaptureError::Invalid(format!(
                            "an interface has a type {lt} different from the type of the first interface"
                        )));
                    }
                    if self.snapshot != adjust_snapshot(self.dlt, snaplen) {
                        return Err(CaptureError::Invalid(format!(
                            "an interface has a snapshot length {snaplen} different from the snapshot length of the first interface"
                        )));
                    }
                    self.add_interface(&mut cur)?;
                }
                BT_SHB => {
                    let p = cur.get(16, bt)?;
                    let bom = u32_at(&self.buf, p, be);
                    if bom == BYTE_ORDER_MAGIC.swap_bytes() {
                        return Err(CaptureError::Invalid(
                            "the file has sections with different byte orders".into(),
                        ));
                    }
                    if bom != BYTE_ORDER_MAGIC {
                        return Err(CaptureError::Invalid(
                            "the file has a section with a bad byte order magic field".into(),
                        ));
                    }
                    let major = u16_at(&self.buf, p + 4, be);
                    if major != 1 {
                        return Err(CaptureError::Invalid(format!(
                            "unknown pcapng savefile major version number {major}"
                        )));
                    }
                    if let Format::Ng(ng) = &mut self.fmt {
                        ng.ifaces.clear();
                    }
                }
                _ => {}
            }
        };
        let Format::Ng(ng) = &self.fmt else {
            unreachable!()
        };
        let Some(iface) = ng.ifaces.get(interface_id as usize).copied() else {
            return Err(CaptureError::Invalid(format!(
                "a packet arrived on interface {interface_id}, but there's no Interface Description Block for that interface"
            )));
        };
        if caplen > self.snapshot {
            return Err(CaptureError::Invalid(format!(
                "invalid packet capture length {caplen}, bigger than snaplen of {}",
                self.snapshot
            )));
        }
        let sec = (t / iface.tsresol).wrapping_add(iface.tsoffset);
        let mut frac = t % iface.tsresol;
        match iface.scale {
            Scale::Pass => {}
            Scale::UpDec(f) => frac = frac.wrapping_mul(f),
            Scale::DownDec(f) => frac /= f,
            Scale::Bin => frac = frac.wrapping_mul(USER_TSRESOL) / iface.tsresol,
        }
        let start = cur.get(caplen as usize, bt)?;
        Ok(Some((
            Hdr {
                ts_sec: sec as i64,
                ts_usec: frac as u32,
                caplen,
                len,
            },
            Data::Record(start),
        )))
    }
}

/// Where a packet's bytes are.
enum Data {
    /// In `CaptureFile::buf`, from this offset.
    Record(usize),
    /// In the reader's buffer, from this offset (see `in_place`).
    InPlace(usize),
}

/// A classic pcap record header, decoded as libpcap decodes it.
struct RecordHeader {
    ts_sec: i64,
    usec: i64,
    caplen: u32,
    len: u32,
}

impl RecordHeader {
    /// Decodes the first 16 bytes of `h` (the fields every pcap variant
    /// shares); `h` is at least that long.
    fn decode(h: &[u8], st: &PcapState, big_endian: bool) -> Result<RecordHeader, CaptureError> {
        let Some(h) = h.first_chunk::<16>() else {
            return Err(CaptureError::Invalid("short pcap record header".into()));
        };
        let word = |i: usize| {
            let b = [h[i], h[i + 1], h[i + 2], h[i + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        // libpcap 1.10 reads the time stamp fields as signed 32-bit values,
        // but its byte-swapping macro yields unsigned ones: the sign extends
        // only for files in the host's byte order.
        let widen = |v: u32| {
            if big_endian != cfg!(target_endian = "big") {
                i64::from(v)
            } else {
                i64::from(v as i32)
            }
        };
        let ts_sec = widen(word(0));
        let mut usec = widen(word(4));
        let mut caplen = word(8);
        let mut len = word(12);
        if st.nsec {
            usec /= 1000;
        }
        match st.lengths {
            LengthsSwapped::Not => {}
            LengthsSwapped::Maybe if caplen <= len => {}
            LengthsSwapped::Maybe | LengthsSwapped::Swapped => {
                std::mem::swap(&mut caplen, &mut len)
            }
        }
        Ok(RecordHeader {
            ts_sec,
            usec,
            caplen,
            len,
        })
    }

    /// libpcap's limit on the captured length.
    fn check(&self, dlt: u32, snapshot: u32) -> Result<(), CaptureError> {
        let caplen = self.caplen;
        let max = max_snaplen_for_dlt(dlt);
        if caplen > max {
            return Err(CaptureError::Invalid(if caplen > snapshot {
                format!("invalid packet capture length {caplen}, bigger than snaplen of {snapshot}")
            } else {
                format!("invalid packet capture length {caplen}, bigger than maximum of {max}")
            }));
        }
        Ok(())
    }

    /// The header of the packet handed out, with `caplen` bytes.
    fn hdr(&self, caplen: u32) -> Hdr {
        Hdr {
            ts_sec: self.ts_sec,
            ts_usec: self.usec as u32,
            caplen,
            len: self.len,
        }
    }
}

struct Hdr {
    ts_sec: i64,
    ts_usec: u32,
    caplen: u32,
    len: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn pcap(
        magic: u32,
        linktype: u32,
        snaplen: u32,
        recs: &[(u32, u32, u32, u32, &[u8])],
    ) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&magic.to_le_bytes());
        f.extend_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(&4u16.to_le_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&snaplen.to_le_bytes());
        f.extend_from_slice(&linktype.to_le_bytes());
        for (s, u, cl, l, d) in recs {
            for v in [s, u, cl, l] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend_from_slice(d);
        }
        f
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = 12 + body.len() as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&[0xff; 8]);
        block(BT_SHB, &body)
    }

    fn idb(linktype: u16, opts: &[u8]) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(opts);
        block(BT_IDB, &body)
    }

    fn epb(iface: u32, t: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for v in [
            iface,
            (t >> 32) as u32,
            t as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(data);
        body.resize((body.len() + 3) & !3, 0);
        block(BT_EPB, &body)
    }

    fn all(f: Vec<u8>) -> (Vec<(i64, u32, u32, u32)>, bool) {
        let mut cf = CaptureFile::from_reader(Cursor::new(f)).unwrap();
        let mut v = Vec::new();
        loop {
            match cf.next_packet() {
                Ok(Some(p)) => v.push((p.ts_sec, p.ts_usec, p.caplen, p.len)),
                Ok(None) => return (v, false),
                Err(_) => return (v, true),
            }
        }
    }

    #[test]
    fn pcap_basics() {
        let f = pcap(
            NSEC_TCPDUMP_MAGIC,
            101,
            0,
            &[(5, 123_456_789, 2, 60, &[1, 2])],
        );
        let cf = CaptureFile::from_reader(Cursor::new(f.clone())).unwrap();
        assert_eq!(cf.link_type(), 12);
        assert_eq!(cf.snaplen(), 262_144);
        assert_eq!(all(f), (vec![(5, 123_456, 2, 60)], false));
        // caplen above the file's snaplen but within the maximum: truncated.
        let f = pcap(
            TCPDUMP_MAGIC,
            1,
            2,
            &[(1, 2, 4, 4, &[1, 2, 3, 4]), (3, 4, 1, 1, &[9])],
        );
        assert_eq!(all(f), (vec![(1, 2, 2, 4), (3, 4, 1, 1)], false));
        // caplen above 262144: error.
        let f = pcap(TCPDUMP_MAGIC, 1, 0, &[(1, 2, 262_145, 262_145, &[])]);
        assert_eq!(all(f), (vec![], true));
        // Truncated record data, and a partial record header.
        let f = pcap(TCPDUMP_MAGIC, 1, 0, &[(1, 2, 4, 4, &[1, 2])]);
        assert_eq!(all(f), (vec![], true));
        let mut f = pcap(TCPDUMP_MAGIC, 1, 0, &[(1, 2, 1, 1, &[1])]);
        f.extend_from_slice(&[0; 5]);
        assert_eq!(all(f), (vec![(1, 2, 1, 1)], true));
        // Zero-length record.
        let f = pcap(TCPDUMP_MAGIC, 1, 0, &[(1, 2, 0, 0, &[])]);
        assert_eq!(all(f), (vec![(1, 2, 0, 0)], false));
        // Too short for a header; unknown magic.
        assert!(CaptureFile::from_reader(Cursor::new(vec![0xd4, 0xc3])).is_err());
        assert!(matches!(
            CaptureFile::from_reader(Cursor::new(vec![0; 24])),
            Err(CaptureError::UnknownFormat)
        ));
    }

    #[test]
    fn pcap_kuznetzov() {
        let mut f = pcap(KUZNETZOV_TCPDUMP_MAGIC, 1, 100, &[]);
        for v in [7u32, 8, 1, 1, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.push(0xab);
        assert_eq!(all(f), (vec![(7, 8, 1, 1)], false));
    }

    #[test]
    fn pcapng_timestamps_and_sections() {
        // if_tsresol 10^-9 and if_tsoffset 100.
        let mut opts = vec![9, 0, 1, 0, 9, 0, 0, 0, 14, 0, 8, 0];
        opts.extend_from_slice(&100u64.to_le_bytes());
        opts.extend_from_slice(&[0, 0, 0, 0]);
        let mut f = shb();
        f.extend(idb(1, &opts));
        f.extend(epb(0, 1_500_000_123, &[1, 2, 3]));
        // A second section with binary resolution 2^-10.
        f.extend(shb());
        f.extend(idb(1, &[9, 0, 1, 0, 0x8a, 0, 0, 0]));
        f.extend(epb(0, 2048 + 512, &[4]));
        // Packet on a missing interface: error.
        f.extend(epb(3, 0, &[5]));
        assert_eq!(
            all(f),
            (vec![(101, 500_000, 3, 3), (2, 500_000, 1, 1)], true)
        );
    }

    #[test]
    fn pcapng_interface_type_rules() {
        // A second interface of another type stops the read.
        let mut f = shb();
        f.extend(idb(1, &[]));
        f.extend(epb(0, 0, &[1]));
        f.extend(idb(113, &[]));
        f.extend(epb(1, 0, &[1]));
        assert_eq!(all(f).0.len(), 1);
        // LINKTYPE_RAW: a second (identical) interface is refused too,
        // because libpcap compares DLT 12 with LINKTYPE 101.
        let mut f = shb();
        f.extend(idb(101, &[]));
        f.extend(epb(0, 0, &[0x45]));
        f.extend(idb(101, &[]));
        let (v, err) = all(f);
        assert_eq!((v.len(), err), (1, true));
        // Skipped unknown blocks; no IDB at all is an open error.
        let mut f = shb();
        f.extend(block(0x0bad, &[0; 8]));
        assert!(CaptureFile::from_reader(Cursor::new(f)).is_err());
    }
}
