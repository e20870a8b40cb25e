//! Per-flow HTTP/1.x detection and header parsing, step by step as data
//! arrives, with p0f 3.09b's exact limits and decision points.

use crate::date::parse_date;

/// p0f's per-direction capture limit (the engine buffers this much).
pub const MAX_FLOW_DATA: usize = 8192;
/// The first line's newline must come before this offset.
pub const MAX_FIRST_LINE: usize = 1024;
/// Most header lines in one message; one more aborts HTTP for the flow.
pub const MAX_HEADERS: usize = 32;
/// Longest header name.
pub const MAX_HEADER_NAME: usize = 32;
/// Longest header value (counting a trailing `\r`).
pub const MAX_HEADER_VALUE: usize = 1024;

/// One header line as observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The literal name: `[A-Za-z0-9_-]{1,32}`.
    pub name: String,
    /// The value after one optional blank, without the line's trailing `\r`.
    ///
    /// None for an empty value. p0f keeps values as C strings, so the value
    /// stops at its first NUL byte; it may therefore be present but empty.
    pub value: Option<Vec<u8>>,
}

/// A parsed request or response (p0f's `struct http_sig` for traffic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// Client → server.
    pub request: bool,
    /// 1 for HTTP/1.1, 0 for any other HTTP/1.x.
    pub ver: u8,
    /// Headers in wire order (at most 32 when produced by [`HttpFlow`]).
    pub headers: Vec<Header>,
    /// The last non-empty `User-Agent` (requests) or `Server` (responses).
    pub sw: Option<Vec<u8>>,
    /// The last non-empty `Accept-Language` (requests only).
    pub lang: Option<Vec<u8>>,
    /// The last non-empty `Via` or `X-Forwarded-For`.
    pub via: Option<Vec<u8>>,
    /// The last non-empty response `Date`, converted by
    /// [`parse_date`](crate::parse_date); 0 if absent or unparsable.
    pub date: u32,
}

impl Message {
    /// An empty message.
    pub fn new(request: bool, ver: u8) -> Message {
        Message {
            request,
            ver,
            ..Message::default()
        }
    }

    /// Appends a header exactly as the parser does: an empty `value` is
    /// stored as None, a value is cut at its first NUL, and the captured
    /// fields (`sw`, `lang`, `via`, `date`) are updated by name.
    pub fn push_header(&mut self, name: &[u8], value: &[u8]) {
        let value = if value.is_empty() {
            None
        } else {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            Some(value[..end].to_vec())
        };
        if let Some(v) = &value {
            match (self.request, name) {
                (true, b"User-Agent") | (false, b"Server") => self.sw = Some(v.clone()),
                (true, b"Accept-Language") => self.lang = Some(v.clone()),
                (false, b"Date") => self.date = parse_date(v),
                (_, b"Via") | (_, b"X-Forwarded-For") => self.via = Some(v.clone()),
                _ => {}
            }
        }
        self.headers.push(Header {
            name: name.iter().map(|&b| char::from(b)).collect(),
            value,
        });
    }
}

/// What [`HttpFlow::process`] tells the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// False: HTTP needs nothing more from this flow, so destroy it now.
    pub need_more: bool,
    /// A message whose headers just ended: fingerprint it now.
    pub completed: Option<Message>,
}

