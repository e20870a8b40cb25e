//! HTTP glue: feeding flow data to `p0f-http`, printing its verdicts, and
//! the HTTP half of NAT / host-change scoring (p0f's `fp_http.c`).

use std::fmt::Write as _;

use p0f_http::{HttpMatch, Message};

use crate::dispatch::MAX_FLOW_DATA;
use crate::nat::reason;
use crate::state::LastResponse;
use crate::table::Idx;
use crate::{Engine, Sink, Verdict};

/// Largest believable jump between two servers' Date headers, in seconds.
const MAX_DATE_DIFF: i64 = 10;

/// What the last comparable HTTP signature of a host said.
#[derive(Clone, Copy)]
struct Reference {
    matched: Option<u32>,
    date: u32,
    recv_date: u32,
}

impl Engine {
    /// Runs HTTP detection on a flow that just received payload. Returns
    /// whether the flow is still worth tracking.
    pub(crate) fn process_http(&mut self, to_srv: bool, f: Idx, sink: &mut dyn Sink) -> bool {
        let compat = self.cfg.bug_compat;
        let flow = self.flows.get_mut(f);
        let buf = if to_srv {
            &flow.request
        } else {
            &flow.response
        };
        let step = flow
            .http
            .process(to_srv, buf, buf.len() < MAX_FLOW_DATA, compat);
        if let Some(msg) = step.completed {
            self.fingerprint_http(to_srv, f, &msg, sink);
        }
        step.need_more
    }

    fn fingerprint_http(&mut self, to_srv: bool, f: Idx, msg: &Message, sink: &mut dyn Sink) {
        let db = self.db.clone();
        let m = p0f_http::match_message(&db, &self.http_vocab, msg);
        let record = p0f_http::matched_record(&db, msg.request, &m);
        let label = record.map(|r| &db.labels[r.label as usize]);
        let lang = p0f_http::language(msg);

        self.fields.clear();
        let key = p0f_http::app_key(&db, msg.request, &m);
        match label {
            Some(l) => self.fields.push_with(key, |s| {
                s.push_str(&db.names[l.name as usize]);
                if let Some(flavor) = &l.flavor {
                    s.push(' ');
                    s.push_str(flavor);
                }
            }),
            None => self.fields.push_str(key, None),
        }
        self.fields.push_str("lang", Some(lang.as_str()));
        let params = p0f_http::params(&db, msg, &m);
        self.fields.push_with("params", |s| {
            let _ = write!(s, "{params}");
        });
        let vocab = &self.http_vocab;
        self.fields
            .push_with("raw_sig", |s| p0f_http::raw_signature(msg, vocab, s));
        self.emit_verdict(
            if to_srv {
                "http request"
            } else {
                "http response"
            },
            f,
            to_srv,
            Verdict::Http {
                label: record.map(|r| r.label),
            },
            sink,
        );

        self.score_http_nat(to_srv, f, msg, &m, sink);
        self.remember_http(to_srv, f, msg, &m, lang.name());
    }

