//! The `[greylist]` table of the native TOML file.
//!
//! ```toml
//! [greylist]
//! delay = 300                  # seconds before a retry passes
//! retry_window = 172800        # the retry must come within this
//! max_age = 3024000            # a passed triplet is remembered this long
//! auto_whitelist_clients = 5   # 0: off
//! key = ["network", "sender", "recipient"]
//! ipv4_prefix = 24
//! ipv6_prefix = 64
//! store = "embedded"           # or "redis"
//! path = "/var/lib/p0f-mailpolicy/greylist.redb"
//! # redis_url_file = "/etc/p0f-mailpolicy/redis.url"
//! [[greylist.rule]]
//! os = "/windows/"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use p0f_greylist::OnStoreError;
use serde::Deserialize;

use super::whitelist::{parse_clients, parse_recipients};
use super::{GreyRule, GreylistConfig, MatchQuality, StoreConfig};
use crate::config::{
    compile_regex, key_line, parse_block_pattern, read_file, relative_to, BlockPattern, ConfigError,
};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NativeGreylist {
    #[serde(default = "yes")]
    enabled: bool,
    delay: Option<u64>,
    retry_window: Option<u64>,
    max_age: Option<u64>,
    auto_whitelist_clients: Option<u32>,
    max_new_per_network: Option<u32>,
    key: Option<Vec<String>>,
    ipv4_prefix: Option<u8>,
    ipv6_prefix: Option<u8>,
    #[serde(default)]
    fold_srs: bool,
    store: Option<String>,
    path: Option<String>,
    redis_url_file: Option<String>,
    redis_prefix: Option<String>,
    store_timeout_ms: Option<u64>,
    on_store_error: Option<String>,
    code: Option<u16>,
    dsn: Option<String>,
    text: Option<String>,
    #[serde(default)]
    deny_late: bool,
    #[serde(default)]
    dry_run: bool,
    header: Option<bool>,
    #[serde(default)]
    whitelist_clients: Vec<String>,
    #[serde(default)]
    whitelist_recipients: Vec<String>,
    #[serde(default)]
    whitelist_senders: Vec<String>,
    #[serde(default)]
    rule: Vec<NativeRule>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct NativeRule {
    os: Option<String>,
    link: Option<String>,
    distance_above: Option<i32>,
    uptime_below: Option<i64>,
    match_quality: Option<String>,
    unknown: Option<bool>,
    karma_below: Option<i32>,
    smtp: Option<crate::smtp::config::NativeSmtpCondition>,
}

/// The longest delay or age accepted (ten years, in seconds).
const MAX_SECONDS: u64 = 10 * 366 * 86_400;

/// Builds the greylist configuration; `None` when `enabled = false`.
pub(crate) fn build(
    raw: NativeGreylist,
    file: &Path,
    text: &str,
) -> Result<Option<GreylistConfig>, ConfigError> {
    let fname = file.display().to_string();
    let at = |key: &str| format!("{fname}:{}", key_line(text, key));
    if !raw.enabled {
        return Ok(None);
    }
    let mut g = GreylistConfig {
        origin: format!("{fname}: [greylist]"),
        ..GreylistConfig::default()
    };
    for (name, v, slot) in [
        ("delay", raw.delay, &mut g.params.delay),
        ("retry_window", raw.retry_window, &mut g.params.retry_window),
        ("max_age", raw.max_age, &mut g.params.max_age),
    ] {
        if let Some(v) = v {
            if v > MAX_SECONDS {
                return Err(ConfigError::new(
                    at(name),
                    format!("{name} must be at most {MAX_SECONDS} seconds"),
                ));
            }
            *slot = v;
        }
    }
    if g.params.retry_window < g.params.delay {
        return Err(ConfigError::new(
            at("retry_window"),
            "retry_window must not be shorter than delay (no retry could pass)",
        ));
    }
    if let Some(n) = raw.auto_whitelist_clients {
        g.params.awl_clients = n;
    }
    if let Some(n) = raw.max_new_per_network {
        if n == 0 {
            return Err(ConfigError::new(
                at("max_new_per_network"),
                "max_new_per_network must be at least 1",
            ));
        }
        g.params.max_new_per_network = n;
    }
    if let Some(parts) = &raw.key {
        g.keys.network = false;
        g.keys.sender = false;
        g.keys.recipient = false;
        for p in parts {
            match p.as_str() {
                "network" | "client" => g.keys.network = true,
                "sender" => g.keys.sender = true,
                "recipient" => g.keys.recipient = true,
                other => {
                    return Err(ConfigError::new(
                        at("key"),
                        format!("key part {other:?} is not network, sender or recipient"),
                    ))
                }
            }
        }
        if !(g.keys.network || g.keys.sender || g.keys.recipient) {
            return Err(ConfigError::new(
                at("key"),
                "the key needs at least one part",
            ));
        }
    }
    if let Some(p) = raw.ipv4_prefix {
        if p > 32 {
            return Err(ConfigError::new(
                at("ipv4_prefix"),
                "ipv4_prefix must be 0..=32",
            ));
        }
        g.keys.v4_prefix = p;
    }
    if let Some(p) = raw.ipv6_prefix {
        if p > 128 {
            return Err(ConfigError::new(
                at("ipv6_prefix"),
                "ipv6_prefix must be 0..=128",
            ));
        }
        g.keys.v6_prefix = p;
    }
    g.keys.fold_srs = raw.fold_srs;
    g.store = match raw.store.as_deref().unwrap_or("embedded") {
        "embedded" => {
            if raw.redis_url_file.is_some() {
                return Err(ConfigError::new(
                    at("redis_url_file"),
                    "redis_url_file needs store = \"redis\"",
                ));
            }
            StoreConfig::Embedded {
                path: raw
                    .path
                    .as_deref()
                    .map(|p| relative_to(file, p))
                    .unwrap_or_else(|| PathBuf::from("/var/lib/p0f-mailpolicy/greylist.redb")),
            }
        }
        "redis" => {
            let Some(f) = &raw.redis_url_file else {
                return Err(ConfigError::new(
                    at("store"),
                    "store = \"redis\" needs redis_url_file (a file holding redis://[:password@]host:port/db)",
                ));
            };
            let path = relative_to(file, f);
            StoreConfig::Redis {
                url: read_redis_url(&path)?,
                url_file: Some(path),
                prefix: raw.redis_prefix.clone().unwrap_or_else(|| "p0fgl:".into()),
            }
        }
        other => {
            return Err(ConfigError::new(
                at("store"),
                format!("store must be \"embedded\" or \"redis\", not {other:?}"),
            ))
        }
    };
    if let Some(ms) = raw.store_timeout_ms {
        if !(1..=60_000).contains(&ms) {
            return Err(ConfigError::new(
                at("store_timeout_ms"),
                "store_timeout_ms must be 1..=60000",
            ));
        }
        g.store_timeout = Duration::from_millis(ms);
    }
    if let Some(m) = &raw.on_store_error {
        g.on_store_error = match m.as_str() {
            "accept" => OnStoreError::Accept,
            "tempfail" => OnStoreError::Tempfail,
            other => {
                return Err(ConfigError::new(
                    at("on_store_error"),
                    format!("on_store_error must be \"accept\" or \"tempfail\", not {other:?}"),
                ))
            }
        };
    }
    if let Some(c) = raw.code {
        g.reply.code = c;
    }
    if let Some(d) = raw.dsn {
        g.reply.dsn = d;
    }
    if let Some(t) = raw.text {
        g.reply.text = t;
    }
    check_tempfail(&g.reply, &at("code"))?;
    g.deny_late = raw.deny_late;
    g.dry_run = raw.dry_run;
    g.header = raw.header.unwrap_or(true);
    for f in &raw.whitelist_clients {
        let path = relative_to(file, f);
        let text = read_file(&path)?;
        parse_clients(&text, &path.display().to_string(), &mut g.whitelist_clients)?;
    }
    for f in &raw.whitelist_recipients {
        let path = relative_to(file, f);
        let text = read_file(&path)?;
        parse_recipients(
            &text,
            &path.display().to_string(),
            &mut g.whitelist_recipients,
        )?;
    }
    for (n, s) in raw.whitelist_senders.iter().enumerate() {
        let place = format!("{}: whitelist_senders[{n}]", at("whitelist_senders"));
        let rule = parse_block_pattern(s.trim(), &place, false)?;
        g.whitelist_senders.push(match rule.pattern {
            BlockPattern::Exact(e) => BlockPattern::Exact(e.to_ascii_lowercase()),
            p => p,
        });
    }
    for (n, r) in raw.rule.iter().enumerate() {
        let place = format!("{fname}:[[greylist.rule]] #{}", n + 1);
        g.rules.push(build_rule(r, &place)?);
    }
    if g.rules.is_empty() {
        return Err(ConfigError::new(
            g.origin.clone(),
            "[greylist] has no [[greylist.rule]]: add one (an empty rule greylists every client, as postgrey does)",
        ));
    }
    Ok(Some(g))
}

fn build_rule(r: &NativeRule, place: &str) -> Result<GreyRule, ConfigError> {
    Ok(GreyRule {
        smtp: match &r.smtp {
            Some(c) => Some(crate::smtp::config::build_condition(c, place)?),
            None => None,
        },
        os: match &r.os {
            Some(p) => Some(parse_block_pattern(p.trim(), place, false)?.pattern),
            None => None,
        },
        link: match &r.link {
            Some(l) => Some(compile_regex(l.trim_matches('/'), place, "link pattern")?),
            None => None,
        },
        distance_above: r.distance_above,
        uptime_below: r.uptime_below,
        match_quality: match r.match_quality.as_deref() {
            None => None,
            Some("exact") => Some(MatchQuality::Exact),
            Some("fuzzy") => Some(MatchQuality::Fuzzy),
            Some("generic") => Some(MatchQuality::Generic),
            Some("not-exact") => Some(MatchQuality::NotExact),
            Some(other) => {
                return Err(ConfigError::new(
                    place,
                    format!(
                        "match_quality must be exact, fuzzy, generic or not-exact, not {other:?}"
                    ),
                ))
            }
        },
        unknown: r.unknown,
        karma_below: r.karma_below,
        origin: place.to_string(),
    })
}

/// A greylist tempfail: 4xx, a matching 4.x.y, printable text.
pub(crate) fn check_tempfail(r: &crate::config::SmtpReply, place: &str) -> Result<(), ConfigError> {
    let class_ok = (400..500).contains(&r.code);
    let parts: Vec<&str> = r.dsn.split('.').collect();
    let dsn_ok = parts.len() == 3
        && parts[0] == "4"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if !class_ok || !dsn_ok {
        return Err(ConfigError::new(
            place,
            format!(
                "greylist reply {} {} must be a 4xx code with a 4.x.y status",
                r.code, r.dsn
            ),
        ));
    }
    if r.text.is_empty() || r.text.len() > 200 || r.text.chars().any(|c| c.is_control()) {
        return Err(ConfigError::new(
            place,
            "greylist text must be 1..200 printable characters",
        ));
    }
    Ok(())
}

/// Reads a Redis URL from a file (first non-comment line). The file holds
/// the password, so it is never logged, and it must not be readable by
/// everyone.
pub fn read_redis_url(path: &Path) -> Result<String, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let place = path.display().to_string();
    let text = read_file(path)?;
    let url = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| ConfigError::new(&place, "no Redis URL in the file"))?
        .to_string();
    if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://"))
    {
        return Err(ConfigError::new(
            &place,
            "the Redis URL must start with redis://, rediss:// or unix://",
        ));
    }
    if url.starts_with("rediss://") {
        return Err(ConfigError::new(&place, "TLS (rediss://) is not supported by this build; use a local tunnel (stunnel) or redis:// on a trusted network"));
    }
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if url.contains('@') && mode & 0o004 != 0 {
        return Err(ConfigError::new(
            &place,
            "holds a password but is readable by everyone (chmod o-r)",
        ));
    }
    redis_url_is_valid(&url).map_err(|e| ConfigError::new(&place, e))?;
    Ok(url)
}

