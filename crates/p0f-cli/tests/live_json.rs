//! The live daemon with `--json` and `p0f-client --json`, end to end on
//! loopback, checked against the schemas in docs/.

mod live_support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use live_support::*;
use serde_json::Value;

const LO4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn validator(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn valid(v: &jsonschema::Validator, line: &str) -> Value {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let errors: Vec<String> = v.iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{line}");
    value
}

fn client_json(sock: &Path, addr: &str) -> (Value, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_p0f-client"))
        .arg("--json")
        .arg(sock)
        .arg(addr)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    (
        valid(&validator("p0f-client.schema.json"), &text),
        out.status.success(),
    )
}

#[test]
fn live_json_lines_and_client_json() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("p0f.jsonl");
    let log_arg = log.to_str().unwrap();
    let mut d = Daemon::start(srv.port, &["--json", "-o", log_arg, "--log-format", "json"]);
    assert!(d.stderr.text().contains("--- p0f-rs "), "banner on stderr");
    srv.connect(LO4);
    srv.connect(LO4);
    // Loopback is both ends: 2 flows per connection, once both are seen.
    let end = Instant::now() + Duration::from_secs(5);
    let mut r = query_until_known(&d.sock, LO4);
    while r.total_conn < 4 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        r = query(&d.sock, LO4);
    }
    assert_eq!(r.total_conn, 4);

    let (v, ok) = client_json(&d.sock, "127.0.0.1");
    assert!(ok);
    assert_eq!(v["status"], "ok");
    // The same verdict as the binary reply, whichever database is built in.
    assert_eq!(v["os"]["name"], "Linux");
    assert_eq!(v["os"]["name"], r.os_name.as_string());
    assert_eq!(v["os"]["flavor"], r.os_flavor.as_string());
    assert_eq!(v["os"]["generic"], r.os_match_q & 0x02 != 0);
    assert_eq!(v["os"]["fuzzy"], r.os_match_q & 0x01 != 0);
    assert_eq!(v["distance"], 0);
    assert_eq!(v["total_conn"], r.total_conn);
    assert_eq!(v["first_seen_unix"], r.first_seen);
    let (v, ok) = client_json(&d.sock, "192.0.2.77");
    assert!(ok);
    assert_eq!(v["status"], "no_match");

    // The observations of both connections: SYN, SYN+ACK and MTU at least.
    let schema = validator("p0f-observation.schema.json");
    let end = Instant::now() + Duration::from_secs(5);
    while d.stdout.text().lines().count() < 6 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = d.stop();
    assert!(st.success(), "{st:?}");
    let stdout = d.stdout.text();
    let mut kinds = Vec::new();
    for line in stdout.lines() {
        let v = valid(&schema, line);
        kinds.push(v["kind"].as_str().unwrap().to_string());
        assert_eq!(v["server"]["port"], srv.port);
    }
    for k in ["syn", "syn+ack", "mtu"] {
        assert!(kinds.iter().any(|x| x == k), "no {k} in {kinds:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        stdout,
        "log = stdout"
    );
    assert!(d.stderr.text().contains("All done. Processed "));
}
