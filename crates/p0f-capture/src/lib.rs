//! Packet sources for p0f-rs: capture files and packet filters (live capture
//! comes later).
//!
//! p0f 3.09b reads captures through libpcap and counts, as "Processed N
//! packets", exactly the packets that pass its BPF filter before libpcap
//! stops reading. To be a drop-in replacement this crate reproduces both
//! halves without needing libpcap:
//!
//! * [`CaptureFile`] reads classic pcap and pcapng with libpcap 1.10's
//!   acceptance rules (link-type mapping, snapshot limits, where a damaged
//!   file stops), streaming with one reused buffer.
//! * [`DefaultFilter`] evaluates p0f's default rule (`tcp or (vlan and tcp)`
//!   on Ethernet, `tcp` elsewhere) natively, following the BPF code libpcap
//!   generates for each link type. Offline work, the CLI's common case and
//!   the test suite therefore run with no libpcap installed.
//! * [`BpfFilter`] handles user filters. Their language is tcpdump's, which
//!   only libpcap implements faithfully, so the library is opened at run time
//!   with `dlopen` (the build never needs its headers or links against it);
//!   a missing library is a clear run-time error, not a build failure.

mod bpf;
mod filter;
mod libpcap;
pub mod linktype;
mod live;
mod reader;

pub use bpf::{libpcap_available, p0f_rule, BpfFilter, FilterError};
pub use filter::DefaultFilter;
pub use live::{
    default_interface, list_interfaces, CaptureStats, Interface, LiveCapture, LiveError,
    LiveOptions, LivePacket, Readiness, DEFAULT_BLOCK_TIMEOUT_MS, DEFAULT_BUFFER_MIB,
};
pub use reader::{CaptureError, CaptureFile, Packet};
