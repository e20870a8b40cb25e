//! Test parts that share nothing with other tests or other test runs on
//! the machine, named with a prefix the test chooses:
//!
//! * [`Mta`]: a Postfix instance whose configuration, queue, data
//!   directory, log and mailbox all live in a temporary directory of its
//!   own (`postfix -c DIR`), listening on an address and port the test
//!   gives; mail for `@gl.test` is delivered by `virtual(8)` into that
//!   directory's `mailbox`, so no system user or `/var/mail` is involved.
//!   The system Postfix and `/etc/postfix` are never touched.
//! * [`Net`]: a bridge and client namespaces named `PREFIX-br0`,
//!   `PREFIX-win`, ... on a /24 of the test's choosing, with the stacks of
//!   [`super::STACKS`] (same sysctls, MTU and window; other addresses).
//!
//! Why: tests with shared fixed names (the system Postfix, one bridge and
//! /24 for all) each start by removing whatever has those names. Two runs
//! at once on one machine (two worktrees, or a workspace run beside a
//! crate run) then delete each other's bridge, address or queue directory
//! mid-test: the second Postfix of an earlier `postfix_greylist.rs` "went
//! silent" (its address was gone) or "lost its pid directory" (its queue
//! was removed by the other run). And a test killed before its clean-up
//! left the system's Postfix reconfigured.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{connect_from, in_netns, must, run, tail, Stack, STACKS};

/// The domain every [`Mta`] delivers locally.
pub const DOMAIN: &str = "gl.test";

/// A Postfix instance of the test's own; stopped and removed on drop.
pub struct Mta {
    pub name: String,
    pub dir: tempfile::TempDir,
    /// `host:port` of its SMTP services (an IPv6 host in brackets).
    pub listen: Vec<(String, u16)>,
    netns: Option<String>,
}

impl Mta {
    /// Creates and starts the instance. `settings` are `postconf -e` lines
    /// applied last; `netns`: run its master inside that namespace (then
    /// `listen` is an address there).
    pub fn start(name: &str, netns: Option<&str>, listen: (&str, u16), settings: &[String]) -> Mta {
        Mta::start_on(name, netns, &[listen], settings)
    }

