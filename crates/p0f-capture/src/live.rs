//! Live capture through libpcap, loaded at run time.
//!
//! As with user filters (see `bpf.rs`), nothing links against libpcap: the
//! shared library is opened with `dlopen` when a live capture is asked for,
//! so building and offline work never need it, and a missing runtime is a
//! clear error naming the package to install.
//!
//! # How packets reach the caller, and why
//!
//! On Linux, libpcap (1.10 in Debian 12) reads from a packet socket's
//! memory-mapped ring. The ring's layout depends on the mode:
//!
//! * **Immediate mode** makes libpcap use `TPACKET_V2`, whose ring has fixed
//!   frames each as large as the snapshot length allows. With a 65535-byte
//!   snapshot on an interface with segmentation offload (loopback, and most
//!   NICs) a frame takes 64 KiB, so libpcap's default 2 MiB buffer holds
//!   only 32 frames. On loopback every packet is seen twice (outgoing and
//!   incoming; libpcap drops the outgoing copy in user space), so the ring
//!   holds 16 packets. A burst larger than that overflows the ring before a
//!   reader that takes one packet per wake-up can empty it: the kernel drops
//!   the rest (counted in `pcap_stats`), which is why earlier versions of
//!   this module lost all but 16 packets of a burst.
//! * **Block mode** (`TPACKET_V3`, libpcap's default without immediate
//!   mode, and what p0f 3.09b gets) packs packets of any size densely into
//!   blocks; a block is handed to the reader when it is full or when its
//!   retire timeout expires. The same 2 MiB then holds thousands of SYNs.
//!
//! So the handle is opened in block mode. A block is libpcap's 256 KiB
//! (one `MAXIMUM_SNAPLEN`), and the kernel hands over a block that holds any
//! packet when the block timeout expires, full or not. So a ring fed less
//! than a block per timeout holds *blocks x timeout* of traffic, whatever
//! its size in bytes: that is how long the reader may be kept off the CPU
//! before the kernel drops packets (measured with `bench/capture-stall.sh`
//! at 2,000 SYNs/s: 16 MiB at 1 ms held 60 ms, p0f 3.09b's 2 MiB at 5 ms
//! 34 ms). The defaults are p0f's 5 ms, so that a packet waits no longer
//! for the reader than under p0f, and 32 MiB (128 blocks): 640 ms of light
//! traffic (633 measured), and at rates that fill a block within the
//! timeout (about 1,600 SYNs a block, so some 330,000 SYNs/s) the ring's
//! 200,000 SYNs. The reader
//! is non-blocking: [`LiveCapture::drain`] hands every packet that is ready
//! to a callback (`pcap_dispatch`, without libpcap's per-packet copy of
//! `pcap_next_ex`), and only when nothing is ready does the caller wait with
//! [`LiveCapture::wait_ready`], whose timeout exists only so that the loop
//! notices a stop request; it never delays a packet that has arrived.

use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use libloading::Library;

/// Errors from opening or reading a live capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// libpcap's shared library could not be loaded or lacks a function.
    #[error(
        "libpcap runtime not found (install the Debian package libpcap0.8, \
         libpcap0.8t64 on newer releases): {0}"
    )]
    LibpcapNotFound(String),
    /// libpcap rejected the filter expression; carries libpcap's message.
    #[error("{0}")]
    Syntax(String),
    /// Any other libpcap failure, with libpcap's message.
    #[error("{0}")]
    Pcap(String),
}

#[repr(C)]
struct PcapAddr {
    next: *mut PcapAddr,
    addr: *mut libc::sockaddr,
    netmask: *mut libc::sockaddr,
    broadaddr: *mut libc::sockaddr,
    dstaddr: *mut libc::sockaddr,
}

#[repr(C)]
struct PcapIf {
    next: *mut PcapIf,
    name: *mut c_char,
    description: *mut c_char,
    addresses: *mut PcapAddr,
    flags: u32,
}

