//! p0f 2.0.8 API: one connection per query.
//!
//! The structures were not packed in C, so natural alignment decides the
//! offsets below (identical on every common 32- and 64-bit ABI).

use std::net::Ipv4Addr;

use crate::{fixed, ne16, ne32, FixedStr};

pub const MAGIC: u32 = 0x0def_aced;
pub const QUERY_LEN: usize = 24;
/// The query of p0f 2.0.0-2.0.7, without the type byte.
pub const OLD_QUERY_LEN: usize = 20;
pub const RESPONSE_LEN: usize = 144;
pub const STATUS_LEN: usize = 56;

pub const QTYPE_FINGERPRINT: u8 = 1;
pub const QTYPE_STATUS: u8 = 2;

/// Reply types.
pub const RESP_OK: u8 = 0;
pub const RESP_BADQUERY: u8 = 1;
pub const RESP_NOMATCH: u8 = 2;
pub const RESP_STATUS: u8 = 255;

/// "No score" marker of the score field.
pub const NO_SCORE: i16 = -100;

/// A connection query: the remote (source) and local (destination) ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub qtype: u8,
    pub id: u32,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// Why a query is refused; the id is known whenever the magic was right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    BadMagic(u32),
    BadType { id: u32, qtype: u8 },
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::BadMagic(m) => write!(f, "v2 query with bad magic (0x{m:x})"),
            QueryError::BadType { qtype, .. } => write!(f, "v2 query with unknown type {qtype}"),
        }
    }
}

impl std::error::Error for QueryError {}

impl Query {
    pub fn encode(&self) -> [u8; QUERY_LEN] {
        let mut b = [0u8; QUERY_LEN];
        b[0..4].copy_from_slice(&MAGIC.to_ne_bytes());
        b[4] = self.qtype;
        b[8..12].copy_from_slice(&self.id.to_ne_bytes());
        b[12..16].copy_from_slice(&self.src.octets());
        b[16..20].copy_from_slice(&self.dst.octets());
        b[20..22].copy_from_slice(&self.src_port.to_ne_bytes());
        b[22..24].copy_from_slice(&self.dst_port.to_ne_bytes());
        b
    }

    pub fn decode(b: &[u8; QUERY_LEN]) -> Result<Query, QueryError> {
        let magic = ne32(b, 0);
        if magic != MAGIC {
            return Err(QueryError::BadMagic(magic));
        }
        let id = ne32(b, 8);
        let qtype = b[4];
        if qtype != QTYPE_FINGERPRINT && qtype != QTYPE_STATUS {
            return Err(QueryError::BadType { id, qtype });
        }
        Ok(Query {
            qtype,
            id,
            src: Ipv4Addr::new(b[12], b[13], b[14], b[15]),
            dst: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
            src_port: ne16(b, 20),
            dst_port: ne16(b, 22),
        })
    }
}

/// A fingerprint reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub id: u32,
    pub rtype: u8,
    pub genre: FixedStr<20>,
    pub detail: FixedStr<40>,
    /// -1 when unknown.
    pub dist: i8,
    pub link: FixedStr<30>,
    pub tos: FixedStr<30>,
    pub fw: u8,
    pub nat: u8,
    /// 0 for user-land tools or uncertain matches.
    pub real: u8,
    pub score: i16,
    pub mflags: u16,
    /// Hours; -1 when unknown.
    pub uptime: i32,
}

impl Response {
    /// A reply of the given type with nothing known.
    pub fn empty(id: u32, rtype: u8) -> Response {
        Response {
            id,
            rtype,
            genre: FixedStr::default(),
            detail: FixedStr::default(),
            dist: -1,
            link: FixedStr::default(),
            tos: FixedStr::default(),
            fw: 0,
            nat: 0,
            real: 0,
            score: NO_SCORE,
            mflags: 0,
            uptime: -1,
        }
    }

