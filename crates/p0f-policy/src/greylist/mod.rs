//! OS-aware greylisting: which mail is subject to it (rules on the p0f
//! record and the connection's karma), who is exempt, and the configuration.
//! The state itself (has this triplet waited?) lives in `p0f-greylist`.
//!
//! A message's recipient is greylisted when
//! 1. it is not exempt: relay clients (trusted networks, authenticated
//!    sessions), exempt recipients, whitelisted clients, recipients and
//!    senders are never greylisted; and
//! 2. some rule matches. Every condition of a rule must hold (an empty
//!    rule matches everything, which is greylisting as postgrey does it).
//!    Conditions about the fingerprint (`os`, `link`, `distance_above`,
//!    `uptime_below`, `match_quality`) never hold when p0f knows nothing
//!    about the client; `unknown = true` asks for exactly that case; and
//! 3. the store says the triplet has not waited long enough.

pub mod config;
pub mod decide;
pub mod qpsmtpd;
pub mod whitelist;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use p0f_greylist::{KeyConfig, OnStoreError, Params};
use regex::Regex;

use crate::config::{BlockPattern, SmtpReply};
use crate::policy::Lookup;
use whitelist::ClientWhitelist;

/// p0f's match quality, as a rule condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchQuality {
    /// `os_match_q == 0`.
    Exact,
    /// Fuzzy (bit 0x01).
    Fuzzy,
    /// Generic signature (bit 0x02).
    Generic,
    /// Fuzzy or generic, i.e. anything but exact.
    NotExact,
}

/// One greylist rule: all its conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct GreyRule {
    /// The genre, as in the block list: exact, or `/regex/` case-insensitive.
    pub os: Option<BlockPattern>,
    /// Case-insensitive regex on the link type.
    pub link: Option<Regex>,
    /// Holds when p0f's distance is greater than this (as qpsmtpd's plugin).
    pub distance_above: Option<i32>,
    /// Holds when p0f's uptime is known and less than this (v3: minutes;
    /// v2: hours, as the record carries them).
    pub uptime_below: Option<i64>,
    pub match_quality: Option<MatchQuality>,
    /// Some(true): holds only when p0f has no OS for the client (no record,
    /// or a record without a genre). Some(false): only when it has one.
    pub unknown: Option<bool>,
    /// Holds when the connection's karma is below this.
    pub karma_below: Option<i32>,
    /// Conditions on the SMTP dialect verdict (`smtp = { ... }`).
    pub smtp: Option<crate::smtp::SmtpCondition>,
    /// Where it was configured.
    pub origin: String,
}

impl GreyRule {
    /// True when every condition holds for this lookup.
    pub fn matches(&self, lk: &Lookup) -> bool {
        let rec = lk.record.as_ref();
        let has_os = rec.is_some_and(|r| !r.genre.is_empty());
        if let Some(want_unknown) = self.unknown {
            if want_unknown == has_os {
                return false;
            }
        }
        if let Some(c) = &self.smtp {
            if !c.matches(lk.smtp.as_ref()) {
                return false;
            }
        }
        if let Some(k) = self.karma_below {
            if lk.karma >= k {
                return false;
            }
        }
        if let Some(p) = &self.os {
            if !rec.is_some_and(|r| !r.genre.is_empty() && p.matches(&r.genre)) {
                return false;
            }
        }
        if let Some(l) = &self.link {
            if !rec.is_some_and(|r| !r.link.is_empty() && l.is_match(&r.link)) {
                return false;
            }
        }
        if let Some(d) = self.distance_above {
            // 255 (v3) and -1 (v2) mean "unknown": never a match.
            if !rec.is_some_and(|r| (0..255).contains(&r.distance) && r.distance > d) {
                return false;
            }
        }
        if let Some(u) = self.uptime_below {
            let below = rec.and_then(|r| r.uptime).is_some_and(|up| up < u);
            if !below {
                return false;
            }
        }
        if let Some(q) = self.match_quality {
            let Some(mq) = rec.and_then(|r| r.os_match_q) else {
                return false;
            };
            let ok = match q {
                MatchQuality::Exact => mq == 0,
                MatchQuality::Fuzzy => mq & 1 != 0,
                MatchQuality::Generic => mq & 2 != 0,
                MatchQuality::NotExact => mq != 0,
            };
            if !ok || !has_os {
                return false;
            }
        }
        true
    }
}

