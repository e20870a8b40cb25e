//! The greylisting decision for one recipient: rules, exemptions, store.

use std::sync::Arc;
use std::time::Duration;

use p0f_greylist::embedded::{Embedded, EmbeddedStore};
use p0f_greylist::redis_store::RedisStore;
use p0f_greylist::{Greylist, OnStoreError, Outcome, Store, Verdict};
use tracing::{info, warn};

use super::{Exemption, GreylistConfig, RcptContext, StoreConfig};
use crate::config::SmtpReply;
use crate::policy::{header_value, Lookup, Policy};

/// How often the embedded store makes its commits durable.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The greylist answer for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GreyVerdict {
    /// Greylisting is off, or no rule matched.
    NotSubject,
    /// A rule matched but the recipient is exempt.
    Exempt(Exemption),
    /// The store lets it through.
    Pass { outcome: Outcome, rule: String },
    /// Defer: at RCPT, or (`late`) at DATA.
    Defer {
        reply: SmtpReply,
        outcome: Outcome,
        rule: String,
        late: bool,
    },
    /// Dry run: it would have been deferred.
    WouldDefer { outcome: Outcome, rule: String },
    /// The store failed; `tempfail` is set when configured to tempfail.
    StoreFailed {
        error: String,
        tempfail: Option<SmtpReply>,
    },
}

/// Opens the configured store.
pub fn open(cfg: &GreylistConfig) -> Result<Greylist, String> {
    let store: Arc<dyn Store> = match &cfg.store {
        StoreConfig::Embedded { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    return Err(format!(
                        "greylist store {}: directory {} does not exist",
                        path.display(),
                        dir.display()
                    ));
                }
            }
            let inner = EmbeddedStore::open(path, FLUSH_EVERY).map_err(|e| e.to_string())?;
            Arc::new(Embedded::new(Arc::new(inner), cfg.params.clone()))
        }
        StoreConfig::Redis {
            url, prefix, tls, ..
        } => {
            let pem = tls
                .as_ref()
                .map(|t| t.load())
                .transpose()
                .map_err(|e| e.to_string())?;
            Arc::new(
                RedisStore::with_tls(url, pem.as_ref(), prefix, cfg.store_timeout)
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    Ok(Greylist::new(
        store,
        cfg.params.clone(),
        cfg.store_timeout,
        cfg.on_store_error,
    ))
}

/// The `X-Greylist:` value for mail that passed after waiting.
pub fn header(waited: u64, lk: &Lookup) -> String {
    let os = lk
        .record
        .as_ref()
        .map(|r| header_value(&r.genre))
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| "unknown".into());
    header_value(&format!(
        "delayed {waited} seconds by p0f-mailpolicy; reason=retried after delay; os=\"{}\"",
        os.replace('"', "'")
    ))
}

impl Policy {
    /// The greylist verdict for one recipient that the block list accepted.
    pub async fn check_greylist(&self, lk: &Lookup, ctx: &RcptContext<'_>) -> GreyVerdict {
        let Some(cfg) = &self.config().greylist else {
            return GreyVerdict::NotSubject;
        };
        let Some(rule) = cfg.matching_rule(lk) else {
            return GreyVerdict::NotSubject;
        };
        let rule = rule.origin.clone();
        let exemption = if ctx.relay {
            Some(Exemption::RelayClient)
        } else if self.is_exempt_recipient(ctx.recipient) {
            Some(Exemption::ExemptRecipient)
        } else {
            cfg.whitelisted(ctx)
        };
        if let Some(e) = exemption {
            info!(client = %ctx.client, rcpt = ctx.recipient, exemption = e.describe(), "greylist: exempt");
            return GreyVerdict::Exempt(e);
        }
        let Some(store) = self.greylist() else {
            return GreyVerdict::StoreFailed {
                error: "greylist store not opened".into(),
                tempfail: None,
            };
        };
        let t = cfg.keys.triplet(ctx.client, ctx.sender, ctx.recipient);
        let outcome = match store.check(&t).await {
            Verdict::Decided(o) => o,
            Verdict::StoreFailed { error, on_error } => {
                let tempfail = (on_error == OnStoreError::Tempfail).then(|| SmtpReply {
                    text: "Greylist unavailable, please try again later".into(),
                    ..cfg.reply.clone()
                });
                warn!(client = %ctx.client, rcpt = ctx.recipient, %error,
                      action = if tempfail.is_some() { "tempfail" } else { "accept" },
                      "greylist store failed");
                return GreyVerdict::StoreFailed { error, tempfail };
            }
        };
        if outcome.passes() {
            info!(client = %ctx.client, sender = ctx.sender, rcpt = ctx.recipient, %rule,
                  reason = outcome.reason(), "greylist: pass");
            return GreyVerdict::Pass { outcome, rule };
        }
        if cfg.dry_run || self.config().dry_run {
            info!(client = %ctx.client, sender = ctx.sender, rcpt = ctx.recipient, %rule,
                  reason = outcome.reason(), "dry run: would greylist");
            return GreyVerdict::WouldDefer { outcome, rule };
        }
        // The null sender is deferred at DATA, so that address probes
        // (MAIL FROM:<> RCPT TO: and QUIT) are not refused; qpsmtpd's MAIL
        // hook (`mail_stage`) makes no such exception.
        let null_sender = ctx.sender.trim().trim_matches(['<', '>']).is_empty();
        let late = cfg.deny_late || (null_sender && !cfg.mail_stage);
        info!(client = %ctx.client, sender = ctx.sender, rcpt = ctx.recipient, %rule,
              reason = outcome.reason(), at = if late { "DATA" } else { "RCPT" },
              reply = %cfg.reply, "greylisted");
        let seconds_left = match outcome {
            Outcome::TooEarly { remaining } => remaining,
            _ => cfg.params.delay,
        };
        GreyVerdict::Defer {
            reply: SmtpReply {
                text: super::text::expand(&cfg.reply.text, seconds_left, ctx.recipient),
                ..cfg.reply.clone()
            },
            outcome,
            rule,
            late,
        }
    }
}
