//! `--json` and `--log-format json` over the whole shared corpus: every line
//! is valid against docs/p0f-observation.schema.json (checked by a JSON
//! Schema validator, formats included), and says what p0f's text log line
//! for the same observation says.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(common::repo().join("docs/p0f-observation.schema.json"))
        .expect("the schema is in docs/");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid JSON Schema")
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Fails with the first few schema errors of `line`.
fn assert_valid(v: &jsonschema::Validator, line: &str, what: &str) -> Value {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"));
    let errors: Vec<String> = v
        .iter_errors(&value)
        .take(3)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{line}");
    value
}

/// The `key=value` fields of a p0f log line after `subj=`, keyed by name
/// (values may contain `|`, so each key is found by the next known key).
fn log_fields(line: &str) -> BTreeMap<String, String> {
    let rest = line.split_once("] ").expect("a stamp").1;
    let mut map = BTreeMap::new();
    let mut key = String::new();
    for p in rest.split('|') {
        match p.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                key = k.to_string();
                map.insert(key.clone(), v.to_string());
            }
            _ => {
                let v = map.get_mut(&key).expect("a value continues a key");
                v.push('|');
                v.push_str(p);
            }
        }
    }
    map
}

fn endpoint_matches(json: &Value, text: &str) -> bool {
    let (addr, port) = text.rsplit_once('/').unwrap();
    let a: IpAddr = json["addr"].as_str().unwrap().parse().unwrap();
    let b: IpAddr = addr.parse().unwrap();
    a == b && json["port"].as_u64() == port.parse().ok()
}

/// The JSON object says what the text line says.
fn assert_same(json: &Value, line: &str, what: &str) {
    let f = log_fields(line);
    let ctx = || format!("{what}:\n{json}\n{line}");
    assert_eq!(
        json["kind"].as_str(),
        f.get("mod").map(String::as_str),
        "{}",
        ctx()
    );
    assert!(endpoint_matches(&json["client"], &f["cli"]), "{}", ctx());
    assert!(endpoint_matches(&json["server"], &f["srv"]), "{}", ctx());
    let subj = if json["subject"] == "client" {
        "cli"
    } else {
        "srv"
    };
    assert_eq!(f["subj"], subj, "{}", ctx());
    for (key, text) in &f {
        let value = &json[key.as_str()];
        let ok = match key.as_str() {
            "mod" | "cli" | "srv" | "subj" => true,
            "os" | "app" => match value {
                Value::Null => text == "???",
                label => {
                    let name = label["name"].as_str().unwrap();
                    let full = match label["flavor"].as_str() {
                        Some(fl) => format!("{name} {fl}"),
                        None => name.to_string(),
                    };
                    *text == full
                }
            },
            "dist" => {
                let n = value.as_u64().unwrap().to_string();
                if json["dist_upper_bound"] == true {
                    *text == format!("<= {n}")
                } else {
                    *text == n
                }
            }
            "params" | "reason" => {
                let words: Vec<&str> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap())
                    .collect();
                match words.is_empty() {
                    true => text == "none" || text == "???",
                    false => *text == words.join(" "),
                }
            }
            "flags" => {
                let flags: Vec<&str> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap())
                    .collect();
                match flags.is_empty() {
                    true => text == "none",
                    false => *text == flags.join(","),
                }
            }
            "raw_mtu" => Some(text.as_str()) == value.as_u64().map(|n| n.to_string()).as_deref(),
            "raw_freq" => {
                let hz: f64 = text.trim_end_matches(" Hz").parse().unwrap();
                (hz - value.as_f64().unwrap()).abs() < 0.006
            }
            "uptime" => {
                let secs = value.as_u64().unwrap();
                let m = secs / 60;
                let days = json["uptime_modulo_days"].as_u64().unwrap();
                *text
                    == format!(
                        "{} days {} hrs {} min (modulo {days} days)",
                        m / 60 / 24,
                        (m / 60) % 24,
                        m % 60
                    )
            }
            "raw_hits" => {
                let n: Vec<String> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.to_string())
                    .collect();
                *text == n.join(",")
            }
            "lang" => match value {
                Value::Null => text == "none",
                Value::String(s) if s == "unknown" => text == "???",
                v => Some(text.as_str()) == v.as_str(),
            },
            _ => match value {
                Value::Null => text == "???",
                v => Some(text.as_str()) == v.as_str(),
            },
        };
        assert!(ok, "field {key}: {}", ctx());
    }
}

