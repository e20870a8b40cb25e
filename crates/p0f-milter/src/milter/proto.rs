//! The milter wire protocol (version 6, as Sendmail and Postfix speak it),
//! written here from its public description.
//!
//! Why by hand: the Rust milter libraries that exist are GPL-licensed
//! (`milter`, bindings to libmilter; `indymilter`) and this project is
//! MIT OR Apache-2.0; the few others implement the MTA side. The part a
//! policy milter needs is small: frames, a dozen commands, five replies.
//!
//! A frame is a 4-byte big-endian length (covering what follows), one
//! command byte and the command's data. Strings are NUL-terminated.

use std::fmt;

/// Largest frame accepted (length field value). Postfix sends at most 64 KiB
/// of body per chunk and we ask for no body; headers are far smaller.
pub const MAX_FRAME: usize = 256 * 1024;

/// Protocol version we speak.
pub const VERSION: u32 = 6;

// Commands from the MTA.
pub const C_ABORT: u8 = b'A';
pub const C_BODY: u8 = b'B';
pub const C_CONNECT: u8 = b'C';
pub const C_MACRO: u8 = b'D';
pub const C_BODYEOB: u8 = b'E';
pub const C_HELO: u8 = b'H';
pub const C_QUIT_NC: u8 = b'K';
pub const C_HEADER: u8 = b'L';
pub const C_MAIL: u8 = b'M';
pub const C_EOH: u8 = b'N';
pub const C_OPTNEG: u8 = b'O';
pub const C_QUIT: u8 = b'Q';
pub const C_RCPT: u8 = b'R';
pub const C_DATA: u8 = b'T';
pub const C_UNKNOWN: u8 = b'U';

// Replies to the MTA.
pub const R_ADDHEADER: u8 = b'h';
pub const R_INSHEADER: u8 = b'i';
pub const R_CHGHEADER: u8 = b'm';
pub const R_ACCEPT: u8 = b'a';
pub const R_CONTINUE: u8 = b'c';
pub const R_REPLYCODE: u8 = b'y';
pub const R_OPTNEG: u8 = b'O';

// Actions (what the filter may change).
pub const F_ADDHDRS: u32 = 0x01;
pub const F_CHGHDRS: u32 = 0x10;
pub const F_SETSYMLIST: u32 = 0x100;

// Protocol flags (steps the MTA may skip).
pub const P_NOHELO: u32 = 0x02;
pub const P_NOBODY: u32 = 0x10;
pub const P_NOUNKNOWN: u32 = 0x100;
pub const P_NODATA: u32 = 0x200;

// Macro stages for the symbol list.
pub const STAGE_CONNECT: u32 = 0;
pub const STAGE_ENVFROM: u32 = 2;
pub const STAGE_ENVRCPT: u32 = 3;

/// A decoded command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    OptNeg {
        version: u32,
        actions: u32,
        protocol: u32,
    },
    /// Macros for the command `for_cmd` that follows.
    Macro {
        for_cmd: u8,
        pairs: Vec<(String, String)>,
    },
    Connect {
        hostname: String,
        /// `4`, `6`, `L` (Unix socket) or `U` (unknown).
        family: u8,
        port: u16,
        address: String,
    },
    Helo(String),
    Mail(Vec<String>),
    Rcpt(Vec<String>),
    Data,
    Header {
        name: String,
        value: String,
    },
    Eoh,
    Body,
    EndOfMessage,
    Abort,
    Unknown,
    Quit,
    /// Quit, a new connection follows on the same stream.
    QuitNewConnection,
}

/// Why a frame is refused; the connection is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtoError {
    Empty,
    TooLarge(usize),
    Truncated(&'static str),
    UnknownCommand(u8),
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::Empty => write!(f, "empty frame"),
            ProtoError::TooLarge(n) => write!(f, "frame of {n} bytes exceeds {MAX_FRAME}"),
            ProtoError::Truncated(what) => write!(f, "truncated {what}"),
            ProtoError::UnknownCommand(c) => write!(f, "unknown command 0x{c:02x}"),
        }
    }
}

impl std::error::Error for ProtoError {}

/// Checks a frame's length field.
pub fn check_len(len: u32) -> Result<usize, ProtoError> {
    let len = len as usize;
    if len == 0 {
        return Err(ProtoError::Empty);
    }
    if len > MAX_FRAME {
        return Err(ProtoError::TooLarge(len));
    }
    Ok(len)
}

