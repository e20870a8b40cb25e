//! Configuration: the qpsmtpd plugin's own files, and a native TOML file.
//!
//! Two sources give the same settings:
//!
//! * qpsmtpd's: a `config/plugins` line such as
//!   `ident/p0f /tmp/.p0f_socket3 version 3 local_ip 192.0.2.1 smite_os windows add_headers false`
//!   (a whole plugins file, where other plugins' lines are ignored, or just
//!   the line), and the `p0f_blocked_operating_systems` file.
//! * the native TOML file, which names every setting, including the ones the
//!   plugin does not have (trusted networks, exempt recipients, timeouts,
//!   dry run, reply text, exact-match rules, listeners).
//!
//! Every error names the place (`file:line`) and the reason, and is raised
//! when the service starts, never later.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::net::Cidr;
use crate::record::ApiVersion;

/// Largest configuration file read (a guard against pointing at the wrong file).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Compiled size limit of one operator regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest socket path a Unix socket address can carry (sun_path minus NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A configuration error: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `file:line`, or `file` when no line applies.
    pub place: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(place: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            place: place.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// One p0f instance (one `ident/p0f` line or one `[[p0f]]` table).
#[derive(Clone, Debug)]
pub struct Instance {
    /// The `:N` of `ident/p0f:N`, or the TOML `name`.
    pub name: String,
    pub socket: PathBuf,
    pub version: ApiVersion,
    /// Replaces the server address in v2 queries.
    pub local_ip: Option<IpAddr>,
    /// Case-insensitive; a match lowers the connection's karma by one (v3).
    pub smite_os: Option<Regex>,
    pub add_headers: bool,
    /// Where it was configured (`file:line`).
    pub origin: String,
}

/// One line of `p0f_blocked_operating_systems`.
#[derive(Clone, Debug)]
pub enum BlockPattern {
    /// The genre must equal this text exactly (case-sensitive, as the plugin).
    Exact(String),
    /// `/regex/`: matched case-insensitively anywhere in the genre.
    Regex(Regex),
}

impl BlockPattern {
    pub fn matches(&self, genre: &str) -> bool {
        match self {
            BlockPattern::Exact(p) => genre == p,
            BlockPattern::Regex(r) => r.is_match(genre),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BlockRule {
    pub pattern: BlockPattern,
    /// Block only when p0f's match was exact (v3 `os_match_q == 0`).
    pub exact_match_only: bool,
    /// Block only when the connection's karma is below this.
    pub karma_below: Option<i32>,
    pub origin: String,
}

/// What to do when p0f cannot be asked or its answer is not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Go on without a fingerprint (the plugin's behaviour).
    #[default]
    Open,
    /// Answer recipients with a temporary failure.
    Tempfail,
}

/// An SMTP reply: `550 5.7.1 OS Blocked`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    pub dsn: String,
    pub text: String,
}

impl fmt::Display for SmtpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.code, self.dsn, self.text)
    }
}

/// Listener addresses for the service (used by `p0f-mailpolicy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listen {
    /// `unix:/path` or `inet:HOST:PORT` (also `inet:[::1]:PORT`).
    pub milter: Vec<String>,
    pub policy: Vec<String>,
    /// Mode of Unix listening sockets (default 0660).
    pub socket_mode: u32,
}

/// Everything the policy needs.
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    pub instances: Vec<Instance>,
    pub rules: Vec<BlockRule>,
    /// Relay clients: never blocked.
    pub trusted_networks: Vec<Cidr>,
    /// `user@domain` or `@domain`, case-insensitive: never blocked.
    pub exempt_recipients: Vec<String>,
    /// Every rule needs an exact p0f match.
    pub require_exact_match: bool,
    pub dry_run: bool,
    pub reject: SmtpReply,
    pub tempfail: SmtpReply,
    pub fail_mode: FailMode,
    /// Each of connect, write and read of one p0f query.
    pub timeout: Duration,
    pub listen: Listen,
    /// OS-aware greylisting (`[greylist]`, or a qpsmtpd `greylisting` line).
    pub greylist: Option<crate::greylist::GreylistConfig>,
    /// Write the connection's karma into this header (e.g. `X-P0F-Karma`).
    pub karma_header: Option<String>,
    /// SMTP dialect verdicts (`[smtp]`, `crate::smtp`).
    pub smtp: crate::smtp::SmtpConfig,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            instances: Vec::new(),
            rules: Vec::new(),
            trusted_networks: Vec::new(),
            exempt_recipients: Vec::new(),
            require_exact_match: false,
            dry_run: false,
            reject: SmtpReply {
                code: 550,
                dsn: "5.7.1".into(),
                text: "OS Blocked".into(),
            },
            tempfail: SmtpReply {
                code: 451,
                dsn: "4.7.1".into(),
                text: "OS fingerprint unavailable, try again later".into(),
            },
            fail_mode: FailMode::Open,
            timeout: Duration::from_secs(2),
            listen: Listen {
                socket_mode: 0o660,
                ..Listen::default()
            },
            greylist: None,
            karma_header: None,
            smtp: crate::smtp::SmtpConfig::default(),
        }
    }
}

