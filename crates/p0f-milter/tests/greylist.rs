//! Greylisting through the policy-delegation protocol, with real parts:
//! Debian's `redis-server` (started here on loopback) shared by two
//! `p0f-mailpolicy` processes standing for two MX hosts, the embedded store
//! across a restart of the service, and the metrics page read by curl and
//! checked by `promtool check metrics`. p0f is the fake daemon of
//! `p0f_policy::fake`, so the fingerprints are exactly what the test says.
//! `postfix_greylist.rs` runs the same policy on real Postfix with the live
//! daemon and clients in network namespaces.
//!
//! Needs `redis-server`, `curl` and `promtool` (package `prometheus`);
//! with CI=true a missing one is a failure.

mod support;

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use p0f_policy::fake::{v3_os, FakeP0f};
use support::greylist::*;

const WINDOWS: &str = "127.0.0.2";
const LINUX: &str = "127.0.0.4";
const UNKNOWN_DSL: &str = "127.0.0.6";
const DELAY: u64 = 2;

fn fake_p0f(sock: &Path) -> FakeP0f {
    let f = FakeP0f::start(sock).expect("start fake p0f");
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    f.set_v3(
        ip(WINDOWS),
        v3_os("Windows", "7 or 8", "Ethernet or modem", 0),
    );
    f.set_v3(
        ip(LINUX),
        v3_os("Linux", "3.11 and newer", "Ethernet or modem", 0),
    );
    f.set_v3(ip(UNKNOWN_DSL), v3_os("", "", "DSL", 0));
    f
}

/// A configuration file for one service; `store` is the `[greylist]` store part.
fn write_config(
    dir: &Path,
    name: &str,
    sock: &Path,
    port: u16,
    store: &str,
    extra: &str,
) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"
trusted_networks = ["127.0.0.99/32"]

[[p0f]]
socket = "{}"

[listen]
policy = ["inet:127.0.0.1:{port}"]

[greylist]
delay = {DELAY}
retry_window = 600
{store}
{extra}

[[greylist.rule]]
os = "/windows/"

[[greylist.rule]]
unknown = true
link = "dsl"
"#,
            sock.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn rcpt(port: u16, client: &str, sender: &str, instance: &str) -> String {
    policy_request(
        port,
        &[
            ("protocol_state", "RCPT"),
            ("client_address", client),
            ("client_name", "unknown"),
            ("sender", sender),
            ("recipient", "user@example.net"),
            ("instance", instance),
        ],
    )
}

fn data(port: u16, client: &str, sender: &str, instance: &str) -> String {
    policy_request(
        port,
        &[
            ("protocol_state", "DATA"),
            ("client_address", client),
            ("sender", sender),
            ("instance", instance),
        ],
    )
}

fn is_defer(a: &str) -> bool {
    a.starts_with("DEFER_IF_PERMIT 4.7.1 Greylisted")
}

fn metric(page: &str, name_and_labels: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name_and_labels} in\n{page}"))
}

