//! The p0f-rs fingerprint engine: packet bytes and timestamps in,
//! observations out.
//!
//! The engine is pure: it does no I/O, keeps no clock of its own (packet
//! timestamps are the only time it knows, as in p0f) and reports through a
//! [`Sink`]. That keeps it equally usable from the offline command, the
//! daemon and tests, and makes its output a function of its input.
//!
//! Data flow for one packet: link-layer offset ([`Engine::process`]) →
//! network and TCP facts ([`packet::parse`]) → flow dispatch (SYN, SYN+ACK,
//! data, FIN/RST) → TCP fingerprint and match, MTU, uptime, HTTP → NAT and
//! host-change scoring → [`Observation`]s.

pub mod addr;
mod dispatch;
mod fingerprint;
mod http;
mod nat;
pub mod observe;
pub mod packet;
mod query;
mod sigmemo;
pub mod smtp;
mod smtpmemo;
mod state;
mod table;
mod text;

use std::sync::Arc;

use p0f_sigdb::Database;
use p0f_wire::link;

pub use addr::HostAddr;
pub use observe::{Field, Observation, Sink, Verdict};
pub use state::{Flow, FlowKey, Host};

use observe::FieldBuf;
use state::FlowKey as Key;
use table::List;

/// Limits and switches, with p0f's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most connections tracked at once (`-m c,_`).
    pub max_conn: u32,
    /// Most hosts remembered (`-m _,h`).
    pub max_hosts: u32,
    /// Seconds a connection is tracked (`-t c,_`).
    pub conn_max_age: u32,
    /// Minutes an idle host is remembered (`-t _,h`).
    pub host_idle_limit: u32,
    /// Reproduce p0f 3.09b's information-losing bugs too (`--bug-compat`).
    pub bug_compat: bool,
    /// Reading a capture file: cache-pressure warnings are not printed.
    pub offline: bool,
    /// Server ports whose flows are observed for SMTP (`--smtp-ports`;
    /// ignored under `bug_compat`).
    pub smtp_ports: Vec<u16>,
}

/// The SMTP ports observed by default: SMTP relay and submission.
pub const DEFAULT_SMTP_PORTS: [u16; 2] = [25, 587];

impl Default for Config {
    fn default() -> Self {
        Config {
            max_conn: 1000,
            max_hosts: 10000,
            conn_max_age: 30,
            host_idle_limit: 120,
            bug_compat: false,
            offline: true,
            smtp_ports: DEFAULT_SMTP_PORTS.to_vec(),
        }
    }
}

/// Expiry runs on every this-many packets.
const EXPIRE_INTERVAL: u64 = 50;

/// Where the network header starts, once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkOffset {
    Unknown,
    /// Guessing failed (warned once); packets are read from byte 0 until a
    /// guess succeeds, as p0f does.
    Failed,
    Known(usize),
}

/// How the flow and host tables changed since the engine started (for
/// metrics; plain counters, read by whoever holds the engine).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableCounters {
    /// Every flow created; those neither expired nor evicted nor still
    /// tracked ended normally (FIN, RST, fingerprinting done).
    pub flows_created: u64,
    /// Dropped for their age (`-t`).
    pub flows_expired: u64,
    /// Dropped to make room (`-m`).
    pub flows_evicted: u64,
    pub hosts_created: u64,
    /// Forgotten after being idle (`-t`).
    pub hosts_expired: u64,
    pub hosts_evicted: u64,
}

/// The fingerprinting state machine.
pub struct Engine {
    db: Arc<Database>,
    cfg: Config,
    dlt: u32,
    link: LinkOffset,
    packets: u64,
    now_sec: u32,
    now_ms: u64,
    last_expiry: u32,
    warned_unknown_network: bool,
    hosts: List<HostAddr, Host>,
    flows: List<Key, Flow>,
    fields: FieldBuf,
    http_vocab: p0f_http::Vocabulary,
    /// Recent SYN and SYN+ACK matches and raw signatures.
    sig_memo: sigmemo::SigMemo,
    counters: TableCounters,
    smtp_scratch: String,
    /// Recent SMTP client and server matches, by raw signature.
    smtp_client_memo: smtpmemo::SmtpMemo,
    smtp_server_memo: smtpmemo::SmtpMemo,
    smtp_recent: smtp::RecentConnections,
}

impl Engine {
    /// An engine for packets of libpcap link type `dlt`.
    pub fn new(db: Arc<Database>, cfg: Config, dlt: u32) -> Engine {
        let hosts = List::with_capacity(cfg.max_hosts as usize + 2);
        let flows = List::with_capacity(cfg.max_conn as usize + 2);
        let http_vocab = p0f_http::Vocabulary::new(&db);
        Engine {
            db,
            cfg,
            dlt,
            link: LinkOffset::Unknown,
            packets: 0,
            now_sec: 0,
            now_ms: 0,
            last_expiry: 0,
            warned_unknown_network: false,
            hosts,
            flows,
            fields: FieldBuf::default(),
            http_vocab,
            sig_memo: sigmemo::SigMemo::new(),
            counters: TableCounters::default(),
            smtp_scratch: String::new(),
            smtp_client_memo: smtpmemo::SmtpMemo::new(),
            smtp_server_memo: smtpmemo::SmtpMemo::new(),
            smtp_recent: smtp::RecentConnections::default(),
        }
    }

    /// Packets handed to [`Engine::process`] so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Flows and hosts created, expired and evicted so far.
    pub fn table_counters(&self) -> TableCounters {
        self.counters
    }

    /// Hosts currently remembered.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Connections currently tracked.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// What is known about an address, if anything.
    pub fn host(&self, addr: &HostAddr) -> Option<&Host> {
        self.hosts.find(addr).map(|i| self.hosts.get(i))
    }

