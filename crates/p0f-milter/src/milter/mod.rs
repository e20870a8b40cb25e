//! The milter: one task per MTA connection.
//!
//! Postfix calls the connect step before it sends its 220 banner, so the
//! p0f question is started in the background there and its answer awaited
//! only at the first RCPT (or at the end of the message): a slow or hung
//! p0f delays at most the recipient reply, by the configured timeouts. A
//! client p0f does not know yet is asked about again shortly after (see
//! `UNKNOWN_CLIENT_RETRIES`).

pub mod proto;

use std::collections::HashMap;
use std::time::Duration;

use p0f_policy::config::SmtpReply;
use p0f_policy::net::parse_client_addr;
use p0f_policy::{ConnInfo, GreyVerdict, Lookup, Policy, RcptContext, RcptVerdict};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tracing::{debug, info, warn};

use crate::metrics::{self, Action};
use proto::{Command, ProtoError};

/// Limits and timeouts of one milter connection.
#[derive(Clone, Debug)]
pub struct MilterOptions {
    /// Longest wait for the next command.
    pub idle_timeout: Duration,
    /// Longest time to receive the rest of a started frame, or send a reply.
    pub io_timeout: Duration,
    /// Ask the MTA for the macros we need during option negotiation.
    pub request_macros: bool,
}

impl Default for MilterOptions {
    fn default() -> Self {
        MilterOptions {
            idle_timeout: Duration::from_secs(600),
            io_timeout: Duration::from_secs(30),
            request_macros: true,
        }
    }
}

/// Macros kept per connection, and their sizes.
const MAX_MACROS: usize = 64;
const MAX_MACRO_LEN: usize = 1024;
/// Forged header copies remembered per message.
const MAX_FORGED: usize = 256;

/// When p0f does not know a client at the connect step, it is asked again
/// this long after the first query. Postfix runs the connect step right
/// after the TCP handshake, which can be before p0f has processed the
/// client's SYN: a client p0f has never seen would go unfingerprinted.
/// The retries run in the background; a client that stays unknown delays
/// the first RCPT reply by at most the last delay.
const UNKNOWN_CLIENT_RETRIES: [Duration; 2] =
    [Duration::from_millis(50), Duration::from_millis(250)];

/// Macros asked for per stage (when the MTA allows a filter to ask).
const CONNECT_MACROS: &str =
    "j {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_port} _";
const ENVFROM_MACROS: &str = "i {auth_type} {auth_authen} {auth_author} {mail_addr}";
const ENVRCPT_MACROS: &str = "i {rcpt_addr}";

/// Why a session ended abnormally.
#[derive(Debug)]
pub enum SessionError {
    Io(std::io::Error),
    Proto(ProtoError),
    Idle,
    Stalled(&'static str),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Io(e) => write!(f, "i/o error: {e}"),
            SessionError::Proto(e) => write!(f, "protocol error: {e}"),
            SessionError::Idle => write!(f, "idle timeout"),
            SessionError::Stalled(what) => write!(f, "peer stalled while {what}"),
        }
    }
}

struct Session {
    policy: Policy,
    peer: String,
    opts: MilterOptions,
    macros: HashMap<String, String>,
    conn: Option<ConnInfo>,
    pending: Option<JoinHandle<Lookup>>,
    lookup: Option<Lookup>,
    authenticated: bool,
    /// (spelling, 1-based index among same-named headers) of forged copies.
    forged: Vec<(String, u32)>,
    counts: HashMap<String, u32>,
    may_add: bool,
    may_change: bool,
    /// The client's host name from the connect step (`unknown` when none).
    client_name: Option<String>,
    /// The envelope sender of the current message.
    sender: String,
    /// Longest greylist wait among this message's accepted recipients.
    grey_waited: Option<u64>,
    /// A greylist tempfail to give at DATA (deny_late, or the null sender).
    late_defer: Option<SmtpReply>,
    /// Lower-cased names of the other headers we write (X-Greylist, karma).
    extra_names: Vec<String>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(h) = self.pending.take() {
            h.abort();
        }
    }
}

impl Session {
    fn reset_connection(&mut self) {
        if let Some(h) = self.pending.take() {
            h.abort();
        }
        self.macros.clear();
        self.conn = None;
        self.lookup = None;
        self.authenticated = false;
        self.reset_message();
    }

    fn reset_message(&mut self) {
        self.forged.clear();
        self.counts.clear();
        self.sender.clear();
        self.grey_waited = None;
        self.late_defer = None;
    }

