//! Greylisting on real Postfix, with state shared by two MX hosts:
//!
//! * a bridge and client namespaces as in `postfix_live.rs` (the Windows-like
//!   stack at 10.231.0.20, Linux at 10.231.0.10), this workspace's `p0f`
//!   daemon capturing on the bridge;
//! * Debian's `redis-server` on loopback, started here;
//! * two Postfix instances as two MX hosts: the system instance on
//!   10.231.0.1:10025 and a second instance (`/etc/postfix-p0ftmx2`, own
//!   queue) on 10.231.0.2:10025, each with its own `p0f-mailpolicy` milter,
//!   both sharing the Redis;
//! * a third Postfix instance whose master runs inside the Windows-like
//!   namespace (own queue, relayhost MX1, retry backoff of a few seconds):
//!   a real sender that retries on its own.
//!
//! It shows that the Windows-like client is deferred at first (`450 4.7.1`
//! at RCPT), deferred again when it retries too early through the other
//! MX, and accepted there after the delay with an `X-Greylist` header (a
//! forged one removed); that the Linux client is never delayed; that the
//! pass is remembered; that the retrying Postfix delivers by itself once the
//! delay is over; and that with Redis stopped mail flows and the failure
//! is logged. (The embedded store across a restart is in `greylist.rs`.)
//!
//! Needs root, Postfix, swaks, iproute2, redis-server, libpcap.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use support::greylist::{free_port, require, MailPolicy, RedisServer};
use support::mx::Instance;
use support::*;

const MX2: &str = "10.231.0.2";
const DELAY: u64 = 4;

