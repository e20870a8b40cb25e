//! Turning the bytes of one packet into the facts p0f fingerprints.
//!
//! The rules (what is dropped, how lengths are trimmed, which quirks are set
//! and how TCP options are walked) are p0f 3.09b's, including the two
//! detection oddities that shape raw signatures people share: `ack+` looks
//! only at one bit of the acknowledgement number, and `opt+` never inspects
//! the last byte of EOL padding.

use p0f_sigdb::{opt, OptLayout, Quirks};
use p0f_wire::ipv4::{self, Ipv4Packet};
use p0f_wire::ipv6::{self, Ipv6Packet};
use p0f_wire::tcp::{flags, TcpPacket};

use crate::addr::HostAddr;

/// Smallest packets that can carry IPv4+TCP and IPv6+TCP headers.
pub const MIN_TCP4: usize = 40;
pub const MIN_TCP6: usize = 60;

/// p0f never looks at more than this many bytes of a packet.
pub const SNAPLEN: usize = 65535;

/// The TCP control bits p0f classifies packets by.
pub mod kind {
    use p0f_wire::tcp::flags;
    pub const SYN: u8 = flags::SYN;
    pub const SYN_ACK: u8 = flags::SYN | flags::ACK;
    pub const ACK: u8 = flags::ACK;
    pub const FIN: u8 = flags::FIN;
    pub const RST: u8 = flags::RST;
}

/// Everything p0f keeps about one TCP packet (its `packet_data`).
#[derive(Clone, Copy, Debug)]
pub struct PacketFacts<'a> {
    pub ip_ver: u8,
    pub src: HostAddr,
    pub dst: HostAddr,
    pub sport: u16,
    pub dport: u16,
    /// SYN, ACK, FIN and RST bits of the flags byte.
    pub tcp_type: u8,
    pub seq: u32,
    pub win: u16,
    pub ttl: u8,
    /// DSCP (TOS byte >> 2).
    pub tos: u8,
    pub ip_opt_len: u8,
    /// IP header plus TCP header, options included.
    pub tot_hdr: u16,
    pub quirks: Quirks,
    pub layout: OptLayout,
    pub eol_pad: u8,
    pub mss: u16,
    pub wscale: u8,
    pub ts1: u32,
    pub payload: &'a [u8],
}

/// Why a packet is not fingerprinted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not IPv4 or IPv6: the high nibble of the first byte, for the warning.
    UnknownNetwork(u8),
    /// Anything else (short, fragment, not TCP, silly flags...). p0f drops
    /// these silently.
    Ignored,
}

/// Parses a packet that starts at the network header. `data` is at most
/// what was captured, already cut to p0f's usable length.
pub fn parse(data: &[u8]) -> Result<PacketFacts<'_>, Skip> {
    if data.len() < MIN_TCP4 {
        return Err(Skip::Ignored);
    }
    let mut quirks = Quirks::empty();
    let (net, tcp_bytes) = match data[0] >> 4 {
        4 => parse_ipv4(data, &mut quirks)?,
        6 => parse_ipv6(data, &mut quirks)?,
        other => return Err(Skip::UnknownNetwork(other)),
    };
    parse_tcp(net, tcp_bytes, quirks)
}

/// What the network layer contributes.
struct NetFacts {
    ip_ver: u8,
    src: HostAddr,
    dst: HostAddr,
    ttl: u8,
    tos: u8,
    ip_opt_len: u8,
    ip_hdr_len: u16,
}