impl Step {
    fn more(need_more: bool) -> Step {
        Step {
            need_more,
            completed: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// No request line recognised yet.
    #[default]
    Undecided,
    /// A request line was recognised.
    Active,
    /// Not HTTP, aborted, or finished: nothing more to do.
    Off,
}

enum FirstLine {
    Abort,
    /// Incomplete; the scan stopped here.
    Wait(usize),
    /// The newline's offset.
    Found(usize),
}

/// p0f's first-line scan from `start`: bytes must be `\r` or 0x20..=0x7F up to
/// a newline whose offset is at least `min` and below 1024.
fn scan_first_line(buf: &[u8], start: usize, min: usize) -> FirstLine {
    let mut off = start;
    while off < buf.len() && off < MAX_FIRST_LINE {
        let c = buf[off];
        if c == b'\n' {
            break;
        }
        if c != b'\r' && !(0x20..=0x7f).contains(&c) {
            return FirstLine::Abort;
        }
        off += 1;
    }
    if off == MAX_FIRST_LINE || off < min {
        return FirstLine::Abort;
    }
    if off >= buf.len() {
        return FirstLine::Wait(off);
    }
    FirstLine::Found(off)
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// HTTP state of one TCP flow: p0f's `in_http`, `http_req_done`,
/// `http_gotresp1`, `http_pos` and the message being built.
///
/// # Compatibility modes
///
/// With `compat = true` the behaviour is p0f 3.09b's, byte for byte. With
/// `compat = false` one bug is fixed:
///
/// * **Split responses.** p0f never records that it has seen a response's
///   status line, so every later response segment that arrives while the
///   headers are still incomplete re-runs the status-line scan, starting at
///   the current header position. That scan skips to just past the next
///   newline, so the next complete header line is lost (a line that was
///   incomplete at the end of the previous segment is lost whole, or its tail
///   is lost if it is still incomplete); if that newline lies at or beyond
///   offset 1024, or the position is exactly 1024, the response is dropped
///   as "not HTTP"; if the position is already past 1024, exactly one
///   character is skipped (`ast-Modified` instead of `Last-Modified`); a
///   byte outside `\r`/0x20..=0x7F in the skipped line drops the response;
///   and if only the final blank line arrives in a later segment, it is
///   skipped and the body is parsed as headers, which usually drops the
///   response. With `compat = false` the status line is parsed once and
///   split responses parse exactly like single-segment ones.
///
/// Requests are not affected: p0f does record their first line.
#[derive(Clone, Debug, Default)]
pub struct HttpFlow {
    mode: Mode,
    req_done: bool,
    got_resp1: bool,
    pos: usize,
    tmp: Message,
}

impl HttpFlow {
    /// A flow with no HTTP seen yet.
    pub fn new() -> HttpFlow {
        HttpFlow::default()
    }

    /// True once the flow is known not to be (or no longer be) HTTP, or its
    /// response has been fingerprinted.
    pub fn is_off(&self) -> bool {
        self.mode == Mode::Off
    }

    /// True once the request headers have been fingerprinted.
    pub fn request_done(&self) -> bool {
        self.req_done
    }

    /// Call after appending a non-empty in-sequence payload in direction
    /// `to_srv` (also when the buffer was already full and nothing could be
    /// appended). `buf` is everything buffered so far in that direction (it
    /// only ever grows); `can_get_more` is `buf.len() < 8192`.
    ///
    /// When `completed` is Some, fingerprint it at once. When `need_more` is
    /// false, destroy the flow. Never panics and never reads past `buf`.
    pub fn process(&mut self, to_srv: bool, buf: &[u8], can_get_more: bool, compat: bool) -> Step {
        if self.mode == Mode::Off {
            return Step::more(false);
        }
        if to_srv {
            self.process_request(buf, can_get_more)
        } else {
            self.process_response(buf, can_get_more, compat)
        }
    }

    fn abort(&mut self) -> Step {
        self.mode = Mode::Off;
        Step::more(false)
    }

    /// Incomplete data: keep waiting unless the buffer is full.
    fn wait(&mut self, can_get_more: bool) -> Step {
        if !can_get_more {
            self.mode = Mode::Off;
        }
        Step::more(can_get_more)
    }

    fn process_request(&mut self, buf: &[u8], can_get_more: bool) -> Step {
        // A second request on the flow is ignored; the response is awaited.
        if self.req_done {
            return Step::more(true);
        }
        if self.mode == Mode::Undecided {
            if buf.len() < 15 {
                return Step::more(can_get_more);
            }
            // The method is checked only on the first look at the buffer.
            if self.pos == 0 && !(buf.starts_with(b"GET /") || buf.starts_with(b"HEAD /")) {
                return self.abort();
            }
            match scan_first_line(buf, self.pos, 14) {
                FirstLine::Abort => return self.abort(),
                FirstLine::Wait(off) => {
                    self.pos = off;
                    return self.wait(can_get_more);
                }
                FirstLine::Found(off) => {
                    // "HTTP/1.x" ends the line, before an optional '\r'.
                    let sig_at = if buf[off - 1] == b'\r' {
                        off - 9
                    } else {
                        off - 8
                    };
                    if &buf[sig_at..sig_at + 7] != b"HTTP/1." {
                        return self.abort();
                    }
                    self.tmp.ver = u8::from(buf[sig_at + 7] == b'1');
                    self.mode = Mode::Active;
                    self.pos = off + 1;
                }
            }
        }
        self.parse_headers(true, buf, can_get_more)
    }

    fn process_response(&mut self, buf: &[u8], can_get_more: bool, compat: bool) -> Step {
        // Server data before the request headers ended: not HTTP.
        if self.mode != Mode::Active || !self.req_done {
            return self.abort();
        }
        // p0f 3.09b never sets its "status line seen" flag (see the type's
        // documentation); compat mode re-runs the scan on every segment.
        if compat || !self.got_resp1 {
            if buf.len() < 13 {
                return Step::more(can_get_more);
            }
            match scan_first_line(buf, self.pos, 13) {
                FirstLine::Abort => return self.abort(),
                FirstLine::Wait(off) => {
                    self.pos = off;
                    return self.wait(can_get_more);
                }
                FirstLine::Found(off) => {
                    if !buf.starts_with(b"HTTP/1.") {
                        return self.abort();
                    }
                    self.tmp.ver = u8::from(buf[7] == b'1');
                    self.pos = off + 1;
                    self.got_resp1 = true;
                }
            }
        }
        self.parse_headers(false, buf, can_get_more)
    }

    /// p0f's parse_pairs: header lines from `self.pos` until the blank line.
    fn parse_headers(&mut self, to_srv: bool, buf: &[u8], can_get_more: bool) -> Step {
        let len = buf.len();
        while self.pos < len {
            let start = self.pos;
            if buf[start] == b'\r' || buf[start] == b'\n' {
                return self.complete(to_srv);
            }
            // A 33rd header line aborts as soon as it starts.
            if self.tmp.headers.len() >= MAX_HEADERS {
                return self.abort();
            }
            let mut off = start;
            while off < len && is_name_char(buf[off]) && off - start <= MAX_HEADER_NAME {
                off += 1;
            }
            let nlen = off - start;
            if off == len {
                return self.wait(can_get_more);
            }
            // Empty, too long, or not followed by ':' (folded lines too).
            if nlen == 0 || buf[off] != b':' || nlen > MAX_HEADER_NAME {
                return self.abort();
            }
            off += 1;
            if off < len && (buf[off] == b' ' || buf[off] == b'\t') {
                off += 1;
            }
            let vstart = off;
            while off < len && off - vstart <= MAX_HEADER_VALUE && buf[off] != b'\n' {
                off += 1;
            }
            let mut vlen = off - vstart;
            if vlen > MAX_HEADER_VALUE {
                // p0f returns -1 from a function returning u8 here, which
                // the caller reads as "need more": HTTP is off, but the flow
                // is kept until its next payload packet (or FIN/RST, or both
                // buffers filling up). Reproduced in both modes.
                self.mode = Mode::Off;
                return Step::more(true);
            }
            if off == len {
                return self.wait(can_get_more);
            }
            if buf[off - 1] == b'\r' {
                // vlen > 0 here: the byte before the value is ':' or a blank.
                vlen -= 1;
            }
            self.tmp.request = to_srv;
            self.tmp
                .push_header(&buf[start..start + nlen], &buf[vstart..vstart + vlen]);
            self.pos = off + 1;
        }
        self.wait(can_get_more)
    }

    fn complete(&mut self, to_srv: bool) -> Step {
        let mut msg = std::mem::take(&mut self.tmp);
        msg.request = to_srv;
        if to_srv {
            // Start over for the response, at offset 0 of the other buffer.
            self.req_done = true;
            self.pos = 0;
            Step {
                need_more: true,
                completed: Some(msg),
            }
        } else {
            self.mode = Mode::Off;
            Step {
                need_more: false,
                completed: Some(msg),
            }
        }
    }
}
