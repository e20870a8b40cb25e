//! Live capture and the API, end to end: each test starts its own daemon on
//! loopback (`-i lo -s SOCK 'tcp port N'`), makes its own TCP traffic and
//! queries the daemon over the socket.

mod live_support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::Command;
use std::time::{Duration, Instant};

use live_support::*;
use p0f_api::{v2, v3};

const LO4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LO6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

#[test]
fn v3_api_answers_from_live_traffic() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    let mut d = Daemon::start(srv.port, &[]);
    let out = d.stdout.text();
    assert!(
        out.contains("[+] Intercepting traffic on interface 'lo'."),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "[+] Custom filtering rule enabled: tcp port {} [+VLAN]",
            srv.port
        )),
        "{out}"
    );
    assert!(out.contains("(max 20 clients)."), "{out}");
    let meta = std::fs::metadata(&d.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);

    srv.connect(LO4);
    srv.connect(LO4);
    let r = query_until(&d.sock, LO4, |r| r.total_conn >= 4);
    assert_eq!(r.status, v3::Status::Ok);
    // Loopback is both client and server: +2 per connection.
    assert_eq!(r.total_conn, 4);
    assert_eq!(r.distance, 0);
    assert_eq!(r.os_name.as_string(), "Linux");
    assert!(r.first_seen > 1_600_000_000 && r.last_seen >= r.first_seen);
    let mut raw = [0u8; v3::RESPONSE_LEN];
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(&v3::Query { addr: LO4 }.encode()).unwrap();
    s.read_exact(&mut raw).unwrap();
    assert_eq!(&raw[..4], &0x5030_4602u32.to_ne_bytes());
    assert_eq!(&raw[4..8], &0x10u32.to_ne_bytes());

    if srv.v6.is_some() {
        srv.connect(LO6);
        let r6 = query_until_known(&d.sock, LO6);
        assert_eq!(r6.status, v3::Status::Ok);
        // Our client, any standard notation.
        let out = Command::new(env!("CARGO_BIN_EXE_p0f-client"))
            .arg(&d.sock)
            .arg("0:0::1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("Total flows   = 2"), "{text}");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_p0f-client"))
        .arg(&d.sock)
        .arg("127.0.0.1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for line in [
        "First seen    = ",
        "Last update   = ",
        "Total flows   = 4",
        // The built-in database's entry for this kernel's loopback SYN
        // (Linux 6 with its default 32 MB buffer maximum).
        "Detected OS   = Linux 6.x (loopback)\n",
        "HTTP software = ???",
        "Network link  = ???",
        "Distance      = 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_p0f-client"))
        .arg(&d.sock)
        .arg("192.0.2.77")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "No matching host in p0f cache. That's all we know.\n"
    );

    // Bad queries: p0f's status 0, all zero, and p0f's warning; as in
    // p0f 3.09b the connection goes on and its next good query is answered.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = [0u8; v3::RESPONSE_LEN];
    let good = v3::Query { addr: LO4 }.encode();
    let with_magic = |m: u32| {
        let mut q = good;
        q[..4].copy_from_slice(&m.to_ne_bytes());
        q
    };
    let mut bad_type = good;
    bad_type[4] = 5;
    // Wrong magic, p0f 2's query magic, the response magic, a bad type.
    for bad in [
        with_magic(0x5030_46fe),
        with_magic(0x0def_aced),
        with_magic(0x5030_4602),
        bad_type,
    ] {
        s.write_all(&bad).unwrap();
        s.read_exact(&mut raw).unwrap();
        assert_eq!(&raw[4..], &[0u8; v3::RESPONSE_LEN - 4][..]);
    }
    s.write_all(&good).unwrap();
    s.read_exact(&mut raw).unwrap();
    assert_eq!(
        v3::Response::decode(&raw).unwrap().status,
        v3::Status::Ok,
        "the connection must survive bad queries"
    );
    assert!(d
        .stderr
        .wait_for("[!] WARNING: Query with bad magic (0x", 5));
    assert!(d.stderr.wait_for("Query with unknown address type 5.", 5));

    // Persistent client: many queries on one connection, pipelined.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let q = v3::Query { addr: LO4 }.encode();
    let mut burst = Vec::new();
    for _ in 0..50 {
        burst.extend_from_slice(&q);
    }
    s.write_all(&burst).unwrap();
    let mut replies = vec![0u8; 50 * v3::RESPONSE_LEN];
    s.read_exact(&mut replies).unwrap();
    for r in replies.chunks(v3::RESPONSE_LEN) {
        assert_eq!(&r[4..8], &0x10u32.to_ne_bytes());
    }
    drop(s);

    let st = d.stop();
    assert!(st.success(), "exit status {st:?}");
    assert!(d
        .stderr
        .text()
        .contains("[!] WARNING: User-initiated shutdown."));
    assert!(d.stdout.text().contains("All done. Processed "));
    assert!(!d.sock.exists(), "socket not removed at exit");
}

