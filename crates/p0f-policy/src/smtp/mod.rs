//! SMTP dialect verdicts in the policy (`docs/smtp.md`): what a p0f-rs
//! daemon saw of the client's SMTP commands, asked for at RCPT through the
//! API's SMTP query, and the rule conditions that use it ("is a known
//! MTA", the app label, behaviour flags).
//!
//! The commands of the current connection reach Postfix and the capture at
//! about the same time, so at RCPT the daemon may be a packet behind: the
//! query is repeated, for at most `wait`, until the daemon has seen the
//! connection's first RCPT (stage 2). With `wait` 0 it is asked once.

pub mod config;

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use p0f_api::smtp as api;
use p0f_api::v3;
use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::{timeout, Instant};

use crate::client::ConnInfo;
use crate::config::{Instance, SmtpReply};
use crate::net::canonical;
use crate::record::ApiVersion;

/// What kind of software the daemon's signature names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mta,
    Client,
    Bot,
}

impl Kind {
    fn from_code(c: u8) -> Option<Kind> {
        match c {
            1 => Some(Kind::Mta),
            2 => Some(Kind::Client),
            3 => Some(Kind::Bot),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "mta" => Some(Kind::Mta),
            "client" => Some(Kind::Client),
            "bot" => Some(Kind::Bot),
            _ => None,
        }
    }
}

/// The daemon's SMTP verdict about one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpVerdict {
    /// None: an unknown dialect.
    pub kind: Option<Kind>,
    /// `NAME FLAVOR` of the matched signature; empty when unknown.
    pub app: String,
    /// `p0f_api::smtp::flag` bits.
    pub flags: u32,
    /// 1 commands seen, 2 first RCPT seen, 3 dialogue ended.
    pub stage: u8,
    pub raw_sig: String,
}

impl SmtpVerdict {
    /// The verdict of an SMTP reply's SMTP part; None when it has none.
    pub fn from_reply(v: &api::Verdict) -> Option<SmtpVerdict> {
        if v.status != api::SMTP_OK {
            return None;
        }
        let name = v.app_name.as_string();
        let flavor = v.app_flavor.as_string();
        let app = match (name.is_empty(), flavor.is_empty()) {
            (true, _) => String::new(),
            (false, true) => name,
            (false, false) => format!("{name} {flavor}"),
        };
        Some(SmtpVerdict {
            kind: Kind::from_code(v.kind),
            app,
            flags: v.flags,
            stage: v.stage,
            raw_sig: v.raw_sig.as_string(),
        })
    }

    pub fn is_known_mta(&self) -> bool {
        self.kind == Some(Kind::Mta)
    }
}

/// Flag names usable in rules, with their bits: the API's own table.
pub use p0f_api::smtp::flag::NAMES as FLAG_NAMES;

/// Conditions on the SMTP verdict; all given ones must hold.
#[derive(Clone, Debug, Default)]
pub struct SmtpCondition {
    /// Some(true): the client speaks a known MTA dialect. Some(false): it
    /// does not (unknown dialect, another kind, or no verdict at all).
    pub known_mta: Option<bool>,
    /// The signature's kind.
    pub kind: Option<Kind>,
    /// Case-insensitive regex on the app label.
    pub app: Option<Regex>,
    /// Every one of these flag bits is set.
    pub flags: u32,
    /// Some(true): the dialect matched no signature (there is a verdict).
    pub unknown: Option<bool>,
}

impl SmtpCondition {
    /// True when every condition holds. Without a verdict only
    /// `known_mta = false` can hold.
    pub fn matches(&self, v: Option<&SmtpVerdict>) -> bool {
        if let Some(want) = self.known_mta {
            if v.is_some_and(SmtpVerdict::is_known_mta) != want {
                return false;
            }
        }
        let needs_verdict =
            self.kind.is_some() || self.app.is_some() || self.flags != 0 || self.unknown.is_some();
        if !needs_verdict {
            return true;
        }
        let Some(v) = v else { return false };
        self.kind.is_none_or(|k| v.kind == Some(k))
            && self
                .app
                .as_ref()
                .is_none_or(|re| !v.app.is_empty() && re.is_match(&v.app))
            && v.flags & self.flags == self.flags
            && self.unknown.is_none_or(|u| u == v.kind.is_none())
    }

    /// True when nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.known_mta.is_none()
            && self.kind.is_none()
            && self.app.is_none()
            && self.flags == 0
            && self.unknown.is_none()
    }
}

/// A block rule on the SMTP verdict (`[[smtp.block]]`).
#[derive(Clone, Debug)]
pub struct SmtpBlockRule {
    pub condition: SmtpCondition,
    /// Where it was configured (for logs).
    pub origin: String,
}

/// The `[smtp]` table.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Ask for SMTP verdicts at RCPT at all (on when any rule uses them).
    pub enabled: bool,
    /// How long to wait for the daemon to have seen the first RCPT.
    pub wait: Duration,
    pub block: Vec<SmtpBlockRule>,
    /// The reply to a blocked recipient (default `550 5.7.1 SMTP dialect
    /// blocked`).
    pub reply: SmtpReply,
}

/// Default wait for the daemon (it is usually a millisecond behind).
pub const DEFAULT_WAIT: Duration = Duration::from_millis(200);
/// Pause between two queries while waiting.
const POLL_STEP: Duration = Duration::from_millis(5);

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            enabled: false,
            wait: DEFAULT_WAIT,
            block: Vec::new(),
            reply: SmtpReply {
                code: 550,
                dsn: "5.7.1".into(),
                text: "SMTP dialect blocked".into(),
            },
        }
    }
}

