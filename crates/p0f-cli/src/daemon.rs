//! Live mode: capture from an interface, answer the APIs, run as a daemon.
//!
//! Threads: one capture thread owns the libpcap handle and drains every
//! ready packet into the engine, taking the shared lock once per batch of
//! at most 256 packets (well under a millisecond of work, so API answers
//! never wait long); the API servers run on a small tokio runtime started
//! after any fork.
//! Console and log text produced under the lock goes to memory first and is
//! written out after the lock is released, so a slow terminal or pipe can
//! never stall the API.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use p0f_capture::{LiveCapture, LiveError, LiveOptions};
use p0f_engine::{Engine, Observation, Sink};
use p0f_sigdb::Database;

use crate::api::{self, Limits, Shared, State};
use crate::args::Args;
use crate::args::LogFormat;
use crate::conntable::ConnTable;
use crate::json::JsonRenderer;
use crate::metrics::{self, Metrics};
use crate::output::{Console, LogFile, Output};
use crate::sysops::{self, ApiSocket};

/// `-L`: lists the interfaces libpcap can capture on.
pub fn list_interfaces(console: &mut dyn Write) -> Result<(), String> {
    let list = p0f_capture::list_interfaces().map_err(|e| e.to_string())?;
    let _ = writeln!(console, "-- Available interfaces --");
    for (i, dev) in list.iter().enumerate() {
        let _ = writeln!(console, "\n{i:3}: Name        : {}", dev.name);
        let _ = writeln!(
            console,
            "     Description : {}",
            dev.description.as_deref().unwrap_or("-")
        );
        if dev.addresses.is_empty() {
            let _ = writeln!(console, "     IP address  : (none)");
        }
        for a in &dev.addresses {
            let _ = writeln!(console, "     IP address  : {a}");
        }
    }
    let _ = writeln!(console);
    Ok(())
}

/// The sink of the capture thread: text to memory buffers, and the v2
/// connection table.
struct LiveSink<'a> {
    out: Output<'a, Vec<u8>>,
    conns: Option<&'a mut ConnTable>,
    db: &'a Database,
    metrics: &'a Metrics,
}

impl Sink for LiveSink<'_> {
    fn observation(&mut self, obs: &Observation<'_>) {
        self.out.observation(obs);
        self.metrics.observation(self.db, obs);
        if let Some(t) = self.conns.as_deref_mut() {
            t.observe(self.db, obs);
        }
    }

    fn warning(&mut self, message: &str) {
        Sink::warning(&mut self.out, message);
    }
}

/// The capture handle's options, from the command line.
fn live_options(args: &Args) -> LiveOptions {
    LiveOptions {
        promiscuous: args.promisc,
        buffer_bytes: args.capture_buffer_bytes as i32,
        block_timeout_ms: args.capture_timeout_ms as i32,
        ..LiveOptions::default()
    }
}

fn open_capture(args: &Args, console: &mut dyn Write) -> Result<LiveCapture, String> {
    let (iface, default) = match &args.iface {
        Some(i) => (i.clone(), false),
        None => (
            p0f_capture::default_interface().map_err(|e| e.to_string())?,
            true,
        ),
    };
    let mut cap = LiveCapture::open(&iface, &live_options(args)).map_err(|e| e.to_string())?;
    let _ = writeln!(
        console,
        "[+] Intercepting traffic on {}interface '{iface}'.",
        if default { "default " } else { "" }
    );
    let dlt = cap.link_type();
    let vlan = dlt == 1;
    let rule = p0f_capture::p0f_rule(args.filter.as_deref(), dlt);
    let with_vlan = match cap.set_filter(&rule) {
        Ok(()) => vlan,
        Err(LiveError::Syntax(_)) if vlan => {
            // As p0f: retry without the VLAN half before giving up.
            let plain = p0f_capture::p0f_rule(args.filter.as_deref(), 0);
            cap.set_filter(&plain)
                .map_err(|e| filter_error(args.filter.as_deref(), &e))?;
            false
        }
        Err(e) => return Err(filter_error(args.filter.as_deref(), &e)),
    };
    match &args.filter {
        None => {
            let _ = writeln!(
                console,
                "[+] Default packet filtering configured{}.",
                if with_vlan { " [+VLAN]" } else { "" }
            );
        }
        Some(f) => {
            let _ = writeln!(
                console,
                "[+] Custom filtering rule enabled: {f}{}",
                if with_vlan { " [+VLAN]" } else { "" }
            );
        }
    }
    Ok(cap)
}

