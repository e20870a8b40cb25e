//! More Postfix instances beside the system one: each its own
//! configuration directory, queue, data directory and log, optionally with
//! its master running inside a network namespace (a sending MTA with its
//! own queue on a client's stack). Stopped and removed on drop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{must, run, tail};

pub struct Instance {
    pub name: String,
    pub dir: PathBuf,
    pub log: String,
    netns: Option<String>,
}

impl Instance {
    /// Creates `/etc/postfix-NAME` from Debian's master.cf without its
    /// port-25 service, with `services` (`postconf -M` entries) and
    /// `settings` (`postconf -e` lines), and starts it.
    pub fn start(
        name: &str,
        netns: Option<&str>,
        settings: &[String],
        services: &[String],
    ) -> Instance {
        let inst = Instance {
            name: name.to_string(),
            dir: PathBuf::from(format!("/etc/postfix-{name}")),
            log: format!("/var/log/p0f-mailpolicy-test-{name}.log"),
            netns: netns.map(str::to_string),
        };
        inst.remove();
        let queue = format!("/var/spool/postfix-{name}");
        let data = format!("/var/lib/postfix-{name}");
        for d in [inst.dir.to_str().unwrap(), &queue, &data] {
            std::fs::create_dir_all(d).unwrap();
        }
        must("chown", &["postfix:postfix", &data]);
        let master = std::fs::read_to_string("/usr/share/postfix/master.cf.dist")
            .or_else(|_| std::fs::read_to_string("/etc/postfix/master.cf"))
            .unwrap();
        std::fs::write(inst.dir.join("master.cf"), master).unwrap();
        std::fs::write(
            inst.dir.join("main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {queue}\ndata_directory = {data}\n\
                 maillog_file = {}\ninet_protocols = ipv4\nalias_maps =\nalias_database =\n\
                 smtpd_peername_lookup = no\nsmtp_tls_security_level = none\n",
                inst.log
            ),
        )
        .unwrap();
        let d = inst.dir.to_str().unwrap().to_string();
        let _ = run("postconf", &["-c", &d, "-MX", "smtp/inet"]);
        // No chroot: a fresh queue directory has none of the files a
        // chrooted daemon needs.
        must("postconf", &["-c", &d, "-F", "*/*/chroot = n"]);
        for s in services {
            must("postconf", &["-c", &d, "-M", s]);
        }
        for s in settings {
            must("postconf", &["-c", &d, "-e", s]);
        }
        let _ = std::fs::remove_file(&inst.log);
        inst.postfix("start");
        inst
    }

    fn postfix(&self, cmd: &str) {
        let d = self.dir.to_str().unwrap();
        let o = match &self.netns {
            Some(ns) => run("ip", &["netns", "exec", ns, "postfix", "-c", d, cmd]),
            None => run("postfix", &["-c", d, cmd]),
        };
        assert!(
            o.status.success() || cmd == "stop",
            "postfix -c {d} {cmd} failed: {}{}\nlog:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            tail(&self.log, 20)
        );
    }

    /// Waits until the log has a line containing all of `needles`.
    pub fn wait_log(&self, needles: &[&str], secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    fn remove(&self) {
        if self.dir.join("main.cf").exists() {
            let _ = run("postfix", &["-c", self.dir.to_str().unwrap(), "stop"]);
        }
        for d in [
            self.dir.clone(),
            PathBuf::from(format!("/var/spool/postfix-{}", self.name)),
            PathBuf::from(format!("/var/lib/postfix-{}", self.name)),
        ] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.postfix("stop");
        self.remove();
    }
}
