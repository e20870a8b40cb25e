//! Helpers shared by the command's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `p0f` binary.
pub fn p0f() -> &'static str {
    env!("CARGO_BIN_EXE_p0f")
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The built-in copy of p0f 3.09b's facts, as a file `-f` can load.
pub fn stock_facts() -> PathBuf {
    repo().join("crates/p0f-sigdb/data/stock-3.09b.fp")
}

/// The shared data folder (`$P0F_SHARED`, or `../shared` beside the repo),
/// or None with a note when it is absent.
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("P0F_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    if dir.join("corpus/dev").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} not found; skipping the comparison with p0f 3.09b",
            dir.display()
        );
        None
    }
}

/// Runs p0f with TZ=UTC in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(p0f())
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .expect("run p0f")
}

/// The observation blocks of p0f's standard output.
pub fn blocks(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<&str>> = None;
    for line in stdout.lines() {
        if line.starts_with(".-[") {
            cur = Some(vec![line]);
        } else if let Some(c) = cur.as_mut() {
            c.push(line);
            if line.starts_with("`----") {
                out.push(cur.take().unwrap().join("\n"));
            }
        }
    }
    out
}

/// The keyword of a block, e.g. `syn+ack`.
pub fn kind(block: &str) -> &str {
    let head = block.lines().next().unwrap_or("");
    let open = head.rfind('(').map_or(0, |i| i + 1);
    let close = head.rfind(')').unwrap_or(head.len());
    &head[open..close.max(open)]
}
