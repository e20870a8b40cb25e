//! JSON Lines rendering of observations (`--json`, `--log-format json`),
//! described by `docs/p0f-observation.schema.json`.
//!
//! The text renderings print what p0f prints; this one carries the values
//! behind it: the matched label as an object (taken from the observation's
//! [`Verdict`], not re-parsed from the text), numbers as numbers, word
//! lists as arrays, and `???` as `null`.
//!
//! Serialisation goes through serde into a buffer the caller reuses; the
//! addresses and the time stamp are rendered into buffers kept here, so a
//! steady stream of observations does not allocate.

use std::sync::Arc;

use p0f_engine::{Field, HostAddr, Observation, Verdict};
use p0f_sigdb::Database;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::utctime::utc_seconds;

/// Renders observations as JSON objects, one per line.
pub struct JsonRenderer {
    db: Arc<Database>,
    clock: UtcClock,
    addrs: Vec<u8>,
    line: Vec<u8>,
}

impl JsonRenderer {
    pub fn new(db: Arc<Database>) -> JsonRenderer {
        JsonRenderer {
            db,
            clock: UtcClock::default(),
            addrs: Vec::with_capacity(96),
            line: Vec::with_capacity(1024),
        }
    }

    /// `obs` as one JSON line, in a buffer reused by the next call.
    pub fn line(&mut self, obs: &Observation<'_>) -> &[u8] {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        self.render(&mut line, obs);
        self.line = line;
        &self.line
    }

    /// Appends `obs` as one JSON object and a newline.
    pub fn render(&mut self, buf: &mut Vec<u8>, obs: &Observation<'_>) {
        self.addrs.clear();
        push_addr(&mut self.addrs, &obs.client);
        let split = self.addrs.len();
        push_addr(&mut self.addrs, &obs.server);
        // Both are ASCII digits, dots, colons and hex letters.
        let addrs = std::str::from_utf8(&self.addrs).unwrap_or("");
        let (client, server) = addrs.split_at(split.min(addrs.len()));
        let record = Record {
            time: self.clock.stamp(obs.time, obs.millis),
            obs,
            db: &self.db,
            client,
            server,
        };
        // Writing into a Vec cannot fail, and every value is serialisable.
        let _ = serde_json::to_writer(&mut *buf, &record);
        buf.push(b'\n');
    }
}

/// Appends an address in its standard form: dotted quad, or IPv6 as RFC
/// 5952 writes it (`2001:db8::1`, not p0f's uncompressed groups), so that
/// it compares equal to what other tools log.
fn push_addr(buf: &mut Vec<u8>, addr: &HostAddr) {
    use std::io::Write as _;
    match <[u8; 16]>::try_from(addr.octets()) {
        Ok(v6) => {
            let _ = write!(buf, "{}", std::net::Ipv6Addr::from(v6));
        }
        Err(_) => addr.push_text(buf),
    }
}

/// RFC 3339 UTC time stamps with milliseconds; the date and time of day
/// are formatted once per second (observations come in bursts).
#[derive(Default)]
struct UtcClock {
    second: Option<u32>,
    text: String,
}

impl UtcClock {
    fn stamp(&mut self, secs: u32, millis: u16) -> &str {
        if self.second != Some(secs) {
            self.second = Some(secs);
            self.text.clear();
            self.text.push_str(&utc_seconds(secs));
            self.text.push_str(".000Z");
        }
        // Replace the milliseconds and the `Z` (the last four bytes).
        self.text.truncate(self.text.len() - 4);
        for d in [millis / 100 % 10, millis / 10 % 10, millis % 10] {
            self.text.push(char::from(b'0' + d as u8));
        }
        self.text.push('Z');
        &self.text
    }
}

/// One observation with everything needed to write it out.
struct Record<'a> {
    time: &'a str,
    obs: &'a Observation<'a>,
    db: &'a Database,
    client: &'a str,
    server: &'a str,
}

#[derive(Serialize)]
struct Endpoint<'a> {
    addr: &'a str,
    port: u16,
}

/// A matched label: the OS or application.
#[derive(Serialize)]
struct Label<'a> {
    name: &'a str,
    flavor: Option<&'a str>,
    /// `unix`, `win`...; null for a user-land application.
    class: Option<&'a str>,
    /// SMTP dialects only: `mta`, `client` or `bot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_kind: Option<&'static str>,
    generic: bool,
    fuzzy: bool,
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let obs = self.obs;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("unix_time", &obs.time)?;
        map.serialize_entry("kind", obs.kind)?;
        map.serialize_entry(
            "client",
            &Endpoint {
                addr: self.client,
                port: obs.client_port,
            },
        )?;
        map.serialize_entry(
            "server",
            &Endpoint {
                addr: self.server,
                port: obs.server_port,
            },
        )?;
        map.serialize_entry(
            "subject",
            if obs.about_client { "client" } else { "server" },
        )?;
        for field in obs.fields {
            self.serialize_field(&mut map, field)?;
        }
        map.end()
    }
}

