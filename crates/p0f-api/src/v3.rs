//! p0f 3 API: one host per query.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{fixed, ne16, ne32, FixedStr};

pub const QUERY_MAGIC: u32 = 0x5030_4601;
pub const RESPONSE_MAGIC: u32 = 0x5030_4602;
pub const QUERY_LEN: usize = 21;
pub const RESPONSE_LEN: usize = 232;

/// Address type bytes.
const ADDR_V4: u8 = 4;
const ADDR_V6: u8 = 6;

/// Reply status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    BadQuery,
    Ok,
    NoMatch,
    /// A value no p0f sends.
    Other(u32),
}

impl Status {
    pub fn code(self) -> u32 {
        match self {
            Status::BadQuery => 0x00,
            Status::Ok => 0x10,
            Status::NoMatch => 0x20,
            Status::Other(c) => c,
        }
    }
    pub fn from_code(c: u32) -> Status {
        match c {
            0x00 => Status::BadQuery,
            0x10 => Status::Ok,
            0x20 => Status::NoMatch,
            other => Status::Other(other),
        }
    }
}

/// Why a query is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    BadMagic(u32),
    BadAddressType(u8),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::BadMagic(m) => write!(f, "query with bad magic (0x{m:x})"),
            QueryError::BadAddressType(t) => write!(f, "query with unknown address type {t}"),
        }
    }
}

impl std::error::Error for QueryError {}

/// "Tell me about this address."
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub addr: IpAddr,
}

impl Query {
    pub fn encode(&self) -> [u8; QUERY_LEN] {
        let mut b = [0u8; QUERY_LEN];
        b[..4].copy_from_slice(&QUERY_MAGIC.to_ne_bytes());
        match self.addr {
            IpAddr::V4(a) => {
                b[4] = ADDR_V4;
                b[5..9].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                b[4] = ADDR_V6;
                b[5..21].copy_from_slice(&a.octets());
            }
        }
        b
    }

    pub fn decode(b: &[u8; QUERY_LEN]) -> Result<Query, QueryError> {
        let magic = ne32(b, 0);
        if magic != QUERY_MAGIC {
            return Err(QueryError::BadMagic(magic));
        }
        let addr = match b[4] {
            ADDR_V4 => IpAddr::V4(Ipv4Addr::new(b[5], b[6], b[7], b[8])),
            ADDR_V6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[5..21]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
            other => return Err(QueryError::BadAddressType(other)),
        };
        Ok(Query { addr })
    }
}

/// The reply. Times are Unix seconds; zero means never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub first_seen: u32,
    pub last_seen: u32,
    pub total_conn: u32,
    /// Minutes of uptime; 0 when unknown.
    pub uptime_min: u32,
    /// Days after which the uptime counter wraps.
    pub up_mod_days: u32,
    pub last_nat: u32,
    pub last_chg: u32,
    /// Network hops; p0f 3.09b sends 255 (not the documented -1) when unknown.
    pub distance: i16,
    /// 0 fine, 1 User-Agent names another OS, 2 software looks fake.
    pub bad_sw: u8,
    /// Bit 0x01 fuzzy, 0x02 generic.
    pub os_match_q: u8,
    pub os_name: FixedStr<32>,
    pub os_flavor: FixedStr<32>,
    pub http_name: FixedStr<32>,
    pub http_flavor: FixedStr<32>,
    pub link_type: FixedStr<32>,
    pub language: FixedStr<32>,
}

impl Response {
    /// An all-zero reply with the given status (p0f zero-fills first).
    pub fn empty(status: Status) -> Response {
        Response {
            status,
            first_seen: 0,
            last_seen: 0,
            total_conn: 0,
            uptime_min: 0,
            up_mod_days: 0,
            last_nat: 0,
            last_chg: 0,
            distance: 0,
            bad_sw: 0,
            os_match_q: 0,
            os_name: FixedStr::default(),
            os_flavor: FixedStr::default(),
            http_name: FixedStr::default(),
            http_flavor: FixedStr::default(),
            link_type: FixedStr::default(),
            language: FixedStr::default(),
        }
    }

