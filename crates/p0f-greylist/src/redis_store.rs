//! The shared store: Redis (Debian's `redis-server`, or anything that
//! speaks its protocol), for several MX hosts.
//!
//! Each check is one Lua script (`greylist.lua`, the transition of
//! [`crate::state`]) run with `EVALSHA`, so it is atomic: two MX hosts that
//! see the same retry at once record one pass and count the client once.
//! Every key carries a TTL, so stale entries expire without a purge.
//!
//! Key layout (`prefix` defaults to `p0fgl:`):
//! * `p0fgl:t:<network>/<sender>/<recipient>`: hash `f` first seen, `l`
//!   last seen, `p` passed (0/1); TTL the retry window, then `max_age`.
//! * `p0fgl:c:<client address>`: hash `n` passes counted, `l` last counted;
//!   TTL `max_age`.
//! * `p0fgl:n:<client network>`: hash `n` new entries, `s` window start;
//!   TTL the rest of the window.
//!
//! By default the script reads the time from Redis (`TIME`), so MX hosts
//! whose clocks differ still agree.
//!
//! The connection is made on first use and re-made by the client's
//! connection manager after failures; a server that is down when the
//! service starts is therefore no start-up error: checks fail (and the
//! [`crate::Greylist`] fail mode applies) until it is back.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::Mutex;

use crate::state::{Outcome, Params};
use crate::{BoxFuture, Store, StoreError, Triplet};

const SCRIPT: &str = include_str!("greylist.lua");

/// The Redis-backed store.
pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    script: Script,
    prefix: String,
    timeout: Duration,
    /// Take the time from Redis (`TIME`) instead of the caller's `now`.
    pub server_clock: bool,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis: {e}"))
}

impl RedisStore {
    /// `url` is `redis://[:password@]host:port[/db]` or `unix:///path`.
    /// Nothing is connected yet.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(err)?;
        Ok(RedisStore {
            client,
            conn: Mutex::new(None),
            script: Script::new(SCRIPT),
            prefix: prefix.to_string(),
            timeout,
            server_clock: true,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut g = self.conn.lock().await;
        if let Some(c) = g.as_ref() {
            return Ok(c.clone());
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let c = ConnectionManager::new_with_config(self.client.clone(), cfg)
            .await
            .map_err(err)?;
        *g = Some(c.clone());
        Ok(c)
    }

    async fn check_async(&self, t: &Triplet, now: u64, p: &Params) -> Result<Outcome, StoreError> {
        let mut c = self.connection().await?;
        let (kind, value): (String, u64) = self
            .script
            .key(format!("{}t:{}", self.prefix, t.key))
            .key(format!("{}c:{}", self.prefix, t.client))
            .key(format!("{}n:{}", self.prefix, t.network))
            .arg(now)
            .arg(p.delay)
            .arg(p.retry_window)
            .arg(p.max_age)
            .arg(p.awl_clients)
            .arg(p.max_new_per_network)
            .arg(if self.server_clock { "1" } else { "0" })
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        Ok(match kind.as_str() {
            "awl" => Outcome::ClientWhitelisted,
            "capped" => Outcome::Capped,
            "new" => Outcome::New,
            "early" => Outcome::TooEarly { remaining: value },
            "retried" => Outcome::Retried { waited: value },
            "known" => Outcome::Known,
            other => return Err(err(format!("script answered {other:?}"))),
        })
    }
}

impl Store for RedisStore {
    fn check<'a>(
        &'a self,
        t: &'a Triplet,
        now: u64,
        p: &'a Params,
    ) -> BoxFuture<'a, Result<Outcome, StoreError>> {
        Box::pin(self.check_async(t, now, p))
    }

    fn purge(&self, _now: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        // Keys expire by their TTLs.
        Box::pin(async { Ok(0) })
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
