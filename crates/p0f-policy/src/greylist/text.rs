//! The greylist text's placeholders, as postgrey's `--greylist-text`
//! has them:
//! * `%s`: the seconds left until a retry passes (the delay at first
//!   sight, what remains of it at an early retry);
//! * `%r`: the recipient's mail domain (what follows its last `@`; the
//!   whole address when it has none).
//!
//! As postgrey does, only the first `%s` and the first `%r` are replaced
//! (postgrey uses `s///` without `g`); a later one stays as written.
//! The domain comes from the MTA and ends up in an SMTP reply, so
//! anything but printable ASCII is dropped and it is cut to 255 bytes.

/// The text with `%s` and `%r` filled in.
pub fn expand(text: &str, seconds_left: u64, recipient: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let once = replace_first(text, "%s", &seconds_left.to_string());
    replace_first(&once, "%r", &recipient_domain(recipient))
}

fn replace_first(text: &str, from: &str, to: &str) -> String {
    match text.find(from) {
        Some(i) => format!("{}{to}{}", &text[..i], &text[i + from.len()..]),
        None => text.to_string(),
    }
}

/// The recipient's domain, safe to put in a reply.
pub fn recipient_domain(recipient: &str) -> String {
    let r = recipient
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let domain = r.rsplit_once('@').map_or(r, |(_, d)| d);
    domain
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            expand(
                "Greylisted, see http://postgrey.schweikert.ch/help/%r.html",
                300,
                "user@example.com"
            ),
            "Greylisted, see http://postgrey.schweikert.ch/help/example.com.html"
        );
        assert_eq!(expand("retry in %s s", 42, "a@b"), "retry in 42 s");
        assert_eq!(
            expand("%s %s %r %r", 7, "<x@Dom.Example>"),
            "7 %s Dom.Example %r"
        );
        assert_eq!(expand("no placeholders", 1, "a@b"), "no placeholders");
        assert_eq!(expand("%r", 1, "postmaster"), "postmaster");
        assert_eq!(expand("%r", 1, "a@b@c.example"), "c.example");
        assert_eq!(expand("100% sure", 1, "a@b"), "100% sure");
        // A %s inside the substituted domain is not expanded again.
        assert_eq!(expand("%r %s", 5, "a@%s.example"), "%s.example 5");
    }

    #[test]
    fn domain_is_made_safe() {
        assert_eq!(recipient_domain("a@ex\r\nample.com"), "example.com");
        assert_eq!(
            recipient_domain(&format!("a@{}", "d".repeat(400))).len(),
            255
        );
        assert_eq!(recipient_domain("a@d\u{e9}.example"), "d.example");
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_printable(text in "[ -~%]{0,80}", secs in any::<u64>(),
                                            rcpt in "\\PC{0,80}") {
            let out = expand(&text, secs, &rcpt);
            prop_assert!(!out.chars().any(char::is_control));
            if !text.contains('%') {
                prop_assert_eq!(out, text);
            }
        }
    }
}
