//! The per-flow SMTP dialogue observer.
//!
//! It is fed each direction's in-sequence payload in capture order and keeps
//! only a partial line per direction and the fixed-size summaries, so a flow
//! costs the same whatever is sent. Written by hand: no SMTP crate observes
//! a dialogue passively from both directions (they are clients or servers).

use crate::features::{
    ClientFeatures, End, HeloShape, PathShape, ServerFeatures, ServerFlags, Verb,
};

/// Longest line kept (RFC 5321's command line limit); the rest of a longer
/// line is skipped.
pub const MAX_LINE: usize = 512;
/// Commands read before the observer stops (`end` = `limit`).
pub const MAX_COMMANDS: u32 = 64;
/// Commands awaiting a reply that are remembered (beyond: only counted).
const MAX_PENDING: usize = 32;
/// Marks the end of a message's content in the queue of awaited replies.
const DATA_END: Verb = Verb(254);

/// What a call changed, for the engine to act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events(pub u8);

impl Events {
    /// The first MAIL was sent.
    pub const MAIL: u8 = 1;
    /// The first RCPT was sent.
    pub const RCPT: u8 = 2;
    /// The client's dialogue ended: report it.
    pub const CLIENT_DONE: u8 = 4;
    /// The server's greeting and EHLO reply are known: report them.
    pub const SERVER_READY: u8 = 8;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One direction's partial line.
#[derive(Clone)]
struct LineBuf {
    buf: [u8; MAX_LINE],
    len: usize,
    /// The last byte received for this line (kept or not) was `\r`.
    cr: bool,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf {
            buf: [0; MAX_LINE],
            len: 0,
            cr: false,
        }
    }
}

impl LineBuf {
    /// Appends bytes up to a newline. Returns how many bytes of `data` were
    /// used and whether a line is now complete (the newline is consumed but
    /// not stored).
    fn fill(&mut self, data: &[u8]) -> (usize, bool) {
        match memchr::memchr(b'\n', data) {
            Some(nl) => {
                self.keep(&data[..nl]);
                (nl + 1, true)
            }
            None => {
                self.keep(data);
                (data.len(), false)
            }
        }
    }

    fn keep(&mut self, part: &[u8]) {
        if let Some(&last) = part.last() {
            self.cr = last == b'\r';
        }
        let take = part.len().min(MAX_LINE - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&part[..take]);
        self.len += take;
    }

    /// The line without its newline (and `\r`), and whether it ended in
    /// CRLF (also when it was too long to keep whole).
    fn line(&self) -> (&[u8], bool) {
        let l = &self.buf[..self.len];
        (l.strip_suffix(b"\r").unwrap_or(l), self.cr)
    }

    fn clear(&mut self) {
        self.len = 0;
        self.cr = false;
    }

    /// When nothing is buffered and `data` holds a whole line: that line
    /// as [`LineBuf::line`] would give it (clipped to [`MAX_LINE`]), its
    /// CRLF flag and the bytes used. Most lines arrive whole in one
    /// segment; this reads them in place instead of copying them twice.
    fn whole_line<'d>(&self, data: &'d [u8]) -> Option<(&'d [u8], bool, usize)> {
        if self.len != 0 {
            return None;
        }
        let nl = memchr::memchr(b'\n', data)?;
        let raw = &data[..nl];
        let kept = &raw[..nl.min(MAX_LINE)];
        let crlf = raw.last() == Some(&b'\r');
        Some((kept.strip_suffix(b"\r").unwrap_or(kept), crlf, nl + 1))
    }
}

/// Where the client's bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Commands,
    /// Message content after DATA, until the `.` line.
    Body {
        dot: BodyPos,
        any: bool,
    },
    /// A BDAT chunk's bytes still to skip.
    Chunk {
        left: u64,
    },
    /// Nothing more to read (QUIT, STARTTLS, limit, close, not SMTP).
    Done,
}

/// Position in the search for the `.` line that ends message content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyPos {
    LineStart,
    AfterDot,
    AfterDotCr,
    Mid,
}

/// The reply being read from the server.
#[derive(Clone, Copy, Debug, Default)]
struct Reply {
    lines: u16,
    code: u16,
}

