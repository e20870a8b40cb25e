//! The embedded store: one redb file, for a single MX host.
//!
//! A check runs on the caller's task, under one lock, against the state in
//! memory: the records changed since the last flush ([`Pending`]), then
//! those being flushed, then a read snapshot of the file. The records it
//! changes go into [`Pending`]. So checks are serialised and atomic, and
//! a check costs neither a hand-off to another thread nor a page write.
//!
//! A flusher thread writes the pending records into the file every
//! `flush_every`, in one transaction committed with [`Durability::Immediate`]
//! (an fsync), and takes a new read snapshot. A crash therefore loses at most
//! the last `flush_every` (and the flush under way) of greylist state, which
//! costs a sender one more delay, as before this design (which committed each
//! batch of checks without an fsync, and made them durable every
//! `flush_every`: redb drops such commits in a crash). [`EmbeddedStore::flush`]
//! (at shutdown, and before a purge or a count) flushes at once.
//!
//! Memory is bounded: at [`MAX_PENDING`] / 2 pending records the flusher is
//! woken early; at [`MAX_PENDING`] checks wait for a flush to finish (the
//! store's timeout applies to that wait as to any other).
//!
//! A failed flush keeps its records in memory and is retried at the next
//! interval; until it succeeds no new records are taken from [`Pending`], so
//! a failing disk ends, at [`MAX_PENDING`], in checks that time out and the
//! configured fail mode. redb refuses every transaction of a database after
//! one I/O error (`PreviousIo`), so a retry on the same handle could never
//! succeed: a failed flush closes the file and opens it again ([`DbFile`]),
//! which lets redb repair it, and the store recovers once the disk does.
//!
//! Expired entries are removed by [`Store::purge`], which the service runs
//! periodically; [`step`] ignores expired records in the meantime.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTableMetadata, TableDefinition,
};
use tokio::sync::Notify;

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

/// Most records (of the three kinds together) kept in memory before checks
/// wait for a flush: a few tens of megabytes.
pub const MAX_PENDING: usize = 200_000;

/// Records changed since they were last written to the file.
#[derive(Default)]
struct Pending {
    triplets: HashMap<String, Entry>,
    clients: HashMap<String, ClientRec>,
    networks: HashMap<String, NetRec>,
}

impl Pending {
    fn len(&self) -> usize {
        self.triplets.len() + self.clients.len() + self.networks.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The file's tables as of the last flush.
struct Snapshot {
    triplets: ReadOnlyTable<&'static str, (u64, u64, bool)>,
    clients: ReadOnlyTable<&'static str, (u32, u64)>,
    networks: ReadOnlyTable<&'static str, (u32, u64)>,
}

impl Snapshot {
    fn take(db: &Database) -> Result<Snapshot, StoreError> {
        let tx = db.begin_read().map_err(|e| err("begin", e))?;
        let open = |e| err("open table", e);
        Ok(Snapshot {
            triplets: tx.open_table(TRIPLETS).map_err(open)?,
            clients: tx.open_table(CLIENTS).map_err(open)?,
            networks: tx.open_table(NETWORKS).map_err(open)?,
        })
    }

    fn triplet(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .triplets
            .get(key)
            .map_err(|e| err("read", e))?
            .map(|v| {
                let (first_seen, last_seen, passed) = v.value();
                Entry {
                    first_seen,
                    last_seen,
                    passed,
                }
            }))
    }

    fn client(&self, key: &str) -> Result<Option<ClientRec>, StoreError> {
        Ok(self.clients.get(key).map_err(|e| err("read", e))?.map(|v| {
            let (count, last_counted) = v.value();
            ClientRec {
                count,
                last_counted,
            }
        }))
    }

    fn network(&self, key: &str) -> Result<Option<NetRec>, StoreError> {
        Ok(self
            .networks
            .get(key)
            .map_err(|e| err("read", e))?
            .map(|v| {
                let (new_entries, window_start) = v.value();
                NetRec {
                    new_entries,
                    window_start,
                }
            }))
    }
}

/// What the checks share with the flusher, under one lock.
struct State {
    pending: Pending,
    /// Records being written (or whose write failed and waits for a retry).
    flushing: Option<Arc<Pending>>,
    snapshot: Snapshot,
    /// The flusher was asked for an early flush and has not started it.
    early_asked: bool,
    stop: bool,
}

impl State {
    /// The newest version of a record: pending, then being flushed, then
    /// the file.
    fn find<V: Copy>(
        &self,
        key: &str,
        of: impl Fn(&Pending) -> &HashMap<String, V>,
        from_file: impl FnOnce(&Snapshot, &str) -> Result<Option<V>, StoreError>,
    ) -> Result<Option<V>, StoreError> {
        if let Some(v) = of(&self.pending).get(key) {
            return Ok(Some(*v));
        }
        if let Some(v) = self.flushing.as_deref().and_then(|f| of(f).get(key)) {
            return Ok(Some(*v));
        }
        from_file(&self.snapshot, key)
    }