impl PolicyConfig {
    /// True when any instance adds headers (each plugin instance registers
    /// its own header hook, so one enabled instance is enough).
    pub fn add_headers(&self) -> bool {
        self.instances.iter().any(|i| i.add_headers)
    }

    /// Start-up checks that concern the whole configuration.
    pub fn validate(&self, place: &str) -> Result<(), ConfigError> {
        if self.instances.is_empty() {
            return Err(ConfigError::new(
                place,
                "no p0f instance configured (need an `ident/p0f SOCKET` line or a [[p0f]] table)",
            ));
        }
        Ok(())
    }
}

pub(crate) fn compile_regex(src: &str, place: &str, what: &str) -> Result<Regex, ConfigError> {
    RegexBuilder::new(src)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let msg = e.to_string();
            let first = msg.lines().last().unwrap_or("invalid regex").trim();
            ConfigError::new(
                place,
                format!("{what} /{src}/ is not a valid regex: {first}"),
            )
        })
}

fn check_socket(path: &str, place: &str) -> Result<PathBuf, ConfigError> {
    if path.is_empty() {
        return Err(ConfigError::new(place, "empty p0f socket path"));
    }
    if path.len() > MAX_SOCKET_PATH {
        return Err(ConfigError::new(
            place,
            format!(
                "p0f socket path is {} bytes, longer than a Unix socket allows ({MAX_SOCKET_PATH})",
                path.len()
            ),
        ));
    }
    if path.contains('\0') {
        return Err(ConfigError::new(
            place,
            "p0f socket path contains a NUL byte",
        ));
    }
    Ok(PathBuf::from(path))
}

pub(crate) fn parse_bool(v: &str, place: &str, key: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            place,
            format!("{key} must be true or false, not {v:?}"),
        )),
    }
}

fn parse_version(v: &str, place: &str) -> Result<ApiVersion, ConfigError> {
    match v {
        "2" => Ok(ApiVersion::V2),
        "3" => Ok(ApiVersion::V3),
        _ => Err(ConfigError::new(
            place,
            format!("version must be 2 or 3, not {v:?}"),
        )),
    }
}

/// Parses one qpsmtpd `config/plugins` line. `Ok(None)` when the line is not
/// an `ident/p0f` line (other plugins, blank, comment).
pub fn parse_plugin_line(line: &str, place: &str) -> Result<Option<Instance>, ConfigError> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let mut words = trimmed.split_whitespace();
    let plugin = words.next().unwrap_or_default();
    let name = if plugin == "ident/p0f" {
        String::new()
    } else if let Some(id) = plugin.strip_prefix("ident/p0f:") {
        if id.is_empty() {
            return Err(ConfigError::new(
                place,
                "empty instance name after `ident/p0f:`",
            ));
        }
        id.to_string()
    } else {
        return Ok(None);
    };
    let socket = words.next().ok_or_else(|| {
        ConfigError::new(place, format!("{plugin}: the p0f socket path is missing"))
    })?;
    let socket = check_socket(socket, place)?;
    let rest: Vec<&str> = words.collect();
    if rest.len() & 1 == 1 {
        return Err(ConfigError::new(
            place,
            format!(
                "{plugin}: options come in `key value` pairs; {:?} has no value",
                rest[rest.len() - 1]
            ),
        ));
    }
    let mut inst = Instance {
        name,
        socket,
        version: ApiVersion::V3,
        local_ip: None,
        smite_os: None,
        add_headers: true,
        origin: place.to_string(),
    };
    for pair in rest.chunks(2) {
        let (key, value) = (pair[0], pair[1]);
        match key {
            "version" => inst.version = parse_version(value, place)?,
            "local_ip" => {
                inst.local_ip = Some(value.parse().map_err(|_| {
                    ConfigError::new(place, format!("local_ip {value:?} is not an IP address"))
                })?)
            }
            "smite_os" => inst.smite_os = Some(compile_regex(value, place, "smite_os")?),
            // The plugin disables headers when the value matches /false/i.
            "add_headers" => inst.add_headers = parse_bool(value, place, "add_headers")?,
            other => {
                return Err(ConfigError::new(
                    place,
                    format!(
                        "{plugin}: unknown option {other:?} (known: version, local_ip, smite_os, add_headers)"
                    ),
                ))
            }
        }
    }
    Ok(Some(inst))
}

