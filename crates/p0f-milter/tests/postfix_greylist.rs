//! Greylisting on real Postfix, with state shared by two MX hosts:
//!
//! * a bridge `gl-br0` on 10.232.0.0/24 with client namespaces (`gl-win`,
//!   the Windows-like stack of `postfix_live.rs`, and `gl-lin`, Linux), this
//!   workspace's `p0f` daemon capturing on the bridge;
//! * Debian's `redis-server` on loopback, started here;
//! * two Postfix instances as two MX hosts, 10.232.0.1 and 10.232.0.2, each
//!   with its own `p0f-mailpolicy` milter, both sharing the Redis;
//! * a third Postfix instance whose master runs inside the Windows-like
//!   namespace (relayhost MX1, retry backoff of a few seconds): a real
//!   sender that retries on its own.
//!
//! Every part is the test's own (`support::isolated`): Postfix instances
//! in temporary directories (configuration, queue, data directory, log,
//! mailbox), names with the prefix `gl`, free loopback ports. Nothing is
//! shared with other tests or with another run of this one, which is what
//! made the second MX "go silent" when this test used the fixed names of
//! the other live tests (see `support/isolated.rs`).
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
use std::process::Command;
use std::time::{Duration, Instant};

use p0f_api::v3;
use support::greylist::{free_port, require, MailPolicy, RedisServer};
use support::isolated::{swaks, Mta, Net, Sent, DOMAIN};
use support::{
    ensure_packages, genre_of, is_root, must, p0f_binary, test_dir, v3_query, values, Daemon, LIN,
    STACKS, WIN,
};

/// The SMTP port of both MX hosts on the bridge (our own addresses).
const SMTP: u16 = 10125;
const DELAY: u64 = 4;

struct Clients {
    net: Net,
}

impl Clients {
    /// swaks from the stack's first address, with the envelope sender
    /// `from` and a forged `X-Greylist`, to `server`.
    fn send(&self, stack: &support::Stack, server: &str, from: &str, marker: &str) -> Sent {
        swaks(
            Some(&self.net.ns(stack)),
            &self.net.addr(stack, 0),
            (server, SMTP),
            from,
            &[&format!("user@{DOMAIN}")],
            marker,
            &["--add-header", "X-Greylist: forged"],
        )
    }

    fn expect_greylisted(&self, stack: &support::Stack, server: &str, from: &str, marker: &str) {
        let s = self.send(stack, server, from, marker);
        assert!(
            !s.ok && s.reply_to("RCPT TO").contains("450 4.7.1 Greylisted"),
            "{marker}: expected 450 4.7.1 at RCPT from {server}:\n{}",
            s.transcript
        );
    }

    fn expect_accepted(
        &self,
        stack: &support::Stack,
        mx: &Mta,
        from: &str,
        marker: &str,
    ) -> Vec<(String, String)> {
        let s = self.send(stack, mx.server().0, from, marker);
        assert!(
            s.ok,
            "{marker}: not accepted by {}:\n{}",
            mx.name, s.transcript
        );
        mx.delivered(marker)
    }
}

