//! `p0f-client [--json] SOCKET ADDR`: asks a running p0f (or p0f-rs) what
//! it knows about one address and prints it the way p0f's own p0f-client
//! does, or (`--json`) as one JSON object described by
//! `docs/p0f-client.schema.json`.
//!
//! Unlike p0f's client, any standard IPv6 notation is accepted (`::1`,
//! `::ffff:192.0.2.1`), and errors are one line on stderr with exit
//! status 1 (usage errors: 2).

#[path = "../client_args.rs"]
mod client_args;
#[path = "../localtime.rs"]
mod localtime;
#[path = "../utctime.rs"]
mod utctime;
use localtime::local_time;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use p0f_api::v3::{Query, Response, Status, RESPONSE_LEN};

fn main() -> ExitCode {
    let Some(args) = client_args::parse(std::env::args_os()) else {
        eprintln!("{}", client_args::USAGE);
        return ExitCode::from(2);
    };
    match run(&args.socket, &args.addr, args.json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[-] ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(sock: &str, addr: &str, json: bool) -> Result<(), String> {
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address"))?;
    let mut s = UnixStream::connect(sock)
        .map_err(|e| format!("cannot connect to API socket '{sock}': {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    s.write_all(&Query { addr: ip }.encode())
        .map_err(|e| format!("cannot send the query to '{sock}': {e}"))?;
    let mut buf = [0u8; RESPONSE_LEN];
    s.read_exact(&mut buf)
        .map_err(|e| format!("no complete reply from '{sock}': {e}"))?;
    let r = Response::decode(&buf).ok_or("the reply has a bad magic value")?;
    let out = if json {
        render_json(&r, ip)?
    } else {
        render(&r)?
    };
    print!("{out}");
    Ok(())
}

fn render(r: &Response) -> Result<String, String> {
    use std::fmt::Write as _;
    match r.status {
        Status::Ok => {}
        Status::NoMatch => return Ok("No matching host in p0f cache. That's all we know.\n".into()),
        Status::BadQuery => return Err("p0f did not understand the query (bad query)".into()),
        Status::Other(c) => return Err(format!("unknown reply status 0x{c:x}")),
    }
    let mut o = String::new();
    let _ = writeln!(o, "First seen    = {}", local_time(r.first_seen));
    let _ = writeln!(o, "Last update   = {}", local_time(r.last_seen));
    let _ = writeln!(o, "Total flows   = {}", r.total_conn);
    if r.os_name.is_empty() {
        let _ = writeln!(o, "Detected OS   = ???");
    } else {
        let _ = writeln!(
            o,
            "Detected OS   = {} {}{}{}",
            r.os_name.as_string(),
            r.os_flavor.as_string(),
            if r.os_match_q & 2 != 0 {
                " [generic]"
            } else {
                ""
            },
            if r.os_match_q & 1 != 0 {
                " [fuzzy]"
            } else {
                ""
            }
        );
    }
    if r.http_name.is_empty() {
        let _ = writeln!(o, "HTTP software = ???");
    } else {
        let verdict = match r.bad_sw {
            0 => "seems legit",
            1 => "OS mismatch",
            _ => "ID is fake",
        };
        let _ = writeln!(
            o,
            "HTTP software = {} {} ({verdict})",
            r.http_name.as_string(),
            r.http_flavor.as_string()
        );
    }
    let or_unknown = |s: String| if s.is_empty() { "???".to_string() } else { s };
    let _ = writeln!(o, "Network link  = {}", or_unknown(r.link_type.as_string()));
    let _ = writeln!(o, "Language      = {}", or_unknown(r.language.as_string()));
    if r.distance == -1 {
        let _ = writeln!(o, "Distance      = ???");
    } else {
        let _ = writeln!(o, "Distance      = {}", r.distance);
    }
    if r.last_nat != 0 {
        let _ = writeln!(o, "IP sharing    = {}", local_time(r.last_nat));
    }
    if r.last_chg != 0 {
        let _ = writeln!(o, "Sys change    = {}", local_time(r.last_chg));
    }
    if r.uptime_min != 0 {
        let _ = writeln!(
            o,
            "Uptime        = {} days {} hrs {} min (modulo {} days)",
            r.uptime_min / 60 / 24,
            (r.uptime_min / 60) % 24,
            r.uptime_min % 60,
            r.up_mod_days
        );
    }
    Ok(o)
}

/// The reply as one JSON object: the same facts as the text, typed, with
/// times in RFC 3339 (UTC) and unknown values as null.
fn render_json(r: &Response, addr: IpAddr) -> Result<String, String> {
    use serde_json::{json, Value};
    let status = match r.status {
        Status::Ok => "ok",
        Status::NoMatch => "no_match",
        Status::BadQuery => return Err("p0f did not understand the query (bad query)".into()),
        Status::Other(c) => return Err(format!("unknown reply status 0x{c:x}")),
    };
    let text = |s: String| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s)
        }
    };
    let time = |t: u32| {
        if t == 0 {
            Value::Null
        } else {
            Value::String(format!("{}Z", utctime::utc_seconds(t)))
        }
    };
    let mut v = json!({ "status": status, "addr": addr.to_string() });
    if r.status == Status::Ok {
        let os = if r.os_name.is_empty() {
            Value::Null
        } else {
            json!({
                "name": r.os_name.as_string(),
                "flavor": text(r.os_flavor.as_string()),
                "generic": r.os_match_q & 2 != 0,
                "fuzzy": r.os_match_q & 1 != 0,
            })
        };
        let http = if r.http_name.is_empty() {
            Value::Null
        } else {
            json!({
                "name": r.http_name.as_string(),
                "flavor": text(r.http_flavor.as_string()),
                "verdict": match r.bad_sw {
                    0 => "legit",
                    1 => "os_mismatch",
                    _ => "fake",
                },
            })
        };
        // p0f 3.09b sends 255 for an unknown distance, its documentation -1.
        let distance = match r.distance {
            0..=254 => json!(r.distance),
            _ => Value::Null,
        };
        let (uptime, modulo) = if r.uptime_min == 0 {
            (Value::Null, Value::Null)
        } else {
            (json!(u64::from(r.uptime_min) * 60), json!(r.up_mod_days))
        };
        let fields = json!({
            "first_seen": time(r.first_seen),
            "first_seen_unix": r.first_seen,
            "last_seen": time(r.last_seen),
            "last_seen_unix": r.last_seen,
            "total_conn": r.total_conn,
            "os": os,
            "http": http,
            "link": text(r.link_type.as_string()),
            "lang": text(r.language.as_string()),
            "distance": distance,
            "last_nat": time(r.last_nat),
            "last_chg": time(r.last_chg),
            "uptime": uptime,
            "uptime_modulo_days": modulo,
        });
        if let (Value::Object(all), Value::Object(more)) = (&mut v, fields) {
            all.extend(more);
        }
    }
    let mut line = serde_json::to_string(&v).map_err(|e| e.to_string())?;
    line.push('\n');
    Ok(line)
}
