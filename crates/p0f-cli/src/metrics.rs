//! `--metrics ADDR:PORT`: Prometheus metrics (`/metrics`) and a health
//! check (`/healthz`) for the live daemon.
//!
//! Counting never takes a lock: the capture thread and the API tasks bump
//! atomics in [`Metrics`] (one relaxed store per packet for the last-packet
//! time, nothing else per packet), and the engine's own counters (packets,
//! tables) are read once per scrape under the lock the capture thread takes
//! per packet anyway. libpcap's `pcap_stats` is read by the capture thread
//! about once a second.
//!
//! The exposition is written by prometheus-client, which writes OpenMetrics
//! text. Prometheus' classic text format (what `promtool check metrics`
//! checks, and what a scraper gets unless it asks for OpenMetrics) differs
//! in a few details of syntax, rewritten by [`to_classic`]: a counter's
//! HELP and TYPE name carry its `_total` suffix, the last histogram bucket
//! is `le="+Inf"`, and there are no `# UNIT` or `# EOF` lines.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Request, Response, StatusCode};
use p0f_capture::{CaptureStats, LiveOptions};
use p0f_engine::{Observation, Verdict};
use p0f_sigdb::Database;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::api::Shared;

/// The observation kinds counted, as the engine names them.
const KINDS: [&str; 12] = [
    "syn",
    "syn+ack",
    "mtu",
    "uptime",
    "http request",
    "http response",
    "host change",
    "ip sharing",
    "sendsyn probe",
    "sendsyn response",
    "smtp client",
    "smtp server",
];

/// Upper bounds (seconds) of the API latency buckets: from a table lookup
/// to the 50 ms catch-up wait for unknown hosts, and beyond.
const LATENCY_BUCKETS: [f64; 10] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.06, 0.25, 1.0,
];

/// Which API a query came in on.
#[derive(Clone, Copy, Debug)]
pub enum Api {
    V3 = 0,
    V2 = 1,
}

/// How a query was answered.
#[derive(Clone, Copy, Debug)]
pub enum QueryStatus {
    Ok = 0,
    NoMatch = 1,
    BadQuery = 2,
}

const APIS: [&str; 2] = ["v3", "v2"];
const STATUSES: [&str; 3] = ["ok", "no_match", "bad_query"];

/// Everything counted outside the engine.
pub struct Metrics {
    /// Packet time of the newest packet, in ms since the epoch; 0 before one.
    last_packet_ms: AtomicU64,
    pcap: [PcapCounter; 3],
    capture_running: AtomicBool,
    capture_error: Mutex<Option<String>>,
    observations: [AtomicU64; KINDS.len()],
    /// Per OS name of the database (by name index); the last is "no match".
    os: Box<[AtomicU64]>,
    queries: [[AtomicU64; STATUSES.len()]; APIS.len()],
    latency: AtomicHistogram,
    clients_open: AtomicI64,
    clients_refused: AtomicU64,
    started: SystemTime,
    /// The capture ring as opened: bytes, block timeout and the stall it
    /// survives (ms); 0 before.
    ring_bytes: AtomicU64,
    ring_timeout_ms: AtomicU32,
    ring_stall_ms: AtomicU64,
}

/// A libpcap counter (32 bits, may wrap) kept as a 64-bit total.
#[derive(Default)]
struct PcapCounter {
    last: AtomicU32,
    total: AtomicU64,
}

impl PcapCounter {
    /// Only the capture thread calls this.
    fn update(&self, now: u32) {
        let last = self.last.swap(now, Ordering::Relaxed);
        self.total
            .fetch_add(u64::from(now.wrapping_sub(last)), Ordering::Relaxed);
    }
}