#[test]
fn greylisting_shared_by_two_mx_hosts_and_embedded() {
    if !(require("/usr/bin/redis-server", "redis-server")
        && require("/usr/bin/curl", "curl")
        && require("/usr/bin/promtool", "prometheus"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("p0f.sock");
    let _p0f = fake_p0f(&sock);
    let mut redis = RedisServer::start();
    let url_file = dir.path().join("redis.url");
    std::fs::write(&url_file, format!("{}\n", redis.url())).unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let redis_store = "store = \"redis\"\nredis_url_file = \"redis.url\"\nstore_timeout_ms = 300";

    let (p1, p2, m1) = (free_port(), free_port(), free_port());
    let c1 = write_config(dir.path(), "mx1", &sock, p1, redis_store, "");
    let c2 = write_config(dir.path(), "mx2", &sock, p2, redis_store, "");
    let mx1 = MailPolicy::start(
        &[
            "-c".into(),
            c1,
            "--metrics".into(),
            format!("127.0.0.1:{m1}"),
        ],
        dir.path().join("mx1.log"),
        p1,
    );
    let mx2 = MailPolicy::start(&["-c".into(), c2], dir.path().join("mx2.log"), p2);

    // First sight on MX1: deferred. A retry at once through MX2: too early.
    let from = "prvs=1234abcdef=news@bank.example";
    let first = Instant::now();
    let a = rcpt(p1, WINDOWS, from, "m1");
    assert!(is_defer(&a), "{a}");
    // Postfix asks again for the same recipient when the service is also in
    // smtpd_sender_restrictions: the same answer, decided (and counted, see
    // the metrics below) once.
    assert_eq!(
        rcpt(p1, WINDOWS, from, "m1"),
        a,
        "second request, same recipient"
    );
    let a = rcpt(p2, WINDOWS, "news@bank.example", "m2");
    assert!(is_defer(&a), "early retry through MX2: {a}");
    // Linux is never delayed; an unknown client on DSL is.
    for i in 0..3 {
        let a = rcpt(p1, LINUX, &format!("l{i}@example.org"), &format!("lin{i}"));
        assert_eq!(
            a, "PREPEND X-P0F-Genre: Linux 3.11 and newer",
            "Linux, try {i}"
        );
    }
    let a = rcpt(p1, UNKNOWN_DSL, "x@example.org", "u1");
    assert!(is_defer(&a), "unknown on DSL: {a}");
    // A relay client with the Windows stack is exempt.
    let a = rcpt(p1, "127.0.0.99", "x@example.org", "r1");
    assert_eq!(a, "DUNNO", "relay client");

    // After the delay, the retry passes through MX2 with X-Greylist, and
    // the next stage (DATA) carries the genre.
    std::thread::sleep(Duration::from_secs(DELAY) + Duration::from_millis(300));
    let waited = first.elapsed().as_secs();
    let a = rcpt(p2, WINDOWS, from, "m3");
    assert!(
        a.starts_with("PREPEND X-Greylist: delayed ")
            && a.contains("reason=retried after delay; os=\"Windows 7 or 8\""),
        "{a}"
    );
    let secs: u64 = a["PREPEND X-Greylist: delayed ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((DELAY..=waited + 1).contains(&secs), "{secs} s");
    assert_eq!(
        data(p2, WINDOWS, from, "m3"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );
    assert_eq!(
        data(p2, WINDOWS, from, "m3"),
        "PREPEND X-P0F-Link-Type: Ethernet or modem"
    );
    // The pass is remembered, on both hosts. A second request for the
    // recipient reuses the decision and gives the next header.
    assert_eq!(
        rcpt(p1, WINDOWS, from, "m4"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );
    assert_eq!(
        rcpt(p1, WINDOWS, from, "m4"),
        "PREPEND X-P0F-Link-Type: Ethernet or modem"
    );
    assert_eq!(
        rcpt(p2, WINDOWS, from, "m5"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );

    // Metrics, through a real HTTP client, in a format promtool accepts.
    let (code, body) = curl(&format!("http://127.0.0.1:{m1}/healthz"));
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, page) = curl(&format!("http://127.0.0.1:{m1}/metrics"));
    assert_eq!(code, 200, "{page}");
    let (ok, out) = promtool_check(&page);
    assert!(ok, "promtool check metrics:\n{out}\npage:\n{page}");
    // Once per recipient: the second requests for m1 and m4 count nothing.
    assert_eq!(
        metric(&page, "p0f_mailpolicy_decisions_total{action=\"greylist\"}"),
        2.0
    );
    assert_eq!(
        metric(&page, "p0f_mailpolicy_decisions_total{action=\"accept\"}"),
        5.0
    );
    assert_eq!(
        metric(&page, "p0f_mailpolicy_decisions_total{action=\"block\"}"),
        0.0
    );
    // One lookup per client (the policy service keeps answers per
    // connection): Windows, Linux and the DSL client are known, the relay
    // client is not.
    assert_eq!(
        metric(&page, "p0f_mailpolicy_p0f_queries_total{outcome=\"found\"}"),
        3.0
    );
    assert_eq!(
        metric(
            &page,
            "p0f_mailpolicy_p0f_queries_total{outcome=\"no_match\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&page, "p0f_mailpolicy_p0f_query_duration_seconds_count"),
        4.0
    );
    let (code, _) = curl(&format!("http://127.0.0.1:{m1}/nothing"));
    assert_eq!(code, 404);

    // Redis stopped: mail flows, the failure is logged and counted.
    redis.stop();
    let t = Instant::now();
    let a = rcpt(p1, WINDOWS, "new-sender@example.org", "d1");
    assert_eq!(
        a, "PREPEND X-P0F-Genre: Windows 7 or 8",
        "must accept while Redis is down"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        mx1.log_text().contains("greylist store failed"),
        "{}",
        mx1.log_text()
    );
    let (_, page) = curl(&format!("http://127.0.0.1:{m1}/metrics"));
    assert_eq!(
        metric(
            &page,
            "p0f_mailpolicy_greylist_store_errors_total{store=\"redis\"}"
        ),
        1.0
    );
    // Back again: greylisting resumes without a restart.
    redis.restart();
    let t = Instant::now();
    loop {
        let a = rcpt(p1, WINDOWS, "after-restart@example.org", "d2");
        if is_defer(&a) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no reconnection to Redis: {a}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(mx1);
    drop(mx2);

    // The embedded store keeps its state across a restart of the service;
    // deny_late and the null sender defer at DATA.
    let p3 = free_port();
    let db = dir.path().join("greylist.redb");
    let c3 = write_config(
        dir.path(),
        "mx3",
        &sock,
        p3,
        &format!("store = \"embedded\"\npath = \"{}\"", db.display()),
        "",
    );
    let mut mx3 = MailPolicy::start(&["-c".into(), c3], dir.path().join("mx3.log"), p3);
    let a = rcpt(p3, WINDOWS, "e@example.org", "e1");
    assert!(is_defer(&a), "{a}");
    let seen = Instant::now();
    // The null sender: accepted at RCPT, deferred at DATA.
    assert_eq!(
        rcpt(p3, WINDOWS, "", "n1"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );
    let d = data(p3, WINDOWS, "", "n1");
    assert!(d.starts_with("450 4.7.1 Greylisted"), "{d}");
    mx3.restart();
    std::thread::sleep(
        (Duration::from_secs(DELAY) + Duration::from_millis(300)).saturating_sub(seen.elapsed()),
    );
    let a = rcpt(p3, WINDOWS, "e@example.org", "e2");
    assert!(
        a.starts_with("PREPEND X-Greylist: delayed "),
        "state lost across the restart: {a}"
    );
    drop(mx3);

    // deny_late and dry run.
    let p4 = free_port();
    let c4 = write_config(
        dir.path(),
        "mx4",
        &sock,
        p4,
        &format!(
            "store = \"embedded\"\npath = \"{}\"",
            dir.path().join("g4.redb").display()
        ),
        "deny_late = true",
    );
    let mx4 = MailPolicy::start(&["-c".into(), c4.clone()], dir.path().join("mx4.log"), p4);
    assert_eq!(
        rcpt(p4, WINDOWS, "late@example.org", "l1"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );
    assert!(data(p4, WINDOWS, "late@example.org", "l1").starts_with("450 4.7.1 Greylisted"));
    drop(mx4);
    let mx5 = MailPolicy::start(
        &["-c".into(), c4, "--dry-run".into()],
        dir.path().join("mx5.log"),
        p4,
    );
    assert_eq!(
        rcpt(p4, WINDOWS, "dry@example.org", "y1"),
        "PREPEND X-P0F-Genre: Windows 7 or 8"
    );
    assert_eq!(
        data(p4, WINDOWS, "dry@example.org", "y1"),
        "PREPEND X-P0F-Link-Type: Ethernet or modem"
    );
    assert!(
        mx5.log_text().contains("dry run: would greylist"),
        "{}",
        mx5.log_text()
    );
}

/// Redis over TLS as an operator configures it: the password in the URL
/// file (`rediss://`), the CA and client certificate in
/// `[greylist.redis_tls]`, nothing on the command line. Greylisting works;
/// a service given a CA that did not sign the server's certificate accepts
/// the mail and logs why the store failed.
#[test]
fn greylisting_over_redis_tls_from_the_config_files() {
    if !(require("/usr/bin/redis-server", "redis-server") && require("/usr/bin/openssl", "openssl"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("p0f.sock");
    let _p0f = fake_p0f(&sock);
    make_certificates(dir.path(), &["good", "other"]);
    let redis = TlsRedisServer::start(dir.path(), "gl-tls-pw");
    let url_file = dir.path().join("redis.url");
    std::fs::write(
        &url_file,
        format!("rediss://:gl-tls-pw@127.0.0.1:{}/\n", redis.port),
    )
    .unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = |ca: &str| {
        format!(
            "store = \"redis\"\nredis_url_file = \"redis.url\"\nstore_timeout_ms = 2000\n\
             [greylist.redis_tls]\nca_file = \"{ca}-ca.pem\"\ncert_file = \"client.pem\"\nkey_file = \"client.key\""
        )
    };
    // The TLS table goes in `extra`: write_config puts it after the other
    // [greylist] keys and before the rules.
    let (p1, p2) = (free_port(), free_port());
    let good = write_config(dir.path(), "tls-good", &sock, p1, "", &store("good"));
    let bad = write_config(dir.path(), "tls-bad", &sock, p2, "", &store("other"));
    let mx1 = MailPolicy::start(&["-c".into(), good], dir.path().join("tls-good.log"), p1);
    let mx2 = MailPolicy::start(&["-c".into(), bad], dir.path().join("tls-bad.log"), p2);

    let from = "tls@bank.example";
    let a = rcpt(p1, WINDOWS, from, "t1");
    assert!(is_defer(&a), "first sight over TLS: {a}");
    std::thread::sleep(Duration::from_secs(DELAY) + Duration::from_millis(300));
    let a = rcpt(p1, WINDOWS, from, "t2");
    assert!(a.starts_with("PREPEND X-Greylist: delayed "), "{a}");
    assert!(
        !mx1.log_text().contains("greylist store failed"),
        "{}",
        mx1.log_text()
    );

    // The wrong CA: accepted (never lose mail), and the log says what failed.
    let a = rcpt(p2, WINDOWS, "other@bank.example", "t3");
    assert!(!a.starts_with("DEFER"), "{a}");
    let log = mx2.log_text();
    assert!(
        log.contains("greylist store failed") && log.contains("TLS connection failed"),
        "{log}"
    );
    assert!(log.contains("invalid peer certificate"), "{log}");
    assert!(
        !log.contains("gl-tls-pw"),
        "the password must not be logged:\n{log}"
    );
}
