//! The command line: p0f 3.09b's options, plus `--bug-compat` and the
//! additions listed in docs/compat.md (API, output and reporting options).

use std::process::ExitCode;

use clap::Parser;

const AFTER_HELP: &str = "\
Live capture (-i, -L) needs the libpcap runtime (Debian package
libpcap0.8) and CAP_NET_RAW, normally root; see -u to drop privileges.

API: -s PATH answers p0f 3 host queries (21-byte query, 232-byte reply);
--api-v2 PATH answers p0f 2.0.8 connection queries. Each connection may
send any number of queries; a query that is started must be finished
within --api-timeout seconds. Up to -S clients may stay connected; more
are still served, but one query each, then closed. The sockets are
created with mode 0666 as in p0f (--api-mode to restrict them).

In the foreground, SIGINT/SIGTERM stop cleanly and remove the sockets;
with NOTIFY_SOCKET set, READY=1 is sent once packets are being captured
(systemd Type=notify). See docs/daemon.md.

FILTER is an optional tcpdump-style expression (see 'man pcap-filter') that
narrows what is looked at, e.g. 'dst port 25'. It needs the libpcap runtime
(Debian package libpcap0.8); without a filter no libpcap is needed.

Without -f, the signature database built into this program is used:
p0f-rs's current one (Windows 10/11, Linux 4.19-6.x, Android, macOS or
iOS, current HTTP clients and servers; see docs/signatures.md), or with
--bug-compat the same signatures as p0f 3.09b's stock p0f.fp.

--json writes one JSON object per observation to standard output (the
banner and status lines go to stderr); --log-format json does the same
for the -o log. The format is described by docs/p0f-observation.schema.json.

SMTP: flows to --smtp-ports (default 25,587) are also read as SMTP
dialogues before STARTTLS, giving 'smtp client' and 'smtp server'
observations (how the client and server speak; docs/smtp.md) and, with
-s, per-host and per-connection SMTP verdicts through the API's SMTP
query. --smtp-ports none turns this off; --bug-compat does too.

Deliberate differences from p0f 3.09b (bug fixes) are listed in
docs/compat.md; --bug-compat turns all of them off.";