/// Every `ident/p0f` instance of a qpsmtpd plugins file (or a single line).
pub fn parse_plugins_text(text: &str, file: &str) -> Result<Vec<Instance>, ConfigError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        if let Some(inst) = parse_plugin_line(line, &place)? {
            if out.iter().any(|o: &Instance| o.name == inst.name) {
                return Err(ConfigError::new(
                    place,
                    format!(
                        "ident/p0f{} is configured twice (give each instance its own `:N`)",
                        if inst.name.is_empty() {
                            String::new()
                        } else {
                            format!(":{}", inst.name)
                        }
                    ),
                ));
            }
            out.push(inst);
        }
    }
    Ok(out)
}

/// Parses `p0f_blocked_operating_systems`: one pattern a line, leading and
/// trailing blanks dropped, blank lines and lines starting with `#` skipped
/// (as qpsmtpd reads its config files); `/re/` is a case-insensitive regex,
/// anything else an exact genre.
pub fn parse_blocked_os(text: &str, file: &str) -> Result<Vec<BlockRule>, ConfigError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(parse_block_pattern(l, &place, false)?);
    }
    Ok(out)
}

pub(crate) fn parse_block_pattern(
    l: &str,
    place: &str,
    exact_only: bool,
) -> Result<BlockRule, ConfigError> {
    let pattern = if l.len() >= 2 && l.starts_with('/') && l.ends_with('/') {
        let inner = &l[1..l.len() - 1];
        BlockPattern::Regex(compile_regex(inner, place, "blocked OS pattern")?)
    } else {
        if l.is_empty() {
            return Err(ConfigError::new(place, "empty blocked OS pattern"));
        }
        BlockPattern::Exact(l.to_string())
    };
    Ok(BlockRule {
        pattern,
        exact_match_only: exact_only,
        karma_below: None,
        origin: place.to_string(),
    })
}

/// Reads a whole configuration file, refusing huge ones.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let place = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| ConfigError::new(&place, format!("cannot read: {e}")))?;
    // A device or FIFO named as a configuration file would be read forever
    // (or block): only regular files, and never more than the limit.
    if !meta.is_file() {
        return Err(ConfigError::new(&place, "not a regular file"));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            &place,
            format!(
                "file is {} bytes; configuration files are limited to {MAX_CONFIG_BYTES}",
                meta.len()
            ),
        ));
    }
    // The size can change after the check, and some files (in /proc) say 0.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| ConfigError::new(&place, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            &place,
            format!(
                "file is larger than {MAX_CONFIG_BYTES} bytes, the limit for configuration files"
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        ConfigError::new(format!("{place}:{line}"), "not valid UTF-8")
    })
}