fn filter_error(rule: Option<&str>, e: &LiveError) -> String {
    let rule = rule.unwrap_or("tcp");
    if matches!(e, LiveError::Syntax(_)) {
        format!("bad filter expression '{rule}': {e} (see 'man pcap-filter' for the syntax)")
    } else {
        format!("cannot use filter expression '{rule}': {e}")
    }
}

/// Runs live capture until a signal or a capture failure.
pub fn run(args: &Args, db: Database, console: &mut Console) -> Result<(), String> {
    let json_console = console.json;
    let console = console.diag();
    let mut cap = open_capture(args, console)?;
    let log_json = args.log_format == LogFormat::Json;
    let log = match &args.log_file {
        Some(path) => {
            let log = LogFile::open(Path::new(path), log_json)?;
            let _ = writeln!(console, "[+] Log file '{path}' opened for writing.");
            Some(log)
        }
        None => None,
    };
    let fd_limit = sysops::raise_fd_limit();
    let max_clients = args.api_max.unwrap_or(20) as usize;
    let v3_sock = match &args.api_sock {
        Some(path) => {
            let s = ApiSocket::bind(path, args.api_mode)?;
            let _ = writeln!(
                console,
                "[+] Listening on API socket '{path}' (max {max_clients} clients)."
            );
            Some(s)
        }
        None => None,
    };
    let v2_sock = match &args.api_v2 {
        Some(path) => {
            let s = ApiSocket::bind(path, args.api_mode)?;
            let _ = writeln!(console, "[+] Listening on v2 API socket '{path}'.");
            Some(s)
        }
        None => None,
    };
    let metrics_listener = match args.metrics {
        Some(addr) => {
            let l = std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
            let _ = writeln!(
                console,
                "[+] Serving metrics on http://{addr}/metrics and /healthz."
            );
            Some(l)
        }
        None => None,
    };
    if let Some(user) = &args.user {
        let (uid, gid, root) = sysops::drop_privileges(user)?;
        let _ = writeln!(
            console,
            "[+] Privileges dropped: uid {uid}, gid {gid}, root '{root}'."
        );
    }
    if args.daemon {
        if args.user.is_none() {
            let _ = writeln!(
                console,
                "[!] Consider specifying -u in daemon mode (see README)."
            );
        }
        console
            .flush()
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
        sysops::daemonize()?;
    }

    let cfg = args.engine_config(false);
    let db = Arc::new(db);
    let conns = args.api_v2.as_ref().map(|_| {
        let n = args
            .api_v2_cache
            .map(|n| n as usize)
            .unwrap_or_else(|| (args.limits.0 as usize * 4).max(1024));
        ConnTable::new(n)
    });
    let engine = Engine::new(db.clone(), cfg, cap.link_type());
    let shared = Arc::new(Shared::new(State { engine, conns }));
    shared.metrics.capture_ring(&live_options(args));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the API runtime: {e}"))?;

    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
    let capture = {
        let shared = shared.clone();
        let stop = stop.clone();
        let console = ConsoleText {
            on: !args.daemon,
            json: (json_console || log_json).then(|| JsonRenderer::new(db.clone())),
            json_console,
        };
        let report_drops = !args.bug_compat;
        std::thread::Builder::new()
            .name("p0f-capture".into())
            .spawn(move || {
                let r = capture_loop(&mut cap, &shared, &db, log, console, &stop);
                shared.metrics.capture_ended(r.clone().err());
                if report_drops {
                    warn_about_drops(&cap);
                }
                let _ = done_tx.send(r.clone());
                r
            })
            .map_err(|e| format!("cannot start the capture thread: {e}"))?
    };

    // Leave room for the log, capture and runtime descriptors.
    let hard_cap = (fd_limit.saturating_sub(64) as usize).clamp(max_clients + 1, 4096);
    let limits = Limits {
        persistent: max_clients,
        hard_cap,
        timeout: Duration::from_secs(u64::from(args.api_timeout)),
        catch_up: Duration::from_millis(u64::from(args.api_grace_ms)),
    };
    let _ = writeln!(console, "[+] Entered main event loop.\n");
    let _ = console.flush();

    let daemon = args.daemon;
    let outcome = runtime.block_on(async {
        if let Some(s) = &v3_sock {
            let l = s
                .listener
                .try_clone()
                .and_then(tokio::net::UnixListener::from_std)
                .map_err(|e| format!("cannot serve API socket '{}': {e}", s.path))?;
            tokio::spawn(api::serve_v3(l, shared.clone(), limits));
        }
        if let Some(s) = &v2_sock {
            let l = s
                .listener
                .try_clone()
                .and_then(tokio::net::UnixListener::from_std)
                .map_err(|e| format!("cannot serve v2 API socket '{}': {e}", s.path))?;
            let v2_limits = Limits {
                timeout: Duration::from_secs(2),
                ..limits
            };
            tokio::spawn(api::serve_v2(l, shared.clone(), v2_limits));
        }
        if let Some(l) = metrics_listener {
            let l = tokio::net::TcpListener::from_std(l)
                .map_err(|e| format!("cannot serve metrics: {e}"))?;
            tokio::spawn(metrics::serve(
                l,
                Arc::new(metrics::Endpoint::new(shared.clone())),
            ));
        }
        sysops::notify_ready();
        wait_for_end(done_rx, daemon).await
    });
    stop.store(true, Ordering::SeqCst);
    runtime.shutdown_timeout(Duration::from_millis(200));
    let capture_result = capture
        .join()
        .unwrap_or_else(|_| Err("capture thread failed".into()));
    for s in [&v3_sock, &v2_sock].into_iter().flatten() {
        if let Err(e) = s.remove() {
            eprintln!(
                "[!] WARNING: cannot remove API socket '{}': {e} (with -u, its directory \
                 must be writable by that user)",
                s.path
            );
        }
    }
    let result = match outcome {
        Ok(Ended::Signal) => {
            eprintln!("[!] WARNING: User-initiated shutdown.");
            capture_result
        }
        Ok(Ended::Capture(r)) => r,
        Err(e) => Err(e),
    };
    let packets = shared.lock().engine.packets();
    let _ = writeln!(console, "\nAll done. Processed {packets} packets.");
    let _ = console.flush();
    result
}

