//! p0f's default packet filter, evaluated natively.
//!
//! p0f compiles `tcp or (vlan and tcp)` on Ethernet and `tcp` elsewhere.
//! Each function below follows, load for load, the program libpcap 1.10's
//! optimiser emits for that expression and link type (as shown by
//! `bpf_dump`), including BPF's rule that a load past the captured bytes
//! rejects the whole packet. The test suite checks the result against
//! libpcap itself on every corpus packet.

use crate::linktype::dlt;
use crate::reader::CaptureFile;
use std::io::BufRead;

/// How libpcap recognises IPv4/IPv6 on the link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// 16-bit type at `ty`, network header at `nh`; `ip`/`ip6` values.
    Typed { ty: u32, nh: u32, v4: u16, v6: u16 },
    /// Ethernet plus the 802.1Q/802.1ad/0x9100 VLAN alternative.
    Ethernet,
    /// First nibble of the network header at `nh`.
    Version { nh: u32 },
    /// DLT_IPV4: protocol byte only.
    Ipv4Only,
    /// DLT_IPV6: next header only.
    Ipv6Only,
    /// 32-bit address-family word at 0, compared with `af4`/`af6`, as loaded
    /// big-endian by BPF.
    Af { af4: u32, af6: [u32; 3], n6: usize },
    /// OpenBSD pflog.
    Pflog,
    /// 802.11 with an optional radio header.
    Wifi(Radio),
    /// A link type libpcap cannot compile `tcp` for (p0f would exit).
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Radio {
    None,
    Prism,
    Radiotap,
    Avs,
    Ppi,
}

/// The native equivalent of p0f's default BPF program for one link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultFilter {
    dlt: u32,
    kind: Kind,
}

/// Where the filter is used; this changes libpcap's code for DLT_NULL and
/// DLT_LOOP only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A savefile; `swapped` is libpcap's "file byte order differs from
    /// the host's".
    Savefile { swapped: bool },
    /// A live capture (or `pcap_open_dead`).
    Live,
}

impl DefaultFilter {
    /// The filter p0f would use on an offline capture of link type `dlt`
    /// written in this machine's byte order.
    pub fn new(dlt: u32) -> DefaultFilter {
        Self::build(dlt, Context::Savefile { swapped: false })
    }

    /// The filter p0f would compile for this capture file (takes the file's
    /// byte order into account, which matters for DLT_NULL).
    pub fn for_capture<R: BufRead>(cf: &CaptureFile<R>) -> DefaultFilter {
        Self::build(
            cf.link_type(),
            Context::Savefile {
                swapped: cf.is_swapped(),
            },
        )
    }

    /// The filter p0f would use on a live capture of link type `dlt`
    /// (DLT_NULL/DLT_LOOP then accept only this platform's AF_INET6).
    pub fn new_live(dlt: u32) -> DefaultFilter {
        Self::build(dlt, Context::Live)
    }

    /// Whether libpcap can compile p0f's rule for this link type. When it
    /// cannot, p0f exits with an error; the filter then matches nothing.
    pub fn is_supported(&self) -> bool {
        self.kind != Kind::Unsupported
    }

    /// The link type this filter was built for.
    pub fn link_type(&self) -> u32 {
        self.dlt
    }

    fn build(d: u32, ctx: Context) -> DefaultFilter {
        let eth = |ty, nh| Kind::Typed {
            ty,
            nh,
            v4: 0x0800,
            v6: 0x86dd,
        };
        let ppp = |ty, nh| Kind::Typed {
            ty,
            nh,
            v4: 0x0021,
            v6: 0x0057,
        };
        let kind = match d {
            dlt::EN10MB => Kind::Ethernet,
            dlt::NULL | dlt::LOOP => {
                // Host byte order for DLT_NULL (swapped for a foreign-order
                // savefile); network byte order for DLT_LOOP. BPF loads the
                // word big-endian, so a value v in host (little-endian)
                // order compares as v.swap_bytes() on x86.
                let conv = |v: u32| -> u32 {
                    if d == dlt::LOOP {
                        return v;
                    }
                    let v = match ctx {
                        Context::Savefile { swapped: true } => v.swap_bytes(),
                        _ => v,
                    };
                    // htonl(v) as seen by a big-endian word load.
                    u32::from_be_bytes(v.to_ne_bytes())
                };
                match ctx {
                    Context::Savefile { .. } => Kind::Af {
                        af4: conv(2),
                        af6: [conv(30), conv(24), conv(28)],
                        n6: 3,
                    },
                    Context::Live => Kind::Af {
                        af4: conv(2),
                        af6: [conv(libc::AF_INET6 as u32), 0, 0],
                        n6: 1,
                    },
                }
            }
            dlt::IEEE802 => eth(20, 22),
            dlt::FDDI => eth(19, 21),
            dlt::SLIP => Kind::Version { nh: 16 },
            dlt::RAW => Kind::Version { nh: 0 },
            dlt::PPP | dlt::PPP_SERIAL => ppp(2, 4),
            dlt::PPP_ETHER => ppp(6, 8),
            dlt::C_HDLC => eth(2, 4),
            dlt::LINUX_SLL => eth(14, 16),
            dlt::LINUX_SLL2 => eth(0, 20),
            dlt::NETANALYZER => eth(16, 18),
            dlt::NETANALYZER_TRANSPARENT => eth(24, 26),
            dlt::IPV4 => Kind::Ipv4Only,
            dlt::IPV6 => Kind::Ipv6Only,
            dlt::PFLOG => Kind::Pflog,
            dlt::IEEE802_11 => Kind::Wifi(Radio::None),
            dlt::PRISM_HEADER => Kind::Wifi(Radio::Prism),
            dlt::IEEE802_11_RADIO => Kind::Wifi(Radio::Radiotap),
            dlt::IEEE802_11_RADIO_AVS => Kind::Wifi(Radio::Avs),
            dlt::PPI => Kind::Wifi(Radio::Ppi),
            _ => Kind::Unsupported,
        };
        DefaultFilter { dlt: d, kind }
    }