fn be32(d: &[u8], what: &'static str) -> Result<u32, ProtoError> {
    d.get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(ProtoError::Truncated(what))
}

/// Splits NUL-terminated strings; a missing final NUL is tolerated.
fn strings(d: &[u8]) -> Vec<String> {
    let d = d.strip_suffix(&[0]).unwrap_or(d);
    if d.is_empty() {
        return Vec::new();
    }
    d.split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Decodes one command from its byte and data.
pub fn parse_command(cmd: u8, d: &[u8]) -> Result<Command, ProtoError> {
    Ok(match cmd {
        C_OPTNEG => Command::OptNeg {
            version: be32(d, "option negotiation")?,
            actions: be32(d.get(4..).unwrap_or_default(), "option negotiation")?,
            protocol: be32(d.get(8..).unwrap_or_default(), "option negotiation")?,
        },
        C_MACRO => {
            let (&for_cmd, rest) = d.split_first().ok_or(ProtoError::Truncated("macro"))?;
            let s = strings(rest);
            let pairs = s
                .chunks(2)
                .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
                .collect();
            Command::Macro { for_cmd, pairs }
        }
        C_CONNECT => {
            let nul = d
                .iter()
                .position(|&b| b == 0)
                .ok_or(ProtoError::Truncated("connect hostname"))?;
            let hostname = String::from_utf8_lossy(&d[..nul]).into_owned();
            let rest = &d[nul + 1..];
            let (&family, rest) = rest
                .split_first()
                .ok_or(ProtoError::Truncated("connect family"))?;
            let (port, address) = if family == b'U' {
                (0, String::new())
            } else {
                let p = rest.get(..2).ok_or(ProtoError::Truncated("connect port"))?;
                let port = u16::from_be_bytes([p[0], p[1]]);
                let a = &rest[2..];
                let a = a.strip_suffix(&[0]).unwrap_or(a);
                let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
                (port, String::from_utf8_lossy(&a[..end]).into_owned())
            };
            Command::Connect {
                hostname,
                family,
                port,
                address,
            }
        }
        C_HELO => Command::Helo(strings(d).into_iter().next().unwrap_or_default()),
        C_MAIL => Command::Mail(strings(d)),
        C_RCPT => Command::Rcpt(strings(d)),
        C_DATA => Command::Data,
        C_HEADER => {
            let mut s = strings(d).into_iter();
            let name = s.next().ok_or(ProtoError::Truncated("header"))?;
            Command::Header {
                name,
                value: s.next().unwrap_or_default(),
            }
        }
        C_EOH => Command::Eoh,
        C_BODY => Command::Body,
        C_BODYEOB => Command::EndOfMessage,
        C_ABORT => Command::Abort,
        C_UNKNOWN => Command::Unknown,
        C_QUIT => Command::Quit,
        C_QUIT_NC => Command::QuitNewConnection,
        other => return Err(ProtoError::UnknownCommand(other)),
    })
}

/// Encodes one reply frame.
pub fn frame(cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + data.len());
    v.extend_from_slice(&((data.len() + 1) as u32).to_be_bytes());
    v.push(cmd);
    v.extend_from_slice(data);
    v
}

/// Strips NULs (a value must not cut the frame's strings short).
fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&b| b != 0));
    out.push(0);
}

pub fn continue_() -> Vec<u8> {
    frame(R_CONTINUE, &[])
}

pub fn accept() -> Vec<u8> {
    frame(R_ACCEPT, &[])
}

/// A full SMTP reply, e.g. `550 5.7.1 OS Blocked`.
pub fn reply_code(text: &str) -> Vec<u8> {
    let mut d = Vec::new();
    // '%' is special in the MTA's reply formatting.
    cstr(&mut d, &text.replace('%', "%%"));
    frame(R_REPLYCODE, &d)
}

/// Inserts a header at position `index` (0 = first).
pub fn ins_header(index: u32, name: &str, value: &str) -> Vec<u8> {
    let mut d = index.to_be_bytes().to_vec();
    cstr(&mut d, name);
    cstr(&mut d, value);
    frame(R_INSHEADER, &d)
}

