//! Output buffers that observations are rendered straight into.
//!
//! std's `BufWriter` keeps its buffer private, so text for it has to be
//! built somewhere else first and then copied in: one extra copy of every
//! console block and log line, plus the scratch buffer's bookkeeping. On a
//! busy capture printing is most of the work, so the console and the log
//! use [`OutBuf`] instead, whose buffer the renderers append to directly.

use std::io::{self, Write};

/// Somewhere an observation's text can be appended.
pub trait RenderTarget {
    /// The buffer to append to.
    fn buffer(&mut self) -> &mut Vec<u8>;
    /// Called after each append; may write the buffer out.
    fn appended(&mut self) -> io::Result<()>;
}

/// The daemon renders a batch of packets into a plain `Vec` and writes it
/// out after releasing the engine lock.
impl RenderTarget for Vec<u8> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        self
    }

    fn appended(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A write buffer over `W`, written out whenever it holds [`OutBuf::SPILL`]
/// bytes or more, on `flush`, and when dropped.
pub struct OutBuf<W: Write> {
    buf: Vec<u8>,
    inner: W,
}

impl<W: Write> OutBuf<W> {
    /// Bytes buffered before a write to `W`. The buffer is allocated with
    /// twice this, so that a rendered observation never makes it grow.
    pub const SPILL: usize = 32 * 1024;

    pub fn new(inner: W) -> OutBuf<W> {
        OutBuf {
            buf: Vec::with_capacity(2 * Self::SPILL),
            inner,
        }
    }

    #[cfg(test)]
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    fn spill_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= Self::SPILL {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> io::Result<()> {
        // Cleared even on error: a failed write is reported once, and the
        // buffer must not grow behind a dead descriptor.
        let result = self.inner.write_all(&self.buf);
        self.buf.clear();
        result
    }
}

impl<W: Write> RenderTarget for OutBuf<W> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn appended(&mut self) -> io::Result<()> {
        self.spill_if_full()
    }
}

impl<W: Write> Write for OutBuf<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.spill_if_full()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for OutBuf<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that records each write call.
    #[derive(Default)]
    struct Calls(Vec<Vec<u8>>);

    impl Write for &mut Calls {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.push(data.to_vec());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn holds_small_output_until_flush() {
        let mut calls = Calls::default();
        {
            let mut out = OutBuf::new(&mut calls);
            out.buffer().extend_from_slice(b"block one\n");
            out.appended().unwrap();
            writeln!(out, "status {}", 2).unwrap();
            assert!(out.get_ref().0.is_empty());
            out.flush().unwrap();
        }
        assert_eq!(calls.0.concat(), b"block one\nstatus 2\n");
    }

    #[test]
    fn spills_when_full_and_on_drop() {
        let mut calls = Calls::default();
        {
            let mut out = OutBuf::new(&mut calls);
            let line = [b'x'; 1000];
            for _ in 0..40 {
                out.buffer().extend_from_slice(&line);
                out.appended().unwrap();
            }
            // 33 lines reach the spill size; the other 7 wait.
            assert_eq!(out.get_ref().0.len(), 1);
            assert_eq!(out.get_ref().0[0].len(), 33_000);
        }
        assert_eq!(calls.0.len(), 2);
        assert_eq!(calls.0.concat().len(), 40_000);
    }

    /// A writer that always fails.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk gone"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_reported_and_does_not_keep_growing() {
        let mut out = OutBuf::new(Broken);
        let line = [b'y'; 40_000];
        out.buffer().extend_from_slice(&line);
        assert!(out.appended().is_err());
        assert!(out.buffer().is_empty());
    }
}