/// Passive OS fingerprinting: a p0f 3.09b compatible fingerprinter.
#[derive(Parser, Debug)]
#[command(name = "p0f", version, after_help = AFTER_HELP, disable_help_flag = false)]
pub(crate) struct Cli {
    /// Listen on the given network interface
    #[arg(
        short = 'i',
        value_name = "IFACE",
        help_heading = "Network interface options"
    )]
    iface: Option<String>,
    /// Read packets from a capture file (pcap or pcapng)
    #[arg(
        short = 'r',
        value_name = "FILE",
        help_heading = "Network interface options"
    )]
    read_file: Option<String>,
    /// Put the listening interface in promiscuous mode
    #[arg(short = 'p', help_heading = "Network interface options")]
    promisc: bool,
    /// List the available network interfaces and exit
    #[arg(short = 'L', help_heading = "Network interface options")]
    list: bool,

    /// Read the signature database from FILE (default: built in)
    #[arg(
        short = 'f',
        value_name = "FILE",
        help_heading = "Operating mode and output settings"
    )]
    fp_file: Option<String>,
    /// Append one line per observation to FILE
    #[arg(
        short = 'o',
        value_name = "FILE",
        help_heading = "Operating mode and output settings"
    )]
    log_file: Option<String>,
    /// Answer API queries on the Unix socket at PATH
    #[arg(
        short = 's',
        value_name = "PATH",
        help_heading = "Operating mode and output settings"
    )]
    api_sock: Option<String>,
    /// Switch to USER (and chroot to its home) after start-up
    #[arg(
        short = 'u',
        value_name = "USER",
        help_heading = "Operating mode and output settings"
    )]
    user: Option<String>,
    /// Run in the background (requires -o or -s)
    #[arg(short = 'd', help_heading = "Operating mode and output settings")]
    daemon: bool,
    /// Reproduce p0f 3.09b's output byte for byte, bugs included
    #[arg(
        long = "bug-compat",
        help_heading = "Operating mode and output settings"
    )]
    bug_compat: bool,
    /// Write observations to standard output as JSON Lines (status lines go to stderr)
    #[arg(long = "json", help_heading = "Output options")]
    json: bool,
    /// Format of the -o log: text (p0f's) or json (JSON Lines)
    #[arg(long = "log-format", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text,
          help_heading = "Output options")]
    log_format: LogFormat,
    /// With -r: at the end, count the verdicts and list unmatched signatures for p0f.fp
    #[arg(long = "summary", help_heading = "Output options")]
    summary: bool,
    /// With -r: show a progress bar on stderr [default: when stderr is a terminal]
    #[arg(
        long = "progress",
        overrides_with = "no_progress",
        help_heading = "Output options"
    )]
    progress: bool,
    /// With -r: never show a progress bar
    #[arg(long = "no-progress", help_heading = "Output options")]
    no_progress: bool,
    /// Serve Prometheus metrics (/metrics) and a health check (/healthz) over HTTP at ADDR:PORT
    #[arg(long = "metrics", value_name = "ADDR:PORT", value_parser = parse_listen,
          help_heading = "Output options")]
    metrics: Option<std::net::SocketAddr>,
    /// Permissions of the API socket(s), octal [default: 0666, as p0f]
    #[arg(long = "api-mode", value_name = "MODE", value_parser = parse_mode,
          help_heading = "API options")]
    api_mode: Option<u32>,
    /// Also answer p0f 2.0.8 connection queries on the Unix socket at PATH
    #[arg(long = "api-v2", value_name = "PATH", help_heading = "API options")]
    api_v2: Option<String>,
    /// Fingerprinted connections remembered for the v2 API [default: 4 x -m connections, at least 1024]
    #[arg(long = "api-v2-cache", value_name = "N",
          value_parser = clap::value_parser!(u32).range(16..=1_000_000),
          help_heading = "API options")]
    api_v2_cache: Option<u32>,
    /// Seconds a client may take to finish a query it has started [default: 5]
    #[arg(long = "api-timeout", value_name = "SECS",
          value_parser = clap::value_parser!(u32).range(1..=3600),
          help_heading = "API options")]
    api_timeout: Option<u32>,
    /// Milliseconds a query about an unknown host or connection waits for the capture to catch up, 0 to answer at once [default: 50; 0 with --bug-compat]
    #[arg(long = "api-grace", value_name = "MS",
          value_parser = clap::value_parser!(u32).range(0..=1000),
          help_heading = "API options")]
    api_grace: Option<u32>,

    /// Most API clients served at once, 1-100 [default: 20]
    #[arg(short = 'S', value_name = "LIMIT", value_parser = clap::value_parser!(u32).range(1..=100),
          help_heading = "Performance-related options")]
    api_max: Option<u32>,
    /// Connection age limit in seconds, host idle limit in minutes [default: 30,120]
    #[arg(short = 't', value_name = "C,H", value_parser = parse_timeouts, help_heading = "Performance-related options")]
    timeouts: Option<(u32, u32)>,
    /// Most connections and hosts tracked [default: 1000,10000]
    #[arg(short = 'm', value_name = "C,H", value_parser = parse_limits, help_heading = "Performance-related options")]
    limits: Option<(u32, u32)>,
    /// Live capture: size of the kernel's capture ring in MiB, 1-1024 (kernel memory, never swapped out) [default: 32]
    #[arg(long = "capture-buffer", value_name = "MIB",
          value_parser = clap::value_parser!(u32).range(1..=1024),
          help_heading = "Performance-related options")]
    capture_buffer: Option<u32>,
    /// Live capture: longest a captured packet waits in the ring before it is handed over, in milliseconds, 1-1000 [default: 5]
    #[arg(long = "capture-timeout", value_name = "MS",
          value_parser = clap::value_parser!(u32).range(1..=1000),
          help_heading = "Performance-related options")]
    capture_timeout: Option<u32>,

    /// Server ports whose flows are read as SMTP dialogues, comma-separated, or 'none' [default: 25,587; none with --bug-compat]
    #[arg(long = "smtp-ports", value_name = "PORTS", value_parser = parse_ports,
          help_heading = "Operating mode and output settings")]
    smtp_ports: Option<PortList>,

    /// Optional packet filter expression (tcpdump syntax; quote it)
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    filter: Vec<String>,
}

/// The `-o` log's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// p0f's `[time] mod=...|cli=...` lines
    Text,
    /// One JSON object per line
    Json,
}

/// Whether `-r` shows a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// When stderr is a terminal.
    Auto,
    On,
    Off,
}

