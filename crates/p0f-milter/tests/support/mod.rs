//! Helpers shared by the Postfix end-to-end tests (`postfix.rs`, against a
//! fake p0f, and `postfix_live.rs` / `postfix_p0f309.rs`, against the live
//! daemons, and the other Postfix tests): the policy service as a child
//! process, swaks and the checks on what was delivered; and, for the live
//! tests, the bridge and client network namespaces ([`LiveNet`]), a
//! fingerprint daemon capturing on the bridge ([`Daemon`]) and the policy
//! scenario run against it ([`LiveNet::v3_scenario`]).
//!
//! Postfix is always an instance of the test's own ([`isolated::Mta`]), and
//! every network name, address and log is the test's own: no test touches
//! the system's Postfix, `/etc/postfix` or `/var/mail`, so a failed or
//! killed test leaves nothing changed, and tests of two runs at once do not
//! meet.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_api::v3;

pub mod greylist;
pub mod isolated;

use isolated::{Mta, Net, Sent};

/// The one recipient of the policy tests, delivered by every [`Mta`]
/// (whose domain is [`isolated::DOMAIN`]).
pub const RCPT: &str = "p0ftest@gl.test";

pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

pub fn must(cmd: &str, args: &[&str]) -> String {
    let o = run(cmd, args);
    assert!(
        o.status.success(),
        "{cmd} {args:?} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Installs Debian's postfix and swaks (and `extra` packages) when missing.
pub fn ensure_packages(extra: &[(&str, &str)]) {
    let mut missing: Vec<&str> = Vec::new();
    for (file, pkg) in [
        ("/usr/sbin/postfix", "postfix"),
        ("/usr/bin/swaks", "swaks"),
    ]
    .iter()
    .chain(extra)
    {
        if !Path::new(file).exists() {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return;
    }
    let sel = "postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string localhost\n";
    let mut c = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .expect("debconf-set-selections");
    c.stdin.take().unwrap().write_all(sel.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
    let _ = run("apt-get", &["update", "-q"]);
    let o = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .expect("apt-get");
    assert!(
        o.status.success(),
        "apt-get install {missing:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The last `n` lines of a file (for failure messages).
pub fn tail(path: &str, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({path}: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A port free on each of `hosts` (for a listener of the test's own on a
/// shared address such as loopback).
pub fn free_port(hosts: &[&str]) -> u16 {
    for _ in 0..100 {
        let first = TcpListener::bind((hosts[0], 0)).expect("bind a free port");
        let port = first.local_addr().unwrap().port();
        if hosts[1..]
            .iter()
            .all(|h| TcpListener::bind((*h, port)).is_ok())
        {
            return port;
        }
    }
    panic!("no port free on all of {hosts:?}");
}

/// The policy service as a child process, logging (`RUST_LOG=debug`) to a
/// file of the test's; killed on drop, and the log's tail printed when the
/// test failed.
pub struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    pub fn start(log: &Path, args: &[String], ready: &dyn Fn() -> bool) -> Service {
        let child = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
            .spawn()
            .expect("start p0f-mailpolicy");
        let s = Service {
            child,
            log: log.to_path_buf(),
        };
        let t = Instant::now();
        while !ready() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "p0f-mailpolicy did not come up; log:\n{}",
                s.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log.display().to_string(), n)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "==== p0f-mailpolicy log {} (tail):\n{}",
                self.log.display(),
                self.log_tail(40)
            );
        }
    }
}

/// Where swaks runs and which addresses it uses.
#[derive(Clone, Debug)]
pub struct Client {
    /// Network namespace to run swaks in (`ip netns exec`); None: the host.
    pub netns: Option<String>,
    /// Source address (`--local-interface`).
    pub addr: String,
    /// Postfix's address and port.
    pub server: (String, u16),
}

impl Client {
    /// A client on the host's loopback, talking to `mta`'s listener of the
    /// same address family.
    pub fn loopback(addr: &str, mta: &Mta) -> Client {
        let v6 = addr.contains(':');
        let (host, port) = mta
            .listen
            .iter()
            .find(|(h, _)| h.contains(':') == v6)
            .expect("the MTA listens in the client's address family");
        Client {
            netns: None,
            addr: addr.to_string(),
            server: (host.trim_matches(['[', ']']).to_string(), *port),
        }
    }

    /// A client inside network namespace `netns`.
    pub fn in_netns(netns: &str, addr: &str, server: (&str, u16)) -> Client {
        Client {
            netns: Some(netns.to_string()),
            addr: addr.to_string(),
            server: (server.0.to_string(), server.1),
        }
    }
}

/// One message from `c`; `forged`: with forged `X-P0F-*` headers in
/// several capitalisations, which the policy must replace or remove.
pub fn send(c: &Client, rcpts: &[&str], marker: &str, forged: bool) -> Sent {
    let mut extra: Vec<&str> = Vec::new();
    if c.server.0.contains(':') {
        extra.push("-6");
    }
    if forged {
        extra.extend([
            "--add-header",
            "X-P0F-Genre: forged",
            "--add-header",
            "x-p0f-link-type: forged too",
            "--add-header",
            "X-P0F-GENRE: forged again",
        ]);
    }
    isolated::swaks(
        c.netns.as_deref(),
        &c.addr,
        (&c.server.0, c.server.1),
        "sender@example.com",
        rcpts,
        marker,
        &extra,
    )
}

pub fn values(h: &[(String, String)], name: &str) -> Vec<String> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// Sends one message from `c` and checks that `mta` delivered it with
/// exactly these `X-P0F-*` headers (None: none at all), whatever the
/// sender forged.
pub fn expect_delivered(
    mta: &Mta,
    c: &Client,
    marker: &str,
    forged: bool,
    genre: Option<&str>,
    link: Option<&str>,
) {
    let s = send(c, &[RCPT], marker, forged);
    assert!(
        s.ok,
        "mail from {c:?} ({marker}) was not accepted:\n{}",
        s.transcript
    );
    let h = mta.delivered(marker);
    assert_eq!(
        values(&h, "X-P0F-Genre"),
        genre.map(|g| vec![g.to_string()]).unwrap_or_default(),
        "{marker}: X-P0F-Genre in {h:?}"
    );
    assert_eq!(
        values(&h, "X-P0F-Link-Type"),
        link.map(|g| vec![g.to_string()]).unwrap_or_default(),
        "{marker}: X-P0F-Link-Type in {h:?}"
    );
}

/// The milter's reply reaches the client verbatim; Postfix words a policy
/// service's reply as `550 5.7.1 <rcpt>: Recipient address rejected: OS Blocked`.
pub fn expect_blocked(c: &Client, marker: &str, verbatim: bool) {
    let s = send(c, &[RCPT], marker, false);
    assert!(
        !s.ok,
        "mail from {c:?} should have been refused:\n{}",
        s.transcript
    );
    let rcpt_line = s
        .transcript
        .lines()
        .skip_while(|l| !l.contains("RCPT TO:"))
        .nth(1)
        .unwrap_or("");
    let ok = if verbatim {
        rcpt_line.ends_with("550 5.7.1 OS Blocked")
    } else {
        rcpt_line.contains(&format!("550 5.7.1 <{RCPT}>")) && rcpt_line.ends_with(": OS Blocked")
    };
    assert!(
        ok,
        "expected `550 5.7.1 ... OS Blocked` right after RCPT TO, transcript:\n{}",
        s.transcript
    );
}

/// A temporary directory that Postfix's smtpd (user postfix) can enter.
pub fn test_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

// ------------------------------------------------------------ live tests
//
// The network of the live tests (see `postfix_live.rs` for the table of
// stacks and fingerprints).

/// One client namespace and how its stack is changed.
pub struct Stack {
    /// The namespace's name after [`Net`]'s prefix (`PREFIX-lin`).
    pub ns: &'static str,
    /// Host numbers of its addresses in the test's /24 ([`Net::addr`]);
    /// the first is the route's source.
    pub hosts: &'static [u8],
    pub mtu: u32,
    /// `initrwnd` of the route to the host: the SYN's window in MSS units.
    pub initrwnd: u32,
    pub sysctls: &'static [(&'static str, &'static str)],
    /// What the daemon must say about the first address (v3).
    pub os: &'static str,
    pub link: &'static str,
}

pub const RMEM: (&str, &str) = ("net.ipv4.tcp_rmem", "4096 131072 6291456");

pub const LIN: Stack = Stack {
    ns: "lin",
    hosts: &[10],
    mtu: 1500,
    initrwnd: 20,
    sysctls: &[RMEM],
    os: "Linux 3.11 and newer",
    link: "Ethernet or modem",
};

pub const WIN: Stack = Stack {
    ns: "win",
    hosts: &[20, 21],
    mtu: 1400,
    initrwnd: 10,
    sysctls: &[
        RMEM,
        ("net.ipv4.ip_default_ttl", "128"),
        ("net.ipv4.tcp_timestamps", "0"),
        ("net.ipv4.tcp_window_scaling", "0"),
    ],
    os: "Windows NT kernel",
    link: "generic tunnel or VPN",
};

pub const UNK: Stack = Stack {
    ns: "unk",
    hosts: &[30],
    mtu: 1492,
    initrwnd: 20,
    sysctls: &[RMEM, ("net.ipv4.tcp_sack", "0")],
    os: "",
    link: "DSL",
};

pub const STACKS: [&Stack; 3] = [&LIN, &WIN, &UNK];

/// The live tests' network: an [`isolated::Net`] of the test's own (prefix
/// and /24), with Postfix on the host's bridge address at `port`.
pub struct LiveNet {
    pub net: Net,
    pub port: u16,
}

impl LiveNet {
    pub fn create(prefix: &str, subnet: u8) -> LiveNet {
        LiveNet {
            net: Net::create(prefix, subnet),
            port: 10025,
        }
    }

    /// The interface a daemon captures on, and its filter.
    pub fn capture(&self) -> (String, String) {
        (self.net.bridge(), format!("tcp port {}", self.port))
    }

    /// The relay client's address: WIN's stack, from its second address,
    /// which is in the trusted networks.
    pub fn relay(&self) -> String {
        self.net.addr(&WIN, 1)
    }

    /// swaks from the `i`-th address of stack `s`, to Postfix.
    pub fn client(&self, s: &Stack, i: usize) -> Client {
        Client::in_netns(
            &self.net.ns(s),
            &self.net.addr(s, i),
            (&self.net.host(), self.port),
        )
    }

    /// Connects from each namespace's first address to Postfix's port (a
    /// listener of ours, before Postfix starts) until the link works; the
    /// daemon sees these SYNs and so knows these hosts.
    pub fn probe(&self) {
        self.net.probe(self.port);
    }

    /// The stacks fingerprint as the tests expect (else the mail checks
    /// would fail for a reason that has nothing to do with the policy).
    /// `within`: how long the daemon may take to know a probed host.
    pub fn check_fingerprints(&self, d: &Daemon, within: Duration) {
        for s in STACKS {
            let a = self.net.addr(s, 0);
            let r = v3_query(&d.sock, &a, within);
            let got = (genre_of(&r), r.link_type.as_string());
            assert_eq!(
                (r.status, got.0.as_str(), got.1.as_str()),
                (v3::Status::Ok, s.os, s.link),
                "namespace {} ({a}) does not fingerprint as expected with {}; it saw:\n{}",
                self.net.ns(s),
                d.name,
                d.syn_of(&a)
            );
            eprintln!(
                "{} {} {a}: {:?}\n{}",
                d.name,
                self.net.ns(s),
                got,
                d.syn_of(&a)
            );
        }
    }

    /// Postfix on the bridge address with the milter of `dir`; the relay
    /// client is in mynetworks (and the service's trusted_networks), the
    /// other namespaces are not.
    pub fn postfix(&self, dir: &LiveDir) -> Mta {
        Mta::start(
            &format!("{}-mx", self.net.prefix),
            None,
            (&self.net.host(), self.port),
            &[
                format!("mynetworks = 127.0.0.1/32 {}/32", self.relay()),
                format!("smtpd_milters = unix:{}", dir.milter_sock.display()),
                "milter_default_action = accept".into(),
            ],
        )
    }

    /// The policy scenario over the v3 API (messages are subject-tagged
    /// with `tag`): the Linux stack's mail is delivered with its genre and
    /// link type (the forged copies replaced), the Windows stack is refused
    /// at RCPT with `550 5.7.1 OS Blocked`, the relay client with the same
    /// stack is accepted with its headers, and the unknown stack's mail
    /// carries the link type only.
    pub fn v3_scenario(&self, mta: &Mta, tag: &str) {
        let (lin, win) = (self.client(&LIN, 0), self.client(&WIN, 0));
        let (relay, unk) = (self.client(&WIN, 1), self.client(&UNK, 0));
        let linux = format!("{tag}-linux");
        expect_delivered(mta, &lin, &linux, true, Some(LIN.os), Some(LIN.link));
        expect_blocked(&win, &format!("{tag}-windows"), true);
        let relayed = format!("{tag}-relay");
        expect_delivered(mta, &relay, &relayed, true, Some(WIN.os), Some(WIN.link));
        let unknown = format!("{tag}-unknown");
        expect_delivered(mta, &unk, &unknown, true, None, Some(UNK.link));
    }

    /// With the daemon stopped and `service` a milter asking its v3 socket:
    /// mail still flows, unfingerprinted (and unblocked: on_p0f_error =
    /// accept), and the service logs why.
    pub fn v3_stopped_scenario(&self, mta: &Mta, service: &Service, tag: &str) {
        let (lin, win) = (self.client(&LIN, 0), self.client(&WIN, 0));
        expect_delivered(mta, &lin, &format!("{tag}-linux"), true, None, None);
        expect_delivered(mta, &win, &format!("{tag}-windows"), true, None, None);
        let log = service.log();
        assert!(
            log.lines().any(|l| l.contains("p0f unusable")
                && l.contains(&lin.addr)
                && l.contains("connect")),
            "the service logs why it goes on unfingerprinted:\n{log}"
        );
    }
}

/// Runs `f` on a thread that has entered network namespace `ns`.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = std::fs::File::open(Path::new("/run/netns").join(ns))
        .unwrap_or_else(|e| panic!("open /run/netns/{ns}: {e}"));
    std::thread::spawn(move || {
        // SAFETY: setns on this thread only, with a namespace file we hold open.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("netns thread panicked")
}

/// A TCP connection from `from` to `to` (2 s timeout).
pub fn connect_from(from: SocketAddr, to: SocketAddr) -> std::io::Result<()> {
    // SAFETY: plain socket calls on a descriptor owned by this function
    // (closed by TcpStream or explicitly below).
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let sin = |a: SocketAddr| {
            let SocketAddr::V4(a) = a else { unreachable!() };
            libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            }
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sin(from);
        if libc::bind(fd, &local as *const _ as *const libc::sockaddr, len) != 0 {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        let stream = <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd);
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        let remote = sin(to);
        // SO_SNDTIMEO bounds a blocking connect on Linux.
        if libc::connect(fd, &remote as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Output of a child stream, collected in the background.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<String>>);

impl Captured {
    pub fn spawn_reader(&self, r: impl Read + Send + 'static) {
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

    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    pub fn wait_for(&self, needle: &str, secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// A fingerprint daemon capturing on the bridge: this workspace's `p0f` or
/// Debian's p0f 3.09b. SIGTERM on drop.
pub struct Daemon {
    /// For messages: which daemon this is.
    pub name: String,
    child: Child,
    pub stdout: Captured,
    pub stderr: Captured,
    /// The v3 API socket.
    pub sock: PathBuf,
    /// The v2 API socket, if the daemon has one.
    pub sock2: Option<PathBuf>,
}

impl Daemon {
    /// Starts `cmd` (which must capture on the test's bridge and serve the v3 API on
    /// `sock`) and waits until it has entered its event loop and its socket
    /// exists.
    pub fn start(name: &str, mut cmd: Command, sock: PathBuf, sock2: Option<PathBuf>) -> Daemon {
        let _ = std::fs::remove_file(&sock);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({cmd:?}): {e}"));
        let stdout = Captured::default();
        let stderr = Captured::default();
        stdout.spawn_reader(child.stdout.take().unwrap());
        stderr.spawn_reader(child.stderr.take().unwrap());
        let mut d = Daemon {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            sock,
            sock2,
        };
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let entered = d.stdout.text().contains("Entered main event loop")
                || d.stderr.text().contains("Entered main event loop");
            if entered && d.sock.exists() {
                break;
            }
            let exited = d.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < end,
                "{name} did not start ({}; socket {} {})\nstdout:\n{}\nstderr:\n{}",
                match exited {
                    Some(st) => format!("exited: {st}"),
                    None => "no `Entered main event loop` within 30 s".into(),
                },
                d.sock.display(),
                if d.sock.exists() { "exists" } else { "missing" },
                d.stdout.text(),
                d.stderr.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// This workspace's daemon on `net`'s bridge, with a v3 and a v2
    /// socket in `dir`.
    pub fn start_rs(bin: &Path, dir: &Path, net: &LiveNet) -> Daemon {
        let (iface, filter) = net.capture();
        let sock = dir.join("p0f.sock");
        let sock2 = dir.join("p0f2.sock");
        let mut cmd = Command::new(bin);
        cmd.args(["-i", &iface, "-s"])
            .arg(&sock)
            .arg("--api-v2")
            .arg(&sock2)
            .arg(filter);
        Daemon::start("p0f-rs", cmd, sock, Some(sock2))
    }

    pub fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's SYN observation for a client address (for messages).
    pub fn syn_of(&self, addr: &str) -> String {
        let out = self.stdout.text();
        let needle = format!(".-[ {addr}/");
        out.split("\n\n")
            .filter(|b| b.contains(&needle) && b.contains("(syn)"))
            .last()
            .unwrap_or("(no SYN from this address seen)")
            .to_string()
    }

    /// Prints the daemon's output when the test fails (while the returned
    /// guard lives; Postfix and the service print their own logs).
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics {
            name: self.name.clone(),
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
        }
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

/// On a failing test, prints what is needed to see why.
pub struct Diagnostics {
    name: String,
    stdout: Captured,
    stderr: Captured,
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let out = self.stdout.text();
        let lines: Vec<&str> = out.lines().collect();
        eprintln!(
            "==== {} stderr:\n{}\n==== {} stdout (last 80 lines):\n{}",
            self.name,
            self.stderr.text(),
            self.name,
            lines[lines.len().saturating_sub(80)..].join("\n"),
        );
    }
}

/// One v3 query, retried until the host is known or `within` has passed.
pub fn v3_query(sock: &Path, addr: &str, within: Duration) -> v3::Response {
    let addr: IpAddr = addr.parse().unwrap();
    let end = Instant::now() + within;
    loop {
        let mut s = UnixStream::connect(sock).expect("connect to p0f's API socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&v3::Query { addr }.encode()).unwrap();
        let mut b = [0u8; v3::RESPONSE_LEN];
        s.read_exact(&mut b).unwrap();
        let r = v3::Response::decode(&b).unwrap();
        if r.status == v3::Status::Ok || Instant::now() > end {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn genre_of(r: &v3::Response) -> String {
    let name = r.os_name.as_string();
    let flavor = r.os_flavor.as_string();
    if flavor.is_empty() {
        name
    } else {
        format!("{name} {flavor}")
    }
}

/// The files of a live test: the blocked-OS list (`/windows/` and more),
/// the service's config (the relay client trusted, `timeout_ms`), where
/// the milter socket goes, and the service's log.
pub struct LiveDir {
    pub dir: tempfile::TempDir,
    pub milter_sock: PathBuf,
}

impl LiveDir {
    pub fn create(prefix: &str, timeout_ms: u64, net: &LiveNet) -> LiveDir {
        let dir = test_dir(prefix);
        std::fs::write(
            dir.path().join("p0f_blocked_operating_systems"),
            "# live test\nWindows XP\n/windows/\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mailpolicy.toml"),
            format!(
                "trusted_networks = [\"{}/32\"]\ntimeout_ms = {timeout_ms}\n",
                net.relay()
            ),
        )
        .unwrap();
        let milter_sock = dir.path().join("milter.sock");
        LiveDir { dir, milter_sock }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The service as a milter on [`Self::milter_sock`], asking p0f as
    /// `plugin_line` says.
    pub fn milter(&self, plugin_line: String) -> Service {
        let ms = self.milter_sock.clone();
        let _ = std::fs::remove_file(&ms);
        let dir = self.path();
        Service::start(
            &dir.join("service.log"),
            &[
                "--config".into(),
                dir.join("mailpolicy.toml").display().to_string(),
                "--plugin-line".into(),
                plugin_line,
                "--blocked-os".into(),
                dir.join("p0f_blocked_operating_systems")
                    .display()
                    .to_string(),
                "--milter".into(),
                format!("unix:{}", ms.display()),
                "--socket-mode".into(),
                "666".into(),
            ],
            &move || ms.exists(),
        )
    }
}

/// The `p0f` binary of crate p0f-cli, built (or brought up to date) with
/// the same profile and target directory as this test: `cargo test
/// --workspace` has built it already and this is quick; `cargo test -p
/// p0f-milter` builds it here. `P0F_BIN` overrides.
pub fn p0f_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("P0F_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/postfix_live-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let bin = profile_dir.join("p0f");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "-p", "p0f-cli", "--bin", "p0f", "--target-dir"])
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let t = Instant::now();
    let o = cmd.output().expect("run cargo build for p0f");
    assert!(
        o.status.success(),
        "cargo build -p p0f-cli --bin p0f failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(bin.exists(), "{} missing after cargo build", bin.display());
    eprintln!(
        "p0f binary: {} (cargo build: {:.1?})",
        bin.display(),
        t.elapsed()
    );
    bin
}
