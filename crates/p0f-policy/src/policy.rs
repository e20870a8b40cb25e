//! The decisions: fingerprint a connection, block a recipient, write headers.

use std::net::IpAddr;
use std::sync::Arc;

use tracing::{debug, info, warn};

use crate::client::{lookup_with, Answer, ConnInfo};
use crate::config::{FailMode, PolicyConfig, SmtpReply};
use crate::pool::Pool;
use crate::record::{ApiVersion, Fingerprint};

/// The genre header.
pub const HEADER_GENRE: &str = "X-P0F-Genre";
/// The link-type header.
pub const HEADER_LINK_TYPE: &str = "X-P0F-Link-Type";
/// The header on mail that passed greylisting after a delay.
pub const HEADER_GREYLIST: &str = "X-Greylist";
/// Header values are cut to this length.
const MAX_HEADER_VALUE: usize = 200;

/// What p0f said about a connection, after asking every instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The connection's note. With several instances the last one (in
    /// configuration order) that answered wins, as the last qpsmtpd plugin
    /// to write the `p0f` note did.
    pub record: Option<Fingerprint>,
    /// Karma change from `smite_os` (each matching v3 instance: -1).
    pub karma: i32,
    /// Why instances gave nothing usable (empty when all answered).
    pub errors: Vec<String>,
    /// The SMTP dialect verdict, asked for at RCPT ([`Policy::smtp_verdict`]).
    pub smtp: Option<crate::smtp::SmtpVerdict>,
}

impl Lookup {
    /// True when p0f could not be used at all (no record, and a failure).
    pub fn failed(&self) -> bool {
        self.record.is_none() && !self.errors.is_empty()
    }
}

/// The answer for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptVerdict {
    Accept,
    /// Dry run: a rule matched and would have blocked.
    WouldBlock {
        rule: String,
    },
    Reject {
        reply: SmtpReply,
        rule: String,
    },
    Tempfail(SmtpReply),
}

/// Header edits at the end of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderPlan {
    /// Names whose every copy (case-insensitive) is to be removed.
    pub remove: Vec<&'static str>,
    /// Headers to add at the top, in this order.
    pub add: Vec<(&'static str, String)>,
}

/// The policy, shared by every connection.
#[derive(Clone, Debug)]
pub struct Policy {
    cfg: Arc<PolicyConfig>,
    greylist: Option<p0f_greylist::Greylist>,
    /// Kept v3 connections, one pool per configured p0f instance.
    pools: Arc<Vec<Pool>>,
}

