//! Asking p0f over its Unix socket, every step (connect, write, read) under
//! its own timeout, the reply checked before use. v3 queries reuse kept
//! connections ([`crate::pool`]); v2 queries get one connection each.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use p0f_api::{v2, v3};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::timeout;

use crate::config::Instance;
use crate::net::canonical;
use crate::pool::Pool;
use crate::record::{ApiVersion, Fingerprint};

/// The ends of one SMTP connection, as far as the MTA told them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub client: IpAddr,
    pub client_port: Option<u16>,
    pub server: Option<IpAddr>,
    pub server_port: Option<u16>,
}

impl ConnInfo {
    pub fn client_only(client: IpAddr) -> ConnInfo {
        ConnInfo {
            client,
            client_port: None,
            server: None,
            server_port: None,
        }
    }
}

/// What p0f answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Found(Box<Fingerprint>),
    /// p0f does not know the host (v3 0x20) or the connection (v2 type 2).
    NoMatch,
}

/// The step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Connect,
    Write,
    Read,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::Write => "write",
            Step::Read => "read",
        })
    }
}

/// Why no answer could be used. Every variant means "go on unfingerprinted".
#[derive(Debug)]
pub enum LookupError {
    Io(Step, io::Error),
    Timeout(Step, Duration),
    /// The socket closed before a whole reply arrived.
    ShortReply {
        got: usize,
        want: usize,
    },
    BadMagic(u32),
    /// p0f refused the query (v3 status 0, v2 type 1).
    BadQuery,
    UnknownStatus(u32),
    /// v2 replied to another query id.
    WrongId {
        sent: u32,
        got: u32,
    },
    /// The query cannot be built (v2 needs IPv4 and both ports).
    CannotAsk(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Io(s, e) => write!(f, "{s} failed: {e}"),
            LookupError::Timeout(s, d) => write!(f, "{s} timed out after {} ms", d.as_millis()),
            LookupError::ShortReply { got, want } => {
                write!(f, "reply cut short: {got} of {want} bytes")
            }
            LookupError::BadMagic(m) => write!(f, "bad response magic 0x{m:08x}"),
            LookupError::BadQuery => write!(f, "p0f did not honor our query (bad query)"),
            LookupError::UnknownStatus(s) => write!(f, "unknown response status 0x{s:x}"),
            LookupError::WrongId { sent, got } => {
                write!(f, "reply id {got} does not match query id {sent}")
            }
            LookupError::CannotAsk(why) => write!(f, "cannot build query: {why}"),
        }
    }
}

impl std::error::Error for LookupError {}

/// Builds the v2 query for a connection: the client is the source, the
/// server (or the instance's `local_ip`) the destination.
pub fn v2_query(inst: &Instance, conn: &ConnInfo, id: u32) -> Result<v2::Query, LookupError> {
    let src = match canonical(conn.client) {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => {
            return Err(LookupError::CannotAsk(format!(
                "p0f v2 knows IPv4 only, client is {a}"
            )))
        }
    };
    let dst: Ipv4Addr = match inst.local_ip.or(conn.server).map(canonical) {
        Some(IpAddr::V4(a)) => a,
        Some(IpAddr::V6(a)) => {
            return Err(LookupError::CannotAsk(format!(
                "p0f v2 knows IPv4 only, server is {a}"
            )))
        }
        None => {
            return Err(LookupError::CannotAsk(
                "server address unknown (set local_ip, or have the MTA send {daemon_addr})".into(),
            ))
        }
    };
    let src_port = conn
        .client_port
        .ok_or_else(|| LookupError::CannotAsk("client port unknown".into()))?;
    let dst_port = conn.server_port.ok_or_else(|| {
        LookupError::CannotAsk("server port unknown (have the MTA send {daemon_port})".into())
    })?;
    Ok(v2::Query {
        qtype: v2::QTYPE_FINGERPRINT,
        id,
        src,
        dst,
        src_port,
        dst_port,
    })
}

/// Builds the v3 query: the client address, IPv4 or IPv6 (16 bytes in
/// network order; the plugin's own IPv6 packing was broken).
pub fn v3_query(conn: &ConnInfo) -> v3::Query {
    v3::Query {
        addr: canonical(conn.client),
    }
}

/// Checks a v3 reply the way the plugin does: magic, then status.
pub fn check_v3(buf: &[u8; v3::RESPONSE_LEN]) -> Result<Answer, LookupError> {
    let magic = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let r = v3::Response::decode(buf).ok_or(LookupError::BadMagic(magic))?;
    match r.status {
        v3::Status::Ok => Ok(Answer::Found(Box::new(Fingerprint::from_v3(&r)))),
        v3::Status::NoMatch => Ok(Answer::NoMatch),
        v3::Status::BadQuery => Err(LookupError::BadQuery),
        v3::Status::Other(c) => Err(LookupError::UnknownStatus(c)),
    }
}

