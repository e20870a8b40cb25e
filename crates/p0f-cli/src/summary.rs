//! `--summary`: what a capture file held, counted at the end of `-r`.
//!
//! First the OS and application verdicts by count, then the most frequent
//! raw signatures that matched nothing, per p0f.fp section, written as
//! p0f.fp lines (a placeholder label and the signature) so that an operator
//! can paste them into a database and name them. With `--json` the same
//! facts are one final JSON object.

use std::collections::HashMap;
use std::io::{self, Write};

use p0f_engine::{Observation, Sink};
use serde::Serialize;

/// Unmatched signatures listed per section.
const TOP_UNMATCHED: usize = 20;
/// Signatures per section checked for overlaps before the top ones are
/// listed.
const CANDIDATES: usize = 100;

/// The signature sections, in p0f.fp's order (p0f-rs's SMTP ones last).
const SECTIONS: [Section; 6] = [
    Section {
        kind: "syn",
        header: "tcp:request",
        what: "SYN",
        label: "s:other:Unidentified:",
        sys: None,
    },
    Section {
        kind: "syn+ack",
        header: "tcp:response",
        what: "SYN+ACK",
        label: "s:other:Unidentified:",
        sys: None,
    },
    Section {
        kind: "http request",
        header: "http:request",
        what: "HTTP request",
        label: "s:!:Unidentified:",
        sys: Some(ANY_OS),
    },
    Section {
        kind: "http response",
        header: "http:response",
        what: "HTTP response",
        label: "s:!:Unidentified:",
        sys: Some(ANY_OS),
    },
    // The placeholder kind is `client`: pasted unedited, it neither
    // exempts a sender as an MTA nor flags it as a bot.
    Section {
        kind: "smtp client",
        header: "smtp:client",
        what: "SMTP client",
        label: "s:client:Unidentified:",
        sys: None,
    },
    Section {
        kind: "smtp server",
        header: "smtp:server",
        what: "SMTP server",
        label: "s:client:Unidentified:",
        sys: None,
    },
];

/// Index of the first SMTP section in [`SECTIONS`].
const FIRST_SMTP: usize = 4;

struct Section {
    /// The observation kind whose `raw_sig` belongs here.
    kind: &'static str,
    /// The p0f.fp section header, without brackets.
    header: &'static str,
    what: &'static str,
    /// The placeholder label written above each signature.
    label: &'static str,
    /// The `sys` line an application label needs: the systems it runs on.
    sys: Option<&'static str>,
}

/// Every class of p0f's stock database, so that a placeholder application
/// label never makes an HTTP verdict an OS mismatch.
const ANY_OS: &str = "@win,@unix,@other";

/// Counts verdicts and unmatched signatures as observations pass.
#[derive(Default)]
pub struct Summary {
    os: HashMap<String, u64>,
    app: HashMap<String, u64>,
    /// SMTP dialect verdicts (client and server), apart from HTTP's.
    smtp: HashMap<String, u64>,
    unknown: u64,
    unmatched: [HashMap<String, u64>; SECTIONS.len()],
    /// Scratch space for turning a raw signature into a p0f.fp one.
    sig: String,
}

impl Summary {
    /// Counts one observation; allocates only for a value not seen before.
    pub fn observe(&mut self, obs: &Observation<'_>) {
        let Some(section) = SECTIONS.iter().position(|s| s.kind == obs.kind) else {
            return;
        };
        let field = |k: &str| obs.fields.iter().find(|f| f.key == k);
        let verdict = field("os").or_else(|| field("app"));
        match verdict {
            Some(f) if f.value.is_some() => {
                let map = if f.key == "os" {
                    &mut self.os
                } else if section >= FIRST_SMTP {
                    &mut self.smtp
                } else {
                    &mut self.app
                };
                bump(map, f.value.unwrap_or_default());
            }
            Some(_) => {
                self.unknown += 1;
                if let Some(raw) = field("raw_sig").and_then(|f| f.value) {
                    if section >= FIRST_SMTP {
                        smtp_fp_signature(raw, &mut self.sig);
                    } else {
                        fp_signature(raw, section < 2, &mut self.sig);
                    }
                    bump(&mut self.unmatched[section], &self.sig);
                }
            }
            None => {}
        }
    }

