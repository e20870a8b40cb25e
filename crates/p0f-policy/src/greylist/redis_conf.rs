//! How `p0f-mailpolicy` reaches Redis: the URL file and the TLS files.
//!
//! Secrets never come from the command line, where `ps` shows them:
//! * `redis_url_file` holds `redis://[:password@]host:port/db`,
//!   `rediss://...` (TLS) or `unix:///path`; a file holding a password
//!   must not be readable by everyone.
//! * `[greylist.redis_tls]` names the PEM files for a `rediss://` URL:
//!   `ca_file` (the CA the server's certificate must chain to; without it,
//!   the system's roots), and `cert_file` with `key_file` for a client
//!   certificate (Redis asks for one unless `tls-auth-clients no`). The
//!   key file must not be readable by everyone either.
//!
//! Everything is read and checked at start-up, with the file in the error.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use p0f_greylist::redis_store::{RedisStore, TlsPem};
use serde::Deserialize;

use crate::config::{read_file, relative_to, ConfigError};

/// `[greylist.redis_tls]` as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NativeRedisTls {
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
}

/// Where the TLS material lives (paths resolved against the config file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl RedisTls {
    pub(crate) fn from_native(
        raw: &NativeRedisTls,
        config_file: &Path,
        place: &str,
    ) -> Result<RedisTls, ConfigError> {
        let tls = RedisTls {
            ca_file: raw.ca_file.as_deref().map(|p| relative_to(config_file, p)),
            cert_file: raw
                .cert_file
                .as_deref()
                .map(|p| relative_to(config_file, p)),
            key_file: raw.key_file.as_deref().map(|p| relative_to(config_file, p)),
        };
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(ConfigError::new(
                place,
                "[greylist.redis_tls] cert_file and key_file go together",
            ));
        }
        // Read now, so that a missing or unreadable file stops the start.
        tls.load()?;
        Ok(tls)
    }

    /// Reads the PEM files.
    pub fn load(&self) -> Result<TlsPem, ConfigError> {
        let root_cert = self.ca_file.as_deref().map(read_pem).transpose()?;
        let client = match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => {
                refuse_world_readable(k, "holds a private key")?;
                Some((read_pem(c)?, read_pem(k)?))
            }
            _ => None,
        };
        Ok(TlsPem { root_cert, client })
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let text = read_file(path)?;
    if !text.contains("-----BEGIN ") {
        return Err(ConfigError::new(
            path.display().to_string(),
            "not a PEM file (no -----BEGIN line)",
        ));
    }
    Ok(text.into_bytes())
}

fn refuse_world_readable(path: &Path, what: &str) -> Result<(), ConfigError> {
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o004 != 0 {
        return Err(ConfigError::new(
            path.display().to_string(),
            format!("{what} but is readable by everyone (chmod o-r)"),
        ));
    }
    Ok(())
}

/// Reads a Redis URL from a file (first non-comment line). The file holds
/// the password, so it is never logged, and it must not be readable by
/// everyone.
pub fn read_redis_url(path: &Path) -> Result<String, ConfigError> {
    let place = path.display().to_string();
    let text = read_file(path)?;
    let url = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| ConfigError::new(&place, "no Redis URL in the file"))?
        .to_string();
    if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://"))
    {
        return Err(ConfigError::new(
            &place,
            "the Redis URL must start with redis://, rediss:// or unix://",
        ));
    }
    if url.contains('@') {
        refuse_world_readable(path, "holds a password")?;
    }
    RedisStore::new(&url, "", Duration::from_secs(1)).map_err(|e| ConfigError::new(&place, e.0))?;
    Ok(url)
}

/// Checks that the URL and the TLS settings fit together.
pub(crate) fn check_pairing(
    url: &str,
    tls: Option<&RedisTls>,
    place: &str,
) -> Result<(), ConfigError> {
    if let Some(t) = tls {
        if !url.starts_with("rediss://") {
            return Err(ConfigError::new(
                place,
                "[greylist.redis_tls] needs a rediss:// URL in redis_url_file",
            ));
        }
        let pem = t.load()?;
        RedisStore::with_tls(url, Some(&pem), "", Duration::from_secs(1))
            .map_err(|e| ConfigError::new(place, e.0))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn url_file_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let f = write(
            d.path(),
            "redis.url",
            "# shared state\nredis://:secret@127.0.0.1:6379/2\n",
            0o644,
        );
        let e = read_redis_url(&f).unwrap_err();
        assert!(e.reason.contains("readable by everyone"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_redis_url(&f).unwrap(),
            "redis://:secret@127.0.0.1:6379/2"
        );
        std::fs::write(&f, "rediss://:secret@127.0.0.1:6380/\n").unwrap();
        assert_eq!(
            read_redis_url(&f).unwrap(),
            "rediss://:secret@127.0.0.1:6380/"
        );
        std::fs::write(&f, "rediss://127.0.0.1:6380/#insecure\n").unwrap();
        assert!(read_redis_url(&f).unwrap_err().reason.contains("#insecure"));
        std::fs::write(&f, "http://x\n").unwrap();
        assert!(read_redis_url(&f).is_err());
    }

    #[test]
    fn tls_table_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("p.toml");
        write(d.path(), "ca.pem", PEM, 0o644);
        write(d.path(), "client.pem", PEM, 0o644);
        write(d.path(), "client.key", PEM, 0o644);
        write(d.path(), "junk.pem", "hello\n", 0o644);
        let raw = |ca: Option<&str>, cert: Option<&str>, key: Option<&str>| NativeRedisTls {
            ca_file: ca.map(String::from),
            cert_file: cert.map(String::from),
            key_file: key.map(String::from),
        };
        let t = RedisTls::from_native(&raw(Some("ca.pem"), None, None), &conf, "p.toml:3").unwrap();
        assert_eq!(
            t.ca_file.as_deref(),
            Some(d.path().join("ca.pem").as_path())
        );
        assert!(t.load().unwrap().root_cert.is_some());
        let e = RedisTls::from_native(&raw(None, Some("client.pem"), None), &conf, "p.toml:3")
            .unwrap_err();
        assert!(e.reason.contains("go together"), "{e}");
        let e = RedisTls::from_native(
            &raw(None, Some("client.pem"), Some("client.key")),
            &conf,
            "p.toml:3",
        )
        .unwrap_err();
        assert!(e.reason.contains("private key"), "{e}");
        assert!(e.place.ends_with("client.key"), "{e}");
        let e = RedisTls::from_native(&raw(Some("junk.pem"), None, None), &conf, "p.toml:3")
            .unwrap_err();
        assert!(e.reason.contains("not a PEM"), "{e}");
        let e = RedisTls::from_native(&raw(Some("missing.pem"), None, None), &conf, "p.toml:3")
            .unwrap_err();
        assert!(e.place.ends_with("missing.pem"), "{e}");
        let e = check_pairing("redis://127.0.0.1:6379/", Some(&t), "p.toml:3").unwrap_err();
        assert!(e.reason.contains("rediss://"), "{e}");
    }
}
