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

/// The four signature sections, in p0f.fp's order.
const SECTIONS: [Section; 4] = [
    Section {
        kind: "syn",
        header: "tcp:request",
        what: "SYN",
        label: "s:other:Unidentified:",
    },
    Section {
        kind: "syn+ack",
        header: "tcp:response",
        what: "SYN+ACK",
        label: "s:other:Unidentified:",
    },
    Section {
        kind: "http request",
        header: "http:request",
        what: "HTTP request",
        label: "s:!:Unidentified:",
    },
    Section {
        kind: "http response",
        header: "http:response",
        what: "HTTP response",
        label: "s:!:Unidentified:",
    },
];

struct Section {
    /// The observation kind whose `raw_sig` belongs here.
    kind: &'static str,
    /// The p0f.fp section header, without brackets.
    header: &'static str,
    what: &'static str,
    /// The placeholder label written above each signature.
    label: &'static str,
}

/// Counts verdicts and unmatched signatures as observations pass.
#[derive(Default)]
pub struct Summary {
    os: HashMap<String, u64>,
    app: HashMap<String, u64>,
    unknown: u64,
    unmatched: [HashMap<String, u64>; 4],
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
                } else {
                    &mut self.app
                };
                bump(map, f.value.unwrap_or_default());
            }
            Some(_) => {
                self.unknown += 1;
                if let Some(raw) = field("raw_sig").and_then(|f| f.value) {
                    fp_signature(raw, section < 2, &mut self.sig);
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
        writeln!(out, "\nNo match: {} fingerprints.", self.unknown)?;
        if self.unmatched.iter().all(HashMap::is_empty) {
            return Ok(());
        }
        writeln!(
            out,
            "\n; Most frequent signatures that matched nothing, as p0f.fp lines;\n\
             ; name each label (class:name:flavor) before use."
        )?;
        for (section, map) in SECTIONS.iter().zip(&self.unmatched) {
            if map.is_empty() {
                continue;
            }
            writeln!(out, "\n[{}]", section.header)?;
            for (sig, count) in by_count(map, TOP_UNMATCHED) {
                let plural = if count == 1 { "" } else { "s" };
                writeln!(out, "\n; {count} {}{plural}", section.what)?;
                writeln!(out, "label = {}", section.label)?;
                writeln!(out, "sig   = {sig}")?;
            }
        }
        Ok(())
    }

    /// The summary as one JSON object on one line.
    pub fn write_json(&self, out: &mut impl Write, packets: u64) -> io::Result<()> {
        let unmatched = SECTIONS
            .iter()
            .zip(&self.unmatched)
            .flat_map(|(s, map)| {
                by_count(map, TOP_UNMATCHED)
                    .into_iter()
                    .map(|(sig, count)| Unmatched {
                        kind: s.kind,
                        section: s.header,
                        label: s.label,
                        sig,
                        count,
                    })
            })
            .collect();
        let doc = SummaryJson {
            kind: "summary",
            packets,
            os: counted(&self.os),
            app: counted(&self.app),
            unmatched_total: self.unknown,
            unmatched,
        };
        serde_json::to_writer(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    kind: &'static str,
    packets: u64,
    os: Vec<Counted<'a>>,
    app: Vec<Counted<'a>>,
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
/// in the database's own syntax except for one case: a TTL too far from any
/// initial value prints as `TTL+?`, which p0f.fp writes `TTL-` (at most TTL).
fn fp_signature(raw: &str, tcp: bool, out: &mut String) {
    out.clear();
    match raw.split_once(':') {
        Some((ver, rest)) if tcp => {
            let (ttl, rest) = rest.split_once(':').unwrap_or((rest, ""));
            out.push_str(ver);
            out.push(':');
            match ttl.strip_suffix("+?") {
                Some(t) => {
                    out.push_str(t);
                    out.push('-');
                }
                None => out.push_str(ttl),
            }
            out.push(':');
            out.push_str(rest);
        }
        _ => out.push_str(raw),
    }
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
        assert_eq!(s, "4:57+7:0:1460:1024,0:mss::0");
        fp_signature("1:Host,User-Agent:Accept:curl", false, &mut s);
        assert_eq!(s, "1:Host,User-Agent:Accept:curl");
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
