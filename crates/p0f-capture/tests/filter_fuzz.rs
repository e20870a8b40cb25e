//! Differential test of the native default filter against libpcap's
//! compiled program on random packets, for every supported link type, in
//! savefile (both byte orders) and live contexts.

use p0f_capture::{libpcap_available, p0f_rule, BpfFilter, CaptureFile, DefaultFilter};

/// LINKTYPE values whose DLT the native filter supports.
const LINKTYPES: [u32; 23] = [
    0, 1, 6, 8, 9, 10, 50, 51, 101, 104, 105, 108, 113, 117, 119, 127, 163, 192, 228, 229, 240,
    241, 276,
];

fn header(linktype: u32, be: bool) -> Vec<u8> {
    let mut h = Vec::new();
    let w32 = |v: u32, h: &mut Vec<u8>| {
        h.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
    };
    let w16 = |v: u16, h: &mut Vec<u8>| {
        h.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
    };
    w32(0xa1b2_c3d4, &mut h);
    w16(2, &mut h);
    w16(4, &mut h);
    w32(0, &mut h);
    w32(0, &mut h);
    w32(65535, &mut h);
    w32(linktype, &mut h);
    h
}

#[test]
fn native_filter_matches_libpcap_on_random_packets() {
    if !libpcap_available() {
        eprintln!("note: libpcap not installed; skipping");
        return;
    }
    let per_type: usize = std::env::var("P0F_FILTER_FUZZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut bad = 0usize;
    for lt in LINKTYPES {
        for be in [false, true] {
            let cf = CaptureFile::from_reader(std::io::Cursor::new(header(lt, be))).unwrap();
            let dlt = cf.link_type();
            let rule = p0f_rule(None, dlt);
            let native = DefaultFilter::for_capture(&cf);
            let live = DefaultFilter::new_live(dlt);
            assert!(native.is_supported(), "dlt {dlt}");
            let bpf = BpfFilter::compile_for_capture(&rule, &cf)
                .unwrap_or_else(|e| panic!("dlt {dlt}: {e}"));
            let dead = BpfFilter::compile(&rule, dlt).unwrap();
            let mut pkt = Vec::with_capacity(160);
            let mut accepted = 0usize;
            for _ in 0..per_type {
                build_packet(dlt, &mut rnd, &mut pkt);
                let n = pkt.len();
                let a = native.matches(&pkt, n as u32);
                let b = bpf.matches_raw(&pkt, n as u32);
                let c = live.matches(&pkt, n as u32);
                let d = dead.matches_raw(&pkt, n as u32);
                accepted += usize::from(b);
                if a != b || c != d {
                    bad += 1;
                    if bad < 20 {
                        eprintln!(
                            "linktype {lt} be {be}: native {a} libpcap {b} live {c} dead {d}: {pkt:02x?}"
                        );
                    }
                }
            }
            eprintln!("linktype {lt} (dlt {dlt}) be {be}: {accepted}/{per_type} accepted");
        }
    }
    assert_eq!(bad, 0);
}

#[test]
fn unsupported_link_type_matches_nothing() {
    let f = DefaultFilter::new(147);
    assert!(!f.is_supported());
    assert!(!f.matches(&[0u8; 100], 100));
}

const INTERESTING: [u8; 30] = [
    0, 0, 0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 18, 24, 26, 28, 30, 32, 0x20, 0x21, 0x2c, 0x45, 0x57,
    0x60, 0x69, 0x80, 0x81, 0x86, 0x88, 0xdd,
];

fn pick<T: Copy>(rnd: &mut impl FnMut() -> u64, xs: &[T]) -> T {
    xs[(rnd() % xs.len() as u64) as usize]
}

/// A plausible packet for `dlt` (link header, then IPv4/IPv6 with TCP or
/// not), then a few random byte changes and sometimes a truncation.
fn build_packet(dlt: u32, rnd: &mut impl FnMut() -> u64, pkt: &mut Vec<u8>) {
    pkt.clear();
    let v6 = rnd().is_multiple_of(2);
    let zeros = |p: &mut Vec<u8>, n: usize| p.resize(p.len() + n, 0);
    let ethertype = |rnd: &mut dyn FnMut() -> u64, v6: bool| -> [u8; 2] {
        match rnd() % 8 {
            0 => [0x08, 0x06],
            _ if v6 => [0x86, 0xdd],
            _ => [0x08, 0x00],
        }
    };
    match dlt {
        0 | 108 => {
            let af: u32 = if v6 {
                pick(rnd, &[10, 24, 28, 30, 23])
            } else {
                2
            };
            let b = if rnd().is_multiple_of(2) {
                af.to_le_bytes()
            } else {
                af.to_be_bytes()
            };
            pkt.extend_from_slice(&b);
        }
        1 => {
            zeros(pkt, 12);
            if rnd().is_multiple_of(3) {
                pkt.extend_from_slice(&pick(rnd, &[[0x81, 0], [0x88, 0xa8], [0x91, 0], [0x81, 1]]));
                pkt.extend_from_slice(&[0, 100]);
            }
            pkt.extend_from_slice(&ethertype(rnd, v6));
        }
        8 => zeros(pkt, 16),
        12 | 228 | 229 => {}
        9 | 50 | 51 => {
            zeros(pkt, if dlt == 51 { 6 } else { 2 });
            pkt.extend_from_slice(&if v6 { [0, 0x57] } else { [0, 0x21] });
        }
        6 | 10 | 104 | 113 | 240 | 241 | 276 => {
            let (ty, nh) = match dlt {
                6 => (20, 22),
                10 => (19, 21),
                104 => (2, 4),
                113 => (14, 16),
                240 => (16, 18),
                241 => (24, 26),
                _ => (0, 20),
            };
            zeros(pkt, ty);
            pkt.extend_from_slice(&ethertype(rnd, v6));
            zeros(pkt, nh - ty - 2);
        }
        117 => {
            let hl = pick(rnd, &[61u8, 64, 3, 0, 5]);
            pkt.push(hl);
            pkt.push(if v6 { pick(rnd, &[10u8, 24]) } else { 2 });
            zeros(pkt, ((usize::from(hl) + 3) & !3).saturating_sub(2));
        }
        105 | 119 | 127 | 163 | 192 => {
            match dlt {
                119 => {
                    if rnd().is_multiple_of(2) {
                        pkt.extend_from_slice(&0x8021_1001u32.to_be_bytes());
                        pkt.extend_from_slice(&64u32.to_be_bytes());
                        zeros(pkt, 56);
                    } else {
                        zeros(pkt, 144);
                    }
                }
                163 => {
                    pkt.extend_from_slice(&0x8021_1001u32.to_be_bytes());
                    pkt.extend_from_slice(&64u32.to_be_bytes());
                    zeros(pkt, 56);
                }
                127 => {
                    let present: u32 = pick(rnd, &[0, 2, 3, 0x8000_0002, 1]);
                    let flags = pick(rnd, &[0u8, 0x20, 0x10]);
                    let mut h = vec![0u8; 8];
                    h.extend_from_slice(&[0; 8]);
                    h[4..8].copy_from_slice(&present.to_le_bytes());
                    if present & 1 != 0 {
                        h.extend_from_slice(&[flags, 0]);
                    } else {
                        h[8] = flags;
                    }
                    let len = pick(rnd, &[h.len(), h.len() + 1, h.len() + 2]);
                    h.resize(len, 0);
                    h[2..4].copy_from_slice(&(len as u16).to_le_bytes());
                    pkt.extend_from_slice(&h);
                }
                192 => {
                    pkt.extend_from_slice(&[0, 0, 8, 0]);
                    let d: u32 = pick(rnd, &[105, 105, 1]);
                    pkt.extend_from_slice(&d.to_le_bytes());
                }
                _ => {}
            }
            let fc = pick(rnd, &[0x08u8, 0x88, 0x08, 0x04, 0x00, 0x0c]);
            pkt.push(fc);
            pkt.push(pick(rnd, &[0u8, 1, 2, 3]));
            zeros(pkt, 22);
            if fc & 0x80 != 0 {
                zeros(pkt, 2);
            }
            let pad = (rnd() % 4) as usize;
            zeros(pkt, if rnd().is_multiple_of(4) { pad } else { 0 });
            pkt.extend_from_slice(&[0xaa, 0xaa, 3, 0, 0, 0]);
            pkt.extend_from_slice(&ethertype(rnd, v6));
        }
        _ => {}
    }
    // Network header.
    if v6 {
        let mut h = [0u8; 48];
        h[0] = 0x60;
        h[6] = pick(rnd, &[6u8, 6, 0x2c, 17]);
        h[40] = pick(rnd, &[6u8, 17]);
        pkt.extend_from_slice(&h);
    } else {
        let mut h = [0u8; 40];
        h[0] = 0x45;
        h[9] = pick(rnd, &[6u8, 6, 17]);
        pkt.extend_from_slice(&h);
    }
    // Mutations.
    for _ in 0..(rnd() % 3) {
        let pos = (rnd() % pkt.len() as u64) as usize;
        pkt[pos] = if rnd().is_multiple_of(2) {
            pick(rnd, &INTERESTING)
        } else {
            rnd() as u8
        };
    }
    if rnd().is_multiple_of(4) {
        let n = (rnd() % (pkt.len() as u64 + 1)) as usize;
        pkt.truncate(n);
    }
}
