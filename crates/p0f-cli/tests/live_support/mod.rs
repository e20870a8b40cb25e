//! Helpers for the live-capture tests: a daemon started and stopped by the
//! test, traffic the test makes itself on loopback, and API clients.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_api::v3;

/// Live capture needs root (CAP_NET_RAW) and libpcap. Outside CI a test
/// without them is skipped with a note; in CI (CI=true) it fails.
pub fn can_capture() -> bool {
    // SAFETY: geteuid has no side effects.
    let root = unsafe { libc::geteuid() } == 0;
    let pcap = p0f_capture::libpcap_available();
    if root && pcap {
        return true;
    }
    let why = if root {
        "libpcap is not installed"
    } else {
        "not running as root"
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("live capture tests cannot run in CI: {why}");
    }
    eprintln!("note: skipping a live capture test: {why}");
    false
}

/// A free TCP port on loopback (v4 and v6), with listeners kept open.
pub struct Server {
    pub port: u16,
    pub v4: TcpListener,
    pub v6: Option<TcpListener>,
}

impl Server {
    pub fn new() -> Server {
        for _ in 0..50 {
            let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = v4.local_addr().unwrap().port();
            match TcpListener::bind(("::1", port)) {
                Ok(v6) => {
                    return Server {
                        port,
                        v4,
                        v6: Some(v6),
                    }
                }
                Err(_) => continue,
            }
        }
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        Server { port, v4, v6: None }
    }

    /// One complete TCP connection to `addr` with a little data; returns
    /// the client's port.
    pub fn connect(&self, addr: IpAddr) -> u16 {
        let c = TcpStream::connect((addr, self.port)).unwrap();
        let local = c.local_addr().unwrap().port();
        let l = if addr.is_ipv4() {
            &self.v4
        } else {
            self.v6.as_ref().unwrap()
        };
        let (mut a, _) = l.accept().unwrap();
        (&c).write_all(b"hello\r\n").unwrap();
        let mut b = [0u8; 7];
        a.read_exact(&mut b).unwrap();
        local
    }
}

/// Collected output of a child stream.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<String>>);

impl Captured {
    fn spawn_reader(&self, r: impl Read + Send + 'static) {
        let buf = self.0.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(r);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                buf.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
    }

