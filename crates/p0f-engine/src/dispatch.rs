//! Flow tracking: which packets start, advance or end a connection, and
//! which of them get fingerprinted (p0f's `flow_dispatch`).

use crate::packet::{kind, PacketFacts};
use crate::state::{Flow, FlowKey, Host};
use crate::table::Idx;
use crate::{Engine, Sink};

/// Bytes of payload kept per direction for HTTP.
pub const MAX_FLOW_DATA: usize = 8192;

/// Share of entries dropped when a table is over its limit.
const KILL_PERCENT: usize = 10;

impl Engine {
    pub(crate) fn dispatch(&mut self, pk: &PacketFacts<'_>, sink: &mut dyn Sink) {
        let found = self.lookup_flow(pk);
        match pk.tcp_type {
            kind::SYN => self.on_syn(pk, found, sink),
            kind::SYN_ACK => self.on_syn_ack(pk, found, sink),
            t if t & (kind::FIN | kind::RST) != 0 => {
                if let Some((f, to_srv)) = found {
                    if !self.flows.get(f).smtp_only() {
                        self.check_uptime(to_srv, pk, f, sink);
                    }
                    self.smtp_last_payload(pk, f, to_srv, sink);
                    self.close_smtp(f, sink);
                    self.destroy_flow(f);
                }
            }
            kind::ACK => {
                if let Some((f, to_srv)) = found {
                    self.on_ack(pk, f, to_srv, sink);
                }
            }
            _ => {}
        }
    }

    /// A FIN may carry the last commands: Exim sends its pipelined MAIL,
    /// RCPT, BDAT chunk and QUIT in the segment that closes its side. SMTP
    /// reads an in-sequence FIN's payload before the close; HTTP keeps
    /// p0f's behaviour of ignoring it (there is no SMTP under --bug-compat).
    fn smtp_last_payload(
        &mut self,
        pk: &PacketFacts<'_>,
        f: Idx,
        to_srv: bool,
        sink: &mut dyn Sink,
    ) {
        let flow = self.flows.get(f);
        if !flow.smtp_on || pk.payload.is_empty() || pk.tcp_type & kind::RST != 0 {
            return;
        }
        let expected = if to_srv {
            flow.next_cli_seq
        } else {
            flow.next_srv_seq
        };
        if flow.sendsyn || !flow.acked || pk.seq != expected {
            return;
        }
        self.process_smtp(to_srv, f, pk.payload, sink);
    }

    /// Finds the flow of a packet in either direction; true = client to server.
    fn lookup_flow(&self, pk: &PacketFacts<'_>) -> Option<(Idx, bool)> {
        let forward = FlowKey {
            client: pk.src,
            server: pk.dst,
            cli_port: pk.sport,
            srv_port: pk.dport,
        };
        if let Some(f) = self.flows.find(&forward) {
            return Some((f, true));
        }
        let reverse = FlowKey {
            client: pk.dst,
            server: pk.src,
            cli_port: pk.dport,
            srv_port: pk.sport,
        };
        self.flows.find(&reverse).map(|f| (f, false))
    }

    fn on_syn(&mut self, pk: &PacketFacts<'_>, found: Option<(Idx, bool)>, sink: &mut dyn Sink) {
        if let Some((f, to_srv)) = found {
            // A retransmitted SYN changes nothing.
            if to_srv && self.flows.get(f).next_cli_seq.wrapping_sub(1) == pk.seq {
                return;
            }
            self.close_smtp(f, sink);
            self.destroy_flow(f);
        }
        let f = self.create_flow(pk, sink);
        let sig = self.fingerprint_tcp(true, pk, f, sink);
        let sendsyn = self.flows.get(f).sendsyn;
        if sig.is_none() && !sendsyn {
            // User-land tools (scanners) are not followed any further.
            self.destroy_flow(f);
            return;
        }
        self.fingerprint_mtu(true, pk, f, sink);
        self.check_uptime(true, pk, f, sink);
        if let Some(sig) = sig {
            let client = self.flows.get(f).client;
            self.hosts.get_mut(client).last_syn = Some(sig);
        }
    }

    fn on_syn_ack(
        &mut self,
        pk: &PacketFacts<'_>,
        found: Option<(Idx, bool)>,
        sink: &mut dyn Sink,
    ) {
        let Some((f, to_srv)) = found else { return };
        if self.flows.get(f).sendsyn {
            self.fingerprint_tcp(false, pk, f, sink);
            self.destroy_flow(f);
            return;
        }
        if to_srv || self.flows.get(f).acked {
            return;
        }
        self.flows.get_mut(f).acked = true;
        let Some(sig) = self.fingerprint_tcp(false, pk, f, sink) else {
            self.destroy_flow(f);
            return;
        };
        self.fingerprint_mtu(false, pk, f, sink);
        self.check_uptime(false, pk, f, sink);
        let flow = self.flows.get_mut(f);
        flow.next_srv_seq = pk.seq.wrapping_add(1);
        let server = flow.server;
        self.hosts.get_mut(server).last_synack = Some(sig);
    }

