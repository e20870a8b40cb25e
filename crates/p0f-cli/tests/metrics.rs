//! `--metrics`: the live daemon's /metrics and /healthz, scraped with a real
//! HTTP client (ureq) and checked with Debian's `promtool check metrics`.

mod live_support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use live_support::*;
use p0f_api::v3;

const LO4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// promtool, or None outside CI when it is not installed.
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return Some("promtool");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("promtool (Debian package prometheus) is needed in CI");
    }
    eprintln!("note: skipping the promtool check: install Debian's prometheus package");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of the sample line `name` (labels included) in `text`.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

fn scrape(url: &str) -> (String, String) {
    let mut r = ureq::get(url).call().expect("scrape");
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (ctype, r.body_mut().read_to_string().unwrap())
}

#[test]
fn metrics_scraped_and_promtool_clean() {
    if !can_capture() {
        return;
    }
    let promtool = promtool();
    let srv = Server::new();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut d = Daemon::start(srv.port, &["--metrics", &listen]);
    assert!(
        d.stdout
            .text()
            .contains(&format!("[+] Serving metrics on http://{listen}/metrics")),
        "{}",
        d.stdout.text()
    );
    srv.connect(LO4);
    srv.connect(LO4);
    assert_eq!(query_until_known(&d.sock, LO4).status, v3::Status::Ok);
    assert_eq!(
        query(&d.sock, "192.0.2.55".parse().unwrap()).status,
        v3::Status::NoMatch
    );
    let mut bad = v3::Query { addr: LO4 }.encode();
    bad[0] ^= 0xff;
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(&bad).unwrap();
    let mut reply = [0u8; v3::RESPONSE_LEN];
    s.read_exact(&mut reply).unwrap();
    drop(s);
    // A client that stays connected.
    let held = UnixStream::connect(&d.sock).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));

    let base = format!("http://{listen}");
    let (ctype, text) = scrape(&format!("{base}/metrics"));
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    assert!(
        sample(&text, "p0f_packets_processed_total") >= 6.0,
        "{text}"
    );
    assert!(sample(&text, "p0f_packets_received_total") >= 0.0);
    assert_eq!(
        sample(&text, "p0f_packets_dropped_total{reason=\"buffer\"}"),
        0.0
    );
    assert!(sample(&text, "p0f_observations_total{kind=\"syn\"}") >= 2.0);
    assert!(sample(&text, "p0f_observations_total{kind=\"syn+ack\"}") >= 2.0);
    assert!(sample(&text, "p0f_os_fingerprints_total{os=\"Linux\"}") >= 2.0);
    assert!(sample(&text, "p0f_flows_created_total") >= 2.0);
    assert!(sample(&text, "p0f_hosts_tracked") >= 1.0);
    let ok = sample(&text, "p0f_api_queries_total{api=\"v3\",status=\"ok\"}");
    let none = sample(
        &text,
        "p0f_api_queries_total{api=\"v3\",status=\"no_match\"}",
    );
    let bad = sample(
        &text,
        "p0f_api_queries_total{api=\"v3\",status=\"bad_query\"}",
    );
    assert!(ok >= 1.0 && none == 1.0 && bad == 1.0, "{text}");
    assert_eq!(
        sample(&text, "p0f_api_query_duration_seconds_count"),
        ok + none + bad
    );
    assert_eq!(
        sample(&text, "p0f_api_query_duration_seconds_bucket{le=\"+Inf\"}"),
        ok + none + bad
    );
    // The no-match query waited for the 50 ms catch-up.
    assert!(sample(&text, "p0f_api_query_duration_seconds_sum") >= 0.05);
    assert_eq!(sample(&text, "p0f_api_clients_open"), 1.0);
    assert_eq!(sample(&text, "p0f_api_clients_refused_total"), 0.0);
    let age = sample(&text, "p0f_last_packet_age_seconds");
    assert!((0.0..30.0).contains(&age), "{age}");
    assert_eq!(sample(&text, "p0f_up"), 1.0);
    // The default ring: 32 MiB at 5 ms, 128 blocks of 256 KiB.
    assert_eq!(sample(&text, "p0f_capture_buffer_bytes"), 33554432.0);
    assert_eq!(sample(&text, "p0f_capture_block_timeout_seconds"), 0.005);
    assert_eq!(sample(&text, "p0f_capture_stall_tolerance_seconds"), 0.64);
    drop(held);

    if let Some(promtool) = promtool {
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool: {said}\n{text}");
        assert!(said.trim().is_empty(), "promtool lint: {said}");
    }

    // OpenMetrics for scrapers that ask for it.
    let mut r = ureq::get(&format!("{base}/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .call()
        .unwrap();
    let ctype = r
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(r.body_mut().read_to_string().unwrap().ends_with("# EOF\n"));

    let (_, health) = scrape(&format!("{base}/healthz"));
    assert_eq!(health, "ok\n");
    let missing = ureq::get(&format!("{base}/nothing")).call();
    assert!(
        matches!(missing, Err(ureq::Error::StatusCode(404))),
        "{missing:?}"
    );

    assert!(d.stop().success());
}
