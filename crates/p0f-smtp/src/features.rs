//! What is recorded of each side, and its raw-signature and flag forms
//! (`docs/smtp.md` defines every token).

use p0f_sigdb::smtp::{SMTP_EXTRA, SMTP_VERBS};

use crate::text::Text;

/// A command verb: an index into [`SMTP_VERBS`], or [`Verb::OTHER`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verb(pub u8);

/// Each verb of [`SMTP_VERBS`] upper-cased into the low bytes of a `u64`,
/// so that naming a command word is one integer compare per verb rather
/// than a case-folding string compare (every client line is named).
const PACKED_VERBS: [u64; SMTP_VERBS.len()] = {
    let mut out = [0u64; SMTP_VERBS.len()];
    let mut i = 0;
    while i < SMTP_VERBS.len() {
        out[i] = pack_upper(SMTP_VERBS[i].as_bytes());
        i += 1;
    }
    out
};

/// The bit of [`ClientFeatures::extra`] each verb sets (0: none).
const EXTRA_BITS: [u8; SMTP_VERBS.len()] = {
    let mut out = [0u8; SMTP_VERBS.len()];
    let mut e = 0;
    while e < SMTP_EXTRA.len() {
        let mut v = 0;
        while v < SMTP_VERBS.len() {
            if same_ascii(SMTP_EXTRA[e].as_bytes(), SMTP_VERBS[v].as_bytes()) {
                out[v] = 1 << e;
            }
            v += 1;
        }
        e += 1;
    }
    out
};

/// Up to 8 ASCII letters, upper-cased, little-endian; 0 for a longer word
/// (no verb is longer than `STARTTLS`).
const fn pack_upper(word: &[u8]) -> u64 {
    if word.len() > 8 {
        return 0;
    }
    let mut packed = 0u64;
    let mut i = 0;
    while i < word.len() {
        packed |= (word[i].to_ascii_uppercase() as u64) << (8 * i);
        i += 1;
    }
    packed
}

const fn same_ascii(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of `name` in [`SMTP_VERBS`], checked at compile time.
const fn verb_named(name: &str) -> Verb {
    let mut i = 0;
    while i < SMTP_VERBS.len() {
        if same_ascii(SMTP_VERBS[i].as_bytes(), name.as_bytes()) {
            return Verb(i as u8);
        }
        i += 1;
    }
    panic!("not in SMTP_VERBS")
}

impl Verb {
    /// Any verb outside the list, or a line that is not a command.
    pub const OTHER: Verb = Verb(u8::MAX);
    pub const EHLO: Verb = verb_named("EHLO");
    pub const HELO: Verb = verb_named("HELO");
    pub const MAIL: Verb = verb_named("MAIL");
    pub const RCPT: Verb = verb_named("RCPT");
    pub const DATA: Verb = verb_named("DATA");
    pub const QUIT: Verb = verb_named("QUIT");
    pub const STARTTLS: Verb = verb_named("STARTTLS");
    pub const BDAT: Verb = verb_named("BDAT");

    /// The verb named by `word` (any case).
    pub fn of(word: &[u8]) -> Verb {
        // Letters only: then upper-casing is exact and no NUL can pad a
        // shorter word into a verb.
        if !word.iter().all(u8::is_ascii_alphabetic) {
            return Verb::OTHER;
        }
        let packed = pack_upper(word);
        if packed == 0 {
            return Verb::OTHER;
        }
        PACKED_VERBS
            .iter()
            .position(|&v| v == packed)
            .map_or(Verb::OTHER, |i| Verb(i as u8))
    }

    pub fn as_str(self) -> &'static str {
        SMTP_VERBS.get(usize::from(self.0)).copied().unwrap_or("?")
    }

    /// The [`ClientFeatures::extra`] bit this verb sets, if any.
    fn extra_bit(self) -> u8 {
        EXTRA_BITS.get(usize::from(self.0)).copied().unwrap_or(0)
    }
}