enum Ended {
    Signal,
    Capture(Result<(), String>),
}

async fn wait_for_end(
    done: tokio::sync::oneshot::Receiver<Result<(), String>>,
    daemon: bool,
) -> Result<Ended, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mk = |k: SignalKind| signal(k).map_err(|e| format!("cannot handle signals: {e}"));
    let mut term = mk(SignalKind::terminate())?;
    let mut int = mk(SignalKind::interrupt())?;
    let mut hup = mk(SignalKind::hangup())?;
    tokio::pin!(done);
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(Ended::Signal),
            _ = int.recv() => return Ok(Ended::Signal),
            _ = hup.recv() => {
                // As p0f: SIGHUP stops a foreground run, a daemon ignores it.
                if !daemon {
                    return Ok(Ended::Signal);
                }
            }
            r = &mut done => {
                return Ok(Ended::Capture(r.unwrap_or(Err("capture thread ended".into()))));
            }
        }
    }
}

/// What the capture thread prints on standard output.
struct ConsoleText {
    /// False in daemon mode.
    on: bool,
    /// Present when the console or the log is JSON.
    json: Option<JsonRenderer>,
    json_console: bool,
}

/// Says on stderr if the kernel dropped packets because the capture ring
/// was full (p0f 3.09b never reads these counters).
fn warn_about_drops(cap: &LiveCapture) {
    if let Ok(st) = cap.stats() {
        if st.dropped > 0 || st.interface_dropped > 0 {
            eprintln!(
                "[!] WARNING: {} packets dropped by the kernel (capture buffer full), \
                 {} by the interface; {} received.",
                st.dropped, st.interface_dropped, st.received
            );
        }
    }
}

