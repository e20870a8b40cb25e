//! Arbitrary bytes as a capture file (pcap or pcapng): the reader never
//! panics, every packet it yields is self-consistent, memory stays bounded
//! by the format limits, and reading stops for good after an error or the
//! end.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_capture::CaptureFile;

/// pcapng's largest accepted block (libpcap's limit, which the reader
/// follows); no packet can be larger.
const MAX_BLOCK: usize = 16 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(mut cap) = CaptureFile::from_reader(data) else {
        return;
    };
    let ng = cap.is_pcapng();
    let mut count = 0usize;
    loop {
        match cap.next_packet() {
            Ok(Some(p)) => {
                assert_eq!(p.caplen as usize, p.data.len());
                assert!(p.data.len() <= MAX_BLOCK);
                // libpcap hands on a classic pcap record's microseconds
                // unchecked; pcapng stamps are scaled, so always in range.
                if ng {
                    assert!(p.ts_usec < 1_000_000, "usec {}", p.ts_usec);
                }
                count += 1;
                // Every packet consumes at least a record header.
                assert!(count <= data.len() / 8 + 1);
            }
            Ok(None) | Err(_) => break,
        }
    }
    assert!(matches!(cap.next_packet(), Ok(None)), "reading resumed after the end");
});