/// Shape of the HELO/EHLO argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeloShape {
    /// No HELO/EHLO.
    #[default]
    Absent,
    Fqdn,
    Word,
    Literal4,
    Literal6,
    Empty,
    Bad,
}

impl HeloShape {
    pub fn as_str(self) -> &'static str {
        match self {
            HeloShape::Absent => "-",
            HeloShape::Fqdn => "fqdn",
            HeloShape::Word => "word",
            HeloShape::Literal4 => "lit4",
            HeloShape::Literal6 => "lit6",
            HeloShape::Empty => "none",
            HeloShape::Bad => "bad",
        }
    }

    /// Classifies the argument (already stripped of surrounding blanks).
    pub fn of(arg: &[u8]) -> HeloShape {
        if arg.is_empty() {
            return HeloShape::Empty;
        }
        if let Some(inner) = arg.strip_prefix(b"[").and_then(|a| a.strip_suffix(b"]")) {
            if inner.len() > 5 && inner[..5].eq_ignore_ascii_case(b"IPv6:") {
                return HeloShape::Literal6;
            }
            let v4 = std::str::from_utf8(inner)
                .ok()
                .and_then(|s| s.parse::<std::net::Ipv4Addr>().ok());
            return if v4.is_some() {
                HeloShape::Literal4
            } else {
                HeloShape::Bad
            };
        }
        let name_chars = arg
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
        match (name_chars, arg.contains(&b'.')) {
            (true, true) if arg[0] != b'.' => HeloShape::Fqdn,
            (true, false) => HeloShape::Word,
            _ => HeloShape::Bad,
        }
    }
}

/// Shape of `MAIL FROM:` / `RCPT TO:`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathShape {
    #[default]
    Absent,
    /// `FROM:<a>`
    NoSpace,
    /// `FROM: <a>`
    Space,
    /// `FROM:a`
    Bare,
    /// Anything else.
    Odd,
}

impl PathShape {
    pub fn as_str(self) -> &'static str {
        match self {
            PathShape::Absent => "-",
            PathShape::NoSpace => "nosp",
            PathShape::Space => "sp",
            PathShape::Bare => "bare",
            PathShape::Odd => "odd",
        }
    }

    /// Classifies what follows the verb (`rest` starts right after it) for
    /// the keyword `key` (`FROM` or `TO`). Returns the shape and where the
    /// path ends (parameters follow), if it has one.
    pub fn of(rest: &[u8], key: &[u8]) -> (PathShape, usize) {
        let klen = key.len();
        let head_ok = rest.len() > klen + 1
            && rest[0] == b' '
            && rest[1..=klen].eq_ignore_ascii_case(key)
            && rest[klen + 1] == b':';
        if !head_ok {
            return (PathShape::Odd, rest.len());
        }
        let after = klen + 2;
        let path_end = |from: usize| {
            rest[from..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(rest.len(), |p| from + p + 1)
        };
        match rest.get(after) {
            Some(b'<') => (PathShape::NoSpace, path_end(after)),
            Some(b' ') => {
                let lt = rest[after..]
                    .iter()
                    .position(|&c| c != b' ')
                    .map(|p| after + p);
                match lt {
                    Some(p) if rest[p] == b'<' => (PathShape::Space, path_end(p)),
                    _ => (PathShape::Odd, rest.len()),
                }
            }
            Some(_) => {
                let end = rest[after..]
                    .iter()
                    .position(|&c| c == b' ')
                    .map_or(rest.len(), |p| after + p);
                (PathShape::Bare, end)
            }
            None => (PathShape::Odd, rest.len()),
        }
    }
}

/// How the client's dialogue ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum End {
    /// Not yet.
    #[default]
    Open,
    Quit,
    Close,
    Tls,
    Limit,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Open => "?",
            End::Quit => "quit",
            End::Close => "close",
            End::Tls => "tls",
            End::Limit => "limit",
        }
    }
}

