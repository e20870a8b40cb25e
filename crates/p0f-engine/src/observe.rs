//! Observations: what the engine reports, and p0f's two text renderings of
//! them (the console block and the `-o` log line).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::addr::{EndpointText, HostAddr};

/// One `key = value` line of an observation; `None` prints as `???`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub key: &'static str,
    pub value: Option<&'a str>,
}

/// One observation about a connection's client or server.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// `syn`, `syn+ack`, `mtu`, `uptime`, `http request`, `host change`...
    pub kind: &'static str,
    /// Packet time, seconds since the epoch (p0f's 32-bit clock).
    pub time: u32,
    /// The milliseconds within `time` (0-999), for structured output.
    pub millis: u16,
    /// The side that sent the SYN.
    pub client: HostAddr,
    pub client_port: u16,
    pub server: HostAddr,
    pub server_port: u16,
    /// True when the observation is about the client.
    pub about_client: bool,
    pub fields: &'a [Field<'a>],
    /// The values behind the text, for consumers that need numbers and
    /// indexes rather than strings (the v2 API's connection table).
    pub verdict: Verdict,
}

/// What a `syn`/`syn+ack` or `uptime` observation says, as values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing beyond the text (mtu, http, NAT observations).
    #[default]
    None,
    /// A SYN or SYN+ACK fingerprint.
    Signature {
        /// The matched label: an index into `Database::labels`.
        label: Option<u32>,
        /// Matched neither generically nor fuzzily.
        exact: bool,
        /// Matched only with the TTL, window or option checks relaxed.
        fuzzy: bool,
        /// Network distance (an upper bound for random-TTL tools).
        dist: u8,
    },
    /// An HTTP request or response: the matched label, an index into
    /// `Database::labels`.
    Http { label: Option<u32> },
    /// An `smtp client` / `smtp server` verdict: the matched record (an
    /// index into `Database::smtp_client` or `smtp_server`), its kind and
    /// whether it is generic.
    Smtp {
        record: Option<u32>,
        kind: Option<p0f_sigdb::SmtpKind>,
        generic: bool,
    },
    /// An uptime estimate.
    Uptime {
        minutes: u32,
        /// The same estimate to the second.
        seconds: u32,
        /// The clock wraps around after this many days.
        modulo_days: u32,
    },
}