    /// The HTTP half of p0f's NAT scoring.
    fn score_http_nat(
        &mut self,
        to_srv: bool,
        f: Idx,
        msg: &Message,
        m: &HttpMatch,
        sink: &mut dyn Sink,
    ) {
        let db = self.db.clone();
        let flow = self.flows.get(f);
        let srv_port = flow.key.srv_port;
        let subject = if to_srv { flow.client } else { flow.server };
        let host = self.hosts.get(subject);
        let reference = if to_srv {
            host.http_req_os.map(|i| Reference {
                matched: Some(i),
                date: 0,
                recv_date: 0,
            })
        } else {
            host.http_resp
                .filter(|r| r.port == srv_port)
                .map(|r| Reference {
                    matched: r.matched,
                    date: r.date,
                    recv_date: r.recv_date,
                })
        };
        let records = if to_srv {
            &db.http_request
        } else {
            &db.http_response
        };
        let label_of = |i: u32| &db.labels[records[i as usize].label as usize];
        let ref_matched = reference.and_then(|r| r.matched);
        let mut score: u8 = 0;
        let mut why: u16 = 0;

        if let Some(mi) = m.record {
            let ml = label_of(mi);
            if ml.class.is_none() {
                self.verify_tool_class(to_srv, f, &ml.sys, sink);
                if let (false, Some(ri)) = (to_srv, ref_matched) {
                    let rl = label_of(ri);
                    if rl.name != ml.name {
                        score += 8;
                        why |= reason::APP_LB;
                    } else if rl.label_id != ml.label_id {
                        score += 2;
                        why |= reason::APP_LB;
                    }
                }
            } else {
                let mut differs = false;
                match (reference, ref_matched) {
                    (_, Some(ri)) => {
                        let rl = label_of(ri);
                        // p0f compares the reference's name with the new
                        // label's id here, which nearly always differs.
                        let same_label = if self.cfg.bug_compat {
                            rl.name == ml.label_id
                        } else {
                            rl.label_id == ml.label_id
                        };
                        if rl.name != ml.name {
                            score += 8;
                            why |= reason::OS_SIG;
                            differs = true;
                        } else if !same_label {
                            score += 2;
                            why |= reason::OS_SIG;
                        }
                    }
                    (Some(_), None) => {
                        score += 4;
                        why |= reason::TO_UNK;
                    }
                    (None, None) => {}
                }
                let host = self.hosts.get(subject);
                if !differs && host.last_name_id != ml.name as i32 {
                    score += 4;
                    why |= reason::OS_SIG;
                }
            }
            if to_srv && ml.class.is_none() && !m.dishonest {
                if let Some(sw) = &msg.sw {
                    if let Some(os) = p0f_http::ua_os(&db, sw) {
                        let host = self.hosts.get_mut(subject);
                        if os as i32 != host.last_name_id {
                            score += 4;
                            why |= reason::APP_UA;
                            if host.bad_sw == 0 {
                                host.bad_sw = 1;
                            }
                        } else {
                            host.bad_sw = 0;
                        }
                    }
                }
            }
        } else if !to_srv && ref_matched.is_some() {
            score += 4;
            why |= reason::TO_UNK;
        }

        if msg.via.is_some() {
            score += 8;
            why |= reason::APP_VIA;
        }
        if let (false, Some(r)) = (to_srv, reference) {
            if r.date != 0 && msg.date != 0 {
                let recv_diff = i64::from(self.now_sec) - i64::from(r.recv_date);
                let hdr_diff = i64::from(msg.date) - i64::from(r.date);
                if hdr_diff < -MAX_DATE_DIFF || hdr_diff > recv_diff + MAX_DATE_DIFF {
                    score += 4;
                    why |= reason::APP_DATE;
                }
            }
        }
        self.add_nat_score(to_srv, f, why, score, sink);
    }

    /// Stores what later signatures and the API need.
    fn remember_http(
        &mut self,
        to_srv: bool,
        f: Idx,
        msg: &Message,
        m: &HttpMatch,
        lang: Option<&'static str>,
    ) {
        let db = self.db.clone();
        let flow = self.flows.get(f);
        let srv_port = flow.key.srv_port;
        let subject = if to_srv { flow.client } else { flow.server };
        let now = self.now_sec;
        let host = self.hosts.get_mut(subject);
        if !to_srv {
            host.http_resp = Some(LastResponse {
                matched: m.record,
                date: msg.date,
                recv_date: now,
                port: srv_port,
            });
        }
        if lang.is_some() {
            host.language = lang;
        }
        let Some(mi) = m.record else { return };
        let rec = p0f_http::matched_record(&db, msg.request, m).expect("matched record exists");
        let l = &db.labels[rec.label as usize];
        match l.class {
            Some(class) => {
                if to_srv {
                    host.http_req_os = Some(mi);
                }
                host.last_class_id = class as i32;
                host.last_name_id = l.name as i32;
                host.last_label = Some(rec.label);
                host.last_quality = u8::from(l.generic) << 1;
            }
            None => {
                host.http_name_id = l.name as i32;
                host.http_label = Some(rec.label);
                if m.dishonest {
                    host.bad_sw = 2;
                }
            }
        }
    }
}