#[test]
fn abusive_clients_do_not_hurt_others() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    let mut d = Daemon::start(srv.port, &["--api-timeout", "2"]);
    srv.connect(LO4);
    assert_eq!(query_until_known(&d.sock, LO4).status, v3::Status::Ok);
    let q = v3::Query { addr: LO4 }.encode();

    // qpsmtpd: the query twice, one read, close (p0f 3.09b dies of SIGPIPE).
    for _ in 0..20 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(&q).unwrap();
        s.write_all(&q).unwrap();
        let mut b = [0u8; v3::RESPONSE_LEN];
        s.read_exact(&mut b).unwrap();
        drop(s);
    }
    assert_quick_answer(&d.sock, LO4, "after send-twice-close");

    // Close without reading.
    for _ in 0..20 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(&q).unwrap();
    }
    assert_quick_answer(&d.sock, LO4, "after close-without-reading");

    // Garbage.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(&[0xa5; 4096]).unwrap();
    assert_quick_answer(&d.sock, LO4, "after garbage");
    drop(s);

    // Half a query, then stall; and clients that send nothing at all
    // (more of them than -S allows).
    let mut stalled = Vec::new();
    for _ in 0..30 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(&q[..10]).unwrap();
        stalled.push(s);
    }
    let silent: Vec<UnixStream> = (0..30)
        .map(|_| UnixStream::connect(&d.sock).unwrap())
        .collect();
    assert_quick_answer(&d.sock, LO4, "with stalled and silent clients");
    // The stalled ones are dropped after the timeout (2 s here).
    let mut s = stalled.pop().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 1];
    let n = s.read(&mut b).unwrap_or(0);
    assert_eq!(n, 0, "a half query got an answer");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "half query held too long"
    );

    // 300 concurrent clients, each connect, query, read, close.
    let sock = d.sock.clone();
    let threads: Vec<_> = (0..300)
        .map(|_| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&sock).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(&q).unwrap();
                let mut b = [0u8; v3::RESPONSE_LEN];
                s.read_exact(&mut b)
                    .map(|_| b[4..8] == 0x10u32.to_ne_bytes())
            })
        })
        .collect();
    assert_quick_answer(&d.sock, LO4, "during 300 concurrent clients");
    let served = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|r| matches!(r, Ok(true)))
        .count();
    assert_eq!(served, 300);
    drop(silent);
    drop(stalled);
    assert_quick_answer(&d.sock, LO4, "at the end");
    assert!(d.alive(), "daemon died");
    assert!(d.stop().success());
}

