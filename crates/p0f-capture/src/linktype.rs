//! LINKTYPE (file format) to DLT (libpcap API) mapping, as libpcap 1.10
//! does it when built for Linux, plus the per-DLT snapshot limits.

/// DLT values (Linux numbering) used in this crate.
pub mod dlt {
    pub const NULL: u32 = 0;
    pub const EN10MB: u32 = 1;
    pub const IEEE802: u32 = 6;
    pub const SLIP: u32 = 8;
    pub const PPP: u32 = 9;
    pub const FDDI: u32 = 10;
    pub const ATM_RFC1483: u32 = 11;
    pub const RAW: u32 = 12;
    pub const SLIP_BSDOS: u32 = 15;
    pub const PPP_BSDOS: u32 = 16;
    pub const ATM_CLIP: u32 = 19;
    pub const PPP_SERIAL: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    pub const C_HDLC: u32 = 104;
    pub const IEEE802_11: u32 = 105;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const PFLOG: u32 = 117;
    pub const PRISM_HEADER: u32 = 119;
    pub const IEEE802_11_RADIO: u32 = 127;
    pub const IEEE802_11_RADIO_AVS: u32 = 163;
    pub const PPI: u32 = 192;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const NETANALYZER: u32 = 240;
    pub const NETANALYZER_TRANSPARENT: u32 = 241;
    pub const PFSYNC: u32 = 246;
    pub const PKTAP: u32 = 258;
    pub const LINUX_SLL2: u32 = 276;
    pub const USBPCAP: u32 = 249;
    pub const DBUS: u32 = 231;
    pub const EBHSCR: u32 = 279;
}

/// libpcap's MAXIMUM_SNAPLEN.
pub const MAXIMUM_SNAPLEN: u32 = 262_144;

/// Map a LINKTYPE value from a capture file to the DLT value libpcap on
/// Linux reports (`linktype_to_dlt` in libpcap's pcap-common.c).
pub fn linktype_to_dlt(linktype: u32) -> u32 {
    match linktype {
        // Values in the "matching range" 104..=289 are identical, except
        // for a few platform-dependent ones.
        246 => dlt::PFSYNC,
        258 => dlt::PKTAP,
        106 => dlt::ATM_CLIP,
        104..=289 => linktype,
        // Values outside the matching range with a different DLT.
        100 => dlt::ATM_RFC1483,
        101 => dlt::RAW,
        102 => dlt::SLIP_BSDOS,
        103 => dlt::PPP_BSDOS,
        // Everything else (0..=10, 50, 51, 99, unknown values) maps to itself.
        other => other,
    }
}

/// libpcap's `max_snaplen_for_dlt`.
pub fn max_snaplen_for_dlt(dlt: u32) -> u32 {
    match dlt {
        dlt::DBUS => 128 * 1024 * 1024,
        dlt::EBHSCR => 8 * 1024 * 1024,
        dlt::USBPCAP => 1024 * 1024,
        _ => MAXIMUM_SNAPLEN,
    }
}

/// libpcap's `pcap_adjust_snapshot`: a zero or absurd snaplen becomes the
/// maximum for the link type.
pub fn adjust_snapshot(dlt: u32, snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > i32::MAX as u32 {
        max_snaplen_for_dlt(dlt)
    } else {
        snaplen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(linktype_to_dlt(1), 1);
        assert_eq!(linktype_to_dlt(0), 0);
        assert_eq!(linktype_to_dlt(101), 12);
        assert_eq!(linktype_to_dlt(12), 12);
        assert_eq!(linktype_to_dlt(113), 113);
        assert_eq!(linktype_to_dlt(106), 19);
        assert_eq!(linktype_to_dlt(50), 50);
        assert_eq!(linktype_to_dlt(276), 276);
        assert_eq!(adjust_snapshot(1, 0), 262_144);
        assert_eq!(adjust_snapshot(1, 0x8000_0000), 262_144);
        assert_eq!(adjust_snapshot(1, 70_000_000), 70_000_000);
    }
}
