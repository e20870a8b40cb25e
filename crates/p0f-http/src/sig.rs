//! Signature dumping, matching against the database, and the printed values.

use std::fmt::{self, Write as _};

use p0f_sigdb::{Database, HttpRecord};

use crate::flow::{Message, MAX_HEADERS};
use crate::vocab::Vocabulary;

/// Longest value shown in a raw signature.
pub const MAX_SHOW: usize = 200;

/// Case-sensitive substring test on bytes (C's `strstr`).
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Length of the printable prefix of `val` that p0f shows: bytes in
/// 0x20..=0x7F other than `]` (and `|` when `stop_pipe`), at most 200.
fn clean_len(val: &[u8], stop_pipe: bool) -> usize {
    val.iter()
        .take(MAX_SHOW)
        .take_while(|&&b| (0x20..0x80).contains(&b) && b != b']' && !(stop_pipe && b == b'|'))
        .count()
}

fn push_ascii(out: &mut String, val: &[u8]) {
    out.extend(val.iter().map(|&b| char::from(b)));
}

/// `=[value]`, or nothing when the cleaned value is empty.
fn push_value(out: &mut String, val: &[u8], stop_pipe: bool) {
    let n = clean_len(val, stop_pipe);
    if n > 0 {
        out.push_str("=[");
        push_ascii(out, &val[..n]);
        out.push(']');
    }
}

/// Header ids of a message, without allocating for up to 32 headers.
struct Ids {
    small: [Option<u32>; MAX_HEADERS],
    big: Vec<Option<u32>>,
    len: usize,
}

impl Ids {
    fn of(msg: &Message, vocab: &Vocabulary) -> Ids {
        let mut ids = Ids {
            small: [None; MAX_HEADERS],
            big: Vec::new(),
            len: msg.headers.len(),
        };
        if ids.len <= MAX_HEADERS {
            for (slot, h) in ids.small.iter_mut().zip(&msg.headers) {
                *slot = vocab.lookup(h.name.as_bytes());
            }
        } else {
            ids.big = msg
                .headers
                .iter()
                .map(|h| vocab.lookup(h.name.as_bytes()))
                .collect();
        }
        ids
    }

    fn as_slice(&self) -> &[Option<u32>] {
        if self.len <= MAX_HEADERS {
            &self.small[..self.len]
        } else {
            &self.big
        }
    }
}

/// Writes p0f's `raw_sig` for an observed message into `out` (appending).
///
/// `ver:horder:habsent:sw`, where known headers get `?` when in the
/// direction's optional list, and `=[value]` unless optional or in the
/// skip-value list; unknown headers always get `=[value]` and their values
/// (and `sw`) may contain `|`. Values are cut at 200 bytes or the first byte
/// that is non-printable or `]` (or `|`, for known headers); an empty result
/// prints no `=[]`.
pub fn raw_signature(msg: &Message, vocab: &Vocabulary, out: &mut String) {
    let req = msg.request;
    let _ = write!(out, "{}:", msg.ver);
    let ids = Ids::of(msg, vocab);
    for (i, (h, id)) in msg.headers.iter().zip(ids.as_slice()).enumerate() {
        if i > 0 {
            out.push(',');
        }
        match *id {
            Some(id) => {
                let optional = vocab.is_optional(req, id);
                if optional {
                    out.push('?');
                }
                out.push_str(vocab.name(id));
                if let Some(v) = &h.value {
                    if !optional && !vocab.skips_value(req, id) {
                        push_value(out, v, true);
                    }
                }
            }
            None => {
                out.push_str(&h.name);
                if let Some(v) = &h.value {
                    push_value(out, v, false);
                }
            }
        }
    }
    out.push(':');
    let mut first = true;
    for &cid in vocab.common(req) {
        if !ids.as_slice().contains(&Some(cid)) {
            if !first {
                out.push(',');
            }
            out.push_str(vocab.name(cid));
            first = false;
        }
    }
    out.push(':');
    if let Some(sw) = &msg.sw {
        push_ascii(out, &sw[..clean_len(sw, false)]);
    }
}

/// The result of matching one message against the database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpMatch {
    /// Index into `db.http_request` (requests) or `db.http_response`.
    pub record: Option<u32>,
    /// The signature expects a software string (`expsw`) that the observed
    /// User-Agent / Server does not contain.
    pub dishonest: bool,
}

/// The database records for a message's direction.
pub fn records(db: &Database, request: bool) -> &[HttpRecord] {
    if request {
        &db.http_request
    } else {
        &db.http_response
    }
}