// ---------------------------------------------------------------- native TOML

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NativeFile {
    #[serde(default)]
    p0f: Vec<NativeInstance>,
    /// A qpsmtpd plugins file (or single line) whose ident/p0f lines are used.
    qpsmtpd_plugins: Option<String>,
    #[serde(default)]
    blocked_os: Vec<String>,
    blocked_os_file: Option<String>,
    #[serde(default)]
    block: Vec<NativeRule>,
    #[serde(default)]
    trusted_networks: Vec<String>,
    #[serde(default)]
    exempt_recipients: Vec<String>,
    #[serde(default)]
    require_exact_match: bool,
    #[serde(default)]
    dry_run: bool,
    on_p0f_error: Option<String>,
    timeout_ms: Option<u64>,
    reject_code: Option<u16>,
    reject_dsn: Option<String>,
    reject_text: Option<String>,
    tempfail_code: Option<u16>,
    tempfail_dsn: Option<String>,
    tempfail_text: Option<String>,
    listen: Option<NativeListen>,
    greylist: Option<crate::greylist::config::NativeGreylist>,
    karma_header: Option<String>,
    smtp: Option<crate::smtp::config::NativeSmtp>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NativeInstance {
    name: Option<String>,
    socket: String,
    version: Option<u8>,
    local_ip: Option<String>,
    smite_os: Option<String>,
    add_headers: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NativeRule {
    pattern: String,
    #[serde(default)]
    exact_match_only: bool,
    karma_below: Option<i32>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NativeListen {
    #[serde(default)]
    milter: Vec<String>,
    #[serde(default)]
    policy: Vec<String>,
    socket_mode: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Finds the line where `key` is set, for error messages about values.
pub(crate) fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Checks a rejection reply: 5xx, or on purpose 4xx.
pub(crate) fn check_reject(r: &SmtpReply, place: &str) -> Result<(), ConfigError> {
    let lo = if (400..500).contains(&r.code) {
        400
    } else {
        500
    };
    check_reply(r.code, &r.dsn, &r.text, lo, place)
}

fn check_reply(code: u16, dsn: &str, text: &str, lo: u16, place: &str) -> Result<(), ConfigError> {
    if !(lo..lo + 100).contains(&code) {
        return Err(ConfigError::new(
            place,
            format!("reply code {code} must be between {lo} and {}", lo + 99),
        ));
    }
    let class = (code / 100).to_string();
    let parts: Vec<&str> = dsn.split('.').collect();
    if parts.len() != 3
        || parts[0] != class
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ConfigError::new(
            place,
            format!(
                "enhanced status code {dsn:?} must look like {class}.x.y and match the reply code"
            ),
        ));
    }
    if text.is_empty() || text.len() > 200 || text.chars().any(|c| c.is_control()) {
        return Err(ConfigError::new(
            place,
            "reply text must be 1..200 printable characters on one line",
        ));
    }
    Ok(())
}

/// Resolves `p` against the directory of the file that names it.
pub(crate) fn relative_to(base: &Path, p: &str) -> PathBuf {
    let pb = PathBuf::from(p);
    if pb.is_absolute() {
        pb
    } else {
        base.parent().unwrap_or(Path::new(".")).join(pb)
    }
}

/// Parses the native TOML file. Files it names (`qpsmtpd_plugins`,
/// `blocked_os_file`) are read relative to `file`'s directory.
pub fn parse_native(text: &str, file: &Path) -> Result<PolicyConfig, ConfigError> {
    let cfg = parse_native_unvalidated(text, file)?;
    cfg.validate(&file.display().to_string())?;
    Ok(cfg)
}

/// [`parse_native`] without the whole-configuration checks (instances may
/// still come from other files).
pub fn parse_native_unvalidated(text: &str, file: &Path) -> Result<PolicyConfig, ConfigError> {
    let fname = file.display().to_string();
    let raw: NativeFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        ConfigError::new(format!("{fname}:{line}"), e.message().to_string())
    })?;
    let at = |key: &str| format!("{fname}:{}", key_line(text, key));
    let mut cfg = PolicyConfig::default();

    for (n, ni) in raw.p0f.iter().enumerate() {
        let place = format!("{fname}:[[p0f]] #{}", n + 1);
        let version = match ni.version {
            None | Some(3) => ApiVersion::V3,
            Some(2) => ApiVersion::V2,
            Some(v) => {
                return Err(ConfigError::new(
                    place,
                    format!("version must be 2 or 3, not {v}"),
                ))
            }
        };
        let local_ip = match &ni.local_ip {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| {
                ConfigError::new(&place, format!("local_ip {s:?} is not an IP address"))
            })?),
        };
        let smite_os = match &ni.smite_os {
            None => None,
            Some(s) => Some(compile_regex(s, &place, "smite_os")?),
        };
        let name = ni.name.clone().unwrap_or_else(|| (n + 1).to_string());
        if cfg.instances.iter().any(|i: &Instance| i.name == name) {
            return Err(ConfigError::new(
                place,
                format!("two [[p0f]] instances are named {name:?}"),
            ));
        }
        cfg.instances.push(Instance {
            name,
            socket: check_socket(&ni.socket, &place)?,
            version,
            local_ip,
            smite_os,
            add_headers: ni.add_headers.unwrap_or(true),
            origin: place,
        });
    }
    if let Some(p) = &raw.qpsmtpd_plugins {
        let path = relative_to(file, p);
        let text = read_file(&path)?;
        let found = parse_plugins_text(&text, &path.display().to_string())?;
        if found.is_empty() {
            return Err(ConfigError::new(
                at("qpsmtpd_plugins"),
                format!("{} has no ident/p0f line", path.display()),
            ));
        }
        cfg.instances.extend(found);
        cfg.greylist =
            crate::greylist::qpsmtpd::parse_plugins_text(&text, &path.display().to_string())?;
    }
    for (n, b) in raw.blocked_os.iter().enumerate() {
        let place = format!("{}: blocked_os[{n}]", at("blocked_os"));
        cfg.rules
            .push(parse_block_pattern(b.trim(), &place, false)?);
    }
    if let Some(p) = &raw.blocked_os_file {
        let path = relative_to(file, p);
        let text = read_file(&path)?;
        cfg.rules
            .extend(parse_blocked_os(&text, &path.display().to_string())?);
    }
    for (n, r) in raw.block.iter().enumerate() {
        let place = format!("{fname}:[[block]] #{}", n + 1);
        let mut rule = parse_block_pattern(r.pattern.trim(), &place, r.exact_match_only)?;
        rule.karma_below = r.karma_below;
        cfg.rules.push(rule);
    }
    for (n, t) in raw.trusted_networks.iter().enumerate() {
        let c = t.parse::<Cidr>().map_err(|e| {
            ConfigError::new(
                format!("{}: trusted_networks[{n}]", at("trusted_networks")),
                e,
            )
        })?;
        cfg.trusted_networks.push(c);
    }
    for (n, r) in raw.exempt_recipients.iter().enumerate() {
        let r = r
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase();
        if r.is_empty() || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(
                format!("{}: exempt_recipients[{n}]", at("exempt_recipients")),
                "must be user@domain or @domain without blanks",
            ));
        }
        cfg.exempt_recipients.push(r);
    }
    cfg.require_exact_match = raw.require_exact_match;
    cfg.dry_run = raw.dry_run;
    if let Some(m) = &raw.on_p0f_error {
        cfg.fail_mode = match m.as_str() {
            "accept" | "continue" => FailMode::Open,
            "tempfail" => FailMode::Tempfail,
            other => {
                return Err(ConfigError::new(
                    at("on_p0f_error"),
                    format!("on_p0f_error must be \"accept\" or \"tempfail\", not {other:?}"),
                ))
            }
        };
    }
    if let Some(ms) = raw.timeout_ms {
        if !(1..=60_000).contains(&ms) {
            return Err(ConfigError::new(
                at("timeout_ms"),
                "timeout_ms must be 1..=60000",
            ));
        }
        cfg.timeout = Duration::from_millis(ms);
    }
    if let Some(c) = raw.reject_code {
        cfg.reject.code = c;
    }
    if let Some(d) = raw.reject_dsn {
        cfg.reject.dsn = d;
    }
    if let Some(t) = raw.reject_text {
        cfg.reject.text = t;
    }
    let rp = at(if raw.reject_code.is_some() {
        "reject_code"
    } else {
        "reject_dsn"
    });
    // A rejection may be permanent (5xx) or, on purpose, temporary (4xx).
    let lo = if (400..500).contains(&cfg.reject.code) {
        400
    } else {
        500
    };
    check_reply(cfg.reject.code, &cfg.reject.dsn, &cfg.reject.text, lo, &rp)?;
    if let Some(c) = raw.tempfail_code {
        cfg.tempfail.code = c;
    }
    if let Some(d) = raw.tempfail_dsn {
        cfg.tempfail.dsn = d;
    }
    if let Some(t) = raw.tempfail_text {
        cfg.tempfail.text = t;
    }
    check_reply(
        cfg.tempfail.code,
        &cfg.tempfail.dsn,
        &cfg.tempfail.text,
        400,
        &at("tempfail_code"),
    )?;
    if let Some(g) = raw.greylist {
        if cfg.greylist.is_some() {
            return Err(ConfigError::new(
                at("greylist"),
                "[greylist] and a qpsmtpd greylisting line: configure greylisting once",
            ));
        }
        cfg.greylist = crate::greylist::config::build(g, file, text)?;
    }
    if let Some(s) = raw.smtp {
        cfg.smtp = crate::smtp::config::build(s, &file.display().to_string())?;
    }
    if let Some(h) = raw.karma_header {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ConfigError::new(
                at("karma_header"),
                "karma_header must be a header name (letters, digits, -)",
            ));
        }
        cfg.karma_header = Some(h);
    }
    if let Some(l) = raw.listen {
        for a in l.milter.iter().chain(l.policy.iter()) {
            check_listen(a).map_err(|e| ConfigError::new(format!("{fname}: [listen]"), e))?;
        }
        cfg.listen.milter = l.milter;
        cfg.listen.policy = l.policy;
        if let Some(m) = l.socket_mode {
            cfg.listen.socket_mode = u32::from_str_radix(m.trim_start_matches("0o"), 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| {
                    ConfigError::new(
                        at("socket_mode"),
                        format!("socket_mode {m:?} is not an octal mode like \"0660\""),
                    )
                })?;
        }
    }
    Ok(cfg)
}

