//! Exemption lists: postgrey's `whitelist_clients` and
//! `whitelist_recipients` files, read as postgrey reads them, and sender
//! patterns in the block list's syntax.
//!
//! Client file, one entry a line (`#` starts a comment):
//! * `/regex/`: matched case-insensitively against the client's host name;
//! * `a.b.c.d` or `a.b.c.d/n`: an IPv4 address or network; `a.b.c` is the
//!   /24 and `a.b` the /16 (postgrey turns `a.b` into a /24, which matches
//!   nothing useful; we take it as written);
//! * anything with two colons: an IPv6 address or network;
//! * any other word: a host name or domain, matching that name and every
//!   name below it (`example.com` matches `mx.example.com`).
//!
//! Recipient file:
//! * `/regex/`: case-insensitive, against the whole address;
//! * `user@domain`: that address, also with a `+extension`;
//! * `user@`: that user at any domain, also with a `+extension`;
//! * `domain`: every address at the domain or below it.
//!
//! A line that fits no form is an error naming the file and line (postgrey
//! warns and goes on; a typo that silently exempts nothing is worse).

use std::net::IpAddr;

use regex::Regex;

use crate::config::{compile_regex, BlockPattern, ConfigError};
use crate::net::Cidr;

/// Clients never greylisted.
#[derive(Clone, Debug, Default)]
pub struct ClientWhitelist {
    pub networks: Vec<Cidr>,
    /// Host name patterns (regexes, and domains as `(^|\.)domain$`).
    pub names: Vec<Regex>,
}

impl ClientWhitelist {
    pub fn matches(&self, ip: IpAddr, name: Option<&str>) -> bool {
        if self.networks.iter().any(|n| n.contains(ip)) {
            return true;
        }
        match name {
            Some(n) if !n.is_empty() && !n.eq_ignore_ascii_case("unknown") => {
                let n = n.trim_end_matches('.');
                self.names.iter().any(|r| r.is_match(n))
            }
            _ => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.names.is_empty()
    }
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

fn slash_regex(l: &str) -> Option<&str> {
    let inner = l.strip_prefix('/')?.strip_suffix('/')?;
    (!inner.is_empty() && !inner.contains(char::is_whitespace)).then_some(inner)
}

fn literal_suffix(text: &str, prefix: &str, place: &str) -> Result<Regex, ConfigError> {
    compile_regex(
        &format!("{prefix}{}$", regex::escape(text)),
        place,
        "whitelist entry",
    )
}

fn is_dotted(l: &str, parts: usize) -> bool {
    let (addr, mask) = match l.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (l, None),
    };
    let ok_mask =
        mask.is_none_or(|m| (1..=2).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_digit()));
    let p: Vec<&str> = addr.split('.').collect();
    ok_mask
        && p.len() == parts
        && p.iter()
            .all(|x| (1..=3).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses a postgrey `whitelist_clients` file into `into`.
pub fn parse_clients(
    text: &str,
    file: &str,
    into: &mut ClientWhitelist,
) -> Result<(), ConfigError> {
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        let l = strip_comment(line);
        if l.is_empty() {
            continue;
        }
        let bad = |why: String| ConfigError::new(&place, why);
        if let Some(re) = slash_regex(l) {
            into.names
                .push(compile_regex(re, &place, "client pattern")?);
        } else if is_dotted(l, 4) {
            into.networks.push(l.parse().map_err(bad)?);
        } else if is_dotted(l, 3) && !l.contains('/') {
            into.networks
                .push(format!("{l}.0/24").parse().map_err(bad)?);
        } else if is_dotted(l, 2) && !l.contains('/') {
            into.networks
                .push(format!("{l}.0.0/16").parse().map_err(bad)?);
        } else if l.matches(':').count() >= 2 {
            into.networks.push(l.parse().map_err(bad)?);
        } else if !l.contains(char::is_whitespace) {
            into.names.push(literal_suffix(l, r"(?:^|\.)", &place)?);
        } else {
            return Err(bad(format!("{l:?} is not a host name, address or /regex/")));
        }
    }
    Ok(())
}

/// Parses a postgrey `whitelist_recipients` file into `into`.
pub fn parse_recipients(text: &str, file: &str, into: &mut Vec<Regex>) -> Result<(), ConfigError> {
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        let l = strip_comment(line);
        if l.is_empty() {
            continue;
        }
        if let Some(re) = slash_regex(l) {
            into.push(compile_regex(re, &place, "recipient pattern")?);
            continue;
        }
        if l.contains(char::is_whitespace) {
            return Err(ConfigError::new(place, format!("{l:?} is not an address")));
        }
        let re = match l.split_once('@') {
            Some((user, domain)) if !domain.is_empty() => format!(
                r"^{}(?:\+[^@]+)?@{}$",
                regex::escape(user),
                regex::escape(domain)
            ),
            Some((user, _)) => format!(r"^{}(?:\+[^@]+)?@", regex::escape(user)),
            None => format!(r"(?:@|\.){}$", regex::escape(l)),
        };
        into.push(compile_regex(&re, &place, "recipient pattern")?);
    }
    Ok(())
}