    /// Processes one captured packet: `data` is what was captured, `wire_len`
    /// its length on the wire, `ts_sec`/`ts_usec` its capture time.
    pub fn process(
        &mut self,
        ts_sec: i64,
        ts_usec: u32,
        wire_len: u32,
        data: &[u8],
        sink: &mut dyn Sink,
    ) {
        self.packets += 1;
        // p0f's clock: seconds truncated to 32 bits, milliseconds in 64.
        self.now_sec = ts_sec as u32;
        self.now_ms = (ts_sec as u64)
            .wrapping_mul(1000)
            .wrapping_add(u64::from(ts_usec / 1000));
        if self.packets.is_multiple_of(EXPIRE_INTERVAL) {
            self.expire(sink);
        }
        let usable = (wire_len as usize).min(data.len()).min(packet::SNAPLEN);
        let data = &data[..usable];
        let offset = self.network_offset(data, sink);
        let Some(net) = data.get(offset..) else {
            return;
        };
        match packet::parse(net) {
            Ok(pk) => self.dispatch(&pk, sink),
            Err(packet::Skip::UnknownNetwork(v)) => {
                if !self.warned_unknown_network {
                    self.warned_unknown_network = true;
                    sink.warning(&format!("Unknown packet type {v}, link detection issue?"));
                }
            }
            Err(packet::Skip::Ignored) => {}
        }
    }

    /// The offset of the network header in this packet.
    fn network_offset(&mut self, data: &[u8], sink: &mut dyn Sink) -> usize {
        if matches!(self.link, LinkOffset::Unknown | LinkOffset::Failed) {
            self.find_link_offset(data, sink);
        }
        match self.link {
            LinkOffset::Known(off) if self.cfg.bug_compat => off,
            LinkOffset::Known(off) => match self.dlt {
                // p0f reads a tagged frame's tag as the IP header and drops
                // it; step over 802.1Q/802.1ad tags instead.
                link::dlt::EN10MB => off + link::ethernet_vlan_tags_len(data).unwrap_or(0),
                // p0f assumes the old 28-byte pflog header; the header says
                // its own length (today 61, padded to 64), as libpcap reads it.
                link::dlt::PFLOG => data.first().map_or(off, |&len| (usize::from(len) + 3) & !3),
                _ => off,
            },
            _ => 0,
        }
    }

    fn find_link_offset(&mut self, data: &[u8], sink: &mut dyn Sink) {
        let fixed = match self.dlt {
            // DLT_LOOP and DLT_PPP_SERIAL have 4-byte headers; p0f skips 8
            // and loses every packet.
            link::dlt::LOOP | link::dlt::PPP_SERIAL if !self.cfg.bug_compat => Some(4),
            _ => link::p0f_fixed_offset(self.dlt),
        };
        if let Some(off) = fixed {
            self.link = LinkOffset::Known(off);
            return;
        }
        match link::guess_offset(data, data.len()) {
            Some(off) => self.link = LinkOffset::Known(off),
            None => {
                if self.link == LinkOffset::Unknown {
                    sink.warning("Unable to find link-specific packet offset. This is bad.");
                }
                self.link = LinkOffset::Failed;
            }
        }
    }

    /// Drops old flows and idle hosts (p0f's `expire_cache`).
    fn expire(&mut self, sink: &mut dyn Sink) {
        let now = self.now_sec;
        if now == self.last_expiry {
            return;
        }
        self.last_expiry = now;
        while let Some(f) = self.flows.oldest() {
            if now.wrapping_sub(self.flows.get(f).created) > self.cfg.conn_max_age {
                self.counters.flows_expired += 1;
                self.close_smtp(f, sink);
                self.destroy_flow(f);
            } else {
                break;
            }
        }
        let idle = self.cfg.host_idle_limit.wrapping_mul(60);
        let mut cursor = self.hosts.oldest();
        while let Some(h) = cursor {
            let host = self.hosts.get(h);
            if now.wrapping_sub(host.last_seen) <= idle {
                break;
            }
            cursor = self.hosts.newer(h);
            if host.use_cnt == 0 {
                self.counters.hosts_expired += 1;
                self.destroy_host(h);
            }
        }
    }

    fn destroy_flow(&mut self, f: table::Idx) {
        let (key, client, server) = {
            let flow = self.flows.get(f);
            (flow.key, flow.client, flow.server)
        };
        self.hosts.get_mut(client).use_cnt -= 1;
        self.hosts.get_mut(server).use_cnt -= 1;
        self.flows.remove(&key, f);
    }

    fn destroy_host(&mut self, h: table::Idx) {
        let addr = self.hosts.get(h).addr;
        self.hosts.remove(&addr, h);
    }

    /// Emits the observation whose fields are in `self.fields`.
    fn emit(&self, kind: &'static str, flow: table::Idx, about_client: bool, sink: &mut dyn Sink) {
        self.emit_verdict(kind, flow, about_client, Verdict::None, sink);
    }

    /// Emits the observation whose fields are in `self.fields`, with the
    /// values behind them.
    fn emit_verdict(
        &self,
        kind: &'static str,
        flow: table::Idx,
        about_client: bool,
        verdict: Verdict,
        sink: &mut dyn Sink,
    ) {
        let f = self.flows.get(flow);
        let (fields, n) = self.fields.fields();
        let obs = Observation {
            kind,
            time: self.now_sec,
            millis: (self.now_ms % 1000) as u16,
            client: f.key.client,
            client_port: f.key.cli_port,
            server: f.key.server,
            server_port: f.key.srv_port,
            about_client,
            fields: &fields[..n],
            verdict,
        };
        sink.observation(&obs);
    }
}

#[cfg(test)]
mod tests;