struct AtomicHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl AtomicHistogram {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Sum, count and the count of each bucket (not cumulative: the
    /// encoder accumulates), ending with +Inf.
    fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(&b, n)| (b, n.load(Ordering::Relaxed)))
            .collect();
        let bounded: u64 = buckets.iter().map(|b| b.1).sum();
        // Read last, so that the total is never below the buckets.
        let count = self.count.load(Ordering::Relaxed).max(bounded);
        buckets.push((f64::INFINITY, count - bounded));
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

impl Metrics {
    /// Metrics for a daemon whose database has `os_names` names.
    pub fn new(os_names: usize) -> Metrics {
        Metrics {
            last_packet_ms: AtomicU64::new(0),
            pcap: Default::default(),
            capture_running: AtomicBool::new(true),
            capture_error: Mutex::new(None),
            observations: Default::default(),
            os: (0..=os_names).map(|_| AtomicU64::new(0)).collect(),
            queries: Default::default(),
            latency: AtomicHistogram {
                buckets: Default::default(),
                count: AtomicU64::new(0),
                sum_ns: AtomicU64::new(0),
            },
            clients_open: AtomicI64::new(0),
            clients_refused: AtomicU64::new(0),
            started: SystemTime::now(),
            ring_bytes: AtomicU64::new(0),
            ring_timeout_ms: AtomicU32::new(0),
            ring_stall_ms: AtomicU64::new(0),
        }
    }

    /// The capture ring the daemon asked libpcap for.
    pub fn capture_ring(&self, ring: &LiveOptions) {
        let ms = ring.block_timeout_ms.max(1) as u32;
        self.ring_bytes
            .store(ring.buffer_bytes.max(0) as u64, Ordering::Relaxed);
        self.ring_timeout_ms.store(ms, Ordering::Relaxed);
        self.ring_stall_ms
            .store(ring.stall_tolerance_ms(), Ordering::Relaxed);
    }

    /// A packet arrived with this capture time (libpcap's wall clock).
    #[inline]
    pub fn packet(&self, ts_sec: i64, ts_usec: u32) {
        let ms = (ts_sec.max(0) as u64) * 1000 + u64::from(ts_usec / 1000);
        self.last_packet_ms.store(ms, Ordering::Relaxed);
    }

    /// libpcap's counters, read by the capture thread.
    pub fn pcap_stats(&self, s: CaptureStats) {
        self.pcap[0].update(s.received);
        self.pcap[1].update(s.dropped);
        self.pcap[2].update(s.interface_dropped);
    }

    /// The capture thread ended, with the error that ended it if any.
    pub fn capture_ended(&self, error: Option<String>) {
        if let Some(e) = error {
            *self.capture_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
        }
        self.capture_running.store(false, Ordering::SeqCst);
    }

    /// Counts one observation: by kind, and SYN/SYN+ACK verdicts by OS name.
    pub fn observation(&self, db: &Database, obs: &Observation<'_>) {
        if let Some(i) = KINDS.iter().position(|k| *k == obs.kind) {
            self.observations[i].fetch_add(1, Ordering::Relaxed);
        }
        if let (Verdict::Signature { label, .. }, "syn" | "syn+ack") = (obs.verdict, obs.kind) {
            let slot = match label.and_then(|l| db.labels.get(l as usize)) {
                Some(l) if l.class.is_none() => return, // a user-land tool
                Some(l) => l.name as usize,
                None => self.os.len() - 1,
            };
            if let Some(n) = self.os.get(slot) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn api_query(&self, api: Api, status: QueryStatus, took: Duration) {
        self.queries[api as usize][status as usize].fetch_add(1, Ordering::Relaxed);
        self.latency.observe(took);
    }

    /// Counts an API client until the guard is dropped.
    pub fn client_opened(self: &Arc<Self>) -> ClientGuard {
        self.clients_open.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self.clone())
    }

    pub fn client_refused(&self) {
        self.clients_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// None when healthy, else why not.
    fn unhealthy(&self) -> Option<String> {
        if self.capture_running.load(Ordering::SeqCst) {
            return None;
        }
        let error = self
            .capture_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Some(match error {
            Some(e) => format!("capture failed: {e}"),
            None => "the capture thread has ended".into(),
        })
    }

    /// Seconds since the newest packet's time, or since start before one.
    fn last_packet_age(&self) -> f64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let last_ms = self.last_packet_ms.load(Ordering::Relaxed);
        let since = if last_ms == 0 {
            self.started.duration_since(UNIX_EPOCH).unwrap_or_default()
        } else {
            Duration::from_millis(last_ms)
        };
        now.saturating_sub(since).as_secs_f64()
    }
}

pub struct ClientGuard(Arc<Metrics>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Reads the metrics and the engine's counters at each scrape.
struct DaemonCollector {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DaemonCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DaemonCollector")
    }
}

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: V,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(value).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

/// A counter family with one label.
fn labelled_counters<'a>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in values {
        let labels = [(label, value)];
        let e = family.encode_family(&labels)?;
        ConstCounter::new(n).encode(e)?;
    }
    Ok(())
}

