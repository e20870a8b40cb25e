//! Both stores against the same scenarios, with real parts: the embedded
//! store on a file, and Debian's `redis-server` started by the test on a
//! loopback port. With `CI=true` a missing `redis-server` is a failure,
//! not a skip.

use std::net::{IpAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use p0f_greylist::embedded::{Embedded, EmbeddedStore};
use p0f_greylist::redis_store::RedisStore;
use p0f_greylist::{Greylist, KeyConfig, OnStoreError, Outcome, Params, Store, Triplet, Verdict};

fn params() -> Params {
    Params {
        delay: 300,
        retry_window: 3600,
        max_age: 86_400,
        awl_clients: 2,
        max_new_per_network: 3,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server of our own, on loopback, without persistence.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let bin = ["/usr/bin/redis-server", "/usr/sbin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(bin) = bin else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("redis-server is not installed (apt-get install redis-server)");
            }
            eprintln!("SKIP: redis-server is not installed");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisServer {
            child,
            port,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn redis_store(srv: &RedisServer, prefix: &str) -> RedisStore {
    let mut s = RedisStore::new(&srv.url(), prefix, Duration::from_secs(2)).unwrap();
    s.server_clock = false; // the scenarios set the time
    s
}

async fn c(store: &dyn Store, t: &Triplet, now: u64) -> Outcome {
    store.check(t, now, &params()).await.unwrap()
}

/// The life cycle, the auto-whitelist and the network quota, on any store.
async fn scenario(store: &dyn Store) {
    let p = params();
    let keys = KeyConfig::default();
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    let t = keys.triplet(ip, "Alice+x@Example.org", "bob@example.net");
    let t0 = 1_700_000_000;
    assert_eq!(c(store, &t, t0).await, Outcome::New);
    assert_eq!(
        c(store, &t, t0 + 100).await,
        Outcome::TooEarly { remaining: 200 }
    );
    assert_eq!(
        c(store, &t, t0 + 301).await,
        Outcome::Retried { waited: 301 }
    );
    assert_eq!(c(store, &t, t0 + 400).await, Outcome::Known);
    // Another address of the same network, same normalised sender: same key.
    let t_same = keys.triplet(
        "192.0.2.99".parse().unwrap(),
        "alice@example.org",
        "BOB@example.net",
    );
    assert_eq!(t_same.key, t.key);
    assert_eq!(c(store, &t_same, t0 + 500).await, Outcome::Known);
    // Renewed by each delivery, forgotten max_age after the last one.
    assert_eq!(c(store, &t, t0 + 500 + p.max_age).await, Outcome::Known);
    let gone = t0 + 500 + 2 * p.max_age + 1;
    assert_eq!(c(store, &t, gone).await, Outcome::New);
    // An unpassed entry is forgotten after the retry window.
    let u = keys.triplet(ip, "carol@example.org", "bob@example.net");
    assert_eq!(c(store, &u, t0).await, Outcome::New);
    assert_eq!(c(store, &u, t0 + p.retry_window + 1).await, Outcome::New);

    // Auto-whitelist: two passes, an hour apart, whitelist the client.
    let ip2: IpAddr = "198.51.100.7".parse().unwrap();
    for (i, now) in [t0, t0 + 4000].into_iter().enumerate() {
        let t = keys.triplet(ip2, &format!("s{i}@a.example"), "r@b.example");
        assert_eq!(c(store, &t, now).await, Outcome::New);
        assert!(matches!(
            c(store, &t, now + 300).await,
            Outcome::Retried { .. }
        ));
    }
    let fresh = keys.triplet(ip2, "never-seen@a.example", "r@b.example");
    assert_eq!(
        c(store, &fresh, t0 + 5000).await,
        Outcome::ClientWhitelisted
    );

    // The quota of new entries per network: the fourth new sender within
    // the window is deferred without being recorded.
    let ip3: IpAddr = "203.0.113.5".parse().unwrap();
    for i in 0..3 {
        let t = keys.triplet(ip3, &format!("spam{i}x@c.example"), "r@b.example");
        assert_eq!(c(store, &t, t0).await, Outcome::New);
    }
    let t4 = keys.triplet(ip3, "spamqx@c.example", "r@b.example");
    assert_eq!(c(store, &t4, t0).await, Outcome::Capped);
    assert_eq!(
        c(store, &t4, t0 + 301).await,
        Outcome::Capped,
        "nothing was recorded"
    );
}

#[test]
fn embedded_scenario_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greylist.redb");
    rt().block_on(async {
        let s = Embedded::new(
            Arc::new(EmbeddedStore::open(&path, Duration::from_secs(3600)).unwrap()),
            params(),
        );
        scenario(&s).await;
        let ip: IpAddr = "192.0.2.200".parse().unwrap();
        let t = KeyConfig::default().triplet(ip, "a@x", "b@y");
        assert_eq!(s.check(&t, 1000, &params()).await.unwrap(), Outcome::New);
    });
    // Reopened (the first handle flushed when dropped): the entry is there.
    rt().block_on(async {
        let inner = Arc::new(EmbeddedStore::open(&path, Duration::from_secs(3600)).unwrap());
        let s = Embedded::new(inner.clone(), params());
        let ip: IpAddr = "192.0.2.200".parse().unwrap();
        let t = KeyConfig::default().triplet(ip, "a@x", "b@y");
        assert_eq!(
            s.check(&t, 1400, &params()).await.unwrap(),
            Outcome::Retried { waited: 400 }
        );
        // Purge removes what has expired by then, and only that.
        let before = inner.len().unwrap();
        assert!(before > 1);
        let removed = s.purge(1400 + 2 * 86_400).await.unwrap();
        assert_eq!(inner.len().unwrap(), before - removed);
        assert!(removed >= 1);
        let removed_all = s.purge(u64::MAX / 2).await.unwrap();
        assert_eq!(inner.len().unwrap(), 0, "removed {removed_all} more");
    });
}

#[test]
fn redis_scenario_and_ttls() {
    let Some(srv) = RedisServer::start() else {
        return;
    };
    rt().block_on(async {
        let s = redis_store(&srv, "t1:");
        scenario(&s).await;
        // Every key has a TTL.
        let client = redis::Client::open(srv.url()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("t1:*")
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(keys.len() > 5, "{keys:?}");
        for k in keys {
            let ttl: i64 = redis::cmd("TTL")
                .arg(&k)
                .query_async(&mut con)
                .await
                .unwrap();
            assert!(ttl > 0, "{k} has no TTL ({ttl})");
        }
    });
}

/// Two "MX hosts" (two stores, two connections) see the same retry at
/// once, many times over: exactly one check records the pass.
#[test]
fn redis_concurrent_retries_record_one_pass() {
    let Some(srv) = RedisServer::start() else {
        return;
    };
    rt().block_on(async {
        let a = Arc::new(redis_store(&srv, "t2:"));
        let b = Arc::new(redis_store(&srv, "t2:"));
        let keys = KeyConfig::default();
        for round in 0..20u64 {
            let ip: IpAddr = format!("10.9.{round}.1").parse().unwrap();
            let t = keys.triplet(ip, "x@a.example", "y@b.example");
            assert_eq!(a.check(&t, 1000, &params()).await.unwrap(), Outcome::New);
            let mut tasks = Vec::new();
            for i in 0..16 {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                let t = t.clone();
                tasks.push(tokio::spawn(async move {
                    s.check(&t, 1400, &params()).await.unwrap()
                }));
            }
            let mut retried = 0;
            for h in tasks {
                match h.await.unwrap() {
                    Outcome::Retried { .. } => retried += 1,
                    Outcome::Known => {}
                    o => panic!("unexpected {o:?}"),
                }
            }
            assert_eq!(retried, 1, "round {round}");
        }
    });
}

#[test]
fn dead_and_silent_stores_fail_within_the_timeout() {
    rt().block_on(async {
        let t = KeyConfig::default().triplet("192.0.2.1".parse().unwrap(), "a@x", "b@y");
        // Nothing listens: refused at once.
        let dead = format!("redis://127.0.0.1:{}/", free_port());
        let g = Greylist::new(
            Arc::new(RedisStore::new(&dead, "x:", Duration::from_millis(300)).unwrap()),
            params(),
            Duration::from_millis(500),
            OnStoreError::Accept,
        );
        let v = g.check(&t).await;
        assert!(
            matches!(
                v,
                Verdict::StoreFailed {
                    on_error: OnStoreError::Accept,
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(g.store_errors(), 1);
        // Accepts connections but never answers: the deadline fires.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let g = Greylist::new(
            Arc::new(
                RedisStore::new(
                    &format!("redis://127.0.0.1:{port}/"),
                    "x:",
                    Duration::from_secs(30),
                )
                .unwrap(),
            ),
            params(),
            Duration::from_millis(300),
            OnStoreError::Tempfail,
        );
        let start = Instant::now();
        let v = g.check(&t).await;
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        match v {
            Verdict::StoreFailed { error, on_error } => {
                assert_eq!(on_error, OnStoreError::Tempfail);
                assert!(error.contains("did not answer within 300 ms"), "{error}");
            }
            v => panic!("{v:?}"),
        }
        hold.abort();
    });
}

/// Many checks of the same retry at once on the embedded store (each runs
/// under the store's one lock): exactly one records the pass.
#[test]
fn embedded_concurrent_retries_record_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let s = Arc::new(Embedded::new(
            Arc::new(
                EmbeddedStore::open(&dir.path().join("g.redb"), Duration::from_secs(1)).unwrap(),
            ),
            params(),
        ));
        let keys = KeyConfig::default();
        for round in 0..20u64 {
            let ip: IpAddr = format!("10.9.{round}.1").parse().unwrap();
            let t = keys.triplet(ip, "x@a.example", "y@b.example");
            assert_eq!(s.check(&t, 1000, &params()).await.unwrap(), Outcome::New);
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let (s, t) = (s.clone(), t.clone());
                    tokio::spawn(async move { s.check(&t, 1400, &params()).await.unwrap() })
                })
                .collect();
            let mut retried = 0;
            for h in tasks {
                match h.await.unwrap() {
                    Outcome::Retried { .. } => retried += 1,
                    Outcome::Known => {}
                    o => panic!("unexpected {o:?}"),
                }
            }
            assert_eq!(retried, 1, "round {round}");
        }
    });
}

/// The embedded store keeps what checks change in memory until its flusher
/// writes it: that stays under the store's bound (the flusher is woken
/// early, checks wait for it), concurrent checks wait without failing, and
/// nothing is lost on the way to the file.
#[test]
fn embedded_pending_records_stay_bounded() {
    const BOUND: usize = 64;
    const N: u32 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.redb");
    let triplet = |i: u32| {
        // A network each, so the per-network quota never caps.
        let ip: IpAddr = format!("10.{}.{}.1", i / 200, i % 200).parse().unwrap();
        KeyConfig::default().triplet(ip, &format!("s{i}@a.example"), "r@b.example")
    };
    rt().block_on(async {
        // Never flushed by the clock within the test: only the bound flushes.
        let inner =
            Arc::new(EmbeddedStore::open_bounded(&path, Duration::from_secs(3600), BOUND).unwrap());
        let s = Arc::new(Embedded::new(inner.clone(), params()));
        let tasks: Vec<_> = (0..4u32)
            .map(|part| {
                let (s, inner) = (s.clone(), inner.clone());
                tokio::spawn(async move {
                    for i in (part..N).step_by(4) {
                        let o = tokio::time::timeout(
                            Duration::from_secs(10),
                            s.check(&triplet(i), 1000, &params()),
                        )
                        .await
                        .expect("a check waited 10 s for the flusher");
                        assert_eq!(o.unwrap(), Outcome::New, "triplet {i}");
                        let pending = inner.pending();
                        assert!(pending <= BOUND, "{pending} records pending");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(inner.len().unwrap(), u64::from(N));
    });
    // Every first sighting reached the file: each retry passes.
    rt().block_on(async {
        let s = Embedded::new(
            Arc::new(EmbeddedStore::open(&path, Duration::from_secs(3600)).unwrap()),
            params(),
        );
        for i in (0..N).step_by(7) {
            assert_eq!(
                s.check(&triplet(i), 1400, &params()).await.unwrap(),
                Outcome::Retried { waited: 400 },
                "triplet {i}"
            );
        }
    });
}