/// Packets handed to the engine under one hold of the lock. A batch takes
/// well under a millisecond, so an API query never waits longer for the
/// lock, while a burst costs one lock per 256 packets instead of one each.
const BATCH: usize = 256;

/// How long the capture thread waits when nothing arrives. It bounds only
/// how soon a stop request or a pending log flush is noticed: the wait ends
/// as soon as a packet is ready.
const IDLE_WAKE_MS: i32 = 250;

/// The capture thread: packets into the engine until `stop` is set.
///
/// Every packet that is ready is drained (in batches, one lock each) before
/// the thread waits again, so no packet sits in the kernel's ring behind a
/// timeout.
fn capture_loop(
    cap: &mut LiveCapture,
    shared: &Shared,
    db: &Database,
    mut log: Option<LogFile>,
    mut console: ConsoleText,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut text: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut log_dirty = false;
    let mut last_flush = Instant::now();
    let mut stdout = io::stdout();
    let mut last_stats = Instant::now();
    let flush_log = |log: &mut Option<LogFile>| -> Result<(), String> {
        match log.as_mut() {
            Some(l) => l.flush().map_err(|e| format!("cannot write log file: {e}")),
            None => Ok(()),
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let mut newest = None;
        let (drained, written) = {
            let mut st = shared.lock();
            let State { engine, conns } = &mut *st;
            let mut out = Output::new(&mut text, log.as_mut());
            if let Some(j) = console.json.as_mut() {
                out = out.with_json(j, console.json_console);
            }
            let mut sink = LiveSink {
                out,
                conns: conns.as_mut(),
                db,
                metrics: &shared.metrics,
            };
            let drained = cap.drain(BATCH, |p| {
                newest = Some((p.ts_sec, p.ts_usec));
                engine.process(p.ts_sec, p.ts_usec, p.len, p.data, &mut sink)
            });
            (drained, sink.out.finish())
        };
        let drained = drained.map_err(|e| format!("live capture stopped: {e}"))?;
        written.map_err(|e| format!("cannot write log file: {e}"))?;
        if !text.is_empty() {
            log_dirty = true;
            if console.on {
                // A closed or broken terminal is not a reason to stop.
                let _ = stdout.write_all(&text).and_then(|()| stdout.flush());
            }
            text.clear();
        }
        if let Some((sec, usec)) = newest {
            shared.metrics.packet(sec, usec);
        }
        refresh_stats(cap, &shared.metrics, &mut last_stats);
        let idle = drained == 0;
        if log_dirty && (idle || last_flush.elapsed() >= Duration::from_secs(1)) {
            flush_log(&mut log)?;
            log_dirty = false;
            last_flush = Instant::now();
        }
        if idle {
            cap.wait_ready(IDLE_WAKE_MS)
                .map_err(|e| format!("live capture stopped: {e}"))?;
        }
    }
    flush_log(&mut log)
}

/// Copies libpcap's counters into the metrics, at most once a second.
fn refresh_stats(cap: &LiveCapture, metrics: &Metrics, last: &mut Instant) {
    if last.elapsed() < Duration::from_secs(1) {
        return;
    }
    *last = Instant::now();
    if let Ok(s) = cap.stats() {
        metrics.pcap_stats(s);
    }
}