/// Changes the `index`-th (1-based) header called `name`; an empty value
/// deletes it.
pub fn chg_header(index: u32, name: &str, value: &str) -> Vec<u8> {
    let mut d = index.to_be_bytes().to_vec();
    cstr(&mut d, name);
    cstr(&mut d, value);
    frame(R_CHGHEADER, &d)
}

/// The option-negotiation reply, with the macros we want per stage when
/// the MTA lets us ask for them.
pub fn optneg_reply(
    version: u32,
    actions: u32,
    protocol: u32,
    symlists: &[(u32, &str)],
) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&version.to_be_bytes());
    d.extend_from_slice(&actions.to_be_bytes());
    d.extend_from_slice(&protocol.to_be_bytes());
    if actions & F_SETSYMLIST != 0 {
        for (stage, list) in symlists {
            d.extend_from_slice(&stage.to_be_bytes());
            cstr(&mut d, list);
        }
    }
    frame(R_OPTNEG, &d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn connect_v4_v6_unknown() {
        let mut d = b"mx.example\x004".to_vec();
        d.extend_from_slice(&25000u16.to_be_bytes());
        d.extend_from_slice(b"192.0.2.1\0");
        assert_eq!(
            parse_command(C_CONNECT, &d).unwrap(),
            Command::Connect {
                hostname: "mx.example".into(),
                family: b'4',
                port: 25000,
                address: "192.0.2.1".into()
            }
        );
        let mut d = b"h\x006".to_vec();
        d.extend_from_slice(&1u16.to_be_bytes());
        d.extend_from_slice(b"IPv6:2001:db8::1\0");
        match parse_command(C_CONNECT, &d).unwrap() {
            Command::Connect { address, .. } => assert_eq!(address, "IPv6:2001:db8::1"),
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            parse_command(C_CONNECT, b"h\0U").unwrap(),
            Command::Connect { family: b'U', .. }
        ));
        assert_eq!(
            parse_command(C_CONNECT, b"h\x004\x01"),
            Err(ProtoError::Truncated("connect port"))
        );
    }

    #[test]
    fn macros_headers_rcpt() {
        assert_eq!(
            parse_command(C_MACRO, b"C{daemon_port}\x0025\0j\0mx\0").unwrap(),
            Command::Macro {
                for_cmd: b'C',
                pairs: vec![
                    ("{daemon_port}".into(), "25".into()),
                    ("j".into(), "mx".into())
                ]
            }
        );
        assert_eq!(
            parse_command(C_HEADER, b"X-P0F-Genre\0forged\0").unwrap(),
            Command::Header {
                name: "X-P0F-Genre".into(),
                value: "forged".into()
            }
        );
        assert_eq!(
            parse_command(C_RCPT, b"<a@b>\0NOTIFY=NEVER\0").unwrap(),
            Command::Rcpt(vec!["<a@b>".into(), "NOTIFY=NEVER".into()])
        );
        assert_eq!(
            parse_command(b'Z', b""),
            Err(ProtoError::UnknownCommand(b'Z'))
        );
        assert!(parse_command(C_OPTNEG, &[0, 0, 0, 6, 0, 0]).is_err());
    }

    #[test]
    fn reply_frames() {
        assert_eq!(continue_(), vec![0, 0, 0, 1, b'c']);
        assert_eq!(
            reply_code("550 5.7.1 OS Blocked"),
            [&[0u8, 0, 0, 22][..], b"y550 5.7.1 OS Blocked\0"].concat()
        );
        let f = chg_header(2, "x-p0f-genre", "");
        assert_eq!(&f[4..9], &[b'm', 0, 0, 0, 2]);
        assert_eq!(&f[9..], b"x-p0f-genre\0\0");
        let f = optneg_reply(6, F_ADDHDRS | F_SETSYMLIST, 0, &[(0, "{daemon_port}")]);
        assert_eq!(&f[4..5], b"O");
        assert_eq!(&f[17..21], &0u32.to_be_bytes());
        assert_eq!(&f[21..], b"{daemon_port}\0");
        assert_eq!(check_len(0), Err(ProtoError::Empty));
        assert!(check_len(MAX_FRAME as u32 + 1).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn parser_never_panics(cmd in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_command(cmd, &data);
        }

        #[test]
        fn known_commands_with_random_data(
            cmd in proptest::sample::select(b"ABCDEHKLMNOQRTU".to_vec()),
            data in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..64)) {
            let _ = parse_command(cmd, &data);
        }
    }
}