/// Makes a p0f string safe as a header value: printable, one line, bounded.
pub fn header_value(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    if out.len() > MAX_HEADER_VALUE {
        let mut cut = MAX_HEADER_VALUE;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

impl Policy {
    /// A policy without a greylist store (see [`Policy::open`]).
    pub fn new(cfg: PolicyConfig) -> Policy {
        Policy {
            pools: Arc::new(cfg.instances.iter().map(|_| Pool::default()).collect()),
            cfg: Arc::new(cfg),
            greylist: None,
        }
    }

    /// A policy with its greylist store opened, when greylisting is configured.
    pub fn open(cfg: PolicyConfig) -> Result<Policy, String> {
        let greylist = match &cfg.greylist {
            Some(g) => Some(crate::greylist::decide::open(g)?),
            None => None,
        };
        Ok(Policy {
            greylist,
            ..Policy::new(cfg)
        })
    }

    /// The greylist store, when greylisting is configured and opened.
    pub fn greylist(&self) -> Option<&p0f_greylist::Greylist> {
        self.greylist.as_ref()
    }

    /// The store's kind for metrics and logs ("embedded", "redis"), or
    /// "none" when no store is open.
    pub fn greylist_store_kind(&self) -> &'static str {
        self.greylist().map_or("none", |g| g.store_kind())
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// Asks every configured p0f instance (concurrently, each under the
    /// configured timeouts) and builds the connection's note. Never fails:
    /// a p0f that cannot be reached or understood is logged and skipped.
    pub async fn lookup(&self, conn: &ConnInfo) -> Lookup {
        let futs =
            self.cfg
                .instances
                .iter()
                .zip(self.pools.iter())
                .map(|(inst, pool)| async move {
                    (
                        inst,
                        lookup_with(inst, Some(pool), conn, self.cfg.timeout).await,
                    )
                });
        let results = futures_join_all(futs).await;
        let mut out = Lookup::default();
        for (inst, res) in results {
            // Only the logs use it; no allocation for the usual unnamed instance.
            let label: std::borrow::Cow<str> = if inst.name.is_empty() {
                "ident/p0f".into()
            } else {
                format!("ident/p0f:{}", inst.name).into()
            };
            match res {
                Ok(Answer::Found(fp)) => {
                    info!(instance = %label, client = %conn.client, genre = %fp.genre,
                          detail = %fp.detail, link = %fp.link, distance = fp.distance,
                          "p0f fingerprint");
                    if let (ApiVersion::V3, Some(re)) = (fp.version, &inst.smite_os) {
                        if !fp.genre.is_empty() && re.is_match(&fp.genre) {
                            out.karma -= 1;
                            info!(instance = %label, client = %conn.client, genre = %fp.genre,
                                  "smite_os matched: karma -1");
                        }
                    }
                    out.record = Some(*fp);
                }
                Ok(Answer::NoMatch) => {
                    info!(instance = %label, client = %conn.client, "skip, no match in p0f");
                }
                Err(e) => {
                    warn!(instance = %label, client = %conn.client,
                          socket = %inst.socket.display(), error = %e,
                          "skip, p0f unusable; going on unfingerprinted");
                    out.errors.push(format!("{label}: {e}"));
                }
            }
        }
        out
    }

    /// True when some rule looks at the SMTP verdict, so that it must be
    /// asked for at RCPT.
    pub fn wants_smtp(&self) -> bool {
        self.cfg.smtp.enabled
            || !self.cfg.smtp.block.is_empty()
            || self
                .cfg
                .greylist
                .as_ref()
                .is_some_and(|g| g.rules.iter().any(|r| r.smtp.is_some()))
    }

    /// The SMTP dialect verdict of this connection, waiting (bounded by the
    /// `[smtp]` wait) for the daemon to have seen its first RCPT. None when
    /// no p0f-rs daemon knows it; failures are logged.
    pub async fn smtp_verdict(&self, conn: &ConnInfo) -> Option<crate::smtp::SmtpVerdict> {
        match crate::smtp::fetch(&self.cfg.instances, conn, &self.cfg.smtp, self.cfg.timeout).await
        {
            Ok(v) => {
                match &v {
                    Some(v) => info!(client = %conn.client, app = %v.app, flags = v.flags,
                                     stage = v.stage, raw_sig = %v.raw_sig, "SMTP dialect"),
                    None => info!(client = %conn.client, "no SMTP verdict for the client"),
                }
                v
            }
            Err(e) => {
                warn!(client = %conn.client, error = %e, "SMTP verdict unavailable");
                None
            }
        }
    }

    /// A relay client: from a trusted network, or authenticated.
    pub fn is_relay_client(&self, client: IpAddr, authenticated: bool) -> bool {
        authenticated || self.cfg.trusted_networks.iter().any(|n| n.contains(client))
    }

    /// A recipient the operator exempts (`user@domain` or `@domain`).
    pub fn is_exempt_recipient(&self, rcpt: &str) -> bool {
        let r = rcpt
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase();
        self.cfg.exempt_recipients.iter().any(|e| {
            if e.starts_with('@') {
                r.ends_with(e.as_str())
            } else {
                r == *e
            }
        })
    }

    /// The first rule that blocks this record, if any.
    pub fn matching_rule(&self, fp: &Fingerprint, karma: i32) -> Option<String> {
        if fp.genre.is_empty() {
            return None;
        }
        self.cfg
            .rules
            .iter()
            .find(|r| {
                r.pattern.matches(&fp.genre)
                    && (!(r.exact_match_only || self.cfg.require_exact_match)
                        || fp.is_exact_match())
                    && r.karma_below.is_none_or(|k| karma < k)
            })
            .map(|r| r.origin.clone())
    }

    /// The verdict for one recipient (the plugin's `rcpt_handler`).
    pub fn check_rcpt(&self, lk: &Lookup, client: IpAddr, relay: bool, rcpt: &str) -> RcptVerdict {
        if relay {
            debug!(%client, rcpt, "relay client: never blocked");
            return RcptVerdict::Accept;
        }
        if self.is_exempt_recipient(rcpt) {
            debug!(%client, rcpt, "exempt recipient: never blocked");
            return RcptVerdict::Accept;
        }
        if lk.failed() && self.cfg.fail_mode == FailMode::Tempfail {
            warn!(%client, rcpt, reply = %self.cfg.tempfail, "p0f unusable and on_p0f_error = tempfail");
            return RcptVerdict::Tempfail(self.cfg.tempfail.clone());
        }
        if let Some(r) = self.cfg.smtp.blocking_rule(lk.smtp.as_ref()) {
            let raw = lk.smtp.as_ref().map_or("", |v| v.raw_sig.as_str());
            let rule = r.origin.clone();
            if self.cfg.dry_run {
                info!(%client, rcpt, raw_sig = raw, %rule, "dry run: would block (SMTP dialect)");
                return RcptVerdict::WouldBlock { rule };
            }
            info!(%client, rcpt, raw_sig = raw, %rule, reply = %self.cfg.smtp.reply, "SMTP dialect blocked");
            return RcptVerdict::Reject {
                reply: self.cfg.smtp.reply.clone(),
                rule,
            };
        }
        let Some(fp) = &lk.record else {
            return RcptVerdict::Accept;
        };
        let Some(rule) = self.matching_rule(fp, lk.karma) else {
            return RcptVerdict::Accept;
        };
        if self.cfg.dry_run {
            info!(%client, rcpt, genre = %fp.genre, %rule, "dry run: would block (OS Blocked)");
            return RcptVerdict::WouldBlock { rule };
        }
        info!(%client, rcpt, genre = %fp.genre, %rule, reply = %self.cfg.reject, "OS blocked");
        RcptVerdict::Reject {
            reply: self.cfg.reject.clone(),
            rule,
        }
    }

    /// Headers written besides `X-P0F-Genre` / `X-P0F-Link-Type` (the
    /// karma header, `X-Greylist`), whose forged copies are removed.
    pub fn extra_header_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.cfg.greylist.as_ref().is_some_and(|g| g.header) {
            v.push(HEADER_GREYLIST.to_string());
        }
        if let Some(h) = &self.cfg.karma_header {
            v.push(h.clone());
        }
        v
    }

    /// Values for [`Policy::extra_header_names`]: `X-Greylist` when the
    /// message waited `greylist_waited` seconds, and the karma.
    pub fn extra_headers(
        &self,
        lk: &Lookup,
        greylist_waited: Option<u64>,
    ) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if let (Some(w), Some(true)) = (
            greylist_waited,
            self.cfg.greylist.as_ref().map(|g| g.header),
        ) {
            v.push((
                HEADER_GREYLIST.to_string(),
                crate::greylist::decide::header(w, lk),
            ));
        }
        if let Some(h) = &self.cfg.karma_header {
            v.push((h.clone(), lk.karma.to_string()));
        }
        v
    }

    /// Header edits for a message (the plugin's `add_headers`). With headers
    /// enabled, forged copies are always removed, even when there is nothing
    /// to add, so a downstream filter never reads a sender's value.
    pub fn header_plan(&self, lk: &Lookup) -> HeaderPlan {
        if !self.cfg.add_headers() {
            return HeaderPlan::default();
        }
        let mut plan = HeaderPlan {
            remove: vec![HEADER_GENRE, HEADER_LINK_TYPE],
            add: Vec::new(),
        };
        if let Some(fp) = &lk.record {
            for (name, v) in [(HEADER_GENRE, &fp.genre), (HEADER_LINK_TYPE, &fp.link_type)] {
                let v = header_value(v);
                if !v.is_empty() {
                    plan.add.push((name, v));
                }
            }
        }
        plan
    }
}

/// Runs futures concurrently and returns their outputs in order (a tiny
/// join_all, to avoid a dependency for one call).
async fn futures_join_all<F, T>(futs: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    // Each query has its own timeouts, so awaiting in order bounds the total
    // by the slowest one; poll them together so they overlap.
    let mut slots: Vec<Option<T>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if slots[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => slots[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(slots.into_iter().flatten());
    out
}
