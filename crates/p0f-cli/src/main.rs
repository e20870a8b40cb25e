//! `p0f`: the p0f-rs command, a drop-in replacement for p0f 3.09b.
//!
//! This binary only wires things together: options, the signature
//! database, a packet source, the engine and the outputs (p0f's text or
//! JSON Lines). Every decision about packets lives in `p0f-engine`.

mod api;
mod args;
mod conntable;
mod daemon;
mod json;
mod jsonw;
mod localtime;
mod metrics;
mod outbuf;
mod output;
mod progress;
mod summary;
mod sysops;
mod utctime;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use p0f_capture::{BpfFilter, CaptureFile, DefaultFilter, FilterError};
use p0f_engine::Engine;
use p0f_sigdb::Database;

use args::{Args, LogFormat};
use json::JsonRenderer;
use output::{Console, LogFile, Output};
use progress::Progress;
use summary::{Counting, Summary};

fn main() -> ExitCode {
    let args = match Args::parse_env() {
        Ok(a) => a,
        Err(code) => return code,
    };
    sysops::ignore_sigpipe();
    let mut console = Console::new(args.json);
    let _ = writeln!(
        console.diag(),
        "--- p0f-rs {} (p0f 3.09b compatible) ---\n",
        env!("CARGO_PKG_VERSION")
    );
    match run(&args, &mut console) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            let _ = console.out.flush();
            eprintln!("[-] ERROR: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// How packets are selected before the engine sees them.
enum PacketFilter {
    Default(DefaultFilter),
    Compiled(BpfFilter),
}

fn run(args: &Args, console: &mut Console) -> Result<(), String> {
    if args.list {
        return daemon::list_interfaces(console.diag());
    }
    let db = load_database(args.fp_file.as_deref(), args.bug_compat)?;
    let count = db.sig_count();
    let _ = writeln!(
        console.diag(),
        "[+] Loaded {count} signature{} from {}.",
        if count == 1 { "" } else { "s" },
        match &args.fp_file {
            Some(p) => format!("'{p}'"),
            None if args.bug_compat => "the built-in p0f 3.09b database".to_string(),
            None => "the built-in database".to_string(),
        }
    );
    let Some(read_file) = args.read_file.as_deref() else {
        return daemon::run(args, db, console);
    };
    if args.user.is_some() {
        return Err("-u is for live capture; it makes no sense with -r".into());
    }
    let (mut capture, file) = open_capture_file(read_file)?;
    let _ = writeln!(
        console.diag(),
        "[+] Will read pcap data from file '{read_file}'."
    );
    let dlt = capture.link_type();
    let filter = build_filter(args.filter.as_deref(), &capture, dlt, console.diag())?;
    let mut log = match &args.log_file {
        Some(path) => {
            let log = LogFile::open(Path::new(path), args.log_format == LogFormat::Json)?;
            let _ = writeln!(console.diag(), "[+] Log file '{path}' opened for writing.");
            Some(log)
        }
        None => None,
    };
    let _ = writeln!(console.diag(), "[+] Processing capture data.\n");

    let cfg = args.engine_config(true);
    let db = Arc::new(db);
    let mut engine = Engine::new(db.clone(), cfg, dlt);
    let mut json =
        (args.json || args.log_format == LogFormat::Json).then(|| JsonRenderer::new(db.clone()));
    let mut summary = args.summary.then(Summary::default);
    let mut progress = Progress::start(args.progress, file);
    let mut out = Output::new(&mut console.out, log.as_mut());
    if let Some(j) = json.as_mut() {
        out = out.with_json(j, args.json);
    }
    let mut sink = Counting {
        inner: out,
        summary: summary.as_mut(),
    };
    loop {
        let packet = match capture.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                // libpcap stops at a damaged record too; what was read stands.
                sink.inner
                    .warning(&format!("capture file '{read_file}' ends early: {e}"));
                break;
            }
        };
        progress.packet();
        let pass = match &filter {
            PacketFilter::Default(f) => f.matches(packet.data, packet.len),
            PacketFilter::Compiled(f) => f.matches(&packet),
        };
        if pass {
            engine.process(
                packet.ts_sec,
                packet.ts_usec,
                packet.len,
                packet.data,
                &mut sink,
            );
        }
    }
    progress.finish();
    sink.inner
        .finish()
        .map_err(|e| format!("cannot write output: {e}"))?;
    drop(sink);
    if let Some(log) = log.as_mut() {
        log.flush()
            .map_err(|e| format!("cannot write log file: {e}"))?;
    }
    let _ = writeln!(
        console.diag(),
        "\nAll done. Processed {} packets.",
        engine.packets()
    );
    if let Some(s) = &summary {
        let written = if args.json {
            s.write_json(&mut console.out, engine.packets())
        } else {
            s.write_text(&mut console.out)
        };
        written.map_err(|e| format!("cannot write the summary: {e}"))?;
    }
    console
        .out
        .flush()
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// Opens a capture file, keeping a second handle on it (same offset) for
/// the progress bar.
fn open_capture_file(path: &str) -> Result<(CaptureFile, Option<std::fs::File>), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot read capture file '{path}': {e}");
    let file = std::fs::File::open(path).map_err(|e| err(&p0f_capture::CaptureError::from(e)))?;
    let handle = file.try_clone().ok();
    let capture = CaptureFile::from_reader(io::BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| err(&e))?;
    Ok((capture, handle))
}

