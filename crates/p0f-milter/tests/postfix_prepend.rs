//! Which header the policy service prepends at which stage, on a real
//! Postfix: an instance of the test's own (`support::isolated::Mta`, its
//! own directory, loopback port and mailbox) delegates to
//! `p0f-mailpolicy --policy` with `check_policy_service` in the recipient
//! and data restrictions (and, in the second half, the sender
//! restrictions too). p0f is the fake daemon of `p0f_policy::fake`: the
//! client 127.0.0.2 is "Windows 7 or 8" on DSL (greylisted, karma -1 from
//! `smite_os`), 127.0.0.3 is Linux.
//!
//! The service logs each answer with the request's `protocol_state`
//! (debug level), so the test reads off which stage gave which `PREPEND`,
//! and compares with the delivered message's headers.
//!
//! Needs root (Postfix), postfix and swaks.

mod support;

use std::time::{Duration, Instant};

use p0f_policy::fake::{v3_os, FakeP0f};
use support::greylist::{free_port, MailPolicy};
use support::isolated::{swaks, Mta, DOMAIN};
use support::{ensure_packages, is_root, test_dir, values};

const WINDOWS: &str = "127.0.0.2";
const LINUX: &str = "127.0.0.3";
const DELAY: u64 = 2;

/// (protocol_state, action) of every policy answer in the service's log,
/// in order. The service logs `policy answer ... state="RCPT" ...
/// action=...` (the action last, unquoted) at debug level.
fn answers(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|l| l.contains("policy answer"))
        .map(|l| {
            let state = l
                .split("state=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            let action = l.split(" action=").nth(1).unwrap_or("").to_string();
            (state, action)
        })
        .collect()
}

/// (stage, action) answers, or (name, value) header fields.
type Pairs = Vec<(String, String)>;

struct Setup {
    mta: Mta,
    policy: MailPolicy,
}

impl Setup {
    /// Sends one message and returns (policy answers while it was sent,
    /// delivered header names and values).
    fn send(&self, client: &str, marker: &str) -> (Pairs, Pairs) {
        let before = answers(&self.policy.log_text()).len();
        let s = swaks(
            None,
            client,
            self.mta.server(),
            "news@sender.example",
            &[&format!("user@{DOMAIN}")],
            marker,
            &[],
        );
        assert!(s.ok, "{marker}: not accepted:\n{}", s.transcript);
        let h = self.mta.delivered(marker);
        let after = answers(&self.policy.log_text());
        (after[before..].to_vec(), h)
    }
}