/// Checks a listener address: `unix:/path` or `inet:HOST:PORT`.
pub fn check_listen(a: &str) -> Result<(), String> {
    if let Some(p) = a.strip_prefix("unix:") {
        if p.is_empty() || p.len() > MAX_SOCKET_PATH {
            return Err(format!("listener {a:?}: bad Unix socket path"));
        }
        Ok(())
    } else if let Some(hp) = a.strip_prefix("inet:") {
        parse_inet(hp)
            .map(|_| ())
            .map_err(|e| format!("listener {a:?}: {e}"))
    } else {
        Err(format!("listener {a:?} must start with unix: or inet:"))
    }
}

/// `127.0.0.1:8890`, `[::1]:8890` or `localhost:8890` (names resolve to
/// loopback only when they are `localhost`).
pub fn parse_inet(hp: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(sa) = hp.parse::<std::net::SocketAddr>() {
        return Ok(sa);
    }
    if let Some(port) = hp.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err("expected ADDRESS:PORT, e.g. 127.0.0.1:8890 or [::1]:8890".into())
}

/// Loads the configuration the way `p0f-mailpolicy` is told to: a native
/// file, and/or a qpsmtpd plugins file plus its blocked-OS file.
pub fn load(
    native: Option<&Path>,
    plugins: Option<&Path>,
    blocked_os: Option<&Path>,
) -> Result<PolicyConfig, ConfigError> {
    let cfg = load_unvalidated(native, plugins, blocked_os)?;
    let place = native
        .or(plugins)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "command line".into());
    cfg.validate(&place)?;
    Ok(cfg)
}

