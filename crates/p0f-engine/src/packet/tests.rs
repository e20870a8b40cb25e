use super::*;

/// Builds an IPv4+TCP packet with the given TCP options and flags.
pub(crate) fn ipv4_tcp(flags_byte: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let tcp_len = 20 + opts.len();
    let total = 20 + tcp_len + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&[192, 0, 2, 1]);
    p[16..20].copy_from_slice(&[192, 0, 2, 2]);
    let t = &mut p[20..];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&25u16.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    t[12] = ((tcp_len / 4) as u8) << 4;
    t[13] = flags_byte;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    t[20..20 + opts.len()].copy_from_slice(opts);
    t[tcp_len..].copy_from_slice(payload);
    p
}

#[test]
fn linux_like_syn() {
    let opts = [
        2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let p = ipv4_tcp(flags::SYN, &opts, &[]);
    let f = parse(&p).unwrap();
    assert_eq!(f.layout.as_slice(), &[2, 4, 8, 1, 3]);
    assert_eq!((f.mss, f.wscale, f.ts1, f.win), (1460, 7, 9, 64240));
    assert_eq!(f.quirks, Quirks::DF.union(Quirks::NZ_ID));
    assert_eq!(f.tot_hdr, 60);
    assert_eq!(f.tcp_type, kind::SYN);
}

#[test]
fn ack_plus_looks_at_one_bit_only() {
    let mut p = ipv4_tcp(flags::SYN, &[], &[]);
    p[28..32].copy_from_slice(&1u32.to_be_bytes());
    assert!(!parse(&p).unwrap().quirks.contains(Quirks::NZ_ACK));
    p[28..32].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    assert!(parse(&p).unwrap().quirks.contains(Quirks::NZ_ACK));
}

#[test]
fn opt_plus_skips_last_padding_byte() {
    let p = ipv4_tcp(flags::SYN, &[2, 4, 5, 180, 0, 0, 0, 7], &[]);
    let f = parse(&p).unwrap();
    assert_eq!(f.eol_pad, 3);
    assert!(!f.quirks.contains(Quirks::OPT_EOL_NZ));
    let p = ipv4_tcp(flags::SYN, &[2, 4, 5, 180, 0, 0, 7, 0], &[]);
    assert!(parse(&p).unwrap().quirks.contains(Quirks::OPT_EOL_NZ));
}

#[test]
fn option_running_past_header_is_bad() {
    let p = ipv4_tcp(flags::SYN, &[1, 1, 8, 10], &[]);
    let f = parse(&p).unwrap();
    assert_eq!(f.layout.as_slice(), &[1, 1, 8]);
    assert!(f.quirks.contains(Quirks::OPT_BAD));
}

#[test]
fn silly_flags_and_fragments_are_dropped() {
    assert_eq!(
        parse(&ipv4_tcp(flags::SYN | flags::FIN, &[], &[])).unwrap_err(),
        Skip::Ignored
    );
    assert_eq!(parse(&ipv4_tcp(0, &[], &[])).unwrap_err(), Skip::Ignored);
    let mut p = ipv4_tcp(flags::SYN, &[], &[]);
    p[7] = 1; // fragment offset
    assert_eq!(parse(&p).unwrap_err(), Skip::Ignored);
    let mut p = ipv4_tcp(flags::SYN, &[], &[]);
    p[0] = 0x55;
    assert_eq!(parse(&p).unwrap_err(), Skip::UnknownNetwork(5));
}

#[test]
fn ethernet_padding_is_trimmed() {
    let mut p = ipv4_tcp(flags::ACK, &[], b"hi");
    p.extend_from_slice(&[0; 6]);
    assert_eq!(parse(&p).unwrap().payload, b"hi");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_packets_never_panic(opts in proptest::collection::vec(any::<u8>(), 0..40),
                                       flips in proptest::collection::vec((0usize..100, any::<u8>()), 0..8)) {
            let len = opts.len() / 4 * 4;
            let mut p = ipv4_tcp(flags::SYN, &opts[..len], &[]);
            for (at, v) in flips {
                if let Some(b) = p.get_mut(at) { *b = v; }
            }
            if let Ok(f) = parse(&p) {
                prop_assert!(f.layout.len() <= 24);
                prop_assert!(f.payload.len() <= p.len());
            }
        }
    }
}
