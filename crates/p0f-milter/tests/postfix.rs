//! End to end on Debian's Postfix: install it (and swaks) if missing, run
//! an instance of the test's own on loopback (`support::isolated::Mta`:
//! 127.0.0.1 and ::1, a free port), wire in `p0f-mailpolicy` as a milter
//! and then as a policy service, send mail with swaks and look at the
//! mailbox.
//!
//! Needs root (CI runs as root). Everything is started here and stopped at
//! the end; the system's Postfix is not touched.
//!
//! "The p0f service" here is a fake p0f ([`start_p0f_service`]) answering
//! configured replies per client address, so that this test can cover the
//! protocol details (policy delegation, IPv6 clients, v2 4-tuple queries,
//! several instances) with fingerprints the local stack could never
//! produce. `postfix_live.rs` runs the same checks against the live p0f
//! daemon and clients in network namespaces.

mod support;

use std::net::{IpAddr, TcpStream};
use std::path::Path;

use p0f_policy::fake::{v2_os, v3_os, FakeP0f};
use support::isolated::Mta;
use support::*;

const WINDOWS: &str = "127.0.0.2";
const TRUSTED_WINDOWS: &str = "127.0.0.3";
const LINUX: &str = "127.0.0.4";
const V2_ONLY: &str = "127.0.0.5";

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

#[test]
fn postfix_end_to_end() {
    assert!(
        is_root(),
        "this test configures and starts Debian's Postfix and needs root (CI runs as root)"
    );
    ensure_packages(&[]);
    let dir = test_dir("p0f-mailpolicy-test");
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
    let service_log = dir.path().join("service.log");

    // ---------------------------------------------------------------- milter
    let ms = milter_sock.clone();
    let milter = Service::start(
        &service_log,
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
    let port = free_port(&["127.0.0.1", "::1"]);
    let postfix = Mta::start_on(
        "p0fpf",
        None,
        &[("127.0.0.1", port), ("[::1]", port)],
        &[
            format!("smtpd_milters = unix:{}", milter_sock.display()),
            "milter_default_action = accept".into(),
        ],
    );
    let lo = |addr: &str| Client::loopback(addr, &postfix);

    expect_delivered(
        &postfix,
        &lo(LINUX),
        "milter-linux",
        true,
        Some("Linux 3.11 and newer"),
        Some("Ethernet or modem"),
    );
    expect_blocked(&lo(WINDOWS), "milter-windows", true);
    expect_delivered(
        &postfix,
        &lo(TRUSTED_WINDOWS),
        "milter-trusted",
        false,
        Some("Windows 7 or 8"),
        Some("Ethernet or modem"),
    );
    expect_delivered(
        &postfix,
        &lo("::1"),
        "milter-ipv6",
        true,
        Some("Mac OS X 10.9 or newer"),
        Some("DSL"),
    );
    // Only the v2 instance knows this client: needs the 4-tuple, i.e. the
    // {daemon_port} macro that the milter asks Postfix for.
    expect_delivered(
        &postfix,
        &lo(V2_ONLY),
        "milter-v2",
        false,
        Some("FreeBSD"),
        Some("ethernet/modem"),
    );
    let v2q = fake.v2_queries();
    assert!(
        v2q.iter()
            .any(|q| q.src.to_string() == V2_ONLY && q.dst_port == port && q.src_port != 0),
        "v2 queries carry the 4-tuple: {v2q:?}"
    );
    assert!(
        fake.v3_queries()
            .contains(&"::1".parse::<IpAddr>().unwrap()),
        "IPv6 client asked as IPv6"
    );

    // p0f gone: mail still flows, unfingerprinted, forged headers removed.
    drop(fake);
    expect_delivered(&postfix, &lo(WINDOWS), "milter-no-p0f", true, None, None);
    drop(milter);

    // ---------------------------------------------------------------- policy
    let fake = start_p0f_service(&p0f_sock);
    let policy_port = free_port(&["127.0.0.1"]);
    let _policy = Service::start(
        &service_log,
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
    let s = send(
        &lo(LINUX),
        &[RCPT, "p0ftest+b@gl.test"],
        "policy-linux",
        false,
    );
    assert!(s.ok, "policy-linux refused:\n{}", s.transcript);
    let h = postfix.delivered("policy-linux");
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
    expect_blocked(&lo(WINDOWS), "policy-windows", false);
    expect_delivered(
        &postfix,
        &lo(TRUSTED_WINDOWS),
        "policy-trusted",
        false,
        Some("Windows 7 or 8"),
        Some("Ethernet or modem"),
    );
    drop(fake);
    expect_delivered(&postfix, &lo(WINDOWS), "policy-no-p0f", false, None, None);
    drop(postfix);
}
