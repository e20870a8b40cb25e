//! `--summary` on real captures: the counts agree with the observations,
//! the JSON form is one final valid object, and the unmatched signatures
//! really are p0f.fp lines: pasted into a database, they match.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Captures of the shared corpus where some fingerprints match nothing,
/// in every section between them.
fn captures_with_unknowns(shared: &Path) -> Vec<PathBuf> {
    let dev = shared.join("corpus/dev");
    let mut all = Vec::new();
    for project in std::fs::read_dir(&dev).unwrap() {
        for f in std::fs::read_dir(project.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let name = p.to_string_lossy().into_owned();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                all.push(p);
            }
        }
    }
    // The biggest captures hold the variety.
    all.sort_by_key(|p| std::cmp::Reverse(p.metadata().map(|m| m.len()).unwrap_or(0)));
    all.truncate(12);
    all
}

fn run_json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let out = common::run_in(dir, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn label_text(label: &Value) -> String {
    match label["flavor"].as_str() {
        Some(f) => format!("{} {f}", label["name"].as_str().unwrap()),
        None => label["name"].as_str().unwrap().to_string(),
    }
}

const COUNTED: [&str; 6] = [
    "syn",
    "syn+ack",
    "http request",
    "http response",
    "smtp client",
    "smtp server",
];

#[test]
fn summary_counts_agree_with_the_observations() {
    let Some(shared) = common::shared() else {
        return;
    };
    let text =
        std::fs::read_to_string(common::repo().join("docs/p0f-observation.schema.json")).unwrap();
    let schema = jsonschema::options()
        .should_validate_formats(true)
        .build(&serde_json::from_str(&text).unwrap())
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut listed = 0;
    for pcap in captures_with_unknowns(&shared) {
        let p = pcap.to_str().unwrap();
        let lines = run_json(tmp.path(), &["--json", "--summary", "-r", p]);
        let (summary, observations) = lines.split_last().expect("a summary");
        assert!(schema.is_valid(summary), "{summary}");
        assert_eq!(summary["kind"], "summary");
        let (mut os, mut app, mut unknown) = (BTreeMap::new(), BTreeMap::new(), 0u64);
        let mut smtp = BTreeMap::new();
        let mut unmatched_http = BTreeMap::<(String, String), u64>::new();
        for o in observations
            .iter()
            .filter(|o| COUNTED.contains(&o["kind"].as_str().unwrap()))
        {
            assert!(schema.is_valid(o));
            let (key, label) = match o.get("os") {
                Some(l) => ("os", l),
                None => ("app", &o["app"]),
            };
            if label.is_null() {
                unknown += 1;
                if o["kind"].as_str().unwrap().starts_with("http") {
                    let k = (
                        o["kind"].as_str().unwrap().to_string(),
                        o["raw_sig"].as_str().unwrap().to_string(),
                    );
                    *unmatched_http.entry(k).or_default() += 1;
                }
            } else {
                let map = if key == "os" {
                    &mut os
                } else if o["kind"].as_str().unwrap().starts_with("smtp") {
                    &mut smtp
                } else {
                    &mut app
                };
                *map.entry(label_text(label)).or_insert(0u64) += 1;
            }
        }
        let counts = |v: &Value| -> BTreeMap<String, u64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["value"].as_str().unwrap().to_string(),
                        c["count"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(counts(&summary["os"]), os, "{p}");
        assert_eq!(counts(&summary["app"]), app, "{p}");
        let smtp_counts = summary.get("smtp").map(counts).unwrap_or_default();
        assert_eq!(smtp_counts, smtp, "{p}");
        assert_eq!(summary["unmatched_total"], unknown, "{p}");
        // Each unmatched fingerprint is counted once in its section, under
        // its own signature or one that covers it (while the list is short
        // enough to hold them all).
        let mut per_kind = BTreeMap::<String, (u64, usize)>::new();
        for u in summary["unmatched"].as_array().unwrap() {
            listed += 1;
            let e = per_kind
                .entry(u["kind"].as_str().unwrap().to_string())
                .or_default();
            e.0 += u["count"].as_u64().unwrap();
            e.1 += 1;
        }
        let mut http_unknown = BTreeMap::<String, u64>::new();
        for ((kind, _), n) in &unmatched_http {
            *http_unknown.entry(kind.clone()).or_default() += n;
        }
        for (kind, n) in &http_unknown {
            let (listed_count, entries) = per_kind.get(kind).copied().unwrap_or_default();
            if entries < 20 {
                assert_eq!(listed_count, *n, "{p}: {kind}");
            }
        }
        // Most frequent first within a section.
        let unmatched = summary["unmatched"].as_array().unwrap();
        for w in unmatched.windows(2) {
            if w[0]["section"] == w[1]["section"] {
                assert!(w[0]["count"].as_u64() >= w[1]["count"].as_u64());
            }
        }

        // The text form prints the same table.
        let out = common::run_in(tmp.path(), &["--summary", "-r", p]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let table = &stdout[stdout.find("\n-- Summary --\n").expect("a summary")..];
        for (value, count) in os.iter().chain(&app) {
            assert!(
                table.contains(&format!("  {count:>8}  {value}\n")),
                "{value} in {table}"
            );
        }
        assert!(table.contains(&format!("No match: {unknown} fingerprints.")));
    }
    assert!(listed > 0, "the sample has unmatched signatures");
}

/// The p0f.fp lines of a text summary.
fn fp_lines(stdout: &str) -> &str {
    let start = stdout
        .find("; Most frequent signatures")
        .expect("unmatched signatures");
    &stdout[start..]
}

#[test]
fn unmatched_signatures_paste_into_a_database_and_match() {
    let Some(shared) = common::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let builtin =
        std::fs::read_to_string(common::repo().join("crates/p0f-sigdb/data/p0f-rs.fp")).unwrap();
    let mut pasted_any = false;
    for pcap in captures_with_unknowns(&shared) {
        let p = pcap.to_str().unwrap();
        let out = common::run_in(tmp.path(), &["--summary", "-r", p]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !stdout.contains("; Most frequent signatures") {
            continue;
        }
        let before = run_json(tmp.path(), &["--json", "--summary", "-r", p]);
        let before = before.last().unwrap();
        let db = tmp.path().join("extended.fp");
        std::fs::write(&db, format!("{builtin}\n{}", fp_lines(&stdout))).unwrap();
        let lines = run_json(
            tmp.path(),
            &["--json", "--summary", "-f", db.to_str().unwrap(), "-r", p],
        );
        let after = lines.last().unwrap();
        // Every listed signature now matches its own placeholder label...
        let listed: u64 = before["unmatched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["count"].as_u64().unwrap())
            .sum();
        let identified: u64 = ["os", "app", "smtp"]
            .iter()
            .filter_map(|k| after.get(*k).and_then(Value::as_array))
            .flatten()
            .filter(|c| c["value"] == "Unidentified")
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        assert!(
            identified >= listed,
            "{p}: {identified} < {listed}\n{after}"
        );
        // ...and so is no longer listed.
        for u in before["unmatched"].as_array().unwrap() {
            assert!(
                !after["unmatched"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v["sig"] == u["sig"]),
                "{p}: {} still unmatched",
                u["sig"]
            );
        }
        pasted_any = true;
    }
    assert!(pasted_any);
}