/// Validated options.
#[derive(Debug)]
pub struct Args {
    pub iface: Option<String>,
    pub read_file: Option<String>,
    pub promisc: bool,
    pub list: bool,
    pub fp_file: Option<String>,
    pub log_file: Option<String>,
    pub api_sock: Option<String>,
    pub user: Option<String>,
    pub daemon: bool,
    pub bug_compat: bool,
    pub api_mode: u32,
    pub api_v2: Option<String>,
    pub api_v2_cache: Option<u32>,
    pub api_timeout: u32,
    pub api_grace_ms: u32,
    pub api_max: Option<u32>,
    pub timeouts: (u32, u32),
    pub limits: (u32, u32),
    /// The kernel capture ring, in bytes.
    pub capture_buffer_bytes: u32,
    pub capture_timeout_ms: u32,
    pub filter: Option<String>,
    pub json: bool,
    pub log_format: LogFormat,
    pub summary: bool,
    pub progress: Progress,
    pub metrics: Option<std::net::SocketAddr>,
    /// Empty: no SMTP observation.
    pub smtp_ports: Vec<u16>,
}

/// Most ports `--smtp-ports` takes (each flow checks the list).
const MAX_SMTP_PORTS: usize = 16;

/// The value of `--smtp-ports` (a newtype, so that clap takes the list as
/// one value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

/// Parses `--smtp-ports`: `none`, or up to 16 ports `25,587,2525`.
pub fn parse_ports(s: &str) -> Result<PortList, String> {
    if s == "none" {
        return Ok(PortList(Vec::new()));
    }
    let mut ports = Vec::new();
    for p in s.split(',') {
        match p.trim().parse::<u16>() {
            Ok(n) if n > 0 => ports.push(n),
            _ => {
                return Err(format!(
                    "expected 'none' or ports 1-65535 separated by commas, such as 25,587;                      '{p}' is not a port"
                ))
            }
        }
    }
    if ports.len() > MAX_SMTP_PORTS {
        return Err(format!("at most {MAX_SMTP_PORTS} SMTP ports"));
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(PortList(ports))
}

/// Parses `ADDR:PORT` for `--metrics`.
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("expected ADDR:PORT such as 127.0.0.1:9100 or [::1]:9100, not '{s}'"))
}

fn parse_pair(s: &str, max: (u32, u32)) -> Result<(u32, u32), String> {
    let bad = || {
        format!(
            "expected two numbers 'C,H' with C in 1..={} and H in 1..={}",
            max.0, max.1
        )
    };
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || a > max.0 || b == 0 || b > max.1 {
        return Err(bad());
    }
    Ok((a, b))
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err("expected an octal permission mode such as 0660".to_string()),
    }
}

fn parse_limits(s: &str) -> Result<(u32, u32), String> {
    parse_pair(s, (100_000, 500_000))
}

fn parse_timeouts(s: &str) -> Result<(u32, u32), String> {
    parse_pair(s, (1_000_000, 1_000_000))
}

impl Args {
    /// The engine's limits and switches from `-m`, `-t` and `--bug-compat`.
    pub fn engine_config(&self, offline: bool) -> p0f_engine::Config {
        p0f_engine::Config {
            max_conn: self.limits.0,
            max_hosts: self.limits.1,
            conn_max_age: self.timeouts.0,
            host_idle_limit: self.timeouts.1,
            bug_compat: self.bug_compat,
            offline,
            smtp_ports: self.smtp_ports.clone(),
        }
    }

    /// Parses the process arguments; on error or `--help` the message has
    /// been printed and the exit code is returned.
    pub fn parse_env() -> Result<Args, ExitCode> {
        Self::parse_from(std::env::args_os()).map_err(|e| {
            let _ = e.print();
            if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        })
    }