    fn macro_(&self, name: &str) -> Option<&str> {
        self.macros
            .get(name)
            .or_else(|| {
                // `{x}` and `x` name the same macro.
                let bare = name.trim_start_matches('{').trim_end_matches('}');
                self.macros.get(bare)
            })
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }

    fn store_macros(&mut self, pairs: Vec<(String, String)>) {
        for (k, mut v) in pairs {
            if k.len() > MAX_MACRO_LEN {
                continue;
            }
            if v.len() > MAX_MACRO_LEN {
                let mut cut = MAX_MACRO_LEN;
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                v.truncate(cut);
            }
            if self.macros.len() >= MAX_MACROS && !self.macros.contains_key(&k) {
                continue;
            }
            self.macros.insert(k, v);
        }
    }

    fn on_connect(&mut self, hostname: &str, family: u8, port: u16, address: &str) {
        // Postfix passes `[addr]` when the name is not verified.
        self.client_name =
            (!hostname.starts_with('[') && !hostname.is_empty()).then(|| hostname.to_string());
        let client = match family {
            b'4' | b'6' => parse_client_addr(address),
            _ => None,
        }
        .or_else(|| self.macro_("{client_addr}").and_then(parse_client_addr));
        let Some(client) = client else {
            info!(peer = %self.peer, family = %(family as char), address,
                  "skip, client has no IP address (local submission?): not fingerprinted");
            return;
        };
        let client_port = if port != 0 {
            Some(port)
        } else {
            self.macro_("{client_port}").and_then(|p| p.parse().ok())
        };
        let conn = ConnInfo {
            client,
            client_port,
            server: self.macro_("{daemon_addr}").and_then(parse_client_addr),
            server_port: self.macro_("{daemon_port}").and_then(|p| p.parse().ok()),
        };
        debug!(peer = %self.peer, ?conn, "connect: asking p0f in the background");
        self.conn = Some(conn);
        let policy = self.policy.clone();
        self.pending = Some(tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut lk = policy.lookup(&conn).await;
            metrics::get().p0f_query(&lk, start.elapsed());
            for after in UNKNOWN_CLIENT_RETRIES {
                // Ask again only when some instance answered "unknown".
                if lk.record.is_some() || lk.errors.len() >= policy.config().instances.len() {
                    break;
                }
                tokio::time::sleep_until(start + after).await;
                debug!(client = %conn.client, "p0f did not know the client yet: asking again");
                let again = tokio::time::Instant::now();
                lk = policy.lookup(&conn).await;
                metrics::get().p0f_query(&lk, again.elapsed());
            }
            lk
        }));
    }

    /// The p0f answer, waiting for the background query if needed.
    async fn lookup(&mut self) -> Lookup {
        if let Some(h) = self.pending.take() {
            // Each query step is already bounded; this is a second fence.
            let limit = self.policy.config().timeout * 4 + Duration::from_secs(1);
            let lk = match timeout(limit, h).await {
                Ok(Ok(lk)) => lk,
                Ok(Err(e)) => Lookup {
                    errors: vec![format!("lookup task failed: {e}")],
                    ..Lookup::default()
                },
                Err(_) => Lookup {
                    errors: vec!["lookup did not finish in time".into()],
                    ..Lookup::default()
                },
            };
            if lk.karma != 0 {
                info!(peer = %self.peer, karma = lk.karma, "connection karma");
            }
            self.lookup = Some(lk);
        }
        self.lookup.clone().unwrap_or_default()
    }

    async fn on_rcpt(&mut self, args: &[String]) -> Vec<u8> {
        let rcpt = args.first().cloned().unwrap_or_default();
        let Some(conn) = self.conn else {
            return proto::continue_();
        };
        let mut lk = self.lookup().await;
        if self.policy.wants_smtp() {
            // Asked at each RCPT: the daemon sees the commands as they come.
            lk.smtp = self.policy.smtp_verdict(&conn).await;
        }
        let relay = self.policy.is_relay_client(conn.client, self.authenticated);
        let m = metrics::get();
        match self.policy.check_rcpt(&lk, conn.client, relay, &rcpt) {
            RcptVerdict::Reject { reply, .. } => {
                m.decision(Action::Block);
                return proto::reply_code(&reply.to_string());
            }
            RcptVerdict::Tempfail(reply) => {
                m.decision(Action::Tempfail);
                return proto::reply_code(&reply.to_string());
            }
            RcptVerdict::WouldBlock { .. } => m.decision(Action::DryRun),
            RcptVerdict::Accept => {}
        }
        let ctx = RcptContext {
            client: conn.client,
            client_name: self.client_name.as_deref(),
            relay,
            sender: &self.sender,
            recipient: &rcpt,
        };
        match self.policy.check_greylist(&lk, &ctx).await {
            GreyVerdict::Defer {
                reply, late: false, ..
            } => {
                m.decision(Action::Greylist);
                proto::reply_code(&reply.to_string())
            }
            GreyVerdict::Defer {
                reply, late: true, ..
            } => {
                m.decision(Action::Greylist);
                self.late_defer = Some(reply);
                proto::continue_()
            }
            GreyVerdict::WouldDefer { .. } => {
                m.decision(Action::DryRun);
                proto::continue_()
            }
            GreyVerdict::StoreFailed { tempfail, .. } => {
                m.store_error(self.policy.greylist_store_kind());
                match tempfail {
                    Some(r) => {
                        m.decision(Action::Tempfail);
                        proto::reply_code(&r.to_string())
                    }
                    None => {
                        m.decision(Action::Accept);
                        proto::continue_()
                    }
                }
            }
            GreyVerdict::Pass { outcome, .. } => {
                if let p0f_greylist::Outcome::Retried { waited } = outcome {
                    self.grey_waited = Some(self.grey_waited.unwrap_or(0).max(waited));
                }
                m.decision(Action::Accept);
                proto::continue_()
            }
            GreyVerdict::NotSubject | GreyVerdict::Exempt(_) => {
                m.decision(Action::Accept);
                proto::continue_()
            }
        }
    }

    /// At DATA: the greylist tempfail decided at RCPT, if any.
    fn on_data(&mut self) -> Vec<u8> {
        match self.late_defer.take() {
            Some(r) => {
                info!(peer = %self.peer, reply = %r, "greylisted at DATA");
                proto::reply_code(&r.to_string())
            }
            None => proto::continue_(),
        }
    }

    fn on_header(&mut self, name: &str) {
        let lower = name.to_ascii_lowercase();
        if lower != "x-p0f-genre"
            && lower != "x-p0f-link-type"
            && !self.extra_names.contains(&lower)
        {
            return;
        }
        let n = self.counts.entry(lower).or_insert(0);
        *n += 1;
        if self.forged.len() < MAX_FORGED {
            self.forged.push((name.to_string(), *n));
        }
    }

    async fn on_eom(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let lk = if self.conn.is_some() {
            self.lookup().await
        } else {
            Lookup::default()
        };
        let plan = self.policy.header_plan(&lk);
        let extra = if self.conn.is_some() {
            self.policy.extra_headers(&lk, self.grey_waited)
        } else {
            Vec::new()
        };
        if plan.remove.is_empty()
            && plan.add.is_empty()
            && extra.is_empty()
            && self.forged.is_empty()
        {
            out.extend(proto::continue_());
            return out;
        }
        if !self.may_change && !self.forged.is_empty() {
            warn!(peer = %self.peer, "MTA did not grant header-change rights: forged X-P0F headers stay");
        }
        if self.may_change {
            // Last first, so earlier indexes stay valid.
            for (name, idx) in self.forged.iter().rev() {
                info!(peer = %self.peer, header = %name, index = idx, "removing forged header");
                out.extend(proto::chg_header(*idx, name, ""));
            }
        }
        if self.may_add {
            let all = extra
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .chain(plan.add.iter().map(|(n, v)| (*n, v.as_str())));
            for (i, (name, value)) in all.enumerate() {
                out.extend(proto::ins_header(i as u32, name, value));
            }
        } else if !plan.add.is_empty() || !extra.is_empty() {
            warn!(peer = %self.peer, "MTA did not grant header-add rights: no X-P0F headers");
        }
        out.extend(proto::continue_());
        out
    }
}