struct Api {
    create: unsafe extern "C" fn(*const c_char, *mut c_char) -> *mut PcapT,
    set_snaplen: unsafe extern "C" fn(*mut PcapT, c_int) -> c_int,
    set_promisc: unsafe extern "C" fn(*mut PcapT, c_int) -> c_int,
    set_timeout: unsafe extern "C" fn(*mut PcapT, c_int) -> c_int,
    activate: unsafe extern "C" fn(*mut PcapT) -> c_int,
    datalink: unsafe extern "C" fn(*mut PcapT) -> c_int,
    compile: unsafe extern "C" fn(*mut PcapT, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
    setfilter: unsafe extern "C" fn(*mut PcapT, *mut BpfProgram) -> c_int,
    freecode: unsafe extern "C" fn(*mut BpfProgram),
    set_buffer_size: unsafe extern "C" fn(*mut PcapT, c_int) -> c_int,
    dispatch: unsafe extern "C" fn(*mut PcapT, c_int, PcapHandler, *mut u8) -> c_int,
    stats: unsafe extern "C" fn(*mut PcapT, *mut PcapStat) -> c_int,
    setnonblock: unsafe extern "C" fn(*mut PcapT, c_int, *mut c_char) -> c_int,
    get_selectable_fd: unsafe extern "C" fn(*mut PcapT) -> c_int,
    geterr: unsafe extern "C" fn(*mut PcapT) -> *mut c_char,
    statustostr: unsafe extern "C" fn(c_int) -> *const c_char,
    findalldevs: unsafe extern "C" fn(*mut *mut PcapIf, *mut c_char) -> c_int,
    freealldevs: unsafe extern "C" fn(*mut PcapIf),
    close: unsafe extern "C" fn(*mut PcapT),
}

use crate::libpcap::{
    BpfProgram, PcapPkthdr, PcapT, ERRBUF_SIZE as ERRBUF, NETMASK_UNKNOWN as PCAP_NETMASK_UNKNOWN,
};

/// `pcap_handler`: the per-packet callback of `pcap_dispatch`.
type PcapHandler = unsafe extern "C" fn(*mut u8, *const PcapPkthdr, *const u8);

/// `struct pcap_stat` (the Unix layout; pcap/pcap.h).
#[repr(C)]
#[derive(Default)]
struct PcapStat {
    ps_recv: c_uint,
    ps_drop: c_uint,
    ps_ifdrop: c_uint,
}

/// Resolves the symbols this module needs from the shared library.
fn load() -> Result<Api, String> {
    let lib = crate::libpcap::library()?;
    resolve(lib).map_err(|e| format!("libpcap: {e}"))
}

fn resolve(lib: &'static Library) -> Result<Api, libloading::Error> {
    // SAFETY: each signature matches libpcap's public API (pcap/pcap.h).
    unsafe {
        Ok(Api {
            create: *lib.get(b"pcap_create\0")?,
            set_snaplen: *lib.get(b"pcap_set_snaplen\0")?,
            set_promisc: *lib.get(b"pcap_set_promisc\0")?,
            set_timeout: *lib.get(b"pcap_set_timeout\0")?,
            activate: *lib.get(b"pcap_activate\0")?,
            datalink: *lib.get(b"pcap_datalink\0")?,
            compile: *lib.get(b"pcap_compile\0")?,
            setfilter: *lib.get(b"pcap_setfilter\0")?,
            freecode: *lib.get(b"pcap_freecode\0")?,
            set_buffer_size: *lib.get(b"pcap_set_buffer_size\0")?,
            dispatch: *lib.get(b"pcap_dispatch\0")?,
            stats: *lib.get(b"pcap_stats\0")?,
            setnonblock: *lib.get(b"pcap_setnonblock\0")?,
            get_selectable_fd: *lib.get(b"pcap_get_selectable_fd\0")?,
            geterr: *lib.get(b"pcap_geterr\0")?,
            statustostr: *lib.get(b"pcap_statustostr\0")?,
            findalldevs: *lib.get(b"pcap_findalldevs\0")?,
            freealldevs: *lib.get(b"pcap_freealldevs\0")?,
            close: *lib.get(b"pcap_close\0")?,
        })
    }
}

fn api() -> Result<&'static Api, LiveError> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load)
        .as_ref()
        .map_err(|e| LiveError::LibpcapNotFound(e.clone()))
}

fn errbuf_text(buf: &[c_char; ERRBUF]) -> String {
    // SAFETY: libpcap NUL-terminates its error buffer; ours starts zeroed
    // and its last byte is never written by us.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// One network interface as libpcap lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
}

