//! Postfix policy delegation (`check_policy_service`).
//!
//! A request is `name=value` lines ended by an empty line; the answer is
//! `action=...` and an empty line. The connection stays open for further
//! requests.
//!
//! What this mode can and cannot do, compared with the milter:
//! * A block is answered `550 5.7.1 OS Blocked` (a plain `REJECT` would give
//!   554).
//! * One answer can prepend one header, and `PREPEND` is not honoured at the
//!   end of the message. So `X-P0F-Genre` is prepended at the first
//!   accepted recipient of a message and `X-P0F-Link-Type` at DATA; the
//!   message's `instance` attribute keeps them from repeating per recipient.
//! * Forged `X-P0F-*` headers already in the message cannot be removed from
//!   here: use the milter for that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_policy::net::parse_client_addr;
use p0f_policy::policy::header_value;
use p0f_policy::{ConnInfo, Lookup, Policy, RcptVerdict, HEADER_GENRE, HEADER_LINK_TYPE};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::timeout;
use tracing::{debug, warn};

/// Longest attribute line, attribute count and request size accepted.
pub const MAX_LINE: usize = 8192;
pub const MAX_ATTRS: usize = 256;
pub const MAX_REQUEST: usize = 64 * 1024;

/// Why a request was refused; the connection is closed.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestError {
    LineTooLong,
    TooManyAttributes,
    RequestTooLarge,
    /// A line without `=`.
    Malformed(String),
    Io(String),
    Idle,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::LineTooLong => write!(f, "attribute line longer than {MAX_LINE} bytes"),
            RequestError::TooManyAttributes => write!(f, "more than {MAX_ATTRS} attributes"),
            RequestError::RequestTooLarge => write!(f, "request larger than {MAX_REQUEST} bytes"),
            RequestError::Malformed(l) => write!(f, "malformed attribute line {l:?}"),
            RequestError::Io(e) => write!(f, "i/o error: {e}"),
            RequestError::Idle => write!(f, "idle timeout"),
        }
    }
}

/// One request's attributes.
pub type Request = HashMap<String, String>;

/// Parses one attribute line (without its newline).
pub fn parse_attr(line: &[u8]) -> Result<(String, String), RequestError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(RequestError::Malformed(text.chars().take(80).collect())),
    }
}

/// Reads one request; `Ok(None)` at a clean end of stream.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    r: &mut R,
    idle: Duration,
) -> Result<Option<Request>, RequestError> {
    let mut req = Request::new();
    let mut total = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded line read: never buffer more than MAX_LINE + 1 bytes.
        loop {
            let buf = match timeout(idle, r.fill_buf()).await {
                Err(_) => return Err(RequestError::Idle),
                Ok(Err(e)) => return Err(RequestError::Io(e.to_string())),
                Ok(Ok(b)) => b,
            };
            if buf.is_empty() {
                if line.is_empty() && req.is_empty() {
                    return Ok(None);
                }
                return Err(RequestError::Io(
                    "connection closed inside a request".into(),
                ));
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if line.len() + take > MAX_LINE + 1 {
                return Err(RequestError::LineTooLong);
            }
            line.extend_from_slice(&buf[..take]);
            r.consume(take);
            if done {
                break;
            }
        }
        total += line.len();
        if total > MAX_REQUEST {
            return Err(RequestError::RequestTooLarge);
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.is_empty() {
            return Ok(Some(req));
        }
        if req.len() >= MAX_ATTRS {
            return Err(RequestError::TooManyAttributes);
        }
        let (k, v) = parse_attr(l)?;
        req.insert(k, v);
    }
}

/// Per-connection p0f answers and per-message header state, shared by all
/// policy connections, bounded in size and age.
#[derive(Default)]
pub struct SharedState {
    lookups: HashMap<(String, String, String), (Instant, Lookup)>,
    /// instance -> (genre prepended, link type prepended)
    messages: HashMap<String, (Instant, bool, bool)>,
}

const MAX_ENTRIES: usize = 10_000;
const MAX_AGE: Duration = Duration::from_secs(600);

fn prune<K: Clone + std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>, at: impl Fn(&V) -> Instant) {
    if m.len() < MAX_ENTRIES {
        return;
    }
    let now = Instant::now();
    m.retain(|_, v| now.duration_since(at(v)) < MAX_AGE);
    if m.len() >= MAX_ENTRIES {
        m.clear();
    }
}