    fn check(&mut self, t: &Triplet, now: u64, p: &Params) -> Result<Outcome, StoreError> {
        let before = Before {
            triplet: self.find(&t.key, |s| &s.triplets, Snapshot::triplet)?,
            client: self
                .find(&t.client, |s| &s.clients, Snapshot::client)?
                .filter(|c| now.saturating_sub(c.last_counted) <= p.max_age),
            network: self.find(&t.network, |s| &s.networks, Snapshot::network)?,
        };
        let (outcome, w) = step(now, p, before);
        if let Some((e, _)) = w.triplet {
            put(&mut self.pending.triplets, &t.key, e);
        }
        if let Some((c, _)) = w.client {
            put(&mut self.pending.clients, &t.client, c);
        }
        if let Some((n, _)) = w.network {
            put(&mut self.pending.networks, &t.network, n);
        }
        Ok(outcome)
    }
}

/// Inserts without allocating a key when the record is already pending.
fn put<V>(m: &mut HashMap<String, V>, key: &str, v: V) {
    match m.get_mut(key) {
        Some(slot) => *slot = v,
        None => {
            m.insert(key.to_string(), v);
        }
    }
}

/// Opens the database file (again, after an I/O error).
type Opener = Box<dyn Fn() -> Result<Database, StoreError> + Send + Sync>;

/// The open database, or none while an I/O error keeps it from opening.
struct DbFile {
    db: Option<Database>,
    open: Opener,
}

impl DbFile {
    /// The database, opened again first if an error closed it.
    fn get(&mut self) -> Result<&Database, StoreError> {
        let db = match self.db.take() {
            Some(db) => db,
            None => (self.open)()?,
        };
        Ok(self.db.insert(db))
    }

