//! End to end with the live fingerprint daemon: Debian's Postfix, the
//! `p0f` daemon of this workspace capturing for real, `p0f-mailpolicy` as a
//! milter, and SMTP clients whose TCP stacks fingerprint differently.
//!
//! The test builds its own little network: a bridge `p0ft-br0` holding the
//! host address 10.231.0.1/24, and three network namespaces, each joined to
//! the bridge by a veth pair. Postfix listens on 10.231.0.1:10025; the daemon
//! captures on the bridge (`p0f -i p0ft-br0 ... 'tcp port 10025'`); swaks
//! runs inside the namespaces. Each namespace's stack is changed with
//! sysctls, its MTU and the `initrwnd` of its route to the host, which gives
//! these SYNs (as the daemon prints them) and verdicts:
//!
//! | namespace | address | SYN `raw_sig` | p0f says | verdict |
//! |---|---|---|---|---|
//! | `p0ft-lin` | 10.231.0.10 | `4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0` | Linux 3.11 and newer, Ethernet or modem | accepted, both headers |
//! | `p0ft-win` | 10.231.0.20 | `4:128+0:0:1360:mss*10,0:mss,nop,nop,sok:df,id+:0` | Windows NT kernel (generic), generic tunnel or VPN | `550 5.7.1 OS Blocked` at RCPT (`/windows/`) |
//! | `p0ft-win` | 10.231.0.21 | same stack | same | relay client (trusted network, mynetworks): accepted, both headers |
//! | `p0ft-unk` | 10.231.0.30 | `4:64+0:0:1452:mss*20,7:mss,nop,nop,ts,nop,ws:df,id+:0` | no OS match, DSL | accepted, `X-P0F-Link-Type` only |
//!
//! How: `p0ft-lin` has `tcp_rmem` max 6 MiB (window scale 7) and a route
//! with `initrwnd 20` (window = 20 × MSS); `p0ft-win` has TTL 128, no
//! timestamps, no window scaling, `initrwnd 10` and MTU 1400; `p0ft-unk` has
//! no SACK (options `mss,nop,nop,ts,nop,ws`, which no signature has) and MTU
//! 1492. All three send the same `tcp_rmem`, so defaults do not matter.
//!
//! Every message is sent with forged `X-P0F-Genre` / `x-p0f-link-type`
//! headers, which must be replaced (or just removed). The milter asks the
//! daemon's v3 socket first, then its v2 socket (`--api-v2`, per-connection
//! answers: genre is the OS name only), and finally the daemon is stopped
//! and mail must still flow, unfingerprinted, with the reason logged.
//!
//! Needs root, Debian's `postfix`, `swaks`, `iproute2` and `procps`
//! (installed when missing) and libpcap. The namespaces, veths and bridge
//! are removed, the daemon and service stopped, and main.cf / master.cf
//! restored, also when the test fails (drop guards). On failure the daemon's output and the
//! tails of the Postfix and service logs are printed.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p0f_api::v3;
use support::*;

const HOST: &str = "10.231.0.1";
const BRIDGE: &str = "p0ft-br0";

/// One client namespace and how its stack is changed.
struct Stack {
    ns: &'static str,
    /// Host side of the veth pair (the namespace side is `eth0`).
    veth: &'static str,
    /// Addresses in the namespace; the first is the route's source.
    addrs: &'static [&'static str],
    mtu: u32,
    /// `initrwnd` of the route to the host: the SYN's window in MSS units.
    initrwnd: u32,
    sysctls: &'static [(&'static str, &'static str)],
    /// What the daemon must say about the first address (v3).
    os: &'static str,
    link: &'static str,
}

const RMEM: (&str, &str) = ("net.ipv4.tcp_rmem", "4096 131072 6291456");

const LIN: Stack = Stack {
    ns: "p0ft-lin",
    veth: "p0ft-lin-h",
    addrs: &["10.231.0.10"],
    mtu: 1500,
    initrwnd: 20,
    sysctls: &[RMEM],
    os: "Linux 3.11 and newer",
    link: "Ethernet or modem",
};

