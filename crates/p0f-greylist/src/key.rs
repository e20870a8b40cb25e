//! The greylist key: client network, envelope sender, recipient.
//!
//! The sender is normalised the way postgrey does it, so that a sender
//! whose address changes with every message (BATV tags, VERP numbers,
//! `+extensions`) still maps to one key and its retry is recognised:
//! * lower case;
//! * BATV: `prvs=TAG=user@d` (and the swapped `prvs=user=TAG@d`) become
//!   `user@d`; the tag is the part that starts with ten letters or digits;
//! * a `+extension` is cut from the local part;
//! * every word of the local part made only of digits becomes `#`
//!   (`bounce-12345@d` and `bounce-12346@d` are one sender);
//! * optionally (`fold_srs`), an SRS address (`SRS0=hash=tt=domain=user@fwd`,
//!   or SRS1) becomes the original `user@domain`.

use std::net::IpAddr;

/// Longest part kept, in bytes (an SMTP path is at most 256 octets).
pub const MAX_PART: usize = 256;

/// Which parts make the key, and how the network is cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyConfig {
    pub network: bool,
    pub sender: bool,
    pub recipient: bool,
    /// IPv4 prefix length of the client network (default 24).
    pub v4_prefix: u8,
    /// IPv6 prefix length of the client network (default 64).
    pub v6_prefix: u8,
    pub fold_srs: bool,
}

impl Default for KeyConfig {
    fn default() -> Self {
        KeyConfig {
            network: true,
            sender: true,
            recipient: true,
            v4_prefix: 24,
            v6_prefix: 64,
            fold_srs: false,
        }
    }
}

/// One greylist key and the client identities that go with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Triplet {
    /// `network/sender/recipient`, with the parts left out empty.
    pub key: String,
    /// The client address: the auto-whitelist counts per address, as postgrey.
    pub client: String,
    /// The client network: new entries are capped per network.
    pub network: String,
}

impl KeyConfig {
    /// The key for one recipient of one message.
    pub fn triplet(&self, client: IpAddr, sender: &str, recipient: &str) -> Triplet {
        let network = client_network(client, self.v4_prefix, self.v6_prefix);
        let mut key = String::with_capacity(3 * MAX_PART);
        if self.network {
            key.push_str(&network);
        }
        key.push('/');
        if self.sender {
            key.push_str(&normalize_sender(sender, self.fold_srs));
        }
        key.push('/');
        if self.recipient {
            key.push_str(&normalize_recipient(recipient));
        }
        Triplet {
            key,
            client: client.to_string(),
            network,
        }
    }
}

/// `192.0.2.0/24` for 192.0.2.77 with prefix 24; prefixes are clamped to
/// the family's width.
pub fn client_network(ip: IpAddr, v4_prefix: u8, v6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(a) => {
            let p = v4_prefix.min(32);
            let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            let n = std::net::Ipv4Addr::from(u32::from(a) & mask);
            format!("{n}/{p}")
        }
        IpAddr::V6(a) => {
            let p = v6_prefix.min(128);
            let mask = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
            let n = std::net::Ipv6Addr::from(u128::from(a) & mask);
            format!("{n}/{p}")
        }
    }
}

