//! Matching summaries against `[smtp:client]` / `[smtp:server]` signatures.

use p0f_sigdb::smtp::SMTP_CLIENT_FIELDS;
use p0f_sigdb::{Database, SmtpClientRecord, SmtpServerRecord};

use crate::features::{ClientFeatures, ServerFeatures};

/// The first specific signature that matches, else the first generic
/// one, with its index in the list.
fn first_match<R>(
    records: &[R],
    generic: impl Fn(&R) -> bool,
    matches: impl Fn(&R) -> bool,
) -> Option<(u32, &R)> {
    let mut fallback = None;
    for (i, r) in records.iter().enumerate() {
        if matches(r) {
            let found = (i as u32, r);
            if !generic(r) {
                return Some(found);
            }
            fallback = fallback.or(Some(found));
        }
    }
    fallback
}

/// The client signature matching `f`, and its index in `db.smtp_client`. `scratch` receives the raw signature
/// (reused, so that matching does not allocate once it has grown).
pub fn match_client<'a>(
    db: &'a Database,
    f: &ClientFeatures,
    scratch: &mut String,
) -> Option<(u32, &'a SmtpClientRecord)> {
    scratch.clear();
    f.push_raw_sig(scratch);
    match_client_sig(db, scratch)
}

/// The client signature matching a client's raw signature (as
/// [`ClientFeatures::push_raw_sig`] writes it). The raw signature holds
/// every fact matching looks at, so equal raw signatures match alike: the
/// engine memoises on it.
pub fn match_client_sig<'a>(
    db: &'a Database,
    raw_sig: &str,
) -> Option<(u32, &'a SmtpClientRecord)> {
    let mut observed = [""; SMTP_CLIENT_FIELDS];
    for (slot, part) in observed.iter_mut().zip(raw_sig.split(':')) {
        *slot = part;
    }
    first_match(
        &db.smtp_client,
        |r| r.label.generic,
        |r| {
            COMPARE_ORDER.iter().all(|&i| match &r.fields[i] {
                None => true,
                // Not known yet (a verdict during the dialogue).
                Some(_) if observed[i] == "?" => true,
                Some(w) => w == observed[i],
            })
        },
    )
}

/// The client fields in the order they are compared: those that tell
/// dialects apart first (pipelining, parameters, case, HELO shape, command
/// order), so that most signatures are ruled out by the first compare.
const COMPARE_ORDER: [usize; SMTP_CLIENT_FIELDS] = [8, 6, 3, 2, 9, 11, 0, 1, 4, 5, 7, 10];

/// The server signature matching `f`, and its index in `db.smtp_server`.
/// `scratch` receives the raw signature.
pub fn match_server<'a>(
    db: &'a Database,
    f: &ServerFeatures,
    scratch: &mut String,
) -> Option<(u32, &'a SmtpServerRecord)> {
    scratch.clear();
    f.push_raw_sig(scratch);
    match_server_sig(db, scratch)
}

/// The server signature matching a server's raw signature,
/// `lines:keywords:banner` (as [`ServerFeatures::push_raw_sig`] writes it:
/// keywords never hold a `:`, the banner may). Like the client's, it holds
/// every fact matching looks at.
pub fn match_server_sig<'a>(
    db: &'a Database,
    raw_sig: &str,
) -> Option<(u32, &'a SmtpServerRecord)> {
    let mut parts = raw_sig.splitn(3, ':');
    let lines = parts.next().and_then(|l| l.parse::<u16>().ok());
    let keywords = parts.next().unwrap_or("");
    let banner = parts.next().unwrap_or("").as_bytes();
    first_match(
        &db.smtp_server,
        |r| r.label.generic,
        |r| {
            r.lines.is_none_or(|l| Some(l) == lines)
                && r.keywords.as_deref().is_none_or(|k| k == keywords)
                && r.banner
                    .as_deref()
                    .is_none_or(|b| contains(banner, b.as_bytes()))
        },
    )
}

/// Whether `needle` occurs in `hay`. Banners are at most 80 bytes and the
/// signatures' texts start with rare letters, so jumping between
/// occurrences of the first byte beats setting up a substring searcher for
/// each signature.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    memchr::memchr_iter(first, hay).any(|i| hay[i..].starts_with(needle))
}

#[cfg(test)]
mod tests {
    use super::{contains, COMPARE_ORDER, SMTP_CLIENT_FIELDS};

    #[test]
    fn every_client_field_is_compared_once() {
        let mut seen = [false; SMTP_CLIENT_FIELDS];
        for i in COMPARE_ORDER {
            assert!(!seen[i], "field {i} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn contains_agrees_with_str_contains() {
        let hay = "mx.example.org ESMTP Postfix (Debian/GNU) ESMTP";
        for needle in [
            "",
            "ESMTP Postfix",
            "ESMTP",
            "GNU)",
            "PostfixX",
            "m",
            "P",
            hay,
        ] {
            assert_eq!(
                contains(hay.as_bytes(), needle.as_bytes()),
                hay.contains(needle),
                "{needle}"
            );
        }
        assert!(!contains(b"", b"x"));
        assert!(!contains(b"ESMT", b"ESMTP"));
    }
}