/// The interfaces libpcap can capture on (`pcap_findalldevs`), in its order.
pub fn list_interfaces() -> Result<Vec<Interface>, LiveError> {
    let api = api()?;
    let mut errbuf = [0 as c_char; ERRBUF];
    let mut head: *mut PcapIf = std::ptr::null_mut();
    // SAFETY: findalldevs fills `head` with a list we free below.
    if unsafe { (api.findalldevs)(&mut head, errbuf.as_mut_ptr()) } != 0 {
        return Err(LiveError::Pcap(format!(
            "pcap_findalldevs: {}",
            errbuf_text(&errbuf)
        )));
    }
    let mut out = Vec::new();
    let mut dev = head;
    // SAFETY: walking libpcap's list as documented; strings are C strings
    // and sockaddrs carry their family.
    unsafe {
        while !dev.is_null() {
            let d = &*dev;
            let name = if d.name.is_null() {
                String::new()
            } else {
                CStr::from_ptr(d.name).to_string_lossy().into_owned()
            };
            let description = (!d.description.is_null())
                .then(|| CStr::from_ptr(d.description).to_string_lossy().into_owned());
            let mut addresses = Vec::new();
            let mut a = d.addresses;
            while !a.is_null() {
                if let Some(ip) = sockaddr_ip((*a).addr) {
                    addresses.push(ip);
                }
                a = (*a).next;
            }
            out.push(Interface {
                name,
                description,
                addresses,
            });
            dev = d.next;
        }
        if !head.is_null() {
            (api.freealldevs)(head);
        }
    }
    Ok(out)
}

/// # Safety
/// `sa` is null or points to a sockaddr of the size its family implies.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    match c_int::from((*sa).sa_family) {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// The interface used without `-i`: the first one libpcap lists (libpcap
/// orders the best candidates first, which is what p0f's
/// `pcap_lookupdev` returned).
pub fn default_interface() -> Result<String, LiveError> {
    list_interfaces()?
        .into_iter()
        .next()
        .map(|i| i.name)
        .ok_or_else(|| LiveError::Pcap("no capture interface found (try -L)".into()))
}

/// libpcap's TPACKET_V3 block: one `MAXIMUM_SNAPLEN`, whatever the snap
/// length, so a ring holds its size over this many blocks.
pub const BLOCK_BYTES: u32 = 256 << 10;

/// The capture ring's default size in MiB: 128 of libpcap's 256 KiB blocks
/// (see the module documentation for why the block count matters).
pub const DEFAULT_BUFFER_MIB: u32 = 32;

/// The default block timeout, p0f 3.09b's: no packet waits longer than
/// this, and with 128 blocks a stalled reader loses nothing of light
/// traffic for about 640 ms.
pub const DEFAULT_BLOCK_TIMEOUT_MS: u32 = 5;

/// Options for [`LiveCapture::open`].
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub promiscuous: bool,
    pub snaplen: i32,
    /// The kernel ring's size in bytes (`pcap_set_buffer_size`).
    pub buffer_bytes: i32,
    /// How long the kernel may hold a partly filled block, in milliseconds
    /// (`pcap_set_timeout`): the upper bound on capture latency, and with
    /// the ring's block count the longest stall a light load survives.
    pub block_timeout_ms: i32,
}

impl LiveOptions {
    /// How long a stall of the reader the ring survives while traffic
    /// fills less than a block per timeout: the kernel retires a block at
    /// every timeout however little it holds, so *blocks x timeout*.
    pub fn stall_tolerance_ms(&self) -> u64 {
        let blocks = self.buffer_bytes.max(0) as u64 / u64::from(BLOCK_BYTES);
        blocks * self.block_timeout_ms.max(1) as u64
    }
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            promiscuous: false,
            snaplen: 65535,
            buffer_bytes: (DEFAULT_BUFFER_MIB << 20) as i32,
            block_timeout_ms: DEFAULT_BLOCK_TIMEOUT_MS as i32,
        }
    }
}

/// A captured packet, valid for the duration of the callback.
#[derive(Debug)]
pub struct LivePacket<'a> {
    pub ts_sec: i64,
    pub ts_usec: u32,
    /// Length on the wire.
    pub len: u32,
    pub data: &'a [u8],
}