/// Where the state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// A redb file.
    Embedded { path: PathBuf },
    /// A Redis server; the URL (which may hold a password) is read from a
    /// file at start-up, never given on the command line.
    Redis {
        url: String,
        url_file: Option<PathBuf>,
        prefix: String,
    },
}

/// Everything about greylisting.
#[derive(Clone, Debug)]
pub struct GreylistConfig {
    /// Any rule matching subjects the mail to greylisting.
    pub rules: Vec<GreyRule>,
    pub keys: KeyConfig,
    pub params: Params,
    pub store: StoreConfig,
    /// Deadline of each store operation.
    pub store_timeout: Duration,
    pub on_store_error: OnStoreError,
    /// The milter's tempfail (default `450 4.7.1 ...`). Through policy
    /// delegation the answer is `DEFER_IF_PERMIT` with the text.
    pub reply: SmtpReply,
    /// Decide at RCPT, give the tempfail at DATA.
    pub deny_late: bool,
    /// Log "would greylist" instead of deferring.
    pub dry_run: bool,
    /// Add `X-Greylist:` to mail that passed after a delay.
    pub header: bool,
    pub whitelist_clients: ClientWhitelist,
    pub whitelist_recipients: Vec<Regex>,
    pub whitelist_senders: Vec<BlockPattern>,
    /// Where the settings came from (for messages).
    pub origin: String,
}

/// Default tempfail text.
pub const DEFAULT_TEXT: &str = "Greylisted: please try again in a few minutes";

impl Default for GreylistConfig {
    fn default() -> Self {
        GreylistConfig {
            rules: Vec::new(),
            keys: KeyConfig::default(),
            params: Params::default(),
            store: StoreConfig::Embedded {
                path: PathBuf::from("/var/lib/p0f-mailpolicy/greylist.redb"),
            },
            store_timeout: Duration::from_millis(500),
            on_store_error: OnStoreError::Accept,
            reply: SmtpReply {
                code: 450,
                dsn: "4.7.1".into(),
                text: DEFAULT_TEXT.into(),
            },
            deny_late: false,
            dry_run: false,
            header: true,
            whitelist_clients: ClientWhitelist::default(),
            whitelist_recipients: Vec::new(),
            whitelist_senders: Vec::new(),
            origin: String::new(),
        }
    }
}

/// What a recipient's greylisting decision is made from.
#[derive(Clone, Copy, Debug)]
pub struct RcptContext<'a> {
    pub client: IpAddr,
    /// The client's host name as the MTA verified it (`unknown` or None
    /// when it has none).
    pub client_name: Option<&'a str>,
    /// Trusted network or authenticated session.
    pub relay: bool,
    pub sender: &'a str,
    pub recipient: &'a str,
}

/// Why a recipient is not subject to greylisting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exemption {
    RelayClient,
    ExemptRecipient,
    WhitelistedClient,
    WhitelistedRecipient,
    WhitelistedSender,
}

impl Exemption {
    pub fn describe(self) -> &'static str {
        match self {
            Exemption::RelayClient => "relay client",
            Exemption::ExemptRecipient => "exempt recipient",
            Exemption::WhitelistedClient => "client whitelist",
            Exemption::WhitelistedRecipient => "recipient whitelist",
            Exemption::WhitelistedSender => "sender whitelist",
        }
    }
}

impl GreylistConfig {
    /// The first exemption that applies (the caller checks `exempt_recipients`
    /// and relay status, which belong to the whole policy).
    pub fn whitelisted(&self, ctx: &RcptContext<'_>) -> Option<Exemption> {
        if self.whitelist_clients.matches(ctx.client, ctx.client_name) {
            return Some(Exemption::WhitelistedClient);
        }
        let r = ctx
            .recipient
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        if self.whitelist_recipients.iter().any(|re| re.is_match(r)) {
            return Some(Exemption::WhitelistedRecipient);
        }
        if whitelist::sender_matches(&self.whitelist_senders, ctx.sender) {
            return Some(Exemption::WhitelistedSender);
        }
        None
    }

