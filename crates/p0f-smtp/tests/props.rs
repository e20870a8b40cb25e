//! Properties that hold for any input: no panic, bounded summaries, raw
//! signatures the database parser accepts, and segmentation that does not
//! change what is seen.

use p0f_sigdb::Database;
use p0f_smtp::{match_client, match_server, match_server_sig, ServerFeatures, SmtpFlow};
use proptest::prelude::*;

/// Bytes that look like SMTP often enough to reach deep states.
fn smtpish() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"EHLO a.b\r\n"[..],
        &b"helo x\n"[..],
        &b"MAIL FROM:<a@b> SIZE=1 BODY=8BITMIME\r\n"[..],
        &b"mail from: <> ret=hdrs\r\n"[..],
        &b"RCPT TO:<c@d>\r\n"[..],
        &b"DATA\r\n"[..],
        &b"BDAT 5 LAST\r\n"[..],
        &b"\r\n.\r\n"[..],
        &b"\n.\n"[..],
        &b"STARTTLS\r\n"[..],
        &b"QUIT\r\n"[..],
        &b"RSET\r\nNOOP\r\nVRFY x\r\n"[..],
        &b"220 mx ESMTP x\r\n"[..],
        &b"220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n"[..],
        &b"220 mx Microsoft ESMTP MAIL Service ready at Mon\r\n"[..],
        &b"220 mx.google.com ESMTP a1-v6si.1 - gsmtp\r\n"[..],
        &b"220-mx\r\n"[..],
        &b"250-PIPELINING\r\n"[..],
        &b"250 SIZE 1000\r\n"[..],
        &b"354 go\r\n"[..],
        &b"554 no\r\n"[..],
        &b":\xff\x00["[..],
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..700),
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

/// A script: each step is (to server?, bytes).
fn script() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    prop::collection::vec((any::<bool>(), smtpish()), 0..16)
}

fn sigs(f: &SmtpFlow) -> (String, String) {
    let (mut c, mut s) = (String::new(), String::new());
    f.client().push_raw_sig(&mut c);
    f.server().push_raw_sig(&mut s);
    (c, s)
}

/// The server record of `f` from its features, as matching worked before it
/// read the raw signature: what `match_server_sig` must agree with.
fn server_record_from_features(db: &Database, f: &ServerFeatures) -> Option<usize> {
    let mut keywords = String::new();
    if f.ehlo_seen {
        f.keywords.push_list_field(&mut keywords);
    } else {
        keywords.push('-');
    }
    let fits = |r: &p0f_sigdb::SmtpServerRecord| {
        r.lines.is_none_or(|l| l == f.lines)
            && r.keywords.as_deref().is_none_or(|k| k == keywords)
            && r.banner
                .as_deref()
                .is_none_or(|b| f.banner.as_str().contains(b))
    };
    let mut matching = db.smtp_server.iter().enumerate().filter(|(_, r)| fits(r));
    let first = matching.clone().next().map(|(i, _)| i);
    matching
        .find(|(_, r)| !r.label.generic)
        .map(|(i, _)| i)
        .or(first)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_dialogue_is_safe_and_its_signatures_parse(steps in script()) {
        let mut f = SmtpFlow::new();
        let mut client_done = 0;
        for (to_srv, bytes) in &steps {
            let ev = if *to_srv { f.client_data(bytes) } else { f.server_data(bytes) };
            client_done += u32::from(ev.has(p0f_smtp::Events::CLIENT_DONE));
            prop_assert!(f.stage() <= 3);
        }
        client_done += u32::from(f.close().has(p0f_smtp::Events::CLIENT_DONE));
        prop_assert!(client_done <= 1);
        let (c, s) = sigs(&f);
        prop_assert!(c.len() < 400 && s.len() < 300, "{} {}", c.len(), s.len());
        // A raw signature pasted into a database is a valid signature that
        // matches the dialogue it came from.
        let banner_field = s.splitn(3, ':').nth(2).unwrap_or("");
        let server_line = if banner_field.is_empty() {
            let mut parts: Vec<&str> = s.splitn(3, ':').collect();
            parts[2] = "*";
            parts.join(":")
        } else {
            s.clone()
        };
        let db = format!(
            "[smtp:client]\nlabel = s:bot:Test:\nsig = {c}\n[smtp:server]\nlabel = s:mta:Test:\nsig = {server_line}\n"
        );
        let db = Database::parse(db.as_bytes(), "prop").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut scratch = String::new();
        prop_assert!(match_client(&db, f.client(), &mut scratch).is_some());
        prop_assert!(match_server(&db, f.server(), &mut scratch).is_some());
    }

    #[test]
    fn segmentation_does_not_matter(steps in script(), cut in 1usize..64) {
        let mut whole = SmtpFlow::new();
        let mut split = SmtpFlow::new();
        for (to_srv, bytes) in &steps {
            if *to_srv { whole.client_data(bytes); } else { whole.server_data(bytes); }
            for chunk in bytes.chunks(cut) {
                if *to_srv { split.client_data(chunk); } else { split.server_data(chunk); }
            }
        }
        prop_assert_eq!(whole.client(), split.client());
        prop_assert_eq!(whole.server(), split.server());
    }

    #[test]
    fn the_raw_signature_holds_everything_server_matching_uses(steps in script()) {
        // The engine memoises matches by raw signature; that is only right
        // if matching the signature gives what the features give.
        let db = Database::current();
        let mut f = SmtpFlow::new();
        for (to_srv, bytes) in &steps {
            if *to_srv { f.client_data(bytes); } else { f.server_data(bytes); }
        }
        let mut raw = String::new();
        f.server().push_raw_sig(&mut raw);
        let by_sig = match_server_sig(&db, &raw).map(|(i, _)| i as usize);
        prop_assert_eq!(by_sig, server_record_from_features(&db, f.server()), "{}", raw);
    }
}