/// The policy service for one Postfix connection's requests.
#[derive(Clone)]
pub struct PolicyService {
    policy: Policy,
    state: Arc<Mutex<SharedState>>,
}

impl PolicyService {
    pub fn new(policy: Policy) -> Self {
        PolicyService {
            policy,
            state: Arc::new(Mutex::new(SharedState::default())),
        }
    }

    async fn lookup(&self, req: &Request, conn: &ConnInfo) -> Lookup {
        let key = (
            conn.client.to_string(),
            req.get("client_port").cloned().unwrap_or_default(),
            req.get("server_port").cloned().unwrap_or_default(),
        );
        if let Some((t, lk)) = self.state.lock().unwrap().lookups.get(&key) {
            if t.elapsed() < MAX_AGE {
                return lk.clone();
            }
        }
        let lk = self.policy.lookup(conn).await;
        let mut st = self.state.lock().unwrap();
        prune(&mut st.lookups, |v| v.0);
        st.lookups.insert(key, (Instant::now(), lk.clone()));
        lk
    }

    /// Marks a header as prepended for a message; false if it already was.
    fn first_time(&self, instance: &str, genre: bool) -> bool {
        if instance.is_empty() {
            return true;
        }
        let mut st = self.state.lock().unwrap();
        prune(&mut st.messages, |v| v.0);
        let e = st
            .messages
            .entry(instance.to_string())
            .or_insert((Instant::now(), false, false));
        let flag = if genre { &mut e.1 } else { &mut e.2 };
        if *flag {
            false
        } else {
            *flag = true;
            true
        }
    }

    /// The action for one request.
    pub async fn decide(&self, req: &Request) -> String {
        let state = req
            .get("protocol_state")
            .map(|s| s.to_ascii_uppercase())
            .unwrap_or_default();
        let Some(client) = req.get("client_address").and_then(|a| parse_client_addr(a)) else {
            debug!("policy request without a usable client_address: DUNNO");
            return "DUNNO".into();
        };
        let conn = ConnInfo {
            client,
            client_port: req.get("client_port").and_then(|p| p.parse().ok()),
            server: req.get("server_address").and_then(|a| parse_client_addr(a)),
            server_port: req.get("server_port").and_then(|p| p.parse().ok()),
        };
        let instance = req.get("instance").map(String::as_str).unwrap_or("");
        let headers = self.policy.config().add_headers();
        match state.as_str() {
            "RCPT" => {
                let lk = self.lookup(req, &conn).await;
                let authenticated = req.get("sasl_username").is_some_and(|u| !u.is_empty());
                let relay = self.policy.is_relay_client(client, authenticated);
                let rcpt = req.get("recipient").map(String::as_str).unwrap_or("");
                match self.policy.check_rcpt(&lk, client, relay, rcpt) {
                    RcptVerdict::Reject { reply, .. } | RcptVerdict::Tempfail(reply) => {
                        reply.to_string()
                    }
                    RcptVerdict::Accept | RcptVerdict::WouldBlock { .. } => {
                        let genre = lk
                            .record
                            .as_ref()
                            .map(|r| header_value(&r.genre))
                            .unwrap_or_default();
                        if headers && !genre.is_empty() && self.first_time(instance, true) {
                            format!("PREPEND {HEADER_GENRE}: {genre}")
                        } else {
                            "DUNNO".into()
                        }
                    }
                }
            }
            "DATA" => {
                if !headers {
                    return "DUNNO".into();
                }
                let lk = self.lookup(req, &conn).await;
                let link = lk
                    .record
                    .as_ref()
                    .map(|r| header_value(&r.link_type))
                    .unwrap_or_default();
                if !link.is_empty() && self.first_time(instance, false) {
                    format!("PREPEND {HEADER_LINK_TYPE}: {link}")
                } else {
                    "DUNNO".into()
                }
            }
            _ => "DUNNO".into(),
        }
    }

