//! `p0f-mailpolicy`'s command line, apart from `main` so that the man page
//! and shell completions are generated from it (crates/p0f-dist).

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "p0f-mailpolicy",
    version,
    about = "OS-aware mail policy from p0f fingerprints: a milter and a Postfix policy service"
)]
pub struct Args {
    /// Native TOML configuration file.
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// qpsmtpd plugins file (or a file holding just the ident/p0f line).
    #[arg(long)]
    pub qpsmtpd_plugins: Option<PathBuf>,
    /// An ident/p0f line given directly, e.g. "ident/p0f /tmp/.p0f_socket3 smite_os windows".
    #[arg(long)]
    pub plugin_line: Vec<String>,
    /// qpsmtpd's p0f_blocked_operating_systems file.
    #[arg(long)]
    pub blocked_os: Option<PathBuf>,
    /// Milter listener: unix:/path or inet:ADDR:PORT (repeatable).
    #[arg(long)]
    pub milter: Vec<String>,
    /// Postfix policy listener: unix:/path or inet:ADDR:PORT (repeatable).
    #[arg(long)]
    pub policy: Vec<String>,
    /// Mode of Unix listening sockets, octal.
    #[arg(long)]
    pub socket_mode: Option<String>,
    /// Log what would be blocked instead of blocking.
    #[arg(long)]
    pub dry_run: bool,
    /// Per-step p0f timeout in milliseconds (connect, write, read).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Do not ask the MTA for macros during option negotiation.
    #[arg(long)]
    pub no_request_macros: bool,
    /// Check the configuration, print a summary and exit. Also warns about
    /// block and greylist patterns that match no OS label of the signature
    /// database (--signatures, else the built-in one).
    #[arg(long)]
    pub check: bool,
    /// The p0f.fp the daemon uses, for --check's pattern warnings.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR:PORT/metrics (and /healthz).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<String>,
}
