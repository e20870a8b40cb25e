//! `p0f-client`'s command line, in clap so that its man page and shell
//! completions come from the same definition (see crates/p0f-dist).
//!
//! The behaviour is p0f's client's: exactly two arguments (plus p0f-rs's
//! `--json`, anywhere); anything else, `-h` and `--help` included, prints
//! the one-line usage on stderr and exits with status 2. Arguments may
//! start with `-` (a socket path can).

use clap::{Arg, Command};

/// The one-line usage p0f-client prints on any usage error.
pub const USAGE: &str = "Usage: p0f-client [--json] /path/to/socket host_ip";

/// The clap definition (also used to render the man page).
pub fn command() -> Command {
    Command::new("p0f-client")
        .about("Ask a running p0f or p0f-rs daemon what it knows about one address")
        .long_about(
            "Ask a running p0f (3.x) or p0f-rs daemon, over its API socket (p0f -s), \
             what it knows about one host, and print the answer the way p0f's own \
             p0f-client does. Exit status: 0 on an answer (including \"no matching \
             host\"), 1 on an error, 2 on a usage error.",
        )
        .override_usage("p0f-client [--json] /path/to/socket host_ip")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("json")
                .long("json")
                .action(clap::ArgAction::SetTrue)
                .help("Print the answer as one JSON object (docs/p0f-client.schema.json)"),
        )
        .arg(
            Arg::new("socket")
                .value_name("SOCKET")
                .help("The daemon's API socket (its -s PATH)")
                .required(true)
                .allow_hyphen_values(true)
                .value_hint(clap::ValueHint::FilePath),
        )
        .arg(
            Arg::new("host_ip")
                .value_name("HOST_IP")
                .help("The address to ask about: IPv4 or IPv6, any standard notation")
                .required(true)
                .allow_hyphen_values(true),
        )
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientArgs {
    pub socket: String,
    pub addr: String,
    pub json: bool,
}

/// The socket, address and output form, or None for a usage error.
pub fn parse<I, T>(args: I) -> Option<ClientArgs>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let before = args.len();
    args.retain(|a| a != "--json");
    let json = args.len() != before;
    // Exactly two arguments, as in p0f: `--` is not an option terminator.
    if args.len() != 3 {
        return None;
    }
    let m = command().try_get_matches_from(args).ok()?;
    let sock = m.get_one::<String>("socket")?.clone();
    let addr = m.get_one::<String>("host_ip")?.clone();
    // p0f's client treats a first argument of -h/--help as a request for
    // its usage, never as a socket path.
    if sock == "-h" || sock == "--help" {
        return None;
    }
    Some(ClientArgs {
        socket: sock,
        addr,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, ClientArgs};

    #[test]
    fn two_arguments_exactly() {
        let p = |a: &[&str]| {
            parse(std::iter::once("p0f-client").chain(a.iter().copied()))
                .map(|c| (c.socket, c.addr, c.json))
        };
        assert_eq!(p(&["/s", "::1"]), Some(("/s".into(), "::1".into(), false)));
        assert_eq!(
            p(&["-odd-sock", "-1"]),
            Some(("-odd-sock".into(), "-1".into(), false))
        );
        assert_eq!(
            p(&["--json", "/s", "::1"]),
            Some(("/s".into(), "::1".into(), true))
        );
        assert_eq!(
            p(&["/s", "::1", "--json"]),
            Some(("/s".into(), "::1".into(), true))
        );
        let _ = ClientArgs {
            socket: String::new(),
            addr: String::new(),
            json: false,
        };
        for bad in [
            &[][..],
            &["/s"],
            &["/s", "a", "b"],
            &["-h", "x"],
            &["--help", "x"],
            &["-h"],
            &["--", "/s", "::1"],
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