/// p0f's HTTP matching: signatures in file order for the message's
/// direction; the first matching specific signature wins at once, otherwise
/// the first matching generic one. `vocab` must have been built from `db`.
pub fn match_message(db: &Database, vocab: &Vocabulary, msg: &Message) -> HttpMatch {
    let recs = records(db, msg.request);
    let compiled = &vocab.sigs[usize::from(msg.request)];
    let ids = Ids::of(msg, vocab);
    let ids = ids.as_slice();
    let mut generic: Option<u32> = None;
    for (i, (rec, comp)) in recs.iter().zip(compiled).enumerate() {
        if !sig_matches(rec, comp, msg, ids) {
            continue;
        }
        let is_generic = db.labels.get(rec.label as usize).is_some_and(|l| l.generic);
        if !is_generic {
            return HttpMatch {
                record: Some(i as u32),
                dishonest: dishonest(rec, msg),
            };
        }
        if generic.is_none() {
            generic = Some(i as u32);
        }
    }
    match generic {
        Some(i) => HttpMatch {
            record: Some(i),
            dishonest: dishonest(&recs[i as usize], msg),
        },
        None => HttpMatch::default(),
    }
}

fn dishonest(rec: &HttpRecord, msg: &Message) -> bool {
    let exp = rec.sig.expsw.as_bytes();
    match &msg.sw {
        Some(sw) if !exp.is_empty() => !contains(sw, exp),
        _ => false,
    }
}

fn sig_matches(
    rec: &HttpRecord,
    comp: &crate::vocab::CompiledSig,
    msg: &Message,
    ids: &[Option<u32>],
) -> bool {
    if let Some(v) = rec.sig.ver {
        if v != msg.ver {
            return false;
        }
    }
    let mut cursor = 0;
    for (spec, &id) in rec.sig.horder.iter().zip(&comp.horder) {
        match ids[cursor..].iter().position(|&x| x == Some(id)) {
            None => {
                // A missing optional header is fine unless it appears
                // earlier (out of order).
                if !spec.optional || ids.contains(&Some(id)) {
                    return false;
                }
            }
            Some(rel) => {
                let at = cursor + rel;
                if let Some(want) = &spec.value {
                    match &msg.headers[at].value {
                        Some(have) if contains(have, want.as_bytes()) => {}
                        _ => return false,
                    }
                }
                cursor = at + 1;
            }
        }
    }
    !comp.habsent.iter().any(|&id| ids.contains(&Some(id)))
}

/// The matched record, if any.
pub fn matched_record<'a>(
    db: &'a Database,
    request: bool,
    m: &HttpMatch,
) -> Option<&'a HttpRecord> {
    m.record.and_then(|i| records(db, request).get(i as usize))
}

/// The observation key for the verdict: `os` for an OS-class signature,
/// `app` for an application signature or no match.
pub fn app_key(db: &Database, request: bool, m: &HttpMatch) -> &'static str {
    match matched_record(db, request, m).and_then(|r| db.labels.get(r.label as usize)) {
        Some(l) if l.class.is_some() => "os",
        _ => "app",
    }
}

/// The verdict's value: the label's name, then a space and the flavor if it
/// has one. None means no match (printed `???`).
pub fn app_value(db: &Database, request: bool, m: &HttpMatch) -> Option<String> {
    let label = db
        .labels
        .get(matched_record(db, request, m)?.label as usize)?;
    let mut s = db
        .names
        .get(label.name as usize)
        .cloned()
        .unwrap_or_default();
    if let Some(f) = &label.flavor {
        s.push(' ');
        s.push_str(f);
    }
    Some(s)
}

/// The `params` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub dishonest: bool,
    /// No software string (User-Agent / Server) with a value.
    pub anonymous: bool,
    /// Matched a generic signature.
    pub generic: bool,
}

impl fmt::Display for Params {
    /// Set flags in the order dishonest, anonymous, generic, space-separated;
    /// `none` if none is set. (`dishonest` and `anonymous` exclude each other.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (on, word) in [
            (self.dishonest, "dishonest"),
            (self.anonymous, "anonymous"),
            (self.generic, "generic"),
        ] {
            if on {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(word)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The `params` value for a matched (or unmatched) message.
pub fn params(db: &Database, msg: &Message, m: &HttpMatch) -> Params {
    let generic = matched_record(db, msg.request, m)
        .and_then(|r| db.labels.get(r.label as usize))
        .is_some_and(|l| l.generic);
    Params {
        dishonest: m.dishonest,
        anonymous: msg.sw.is_none(),
        generic,
    }
}

/// The first `ua_os` entry whose string occurs in the User-Agent: the name id
/// of the OS it implies (used for the `ua_vs_os` NAT check).
pub fn ua_os(db: &Database, user_agent: &[u8]) -> Option<u32> {
    db.ua_os
        .iter()
        .find(|e| contains(user_agent, e.needle.as_bytes()))
        .map(|e| e.name)
}
