//! The readers and the default filter never panic or loop on arbitrary input.

use std::io::Cursor;

use p0f_capture::{CaptureFile, DefaultFilter};
use proptest::prelude::*;

/// Read everything; the reader must stop within a bound set by the input
/// size (every record or block consumes at least 12 bytes... or ends).
fn drain(bytes: &[u8]) {
    let Ok(mut cf) = CaptureFile::from_reader(Cursor::new(bytes)) else {
        return;
    };
    let _ = DefaultFilter::for_capture(&cf);
    let mut n = 0usize;
    while let Ok(Some(p)) = cf.next_packet() {
        assert_eq!(p.data.len(), p.caplen as usize);
        n += 1;
        assert!(n <= bytes.len(), "reader does not make progress");
    }
    // Fused after the end or an error.
    assert!(matches!(cf.next_packet(), Ok(None)));
}

fn pcap_header(be: bool, magic: u32, linktype: u32, snaplen: u32) -> Vec<u8> {
    let mut h = Vec::new();
    let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    h.extend_from_slice(&w32(magic));
    h.extend_from_slice(&w16(2));
    h.extend_from_slice(&w16(4));
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&w32(snaplen));
    h.extend_from_slice(&w32(linktype));
    h
}

fn pcapng_prefix(be: bool, linktype: u16, snaplen: u32) -> Vec<u8> {
    let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut h = Vec::new();
    // SHB, 28 bytes.
    h.extend_from_slice(&w32(0x0A0D_0D0A));
    h.extend_from_slice(&w32(28));
    h.extend_from_slice(&w32(0x1A2B_3C4D));
    h.extend_from_slice(&w16(1));
    h.extend_from_slice(&w16(0));
    h.extend_from_slice(&[0xff; 8]);
    h.extend_from_slice(&w32(28));
    // IDB, 20 bytes.
    h.extend_from_slice(&w32(1));
    h.extend_from_slice(&w32(20));
    h.extend_from_slice(&w16(linktype));
    h.extend_from_slice(&w16(0));
    h.extend_from_slice(&w32(snaplen));
    h.extend_from_slice(&w32(20));
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        drain(&bytes);
    }

    #[test]
    fn pcap_with_arbitrary_records(
        be in any::<bool>(),
        magic in prop::sample::select(vec![0xa1b2_c3d4u32, 0xa1b2_3c4d, 0xa1b2_cd34]),
        linktype in prop::sample::select(vec![0u32, 1, 101, 113, 127, 231, 249]),
        snaplen in prop::sample::select(vec![0u32, 1, 64, 65535, 262_144, 0x8000_0000]),
        body in proptest::collection::vec(any::<u8>(), 0..800),
    ) {
        let mut f = pcap_header(be, magic, linktype, snaplen);
        f.extend_from_slice(&body);
        drain(&f);
    }

    #[test]
    fn pcapng_with_arbitrary_blocks(
        be in any::<bool>(),
        linktype in prop::sample::select(vec![0u16, 1, 101, 113, 127]),
        snaplen in prop::sample::select(vec![0u32, 64, 65535]),
        blocks in proptest::collection::vec(
            (prop::sample::select(vec![1u32, 2, 3, 6, 5, 0x0A0D_0D0A, 0xdead]),
             proptest::collection::vec(any::<u8>(), 0..120),
             any::<bool>()),
            0..8),
    ) {
        let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut f = pcapng_prefix(be, linktype, snaplen);
        for (ty, body, good_len) in blocks {
            let len = 12 + body.len() as u32;
            let len = if good_len { (len + 3) & !3 } else { len };
            f.extend_from_slice(&w32(ty));
            f.extend_from_slice(&w32(len));
            f.extend_from_slice(&body);
            f.resize(f.len() + ((len as usize).saturating_sub(12 + body.len())), 0);
            f.extend_from_slice(&w32(len));
        }
        drain(&f);
    }

    #[test]
    fn default_filter_never_panics(
        dlt in prop::sample::select(vec![
            0u32, 1, 6, 8, 9, 10, 12, 50, 51, 104, 105, 108, 113, 117, 119, 127, 163,
            192, 228, 229, 240, 241, 276, 147,
        ]),
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = DefaultFilter::new(dlt).matches(&data, data.len() as u32);
        let _ = DefaultFilter::new_live(dlt).matches(&data, data.len() as u32);
    }
}

#[test]
fn huge_lengths_do_not_allocate_up_front() {
    // A pcapng block claiming 16 MiB in a tiny file: a truncation error,
    // without reserving the claimed size.
    let mut f = pcapng_prefix(false, 1, 0);
    f.extend_from_slice(&6u32.to_le_bytes());
    f.extend_from_slice(&(16u32 * 1024 * 1024).to_le_bytes());
    let mut cf = CaptureFile::from_reader(Cursor::new(f)).unwrap();
    assert!(cf.next_packet().is_err());
}