    /// Whether p0f's BPF program accepts a packet with these captured bytes.
    /// `wire_len` is the original length (unused by these programs, kept for
    /// parity with `pcap_offline_filter`).
    pub fn matches(&self, data: &[u8], wire_len: u32) -> bool {
        let _ = wire_len;
        let p = Pkt(data);
        let r = match self.kind {
            Kind::Ethernet => ethernet(p),
            Kind::Typed { ty, nh, v4, v6 } => typed(p, ty, nh, v4, v6),
            Kind::Version { nh } => version(p, nh),
            Kind::Ipv4Only => p.b(9).map(|v| v == 6),
            Kind::Ipv6Only => ip6_tcp(p, 0),
            Kind::Af { af4, af6, n6 } => af(p, af4, &af6[..n6]),
            Kind::Pflog => pflog(p),
            Kind::Wifi(radio) => wifi(p, radio),
            Kind::Unsupported => Some(false),
        };
        r.unwrap_or(false)
    }
}

/// BPF packet loads: `None` when the load reaches past the captured bytes.
#[derive(Clone, Copy)]
struct Pkt<'a>(&'a [u8]);

impl Pkt<'_> {
    #[inline]
    fn b(self, off: u32) -> Option<u32> {
        self.0.get(off as usize).map(|&v| u32::from(v))
    }
    #[inline]
    fn h(self, off: u32) -> Option<u32> {
        let o = off as usize;
        let s = self.0.get(o..o.checked_add(2)?)?;
        Some(u32::from(u16::from_be_bytes([s[0], s[1]])))
    }
    #[inline]
    fn w(self, off: u32) -> Option<u32> {
        let o = off as usize;
        let s = self.0.get(o..o.checked_add(4)?)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// Indirect load `[x + k]` (no wrap-around: out of range rejects).
    #[inline]
    fn bx(self, x: u32, k: u32) -> Option<u32> {
        self.b_abs(u64::from(x) + u64::from(k))
    }
    #[inline]
    fn hx(self, x: u32, k: u32) -> Option<u32> {
        let o = u64::from(x) + u64::from(k);
        if o > u64::from(u32::MAX) {
            return None;
        }
        self.h(o as u32)
    }
    #[inline]
    fn b_abs(self, o: u64) -> Option<u32> {
        usize::try_from(o)
            .ok()
            .and_then(|o| self.0.get(o))
            .map(|&v| u32::from(v))
    }
}

/// `ip6 proto 6` with the IPv6 header at `nh` (type already checked).
#[inline]
fn ip6_tcp(p: Pkt, nh: u32) -> Option<bool> {
    let nxt = p.b(nh + 6)?;
    if nxt == 6 {
        return Some(true);
    }
    if nxt != 0x2c {
        return Some(false);
    }
    Some(p.b(nh + 40)? == 6)
}

fn typed(p: Pkt, ty: u32, nh: u32, v4: u16, v6: u16) -> Option<bool> {
    let t = p.h(ty)?;
    if t == u32::from(v4) {
        Some(p.b(nh + 9)? == 6)
    } else if t == u32::from(v6) {
        ip6_tcp(p, nh)
    } else {
        Some(false)
    }
}

fn ethernet(p: Pkt) -> Option<bool> {
    let t = p.h(12)?;
    match t {
        0x0800 => Some(p.b(23)? == 6),
        0x86dd => ip6_tcp(p, 14),
        0x8100 | 0x88a8 | 0x9100 => typed(p, 16, 18, 0x0800, 0x86dd),
        _ => Some(false),
    }
}

