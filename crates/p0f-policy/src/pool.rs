//! Open connections to p0f's v3 socket, kept for the next query.
//!
//! p0f 3.09b and p0f-rs both answer any number of v3 queries on one
//! connection, so a busy service need not connect (and p0f accept and
//! close) once per SMTP connection. Not many are kept, and not for long:
//! an idle connection holds one of p0f's client slots (`-S`, 20 by default
//! in 3.09b, which has no idle timeout of its own). [`MAX_IDLE`] leaves
//! 3.09b's default four slots for other clients; with 4 instead, a service
//! answering 50 connections at once opened a socket for one query in eight
//! (`strace -c`), about a tenth of its CPU per decision.
//!
//! A kept connection may have been closed by the daemon meanwhile (a
//! restart; p0f-rs closes clients beyond its `-S` after one answer). Such a
//! connection fails at once, before any byte of an answer: the query is
//! then sent once on a new connection. A timeout is never retried.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;

/// Most idle connections kept per p0f socket.
pub const MAX_IDLE: usize = 16;
/// How long an idle connection is kept.
pub const IDLE_FOR: Duration = Duration::from_secs(5);

/// Idle connections to one socket.
#[derive(Debug, Default)]
pub struct Pool {
    idle: Mutex<Vec<(UnixStream, Instant)>>,
}

impl Pool {
    /// The most recently used idle connection that is young enough.
    pub fn take(&self) -> Option<UnixStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, at)| at.elapsed() < IDLE_FOR);
        idle.pop().map(|(s, _)| s)
    }

    /// Keeps a connection that just answered, if there is room.
    pub fn put(&self, s: UnixStream) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, at)| at.elapsed() < IDLE_FOR);
        if idle.len() < MAX_IDLE {
            idle.push((s, Instant::now()));
        }
    }

    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
