//! Operating-system chores of the daemon: API sockets, dropping
//! privileges, detaching, systemd readiness and signals.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;

/// A listening Unix socket we created, and how to remove it at exit even
/// after a chroot (through a descriptor of its directory).
pub struct ApiSocket {
    pub listener: UnixListener,
    pub path: String,
    dir_fd: libc::c_int,
    name: CString,
    dev: u64,
    ino: u64,
}

impl ApiSocket {
    /// Creates the socket like p0f: an existing socket is replaced, any
    /// other existing file is an error. The socket gets `mode`.
    pub fn bind(path: &str, mode: u32) -> Result<ApiSocket, String> {
        let p = Path::new(path);
        // sun_path holds 108 bytes including the terminating NUL.
        if path.is_empty() || path.len() >= 108 {
            return Err(format!(
                "API socket path '{path}' must be 1 to 107 bytes long"
            ));
        }
        match fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_socket() => fs::remove_file(p)
                .map_err(|e| format!("cannot remove old API socket '{path}': {e}"))?,
            Ok(_) => {
                return Err(format!(
                    "API socket path '{path}' exists and is not a socket; not touching it"
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot check API socket path '{path}': {e}")),
        }
        // Bind with a umask that leaves nobody more than `mode`, then set
        // the mode exactly (no window where the socket is more open).
        // SAFETY: umask only changes the process's file creation mask.
        let old = unsafe { libc::umask(0o777 & !(mode as libc::mode_t)) };
        let bound = UnixListener::bind(p);
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        let listener = bound.map_err(|e| format!("cannot create API socket '{path}': {e}"))?;
        fs::set_permissions(p, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set mode of API socket '{path}': {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot set up API socket '{path}': {e}"))?;
        let meta = fs::symlink_metadata(p)
            .map_err(|e| format!("cannot check API socket '{path}': {e}"))?;
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let cparent = CString::new(parent.as_os_str().as_bytes())
            .map_err(|_| format!("API socket path '{path}' contains a NUL byte"))?;
        // SAFETY: plain open of a directory; the descriptor is ours.
        let dir_fd = unsafe {
            libc::open(
                cparent.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        let name = CString::new(p.file_name().unwrap_or(OsStr::new("")).as_bytes())
            .map_err(|_| format!("API socket path '{path}' contains a NUL byte"))?;
        Ok(ApiSocket {
            listener,
            path: path.to_string(),
            dir_fd,
            name,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Removes the socket file if it is still the one we created. After
    /// `-u`, this needs write access to the socket's directory as that
    /// user (e.g. a `/run/p0f` owned by it); the error says so otherwise.
    pub fn remove(&self) -> io::Result<()> {
        if self.dir_fd < 0 {
            return Ok(());
        }
        // SAFETY: fstatat/unlinkat on our directory descriptor and a
        // NUL-terminated name; `st` is plain data.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstatat(
                self.dir_fd,
                self.name.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            ) == 0
                && st.st_dev == self.dev
                && st.st_ino == self.ino
                && libc::unlinkat(self.dir_fd, self.name.as_ptr(), 0) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

impl Drop for ApiSocket {
    fn drop(&mut self) {
        if self.dir_fd >= 0 {
            // SAFETY: closing our own descriptor once.
            unsafe { libc::close(self.dir_fd) };
        }
    }
}

/// Switches to `user` following p0f's rules: the user must exist, must not
/// be root (uid or gid 0), and must have a home directory other than `/`,
/// which becomes the new root; /proc and /sys must not be visible there.
/// Returns the uid, gid and new root, for p0f's status line.
pub fn drop_privileges(user: &str) -> Result<(u32, u32, String), String> {
    let cuser = CString::new(user).map_err(|_| format!("bad user name '{user}'"))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy
    // what we need before any other passwd call.
    let (uid, gid, home) = unsafe {
        let pw = libc::getpwnam(cuser.as_ptr());
        if pw.is_null() {
            return Err(format!("user '{user}' not found (-u)"));
        }
        let pw = &*pw;
        let home = if pw.pw_dir.is_null() {
            String::new()
        } else {
            CStr::from_ptr(pw.pw_dir).to_string_lossy().into_owned()
        };
        (pw.pw_uid, pw.pw_gid, home)
    };
    if uid == 0 || gid == 0 {
        return Err(format!(
            "user '{user}' has uid or gid 0; -u needs an unprivileged account"
        ));
    }
    if home.is_empty() || Path::new(&home) == Path::new("/") {
        return Err(format!(
            "user '{user}' needs a home directory other than '/' to chroot to (-u)"
        ));
    }
    let chome = CString::new(home.as_str()).map_err(|_| format!("bad home directory '{home}'"))?;
    // SAFETY: standard privilege-dropping calls with valid arguments; each
    // result is checked.
    unsafe {
        if libc::initgroups(cuser.as_ptr(), gid) != 0 {
            return Err(format!(
                "initgroups for '{user}' failed: {}",
                io::Error::last_os_error()
            ));
        }
        if libc::chdir(chome.as_ptr()) != 0 || libc::chroot(chome.as_ptr()) != 0 {
            return Err(format!(
                "cannot chroot to '{home}' (home of '{user}'): {}",
                io::Error::last_os_error()
            ));
        }
        if libc::chdir(c"/".as_ptr()) != 0 {
            return Err(format!(
                "cannot chdir to the new root: {}",
                io::Error::last_os_error()
            ));
        }
    }
    for inside in ["/proc/", "/sys/"] {
        if fs::read_dir(inside)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
        {
            return Err(format!(
                "'{inside}' is visible inside the chroot '{home}'; use an empty home directory for '{user}'"
            ));
        }
    }
    // SAFETY: as above.
    unsafe {
        if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
            return Err(format!(
                "cannot switch to user '{user}': {}",
                io::Error::last_os_error()
            ));
        }
        if libc::setuid(0) == 0 {
            return Err("privileges could be regained after -u; refusing to run".into());
        }
    }
    Ok((uid, gid, home))
}

/// Forks into the background. Returns in the child (which then has its own
/// session and no terminal); the parent prints the child's PID and exits.
/// Must be called before any thread is started.
pub fn daemonize() -> Result<(), String> {
    use std::io::Write;
    let _ = io::stdout().flush();
    // SAFETY: no other thread exists yet (the caller's contract), so fork
    // is safe; the child only continues single-threaded Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork failed: {}", io::Error::last_os_error()));
    }
    if pid > 0 {
        println!(
            "[+] Daemon process created, PID {pid} (stderr is {}).",
            stderr_fate()
        );
        let _ = io::stdout().flush();
        // SAFETY: leave without running destructors (sockets stay for the child).
        unsafe { libc::_exit(0) };
    }
    // SAFETY: plain descriptor and session calls on our own process.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            if libc::isatty(2) == 1 {
                libc::dup2(null, 1);
                libc::dup2(null, 2);
            } else {
                libc::dup2(2, 1);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

fn stderr_fate() -> &'static str {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(2) } == 1 {
        "discarded"
    } else {
        "kept"
    }
}

/// Tells systemd (or anything listening on `$NOTIFY_SOCKET`) that the
/// service is ready; does nothing without the variable.
pub fn notify_ready() {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let msg = format!("READY=1\nMAINPID={}\n", std::process::id());
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = target.as_bytes();
    let sent = if let Some(abs) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abs)
            .and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
    } else {
        sock.send_to(msg.as_bytes(), Path::new(&target))
    };
    if let Err(e) = sent {
        eprintln!("[!] WARNING: cannot notify the service manager ($NOTIFY_SOCKET): {e}");
    }
}

/// Makes a write to a closed socket an error instead of a fatal signal.
pub fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_IGN.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The soft limit on open descriptors, raised to the hard limit.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: get/setrlimit with a valid struct.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 1024;
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max.min(65536),
                rlim_max: rl.rlim_max,
            };
            if want.rlim_cur > rl.rlim_cur && libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        rl.rlim_cur
    }
}