    pub fn parse_from<I, T>(items: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(items)?;
        let usage = |msg: &str| Cli::command_error(clap::error::ErrorKind::ArgumentConflict, msg);
        if cli.filter.len() > 1 {
            return Err(usage(
                "the filter expression must be a single argument (put it in quotes)",
            ));
        }
        if cli.read_file.is_some() {
            if cli.iface.is_some() {
                return Err(usage("-i and -r are mutually exclusive"));
            }
            if cli.promisc {
                return Err(usage("-p (promiscuous mode) makes no sense with -r"));
            }
            if cli.api_sock.is_some() || cli.api_v2.is_some() {
                return Err(usage("the API (-s, --api-v2) needs live capture, not -r"));
            }
            if cli.daemon {
                return Err(usage("daemon mode (-d) and -r don't mix"));
            }
        }
        if cli.api_max.is_some() && cli.api_sock.is_none() && cli.api_v2.is_none() {
            return Err(usage("-S only makes sense with -s or --api-v2"));
        }
        if cli.daemon && cli.log_file.is_none() && cli.api_sock.is_none() && cli.api_v2.is_none() {
            return Err(usage("daemon mode (-d) requires -o or -s"));
        }
        if cli.list && (cli.read_file.is_some() || cli.daemon) {
            return Err(usage("-L lists interfaces and exits; it takes no -r or -d"));
        }
        if cli.summary && cli.read_file.is_none() {
            return Err(usage(
                "--summary needs -r (it is printed at the end of the file)",
            ));
        }
        if (cli.progress || cli.no_progress) && cli.read_file.is_none() {
            return Err(usage("--progress and --no-progress need -r"));
        }
        if cli.metrics.is_some() && cli.read_file.is_some() {
            return Err(usage("--metrics is for live capture, not -r"));
        }
        if (cli.capture_buffer.is_some() || cli.capture_timeout.is_some())
            && cli.read_file.is_some()
        {
            return Err(usage(
                "--capture-buffer and --capture-timeout are for live capture, not -r",
            ));
        }
        if cli.log_format == LogFormat::Json && cli.log_file.is_none() {
            return Err(usage("--log-format needs -o FILE"));
        }
        if cli.api_sock.is_some() && cli.api_sock == cli.api_v2 {
            return Err(usage("-s and --api-v2 need two different paths"));
        }
        if cli.bug_compat && cli.smtp_ports.as_ref().is_some_and(|p| !p.0.is_empty()) {
            return Err(usage(
                "--smtp-ports has no effect with --bug-compat (p0f 3.09b has no SMTP observations)",
            ));
        }
        let smtp_ports = match (cli.bug_compat, cli.smtp_ports) {
            (true, _) => Vec::new(),
            (false, Some(p)) => p.0,
            (false, None) => p0f_engine::DEFAULT_SMTP_PORTS.to_vec(),
        };
        Ok(Args {
            iface: cli.iface,
            read_file: cli.read_file,
            promisc: cli.promisc,
            list: cli.list,
            fp_file: cli.fp_file,
            log_file: cli.log_file,
            api_sock: cli.api_sock,
            user: cli.user,
            daemon: cli.daemon,
            bug_compat: cli.bug_compat,
            api_mode: cli.api_mode.unwrap_or(0o666),
            api_v2: cli.api_v2,
            api_v2_cache: cli.api_v2_cache,
            api_timeout: cli.api_timeout.unwrap_or(5),
            api_grace_ms: cli.api_grace.unwrap_or(if cli.bug_compat { 0 } else { 50 }),
            api_max: cli.api_max,
            timeouts: cli.timeouts.unwrap_or((30, 120)),
            limits: cli.limits.unwrap_or((1000, 10000)),
            capture_buffer_bytes: cli
                .capture_buffer
                .unwrap_or(p0f_capture::DEFAULT_BUFFER_MIB)
                << 20,
            capture_timeout_ms: cli
                .capture_timeout
                .unwrap_or(p0f_capture::DEFAULT_BLOCK_TIMEOUT_MS),
            filter: cli.filter.into_iter().next(),
            json: cli.json,
            log_format: cli.log_format,
            summary: cli.summary,
            progress: match (cli.progress, cli.no_progress) {
                (true, _) => Progress::On,
                (false, true) => Progress::Off,
                (false, false) => Progress::Auto,
            },
            metrics: cli.metrics,
            smtp_ports,
        })
    }
}