    /// The summary as text: the verdict table, then p0f.fp lines.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "\n-- Summary --")?;
        for (title, map) in [
            ("OS verdicts", &self.os),
            ("Application verdicts", &self.app),
        ] {
            writeln!(out, "\n{title} by count:")?;
            let rows = by_count(map, usize::MAX);
            if rows.is_empty() {
                writeln!(out, "  (none)")?;
            }
            for (value, count) in rows {
                writeln!(out, "  {count:>8}  {value}")?;
            }
        }
        // Only when there were any, so that output without SMTP is as before.
        if !self.smtp.is_empty() {
            writeln!(out, "\nSMTP dialect verdicts by count:")?;
            for (value, count) in by_count(&self.smtp, usize::MAX) {
                writeln!(out, "  {count:>8}  {value}")?;
            }
        }
        writeln!(out, "\nNo match: {} fingerprints.", self.unknown)?;
        let listing = self.listing();
        if listing.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "\n; Most frequent signatures that matched nothing, as p0f.fp lines;\n\
             ; name each label (class:name:flavor) before use."
        )?;
        out.write_all(render_fp(&listing, &mut Vec::new()).as_bytes())
    }

    /// The unmatched signatures to list: the most frequent of each section,
    /// checked by the database parser. A signature that a more frequent one
    /// already covers (p0f's optional `?Header`s make that common in HTTP)
    /// could never match in a database, so its count goes to the one that
    /// covers it; one the parser refuses for any other reason is left out.
    fn listing(&self) -> Vec<Listed<'_>> {
        let mut listing: Vec<Listed<'_>> = Vec::new();
        for (section, map) in self.unmatched.iter().enumerate() {
            for (sig, count) in by_count(map, CANDIDATES) {
                listing.push(Listed {
                    section,
                    sig,
                    count,
                });
            }
        }
        let mut sig_lines = Vec::new();
        for _ in 0..=listing.len() {
            let text = format!(
                "classes = win,unix,other\n{}",
                render_fp(&listing, &mut sig_lines)
            );
            let Err(e) = p0f_sigdb::Database::parse(text.as_bytes(), "summary") else {
                break;
            };
            // The parser's lines count the `classes` line too.
            let entry = |line: u32| sig_lines.iter().position(|&l| l + 1 == line);
            let Some(bad) = e.line.and_then(entry) else {
                listing.clear();
                break;
            };
            let cover = e
                .message
                .strip_prefix("this signature is already covered by the one in line ")
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse().ok())
                .and_then(entry);
            let removed = listing.remove(bad);
            if let Some(c) = cover {
                let c = if c > bad { c - 1 } else { c };
                listing[c].count += removed.count;
            }
        }
        listing.sort_by(|a, b| (a.section, b.count, a.sig).cmp(&(b.section, a.count, b.sig)));
        let mut shown = [0usize; SECTIONS.len()];
        listing.retain(|l| {
            shown[l.section] += 1;
            shown[l.section] <= TOP_UNMATCHED
        });
        listing
    }

    /// The summary as one JSON object on one line.
    pub fn write_json(&self, out: &mut impl Write, packets: u64) -> io::Result<()> {
        let unmatched = self
            .listing()
            .into_iter()
            .map(|l| {
                let s = &SECTIONS[l.section];
                Unmatched {
                    kind: s.kind,
                    section: s.header,
                    label: s.label,
                    sys: s.sys,
                    sig: l.sig,
                    count: l.count,
                }
            })
            .collect();
        let doc = SummaryJson {
            kind: "summary",
            packets,
            os: counted(&self.os),
            app: counted(&self.app),
            smtp: counted(&self.smtp),
            unmatched_total: self.unknown,
            unmatched,
        };
        serde_json::to_writer(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

/// One unmatched signature to list.
struct Listed<'a> {
    /// Index into [`SECTIONS`].
    section: usize,
    sig: &'a str,
    count: u64,
}

/// The listing as p0f.fp text, sections in order; `sig_lines` receives the
/// line number (1-based) of each entry's `sig` line.
fn render_fp(listing: &[Listed<'_>], sig_lines: &mut Vec<u32>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let mut line = 0u32;
    let mut put = |text: &mut String, s: std::fmt::Arguments<'_>| {
        let _ = writeln!(text, "{s}");
        line += 1;
        line
    };
    sig_lines.clear();
    let mut current = None;
    for l in listing {
        let section = &SECTIONS[l.section];
        if current != Some(l.section) {
            current = Some(l.section);
            put(&mut text, format_args!(""));
            put(&mut text, format_args!("[{}]", section.header));
        }
        let plural = if l.count == 1 { "" } else { "s" };
        put(&mut text, format_args!(""));
        put(
            &mut text,
            format_args!("; {} {}{plural}", l.count, section.what),
        );
        put(&mut text, format_args!("label = {}", section.label));
        if let Some(sys) = section.sys {
            put(&mut text, format_args!("sys   = {sys}"));
        }
        let n = put(&mut text, format_args!("sig   = {}", l.sig));
        sig_lines.push(n);
    }
    text
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    kind: &'static str,
    packets: u64,
    os: Vec<Counted<'a>>,
    app: Vec<Counted<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    smtp: Vec<Counted<'a>>,
    unmatched_total: u64,
    unmatched: Vec<Unmatched<'a>>,
}

#[derive(Serialize)]
struct Counted<'a> {
    value: &'a str,
    count: u64,
}