fn prepends(a: &[(String, String)]) -> Vec<(String, String)> {
    a.iter()
        .filter(|(_, act)| act.starts_with("PREPEND "))
        .map(|(st, act)| {
            let name = act["PREPEND ".len()..]
                .split(':')
                .next()
                .unwrap()
                .to_string();
            (st.clone(), name)
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Our headers in the order they stand in the delivered message.
fn ours(h: &[(String, String)]) -> Vec<String> {
    h.iter()
        .map(|(k, _)| k.clone())
        .filter(|k| k.starts_with("X-P0F-") || k == "X-Greylist")
        .collect()
}

#[test]
fn prepend_stages_on_real_postfix() {
    assert!(is_root(), "runs Postfix: needs root");
    ensure_packages(&[]);
    let started = Instant::now();
    let dir = test_dir("glpp-");
    let sock = dir.path().join("p0f.sock");
    let fake = FakeP0f::start(&sock).unwrap();
    fake.set_v3(
        WINDOWS.parse().unwrap(),
        v3_os("Windows", "7 or 8", "DSL", 0),
    );
    fake.set_v3(
        LINUX.parse().unwrap(),
        v3_os("Linux", "3.11 and newer", "Ethernet or modem", 0),
    );
    let pport = free_port();
    let conf = dir.path().join("policy.toml");
    std::fs::write(
        &conf,
        format!(
            "karma_header = \"X-P0F-Karma\"\n\
             [[p0f]]\nsocket = \"{}\"\nsmite_os = \"windows\"\n\
             [listen]\npolicy = [\"inet:127.0.0.1:{pport}\"]\n\
             [greylist]\ndelay = {DELAY}\nretry_window = 600\npath = \"{}\"\n\
             [[greylist.rule]]\nos = \"/windows/\"\n",
            sock.display(),
            dir.path().join("greylist.redb").display()
        ),
    )
    .unwrap();
    let mut policy = MailPolicy::start(
        &["-c".into(), conf.display().to_string()],
        dir.path().join("policy.log"),
        pport,
    );
    policy.set_log_level("debug");
    policy.restart();
    let svc = format!("check_policy_service inet:127.0.0.1:{pport}");
    let mta = Mta::start(
        "glpp",
        None,
        ("127.0.0.1", free_port()),
        &[
            format!("smtpd_recipient_restrictions = reject_unauth_destination, {svc}"),
            format!("smtpd_data_restrictions = {svc}"),
        ],
    );
    let setup = Setup { mta, policy };

    // Two restriction lines, Linux: the genre at RCPT, the link type at DATA.
    let (a, h) = setup.send(LINUX, "glpp-linux");
    assert_eq!(
        prepends(&a),
        pairs(&[("RCPT", "X-P0F-Genre"), ("DATA", "X-P0F-Link-Type")]),
        "{a:?}"
    );
    assert_eq!(ours(&h), ["X-P0F-Genre", "X-P0F-Link-Type"], "{h:?}");
    assert_eq!(values(&h, "X-P0F-Genre"), ["Linux 3.11 and newer"]);

    // Windows: deferred at RCPT first ...
    let first = Instant::now();
    let s = swaks(
        None,
        WINDOWS,
        setup.mta.server(),
        "news@sender.example",
        &[&format!("user@{DOMAIN}")],
        "glpp-first",
        &[],
    );
    assert!(
        !s.ok && s.reply_to("RCPT TO").contains("450 4.7.1"),
        "{}",
        s.transcript
    );
    // ... and after the delay: X-Greylist at RCPT, the genre at DATA; the
    // link type and karma have no stage left.
    std::thread::sleep(
        (Duration::from_secs(DELAY) + Duration::from_millis(300)).saturating_sub(first.elapsed()),
    );
    let (a, h) = setup.send(WINDOWS, "glpp-pass");
    assert_eq!(
        prepends(&a),
        pairs(&[("RCPT", "X-Greylist"), ("DATA", "X-P0F-Genre")]),
        "{a:?}"
    );
    assert_eq!(ours(&h), ["X-Greylist", "X-P0F-Genre"], "{h:?}");
    assert!(values(&h, "X-Greylist")[0].starts_with("delayed "), "{h:?}");

    // With the sender restrictions too: one more stage. Postfix delays the
    // sender restrictions to RCPT (smtpd_delay_reject = yes, its default),
    // so that request also says protocol_state=RCPT: two RCPT answers.
    setup
        .mta
        .reconfigure(&[format!("smtpd_sender_restrictions = {svc}")]);
    let three = pairs(&[
        ("RCPT", "X-P0F-Genre"),
        ("RCPT", "X-P0F-Link-Type"),
        ("DATA", "X-P0F-Karma"),
    ]);
    let (a, h) = setup.send(LINUX, "glpp-linux3");
    assert_eq!(prepends(&a), three, "{a:?}");
    assert_eq!(
        ours(&h),
        ["X-P0F-Genre", "X-P0F-Link-Type", "X-P0F-Karma"],
        "{h:?}"
    );
    assert_eq!(values(&h, "X-P0F-Karma"), ["0"]);
    let (a, h) = setup.send(WINDOWS, "glpp-known3");
    assert_eq!(prepends(&a), three, "{a:?}");
    assert_eq!(
        ours(&h),
        ["X-P0F-Genre", "X-P0F-Link-Type", "X-P0F-Karma"],
        "{h:?}"
    );
    assert_eq!(values(&h, "X-P0F-Karma"), ["-1"]);
    // Prepended headers stand above Postfix's own Received: line.
    let pos = |n: &str| h.iter().position(|(k, _)| k == n).unwrap();
    assert!(pos("X-P0F-Karma") < pos("Received"), "{h:?}");
    eprintln!(
        "prepend_stages_on_real_postfix: passed in {:.1?}",
        started.elapsed()
    );
}
