//! Helpers shared by the Postfix end-to-end tests (`postfix.rs`, against a
//! fake p0f, and `postfix_live.rs`, against the live daemon): Debian's
//! Postfix configured for a test and restored afterwards, the policy service
//! as a child process, swaks, and the mailbox.
//!
//! Each test file is its own test binary with a single test, and cargo runs
//! test binaries one after another, so the tests never share /etc/postfix.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PORT: u16 = 10025;
pub const USER: &str = "p0ftest";
pub const MAILBOX: &str = "/var/mail/p0ftest";
pub const POSTFIX_LOG: &str = "/var/log/p0f-mailpolicy-test-postfix.log";
pub const SERVICE_LOG: &str = "/tmp/p0f-mailpolicy-test-service.log";

pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

pub fn must(cmd: &str, args: &[&str]) -> String {
    let o = run(cmd, args);
    assert!(
        o.status.success(),
        "{cmd} {args:?} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Installs Debian's postfix and swaks (and `extra` packages) when missing.
pub fn ensure_packages(extra: &[(&str, &str)]) {
    let mut missing: Vec<&str> = Vec::new();
    for (file, pkg) in [
        ("/usr/sbin/postfix", "postfix"),
        ("/usr/bin/swaks", "swaks"),
    ]
    .iter()
    .chain(extra)
    {
        if !Path::new(file).exists() {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return;
    }
    let sel = "postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string localhost\n";
    let mut c = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .expect("debconf-set-selections");
    c.stdin.take().unwrap().write_all(sel.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
    let _ = run("apt-get", &["update", "-q"]);
    let o = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .expect("apt-get");
    assert!(
        o.status.success(),
        "apt-get install {missing:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The last `n` lines of a file (for failure messages).
pub fn tail(path: &str, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({path}: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Postfix, configured for the test; stopped and restored on drop.
///
/// Listens on `listen` (port [`PORT`], besides Debian's port 25 service);
/// `settings` are `postconf -e` lines applied after the defaults, so they
/// may override them (`inet_interfaces`, `mynetworks`, ...).
pub struct Postfix {
    main_cf: String,
    master_cf: String,
    listen: String,
}

impl Postfix {
    pub fn start(listen: &str, settings: &[String]) -> Postfix {
        let main_cf = std::fs::read_to_string("/etc/postfix/main.cf").expect("main.cf");
        let master_cf = std::fs::read_to_string("/etc/postfix/master.cf").expect("master.cf");
        let _ = run("postfix", &["stop"]);
        let pf = Postfix {
            main_cf,
            master_cf,
            listen: listen.to_string(),
        };
        if run("id", &[USER]).status.code() != Some(0) {
            must("useradd", &["-m", USER]);
        }
        let mut base: Vec<String> = [
            "inet_interfaces = loopback-only",
            "inet_protocols = all",
            "myhostname = p0ftest.localdomain",
            "mydestination = localhost, $myhostname",
            "mynetworks = 127.0.0.1/32 [::1]/128",
            "alias_maps =",
            "alias_database =",
            // No DNS in the test: clients' reverse lookups would only wait.
            "smtpd_peername_lookup = no",
            "smtpd_milters =",
            "milter_default_action = accept",
            "smtpd_recipient_restrictions =",
            "smtpd_data_restrictions =",
            "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        base.push(format!("maillog_file = {POSTFIX_LOG}"));
        base.extend(settings.iter().cloned());
        for s in &base {
            must("postconf", &["-e", s]);
        }
        must(
            "postconf",
            &["-M", &format!("{PORT}/inet={PORT} inet n - n - - smtpd")],
        );
        let _ = std::fs::remove_file(MAILBOX);
        must("postfix", &["start"]);
        pf.wait_listening();
        pf
    }

    pub fn reconfigure(&self, settings: &[String]) {
        for s in settings {
            must("postconf", &["-e", s]);
        }
        must("postfix", &["reload"]);
        std::thread::sleep(Duration::from_secs(2));
        self.wait_listening();
    }

    fn wait_listening(&self) {
        let t = Instant::now();
        while TcpStream::connect((self.listen.as_str(), PORT)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "Postfix did not listen on {}:{PORT} within 60 s; log tail:\n{}",
                self.listen,
                tail(POSTFIX_LOG, 30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = run("postfix", &["stop"]);
        let _ = std::fs::write("/etc/postfix/main.cf", &self.main_cf);
        let _ = std::fs::write("/etc/postfix/master.cf", &self.master_cf);
    }
}

/// The policy service as a child process (log in [`SERVICE_LOG`]); killed
/// on drop.
pub struct Service(Child);

impl Service {
    pub fn start(args: &[String], ready: &dyn Fn() -> bool) -> Service {
        let child = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(SERVICE_LOG).unwrap()))
            .spawn()
            .expect("start p0f-mailpolicy");
        let s = Service(child);
        let t = Instant::now();
        while !ready() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "p0f-mailpolicy did not come up; log:\n{}",
                tail(SERVICE_LOG, 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where swaks runs and which addresses it uses.
#[derive(Clone, Debug)]
pub struct Client {
    /// Network namespace to run swaks in (`ip netns exec`); None: the host.
    pub netns: Option<String>,
    /// Source address (`--local-interface`).
    pub addr: String,
    /// Postfix's address.
    pub server: String,
}

impl Client {
    /// A client on the host's loopback, talking to Postfix on loopback.
    pub fn loopback(addr: &str) -> Client {
        let server = if addr.contains(':') {
            "::1"
        } else {
            "127.0.0.1"
        };
        Client {
            netns: None,
            addr: addr.to_string(),
            server: server.to_string(),
        }
    }

    /// A client inside network namespace `netns`.
    pub fn in_netns(netns: &str, addr: &str, server: &str) -> Client {
        Client {
            netns: Some(netns.to_string()),
            addr: addr.to_string(),
            server: server.to_string(),
        }
    }
}

pub struct Sent {
    pub ok: bool,
    pub transcript: String,
}

pub fn swaks(c: &Client, rcpts: &[&str], marker: &str, forged: bool) -> Sent {
    let port = PORT.to_string();
    let to = rcpts.join(",");
    let subject = format!("Subject: {marker}");
    let mut args: Vec<&str> = Vec::new();
    if let Some(ns) = &c.netns {
        args.extend(["netns", "exec", ns.as_str()]);
    }
    args.extend([
        "swaks",
        "--server",
        &c.server,
        "--port",
        &port,
        "--local-interface",
        &c.addr,
        "--from",
        "sender@example.com",
        "--to",
        &to,
        "--header",
        &subject,
        "--timeout",
        "60",
        "--body",
        "test body",
    ]);
    if c.server.contains(':') {
        args.push("-6");
    }
    if forged {
        // Forged copies, in several capitalisations.
        args.extend([
            "--add-header",
            "X-P0F-Genre: forged",
            "--add-header",
            "x-p0f-link-type: forged too",
            "--add-header",
            "X-P0F-GENRE: forged again",
        ]);
    }
    let o = if c.netns.is_some() {
        run("ip", &args)
    } else {
        run(args[0], &args[1..])
    };
    Sent {
        ok: o.status.success(),
        transcript: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The headers of the delivered message with this subject (waits for it).
pub fn delivered(marker: &str) -> Vec<(String, String)> {
    let t = Instant::now();
    loop {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(MAILBOX) {
            let _ = f.read_to_string(&mut text);
        }
        for msg in text.split("\nFrom ") {
            let head = msg.split("\n\n").next().unwrap_or("");
            if head.contains(&format!("Subject: {marker}\n"))
                || head.ends_with(&format!("Subject: {marker}"))
            {
                let mut out: Vec<(String, String)> = Vec::new();
                for line in head.lines().skip(1) {
                    if line.starts_with([' ', '\t']) {
                        if let Some(l) = out.last_mut() {
                            l.1.push_str(line);
                        }
                    } else if let Some((k, v)) = line.split_once(':') {
                        out.push((k.to_string(), v.trim().to_string()));
                    }
                }
                return out;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "message {marker:?} not delivered to {MAILBOX} within 60 s; Postfix log tail:\n{}",
            tail(POSTFIX_LOG, 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn values(h: &[(String, String)], name: &str) -> Vec<String> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// Sends one message from `c` and checks that it is delivered with exactly
/// these `X-P0F-*` headers (None: none at all), whatever the sender forged.
pub fn expect_delivered(
    c: &Client,
    marker: &str,
    forged: bool,
    genre: Option<&str>,
    link: Option<&str>,
) {
    let s = swaks(c, &["p0ftest@localhost"], marker, forged);
    assert!(
        s.ok,
        "mail from {c:?} ({marker}) was not accepted:\n{}",
        s.transcript
    );
    let h = delivered(marker);
    assert_eq!(
        values(&h, "X-P0F-Genre"),
        genre.map(|g| vec![g.to_string()]).unwrap_or_default(),
        "{marker}: X-P0F-Genre in {h:?}"
    );
    assert_eq!(
        values(&h, "X-P0F-Link-Type"),
        link.map(|g| vec![g.to_string()]).unwrap_or_default(),
        "{marker}: X-P0F-Link-Type in {h:?}"
    );
}

/// The milter's reply reaches the client verbatim; Postfix words a policy
/// service's reply as `550 5.7.1 <rcpt>: Recipient address rejected: OS Blocked`.
pub fn expect_blocked(c: &Client, marker: &str, verbatim: bool) {
    let s = swaks(c, &["p0ftest@localhost"], marker, false);
    assert!(
        !s.ok,
        "mail from {c:?} should have been refused:\n{}",
        s.transcript
    );
    let rcpt_line = s
        .transcript
        .lines()
        .skip_while(|l| !l.contains("RCPT TO:"))
        .nth(1)
        .unwrap_or("");
    let ok = if verbatim {
        rcpt_line.ends_with("550 5.7.1 OS Blocked")
    } else {
        rcpt_line.contains("550 5.7.1 <p0ftest@localhost>") && rcpt_line.ends_with(": OS Blocked")
    };
    assert!(
        ok,
        "expected `550 5.7.1 ... OS Blocked` right after RCPT TO, transcript:\n{}",
        s.transcript
    );
}

/// A temporary directory that Postfix's smtpd (user postfix) can enter.
pub fn test_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}
