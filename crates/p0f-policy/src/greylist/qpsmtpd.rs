//! qpsmtpd's `greylisting` plugin line, so that its users migrate unchanged:
//!
//! ```text
//! greylisting p0f genre,windows,link,dsl,distance,3 black_timeout 300 sender 1 recipient 1
//! ```
//!
//! Options, as upstream qpsmtpd's current plugin reads them:
//! * `p0f key,value,...`: conditions on the fingerprint. `genre` and `link`
//!   are case-insensitive regexes, `distance` holds when p0f's distance is
//!   greater than the value, `uptime` when p0f's uptime is less. The
//!   plugin's documentation says all pairs must hold; its code greylists
//!   when any one does. We follow the documentation. `detail`, which it
//!   names but never tests, is refused.
//! * `black_timeout` (50 min): the delay. `white_timeout` (36 days): how
//!   long a pass is remembered. Upstream no longer has a grey window, so a
//!   retry passes any time after `black_timeout` while the entry lives:
//!   the retry window is `white_timeout` too. `grey_timeout` is accepted
//!   and ignored, with a warning.
//! * `remote_ip` (1), `sender` (0), `recipient` (0): the key parts. The
//!   plugin keys on the whole address, so the network is /32 (IPv4) or
//!   /128 (IPv6).
//! * `redis host:port`: the Redis store (plain TCP, no password); without
//!   it, the embedded store.
//! * `per_recipient`: accepted; decisions are always made per recipient
//!   (per-recipient configuration directories are not read).
//! * `reject 0`: log "would greylist" only. `deny_late 1`: tempfail at DATA.
//! * `loglevel` is accepted and ignored (logging is configured with `RUST_LOG`).
//!
//! Anything else (`geoip`, `db_dir`, `nfslock`, `per_recipient_db`,
//! `upgrade`, ...) is refused at start-up: silently ignoring it would
//! greylist differently from what the operator configured.

use super::{GreyRule, GreylistConfig, StoreConfig};
use crate::config::{compile_regex, parse_bool, BlockPattern, ConfigError};

/// Finds the `greylisting` line of a qpsmtpd plugins file (the last one
/// wins, as a later plugin line overrides an earlier one's notes).
pub fn parse_plugins_text(text: &str, file: &str) -> Result<Option<GreylistConfig>, ConfigError> {
    let mut out = None;
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        let mut words = line.split_whitespace();
        if words.next() != Some("greylisting") {
            continue;
        }
        out = Some(parse_line(&words.collect::<Vec<_>>(), &place)?);
    }
    Ok(out)
}

fn parse_u64(v: &str, place: &str, key: &str) -> Result<u64, ConfigError> {
    v.parse::<u64>()
        .ok()
        .filter(|n| *n <= 10 * 366 * 86_400)
        .ok_or_else(|| {
            ConfigError::new(
                place,
                format!("greylisting {key}: {v:?} is not a number of seconds"),
            )
        })
}

/// Parses the options after the word `greylisting`.
pub fn parse_line(words: &[&str], place: &str) -> Result<GreylistConfig, ConfigError> {
    if words.len() % 2 == 1 {
        return Err(ConfigError::new(
            place,
            format!(
                "greylisting: options come in `key value` pairs; {:?} has no value",
                words[words.len() - 1]
            ),
        ));
    }
    let mut g = GreylistConfig {
        origin: place.to_string(),
        ..GreylistConfig::default()
    };
    g.keys.network = true;
    g.keys.sender = false;
    g.keys.recipient = false;
    g.keys.v4_prefix = 32;
    g.keys.v6_prefix = 128;
    g.params.delay = 50 * 60;
    g.params.max_age = 36 * 86_400;
    g.params.awl_clients = 0;
    let mut white = None;
    let mut rule = GreyRule {
        origin: place.to_string(),
        ..GreyRule::default()
    };
    for pair in words.chunks(2) {
        let (k, v) = (pair[0], pair[1]);
        match k {
            "p0f" => parse_p0f(v, place, &mut rule)?,
            "black_timeout" => g.params.delay = parse_u64(v, place, k)?,
            "white_timeout" => white = Some(parse_u64(v, place, k)?),
            "grey_timeout" => tracing::warn!(%place, "greylisting grey_timeout is ignored (as upstream qpsmtpd ignores it now)"),
            "remote_ip" => g.keys.network = parse_bool(v, place, k)?,
            "sender" => g.keys.sender = parse_bool(v, place, k)?,
            "recipient" => g.keys.recipient = parse_bool(v, place, k)?,
            "per_recipient" => {
                parse_bool(v, place, k)?;
            }
            "reject" => g.dry_run = !parse_bool(v, place, k)?,
            "deny_late" => g.deny_late = parse_bool(v, place, k)?,
            "loglevel" => {}
            "redis" => {
                let ok = v
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    return Err(ConfigError::new(place, format!("greylisting redis {v:?}: expected host:port")));
                }
                g.store = StoreConfig::Redis {
                    url: format!("redis://{v}/"),
                    url_file: None,
                    prefix: "p0fgl:".into(),
                };
            }
            "geoip" | "db_dir" | "nfslock" | "per_recipient_db" | "upgrade" | "mode" => {
                return Err(ConfigError::new(
                    place,
                    format!("greylisting {k} is not supported by p0f-mailpolicy; remove it (see docs/greylisting.md)"),
                ))
            }
            other => {
                return Err(ConfigError::new(place, format!("greylisting: unknown option {other:?}")))
            }
        }
    }
    if !(g.keys.network || g.keys.sender || g.keys.recipient) {
        return Err(ConfigError::new(
            place,
            "greylisting: enable one of remote_ip, sender or recipient",
        ));
    }
    g.params.max_age = white.unwrap_or(g.params.max_age);
    g.params.retry_window = g.params.max_age.max(g.params.delay);
    g.rules.push(rule);
    Ok(g)
}