fn parse_ipv4<'a>(data: &'a [u8], quirks: &mut Quirks) -> Result<(NetFacts, &'a [u8]), Skip> {
    let ip = Ipv4Packet::new_checked(data).map_err(|_| Skip::Ignored)?;
    let hdr_len = ip.header_len();
    let tot_len = usize::from(ip.total_len());
    // Trust a shorter declared length (Ethernet padding, etherleak).
    let len = data.len().min(tot_len);
    if len < MIN_TCP4 || hdr_len < ipv4::HEADER_LEN || tot_len > len || hdr_len + 20 > len {
        return Err(Skip::Ignored);
    }
    if ip.protocol() != ipv4::PROTO_TCP {
        return Err(Skip::Ignored);
    }
    let frag = ip.flags_frag();
    if frag & !(ipv4::FLAG_DF | ipv4::FLAG_RESERVED) != 0 {
        return Err(Skip::Ignored);
    }
    if ip.tos() & 0x03 != 0 {
        quirks.insert(Quirks::ECN);
    }
    if frag & ipv4::FLAG_RESERVED != 0 {
        quirks.insert(Quirks::NZ_MBZ);
    }
    if frag & ipv4::FLAG_DF != 0 {
        quirks.insert(Quirks::DF);
        if ip.ident() != 0 {
            quirks.insert(Quirks::NZ_ID);
        }
    } else if ip.ident() == 0 {
        quirks.insert(Quirks::ZERO_ID);
    }
    let net = NetFacts {
        ip_ver: 4,
        src: HostAddr::v4(ip.src()),
        dst: HostAddr::v4(ip.dst()),
        ttl: ip.ttl(),
        tos: ip.tos() >> 2,
        ip_opt_len: (hdr_len - ipv4::HEADER_LEN) as u8,
        ip_hdr_len: hdr_len as u16,
    };
    Ok((net, &data[hdr_len..len]))
}

fn parse_ipv6<'a>(data: &'a [u8], quirks: &mut Quirks) -> Result<(NetFacts, &'a [u8]), Skip> {
    let ip = Ipv6Packet::new_checked(data).map_err(|_| Skip::Ignored)?;
    let tot_len = usize::from(ip.payload_len()) + ipv6::HEADER_LEN;
    let len = data.len().min(tot_len);
    if len < MIN_TCP6 || tot_len > len || ip.next_header() != 6 {
        return Err(Skip::Ignored);
    }
    let word = ip.ver_class_flow();
    if word & 0x000f_ffff != 0 {
        quirks.insert(Quirks::FLOW);
    }
    if (word >> 20) & 0x03 != 0 {
        quirks.insert(Quirks::ECN);
    }
    let net = NetFacts {
        ip_ver: 6,
        src: HostAddr::v6(ip.src()),
        dst: HostAddr::v6(ip.dst()),
        ttl: ip.hop_limit(),
        tos: ((word >> 22) & 0x3f) as u8,
        ip_opt_len: 0,
        ip_hdr_len: ipv6::HEADER_LEN as u16,
    };
    Ok((net, &data[ipv6::HEADER_LEN..len]))
}

fn parse_tcp(net: NetFacts, bytes: &[u8], mut quirks: Quirks) -> Result<PacketFacts<'_>, Skip> {
    let tcp = TcpPacket::new_checked(bytes).map_err(|_| Skip::Ignored)?;
    let doff = tcp.header_len();
    if doff < 20 || doff > bytes.len() {
        return Err(Skip::Ignored);
    }
    let f = tcp.flags();
    let tcp_type = f & (flags::SYN | flags::ACK | flags::FIN | flags::RST);
    let syn = f & flags::SYN != 0;
    let fin = f & flags::FIN != 0;
    let rst = f & flags::RST != 0;
    if (syn && (fin || rst)) || (fin && rst) || tcp_type == 0 {
        return Err(Skip::Ignored);
    }
    let seq = tcp.seq();
    if f & (flags::ECE | flags::CWR) != 0 || tcp.ns() {
        quirks.insert(Quirks::ECN);
    }
    if seq == 0 {
        quirks.insert(Quirks::ZERO_SEQ);
    }
    if f & flags::ACK != 0 {
        if tcp.ack() == 0 {
            quirks.insert(Quirks::ZERO_ACK);
        }
    } else if !rst && ack_plus_bit(tcp.ack()) {
        quirks.insert(Quirks::NZ_ACK);
    }
    if f & flags::URG != 0 {
        quirks.insert(Quirks::URG);
    } else if tcp.urgent_ptr() != 0 {
        quirks.insert(Quirks::NZ_URG);
    }
    if f & flags::PSH != 0 {
        quirks.insert(Quirks::PUSH);
    }
    let mut facts = PacketFacts {
        ip_ver: net.ip_ver,
        src: net.src,
        dst: net.dst,
        sport: tcp.src_port(),
        dport: tcp.dst_port(),
        tcp_type,
        seq,
        win: tcp.window(),
        ttl: net.ttl,
        tos: net.tos,
        ip_opt_len: net.ip_opt_len,
        tot_hdr: net.ip_hdr_len + doff as u16,
        quirks,
        layout: OptLayout::new(),
        eol_pad: 0,
        mss: 0,
        wscale: 0,
        ts1: 0,
        payload: &bytes[doff..],
    };
    walk_options(&bytes[20..doff], &mut facts);
    Ok(facts)
}