fn redis_url_is_valid(url: &str) -> Result<(), String> {
    p0f_greylist::redis_store::RedisStore::new(url, "", Duration::from_secs(1))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses a `[greylist]` table given as TOML text (for tests and tools).
pub fn parse_table(text: &str, file: &Path) -> Result<Option<GreylistConfig>, ConfigError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Only {
        greylist: NativeGreylist,
    }
    let raw: Only = toml::from_str(text)
        .map_err(|e| ConfigError::new(file.display().to_string(), e.message().to_string()))?;
    build(raw.greylist, file, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_rules() {
        let g = parse_table(
            "[greylist]\n[[greylist.rule]]\nos = \"/windows/\"\n",
            Path::new("t.toml"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(g.params.delay, 300);
        assert_eq!(g.params.retry_window, 2 * 86_400);
        assert_eq!(g.params.max_age, 35 * 86_400);
        assert_eq!(g.params.awl_clients, 5);
        assert_eq!(
            g.reply.to_string(),
            format!("450 4.7.1 {}", super::super::DEFAULT_TEXT)
        );
        assert_eq!(g.keys.v4_prefix, 24);
        assert_eq!(g.rules.len(), 1);
        assert!(matches!(g.store, StoreConfig::Embedded { .. }));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_table(
            "[greylist]\ndelay = 10\nretry_window = 5\n[[greylist.rule]]\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert_eq!(e.place, "t.toml:3");
        let e = parse_table(
            "[greylist]\ncode = 550\n[[greylist.rule]]\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert_eq!(e.place, "t.toml:2");
        let e = parse_table(
            "[greylist]\nstore = \"redis\"\n[[greylist.rule]]\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert!(e.reason.contains("redis_url_file"), "{e}");
        let e = parse_table(
            "[greylist]\n[[greylist.rule]]\nmatch_quality = \"good\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert!(e.place.contains("[[greylist.rule]] #1"), "{e}");
        assert!(parse_table("[greylist]\n", Path::new("t.toml")).is_err());
        assert!(
            parse_table("[greylist]\nenabled = false\n", Path::new("t.toml"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn redis_url_file_is_checked() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("redis.url");
        std::fs::write(&f, "# shared state\nredis://:secret@127.0.0.1:6379/2\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_redis_url(&f).unwrap_err();
        assert!(e.reason.contains("readable by everyone"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_redis_url(&f).unwrap(),
            "redis://:secret@127.0.0.1:6379/2"
        );
        std::fs::write(&f, "http://x\n").unwrap();
        assert!(read_redis_url(&f).is_err());
    }
}