/// [`load`] without the whole-configuration checks, for callers that add
/// instances from elsewhere (a command-line plugin line) before validating.
pub fn load_unvalidated(
    native: Option<&Path>,
    plugins: Option<&Path>,
    blocked_os: Option<&Path>,
) -> Result<PolicyConfig, ConfigError> {
    let mut cfg = match native {
        Some(p) => {
            let text = read_file(p)?;
            // Instances may come from the command line: validate after merging.
            parse_native_unvalidated(&text, p)?
        }
        None => PolicyConfig::default(),
    };
    if let Some(p) = plugins {
        let text = read_file(p)?;
        let found = parse_plugins_text(&text, &p.display().to_string())?;
        if found.is_empty() {
            return Err(ConfigError::new(
                p.display().to_string(),
                "no ident/p0f line",
            ));
        }
        cfg.instances.extend(found);
        if let Some(g) =
            crate::greylist::qpsmtpd::parse_plugins_text(&text, &p.display().to_string())?
        {
            if cfg.greylist.is_some() {
                return Err(ConfigError::new(
                    g.origin,
                    "greylisting is configured in the TOML file too: configure it once",
                ));
            }
            cfg.greylist = Some(g);
        }
    }
    if let Some(p) = blocked_os {
        let text = read_file(p)?;
        cfg.rules
            .extend(parse_blocked_os(&text, &p.display().to_string())?);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plugin_line_with_all_options() {
        let i = parse_plugin_line(
            "ident/p0f /tmp/.p0f_socket3 version 3 local_ip 192.0.2.1 smite_os windows add_headers false",
            "plugins:4",
        )
        .unwrap()
        .unwrap();
        assert_eq!(i.socket, PathBuf::from("/tmp/.p0f_socket3"));
        assert_eq!(i.version, ApiVersion::V3);
        assert_eq!(i.local_ip, Some("192.0.2.1".parse().unwrap()));
        assert!(i.smite_os.as_ref().unwrap().is_match("Windows 7 or 8"));
        assert!(!i.add_headers);
        assert_eq!(i.origin, "plugins:4");
    }

    #[test]
    fn plugin_defaults_are_v3_with_headers() {
        let i = parse_plugin_line("ident/p0f /tmp/.p0f_socket3", "x:1")
            .unwrap()
            .unwrap();
        assert_eq!(i.version, ApiVersion::V3);
        assert!(i.add_headers);
        assert!(i.local_ip.is_none() && i.smite_os.is_none());
        // add_headers matched /false/i by the plugin.
        let i = parse_plugin_line("ident/p0f /s add_headers FALSE", "x:1")
            .unwrap()
            .unwrap();
        assert!(!i.add_headers);
    }

    #[test]
    fn two_instances_side_by_side() {
        let text = "# qpsmtpd plugins\nhosts_allow\nident/p0f:2 /tmp/.p0f_socket2 version 2\n\nident/p0f:3 /tmp/.p0f_socket3\nrcpt_ok\n";
        let v = parse_plugins_text(text, "config/plugins").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].name.as_str(), v[0].version), ("2", ApiVersion::V2));
        assert_eq!((v[1].name.as_str(), v[1].version), ("3", ApiVersion::V3));
        assert_eq!(v[1].origin, "config/plugins:5");
    }

    #[test]
    fn bad_plugin_lines_name_file_line_and_reason() {
        let cases = [
            ("ident/p0f", "socket path is missing"),
            ("ident/p0f /s version 4", "version must be 2 or 3"),
            ("ident/p0f /s local_ip nope", "not an IP address"),
            ("ident/p0f /s smite_os (", "not a valid regex"),
            ("ident/p0f /s add_headers maybe", "true or false"),
            ("ident/p0f /s version", "has no value"),
            ("ident/p0f /s colour blue", "unknown option"),
        ];
        for (line, why) in cases {
            let e = parse_plugins_text(&format!("\n{line}\n"), "cfg/plugins").unwrap_err();
            assert_eq!(e.place, "cfg/plugins:2", "{line}");
            assert!(e.reason.contains(why), "{line}: {e}");
        }
        let e = parse_plugins_text("ident/p0f /a\nident/p0f /b\n", "p").unwrap_err();
        assert_eq!(e.place, "p:2");
        assert!(e.reason.contains("twice"));
    }

    #[test]
    fn blocked_os_file() {
        let text = "# comment\n\nWindows XP\n  /^linux/  \n/windows/\n";
        let rules = parse_blocked_os(text, "p0f_blocked_operating_systems").unwrap();
        assert_eq!(rules.len(), 3);
        assert!(rules[0].pattern.matches("Windows XP"));
        assert!(!rules[0].pattern.matches("windows xp"), "phrases are exact");
        assert!(
            !rules[0].pattern.matches("Windows XP SP2"),
            "phrases are whole"
        );
        assert!(rules[1].pattern.matches("Linux 3.11 and newer"));
        assert!(!rules[1].pattern.matches("GNU Linux"));
        assert!(
            rules[2].pattern.matches("Windows 7 or 8"),
            "case-insensitive"
        );
        assert_eq!(rules[1].origin, "p0f_blocked_operating_systems:4");
        let e = parse_blocked_os("ok\n/(/\n", "f").unwrap_err();
        assert_eq!(e.place, "f:2");
        // A lone slash is an exact phrase, not an empty regex.
        let r = parse_blocked_os("/\n", "f").unwrap();
        assert!(r[0].pattern.matches("/"));
    }

    #[test]
    fn native_file_full() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blocked"), "Windows XP\n").unwrap();
        let text = r#"
