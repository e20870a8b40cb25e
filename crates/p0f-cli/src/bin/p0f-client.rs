//! `p0f-client SOCKET ADDR`: asks a running p0f (or p0f-rs) what it knows
//! about one address and prints it the way p0f's own p0f-client does.
//!
//! Unlike p0f's client, any standard IPv6 notation is accepted (`::1`,
//! `::ffff:192.0.2.1`), and errors are one line on stderr with exit
//! status 1 (usage errors: 2).

#[path = "../client_args.rs"]
mod client_args;
#[path = "../localtime.rs"]
mod localtime;
use localtime::local_time;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use p0f_api::v3::{Query, Response, Status, RESPONSE_LEN};

fn main() -> ExitCode {
    let Some((sock, addr)) = client_args::parse(std::env::args_os()) else {
        eprintln!("{}", client_args::USAGE);
        return ExitCode::from(2);
    };
    match run(&sock, &addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[-] ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(sock: &str, addr: &str) -> Result<(), String> {
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
    let out = render(&r).map_err(|e| e.to_string())?;
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