const WIN: Stack = Stack {
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

const UNK: Stack = Stack {
    ns: "p0ft-unk",
    veth: "p0ft-unk-h",
    addrs: &["10.231.0.30"],
    mtu: 1492,
    initrwnd: 20,
    sysctls: &[RMEM, ("net.ipv4.tcp_sack", "0")],
    os: "",
    link: "DSL",
};

const STACKS: [&Stack; 3] = [&LIN, &WIN, &UNK];

/// The relay client: WIN's stack, from an address in the trusted networks.
const RELAY: &str = "10.231.0.21";

fn ip(args: &[&str]) {
    must("ip", args);
}

/// The test network; removed on drop (deleting a namespace deletes its
/// veth pair).
struct TestNet;

impl TestNet {
    fn create() -> TestNet {
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
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
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

/// Connects from each namespace to `HOST:PORT` (a listener of ours, before
/// Postfix starts) until the links work; the daemon sees these SYNs.
fn probe_links() {
    let listener = TcpListener::bind((HOST, PORT))
        .unwrap_or_else(|e| panic!("bind {HOST}:{PORT} (is something listening there?): {e}"));
    listener.set_nonblocking(true).unwrap();
    for s in STACKS {
        let t = Instant::now();
        loop {
            let ok = in_netns(s.ns, || {
                let to: SocketAddr = (HOST.parse::<Ipv4Addr>().unwrap(), PORT).into();
                TcpStream::connect_timeout(&to, Duration::from_secs(2)).is_ok()
            });
            while listener.accept().is_ok() {}
            if ok {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "namespace {} cannot reach {HOST}:{PORT} over the bridge within 30 s",
                s.ns
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The `p0f` binary of crate p0f-cli, built (or brought up to date) with
/// the same profile and target directory as this test: `cargo test
/// --workspace` has built it already and this is quick; `cargo test -p
/// p0f-milter` builds it here. `P0F_BIN` overrides.
fn p0f_binary() -> PathBuf {
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

/// Output of a child stream, collected in the background.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<String>>);

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

    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    fn wait_for(&self, needle: &str, secs: u64) -> bool {
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

/// The live daemon; SIGTERM on drop.
struct Daemon {
    child: Child,
    stdout: Captured,
    stderr: Captured,
    sock: PathBuf,
    sock2: PathBuf,
}

impl Daemon {
    fn start(bin: &Path, dir: &Path) -> Daemon {
        let sock = dir.join("p0f.sock");
        let sock2 = dir.join("p0f2.sock");
        let mut child = Command::new(bin)
            .args(["-i", BRIDGE, "-s"])
            .arg(&sock)
            .arg("--api-v2")
            .arg(&sock2)
            .arg(format!("tcp port {PORT}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stdout = Captured::default();
        let stderr = Captured::default();
        stdout.spawn_reader(child.stdout.take().unwrap());
        stderr.spawn_reader(child.stderr.take().unwrap());
        let d = Daemon {
            child,
            stdout,
            stderr,
            sock,
            sock2,
        };
        assert!(
            d.stdout.wait_for("[+] Entered main event loop.", 30),
            "p0f did not start on {BRIDGE}\nstdout:\n{}\nstderr:\n{}",
            d.stdout.text(),
            d.stderr.text()
        );
        d
    }

    fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("p0f did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The daemon's SYN observation for a client address (for messages).
    fn syn_of(&self, addr: &str) -> String {
        let out = self.stdout.text();
        let needle = format!(".-[ {addr}/");
        out.split("\n\n")
            .filter(|b| b.contains(&needle) && b.contains("(syn)"))
            .last()
            .unwrap_or("(no SYN from this address seen)")
            .to_string()
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
struct Diagnostics {
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
            "==== p0f stderr:\n{}\n==== p0f stdout (last 80 lines):\n{}\n==== {POSTFIX_LOG} (tail):\n{}\n==== {SERVICE_LOG} (tail):\n{}",
            self.stderr.text(),
            lines[lines.len().saturating_sub(80)..].join("\n"),
            tail(POSTFIX_LOG, 40),
            tail(SERVICE_LOG, 40)
        );
    }
}

/// One v3 query, retried for a while until the host is known.
fn v3_query(sock: &Path, addr: &str) -> v3::Response {
    let addr: IpAddr = addr.parse().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = UnixStream::connect(sock).expect("connect to p0f's API socket");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
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

fn genre_of(r: &v3::Response) -> String {
    let name = r.os_name.as_string();
    let flavor = r.os_flavor.as_string();
    if flavor.is_empty() {
        name
    } else {
        format!("{name} {flavor}")
    }
}

/// The stacks fingerprint as this test expects (else the mail checks
/// would fail for a reason that has nothing to do with the policy).
fn check_fingerprints(d: &Daemon) {
    for s in STACKS {
        let a = s.addrs[0];
        let r = v3_query(&d.sock, a);
        let got = (genre_of(&r), r.link_type.as_string());
        assert_eq!(
            (r.status, got.0.as_str(), got.1.as_str()),
            (v3::Status::Ok, s.os, s.link),
            "namespace {} ({a}) does not fingerprint as expected; the daemon saw:\n{}",
            s.ns,
            d.syn_of(a)
        );
        eprintln!("{} {a}: {:?}\n{}", s.ns, got, d.syn_of(a));
    }
}

fn client(s: &Stack, addr: &str) -> Client {
    Client::in_netns(s.ns, addr, HOST)
}

fn milter(dir: &Path, plugin_line: String, milter_sock: &Path) -> Service {
    let ms = milter_sock.to_path_buf();
    let _ = std::fs::remove_file(milter_sock);
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
            format!("unix:{}", milter_sock.display()),
            "--socket-mode".into(),
            "666".into(),
        ],
        &move || ms.exists(),
    )
}

#[test]
fn postfix_with_live_p0f() {
    assert!(
        is_root(),
        "this test makes network namespaces, captures traffic and runs Debian's Postfix: it needs root (CI runs as root)"
    );
    ensure_packages(&[("/usr/sbin/ip", "iproute2"), ("/usr/sbin/sysctl", "procps")]);
    let started = Instant::now();
    let p0f = p0f_binary();
    let dir = test_dir("p0f-mailpolicy-live");
    let milter_sock = dir.path().join("milter.sock");
    std::fs::write(
        dir.path().join("p0f_blocked_operating_systems"),
        "# live test\nWindows XP\n/windows/\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mailpolicy.toml"),
        format!("trusted_networks = [\"{RELAY}/32\"]\ntimeout_ms = 2000\n"),
    )
    .unwrap();

    let _net = TestNet::create();
    let mut daemon = Daemon::start(&p0f, dir.path());
    let _diag = Diagnostics {
        stdout: daemon.stdout.clone(),
        stderr: daemon.stderr.clone(),
    };
    probe_links();
    check_fingerprints(&daemon);

    let lin = client(&LIN, LIN.addrs[0]);
    let win = client(&WIN, WIN.addrs[0]);
    let relay = client(&WIN, RELAY);
    let unk = client(&UNK, UNK.addrs[0]);

    // ------------------------------------------------------------ v3 API
    let service = milter(
        dir.path(),
        format!("ident/p0f {}", daemon.sock.display()),
        &milter_sock,
    );
    let _postfix = Postfix::start(
        HOST,
        &[
            format!("inet_interfaces = 127.0.0.1, {HOST}"),
            // The relay client is in mynetworks (and the service's
            // trusted_networks); the other namespaces are not.
            format!("mynetworks = 127.0.0.1/32 [::1]/128 {RELAY}/32"),
            format!("smtpd_milters = unix:{}", milter_sock.display()),
        ],
    );
    expect_delivered(&lin, "live-v3-linux", true, Some(LIN.os), Some(LIN.link));
    expect_blocked(&win, "live-v3-windows", true);
    // The daemon has not seen 10.231.0.21 before this connection: the
    // milter's connect-time query races the daemon's processing of the SYN
    // (the milter asks again when p0f does not know the client yet). In v2
    // mode every connection is new to the daemon.
    expect_delivered(&relay, "live-v3-relay", true, Some(WIN.os), Some(WIN.link));
    expect_delivered(&unk, "live-v3-unknown", true, None, Some(UNK.link));
    let r = v3_query(&daemon.sock, RELAY);
    assert_eq!(genre_of(&r), WIN.os, "relay client's own fingerprint");
    drop(service);

    // ------------------------------------------------------------ v2 API
    // Answers per connection (the milter sends {daemon_addr} and
    // {daemon_port}); the genre is p0f's OS name only.
    let service = milter(
        dir.path(),
        format!("ident/p0f {} version 2", daemon.sock2.display()),
        &milter_sock,
    );
    expect_delivered(&lin, "live-v2-linux", true, Some("Linux"), Some(LIN.link));
    expect_blocked(&win, "live-v2-windows", true);
    expect_delivered(
        &relay,
        "live-v2-relay",
        true,
        Some("Windows"),
        Some(WIN.link),
    );
    expect_delivered(&unk, "live-v2-unknown", true, None, Some(UNK.link));

    // ------------------------------------------------------- daemon stopped
    daemon.stop();
    assert!(
        !daemon.sock.exists() && !daemon.sock2.exists(),
        "p0f's sockets are gone after it stopped"
    );
    expect_delivered(&lin, "live-stopped-v2", true, None, None);
    drop(service);
    let _service = milter(
        dir.path(),
        format!("ident/p0f {}", daemon.sock.display()),
        &milter_sock,
    );
    expect_delivered(&lin, "live-stopped-v3", true, None, None);
    // Not blocked either: unknown is not blocked (on_p0f_error = accept).
    expect_delivered(&win, "live-stopped-windows", true, None, None);
    let log = std::fs::read_to_string(SERVICE_LOG).unwrap_or_default();
    assert!(
        log.lines().any(|l| l.contains("p0f unusable")
            && l.contains(LIN.addrs[0])
            && l.contains("connect")),
        "the service logs why it goes on unfingerprinted:\n{log}"
    );
    eprintln!(
        "postfix_with_live_p0f: all checks passed in {:.1?}",
        started.elapsed()
    );
}