#[test]
fn json_lines_valid_and_faithful_over_the_corpus() {
    let Some(shared) = common::shared() else {
        return;
    };
    let v = validator();
    let tmp = tempfile::tempdir().unwrap();
    let files = captures(&shared.join("corpus/dev"));
    assert!(files.len() > 100, "the corpus is there");
    let (mut objects, mut kinds) = (0usize, BTreeMap::<String, usize>::new());
    for (i, pcap) in files.iter().enumerate() {
        let log = tmp.path().join(format!("{i}.log"));
        let out = common::run_in(
            tmp.path(),
            &[
                "--json",
                "-r",
                pcap.to_str().unwrap(),
                "-o",
                log.to_str().unwrap(),
            ],
        );
        let what = pcap.display().to_string();
        let stdout = String::from_utf8(out.stdout).expect("UTF-8 JSON");
        let text_log = std::fs::read_to_string(&log).unwrap_or_default();
        let json_lines: Vec<&str> = stdout.lines().collect();
        let text_lines: Vec<&str> = text_log.lines().collect();
        assert_eq!(
            json_lines.len(),
            text_lines.len(),
            "{what}: one object per log line"
        );
        for (j, t) in json_lines.iter().zip(&text_lines) {
            let value = assert_valid(&v, j, &what);
            assert_same(&value, t, &what);
            *kinds
                .entry(value["kind"].as_str().unwrap().to_string())
                .or_default() += 1;
            objects += 1;
        }
        if out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("All done. Processed"),
                "{what}: status on stderr"
            );
        }
    }
    eprintln!("{objects} objects from {} captures: {kinds:?}", files.len());
    for k in [
        "syn",
        "syn+ack",
        "mtu",
        "uptime",
        "http request",
        "http response",
        "host change",
        "smtp client",
        "smtp server",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "the corpus has {k} observations"
        );
    }
}

/// A few captures with every kind of observation between them.
fn sample_captures(shared: &Path) -> Vec<PathBuf> {
    let all = captures(&shared.join("corpus/dev"));
    let mut picked: Vec<PathBuf> = all.iter().step_by(97).cloned().collect();
    // The busiest ones, where HTTP and NAT observations live.
    let mut by_size: Vec<&PathBuf> = all.iter().collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.metadata().map(|m| m.len()).unwrap_or(0)));
    picked.extend(by_size.into_iter().take(5).cloned());
    picked
}

#[test]
fn json_log_equals_json_stdout() {
    let Some(shared) = common::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (i, pcap) in sample_captures(&shared).iter().enumerate() {
        let log = tmp.path().join(format!("{i}.jsonl"));
        let out = common::run_in(
            tmp.path(),
            &[
                "--json",
                "-r",
                pcap.to_str().unwrap(),
                "-o",
                log.to_str().unwrap(),
                "--log-format",
                "json",
            ],
        );
        let logged = std::fs::read(&log).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&logged),
            "{}",
            pcap.display()
        );
        // Without --json, the console keeps p0f's text and only the log is JSON.
        std::fs::remove_file(&log).ok();
        let text = common::run_in(
            tmp.path(),
            &[
                "-r",
                pcap.to_str().unwrap(),
                "-o",
                log.to_str().unwrap(),
                "--log-format",
                "json",
            ],
        );
        let stdout = String::from_utf8_lossy(&text.stdout);
        assert!(
            stdout.starts_with("--- p0f-rs "),
            "banner on a text console"
        );
        assert_eq!(std::fs::read(&log).unwrap_or_default(), logged);
    }
}
