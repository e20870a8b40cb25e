//! End to end with the original p0f: the policy scenario of
//! `postfix_live.rs` (the same stacks, Postfix and milter setup, from
//! `support/mod.rs`, on a network of its own, `p9-*` and 10.235.0.0/24),
//! with Debian's p0f 3.09b capturing on the bridge instead of this
//! workspace's daemon:
//!
//! ```text
//! p0f -f /etc/p0f/p0f.fp -i p9-br0 -s DIR/p0f309.sock 'tcp port 10025'
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
//! (the relay client, 10.235.0.21, is first seen by p0f on its mail
//! connection).
//!
//! Needs root and Debian's `p0f` (installed when missing, with `postfix`,
//! `swaks`, `iproute2` and `procps`). Everything is removed and stopped on
//! drop, also when the test fails; the system's Postfix is not touched.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const P0F: &str = "/usr/sbin/p0f";
const P0F_FP: &str = "/etc/p0f/p0f.fp";

fn start_p0f309(dir: &Path, net: &LiveNet) -> Daemon {
    let sock = dir.join("p0f309.sock");
    let (iface, filter) = net.capture();
    let mut cmd = Command::new(P0F);
    cmd.args(["-f", P0F_FP, "-i", &iface, "-s"])
        .arg(&sock)
        .arg(filter);
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
    // First, so that it is dropped last (after Postfix and the daemon).
    let net = LiveNet::create("p9", 235);
    let dir = LiveDir::create("p0f-mailpolicy-p0f309", 5000, &net);

    let mut daemon = start_p0f309(dir.path(), &net);
    let _diag = daemon.diagnostics();
    net.probe();
    net.check_fingerprints(&daemon, Duration::from_secs(30));

    let service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    let postfix = net.postfix(&dir);
    net.v3_scenario(&postfix, "p0f309-v3");
    let r = v3_query(&daemon.sock, &net.relay(), Duration::from_secs(30));
    assert_eq!(genre_of(&r), WIN.os, "relay client's own fingerprint");
    // For the record: how often p0f 3.09b had not yet processed the SYN
    // when Postfix's connect step asked (the milter's retry then asks again).
    let log = service.log();
    eprintln!(
        "milter retries after `unknown client` from p0f 3.09b: {}",
        log.matches("asking again").count()
    );
    drop(service);

    daemon.stop();
    let service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    net.v3_stopped_scenario(&postfix, &service, "p0f309-stopped");
    eprintln!(
        "postfix_with_p0f_309b: all checks passed in {:.1?}",
        started.elapsed()
    );
}
