//! Postfix policy-delegation load generator: CONNECTIONS kept-open
//! connections (as Postfix's smtpd reuses its policy connections), each
//! sending RCPT requests one after another for SECONDS and waiting for each
//! answer. Prints decisions per second and latency percentiles (request
//! written to answer read), and how many answers were deferrals.
//!
//! cargo run --release -p p0f-milter --example policy_bench -- ADDR:PORT CONNECTIONS SECONDS [LABEL]
//!
//! Each connection is a blocking thread, as Postfix's smtpd processes are
//! separate processes. `POLICY_BENCH_ASYNC=1` runs them as tasks on one
//! thread instead (a tokio current-thread runtime), which costs the shared
//! cores less per request but gets only one thread's share of them when
//! other processes compete: on this project's busy build machine it gave
//! fewer decisions per second (docs/greylisting.md). The same generator
//! runs against every server.
//!
//! The request stream is the same for every server: request i of
//! connection c is a function of (c, i) only, drawn from 2000 client
//! addresses (in 40 /24 networks), 200 senders and 20 recipients, so it
//! mixes first sightings with repeats of a triplet, as real traffic does.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
fn request(c: u64, i: u64) -> String {
    let h = (c.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .rotate_left(17);
    let host = h % 2000;
    let sender = (h >> 16) % 200;
    let rcpt = (h >> 32) % 20;
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address=10.{}.{}.{}\nclient_name=unknown\nclient_port={}\n\
         server_address=127.0.0.1\nserver_port=25\nhelo_name=host{host}.example\n\
         sender=user{sender}@sender{}.example\nrecipient=rcpt{rcpt}@example.net\n\
         instance={c}.{i}\nsize=1200\n\n",
        host / 250 + 1,
        (host / 50) % 5,
        host % 250 + 1,
        1024 + (i % 60000),
        sender % 50,
    )
}

/// A blocking thread per connection (the default): (latencies, deferrals,
/// errors) per thread.
fn threaded(
    addr: &str,
    conns: u64,
    start: Instant,
    run_for: Duration,
) -> Vec<(Vec<Duration>, u64, u64)> {
    use std::io::{BufRead, BufReader, Write};
    let workers: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let (mut defers, mut errors) = (0u64, 0u64);
                let Ok(s) = std::net::TcpStream::connect(&addr) else {
                    return (lat, defers, 1);
                };
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let mut line = String::new();
                let mut i = 0u64;
                while start.elapsed() < run_for {
                    let req = request(c, i);
                    i += 1;
                    let t = Instant::now();
                    if w.write_all(req.as_bytes()).is_err() {
                        errors += 1;
                        break;
                    }
                    line.clear();
                    // The answer is "action=...\n" and an empty line.
                    let ok = r.read_line(&mut line).is_ok_and(|n| n > 0);
                    let mut blank = String::new();
                    let ok = ok && r.read_line(&mut blank).is_ok_and(|n| n > 0);
                    if !ok {
                        errors += 1;
                        break;
                    }
                    lat.push(t.elapsed());
                    if line.contains("DEFER") {
                        defers += 1;
                    }
                }
                (lat, defers, errors)
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).collect()
}

/// One kept-open connection as a task (`POLICY_BENCH_ASYNC=1`):
/// (latencies, deferrals, errors).
async fn connection(
    addr: String,
    c: u64,
    start: Instant,
    run_for: Duration,
) -> (Vec<Duration>, u64, u64) {
    let mut lat = Vec::with_capacity(1 << 16);
    let mut defers = 0u64;
    let Ok(s) = TcpStream::connect(&addr).await else {
        return (lat, 0, 1);
    };
    let _ = s.set_nodelay(true);
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let (mut line, mut blank) = (String::new(), String::new());
    let mut i = 0u64;
    while start.elapsed() < run_for {
        let req = request(c, i);
        i += 1;
        let t = Instant::now();
        if w.write_all(req.as_bytes()).await.is_err() {
            return (lat, defers, 1);
        }
        line.clear();
        blank.clear();
        // The answer is "action=...\n" and an empty line.
        let read = async {
            let a = r.read_line(&mut line).await.is_ok_and(|n| n > 0);
            a && r.read_line(&mut blank).await.is_ok_and(|n| n > 0)
        };
        match tokio::time::timeout(Duration::from_secs(5), read).await {
            Ok(true) => {}
            _ => return (lat, defers, 1),
        }
        lat.push(t.elapsed());
        if line.contains("DEFER") {
            defers += 1;
        }
    }
    (lat, defers, 0)
}

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        eprintln!("usage: policy_bench ADDR:PORT CONNECTIONS SECONDS [LABEL]");
        return ExitCode::from(2);
    }
    let (Ok(conns), Ok(secs)) = (a[2].parse::<u64>(), a[3].parse::<f64>()) else {
        eprintln!("CONNECTIONS and SECONDS must be numbers");
        return ExitCode::from(2);
    };
    let label = a.get(4).cloned().unwrap_or_else(|| a[1].clone());
    let addr = a[1].clone();
    let run_for = Duration::from_secs_f64(secs);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    let results = if std::env::var_os("POLICY_BENCH_ASYNC").is_none() {
        threaded(&addr, conns, start, run_for)
    } else {
        rt.block_on(async {
            let tasks: Vec<_> = (0..conns)
                .map(|c| tokio::spawn(connection(addr.clone(), c, start, run_for)))
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("connection task"));
            }
            out
        })
    };
    let mut lat = Vec::new();
    let (mut defers, mut errors) = (0, 0);
    for (l, d, e) in results {
        lat.extend(l);
        defers += d;
        errors += e;
    }
    let wall = start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "{label:<28} conns {conns:>3}  {:>9.0} decisions/s  p50 {:>7.3} ms  p99 {:>7.3} ms  deferred {:>5.1}%  errors {errors}",
        lat.len() as f64 / wall,
        pct(0.50),
        pct(0.99),
        100.0 * defers as f64 / lat.len().max(1) as f64,
    );
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