fn parse_p0f(v: &str, place: &str, rule: &mut GreyRule) -> Result<(), ConfigError> {
    let items: Vec<&str> = v.split(',').collect();
    if items.len() % 2 == 1 || items.iter().any(|s| s.is_empty()) {
        return Err(ConfigError::new(
            place,
            format!("greylisting p0f {v:?}: expected key,value pairs"),
        ));
    }
    for kv in items.chunks(2) {
        let (k, val) = (kv[0], kv[1]);
        let num = || {
            val.parse::<i64>().map_err(|_| {
                ConfigError::new(place, format!("greylisting p0f {k},{val}: not a number"))
            })
        };
        match k {
            "genre" => rule.os = Some(BlockPattern::Regex(compile_regex(val, place, "p0f genre")?)),
            "link" => rule.link = Some(compile_regex(val, place, "p0f link")?),
            "distance" => rule.distance_above = Some(num()?.clamp(-1, 255) as i32),
            "uptime" => rule.uptime_below = Some(num()?),
            "detail" => {
                return Err(ConfigError::new(
                    place,
                    "greylisting p0f detail: the plugin names it but never tests it; use genre",
                ))
            }
            other => {
                return Err(ConfigError::new(
                    place,
                    format!("greylisting p0f {other:?}: keys are genre, link, distance, uptime"),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_options() {
        let text = "ident/p0f /tmp/.p0f_socket3\n# comment\ngreylisting p0f genre,windows,link,dsl,distance,3 black_timeout 120 white_timeout 86400 grey_timeout 999 sender 1 recipient 1 remote_ip 1 redis 127.0.0.1:6379 per_recipient 1 reject 1 deny_late 1\n";
        let g = parse_plugins_text(text, "plugins").unwrap().unwrap();
        assert_eq!(g.params.delay, 120);
        assert_eq!(g.params.max_age, 86_400);
        assert_eq!(g.params.retry_window, 86_400);
        assert!(g.keys.network && g.keys.sender && g.keys.recipient);
        assert_eq!(g.keys.v4_prefix, 32);
        assert!(g.deny_late && !g.dry_run);
        assert_eq!(g.params.awl_clients, 0);
        assert!(
            matches!(&g.store, StoreConfig::Redis { url, .. } if url == "redis://127.0.0.1:6379/")
        );
        let r = &g.rules[0];
        assert!(r.os.is_some() && r.link.is_some());
        assert_eq!(r.distance_above, Some(3));
        assert_eq!(g.origin, "plugins:3");
    }

    #[test]
    fn defaults_greylist_every_client_by_address() {
        let g = parse_plugins_text("greylisting\n", "p").unwrap().unwrap();
        assert_eq!(g.params.delay, 3000);
        assert!(g.keys.network && !g.keys.sender && !g.keys.recipient);
        assert!(matches!(g.store, StoreConfig::Embedded { .. }));
        assert_eq!(g.rules.len(), 1);
        assert!(g.rules[0].os.is_none());
        assert!(parse_plugins_text("ident/p0f /x\n", "p").unwrap().is_none());
        assert!(
            parse_plugins_text("greylisting reject 0\n", "p")
                .unwrap()
                .unwrap()
                .dry_run
        );
    }

    #[test]
    fn refusals() {
        for (line, needle) in [
            ("greylisting geoip US", "not supported"),
            ("greylisting db_dir /x", "not supported"),
            ("greylisting nfslock 1", "not supported"),
            ("greylisting p0f detail,xp", "never tests"),
            ("greylisting p0f genre", "pairs"),
            ("greylisting p0f os,x", "keys are"),
            ("greylisting bogus 1", "unknown option"),
            ("greylisting sender", "no value"),
            ("greylisting remote_ip 0", "enable one"),
            ("greylisting redis nohost", "host:port"),
            ("greylisting p0f genre,(", "regex"),
        ] {
            let e = parse_plugins_text(line, "plugins").unwrap_err();
            assert!(e.reason.contains(needle), "{line}: {e}");
            assert_eq!(e.place, "plugins:1");
        }
    }
}