impl SmtpConfig {
    /// The first block rule that holds, if any.
    pub fn blocking_rule(&self, v: Option<&SmtpVerdict>) -> Option<&SmtpBlockRule> {
        self.block.iter().find(|r| r.condition.matches(v))
    }
}

/// Why the SMTP query gave nothing.
#[derive(Debug)]
pub enum SmtpQueryError {
    Io(io::Error),
    Timeout,
    /// The daemon answered with p0f 3's bad-query reply: it does not know
    /// the extension (p0f 3.09b).
    Unsupported,
    /// The reply was not understood.
    Garbled,
}

impl std::fmt::Display for SmtpQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpQueryError::Io(e) => write!(f, "SMTP query failed: {e}"),
            SmtpQueryError::Timeout => f.write_str("SMTP query timed out"),
            SmtpQueryError::Unsupported => {
                f.write_str("the p0f daemon does not answer SMTP queries (not p0f-rs?)")
            }
            SmtpQueryError::Garbled => f.write_str("SMTP reply not understood"),
        }
    }
}

/// One SMTP query to one socket, every step under `limit`. A p0f 3 server
/// answers with a 232-byte bad-query reply and then waits for more query
/// bytes, so the first 232 bytes are checked before reading on.
pub async fn ask(
    socket: &Path,
    addr: IpAddr,
    port: u16,
    limit: Duration,
) -> Result<api::Response, SmtpQueryError> {
    let q = api::Query {
        addr: canonical(addr),
        port,
    }
    .encode();
    let step = |r: Result<io::Result<()>, _>| match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SmtpQueryError::Io(e)),
        Err(_) => Err(SmtpQueryError::Timeout),
    };
    let mut s = match timeout(limit, UnixStream::connect(socket)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(SmtpQueryError::Io(e)),
        Err(_) => return Err(SmtpQueryError::Timeout),
    };
    step(timeout(limit, s.write_all(&q)).await)?;
    let mut buf = [0u8; api::RESPONSE_LEN];
    step(
        timeout(limit, s.read_exact(&mut buf[..v3::RESPONSE_LEN]))
            .await
            .map(|r| r.map(|_| ())),
    )?;
    if api::is_unsupported_reply(&buf[..v3::RESPONSE_LEN]) {
        return Err(SmtpQueryError::Unsupported);
    }
    step(
        timeout(limit, s.read_exact(&mut buf[v3::RESPONSE_LEN..]))
            .await
            .map(|r| r.map(|_| ())),
    )?;
    api::Response::decode(&buf).ok_or(SmtpQueryError::Garbled)
}

/// The verdict of this connection (or, without its port, of the client's
/// host), from the first v3 instance that answers the SMTP query; waits up
/// to `cfg.wait` for the daemon to have seen the first RCPT. `limit`
/// bounds each query step.
pub async fn fetch(
    instances: &[Instance],
    conn: &ConnInfo,
    cfg: &SmtpConfig,
    limit: Duration,
) -> Result<Option<SmtpVerdict>, SmtpQueryError> {
    let start = Instant::now();
    let port = conn.client_port.unwrap_or(0);
    let mut last_err = SmtpQueryError::Unsupported;
    for inst in instances.iter().filter(|i| i.version == ApiVersion::V3) {
        loop {
            match ask(&inst.socket, conn.client, port, limit).await {
                Ok(r) => {
                    let v = SmtpVerdict::from_reply(&r.smtp);
                    let seen_rcpt = v.as_ref().is_some_and(|v| v.stage >= 2);
                    if seen_rcpt || start.elapsed() >= cfg.wait {
                        return Ok(v);
                    }
                    tokio::time::sleep(POLL_STEP.min(cfg.wait)).await;
                }
                Err(e) => {
                    last_err = e;
                    break;
                }
            }
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p0f_api::smtp::flag;

    fn verdict(kind: Option<Kind>, flags: u32) -> SmtpVerdict {
        SmtpVerdict {
            kind,
            app: if kind.is_some() {
                "Postfix".into()
            } else {
                String::new()
            },
            flags,
            stage: 2,
            raw_sig: String::new(),
        }
    }

    #[test]
    fn known_mta_false_holds_without_a_verdict() {
        let c = SmtpCondition {
            known_mta: Some(false),
            ..SmtpCondition::default()
        };
        assert!(c.matches(None));
        assert!(c.matches(Some(&verdict(None, 0))));
        assert!(c.matches(Some(&verdict(Some(Kind::Bot), 0))));
        assert!(!c.matches(Some(&verdict(Some(Kind::Mta), 0))));
    }

    #[test]
    fn flags_and_app_need_a_verdict() {
        let c = SmtpCondition {
            flags: flag::PREGREET | flag::BARE_LF,
            ..SmtpCondition::default()
        };
        assert!(!c.matches(None));
        assert!(!c.matches(Some(&verdict(None, flag::PREGREET))));
        assert!(c.matches(Some(&verdict(
            None,
            flag::PREGREET | flag::BARE_LF | flag::NO_QUIT
        ))));
        let app = SmtpCondition {
            app: Some(Regex::new("(?i)postfix").unwrap()),
            ..SmtpCondition::default()
        };
        assert!(app.matches(Some(&verdict(Some(Kind::Mta), 0))));
        assert!(!app.matches(Some(&verdict(None, 0))));
        assert!(!app.matches(None));
    }

    #[test]
    fn unknown_dialect() {
        let c = SmtpCondition {
            unknown: Some(true),
            ..SmtpCondition::default()
        };
        assert!(c.matches(Some(&verdict(None, 0))));
        assert!(!c.matches(Some(&verdict(Some(Kind::Client), 0))));
        assert!(!c.matches(None));
    }
}
