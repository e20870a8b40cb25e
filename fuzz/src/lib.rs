//! Helpers shared by the fuzz targets: a cursor that turns fuzzer bytes into
//! structured input, capture-file writers, an observation recorder, and the
//! MTA side of the milter protocol (which the product never needs to
//! encode, so it is written here, from the protocol's description, only to
//! check that decoding loses nothing).

use std::sync::{Arc, OnceLock};

use p0f_engine::{Engine, Observation, Sink};
use p0f_sigdb::Database;

/// Reads structured values from fuzzer bytes; past the end everything is
/// zero, so every input is a valid (if short) program.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
}

/// The built-in signature database, parsed once per fuzzing process.
pub fn builtin_db() -> Arc<Database> {
    static DB: OnceLock<Arc<Database>> = OnceLock::new();
    DB.get_or_init(|| Arc::new(Database::builtin())).clone()
}

/// Link types the engine knows, plus one it has to guess (DLT 147, USER0).
pub const LINK_TYPES: [u32; 12] = [0, 1, 9, 12, 50, 51, 105, 108, 113, 117, 276, 147];

/// Every observation and warning, rendered to text, so that two runs can be
/// compared.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Recorder {
    pub lines: Vec<String>,
}

impl Sink for Recorder {
    fn observation(&mut self, obs: &Observation<'_>) {
        let mut s = format!(
            "{} {} {}:{} {}:{} client={} {:?}",
            obs.kind,
            obs.time,
            obs.client,
            obs.client_port,
            obs.server,
            obs.server_port,
            obs.about_client,
            obs.verdict
        );
        for f in obs.fields {
            s.push_str(&format!(" {}={:?}", f.key, f.value));
        }
        self.lines.push(s);
    }

    fn warning(&mut self, message: &str) {
        self.lines.push(format!("warning {message}"));
    }
}

/// One packet to write into a capture.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    pub ts_sec: u32,
    pub ts_usec: u32,
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// Largest packet the capture writers produce (well inside every link
/// type's snapshot limit).
pub const MAX_FRAME: usize = 4096;

/// Splits fuzzer bytes into frames: per frame a time step, a length and the
/// bytes. Times only move forward, as in a real capture.
pub fn frames<'a>(c: &mut Cursor<'a>, max_frames: usize) -> Vec<Frame<'a>> {
    let mut out = Vec::new();
    let mut sec = 1_700_000_000u32;
    while !c.is_empty() && out.len() < max_frames {
        let step = c.u8();
        sec = sec.wrapping_add(u32::from(step & 0x3f));
        let usec = u32::from(c.u16()) * 15 % 1_000_000;
        let len = usize::from(c.u16()) % MAX_FRAME;
        let data = c.bytes(len);
        let extra = if step & 0x80 != 0 { 100 } else { 0 };
        out.push(Frame {
            ts_sec: sec,
            ts_usec: usec,
            wire_len: data.len() as u32 + extra,
            data,
        });
    }
    out
}

/// A classic little-endian microsecond pcap file.
pub fn write_pcap(link: u32, snaplen: u32, frames: &[Frame<'_>]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [0xa1b2_c3d4u32] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    for x in [0u32, 0, snaplen, link] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for f in frames {
        for x in [f.ts_sec, f.ts_usec, f.data.len() as u32, f.wire_len] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(f.data);
    }
    v
}

fn ng_block(v: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    v.extend_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(&total.to_le_bytes());
    v.extend_from_slice(body);
    v.resize(v.len() + padded - body.len(), 0);
    v.extend_from_slice(&total.to_le_bytes());
}

/// A little-endian pcapng file: section header, one interface (default
/// microsecond resolution), one enhanced packet block per frame.
pub fn write_pcapng(link: u32, snaplen: u32, frames: &[Frame<'_>]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    ng_block(&mut v, 0x0A0D_0D0A, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&(link as u16).to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&snaplen.to_le_bytes());
    ng_block(&mut v, 1, &idb);
    for f in frames {
        let ts = u64::from(f.ts_sec) * 1_000_000 + u64::from(f.ts_usec);
        let mut epb = Vec::new();
        for x in [
            0u32,
            (ts >> 32) as u32,
            ts as u32,
            f.data.len() as u32,
            f.wire_len,
        ] {
            epb.extend_from_slice(&x.to_le_bytes());
        }
        epb.extend_from_slice(f.data);
        ng_block(&mut v, 6, &epb);
    }
    v
}

/// Runs an engine over every packet of a capture, returning the rendered
/// observations and the packets as read.
pub fn run_capture(bytes: &[u8]) -> (Vec<String>, Vec<(i64, u32, u32, Vec<u8>)>) {
    let mut packets = Vec::new();
    let mut rec = Recorder::default();
    let Ok(mut cap) = p0f_capture::CaptureFile::from_reader(bytes) else {
        return (vec!["unreadable".into()], packets);
    };
    let mut engine = Engine::new(builtin_db(), p0f_engine::Config::default(), cap.link_type());
    while let Ok(Some(p)) = cap.next_packet() {
        packets.push((p.ts_sec, p.ts_usec, p.len, p.data.to_vec()));
        engine.process(p.ts_sec, p.ts_usec, p.len, p.data, &mut rec);
    }
    (rec.lines, packets)
}

/// MTA-side encoders for milter commands (frame data, without the length
/// and command byte).
pub mod milter_mta {
    use p0f_milter::milter::proto::{self, Command};

    fn cstr(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    /// The command byte and data an MTA would send for `c`.
    pub fn encode(c: &Command) -> (u8, Vec<u8>) {
        let mut d = Vec::new();
        let cmd = match c {
            Command::OptNeg {
                version,
                actions,
                protocol,
            } => {
                for x in [version, actions, protocol] {
                    d.extend_from_slice(&x.to_be_bytes());
                }
                proto::C_OPTNEG
            }
            Command::Macro { for_cmd, pairs } => {
                d.push(*for_cmd);
                for (k, v) in pairs {
                    cstr(&mut d, k);
                    cstr(&mut d, v);
                }
                proto::C_MACRO
            }
            Command::Connect {
                hostname,
                family,
                port,
                address,
            } => {
                cstr(&mut d, hostname);
                d.push(*family);
                if *family != b'U' {
                    d.extend_from_slice(&port.to_be_bytes());
                    cstr(&mut d, address);
                }
                proto::C_CONNECT
            }
            Command::Helo(h) => {
                cstr(&mut d, h);
                proto::C_HELO
            }
            Command::Mail(args) | Command::Rcpt(args) => {
                for a in args {
                    cstr(&mut d, a);
                }
                if matches!(c, Command::Mail(_)) {
                    proto::C_MAIL
                } else {
                    proto::C_RCPT
                }
            }
            Command::Data => proto::C_DATA,
            Command::Header { name, value } => {
                cstr(&mut d, name);
                cstr(&mut d, value);
                proto::C_HEADER
            }
            Command::Eoh => proto::C_EOH,
            Command::Body => proto::C_BODY,
            Command::EndOfMessage => proto::C_BODYEOB,
            Command::Abort => proto::C_ABORT,
            Command::Unknown => proto::C_UNKNOWN,
            Command::Quit => proto::C_QUIT,
            Command::QuitNewConnection => proto::C_QUIT_NC,
        };
        (cmd, d)
    }
}
