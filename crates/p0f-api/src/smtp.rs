//! p0f-rs's SMTP extension of the v3 API (`docs/smtp.md`, "The daemon's
//! API extension"): the v3 reply for a host plus its last SMTP verdict, or
//! that of one connection. It travels on the v3 socket with a magic of its
//! own, so p0f 3 clients never see it; p0f 3.09b answers the magic with its
//! bad-query reply, which tells a client the extension is not there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::v3;
use crate::{fixed, ne16, ne32, FixedStr};

pub const QUERY_MAGIC: u32 = 0x5030_4611;
pub const RESPONSE_MAGIC: u32 = 0x5030_4612;
pub const QUERY_LEN: usize = 24;
pub const RESPONSE_LEN: usize = 540;
/// Longest raw signature carried (the rest is cut).
pub const RAW_SIG_LEN: usize = 160;

/// SMTP status codes (the v3 ones: a verdict, or none).
pub const SMTP_OK: u32 = 0x10;
pub const SMTP_NONE: u32 = 0x20;

/// Client flag bits (the same as `p0f_smtp::Flags`).
pub mod flag {
    pub const PREGREET: u32 = 0x001;
    pub const BARE_LF: u32 = 0x002;
    pub const PIPELINING: u32 = 0x004;
    pub const UNADV_PIPELINING: u32 = 0x008;
    pub const STARTTLS: u32 = 0x010;
    pub const NO_QUIT: u32 = 0x020;
    pub const RSET: u32 = 0x040;
    pub const NOOP: u32 = 0x080;
    pub const VRFY: u32 = 0x100;
    pub const QUIT: u32 = 0x200;

    /// Every flag's name, as the `flags` field of an `smtp client` block
    /// and the mail policy's rules spell it, with its bit.
    pub const NAMES: [(&str, u32); 10] = [
        ("pregreet", PREGREET),
        ("bare_lf", BARE_LF),
        ("pipelining", PIPELINING),
        ("unadv_pipelining", UNADV_PIPELINING),
        ("starttls", STARTTLS),
        ("no_quit", NO_QUIT),
        ("rset", RSET),
        ("noop", NOOP),
        ("vrfy", VRFY),
        ("quit", QUIT),
    ];
}

/// "Tell me about this client's SMTP": the host's last verdict
/// (`port` = 0) or that of the connection from `addr`:`port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub addr: IpAddr,
    pub port: u16,
}

impl Query {
    pub fn encode(&self) -> [u8; QUERY_LEN] {
        let mut b = [0u8; QUERY_LEN];
        b[..4].copy_from_slice(&QUERY_MAGIC.to_ne_bytes());
        match self.addr {
            IpAddr::V4(a) => {
                b[4] = 4;
                b[5..9].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                b[4] = 6;
                b[5..21].copy_from_slice(&a.octets());
            }
        }
        b[22..24].copy_from_slice(&self.port.to_ne_bytes());
        b
    }

    pub fn decode(b: &[u8; QUERY_LEN]) -> Result<Query, v3::QueryError> {
        let magic = ne32(b, 0);
        if magic != QUERY_MAGIC {
            return Err(v3::QueryError::BadMagic(magic));
        }
        let addr = match b[4] {
            4 => IpAddr::V4(Ipv4Addr::new(b[5], b[6], b[7], b[8])),
            6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[5..21]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
            other => return Err(v3::QueryError::BadAddressType(other)),
        };
        Ok(Query {
            addr,
            port: ne16(b, 22),
        })
    }
}

/// The SMTP part of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `SMTP_OK` or `SMTP_NONE` (then every other field is zero).
    pub status: u32,
    pub flags: u32,
    pub time: u32,
    pub cli_port: u16,
    /// 1 commands seen, 2 first RCPT seen, 3 dialogue ended.
    pub stage: u8,
    /// 0 unknown dialect, 1 mta, 2 client, 3 bot.
    pub kind: u8,
    pub generic: bool,
    /// 255: no RCPT yet.
    pub before_rcpt: u8,
    pub app_name: FixedStr<32>,
    pub app_flavor: FixedStr<32>,
    pub server_name: FixedStr<32>,
    pub server_flavor: FixedStr<32>,
    pub raw_sig: FixedStr<RAW_SIG_LEN>,
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict {
            status: SMTP_NONE,
            flags: 0,
            time: 0,
            cli_port: 0,
            stage: 0,
            kind: 0,
            generic: false,
            before_rcpt: 0,
            app_name: FixedStr::default(),
            app_flavor: FixedStr::default(),
            server_name: FixedStr::default(),
            server_flavor: FixedStr::default(),
            raw_sig: FixedStr::default(),
        }
    }
}

/// The whole reply: the host's v3 answer and the SMTP verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub host: v3::Response,
    pub smtp: Verdict,
}

