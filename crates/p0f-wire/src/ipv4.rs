//! IPv4 header (RFC 791).

use crate::{be16, Error, Result};

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;
/// Protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// "Don't fragment" flag in the flags/fragment-offset word.
pub const FLAG_DF: u16 = 0x4000;
/// The reserved ("evil") flag that must be zero.
pub const FLAG_RESERVED: u16 = 0x8000;

/// A read-only view of an IPv4 header; the slice may run on into the payload.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<'a> {
    buf: &'a [u8],
    /// The fixed header, as an array so that field reads need no bounds
    /// checks once `new_checked` has succeeded.
    hdr: &'a [u8; HEADER_LEN],
}

impl<'a> Ipv4Packet<'a> {
    /// Succeeds when the 20-byte fixed header is present.
    #[inline]
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let hdr = buf.first_chunk::<HEADER_LEN>().ok_or(Error::Truncated)?;
        Ok(Ipv4Packet { buf, hdr })
    }

    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    #[inline]
    pub fn version(&self) -> u8 {
        self.hdr[0] >> 4
    }
    /// Header length in bytes as declared by IHL (may be bogus).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.hdr[0] & 0x0f) * 4
    }
    /// The whole TOS/traffic-class byte (DSCP and ECN).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.hdr[1]
    }
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.hdr, 2)
    }
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.hdr, 4)
    }
    /// Flags and fragment offset as one word.
    #[inline]
    pub fn flags_frag(&self) -> u16 {
        be16(self.hdr, 6)
    }
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.hdr[8]
    }
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.hdr[9]
    }
    #[inline]
    pub fn src(&self) -> [u8; 4] {
        [self.hdr[12], self.hdr[13], self.hdr[14], self.hdr[15]]
    }
    #[inline]
    pub fn dst(&self) -> [u8; 4] {
        [self.hdr[16], self.hdr[17], self.hdr[18], self.hdr[19]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buffers_are_refused() {
        assert_eq!(
            Ipv4Packet::new_checked(&[0x45; 19]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn fields_read_in_network_order() {
        let mut h = [0u8; 20];
        h[0] = 0x46;
        h[1] = 0x12;
        h[2..4].copy_from_slice(&60u16.to_be_bytes());
        h[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
        h[6..8].copy_from_slice(&FLAG_DF.to_be_bytes());
        h[8] = 64;
        h[9] = PROTO_TCP;
        h[12..16].copy_from_slice(&[10, 0, 0, 1]);
        h[16..20].copy_from_slice(&[192, 0, 2, 7]);
        let p = Ipv4Packet::new_checked(&h).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.tos(), 0x12);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 0xbeef);
        assert_eq!(p.flags_frag(), FLAG_DF);
        assert_eq!((p.ttl(), p.protocol()), (64, 6));
        assert_eq!(p.src(), [10, 0, 0, 1]);
        assert_eq!(p.dst(), [192, 0, 2, 7]);
    }
}
