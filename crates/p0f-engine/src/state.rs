//! Per-host and per-flow state, as p0f keeps it.

use p0f_http::HttpFlow;
use p0f_sigdb::{OptLayout, Quirks};
use p0f_smtp::SmtpFlow;

use crate::smtp::{ClientVerdict, ServerVerdict};

use crate::addr::HostAddr;
use crate::table::Idx;

/// Number of NAT scores remembered per host and role.
pub const NAT_SCORES: usize = 32;

/// What p0f keeps of a fingerprinted SYN or SYN+ACK (its `tcp_sig`).
#[derive(Clone, Copy, Debug)]
pub struct SigSnapshot {
    pub quirks: Quirks,
    pub layout: OptLayout,
    pub ttl: u8,
    pub mss: u16,
    pub ts1: u32,
    pub recv_ms: u64,
    /// Index of the matched signature in the direction's list.
    pub matched: Option<u32>,
    pub fuzzy: bool,
    pub dist: u8,
}

/// The last HTTP response seen from a server, for the load-balancer check.
#[derive(Clone, Copy, Debug)]
pub struct LastResponse {
    pub matched: Option<u32>,
    pub date: u32,
    pub recv_date: u32,
    pub port: u16,
}

/// Everything known about one address.
#[derive(Clone, Debug)]
pub struct Host {
    pub addr: HostAddr,
    pub first_seen: u32,
    /// Time of the last SYN involving this host.
    pub last_seen: u32,
    pub total_conn: u32,
    pub use_cnt: u32,
    pub last_syn: Option<SigSnapshot>,
    pub last_synack: Option<SigSnapshot>,
    /// 255 while unknown (p0f's -1 in an unsigned byte).
    pub distance: u8,
    /// -1 while unknown.
    pub last_up_min: i64,
    pub up_mod_days: u32,
    /// OS class index of the last matched OS signature; -1 while unknown.
    pub last_class_id: i32,
    /// Name index of the last matched OS signature; -1 while unknown.
    pub last_name_id: i32,
    /// Label index of the last matched OS signature (for its flavor).
    pub last_label: Option<u32>,
    /// Bit 0 fuzzy, bit 1 generic.
    pub last_quality: u8,
    /// Index into the database's MTU list.
    pub link_type: Option<u32>,
    pub last_port: u16,
    pub cli_scores: [u8; NAT_SCORES],
    pub srv_scores: [u8; NAT_SCORES],
    pub nat_reasons: u16,
    pub last_nat: u32,
    pub last_chg: u32,
    /// Name index of the last matched HTTP application; -1 while unknown.
    pub http_name_id: i32,
    pub http_label: Option<u32>,
    pub bad_sw: u8,
    /// Index into the language table, or None.
    pub language: Option<&'static str>,
    pub http_resp: Option<LastResponse>,
    /// The last OS-class HTTP request signature (never set by the stock
    /// database, whose HTTP signatures are all applications).
    pub http_req_os: Option<u32>,
    /// The last SMTP dialogue of this host as a client.
    pub smtp_client: Option<ClientVerdict>,
    /// The last SMTP greeting of this host as a server (boxed: few hosts
    /// are mail servers).
    pub smtp_server: Option<Box<ServerVerdict>>,
}

impl Host {
    pub fn new(addr: HostAddr, now: u32) -> Host {
        Host {
            addr,
            first_seen: now,
            last_seen: now,
            total_conn: 0,
            use_cnt: 0,
            last_syn: None,
            last_synack: None,
            distance: 255,
            last_up_min: -1,
            up_mod_days: 0,
            last_class_id: -1,
            last_name_id: -1,
            last_label: None,
            last_quality: 0,
            link_type: None,
            last_port: 0,
            cli_scores: [0; NAT_SCORES],
            srv_scores: [0; NAT_SCORES],
            nat_reasons: 0,
            last_nat: 0,
            last_chg: 0,
            http_name_id: -1,
            http_label: None,
            bad_sw: 0,
            language: None,
            http_resp: None,
            http_req_os: None,
            smtp_client: None,
            smtp_server: None,
        }
    }
}

/// The key of a flow: client (SYN sender) address and port, then server.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FlowKey {
    pub client: HostAddr,
    pub server: HostAddr,
    pub cli_port: u16,
    pub srv_port: u16,
}

/// One tracked TCP connection.
pub struct Flow {
    pub key: FlowKey,
    pub client: Idx,
    pub server: Idx,
    pub created: u32,
    pub next_cli_seq: u32,
    pub next_srv_seq: u32,
    pub acked: bool,
    pub sendsyn: bool,
    pub syn_mss: u16,
    /// Timestamp clock per direction: 0 not yet, -1 given up, else Hz.
    pub cli_tps: i32,
    pub srv_tps: i32,
    pub request: Vec<u8>,
    pub response: Vec<u8>,
    pub http: HttpFlow,
    /// Observed for SMTP (a flow to an SMTP port, not `--bug-compat`).
    pub smtp_on: bool,
    /// The SMTP observer, kept with the slot when the flow is recycled so
    /// that SMTP flows allocate it once per slot.
    pub smtp: Option<Box<SmtpFlow>>,
    /// Where this flow's verdict sits among the recent connections.
    pub smtp_slot: Option<usize>,
}

impl Flow {
    /// True when p0f 3.09b would no longer track this flow (HTTP gave up
    /// on it) and it lives on only for SMTP: it must add nothing but SMTP
    /// observations.
    pub fn smtp_only(&self) -> bool {
        self.smtp_on && self.http.is_off()
    }
}

impl Flow {
    /// A fresh flow, reusing the buffers of a recycled one.
    pub fn new(
        key: FlowKey,
        client: Idx,
        server: Idx,
        now: u32,
        isn: u32,
        recycled: Option<Flow>,
    ) -> Flow {
        let (mut request, mut response, smtp) = match recycled {
            Some(old) => (old.request, old.response, old.smtp),
            None => (Vec::new(), Vec::new(), None),
        };
        request.clear();
        response.clear();
        Flow {
            key,
            client,
            server,
            created: now,
            next_cli_seq: isn.wrapping_add(1),
            next_srv_seq: 0,
            acked: false,
            sendsyn: false,
            syn_mss: 0,
            cli_tps: 0,
            srv_tps: 0,
            request,
            response,
            http: HttpFlow::default(),
            smtp_on: false,
            smtp,
            smtp_slot: None,
        }
    }
}
