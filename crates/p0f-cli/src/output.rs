//! The console and `-o` log renderings of observations.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use p0f_engine::observe::{write_console_block_with, write_log_line_with, Ends};
use p0f_engine::{Observation, Sink};

use crate::localtime::local_time;

/// An append-only log file, locked against a second writer.
pub struct LogFile {
    out: BufWriter<File>,
    stamp: Stamp,
}

impl LogFile {
    /// Opens like p0f: append to an existing regular file (never through a
    /// symlink), or create it with mode 0600; take an exclusive lock.
    pub fn open(path: &Path) -> Result<LogFile, String> {
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
            out: BufWriter::with_capacity(64 * 1024, file),
            stamp: Stamp::default(),
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
pub struct Output<'a, W: Write> {
    console: &'a mut W,
    log: Option<&'a mut LogFile>,
    error: Option<io::Error>,
}

impl<'a, W: Write> Output<'a, W> {
    pub fn new(console: &'a mut W, log: Option<&'a mut LogFile>) -> Self {
        Output {
            console,
            log,
            error: None,
        }
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
}

impl<W: Write> Sink for Output<'_, W> {
    fn observation(&mut self, obs: &Observation<'_>) {
        if self.error.is_some() {
            return;
        }
        let ends = Ends::of(obs);
        let mut result = write_console_block_with(self.console, obs, &ends);
        if let (Ok(()), Some(log)) = (&result, self.log.as_deref_mut()) {
            let stamp = log.stamp.get(obs.time);
            result = write_log_line_with(&mut log.out, stamp, obs, &ends);
        }
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    fn warning(&mut self, message: &str) {
        Output::warning(self, message);
    }
}