#[derive(Serialize)]
struct Unmatched<'a> {
    kind: &'static str,
    section: &'static str,
    label: &'static str,
    sys: Option<&'static str>,
    sig: &'a str,
    count: u64,
}

fn counted(map: &HashMap<String, u64>) -> Vec<Counted<'_>> {
    by_count(map, usize::MAX)
        .into_iter()
        .map(|(value, count)| Counted { value, count })
        .collect()
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The `limit` most frequent entries, ties in text order.
fn by_count(map: &HashMap<String, u64>, limit: usize) -> Vec<(&str, u64)> {
    let mut rows: Vec<(&str, u64)> = map.iter().map(|(k, &n)| (k.as_str(), n)).collect();
    rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    rows.truncate(limit);
    rows
}

/// Writes `raw` as a p0f.fp signature into `out`. p0f prints TCP signatures
/// in the database's syntax, with the TTL as `SEEN+HOPS`; the database wants
/// the initial TTL (their sum), which is the same for every host of that
/// stack whatever its distance. A TTL too far from any initial value prints
/// as `SEEN+?`, which p0f.fp writes `SEEN-` (at most SEEN).
fn fp_signature(raw: &str, tcp: bool, out: &mut String) {
    out.clear();
    let mut parts = raw.splitn(3, ':');
    let (Some(ver), Some(ttl), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        out.push_str(raw);
        return;
    };
    if !tcp {
        http_fp_signature(raw, out);
        return;
    }
    out.push_str(ver);
    out.push(':');
    let seen_hops = ttl
        .split_once('+')
        .map(|(seen, hops)| (seen.parse::<u16>(), hops));
    match seen_hops {
        Some((Ok(seen), "?")) => {
            out.push_str(itoa::Buffer::new().format(seen));
            out.push('-');
        }
        Some((Ok(seen), hops)) => match hops.parse::<u16>() {
            Ok(hops) => out.push_str(itoa::Buffer::new().format(seen + hops)),
            Err(_) => out.push_str(ttl),
        },
        _ => out.push_str(ttl),
    }
    out.push(':');
    out.push_str(rest);
}

/// An SMTP raw signature as a p0f.fp one: the same text, except that an
/// empty server banner (the last field) is written `*`, which p0f.fp
/// requires there.
fn smtp_fp_signature(raw: &str, out: &mut String) {
    out.clear();
    out.push_str(raw);
    if raw.ends_with(':') {
        out.push('*');
    }
}

/// An HTTP signature, `ver:horder:habsent:sw`, as p0f.fp takes it: the
/// software string may not hold a `:`, and since a signature's string only
/// has to occur in the observed one, it is cut before the first `:`.
/// (Header values in `[...]` may hold colons; they are not field breaks.)
fn http_fp_signature(raw: &str, out: &mut String) {
    let mut depth = 0u32;
    let mut breaks = 0;
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => {
                breaks += 1;
                if breaks == 3 {
                    let sw = &raw[i + 1..];
                    out.push_str(&raw[..=i]);
                    out.push_str(sw.split(':').next().unwrap_or(""));
                    return;
                }
            }
            _ => {}
        }
    }
    out.push_str(raw);
}

/// A sink that counts for the summary and passes everything on.
pub struct Counting<'a, S: Sink> {
    pub inner: S,
    pub summary: Option<&'a mut Summary>,
}

impl<S: Sink> Sink for Counting<'_, S> {
    fn observation(&mut self, obs: &Observation<'_>) {
        self.inner.observation(obs);
        if let Some(s) = self.summary.as_deref_mut() {
            s.observe(obs);
        }
    }

    fn warning(&mut self, message: &str) {
        self.inner.warning(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_ttl_becomes_a_bound() {
        let mut s = String::new();
        fp_signature("4:200+?:0:1460:1024,0:mss::0", true, &mut s);
        assert_eq!(s, "4:200-:0:1460:1024,0:mss::0");
        fp_signature("4:57+7:0:1460:1024,0:mss::0", true, &mut s);
        assert_eq!(s, "4:64:0:1460:1024,0:mss::0");
        fp_signature("1:Host,User-Agent:Accept:curl", false, &mut s);
        assert_eq!(s, "1:Host,User-Agent:Accept:curl");
        fp_signature(
            "1:Host,X=[a:b]:Accept:Mozilla/5.0 (X11; rv:20.0) Gecko",
            false,
            &mut s,
        );
        assert_eq!(s, "1:Host,X=[a:b]:Accept:Mozilla/5.0 (X11; rv");
    }

    #[test]
    fn most_frequent_first() {
        let mut m = HashMap::new();
        for k in ["b", "a", "b", "c", "c", "b"] {
            bump(&mut m, k);
        }
        assert_eq!(by_count(&m, 2), vec![("b", 3), ("c", 2)]);
    }
}
