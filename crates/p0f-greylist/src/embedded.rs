//! The embedded store: one redb file, for a single MX host.
//!
//! One writer thread owns the writes: it takes the checks waiting in its
//! queue (up to [`MAX_BATCH`]; when busy, also those arriving within
//! [`GATHER_FOR`]), applies [`step`] to each in turn inside one write
//! transaction (each sees the writes of the ones before it), commits, and
//! only then answers them. So checks are serialised and atomic, and
//! under load many share one commit instead of queueing for redb's single
//! write lock one by one. Commits are made with [`Durability::None`]; the
//! writer makes them durable every `flush_every` (and
//! [`EmbeddedStore::flush`] on shutdown): a crash loses at most that much
//! greylist state, which costs a sender one more delay, while an fsync per
//! decision would cap throughput at the disk's sync rate.
//!
//! Expired entries are removed by [`Store::purge`], which the service runs
//! periodically; [`step`] ignores expired records in the meantime.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use crate::state::{step, triplet_expired, Before, ClientRec, Entry, NetRec, Outcome, Params};
use crate::{BoxFuture, Store, StoreError, Triplet};

/// triplet key -> (first_seen, last_seen, passed)
const TRIPLETS: TableDefinition<&str, (u64, u64, bool)> = TableDefinition::new("triplets");
/// client address -> (count, last_counted)
const CLIENTS: TableDefinition<&str, (u32, u64)> = TableDefinition::new("clients");
/// client network -> (new_entries, window_start)
const NETWORKS: TableDefinition<&str, (u32, u64)> = TableDefinition::new("networks");

fn err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("embedded store: {what}: {e}"))
}

/// Most checks committed together.
pub const MAX_BATCH: usize = 256;

struct Job {
    t: Triplet,
    now: u64,
    p: Params,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The redb-backed store.
pub struct EmbeddedStore {
    db: Arc<Database>,
    path: String,
    /// None once dropping: closing the queue stops the writer.
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the database file and starts the flusher.
    pub fn open(path: &Path, flush_every: Duration) -> Result<EmbeddedStore, StoreError> {
        let db = Database::create(path).map_err(|e| err(&path.display().to_string(), e))?;
        let tx = db.begin_write().map_err(|e| err("begin", e))?;
        {
            tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
            tx.open_table(CLIENTS).map_err(|e| err("open table", e))?;
            tx.open_table(NETWORKS).map_err(|e| err("open table", e))?;
        }
        tx.commit().map_err(|e| err("commit", e))?;
        let db = Arc::new(db);
        let (jobs, rx) = mpsc::channel();
        let wdb = db.clone();
        let handle = std::thread::Builder::new()
            .name("greylist-writer".into())
            .spawn(move || writer(&wdb, &rx, flush_every))
            .map_err(|e| err("writer thread", e))?;
        Ok(EmbeddedStore {
            db,
            path: path.display().to_string(),
            jobs: Some(jobs),
            writer: Some(handle),
        })
    }

    /// Queues a check for the writer and waits for its answer.
    pub async fn check(&self, t: &Triplet, now: u64, p: &Params) -> Result<Outcome, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            t: t.clone(),
            now,
            p: p.clone(),
            reply,
        };
        self.jobs
            .as_ref()
            .ok_or_else(|| err("writer", "the store is closing"))?
            .send(job)
            .map_err(|_| err("writer", "the writer thread has stopped"))?;
        answer
            .await
            .map_err(|_| err("writer", "the writer thread dropped the check"))?
    }

    /// Makes every commit so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        flush_db(&self.db)
    }

    /// Number of triplets stored (expired ones included until purged).
    pub fn len(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(|e| err("begin", e))?;
        let t = tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
        t.len().map_err(|e| err("len", e))
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.len().map(|n| n == 0)
    }

    fn purge_sync(&self, now: u64, p: &Params) -> Result<u64, StoreError> {
        let tx = self.db.begin_write().map_err(|e| err("begin", e))?;
        let mut removed = 0u64;
        {
            let mut trip = tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
            trip.retain(|_, (first_seen, last_seen, passed)| {
                let e = Entry {
                    first_seen,
                    last_seen,
                    passed,
                };
                let keep = !triplet_expired(&e, now, p);
                removed += u64::from(!keep);
                keep
            })
            .map_err(|e| err("purge", e))?;
            let mut cli = tx.open_table(CLIENTS).map_err(|e| err("open table", e))?;
            cli.retain(|_, (_, last)| now.saturating_sub(last) <= p.max_age)
                .map_err(|e| err("purge", e))?;
            let mut net = tx.open_table(NETWORKS).map_err(|e| err("open table", e))?;
            net.retain(|_, (_, start)| now.saturating_sub(start) <= p.retry_window)
                .map_err(|e| err("purge", e))?;
        }
        tx.commit().map_err(|e| err("commit", e))?;
        Ok(removed)
    }
}

/// How long the writer keeps gathering checks for a batch when it is busy
/// (checks were already waiting when it finished the last one). A commit
/// costs several page writes whatever the batch holds, and without the
/// wait a busy writer commits one or two checks at a time: the checks
/// arrive one by one as the connections' tasks reach the store. When the
/// writer is idle, a check is committed at once.
pub const GATHER_FOR: Duration = Duration::from_micros(300);

