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
        let b = &self.bytes;
        if self.ver == 4 {
            for (i, octet) in b[..4].iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.extend_from_slice(itoa::Buffer::new().format(*octet).as_bytes());
            }
            return;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for i in 0..8 {
            if i > 0 {
                buf.push(b':');
            }
            let group = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
            let mut started = false;
            for shift in [12, 8, 4, 0] {
                let nibble = usize::from((group >> shift) & 0xf);
                if nibble != 0 || started || shift == 0 {
                    buf.push(HEX[nibble]);
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
}
