//! The same packets written as classic pcap and as pcapng read back as the
//! same packets, and the engine makes the same observations from both.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_fuzz::{frames, run_capture, write_pcap, write_pcapng, Cursor, LINK_TYPES};

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let link = LINK_TYPES[usize::from(c.u8()) % LINK_TYPES.len()];
    let fr = frames(&mut c, 64);
    let (obs_pcap, pk_pcap) = run_capture(&write_pcap(link, 65535, &fr));
    let (obs_ng, pk_ng) = run_capture(&write_pcapng(link, 65535, &fr));
    assert_eq!(pk_pcap.len(), fr.len(), "pcap lost packets");
    assert_eq!(pk_pcap, pk_ng, "packets differ");
    assert_eq!(obs_pcap, obs_ng, "observations differ");
});