/// p0f tests the acknowledgement number with a bitwise AND against a 0/1
/// truth value on the raw (network-order) word, which on the little-endian
/// machines it runs on sees only the lowest bit of the first byte on the
/// wire. Raw signatures in circulation carry this, so it is kept.
fn ack_plus_bit(ack: u32) -> bool {
    (ack >> 24) & 1 != 0
}

/// Walks the TCP options as p0f does, recording kinds, values and quirks.
fn walk_options(opts: &[u8], pk: &mut PacketFacts<'_>) {
    let end = opts.len();
    let mut at = 0;
    let mut aborted = false;
    while at < end && !pk.layout.is_full() {
        let kind = opts[at];
        pk.layout.push(kind);
        at += 1;
        // `rest` is what follows the kind byte.
        let rest = &opts[at..];
        match kind {
            opt::EOL => {
                pk.eol_pad = rest.len().min(255) as u8;
                // p0f's scan stops at the first non-zero byte but its
                // post-increment means the final byte is never judged.
                let checked = rest.len().saturating_sub(1);
                if rest[..checked].iter().any(|&b| b != 0) {
                    pk.quirks.insert(Quirks::OPT_EOL_NZ);
                }
                at = end;
            }
            opt::NOP => {}
            opt::MSS => {
                if rest.len() < 3 {
                    aborted = true;
                    break;
                }
                if rest[0] != 4 {
                    pk.quirks.insert(Quirks::OPT_BAD);
                }
                pk.mss = u16::from_be_bytes([rest[1], rest[2]]);
                at += 3;
            }
            opt::WS => {
                if rest.len() < 2 {
                    aborted = true;
                    break;
                }
                if rest[0] != 3 {
                    pk.quirks.insert(Quirks::OPT_BAD);
                }
                pk.wscale = rest[1];
                if pk.wscale > 14 {
                    pk.quirks.insert(Quirks::OPT_EXWS);
                }
                at += 2;
            }
            opt::SOK => {
                if rest.is_empty() {
                    aborted = true;
                    break;
                }
                if rest[0] != 2 {
                    pk.quirks.insert(Quirks::OPT_BAD);
                }
                at += 1;
            }
            opt::TS => {
                if rest.len() < 9 {
                    aborted = true;
                    break;
                }
                if rest[0] != 10 {
                    pk.quirks.insert(Quirks::OPT_BAD);
                }
                pk.ts1 = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
                if pk.ts1 == 0 {
                    pk.quirks.insert(Quirks::OPT_ZERO_TS1);
                }
                let ts2 = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
                if pk.tcp_type == kind::SYN && ts2 != 0 {
                    pk.quirks.insert(Quirks::OPT_NZ_TS2);
                }
                at += 9;
            }
            _ => {
                // SACK blocks are 10..34 bytes long, other kinds 2..40.
                let (min, max) = if kind == opt::SACK { (10, 34) } else { (2, 40) };
                let Some(&len) = rest.first() else {
                    aborted = true;
                    break;
                };
                let len = usize::from(len);
                if len < min || len > max || len - 1 > rest.len() {
                    aborted = true;
                    break;
                }
                at += len - 1;
            }
        }
    }
    if aborted || at != end {
        pk.quirks.insert(Quirks::OPT_BAD);
    }
}

#[cfg(test)]
pub(crate) mod tests;
