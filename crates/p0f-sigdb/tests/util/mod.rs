//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use p0f_sigdb::*;

/// `$P0F_SHARED`, else `<workspace>/../shared`; None (with a note) if absent.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("P0F_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if dir.join("reference/p0f.fp").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} not found; skipping a test that needs the reference files",
            dir.display()
        );
        None
    }
}

pub fn stock_path() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("reference/p0f.fp"))
}

pub fn stock() -> Option<Database> {
    Some(Database::load(&stock_path()?).expect("stock database loads"))
}

/// Parses an inline test database, panicking with the error on failure.
pub fn db(text: &str) -> Database {
    Database::parse(text.as_bytes(), "test.fp").unwrap_or_else(|e| panic!("{e}"))
}

/// Parses an inline database that must fail; returns the error.
pub fn db_err(text: &str) -> DbError {
    match Database::parse(text.as_bytes(), "test.fp") {
        Ok(_) => panic!("database unexpectedly loaded:\n{text}"),
        Err(e) => e,
    }
}

/// Option layout (and EOL padding) from raw-signature text.
pub fn layout(text: &str) -> (OptLayout, u8, u16) {
    let mut l = OptLayout::new();
    let mut pad = 0;
    let mut bytes = 0u16;
    for tok in text.split(',').filter(|t| !t.is_empty()) {
        let (kind, len) = match tok {
            "nop" => (opt::NOP, 1),
            "mss" => (opt::MSS, 4),
            "ws" => (opt::WS, 3),
            "sok" => (opt::SOK, 2),
            "sack" => (opt::SACK, 10),
            "ts" => (opt::TS, 10),
            t if t.starts_with("eol+") => {
                pad = t[4..].parse().unwrap();
                (opt::EOL, 1 + u16::from(pad))
            }
            t if t.starts_with('?') => (t[1..].parse().unwrap(), 2),
            t => panic!("bad option {t}"),
        };
        assert!(l.push(kind));
        bytes += len;
    }
    (l, pad, bytes)
}

pub fn quirks(text: &str) -> Quirks {
    let mut q = Quirks::empty();
    for tok in text.split(',').filter(|t| !t.is_empty()) {
        let (bit, _) = Quirks::TOKENS
            .iter()
            .find(|(_, name)| *name == tok)
            .unwrap_or_else(|| panic!("bad quirk {tok}"));
        q.insert(*bit);
    }
    q
}

/// A packet observation. `layout` and `quirks` use raw-signature syntax.
#[allow(clippy::too_many_arguments)]
pub fn obs(
    ver: u8,
    ttl: u8,
    mss: u16,
    win: u16,
    wscale: u8,
    opts: &str,
    quirk_text: &str,
    payload: bool,
) -> TcpObserved {
    let (layout, eol_pad, opt_bytes) = layout(opts);
    let q = quirks(quirk_text);
    let has_ts = layout.as_slice().contains(&opt::TS);
    TcpObserved {
        ver,
        ttl,
        ip_opt_len: 0,
        mss,
        win,
        wscale,
        layout,
        eol_pad,
        quirks: q,
        has_payload: payload,
        tot_hdr: if ver == 6 { 40 } else { 20 } + 20 + opt_bytes,
        ts1: if has_ts && !q.contains(Quirks::OPT_ZERO_TS1) {
            12345
        } else {
            0
        },
    }
}

/// "name flavor" of a matched record, as p0f prints it.
pub fn label_text(db: &Database, response: bool, m: &TcpMatch) -> Option<String> {
    let rec = if response {
        &db.tcp_response[m.record? as usize]
    } else {
        &db.tcp_request[m.record? as usize]
    };
    let label = &db.labels[rec.label as usize];
    let name = &db.names[label.name as usize];
    Some(match &label.flavor {
        Some(f) => format!("{name} {f}"),
        None => name.clone(),
    })
}
