//! A real third-party client: qpsmtpd's `ident/p0f` plugin (Debian package
//! `qpsmtpd`), in both its v3 and v2 configurations, against a daemon this
//! test starts on loopback. The plugin sends its v3 query twice and closes
//! after one reply, which kills p0f 3.09b with SIGPIPE.

mod live_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use live_support::*;

const FORKSERVER: &str = "/usr/bin/qpsmtpd-forkserver";

fn qpsmtpd_available() -> bool {
    if Path::new(FORKSERVER).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("qpsmtpd is not installed (apt-get install qpsmtpd libnet-ip-perl)");
    }
    eprintln!("note: skipping the qpsmtpd test: qpsmtpd is not installed");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One SMTP transaction; returns the server's replies.
fn send_mail(port: u16) -> String {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut log = String::new();
    let reply = |r: &mut BufReader<TcpStream>, log: &mut String| loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        log.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
    };
    reply(&mut r, &mut log);
    for cmd in [
        "EHLO client.test\r\n",
        "MAIL FROM:<sender@example.org>\r\n",
        "RCPT TO:<rcpt@example.org>\r\n",
        "DATA\r\n",
        "Subject: p0f test\r\n\r\nhello\r\n.\r\n",
        "QUIT\r\n",
    ] {
        w.write_all(cmd.as_bytes()).unwrap();
        reply(&mut r, &mut log);
    }
    log
}

#[test]
fn qpsmtpd_ident_p0f_v3_and_v2() {
    if !can_capture() || !qpsmtpd_available() {
        return;
    }
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let v2sock = dir.path().join("p0f2.sock");
    let mut d = Daemon::start(port, &["--api-v2", v2sock.to_str().unwrap()]);

    let cfg = dir.path().join("config");
    let maildir = dir.path().join("maildir");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::create_dir_all(dir.path().join("spool")).unwrap();
    let files = [
        (
            "plugins",
            format!(
                "ident/p0f {}\nident/p0f:2 {} version 2\nrcpt_ok\nqueue/maildir {}\n",
                d.sock.display(),
                v2sock.display(),
                maildir.display()
            ),
        ),
        ("logging", "logging/warn LOGDEBUG\n".to_string()),
        ("plugin_dirs", "/usr/share/qpsmtpd/plugins\n".to_string()),
        (
            "spool_dir",
            format!("{}\n", dir.path().join("spool").display()),
        ),
        ("rcpthosts", "example.org\n".to_string()),
        ("me", "mx.test\n".to_string()),
    ];
    for (name, text) in files {
        std::fs::write(cfg.join(name), text).unwrap();
    }
    // SAFETY: getpwuid/geteuid have no side effects; the name is copied.
    let user = unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    };
    let mut qp = Command::new(FORKSERVER)
        .args(["-l", "127.0.0.1", "-p", &port.to_string(), "-u", &user])
        .env("QPSMTPD_CONFIG", &cfg)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let qlog = Captured::default();
    let qout = Captured::default();
    qlog.spawn_reader_pub(qp.stderr.take().unwrap());
    qout.spawn_reader_pub(qp.stdout.take().unwrap());
    let qp = Stop(qp);
    // Wait for qpsmtpd to listen (these probe connections are traffic too).
    let end = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < end,
            "qpsmtpd did not start:\n{}{}",
            qlog.text(),
            qout.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Make sure the daemon has seen loopback before the real session, so
    // the v3 answer cannot race the capture.
    query_until_known(&d.sock, IpAddr::V4(Ipv4Addr::LOCALHOST));

    let smtp = send_mail(port);
    assert!(smtp.contains("250 Queued"), "SMTP session:\n{smtp}");
    let log_has = |needle: &str| qlog.wait_for(needle, 10) || qout.text().contains(needle);
    assert!(
        log_has("ident::p0f: received 232 byte response"),
        "qpsmtpd log:\n{}",
        qlog.text()
    );
    assert!(log_has("ident::p0f: pass, query ok"), "{}", qlog.text());
    // The plugin's LOGINFO line: "os_name os_flavor" from our reply.
    assert!(
        log_has("ident::p0f: Linux 6.x (loopback)"),
        "{}",
        qlog.text()
    );
    // The v2 instance: a per-connection answer, "genre (detail)".
    assert!(
        log_has("ident::p0f_3a2: Linux (6.x (loopback))"),
        "{}",
        qlog.text()
    );
    // Several more sessions; the daemon survives the double-send pattern.
    for _ in 0..5 {
        assert!(send_mail(port).contains("250 Queued"));
    }
    drop(qp);
    assert!(d.alive(), "daemon died:\n{}", d.stderr.text());
    assert_quick_answer(&d.sock, IpAddr::V4(Ipv4Addr::LOCALHOST), "after qpsmtpd");
    assert!(d.stop().success());
}
