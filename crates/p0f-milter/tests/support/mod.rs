//! Helpers shared by the Postfix end-to-end tests (`postfix.rs`, against a
//! fake p0f, and `postfix_live.rs` / `postfix_p0f309.rs`, against the live
//! daemons): Debian's Postfix configured for a test and restored afterwards,
//! the policy service as a child process, swaks, and the mailbox; and, for
//! the live tests, the bridge and client network namespaces ([`TestNet`]),
//! a fingerprint daemon capturing on the bridge ([`Daemon`]) and the policy
//! scenario run against it ([`v3_scenario`]).
//!
//! Each test file is its own test binary with a single test, and cargo runs
//! test binaries one after another, so the tests never share /etc/postfix
//! or the bridge and namespace names.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_api::v3;

pub mod greylist;
pub mod isolated;

pub const PORT: u16 = 10025;
pub const USER: &str = "p0ftest";
pub const MAILBOX: &str = "/var/mail/p0ftest";
pub const POSTFIX_LOG: &str = "/var/log/p0f-mailpolicy-test-postfix.log";
pub const SERVICE_LOG: &str = "/tmp/p0f-mailpolicy-test-service.log";

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

/// Postfix, configured for the test; stopped and restored on drop.
///
/// Listens on `listen` (port [`PORT`], besides Debian's port 25 service);
/// `settings` are `postconf -e` lines applied after the defaults, so they
/// may override them (`inet_interfaces`, `mynetworks`, ...).
pub struct Postfix {
    main_cf: String,
    master_cf: String,
    listen: String,
}

