//! SMTP glue: feeding flows on the SMTP ports to `p0f-smtp`, printing its
//! verdicts, and keeping the last verdict per host and per connection for
//! the API (`docs/smtp.md`). Nothing here runs under `--bug-compat`.

use p0f_sigdb::SmtpKind;
use p0f_smtp::{ClientFeatures, Events, ServerFeatures};

use crate::addr::HostAddr;
use crate::state::FlowKey;
use crate::table::Idx;
use crate::{Engine, Sink, Verdict};

/// Connections whose verdicts are kept after they end (for per-connection
/// queries that come late, like a milter's at end of message).
pub const RECENT_CONNECTIONS: usize = 1024;

/// What the engine knows of one client's SMTP dialogue. The signature is
/// matched when someone asks ([`Engine::smtp_client_record`]): a dialogue
/// changes at every MAIL and RCPT, and is asked about far less often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientVerdict {
    pub features: ClientFeatures,
    /// 1 first MAIL seen, 2 first RCPT seen, 3 ended.
    pub stage: u8,
    /// Packet time of the verdict.
    pub time: u32,
    pub key: FlowKey,
}

/// What the engine knows of one server's greeting and EHLO reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerVerdict {
    pub features: ServerFeatures,
    /// Index into `Database::smtp_server`.
    pub record: Option<u32>,
    pub time: u32,
}

/// A ring of the latest connection verdicts, newest last.
#[derive(Default)]
pub(crate) struct RecentConnections {
    entries: Vec<ClientVerdict>,
    next: usize,
}

impl RecentConnections {
    /// Stores or updates the verdict of `v.key`; `slot` is where the flow
    /// last stored it (checked, since the ring may have moved on).
    fn put(&mut self, slot: Option<usize>, v: ClientVerdict) -> usize {
        if let Some(s) = slot {
            if let Some(e) = self.entries.get_mut(s) {
                if e.key == v.key {
                    *e = v;
                    return s;
                }
            }
        }
        if self.entries.len() < RECENT_CONNECTIONS {
            // All at once, so that filling the ring never reallocates.
            self.entries
                .reserve_exact(RECENT_CONNECTIONS - self.entries.len());
            self.entries.push(v);
            return self.entries.len() - 1;
        }
        let s = self.next;
        self.entries[s] = v;
        self.next = (s + 1) % RECENT_CONNECTIONS;
        s
    }

    /// The newest verdict of the connection from `client`:`port`.
    fn find(&self, client: &HostAddr, port: u16) -> Option<&ClientVerdict> {
        self.entries
            .iter()
            .filter(|v| v.key.client == *client && v.key.cli_port == port)
            .max_by_key(|v| v.time)
    }
}

impl Engine {
    /// True when a new flow to `port` is observed for SMTP.
    pub(crate) fn smtp_port(&self, port: u16) -> bool {
        !self.cfg.bug_compat && self.cfg.smtp_ports.contains(&port)
    }

    /// Starts SMTP observation on a new flow (reusing its recycled state).
    pub(crate) fn start_smtp(&mut self, f: Idx) {
        let flow = self.flows.get_mut(f);
        flow.smtp_on = true;
        flow.smtp_slot = None;
        flow.smtp.get_or_insert_with(Box::default).reset();
    }

    /// Feeds a payload to the flow's SMTP observer. Returns whether SMTP
    /// still wants this flow.
    pub(crate) fn process_smtp(
        &mut self,
        to_srv: bool,
        f: Idx,
        payload: &[u8],
        sink: &mut dyn Sink,
    ) -> bool {
        let flow = self.flows.get_mut(f);
        if !flow.smtp_on {
            return false;
        }
        let Some(smtp) = flow.smtp.as_mut() else {
            return false;
        };
        let ev = if to_srv {
            smtp.client_data(payload)
        } else {
            smtp.server_data(payload)
        };
        let finished = smtp.finished();
        if !ev.is_empty() {
            self.smtp_events(f, ev, sink);
        }
        !finished
    }

    /// The connection ends: the dialogue's last report, if one is owed.
    pub(crate) fn close_smtp(&mut self, f: Idx, sink: &mut dyn Sink) {
        let flow = self.flows.get_mut(f);
        if !flow.smtp_on {
            return;
        }
        flow.smtp_on = false;
        let Some(smtp) = flow.smtp.as_mut() else {
            return;
        };
        let ev = smtp.close();
        if !ev.is_empty() {
            self.smtp_events(f, ev, sink);
        }
    }

    fn smtp_events(&mut self, f: Idx, ev: Events, sink: &mut dyn Sink) {
        let Some(smtp) = self.flows.get(f).smtp.as_deref() else {
            return;
        };
        // Copies, as reporting changes the tables the flow lives in.
        let client = *smtp.client();
        let stage = smtp.stage();
        if ev.has(Events::SERVER_READY) {
            let server = *smtp.server();
            self.report_server(f, &server, sink);
        }
        if ev.has(Events::CLIENT_DONE) {
            self.report_client(f, &client, sink);
        } else if ev.has(Events::RCPT) || ev.has(Events::MAIL) {
            self.remember_client(f, &client, stage);
        }
    }

