//! End to end with the live fingerprint daemon: Debian's Postfix, the
//! `p0f` daemon of this workspace capturing for real, `p0f-mailpolicy` as a
//! milter, and SMTP clients whose TCP stacks fingerprint differently.
//!
//! The test builds its own little network (`support::LiveNet`): a bridge
//! `pl-br0` holding the host address 10.234.0.1/24, and three network
//! namespaces (`pl-lin`, `pl-win`, `pl-unk`), each joined to the bridge by
//! a veth pair. A Postfix instance of the test's own listens on
//! 10.234.0.1:10025; the daemon captures on the bridge (`p0f -i pl-br0 ...
//! 'tcp port 10025'`); swaks runs inside the namespaces. Each namespace's stack is changed with
//! sysctls, its MTU and the `initrwnd` of its route to the host, which gives
//! these SYNs (as the daemon prints them) and verdicts:
//!
//! | namespace | address | SYN `raw_sig` | p0f says | verdict |
//! |---|---|---|---|---|
//! | `pl-lin` | 10.234.0.10 | `4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0` | Linux 3.11 and newer, Ethernet or modem | accepted, both headers |
//! | `pl-win` | 10.234.0.20 | `4:128+0:0:1360:mss*10,0:mss,nop,nop,sok:df,id+:0` | Windows NT kernel (generic), generic tunnel or VPN | `550 5.7.1 OS Blocked` at RCPT (`/windows/`) |
//! | `pl-win` | 10.234.0.21 | same stack | same | relay client (trusted network, mynetworks): accepted, both headers |
//! | `pl-unk` | 10.234.0.30 | `4:64+0:0:1452:mss*20,7:mss,nop,nop,ts,nop,ws:df,id+:0` | no OS match, DSL | accepted, `X-P0F-Link-Type` only |
//!
//! How: `pl-lin` has `tcp_rmem` max 6 MiB (window scale 7) and a route
//! with `initrwnd 20` (window = 20 × MSS); `pl-win` has TTL 128, no
//! timestamps, no window scaling, `initrwnd 10` and MTU 1400; `pl-unk` has
//! no SACK (options `mss,nop,nop,ts,nop,ws`, which no signature has) and MTU
//! 1492. All three send the same `tcp_rmem`, so defaults do not matter.
//!
//! Every message is sent with forged `X-P0F-Genre` / `x-p0f-link-type`
//! headers, which must be replaced (or just removed). The milter asks the
//! daemon's v3 socket first, then its v2 socket (`--api-v2`, per-connection
//! answers: genre is the OS name only), and finally the daemon is stopped
//! and mail must still flow, unfingerprinted, with the reason logged.
//!
//! `postfix_p0f309.rs` runs the same network and v3 scenario against
//! Debian's p0f 3.09b; the helpers both use are in `support/mod.rs`.
//!
//! Needs root, Debian's `postfix`, `swaks`, `iproute2` and `procps`
//! (installed when missing) and libpcap. The namespaces, veths and bridge
//! are removed and every process stopped, also when the test fails (drop
//! guards); the system's Postfix is not touched. On failure the daemon's
//! output and the tails of the Postfix and service logs are printed.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn postfix_with_live_p0f() {
    assert!(
        is_root(),
        "this test makes network namespaces, captures traffic and runs Debian's Postfix: it needs root (CI runs as root)"
    );
    ensure_packages(&[("/usr/sbin/ip", "iproute2"), ("/usr/sbin/sysctl", "procps")]);
    let started = Instant::now();
    let p0f = p0f_binary();
    // First, so that it is dropped last (after Postfix and the daemon).
    let net = LiveNet::create("pl", 234);
    let dir = LiveDir::create("p0f-mailpolicy-live", 2000, &net);

    let mut daemon = Daemon::start_rs(&p0f, dir.path(), &net);
    let _diag = daemon.diagnostics();
    net.probe();
    net.check_fingerprints(&daemon, Duration::from_secs(10));
    let sock2 = daemon.sock2.clone().expect("p0f-rs has a v2 socket");

    let lin = net.client(&LIN, 0);
    let win = net.client(&WIN, 0);
    let relay = net.client(&WIN, 1);
    let unk = net.client(&UNK, 0);

    // ------------------------------------------------------------ v3 API
    let service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    let postfix = net.postfix(&dir);
    // The daemon has not seen 10.234.0.21 (the relay client) before its
    // connection: the milter's connect-time query races the daemon's
    // processing of the SYN (the milter asks again when p0f does not know
    // the client yet). In v2 mode every connection is new to the daemon.
    net.v3_scenario(&postfix, "live-v3");
    let r = v3_query(&daemon.sock, &net.relay(), Duration::from_secs(10));
    assert_eq!(genre_of(&r), WIN.os, "relay client's own fingerprint");
    drop(service);

    // ------------------------------------------------------------ v2 API
    // Answers per connection (the milter sends {daemon_addr} and
    // {daemon_port}); the genre is p0f's OS name only.
    let service = dir.milter(format!("ident/p0f {} version 2", sock2.display()));
    let pf = &postfix;
    expect_delivered(
        pf,
        &lin,
        "live-v2-linux",
        true,
        Some("Linux"),
        Some(LIN.link),
    );
    expect_blocked(&win, "live-v2-windows", true);
    expect_delivered(
        pf,
        &relay,
        "live-v2-relay",
        true,
        Some("Windows"),
        Some(WIN.link),
    );
    expect_delivered(pf, &unk, "live-v2-unknown", true, None, Some(UNK.link));

    // ------------------------------------------------------- daemon stopped
    daemon.stop();
    assert!(
        !daemon.sock.exists() && !sock2.exists(),
        "p0f's sockets are gone after it stopped"
    );
    expect_delivered(pf, &lin, "live-stopped-v2", true, None, None);
    drop(service);
    let service = dir.milter(format!("ident/p0f {}", daemon.sock.display()));
    net.v3_stopped_scenario(pf, &service, "live-stopped-v3");
    eprintln!(
        "postfix_with_live_p0f: all checks passed in {:.1?}",
        started.elapsed()
    );
}
