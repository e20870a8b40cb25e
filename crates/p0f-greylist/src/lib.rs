//! Greylist state for `p0f-mailpolicy`: what is remembered about a triplet,
//! how it changes, and where it is kept.
//!
//! # Why a crate of its own
//! The mail policy (`p0f-policy`) decides *whether* a message is subject to
//! greylisting (OS rules, exemptions). This crate answers the other half:
//! *has this triplet waited long enough?* That question needs state, time
//! and I/O, which the policy should not know about, and it must give the
//! same answer whether the state lives in a file on one MX host or in a
//! Redis shared by several.
//!
//! # Parts
//! * [`key`]: the triplet (client network, sender, recipient), with the
//!   sender normalised the way postgrey does it, each part optional.
//! * [`state`]: the life cycle of one entry as a pure function ([`state::step`]):
//!   first sight defers, a retry after `delay` and within `retry_window`
//!   passes, a pass is remembered for `max_age`, renewed by each delivery,
//!   and clients that passed often enough are whitelisted (postgrey's
//!   `--auto-whitelist-clients`).
//! * [`Store`]: the trait both backends implement. [`embedded::EmbeddedStore`]
//!   (redb, one file, the default) runs [`state::step`] inside a write
//!   transaction; [`redis_store::RedisStore`] runs the same transition as a
//!   Lua script inside Redis, so that two MX hosts seeing the same retry
//!   at once record one pass.
//! * [`Greylist`]: a store with a deadline on every operation and a fail
//!   mode: a dead or slow store never loses mail unless told to.

pub mod embedded;
pub mod key;
pub mod redis_store;
pub mod state;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use key::{KeyConfig, Triplet};
pub use state::{Outcome, Params};

/// A boxed future, so that [`Store`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Where greylist entries are kept.
pub trait Store: Send + Sync {
    /// Looks the triplet up at time `now` (Unix seconds), applies
    /// [`state::step`] and records the result, atomically.
    fn check<'a>(
        &'a self,
        t: &'a Triplet,
        now: u64,
        p: &'a Params,
    ) -> BoxFuture<'a, Result<Outcome, StoreError>>;

    /// Removes entries that have expired by `now`; returns how many. Stores
    /// whose entries expire by themselves (Redis TTLs) return 0.
    fn purge(&self, now: u64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// A short name for logs and metrics (`embedded`, `redis`).
    fn kind(&self) -> &'static str;

    /// Makes everything recorded so far durable (at shutdown).
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// What to do when the store fails or is too slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnStoreError {
    /// Accept the mail and log the failure (the default: mail is never lost).
    #[default]
    Accept,
    /// Answer with a temporary failure.
    Tempfail,
}

/// The result of asking a [`Greylist`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The store answered.
    Decided(Outcome),
    /// The store failed or timed out; the caller applies `on_error`.
    StoreFailed {
        error: String,
        on_error: OnStoreError,
    },
}

/// A store with a deadline on every operation.
#[derive(Clone)]
pub struct Greylist {
    store: Arc<dyn Store>,
    pub params: Params,
    pub timeout: Duration,
    pub on_error: OnStoreError,
    errors: Arc<AtomicU64>,
}

impl fmt::Debug for Greylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Greylist")
            .field("store", &self.store.kind())
            .field("params", &self.params)
            .field("timeout", &self.timeout)
            .field("on_error", &self.on_error)
            .finish()
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Greylist {
    pub fn new(
        store: Arc<dyn Store>,
        params: Params,
        timeout: Duration,
        on_error: OnStoreError,
    ) -> Greylist {
        Greylist {
            store,
            params,
            timeout,
            on_error,
            errors: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn store_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Store failures (errors and timeouts) since start.
    pub fn store_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Checks a triplet now, within the timeout.
    pub async fn check(&self, t: &Triplet) -> Verdict {
        self.check_at(t, unix_now()).await
    }

    /// Checks a triplet at a given time, within the timeout.
    pub async fn check_at(&self, t: &Triplet, now: u64) -> Verdict {
        let res = tokio::time::timeout(self.timeout, self.store.check(t, now, &self.params)).await;
        let error = match res {
            Ok(Ok(o)) => return Verdict::Decided(o),
            Ok(Err(e)) => e.0,
            Err(_) => format!(
                "{} store did not answer within {} ms",
                self.store.kind(),
                self.timeout.as_millis()
            ),
        };
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(store = self.store.kind(), %error, on_error = ?self.on_error,
                       "greylist store failed");
        Verdict::StoreFailed {
            error,
            on_error: self.on_error,
        }
    }

    /// Makes everything recorded so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.store.flush()
    }

    /// Purges expired entries, within the timeout.
    pub async fn purge(&self) -> Result<u64, StoreError> {
        match tokio::time::timeout(self.timeout * 10, self.store.purge(unix_now())).await {
            Ok(r) => r,
            Err(_) => Err(StoreError("purge timed out".into())),
        }
    }
}
