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
//!   end of the message. The headers a message should get are queued in this
//!   order: `X-Greylist` (when a recipient passed after a delay),
//!   `X-P0F-Genre`, `X-P0F-Link-Type`, the karma header; every request
//!   that can prepend (each accepted RCPT, DATA, and a second RCPT request
//!   when `check_policy_service` is also in `smtpd_sender_restrictions`,
//!   which Postfix evaluates at RCPT by default) sends the first one not
//!   sent yet that is known by then. Without greylisting and with one
//!   recipient that is `X-P0F-Genre` at RCPT and `X-P0F-Link-Type` at DATA
//!   (`tests/postfix_prepend.rs` shows it on Postfix). The message's
//!   `instance` attribute tracks what was sent.
//! * Greylisting answers `DEFER_IF_PERMIT 4.7.1 text` at RCPT, as postgrey
//!   does (Postfix sends it as `450 4.7.1`), or, with `deny_late` and for
//!   the null sender, `450 4.7.1 text` at DATA.
//! * Forged `X-P0F-*` headers already in the message cannot be removed from
//!   here: use the milter for that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_policy::config::SmtpReply;
use p0f_policy::net::parse_client_addr;
use p0f_policy::policy::header_value;
use p0f_policy::{
    ConnInfo, GreyVerdict, Lookup, Policy, RcptContext, RcptVerdict, HEADER_GENRE, HEADER_LINK_TYPE,
};

use crate::metrics::{self, Action};
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
pub type Request = HashMap<String, String, AttrHasher>;

/// FNV-1a for the attribute names: a request's map is built and read some
/// forty times per decision, and SipHash (the default, which resists
/// chosen collisions) cost more than the lookups themselves. Collisions
/// cannot hurt here: a request holds at most [`MAX_ATTRS`] names.
pub type AttrHasher = fnv::FnvBuildHasher;

/// Parses one attribute line (without its newline).
pub fn parse_attr(line: &[u8]) -> Result<(String, String), RequestError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // Valid UTF-8 (Postfix's usual) is checked in one pass; only other
    // bytes go the slower way of replacing them.
    let text = match std::str::from_utf8(line) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(line),
    };
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
    // Postfix sends about 30 attributes: one allocation, no regrowth.
    let mut req = Request::with_capacity_and_hasher(32, AttrHasher::default());
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

/// An SMTP connection as the p0f answers are kept: client, client port,
/// server port.
type ConnKey = (IpAddr, Option<u16>, Option<u16>);

/// Per-connection p0f answers and per-message header state, shared by all
/// policy connections, bounded in size and age.
#[derive(Default)]
pub struct SharedState {
    lookups: HashMap<ConnKey, (Instant, Lookup)>,
    /// instance -> what the message has been given so far
    messages: HashMap<String, MessageState>,
}

/// Per-message state, keyed by Postfix's `instance`.
#[derive(Clone, Debug)]
struct MessageState {
    at: Instant,
    /// Headers already prepended (by name).
    sent: Vec<&'static str>,
    /// Longest greylist wait among accepted recipients.
    grey_waited: Option<u64>,
    /// A greylist tempfail to give at DATA.
    late: Option<SmtpReply>,
    /// The last recipient decided, and the answer that refused it (`None`:
    /// accepted). With the service also in `smtpd_sender_restrictions`,
    /// Postfix asks twice per recipient at RCPT; the second request reuses
    /// the decision instead of making it (and counting it) again.
    decided: Option<(String, Option<String>)>,
}

impl MessageState {
    fn new() -> MessageState {
        MessageState {
            at: Instant::now(),
            sent: Vec::new(),
            grey_waited: None,
            late: None,
            decided: None,
        }
    }
}

/// Header names in the order they are prepended (see the module docs).
const HEADER_ORDER: [&str; 4] = [
    p0f_policy::HEADER_GREYLIST,
    HEADER_GENRE,
    HEADER_LINK_TYPE,
    "karma",
];

const MAX_ENTRIES: usize = 10_000;
const MAX_AGE: Duration = Duration::from_secs(600);

