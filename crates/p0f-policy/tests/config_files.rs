//! Files named by the configuration that are not regular files: a device
//! or a FIFO given as a block list must be a clear error at once, not a
//! read that never ends (found while writing the config fuzz target).

use std::path::Path;
use std::time::{Duration, Instant};

use p0f_policy::config::{load_unvalidated, read_file};

#[test]
fn a_device_is_refused_not_read_forever() {
    let t = Instant::now();
    let e = load_unvalidated(None, None, Some(Path::new("/dev/zero"))).unwrap_err();
    assert_eq!(e.place, "/dev/zero");
    assert_eq!(e.reason, "not a regular file");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("blocked");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    // Nobody writes to the FIFO: opening it for reading would block.
    let e = read_file(&fifo).unwrap_err();
    assert_eq!(e.reason, "not a regular file");
}

#[test]
fn regular_files_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("blocked");
    std::fs::write(&f, "/^windows/\n").unwrap();
    assert_eq!(read_file(&f).unwrap(), "/^windows/\n");
    std::fs::write(&f, vec![b'#'; 4 * 1024 * 1024 + 1]).unwrap();
    assert!(read_file(&f).unwrap_err().reason.contains("4194304"));
}

/// The complete example of `docs/mail-policy.md` (its first TOML block)
/// loads: an operator copies it as it stands. (It once had top-level keys
/// after a table header, where TOML files them under that table.)
#[test]
fn the_documented_example_configuration_loads() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mail-policy.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let start = doc.find("```toml\n").expect("a TOML block") + "```toml\n".len();
    let len = doc[start..].find("```").expect("its end");
    let example = &doc[start..start + len];
    let cfg = p0f_policy::config::parse_native(example, std::path::Path::new("mail-policy.toml"))
        .unwrap_or_else(|e| panic!("docs/mail-policy.md example: {e}"));
    assert_eq!(cfg.instances.len(), 1);
    assert_eq!(cfg.trusted_networks.len(), 3);
    assert_eq!(cfg.exempt_recipients.len(), 2);
    assert_eq!(
        cfg.rules.len(),
        3,
        "two blocked_os patterns and one [[block]]"
    );
}
