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
//! * `per_recipient`, and the `denysoft_greylist` file: see
//!   [`parse_plugins_text`].
//! * `reject 0`: log "would greylist" only. `deny_late 1`: tempfail at DATA.
//! * `loglevel` is accepted and ignored (logging is configured with `RUST_LOG`).
//!
//! Anything else (`geoip`, `db_dir`, `nfslock`, `per_recipient_db`,
//! `upgrade`, ...) is refused at start-up: silently ignoring it would
//! greylist differently from what the operator configured.

use std::path::Path;

use super::{GreyRule, GreylistConfig, StoreConfig};
use crate::config::{compile_regex, parse_bool, read_file, BlockPattern, ConfigError};

/// Finds the `greylisting` line of a qpsmtpd plugins file (the last one
/// wins, as a later plugin line overrides an earlier one's notes).
///
/// As the plugin does, the options may also come from the qpsmtpd config
/// file `denysoft_greylist` (one `key value` a line) in the plugins file's
/// directory; the plugin line's options override the file's, except that
/// with `per_recipient` the file's `black_timeout` and `white_timeout`
/// win (the plugin merges the file over its arguments again at each
/// recipient; see `docs/greylisting.md`).
pub fn parse_plugins_text(text: &str, file: &str) -> Result<Option<GreylistConfig>, ConfigError> {
    let mut line = None;
    for (i, l) in text.lines().enumerate() {
        let mut words = l.split_whitespace();
        if words.next() == Some("greylisting") {
            line = Some((i + 1, words.map(String::from).collect::<Vec<_>>()));
        }
    }
    let Some((n, words)) = line else {
        return Ok(None);
    };
    let from_file = match Path::new(file).parent() {
        Some(dir) => read_denysoft_greylist(&dir.join(DENYSOFT_GREYLIST))?,
        None => Vec::new(),
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    parse_line_with(&words, &from_file, &format!("{file}:{n}")).map(Some)
}

/// The qpsmtpd config file the plugin also reads its options from.
pub const DENYSOFT_GREYLIST: &str = "denysoft_greylist";

/// One option from `denysoft_greylist`: key, value, place.
type FileOption = (String, String, String);

/// Reads `key value` lines (qpsmtpd skips blank lines and `#` comments);
/// a missing file is no error, as in qpsmtpd.
fn read_denysoft_greylist(path: &Path) -> Result<Vec<FileOption>, ConfigError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = read_file(path)?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let place = format!("{}:{}", path.display(), i + 1);
        let Some((k, v)) = l.split_once(char::is_whitespace) else {
            return Err(ConfigError::new(
                place,
                format!("{DENYSOFT_GREYLIST}: {l:?} has no value (lines are `key value`)"),
            ));
        };
        out.push((k.to_string(), v.trim().to_string(), place));
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
    parse_line_with(words, &[], place)
}

/// Parses the options of `denysoft_greylist` (`file`) and then those after
/// the word `greylisting`, which override them.
fn parse_line_with(
    words: &[&str],
    file: &[FileOption],
    place: &str,
) -> Result<GreylistConfig, ConfigError> {
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
    let mut rule = GreyRule {
        origin: place.to_string(),
        ..GreyRule::default()
    };
    let options = file
        .iter()
        .map(|(k, v, at)| (k.as_str(), v.as_str(), at.as_str()))
        .chain(words.chunks(2).map(|pair| (pair[0], pair[1], place)));
    let mut white = None;
    let mut per_recipient = false;
    for (k, v, place) in options {
        match k {
            "p0f" => {
                // A later p0f option replaces an earlier one, as in the
                // plugin's hash of options.
                rule = GreyRule {
                    origin: rule.origin.clone(),
                    ..GreyRule::default()
                };
                parse_p0f(v, place, &mut rule)?
            }
            "black_timeout" => g.params.delay = parse_u64(v, place, k)?,
            "white_timeout" => white = Some(parse_u64(v, place, k)?),
            "grey_timeout" => tracing::warn!(%place, "greylisting grey_timeout is ignored (as upstream qpsmtpd ignores it now)"),
            "remote_ip" => g.keys.network = parse_bool(v, place, k)?,
            "sender" => g.keys.sender = parse_bool(v, place, k)?,
            "recipient" => g.keys.recipient = parse_bool(v, place, k)?,
            "per_recipient" => per_recipient = parse_bool(v, place, k)?,
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
                    tls: None,
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
    if per_recipient {
        // The plugin's RCPT hook merges the file over its arguments: there
        // the file's timeouts win (the only options its decision reads
        // from that merge).
        for (k, v, at) in file {
            match k.as_str() {
                "black_timeout" => g.params.delay = parse_u64(v, at, k)?,
                "white_timeout" => white = Some(parse_u64(v, at, k)?),
                _ => {}
            }
        }
    }
    // Without per_recipient or recipient the plugin decides in its MAIL
    // hook, once for the sender, with no exception for the null sender.
    g.mail_stage = !(per_recipient || g.keys.recipient);
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
    fn per_recipient_moves_the_decision_and_reads_the_timeouts_of_the_file() {
        // Without per_recipient or recipient: the MAIL hook.
        let g = parse_plugins_text("greylisting sender 1\n", "p")
            .unwrap()
            .unwrap();
        assert!(g.mail_stage);
        let g = parse_plugins_text("greylisting recipient 1\n", "p")
            .unwrap()
            .unwrap();
        assert!(!g.mail_stage);
        let g = parse_plugins_text("greylisting per_recipient 1\n", "p")
            .unwrap()
            .unwrap();
        assert!(!g.mail_stage);
        assert!(
            !g.keys.recipient,
            "per_recipient does not add the recipient to the key"
        );

        let d = tempfile::tempdir().unwrap();
        let plugins = d.path().join("plugins");
        std::fs::write(
            d.path().join(DENYSOFT_GREYLIST),
            "# site defaults\nblack_timeout 60\nwhite_timeout 7200\n\nsender 1\np0f genre,linux\n",
        )
        .unwrap();
        let parse = |line: &str| {
            parse_plugins_text(line, &plugins.display().to_string())
                .unwrap()
                .unwrap()
        };
        // The file's options apply; the line's override them.
        let g = parse("greylisting black_timeout 600 p0f genre,windows\n");
        assert_eq!(g.params.delay, 600);
        assert_eq!(g.params.max_age, 7200);
        assert!(g.keys.sender);
        let os = format!("{:?}", g.rules[0].os);
        assert!(os.contains("windows") && !os.contains("linux"), "{os}");
        // With per_recipient, the file's timeouts win.
        let g = parse("greylisting black_timeout 600 white_timeout 99999 per_recipient 1\n");
        assert_eq!(g.params.delay, 60);
        assert_eq!(g.params.max_age, 7200);
        assert!(!g.mail_stage);
        // Errors in the file name its line.
        std::fs::write(d.path().join(DENYSOFT_GREYLIST), "black_timeout soon\n").unwrap();
        let e = parse_plugins_text("greylisting\n", &plugins.display().to_string()).unwrap_err();
        assert!(e.place.ends_with("denysoft_greylist:1"), "{e}");
        std::fs::write(d.path().join(DENYSOFT_GREYLIST), "geoip\n").unwrap();
        let e = parse_plugins_text("greylisting\n", &plugins.display().to_string()).unwrap_err();
        assert!(e.reason.contains("no value"), "{e}");
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
