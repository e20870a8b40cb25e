//! A fake p0f daemon for tests: serves the v3 and v2 query APIs on a Unix
//! socket with replies configured per client address, and can misbehave on
//! demand (hang, bad magic, short replies, close at once).
//!
//! It runs on its own threads, so tests with or without a Tokio runtime can
//! use it. The protocol is told apart by the query's magic, so one socket
//! answers both versions. Replies are built with `p0f_api`'s encoders.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use p0f_api::{smtp, v2, v3, FixedStr};

/// How the fake answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Answer,
    /// Accepts, reads the query, never answers (a hung p0f).
    Hang,
    /// Answers with a wrong magic.
    BadMagic,
    /// Sends half a reply, then closes.
    ShortReply,
    /// Closes without answering.
    Close,
}

#[derive(Default)]
struct State {
    v3: HashMap<IpAddr, v3::Response>,
    v2: HashMap<Ipv4Addr, v2::Response>,
    behaviour: Option<Behaviour>,
    v3_queries: Vec<IpAddr>,
    v2_queries: Vec<v2::Query>,
    /// Answer the SMTP extension (p0f-rs); off: answer it as p0f 3.09b
    /// does, with the v3 bad-query reply.
    smtp_on: bool,
    /// SMTP verdicts per client, given out in order (the last one again
    /// and again), as a daemon that is catching up would.
    smtp: HashMap<IpAddr, Vec<smtp::Verdict>>,
    smtp_queries: Vec<(IpAddr, u16)>,
}

