//! SMTP dialect verdicts in the policy: the bounded wait for the daemon to
//! see the first RCPT (with the wait on, and off), a daemon without the
//! extension (answered like p0f 3.09b), and the seed's rule "greylist
//! Windows unless it speaks a known MTA dialect" from its example file.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use p0f_api::smtp::{flag, Verdict, SMTP_OK};
use p0f_api::FixedStr;
use p0f_policy::config::parse_native;
use p0f_policy::fake::{v3_os, FakeP0f};
use p0f_policy::smtp::{fetch, Kind, SmtpQueryError};
use p0f_policy::{ConnInfo, Lookup, Policy};

const CLIENT: &str = "192.0.2.9";

fn verdict(stage: u8, kind: u8, app: &str, flags: u32) -> Verdict {
    Verdict {
        status: SMTP_OK,
        flags,
        stage,
        kind,
        app_name: FixedStr::new(app),
        ..Verdict::default()
    }
}

fn config(sock: &Path, wait_ms: u64) -> p0f_policy::PolicyConfig {
    let text = format!(
        "[[p0f]]\nsocket = \"{}\"\n[smtp]\nwait_ms = {wait_ms}\n",
        sock.display()
    );
    parse_native(&text, Path::new("t.toml")).unwrap()
}

fn conn() -> ConnInfo {
    ConnInfo {
        client: CLIENT.parse().unwrap(),
        client_port: Some(40000),
        server: None,
        server_port: None,
    }
}

#[tokio::test]
async fn the_wait_ends_when_the_daemon_has_seen_rcpt() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeP0f::start(dir.path().join("p0f.sock")).unwrap();
    let ip: IpAddr = CLIENT.parse().unwrap();
    fake.set_v3(ip, v3_os("Windows", "NT kernel", "Ethernet or modem", 0));
    fake.set_smtp(
        ip,
        vec![
            verdict(1, 1, "Exchange", 0),
            verdict(1, 1, "Exchange", 0),
            verdict(2, 1, "Exchange", flag::PIPELINING),
        ],
    );
    let cfg = config(fake.path(), 500);
    let v = fetch(&cfg.instances, &conn(), &cfg.smtp, cfg.timeout)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v.stage, v.kind, v.app.as_str()),
        (2, Some(Kind::Mta), "Exchange")
    );
    assert_eq!(v.flags, flag::PIPELINING);
    // Asked until stage 2, by connection (the client's port).
    let asked = fake.smtp_queries();
    assert_eq!(asked.len(), 3);
    assert!(asked.iter().all(|q| *q == (ip, 40000)));
}

#[tokio::test]
async fn without_the_wait_one_answer_is_taken_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeP0f::start(dir.path().join("p0f.sock")).unwrap();
    let ip: IpAddr = CLIENT.parse().unwrap();
    fake.set_smtp(
        ip,
        vec![
            verdict(1, 0, "", flag::PREGREET),
            verdict(2, 0, "", flag::PREGREET),
        ],
    );
    let cfg = config(fake.path(), 0);
    let v = fetch(&cfg.instances, &conn(), &cfg.smtp, cfg.timeout)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.stage, 1);
    assert_eq!(fake.smtp_queries().len(), 1);
    // With a wait that the daemon never satisfies, the wait is bounded.
    fake.set_smtp(ip, vec![verdict(1, 0, "", 0)]);
    let cfg = config(fake.path(), 100);
    let t = Instant::now();
    let v = fetch(&cfg.instances, &conn(), &cfg.smtp, cfg.timeout)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.stage, 1);
    assert!(t.elapsed() >= Duration::from_millis(100) && t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_daemon_without_the_extension_is_told_apart_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Not turned on: the fake answers the magic as p0f 3.09b does.
    let fake = FakeP0f::start(dir.path().join("p0f.sock")).unwrap();
    let cfg = config(fake.path(), 200);
    let t = Instant::now();
    let e = fetch(&cfg.instances, &conn(), &cfg.smtp, cfg.timeout)
        .await
        .unwrap_err();
    assert!(matches!(e, SmtpQueryError::Unsupported), "{e}");
    assert!(t.elapsed() < Duration::from_secs(1), "no timeout needed");
}

#[tokio::test]
async fn the_seed_scenario_greylists_windows_unless_it_speaks_like_an_mta() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/examples/seed-scenario.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The example's paths, moved into the test's directory.
    let sock = dir.path().join("p0f.sock");
    let text = text
        .replace("/run/p0f.sock", sock.to_str().unwrap())
        .replace(
            "/var/lib/p0f-mailpolicy/greylist.redb",
            dir.path().join("g.redb").to_str().unwrap(),
        );
    let cfg = parse_native(&text, &example).unwrap();
    assert_eq!(cfg.smtp.wait, Duration::from_millis(200));
    let policy = Policy::new(cfg);
    assert!(policy.wants_smtp());
    let grey = policy.config().greylist.as_ref().unwrap();
    let windows =
        p0f_policy::Fingerprint::from_v3(&v3_os("Windows", "NT kernel", "Ethernet or modem", 0));
    let linux =
        p0f_policy::Fingerprint::from_v3(&v3_os("Linux", "2.2.x-3.x", "Ethernet or modem", 0));
    let lookup = |fp: &p0f_policy::Fingerprint, smtp: Option<Verdict>| Lookup {
        record: Some(fp.clone()),
        smtp: smtp.and_then(|v| p0f_policy::smtp::SmtpVerdict::from_reply(&v)),
        ..Lookup::default()
    };
    let mta = verdict(2, 1, "Exchange", 0);
    let bot = verdict(2, 3, "Bot", flag::PREGREET);
    let unknown = verdict(2, 0, "", flag::BARE_LF);
    assert!(
        grey.matching_rule(&lookup(&windows, Some(mta))).is_none(),
        "an MTA on Windows"
    );
    assert!(grey.matching_rule(&lookup(&windows, Some(bot))).is_some());
    assert!(grey
        .matching_rule(&lookup(&windows, Some(unknown)))
        .is_some());
    assert!(
        grey.matching_rule(&lookup(&windows, None)).is_some(),
        "no verdict"
    );
    assert!(
        grey.matching_rule(&lookup(&linux, Some(bot))).is_none(),
        "not Windows"
    );
}