    /// The first rule that subjects this lookup to greylisting.
    pub fn matching_rule(&self, lk: &Lookup) -> Option<&GreyRule> {
        self.rules.iter().find(|r| r.matches(lk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ApiVersion, Fingerprint};

    fn fp(
        genre: &str,
        link: &str,
        distance: i32,
        uptime: Option<i64>,
        q: Option<u8>,
    ) -> Fingerprint {
        Fingerprint {
            version: ApiVersion::V3,
            genre: genre.into(),
            detail: String::new(),
            distance,
            uptime,
            link: link.into(),
            link_type: link.into(),
            first_seen: None,
            last_seen: None,
            total_conn: None,
            uptime_min: None,
            up_mod_days: None,
            last_nat: None,
            last_chg: None,
            bad_sw: None,
            os_match_q: q,
            os_name: None,
            os_flavor: None,
            http_name: None,
            http_flavor: None,
            language: None,
        }
    }

    fn lk(f: Option<Fingerprint>, karma: i32) -> Lookup {
        Lookup {
            record: f,
            karma,
            errors: Vec::new(),
            smtp: None,
        }
    }

    fn re(s: &str) -> Regex {
        regex::RegexBuilder::new(s)
            .case_insensitive(true)
            .build()
            .unwrap()
    }

    #[test]
    fn conditions_all_hold() {
        let win_dsl = lk(Some(fp("Windows 7 or 8", "DSL", 12, Some(30), Some(0))), 0);
        let rule = GreyRule {
            os: Some(BlockPattern::Regex(re("windows"))),
            link: Some(re("dsl")),
            distance_above: Some(3),
            ..GreyRule::default()
        };
        assert!(rule.matches(&win_dsl));
        let near = lk(Some(fp("Windows 7 or 8", "DSL", 3, None, None)), 0);
        assert!(!rule.matches(&near), "distance must be greater");
        let eth = lk(
            Some(fp("Windows 7 or 8", "Ethernet or modem", 12, None, None)),
            0,
        );
        assert!(!rule.matches(&eth));
        let unknown_distance = lk(Some(fp("Windows 7 or 8", "DSL", 255, None, None)), 0);
        assert!(!rule.matches(&unknown_distance));
        let up = GreyRule {
            uptime_below: Some(60),
            ..GreyRule::default()
        };
        assert!(up.matches(&win_dsl));
        assert!(!up.matches(&lk(Some(fp("Linux", "DSL", 1, Some(60), None)), 0)));
        assert!(!up.matches(&lk(Some(fp("Linux", "DSL", 1, None, None)), 0)));
        let exact = GreyRule {
            match_quality: Some(MatchQuality::Exact),
            ..GreyRule::default()
        };
        assert!(exact.matches(&win_dsl));
        assert!(!exact.matches(&lk(Some(fp("Linux", "", 1, None, Some(2))), 0)));
        let generic = GreyRule {
            match_quality: Some(MatchQuality::Generic),
            ..GreyRule::default()
        };
        assert!(generic.matches(&lk(Some(fp("Linux", "", 1, None, Some(2))), 0)));
        assert!(
            !generic.matches(&lk(Some(fp("Linux", "", 1, None, None)), 0)),
            "v2 does not say"
        );
    }

    #[test]
    fn nothing_without_a_fingerprint_unless_asked() {
        let none = lk(None, 0);
        let nameless_dsl = lk(Some(fp("", "DSL", 5, None, None)), 0);
        let windows = GreyRule {
            os: Some(BlockPattern::Regex(re("windows"))),
            ..GreyRule::default()
        };
        assert!(!windows.matches(&none));
        assert!(!windows.matches(&nameless_dsl));
        let unknown_dsl = GreyRule {
            unknown: Some(true),
            link: Some(re("dsl")),
            ..GreyRule::default()
        };
        assert!(unknown_dsl.matches(&nameless_dsl));
        assert!(!unknown_dsl.matches(&none), "no link known");
        assert!(!unknown_dsl.matches(&lk(Some(fp("Linux", "DSL", 5, None, None)), 0)));
        let unknown = GreyRule {
            unknown: Some(true),
            ..GreyRule::default()
        };
        assert!(unknown.matches(&none));
        // "greylist Windows, and unknown clients on DSL"
        let cfg = GreylistConfig {
            rules: vec![windows, unknown_dsl],
            ..GreylistConfig::default()
        };
        assert!(cfg.matching_rule(&nameless_dsl).is_some());
        assert!(cfg
            .matching_rule(&lk(Some(fp("Windows XP", "Ethernet", 5, None, None)), 0))
            .is_some());
        assert!(cfg
            .matching_rule(&lk(Some(fp("Linux 3.11", "DSL", 5, None, None)), 0))
            .is_none());
        assert!(cfg.matching_rule(&none).is_none());
    }

    #[test]
    fn karma_condition() {
        let rule = GreyRule {
            karma_below: Some(0),
            ..GreyRule::default()
        };
        assert!(rule.matches(&lk(None, -1)));
        assert!(!rule.matches(&lk(None, 0)));
    }
}