/// Where the engine sends what it finds.
pub trait Sink {
    fn observation(&mut self, obs: &Observation<'_>);
    /// A one-line operator warning (p0f prints these as `[!] WARNING: ...`).
    fn warning(&mut self, message: &str);
}

/// Collects values for up to four fields in one reusable buffer, so that
/// building an observation does not allocate once the buffer has grown.
#[derive(Default)]
pub struct FieldBuf {
    text: String,
    spans: [(&'static str, Option<(usize, usize)>); 4],
    len: usize,
}

impl FieldBuf {
    pub fn clear(&mut self) {
        self.text.clear();
        self.len = 0;
    }

    /// Adds a field whose value is written by `write`.
    pub fn push_with(&mut self, key: &'static str, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        self.push_span(key, Some((start, self.text.len())));
    }

    pub fn push_str(&mut self, key: &'static str, value: Option<&str>) {
        match value {
            Some(v) => self.push_with(key, |s| s.push_str(v)),
            None => self.push_span(key, None),
        }
    }

    pub fn push_fmt(&mut self, key: &'static str, args: std::fmt::Arguments<'_>) {
        self.push_with(key, |s| {
            let _ = s.write_fmt(args);
        });
    }

    fn push_span(&mut self, key: &'static str, span: Option<(usize, usize)>) {
        if self.len < self.spans.len() {
            self.spans[self.len] = (key, span);
            self.len += 1;
        } else {
            debug_assert!(false, "more than four observation fields");
        }
    }

    /// The fields collected so far, ready to put in an [`Observation`].
    pub fn fields(&self) -> ([Field<'_>; 4], usize) {
        let mut out = [Field {
            key: "",
            value: None,
        }; 4];
        for (slot, (key, span)) in out.iter_mut().zip(&self.spans[..self.len]) {
            *slot = Field {
                key,
                value: span.map(|(a, b)| &self.text[a..b]),
            };
        }
        (out, self.len)
    }
}

thread_local! {
    /// Scratch space for rendering, reused so that output does not allocate.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Renders with `render` into the reusable scratch buffer, then writes it
/// out in one call. Formatting by hand (not `write!`) matters here: printing
/// observations is most of the work on busy captures.
fn with_scratch(out: &mut impl Write, render: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            render(&mut buf);
            out.write_all(&buf)
        }
        Err(_) => {
            let mut buf = Vec::new();
            render(&mut buf);
            out.write_all(&buf)
        }
    })
}

/// Appends `ADDR/PORT`.
pub fn push_endpoint(buf: &mut Vec<u8>, addr: &HostAddr, port: u16) {
    buf.extend_from_slice(EndpointText::new(addr, port).as_bytes());
}

/// Both ends of an observation's connection, rendered once for every place
/// they appear (console block and log line).
pub struct Ends {
    client: EndpointText,
    server: EndpointText,
}

impl Ends {
    pub fn of(obs: &Observation<'_>) -> Ends {
        Ends {
            client: EndpointText::new(&obs.client, obs.client_port),
            server: EndpointText::new(&obs.server, obs.server_port),
        }
    }
}

/// Appends `| key     = ` with the key padded to eight columns.
fn push_key(buf: &mut Vec<u8>, key: &str) {
    const PAD: &[u8; 8] = b"        ";
    buf.extend_from_slice(b"| ");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(&PAD[key.len().min(8)..]);
    buf.extend_from_slice(b" = ");
}

/// Appends an observation as p0f's console block.
pub fn render_console_block(buf: &mut Vec<u8>, obs: &Observation<'_>) {
    render_console_block_with(buf, obs, &Ends::of(obs));
}

/// [`render_console_block`] with the ends already rendered.
pub fn render_console_block_with(buf: &mut Vec<u8>, obs: &Observation<'_>, ends: &Ends) {
    buf.extend_from_slice(b".-[ ");
    buf.extend_from_slice(ends.client.as_bytes());
    buf.extend_from_slice(b" -> ");
    buf.extend_from_slice(ends.server.as_bytes());
    buf.extend_from_slice(b" (");
    buf.extend_from_slice(obs.kind.as_bytes());
    buf.extend_from_slice(b") ]-\n|\n");
    if obs.about_client {
        push_key(buf, "client");
        buf.extend_from_slice(ends.client.as_bytes());
    } else {
        push_key(buf, "server");
        buf.extend_from_slice(ends.server.as_bytes());
    }
    buf.push(b'\n');
    for f in obs.fields {
        push_key(buf, f.key);
        buf.extend_from_slice(f.value.unwrap_or("???").as_bytes());
        buf.push(b'\n');
    }
    buf.extend_from_slice(b"|\n`----\n\n");
}

/// Appends an observation as one `-o` log line. `stamp` is the packet time
/// already rendered as local `YYYY/MM/DD HH:MM:SS`.
pub fn render_log_line(buf: &mut Vec<u8>, stamp: &str, obs: &Observation<'_>) {
    render_log_line_with(buf, stamp, obs, &Ends::of(obs));
}

/// [`render_log_line`] with the ends already rendered.
pub fn render_log_line_with(buf: &mut Vec<u8>, stamp: &str, obs: &Observation<'_>, ends: &Ends) {
    buf.push(b'[');
    buf.extend_from_slice(stamp.as_bytes());
    buf.extend_from_slice(b"] mod=");
    buf.extend_from_slice(obs.kind.as_bytes());
    buf.extend_from_slice(b"|cli=");
    buf.extend_from_slice(ends.client.as_bytes());
    buf.extend_from_slice(b"|srv=");
    buf.extend_from_slice(ends.server.as_bytes());
    buf.extend_from_slice(if obs.about_client {
        b"|subj=cli"
    } else {
        b"|subj=srv"
    });
    for f in obs.fields {
        buf.push(b'|');
        buf.extend_from_slice(f.key.as_bytes());
        buf.push(b'=');
        buf.extend_from_slice(f.value.unwrap_or("???").as_bytes());
    }
    buf.push(b'\n');
}

/// Writes an observation as p0f's console block.
pub fn write_console_block(out: &mut impl Write, obs: &Observation<'_>) -> io::Result<()> {
    write_console_block_with(out, obs, &Ends::of(obs))
}

/// [`write_console_block`] with the ends already rendered.
pub fn write_console_block_with(
    out: &mut impl Write,
    obs: &Observation<'_>,
    ends: &Ends,
) -> io::Result<()> {
    with_scratch(out, |buf| render_console_block_with(buf, obs, ends))
}

/// Writes an observation as one `-o` log line (see [`render_log_line`]).
pub fn write_log_line(out: &mut impl Write, stamp: &str, obs: &Observation<'_>) -> io::Result<()> {
    write_log_line_with(out, stamp, obs, &Ends::of(obs))
}

/// [`write_log_line`] with the ends already rendered.
pub fn write_log_line_with(
    out: &mut impl Write,
    stamp: &str,
    obs: &Observation<'_>,
    ends: &Ends,
) -> io::Result<()> {
    with_scratch(out, |buf| render_log_line_with(buf, stamp, obs, ends))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(fields: &'a [Field<'a>]) -> Observation<'a> {
        Observation {
            kind: "mtu",
            time: 0,
            millis: 0,
            client: HostAddr::v4([127, 0, 0, 1]),
            client_port: 45156,
            server: HostAddr::v4([127, 0, 0, 1]),
            server_port: 8080,
            about_client: true,
            fields,
            verdict: Verdict::None,
        }
    }

    /// The fields of a loopback `mtu` observation.
    fn mtu_fields() -> [Field<'static>; 2] {
        [
            Field {
                key: "link",
                value: None,
            },
            Field {
                key: "raw_mtu",
                value: Some("65535"),
            },
        ]
    }

    #[test]
    fn console_block_layout() {
        let fields = mtu_fields();
        let mut out = Vec::new();
        write_console_block(&mut out, &sample(&fields)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            ".-[ 127.0.0.1/45156 -> 127.0.0.1/8080 (mtu) ]-\n|\n| client   = 127.0.0.1/45156\n\
             | link     = ???\n| raw_mtu  = 65535\n|\n`----\n\n"
        );
    }

    #[test]
    fn log_line_layout() {
        let fields = mtu_fields();
        let mut out = Vec::new();
        write_log_line(&mut out, "2026/11/27 03:41:57", &sample(&fields)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[2026/11/27 03:41:57] mod=mtu|cli=127.0.0.1/45156|srv=127.0.0.1/8080|subj=cli|link=???|raw_mtu=65535\n"
        );
    }

    #[test]
    fn field_buf_reuses_text() {
        let mut b = FieldBuf::default();
        b.push_str("os", None);
        b.push_fmt("dist", format_args!("{}", 7));
        let (f, n) = b.fields();
        assert_eq!(n, 2);
        assert_eq!(
            f[0],
            Field {
                key: "os",
                value: None
            }
        );
        assert_eq!(f[1].value, Some("7"));
    }
}
