//! Where observations go: the console and the `-o` log, each as p0f's
//! text or as JSON Lines.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use p0f_engine::observe::{render_console_block_with, render_log_line_with, Ends};
use p0f_engine::{Observation, Sink};

use crate::json::JsonRenderer;
use crate::localtime::local_time;
use crate::outbuf::{OutBuf, RenderTarget};

/// Standard output, and where status lines go: with `--json` standard
/// output carries only observations (and the summary), so the banner and
/// the `[+]` lines go to stderr.
pub struct Console {
    pub out: OutBuf<io::Stdout>,
    err: io::Stderr,
    pub json: bool,
}

impl Console {
    pub fn new(json: bool) -> Console {
        Console {
            // Not locked: in live mode the capture thread writes to stdout too.
            out: OutBuf::new(io::stdout()),
            err: io::stderr(),
            json,
        }
    }

    /// The stream for the banner and status lines.
    pub fn diag(&mut self) -> &mut dyn Write {
        if self.json {
            &mut self.err
        } else {
            &mut self.out
        }
    }
}

/// An append-only log file, locked against a second writer.
pub struct LogFile {
    out: OutBuf<File>,
    stamp: Stamp,
    json: bool,
}

impl LogFile {
    /// Opens like p0f: append to an existing regular file (never through a
    /// symlink), or create it with mode 0600; take an exclusive lock.
    /// With `json`, each line is a JSON object instead of p0f's log line.
    pub fn open(path: &Path, json: bool) -> Result<LogFile, String> {
        let shown = path.display();
        let file = match OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
                .append(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .map_err(|e| format!("cannot create log file '{shown}': {e}"))?,
            Err(e) => return Err(format!("cannot open log file '{shown}': {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot stat log file '{shown}': {e}"))?;
        if !meta.file_type().is_file() {
            return Err(format!("log file '{shown}' is not a regular file"));
        }
        // SAFETY: flock on a descriptor we own has no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(format!(
                "log file '{shown}' is being used by another process"
            ));
        }
        Ok(LogFile {
            out: OutBuf::new(file),
            stamp: Stamp::default(),
            json,
        })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Local-time `YYYY/MM/DD HH:MM:SS`, cached per second (observations come
/// in bursts with the same packet time).
#[derive(Default)]
struct Stamp {
    second: Option<u32>,
    text: String,
}

impl Stamp {
    fn get(&mut self, t: u32) -> &str {
        if self.second != Some(t) {
            self.second = Some(t);
            self.text = local_time(t);
        }
        &self.text
    }
}

/// Sends observations to the console and the log; remembers the first
/// write error so that processing can stop with a clear message.
pub struct Output<'a, W: RenderTarget + Write> {
    console: &'a mut W,
    log: Option<&'a mut LogFile>,
    /// Present when the console or the log is JSON.
    json: Option<JsonOut<'a>>,
    error: Option<io::Error>,
}

struct JsonOut<'a> {
    renderer: &'a mut JsonRenderer,
    console: bool,
}

impl<'a, W: RenderTarget + Write> Output<'a, W> {
    /// Text on the console; the log as it was opened.
    pub fn new(console: &'a mut W, log: Option<&'a mut LogFile>) -> Self {
        Output {
            console,
            log,
            json: None,
            error: None,
        }
    }

    /// Renders JSON with `renderer`, for the log if it is JSON and, with
    /// `console`, for the console too.
    pub fn with_json(mut self, renderer: &'a mut JsonRenderer, console: bool) -> Self {
        self.json = Some(JsonOut { renderer, console });
        self
    }

    pub fn finish(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub fn warning(&mut self, message: &str) {
        let _ = self.console.flush();
        eprintln!("[!] WARNING: {message}");
    }

    fn write(&mut self, obs: &Observation<'_>) -> io::Result<()> {
        let log_json = self.log.as_ref().is_some_and(|l| l.json);
        let console_json = self.json.as_ref().is_some_and(|j| j.console);
        let line = match self.json.as_mut() {
            Some(j) if console_json || log_json => Some(j.renderer.line(obs)),
            _ => None,
        };
        // Text renders both ends once for the console and the log, and not
        // at all when both are JSON.
        let text_log = self.log.as_ref().is_some_and(|l| !l.json);
        let ends = (!console_json || text_log).then(|| Ends::of(obs));
        match (line, &ends) {
            (Some(line), _) if console_json => {
                self.console.buffer().extend_from_slice(line);
                self.console.appended()?;
            }
            (_, Some(ends)) => {
                render_console_block_with(self.console.buffer(), obs, ends);
                self.console.appended()?;
            }
            (_, None) => {}
        }
        if let Some(log) = self.log.as_deref_mut() {
            match (line, &ends) {
                (Some(line), _) if log.json => log.out.buffer().extend_from_slice(line),
                (_, Some(ends)) => {
                    let stamp = log.stamp.get(obs.time);
                    render_log_line_with(log.out.buffer(), stamp, obs, ends);
                }
                (_, None) => return Ok(()),
            }
            log.out.appended()?;
        }
        Ok(())
    }
}

impl<W: RenderTarget + Write> Sink for Output<'_, W> {
    fn observation(&mut self, obs: &Observation<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write(obs) {
            self.error = Some(e);
        }
    }

    fn warning(&mut self, message: &str) {
        Output::warning(self, message);
    }
}