fn mailpolicy_config(dir: &Path, name: &str, p0f_sock: &Path, port: u16, relay: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "trusted_networks = [\"{relay}/32\"]\n\
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

/// This workspace's daemon on our bridge, v3 socket in `dir`.
fn daemon(net: &Net, dir: &Path) -> Daemon {
    let sock = dir.join("p0f.sock");
    let mut cmd = Command::new(p0f_binary());
    cmd.args(["-i", &net.bridge(), "-s"])
        .arg(&sock)
        .arg(format!("tcp port {SMTP}"));
    Daemon::start("p0f-rs", cmd, sock, None)
}

#[test]
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
    let dir = test_dir("gl-postfix-greylist");
    // First, so that it is dropped last (after every Postfix and daemon).
    let c = Clients {
        net: Net::create("gl", 232),
    };
    let net = &c.net;
    let mx2_addr = net.host_addr(2);
    must(
        "ip",
        &[
            "addr",
            "add",
            &format!("{mx2_addr}/24"),
            "dev",
            &net.bridge(),
        ],
    );
    let relay = net.addr(&WIN, 1);
    let daemon = daemon(net, dir.path());
    let _diag = daemon.diagnostics();
    net.probe(SMTP);
    for s in STACKS.iter().filter(|s| s.ns != "unk") {
        let a = net.addr(s, 0);
        let r = v3_query(&daemon.sock, &a, Duration::from_secs(10));
        assert_eq!(
            (r.status, genre_of(&r), r.link_type.as_string()),
            (v3::Status::Ok, s.os.to_string(), s.link.to_string()),
            "{} ({a}) does not fingerprint as expected; the daemon saw:\n{}",
            net.ns(s),
            daemon.syn_of(&a)
        );
    }

    let mut redis = RedisServer::start();
    let url_file = dir.path().join("redis.url");
    std::fs::write(&url_file, format!("{}\n", redis.url())).unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (pa, pb) = (free_port(), free_port());
    let mp1 = MailPolicy::start(
        &[
            "-c".into(),
            mailpolicy_config(dir.path(), "mx1", &daemon.sock, pa, &relay),
        ],
        dir.path().join("mx1.log"),
        pa,
    );
    let mp2 = MailPolicy::start(
        &[
            "-c".into(),
            mailpolicy_config(dir.path(), "mx2", &daemon.sock, pb, &relay),
        ],
        dir.path().join("mx2.log"),
        pb,
    );
    let mx_settings = |port: u16| {
        vec![
            format!("mynetworks = 127.0.0.1/32 {relay}/32"),
            format!("smtpd_milters = inet:127.0.0.1:{port}"),
            "milter_default_action = accept".to_string(),
        ]
    };
    let mx1 = Mta::start("glmx1", None, (&net.host(), SMTP), &mx_settings(pa));
    let mx2 = Mta::start("glmx2", None, (&mx2_addr, SMTP), &mx_settings(pb));

    let from = "news@bank.example";

    // First sight through MX1, an early retry through MX2.
    let first = Instant::now();
    c.expect_greylisted(&WIN, mx1.server().0, from, "gl-first");
    c.expect_greylisted(&WIN, mx2.server().0, from, "gl-early");
    // Linux is never delayed.
    let h = c.expect_accepted(&LIN, &mx1, "l@example.org", "gl-linux");
    assert_eq!(values(&h, "X-Greylist"), Vec::<String>::new(), "{h:?}");
    assert_eq!(values(&h, "X-P0F-Genre"), vec![LIN.os.to_string()]);

    // After the delay, through MX2: accepted, with X-Greylist (the forged one gone).
    std::thread::sleep(
        (Duration::from_secs(DELAY) + Duration::from_millis(500)).saturating_sub(first.elapsed()),
    );
    let h = c.expect_accepted(&WIN, &mx2, from, "gl-pass");
    let xg = values(&h, "X-Greylist");
    assert_eq!(xg.len(), 1, "{h:?}");
    assert!(
        xg[0].starts_with("delayed ") && xg[0].contains(&format!("os=\"{}\"", WIN.os)),
        "{xg:?}"
    );
    // Remembered, on the other MX too.
    let h = c.expect_accepted(&WIN, &mx1, from, "gl-known");
    assert_eq!(values(&h, "X-Greylist"), Vec::<String>::new(), "{h:?}");
    assert!(
        mp2.log_text().contains("greylist: pass"),
        "{}",
        mp2.log_text()
    );

    // A real retrying sender: Postfix in the Windows-like namespace.
    let win_ns = c.net.ns(&WIN);
    let sender = Mta::start(
        "glsend",
        Some(&win_ns),
        ("127.0.0.1", 10026),
        &[
            "virtual_mailbox_domains =".into(),
            "mynetworks = 127.0.0.0/8".into(),
            format!("relayhost = [{}]:{SMTP}", mx1.server().0),
            format!("smtp_bind_address = {}", c.net.addr(&WIN, 0)),
            "queue_run_delay = 1s".into(),
            "minimal_backoff_time = 2s".into(),
            "maximal_backoff_time = 3s".into(),
        ],
    );
    let s = swaks(
        Some(&win_ns),
        "127.0.0.1",
        ("127.0.0.1", 10026),
        "retrier@sender.example",
        &[&format!("user@{DOMAIN}")],
        "gl-retrier",
        &[],
    );
    assert!(
        s.ok,
        "submission to the sending Postfix failed:\n{}",
        s.transcript
    );
    let submitted = Instant::now();
    let h = mx1.delivered("gl-retrier");
    let took = submitted.elapsed();
    assert!(
        sender.wait_log(&["status=deferred", "450 4.7.1", "Greylisted"], 5),
        "the sender was first deferred:\n{}",
        sender.log_tail(20)
    );
    assert!(
        took >= Duration::from_secs(DELAY),
        "delivered after {took:?}, before the delay"
    );
    assert_eq!(values(&h, "X-Greylist").len(), 1, "{h:?}");
    drop(sender);

    // Redis stopped: mail flows, and the service says why.
    redis.stop();
    let h = c.expect_accepted(&WIN, &mx1, "new@bank.example", "gl-redis-down");
    assert_eq!(values(&h, "X-P0F-Genre"), vec![WIN.os.to_string()]);
    assert!(
        mp1.log_text().contains("greylist store failed"),
        "{}",
        mp1.log_text()
    );
    eprintln!(
        "greylisting_across_two_postfix_mx_hosts: passed in {:.1?}",
        started.elapsed()
    );
}
