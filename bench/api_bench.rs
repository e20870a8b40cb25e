//! API load generator: CLIENTS threads each repeat connect, one v3 query,
//! read the 232-byte reply, close, for SECONDS; prints queries per second
//! and latency percentiles of whole round trips (connect to close).
//!
//! cargo run --release -p p0f-cli --example api_bench -- SOCKET ADDR CLIENTS SECONDS [LABEL]
//!
//! A round trip that fails or takes longer than 5 s counts as an error.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use p0f_api::v3;

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: api_bench SOCKET ADDR CLIENTS SECONDS [LABEL]");
        return ExitCode::from(2);
    }
    let sock = a[1].clone();
    let Ok(addr) = a[2].parse::<IpAddr>() else {
        eprintln!("bad address '{}'", a[2]);
        return ExitCode::from(2);
    };
    let (Ok(clients), Ok(secs)) = (a[3].parse::<usize>(), a[4].parse::<f64>()) else {
        eprintln!("CLIENTS and SECONDS must be numbers");
        return ExitCode::from(2);
    };
    let label = a.get(5).cloned().unwrap_or_default();
    let query = v3::Query { addr }.encode();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(1 << 16);
                let mut errors = 0u64;
                while Instant::now() < end {
                    let t = Instant::now();
                    match round_trip(&sock, &query) {
                        Ok(()) => lat.push(t.elapsed().as_nanos() as u64),
                        Err(_) => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.join().unwrap_or_default();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i] as f64 / 1000.0
    };
    println!(
        "{label:>10} clients={clients:<3} q/s={:>9.0} p50={:>8.1}us p99={:>8.1}us max={:>9.1}us ok={} errors={errors}",
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        all.len()
    );
    ExitCode::SUCCESS
}

fn round_trip(sock: &str, query: &[u8; v3::QUERY_LEN]) -> std::io::Result<()> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(query)?;
    let mut b = [0u8; v3::RESPONSE_LEN];
    s.read_exact(&mut b)?;
    if b[4..8] != 0x10u32.to_ne_bytes() {
        return Err(std::io::Error::other("status not OK"));
    }
    Ok(())
}