/// Most verbs kept in `order`.
pub const MAX_ORDER: usize = 12;

/// Behaviour flags, with the API's bit values (`docs/smtp.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u32);

impl Flags {
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

    /// Names printed in the `flags` field, in order (`quit` is not printed:
    /// `no_quit` says the interesting case).
    pub const NAMES: [(u32, &'static str); 9] = [
        (Flags::PREGREET, "pregreet"),
        (Flags::BARE_LF, "bare_lf"),
        (Flags::PIPELINING, "pipelining"),
        (Flags::UNADV_PIPELINING, "unadv_pipelining"),
        (Flags::STARTTLS, "starttls"),
        (Flags::NO_QUIT, "no_quit"),
        (Flags::RSET, "rset"),
        (Flags::NOOP, "noop"),
        (Flags::VRFY, "vrfy"),
    ];

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// The flag names, `,`-separated, or `none`.
    pub fn push_names(self, out: &mut String) {
        push_flag_names(self.0, &Flags::NAMES, out);
    }
}

/// Server flags: what it advertised and how it greeted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerFlags(pub u32);

impl ServerFlags {
    pub const PIPELINING: u32 = 0x1;
    pub const STARTTLS: u32 = 0x2;
    pub const MULTILINE_BANNER: u32 = 0x4;
    pub const NAMES: [(u32, &'static str); 3] = [
        (ServerFlags::PIPELINING, "pipelining"),
        (ServerFlags::STARTTLS, "starttls"),
        (ServerFlags::MULTILINE_BANNER, "multiline_banner"),
    ];

    pub fn push_names(self, out: &mut String) {
        push_flag_names(self.0, &ServerFlags::NAMES, out);
    }
}

fn push_flag_names(bits: u32, names: &[(u32, &str)], out: &mut String) {
    let start = out.len();
    for (bit, name) in names {
        if bits & bit != 0 {
            if out.len() > start {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    if out.len() == start {
        out.push_str("none");
    }
}

/// Everything recorded about the client side. Fixed size: `Copy`, no heap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientFeatures {
    /// Sent data before the greeting was complete.
    pub pregreet: bool,
    /// The first command's verb (None: no complete line yet).
    pub first: Option<Verb>,
    pub helo: HeloShape,
    /// Verbs seen all upper-case / all lower-case / otherwise.
    pub upper: bool,
    pub lower: bool,
    pub mixed: bool,
    pub mail: PathShape,
    pub rcpt: PathShape,
    /// Parameters of the first MAIL.
    pub params: Text<64>,
    pub crlf_lines: u32,
    pub lf_lines: u32,
    /// A command sent before the previous reply, PIPELINING advertised.
    pub pipelined_adv: bool,
    /// The same without PIPELINING advertised.
    pub pipelined_unadv: bool,
    order: [u8; MAX_ORDER],
    order_len: u8,
    order_cut: bool,
    /// Bits of [`SMTP_EXTRA`] used.
    pub extra: u8,
    pub end: End,
    pub starttls: bool,
    /// Commands seen in all.
    pub commands: u32,
    /// Commands before the first RCPT, once it is seen.
    pub before_rcpt: Option<u32>,
}

impl ClientFeatures {
    /// Appends a verb to `order` (callers stop after the first RCPT).
    pub fn push_order(&mut self, v: Verb) {
        if usize::from(self.order_len) < MAX_ORDER {
            self.order[usize::from(self.order_len)] = v.0;
            self.order_len += 1;
        } else {
            self.order_cut = true;
        }
    }

    pub fn order(&self) -> impl Iterator<Item = Verb> + '_ {
        self.order[..usize::from(self.order_len)]
            .iter()
            .map(|&b| Verb(b))
    }

    /// Records the verb's case.
    pub fn note_case(&mut self, verb: &[u8]) {
        let letters = verb.iter().filter(|c| c.is_ascii_alphabetic());
        let (mut up, mut low) = (false, false);
        for c in letters {
            up |= c.is_ascii_uppercase();
            low |= c.is_ascii_lowercase();
        }
        match (up, low) {
            (true, false) => self.upper = true,
            (false, true) => self.lower = true,
            (true, true) => self.mixed = true,
            (false, false) => {}
        }
    }

    pub fn note_extra(&mut self, v: Verb) {
        self.extra |= v.extra_bit();
    }

    pub fn case_str(&self) -> &'static str {
        match (self.upper, self.lower, self.mixed) {
            (_, _, true) | (true, true, _) => "mixed",
            (true, false, false) => "upper",
            (false, true, false) => "lower",
            (false, false, false) => "-",
        }
    }

    pub fn eol_str(&self) -> &'static str {
        match (self.crlf_lines > 0, self.lf_lines > 0) {
            (_, false) => "crlf",
            (false, true) => "lf",
            (true, true) => "mixed",
        }
    }