impl Record<'_> {
    /// Writes one field of the block with its typed value.
    fn serialize_field<M: SerializeMap>(&self, map: &mut M, f: &Field<'_>) -> Result<(), M::Error> {
        let text = f.value;
        match f.key {
            "os" | "app" => map.serialize_entry(f.key, &self.label()),
            "dist" => {
                // `<= N` when the TTL cannot be trusted (random-TTL tools).
                let bound = text.and_then(|t| t.strip_prefix("<= "));
                map.serialize_entry("dist", &number::<u32>(bound.or(text)))?;
                map.serialize_entry("dist_upper_bound", &bound.is_some())
            }
            "params" | "reason" => map.serialize_entry(f.key, &Words(text)),
            "flags" => map.serialize_entry(f.key, &Flags(text)),
            "raw_mtu" => map.serialize_entry(f.key, &number::<u32>(text)),
            "raw_freq" => map.serialize_entry(
                f.key,
                &number::<f64>(text.map(|t| t.trim_end_matches(" Hz"))),
            ),
            "raw_hits" => map.serialize_entry(f.key, &Numbers(text)),
            "uptime" => match self.obs.verdict {
                Verdict::Uptime {
                    seconds,
                    modulo_days,
                    ..
                } => {
                    map.serialize_entry("uptime", &seconds)?;
                    map.serialize_entry("uptime_modulo_days", &modulo_days)
                }
                _ => map.serialize_entry("uptime", &None::<u32>),
            },
            "lang" => map.serialize_entry(
                "lang",
                &match text {
                    Some("none") | None => None,
                    Some("???") => Some("unknown"),
                    other => other,
                },
            ),
            key => map.serialize_entry(key, &text.filter(|t| *t != "???")),
        }
    }

    /// The matched label as an object, or None.
    fn label(&self) -> Option<Label<'_>> {
        let (index, fuzzy) = match self.obs.verdict {
            Verdict::Signature { label, fuzzy, .. } => (label?, fuzzy),
            Verdict::Http { label } => (label?, false),
            Verdict::Smtp { record, .. } => return self.smtp_label(record?),
            _ => return None,
        };
        let db = self.db;
        let l = db.labels.get(index as usize)?;
        Some(Label {
            name: db.names.get(l.name as usize).map_or("", String::as_str),
            flavor: l.flavor.as_deref(),
            class: l
                .class
                .and_then(|c| db.classes.get(c as usize))
                .map(String::as_str),
            smtp_kind: None,
            generic: l.generic,
            fuzzy,
        })
    }

    /// The label of an `smtp client` / `smtp server` verdict.
    fn smtp_label(&self, record: u32) -> Option<Label<'_>> {
        let db = self.db;
        let l = if self.obs.kind == "smtp client" {
            &db.smtp_client.get(record as usize)?.label
        } else {
            &db.smtp_server.get(record as usize)?.label
        };
        Some(Label {
            name: &l.name,
            flavor: l.flavor.as_deref(),
            class: None,
            smtp_kind: Some(l.kind.as_str()),
            generic: l.generic,
            fuzzy: false,
        })
    }
}

fn number<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
    text.and_then(|t| t.trim().parse().ok())
}

/// A space-separated word list (`params`, `reason`) as an array; p0f's
/// `none` and `???` are the empty list.
struct Words<'a>(Option<&'a str>);

impl Serialize for Words<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = match self.0 {
            Some("none") | Some("???") | None => "",
            Some(t) => t,
        };
        s.collect_seq(text.split_ascii_whitespace())
    }
}

/// SMTP behaviour flags (`pregreet,bare_lf`) as an array; `none` is empty.
struct Flags<'a>(Option<&'a str>);

impl Serialize for Flags<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = match self.0 {
            Some("none") | None => "",
            Some(t) => t,
        };
        s.collect_seq(text.split(',').filter(|f| !f.is_empty()))
    }
}

/// A comma-separated list of integers (`raw_hits`) as an array.
struct Numbers<'a>(Option<&'a str>);