/// SMTP state of one TCP flow.
#[derive(Clone)]
pub struct SmtpFlow {
    client: ClientFeatures,
    server: ServerFeatures,
    cli_line: LineBuf,
    srv_line: LineBuf,
    mode: Mode,
    /// The server's greeting is complete.
    greeted: bool,
    /// Verbs awaiting a reply, oldest first (a ring).
    pending: [Verb; MAX_PENDING],
    pending_head: usize,
    pending_len: usize,
    /// Awaited replies beyond the ring.
    pending_extra: u32,
    reply: Reply,
    /// The server side needs nothing more (TLS started, or not SMTP).
    server_off: bool,
    /// The server's first line was not a reply: nothing is reported.
    not_smtp: bool,
    client_spoke: bool,
    client_reported: bool,
    server_reported: bool,
}

impl Default for SmtpFlow {
    fn default() -> Self {
        SmtpFlow {
            client: ClientFeatures::default(),
            server: ServerFeatures::default(),
            cli_line: LineBuf::default(),
            srv_line: LineBuf::default(),
            mode: Mode::Commands,
            greeted: false,
            pending: [Verb::OTHER; MAX_PENDING],
            pending_head: 0,
            pending_len: 0,
            pending_extra: 0,
            reply: Reply::default(),
            server_off: false,
            not_smtp: false,
            client_spoke: false,
            client_reported: false,
            server_reported: false,
        }
    }
}

impl SmtpFlow {
    pub fn new() -> SmtpFlow {
        SmtpFlow::default()
    }

    /// Starts over for a new connection, keeping the allocation.
    pub fn reset(&mut self) {
        // Only the lengths of the line buffers matter; the bytes are reused.
        self.client = ClientFeatures::default();
        self.server = ServerFeatures::default();
        self.cli_line.clear();
        self.srv_line.clear();
        self.mode = Mode::Commands;
        self.greeted = false;
        self.pending_head = 0;
        self.pending_len = 0;
        self.pending_extra = 0;
        self.reply = Reply::default();
        self.server_off = false;
        self.not_smtp = false;
        self.client_spoke = false;
        self.client_reported = false;
        self.server_reported = false;
    }

    pub fn client(&self) -> &ClientFeatures {
        &self.client
    }

    pub fn server(&self) -> &ServerFeatures {
        &self.server
    }

    /// 1: commands seen (first MAIL), 2: first RCPT seen, 3: ended; 0 before.
    pub fn stage(&self) -> u8 {
        if self.client.end != End::Open {
            3
        } else if self.client.before_rcpt.is_some() {
            2
        } else if self.client.mail != PathShape::Absent {
            1
        } else {
            0
        }
    }

    /// True when neither side will be read again.
    pub fn finished(&self) -> bool {
        self.not_smtp || (self.mode == Mode::Done && (self.server_off || self.server_reported))
    }