/// libpcap's own counters for the handle (`pcap_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets that passed the kernel filter.
    pub received: u32,
    /// Packets the kernel dropped because the ring was full.
    pub dropped: u32,
    /// Packets the interface or driver dropped, where it says.
    pub interface_dropped: u32,
}

/// How a wait for packets ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Packets may be ready: drain them.
    Ready,
    /// The timeout passed with nothing to read.
    Idle,
}

/// An open live capture handle.
pub struct LiveCapture {
    api: &'static Api,
    p: *mut PcapT,
    dlt: u32,
    /// Descriptor to poll before a non-blocking read.
    fd: c_int,
}

// SAFETY: the handle is only used through &mut self, by one thread at a
// time; moving it between threads is allowed by libpcap.
unsafe impl Send for LiveCapture {}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("dlt", &self.dlt)
            .finish()
    }
}

impl LiveCapture {
    /// Opens `iface` for capture (needs CAP_NET_RAW, normally root).
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
        let api = api()?;
        let name = CString::new(iface)
            .map_err(|_| LiveError::Pcap("interface name contains a NUL byte".into()))?;
        let mut errbuf = [0 as c_char; ERRBUF];
        // SAFETY: valid C string and error buffer.
        let p = unsafe { (api.create)(name.as_ptr(), errbuf.as_mut_ptr()) };
        if p.is_null() {
            return Err(LiveError::Pcap(format!(
                "cannot open interface '{iface}': {}",
                errbuf_text(&errbuf)
            )));
        }
        let mut cap = LiveCapture {
            api,
            p,
            dlt: 0,
            fd: -1,
        };
        // SAFETY: p is a live, not yet activated handle.
        let rc = unsafe {
            (api.set_snaplen)(p, opts.snaplen);
            (api.set_promisc)(p, c_int::from(opts.promiscuous));
            (api.set_timeout)(p, opts.block_timeout_ms.max(1));
            (api.set_buffer_size)(p, opts.buffer_bytes);
            (api.activate)(p)
        };
        if rc < 0 {
            let detail = cap.error_text(rc);
            return Err(LiveError::Pcap(format!(
                "cannot capture on interface '{iface}': {detail}"
            )));
        }
        // SAFETY: activated handle.
        let dlt = unsafe { (api.datalink)(p) };
        cap.dlt = u32::try_from(dlt).unwrap_or(u32::MAX);
        // Reads are non-blocking; the caller waits with poll() only when a
        // drain found nothing (see the module docs).
        // SAFETY: activated handle and a valid error buffer.
        let (nb, fd) = unsafe {
            (
                (api.setnonblock)(p, 1, errbuf.as_mut_ptr()),
                (api.get_selectable_fd)(p),
            )
        };
        if nb != 0 || fd < 0 {
            return Err(LiveError::Pcap(format!(
                "cannot poll interface '{iface}' (no selectable descriptor): {}",
                errbuf_text(&errbuf)
            )));
        }
        cap.fd = fd;
        Ok(cap)
    }

    fn error_text(&self, rc: c_int) -> String {
        // SAFETY: geterr returns the handle's NUL-terminated buffer and
        // statustostr a static string.
        unsafe {
            let own = CStr::from_ptr((self.api.geterr)(self.p))
                .to_string_lossy()
                .into_owned();
            let status = CStr::from_ptr((self.api.statustostr)(rc))
                .to_string_lossy()
                .into_owned();
            if own.is_empty() {
                status
            } else {
                format!("{status} ({own})")
            }
        }
    }

    /// The capture's link type (DLT).
    pub fn link_type(&self) -> u32 {
        self.dlt
    }

    /// Compiles `expr` for this handle and installs it in the kernel.
    pub fn set_filter(&mut self, expr: &str) -> Result<(), LiveError> {
        let cexpr = CString::new(expr)
            .map_err(|_| LiveError::Syntax("filter expression contains a NUL byte".into()))?;
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        // SAFETY: valid handle, program and string.
        let rc = unsafe {
            (self.api.compile)(self.p, &mut prog, cexpr.as_ptr(), 1, PCAP_NETMASK_UNKNOWN)
        };
        if rc != 0 {
            // SAFETY: as in error_text.
            let msg = unsafe { CStr::from_ptr((self.api.geterr)(self.p)) }
                .to_string_lossy()
                .into_owned();
            return Err(LiveError::Syntax(msg));
        }
        // SAFETY: prog was compiled above and is freed once.
        let rc = unsafe {
            let rc = (self.api.setfilter)(self.p, &mut prog);
            (self.api.freecode)(&mut prog);
            rc
        };
        if rc != 0 {
            return Err(LiveError::Pcap(format!(
                "cannot install packet filter: {}",
                self.error_text(rc)
            )));
        }
        Ok(())
    }

    /// Hands every packet that is ready now, up to `max`, to `on_packet`,
    /// without waiting; returns how many were handed over. Zero means
    /// nothing was ready: call [`wait_ready`](Self::wait_ready).
    pub fn drain<F: FnMut(&LivePacket<'_>)>(
        &mut self,
        max: usize,
        mut on_packet: F,
    ) -> Result<usize, LiveError> {
        let cnt = c_int::try_from(max.max(1)).unwrap_or(c_int::MAX);
        let user = (&mut on_packet as *mut F).cast::<u8>();
        // SAFETY: the handle is non-blocking, so pcap_dispatch returns after
        // the ready packets; `user` points to `on_packet`, which outlives
        // the call and is only used by `deliver::<F>` during it.
        let rc = unsafe { (self.api.dispatch)(self.p, cnt, deliver::<F>, user) };
        match rc {
            n if n >= 0 => Ok(n as usize),
            // pcap_breakloop: nothing in this crate calls it.
            -2 => Ok(0),
            _ => Err(LiveError::Pcap(format!(
                "packet capture failed: {}",
                self.error_text(rc)
            ))),
        }
    }

    /// Waits until packets may be ready, or `timeout_ms` passes.
    pub fn wait_ready(&mut self, timeout_ms: i32) -> Result<Readiness, LiveError> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(Readiness::Idle);
            }
            return Err(LiveError::Pcap(format!("cannot wait for packets: {e}")));
        }
        // POLLERR and POLLHUP count as ready: the next drain reports them.
        Ok(if rc == 0 {
            Readiness::Idle
        } else {
            Readiness::Ready
        })
    }

    /// libpcap's counters: packets received and dropped by the kernel.
    pub fn stats(&self) -> Result<CaptureStats, LiveError> {
        let mut st = PcapStat::default();
        // SAFETY: valid handle and a pcap_stat to fill.
        let rc = unsafe { (self.api.stats)(self.p, &mut st) };
        if rc != 0 {
            return Err(LiveError::Pcap(format!(
                "pcap_stats: {}",
                self.error_text(rc)
            )));
        }
        Ok(CaptureStats {
            received: st.ps_recv,
            dropped: st.ps_drop,
            interface_dropped: st.ps_ifdrop,
        })
    }
}

