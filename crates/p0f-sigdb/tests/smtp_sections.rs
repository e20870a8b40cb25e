//! `[smtp:client]` / `[smtp:server]` sections: accepted forms, errors with
//! file and line, and no panic on any text in them.

use p0f_sigdb::{Database, SmtpKind};
use proptest::prelude::*;

const GOOD: &str = "\
[smtp:client]

label = s:mta:Example MTA:3.x
sig   = wait:EHLO:fqdn:upper:nosp:nosp:*:crlf:*:EHLO,MAIL,RCPT:*:quit
label = g:bot:Generic bot:
sig   = pre:*:*:*:*:*:*:lf:*:*:*:close

[smtp:server]

label = s:mta:Example MTA:
sig   = 1:PIPELINING,SIZE:ESMTP Example: ready
";

#[test]
fn sections_load_with_their_labels() {
    let db = Database::parse(GOOD.as_bytes(), "good.fp").unwrap();
    assert_eq!(db.smtp_client.len(), 2);
    assert_eq!(db.smtp_server.len(), 1);
    let c = &db.smtp_client[0];
    assert_eq!(
        (c.label.kind, c.label.generic, c.line),
        (SmtpKind::Mta, false, 4)
    );
    assert_eq!(c.fields[6], None);
    assert_eq!(c.fields[11].as_deref(), Some("quit"));
    assert!(db.smtp_client[1].label.generic);
    let s = &db.smtp_server[0];
    assert_eq!(s.banner.as_deref(), Some("ESMTP Example: ready"));
    assert_eq!(db.sig_count(), 3);
    // The other modules are untouched by them.
    assert!(db.tcp_request.is_empty() && db.labels.is_empty());
}

#[test]
fn errors_name_the_line() {
    for (text, line, needle) in [
        ("[smtp:request]\n", 1, "client"),
        ("[smtp:client]\nsig = *:*\n", 2, "label"),
        ("[smtp:client]\nlabel = s:unix:X:\n", 2, "kind"),
        (
            "[smtp:client]\nlabel = s:mta:X:\nsig = wait:EHLO\n",
            3,
            "12",
        ),
        (
            "[smtp:client]\nlabel = s:mta:X:\nsig = *:*:*:*:*:*:*:*:maybe:*:*:*\n",
            3,
            "'pipe'",
        ),
        ("[smtp:server]\nlabel = s:mta:X:\nsig = x:*:*\n", 3, "lines"),
        ("[smtp:server]\nlabel = s:mta:X:\nsys = @unix\n", 3, "sys"),
    ] {
        let e = Database::parse(text.as_bytes(), "bad.fp").unwrap_err();
        assert_eq!(e.line, Some(line), "{text:?}: {e}");
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("bad.fp:{line}:")), "{e}");
    }
}

proptest! {
    #[test]
    fn any_signature_text_is_accepted_or_refused_without_panic(
        client in "[ -~]{0,120}",
        server in "[ -~\\t\\r]{0,120}",
    ) {
        for (section, sig) in [("client", &client), ("server", &server)] {
            let text = format!("[smtp:{section}]\nlabel = s:bot:T:\nsig = {sig}\n");
            if let Err(e) = Database::parse(text.as_bytes(), "p.fp") {
                prop_assert!(e.line == Some(3) || e.line.is_none(), "{e}");
            }
        }
    }
}