/// Strips angle brackets and blanks, lower-cases, and bounds the length.
fn clean(addr: &str) -> String {
    let a = addr.trim().trim_start_matches('<').trim_end_matches('>');
    let mut s = String::with_capacity(a.len().min(MAX_PART));
    if a.is_ascii() {
        // The common case, byte by byte: the same result as the loop below
        // (ASCII lower-cases to ASCII), at a fraction of its cost.
        for b in a.bytes() {
            if !b.is_ascii_control() && b != b'/' && s.len() < MAX_PART {
                s.push(char::from(b.to_ascii_lowercase()));
            }
        }
        return s;
    }
    s.extend(
        a.chars()
            .filter(|c| !c.is_control() && *c != '/')
            .flat_map(char::to_lowercase),
    );
    if s.len() > MAX_PART {
        let mut cut = MAX_PART;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The recipient part: lower case, without brackets.
pub fn normalize_recipient(rcpt: &str) -> String {
    clean(rcpt)
}

fn looks_like_batv_tag(s: &str) -> bool {
    s.len() >= 10 && s.bytes().take(10).all(|b| b.is_ascii_alphanumeric())
}

/// The original `user@domain` of an SRS address, if it is one.
fn unfold_srs(local: &str) -> Option<String> {
    let rest = if let Some(r) = local.strip_prefix("srs0=") {
        r
    } else if let Some(r) = local.strip_prefix("srs1=") {
        // SRS1=hash=forwarder==hash=tt=domain=user: the SRS0 part follows "==".
        r.split_once("==")?.1
    } else {
        return None;
    };
    let mut it = rest.splitn(4, '=');
    let (_hash, _tt, domain, user) = (it.next()?, it.next()?, it.next()?, it.next()?);
    (!domain.is_empty() && !user.is_empty()).then(|| format!("{user}@{domain}"))
}

/// Appends `local` with each word made only of digits replaced by `#` (a
/// "word" as in a regex `\b`: a run of letters, digits and `_`).
fn push_hashing_numbers(local: &str, out: &mut String) {
    let mut rest = local;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
        if let Some(c) = rest.chars().next() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
}

/// The sender part, normalised (see the module docs). The null sender
/// stays empty.
pub fn normalize_sender(sender: &str, fold_srs: bool) -> String {
    let mut addr = clean(sender);
    let Some(at) = addr.rfind('@') else {
        return addr;
    };
    if fold_srs {
        if let Some(orig) = unfold_srs(&addr[..at]) {
            addr = orig;
        }
    }
    let Some(at) = addr.rfind('@') else {
        return addr;
    };
    let (local, domain) = (&addr[..at], &addr[at + 1..]);
    let mut user = local;
    if let Some(rest) = local.strip_prefix("prvs=") {
        // Exactly two parts: TAG=user, or user=TAG from some signers.
        if let Some((a, b)) = rest.split_once('=').filter(|(_, b)| !b.contains('=')) {
            user = if looks_like_batv_tag(b) && !looks_like_batv_tag(a) {
                a
            } else {
                // The standard order: prvs=TAG=user.
                b
            };
        }
    }
    if let Some(plus) = user.find('+') {
        user = &user[..plus];
    }
    let mut out = String::with_capacity(addr.len());
    push_hashing_numbers(user, &mut out);
    out.push('@');
    out.push_str(domain);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sender_normalisation() {
        let n = |s| normalize_sender(s, false);
        assert_eq!(n("<Alice@Example.ORG>"), "alice@example.org");
        assert_eq!(n("prvs=1234abcdef=bob@example.org"), "bob@example.org");
        assert_eq!(n("prvs=bob=1234abcdef@example.org"), "bob@example.org");
        assert_eq!(n("bob+lists@example.org"), "bob@example.org");
        // Three parts: not a BATV address, kept whole.
        assert_eq!(n("prvs=ab=cd=ef@x"), "prvs=ab=cd=ef@x");
        assert_eq!(n("Ünïcode.7+x@Exämple"), "ünïcode.#@exämple");
        assert_eq!(
            n("bounce-12345@lists.example.org"),
            "bounce-#@lists.example.org"
        );
        assert_eq!(
            n("bounce12345@lists.example.org"),
            "bounce12345@lists.example.org"
        );
        assert_eq!(n("a.1.b_2.33@x"), "a.#.b_2.#@x");
        assert_eq!(n(""), "");
        assert_eq!(n("<>"), "");
        assert_eq!(n("postmaster"), "postmaster");
        let srs = "SRS0=HHH=TT=orig.example=alice@forwarder.example";
        assert_eq!(n(srs), "srs0=hhh=tt=orig.example=alice@forwarder.example");
        assert_eq!(normalize_sender(srs, true), "alice@orig.example");
        let srs1 = "SRS1=XXX=fwd1.example==HHH=TT=orig.example=alice@fwd2.example";
        assert_eq!(normalize_sender(srs1, true), "alice@orig.example");
    }

    #[test]
    fn networks() {
        let v4: IpAddr = "192.0.2.77".parse().unwrap();
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(client_network(v4, 24, 64), "192.0.2.0/24");
        assert_eq!(client_network(v4, 32, 64), "192.0.2.77/32");
        assert_eq!(client_network(v4, 0, 64), "0.0.0.0/0");
        assert_eq!(client_network(v6, 24, 64), "2001:db8:1:2::/64");
        assert_eq!(client_network(v6, 24, 200), "2001:db8:1:2:3:4:5:6/128");
    }

    #[test]
    fn parts_can_be_left_out() {
        let ip: IpAddr = "192.0.2.77".parse().unwrap();
        let full = KeyConfig::default().triplet(ip, "A@x", "<B@y>");
        assert_eq!(full.key, "192.0.2.0/24/a@x/b@y");
        assert_eq!(full.client, "192.0.2.77");
        let only_ip = KeyConfig {
            sender: false,
            recipient: false,
            ..KeyConfig::default()
        };
        assert_eq!(only_ip.triplet(ip, "a@x", "b@y").key, "192.0.2.0/24//");
    }

    /// The address cleaning without its ASCII fast path.
    fn clean_by_chars(addr: &str) -> String {
        let a = addr.trim().trim_start_matches('<').trim_end_matches('>');
        let mut s: String = a
            .chars()
            .filter(|c| !c.is_control() && *c != '/')
            .flat_map(char::to_lowercase)
            .collect();
        let mut cut = MAX_PART.min(s.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s
    }

    proptest! {
        #[test]
        fn ascii_fast_path_cleans_as_the_char_loop(a in "[ -~\t\r\x00\x7f]{0,600}") {
            prop_assert_eq!(clean(&a), clean_by_chars(&a));
        }

        #[test]
        fn cleaning_any_text_matches_the_char_loop(a in "\\PC{0,300}") {
            prop_assert_eq!(clean(&a), clean_by_chars(&a));
        }

        #[test]
        fn keys_are_bounded(s in "\\PC{0,700}", r in "\\PC{0,700}") {
            let ip: IpAddr = "2001:db8::1".parse().unwrap();
            let t = KeyConfig { fold_srs: true, ..KeyConfig::default() }.triplet(ip, &s, &r);
            // network (<= 43) + 2 separators + two bounded parts (a '#'
            // never lengthens a part).
            prop_assert!(t.key.len() <= 45 + 2 * MAX_PART);
            prop_assert_eq!(t.key.matches('/').count(), 3);
        }
    }
}
