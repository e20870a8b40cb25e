//! Live capture through libpcap, loaded at run time.
//!
//! As with user filters (see `bpf.rs`), nothing links against libpcap: the
//! shared library is opened with `dlopen` when a live capture is asked for,
//! so building and offline work never need it, and a missing runtime is a
//! clear error naming the package to install.
//!
//! The handle is opened in immediate mode (packets are delivered as they
//! arrive, not when a kernel buffer block fills) with a short read timeout,
//! so a capture loop wakes up regularly to notice a stop request and flush
//! its output.

use std::ffi::{c_char, c_int, CStr, CString};
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
    set_immediate_mode: Option<unsafe extern "C" fn(*mut PcapT, c_int) -> c_int>,
    activate: unsafe extern "C" fn(*mut PcapT) -> c_int,
    datalink: unsafe extern "C" fn(*mut PcapT) -> c_int,
    compile: unsafe extern "C" fn(*mut PcapT, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
    setfilter: unsafe extern "C" fn(*mut PcapT, *mut BpfProgram) -> c_int,
    freecode: unsafe extern "C" fn(*mut BpfProgram),
    next_ex: unsafe extern "C" fn(*mut PcapT, *mut *mut PcapPkthdr, *mut *const u8) -> c_int,
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

/// Resolves the symbols this module needs from the shared library.
fn load() -> Result<Api, String> {
    let lib = crate::libpcap::library()?;
    resolve(lib).map_err(|e| format!("libpcap: {e}"))
}

fn resolve(lib: &'static Library) -> Result<Api, libloading::Error> {
    // SAFETY: each signature matches libpcap's public API (pcap/pcap.h).
    unsafe {
        let set_immediate_mode = lib
            .get::<unsafe extern "C" fn(*mut PcapT, c_int) -> c_int>(b"pcap_set_immediate_mode\0")
            .ok()
            .map(|s| *s);
        Ok(Api {
            create: *lib.get(b"pcap_create\0")?,
            set_snaplen: *lib.get(b"pcap_set_snaplen\0")?,
            set_promisc: *lib.get(b"pcap_set_promisc\0")?,
            set_timeout: *lib.get(b"pcap_set_timeout\0")?,
            set_immediate_mode,
            activate: *lib.get(b"pcap_activate\0")?,
            datalink: *lib.get(b"pcap_datalink\0")?,
            compile: *lib.get(b"pcap_compile\0")?,
            setfilter: *lib.get(b"pcap_setfilter\0")?,
            freecode: *lib.get(b"pcap_freecode\0")?,
            next_ex: *lib.get(b"pcap_next_ex\0")?,
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

/// Options for [`LiveCapture::open`].
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub promiscuous: bool,
    pub snaplen: i32,
    /// How long a read waits before returning nothing, in milliseconds.
    pub timeout_ms: i32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            promiscuous: false,
            snaplen: 65535,
            timeout_ms: 100,
        }
    }
}

/// What one read returned.
#[derive(Debug)]
pub enum LiveEvent<'a> {
    Packet(LivePacket<'a>),
    /// The read timed out with nothing to deliver.
    Timeout,
    /// The read was interrupted (`pcap_breakloop`).
    Interrupted,
}

/// A captured packet, valid until the next read.
#[derive(Debug)]
pub struct LivePacket<'a> {
    pub ts_sec: i64,
    pub ts_usec: u32,
    /// Length on the wire.
    pub len: u32,
    pub data: &'a [u8],
}

/// An open live capture handle.
pub struct LiveCapture {
    api: &'static Api,
    p: *mut PcapT,
    dlt: u32,
    /// Descriptor to poll before a non-blocking read.
    fd: c_int,
    timeout_ms: c_int,
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
            timeout_ms: opts.timeout_ms.max(1),
        };
        // SAFETY: p is a live, not yet activated handle.
        let rc = unsafe {
            (api.set_snaplen)(p, opts.snaplen);
            (api.set_promisc)(p, c_int::from(opts.promiscuous));
            (api.set_timeout)(p, opts.timeout_ms);
            if let Some(imm) = api.set_immediate_mode {
                imm(p, 1);
            }
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
        // Reads are made non-blocking and waited for with poll(), so that a
        // read returns within the timeout whatever libpcap's buffering mode
        // (in immediate mode its own timeout may never fire).
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

    /// Waits for the next packet, at most the configured timeout.
    pub fn next_event(&mut self) -> Result<LiveEvent<'_>, LiveError> {
        let mut hdr: *mut PcapPkthdr = std::ptr::null_mut();
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: valid handle; on 1 the header and data stay valid until
        // the next call, which needs &mut self again.
        let mut rc = unsafe { (self.api.next_ex)(self.p, &mut hdr, &mut data) };
        if rc == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) };
            if ready <= 0 {
                return Ok(LiveEvent::Timeout);
            }
            // SAFETY: as above.
            rc = unsafe { (self.api.next_ex)(self.p, &mut hdr, &mut data) };
        }
        match rc {
            1 if !hdr.is_null() && !data.is_null() => {
                // SAFETY: see above.
                let h = unsafe { &*hdr };
                let data = unsafe { std::slice::from_raw_parts(data, h.caplen as usize) };
                Ok(LiveEvent::Packet(LivePacket {
                    ts_sec: h.ts.tv_sec,
                    ts_usec: u32::try_from(h.ts.tv_usec).unwrap_or(0),
                    len: h.len,
                    data,
                }))
            }
            1 | 0 => Ok(LiveEvent::Timeout),
            -2 => Ok(LiveEvent::Interrupted),
            _ => Err(LiveError::Pcap(format!(
                "packet capture failed: {}",
                self.error_text(rc)
            ))),
        }
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        // SAFETY: the handle is closed once.
        unsafe { (self.api.close)(self.p) };
    }
}

