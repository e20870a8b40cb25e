//! The API servers: p0f 3 host queries and p0f 2 connection queries on
//! Unix sockets, served by a small tokio runtime.
//!
//! Rules that keep one client from hurting the others:
//! * every client has its own task; nothing a client does blocks another;
//! * a query, once its first byte has arrived, must be complete within the
//!   API timeout, and a reply must be taken by the client within it too;
//! * a well-formed connection that is idle between queries is kept open
//!   (persistent clients such as Haraka's) while it holds one of the `-S`
//!   slots; clients beyond `-S` are still served, one query each, under the
//!   timeout, then closed; beyond a hard cap they are closed at once;
//! * a malformed query gets p0f's bad-query reply (status 0) and the
//!   connection goes on, as in p0f 3.09b: the next 21 bytes are the next
//!   query;
//! * each reply goes out in a single write; write errors (a client that
//!   left) just end that client's task.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use p0f_api::{smtp, v2, v3, FixedStr};
use p0f_engine::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::time::timeout;

use crate::conntable::{ConnKey, ConnTable};
use crate::metrics::{Api, Metrics, QueryStatus};

/// What the capture thread and the API share.
pub struct State {
    pub engine: Engine,
    pub conns: Option<ConnTable>,
}

pub struct Shared {
    state: Mutex<State>,
    /// Counted whether or not `--metrics` serves them (atomics only).
    pub metrics: Arc<Metrics>,
    v2_queries: AtomicU64,
    v2_misses: AtomicU64,
    started: Instant,
}

