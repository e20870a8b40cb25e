//! Host addresses as p0f keys and prints them.

use std::fmt;

/// An IPv4 or IPv6 address, stored in one fixed-size value so that host and
/// flow keys never allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostAddr {
    ver: u8,
    bytes: [u8; 16],
}

impl HostAddr {
    pub fn v4(a: [u8; 4]) -> HostAddr {
        let mut bytes = [0; 16];
        bytes[..4].copy_from_slice(&a);
        HostAddr { ver: 4, bytes }
    }
    pub fn v6(bytes: [u8; 16]) -> HostAddr {
        HostAddr { ver: 6, bytes }
    }
    /// 4 or 6.
    pub fn version(&self) -> u8 {
        self.ver
    }
    /// The address bytes: 4 for IPv4, 16 for IPv6.
    pub fn octets(&self) -> &[u8] {
        if self.ver == 4 {
            &self.bytes[..4]
        } else {
            &self.bytes
        }
    }
}

impl HostAddr {
    /// Appends the printed form (see `Display`) without going through
    /// `core::fmt`, which is slow enough to show on busy captures.
    pub fn push_text(&self, buf: &mut Vec<u8>) {
        let mut text = EndpointText::EMPTY;
        text.push_addr(self);
        buf.extend_from_slice(text.as_bytes());
    }
}

/// The decimal text of every byte value followed by a dot, padded to four
/// bytes, and its length with the dot. An octet is written as one 4-byte
/// store and the cursor moves by the length, so the next store overwrites
/// the padding (and, after the last octet, the dot).
const OCTET_DOT: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut v = 0;
    while v < 256 {
        let (h, te, o) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        t[v] = if v >= 100 {
            ([b'0' + h, b'0' + te, b'0' + o, b'.'], 4)
        } else if v >= 10 {
            ([b'0' + te, b'0' + o, b'.', 0], 3)
        } else {
            ([b'0' + o, b'.', 0, 0], 2)
        };
        v += 1;
    }
    t
};

/// `ADDR/PORT` (or just `ADDR`) rendered into a fixed buffer, so that an
/// observation formats each of its ends once, without allocating, and copies
/// it out in one piece wherever it appears (three times in a console block,
/// twice in a log line). Byte-at-a-time pushes onto a `Vec` cost a bounds
/// and capacity check each, which showed as a tenth of all instructions.
#[derive(Clone, Copy)]
pub struct EndpointText {
    /// Eight groups of four hex digits and seven colons, '/', five digits.
    bytes: [u8; 48],
    len: usize,
}

impl EndpointText {
    const EMPTY: EndpointText = EndpointText {
        bytes: [0; 48],
        len: 0,
    };

    /// `ADDR/PORT`, as p0f prints an end of a connection.
    pub fn new(addr: &HostAddr, port: u16) -> EndpointText {
        let mut t = EndpointText::EMPTY;
        t.push_addr(addr);
        t.push(b'/');
        t.push_port(port);
        t
    }

    /// Appends the text to `buf` as one fixed-size copy (no call to
    /// `memcpy`), then cuts the buffer back to the text's length.
    pub fn append_to(&self, buf: &mut Vec<u8>) {
        let end = buf.len() + self.len;
        buf.extend_from_slice(&self.bytes);
        buf.truncate(end);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, b: u8) {
        // Never full: the longest text is 45 bytes.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Writes the decimal port as one 8-byte store of its digits, then
    /// keeps only the digits.
    fn push_port(&mut self, port: u16) {
        let (digits, n) = crate::text::u16_digits(port);
        // Never out of range: an address takes at most 39 bytes, and 39 + 1
        // + 8 = 48.
        if let Some(dst) = self.bytes.get_mut(self.len..self.len + 8) {
            dst.copy_from_slice(&digits);
            self.len += n;
        }
    }

    /// Dotted decimal, four 4-byte stores (see [`OCTET_DOT`]).
    fn push_v4(&mut self, octets: [u8; 4]) {
        let mut at = self.len;
        for o in octets {
            let (text, n) = OCTET_DOT[usize::from(o)];
            // Only called on an empty or short buffer: at most 16 + 4 bytes.
            if let Some(dst) = self.bytes.get_mut(at..at + 4) {
                dst.copy_from_slice(&text);
                at += usize::from(n);
            }
        }
        // The last octet's dot is not part of the address.
        self.len = at.saturating_sub(1);
    }

    fn push_addr(&mut self, addr: &HostAddr) {
        let b = &addr.bytes;
        if addr.ver == 4 {
            self.push_v4([b[0], b[1], b[2], b[3]]);
            return;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for i in 0..8 {
            if i > 0 {
                self.push(b':');
            }
            let group = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
            let mut started = false;
            for shift in [12, 8, 4, 0] {
                let nibble = usize::from((group >> shift) & 0xf);
                if nibble != 0 || started || shift == 0 {
                    self.push(HEX[nibble]);
                    started = true;
                }
            }
        }
    }
}

impl From<std::net::IpAddr> for HostAddr {
    fn from(a: std::net::IpAddr) -> HostAddr {
        match a {
            std::net::IpAddr::V4(a) => HostAddr::v4(a.octets()),
            std::net::IpAddr::V6(a) => HostAddr::v6(a.octets()),
        }
    }
}

impl fmt::Display for HostAddr {
    /// Dotted decimal, or eight uncompressed lowercase hex groups without
    /// leading zeros (p0f's format, which scripts parse).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.bytes;
        if self.ver == 4 {
            return write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
        }
        for i in 0..8 {
            let group = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{group:x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_p0f() {
        assert_eq!(HostAddr::v4([127, 0, 0, 1]).to_string(), "127.0.0.1");
        let mut a = [0u8; 16];
        a[15] = 1;
        assert_eq!(HostAddr::v6(a).to_string(), "0:0:0:0:0:0:0:1");
        let a: std::net::IpAddr = "2001:db8::7".parse().unwrap();
        assert_eq!(HostAddr::from(a).to_string(), "2001:db8:0:0:0:0:0:7");
    }

    #[test]
    fn fast_text_equals_display() {
        let samples = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "2001:db8::7",
            "fe80::1:ab:cdef:0",
            "ffff::",
        ];
        for s in samples {
            let a = HostAddr::from(s.parse::<std::net::IpAddr>().unwrap());
            let mut buf = Vec::new();
            a.push_text(&mut buf);
            assert_eq!(String::from_utf8(buf).unwrap(), a.to_string());
        }
    }

    proptest::proptest! {
        /// The store-and-advance text of any address and port is the
        /// plain `Display` text.
        #[test]
        fn endpoint_text_equals_display(v4: bool, bytes: [u8; 16], port: u16) {
            let addr = if v4 {
                HostAddr::v4([bytes[0], bytes[1], bytes[2], bytes[3]])
            } else {
                HostAddr::v6(bytes)
            };
            let text = EndpointText::new(&addr, port);
            proptest::prop_assert_eq!(
                std::str::from_utf8(text.as_bytes()).unwrap(),
                format!("{addr}/{port}")
            );
        }
    }
}