/// The `pcap_handler` that forwards one packet to the closure in `user`.
///
/// # Safety
/// `user` is the `F` passed by [`LiveCapture::drain`]; `hdr` and `data` are
/// libpcap's, valid for this call.
unsafe extern "C" fn deliver<F: FnMut(&LivePacket<'_>)>(
    user: *mut u8,
    hdr: *const PcapPkthdr,
    data: *const u8,
) {
    if hdr.is_null() || data.is_null() {
        return;
    }
    let h = &*hdr;
    let packet = LivePacket {
        ts_sec: h.ts.tv_sec,
        ts_usec: u32::try_from(h.ts.tv_usec).unwrap_or(0),
        len: h.len,
        data: std::slice::from_raw_parts(data, h.caplen as usize),
    };
    (*user.cast::<F>())(&packet);
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        // SAFETY: the handle is closed once.
        unsafe { (self.api.close)(self.p) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_survives_blocks_times_timeout() {
        // 128 blocks x 5 ms: bench/capture-stall.sh measured 633 ms.
        assert_eq!(LiveOptions::default().stall_tolerance_ms(), 640);
        let old = LiveOptions {
            buffer_bytes: 16 << 20,
            block_timeout_ms: 1,
            ..LiveOptions::default()
        };
        assert_eq!(old.stall_tolerance_ms(), 64);
    }
}