/// A running fake p0f. Dropping it stops it and removes the socket.
pub struct FakeP0f {
    path: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A v3 OK reply for an OS.
pub fn v3_os(name: &str, flavor: &str, link: &str, match_q: u8) -> v3::Response {
    let mut r = v3::Response::empty(v3::Status::Ok);
    r.os_name = FixedStr::new(name);
    r.os_flavor = FixedStr::new(flavor);
    r.link_type = FixedStr::new(link);
    r.os_match_q = match_q;
    r.distance = 0;
    r.first_seen = 1_700_000_000;
    r.last_seen = 1_700_000_100;
    r.total_conn = 2;
    r
}

/// A v2 OK reply.
pub fn v2_os(genre: &str, detail: &str, link: &str) -> v2::Response {
    let mut r = v2::Response::empty(0, v2::RESP_OK);
    r.genre = FixedStr::new_limited(genre, 19);
    r.detail = FixedStr::new_limited(detail, 39);
    r.link = FixedStr::new_limited(link, 29);
    r.dist = 0;
    r
}

impl FakeP0f {
    /// Listens on `path` (an old socket file there is removed first).
    pub fn start(path: impl AsRef<Path>) -> std::io::Result<FakeP0f> {
        let path = path.as_ref().to_path_buf();
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        // The MTA side may run as another user (postfix): like p0f, 0666.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
        listener.set_nonblocking(true)?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (st, sp) = (st.clone(), sp.clone());
                        std::thread::spawn(move || serve(s, st, sp));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(FakeP0f {
            path,
            state,
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The v3 reply for a client address.
    pub fn set_v3(&self, ip: IpAddr, r: v3::Response) {
        self.state.lock().unwrap().v3.insert(ip, r);
    }

    /// The v2 reply for any connection from a client address (the id is
    /// echoed from the query).
    pub fn set_v2(&self, ip: Ipv4Addr, r: v2::Response) {
        self.state.lock().unwrap().v2.insert(ip, r);
    }

    /// Answers the SMTP query for `ip` with these verdicts in turn (the
    /// last one from then on), and turns the extension on.
    pub fn set_smtp(&self, ip: IpAddr, seq: Vec<smtp::Verdict>) {
        let mut st = self.state.lock().unwrap();
        st.smtp_on = true;
        st.smtp.insert(ip, seq);
    }

    /// SMTP queries received: (address, port), in order.
    pub fn smtp_queries(&self) -> Vec<(IpAddr, u16)> {
        self.state.lock().unwrap().smtp_queries.clone()
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.state.lock().unwrap().behaviour = Some(b);
    }

    /// Addresses asked about over v3, in order.
    pub fn v3_queries(&self) -> Vec<IpAddr> {
        self.state.lock().unwrap().v3_queries.clone()
    }

    /// v2 queries received, in order.
    pub fn v2_queries(&self) -> Vec<v2::Query> {
        self.state.lock().unwrap().v2_queries.clone()
    }

    /// Stops serving and removes the socket.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for FakeP0f {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Reads exactly `buf.len()` bytes unless stopped or closed.
fn read_full(s: &mut UnixStream, buf: &mut [u8], stop: &AtomicBool) -> bool {
    let mut got = 0;
    while got < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match s.read(&mut buf[got..]) {
            Ok(0) => return false,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

fn serve(mut s: UnixStream, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    loop {
        let mut magic = [0u8; 4];
        if !read_full(&mut s, &mut magic, &stop) {
            return;
        }
        let m = u32::from_ne_bytes(magic);
        let behaviour = state.lock().unwrap().behaviour.unwrap_or(Behaviour::Answer);
        let smtp_on = state.lock().unwrap().smtp_on;
        let reply: Vec<u8> = if m == smtp::QUERY_MAGIC && smtp_on {
            let mut q = [0u8; smtp::QUERY_LEN];
            q[..4].copy_from_slice(&magic);
            if !read_full(&mut s, &mut q[4..], &stop) {
                return;
            }
            match smtp::Query::decode(&q) {
                Ok(query) => {
                    let mut st = state.lock().unwrap();
                    st.smtp_queries.push((query.addr, query.port));
                    let host = st
                        .v3
                        .get(&query.addr)
                        .copied()
                        .unwrap_or_else(|| v3::Response::empty(v3::Status::NoMatch));
                    let verdict = match st.smtp.get_mut(&query.addr) {
                        Some(seq) if seq.len() > 1 => seq.remove(0),
                        Some(seq) => seq.first().copied().unwrap_or_default(),
                        None => smtp::Verdict::default(),
                    };
                    smtp::Response {
                        host,
                        smtp: verdict,
                    }
                    .encode()
                    .to_vec()
                }
                Err(_) => smtp::Response {
                    host: v3::Response::empty(v3::Status::BadQuery),
                    smtp: smtp::Verdict::default(),
                }
                .encode()
                .to_vec(),
            }
        } else if m == v2::MAGIC {
            let mut q = [0u8; v2::QUERY_LEN];
            q[..4].copy_from_slice(&magic);
            if !read_full(&mut s, &mut q[4..], &stop) {
                return;
            }
            match v2::Query::decode(&q) {
                Ok(query) => {
                    let mut st = state.lock().unwrap();
                    st.v2_queries.push(query);
                    let mut r = st
                        .v2
                        .get(&query.src)
                        .copied()
                        .unwrap_or_else(|| v2::Response::empty(0, v2::RESP_NOMATCH));
                    r.id = query.id;
                    r.encode().to_vec()
                }
                Err(_) => v2::Response::empty(0, v2::RESP_BADQUERY).encode().to_vec(),
            }
        } else {
            let mut q = [0u8; v3::QUERY_LEN];
            q[..4].copy_from_slice(&magic);
            if !read_full(&mut s, &mut q[4..], &stop) {
                return;
            }
            match v3::Query::decode(&q) {
                Ok(query) => {
                    let mut st = state.lock().unwrap();
                    st.v3_queries.push(query.addr);
                    st.v3
                        .get(&query.addr)
                        .copied()
                        .unwrap_or_else(|| v3::Response::empty(v3::Status::NoMatch))
                        .encode()
                        .to_vec()
                }
                Err(_) => v3::Response::empty(v3::Status::BadQuery).encode().to_vec(),
            }
        };
        match behaviour {
            Behaviour::Answer => {
                if s.write_all(&reply).is_err() {
                    return;
                }
                if m == v2::MAGIC {
                    return; // v2 is one query per connection
                }
            }
            Behaviour::Hang => {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Behaviour::BadMagic => {
                let mut r = reply;
                r[0] ^= 0xff;
                let _ = s.write_all(&r);
                return;
            }
            Behaviour::ShortReply => {
                let _ = s.write_all(&reply[..reply.len() / 2]);
                return;
            }
            Behaviour::Close => return,
        }
    }
}
