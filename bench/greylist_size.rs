//! What a million greylist entries cost: fills the embedded store (a redb
//! file) and, if a Redis URL is given, Redis with N first sightings of
//! distinct triplets (realistic addresses, ~60-byte keys), then prints the
//! file size and Redis's `used_memory` growth per entry.
//!
//! cargo run --release -p p0f-greylist --example greylist_size -- N DIR [REDIS_URL]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use p0f_greylist::embedded::{Embedded, EmbeddedStore};
use p0f_greylist::redis_store::RedisStore;
use p0f_greylist::{KeyConfig, Params, Store, Triplet};

fn triplet(i: u64) -> Triplet {
    let ip: IpAddr = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
        .parse()
        .unwrap();
    KeyConfig::default().triplet(
        ip,
        &format!("sender{i}@mail{}.example.com", i % 997),
        &format!("user{}@example.net", i % 101),
    )
}

async fn fill(store: &dyn Store, n: u64, p: &Params) {
    // A generous quota: this measures entries, not the quota.
    let mut pending = Vec::new();
    for i in 0..n {
        pending.push(triplet(i));
        if pending.len() == 512 || i + 1 == n {
            let futs: Vec<_> = pending
                .iter()
                .map(|t| store.check(t, 1_700_000_000, p))
                .collect();
            for f in futs {
                f.await.unwrap();
            }
            pending.clear();
        }
    }
}

fn used_memory(url: &str) -> u64 {
    let c = redis::Client::open(url).unwrap();
    let mut con = c.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n: u64 = a[1].parse().unwrap();
    let dir = std::path::PathBuf::from(&a[2]);
    let p = Params {
        max_new_per_network: u32::MAX,
        ..Params::default()
    };
    let path = dir.join("size.redb");
    let _ = std::fs::remove_file(&path);
    let inner = Arc::new(EmbeddedStore::open(&path, Duration::from_secs(1)).unwrap());
    let s = Embedded::new(inner.clone(), p.clone());
    let t = Instant::now();
    fill(&s, n, &p).await;
    inner.flush().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "embedded: {n} entries, file {:.1} MB, {:.0} bytes/entry, filled in {:.1?}",
        size as f64 / 1e6,
        size as f64 / n as f64,
        t.elapsed()
    );
    if let Some(url) = a.get(3) {
        let before = used_memory(url);
        let mut r = RedisStore::new(url, "p0fgl:", Duration::from_secs(5)).unwrap();
        r.server_clock = false;
        let t = Instant::now();
        fill(&r, n, &p).await;
        let after = used_memory(url);
        println!(
            "redis: {n} entries, used_memory +{:.1} MB, {:.0} bytes/entry, filled in {:.1?}",
            (after - before) as f64 / 1e6,
            (after - before) as f64 / n as f64,
            t.elapsed()
        );
    }
}
