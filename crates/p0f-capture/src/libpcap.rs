//! The libpcap shared library, loaded once, on first use.
//!
//! Loading at run time (instead of linking) keeps libpcap's development
//! files out of the build, and lets everything that does not capture live or
//! compile a user filter work on machines without libpcap at all.

use std::ffi::{c_uint, c_void};
use std::sync::OnceLock;

use libloading::Library;

/// An opaque `pcap_t`.
pub(crate) type PcapT = c_void;

/// `struct bpf_program`, as pcap/bpf.h lays it out.
#[repr(C)]
pub(crate) struct BpfProgram {
    pub bf_len: c_uint,
    pub bf_insns: *mut c_void,
}

/// `struct pcap_pkthdr`, as pcap/pcap.h lays it out.
#[repr(C)]
pub(crate) struct PcapPkthdr {
    pub ts: libc::timeval,
    pub caplen: u32,
    pub len: u32,
}

/// Size of libpcap's error buffers (PCAP_ERRBUF_SIZE).
pub(crate) const ERRBUF_SIZE: usize = 256;
/// "Netmask unknown" for pcap_compile (PCAP_NETMASK_UNKNOWN).
pub(crate) const NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// Sonames tried in order: Debian's, then the upstream ones.
const NAMES: [&str; 3] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

/// The loaded library, or why it could not be loaded (every attempt failed;
/// the message is the last loader error).
pub(crate) fn library() -> Result<&'static Library, &'static str> {
    static LIB: OnceLock<Result<Library, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        let mut last = String::new();
        for name in NAMES {
            // SAFETY: loading libpcap runs only its own initialisers.
            match unsafe { Library::new(name) } {
                Ok(lib) => return Ok(lib),
                Err(e) => last = format!("{name}: {e}"),
            }
        }
        Err(last)
    })
    .as_ref()
    .map_err(String::as_str)
}