    pub fn encode(&self) -> [u8; RESPONSE_LEN] {
        let mut b = [0u8; RESPONSE_LEN];
        let words = [
            RESPONSE_MAGIC,
            self.status.code(),
            self.first_seen,
            self.last_seen,
            self.total_conn,
            self.uptime_min,
            self.up_mod_days,
            self.last_nat,
            self.last_chg,
        ];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        b[36..38].copy_from_slice(&self.distance.to_ne_bytes());
        b[38] = self.bad_sw;
        b[39] = self.os_match_q;
        let texts = [
            &self.os_name,
            &self.os_flavor,
            &self.http_name,
            &self.http_flavor,
            &self.link_type,
            &self.language,
        ];
        for (i, t) in texts.iter().enumerate() {
            b[40 + i * 32..72 + i * 32].copy_from_slice(&t.0);
        }
        b
    }

    /// Decodes a reply; None when the magic is wrong.
    pub fn decode(b: &[u8; RESPONSE_LEN]) -> Option<Response> {
        if ne32(b, 0) != RESPONSE_MAGIC {
            return None;
        }
        Some(Response {
            status: Status::from_code(ne32(b, 4)),
            first_seen: ne32(b, 8),
            last_seen: ne32(b, 12),
            total_conn: ne32(b, 16),
            uptime_min: ne32(b, 20),
            up_mod_days: ne32(b, 24),
            last_nat: ne32(b, 28),
            last_chg: ne32(b, 32),
            distance: ne16(b, 36) as i16,
            bad_sw: b[38],
            os_match_q: b[39],
            os_name: fixed(b, 40),
            os_flavor: fixed(b, 72),
            http_name: fixed(b, 104),
            http_flavor: fixed(b, 136),
            link_type: fixed(b, 168),
            language: fixed(b, 200),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_layout() {
        let q = Query {
            addr: "192.0.2.7".parse().unwrap(),
        };
        let b = q.encode();
        assert_eq!(&b[..4], &QUERY_MAGIC.to_ne_bytes());
        assert_eq!(b[4], 4);
        assert_eq!(&b[5..9], &[192, 0, 2, 7]);
        assert_eq!(Query::decode(&b), Ok(q));
        let q6 = Query {
            addr: "2001:db8::1".parse().unwrap(),
        };
        assert_eq!(Query::decode(&q6.encode()), Ok(q6));
    }

    #[test]
    fn bad_queries() {
        let mut b = Query {
            addr: "192.0.2.7".parse().unwrap(),
        }
        .encode();
        b[4] = 5;
        assert_eq!(Query::decode(&b), Err(QueryError::BadAddressType(5)));
        b[0] ^= 1;
        assert!(matches!(Query::decode(&b), Err(QueryError::BadMagic(_))));
    }

    #[test]
    fn response_layout() {
        let mut r = Response::empty(Status::Ok);
        r.first_seen = 1;
        r.distance = 255;
        r.os_match_q = 2;
        r.os_name = FixedStr::new("Linux");
        r.language = FixedStr::new(&"x".repeat(40));
        let b = r.encode();
        assert_eq!(&b[4..8], &0x10u32.to_ne_bytes());
        assert_eq!(&b[36..38], &255i16.to_ne_bytes());
        assert_eq!(b[39], 2);
        assert_eq!(&b[40..45], b"Linux");
        assert_eq!(b[231], b'x', "a full field is not NUL-terminated");
        assert_eq!(Response::decode(&b), Some(r));
    }

    proptest! {
        #[test]
        fn decoding_never_panics(q in proptest::array::uniform21(any::<u8>())) {
            let _ = Query::decode(&q);
        }
    }
}
