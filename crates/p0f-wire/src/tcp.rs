//! TCP header (RFC 9293) and its option area.

use crate::{be16, be32, Error, Result};

pub const HEADER_LEN: usize = 20;

/// Flag bits of byte 13.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// A read-only view of a TCP header.
#[derive(Clone, Copy, Debug)]
pub struct TcpPacket<'a> {
    buf: &'a [u8],
    /// The fixed header, as an array so that field reads need no bounds
    /// checks once `new_checked` has succeeded.
    hdr: &'a [u8; HEADER_LEN],
}

impl<'a> TcpPacket<'a> {
    /// Succeeds when the 20-byte fixed header is present. The data offset is
    /// not validated here: callers decide what a bogus one means.
    #[inline]
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let hdr = buf.first_chunk::<HEADER_LEN>().ok_or(Error::Truncated)?;
        Ok(TcpPacket { buf, hdr })
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.hdr, 0)
    }
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.hdr, 2)
    }
    #[inline]
    pub fn seq(&self) -> u32 {
        be32(self.hdr, 4)
    }
    #[inline]
    pub fn ack(&self) -> u32 {
        be32(self.hdr, 8)
    }
    /// Header length in bytes as declared by the data offset.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.hdr[12] >> 4) * 4
    }
    /// The ECN-nonce (NS) bit, the low bit of the data-offset byte.
    #[inline]
    pub fn ns(&self) -> bool {
        self.hdr[12] & 0x01 != 0
    }
    #[inline]
    pub fn flags(&self) -> u8 {
        self.hdr[13]
    }
    #[inline]
    pub fn window(&self) -> u16 {
        be16(self.hdr, 14)
    }
    #[inline]
    pub fn urgent_ptr(&self) -> u16 {
        be16(self.hdr, 18)
    }
    /// The option bytes, when the declared header fits in the buffer.
    #[inline]
    pub fn options(&self) -> Option<&'a [u8]> {
        let end = self.header_len();
        if end < HEADER_LEN {
            return None;
        }
        self.buf.get(HEADER_LEN..end)
    }
    /// Bytes after the declared header, when it fits.
    #[inline]
    pub fn payload(&self) -> Option<&'a [u8]> {
        let end = self.header_len();
        if end < HEADER_LEN {
            return None;
        }
        self.buf.get(end..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields() {
        let mut h = [0u8; 24];
        h[0..2].copy_from_slice(&1234u16.to_be_bytes());
        h[2..4].copy_from_slice(&25u16.to_be_bytes());
        h[4..8].copy_from_slice(&7u32.to_be_bytes());
        h[8..12].copy_from_slice(&0x0100_0000u32.to_be_bytes());
        h[12] = 0x61;
        h[13] = flags::SYN | flags::ECE;
        h[14..16].copy_from_slice(&65535u16.to_be_bytes());
        h[18..20].copy_from_slice(&3u16.to_be_bytes());
        h[20..24].copy_from_slice(&[2, 4, 5, 180]);
        let t = TcpPacket::new_checked(&h).unwrap();
        assert_eq!(
            (t.src_port(), t.dst_port(), t.seq(), t.ack()),
            (1234, 25, 7, 0x0100_0000)
        );
        assert_eq!(t.header_len(), 24);
        assert!(t.ns());
        assert_eq!(t.flags(), 0x42);
        assert_eq!(t.window(), 65535);
        assert_eq!(t.urgent_ptr(), 3);
        assert_eq!(t.options(), Some(&[2u8, 4, 5, 180][..]));
        assert_eq!(t.payload(), Some(&[][..]));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(t) = TcpPacket::new_checked(&bytes) {
                let _ = (t.src_port(), t.dst_port(), t.seq(), t.ack(), t.flags(), t.window());
                let _ = (t.options(), t.payload(), t.urgent_ptr(), t.ns());
            }
        }
    }
}
