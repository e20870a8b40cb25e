//! The `-r` progress bar on stderr: packets, share of the file read, rate
//! and time left (indicatif).
//!
//! The share read comes from the file offset of the capture's descriptor
//! (the reader's buffered look-ahead makes it run at most one buffer ahead);
//! a file whose size is unknown (a pipe) gets a spinner with the packet
//! count instead.

use std::fs::File;
use std::io::{IsTerminal, Seek};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::args;

/// Packets between two updates: reading the offset is a system call.
const UPDATE_EVERY: u64 = 4096;

pub struct Progress {
    bar: Option<ProgressBar>,
    /// A second handle on the capture file, sharing its offset.
    file: Option<File>,
    packets: u64,
}

impl Progress {
    /// Starts a bar if `mode` asks for one (`Auto`: stderr is a terminal).
    /// `file` is a clone of the capture's file handle.
    pub fn start(mode: args::Progress, file: Option<File>) -> Progress {
        let target = match mode {
            args::Progress::Off => None,
            args::Progress::Auto if !std::io::stderr().is_terminal() => None,
            args::Progress::Auto => Some(ProgressDrawTarget::stderr()),
            // indicatif draws nothing on a stream that is not a terminal;
            // --progress asks for the bar there too.
            args::Progress::On => Some(ProgressDrawTarget::term_like(Box::new(AnsiStderr))),
        };
        let Some(target) = target else {
            return Progress {
                bar: None,
                file: None,
                packets: 0,
            };
        };
        let size = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let bar = match size {
            Some(len) => {
                let bar = ProgressBar::with_draw_target(Some(len), target);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{wide_bar} {percent:>3}% {msg} packets, {binary_bytes_per_sec}, {eta} left",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, target);
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} packets, {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        // A forced bar (--progress on a file or pipe) still redraws at a
        // human pace rather than on every update.
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.set_message("0");
        Progress {
            bar: Some(bar),
            file,
            packets: 0,
        }
    }

    /// Counts one packet read from the file.
    #[inline]
    pub fn packet(&mut self) {
        self.packets += 1;
        if self.bar.is_some() && self.packets.is_multiple_of(UPDATE_EVERY) {
            self.update();
        }
    }

    fn update(&mut self) {
        let Some(bar) = &self.bar else { return };
        if let Some(pos) = self.file.as_mut().and_then(|f| f.stream_position().ok()) {
            bar.set_position(pos);
        }
        bar.set_message(self.packets.to_string());
    }

    /// Removes the bar, so that what follows on stderr starts on a clean line.
    pub fn finish(&mut self) {
        self.update();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Standard error driven with ANSI sequences whether or not it is a
/// terminal, 80 columns wide unless `COLUMNS` says otherwise.
#[derive(Debug)]
struct AnsiStderr;

impl AnsiStderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().write_all(s.as_bytes())
    }
}

impl TermLike for AnsiStderr {
    fn width(&self) -> u16 {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|&c| c > 20)
            .unwrap_or(80)
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(s)?;
        self.put("\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().flush()
    }
}
