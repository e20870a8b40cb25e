//! p0f-rs against p0f 3.09b's own output on the shared corpus of real
//! captures, through the project's comparison tool.

mod common;

use std::process::Command;

fn compare(extra: &[&str]) -> String {
    let Some(shared) = common::shared() else {
        return String::new();
    };
    let out = Command::new("python3")
        .arg(shared.join("tools/p0f-diff.py"))
        .args([
            "--candidate",
            common::p0f(),
            "--candidate-args=--bug-compat",
        ])
        .args(extra)
        .arg(shared.join("corpus/dev"))
        .output()
        .expect("python3 runs the comparison tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("files identical"))
        .expect("a summary line");
    let counts = summary["files identical ".len()..]
        .split(';')
        .next()
        .unwrap();
    let (same, all) = counts.split_once('/').unwrap();
    assert_eq!(same, all, "every capture must match p0f 3.09b: {summary}");
    assert!(out.status.success());
    text
}

#[test]
fn tcp_blocks_identical_to_p0f() {
    compare(&["--kinds", "syn,syn+ack,mtu,uptime"]);
}

#[test]
fn whole_output_identical_to_p0f() {
    compare(&[]);
}
