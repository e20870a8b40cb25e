//! Helpers for the greylisting tests: a `redis-server` of the test's own on
//! loopback, `p0f-mailpolicy` processes with their own logs (stopped with
//! SIGTERM, as an init system would), Postfix policy requests, and scraping
//! the metrics page with curl.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tail;

/// Whether a missing tool is a failure (CI) or a skip (a developer's box).
pub fn require(tool: &str, package: &str) -> bool {
    if Path::new(tool).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} is missing: apt-get install {package} (CI must not skip this test)"
    );
    eprintln!("SKIP: {tool} is missing (apt-get install {package})");
    false
}

/// A free loopback port.
pub fn free_port() -> u16 {
    super::free_port(&["127.0.0.1"])
}

fn wait_port(port: u16, what: &str, log: &dyn Fn() -> String) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{what} did not listen on 127.0.0.1:{port}; log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's redis-server on a free loopback port, no persistence.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut s = RedisServer {
            child: None,
            port,
            dir,
        };
        s.restart();
        s
    }

    /// Starts it (again) on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("/usr/bin/redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_port(self.port, "redis-server", &String::new);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `p0f-mailpolicy` process.
pub struct MailPolicy {
    child: Option<Child>,
    args: Vec<String>,
    pub log: PathBuf,
    /// A port that must accept connections before the service counts as up.
    ready_port: u16,
    /// `RUST_LOG` of the next start.
    log_level: String,
}

impl MailPolicy {
    pub fn start(args: &[String], log: PathBuf, ready_port: u16) -> MailPolicy {
        let mut m = MailPolicy {
            child: None,
            args: args.to_vec(),
            log,
            ready_port,
            log_level: "info".into(),
        };
        m.restart();
        m
    }

    /// `RUST_LOG` from the next [`MailPolicy::restart`] on.
    pub fn set_log_level(&mut self, level: &str) {
        self.log_level = level.to_string();
    }

    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
            .args(&self.args)
            .env("RUST_LOG", &self.log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start p0f-mailpolicy");
        self.child = Some(child);
        let log = self.log.clone();
        wait_port(self.ready_port, "p0f-mailpolicy", &|| {
            tail(log.to_str().unwrap(), 30)
        });
    }

    /// SIGTERM and wait, as a service manager stops it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let t = Instant::now();
            while c.try_wait().ok().flatten().is_none() {
                if t.elapsed() > Duration::from_secs(10) {
                    let _ = c.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for MailPolicy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One Postfix policy request; returns the action.
pub fn policy_request(port: u16, attrs: &[(&str, &str)]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to policy service");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = String::from("request=smtpd_access_policy\n");
    for (k, v) in attrs {
        req.push_str(&format!("{k}={v}\n"));
    }
    req.push('\n');
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("policy answer");
    line.trim_end()
        .strip_prefix("action=")
        .unwrap_or_else(|| panic!("not an action line: {line:?}"))
        .to_string()
}

/// GET with curl (a real HTTP client); returns (status, body).
pub fn curl(url: &str) -> (u16, String) {
    let o = Command::new("curl")
        .args(["-s", "-S", "--max-time", "10", "-w", "\n%{http_code}", url])
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// `promtool check metrics` on a page: (success, its output).
pub fn promtool_check(page: &str) -> (bool, String) {
    let mut c = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    c.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success() && text.trim().is_empty(), text)
}

/// Runs `openssl` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Makes, in `dir`: `NAME-ca.pem`/`.key` for each CA in `cas`, and
/// `server.pem`/`.key` (for 127.0.0.1) and `client.pem`/`.key`, both
/// signed by the first CA.
pub fn make_certificates(dir: &Path, cas: &[&str]) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in cas {
        let (key, pem, subj) = (
            format!("{ca}-ca.key"),
            format!("{ca}-ca.pem"),
            format!("/CN=gl-{ca}-ca"),
        );
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend(["-days", "2", "-subj", &subj, "-keyout", &key, "-out", &pem]);
        openssl(dir, &a);
    }
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem, extf, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
            format!("/CN=gl-{name}"),
        );
        let mut a = vec!["req"];
        a.extend(ec);
        a.extend(["-subj", &subj, "-keyout", &key, "-out", &csr]);
        openssl(dir, &a);
        let (ca_pem, ca_key) = (format!("{}-ca.pem", cas[0]), format!("{}-ca.key", cas[0]));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &extf,
                "-out",
                &pem,
            ],
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Debian's redis-server with TLS only (`--port 0`), a client certificate
/// required, and a password; certificates from [`make_certificates`] in
/// `certs`.
pub struct TlsRedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRedisServer {
    pub fn start(certs: &Path, password: &str) -> TlsRedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("/usr/bin/redis-server")
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--tls-port",
                &port.to_string(),
            ])
            .args(["--tls-auth-clients", "yes", "--requirepass", password])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--tls-cert-file")
            .arg(certs.join("server.pem"))
            .arg("--tls-key-file")
            .arg(certs.join("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(certs.join("good-ca.pem"))
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        wait_port(port, "redis-server (TLS)", &String::new);
        TlsRedisServer {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