/// `-f FILE`, else the built-in database: p0f-rs's current one, or with
/// `--bug-compat` the facts of p0f 3.09b's stock file, so that compatibility
/// mode gives 3.09b's verdicts without one.
fn load_database(path: Option<&str>, bug_compat: bool) -> Result<Database, String> {
    match path {
        Some(p) => Database::load(Path::new(p)).map_err(|e| e.to_string()),
        None if bug_compat => Database::try_stock_facts().map_err(|e| e.to_string()),
        None => Database::try_current().map_err(|e| e.to_string()),
    }
}

fn build_filter(
    user: Option<&str>,
    capture: &CaptureFile,
    dlt: u32,
    console: &mut dyn Write,
) -> Result<PacketFilter, String> {
    let vlan = dlt == p0f_capture::linktype::dlt::EN10MB;
    let Some(rule) = user else {
        let filter = DefaultFilter::for_capture(capture);
        if !filter.is_supported() {
            // p0f 3.09b aborts here (pcap_compile fails, "link-layer type
            // filtering not implemented"), before printing any observation or
            // its final line; printing "Processed 0 packets" would not match.
            return Err(format!(
                "libpcap cannot filter link type {dlt} with p0f's default rule 'tcp', \
                 so nothing in this capture could be fingerprinted"
            ));
        }
        let _ = writeln!(
            console,
            "[+] Default packet filtering configured{}.",
            if vlan { " [+VLAN]" } else { "" }
        );
        return Ok(PacketFilter::Default(filter));
    };
    let composite = p0f_capture::p0f_rule(Some(rule), dlt);
    // Compiled against the capture itself, as p0f does: for some link types
    // (DLT_NULL) the code depends on the file's byte order.
    let (compiled, with_vlan) = match BpfFilter::compile_for_capture(&composite, capture) {
        Ok(f) => (f, vlan),
        Err(FilterError::Syntax(_)) if vlan => {
            // As p0f: retry without the VLAN half before giving up.
            let plain = format!("tcp and ({rule})");
            (
                BpfFilter::compile_for_capture(&plain, capture)
                    .map_err(|e| filter_error(rule, &e))?,
                false,
            )
        }
        Err(e) => return Err(filter_error(rule, &e)),
    };
    let _ = writeln!(
        console,
        "[+] Custom filtering rule enabled: {rule}{}",
        if with_vlan { " [+VLAN]" } else { "" }
    );
    Ok(PacketFilter::Compiled(compiled))
}

fn filter_error(rule: &str, e: &FilterError) -> String {
    if matches!(e, FilterError::Syntax(_)) {
        format!("bad filter expression '{rule}': {e} (see 'man pcap-filter' for the syntax)")
    } else {
        format!("cannot use filter expression '{rule}': {e}")
    }
}
