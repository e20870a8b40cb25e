//! `p0f-mailpolicy`: see the library docs and `docs/mail-policy.md`.

use std::process::ExitCode;
use std::time::Duration;

mod args;

/// mimalloc instead of glibc's allocator: a policy decision makes and drops
/// some hundred small strings and maps, and glibc's malloc and free were a
/// third of the service's user-space instructions per decision
/// (`docs/greylisting.md`, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use args::Args;
use clap::Parser;
use p0f_milter::milter::MilterOptions;
use p0f_milter::policyd::PolicyService;
use p0f_milter::server::{self, Service};
use p0f_policy::config::{self, parse_plugins_text, ConfigError};
use p0f_policy::Policy;
use tracing::{error, info};

fn build(args: &Args) -> Result<p0f_policy::PolicyConfig, ConfigError> {
    let mut cfg = config::load_unvalidated(
        args.config.as_deref(),
        args.qpsmtpd_plugins.as_deref(),
        args.blocked_os.as_deref(),
    )?;
    for (i, line) in args.plugin_line.iter().enumerate() {
        let place = format!("--plugin-line #{}", i + 1);
        let found = parse_plugins_text(line, &place)?;
        if found.is_empty() {
            return Err(ConfigError::new(place, "not an ident/p0f line"));
        }
        cfg.instances.extend(found);
    }
    if args.dry_run {
        cfg.dry_run = true;
    }
    if let Some(ms) = args.timeout_ms {
        if !(1..=60_000).contains(&ms) {
            return Err(ConfigError::new("--timeout-ms", "must be 1..=60000"));
        }
        cfg.timeout = Duration::from_millis(ms);
    }
    for a in args.milter.iter().chain(args.policy.iter()) {
        config::check_listen(a).map_err(|e| ConfigError::new("command line", e))?;
    }
    cfg.listen.milter.extend(args.milter.iter().cloned());
    cfg.listen.policy.extend(args.policy.iter().cloned());
    if let Some(m) = &args.socket_mode {
        cfg.listen.socket_mode = u32::from_str_radix(m, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                ConfigError::new("--socket-mode", format!("{m:?} is not an octal mode"))
            })?;
    }
    cfg.validate("configuration")?;
    if cfg.listen.milter.is_empty() && cfg.listen.policy.is_empty() {
        return Err(ConfigError::new(
            "configuration",
            "no listener: give --milter and/or --policy, or [listen] in the config file",
        ));
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cfg = match build(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("p0f-mailpolicy: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let metrics_addr = match args.metrics.as_deref().map(config::parse_inet).transpose() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("p0f-mailpolicy: configuration error: --metrics: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        let loaded = match &args.signatures {
            Some(p) => p0f_sigdb::Database::load(p),
            None => p0f_sigdb::Database::try_current(),
        };
        let db = match loaded {
            Ok(db) => db,
            Err(e) => {
                let what = match args.signatures {
                    Some(_) => "--signatures",
                    None => "built-in signatures",
                };
                eprintln!("p0f-mailpolicy: {what}: {e}");
                return ExitCode::from(2);
            }
        };
        let genres = p0f_milter::check::genres(&db);
        for w in p0f_milter::check::unmatched_patterns(&cfg, &genres) {
            eprintln!("p0f-mailpolicy: warning: {w}");
        }
        if let Some(g) = &cfg.greylist {
            println!(
                "greylisting: {} rule(s), store {}, delay {} s, retry window {} s, max age {} s, auto-whitelist after {}{}",
                g.rules.len(),
                match &g.store {
                    p0f_policy::greylist::StoreConfig::Embedded { path } => format!("embedded ({})", path.display()),
                    p0f_policy::greylist::StoreConfig::Redis { prefix, .. } => format!("redis (prefix {prefix})"),
                },
                g.params.delay,
                g.params.retry_window,
                g.params.max_age,
                g.params.awl_clients,
                if g.dry_run { ", dry run" } else { "" }
            );
        }
        println!(
            "configuration OK: {} p0f instance(s), {} blocking rule(s), {} trusted network(s), headers {}, dry run {}",
            cfg.instances.len(),
            cfg.rules.len(),
            cfg.trusted_networks.len(),
            if cfg.add_headers() { "on" } else { "off" },
            cfg.dry_run
        );
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("p0f-mailpolicy: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(cfg, !args.no_request_macros, metrics_addr))
}

/// How often expired greylist entries are purged from the embedded store.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

async fn run(
    cfg: p0f_policy::PolicyConfig,
    request_macros: bool,
    metrics_addr: Option<std::net::SocketAddr>,
) -> ExitCode {
    let mode = cfg.listen.socket_mode;
    let milters = cfg.listen.milter.clone();
    let policies = cfg.listen.policy.clone();
    let policy = match Policy::open(cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("p0f-mailpolicy: cannot open the greylist store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut tasks = Vec::new();
    if let Some(addr) = metrics_addr {
        match p0f_milter::metrics::bind(addr).await {
            Ok(l) => tasks.push(tokio::spawn(p0f_milter::metrics::serve(l))),
            Err(e) => {
                eprintln!("p0f-mailpolicy: cannot listen on {addr} for metrics: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(g) = policy.greylist().cloned() {
        info!(store = g.store_kind(), "greylisting on");
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_EVERY);
            loop {
                tick.tick().await;
                match g.purge().await {
                    Ok(n) if n > 0 => info!(removed = n, "greylist: expired entries purged"),
                    Ok(_) => {}
                    Err(e) => error!(error = %e, "greylist: purge failed"),
                }
            }
        }));
    }
    let opts = MilterOptions {
        request_macros,
        ..MilterOptions::default()
    };
    let svc = PolicyService::new(policy.clone());
    let mut listeners = Vec::new();
    for (addr, kind) in milters
        .iter()
        .map(|a| (a, 0))
        .chain(policies.iter().map(|a| (a, 1)))
    {
        match server::bind(addr, mode) {
            Ok(l) => listeners.push((l, kind)),
            Err(e) => {
                error!(listener = %addr, error = %e, "cannot listen");
                eprintln!("p0f-mailpolicy: cannot listen on {addr}: {e}");
                for (l, _) in &listeners {
                    l.cleanup();
                }
                return ExitCode::FAILURE;
            }
        }
    }
    let mut cleanup = Vec::new();
    for (l, kind) in listeners {
        if let server::Listener::Unix(_, p) = &l {
            cleanup.push(p.clone());
        }
        let s = if kind == 0 {
            Service::Milter(policy.clone(), opts.clone())
        } else {
            Service::Policy(svc.clone(), Duration::from_secs(600))
        };
        tasks.push(server::spawn(l, s));
    }
    info!("p0f-mailpolicy ready");
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("p0f-mailpolicy: cannot watch signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    info!("shutting down");
    for t in tasks {
        t.abort();
    }
    for p in cleanup {
        let _ = std::fs::remove_file(p);
    }
    if let Some(g) = policy.greylist() {
        if let Err(e) = g.flush() {
            error!(error = %e, "greylist: final flush failed");
        }
    }
    ExitCode::SUCCESS
}