    pub fn encode(&self) -> [u8; RESPONSE_LEN] {
        let mut b = [0u8; RESPONSE_LEN];
        b[0..4].copy_from_slice(&MAGIC.to_ne_bytes());
        b[4..8].copy_from_slice(&self.id.to_ne_bytes());
        b[8] = self.rtype;
        b[9..29].copy_from_slice(&self.genre.0);
        b[29..69].copy_from_slice(&self.detail.0);
        b[69] = self.dist as u8;
        b[70..100].copy_from_slice(&self.link.0);
        b[100..130].copy_from_slice(&self.tos.0);
        b[130] = self.fw;
        b[131] = self.nat;
        b[132] = self.real;
        b[134..136].copy_from_slice(&self.score.to_ne_bytes());
        b[136..138].copy_from_slice(&self.mflags.to_ne_bytes());
        b[140..144].copy_from_slice(&self.uptime.to_ne_bytes());
        b
    }

    /// Decodes a reply; None when the magic is wrong.
    pub fn decode(b: &[u8; RESPONSE_LEN]) -> Option<Response> {
        if ne32(b, 0) != MAGIC {
            return None;
        }
        Some(Response {
            id: ne32(b, 4),
            rtype: b[8],
            genre: fixed(b, 9),
            detail: fixed(b, 29),
            dist: b[69] as i8,
            link: fixed(b, 70),
            tos: fixed(b, 100),
            fw: b[130],
            nat: b[131],
            real: b[132],
            score: ne16(b, 134) as i16,
            mflags: ne16(b, 136),
            uptime: ne32(b, 140) as i32,
        })
    }
}

/// Reply to a status query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusReply {
    pub id: u32,
    pub version: FixedStr<16>,
    pub mode: u8,
    pub fp_cksum: u32,
    pub cache: u32,
    pub packets: u32,
    pub matched: u32,
    pub queries: u32,
    pub cmisses: u32,
    pub uptime: u32,
}

impl StatusReply {
    pub fn encode(&self) -> [u8; STATUS_LEN] {
        let mut b = [0u8; STATUS_LEN];
        b[0..4].copy_from_slice(&MAGIC.to_ne_bytes());
        b[4..8].copy_from_slice(&self.id.to_ne_bytes());
        b[8] = RESP_STATUS;
        b[9..25].copy_from_slice(&self.version.0);
        b[25] = self.mode;
        let words = [
            self.fp_cksum,
            self.cache,
            self.packets,
            self.matched,
            self.queries,
            self.cmisses,
            self.uptime,
        ];
        for (i, w) in words.iter().enumerate() {
            b[28 + i * 4..32 + i * 4].copy_from_slice(&w.to_ne_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_layout_matches_the_packed_perl_client() {
        // qpsmtpd packs "L L L N N S S": magic, type 1 as a 32-bit word,
        // id, addresses big-endian, ports native.
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_ne_bytes());
        b.extend_from_slice(&1u32.to_ne_bytes());
        b.extend_from_slice(&77u32.to_ne_bytes());
        b.extend_from_slice(&u32::from(Ipv4Addr::new(198, 51, 100, 9)).to_be_bytes());
        b.extend_from_slice(&u32::from(Ipv4Addr::new(192, 0, 2, 1)).to_be_bytes());
        b.extend_from_slice(&40000u16.to_ne_bytes());
        b.extend_from_slice(&25u16.to_ne_bytes());
        let q = Query::decode(&b.try_into().unwrap()).unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(q.qtype, QTYPE_FINGERPRINT);
        }
        assert_eq!(
            (q.id, q.src, q.dst, q.src_port, q.dst_port),
            (
                77,
                Ipv4Addr::new(198, 51, 100, 9),
                Ipv4Addr::new(192, 0, 2, 1),
                40000,
                25
            )
        );
        assert_eq!(Query::decode(&q.encode()), Ok(q));
    }

    #[test]
    fn response_offsets() {
        let mut r = Response::empty(9, RESP_OK);
        r.genre = FixedStr::new_limited("Linux", 19);
        r.dist = 7;
        r.uptime = 12;
        let b = r.encode();
        assert_eq!(&b[9..14], b"Linux");
        assert_eq!(b[69], 7);
        assert_eq!(&b[140..144], &12i32.to_ne_bytes());
        assert_eq!(&b[134..136], &NO_SCORE.to_ne_bytes());
        assert_eq!(Response::decode(&b), Some(r));
    }

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), QUERY_LEN)) {
            let arr: [u8; QUERY_LEN] = bytes.try_into().unwrap();
            let _ = Query::decode(&arr);
        }
    }
}