/// swaks from a namespace with a given envelope sender to `server`.
fn send(c: &Client, server: &str, from: &str, marker: &str) -> Sent {
    let port = PORT.to_string();
    let subject = format!("Subject: {marker}");
    let o = run(
        "ip",
        &[
            "netns",
            "exec",
            c.netns.as_deref().unwrap(),
            "swaks",
            "--server",
            server,
            "--port",
            &port,
            "--local-interface",
            &c.addr,
            "--from",
            from,
            "--to",
            "p0ftest@localhost",
            "--header",
            &subject,
            "--add-header",
            "X-Greylist: forged",
            "--timeout",
            "60",
            "--body",
            "greylist test",
        ],
    );
    Sent {
        ok: o.status.success(),
        transcript: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

fn expect_greylisted(c: &Client, server: &str, from: &str, marker: &str) {
    let s = send(c, server, from, marker);
    let rcpt_reply = s
        .transcript
        .lines()
        .skip_while(|l| !l.contains("RCPT TO:"))
        .nth(1)
        .unwrap_or("");
    assert!(
        !s.ok && rcpt_reply.contains("450 4.7.1 Greylisted"),
        "{marker}: expected 450 4.7.1 at RCPT from {server}:\n{}",
        s.transcript
    );
}

fn expect_accepted(c: &Client, server: &str, from: &str, marker: &str) -> Vec<(String, String)> {
    let s = send(c, server, from, marker);
    assert!(
        s.ok,
        "{marker}: not accepted by {server}:\n{}",
        s.transcript
    );
    delivered(marker)
}

fn mailpolicy_config(dir: &Path, name: &str, p0f_sock: &Path, port: u16) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "trusted_networks = [\"{RELAY}/32\"]\n\
             [[p0f]]\nsocket = \"{}\"\n\
             [listen]\nmilter = [\"inet:127.0.0.1:{port}\"]\n\
             [greylist]\ndelay = {DELAY}\nretry_window = 600\nstore = \"redis\"\n\
             redis_url_file = \"redis.url\"\nstore_timeout_ms = 300\n\
             [[greylist.rule]]\nos = \"/windows/\"\n",
            p0f_sock.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

// Not run by default yet: the second Postfix instance sometimes stops
// answering (no banner within 60 s; once its queue lost `pid/`), and the
// cause is not found. The same two-MX logic runs in CI through policy
// delegation against a real redis-server (tests/greylist.rs). Run with
// `cargo test --release -p p0f-milter --test postfix_greylist -- --ignored`.
#[test]
#[ignore = "second Postfix instance intermittently silent; see the comment"]
fn greylisting_across_two_postfix_mx_hosts() {
    assert!(
        is_root(),
        "this test makes namespaces and runs Postfix: it needs root"
    );
    ensure_packages(&[("/usr/sbin/ip", "iproute2"), ("/usr/sbin/sysctl", "procps")]);
    if !require("/usr/bin/redis-server", "redis-server") {
        return;
    }
    let started = Instant::now();
    let p0f = p0f_binary();
    let dir = test_dir("p0f-mailpolicy-greylist");
    let _net = TestNet::create();
    must("ip", &["addr", "add", &format!("{MX2}/24"), "dev", BRIDGE]);
    let daemon = Daemon::start_rs(&p0f, dir.path());
    let _diag = daemon.diagnostics();
    probe_links(&first_addrs());
    check_fingerprints(&daemon, Duration::from_secs(10));

    let mut redis = RedisServer::start();
    let url_file = dir.path().join("redis.url");
    std::fs::write(&url_file, format!("{}\n", redis.url())).unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (pa, pb) = (free_port(), free_port());
    let mp1 = MailPolicy::start(
        &[
            "-c".into(),
            mailpolicy_config(dir.path(), "mx1", &daemon.sock, pa),
        ],
        dir.path().join("mx1.log"),
        pa,
    );
    let mp2 = MailPolicy::start(
        &[
            "-c".into(),
            mailpolicy_config(dir.path(), "mx2", &daemon.sock, pb),
        ],
        dir.path().join("mx2.log"),
        pb,
    );
    let _mx1 = Postfix::start(
        HOST,
        &[
            format!("inet_interfaces = 127.0.0.1, {HOST}"),
            format!("mynetworks = 127.0.0.1/32 [::1]/128 {RELAY}/32"),
            format!("smtpd_milters = inet:127.0.0.1:{pa}"),
        ],
    );
    let mx2 = Instance::start(
        "p0ftmx2",
        None,
        &[
            format!("inet_interfaces = {MX2}"),
            "myhostname = mx2.p0ftest".into(),
            "mydestination = localhost, p0ftest.localdomain".into(),
            format!("mynetworks = 127.0.0.1/32 {RELAY}/32"),
            format!("smtpd_milters = inet:127.0.0.1:{pb}"),
            "milter_default_action = accept".into(),
        ],
        &[format!("{PORT}/inet={PORT} inet n - n - - smtpd")],
    );
    let t = Instant::now();
    while std::net::TcpStream::connect((MX2, PORT)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "MX2 does not listen:\n{}",
            tail(&mx2.log, 20)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let win = client(&WIN, WIN.addrs[0]);
    let lin = client(&LIN, LIN.addrs[0]);
    let from = "news@bank.example";

    // First sight through MX1, an early retry through MX2.
    let first = Instant::now();
    expect_greylisted(&win, HOST, from, "gl-first");
    expect_greylisted(&win, MX2, from, "gl-early");
    // Linux is never delayed.
    let h = expect_accepted(&lin, HOST, "l@example.org", "gl-linux");
    assert_eq!(values(&h, "X-Greylist"), Vec::<String>::new(), "{h:?}");
    assert_eq!(values(&h, "X-P0F-Genre"), vec![LIN.os.to_string()]);

    // After the delay, through MX2: accepted, with X-Greylist (the forged one gone).
    std::thread::sleep(
        (Duration::from_secs(DELAY) + Duration::from_millis(500)).saturating_sub(first.elapsed()),
    );
    let h = expect_accepted(&win, MX2, from, "gl-pass");
    let xg = values(&h, "X-Greylist");
    assert_eq!(xg.len(), 1, "{h:?}");
    assert!(
        xg[0].starts_with("delayed ") && xg[0].contains(&format!("os=\"{}\"", WIN.os)),
        "{xg:?}"
    );
    // Remembered, on the other MX too.
    let h = expect_accepted(&win, HOST, from, "gl-known");
    assert_eq!(values(&h, "X-Greylist"), Vec::<String>::new(), "{h:?}");
    assert!(
        mp2.log_text().contains("greylist: pass"),
        "{}",
        mp2.log_text()
    );

    // A real retrying sender: Postfix in the Windows-like namespace.
    let sender = Instance::start(
        "p0ftsend",
        Some(WIN.ns),
        &[
            "inet_interfaces = 127.0.0.1".into(),
            "myhostname = sender.p0ftest".into(),
            "mydestination =".into(),
            "mynetworks = 127.0.0.0/8".into(),
            format!("relayhost = [{HOST}]:{PORT}"),
            format!("smtp_bind_address = {}", WIN.addrs[0]),
            "queue_run_delay = 1s".into(),
            "minimal_backoff_time = 2s".into(),
            "maximal_backoff_time = 3s".into(),
        ],
        &["127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd".into()],
    );
    let o = run(
        "ip",
        &[
            "netns",
            "exec",
            WIN.ns,
            "swaks",
            "--server",
            "127.0.0.1",
            "--port",
            "10026",
            "--from",
            "retrier@sender.example",
            "--to",
            "p0ftest@localhost",
            "--header",
            "Subject: gl-retrier",
            "--timeout",
            "30",
        ],
    );
    assert!(
        o.status.success(),
        "submission to the sending Postfix failed: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let submitted = Instant::now();
    let h = delivered("gl-retrier");
    let took = submitted.elapsed();
    assert!(
        sender.wait_log(&["status=deferred", "450 4.7.1", "Greylisted"], 5),
        "the sender was first deferred:\n{}",
        tail(&sender.log, 20)
    );
    assert!(
        took >= Duration::from_secs(DELAY),
        "delivered after {took:?}, before the delay"
    );
    let xg = values(&h, "X-Greylist");
    assert_eq!(xg.len(), 1, "{h:?}");
    drop(sender);

    // Redis stopped: mail flows, and the service says why.
    redis.stop();
    let h = expect_accepted(&win, HOST, "new@bank.example", "gl-redis-down");
    assert_eq!(values(&h, "X-P0F-Genre"), vec![WIN.os.to_string()]);
    assert!(
        mp1.log_text().contains("greylist store failed"),
        "{}",
        mp1.log_text()
    );
    drop(mx2);
    eprintln!(
        "greylisting_across_two_postfix_mx_hosts: passed in {:.1?}",
        started.elapsed()
    );
}
