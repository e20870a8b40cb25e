//! The SMTP verdicts through the live daemon's API: dialogues made by the
//! test on loopback against a scripted server, observed by a daemon on
//! `lo`, then asked for per connection and per host. Also what p0f 3.09b
//! (Debian's package) answers to the SMTP query's magic.

mod live_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use live_support::{can_capture, query_smtp, query_smtp_until, Daemon};
use p0f_api::smtp::{self, flag};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A scripted server: greets, answers EHLO with `ehlo` (HELO with one
/// line), 354 to DATA, 250 to everything else, 221 to QUIT; one dialogue
/// per connection, until the client closes.
fn server(listener: TcpListener, ehlo: &'static str, banner_delay: Duration) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { return };
            std::thread::sleep(banner_delay);
            let _ = c.write_all(b"220 mx.test ESMTP Scripted\r\n");
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut line = String::new();
            let mut in_data = false;
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_ascii_uppercase();
                let reply: &[u8] = if in_data {
                    if l == "." {
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        b""
                    }
                } else if l.starts_with("EHLO") {
                    ehlo.as_bytes()
                } else if l.starts_with("HELO") {
                    b"250 mx.test\r\n"
                } else if l == "DATA" {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if l == "QUIT" {
                    let _ = c.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = c.write_all(reply);
                line.clear();
            }
        }
    });
}