/// A sender whitelist entry matches the sender address (lower-cased,
/// without brackets): exactly, or `/regex/` case-insensitively.
pub fn sender_matches(patterns: &[BlockPattern], sender: &str) -> bool {
    let s = sender
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase();
    patterns.iter().any(|p| match p {
        BlockPattern::Exact(e) => e.eq_ignore_ascii_case(&s),
        BlockPattern::Regex(r) => r.is_match(&s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_file_forms() {
        let text = "# comment\n\n/^mail\\d+\\.bank\\.example$/\n192.0.2.7\n198.51.100.0/24\n203.0.113\n10.20\n2001:db8::/32\nexample.com   # trailing comment\n";
        let mut w = ClientWhitelist::default();
        parse_clients(text, "wc", &mut w).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(w.matches(ip("192.0.2.7"), None));
        assert!(!w.matches(ip("192.0.2.8"), None));
        assert!(w.matches(ip("198.51.100.99"), None));
        assert!(w.matches(ip("203.0.113.1"), None));
        assert!(w.matches(ip("10.20.30.40"), None));
        assert!(w.matches(ip("2001:db8::25"), None));
        let other = ip("192.0.2.99");
        assert!(w.matches(other, Some("mail12.BANK.example")));
        assert!(w.matches(other, Some("mx.example.com")));
        assert!(w.matches(other, Some("example.com.")));
        assert!(!w.matches(other, Some("notexample.com")));
        assert!(!w.matches(other, Some("unknown")));
        assert!(!w.matches(other, None));
    }

    #[test]
    fn recipient_file_forms() {
        let text = "postmaster@\nabuse@example.org\nexample.net\n/^list-.*@/\n";
        let mut r = Vec::new();
        parse_recipients(text, "wr", &mut r).unwrap();
        let m = |a: &str| r.iter().any(|x| x.is_match(a));
        assert!(m("postmaster@anything.example"));
        assert!(m("Postmaster+x@anything.example"));
        assert!(m("abuse@example.org"));
        assert!(m("abuse+tag@example.org"));
        assert!(!m("abuse@example.org.evil"));
        assert!(m("anyone@example.net"));
        assert!(m("anyone@sub.example.net"));
        assert!(!m("anyone@notexample.net"));
        assert!(m("list-foo@x.example"));
        assert!(!m("bob@example.org"));
    }

    #[test]
    fn bad_lines_name_the_place() {
        let mut w = ClientWhitelist::default();
        let e = parse_clients("ok.example\nfoo bar\n", "/etc/wc", &mut w).unwrap_err();
        assert_eq!(e.place, "/etc/wc:2");
        let e = parse_clients("/(/\n", "/etc/wc", &mut w).unwrap_err();
        assert_eq!(e.place, "/etc/wc:1");
        let e = parse_clients("192.0.2.0/40\n", "/etc/wc", &mut w).unwrap_err();
        assert_eq!(e.place, "/etc/wc:1");
    }

    #[test]
    fn debian_files_parse() {
        for (f, clients) in [
            ("/etc/postgrey/whitelist_clients", true),
            ("/etc/postgrey/whitelist_recipients", false),
        ] {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            if clients {
                let mut w = ClientWhitelist::default();
                parse_clients(&text, f, &mut w).unwrap();
                assert!(w.names.len() > 10, "{f}");
            } else {
                let mut r = Vec::new();
                parse_recipients(&text, f, &mut r).unwrap();
                assert!(!r.is_empty());
            }
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "[ -~\n]{0,300}") {
            let mut w = ClientWhitelist::default();
            let _ = parse_clients(&text, "f", &mut w);
            let mut r = Vec::new();
            let _ = parse_recipients(&text, "f", &mut r);
        }
    }
}