impl Shared {
    pub fn new(state: State) -> Shared {
        let names = state.engine.database().names.len();
        Shared {
            state: Mutex::new(state),
            metrics: Arc::new(Metrics::new(names)),
            v2_queries: AtomicU64::new(0),
            v2_misses: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// The state; a panic elsewhere never makes it unusable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Limits for one server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Clients that may stay connected between queries (`-S`).
    pub persistent: usize,
    /// Connections served at once, in all (beyond: closed at once).
    pub hard_cap: usize,
    /// Time to finish a started query, or to take a reply.
    pub timeout: Duration,
    /// How long a query that finds nothing waits for the capture thread
    /// (`--api-grace`); zero answers at once.
    pub catch_up: Duration,
}

/// Prints at most a few warnings per second about misbehaving clients.
fn client_warning(msg: std::fmt::Arguments<'_>) {
    static WINDOW: AtomicU64 = AtomicU64::new(0);
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if WINDOW.swap(now, Ordering::Relaxed) != now {
        COUNT.store(0, Ordering::Relaxed);
    }
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    if n < 5 {
        eprintln!("[!] WARNING: {msg}");
    } else if n == 5 {
        eprintln!("[!] WARNING: more API client warnings this second are not shown.");
    }
}

/// Counts a connection for as long as it lives.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn is_descriptor_shortage(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// The next client. Failed accepts are retried; when descriptors run out,
/// after a short pause (a warning says so), so that the loop does not spin.
async fn accept(listener: &UnixListener, what: &str) -> UnixStream {
    loop {
        match listener.accept().await {
            Ok((s, _)) => return s,
            Err(e) => {
                if is_descriptor_shortage(&e) {
                    client_warning(format_args!("{what} accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Accepts p0f 3 clients forever.
pub async fn serve_v3(listener: UnixListener, shared: Arc<Shared>, limits: Limits) {
    let persistent = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = accept(&listener, "API").await;
        if total.fetch_add(1, Ordering::AcqRel) >= limits.hard_cap {
            total.fetch_sub(1, Ordering::AcqRel);
            shared.metrics.client_refused();
            client_warning(format_args!(
                "Too many API connections ({} open); refusing one.",
                limits.hard_cap
            ));
            drop(stream);
            continue;
        }
        let all = Slot(total.clone());
        let counted = shared.metrics.client_opened();
        let kept = if persistent.fetch_add(1, Ordering::AcqRel) < limits.persistent {
            Some(Slot(persistent.clone()))
        } else {
            persistent.fetch_sub(1, Ordering::AcqRel);
            None
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            v3_client(stream, &shared, kept.is_some(), limits).await;
            drop(kept);
            drop(all);
            drop(counted);
        });
    }
}

/// How often a query that found nothing asks again during its grace
/// ([`Limits::catch_up`]). Clients ask right after accepting a connection,
/// and its SYN may still be a few milliseconds away from the engine (the
/// kernel hands captured packets over in blocks of at most
/// `--capture-timeout`, 5 ms by default).
const CATCH_UP_STEP: Duration = Duration::from_millis(5);

/// Repeats `ask` while it finds nothing, for at most `grace`.
async fn with_catch_up<T>(grace: Duration, mut ask: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + grace;
    loop {
        if let Some(found) = ask() {
            return Some(found);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(CATCH_UP_STEP).await;
    }
}

/// Answers one v3 query, well-formed or not, and counts it.
async fn answer_v3(
    shared: &Shared,
    q: &[u8; v3::QUERY_LEN],
    grace: Duration,
) -> [u8; v3::RESPONSE_LEN] {
    let started = Instant::now();
    let (reply, status) = answer_v3_inner(shared, q, grace).await;
    shared.metrics.api_query(Api::V3, status, started.elapsed());
    reply
}

async fn answer_v3_inner(
    shared: &Shared,
    q: &[u8; v3::QUERY_LEN],
    grace: Duration,
) -> ([u8; v3::RESPONSE_LEN], QueryStatus) {
    match v3::Query::decode(q) {
        Ok(q) => {
            let known = with_catch_up(grace, || {
                let r = shared.lock().engine.query_v3(q.addr);
                (r.status != v3::Status::NoMatch).then_some(r)
            })
            .await;
            let status = if known.is_some() {
                QueryStatus::Ok
            } else {
                QueryStatus::NoMatch
            };
            let r = known.unwrap_or_else(|| v3::Response::empty(v3::Status::NoMatch));
            (r.encode(), status)
        }
        Err(e) => {
            match e {
                v3::QueryError::BadMagic(m) => {
                    client_warning(format_args!("Query with bad magic (0x{m:x})."))
                }
                v3::QueryError::BadAddressType(t) => {
                    client_warning(format_args!("Query with unknown address type {t}."))
                }
            }
            (
                v3::Response::empty(v3::Status::BadQuery).encode(),
                QueryStatus::BadQuery,
            )
        }
    }
}

/// Answers one SMTP extension query (`docs/smtp.md`), well-formed or not.
async fn answer_smtp(
    shared: &Shared,
    q: &[u8; smtp::QUERY_LEN],
    grace: Duration,
) -> [u8; smtp::RESPONSE_LEN] {
    let started = Instant::now();
    let (reply, status) = match smtp::Query::decode(q) {
        Ok(q) => {
            let known = with_catch_up(grace, || {
                let r = shared.lock().engine.query_smtp(q.addr, q.port);
                (r.host.status != v3::Status::NoMatch).then_some(r)
            })
            .await;
            match known {
                Some(r) => (r.encode(), QueryStatus::Ok),
                None => (
                    shared.lock().engine.query_smtp(q.addr, q.port).encode(),
                    QueryStatus::NoMatch,
                ),
            }
        }
        Err(e) => {
            client_warning(format_args!("SMTP {e}."));
            let bad = smtp::Response {
                host: v3::Response::empty(v3::Status::BadQuery),
                smtp: smtp::Verdict::default(),
            };
            (bad.encode(), QueryStatus::BadQuery)
        }
    };
    shared.metrics.api_query(Api::V3, status, started.elapsed());
    reply
}

/// Length of the query at the head of `buf`: the SMTP extension's when its
/// magic starts it, else v3's (also while fewer than 4 bytes are in).
fn query_len(buf: &[u8]) -> usize {
    match buf.get(..4) {
        Some(m) if m == smtp::QUERY_MAGIC.to_ne_bytes() => smtp::QUERY_LEN,
        _ => v3::QUERY_LEN,
    }
}

async fn v3_client(mut s: UnixStream, shared: &Shared, persistent: bool, limits: Limits) {
    let limit = limits.timeout;
    const Q: usize = v3::QUERY_LEN;
    // Room for a few pipelined queries; never grows.
    let mut buf = [0u8; Q * 8];
    let mut have = 0usize;
    let accepted = Instant::now();
    let mut started = accepted;
    loop {
        while have >= query_len(&buf[..have]) {
            let len = query_len(&buf[..have]);
            let mut q = [0u8; smtp::QUERY_LEN];
            q[..len].copy_from_slice(&buf[..len]);
            buf.copy_within(len..have, 0);
            have -= len;
            started = Instant::now();
            let written = if len == smtp::QUERY_LEN {
                let reply = answer_smtp(shared, &q, limits.catch_up).await;
                timeout(limit, s.write_all(&reply)).await
            } else {
                let mut v3q = [0u8; Q];
                v3q.copy_from_slice(&q[..Q]);
                let reply = answer_v3(shared, &v3q, limits.catch_up).await;
                timeout(limit, s.write_all(&reply)).await
            };
            match written {
                Ok(Ok(())) => {}
                _ => return,
            }
            if !persistent {
                return;
            }
        }
        // Idle between queries: wait as long as the client likes (if it
        // holds a persistent slot). Inside a query: until the deadline.
        let deadline = if !persistent {
            Some(accepted + limit)
        } else if have > 0 {
            Some(started + limit)
        } else {
            None
        };
        let read = s.read(&mut buf[have..]);
        let n = match deadline {
            None => read.await,
            Some(d) => match tokio::time::timeout_at(d.into(), read).await {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        match n {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if have == 0 {
                    started = Instant::now();
                }
                have += n;
            }
        }
    }
}

/// Accepts p0f 2 clients forever (one query per connection, as p0f 2).
pub async fn serve_v2(listener: UnixListener, shared: Arc<Shared>, limits: Limits) {
    let total = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = accept(&listener, "v2 API").await;
        if total.fetch_add(1, Ordering::AcqRel) >= limits.hard_cap {
            total.fetch_sub(1, Ordering::AcqRel);
            shared.metrics.client_refused();
            drop(stream);
            continue;
        }
        let slot = Slot(total.clone());
        let counted = shared.metrics.client_opened();
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = timeout(limits.timeout, v2_client(stream, &shared, limits.catch_up)).await;
            drop(slot);
            drop(counted);
        });
    }
}

async fn v2_client(mut s: UnixStream, shared: &Shared, grace: Duration) {
    let mut q = [0u8; v2::QUERY_LEN];
    if s.read_exact(&mut q).await.is_err() {
        return;
    }
    let started = Instant::now();
    let mut status = QueryStatus::Ok;
    let reply: Vec<u8> = match v2::Query::decode(&q) {
        Ok(q) if q.qtype == v2::QTYPE_STATUS => status_v2(shared, q.id).to_vec(),
        Ok(q) => {
            shared.v2_queries.fetch_add(1, Ordering::Relaxed);
            let key = ConnKey {
                src: q.src,
                src_port: q.src_port,
                dst: q.dst,
                dst_port: q.dst_port,
            };
            let found = with_catch_up(grace, || {
                shared
                    .lock()
                    .conns
                    .as_ref()
                    .and_then(|t| t.lookup(&key, q.id))
            })
            .await;
            match found {
                Some(r) => r.encode().to_vec(),
                None => {
                    status = QueryStatus::NoMatch;
                    shared.v2_misses.fetch_add(1, Ordering::Relaxed);
                    v2::Response::empty(q.id, v2::RESP_NOMATCH)
                        .encode()
                        .to_vec()
                }
            }
        }
        Err(e) => {
            status = QueryStatus::BadQuery;
            client_warning(format_args!("{e}."));
            let id = match e {
                v2::QueryError::BadType { id, .. } => id,
                v2::QueryError::BadMagic(_) => 0,
            };
            v2::Response::empty(id, v2::RESP_BADQUERY).encode().to_vec()
        }
    };
    shared.metrics.api_query(Api::V2, status, started.elapsed());
    let _ = s.write_all(&reply).await;
    let _ = s.shutdown().await;
}

fn status_v2(shared: &Shared, id: u32) -> [u8; v2::STATUS_LEN] {
    let (cache, packets, matched) = {
        let st = shared.lock();
        let (cache, matched) = st
            .conns
            .as_ref()
            .map(|t| (t.capacity() as u32, t.matched as u32))
            .unwrap_or((0, 0));
        (cache, st.engine.packets() as u32, matched)
    };
    v2::StatusReply {
        id,
        version: FixedStr::new_limited(concat!("p0f-rs ", env!("CARGO_PKG_VERSION")), 15),
        mode: b'S',
        fp_cksum: 0,
        cache,
        packets,
        matched,
        queries: shared.v2_queries.load(Ordering::Relaxed) as u32,
        cmisses: shared.v2_misses.load(Ordering::Relaxed) as u32,
        uptime: shared.started.elapsed().as_secs() as u32,
    }
    .encode()
}