/// The writer thread: batches of checks, one commit each, and a flush
/// every `flush_every`. Ends (after a last flush) when the store is dropped.
fn writer(db: &Database, rx: &mpsc::Receiver<Job>, flush_every: Duration) {
    let mut last_flush = Instant::now();
    let mut dirty = false;
    // A check that was already waiting when the last batch was answered.
    let mut waiting: Option<Job> = None;
    loop {
        let busy = waiting.is_some();
        let first = match waiting.take() {
            Some(j) => Some(j),
            None => match rx.recv_timeout(flush_every.saturating_sub(last_flush.elapsed())) {
                Ok(j) => Some(j),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Err(e) = flush_db(db) {
                        tracing::warn!(error = %e, "greylist: final flush of the embedded store failed");
                    }
                    return;
                }
            },
        };
        if let Some(first) = first {
            let batch = gather(rx, first, busy);
            match run_batch(db, &batch) {
                Ok(outcomes) => {
                    for (job, o) in batch.into_iter().zip(outcomes) {
                        let _ = job.reply.send(Ok(o));
                    }
                }
                Err(e) => {
                    for job in batch {
                        let _ = job.reply.send(Err(e.clone()));
                    }
                }
            }
            dirty = true;
            waiting = rx.try_recv().ok();
        }
        if dirty && last_flush.elapsed() >= flush_every {
            if let Err(e) = flush_db(db) {
                tracing::warn!(error = %e, "greylist: cannot flush the embedded store");
            }
            dirty = false;
            last_flush = Instant::now();
        } else if !dirty {
            last_flush = Instant::now();
        }
    }
}

/// `first` and whatever is queued behind it, up to [`MAX_BATCH`]; when
/// `busy`, also what arrives within [`GATHER_FOR`].
fn gather(rx: &mpsc::Receiver<Job>, first: Job, busy: bool) -> Vec<Job> {
    let mut batch = vec![first];
    let until = Instant::now() + if busy { GATHER_FOR } else { Duration::ZERO };
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(j) => batch.push(j),
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left) {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
        }
    }
    batch
}

/// Applies a batch of checks in one write transaction, in order.
fn run_batch(db: &Database, batch: &[Job]) -> Result<Vec<Outcome>, StoreError> {
    let mut tx = db.begin_write().map_err(|e| err("begin", e))?;
    tx.set_durability(Durability::None)
        .map_err(|e| err("durability", e))?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut trip = tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
        let mut cli = tx.open_table(CLIENTS).map_err(|e| err("open table", e))?;
        let mut net = tx.open_table(NETWORKS).map_err(|e| err("open table", e))?;
        for job in batch {
            let (t, now, p) = (&job.t, job.now, &job.p);
            let before = Before {
                triplet: trip
                    .get(t.key.as_str())
                    .map_err(|e| err("read", e))?
                    .map(|v| {
                        let (first_seen, last_seen, passed) = v.value();
                        Entry {
                            first_seen,
                            last_seen,
                            passed,
                        }
                    }),
                client: cli
                    .get(t.client.as_str())
                    .map_err(|e| err("read", e))?
                    .map(|v| {
                        let (count, last_counted) = v.value();
                        ClientRec {
                            count,
                            last_counted,
                        }
                    })
                    .filter(|c| now.saturating_sub(c.last_counted) <= p.max_age),
                network: net
                    .get(t.network.as_str())
                    .map_err(|e| err("read", e))?
                    .map(|v| {
                        let (new_entries, window_start) = v.value();
                        NetRec {
                            new_entries,
                            window_start,
                        }
                    }),
            };
            let (outcome, w) = step(now, p, before);
            if let Some((e, _)) = w.triplet {
                trip.insert(t.key.as_str(), (e.first_seen, e.last_seen, e.passed))
                    .map_err(|e| err("write", e))?;
            }
            if let Some((c, _)) = w.client {
                cli.insert(t.client.as_str(), (c.count, c.last_counted))
                    .map_err(|e| err("write", e))?;
            }
            if let Some((n, _)) = w.network {
                net.insert(t.network.as_str(), (n.new_entries, n.window_start))
                    .map_err(|e| err("write", e))?;
            }
            out.push(outcome);
        }
    }
    tx.commit().map_err(|e| err("commit", e))?;
    Ok(out)
}

fn flush_db(db: &Database) -> Result<(), StoreError> {
    let tx = db.begin_write().map_err(|e| err("begin", e))?;
    tx.commit().map_err(|e| err("commit", e))
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Stop the writer (it flushes) so that the file is closed when this returns.
        drop(self.jobs.take());
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        if let Err(e) = self.flush() {
            tracing::warn!(path = %self.path, error = %e, "greylist: final flush failed");
        }
    }
}

/// The purge needs the parameters; the store keeps none, so they travel
/// with the call through this wrapper.
pub struct Embedded {
    inner: Arc<EmbeddedStore>,
    params: Params,
}

impl Embedded {
    pub fn new(inner: Arc<EmbeddedStore>, params: Params) -> Embedded {
        Embedded { inner, params }
    }

    pub fn inner(&self) -> &Arc<EmbeddedStore> {
        &self.inner
    }
}

impl Store for Embedded {
    fn check<'a>(
        &'a self,
        t: &'a Triplet,
        now: u64,
        p: &'a Params,
    ) -> BoxFuture<'a, Result<Outcome, StoreError>> {
        Box::pin(self.inner.check(t, now, p))
    }

    fn purge(&self, now: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        let inner = self.inner.clone();
        let p = self.params.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.purge_sync(now, &p))
                .await
                .map_err(|e| err("task", e))?
        })
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
}
