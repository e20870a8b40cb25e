//! User filters (tcpdump syntax) compiled by libpcap, loaded at run time.
//!
//! Nothing here links against libpcap: the shared library is opened with
//! `dlopen` on first use, so building and the default filter never need it.

use std::ffi::{c_char, c_int, CStr, CString};
use std::io::BufRead;
use std::sync::{Mutex, OnceLock};

use libloading::Library;

use crate::reader::{CaptureFile, Packet};

/// Errors from compiling a user filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// libpcap's shared library could not be loaded.
    #[error("libpcap runtime not found (install the Debian package libpcap0.8): {0}")]
    LibpcapNotFound(String),
    /// libpcap rejected the expression; carries libpcap's message.
    #[error("{0}")]
    Syntax(String),
    /// libpcap could not create a handle to compile against.
    #[error("libpcap: {0}")]
    Pcap(String),
}

struct Api {
    open_dead: unsafe extern "C" fn(c_int, c_int) -> *mut PcapT,
    fopen_offline: unsafe extern "C" fn(*mut libc::FILE, *mut c_char) -> *mut PcapT,
    compile: unsafe extern "C" fn(*mut PcapT, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
    offline_filter: unsafe extern "C" fn(*const BpfProgram, *const PcapPkthdr, *const u8) -> c_int,
    freecode: unsafe extern "C" fn(*mut BpfProgram),
    geterr: unsafe extern "C" fn(*mut PcapT) -> *mut c_char,
    close: unsafe extern "C" fn(*mut PcapT),
}

use crate::libpcap::{
    BpfProgram, PcapPkthdr, PcapT, ERRBUF_SIZE as PCAP_ERRBUF_SIZE,
    NETMASK_UNKNOWN as PCAP_NETMASK_UNKNOWN,
};

/// Resolves the symbols this module needs from the shared library.
fn load() -> Result<Api, String> {
    let lib = crate::libpcap::library()?;
    resolve(lib).map_err(|e| format!("libpcap: {e}"))
}

fn resolve(lib: &'static Library) -> Result<Api, libloading::Error> {
    // SAFETY: the signatures match libpcap's public API (pcap/pcap.h).
    unsafe {
        let open_dead = *lib.get(b"pcap_open_dead\0")?;
        let fopen_offline = *lib.get(b"pcap_fopen_offline\0")?;
        let compile = *lib.get(b"pcap_compile\0")?;
        let offline_filter = *lib.get(b"pcap_offline_filter\0")?;
        let freecode = *lib.get(b"pcap_freecode\0")?;
        let geterr = *lib.get(b"pcap_geterr\0")?;
        let close = *lib.get(b"pcap_close\0")?;
        Ok(Api {
            open_dead,
            fopen_offline,
            compile,
            offline_filter,
            freecode,
            geterr,
            close,
        })
    }
}

fn api() -> Result<&'static Api, FilterError> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load)
        .as_ref()
        .map_err(|e| FilterError::LibpcapNotFound(e.clone()))
}

/// Whether libpcap can be loaded on this system.
pub fn libpcap_available() -> bool {
    api().is_ok()
}

/// A BPF program compiled by libpcap.
pub struct BpfFilter {
    api: &'static Api,
    prog: BpfProgram,
}

// SAFETY: the program is immutable after compilation and
// pcap_offline_filter only reads it.
unsafe impl Send for BpfFilter {}
unsafe impl Sync for BpfFilter {}

impl std::fmt::Debug for BpfFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpfFilter")
            .field("instructions", &self.prog.bf_len)
            .finish()
    }
}

/// pcap_compile is documented thread-safe only since libpcap 1.8; serialise.
static COMPILE_LOCK: Mutex<()> = Mutex::new(());

impl BpfFilter {
    /// Compile `expr` for link type `dlt` against `pcap_open_dead(dlt, 65535)`
    /// (optimised, netmask unknown) — what a live capture would get.
    pub fn compile(expr: &str, dlt: u32) -> Result<BpfFilter, FilterError> {
        let api = api()?;
        let dlt = c_int::try_from(dlt).map_err(|_| FilterError::Pcap("bad link type".into()))?;
        // SAFETY: plain libpcap call; a null result is handled.
        let p = unsafe { (api.open_dead)(dlt, 65535) };
        if p.is_null() {
            return Err(FilterError::Pcap("pcap_open_dead failed".into()));
        }
        Self::compile_on(api, p, expr, None)
    }