    pub fn pipe_str(&self) -> &'static str {
        if self.pipelined_unadv {
            "unadv"
        } else if self.pipelined_adv {
            "adv"
        } else {
            "no"
        }
    }

    pub fn flags(&self) -> Flags {
        let mut f = 0;
        let mut set = |cond: bool, bit: u32| {
            if cond {
                f |= bit;
            }
        };
        set(self.pregreet, Flags::PREGREET);
        set(self.lf_lines > 0, Flags::BARE_LF);
        set(self.pipelined_adv, Flags::PIPELINING);
        set(self.pipelined_unadv, Flags::UNADV_PIPELINING);
        set(self.starttls, Flags::STARTTLS);
        set(matches!(self.end, End::Close | End::Limit), Flags::NO_QUIT);
        set(self.end == End::Quit, Flags::QUIT);
        for (i, bit) in [(0, Flags::RSET), (1, Flags::NOOP), (2, Flags::VRFY)] {
            set(self.extra & (1 << i) != 0, bit);
        }
        Flags(f)
    }

    /// The raw signature (`docs/smtp.md`), appended to `out`.
    pub fn push_raw_sig(&self, out: &mut String) {
        out.push_str(if self.pregreet { "pre" } else { "wait" });
        out.push(':');
        out.push_str(self.first.map_or("-", Verb::as_str));
        for field in [
            self.helo.as_str(),
            self.case_str(),
            self.mail.as_str(),
            self.rcpt.as_str(),
        ] {
            out.push(':');
            out.push_str(field);
        }
        out.push(':');
        self.params.push_list_field(out);
        out.push(':');
        out.push_str(self.eol_str());
        out.push(':');
        out.push_str(self.pipe_str());
        out.push(':');
        let start = out.len();
        for v in self.order() {
            if out.len() > start {
                out.push(',');
            }
            out.push_str(v.as_str());
        }
        if self.order_cut {
            out.push_str(",+");
        }
        if out.len() == start {
            out.push('-');
        }
        out.push(':');
        let start = out.len();
        for (i, name) in SMTP_EXTRA.iter().enumerate() {
            if self.extra & (1 << i) != 0 {
                if out.len() > start {
                    out.push(',');
                }
                out.push_str(name);
            }
        }
        if out.len() == start {
            out.push('-');
        }
        out.push(':');
        out.push_str(self.end.as_str());
    }
}

/// Everything recorded about the server side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerFeatures {
    /// Lines of the greeting (0: none complete yet).
    pub lines: u16,
    /// Reply code of the greeting.
    pub code: u16,
    pub banner: Text<80>,
    /// The EHLO reply was seen (keywords are meaningful).
    pub ehlo_seen: bool,
    pub keywords: Text<192>,
    pub flags: ServerFlags,
}