fn api_queries(
    enc: &mut DescriptorEncoder<'_>,
    queries: &[[AtomicU64; STATUSES.len()]; APIS.len()],
) -> Result<(), std::fmt::Error> {
    let mut family = enc.encode_descriptor(
        "p0f_api_queries",
        "API queries answered, by API and status.",
        None,
        MetricType::Counter,
    )?;
    for (api, row) in APIS.iter().zip(queries) {
        for (status, n) in STATUSES.iter().zip(row) {
            let labels = [("api", *api), ("status", *status)];
            ConstCounter::new(n.load(Ordering::Relaxed)).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

impl Collector for DaemonCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = &self.shared.metrics;
        // One short lock: copy the engine's numbers out.
        let (processed, flows, hosts, tables, names) = {
            let st = self.shared.lock();
            let e = &st.engine;
            (
                e.packets(),
                e.flow_count(),
                e.host_count(),
                e.table_counters(),
                e.database().names.clone(),
            )
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut enc,
            "p0f_packets_received",
            "Packets that passed the capture filter, as libpcap counts them (pcap_stats ps_recv).",
            load(&m.pcap[0].total),
        )?;
        counter(
            &mut enc,
            "p0f_packets_processed",
            "Packets handed to the fingerprinting engine.",
            processed,
        )?;
        labelled_counters(
            &mut enc,
            "p0f_packets_dropped",
            "Packets lost before p0f saw them, as libpcap counts them: reason=buffer is a full capture buffer (ps_drop), reason=interface the interface or driver (ps_ifdrop).",
            "reason",
            [
                ("buffer", load(&m.pcap[1].total)),
                ("interface", load(&m.pcap[2].total)),
            ],
        )?;
        gauge(
            &mut enc,
            "p0f_last_packet_age_seconds",
            "Seconds since the newest captured packet (since start before the first): a quiet interface, not a dead capture (see /healthz).",
            m.last_packet_age(),
        )?;
        gauge(
            &mut enc,
            "p0f_flows_tracked",
            "Connections tracked now.",
            flows as u64,
        )?;
        gauge(
            &mut enc,
            "p0f_hosts_tracked",
            "Hosts remembered now.",
            hosts as u64,
        )?;
        counter(
            &mut enc,
            "p0f_flows_created",
            "Connections tracked since start.",
            tables.flows_created,
        )?;
        counter(
            &mut enc,
            "p0f_flows_expired",
            "Connections dropped for their age (-t).",
            tables.flows_expired,
        )?;
        counter(
            &mut enc,
            "p0f_flows_evicted",
            "Connections dropped to make room (-m).",
            tables.flows_evicted,
        )?;
        counter(
            &mut enc,
            "p0f_hosts_created",
            "Hosts remembered since start.",
            tables.hosts_created,
        )?;
        counter(
            &mut enc,
            "p0f_hosts_expired",
            "Hosts forgotten after being idle (-t).",
            tables.hosts_expired,
        )?;
        counter(
            &mut enc,
            "p0f_hosts_evicted",
            "Hosts forgotten to make room (-m).",
            tables.hosts_evicted,
        )?;
        labelled_counters(
            &mut enc,
            "p0f_observations",
            "Observations reported, by kind.",
            "kind",
            KINDS
                .iter()
                .zip(&m.observations)
                .map(|(k, n)| (*k, load(n))),
        )?;
        labelled_counters(
            &mut enc,
            "p0f_os_fingerprints",
            "SYN and SYN+ACK fingerprints by the matched OS name (os=\"unknown\": no match); user-land tools are not counted.",
            "os",
            m.os.iter().enumerate().filter_map(|(i, n)| {
                let n = load(n);
                let name = if i + 1 == m.os.len() {
                    Some("unknown")
                } else {
                    names.get(i).map(String::as_str)
                };
                // Names never seen are left out; "unknown" is always there.
                (n > 0 || i + 1 == m.os.len()).then_some((name?, n))
            }),
        )?;
        api_queries(&mut enc, &m.queries)?;
        let (sum, count, buckets) = m.latency.snapshot();
        enc.encode_descriptor(
            "p0f_api_query_duration_seconds",
            "Time from a complete query to its answer, including the wait for a client's SYN still in the capture buffer.",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        gauge(
            &mut enc,
            "p0f_api_clients_open",
            "API client connections open now.",
            m.clients_open.load(Ordering::Relaxed),
        )?;
        counter(
            &mut enc,
            "p0f_api_clients_refused",
            "API client connections closed at once because the hard cap was reached.",
            load(&m.clients_refused),
        )?;
        gauge(
            &mut enc,
            "p0f_capture_buffer_bytes",
            "Kernel memory asked of libpcap for the capture ring (--capture-buffer), never swapped out.",
            load(&m.ring_bytes),
        )?;
        gauge(
            &mut enc,
            "p0f_capture_block_timeout_seconds",
            "The ring's block timeout (--capture-timeout): the longest a captured packet waits before the daemon may read it.",
            f64::from(m.ring_timeout_ms.load(Ordering::Relaxed)) / 1000.0,
        )?;
        gauge(
            &mut enc,
            "p0f_capture_stall_tolerance_seconds",
            "How long the daemon may stop reading before the ring overflows, while traffic fills less than one 256 KiB block per timeout: blocks x timeout (busier links fill blocks sooner).",
            load(&m.ring_stall_ms) as f64 / 1000.0,
        )?;
        gauge(
            &mut enc,
            "p0f_up",
            "1 while the capture thread runs without a libpcap error, else 0 (as /healthz).",
            i64::from(m.unhealthy().is_none()),
        )?;
        Ok(())
    }
}

/// What the HTTP server answers with.
pub struct Endpoint {
    registry: Registry,
    metrics_source: Arc<Shared>,
}

impl Endpoint {
    pub fn new(shared: Arc<Shared>) -> Endpoint {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(DaemonCollector {
            shared: shared.clone(),
        }));
        Endpoint {
            registry,
            metrics_source: shared,
        }
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let reply = |status: StatusCode, ctype: &str, body: String| {
            Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, ctype)
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_default()
        };
        if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "only GET\n".into(),
            );
        }
        match req.uri().path() {
            "/metrics" => {
                let mut text = String::with_capacity(8 * 1024);
                if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
                    return reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain",
                        "cannot encode metrics\n".into(),
                    );
                }
                let open_metrics = req
                    .headers()
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("application/openmetrics-text"));
                if open_metrics {
                    reply(
                        StatusCode::OK,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        text,
                    )
                } else {
                    reply(
                        StatusCode::OK,
                        "text/plain; version=0.0.4; charset=utf-8",
                        to_classic(&text),
                    )
                }
            }
            "/healthz" => match self.metrics_source.metrics.unhealthy() {
                None => reply(StatusCode::OK, "text/plain", "ok\n".into()),
                Some(why) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("{why}\n"),
                ),
            },
            _ => reply(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found; try /metrics or /healthz\n".into(),
            ),
        }
    }
}