impl Postfix {
    pub fn start(listen: &str, settings: &[String]) -> Postfix {
        let main_cf = std::fs::read_to_string("/etc/postfix/main.cf").expect("main.cf");
        let master_cf = std::fs::read_to_string("/etc/postfix/master.cf").expect("master.cf");
        let _ = run("postfix", &["stop"]);
        let pf = Postfix {
            main_cf,
            master_cf,
            listen: listen.to_string(),
        };
        if run("id", &[USER]).status.code() != Some(0) {
            must("useradd", &["-m", USER]);
        }
        let mut base: Vec<String> = [
            "inet_interfaces = loopback-only",
            "inet_protocols = all",
            "myhostname = p0ftest.localdomain",
            "mydestination = localhost, $myhostname",
            "mynetworks = 127.0.0.1/32 [::1]/128",
            "alias_maps =",
            "alias_database =",
            // No DNS in the test: clients' reverse lookups would only wait.
            "smtpd_peername_lookup = no",
            "smtpd_milters =",
            "milter_default_action = accept",
            "smtpd_recipient_restrictions =",
            "smtpd_data_restrictions =",
            "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        base.push(format!("maillog_file = {POSTFIX_LOG}"));
        base.extend(settings.iter().cloned());
        for s in &base {
            must("postconf", &["-e", s]);
        }
        must(
            "postconf",
            &["-M", &format!("{PORT}/inet={PORT} inet n - n - - smtpd")],
        );
        let _ = std::fs::remove_file(MAILBOX);
        must("postfix", &["start"]);
        pf.wait_listening();
        pf
    }

    pub fn reconfigure(&self, settings: &[String]) {
        for s in settings {
            must("postconf", &["-e", s]);
        }
        must("postfix", &["reload"]);
        std::thread::sleep(Duration::from_secs(2));
        self.wait_listening();
    }

    fn wait_listening(&self) {
        let t = Instant::now();
        while TcpStream::connect((self.listen.as_str(), PORT)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "Postfix did not listen on {}:{PORT} within 60 s; log tail:\n{}",
                self.listen,
                tail(POSTFIX_LOG, 30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = run("postfix", &["stop"]);
        let _ = std::fs::write("/etc/postfix/main.cf", &self.main_cf);
        let _ = std::fs::write("/etc/postfix/master.cf", &self.master_cf);
    }
}

/// The policy service as a child process (log in [`SERVICE_LOG`]); killed
/// on drop.
pub struct Service(Child);

impl Service {
    pub fn start(args: &[String], ready: &dyn Fn() -> bool) -> Service {
        let child = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(SERVICE_LOG).unwrap()))
            .spawn()
            .expect("start p0f-mailpolicy");
        let s = Service(child);
        let t = Instant::now();
        while !ready() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "p0f-mailpolicy did not come up; log:\n{}",
                tail(SERVICE_LOG, 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where swaks runs and which addresses it uses.
#[derive(Clone, Debug)]
pub struct Client {
    /// Network namespace to run swaks in (`ip netns exec`); None: the host.
    pub netns: Option<String>,
    /// Source address (`--local-interface`).
    pub addr: String,
    /// Postfix's address.
    pub server: String,
}

impl Client {
    /// A client on the host's loopback, talking to Postfix on loopback.
    pub fn loopback(addr: &str) -> Client {
        let server = if addr.contains(':') {
            "::1"
        } else {
            "127.0.0.1"
        };
        Client {
            netns: None,
            addr: addr.to_string(),
            server: server.to_string(),
        }
    }

    /// A client inside network namespace `netns`.
    pub fn in_netns(netns: &str, addr: &str, server: &str) -> Client {
        Client {
            netns: Some(netns.to_string()),
            addr: addr.to_string(),
            server: server.to_string(),
        }
    }
}

pub struct Sent {
    pub ok: bool,
    pub transcript: String,
}

pub fn swaks(c: &Client, rcpts: &[&str], marker: &str, forged: bool) -> Sent {
    let port = PORT.to_string();
    let to = rcpts.join(",");
    let subject = format!("Subject: {marker}");
    let mut args: Vec<&str> = Vec::new();
    if let Some(ns) = &c.netns {
        args.extend(["netns", "exec", ns.as_str()]);
    }
    args.extend([
        "swaks",
        "--server",
        &c.server,
        "--port",
        &port,
        "--local-interface",
        &c.addr,
        "--from",
        "sender@example.com",
        "--to",
        &to,
        "--header",
        &subject,
        "--timeout",
        "60",
        "--body",
        "test body",
    ]);
    if c.server.contains(':') {
        args.push("-6");
    }
    if forged {
        // Forged copies, in several capitalisations.
        args.extend([
            "--add-header",
            "X-P0F-Genre: forged",
            "--add-header",
            "x-p0f-link-type: forged too",
            "--add-header",
            "X-P0F-GENRE: forged again",
        ]);
    }
    let o = if c.netns.is_some() {
        run("ip", &args)
    } else {
        run(args[0], &args[1..])
    };
    Sent {
        ok: o.status.success(),
        transcript: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The headers of the delivered message with this subject (waits for it).
pub fn delivered(marker: &str) -> Vec<(String, String)> {
    let t = Instant::now();
    loop {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(MAILBOX) {
            let _ = f.read_to_string(&mut text);
        }
        for msg in text.split("\nFrom ") {
            let head = msg.split("\n\n").next().unwrap_or("");
            if head.contains(&format!("Subject: {marker}\n"))
                || head.ends_with(&format!("Subject: {marker}"))
            {
                let mut out: Vec<(String, String)> = Vec::new();
                for line in head.lines().skip(1) {
                    if line.starts_with([' ', '\t']) {
                        if let Some(l) = out.last_mut() {
                            l.1.push_str(line);
                        }
                    } else if let Some((k, v)) = line.split_once(':') {
                        out.push((k.to_string(), v.trim().to_string()));
                    }
                }
                return out;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "message {marker:?} not delivered to {MAILBOX} within 60 s; Postfix log tail:\n{}",
            tail(POSTFIX_LOG, 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn values(h: &[(String, String)], name: &str) -> Vec<String> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// Sends one message from `c` and checks that it is delivered with exactly
/// these `X-P0F-*` headers (None: none at all), whatever the sender forged.
pub fn expect_delivered(
    c: &Client,
    marker: &str,
    forged: bool,
    genre: Option<&str>,
    link: Option<&str>,
) {
    let s = swaks(c, &["p0ftest@localhost"], marker, forged);
    assert!(
        s.ok,
        "mail from {c:?} ({marker}) was not accepted:\n{}",
        s.transcript
    );
    let h = delivered(marker);
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
    let s = swaks(c, &["p0ftest@localhost"], marker, false);
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
        rcpt_line.contains("550 5.7.1 <p0ftest@localhost>") && rcpt_line.ends_with(": OS Blocked")
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

pub const HOST: &str = "10.231.0.1";
pub const BRIDGE: &str = "p0ft-br0";

/// One client namespace and how its stack is changed.
pub struct Stack {
    pub ns: &'static str,
    /// Host side of the veth pair (the namespace side is `eth0`).
    pub veth: &'static str,
    /// Addresses in the namespace; the first is the route's source.
    pub addrs: &'static [&'static str],
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
    ns: "p0ft-lin",
    veth: "p0ft-lin-h",
    addrs: &["10.231.0.10"],
    mtu: 1500,
    initrwnd: 20,
    sysctls: &[RMEM],
    os: "Linux 3.11 and newer",
    link: "Ethernet or modem",
};

pub const WIN: Stack = Stack {
    ns: "p0ft-win",
    veth: "p0ft-win-h",
    addrs: &["10.231.0.20", "10.231.0.21"],
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
    ns: "p0ft-unk",
    veth: "p0ft-unk-h",
    addrs: &["10.231.0.30"],
    mtu: 1492,
    initrwnd: 20,
    sysctls: &[RMEM, ("net.ipv4.tcp_sack", "0")],
    os: "",
    link: "DSL",
};

pub const STACKS: [&Stack; 3] = [&LIN, &WIN, &UNK];

/// The relay client: WIN's stack, from an address in the trusted networks.
pub const RELAY: &str = "10.231.0.21";

fn ip(args: &[&str]) {
    must("ip", args);
}

/// The test network; removed on drop (deleting a namespace deletes its
/// veth pair).
pub struct TestNet;

impl TestNet {
    pub fn create() -> TestNet {
        Self::remove();
        // From here on, drop cleans up whatever was made.
        let net = TestNet;
        ip(&["link", "add", BRIDGE, "type", "bridge"]);
        ip(&["addr", "add", &format!("{HOST}/24"), "dev", BRIDGE]);
        ip(&["link", "set", BRIDGE, "up"]);
        for s in STACKS {
            ip(&["netns", "add", s.ns]);
            ip(&[
                "link", "add", s.veth, "type", "veth", "peer", "name", "eth0", "netns", s.ns,
            ]);
            ip(&["link", "set", s.veth, "master", BRIDGE]);
            ip(&["link", "set", s.veth, "up"]);
            let n = |args: &[&str]| {
                let mut a = vec!["-n", s.ns];
                a.extend_from_slice(args);
                ip(&a);
            };
            n(&["link", "set", "lo", "up"]);
            n(&["link", "set", "eth0", "mtu", &s.mtu.to_string()]);
            for a in s.addrs {
                n(&["addr", "add", &format!("{a}/24"), "dev", "eth0"]);
            }
            n(&["link", "set", "eth0", "up"]);
            n(&[
                "route",
                "replace",
                "10.231.0.0/24",
                "dev",
                "eth0",
                "proto",
                "kernel",
                "scope",
                "link",
                "src",
                s.addrs[0],
                "initrwnd",
                &s.initrwnd.to_string(),
            ]);
            for (k, v) in s.sysctls {
                must(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        s.ns,
                        "sysctl",
                        "-q",
                        "-w",
                        &format!("{k}={v}"),
                    ],
                );
            }
        }
        net
    }

    fn remove() {
        for s in STACKS {
            if Path::new("/run/netns").join(s.ns).exists() {
                let _ = run("ip", &["netns", "del", s.ns]);
            }
            let _ = run("ip", &["link", "del", s.veth]);
        }
        let _ = run("ip", &["link", "del", BRIDGE]);
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        Self::remove();
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

/// Connects from each of `addrs` (namespace, source address) to
/// `HOST:PORT` (a listener of ours, before Postfix starts) until the link
/// works; the daemon sees these SYNs and so knows these hosts.
pub fn probe_links(addrs: &[(&Stack, &str)]) {
    let listener = TcpListener::bind((HOST, PORT))
        .unwrap_or_else(|e| panic!("bind {HOST}:{PORT} (is something listening there?): {e}"));
    listener.set_nonblocking(true).unwrap();
    for &(s, addr) in addrs {
        let t = Instant::now();
        loop {
            let from: SocketAddr = (addr.parse::<Ipv4Addr>().unwrap(), 0).into();
            let ok = in_netns(s.ns, move || {
                let to: SocketAddr = (HOST.parse::<Ipv4Addr>().unwrap(), PORT).into();
                connect_from(from, to).is_ok()
            });
            while listener.accept().is_ok() {}
            if ok {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "namespace {} cannot reach {HOST}:{PORT} from {addr} over the bridge within 30 s",
                s.ns
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The first address of each namespace, for [`probe_links`].
pub fn first_addrs() -> Vec<(&'static Stack, &'static str)> {
    STACKS.iter().map(|&s| (s, s.addrs[0])).collect()
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
    /// Starts `cmd` (which must capture on [`BRIDGE`] and serve the v3 API on
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
                "{name} did not start on {BRIDGE} ({}; socket {} {})\nstdout:\n{}\nstderr:\n{}",
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

    /// This workspace's daemon, with a v3 and a v2 socket in `dir`.
    pub fn start_rs(bin: &Path, dir: &Path) -> Daemon {
        let sock = dir.join("p0f.sock");
        let sock2 = dir.join("p0f2.sock");
        let mut cmd = Command::new(bin);
        cmd.args(["-i", BRIDGE, "-s"])
            .arg(&sock)
            .arg("--api-v2")
            .arg(&sock2)
            .arg(format!("tcp port {PORT}"));
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

    /// Prints the daemon's output and the service's and Postfix's logs when
    /// the test fails (while the returned guard lives).
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
            "==== {} stderr:\n{}\n==== {} stdout (last 80 lines):\n{}\n==== {POSTFIX_LOG} (tail):\n{}\n==== {SERVICE_LOG} (tail):\n{}",
            self.name,
            self.stderr.text(),
            self.name,
            lines[lines.len().saturating_sub(80)..].join("\n"),
            tail(POSTFIX_LOG, 40),
            tail(SERVICE_LOG, 40)
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

/// The stacks fingerprint as the tests expect (else the mail checks would
/// fail for a reason that has nothing to do with the policy). `within`:
/// how long the daemon may take to know a probed host.
pub fn check_fingerprints(d: &Daemon, within: Duration) {
    for s in STACKS {
        let a = s.addrs[0];
        let r = v3_query(&d.sock, a, within);
        let got = (genre_of(&r), r.link_type.as_string());
        assert_eq!(
            (r.status, got.0.as_str(), got.1.as_str()),
            (v3::Status::Ok, s.os, s.link),
            "namespace {} ({a}) does not fingerprint as expected with {}; it saw:\n{}",
            s.ns,
            d.name,
            d.syn_of(a)
        );
        eprintln!("{} {} {a}: {:?}\n{}", d.name, s.ns, got, d.syn_of(a));
    }
}

pub fn client(s: &Stack, addr: &str) -> Client {
    Client::in_netns(s.ns, addr, HOST)
}

/// The files of a live test: the blocked-OS list (`/windows/` and more),
/// the service's config (the relay client trusted, `timeout_ms`), and where
/// the milter socket goes.
pub struct LiveDir {
    pub dir: tempfile::TempDir,
    pub milter_sock: PathBuf,
}

impl LiveDir {
    pub fn create(prefix: &str, timeout_ms: u64) -> LiveDir {
        let dir = test_dir(prefix);
        std::fs::write(
            dir.path().join("p0f_blocked_operating_systems"),
            "# live test\nWindows XP\n/windows/\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mailpolicy.toml"),
            format!("trusted_networks = [\"{RELAY}/32\"]\ntimeout_ms = {timeout_ms}\n"),
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

    /// Postfix on the bridge address (and 127.0.0.1) with the milter; the
    /// relay client is in mynetworks (and the service's trusted_networks),
    /// the other namespaces are not.
    pub fn postfix(&self) -> Postfix {
        Postfix::start(
            HOST,
            &[
                format!("inet_interfaces = 127.0.0.1, {HOST}"),
                format!("mynetworks = 127.0.0.1/32 [::1]/128 {RELAY}/32"),
                format!("smtpd_milters = unix:{}", self.milter_sock.display()),
            ],
        )
    }
}

/// The policy scenario over the v3 API (messages are subject-tagged with
/// `tag`): the Linux stack's mail is delivered with its genre and link type
/// (the forged copies replaced), the Windows stack is refused at RCPT with
/// `550 5.7.1 OS Blocked`, the relay client with the same stack is
/// accepted with its headers, and the unknown stack's mail carries the link
/// type only.
pub fn v3_scenario(tag: &str) {
    let lin = client(&LIN, LIN.addrs[0]);
    let win = client(&WIN, WIN.addrs[0]);
    let relay = client(&WIN, RELAY);
    let unk = client(&UNK, UNK.addrs[0]);
    expect_delivered(
        &lin,
        &format!("{tag}-linux"),
        true,
        Some(LIN.os),
        Some(LIN.link),
    );
    expect_blocked(&win, &format!("{tag}-windows"), true);
    expect_delivered(
        &relay,
        &format!("{tag}-relay"),
        true,
        Some(WIN.os),
        Some(WIN.link),
    );
    expect_delivered(&unk, &format!("{tag}-unknown"), true, None, Some(UNK.link));
}

/// With the daemon stopped and a milter asking its v3 socket: mail still
/// flows, unfingerprinted (and unblocked: on_p0f_error = accept), and the
/// service logs why.
pub fn v3_stopped_scenario(tag: &str) {
    let lin = client(&LIN, LIN.addrs[0]);
    let win = client(&WIN, WIN.addrs[0]);
    expect_delivered(&lin, &format!("{tag}-linux"), true, None, None);
    expect_delivered(&win, &format!("{tag}-windows"), true, None, None);
    let log = std::fs::read_to_string(SERVICE_LOG).unwrap_or_default();
    assert!(
        log.lines().any(|l| l.contains("p0f unusable")
            && l.contains(LIN.addrs[0])
            && l.contains("connect")),
        "the service logs why it goes on unfingerprinted:\n{log}"
    );
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
