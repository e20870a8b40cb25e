//! Tests against p0f's stock database, when the shared reference is present.

use std::path::PathBuf;

use p0f_sigdb::*;

fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("P0F_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if dir.join("reference/p0f.fp").is_file() {
        Some(dir)
    } else {
        eprintln!("note: {} not found; skipping stock-database test", dir.display());
        None
    }
}

fn stock() -> Option<Database> {
    let dir = shared_dir()?;
    Some(Database::load(&dir.join("reference/p0f.fp")).expect("stock database loads"))
}

#[test]
fn stock_loads_with_expected_counts() {
    let Some(db) = stock() else { return };
    assert_eq!(db.sig_count(), 322);
    assert_eq!(db.mtu.len(), 25);
    assert_eq!(db.tcp_request.len(), 91);
    assert_eq!(db.tcp_response.len(), 101);
    assert_eq!(db.http_request.len(), 85);
    assert_eq!(db.http_response.len(), 20);
    assert_eq!(db.classes, ["win", "unix", "other"]);
    assert_eq!(db.ua_os.len(), 9);
}
