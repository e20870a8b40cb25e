//! End to end on Debian's Postfix: install it (and swaks) if missing,
//! configure it on loopback, wire in `p0f-mailpolicy` as a milter and then
//! as a policy service, send mail with swaks and look at the mailbox.
//!
//! Needs root (CI runs as root). Everything is started here and stopped at
//! the end, and /etc/postfix's main.cf and master.cf are restored.
//!
//! "The p0f service" is started by [`start_p0f_service`]: today a fake p0f
//! answering configured replies per client address; when the real daemon
//! (`p0f -s`) can be fed this traffic, only that function changes.

use std::io::Read;
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use p0f_policy::fake::{v2_os, v3_os, FakeP0f};

const PORT: u16 = 10025;
const USER: &str = "p0ftest";
const MAILBOX: &str = "/var/mail/p0ftest";
const WINDOWS: &str = "127.0.0.2";
const TRUSTED_WINDOWS: &str = "127.0.0.3";
const LINUX: &str = "127.0.0.4";
const V2_ONLY: &str = "127.0.0.5";

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

fn must(cmd: &str, args: &[&str]) -> String {
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

fn ensure_packages() {
    if Path::new("/usr/sbin/postfix").exists() && Path::new("/usr/bin/swaks").exists() {
        return;
    }
    let sel = "postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string localhost\n";
    let mut c = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .expect("debconf-set-selections");
    use std::io::Write;
    c.stdin.take().unwrap().write_all(sel.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
    let _ = run("apt-get", &["update", "-q"]);
    let o = Command::new("apt-get")
        .args(["install", "-y", "-q", "postfix", "swaks"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .expect("apt-get");
    assert!(
        o.status.success(),
        "apt-get install postfix swaks failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Starts "the p0f service" on `sock` with the replies this test expects.
fn start_p0f_service(sock: &Path) -> FakeP0f {
    let f = FakeP0f::start(sock).expect("start fake p0f");
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    f.set_v3(
        ip(WINDOWS),
        v3_os("Windows", "7 or 8", "Ethernet or modem", 0),
    );
    f.set_v3(
        ip(TRUSTED_WINDOWS),
        v3_os("Windows", "7 or 8", "Ethernet or modem", 0),
    );
    f.set_v3(
        ip(LINUX),
        v3_os("Linux", "3.11 and newer", "Ethernet or modem", 0),
    );
    f.set_v3(ip("::1"), v3_os("Mac OS X", "10.9 or newer", "DSL", 0));
    f.set_v2(
        V2_ONLY.parse().unwrap(),
        v2_os("FreeBSD", "6.x (1)", "ethernet/modem"),
    );
    f
}

/// Postfix, configured for the test; stopped and restored on drop.
struct Postfix {
    main_cf: String,
    master_cf: String,
}

impl Postfix {
    fn start(settings: &[String]) -> Postfix {
        let main_cf = std::fs::read_to_string("/etc/postfix/main.cf").expect("main.cf");
        let master_cf = std::fs::read_to_string("/etc/postfix/master.cf").expect("master.cf");
        let _ = run("postfix", &["stop"]);
        let pf = Postfix { main_cf, master_cf };
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
            "maillog_file = /var/log/p0f-mailpolicy-test-postfix.log",
            "smtpd_milters =",
            "milter_default_action = accept",
            "smtpd_recipient_restrictions =",
            "smtpd_data_restrictions =",
            "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
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
        wait_port(PORT);
        pf
    }

    fn reconfigure(&self, settings: &[String]) {
        for s in settings {
            must("postconf", &["-e", s]);
        }
        must("postfix", &["reload"]);
        std::thread::sleep(Duration::from_secs(2));
        wait_port(PORT);
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = run("postfix", &["stop"]);
        let _ = std::fs::write("/etc/postfix/main.cf", &self.main_cf);
        let _ = std::fs::write("/etc/postfix/master.cf", &self.master_cf);
    }
}

fn wait_port(port: u16) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "Postfix did not listen on 127.0.0.1:{port} within 60 s; see /var/log/p0f-mailpolicy-test-postfix.log"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The policy service as a child process; killed on drop.
struct Service(Child);

impl Service {
    fn start(args: &[String], ready: &dyn Fn() -> bool) -> Service {
        let child = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create("/tmp/p0f-mailpolicy-test-service.log").unwrap(),
            ))
            .spawn()
            .expect("start p0f-mailpolicy");
        let s = Service(child);
        let t = Instant::now();
        while !ready() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "p0f-mailpolicy did not come up; see /tmp/p0f-mailpolicy-test-service.log"
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

struct Sent {
    ok: bool,
    transcript: String,
}

fn swaks(from_ip: &str, rcpts: &[&str], marker: &str, forged: bool) -> Sent {
    let (server, v6) = if from_ip.contains(':') {
        ("::1", true)
    } else {
        ("127.0.0.1", false)
    };
    let port = PORT.to_string();
    let to = rcpts.join(",");
    let subject = format!("Subject: {marker}");
    let mut args: Vec<&str> = vec![
        "--server",
        server,
        "--port",
        &port,
        "--local-interface",
        from_ip,
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
    ];
    if v6 {
        args.push("-6");
    }
    if forged {
        args.extend([
            "--add-header",
            "X-P0F-Genre: forged",
            "--add-header",
            "x-p0f-link-type: forged too",
        ]);
    }
    let o = run("swaks", &args);
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
fn delivered(marker: &str) -> Vec<(String, String)> {
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
            "message {marker:?} not delivered to {MAILBOX} within 60 s; see /var/log/p0f-mailpolicy-test-postfix.log"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn values(h: &[(String, String)], name: &str) -> Vec<String> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

fn expect_delivered(
    from: &str,
    marker: &str,
    forged: bool,
    genre: Option<&str>,
    link: Option<&str>,
) {
    let s = swaks(from, &["p0ftest@localhost"], marker, forged);
    assert!(
        s.ok,
        "mail from {from} ({marker}) was not accepted:\n{}",
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
fn expect_blocked(from: &str, marker: &str, verbatim: bool) {
    let s = swaks(from, &["p0ftest@localhost"], marker, false);
    assert!(
        !s.ok,
        "mail from {from} should have been refused:\n{}",
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

#[test]
fn postfix_end_to_end() {
    assert!(
        unsafe_is_root(),
        "this test configures and starts Debian's Postfix and needs root (CI runs as root)"
    );
    ensure_packages();
    let dir = tempfile::Builder::new()
        .prefix("p0f-mailpolicy-test")
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p0f_sock = dir.path().join("p0f.sock");
    let milter_sock = dir.path().join("milter.sock");
    let blocked = dir.path().join("p0f_blocked_operating_systems");
    std::fs::write(&blocked, "# test\nWindows XP\n/windows/\n").unwrap();
    let native = dir.path().join("mailpolicy.toml");
    std::fs::write(
        &native,
        format!("trusted_networks = [\"{TRUSTED_WINDOWS}/32\"]\ntimeout_ms = 1000\n"),
    )
    .unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::write(
        &plugins,
        format!(
            "ident/p0f:2 {} version 2\nident/p0f:3 {} smite_os windows\n",
            p0f_sock.display(),
            p0f_sock.display()
        ),
    )
    .unwrap();

    let fake = start_p0f_service(&p0f_sock);

    // ---------------------------------------------------------------- milter
    let ms = milter_sock.clone();
    let milter = Service::start(
        &[
            "--config".into(),
            native.display().to_string(),
            "--qpsmtpd-plugins".into(),
            plugins.display().to_string(),
            "--blocked-os".into(),
            blocked.display().to_string(),
            "--milter".into(),
            format!("unix:{}", milter_sock.display()),
            "--socket-mode".into(),
            "666".into(),
        ],
        &move || ms.exists(),
    );
    let postfix = Postfix::start(&[format!("smtpd_milters = unix:{}", milter_sock.display())]);

    expect_delivered(
        LINUX,
        "milter-linux",
        true,
        Some("Linux 3.11 and newer"),
        Some("Ethernet or modem"),
    );
    expect_blocked(WINDOWS, "milter-windows", true);
    expect_delivered(
        TRUSTED_WINDOWS,
        "milter-trusted",
        false,
        Some("Windows 7 or 8"),
        Some("Ethernet or modem"),
    );
    expect_delivered(
        "::1",
        "milter-ipv6",
        true,
        Some("Mac OS X 10.9 or newer"),
        Some("DSL"),
    );
    // Only the v2 instance knows this client: needs the 4-tuple, i.e. the
    // {daemon_port} macro that the milter asks Postfix for.
    expect_delivered(
        V2_ONLY,
        "milter-v2",
        false,
        Some("FreeBSD"),
        Some("ethernet/modem"),
    );
    let v2q = fake.v2_queries();
    assert!(
        v2q.iter()
            .any(|q| q.src.to_string() == V2_ONLY && q.dst_port == PORT && q.src_port != 0),
        "v2 queries carry the 4-tuple: {v2q:?}"
    );
    assert!(
        fake.v3_queries()
            .contains(&"::1".parse::<IpAddr>().unwrap()),
        "IPv6 client asked as IPv6"
    );

    // p0f gone: mail still flows, unfingerprinted, forged headers removed.
    drop(fake);
    expect_delivered(WINDOWS, "milter-no-p0f", true, None, None);
    drop(milter);

    // ---------------------------------------------------------------- policy
    let fake = start_p0f_service(&p0f_sock);
    let policy_port = 10031u16;
    let _policy = Service::start(
        &[
            "--config".into(),
            native.display().to_string(),
            "--plugin-line".into(),
            format!("ident/p0f {}", p0f_sock.display()),
            "--blocked-os".into(),
            blocked.display().to_string(),
            "--policy".into(),
            format!("inet:127.0.0.1:{policy_port}"),
        ],
        &move || TcpStream::connect(("127.0.0.1", policy_port)).is_ok(),
    );
    let check = format!("check_policy_service inet:127.0.0.1:{policy_port}");
    postfix.reconfigure(&[
        "smtpd_milters =".into(),
        format!(
            "smtpd_recipient_restrictions = {check}, permit_mynetworks, reject_unauth_destination"
        ),
        format!("smtpd_data_restrictions = {check}"),
    ]);
    // Two recipients: each header once.
    let s = swaks(
        LINUX,
        &["p0ftest@localhost", "p0ftest+b@localhost"],
        "policy-linux",
        false,
    );
    assert!(s.ok, "policy-linux refused:\n{}", s.transcript);
    let h = delivered("policy-linux");
    assert_eq!(
        values(&h, "X-P0F-Genre"),
        vec!["Linux 3.11 and newer"],
        "{h:?}"
    );
    assert_eq!(
        values(&h, "X-P0F-Link-Type"),
        vec!["Ethernet or modem"],
        "{h:?}"
    );
    expect_blocked(WINDOWS, "policy-windows", false);
    expect_delivered(
        TRUSTED_WINDOWS,
        "policy-trusted",
        false,
        Some("Windows 7 or 8"),
        Some("Ethernet or modem"),
    );
    drop(fake);
    expect_delivered(WINDOWS, "policy-no-p0f", false, None, None);
    drop(postfix);
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