impl Serialize for Numbers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.unwrap_or("");
        s.collect_seq(text.split(',').filter_map(|n| n.trim().parse::<u32>().ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p0f_engine::Field;

    fn render(obs: &Observation<'_>) -> serde_json::Value {
        let mut r = JsonRenderer::new(Arc::new(Database::builtin()));
        let mut buf = Vec::new();
        r.render(&mut buf, obs);
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&buf).unwrap()
    }

    fn obs<'a>(kind: &'static str, fields: &'a [Field<'a>], verdict: Verdict) -> Observation<'a> {
        Observation {
            kind,
            time: 1_700_000_000,
            millis: 7,
            client: HostAddr::v4([192, 0, 2, 1]),
            client_port: 40000,
            server: HostAddr::v6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            server_port: 25,
            about_client: true,
            fields,
            verdict,
        }
    }

    fn field<'a>(key: &'static str, value: Option<&'a str>) -> Field<'a> {
        Field { key, value }
    }

    #[test]
    fn syn_with_generic_fuzzy_label() {
        let db = Database::builtin();
        let label = db
            .labels
            .iter()
            .position(|l| l.generic && l.class.is_some())
            .unwrap() as u32;
        let fields = [
            field("os", Some("whatever the text says")),
            field("dist", Some("<= 11")),
            field("params", Some("generic fuzzy")),
            field(
                "raw_sig",
                Some("4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0"),
            ),
        ];
        let v = render(&obs(
            "syn",
            &fields,
            Verdict::Signature {
                label: Some(label),
                exact: false,
                fuzzy: true,
                dist: 11,
            },
        ));
        assert_eq!(v["time"], "2023-11-14T22:13:20.007Z");
        assert_eq!(v["unix_time"], 1_700_000_000);
        assert_eq!(v["client"]["addr"], "192.0.2.1");
        assert_eq!(v["server"]["addr"], "2001:db8::1");
        assert_eq!(v["server"]["port"], 25);
        assert_eq!(v["subject"], "client");
        assert_eq!(v["os"]["generic"], true);
        assert_eq!(v["os"]["fuzzy"], true);
        let l = &db.labels[label as usize];
        assert_eq!(v["os"]["name"], db.names[l.name as usize].as_str());
        assert_eq!(
            v["os"]["class"],
            db.classes[l.class.unwrap() as usize].as_str()
        );
        assert_eq!(v["dist"], 11);
        assert_eq!(v["dist_upper_bound"], true);
        assert_eq!(v["params"], serde_json::json!(["generic", "fuzzy"]));
    }

    #[test]
    fn unknowns_are_null_and_lists_are_arrays() {
        let fields = [
            field("os", None),
            field("dist", Some("3")),
            field("params", Some("none")),
            field("raw_sig", Some("x")),
        ];
        let v = render(&obs(
            "syn",
            &fields,
            Verdict::Signature {
                label: None,
                exact: false,
                fuzzy: false,
                dist: 3,
            },
        ));
        assert!(v["os"].is_null());
        assert_eq!(v["dist_upper_bound"], false);
        assert_eq!(v["params"], serde_json::json!([]));

        let fields = [
            field("reason", Some("tstamp ttl")),
            field("raw_hits", Some("0,1,2,3")),
        ];
        let v = render(&obs("ip sharing", &fields, Verdict::None));
        assert_eq!(v["reason"], serde_json::json!(["tstamp", "ttl"]));
        assert_eq!(v["raw_hits"], serde_json::json!([0, 1, 2, 3]));

        let fields = [field("link", None), field("raw_mtu", Some("1500"))];
        let v = render(&obs("mtu", &fields, Verdict::None));
        assert!(v["link"].is_null());
        assert_eq!(v["raw_mtu"], 1500);
    }

    #[test]
    fn uptime_in_seconds_with_frequency() {
        let fields = [
            field("uptime", Some("0 days 1 hrs 2 min (modulo 49 days)")),
            field("raw_freq", Some("1000.03 Hz")),
        ];
        let v = render(&obs(
            "uptime",
            &fields,
            Verdict::Uptime {
                minutes: 62,
                seconds: 3725,
                modulo_days: 49,
            },
        ));
        assert_eq!(v["uptime"], 3725);
        assert_eq!(v["uptime_modulo_days"], 49);
        assert_eq!(v["raw_freq"], 1000.03);
    }

    #[test]
    fn milliseconds_change_within_one_second() {
        let mut c = UtcClock::default();
        assert_eq!(c.stamp(0, 999), "1970-01-01T00:00:00.999Z");
        assert_eq!(c.stamp(0, 5), "1970-01-01T00:00:00.005Z");
        assert_eq!(c.stamp(86_400 + 61, 120), "1970-01-02T00:01:01.120Z");
    }
}