blocked_os = ["/windows/"]
blocked_os_file = "blocked"
trusted_networks = ["127.0.0.0/8", "[::1]/128"]
exempt_recipients = ["<Postmaster@Example.org>", "@example.net"]
dry_run = true
on_p0f_error = "tempfail"
timeout_ms = 500
reject_code = 554
reject_dsn = "5.7.1"
reject_text = "Go away"

[[block]]
pattern = "Linux 3.11 and newer"
exact_match_only = true

[[p0f]]
socket = "/run/p0f.sock"
smite_os = "windows"

[[p0f]]
name = "old"
socket = "/run/p0f2.sock"
version = 2
local_ip = "192.0.2.1"
add_headers = false

[listen]
milter = ["unix:/run/m.sock", "inet:127.0.0.1:8890"]
policy = ["inet:[::1]:9998"]
socket_mode = "0666"
"#;
        let f = dir.path().join("mailpolicy.toml");
        let c = parse_native(text, &f).unwrap();
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.instances[1].version, ApiVersion::V2);
        assert_eq!(c.instances[1].local_ip, Some("192.0.2.1".parse().unwrap()));
        assert!(c.add_headers());
        assert_eq!(c.rules.len(), 3);
        assert!(c.rules[2].exact_match_only);
        assert_eq!(c.trusted_networks.len(), 2);
        assert_eq!(
            c.exempt_recipients,
            vec!["postmaster@example.org", "@example.net"]
        );
        assert!(c.dry_run);
        assert_eq!(c.fail_mode, FailMode::Tempfail);
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert_eq!(c.reject.to_string(), "554 5.7.1 Go away");
        assert_eq!(c.listen.socket_mode, 0o666);
        assert_eq!(c.listen.policy, vec!["inet:[::1]:9998"]);
    }

    #[test]
    fn native_file_with_qpsmtpd_plugins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugins"),
            "ident/p0f:2 /tmp/.p0f_socket2 version 2\nident/p0f:3 /tmp/.p0f_socket3\n",
        )
        .unwrap();
        let f = dir.path().join("c.toml");
        let c = parse_native("qpsmtpd_plugins = \"plugins\"\n", &f).unwrap();
        assert_eq!(c.instances.len(), 2);
        assert!(c.instances[0].origin.ends_with("plugins:1"));
    }

    #[test]
    fn native_errors_name_the_line() {
        let f = Path::new("/etc/p0f-mailpolicy.toml");
        let cases: &[(&str, &str, &str)] = &[
            (
                "[[p0f]]\nsocket = \"/s\"\nbogus = 1\n",
                ":3",
                "unknown field",
            ),
            (
                "[[p0f]]\nsocket = \"/s\"\n\ntimeout_ms = 0\n",
                ":4",
                "timeout_ms",
            ),
            ("dry_run = \"yes\"\n", ":1", "invalid type"),
            (
                "reject_code = 250\n[[p0f]]\nsocket = \"/s\"\n",
                ":1",
                "reply code",
            ),
            (
                "[[p0f]]\nsocket = \"/s\"\n[[p0f]]\nsocket = \"/t\"\nversion = 4\n",
                "#2",
                "version",
            ),
            (
                "[[p0f]]\nsocket = \"/s\"\nsmite_os = \"(\"\n",
                "#1",
                "regex",
            ),
            (
                "trusted_networks = [\"10.0.0.0/33\"]\n[[p0f]]\nsocket = \"/s\"\n",
                ":1",
                "prefix",
            ),
            (
                "on_p0f_error = \"reject\"\n[[p0f]]\nsocket = \"/s\"\n",
                ":1",
                "on_p0f_error",
            ),
            ("", "", "no p0f instance"),
            (
                "[[p0f]]\nsocket = \"/s\"\n[listen]\nmilter = [\"tcp:1\"]\n",
                "",
                "unix: or inet:",
            ),
        ];
        for (text, place, why) in cases {
            let e = parse_native(text, f).unwrap_err();
            assert!(
                e.place.starts_with("/etc/p0f-mailpolicy.toml"),
                "{text}: {e}"
            );
            assert!(e.place.contains(place), "{text}: {e}");
            assert!(e.reason.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn load_merges_sources() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::write(&plugins, "ident/p0f /tmp/.p0f_socket3 smite_os windows\n").unwrap();
        let blocked = dir.path().join("p0f_blocked_operating_systems");
        std::fs::write(&blocked, "/windows/\n").unwrap();
        let native = dir.path().join("n.toml");
        std::fs::write(&native, "trusted_networks = [\"127.0.0.1\"]\n").unwrap();
        let c = load(Some(&native), Some(&plugins), Some(&blocked)).unwrap();
        assert_eq!(c.instances.len(), 1);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.trusted_networks.len(), 1);
        let e = load(None, None, Some(&blocked)).unwrap_err();
        assert!(e.reason.contains("no p0f instance"));
        let e = load(None, Some(&dir.path().join("missing")), None).unwrap_err();
        assert!(e.reason.contains("cannot read"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn plugin_parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_plugins_text(&s, "f");
            let _ = parse_blocked_os(&s, "f");
        }

        #[test]
        fn plugin_parser_tokens(words in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(vec!["ident/p0f", "ident/p0f:2", "version", "2", "3", "local_ip",
                    "192.0.2.1", "smite_os", "/", "(", "[a-", "add_headers", "true", "false", "#"])
                    .prop_map(String::from),
                "\\PC{0,8}",
            ], 0..10)) {
            let line = words.join(" ");
            if let Ok(Some(i)) = parse_plugin_line(&line, "f:1") {
                prop_assert!(!i.socket.as_os_str().is_empty());
            }
        }

        #[test]
        fn native_parser_never_panics(s in "\\PC{0,300}") {
            let _ = parse_native(&s, Path::new("f.toml"));
        }

        #[test]
        fn native_parser_structured(keys in proptest::collection::vec(
            proptest::sample::select(vec!["[[p0f]]", "socket = \"/s\"", "version = 2", "version = 9",
                "timeout_ms = 99999999", "blocked_os = [\"/(/\"]", "[listen]", "milter = [\"inet:x\"]",
                "socket_mode = \"999\"", "reject_code = 65535", "reject_dsn = \"\"",
                "trusted_networks = [\"::/200\"]", "x = "]), 0..12)) {
            let _ = parse_native(&keys.join("\n"), Path::new("f.toml"));
        }
    }
}