    /// As [`Mta::start`], with an SMTP service on each of `listens` (an
    /// IPv6 address in brackets, `[::1]`).
    pub fn start_on(
        name: &str,
        netns: Option<&str>,
        listens: &[(&str, u16)],
        settings: &[String],
    ) -> Mta {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["etc", "spool", "lib", "mail"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        must(
            "chown",
            &[
                "postfix:postfix",
                &path(&d.join("lib")),
                &path(&d.join("mail")),
            ],
        );
        let master = std::fs::read_to_string("/usr/share/postfix/master.cf.dist")
            .or_else(|_| std::fs::read_to_string("/etc/postfix/master.cf"))
            .unwrap();
        std::fs::write(d.join("etc/master.cf"), master).unwrap();
        let uid = must("id", &["-u", "postfix"]);
        let gid = must("id", &["-g", "postfix"]);
        let hosts: Vec<&str> = listens.iter().map(|l| l.0).collect();
        let protocols = if hosts.iter().any(|h| h.contains(':')) {
            "all"
        } else {
            "ipv4"
        };
        std::fs::write(
            d.join("etc/main.cf"),
            format!(
                "compatibility_level = 3.6\n\
                 queue_directory = {q}\ndata_directory = {l}\n\
                 maillog_file_prefixes = {base}\nmaillog_file = {base}/maillog\n\
                 myhostname = {name}.{DOMAIN}\nmydestination =\n\
                 inet_protocols = {protocols}\ninet_interfaces = {interfaces}\n\
                 mynetworks = 127.0.0.1/32\nalias_maps =\nalias_database =\n\
                 smtpd_peername_lookup = no\nsmtp_tls_security_level = none\n\
                 virtual_mailbox_domains = {DOMAIN}\nvirtual_mailbox_base = {m}\n\
                 virtual_mailbox_maps = static:mailbox\nvirtual_minimum_uid = 1\n\
                 virtual_uid_maps = static:{uid}\nvirtual_gid_maps = static:{gid}\n",
                q = path(&d.join("spool")),
                l = path(&d.join("lib")),
                m = path(&d.join("mail")),
                base = path(d),
                uid = uid.trim(),
                gid = gid.trim(),
                interfaces = hosts.join(", "),
            ),
        )
        .unwrap();
        let etc = path(&d.join("etc"));
        // No port-25 service and no chroot (a fresh queue has none of the
        // files a chrooted daemon needs).
        let _ = run("postconf", &["-c", &etc, "-MX", "smtp/inet"]);
        must("postconf", &["-c", &etc, "-F", "*/*/chroot = n"]);
        for (host, port) in listens {
            must(
                "postconf",
                &[
                    "-c",
                    &etc,
                    "-M",
                    &format!("{host}:{port}/inet={host}:{port} inet n - n - - smtpd"),
                ],
            );
        }
        for s in settings {
            must("postconf", &["-c", &etc, "-e", s]);
        }
        let mta = Mta {
            name: name.to_string(),
            dir,
            listen: listens.iter().map(|&(h, p)| (h.to_string(), p)).collect(),
            netns: netns.map(str::to_string),
        };
        mta.postfix("start");
        mta.wait_listening();
        mta
    }

    /// The first SMTP service's host and port.
    pub fn server(&self) -> (&str, u16) {
        (&self.listen[0].0, self.listen[0].1)
    }

    /// Applies `postconf -e` lines and reloads.
    pub fn reconfigure(&self, settings: &[String]) {
        let etc = path(&self.dir.path().join("etc"));
        for s in settings {
            must("postconf", &["-c", &etc, "-e", s]);
        }
        let before = self.log().matches("reload -- version").count();
        self.postfix("reload");
        // The master logs the reload once it has re-read its configuration.
        assert!(
            self.wait_log_count("reload -- version", before + 1, 30),
            "{}: no reload in the log:\n{}",
            self.name,
            self.log_tail(20)
        );
        self.wait_listening();
    }

    fn wait_log_count(&self, needle: &str, n: usize, secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self.log().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Runs `postfix -c DIR cmd` (in the namespace, if any). Postfix only
    /// prints its errors to a terminal, so they are taken from the log.
    fn postfix(&self, cmd: &str) {
        let etc = path(&self.dir.path().join("etc"));
        let o = match &self.netns {
            Some(ns) => run("ip", &["netns", "exec", ns, "postfix", "-c", &etc, cmd]),
            None => run("postfix", &["-c", &etc, cmd]),
        };
        assert!(
            o.status.success() || cmd == "stop",
            "{}: postfix -c {etc} {cmd} failed: {}{}\nlog:\n{}\n(`script -qc 'postfix -c {etc} check' /dev/null` shows errors Postfix sends only to a terminal)",
            self.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.log_tail(20)
        );
    }

    fn wait_listening(&self) {
        for (host, port) in &self.listen {
            self.wait_listening_on(host.trim_matches(['[', ']']), *port);
        }
    }

    fn wait_listening_on(&self, host: &str, port: u16) {
        let host = host.to_string();
        let t = Instant::now();
        loop {
            let up = match &self.netns {
                Some(ns) => {
                    let host = host.clone();
                    in_netns(ns, move || {
                        std::net::TcpStream::connect((host.as_str(), port)).is_ok()
                    })
                }
                None => std::net::TcpStream::connect((host.as_str(), port)).is_ok(),
            };
            if up {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{} does not listen on {host}:{port} after 30 s; log:\n{}",
                self.name,
                self.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    pub fn log_tail(&self, n: usize) -> String {
        tail(&path(&self.dir.path().join("maillog")), n)
    }

    /// Waits until the log has a line containing all of `needles`.
    pub fn wait_log(&self, needles: &[&str], secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self
                .log()
                .lines()
                .any(|l| needles.iter().all(|n| l.contains(n)))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    /// The headers of the message with this subject delivered here (waits
    /// up to 60 s for it).
    pub fn delivered(&self, marker: &str) -> Vec<(String, String)> {
        let mailbox = self.dir.path().join("mail/mailbox");
        let t = Instant::now();
        loop {
            let text = std::fs::read_to_string(&mailbox).unwrap_or_default();
            if let Some(h) = headers_of(&text, marker) {
                return h;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "{marker:?} not delivered to {} within 60 s; log:\n{}",
                mailbox.display(),
                self.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Mta {
    fn drop(&mut self) {
        self.postfix("stop");
        if std::thread::panicking() {
            eprintln!("==== {} log (tail):\n{}", self.name, self.log_tail(60));
        }
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The header fields (unfolded) of the mbox message whose subject is `marker`.
pub fn headers_of(mbox: &str, marker: &str) -> Option<Vec<(String, String)>> {
    for msg in mbox.split("\nFrom ") {
        let head = msg.split("\n\n").next().unwrap_or("");
        if !head.lines().any(|l| l == format!("Subject: {marker}")) {
            continue;
        }
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
        return Some(out);
    }
    None
}

/// What swaks said.
pub struct Sent {
    pub ok: bool,
    pub transcript: String,
}

impl Sent {
    /// The server's reply to the first command starting with `cmd`.
    pub fn reply_to(&self, cmd: &str) -> String {
        self.transcript
            .lines()
            .skip_while(|l| !l.contains(&format!(" -> {cmd}")))
            .find(|l| l.contains("<- ") || l.contains("<** "))
            .unwrap_or("")
            .to_string()
    }
}

/// One message by swaks from `from_addr` (in `netns`, if any) to `server`.
pub fn swaks(
    netns: Option<&str>,
    from_addr: &str,
    server: (&str, u16),
    sender: &str,
    rcpts: &[&str],
    marker: &str,
    extra: &[&str],
) -> Sent {
    let port = server.1.to_string();
    let to = rcpts.join(",");
    let subject = format!("Subject: {marker}");
    let mut args: Vec<&str> = Vec::new();
    if let Some(ns) = netns {
        args.extend(["netns", "exec", ns]);
    }
    args.extend([
        "swaks",
        "--server",
        server.0,
        "--port",
        &port,
        "--local-interface",
        from_addr,
        "--from",
        sender,
        "--to",
        &to,
        "--header",
        &subject,
        "--timeout",
        "60",
        "--body",
        "test body",
    ]);
    args.extend(extra);
    let o = if netns.is_some() {
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

/// A bridge with the client namespaces of [`STACKS`], under our names.
pub struct Net {
    pub prefix: String,
    /// The /24 is `10.SUBNET.0.0/24`.
    subnet: u8,
}

impl Net {
    /// `prefix` must be short (interface names have 15 bytes).
    pub fn create(prefix: &str, subnet: u8) -> Net {
        let net = Net {
            prefix: prefix.to_string(),
            subnet,
        };
        net.remove();
        let br = net.bridge();
        must("ip", &["link", "add", &br, "type", "bridge"]);
        must(
            "ip",
            &["addr", "add", &format!("{}/24", net.host()), "dev", &br],
        );
        must("ip", &["link", "set", &br, "up"]);
        for s in STACKS {
            let (ns, veth) = (net.ns(s), net.veth(s));
            must("ip", &["netns", "add", &ns]);
            must(
                "ip",
                &[
                    "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            );
            must("ip", &["link", "set", &veth, "master", &br]);
            must("ip", &["link", "set", &veth, "up"]);
            let n = |args: &[&str]| {
                let mut a = vec!["-n", ns.as_str()];
                a.extend_from_slice(args);
                must("ip", &a);
            };
            n(&["link", "set", "lo", "up"]);
            n(&["link", "set", "eth0", "mtu", &s.mtu.to_string()]);
            for i in 0..s.hosts.len() {
                n(&[
                    "addr",
                    "add",
                    &format!("{}/24", net.addr(s, i)),
                    "dev",
                    "eth0",
                ]);
            }
            n(&["link", "set", "eth0", "up"]);
            n(&[
                "route",
                "replace",
                &format!("10.{subnet}.0.0/24"),
                "dev",
                "eth0",
                "proto",
                "kernel",
                "scope",
                "link",
                "src",
                &net.addr(s, 0),
                "initrwnd",
                &s.initrwnd.to_string(),
            ]);
            for (k, v) in s.sysctls {
                must(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        &ns,
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

    pub fn bridge(&self) -> String {
        format!("{}-br0", self.prefix)
    }

    /// The host's address on the bridge (`10.SUBNET.0.1`).
    pub fn host(&self) -> String {
        format!("10.{}.0.1", self.subnet)
    }

    /// Another address of the host on the bridge.
    pub fn host_addr(&self, last: u8) -> String {
        format!("10.{}.0.{last}", self.subnet)
    }

    /// `PREFIX-win` for [`super::WIN`].
    pub fn ns(&self, s: &Stack) -> String {
        format!("{}-{}", self.prefix, s.ns)
    }

    fn veth(&self, s: &Stack) -> String {
        format!("{}-h", self.ns(s))
    }

    /// The stack's `i`-th address in our subnet (same last byte).
    pub fn addr(&self, s: &Stack, i: usize) -> String {
        format!("10.{}.0.{}", self.subnet, s.hosts[i])
    }

    /// Connects from the first address of each stack to `port` on the host
    /// (a listener of ours) until the link works, so that a daemon on the
    /// bridge has seen a SYN of each.
    pub fn probe(&self, port: u16) {
        let listener = std::net::TcpListener::bind((self.host().as_str(), port))
            .unwrap_or_else(|e| panic!("bind {}:{port}: {e}", self.host()));
        listener.set_nonblocking(true).unwrap();
        for s in STACKS {
            let from: SocketAddr = (self.addr(s, 0).parse::<Ipv4Addr>().unwrap(), 0).into();
            let to: SocketAddr = (self.host().parse::<Ipv4Addr>().unwrap(), port).into();
            let t = Instant::now();
            loop {
                let ok = in_netns(&self.ns(s), move || connect_from(from, to).is_ok());
                while listener.accept().is_ok() {}
                if ok {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(30),
                    "{} cannot reach {to} within 30 s",
                    self.ns(s)
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }

    fn remove(&self) {
        for s in STACKS {
            if Path::new("/run/netns").join(self.ns(s)).exists() {
                let _ = run("ip", &["netns", "del", &self.ns(s)]);
            }
            let _ = run("ip", &["link", "del", &self.veth(s)]);
        }
        let _ = run("ip", &["link", "del", &self.bridge()]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}