async fn read_frame<S: AsyncRead + Unpin>(
    s: &mut S,
    opts: &MilterOptions,
) -> Result<Option<(u8, Vec<u8>)>, SessionError> {
    let mut len = [0u8; 4];
    match timeout(opts.idle_timeout, s.read_exact(&mut len)).await {
        Err(_) => return Err(SessionError::Idle),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Ok(Err(e)) => return Err(SessionError::Io(e)),
        Ok(Ok(_)) => {}
    }
    let n = proto::check_len(u32::from_be_bytes(len)).map_err(SessionError::Proto)?;
    let mut buf = vec![0u8; n];
    timeout(opts.io_timeout, s.read_exact(&mut buf))
        .await
        .map_err(|_| SessionError::Stalled("sending a frame"))?
        .map_err(SessionError::Io)?;
    let cmd = buf[0];
    buf.remove(0);
    Ok(Some((cmd, buf)))
}

/// Serves one MTA connection until it quits, errs or idles out.
pub async fn serve<S>(
    mut stream: S,
    peer: String,
    policy: Policy,
    opts: MilterOptions,
) -> Result<(), SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut s = Session {
        policy,
        peer,
        opts,
        macros: HashMap::new(),
        conn: None,
        pending: None,
        lookup: None,
        authenticated: false,
        forged: Vec::new(),
        counts: HashMap::new(),
        may_add: false,
        may_change: false,
        client_name: None,
        sender: String::new(),
        grey_waited: None,
        late_defer: None,
        extra_names: Vec::new(),
    };
    s.extra_names = s
        .policy
        .extra_header_names()
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let greylisting = s.policy.config().greylist.is_some();
    loop {
        let Some((cmd, data)) = read_frame(&mut stream, &s.opts).await? else {
            return Ok(());
        };
        let command = proto::parse_command(cmd, &data).map_err(SessionError::Proto)?;
        let reply: Option<Vec<u8>> = match command {
            Command::OptNeg {
                version,
                actions,
                protocol,
            } => {
                if version < 2 {
                    return Err(SessionError::Proto(ProtoError::Truncated(
                        "milter version below 2",
                    )));
                }
                let mut want = proto::F_ADDHDRS | proto::F_CHGHDRS;
                if s.opts.request_macros {
                    want |= proto::F_SETSYMLIST;
                }
                let granted = actions & want;
                s.may_add = granted & proto::F_ADDHDRS != 0;
                s.may_change = granted & proto::F_CHGHDRS != 0;
                if !s.may_add || !s.may_change {
                    warn!(peer = %s.peer, offered = actions,
                          "MTA offers no header add/change rights; headers will not be edited");
                }
                // DATA is needed to give a late greylist tempfail.
                let no_data = if greylisting { 0 } else { proto::P_NODATA };
                let skip =
                    protocol & (proto::P_NOHELO | proto::P_NOBODY | proto::P_NOUNKNOWN | no_data);
                Some(proto::optneg_reply(
                    version.min(proto::VERSION),
                    granted,
                    skip,
                    &[
                        (proto::STAGE_CONNECT, CONNECT_MACROS),
                        (proto::STAGE_ENVFROM, ENVFROM_MACROS),
                        (proto::STAGE_ENVRCPT, ENVRCPT_MACROS),
                    ],
                ))
            }
            Command::Macro { for_cmd, pairs } => {
                if for_cmd == proto::C_CONNECT {
                    s.macros.clear();
                }
                s.store_macros(pairs);
                if for_cmd == proto::C_MAIL {
                    s.authenticated = s.macro_("{auth_authen}").is_some();
                }
                None
            }
            Command::Connect {
                hostname,
                family,
                port,
                address,
            } => {
                s.on_connect(&hostname, family, port, &address);
                Some(proto::continue_())
            }
            Command::Mail(args) => {
                s.reset_message();
                s.sender = args.first().cloned().unwrap_or_default();
                Some(proto::continue_())
            }
            Command::Data => Some(s.on_data()),
            Command::Rcpt(args) => Some(s.on_rcpt(&args).await),
            Command::Header { name, .. } => {
                s.on_header(&name);
                Some(proto::continue_())
            }
            Command::EndOfMessage => {
                let r = s.on_eom().await;
                s.reset_message();
                Some(r)
            }
            Command::Abort => {
                s.reset_message();
                None
            }
            Command::Quit => return Ok(()),
            Command::QuitNewConnection => {
                s.reset_connection();
                None
            }
            Command::Helo(_) | Command::Eoh | Command::Body | Command::Unknown => {
                Some(proto::continue_())
            }
        };
        if let Some(r) = reply {
            timeout(s.opts.io_timeout, stream.write_all(&r))
                .await
                .map_err(|_| SessionError::Stalled("reading our reply"))?
                .map_err(SessionError::Io)?;
        }
    }
}