    /// Client → server payload, in sequence.
    pub fn client_data(&mut self, mut data: &[u8]) -> Events {
        if self.mode == Mode::Done || self.not_smtp || data.is_empty() {
            return Events::default();
        }
        let mut ev = 0u8;
        self.client_spoke = true;
        if !self.greeted {
            self.client.pregreet = true;
        }
        while !data.is_empty() {
            let used = match self.mode {
                Mode::Commands => {
                    if let Some((line, crlf, used)) = self.cli_line.whole_line(data) {
                        ev |= self.client_line(line, crlf);
                        used
                    } else {
                        let (used, complete) = self.cli_line.fill(data);
                        if complete {
                            ev |= self.buffered_client_line();
                            self.cli_line.clear();
                        }
                        used
                    }
                }
                Mode::Body { dot, .. } => self.skip_body(dot, data),
                Mode::Chunk { left } => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let left = left - take as u64;
                    // Commands follow every chunk, the last one included
                    // (QUIT or a new transaction).
                    self.mode = if left == 0 {
                        Mode::Commands
                    } else {
                        Mode::Chunk { left }
                    };
                    take
                }
                Mode::Done => data.len(),
            };
            data = &data[used..];
        }
        self.finish_events(ev)
    }

    /// Server → client payload, in sequence.
    pub fn server_data(&mut self, mut data: &[u8]) -> Events {
        if self.server_off || self.not_smtp {
            return Events::default();
        }
        let mut ev = 0u8;
        while !data.is_empty() && !self.server_off {
            if let Some((line, _, used)) = self.srv_line.whole_line(data) {
                ev |= self.server_line(line);
                data = &data[used..];
                continue;
            }
            let (used, complete) = self.srv_line.fill(data);
            if complete {
                ev |= self.buffered_server_line();
                self.srv_line.clear();
            }
            data = &data[used..];
        }
        self.finish_events(ev)
    }

    /// The connection ended (FIN, RST, or the flow is dropped).
    pub fn close(&mut self) -> Events {
        let was_open = self.client.end == End::Open;
        if was_open {
            self.client.end = End::Close;
        }
        if self.not_smtp {
            return Events::default();
        }
        let mut ev = 0;
        if was_open && self.client_spoke {
            ev |= Events::CLIENT_DONE;
        }
        // A greeting no report has shown yet (the client said nothing).
        if !self.server_reported && self.server.lines > 0 {
            ev |= Events::SERVER_READY;
        }
        self.mode = Mode::Done;
        self.server_off = true;
        let ev = self.finish_events(ev);
        // Nothing more can be reported after a close.
        self.client_reported = true;
        self.server_reported = true;
        ev
    }

    /// Adds the server report to a client report when it is still owed,
    /// and makes each report happen once.
    fn finish_events(&mut self, mut ev: u8) -> Events {
        if self.not_smtp {
            return Events::default();
        }
        if ev & Events::CLIENT_DONE != 0 {
            if self.client_reported {
                ev &= !Events::CLIENT_DONE;
            }
            self.client_reported = true;
            if !self.server_reported && self.server.lines > 0 {
                ev |= Events::SERVER_READY;
            }
        }
        if ev & Events::SERVER_READY != 0 {
            if self.server_reported {
                ev &= !Events::SERVER_READY;
            }
            self.server_reported = true;
        }
        Events(ev)
    }

    fn push_pending(&mut self, v: Verb) {
        if self.pending_len < MAX_PENDING {
            self.pending[(self.pending_head + self.pending_len) % MAX_PENDING] = v;
            self.pending_len += 1;
        } else {
            self.pending_extra = self.pending_extra.saturating_add(1);
        }
    }

    fn pop_pending(&mut self) -> Option<Verb> {
        if self.pending_len == 0 {
            if self.pending_extra > 0 {
                self.pending_extra -= 1;
                return Some(Verb::OTHER);
            }
            return None;
        }
        let v = self.pending[self.pending_head];
        self.pending_head = (self.pending_head + 1) % MAX_PENDING;
        self.pending_len -= 1;
        Some(v)
    }

    fn front_pending(&self) -> Option<Verb> {
        (self.pending_len > 0).then_some(self.pending[self.pending_head])
    }

    fn awaiting_reply(&self) -> bool {
        self.pending_len > 0 || self.pending_extra > 0
    }

    /// Skips message content up to and including the `.` line. Only a line
    /// that starts with `.` can end it, so between line starts the search
    /// jumps from one `\n.` to the next (base64 attachments have none).
    fn skip_body(&mut self, mut dot: BodyPos, data: &[u8]) -> usize {
        let mut i = 0;
        while i < data.len() {
            if dot == BodyPos::Mid {
                match line_dot().find(&data[i..]) {
                    Some(p) => {
                        i += p + 2;
                        dot = BodyPos::AfterDot;
                        continue;
                    }
                    None => {
                        if data.last() == Some(&b'\n') {
                            dot = BodyPos::LineStart;
                        }
                        i = data.len();
                        break;
                    }
                }
            }
            let b = data[i];
            i += 1;
            dot = match (dot, b) {
                (BodyPos::LineStart, b'.') => BodyPos::AfterDot,
                (BodyPos::LineStart, b'\n') => BodyPos::LineStart,
                (BodyPos::AfterDot, b'\r') => BodyPos::AfterDotCr,
                (BodyPos::AfterDot | BodyPos::AfterDotCr, b'\n') => {
                    self.mode = Mode::Commands;
                    self.push_pending(DATA_END);
                    return i;
                }
                _ => BodyPos::Mid,
            };
        }
        self.mode = Mode::Body { dot, any: true };
        i
    }

    /// A client line that came in pieces, now complete in `cli_line`.
    fn buffered_client_line(&mut self) -> u8 {
        // Copied out, as the rest of self changes while it is read (only
        // for lines split across segments).
        let (line, crlf) = self.cli_line.line();
        let mut tmp = [0u8; MAX_LINE];
        let n = line.len();
        tmp[..n].copy_from_slice(line);
        self.client_line(&tmp[..n], crlf)
    }

    /// One complete client line, without its newline.
    fn client_line(&mut self, line: &[u8], crlf: bool) -> u8 {
        let n = line.len();
        if crlf {
            self.client.crlf_lines += 1;
        } else {
            self.client.lf_lines += 1;
        }
        if line.is_empty() {
            return 0;
        }
        self.client.commands += 1;
        if self.client.commands > MAX_COMMANDS {
            self.client.end = End::Limit;
            self.mode = Mode::Done;
            return Events::CLIENT_DONE;
        }
        if self.greeted && self.awaiting_reply() {
            if self.server.flags.0 & ServerFlags::PIPELINING != 0 {
                self.client.pipelined_adv = true;
            } else {
                self.client.pipelined_unadv = true;
            }
        }
        let word_end = memchr::memchr(b' ', line).unwrap_or(n);
        let word = &line[..word_end];
        let verb =
            if !word.is_empty() && word.len() <= 16 && word.iter().all(u8::is_ascii_alphabetic) {
                self.client.note_case(word);
                Verb::of(word)
            } else {
                Verb::OTHER
            };
        let rest = &line[word_end..];
        if self.client.first.is_none() {
            self.client.first = Some(verb);
        }
        if self.client.before_rcpt.is_none() {
            self.client.push_order(verb);
        }
        self.client.note_extra(verb);
        self.push_pending(verb);
        let mut ev = 0;
        match verb {
            Verb::EHLO | Verb::HELO if self.client.helo == HeloShape::Absent => {
                self.client.helo = HeloShape::of(trim_blanks(rest));
            }
            Verb::MAIL if self.client.mail == PathShape::Absent => {
                let (shape, end) = PathShape::of(rest, b"FROM");
                self.client.mail = shape;
                self.record_params(&rest[end.min(rest.len())..]);
                ev |= Events::MAIL;
            }
            Verb::RCPT if self.client.before_rcpt.is_none() => {
                self.client.rcpt = PathShape::of(rest, b"TO").0;
                self.client.before_rcpt = Some(self.client.commands - 1);
                ev |= Events::RCPT;
            }
            Verb::DATA => {
                self.mode = Mode::Body {
                    dot: BodyPos::LineStart,
                    any: false,
                };
            }
            Verb::BDAT => {
                let mut args = rest.split(|&c| c == b' ').filter(|a| !a.is_empty());
                let size = args.next().map_or(0, parse_u64);
                if size > 0 {
                    self.mode = Mode::Chunk { left: size };
                }
            }
            Verb::QUIT => {
                self.client.end = End::Quit;
                self.mode = Mode::Done;
                ev |= Events::CLIENT_DONE;
            }
            Verb::STARTTLS => {
                self.client.starttls = true;
                self.client.end = End::Tls;
                self.mode = Mode::Done;
                ev |= Events::CLIENT_DONE;
            }
            _ => {}
        }
        ev
    }

    fn record_params(&mut self, params: &[u8]) {
        for p in params.split(|&c| c == b' ').filter(|p| !p.is_empty()) {
            let key_end = p.iter().position(|&c| c == b'=').unwrap_or(p.len());
            let key = &p[..key_end];
            let keep_value = key.eq_ignore_ascii_case(b"BODY") || key.eq_ignore_ascii_case(b"RET");
            let item = if keep_value { p } else { key };
            if !key.is_empty() {
                self.client.params.push_item(item, param_char);
            }
        }
    }

    /// A server line that came in pieces, now complete in `srv_line`.
    fn buffered_server_line(&mut self) -> u8 {
        let (line, _) = self.srv_line.line();
        let mut tmp = [0u8; MAX_LINE];
        let n = line.len();
        tmp[..n].copy_from_slice(line);
        self.server_line(&tmp[..n])
    }

    /// One complete server line, without its newline.
    fn server_line(&mut self, line: &[u8]) -> u8 {
        let n = line.len();
        let is_reply = n >= 3 && line[..3].iter().all(u8::is_ascii_digit);
        if !is_reply {
            if !self.greeted && self.reply.lines == 0 {
                // The first thing the server says is not a reply.
                self.not_smtp = true;
                self.server_off = true;
                self.mode = Mode::Done;
            }
            return 0;
        }
        let code = line[..3]
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        let last = line.get(3) != Some(&b'-');
        let text = line.get(4..).unwrap_or(&[]);
        if self.reply.lines == 0 {
            self.reply.code = code;
        }
        self.reply.lines = self.reply.lines.saturating_add(1);
        if !self.greeted {
            if self.reply.lines == 1 {
                self.server.code = code;
                self.record_banner(text);
            }
            if last {
                self.greeted = true;
                self.server.lines = self.reply.lines;
                if self.reply.lines > 1 {
                    self.server.flags.0 |= ServerFlags::MULTILINE_BANNER;
                }
                self.reply = Reply::default();
            }
            return 0;
        }
        let answering = self.front_pending();
        let ehlo = answering == Some(Verb::EHLO);
        if ehlo && self.reply.code == 250 && !self.server.ehlo_seen && self.reply.lines > 1 {
            self.record_keyword(text);
        }
        if !last {
            return 0;
        }
        let reply = self.reply;
        self.reply = Reply::default();
        let Some(verb) = self.pop_pending() else {
            // An unsolicited reply (a timeout's 421, say).
            return 0;
        };
        match verb {
            Verb::EHLO if reply.code == 250 && !self.server.ehlo_seen => {
                self.server.ehlo_seen = true;
                Events::SERVER_READY
            }
            Verb::STARTTLS if reply.code == 220 => {
                self.server_off = true;
                0
            }
            Verb::DATA if reply.code != 354 => {
                // Refused: the client goes on with commands, unless it had
                // already started sending content.
                if self.mode
                    == (Mode::Body {
                        dot: BodyPos::LineStart,
                        any: false,
                    })
                {
                    self.mode = Mode::Commands;
                }
                0
            }
            _ => 0,
        }
    }

    fn record_banner(&mut self, text: &[u8]) {
        // Skip the host name (the first word), then blanks.
        let after_host = text.iter().position(|&c| c == b' ').unwrap_or(text.len());
        let rest = trim_blanks(&text[after_host..]);
        // `|` separates the fields of `-o` log lines: never in a banner.
        self.server
            .banner
            .push_clipped(rest, |c| if c == b'|' { b'?' } else { c });
    }

    fn record_keyword(&mut self, text: &[u8]) {
        let end = text
            .iter()
            .position(|&c| c == b' ' || c == b'=')
            .unwrap_or(text.len());
        let kw = &text[..end];
        if kw.is_empty() {
            return;
        }
        if kw.eq_ignore_ascii_case(b"PIPELINING") {
            self.server.flags.0 |= ServerFlags::PIPELINING;
        } else if kw.eq_ignore_ascii_case(b"STARTTLS") {
            self.server.flags.0 |= ServerFlags::STARTTLS;
        }
        // Legacy `AUTH=LOGIN` lines keep their `=` so they stay apart.
        let item = if text.get(end) == Some(&b'=') {
            &text[..=end]
        } else {
            kw
        };
        self.server.keywords.push_item(item, keyword_char);
    }
}

/// The searcher for a line that starts with `.`, built once.
fn line_dot() -> &'static memchr::memmem::Finder<'static> {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    FINDER.get_or_init(|| memchr::memmem::Finder::new(b"\n."))
}

fn trim_blanks(s: &[u8]) -> &[u8] {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let start = s.iter().position(|c| !blank(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !blank(c)).map_or(start, |p| p + 1);
    &s[start..end.max(start)]
}

fn parse_u64(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u64, |acc, &d| {
            acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

/// Parameters are written upper-case; bytes that could break the field
/// syntax become `?`.
fn param_char(c: u8) -> u8 {
    let c = c.to_ascii_uppercase();
    if c.is_ascii_uppercase() || c.is_ascii_digit() || b"-=.".contains(&c) {
        c
    } else {
        b'?'
    }
}

fn keyword_char(c: u8) -> u8 {
    let c = c.to_ascii_uppercase();
    if c.is_ascii_uppercase() || c.is_ascii_digit() || b"-_=".contains(&c) {
        c
    } else {
        b'?'
    }
}
