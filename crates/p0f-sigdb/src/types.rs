//! The in-memory form of a signature database.
//!
//! Every numeric fact here mirrors what p0f 3.09b keeps, because matching and
//! the raw signatures people share depend on those exact values.

use std::fmt;

use crate::tcp_match::TcpIndex;

/// TCP/IP quirk bits. The values are p0f's own so that a set of quirks means
/// the same thing in every component (and in debug output people compare).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Quirks(pub u32);

impl Quirks {
    pub const ECN: Quirks = Quirks(0x0000_0001);
    pub const DF: Quirks = Quirks(0x0000_0002);
    pub const NZ_ID: Quirks = Quirks(0x0000_0004);
    pub const ZERO_ID: Quirks = Quirks(0x0000_0008);
    pub const NZ_MBZ: Quirks = Quirks(0x0000_0010);
    pub const FLOW: Quirks = Quirks(0x0000_0020);
    pub const ZERO_SEQ: Quirks = Quirks(0x0000_1000);
    pub const NZ_ACK: Quirks = Quirks(0x0000_2000);
    pub const ZERO_ACK: Quirks = Quirks(0x0000_4000);
    pub const NZ_URG: Quirks = Quirks(0x0000_8000);
    pub const URG: Quirks = Quirks(0x0001_0000);
    pub const PUSH: Quirks = Quirks(0x0002_0000);
    pub const OPT_ZERO_TS1: Quirks = Quirks(0x0100_0000);
    pub const OPT_NZ_TS2: Quirks = Quirks(0x0200_0000);
    pub const OPT_EOL_NZ: Quirks = Quirks(0x0400_0000);
    pub const OPT_EXWS: Quirks = Quirks(0x0800_0000);
    pub const OPT_BAD: Quirks = Quirks(0x1000_0000);

    /// Tokens in the order p0f prints them in a raw signature.
    pub const TOKENS: [(Quirks, &'static str); 17] = [
        (Quirks::DF, "df"),
        (Quirks::NZ_ID, "id+"),
        (Quirks::ZERO_ID, "id-"),
        (Quirks::ECN, "ecn"),
        (Quirks::NZ_MBZ, "0+"),
        (Quirks::FLOW, "flow"),
        (Quirks::ZERO_SEQ, "seq-"),
        (Quirks::NZ_ACK, "ack+"),
        (Quirks::ZERO_ACK, "ack-"),
        (Quirks::NZ_URG, "uptr+"),
        (Quirks::URG, "urgf+"),
        (Quirks::PUSH, "pushf+"),
        (Quirks::OPT_ZERO_TS1, "ts1-"),
        (Quirks::OPT_NZ_TS2, "ts2+"),
        (Quirks::OPT_EOL_NZ, "opt+"),
        (Quirks::OPT_EXWS, "exws"),
        (Quirks::OPT_BAD, "bad"),
    ];

    pub const fn empty() -> Quirks {
        Quirks(0)
    }
    pub const fn contains(self, other: Quirks) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn intersects(self, other: Quirks) -> bool {
        self.0 & other.0 != 0
    }
    pub fn insert(&mut self, other: Quirks) {
        self.0 |= other.0;
    }
    pub const fn union(self, other: Quirks) -> Quirks {
        Quirks(self.0 | other.0)
    }
    pub const fn difference(self, other: Quirks) -> Quirks {
        Quirks(self.0 & !other.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Quirks {
    /// Appends the tokens as `Display` prints them, without `core::fmt`
    /// (raw signatures are built for every SYN and SYN+ACK).
    pub fn push_tokens(&self, out: &mut String) {
        let mut first = true;
        for (bit, token) in Quirks::TOKENS {
            if self.contains(bit) {
                if !first {
                    out.push(',');
                }
                out.push_str(token);
                first = false;
            }
        }
    }
}

impl fmt::Display for Quirks {
    /// Comma-separated tokens in p0f's fixed order (empty for no quirks).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, token) in Quirks::TOKENS {
            if self.contains(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(token)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quirks({self})")
    }
}

/// TCP option kinds that have names in signatures.
pub mod opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SOK: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TS: u8 = 8;
}

/// Most option kinds p0f records for one packet or signature.
pub const MAX_TCP_OPT: usize = 24;

/// An ordered list of TCP option kinds (values are not part of it).
/// Fixed capacity, so building one per packet never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OptLayout {
    len: u8,
    kinds: [u8; MAX_TCP_OPT],
}

impl OptLayout {
    pub const fn new() -> OptLayout {
        OptLayout {
            len: 0,
            kinds: [0; MAX_TCP_OPT],
        }
    }
    /// Appends a kind; returns false (and changes nothing) when full.
    pub fn push(&mut self, kind: u8) -> bool {
        if (self.len as usize) < MAX_TCP_OPT {
            self.kinds[self.len as usize] = kind;
            self.len += 1;
            true
        } else {
            false
        }
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.kinds[..self.len as usize]
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_full(&self) -> bool {
        self.len as usize == MAX_TCP_OPT
    }
}

impl fmt::Debug for OptLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The IP version a signature applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpVersion {
    Any,
    V4,
    V6,
}

/// How a signature constrains the TCP window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowSpec {
    /// `*`
    Any,
    /// A literal window size.
    Exact(u16),
    /// `%N`: window divisible by N.
    Modulo(u16),
    /// `mss*N`
    MssMultiple(u16),
    /// `mtu*N`
    MtuMultiple(u16),
}

/// The `sig =` value of a `[tcp:request]` or `[tcp:response]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSig {
    pub ver: IpVersion,
    /// Initial TTL (for `N+D`, the sum N+D).
    pub ttl: u8,
    /// `N-`: the tool randomises its TTL and N is the maximum.
    pub bad_ttl: bool,
    pub ip_opt_len: u8,
    /// None = `*`.
    pub mss: Option<u16>,
    pub win: WindowSpec,
    /// None = `*`.
    pub scale: Option<u8>,
    pub layout: OptLayout,
    /// N of a trailing `eol+N` (0 without one).
    pub eol_pad: u8,
    pub quirks: Quirks,
    /// None = `*`, Some(false) = `0`, Some(true) = `+`.
    pub pclass: Option<bool>,
}

/// One entry of a `sys =` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysEntry {
    /// `@class`: an index into [`Database::classes`].
    Class(u32),
    /// An OS name: an index into [`Database::names`].
    Name(u32),
}

