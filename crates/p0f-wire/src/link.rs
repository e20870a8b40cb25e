//! Link-layer framing: where the network-layer header starts.
//!
//! Values are libpcap's DLT numbers as they are on Linux.

/// libpcap data link types that p0f-rs knows by number.
pub mod dlt {
    pub const NULL: u32 = 0;
    pub const EN10MB: u32 = 1;
    pub const PPP: u32 = 9;
    pub const RAW: u32 = 12;
    pub const PPP_SERIAL: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    pub const IEEE802_11: u32 = 105;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const PFLOG: u32 = 117;
    pub const LINUX_SLL2: u32 = 276;
}

/// 802.1Q, 802.1ad and the pre-standard 0x9100 tag ethertypes.
pub const VLAN_ETHERTYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// The fixed network-header offset p0f 3.09b uses for a link type, or None
/// when it has to be guessed from the packets.
///
/// These are p0f's numbers, not always the true header length: DLT_LOOP's
/// header is 4 bytes, yet p0f skips 8 (kept for compatibility).
pub fn p0f_fixed_offset(dlt: u32) -> Option<usize> {
    match dlt {
        dlt::RAW => Some(0),
        dlt::NULL | dlt::PPP => Some(4),
        dlt::LOOP | dlt::PPP_SERIAL | dlt::PPP_ETHER => Some(8),
        dlt::EN10MB => Some(14),
        dlt::LINUX_SLL => Some(16),
        dlt::PFLOG => Some(28),
        dlt::IEEE802_11 => Some(32),
        _ => None,
    }
}

/// Smallest IPv4+TCP and IPv6+TCP packets.
const MIN_TCP4: usize = 40;
const MIN_TCP6: usize = 60;

/// Guesses the network-header offset of an unknown link type the way p0f
/// does: the first even offset below 40 where an IPv4 or IPv6 header
/// carrying TCP seems to start, stepped back over a preceding 802.1Q tag.
/// `len` is the usable packet length (it may be less than `data.len()`).
pub fn guess_offset(data: &[u8], len: usize) -> Option<usize> {
    let len = len.min(data.len());
    let mut found = None;
    for off in (0..40).step_by(2) {
        let left = len.saturating_sub(off);
        if len < off || left < MIN_TCP4 {
            break;
        }
        let first = data[off];
        // Past this point `left >= 40`, so offsets up to off+39 are in bounds.
        if left >= MIN_TCP6 && first >> 4 == 6 && data[off + 6] == 6 {
            found = Some(off);
            break;
        }
        if first >> 4 == 4 && data[off + 9] == 6 {
            found = Some(off);
            break;
        }
    }
    let off = found?;
    if off >= 4 && data[off - 4] == 0x81 && data[off - 3] == 0x00 {
        Some(off - 4)
    } else {
        Some(off)
    }
}

/// Length of the 802.1Q/802.1ad tags that follow the MAC addresses of an
/// Ethernet frame (0 for an untagged frame, `None` if truncated mid-tag).
pub fn ethernet_vlan_tags_len(frame: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let ty = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
        if !VLAN_ETHERTYPES.contains(&ty) {
            return Some(at - 12);
        }
        at += 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fixed_offsets() {
        assert_eq!(p0f_fixed_offset(dlt::EN10MB), Some(14));
        assert_eq!(p0f_fixed_offset(dlt::LOOP), Some(8));
        assert_eq!(p0f_fixed_offset(dlt::LINUX_SLL2), None);
    }

    #[test]
    fn guesses_ipv4_after_sll2_header() {
        let mut p = vec![0u8; 20 + 40];
        p[20] = 0x45;
        p[29] = 6;
        assert_eq!(guess_offset(&p, p.len()), Some(20));
    }

    #[test]
    fn guess_steps_back_over_vlan_tag() {
        let mut p = vec![0u8; 18 + 40];
        p[12] = 0x81;
        p[13] = 0x00;
        p[16] = 0x08;
        p[18] = 0x45;
        p[27] = 6;
        // Found at 18, and the bytes 4 earlier... are at 14 = 0: no step.
        assert_eq!(guess_offset(&p, p.len()), Some(18));
        p[14] = 0x81;
        p[15] = 0x00;
        assert_eq!(guess_offset(&p, p.len()), Some(14));
    }

    #[test]
    fn vlan_tags() {
        let mut f = [0u8; 22];
        f[12] = 0x81;
        f[16] = 0x88;
        f[17] = 0xa8;
        f[20] = 0x08;
        assert_eq!(ethernet_vlan_tags_len(&f), Some(8));
        assert_eq!(ethernet_vlan_tags_len(&f[..19]), None);
        assert_eq!(ethernet_vlan_tags_len(&[0u8; 14]), Some(0));
    }

    proptest! {
        #[test]
        fn guess_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120), len in 0usize..200) {
            let _ = guess_offset(&bytes, len);
            let _ = ethernet_vlan_tags_len(&bytes);
        }
    }
}