/// OpenMetrics text to Prometheus' classic text format (version 0.0.4).
pub fn to_classic(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // Held until the TYPE line says whether the name needs `_total`.
            if let Some(h) = help.replace(rest) {
                let _ = writeln!(out, "# HELP {h}");
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let suffix = if kind == "counter" && !name.ends_with("_total") {
                "_total"
            } else {
                ""
            };
            if let Some(h) = help.take() {
                let text = h.strip_prefix(name).unwrap_or(h);
                let _ = writeln!(out, "# HELP {name}{suffix}{text}");
            }
            let _ = writeln!(out, "# TYPE {name}{suffix} {kind}");
            continue;
        }
        if let Some(h) = help.take() {
            let _ = writeln!(out, "# HELP {h}");
        }
        // The classic format spells the last bucket's bound +Inf.
        out.push_str(&line.replace("le=\"inf\"", "le=\"+Inf\""));
        out.push('\n');
    }
    if let Some(h) = help {
        let _ = writeln!(out, "# HELP {h}");
    }
    out
}

/// Connections served at once; more are closed at once.
const MAX_SCRAPERS: usize = 16;

/// Serves `/metrics` and `/healthz` over HTTP/1.1 until the runtime stops.
pub async fn serve(listener: tokio::net::TcpListener, endpoint: Arc<Endpoint>) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if open.fetch_add(1, Ordering::AcqRel) >= MAX_SCRAPERS {
            open.fetch_sub(1, Ordering::AcqRel);
            continue;
        }
        let endpoint = endpoint.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let reply = endpoint.respond(&req);
                async move { Ok::<_, Infallible>(reply) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(Duration::from_secs(5))
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // A scraper that holds a connection open gets a minute.
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
            open.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_names_counters_with_total() {
        let om = "# HELP a_seen Things seen.\n# TYPE a_seen counter\na_seen_total 3\n\
                  # HELP g A gauge.\n# TYPE g gauge\n# UNIT g seconds\ng 1.5\n# EOF\n";
        assert_eq!(
            to_classic(om),
            "# HELP a_seen_total Things seen.\n# TYPE a_seen_total counter\na_seen_total 3\n\
             # HELP g A gauge.\n# TYPE g gauge\ng 1.5\n"
        );
    }

    #[test]
    fn histogram_buckets_add_up() {
        let h = AtomicHistogram {
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        };
        h.observe(Duration::from_micros(10));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(5));
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 5.00301).abs() < 1e-9);
        assert_eq!(buckets[0], (0.000_05, 1));
        assert_eq!(buckets[5], (0.005, 1));
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 3);
    }

    fn endpoint() -> (Arc<Shared>, Endpoint) {
        let db = Arc::new(Database::builtin());
        let engine = p0f_engine::Engine::new(db, p0f_engine::Config::default(), 1);
        let shared = Arc::new(Shared::new(crate::api::State {
            engine,
            conns: None,
        }));
        (shared.clone(), Endpoint::new(shared))
    }

    fn get(e: &Endpoint, path: &str) -> (StatusCode, String) {
        let req = Request::get(path).body(()).unwrap();
        let r = e.respond(&req);
        let status = r.status();
        let body = r.into_body();
        let bytes = body_bytes(body);
        (status, String::from_utf8(bytes).unwrap())
    }

    /// The body of a `Full`, which is ready at once.
    fn body_bytes(body: Full<Bytes>) -> Vec<u8> {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(body.collect()).unwrap().to_bytes().to_vec()
    }

    #[test]
    fn health_fails_when_capture_ends_or_errs() {
        let (shared, e) = endpoint();
        assert_eq!(get(&e, "/healthz"), (StatusCode::OK, "ok\n".into()));
        shared.metrics.capture_ended(Some(
            "live capture stopped: packet capture failed: boom".into(),
        ));
        let (status, body) = get(&e, "/healthz");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("boom"), "{body}");
        let (_, metrics) = get(&e, "/metrics");
        assert!(metrics.contains("\np0f_up 0\n"), "{metrics}");

        let (shared, e) = endpoint();
        shared.metrics.capture_ended(None);
        let (status, body) = get(&e, "/healthz");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "the capture thread has ended\n");
    }

    #[test]
    fn ring_gauges_report_the_stall_the_ring_survives() {
        let (shared, e) = endpoint();
        shared.metrics.capture_ring(&LiveOptions::default());
        let (_, metrics) = get(&e, "/metrics");
        assert!(
            metrics.contains("\np0f_capture_buffer_bytes 33554432\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("\np0f_capture_block_timeout_seconds 0.005\n"),
            "{metrics}"
        );
        // 128 blocks x 5 ms: the 633 ms measured by bench/capture-stall.sh.
        assert!(
            metrics.contains("\np0f_capture_stall_tolerance_seconds 0.64\n"),
            "{metrics}"
        );

        shared.metrics.capture_ring(&LiveOptions {
            buffer_bytes: 16 << 20,
            block_timeout_ms: 1,
            ..LiveOptions::default()
        });
        let (_, metrics) = get(&e, "/metrics");
        assert!(
            metrics.contains("\np0f_capture_stall_tolerance_seconds 0.064\n"),
            "{metrics}"
        );
    }

    #[test]
    fn pcap_counters_survive_wrapping() {
        let c = PcapCounter::default();
        c.update(u32::MAX - 1);
        c.update(3);
        assert_eq!(c.total.load(Ordering::Relaxed), u64::from(u32::MAX) + 4);
    }
}