/// What a `label =` line says, shared by every `sig` under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// `g` labels are used only when no `s` signature matches.
    pub generic: bool,
    /// Index into [`Database::classes`]; None for a user-land application (`!`).
    pub class: Option<u32>,
    /// Index into [`Database::names`].
    pub name: u32,
    /// Everything after the third colon; None when empty.
    pub flavor: Option<String>,
    /// p0f's label number: every non-`[mtu]` label counts, the first is 1
    /// (the NAT logic compares it; so does one of p0f's bugs, see docs/compat.md).
    pub label_id: u32,
    /// The `sys =` list of an application label (empty otherwise).
    pub sys: Vec<SysEntry>,
}

/// A TCP signature together with where it came from.
#[derive(Clone, Debug)]
pub struct TcpRecord {
    pub sig: TcpSig,
    /// Index into [`Database::labels`].
    pub label: u32,
    /// 1-based line in the database file.
    pub line: u32,
}

/// One `[mtu]` signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtuRecord {
    pub mtu: u16,
    /// The `label =` text.
    pub link: String,
    pub line: u32,
}

/// One header of an HTTP signature's ordered list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpHeaderSpec {
    /// Header name, compared case-sensitively.
    pub name: String,
    /// `?name`: may be absent, but must not appear out of order.
    pub optional: bool,
    /// `name=[value]`: the observed value must contain this substring.
    pub value: Option<String>,
}

/// The `sig =` value of an `[http:request]` or `[http:response]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSig {
    /// None = `*`; Some(0) = HTTP/1.0, Some(1) = HTTP/1.1.
    pub ver: Option<u8>,
    pub horder: Vec<HttpHeaderSpec>,
    /// Headers that must not be present.
    pub habsent: Vec<String>,
    /// Expected substring of User-Agent / Server; empty = none.
    pub expsw: String,
}

/// An HTTP signature together with where it came from.
#[derive(Clone, Debug)]
pub struct HttpRecord {
    pub sig: HttpSig,
    /// Index into [`Database::labels`].
    pub label: u32,
    pub line: u32,
}

/// One `ua_os` pair: a User-Agent substring and the OS name it implies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UaOs {
    /// Index into [`Database::names`].
    pub name: u32,
    /// Substring searched for in User-Agent.
    pub needle: String,
}

/// A whole parsed database.
#[derive(Clone, Debug, Default)]
pub struct Database {
    pub classes: Vec<String>,
    /// Interned OS and application names (first spelling seen wins).
    pub names: Vec<String>,
    pub labels: Vec<Label>,
    pub mtu: Vec<MtuRecord>,
    /// `[tcp:request]` (SYN) signatures in file order.
    pub tcp_request: Vec<TcpRecord>,
    /// `[tcp:response]` (SYN+ACK) signatures in file order.
    pub tcp_response: Vec<TcpRecord>,
    pub http_request: Vec<HttpRecord>,
    pub http_response: Vec<HttpRecord>,
    pub ua_os: Vec<UaOs>,
    /// `[smtp:client]` signatures in file order (p0f-rs only).
    pub smtp_client: Vec<crate::smtp::SmtpClientRecord>,
    /// `[smtp:server]` signatures in file order.
    pub smtp_server: Vec<crate::smtp::SmtpServerRecord>,
    /// TCP records bucketed by option layout (filled in by the parser).
    pub tcp_index: TcpIndex,
}
