//! `--metrics ADDR:PORT`: Prometheus metrics on `/metrics`, liveness on
//! `/healthz`.
//!
//! The metrics are kept with `prometheus-client`, which writes the
//! OpenMetrics text format. Prometheus itself scrapes that, but Debian 12's
//! `promtool check metrics` (2.42) parses the older text format 0.0.4, in
//! which a counter's `# TYPE` line names the sample with its `_total` and
//! there is no `# EOF`; [`to_prometheus_text`] makes that translation, so
//! both Prometheus and promtool read the page.
//!
//! The HTTP side is a few lines over Tokio rather than a web framework: two
//! read-only pages, one request per connection, bounded request size and
//! time; hyper and its companions would more than double this crate's
//! dependency tree for that.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{info, warn};

/// A recipient decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Accept,
    Block,
    Greylist,
    Tempfail,
    DryRun,
}

impl Action {
    const ALL: [Action; 5] = [
        Action::Accept,
        Action::Block,
        Action::Greylist,
        Action::Tempfail,
        Action::DryRun,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Block => "block",
            Action::Greylist => "greylist",
            Action::Tempfail => "tempfail",
            Action::DryRun => "dry-run",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabel {
    store: &'static str,
}

/// Every metric of the service.
pub struct Metrics {
    registry: Registry,
    p0f_latency: Histogram,
    store_errors: Family<StoreLabel, Counter>,
    /// The counters of the `decisions` family, in [`Action::ALL`]'s order
    /// (the declaration's, so `action as usize` indexes it), and of
    /// `p0f_queries` (found, no match, error), looked up once: a lookup in
    /// a family hashes the labels under a lock, on every decision.
    by_action: [Counter; 5],
    by_outcome: [Counter; 3],
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics (one service per process, so one set).
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("p0f_mailpolicy");
        let decisions = Family::<ActionLabel, Counter>::default();
        registry.register(
            "decisions",
            "Recipient decisions by action (accept, block, greylist, tempfail, dry-run)",
            decisions.clone(),
        );
        let p0f_queries = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "p0f_queries",
            "Connections looked up in p0f, by outcome (found, no_match, error)",
            p0f_queries.clone(),
        );
        // 0.1 ms .. ~3.3 s
        let p0f_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "p0f_query_duration_seconds",
            "Time to ask every configured p0f instance about one connection",
            p0f_latency.clone(),
        );
        let store_errors = Family::<StoreLabel, Counter>::default();
        registry.register(
            "greylist_store_errors",
            "Greylist store operations that failed or timed out",
            store_errors.clone(),
        );
        let by_action = Action::ALL.map(|a| {
            decisions
                .get_or_create(&ActionLabel { action: a.as_str() })
                .clone()
        });
        let by_outcome = ["found", "no_match", "error"].map(|o| {
            p0f_queries
                .get_or_create(&OutcomeLabel { outcome: o })
                .clone()
        });
        Metrics {
            registry,
            p0f_latency,
            store_errors,
            by_action,
            by_outcome,
        }
    }

    pub fn decision(&self, a: Action) {
        self.by_action[a as usize].inc();
    }

    /// One p0f lookup: its outcome and how long it took.
    pub fn p0f_query(&self, lk: &p0f_policy::Lookup, took: Duration) {
        let outcome = if lk.record.is_some() {
            0
        } else if lk.errors.is_empty() {
            1
        } else {
            2
        };
        self.by_outcome[outcome].inc();
        self.p0f_latency.observe(took.as_secs_f64());
    }

    pub fn store_error(&self, store: &'static str) {
        self.store_errors.get_or_create(&StoreLabel { store }).inc();
    }

    /// The page, in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut om = String::new();
        if prometheus_client::encoding::text::encode(&mut om, &self.registry).is_err() {
            return String::new();
        }
        to_prometheus_text(&om)
    }
}

/// Translates OpenMetrics text into the Prometheus text format 0.0.4: a
/// counter family `x` (samples `x_total`) is announced as `x_total`;
/// `# UNIT` and `# EOF` lines, which 0.0.4 does not have, are dropped.
pub fn to_prometheus_text(om: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for l in om.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.insert(name.to_string());
            }
        }
    }
    let mut out = String::with_capacity(om.len() + 64);
    for l in om.lines() {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let meta = l
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| l.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        if let Some((kind, rest)) = meta {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) {
                let _ = writeln!(out, "{kind}{name}_total {tail}");
                continue;
            }
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

const MAX_REQUEST_HEAD: usize = 8192;
const MAX_SCRAPERS: usize = 16;

/// Serves `/metrics` and `/healthz` until the task is aborted.
pub async fn serve(listener: TcpListener) {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    loop {
        let Ok(permit) = sem.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((s, peer)) => {
                tokio::spawn(async move {
                    if let Err(e) = tokio::time::timeout(Duration::from_secs(5), answer(s)).await {
                        warn!(%peer, error = %e, "metrics client too slow");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Binds the metrics listener (at start-up, so that a bad address is an
/// error before any mail is handled).
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr).await?;
    info!(listener = %addr, "metrics on /metrics, liveness on /healthz");
    Ok(l)
}

async fn answer(mut s: tokio::net::TcpStream) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > MAX_REQUEST_HEAD {
            let _ = s
                .write_all(&response(431, "text/plain", "request head too large\n"))
                .await;
            return;
        }
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let reply = match (method, path) {
        ("GET" | "HEAD", "/metrics") => response(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            &get().render(),
        ),
        ("GET" | "HEAD", "/healthz") => response(200, "text/plain", "ok\n"),
        ("GET" | "HEAD", _) => response(404, "text/plain", "not found: try /metrics or /healthz\n"),
        _ => response(405, "text/plain", "only GET\n"),
    };
    let reply = if method == "HEAD" {
        let end = reply
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .unwrap_or(reply.len());
        reply[..end].to_vec()
    } else {
        reply
    };
    let _ = s.write_all(&reply).await;
    let _ = s.shutdown().await;
}

fn response(code: u16, ctype: &str, body: &str) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Request Header Fields Too Large",
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_to_prometheus_text() {
        let om = "# HELP a_decisions Decisions.\n# TYPE a_decisions counter\na_decisions_total{action=\"accept\"} 1\n# HELP a_lat Latency.\n# TYPE a_lat histogram\n# UNIT a_lat seconds\na_lat_sum 0.0\n# EOF\n";
        let t = to_prometheus_text(om);
        assert_eq!(
            t,
            "# HELP a_decisions_total Decisions.\n# TYPE a_decisions_total counter\na_decisions_total{action=\"accept\"} 1\n# HELP a_lat Latency.\n# TYPE a_lat histogram\na_lat_sum 0.0\n"
        );
    }

    #[test]
    fn render_lists_every_action() {
        get().decision(Action::Greylist);
        let page = get().render();
        for a in ["accept", "block", "greylist", "tempfail", "dry-run"] {
            assert!(
                page.contains(&format!("p0f_mailpolicy_decisions_total{{action=\"{a}\"}}")),
                "{page}"
            );
        }
        assert!(page.contains("# TYPE p0f_mailpolicy_decisions_total counter"));
        assert!(page.contains("p0f_mailpolicy_p0f_query_duration_seconds_bucket{le="));
        assert!(!page.contains("# EOF"));
    }
}