fn read_reply(r: &mut BufReader<TcpStream>) {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// A bot-like client: speaks before the greeting, bare LF, sends MAIL and
/// RCPT without waiting, never says QUIT.
fn bot(port: u16) -> u16 {
    let c = TcpStream::connect((LO, port)).unwrap();
    let me = c.local_addr().unwrap().port();
    (&c).write_all(b"helo bot\n").unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    read_reply(&mut r); // greeting
    read_reply(&mut r); // HELO
    (&c).write_all(b"mail from: <a@b.example>\nrcpt to: <c@d.example>\n")
        .unwrap();
    read_reply(&mut r);
    read_reply(&mut r);
    drop(c);
    me
}

/// An MTA-like client: waits for each reply, EHLO, pipelines the
/// envelope after PIPELINING, sends a message and QUIT.
fn mta(port: u16) -> u16 {
    let c = TcpStream::connect((LO, port)).unwrap();
    let me = c.local_addr().unwrap().port();
    let mut r = BufReader::new(c.try_clone().unwrap());
    read_reply(&mut r);
    (&c).write_all(b"EHLO client.test.example\r\n").unwrap();
    read_reply(&mut r);
    (&c).write_all(
        b"MAIL FROM:<a@test.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n",
    )
    .unwrap();
    for _ in 0..3 {
        read_reply(&mut r);
    }
    (&c).write_all(b"Subject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        .unwrap();
    read_reply(&mut r);
    let mut rest = Vec::new();
    let _ = (&c).read_to_end(&mut rest);
    me
}

const EHLO: &str = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";

#[test]
fn verdicts_per_connection_and_per_host() {
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    server(listener, EHLO, Duration::from_millis(100));
    let d = Daemon::start_smtp(port, &[]);

    let bot_port = bot(port);
    let r = query_smtp_until(&d.sock, LO, bot_port, |r| r.smtp.stage == 3);
    assert_eq!(r.smtp.status, smtp::SMTP_OK, "{r:?}\n{}", d.stdout.text());
    assert_eq!(r.smtp.cli_port, bot_port);
    assert_eq!(r.smtp.stage, 3);
    for bit in [
        flag::PREGREET,
        flag::BARE_LF,
        flag::UNADV_PIPELINING,
        flag::NO_QUIT,
    ] {
        assert!(
            r.smtp.flags & bit != 0,
            "{bit:#x} missing in {:#x}",
            r.smtp.flags
        );
    }
    assert_eq!(r.smtp.before_rcpt, 2);
    assert!(r
        .smtp
        .raw_sig
        .as_string()
        .starts_with("pre:HELO:word:lower:sp:sp:"));
    assert_eq!(
        r.host.status,
        p0f_api::v3::Status::Ok,
        "the v3 fields come too"
    );

    let mta_port = mta(port);
    let r = query_smtp_until(&d.sock, LO, mta_port, |r| r.smtp.stage == 3);
    assert_eq!(r.smtp.stage, 3, "{r:?}");
    assert_eq!(
        r.smtp.raw_sig.as_string(),
        "wait:EHLO:fqdn:upper:nosp:nosp:SIZE,BODY=8BITMIME:crlf:adv:EHLO,MAIL,RCPT:-:quit"
    );
    assert!(r.smtp.flags & flag::QUIT != 0 && r.smtp.flags & flag::PIPELINING != 0);
    assert!(r.smtp.flags & (flag::PREGREET | flag::BARE_LF | flag::NO_QUIT) == 0);

    // The host's verdict is its latest connection's; the bot's connection
    // is still remembered on its own.
    let host = query_smtp(&d.sock, LO, 0).unwrap();
    assert_eq!(host.smtp.cli_port, mta_port);
    let old = query_smtp(&d.sock, LO, bot_port).unwrap();
    assert!(old.smtp.flags & flag::PREGREET != 0);
    // A connection never seen: no verdict, but the host's v3 fields.
    let none = query_smtp(&d.sock, LO, 1).unwrap();
    assert_eq!(none.smtp.status, smtp::SMTP_NONE);
    assert_eq!(none.host.status, p0f_api::v3::Status::Ok);
    // The observations were printed too.
    assert!(d.stdout.wait_for("(smtp client)", 5));
    assert!(d.stdout.wait_for("(smtp server)", 5));
}

#[test]
fn v3_clients_are_unaffected_on_the_same_socket() {
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    server(listener, EHLO, Duration::ZERO);
    let d = Daemon::start_smtp(port, &[]);
    mta(port);
    let _ = query_smtp_until(&d.sock, LO, 0, |r| r.smtp.stage == 3);
    // v3, SMTP and v3 again on one persistent connection.
    let mut s = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let v3q = p0f_api::v3::Query { addr: LO }.encode();
    let sq = smtp::Query { addr: LO, port: 0 }.encode();
    s.write_all(&[&v3q[..], &sq[..], &v3q[..]].concat())
        .unwrap();
    let mut a = [0u8; p0f_api::v3::RESPONSE_LEN];
    s.read_exact(&mut a).unwrap();
    let first = p0f_api::v3::Response::decode(&a).unwrap();
    let mut b = [0u8; smtp::RESPONSE_LEN];
    s.read_exact(&mut b).unwrap();
    let ext = smtp::Response::decode(&b).unwrap();
    s.read_exact(&mut a).unwrap();
    let again = p0f_api::v3::Response::decode(&a).unwrap();
    assert_eq!(first.os_name, ext.host.os_name);
    assert_eq!(first.first_seen, again.first_seen);
    assert_eq!(ext.smtp.status, smtp::SMTP_OK);
}

#[test]
fn bug_compat_keeps_no_smtp_verdicts() {
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    server(listener, EHLO, Duration::ZERO);
    let d = Daemon::start(port, &["--bug-compat"]);
    mta(port);
    let r = live_support::query_until_known(&d.sock, LO);
    assert_eq!(r.status, p0f_api::v3::Status::Ok);
    std::thread::sleep(Duration::from_millis(300));
    let s = query_smtp(&d.sock, LO, 0).unwrap();
    assert_eq!(s.smtp.status, smtp::SMTP_NONE);
    assert!(!d.stdout.text().contains("(smtp "));
}

/// What Debian's p0f 3.09b does with the SMTP query's magic: its 232-byte
/// bad-query reply, so clients can tell the extension is absent.
#[test]
fn p0f_3_09b_answers_the_magic_with_bad_query() {
    if !can_capture() {
        return;
    }
    let p0f = Path::new("/usr/sbin/p0f");
    assert!(p0f.exists(), "Debian's p0f package is needed (see .ci/run)");
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("p0f3.sock");
    let mut child = Command::new(p0f)
        .args(["-i", "lo", "-f", "/etc/p0f/p0f.fp", "-s"])
        .arg(&sock)
        .arg("tcp port 9")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let answer = std::panic::catch_unwind(|| query_smtp(&sock, LO, 0));
    let _ = child.kill();
    let _ = child.wait();
    assert!(matches!(answer, Ok(None)), "p0f 3.09b answered {answer:?}");
}
