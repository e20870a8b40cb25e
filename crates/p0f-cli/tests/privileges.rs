//! Least privilege, verified on a live daemon: after `-u` nothing of root
//! is left (no capabilities, the user's ids and groups only, chrooted), and
//! the API socket's owner and mode are what docs/daemon.md says, with
//! access actually granted and refused by them.
//!
//! Each test starts its own daemon on loopback as root (CI runs as root;
//! elsewhere the tests are skipped with a note, and fail under CI=true).

mod live_support;

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use live_support::*;
use p0f_api::v3;

const LO4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Debian's `nobody`/`nogroup`: a user in no group of ours.
const NOBODY: u32 = 65534;

/// The system user for `-u` (shared with tests/live.rs), created when
/// missing, with an empty home to chroot to.
fn test_user() -> (String, u32, u32, PathBuf) {
    let name = "p0frs-test";
    let home = PathBuf::from("/var/lib/p0frs-test");
    if !id(&[name]).status.success() {
        let st = Command::new("useradd")
            .args(["--system", "--create-home", "--home-dir"])
            .arg(&home)
            .args(["--shell", "/usr/sbin/nologin", name])
            .status()
            .expect("useradd runs");
        assert!(st.success(), "useradd {name} failed");
    }
    let num = |flag: &str| -> u32 {
        String::from_utf8(id(&[flag, name]).stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (name.to_string(), num("-u"), num("-g"), home)
}

fn id(args: &[&str]) -> Output {
    Command::new("id").args(args).output().expect("id runs")
}

/// `Name:` line of /proc/PID/status, split into its fields.
fn status_field(pid: u32, name: &str) -> Vec<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn after_dropping_privileges_nothing_of_root_is_left() {
    if !can_capture() {
        return;
    }
    let (user, uid, gid, home) = test_user();
    let srv = Server::new();
    let mut d = Daemon::start(srv.port, &["-u", &user]);
    let pid = d.child.id();
    // Before the drop the daemon had every capability (it runs as root);
    // after it, none: effective, permitted and ambient sets are empty.
    for set in ["CapEff", "CapPrm", "CapAmb"] {
        assert_eq!(
            status_field(pid, set),
            ["0000000000000000"],
            "{set} after -u"
        );
    }
    for ids in ["Uid", "Gid"] {
        let want = if ids == "Uid" { uid } else { gid };
        let got = status_field(pid, ids);
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|v| *v == want.to_string()), "{ids}: {got:?}");
    }
    // Only the user's own groups (initgroups), never root's.
    let groups = status_field(pid, "Groups");
    assert!(!groups.iter().any(|g| g == "0"), "Groups: {groups:?}");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        home,
        "not chrooted to the user's home"
    );
    // And it still works: capture and API opened before the drop.
    srv.connect(LO4);
    assert_eq!(query_until_known(&d.sock, LO4).status, v3::Status::Ok);
    assert!(d.stop().success());
}

/// Runs p0f-client against `sock` as `uid`, with `groups` as its
/// supplementary groups.
fn client_as(sock: &Path, uid: u32, gid: u32, groups: &[u32]) -> Output {
    let groups = groups.to_vec();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_p0f-client"));
    cmd.arg(sock).arg("127.0.0.1");
    // SAFETY: setgroups, setgid and setuid are async-signal-safe and touch
    // nothing shared; they run in the forked child before exec, in this
    // order because only root may set groups (std's uid() would switch the
    // user before any pre_exec hook).
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn socket_modes_and_owners_grant_and_refuse_access() {
    if !can_capture() {
        return;
    }
    let srv = Server::new();
    // p0f's default: 0666, owned by the user that started the daemon.
    let d = Daemon::start(srv.port, &[]);
    let meta = std::fs::metadata(&d.sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = client_as(&d.sock, NOBODY, NOBODY, &[]);
    assert!(
        out.status.success(),
        "0666 refused a stranger: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(d);

    // The packaged unit: started as root with the group p0f-rs (Group=)
    // and --api-mode 0660. The group is the test user's.
    let (_, _, gid, _) = test_user();
    let d = daemon_with_group(srv.port, gid);
    let meta = std::fs::metadata(&d.sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!((meta.uid(), meta.gid()), (0, gid));
    let stranger = client_as(&d.sock, NOBODY, NOBODY, &[]);
    assert_eq!(stranger.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stranger.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&stranger.stderr)
    );
    let member = client_as(&d.sock, NOBODY, NOBODY, &[gid]);
    assert!(
        member.status.success(),
        "a member of the socket's group was refused: {}",
        String::from_utf8_lossy(&member.stderr)
    );
}

/// A daemon like the packaged unit's: `Group=`, `--api-mode 0660`.
fn daemon_with_group(port: u16, gid: u32) -> GroupDaemon {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.path().join("p0f.sock");
    let log = dir.path().join("stdout");
    let child = Command::new(env!("CARGO_BIN_EXE_p0f"))
        .args(["-i", "lo", "--api-mode", "0660", "-s"])
        .arg(&sock)
        .arg(format!("tcp port {port}"))
        .gid(gid)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let d = GroupDaemon { child, sock, dir };
    for _ in 0..200 {
        if std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("[+] Entered main event loop.")
        {
            return d;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "daemon did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

struct GroupDaemon {
    child: std::process::Child,
    sock: PathBuf,
    #[allow(dead_code)]
    dir: tempfile::TempDir,
}

impl Drop for GroupDaemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