impl Response {
    pub fn encode(&self) -> [u8; RESPONSE_LEN] {
        let mut b = [0u8; RESPONSE_LEN];
        b[..v3::RESPONSE_LEN].copy_from_slice(&self.host.encode());
        b[..4].copy_from_slice(&RESPONSE_MAGIC.to_ne_bytes());
        let s = &self.smtp;
        b[232..236].copy_from_slice(&s.status.to_ne_bytes());
        b[236..240].copy_from_slice(&s.flags.to_ne_bytes());
        b[240..244].copy_from_slice(&s.time.to_ne_bytes());
        b[244..246].copy_from_slice(&s.cli_port.to_ne_bytes());
        b[246] = s.stage;
        b[247] = s.kind;
        b[248] = u8::from(s.generic);
        b[249] = s.before_rcpt;
        b[252..284].copy_from_slice(&s.app_name.0);
        b[284..316].copy_from_slice(&s.app_flavor.0);
        b[316..348].copy_from_slice(&s.server_name.0);
        b[348..380].copy_from_slice(&s.server_flavor.0);
        b[380..540].copy_from_slice(&s.raw_sig.0);
        b
    }

    /// Decodes a reply; None when the magic is not the extension's (a
    /// p0f 3 server answers the query with its own bad-query reply).
    pub fn decode(b: &[u8; RESPONSE_LEN]) -> Option<Response> {
        if ne32(b, 0) != RESPONSE_MAGIC {
            return None;
        }
        let mut head = [0u8; v3::RESPONSE_LEN];
        head.copy_from_slice(&b[..v3::RESPONSE_LEN]);
        head[..4].copy_from_slice(&v3::RESPONSE_MAGIC.to_ne_bytes());
        let host = v3::Response::decode(&head)?;
        Some(Response {
            host,
            smtp: Verdict {
                status: ne32(b, 232),
                flags: ne32(b, 236),
                time: ne32(b, 240),
                cli_port: ne16(b, 244),
                stage: b[246],
                kind: b[247],
                generic: b[248] != 0,
                before_rcpt: b[249],
                app_name: fixed(b, 252),
                app_flavor: fixed(b, 284),
                server_name: fixed(b, 316),
                server_flavor: fixed(b, 348),
                raw_sig: fixed(b, 380),
            },
        })
    }
}

/// True when a v3-sized reply is p0f 3's answer to an unknown magic: the
/// server does not know the extension.
pub fn is_unsupported_reply(b: &[u8]) -> bool {
    b.len() >= 8 && ne32(b, 0) == v3::RESPONSE_MAGIC && ne32(b, 4) == v3::Status::BadQuery.code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_round_trip_and_layout() {
        let q = Query {
            addr: "192.0.2.9".parse().unwrap(),
            port: 40001,
        };
        let b = q.encode();
        assert_eq!(&b[..4], &QUERY_MAGIC.to_ne_bytes());
        assert_eq!(&b[5..9], &[192, 0, 2, 9]);
        assert_eq!(&b[22..24], &40001u16.to_ne_bytes());
        assert_eq!(Query::decode(&b), Ok(q));
        let mut v3q = [0u8; QUERY_LEN];
        v3q[..v3::QUERY_LEN].copy_from_slice(&v3::Query { addr: q.addr }.encode());
        assert!(matches!(
            Query::decode(&v3q),
            Err(v3::QueryError::BadMagic(_))
        ));
    }

    #[test]
    fn response_round_trip_and_layout() {
        let mut host = v3::Response::empty(v3::Status::Ok);
        host.os_name = FixedStr::new("Linux");
        let r = Response {
            host,
            smtp: Verdict {
                status: SMTP_OK,
                flags: flag::PREGREET | flag::BARE_LF,
                time: 7,
                cli_port: 1234,
                stage: 2,
                kind: 3,
                generic: true,
                before_rcpt: 2,
                app_name: FixedStr::new("Bot"),
                raw_sig: FixedStr::new(&"x".repeat(200)),
                ..Verdict::default()
            },
        };
        let b = r.encode();
        assert_eq!(&b[..4], &RESPONSE_MAGIC.to_ne_bytes());
        assert_eq!(&b[40..45], b"Linux");
        assert_eq!(&b[236..240], &3u32.to_ne_bytes());
        assert_eq!((b[246], b[247], b[248], b[249]), (2, 3, 1, 2));
        assert_eq!(&b[252..255], b"Bot");
        assert_eq!(b[539], b'x');
        assert_eq!(Response::decode(&b), Some(r));
        assert!(!is_unsupported_reply(&b));
        let refused = v3::Response::empty(v3::Status::BadQuery).encode();
        assert!(is_unsupported_reply(&refused));
    }

    proptest! {
        #[test]
        fn decoding_never_panics(q in proptest::collection::vec(any::<u8>(), QUERY_LEN), r in proptest::collection::vec(any::<u8>(), RESPONSE_LEN)) {
            let mut qa = [0u8; QUERY_LEN];
            qa.copy_from_slice(&q);
            let _ = Query::decode(&qa);
            let mut ra = [0u8; RESPONSE_LEN];
            ra.copy_from_slice(&r);
            let _ = Response::decode(&ra);
        }
    }
}