    /// Collects everything `r` produces, in the background.
    pub fn spawn_reader_pub(&self, r: impl Read + Send + 'static) {
        self.spawn_reader(r);
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    pub fn wait_for(&self, needle: &str, secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// A p0f daemon run by a test; stopped with SIGTERM when dropped.
pub struct Daemon {
    pub child: Child,
    pub stdout: Captured,
    pub stderr: Captured,
    pub sock: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `p0f -i lo -s DIR/p0f.sock EXTRA... 'tcp port PORT'` and waits
    /// for its main loop.
    pub fn start(port: u16, extra: &[&str]) -> Daemon {
        Self::start_env(port, extra, &[])
    }

    /// [`Daemon::start`] with SMTP observation on `port` (`--smtp-ports
    /// PORT`), for tests that run mail to a server on a loopback port.
    pub fn start_smtp(port: u16, extra: &[&str]) -> Daemon {
        let p = port.to_string();
        let mut args = vec!["--smtp-ports", p.as_str()];
        args.extend_from_slice(extra);
        Self::start_env(port, &args, &[])
    }

    pub fn start_env(port: u16, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("p0f.sock");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_p0f"));
        cmd.args(["-i", "lo", "-s"])
            .arg(&sock)
            .args(extra)
            .arg(format!("tcp port {port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = Captured::default();
        let stderr = Captured::default();
        stdout.spawn_reader(child.stdout.take().unwrap());
        stderr.spawn_reader(child.stderr.take().unwrap());
        let d = Daemon {
            child,
            stdout,
            stderr,
            sock,
            dir,
        };
        // With --json, status lines go to stderr.
        let status = if extra.contains(&"--json") {
            &d.stderr
        } else {
            &d.stdout
        };
        assert!(
            status.wait_for("[+] Entered main event loop.", 20),
            "daemon did not start\nstdout:\n{}\nstderr:\n{}",
            d.stdout.text(),
            d.stderr.text()
        );
        d
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the readers drain.
                std::thread::sleep(Duration::from_millis(100));
                return st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("daemon did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            for _ in 0..100 {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One v3 query over a fresh connection, with a time limit.
pub fn query(sock: &Path, addr: IpAddr) -> v3::Response {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&v3::Query { addr }.encode()).unwrap();
    let mut b = [0u8; v3::RESPONSE_LEN];
    s.read_exact(&mut b).unwrap();
    v3::Response::decode(&b).unwrap()
}

/// Waits until the daemon knows `addr` (packets are processed
/// asynchronously), up to 5 s.
pub fn query_until_known(sock: &Path, addr: IpAddr) -> v3::Response {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let r = query(sock, addr);
        if r.status == v3::Status::Ok || Instant::now() > end {
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to 5 s) until the daemon's answer about `addr` satisfies
/// `done`: the kernel hands packets over up to a millisecond after they
/// arrive, so a host can be known before its latest connection is counted.
pub fn query_until(
    sock: &Path,
    addr: IpAddr,
    done: impl Fn(&v3::Response) -> bool,
) -> v3::Response {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let r = query(sock, addr);
        if done(&r) || Instant::now() > end {
            return r;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A well-behaved client's query must be answered quickly.
pub fn assert_quick_answer(sock: &Path, addr: IpAddr, what: &str) {
    let t = Instant::now();
    let r = query(sock, addr);
    let took = t.elapsed();
    assert_eq!(r.status, v3::Status::Ok, "{what}: bad status");
    assert!(
        took < Duration::from_millis(250),
        "{what}: a well-behaved query took {took:?}"
    );
}

/// A TCP port on 127.0.0.1 that nothing listens on: the kernel answers a
/// SYN to it with an RST.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Sends one SYN from each source address to 127.0.0.1:`port`, a closed
/// port, so that the kernel answers each with an RST: two packets per
/// source. The connects are non-blocking; on loopback both packets have
/// been through the stack when the call returns.
pub fn syn_burst(sources: &[std::net::Ipv4Addr], port: u16) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let dst = sockaddr(std::net::Ipv4Addr::LOCALHOST, port);
    let mut open = Vec::with_capacity(sources.len());
    for &src in sources {
        // SAFETY: plain socket calls on a descriptor we own; the
        // sockaddrs are valid for their stated length.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            let local = sockaddr(src, 0);
            let rc = libc::bind(raw, (&local as *const libc::sockaddr_in).cast(), len);
            assert_eq!(rc, 0, "bind {src}: {}", std::io::Error::last_os_error());
            libc::connect(raw, (&dst as *const libc::sockaddr_in).cast(), len);
            open.push(fd);
        }
    }
}

/// Packets the daemon's engine has processed, from a p0f 2 status query on
/// its v2 socket (answered at once, whatever the API grace).
pub fn packets_processed(v2_sock: &Path) -> u32 {
    use p0f_api::v2;
    let q = v2::Query {
        qtype: v2::QTYPE_STATUS,
        id: 1,
        src: std::net::Ipv4Addr::UNSPECIFIED,
        dst: std::net::Ipv4Addr::UNSPECIFIED,
        src_port: 0,
        dst_port: 0,
    };
    let mut s = UnixStream::connect(v2_sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&q.encode()).unwrap();
    let mut b = [0u8; v2::STATUS_LEN];
    s.read_exact(&mut b).unwrap();
    // The packet count is the status reply's third word (offset 36).
    u32::from_ne_bytes(b[36..40].try_into().unwrap())
}

/// One SMTP extension query (docs/smtp.md) over a fresh connection: the
/// reply, or None when the server answered with p0f 3's 232-byte
/// bad-query reply (a p0f 3.09b daemon).
pub fn query_smtp(sock: &Path, addr: IpAddr, port: u16) -> Option<p0f_api::smtp::Response> {
    use p0f_api::smtp;
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&smtp::Query { addr, port }.encode()).unwrap();
    let mut b = [0u8; smtp::RESPONSE_LEN];
    s.read_exact(&mut b[..v3::RESPONSE_LEN]).unwrap();
    if smtp::is_unsupported_reply(&b[..v3::RESPONSE_LEN]) {
        return None;
    }
    s.read_exact(&mut b[v3::RESPONSE_LEN..]).unwrap();
    Some(smtp::Response::decode(&b).expect("an SMTP reply"))
}

/// Asks the SMTP query until `done` holds (up to 5 s; the capture runs
/// behind the test's own traffic).
pub fn query_smtp_until(
    sock: &Path,
    addr: IpAddr,
    port: u16,
    done: impl Fn(&p0f_api::smtp::Response) -> bool,
) -> p0f_api::smtp::Response {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let r = query_smtp(sock, addr, port).expect("a p0f-rs daemon");
        if done(&r) || Instant::now() > end {
            return r;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
