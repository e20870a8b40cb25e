//! The `[smtp]` table of the native TOML file, and the `smtp = { ... }`
//! condition of greylist rules.
//!
//! ```toml
//! [smtp]
//! wait_ms = 200            # wait for the daemon to see the first RCPT; 0: ask once
//! [[smtp.block]]           # reject recipients when all conditions hold
//! kind = "bot"
//! [[smtp.block]]
//! flags = ["pregreet", "bare_lf"]
//!
//! [[greylist.rule]]        # greylist Windows unless it speaks like a known MTA
//! os = "/windows/"
//! smtp = { known_mta = false }
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::{Kind, SmtpBlockRule, SmtpCondition, SmtpConfig, FLAG_NAMES};
use crate::config::{compile_regex, ConfigError};

/// Longest wait accepted, in milliseconds.
const MAX_WAIT_MS: u64 = 5_000;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NativeSmtp {
    wait_ms: Option<u64>,
    code: Option<u16>,
    dsn: Option<String>,
    text: Option<String>,
    #[serde(default)]
    block: Vec<NativeSmtpCondition>,
}

/// Conditions on the SMTP verdict, as written in the file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NativeSmtpCondition {
    known_mta: Option<bool>,
    kind: Option<String>,
    app: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    unknown: Option<bool>,
}

/// Builds a condition; `place` names it in errors.
pub(crate) fn build_condition(
    raw: &NativeSmtpCondition,
    place: &str,
) -> Result<SmtpCondition, ConfigError> {
    let kind = match raw.kind.as_deref() {
        None => None,
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            ConfigError::new(
                place,
                format!("smtp kind must be \"mta\", \"client\" or \"bot\", not {k:?}"),
            )
        })?),
    };
    let app = match &raw.app {
        Some(a) => Some(compile_regex(a.trim_matches('/'), place, "smtp app")?),
        None => None,
    };
    let mut flags = 0;
    for f in &raw.flags {
        let Some((_, bit)) = FLAG_NAMES.iter().find(|(n, _)| n == f) else {
            let names: Vec<&str> = FLAG_NAMES.iter().map(|(n, _)| *n).collect();
            return Err(ConfigError::new(
                place,
                format!("unknown SMTP flag {f:?} (known: {})", names.join(", ")),
            ));
        };
        flags |= bit;
    }
    let c = SmtpCondition {
        known_mta: raw.known_mta,
        kind,
        app,
        flags,
        unknown: raw.unknown,
    };
    if c.is_empty() {
        return Err(ConfigError::new(
            place,
            "an SMTP condition needs known_mta, kind, app, flags or unknown",
        ));
    }
    Ok(c)
}

/// Builds the `[smtp]` table; `fname` names the file in errors.
pub(crate) fn build(raw: NativeSmtp, fname: &str) -> Result<SmtpConfig, ConfigError> {
    let mut cfg = SmtpConfig {
        enabled: true,
        ..SmtpConfig::default()
    };
    if let Some(ms) = raw.wait_ms {
        if ms > MAX_WAIT_MS {
            return Err(ConfigError::new(
                format!("{fname}: [smtp] wait_ms"),
                format!("wait_ms must be at most {MAX_WAIT_MS}"),
            ));
        }
        cfg.wait = Duration::from_millis(ms);
    }
    if let Some(c) = raw.code {
        cfg.reply.code = c;
    }
    if let Some(d) = raw.dsn {
        cfg.reply.dsn = d;
    }
    if let Some(t) = raw.text {
        cfg.reply.text = t;
    }
    crate::config::check_reject(&cfg.reply, &format!("{fname}: [smtp] code"))?;
    for (n, b) in raw.block.iter().enumerate() {
        let origin = format!("{fname}: [[smtp.block]] #{}", n + 1);
        cfg.block.push(SmtpBlockRule {
            condition: build_condition(b, &origin)?,
            origin,
        });
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SmtpConfig, ConfigError> {
        let raw: NativeSmtp =
            toml::from_str(text).map_err(|e| ConfigError::new("t", e.to_string()))?;
        build(raw, "t.toml")
    }

    #[test]
    fn block_rules_and_wait() {
        let c = parse("wait_ms = 0\n[[block]]\nkind = \"bot\"\n[[block]]\nflags = [\"pregreet\", \"bare_lf\"]\n").unwrap();
        assert_eq!(c.wait, Duration::ZERO);
        assert_eq!(c.block.len(), 2);
        assert!(c.block[1].origin.contains("#2"));
        assert_eq!(
            c.block[1].condition.flags,
            p0f_api::smtp::flag::PREGREET | p0f_api::smtp::flag::BARE_LF
        );
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse("[[block]]\nflags = [\"pregreeting\"]\n").unwrap_err();
        assert!(
            e.to_string().contains("[[smtp.block]] #1") && e.to_string().contains("pregreet"),
            "{e}"
        );
        assert!(parse("[[block]]\n").is_err());
        assert!(parse("[[block]]\nkind = \"spammer\"\n").is_err());
        assert!(parse("wait_ms = 9999\n").is_err());
        assert!(parse("code = 450\n").is_err());
    }
}
