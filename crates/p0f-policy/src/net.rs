//! Addresses as MTAs spell them, and trusted networks.

use std::net::IpAddr;
use std::str::FromStr;

/// Parses a client address as an MTA hands it over: plain (`192.0.2.1`,
/// `2001:db8::1`), with Postfix's `IPv6:` prefix, or in brackets. IPv4-mapped
/// IPv6 addresses become IPv4, because p0f saw IPv4 packets.
pub fn parse_client_addr(s: &str) -> Option<IpAddr> {
    let mut t = s.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        t = inner;
    }
    if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("ipv6:")) {
        t = &t[5..];
    }
    let ip: IpAddr = t.parse().ok()?;
    Some(canonical(ip))
}

/// Maps `::ffff:a.b.c.d` to `a.b.c.d`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// An address block such as `192.0.2.0/24`, `2001:db8::/32`, `[::1]/128`
/// or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let a = a.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address or address/prefix"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("{s:?}: prefix must be 0..={max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_addr_forms() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_client_addr("IPv6:2001:db8::1"), Some(v6));
        assert_eq!(parse_client_addr("ipv6:2001:db8::1"), Some(v6));
        assert_eq!(parse_client_addr("[IPv6:2001:db8::1]"), Some(v6));
        assert_eq!(
            parse_client_addr("::ffff:192.0.2.9"),
            Some("192.0.2.9".parse().unwrap())
        );
        assert_eq!(
            parse_client_addr("192.0.2.9"),
            Some("192.0.2.9".parse().unwrap())
        );
        assert_eq!(parse_client_addr("unknown"), None);
        assert_eq!(parse_client_addr(""), None);
    }

    #[test]
    fn cidr() {
        let c: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(c.contains("192.0.2.77".parse().unwrap()));
        assert!(c.contains("::ffff:192.0.2.77".parse().unwrap()));
        assert!(!c.contains("192.0.3.1".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        let c: Cidr = "[::1]/128".parse().unwrap();
        assert!(c.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains("2001:db8::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,60}") {
            let _ = parse_client_addr(&s);
            let _ = s.parse::<Cidr>();
        }
    }
}