impl ServerFeatures {
    /// `lines:keywords:banner`.
    pub fn push_raw_sig(&self, out: &mut String) {
        push_num(out, u32::from(self.lines));
        out.push(':');
        if self.ehlo_seen {
            self.keywords.push_list_field(out);
        } else {
            out.push('-');
        }
        out.push(':');
        out.push_str(self.banner.as_str());
    }
}

/// Appends a number without `core::fmt`.
pub(crate) fn push_num(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_named_in_any_case_and_nothing_else_is() {
        for (i, name) in SMTP_VERBS.iter().enumerate() {
            assert_eq!(Verb::of(name.as_bytes()), Verb(i as u8));
            assert_eq!(
                Verb::of(name.to_ascii_lowercase().as_bytes()),
                Verb(i as u8)
            );
        }
        for word in [
            &b"MAILX"[..],
            b"MAI",
            b"STARTTLSX",
            b"",
            b"EHLO\0",
            b"\0\0\0\0",
        ] {
            assert_eq!(Verb::of(word), Verb::OTHER, "{word:?}");
        }
        assert_eq!(Verb::QUIT.as_str(), "QUIT");
        assert_eq!(Verb::STARTTLS.as_str(), "STARTTLS");
    }

    #[test]
    fn extra_verbs_set_their_own_bit_in_list_order() {
        for (i, name) in SMTP_EXTRA.iter().enumerate() {
            let mut f = ClientFeatures::default();
            f.note_extra(Verb::of(name.as_bytes()));
            assert_eq!(f.extra, 1 << i, "{name}");
        }
        let mut f = ClientFeatures::default();
        f.note_extra(Verb::MAIL);
        f.note_extra(Verb::OTHER);
        assert_eq!(f.extra, 0);
    }

    #[test]
    fn helo_shapes() {
        assert_eq!(HeloShape::of(b"mail.example.org"), HeloShape::Fqdn);
        assert_eq!(HeloShape::of(b"localhost"), HeloShape::Word);
        assert_eq!(HeloShape::of(b"[192.0.2.1]"), HeloShape::Literal4);
        assert_eq!(HeloShape::of(b"[IPv6:2001:db8::1]"), HeloShape::Literal6);
        assert_eq!(HeloShape::of(b"[300.1.1.1]"), HeloShape::Bad);
        assert_eq!(HeloShape::of(b""), HeloShape::Empty);
        assert_eq!(HeloShape::of(b"a b"), HeloShape::Bad);
        assert_eq!(HeloShape::of(b".x"), HeloShape::Bad);
    }

    #[test]
    fn path_shapes() {
        assert_eq!(
            PathShape::of(b" FROM:<a@b>", b"FROM"),
            (PathShape::NoSpace, 11)
        );
        assert_eq!(
            PathShape::of(b" from: <a@b> SIZE=1", b"FROM"),
            (PathShape::Space, 12)
        );
        assert_eq!(
            PathShape::of(b" FROM:a@b SIZE=1", b"FROM").0,
            PathShape::Bare
        );
        assert_eq!(PathShape::of(b" FROM :<a>", b"FROM").0, PathShape::Odd);
        assert_eq!(PathShape::of(b"", b"FROM").0, PathShape::Odd);
        assert_eq!(PathShape::of(b" TO:", b"TO").0, PathShape::Odd);
        assert_eq!(PathShape::of(b" TO:<x", b"TO"), (PathShape::NoSpace, 6));
    }

    #[test]
    fn flags_print_in_order_or_none() {
        let mut s = String::new();
        Flags(0).push_names(&mut s);
        assert_eq!(s, "none");
        s.clear();
        Flags(Flags::VRFY | Flags::PREGREET | Flags::QUIT).push_names(&mut s);
        assert_eq!(s, "pregreet,vrfy");
    }

    #[test]
    fn numbers_without_fmt() {
        for n in [0, 7, 10, 4_294_967_295] {
            let mut s = String::new();
            push_num(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