    /// Stores the client's verdict for the API.
    fn remember_client(&mut self, f: Idx, client: &ClientFeatures, stage: u8) {
        let flow = self.flows.get(f);
        let v = ClientVerdict {
            features: *client,
            stage,
            time: self.now_sec,
            key: flow.key,
        };
        let (host, slot) = (flow.client, flow.smtp_slot);
        let slot = self.smtp_recent.put(slot, v);
        self.flows.get_mut(f).smtp_slot = Some(slot);
        self.hosts.get_mut(host).smtp_client = Some(v);
    }

    fn report_client(&mut self, f: Idx, client: &ClientFeatures, sink: &mut dyn Sink) {
        self.remember_client(f, client, 3);
        let db = self.db.clone();
        // The raw signature is both the memo's key and the block's field.
        self.smtp_scratch.clear();
        client.push_raw_sig(&mut self.smtp_scratch);
        let raw_sig = &self.smtp_scratch;
        let record = self.smtp_client_memo.record(raw_sig, || {
            p0f_smtp::match_client_sig(&db, raw_sig).map(|(i, _)| i)
        });
        let label = record.map(|i| &db.smtp_client[i as usize].label);
        self.fields.clear();
        match label {
            Some(l) => self.fields.push_with("app", |s| l.push_text(s)),
            None => self.fields.push_str("app", None),
        }
        let flags = client.flags();
        self.fields.push_with("flags", |s| flags.push_names(s));
        self.fields.push_str("raw_sig", Some(&self.smtp_scratch));
        let verdict = Verdict::Smtp {
            record,
            kind: label.map(|l| l.kind),
            generic: label.is_some_and(|l| l.generic),
        };
        self.emit_verdict("smtp client", f, true, verdict, sink);
    }

    fn report_server(&mut self, f: Idx, server: &ServerFeatures, sink: &mut dyn Sink) {
        let db = self.db.clone();
        self.smtp_scratch.clear();
        server.push_raw_sig(&mut self.smtp_scratch);
        let raw_sig = &self.smtp_scratch;
        let record = self.smtp_server_memo.record(raw_sig, || {
            p0f_smtp::match_server_sig(&db, raw_sig).map(|(i, _)| i)
        });
        let label = record.map(|i| &db.smtp_server[i as usize].label);
        let host = self.flows.get(f).server;
        let v = ServerVerdict {
            features: *server,
            record,
            time: self.now_sec,
        };
        let h = self.hosts.get_mut(host);
        if let Some(b) = h.smtp_server.as_deref_mut() {
            *b = v;
        } else {
            h.smtp_server = Some(Box::new(v));
        }
        self.fields.clear();
        match label {
            Some(l) => self.fields.push_with("app", |s| l.push_text(s)),
            None => self.fields.push_str("app", None),
        }
        let flags = server.flags;
        self.fields.push_with("flags", |s| flags.push_names(s));
        self.fields.push_str("raw_sig", Some(&self.smtp_scratch));
        let verdict = Verdict::Smtp {
            record,
            kind: label.map(|l| l.kind),
            generic: label.is_some_and(|l| l.generic),
        };
        self.emit_verdict("smtp server", f, false, verdict, sink);
    }

    /// The verdict of the connection from `client`:`port`, if it is known
    /// (alive or among the last [`RECENT_CONNECTIONS`]).
    pub fn smtp_connection(&self, client: &HostAddr, port: u16) -> Option<&ClientVerdict> {
        self.smtp_recent.find(client, port)
    }

    /// The client signature `v` matches (an index into
    /// `Database::smtp_client`); `raw_sig` receives its raw signature.
    pub fn smtp_client_record(&self, v: &ClientVerdict, raw_sig: &mut String) -> Option<u32> {
        p0f_smtp::match_client(&self.db, &v.features, raw_sig).map(|(i, _)| i)
    }

    /// The label of a client record, with its kind.
    pub fn smtp_client_label(&self, record: u32) -> Option<&p0f_sigdb::SmtpLabel> {
        self.db.smtp_client.get(record as usize).map(|r| &r.label)
    }

    /// The label of a server record.
    pub fn smtp_server_label(&self, record: u32) -> Option<&p0f_sigdb::SmtpLabel> {
        self.db.smtp_server.get(record as usize).map(|r| &r.label)
    }
}

/// The API's code of a kind, 0 for an unknown dialect.
pub fn kind_code(kind: Option<SmtpKind>) -> u8 {
    kind.map_or(0, SmtpKind::code)
}
