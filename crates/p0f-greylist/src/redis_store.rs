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
//! TLS (`rediss://`) uses rustls with the *ring* provider: the server's
//! certificate is checked against the CA given in [`TlsPem::root_cert`]
//! (or the system's roots without one), and [`TlsPem::client`] adds a
//! client certificate for servers that ask for one
//! (`tls-auth-clients yes`, Redis's default).
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

/// TLS material, in PEM, read from files by the caller at start-up.
#[derive(Clone, Default)]
pub struct TlsPem {
    /// CA certificates the server's certificate must chain to; `None`:
    /// the system's roots.
    pub root_cert: Option<Vec<u8>>,
    /// Client certificate chain and private key.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("TlsPem")
            .field("root_cert", &self.root_cert.is_some())
            .field("client", &self.client.is_some())
            .finish()
    }
}

/// The Redis-backed store.
pub struct RedisStore {
    client: redis::Client,
    tls: bool,
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
        RedisStore::with_tls(url, None, prefix, timeout)
    }

    /// As [`RedisStore::new`]; with `tls`, `url` must be `rediss://`.
    pub fn with_tls(
        url: &str,
        tls: Option<&TlsPem>,
        prefix: &str,
        timeout: Duration,
    ) -> Result<RedisStore, StoreError> {
        if url.contains('#') {
            // redis-rs reads `#insecure` as "skip certificate checks".
            return Err(err(
                "the URL must not have a #fragment (#insecure is refused)",
            ));
        }
        let is_tls = url.starts_with("rediss://");
        let client = match tls {
            Some(pem) => {
                if !is_tls {
                    return Err(err("TLS settings need a rediss:// URL"));
                }
                install_crypto_provider();
                redis::Client::build_with_tls(
                    url,
                    redis::TlsCertificates {
                        client_tls: pem
                            .client
                            .as_ref()
                            .map(|(cert, key)| redis::ClientTlsConfig {
                                client_cert: cert.clone(),
                                client_key: key.clone(),
                            }),
                        root_cert: pem.root_cert.clone(),
                    },
                )
                .map_err(err)?
            }
            None => {
                if is_tls {
                    install_crypto_provider();
                }
                redis::Client::open(url).map_err(err)?
            }
        };
        Ok(RedisStore {
            client,
            tls: is_tls,
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
            .map_err(|e| self.connect_error(e))?;
        *g = Some(c.clone());
        Ok(c)
    }

    /// Says what failed; a TLS failure names the settings to look at.
    fn connect_error(&self, e: redis::RedisError) -> StoreError {
        if self.tls {
            StoreError(format!(
                "redis: TLS connection failed (check the server certificate against \
                 [greylist.redis_tls] ca_file, and the client certificate): {e}"
            ))
        } else {
            StoreError(format!("redis: cannot connect: {e}"))
        }
    }

    /// `prefix` `kind` `name`, without `format!`'s machinery (three keys a
    /// decision).
    fn key(&self, kind: &str, name: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + kind.len() + name.len());
        k.push_str(&self.prefix);
        k.push_str(kind);
        k.push_str(name);
        k
    }

    async fn check_async(&self, t: &Triplet, now: u64, p: &Params) -> Result<Outcome, StoreError> {
        let mut c = self.connection().await?;
        let (kind, value): (String, u64) = self
            .script
            .key(self.key("t:", &t.key))
            .key(self.key("c:", &t.client))
            .key(self.key("n:", &t.network))
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

/// rustls needs a process-wide crypto provider; *ring* is the one built in.
/// Installing twice is harmless (the first stays).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
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