    /// Compile `expr` exactly as p0f does for an offline capture: against a
    /// savefile handle with the capture's link type and byte order (libpcap
    /// generates different code for DLT_NULL/DLT_LOOP savefiles).
    pub fn compile_for_capture<R: BufRead>(
        expr: &str,
        cf: &CaptureFile<R>,
    ) -> Result<BpfFilter, FilterError> {
        let api = api()?;
        let be = cf.is_big_endian();
        // A classic pcap file header: magic, version 2.4, zone, sigfigs,
        // snaplen, link type, all in the capture's byte order.
        let mut hdr = Vec::with_capacity(24);
        let put32 = |v: u32, h: &mut Vec<u8>| {
            h.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        let put16 = |v: u16, h: &mut Vec<u8>| {
            h.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        put32(0xa1b2_c3d4, &mut hdr);
        put16(2, &mut hdr);
        put16(4, &mut hdr);
        put32(0, &mut hdr);
        put32(0, &mut hdr);
        put32(65535, &mut hdr);
        put32(cf.file_link_type(), &mut hdr);
        let mut buf = hdr.into_boxed_slice();
        let mut errbuf = [0 as c_char; PCAP_ERRBUF_SIZE];
        // SAFETY: `buf` outlives the FILE (closed by pcap_close below, or
        // here on failure); the mode string is NUL-terminated.
        let p = unsafe {
            let fp = libc::fmemopen(buf.as_mut_ptr().cast(), buf.len(), c"r".as_ptr());
            if fp.is_null() {
                return Err(FilterError::Pcap("fmemopen failed".into()));
            }
            let p = (api.fopen_offline)(fp, errbuf.as_mut_ptr());
            if p.is_null() {
                libc::fclose(fp);
                let msg = CStr::from_ptr(errbuf.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                return Err(FilterError::Pcap(msg));
            }
            p
        };
        Self::compile_on(api, p, expr, Some(buf))
    }

    fn compile_on(
        api: &'static Api,
        p: *mut PcapT,
        expr: &str,
        keep: Option<Box<[u8]>>,
    ) -> Result<BpfFilter, FilterError> {
        let close = |p| {
            // SAFETY: p is a live handle from open_dead/fopen_offline.
            unsafe { (api.close)(p) };
            drop(keep);
        };
        let Ok(cexpr) = CString::new(expr) else {
            close(p);
            return Err(FilterError::Syntax(
                "filter expression contains a NUL byte".into(),
            ));
        };
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        let rc = {
            let _g = COMPILE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: valid handle, program and NUL-terminated string.
            unsafe { (api.compile)(p, &mut prog, cexpr.as_ptr(), 1, PCAP_NETMASK_UNKNOWN) }
        };
        if rc != 0 {
            // SAFETY: pcap_geterr returns the handle's NUL-terminated buffer.
            let msg = unsafe { CStr::from_ptr((api.geterr)(p)) }
                .to_string_lossy()
                .into_owned();
            close(p);
            return Err(FilterError::Syntax(msg));
        }
        close(p);
        Ok(BpfFilter { api, prog })
    }

    /// Run the program on a packet (`pcap_offline_filter`).
    pub fn matches(&self, packet: &Packet) -> bool {
        self.matches_raw(packet.data, packet.len)
    }

    /// Run the program on captured bytes with the given wire length.
    pub fn matches_raw(&self, data: &[u8], wire_len: u32) -> bool {
        let hdr = PcapPkthdr {
            ts: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            caplen: u32::try_from(data.len()).unwrap_or(u32::MAX),
            len: wire_len,
        };
        // SAFETY: the program is valid; the header's caplen bounds the data.
        unsafe { (self.api.offline_filter)(&self.prog, &hdr, data.as_ptr()) != 0 }
    }
}

impl Drop for BpfFilter {
    fn drop(&mut self) {
        // SAFETY: the program came from pcap_compile and is freed once.
        unsafe { (self.api.freecode)(&mut self.prog) };
    }
}

/// p0f's composite rule for a user filter `user` (or the default rule).
///
/// On Ethernet: `tcp or (vlan and tcp)`, or
/// `(tcp and (F)) or (vlan and tcp and (F))`; elsewhere `tcp` or
/// `tcp and (F)`. The caller compiles it (p0f retries without the VLAN part
/// if that fails to compile).
pub fn p0f_rule(user: Option<&str>, dlt: u32) -> String {
    let vlan = dlt == crate::linktype::dlt::EN10MB;
    match (user, vlan) {
        (None, true) => "tcp or (vlan and tcp)".to_string(),
        (None, false) => "tcp".to_string(),
        (Some(f), true) => format!("(tcp and ({f})) or (vlan and tcp and ({f}))"),
        (Some(f), false) => format!("tcp and ({f})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(p0f_rule(None, 1), "tcp or (vlan and tcp)");
        assert_eq!(p0f_rule(None, 113), "tcp");
        assert_eq!(
            p0f_rule(Some("port 80"), 1),
            "(tcp and (port 80)) or (vlan and tcp and (port 80))"
        );
        assert_eq!(p0f_rule(Some("port 80"), 12), "tcp and (port 80)");
    }
}