#[test]
fn concurrent_clients_all_served() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    let d = Daemon::start(srv.port, &["-S", "5"]);
    srv.connect(LO4);
    assert_eq!(query_until_known(&d.sock, LO4).status, v3::Status::Ok);
    let q = v3::Query { addr: LO4 }.encode();
    // More clients than -S, each keeping its connection: the first five
    // stay served, the others get one answer each and are closed.
    let mut held = Vec::new();
    for _ in 0..12 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&q).unwrap();
        let mut b = [0u8; v3::RESPONSE_LEN];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b[4..8], &0x10u32.to_ne_bytes());
        held.push(s);
    }
    let t = Instant::now();
    let results: Vec<bool> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..300)
            .map(|_| {
                sc.spawn(|| {
                    let mut s = UnixStream::connect(&d.sock).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    s.write_all(&q).unwrap();
                    let mut b = [0u8; v3::RESPONSE_LEN];
                    s.read_exact(&mut b).is_ok() && b[4..8] == 0x10u32.to_ne_bytes()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        results.iter().all(|&ok| ok),
        "some of 300 clients not served"
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    // The first five are still connected and answer again.
    let mut served_again = 0;
    for s in held.iter_mut() {
        if s.write_all(&q).is_ok() {
            let mut b = [0u8; v3::RESPONSE_LEN];
            if s.read_exact(&mut b).is_ok() {
                served_again += 1;
            }
        }
    }
    assert_eq!(served_again, 5);
}

#[test]
fn v2_api_answers_per_connection() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    let dir = tempfile::tempdir().unwrap();
    let v2sock = dir.path().join("v2.sock");
    let d = Daemon::start(srv.port, &["--api-v2", v2sock.to_str().unwrap()]);
    assert!(d.stdout.text().contains("Listening on v2 API socket"));
    let p1 = srv.connect(LO4);
    let p2 = srv.connect(LO4);
    query_until_known(&d.sock, LO4);
    let ask = |src_port: u16, qtype: u8, id: u32| -> Vec<u8> {
        let q = v2::Query {
            qtype,
            id,
            src: Ipv4Addr::LOCALHOST,
            dst: Ipv4Addr::LOCALHOST,
            src_port,
            dst_port: srv.port,
        };
        let mut s = UnixStream::connect(&v2sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&q.encode()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    };
    for (p, id) in [(p1, 7), (p2, 8)] {
        // Capture runs apart from the test: give the second SYN a moment.
        let end = Instant::now() + Duration::from_secs(5);
        let r = loop {
            let raw = ask(p, v2::QTYPE_FINGERPRINT, id);
            assert_eq!(raw.len(), v2::RESPONSE_LEN);
            let r = v2::Response::decode(raw[..].try_into().unwrap()).unwrap();
            if r.rtype != v2::RESP_NOMATCH || Instant::now() > end {
                break r;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!((r.id, r.rtype), (id, v2::RESP_OK));
        assert_eq!(r.genre.as_string(), "Linux");
        assert_eq!(r.detail.as_string(), "6.x (loopback)");
        assert_eq!(r.dist, 0);
        assert_eq!(r.real, 1, "an exact OS match is 'real'");
    }
    let raw = ask(1, v2::QTYPE_FINGERPRINT, 9);
    let r = v2::Response::decode(raw[..].try_into().unwrap()).unwrap();
    assert_eq!((r.id, r.rtype, r.dist), (9, v2::RESP_NOMATCH, -1));
    let raw = ask(0, v2::QTYPE_STATUS, 10);
    assert_eq!(raw.len(), v2::STATUS_LEN);
    assert_eq!(raw[8], v2::RESP_STATUS);
    assert_eq!(&raw[4..8], &10u32.to_ne_bytes());
}

#[test]
fn daemon_mode_and_readiness() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    // Foreground with $NOTIFY_SOCKET: READY=1 arrives.
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify");
    let listener = UnixDatagram::bind(&notify).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let d = Daemon::start_env(
        srv.port,
        &[],
        &[("NOTIFY_SOCKET", notify.to_str().unwrap())],
    );
    let mut b = [0u8; 256];
    let n = listener.recv(&mut b).unwrap();
    let msg = String::from_utf8_lossy(&b[..n]);
    assert!(msg.contains("READY=1"), "{msg}");
    assert!(msg.contains(&format!("MAINPID={}", d.child.id())), "{msg}");
    drop(d);

    // -d: the parent reports the PID and exits; the daemon serves and logs.
    let sock = dir.path().join("d.sock");
    let log = dir.path().join("d.log");
    let out = Command::new(env!("CARGO_BIN_EXE_p0f"))
        .args(["-i", "lo", "-d", "-s"])
        .arg(&sock)
        .arg("-o")
        .arg(&log)
        .arg("--api-mode")
        .arg("0600")
        .arg(format!("tcp port {}", srv.port))
        // The daemon keeps stderr (stdout follows it) unless it is a
        // terminal; a file keeps the test from waiting on a pipe.
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let pid: i32 = text
        .lines()
        .find_map(|l| l.strip_prefix("[+] Daemon process created, PID "))
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no PID in\n{text}"));
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: signalling the daemon this test started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
    let guard = Kill(pid);
    let end = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    srv.connect(LO4);
    assert_eq!(query_until_known(&sock, LO4).status, v3::Status::Ok);
    // The log is flushed while idle.
    let end = Instant::now() + Duration::from_secs(5);
    let mut logged = String::new();
    while Instant::now() < end {
        logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("mod=syn|") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(logged.contains("mod=syn|cli=127.0.0.1/"), "log: {logged}");
    // SAFETY: signalling the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let end = Instant::now() + Duration::from_secs(10);
    while sock.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !sock.exists(),
        "daemon did not remove its socket on SIGTERM"
    );
    drop(guard);
}

#[test]
fn socket_path_rules() {
    if !can_capture() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_p0f"))
        .args(["-i", "lo", "-s"])
        .arg(&file)
        .arg("tcp port 9")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists and is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    // A stale socket is replaced.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let srv = Server::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_p0f"));
    cmd.args(["-i", "lo", "-s"])
        .arg(&stale)
        .arg(format!("tcp port {}", srv.port))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let mut ok = false;
    while Instant::now() < end {
        if UnixStream::connect(&stale).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert!(ok, "stale socket was not replaced");
}

/// A system user for `-u`, created when missing (the tests run as root).
fn test_user() -> (String, u32, std::path::PathBuf) {
    let name = "p0frs-test";
    let home = std::path::PathBuf::from("/var/lib/p0frs-test");
    let exists = Command::new("id")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let st = Command::new("useradd")
            .args(["--system", "--create-home", "--home-dir"])
            .arg(&home)
            .args(["--shell", "/usr/sbin/nologin", name])
            .status()
            .expect("useradd runs");
        assert!(st.success(), "useradd {name} failed");
    }
    let uid = String::from_utf8(
        Command::new("id")
            .args(["-u", name])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    (name.to_string(), uid.trim().parse().unwrap(), home)
}

#[test]
fn dropping_privileges_keeps_serving() {
    if !can_capture() {
        return;
    }
    let (user, uid, home) = test_user();
    let srv = Server::new();
    // As in a real deployment (/run/p0f owned by the user), the v2 socket's
    // directory belongs to the user, so the daemon can remove that socket at
    // exit after dropping privileges.
    let dir = tempfile::tempdir().unwrap();
    let c = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: chown of a directory this test created.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, uid) }, 0);
    let v2 = dir.path().join("v2.sock");
    let mut d = Daemon::start(srv.port, &["-u", &user, "--api-v2", v2.to_str().unwrap()]);
    let banner = d.stdout.text();
    assert!(
        banner.contains(&format!("[+] Privileges dropped: uid {uid}, gid ")),
        "{banner}"
    );
    // The engine runs as the user, chrooted to its home.
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == uid.to_string()),
        "{uids}"
    );
    let root = std::fs::read_link(format!("/proc/{}/root", d.child.id())).unwrap();
    assert_eq!(root, home);
    // Capture and the API (opened before the switch) still work.
    srv.connect(LO4);
    assert_eq!(query_until_known(&d.sock, LO4).status, v3::Status::Ok);
    assert!(d.stop().success());
    assert!(
        !v2.exists(),
        "socket left behind after the privilege drop:\n{}",
        d.stderr.text()
    );
    // The v3 socket's directory is root's: the daemon cannot remove it
    // there, and says why.
    assert!(d.sock.exists());
    assert!(
        d.stderr.text().contains("cannot remove API socket"),
        "{}",
        d.stderr.text()
    );
}

#[test]
fn unsuitable_users_are_refused() {
    if !can_capture() {
        return;
    }
    for (user, why) in [("root", "non-root"), ("no-such-user-p0frs", "not found")] {
        let out = Command::new(env!("CARGO_BIN_EXE_p0f"))
            .args(["-i", "lo", "-u", user, "tcp port 9"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(user), "{user}: {err}");
        let _ = why;
    }
}
