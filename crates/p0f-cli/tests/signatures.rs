//! Floors on the labelled evidence for the built-in database, through the
//! scoring tool users run (`tools/sigscore.py`). A later edit of
//! `p0f-rs.fp` that loses a family, or makes a specific claim unreliable,
//! fails here.

mod common;

use std::process::Command;

/// Runs sigscore.py with `args`; returns its report, failing on a missed floor.
fn score(args: &[&str]) -> String {
    let repo = common::repo();
    let out = Command::new("python3")
        .arg(repo.join("tools/sigscore.py"))
        .args(["--p0f", common::p0f()])
        .args(args)
        .current_dir(&repo)
        .output()
        .expect("python3 runs the scoring tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "a floor was not met:\n{text}");
    text
}

const OWN: [&str; 6] = [
    "samples/labelled/stacks.pcap",
    "samples/labelled/labels.txt",
    "samples/labelled/http.pcap",
    "samples/labelled/labels.txt",
    "samples/labelled/scanners.pcap",
    "samples/labelled/labels.txt",
];

#[test]
fn own_captures_get_their_family() {
    // Every stack profile, IPv4 and IPv6, and every scanner is named right.
    let mut args = OWN.to_vec();
    args.extend([
        "--floor",
        "Linux=100",
        "--floor",
        "Android=100",
        "--floor",
        "scanner=100",
        "--min-precision",
        "100",
    ]);
    let text = score(&args);
    assert!(text.contains("SYNs scored: 37"), "{text}");
}

#[test]
fn stock_facts_miss_what_the_new_database_names() {
    // The same captures with --bug-compat (p0f 3.09b's facts): the floors
    // above would fail, so they measure the new database, not the tool.
    let repo = common::repo();
    let out = Command::new("python3")
        .arg(repo.join("tools/sigscore.py"))
        .args(["--p0f", common::p0f(), "--bug-compat"])
        .args(OWN)
        .args(["--floor", "Android=100"])
        .current_dir(&repo)
        .output()
        .expect("python3 runs the scoring tool");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Android      0.0%"), "{text}");
}

#[test]
fn public_captures_labelled_by_user_agent() {
    // Held-out SYNs from the shared corpus (never used to write a signature).
    let Some(shared) = common::shared() else {
        return;
    };
    let base = shared.join("corpus/dev");
    score(&[
        "--set",
        "samples/labelled/corpus-labels.txt",
        "--base",
        base.to_str().unwrap(),
        "--floor",
        "Android=90",
        "--floor",
        "Windows=90",
        "--floor",
        "Linux=90",
        "--floor",
        "Apple=50",
        "--precision",
        "Android=95",
        "--precision",
        "Apple=95",
        "--precision",
        "Windows=95",
    ]);
}

#[test]
fn corpus_syns_stock_names_rightly() {
    // --named-by keeps the SYNs p0f 3.09b's facts name in their family (an
    // Android SYN counting when stock says Linux): on the corpus that drops
    // the 11 Safari-UA SYNs of a Linux host, 2 other Apple SYNs and a
    // Windows one behind a proxy, and on what is left every Apple and
    // Windows SYN must be named.
    let Some(shared) = common::shared() else {
        return;
    };
    let base = shared.join("corpus/dev");
    let stock = shared.join("reference/p0f.fp");
    let text = score(&[
        "--set",
        "samples/labelled/corpus-labels.txt",
        "--base",
        base.to_str().unwrap(),
        "--named-by",
        stock.to_str().unwrap(),
        "--floor",
        "Apple=100",
        "--floor",
        "Windows=100",
        "--floor",
        "Android=90",
    ]);
    assert!(text.contains("SYNs scored: 74\n"), "{text}");
}
