//! A SYN flood from a million distinct addresses must not grow memory
//! beyond what the `-m` limits reserve. The test writes the flood as a
//! capture file, runs `p0f -r` on it and on a small capture, and compares
//! their peak resident sizes (the daemon runs the same engine).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn write_flood(path: &Path, count: u32) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    // Classic pcap, microseconds, Ethernet.
    let mut hdr = Vec::new();
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&65535u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&hdr).unwrap();
    let mut frame = [0u8; 14 + 20 + 24];
    frame[12] = 0x08;
    let ip = &mut frame[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&44u16.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    ip[16..20].copy_from_slice(&[192, 0, 2, 1]);
    let tcp = &mut frame[34..58];
    tcp[2..4].copy_from_slice(&25u16.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = 0x02;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]);
    for i in 0..count {
        let src = 0x0a00_0000u32 | (i & 0x00ff_ffff);
        frame[14 + 12..14 + 16].copy_from_slice(&src.to_be_bytes());
        frame[14 + 4..14 + 6].copy_from_slice(&(i as u16).to_be_bytes());
        frame[34..36].copy_from_slice(&(1024 + (i % 60000) as u16).to_be_bytes());
        frame[34 + 4..34 + 8].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
        let ts_ms = 1_700_000_000_000u64 + u64::from(i);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((ts_ms / 1000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(((ts_ms % 1000) * 1000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        w.write_all(&rec).unwrap();
        w.write_all(&frame).unwrap();
    }
    w.flush().unwrap();
}

/// Runs p0f on `pcap` and returns (peak RSS in KiB, stdout tail).
/// The child is reaped with wait4 (for its rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn peak_rss(pcap: &Path, limits: &str) -> (i64, String) {
    let log = pcap.with_extension("log");
    let child = Command::new(env!("CARGO_BIN_EXE_p0f"))
        .arg("-r")
        .arg(pcap)
        .args(["-m", limits, "-o"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.unwrap();
    let reader = std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 4096 {
                        tail.drain(..tail.len() - 4096);
                    }
                }
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    });
    // SAFETY: waiting for our own child with a valid status and rusage.
    let (status, ru) = unsafe {
        let mut status = 0;
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut ru), pid);
        (status, ru)
    };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let _ = std::fs::remove_file(&log);
    (ru.ru_maxrss, reader.join().unwrap())
}

#[test]
fn syn_flood_memory_stays_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.pcap");
    let flood = dir.path().join("flood.pcap");
    write_flood(&small, 20_000);
    write_flood(&flood, 1_000_000);
    let (small_rss, _) = peak_rss(&small, "1000,10000");
    let (flood_rss, tail) = peak_rss(&flood, "1000,10000");
    assert!(
        tail.contains("All done. Processed 1000000 packets."),
        "{tail}"
    );
    eprintln!("peak RSS: 20k SYNs {small_rss} KiB, 1M SYNs {flood_rss} KiB");
    // 50x the traffic, (almost) the same memory: the tables are bounded.
    assert!(
        flood_rss < small_rss + 8 * 1024,
        "flood grew memory: {small_rss} KiB -> {flood_rss} KiB"
    );
    assert!(flood_rss < 64 * 1024, "flood used {flood_rss} KiB");
    // Raising the limits raises the ceiling, and it is still bounded.
    let (big_rss, _) = peak_rss(&flood, "10000,100000");
    eprintln!("peak RSS with -m 10000,100000: {big_rss} KiB");
    assert!(
        big_rss < 256 * 1024,
        "flood with -m 10000,100000 used {big_rss} KiB"
    );
}
