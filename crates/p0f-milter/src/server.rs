//! Listeners: Unix and TCP, one task per connection, a cap on connections.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use p0f_policy::config::parse_inet;
use p0f_policy::Policy;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::milter::{self, MilterOptions};
use crate::policyd::PolicyService;

/// Most connections served at once per listener; more wait in the backlog.
pub const MAX_CONNECTIONS: usize = 1024;

pub enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listener {
    pub fn describe(&self) -> String {
        match self {
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| format!("inet:{a}"))
                .unwrap_or_else(|_| "inet:?".into()),
        }
    }

    /// Removes a Unix socket file.
    pub fn cleanup(&self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Binds `unix:/path` (mode `mode`) or `inet:ADDR:PORT`.
pub fn bind(addr: &str, mode: u32) -> io::Result<Listener> {
    if let Some(p) = addr.strip_prefix("unix:") {
        let path = PathBuf::from(p);
        if let Ok(m) = std::fs::symlink_metadata(&path) {
            if m.file_type().is_socket() {
                std::fs::remove_file(&path)?;
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
        }
        let l = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(Listener::Unix(l, path))
    } else if let Some(hp) = addr.strip_prefix("inet:") {
        let sa = parse_inet(hp).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let std = std::net::TcpListener::bind(sa)?;
        std.set_nonblocking(true)?;
        Ok(Listener::Tcp(TcpListener::from_std(std)?))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("listener {addr:?} must start with unix: or inet:"),
        ))
    }
}

/// What a listener serves.
#[derive(Clone)]
pub enum Service {
    Milter(Policy, MilterOptions),
    Policy(PolicyService, Duration),
}

async fn handle<S>(svc: Service, stream: S, peer: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match svc {
        Service::Milter(policy, opts) => {
            match milter::serve(stream, peer.clone(), policy, opts).await {
                Ok(()) => debug!(%peer, "milter connection closed"),
                Err(e) => warn!(%peer, error = %e, "milter connection ended"),
            }
        }
        Service::Policy(p, idle) => {
            let _ = p.serve(stream, peer, idle).await;
        }
    }
}

/// Accepts connections until the task is aborted.
pub fn spawn(listener: Listener, svc: Service) -> JoinHandle<()> {
    info!(listener = %listener.describe(), kind = match svc { Service::Milter(..) => "milter", Service::Policy(..) => "policy" }, "listening");
    let sem = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        let mut n: u64 = 0;
        loop {
            let Ok(permit) = sem.clone().acquire_owned().await else {
                return;
            };
            n += 1;
            match &listener {
                Listener::Unix(l, path) => match l.accept().await {
                    Ok((s, _)) => {
                        let svc = svc.clone();
                        let peer = format!("unix:{}#{n}", path.display());
                        tokio::spawn(async move {
                            handle(svc, s, peer).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Listener::Tcp(l) => match l.accept().await {
                    Ok((s, a)) => {
                        let _ = s.set_nodelay(true);
                        let svc = svc.clone();
                        let peer = format!("{a}");
                        tokio::spawn(async move {
                            handle(svc, s, peer).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    })
}