/// Keeps a state table within [`MAX_ENTRIES`]: entries older than
/// [`MAX_AGE`] go first; if the table is still full of live messages (more
/// than 10,000 in ten minutes), the oldest tenth goes, so that messages in
/// the middle of their transaction (a greylist tempfail owed at DATA, the
/// headers already sent) keep their state.
fn prune<K: Clone + std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>, at: impl Fn(&V) -> Instant) {
    if m.len() < MAX_ENTRIES {
        return;
    }
    let now = Instant::now();
    m.retain(|_, v| now.duration_since(at(v)) < MAX_AGE);
    if m.len() < MAX_ENTRIES {
        return;
    }
    let mut times: Vec<Instant> = m.values().map(&at).collect();
    let (_, &mut cutoff, _) = times.select_nth_unstable(MAX_ENTRIES / 10);
    m.retain(|_, v| at(v) > cutoff);
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

    async fn lookup(&self, conn: &ConnInfo) -> Lookup {
        let key = (conn.client, conn.client_port, conn.server_port);
        if let Some((t, lk)) = self.state.lock().unwrap().lookups.get(&key) {
            if t.elapsed() < MAX_AGE {
                return lk.clone();
            }
        }
        let start = Instant::now();
        let lk = self.policy.lookup(conn).await;
        metrics::get().p0f_query(&lk, start.elapsed());
        let mut st = self.state.lock().unwrap();
        prune(&mut st.lookups, |v| v.0);
        st.lookups.insert(key, (Instant::now(), lk.clone()));
        lk
    }

    /// Runs `f` on the message's state (a fresh one without `instance`).
    fn with_message<T>(&self, instance: &str, f: impl FnOnce(&mut MessageState) -> T) -> T {
        if instance.is_empty() {
            return f(&mut MessageState::new());
        }
        let mut st = self.state.lock().unwrap();
        prune(&mut st.messages, |v| v.at);
        let e = st
            .messages
            .entry(instance.to_string())
            .or_insert_with(MessageState::new);
        f(e)
    }

    /// The next header to prepend for this message, if any is due.
    fn next_header(&self, instance: &str, lk: &Lookup) -> String {
        let headers = self.policy.config().add_headers();
        let (genre, link) = match &lk.record {
            Some(r) if headers => (header_value(&r.genre), header_value(&r.link_type)),
            _ => (String::new(), String::new()),
        };
        if genre.is_empty() && link.is_empty() && !instance.is_empty() {
            // Nothing may be due at all (no fingerprint, no greylist wait,
            // no karma header): then answer without creating the message's
            // state, which would only record that nothing was sent.
            let waited = self
                .state
                .lock()
                .unwrap()
                .messages
                .get(instance)
                .and_then(|m| m.grey_waited);
            if self.policy.extra_headers(lk, waited).is_empty() {
                return "DUNNO".to_string();
            }
        }
        self.with_message(instance, |m| {
            let extra = self.policy.extra_headers(lk, m.grey_waited);
            for slot in HEADER_ORDER {
                let candidate = match slot {
                    HEADER_GENRE => {
                        (!genre.is_empty()).then(|| (HEADER_GENRE.to_string(), genre.clone()))
                    }
                    HEADER_LINK_TYPE => {
                        (!link.is_empty()).then(|| (HEADER_LINK_TYPE.to_string(), link.clone()))
                    }
                    p0f_policy::HEADER_GREYLIST => extra
                        .iter()
                        .find(|(n, _)| n == p0f_policy::HEADER_GREYLIST)
                        .cloned(),
                    _ => extra
                        .iter()
                        .find(|(n, _)| n != p0f_policy::HEADER_GREYLIST)
                        .cloned(),
                };
                if let Some((name, value)) = candidate {
                    if !m.sent.contains(&slot) {
                        m.sent.push(slot);
                        return format!("PREPEND {name}: {value}");
                    }
                }
            }
            "DUNNO".to_string()
        })
    }

    /// The answer a second request for the same recipient of the same
    /// message gets: the first one's (see [`MessageState::decided`]).
    fn earlier_decision(&self, instance: &str, rcpt: &str) -> Option<Option<String>> {
        if instance.is_empty() {
            return None;
        }
        let st = self.state.lock().unwrap();
        let (decided, refusal) = st.messages.get(instance)?.decided.as_ref()?;
        (decided == rcpt).then(|| refusal.clone())
    }

    /// Blocking, then greylisting, for one recipient: the answer that
    /// refuses it, or `None` when it is accepted (a late greylist tempfail
    /// is kept for DATA).
    async fn decide_rcpt(
        &self,
        req: &Request,
        instance: &str,
        rcpt: &str,
        client: IpAddr,
        conn: &ConnInfo,
        lk: &mut Lookup,
    ) -> Option<String> {
        if self.policy.wants_smtp() {
            lk.smtp = self.policy.smtp_verdict(conn).await;
        }
        let authenticated = req.get("sasl_username").is_some_and(|u| !u.is_empty());
        let relay = self.policy.is_relay_client(client, authenticated);
        let m = metrics::get();
        match self.policy.check_rcpt(lk, client, relay, rcpt) {
            RcptVerdict::Reject { reply, .. } => {
                m.decision(Action::Block);
                return Some(reply.to_string());
            }
            RcptVerdict::Tempfail(reply) => {
                m.decision(Action::Tempfail);
                return Some(reply.to_string());
            }
            RcptVerdict::WouldBlock { .. } => m.decision(Action::DryRun),
            RcptVerdict::Accept => {}
        }
        let ctx = RcptContext {
            client,
            client_name: req.get("client_name").map(String::as_str),
            relay,
            sender: req.get("sender").map(String::as_str).unwrap_or(""),
            recipient: rcpt,
        };
        match self.policy.check_greylist(lk, &ctx).await {
            GreyVerdict::Defer {
                reply, late: false, ..
            } => {
                m.decision(Action::Greylist);
                return Some(format!("DEFER_IF_PERMIT {} {}", reply.dsn, reply.text));
            }
            GreyVerdict::Defer {
                reply, late: true, ..
            } => {
                m.decision(Action::Greylist);
                self.with_message(instance, |s| s.late = Some(reply));
            }
            GreyVerdict::WouldDefer { .. } => m.decision(Action::DryRun),
            GreyVerdict::StoreFailed { tempfail, .. } => {
                m.store_error(self.policy.greylist_store_kind());
                if let Some(r) = tempfail {
                    m.decision(Action::Tempfail);
                    return Some(format!("DEFER_IF_PERMIT {} {}", r.dsn, r.text));
                }
                m.decision(Action::Accept);
            }
            GreyVerdict::Pass { outcome, .. } => {
                if let p0f_greylist::Outcome::Retried { waited } = outcome {
                    self.with_message(instance, |s| {
                        s.grey_waited = Some(s.grey_waited.unwrap_or(0).max(waited))
                    });
                }
                m.decision(Action::Accept);
            }
            GreyVerdict::NotSubject | GreyVerdict::Exempt(_) => m.decision(Action::Accept),
        }
        None
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
        match state.as_str() {
            "MAIL" => {
                let lk = self.lookup(&conn).await;
                self.next_header(instance, &lk)
            }
            "RCPT" => {
                let rcpt = req.get("recipient").map(String::as_str).unwrap_or("");
                let earlier = self.earlier_decision(instance, rcpt);
                let mut lk = self.lookup(&conn).await;
                let refusal = match earlier {
                    Some(refusal) => refusal,
                    None => {
                        let refusal = self
                            .decide_rcpt(req, instance, rcpt, client, &conn, &mut lk)
                            .await;
                        self.with_message(instance, |m| {
                            m.decided = Some((rcpt.to_string(), refusal.clone()))
                        });
                        refusal
                    }
                };
                match refusal {
                    Some(answer) => answer,
                    None => self.next_header(instance, &lk),
                }
            }
            "DATA" => {
                if let Some(r) = self.with_message(instance, |s| s.late.take()) {
                    debug!(client = %client, reply = %r, "greylisted at DATA");
                    return r.to_string();
                }
                let lk = self.lookup(&conn).await;
                self.next_header(instance, &lk)
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
            let mut out = String::with_capacity(action.len() + 9);
            out.push_str("action=");
            out.push_str(&action);
            out.push_str("\n\n");
            timeout(Duration::from_secs(30), wr.write_all(out.as_bytes()))
                .await
                .map_err(|_| RequestError::Io("write timed out".into()))?
                .map_err(|e| RequestError::Io(e.to_string()))?;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_full_table_loses_its_oldest_tenth_not_everything() {
        let start = std::time::Instant::now();
        let mut m = std::collections::HashMap::new();
        for i in 0..super::MAX_ENTRIES {
            m.insert(i, start + std::time::Duration::from_millis(i as u64));
        }
        super::prune(&mut m, |t| *t);
        let left = m.len();
        assert!(
            (super::MAX_ENTRIES * 8 / 10..super::MAX_ENTRIES).contains(&left),
            "{left} left"
        );
        // Exactly the oldest went.
        let oldest_left = m.keys().min().copied().unwrap();
        assert_eq!(oldest_left, super::MAX_ENTRIES - left);
        // Below the limit nothing is touched.
        super::prune(&mut m, |t| *t);
        assert_eq!(m.len(), left);
    }

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
