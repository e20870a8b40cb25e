//! Whole dialogues, written as a script of (direction, bytes) in capture
//! order, and what the observer must make of them.

use p0f_smtp::{End, Events, Flags, SmtpFlow};

/// `C:` lines are the client's, `S:` the server's; each entry is one
/// segment.
fn run(script: &[(&str, &str)]) -> (SmtpFlow, Vec<Events>) {
    let mut f = SmtpFlow::new();
    let mut events = Vec::new();
    for (dir, bytes) in script {
        let ev = match *dir {
            "C" => f.client_data(bytes.as_bytes()),
            "S" => f.server_data(bytes.as_bytes()),
            _ => unreachable!(),
        };
        events.push(ev);
    }
    events.push(f.close());
    (f, events)
}

fn client_sig(f: &SmtpFlow) -> String {
    let mut s = String::new();
    f.client().push_raw_sig(&mut s);
    s
}

fn server_sig(f: &SmtpFlow) -> String {
    let mut s = String::new();
    f.server().push_raw_sig(&mut s);
    s
}

const EHLO_REPLY: &str = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n";

#[test]
fn a_pipelining_mta_session() {
    let (f, ev) = run(&[
        ("S", "220 mx.example.org ESMTP Example\r\n"),
        ("C", "EHLO client.example.net\r\n"),
        ("S", EHLO_REPLY),
        ("C", "MAIL FROM:<a@example.net> SIZE=310 BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"),
        ("S", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        ("C", "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
        ("S", "250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"),
    ]);
    assert_eq!(
        client_sig(&f),
        "wait:EHLO:fqdn:upper:nosp:nosp:SIZE,BODY=8BITMIME:crlf:adv:EHLO,MAIL,RCPT:-:quit"
    );
    assert_eq!(
        server_sig(&f),
        "1:PIPELINING,SIZE,STARTTLS,AUTH,AUTH=,8BITMIME,SMTPUTF8:ESMTP Example"
    );
    assert_eq!(f.client().before_rcpt, Some(2));
    assert!(ev[2].has(Events::SERVER_READY));
    assert!(ev[3].has(Events::MAIL) && ev[3].has(Events::RCPT));
    assert!(ev[5].has(Events::CLIENT_DONE));
    assert!(
        ev[6..].iter().all(|e| e.is_empty()),
        "reported once: {ev:?}"
    );
    let flags = f.client().flags();
    assert!(flags.has(Flags::PIPELINING) && flags.has(Flags::QUIT));
    assert!(!flags.has(Flags::UNADV_PIPELINING) && !flags.has(Flags::NO_QUIT));
    assert!(f.finished());
}

#[test]
fn a_bot_pregreets_with_bare_lf_pipelines_unasked_and_hangs_up() {
    let (f, ev) = run(&[
        ("C", "helo WIN-3K2J\n"),
        ("S", "220-mx.example.org ESMTP\r\n220 greetings\r\n"),
        ("C", "mail from: <x@y>\nrcpt to: <v@example.org>\nrset\n"),
        ("S", "250 mx\r\n250 ok\r\n"),
    ]);
    assert_eq!(
        client_sig(&f),
        "pre:HELO:word:lower:sp:sp:-:lf:unadv:HELO,MAIL,RCPT:RSET:close"
    );
    assert_eq!(server_sig(&f), "2:-:ESMTP");
    let flags = f.client().flags();
    for bit in [
        Flags::PREGREET,
        Flags::BARE_LF,
        Flags::UNADV_PIPELINING,
        Flags::NO_QUIT,
        Flags::RSET,
    ] {
        assert!(flags.has(bit), "{bit:#x} in {flags:?}");
    }
    let last = *ev.last().unwrap();
    assert!(last.has(Events::CLIENT_DONE) && last.has(Events::SERVER_READY));
}

#[test]
fn starttls_ends_the_readable_part() {
    let (f, ev) = run(&[
        ("S", "220 mx ESMTP\r\n"),
        ("C", "EHLO [192.0.2.7]\r\n"),
        ("S", EHLO_REPLY),
        ("C", "STARTTLS\r\n"),
        ("S", "220 2.0.0 Ready to start TLS\r\n"),
        ("C", "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03"),
        ("S", "\x16\x03\x03\x00\x7a\x02"),
    ]);
    assert_eq!(f.client().end, End::Tls);
    assert_eq!(
        client_sig(&f),
        "wait:EHLO:lit4:upper:-:-:-:crlf:no:EHLO,STARTTLS:-:tls"
    );
    assert!(ev[3].has(Events::CLIENT_DONE));
    assert!(f.client().flags().has(Flags::STARTTLS));
    assert!(f.finished());
}

#[test]
fn refused_data_returns_to_commands_and_dot_lines_end_content() {
    let (f, _) = run(&[
        ("S", "220 mx ESMTP\r\n"),
        ("C", "HELO a.b\r\n"),
        ("S", "250 mx\r\n"),
        ("C", "MAIL FROM:<>\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "RCPT TO:<u@v>\r\n"),
        ("S", "550 no\r\n"),
        ("C", "DATA\r\n"),
        ("S", "554 no valid recipients\r\n"),
        ("C", "NOOP\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "RSET\r\nMAIL FROM:<a@b>\r\n"),
        ("S", "250 ok\r\n250 ok\r\n"),
        ("C", "RCPT TO:<u@w>\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "DATA\r\n"),
        ("S", "354 go\r\n"),
        ("C", "..QUIT\r\nx\n.\n"),
        ("C", "VRFY postmaster\r\nQUIT\r\n"),
    ]);
    // The dot-stuffed "..QUIT" is content, the bare-LF dot line ends it.
    assert_eq!(
        client_sig(&f),
        "wait:HELO:fqdn:upper:nosp:nosp:-:crlf:unadv:HELO,MAIL,RCPT:RSET,NOOP,VRFY:quit"
    );
}

#[test]
fn bdat_chunks_are_skipped() {
    let (f, _) = run(&[
        ("S", "220 mx ESMTP\r\n"),
        ("C", "EHLO h.example\r\n"),
        ("S", "250-mx\r\n250 CHUNKING\r\n"),
        ("C", "MAIL FROM:<a@b>\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "RCPT TO:<c@d>\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "BDAT 10 LAST\r\nQUIT\r\nXXXX"),
        ("C", "QUIT\r\n"),
    ]);
    assert_eq!(f.client().end, End::Quit);
    assert_eq!(f.client().commands, 5);
}

#[test]
fn not_smtp_reports_nothing() {
    let mut f = SmtpFlow::new();
    assert!(f.server_data(b"SSH-2.0-OpenSSH_9.6\r\n").is_empty());
    assert!(f.client_data(b"EHLO x\r\nQUIT\r\n").is_empty());
    assert!(f.close().is_empty());
    assert!(f.finished());
}

#[test]
fn a_silent_client_is_not_reported_but_the_server_is() {
    let mut f = SmtpFlow::new();
    f.server_data(b"220 mx ESMTP Example\r\n");
    let ev = f.close();
    assert!(!ev.has(Events::CLIENT_DONE) && ev.has(Events::SERVER_READY));
}

#[test]
fn mixed_case_and_odd_shapes() {
    let (f, _) = run(&[
        ("S", "220 mx\r\n"),
        ("C", "Ehlo\r\n"),
        ("S", "250 mx\r\n"),
        ("C", "MAIL FROM :<a>\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "RCPT TO:c@d\r\n"),
        ("S", "250 ok\r\n"),
        ("C", "XYZZY\r\nquit\r\n"),
    ]);
    // quit went out before XYZZY's reply: pipelining, never advertised.
    assert_eq!(
        client_sig(&f),
        "wait:EHLO:none:mixed:odd:bare:-:crlf:unadv:EHLO,MAIL,RCPT:-:quit"
    );
    // The EHLO reply had no keywords.
    assert_eq!(server_sig(&f), "1:-:");
}

#[test]
fn too_many_commands_stop_the_observer() {
    let mut f = SmtpFlow::new();
    f.server_data(b"220 mx\r\n");
    let mut done = 0;
    for _ in 0..100 {
        if f.client_data(b"NOOP\r\n").has(Events::CLIENT_DONE) {
            done += 1;
        }
    }
    assert_eq!(done, 1);
    assert_eq!(f.client().end, End::Limit);
    assert!(f.client().flags().has(Flags::NO_QUIT));
}
