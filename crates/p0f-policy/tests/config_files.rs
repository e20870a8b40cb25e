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
