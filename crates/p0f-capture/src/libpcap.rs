//! The libpcap shared library, loaded once, on first use.
//!
//! Loading at run time (instead of linking) keeps libpcap's development
//! files out of the build, and lets everything that does not capture live or
//! compile a user filter work on machines without libpcap at all.

use std::sync::OnceLock;

use libloading::Library;

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