    /// Serves one Postfix connection.
    pub async fn serve<S>(
        &self,
        stream: S,
        peer: String,
        idle: Duration,
    ) -> Result<(), RequestError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (rd, mut wr) = tokio::io::split(stream);
        let mut rd = BufReader::with_capacity(MAX_LINE, rd);
        loop {
            let req = match read_request(&mut rd, idle).await {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(e) => {
                    warn!(%peer, error = %e, "policy client dropped");
                    return Err(e);
                }
            };
            let action = self.decide(&req).await;
            debug!(%peer, state = req.get("protocol_state").map(String::as_str).unwrap_or("?"),
                   client = req.get("client_address").map(String::as_str).unwrap_or("?"),
                   %action, "policy answer");
            let out = format!("action={action}\n\n");
            timeout(Duration::from_secs(30), wr.write_all(out.as_bytes()))
                .await
                .map_err(|_| RequestError::Io("write timed out".into()))?
                .map_err(|e| RequestError::Io(e.to_string()))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn reads_requests_in_sequence() {
        let data = b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n\nrequest=x\r\n\r\n";
        rt().block_on(async {
            let mut r = BufReader::new(&data[..]);
            let a = read_request(&mut r, Duration::from_secs(1))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(a["client_address"], "192.0.2.1");
            assert_eq!(a.len(), 3);
            let b = read_request(&mut r, Duration::from_secs(1))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(b["request"], "x");
            assert_eq!(
                read_request(&mut r, Duration::from_secs(1)).await.unwrap(),
                None
            );
        });
    }

    #[test]
    fn refuses_oversized_and_malformed() {
        rt().block_on(async {
            let long = vec![b'a'; MAX_LINE + 10];
            let mut r = BufReader::new(&long[..]);
            assert_eq!(
                read_request(&mut r, Duration::from_secs(1)).await,
                Err(RequestError::LineTooLong)
            );
            let many: String = (0..MAX_ATTRS + 1).map(|i| format!("a{i}=b\n")).collect();
            let mut r = BufReader::new(many.as_bytes());
            assert_eq!(
                read_request(&mut r, Duration::from_secs(1)).await,
                Err(RequestError::TooManyAttributes)
            );
            let mut r = BufReader::new(&b"novalue\n\n"[..]);
            assert!(matches!(
                read_request(&mut r, Duration::from_secs(1)).await,
                Err(RequestError::Malformed(_))
            ));
            let mut r = BufReader::new(&b"a=b\n"[..]);
            assert!(matches!(
                read_request(&mut r, Duration::from_secs(1)).await,
                Err(RequestError::Io(_))
            ));
            let big: String = (0..200)
                .map(|i| format!("a{i}={}\n", "x".repeat(400)))
                .collect();
            let mut r = BufReader::new(big.as_bytes());
            assert_eq!(
                read_request(&mut r, Duration::from_secs(1)).await,
                Err(RequestError::RequestTooLarge)
            );
        });
    }

    #[test]
    fn idle_peer_times_out() {
        rt().block_on(async {
            let (a, _b) = tokio::io::duplex(64);
            let mut r = BufReader::new(a);
            assert_eq!(
                read_request(&mut r, Duration::from_millis(50)).await,
                Err(RequestError::Idle)
            );
        });
    }

    proptest! {
        #[test]
        fn parser_never_panics_or_hangs(data in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'='), Just(b'\r'), any::<u8>()], 0..2000)) {
            rt().block_on(async {
                let mut r = BufReader::with_capacity(7, &data[..]);
                let mut n = 0;
                while let Ok(Some(_)) = read_request(&mut r, Duration::from_secs(1)).await {
                    n += 1;
                    assert!(n <= data.len());
                }
            });
        }

        #[test]
        fn attr_line_roundtrip(k in "[a-z_]{1,20}", v in "[^\n\r]{0,50}") {
            let line = format!("{k}={v}");
            prop_assert_eq!(parse_attr(line.as_bytes()).unwrap(), (k, v));
        }
    }
}
