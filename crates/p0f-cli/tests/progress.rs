//! The `-r` progress bar: shown on a terminal (a pseudo-terminal made by
//! util-linux's `script`), never on a pipe unless `--progress` asks, never
//! with `--no-progress`, and never on standard output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What only the bar prints: `N packets, RATE`.
const BAR: &str = " packets, ";

/// A classic little-endian pcap of the corpus, its records repeated until
/// the file has about `packets` packets, so that reading it takes a while.
fn big_capture(shared: &Path, dir: &Path, packets: usize) -> PathBuf {
    let mut best: Option<(usize, Vec<u8>)> = None;
    for project in std::fs::read_dir(shared.join("corpus/dev")).unwrap() {
        for f in std::fs::read_dir(project.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_none_or(|e| e != "pcap") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            if data.len() < 24 || data[..4] != [0xd4, 0xc3, 0xb2, 0xa1] || data[20] != 1 {
                continue;
            }
            if best.as_ref().is_none_or(|(n, _)| data.len() > *n) {
                best = Some((data.len(), data));
            }
        }
    }
    let (_, data) = best.expect("an Ethernet pcap in the corpus");
    // Whole records only.
    let mut end = 24;
    let mut count = 0;
    while end + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[end + 8..end + 12].try_into().unwrap()) as usize;
        if end + 16 + incl > data.len() {
            break;
        }
        end += 16 + incl;
        count += 1;
    }
    let mut out = data[..24].to_vec();
    for _ in 0..packets.div_ceil(count.max(1)) {
        out.extend_from_slice(&data[24..end]);
    }
    let path = dir.join("big.pcap");
    std::fs::write(&path, out).unwrap();
    path
}

/// Runs p0f under a pseudo-terminal; returns everything the terminal got.
fn on_terminal(args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(common::p0f())
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .env("TERM", "xterm")
        .env("TZ", "UTC")
        .output()
        .expect("util-linux's script makes a pseudo-terminal");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_bar_on_terminals_only() {
    let Some(shared) = common::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let pcap = big_capture(&shared, tmp.path(), 300_000);
    let p = pcap.to_str().unwrap();

    let tty = on_terminal(&["-r", p]);
    assert!(tty.contains(BAR), "no bar on a terminal:\n{tty}");
    assert!(tty.contains('%'), "no share read:\n{tty}");
    assert!(tty.contains("All done. Processed "));
    let tty = on_terminal(&["-r", p, "--no-progress"]);
    assert!(!tty.contains(BAR), "--no-progress shows a bar");

    let piped = common::run_in(tmp.path(), &["-r", p]);
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stderr).contains(BAR));
    let forced = common::run_in(tmp.path(), &["-r", p, "--progress"]);
    assert!(forced.status.success());
    let stderr = String::from_utf8_lossy(&forced.stderr);
    assert!(stderr.contains(BAR), "--progress on a pipe: {stderr}");
    // The bar lives on stderr only.
    assert_eq!(forced.stdout, piped.stdout);
}