/// libpcap's own packet counters (`pcap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets that passed the filter (on Linux: since the handle opened).
    pub received: u32,
    /// Packets dropped because the capture buffer was full.
    pub dropped: u32,
    /// Packets the interface or its driver dropped.
    pub if_dropped: u32,
}

/// `struct pcap_stat` as pcap/pcap.h lays it out on Unix.
#[repr(C)]
struct PcapStat {
    ps_recv: libc::c_uint,
    ps_drop: libc::c_uint,
    ps_ifdrop: libc::c_uint,
}

type PcapStatsFn = unsafe extern "C" fn(*mut PcapT, *mut PcapStat) -> c_int;

impl LiveCapture {
    /// libpcap's counters for this handle. Resolved on first use, apart
    /// from the capture path, so that metrics cost nothing until asked for.
    pub fn stats(&mut self) -> Result<LiveStats, LiveError> {
        static STATS: OnceLock<Option<PcapStatsFn>> = OnceLock::new();
        let f = STATS.get_or_init(|| {
            let lib = crate::libpcap::library().ok()?;
            // SAFETY: the signature matches pcap_stats in pcap/pcap.h.
            unsafe { lib.get::<PcapStatsFn>(b"pcap_stats\0").ok().map(|s| *s) }
        });
        let f = f.ok_or_else(|| LiveError::Pcap("libpcap has no pcap_stats".into()))?;
        let mut st = PcapStat {
            ps_recv: 0,
            ps_drop: 0,
            ps_ifdrop: 0,
        };
        // SAFETY: valid handle and a pcap_stat to fill.
        let rc = unsafe { f(self.p, &mut st) };
        if rc != 0 {
            return Err(LiveError::Pcap(format!(
                "cannot read capture statistics: {}",
                self.error_text(rc)
            )));
        }
        Ok(LiveStats {
            received: st.ps_recv,
            dropped: st.ps_drop,
            if_dropped: st.ps_ifdrop,
        })
    }
}