    fn on_ack(&mut self, pk: &PacketFacts<'_>, f: Idx, to_srv: bool, sink: &mut dyn Sink) {
        let flow = self.flows.get(f);
        if flow.sendsyn || !flow.acked {
            self.destroy_flow(f);
            return;
        }
        let expected = if to_srv {
            flow.next_cli_seq
        } else {
            flow.next_srv_seq
        };
        if pk.seq != expected {
            // No reassembly: out-of-order segments are ignored.
            return;
        }
        let flow = self.flows.get_mut(f);
        // A flow kept only for SMTP buffers nothing (HTTP is done with it).
        let smtp_only = flow.smtp_only();
        let buf = if to_srv {
            &mut flow.request
        } else {
            &mut flow.response
        };
        if buf.len() < MAX_FLOW_DATA && !pk.payload.is_empty() && !smtp_only {
            let take = pk.payload.len().min(MAX_FLOW_DATA - buf.len());
            buf.extend_from_slice(&pk.payload[..take]);
        }
        if !smtp_only {
            self.check_uptime(to_srv, pk, f, sink);
        }
        let flow = self.flows.get_mut(f);
        let len = pk.payload.len() as u32;
        if to_srv {
            flow.next_cli_seq = flow.next_cli_seq.wrapping_add(len);
        } else {
            flow.next_srv_seq = flow.next_srv_seq.wrapping_add(len);
        }
        if pk.payload.is_empty() {
            return;
        }
        let http_more = !smtp_only && self.process_http(to_srv, f, sink);
        let flow = self.flows.get(f);
        let buffers_full =
            flow.request.len() >= MAX_FLOW_DATA && flow.response.len() >= MAX_FLOW_DATA;
        let smtp_more = flow.smtp_on && self.process_smtp(to_srv, f, pk.payload, sink);
        if smtp_more {
            return;
        }
        if !http_more || buffers_full {
            self.close_smtp(f, sink);
            self.destroy_flow(f);
        }
    }

    /// Creates a flow for a SYN, and its hosts if they are new.
    fn create_flow(&mut self, pk: &PacketFacts<'_>, sink: &mut dyn Sink) -> Idx {
        if self.flows.len() > self.cfg.max_conn as usize {
            self.prune_flows(false, sink);
        }
        let client = self.touch_or_create_host(pk.src, sink);
        let server = self.touch_or_create_host(pk.dst, sink);
        for h in [client, server] {
            let host = self.hosts.get_mut(h);
            host.use_cnt += 1;
            host.total_conn += 1;
        }
        let key = FlowKey {
            client: pk.src,
            server: pk.dst,
            cli_port: pk.sport,
            srv_port: pk.dport,
        };
        let now = self.now_sec;
        self.counters.flows_created += 1;
        let f = self
            .flows
            .push_newest(key, |old| Flow::new(key, client, server, now, pk.seq, old));
        if self.smtp_port(pk.dport) {
            self.start_smtp(f);
        }
        f
    }

    fn touch_or_create_host(&mut self, addr: crate::HostAddr, sink: &mut dyn Sink) -> Idx {
        if let Some(h) = self.hosts.find(&addr) {
            self.hosts.touch(h);
            self.hosts.get_mut(h).last_seen = self.now_sec;
            return h;
        }
        if self.hosts.len() > self.cfg.max_hosts as usize {
            self.prune_hosts(sink);
        }
        let now = self.now_sec;
        self.counters.hosts_created += 1;
        self.hosts.push_newest(addr, |_| Host::new(addr, now))
    }

    /// Drops the oldest tenth of the flows.
    fn prune_flows(&mut self, silent: bool, sink: &mut dyn Sink) {
        let count = 1 + self.flows.len() * KILL_PERCENT / 100;
        if !silent && !self.cfg.offline {
            sink.warning(&format!(
                "Too many tracked connections, deleting {count}. Use -m to adjust."
            ));
        }
        for _ in 0..count {
            let Some(f) = self.flows.oldest() else { break };
            self.counters.flows_evicted += 1;
            self.close_smtp(f, sink);
            self.destroy_flow(f);
        }
    }

    /// Makes room for a host. p0f means to drop a tenth of the hosts, but its
    /// loop stops after looking at the oldest one, so at most that one goes
    /// (the cache settles one above its limit). Kept as is: it loses no
    /// information, and which hosts survive shapes later output.
    fn prune_hosts(&mut self, sink: &mut dyn Sink) {
        let count = 1 + self.hosts.len() * KILL_PERCENT / 100;
        if !self.cfg.offline {
            sink.warning(&format!(
                "Too many host entries, deleting {count}. Use -m to adjust."
            ));
        }
        self.prune_flows(true, sink);
        if let Some(h) = self.hosts.oldest() {
            if self.hosts.get(h).use_cnt == 0 {
                self.counters.hosts_evicted += 1;
                self.destroy_host(h);
            }
        }
    }
}
