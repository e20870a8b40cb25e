//! The Redis store over TLS, with real parts: Debian's `redis-server`
//! started here with `--tls-port` only (no plain port), a password, and
//! certificates this test makes with the `openssl` command (a CA, a server
//! certificate for 127.0.0.1, a client certificate, and a second CA that
//! signed nothing the server has). Greylisting works over TLS with the
//! right CA; with the wrong one the check fails within the deadline and
//! the error says that TLS failed and why.
//!
//! Needs `redis-server` and `openssl`; a missing one fails the test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use p0f_greylist::redis_store::{RedisStore, TlsPem};
use p0f_greylist::{Greylist, KeyConfig, OnStoreError, Outcome, Params, Verdict};

const PASSWORD: &str = "gl-tls-secret";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME-ca.pem`, `NAME-ca.key`).
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=gl-{name}-ca"),
            "-keyout",
            &format!("{name}-ca.key"),
            "-out",
            &format!("{name}-ca.pem"),
        ],
    );
}

/// A certificate `NAME.pem` / `NAME.key` signed by `ca`, with extensions `ext`.
fn make_cert(dir: &Path, ca: &str, name: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN=gl-{name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}-ca.pem"),
            "-CAkey",
            &format!("{ca}-ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

struct TlsRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsRedis {
    fn start() -> TlsRedis {
        let dir = tempfile::Builder::new().prefix("gl-tls").tempdir().unwrap();
        let d = dir.path();
        make_ca(d, "good");
        make_ca(d, "other");
        make_cert(
            d,
            "good",
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        make_cert(d, "good", "client", "extendedKeyUsage=clientAuth\n");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--tls-port",
                &port.to_string(),
            ])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args([
                "--tls-ca-cert-file",
                "good-ca.pem",
                "--tls-auth-clients",
                "yes",
            ])
            .args([
                "--requirepass",
                PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(d)
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not open its TLS port"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { child, port, dir }
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self) -> String {
        format!("rediss://:{PASSWORD}@127.0.0.1:{}/", self.port)
    }

    fn pem(&self, ca: &str) -> TlsPem {
        TlsPem {
            root_cert: Some(self.file(&format!("{ca}-ca.pem"))),
            client: Some((self.file("client.pem"), self.file("client.key"))),
        }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn greylist(srv: &TlsRedis, ca: &str) -> Greylist {
    let store = RedisStore::with_tls(
        &srv.url(),
        Some(&srv.pem(ca)),
        "gltls:",
        Duration::from_secs(2),
    )
    .unwrap();
    let params = Params {
        delay: 1,
        ..Params::default()
    };
    Greylist::new(
        Arc::new(store),
        params,
        Duration::from_secs(3),
        OnStoreError::Accept,
    )
}

#[test]
fn greylisting_over_tls_and_a_wrong_ca_is_named() {
    let srv = TlsRedis::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = KeyConfig::default().triplet(
            "192.0.2.7".parse().unwrap(),
            "a@x.example",
            "b@y.example",
        );
        let g = greylist(&srv, "good");
        assert_eq!(g.check(&t).await, Verdict::Decided(Outcome::New));
        assert!(matches!(
            g.check(&t).await,
            Verdict::Decided(Outcome::TooEarly { .. })
        ));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(matches!(
            g.check(&t).await,
            Verdict::Decided(Outcome::Retried { .. })
        ));
        assert_eq!(g.check(&t).await, Verdict::Decided(Outcome::Known));
        assert_eq!(g.store_errors(), 0);

        // The state really is in that server: read it back over TLS with
        // redis-cli, the server's own client.
        let out = Command::new("redis-cli")
            .args(["--tls", "--cacert"])
            .arg(srv.path("good-ca.pem"))
            .arg("--cert")
            .arg(srv.path("client.pem"))
            .arg("--key")
            .arg(srv.path("client.key"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &srv.port.to_string(),
                "--no-auth-warning",
            ])
            .args(["-a", PASSWORD, "hget", &format!("gltls:t:{}", t.key), "p"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{out:?}");

        // A CA that did not sign the server's certificate.
        let wrong = greylist(&srv, "other");
        let start = Instant::now();
        match wrong.check(&t).await {
            Verdict::StoreFailed { error, .. } => {
                assert!(error.contains("TLS connection failed"), "{error}");
                assert!(error.contains("ca_file"), "{error}");
                assert!(error.contains("invalid peer certificate"), "{error}");
            }
            v => panic!("a wrong CA must fail: {v:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(wrong.store_errors(), 1);

        // Without the client certificate the server refuses us.
        let no_client = RedisStore::with_tls(
            &srv.url(),
            Some(&TlsPem {
                root_cert: Some(srv.file("good-ca.pem")),
                client: None,
            }),
            "gltls:",
            Duration::from_secs(2),
        )
        .unwrap();
        let g = Greylist::new(
            Arc::new(no_client),
            Params::default(),
            Duration::from_secs(3),
            OnStoreError::Accept,
        );
        assert!(matches!(g.check(&t).await, Verdict::StoreFailed { .. }));
    });
}

#[test]
fn tls_settings_need_a_rediss_url_and_no_insecure_fragment() {
    let pem = TlsPem::default();
    let e = RedisStore::with_tls(
        "redis://127.0.0.1:1/",
        Some(&pem),
        "",
        Duration::from_secs(1),
    )
    .err()
    .unwrap();
    assert!(e.0.contains("rediss://"), "{e}");
    let e = RedisStore::new("rediss://127.0.0.1:1/#insecure", "", Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(e.0.contains("#insecure"), "{e}");
}