    /// After an I/O error: the handle refuses all further transactions, so
    /// close it (unlocking the file) and open the file again at once, so
    /// that checks read the file's records through a new snapshot (a check
    /// in between gets an error, and the store's fail mode). If the file
    /// does not open, the next flush tries again.
    fn reopen(&mut self, state: &Mutex<State>) {
        self.db = None;
        match self.get().and_then(Snapshot::take) {
            Ok(snapshot) => state.lock().unwrap_or_else(|e| e.into_inner()).snapshot = snapshot,
            Err(e) => {
                self.db = None;
                tracing::warn!(error = %e, "greylist: cannot reopen the embedded store (retried at the next flush)");
            }
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the flusher early (or to stop).
    wake: Condvar,
    /// Tells waiting checks that a flush ended.
    flushed: Notify,
    /// The file, held for a whole flush, so that flushes (the flusher's,
    /// `flush()`'s, a purge's) never overlap.
    file: Mutex<DbFile>,
    /// Pending records at which checks wait ([`MAX_PENDING`]).
    max_pending: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves maps that are still consistent
        // records (every update is one insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what is pending (after what a failed flush left) into the
    /// file, durably, and takes a new snapshot.
    fn flush(&self) -> Result<(), StoreError> {
        let mut file = self.lock_file();
        let result = self.flush_locked(&mut file);
        self.flushed.notify_waiters();
        result
    }

    fn lock_file(&self) -> MutexGuard<'_, DbFile> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn flush_locked(&self, file: &mut DbFile) -> Result<(), StoreError> {
        // Set while the batch is one a failed flush left: the records
        // pending when this flush began are not in it and still to go.
        let mut retrying = false;
        loop {
            let batch = {
                let mut st = self.lock();
                st.early_asked = false;
                match &st.flushing {
                    Some(f) => {
                        retrying = true;
                        f.clone()
                    }
                    None if st.pending.is_empty() => return Ok(()),
                    None => {
                        let f = Arc::new(std::mem::take(&mut st.pending));
                        st.flushing = Some(f.clone());
                        f
                    }
                }
            };
            // An error from opening leaves nothing to close.
            let db = file.get()?;
            let written = write_batch(db, &batch).and_then(|()| Snapshot::take(db));
            let snapshot = match written {
                Ok(s) => s,
                Err(e) => {
                    file.reopen(&self.state);
                    return Err(e);
                }
            };
            let mut st = self.lock();
            st.flushing = None;
            st.snapshot = snapshot;
            if st.pending.is_empty() {
                return Ok(());
            }
            if std::mem::take(&mut retrying) {
                continue;
            }
            // Checks went on meanwhile; a shutdown wants those too, and the
            // flusher may as well.
            if !st.stop && st.pending.len() < self.max_pending / 2 {
                return Ok(());
            }
        }
    }
}

/// One transaction with every record of `batch`, committed durably.
fn write_batch(db: &Database, batch: &Pending) -> Result<(), StoreError> {
    let mut tx = db.begin_write().map_err(|e| err("begin", e))?;
    tx.set_durability(Durability::Immediate)
        .map_err(|e| err("durability", e))?;
    {
        let mut trip = tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
        for (k, e) in &batch.triplets {
            trip.insert(k.as_str(), (e.first_seen, e.last_seen, e.passed))
                .map_err(|e| err("write", e))?;
        }
        let mut cli = tx.open_table(CLIENTS).map_err(|e| err("open table", e))?;
        for (k, c) in &batch.clients {
            cli.insert(k.as_str(), (c.count, c.last_counted))
                .map_err(|e| err("write", e))?;
        }
        let mut net = tx.open_table(NETWORKS).map_err(|e| err("open table", e))?;
        for (k, n) in &batch.networks {
            net.insert(k.as_str(), (n.new_entries, n.window_start))
                .map_err(|e| err("write", e))?;
        }
    }
    tx.commit().map_err(|e| err("commit", e))
}

/// The redb-backed store.
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    path: String,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the database file and starts the flusher.
    pub fn open(path: &Path, flush_every: Duration) -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::open_bounded(path, flush_every, MAX_PENDING)
    }

    /// As [`EmbeddedStore::open`], with checks waiting for the file at
    /// `max_pending` records in memory instead of [`MAX_PENDING`].
    pub fn open_bounded(
        path: &Path,
        flush_every: Duration,
        max_pending: usize,
    ) -> Result<EmbeddedStore, StoreError> {
        let path = path.to_path_buf();
        let name = path.display().to_string();
        let open: Opener = Box::new(move || {
            Database::create(&path).map_err(|e| err(&path.display().to_string(), e))
        });
        EmbeddedStore::open_with(name, open, flush_every, max_pending)
    }