impl Cli {
    fn command_error(kind: clap::error::ErrorKind, msg: &str) -> clap::Error {
        use clap::CommandFactory;
        Cli::command().error(kind, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::parse_from(std::iter::once("p0f").chain(args.iter().copied()))
    }

    #[test]
    fn smtp_ports() {
        assert_eq!(parse(&["-r", "x"]).unwrap().smtp_ports, vec![25, 587]);
        let a = parse(&["-r", "x", "--smtp-ports", "2525,25,25"]).unwrap();
        assert_eq!(a.smtp_ports, vec![25, 2525]);
        assert!(parse(&["-r", "x", "--smtp-ports", "none"])
            .unwrap()
            .smtp_ports
            .is_empty());
        assert!(parse(&["-r", "x", "--bug-compat"])
            .unwrap()
            .smtp_ports
            .is_empty());
        assert!(parse(&["-r", "x", "--smtp-ports", "0"]).is_err());
        assert!(parse(&["-r", "x", "--smtp-ports", "25,x"]).is_err());
        assert!(parse(&["-r", "x", "--bug-compat", "--smtp-ports", "25"]).is_err());
        assert!(parse(&["-r", "x", "--bug-compat", "--smtp-ports", "none"]).is_ok());
    }

    #[test]
    fn capture_ring() {
        let a = parse(&["-i", "lo"]).unwrap();
        assert_eq!(
            (a.capture_buffer_bytes, a.capture_timeout_ms),
            (32 << 20, 5)
        );
        let a = parse(&["--capture-buffer", "1024", "--capture-timeout", "1"]).unwrap();
        assert_eq!((a.capture_buffer_bytes, a.capture_timeout_ms), (1 << 30, 1));
        for bad in [
            &["--capture-buffer", "0"][..],
            &["--capture-buffer", "1025"],
            &["--capture-timeout", "0"],
            &["-r", "x", "--capture-timeout", "5"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn offline_options() {
        let a = parse(&[
            "-r",
            "x.pcap",
            "-o",
            "log",
            "-m",
            "5,6",
            "-t",
            "7,8",
            "dst port 25",
        ])
        .unwrap();
        assert_eq!(a.read_file.as_deref(), Some("x.pcap"));
        assert_eq!(a.log_file.as_deref(), Some("log"));
        assert_eq!((a.limits, a.timeouts), ((5, 6), (7, 8)));
        assert_eq!(a.filter.as_deref(), Some("dst port 25"));
        assert!(!a.bug_compat);
        assert!(parse(&["--bug-compat", "-r", "x"]).unwrap().bug_compat);
    }

    #[test]
    fn rejects_what_p0f_rejects() {
        assert!(parse(&["-r", "x", "dst", "port"]).is_err());
        assert!(parse(&["-m", "0,5"]).is_err());
        assert!(parse(&["-m", "100001,5"]).is_err());
        assert!(parse(&["-t", "5"]).is_err());
        assert!(parse(&["-r", "x", "-i", "eth0"]).is_err());
        assert!(parse(&["-r", "x", "-r", "y"]).is_err());
        assert!(parse(&["-S", "5"]).is_err());
        assert!(parse(&["-d", "-i", "eth0"]).is_err());
        assert!(parse(&["-q"]).is_err());
    }

    #[test]
    fn output_options() {
        let a = parse(&["-r", "x", "--json", "-o", "l", "--log-format", "json"]).unwrap();
        assert!(a.json);
        assert_eq!(a.log_format, LogFormat::Json);
        assert_eq!(a.progress, Progress::Auto);
        assert_eq!(parse(&["-r", "x"]).unwrap().log_format, LogFormat::Text);
        assert!(parse(&["-r", "x", "--log-format", "xml", "-o", "l"]).is_err());
        assert!(parse(&["-r", "x", "--log-format", "json"]).is_err());
        assert!(parse(&["-i", "lo", "--summary"]).is_err());
        assert!(parse(&["-i", "lo", "--progress"]).is_err());
        assert_eq!(
            parse(&["-r", "x", "--no-progress"]).unwrap().progress,
            Progress::Off
        );
        // The last of the pair wins, as with other switches.
        let a = parse(&["-r", "x", "--no-progress", "--progress"]).unwrap();
        assert_eq!(a.progress, Progress::On);
        let a = parse(&["-r", "x", "--progress", "--no-progress"]).unwrap();
        assert_eq!(a.progress, Progress::Off);
        let a = parse(&["-i", "lo", "--metrics", "127.0.0.1:9100"]).unwrap();
        assert_eq!(a.metrics, Some("127.0.0.1:9100".parse().unwrap()));
        assert!(parse(&["-i", "lo", "--metrics", "9100"]).is_err());
        assert!(parse(&["-r", "x", "--metrics", "127.0.0.1:9100"]).is_err());
    }
}
