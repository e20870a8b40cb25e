//! End to end with the original p0f: the policy scenario of
//! `postfix_live.rs` (same bridge, namespaces, Postfix and milter setup,
//! from `support/mod.rs`), with Debian's p0f 3.09b capturing on the bridge
//! instead of this workspace's daemon:
//!
//! ```text
//! p0f -f /etc/p0f/p0f.fp -i p0ft-br0 -s DIR/p0f309.sock 'tcp port 10025'
//! ```
//!
//! p0f 3.09b serves only the v3 API, so the milter asks its v3 socket. The
//! test checks that p0f 3.09b fingerprints the namespaces as the live test
//! expects, then that the Linux stack's mail is delivered with its
//! `X-P0F-Genre` / `X-P0F-Link-Type` (forged copies replaced), that the
//! Windows-like stack is refused at RCPT with `550 5.7.1 OS Blocked`, that
//! the relay client with the same stack is accepted, and that the unknown
//! stack gets the link type only; and, once p0f is stopped (it leaves its
//! socket file behind), that mail still flows unfingerprinted.
//!
//! p0f 3.09b handles API queries in the same loop as captured packets, so
//! the service's timeout and the test's own query deadlines are generous.
//! Its processing of a SYN can come after Postfix's connect-time milter
//! step, as with the workspace's daemon; the milter's retry covers that
//! (the relay client, 10.231.0.21, is first seen by p0f on its mail
//! connection).
//!
//! Needs root and Debian's `p0f` (installed when missing, with `postfix`,
//! `swaks`, `iproute2` and `procps`). Everything is removed, stopped and
//! restored on drop, also when the test fails.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const P0F: &str = "/usr/sbin/p0f";
const P0F_FP: &str = "/etc/p0f/p0f.fp";

fn start_p0f309(dir: &Path) -> Daemon {
    let sock = dir.join("p0f309.sock");
    let mut cmd = Command::new(P0F);
    cmd.args(["-f", P0F_FP, "-i", BRIDGE, "-s"])
        .arg(&sock)
        .arg(format!("tcp port {PORT}"));
    let d = Daemon::start("p0f 3.09b", cmd, sock, None);
    let banner = d.stdout.text() + &d.stderr.text();
    assert!(
        banner.contains("p0f 3.09b"),
        "{P0F} is not p0f 3.09b:\n{banner}"
    );
    d
}

#[test]
fn postfix_with_p0f_309b() {
    assert!(
        is_root(),
        "this test makes network namespaces, runs Debian's p0f and Postfix: it needs root (CI runs as root)"
    );
    ensure_packages(&[
        ("/usr/sbin/ip", "iproute2"),
        ("/usr/sbin/sysctl", "procps"),
        (P0F, "p0f"),
    ]);
    let started = Instant::now();
    let dir = LiveDir::create("p0f-mailpolicy-p0f309", 5000);

    let _net = TestNet::create();
    let mut daemon = start_p0f309(dir.path());
    let _diag = daemon.diagnostics();
    probe_links(&first_addrs());
    check_fingerprints(&daemon, Duration::from_secs(30));

    let service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    let _postfix = dir.postfix();
    v3_scenario("p0f309-v3");
    let r = v3_query(&daemon.sock, RELAY, Duration::from_secs(30));
    assert_eq!(genre_of(&r), WIN.os, "relay client's own fingerprint");
    // For the record: how often p0f 3.09b had not yet processed the SYN
    // when Postfix's connect step asked (the milter's retry then asks again).
    let log = std::fs::read_to_string(SERVICE_LOG).unwrap_or_default();
    eprintln!(
        "milter retries after `unknown client` from p0f 3.09b: {}",
        log.matches("asking again").count()
    );
    drop(service);

    daemon.stop();
    let _service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    v3_stopped_scenario("p0f309-stopped");
    eprintln!(
        "postfix_with_p0f_309b: all checks passed in {:.1?}",
        started.elapsed()
    );
}
