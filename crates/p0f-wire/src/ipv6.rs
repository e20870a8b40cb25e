//! IPv6 fixed header (RFC 8200). Extension headers are not walked: p0f
//! fingerprints only packets whose first next-header is TCP.

use crate::{be16, be32, Error, Result};

pub const HEADER_LEN: usize = 40;

/// A read-only view of an IPv6 fixed header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Ipv6Packet<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Ipv6Packet { buf })
    }

    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }
    /// Version, traffic class and flow label as one word.
    pub fn ver_class_flow(&self) -> u32 {
        be32(self.buf, 0)
    }
    pub fn traffic_class(&self) -> u8 {
        (self.ver_class_flow() >> 20) as u8
    }
    pub fn flow_label(&self) -> u32 {
        self.ver_class_flow() & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.buf, 4)
    }
    pub fn next_header(&self) -> u8 {
        self.buf[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buf[7]
    }
    pub fn src(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf[8..24]);
        a
    }
    pub fn dst(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf[24..40]);
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