/// Checks a v2 reply: magic, id, type.
pub fn check_v2(buf: &[u8; v2::RESPONSE_LEN], id: u32) -> Result<Answer, LookupError> {
    let magic = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let r = v2::Response::decode(buf).ok_or(LookupError::BadMagic(magic))?;
    if r.id != id {
        return Err(LookupError::WrongId {
            sent: id,
            got: r.id,
        });
    }
    match r.rtype {
        v2::RESP_OK => Ok(Answer::Found(Box::new(Fingerprint::from_v2(&r)))),
        v2::RESP_NOMATCH => Ok(Answer::NoMatch),
        v2::RESP_BADQUERY => Err(LookupError::BadQuery),
        other => Err(LookupError::UnknownStatus(u32::from(other))),
    }
}

async fn connect(path: &Path, limit: Duration) -> Result<UnixStream, LookupError> {
    timeout(limit, UnixStream::connect(path))
        .await
        .map_err(|_| LookupError::Timeout(Step::Connect, limit))?
        .map_err(|e| LookupError::Io(Step::Connect, e))
}

/// One query on an open connection. The flag says whether the failure
/// shows a connection the daemon had already closed (nothing of an answer
/// came back), which is worth one new connection when it was a kept one.
async fn query_on<const N: usize>(
    s: &mut UnixStream,
    query: &[u8],
    limit: Duration,
) -> Result<[u8; N], (LookupError, bool)> {
    let closed = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::NotConnected
        )
    };
    match timeout(limit, s.write_all(query)).await {
        Err(_) => return Err((LookupError::Timeout(Step::Write, limit), false)),
        Ok(Err(e)) => {
            let stale = closed(&e);
            return Err((LookupError::Io(Step::Write, e), stale));
        }
        Ok(Ok(())) => {}
    }
    let mut buf = [0u8; N];
    let mut got = 0;
    let read = async {
        while got < N {
            let n = s.read(&mut buf[got..]).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok::<(), io::Error>(())
    };
    match timeout(limit, read).await {
        Err(_) => Err((LookupError::Timeout(Step::Read, limit), false)),
        Ok(Err(e)) => {
            let stale = got == 0 && closed(&e);
            Err((LookupError::Io(Step::Read, e), stale))
        }
        Ok(Ok(())) if got < N => Err((LookupError::ShortReply { got, want: N }, got == 0)),
        Ok(Ok(())) => Ok(buf),
    }
}

/// One query on a connection of its own (v2: p0f 2 answers one query per
/// connection).
async fn exchange<const N: usize>(
    path: &Path,
    query: &[u8],
    limit: Duration,
) -> Result<[u8; N], LookupError> {
    let mut s = connect(path, limit).await?;
    query_on::<N>(&mut s, query, limit)
        .await
        .map_err(|(e, _)| e)
}

/// A v3 answer that starts with the reply magic: the connection is in step
/// and may be kept.
fn in_step(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf[..4] == v3::RESPONSE_MAGIC.to_ne_bytes()
}

/// One v3 query on a kept connection if there is one, else on a new one;
/// the connection is kept afterwards if the answer was in step (see
/// [`crate::pool`]).
async fn exchange_pooled<const N: usize>(
    pool: &Pool,
    path: &Path,
    query: &[u8],
    limit: Duration,
) -> Result<[u8; N], LookupError> {
    if let Some(mut s) = pool.take() {
        match query_on::<N>(&mut s, query, limit).await {
            Ok(buf) => {
                if in_step(&buf) {
                    pool.put(s);
                }
                return Ok(buf);
            }
            Err((e, false)) => return Err(e),
            // Closed by the daemon while it was idle: a new connection.
            Err((_, true)) => {}
        }
    }
    let mut s = connect(path, limit).await?;
    let buf = query_on::<N>(&mut s, query, limit)
        .await
        .map_err(|(e, _)| e)?;
    if in_step(&buf) {
        pool.put(s);
    }
    Ok(buf)
}

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

fn next_id() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
        .unwrap_or(0);
    t ^ NEXT_ID.fetch_add(0x9e37_79b9, Ordering::Relaxed) ^ 42
}

/// Asks one p0f instance about one connection, on a connection of its own.
pub async fn lookup(
    inst: &Instance,
    conn: &ConnInfo,
    limit: Duration,
) -> Result<Answer, LookupError> {
    lookup_with(inst, None, conn, limit).await
}

/// As [`lookup`]; v3 queries go over `pool`'s kept connections when given.
pub async fn lookup_with(
    inst: &Instance,
    pool: Option<&Pool>,
    conn: &ConnInfo,
    limit: Duration,
) -> Result<Answer, LookupError> {
    match inst.version {
        ApiVersion::V3 => {
            let q = v3_query(conn).encode();
            let buf = match pool {
                Some(p) => {
                    exchange_pooled::<{ v3::RESPONSE_LEN }>(p, &inst.socket, &q, limit).await?
                }
                None => exchange::<{ v3::RESPONSE_LEN }>(&inst.socket, &q, limit).await?,
            };
            check_v3(&buf)
        }
        ApiVersion::V2 => {
            let id = next_id();
            let q = v2_query(inst, conn, id)?.encode();
            let buf = exchange::<{ v2::RESPONSE_LEN }>(&inst.socket, &q, limit).await?;
            check_v2(&buf, id)
        }
    }
}