    /// Opens the store on what `open` gives, which is called again to
    /// reopen the file after an I/O error.
    fn open_with(
        name: String,
        open: Opener,
        flush_every: Duration,
        max_pending: usize,
    ) -> Result<EmbeddedStore, StoreError> {
        let max_pending = max_pending.max(8);
        let db = open()?;
        let tx = db.begin_write().map_err(|e| err("begin", e))?;
        {
            tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
            tx.open_table(CLIENTS).map_err(|e| err("open table", e))?;
            tx.open_table(NETWORKS).map_err(|e| err("open table", e))?;
        }
        tx.commit().map_err(|e| err("commit", e))?;
        let snapshot = Snapshot::take(&db)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: Pending::default(),
                flushing: None,
                snapshot,
                early_asked: false,
                stop: false,
            }),
            wake: Condvar::new(),
            flushed: Notify::new(),
            file: Mutex::new(DbFile { db: Some(db), open }),
            max_pending,
        });
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("greylist-flusher".into())
            .spawn(move || flusher(&s, flush_every))
            .map_err(|e| err("flusher thread", e))?;
        Ok(EmbeddedStore {
            shared,
            path: name,
            flusher: Some(handle),
        })
    }

    /// Checks a triplet; waits only when [`MAX_PENDING`] records wait for
    /// the file.
    pub async fn check(&self, t: &Triplet, now: u64, p: &Params) -> Result<Outcome, StoreError> {
        let max = self.shared.max_pending;
        loop {
            let flushed = {
                let mut st = self.shared.lock();
                if st.stop {
                    return Err(err("flusher", "the store is closing"));
                }
                let n = st.pending.len();
                if n + 3 >= max / 2 && !st.early_asked {
                    st.early_asked = true;
                    self.shared.wake.notify_one();
                }
                // A check adds at most three records.
                if n + 3 <= max {
                    return st.check(t, now, p);
                }
                // Registered under the lock: a flush changes the state under
                // it and then tells its waiters, so none is missed.
                let mut flushed = Box::pin(self.shared.flushed.notified());
                flushed.as_mut().enable();
                flushed
            };
            flushed.await;
        }
    }

    /// Records changed in memory and not yet written to the file.
    pub fn pending(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Makes every check so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.shared.flush()
    }

    /// Number of triplets stored (expired ones included until purged);
    /// flushes first.
    pub fn len(&self) -> Result<u64, StoreError> {
        let mut file = self.shared.lock_file();
        let flushed = self.shared.flush_locked(&mut file);
        self.shared.flushed.notify_waiters();
        flushed?;
        let tx = file.get()?.begin_read().map_err(|e| err("begin", e))?;
        let t = tx.open_table(TRIPLETS).map_err(|e| err("open table", e))?;
        t.len().map_err(|e| err("len", e))
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.len().map(|n| n == 0)
    }

    /// Flushes, then removes what has expired from the file.
    fn purge_sync(&self, now: u64, p: &Params) -> Result<u64, StoreError> {
        let sh = &self.shared;
        let mut file = sh.lock_file();
        let flushed = sh.flush_locked(&mut file);
        sh.flushed.notify_waiters();
        flushed?;
        let db = file.get()?;
        let purged = purge_file(db, now, p).and_then(|n| Ok((n, Snapshot::take(db)?)));
        match purged {
            Ok((removed, snapshot)) => {
                sh.lock().snapshot = snapshot;
                Ok(removed)
            }
            Err(e) => {
                file.reopen(&sh.state);
                Err(e)
            }
        }
    }
}

fn purge_file(db: &Database, now: u64, p: &Params) -> Result<u64, StoreError> {
    let tx = db.begin_write().map_err(|e| err("begin", e))?;
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

/// The flusher thread: a flush every `flush_every`, or earlier when asked;
/// a last one when the store is dropped.
fn flusher(sh: &Shared, flush_every: Duration) {
    let mut next = Instant::now() + flush_every;
    // After a failed flush the next try waits the whole interval, early
    // requests or not: checks waiting at the bound would otherwise ask
    // again at once, and a failing disk would be retried in a busy loop.
    let mut failed = false;
    loop {
        let stop = {
            let mut st = sh.lock();
            while !st.stop && (failed || !st.early_asked) && Instant::now() < next {
                let left = next.saturating_duration_since(Instant::now());
                st = sh
                    .wake
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            st.stop
        };
        let result = sh.flush();
        failed = result.is_err();
        if let Err(e) = result {
            tracing::warn!(error = %e, "greylist: cannot flush the embedded store (kept in memory, retried)");
        }
        if stop {
            return;
        }
        next = Instant::now() + flush_every;
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Stop the flusher (it flushes a last time) so that the file is
        // closed when this returns.
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(h) = self.flusher.take() {
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

#[cfg(test)]
mod fault_tests;