fn version(p: Pkt, nh: u32) -> Option<bool> {
    if p.b(0)? & 0xf0 == 0x40 {
        return Some(p.b(nh + 9)? == 6);
    }
    if p.b(0)? & 0xf0 == 0x60 {
        return ip6_tcp(p, nh);
    }
    Some(false)
}

fn af(p: Pkt, af4: u32, af6: &[u32]) -> Option<bool> {
    let a = p.w(0)?;
    if a == af4 {
        Some(p.b(13)? == 6)
    } else if af6.contains(&a) {
        ip6_tcp(p, 4)
    } else {
        Some(false)
    }
}

fn pflog(p: Pkt) -> Option<bool> {
    let x = p.b(0)?.wrapping_add(3) & 0xffff_fffc;
    let af = p.b(1)?;
    if af == 2 {
        Some(p.bx(x, 9)? == 6)
    } else if af == 10 {
        let nxt = p.bx(x, 6)?;
        if nxt == 6 {
            return Some(true);
        }
        if nxt != 0x2c {
            return Some(false);
        }
        Some(p.bx(x, 40)? == 6)
    } else {
        Some(false)
    }
}

fn wifi(p: Pkt, radio: Radio) -> Option<bool> {
    // M[0]: length of the radio header.
    let m0 = match radio {
        Radio::None => 0,
        Radio::Prism => {
            if p.w(0)? & 0xffff_f000 == 0x8021_1000 {
                p.w(4)?
            } else {
                0x90
            }
        }
        Radio::Avs => p.w(4)?,
        Radio::Radiotap => (p.b(3)? << 8) | p.b(2)?,
        Radio::Ppi => {
            if p.w(4)? != 0x6900_0000 {
                return Some(false);
            }
            (p.b(3)? << 8) | p.b(2)?
        }
    };
    // M[1]: offset of the LLC header.
    let mut m1 = m0.wrapping_add(24);
    let fc = p.bx(m0, 0)?;
    if fc & 0x8 != 0 && fc & 0x4 == 0 {
        if fc & 0x80 != 0 {
            m1 = m1.wrapping_add(2);
        }
        if radio == Radio::Radiotap {
            let present = p.w(4)?;
            if present & 0x0200_0000 != 0 && present & 0x80 == 0 {
                let flags = if present & 0x0100_0000 != 0 {
                    p.b(16)?
                } else {
                    p.b(8)?
                };
                if flags & 0x20 != 0 {
                    m1 = m1.wrapping_add(3) & 0xffff_fffc;
                }
            }
        }
    }
    // ip
    let fc = p.bx(m0, 0)?;
    if fc & 0x4 == 0 && fc & 0x8 != 0 && p.hx(m1, 6)? == 0x0800 && p.bx(m1, 17)? == 6 {
        return Some(true);
    }
    // ip6
    let fc = p.bx(m0, 0)?;
    if fc & 0x4 != 0 || fc & 0x8 == 0 {
        return Some(false);
    }
    if p.hx(m1, 6)? != 0x86dd {
        return Some(false);
    }
    let nxt = p.bx(m1, 14)?;
    if nxt == 6 {
        return Some(true);
    }
    if nxt != 0x2c {
        return Some(false);
    }
    Some(p.bx(m1, 48)? == 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_ipv4_tcp() {
        let mut f = vec![0u8; 54];
        f[12] = 0x08;
        f[14] = 0x45;
        f[23] = 6;
        assert!(DefaultFilter::new(1).matches(&f, 54));
        f[23] = 17;
        assert!(!DefaultFilter::new(1).matches(&f, 54));
        // VLAN
        let mut v = vec![0u8; 58];
        v[12] = 0x81;
        v[16] = 0x86;
        v[17] = 0xdd;
        v[24] = 6;
        assert!(DefaultFilter::new(1).matches(&v, 58));
        // Truncated: the protocol byte is beyond the capture.
        assert!(!DefaultFilter::new(1).matches(&f[..20], 54));
    }

    #[test]
    fn null_byte_orders() {
        let mut f = vec![0u8; 44];
        f[0] = 2; // AF_INET, little-endian
        f[13] = 6;
        assert!(DefaultFilter::new(0).matches(&f, 44));
        assert!(!DefaultFilter::build(0, Context::Savefile { swapped: true }).matches(&f, 44));
        f[0] = 0;
        f[3] = 2;
        assert!(DefaultFilter::build(0, Context::Savefile { swapped: true }).matches(&f, 44));
        assert!(DefaultFilter::new(108).matches(&f, 44));
    }
}
