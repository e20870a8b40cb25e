//! IPv6 fixed header (RFC 8200). Extension headers are not walked: p0f
//! fingerprints only packets whose first next-header is TCP.

use crate::{be16, be32, Error, Result};

pub const HEADER_LEN: usize = 40;

/// A read-only view of an IPv6 fixed header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<'a> {
    /// The fixed header, as an array so that field reads need no bounds
    /// checks once `new_checked` has succeeded.
    hdr: &'a [u8; HEADER_LEN],
}

impl<'a> Ipv6Packet<'a> {
    #[inline]
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let hdr = buf.first_chunk::<HEADER_LEN>().ok_or(Error::Truncated)?;
        Ok(Ipv6Packet { hdr })
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.hdr[0] >> 4
    }
    /// Version, traffic class and flow label as one word.
    #[inline]
    pub fn ver_class_flow(&self) -> u32 {
        be32(self.hdr, 0)
    }
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.ver_class_flow() >> 20) as u8
    }
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.ver_class_flow() & 0x000f_ffff
    }
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.hdr, 4)
    }
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.hdr[6]
    }
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.hdr[7]
    }
    #[inline]
    pub fn src(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.hdr[8..24]);
        a
    }
    #[inline]
    pub fn dst(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.hdr[24..40]);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let mut h = [0u8; 40];
        h[0..4].copy_from_slice(&0x6ab1_2345u32.to_be_bytes());
        h[4..6].copy_from_slice(&20u16.to_be_bytes());
        h[6] = 6;
        h[7] = 57;
        h[23] = 1;
        h[39] = 2;
        let p = Ipv6Packet::new_checked(&h).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(p.flow_label(), 0x1_2345);
        assert_eq!(p.payload_len(), 20);
        assert_eq!((p.next_header(), p.hop_limit()), (6, 57));
        assert_eq!(p.src()[15], 1);
        assert_eq!(p.dst()[15], 2);
        assert!(Ipv6Packet::new_checked(&h[..39]).is_err());
    }
}
