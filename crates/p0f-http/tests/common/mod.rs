#![allow(dead_code)]

use p0f_http::{HttpFlow, Step, MAX_FLOW_DATA};
use p0f_sigdb::{Database, HttpHeaderSpec, HttpRecord, HttpSig, Label};

/// Both direction buffers of a flow, filled like the engine does.
#[derive(Default)]
pub struct Feeder {
    pub flow: HttpFlow,
    pub bufs: [Vec<u8>; 2],
    pub compat: bool,
    pub messages: Vec<p0f_http::Message>,
    pub destroyed: bool,
}

impl Feeder {
    pub fn new(compat: bool) -> Feeder {
        Feeder {
            compat,
            ..Feeder::default()
        }
    }

    /// One payload packet; returns the step (or None if the flow was
    /// already destroyed).
    pub fn packet(&mut self, to_srv: bool, data: &[u8]) -> Option<Step> {
        if self.destroyed || data.is_empty() {
            return None;
        }
        let b = &mut self.bufs[usize::from(to_srv)];
        let room = MAX_FLOW_DATA - b.len();
        b.extend_from_slice(&data[..data.len().min(room)]);
        let step = self
            .flow
            .process(to_srv, b, b.len() < MAX_FLOW_DATA, self.compat);
        if let Some(m) = &step.completed {
            self.messages.push(m.clone());
        }
        if !step.need_more || self.bufs.iter().all(|b| b.len() >= MAX_FLOW_DATA) {
            self.destroyed = true;
        }
        Some(step)
    }
}

pub fn spec(name: &str) -> HttpHeaderSpec {
    let (optional, rest) = match name.strip_prefix('?') {
        Some(r) => (true, r),
        None => (false, name),
    };
    let (n, value) = match rest.split_once("=[") {
        Some((n, v)) => (n, Some(v.trim_end_matches(']').to_string())),
        None => (rest, None),
    };
    HttpHeaderSpec {
        name: n.to_string(),
        optional,
        value,
    }
}

/// A hand-built database. Each entry: (request?, generic?, app?, name, sig
/// as `ver:horder:habsent:expsw`).
pub fn db(entries: &[(bool, bool, bool, &str, &str)]) -> Database {
    let mut db = Database::default();
    db.classes.push("unix".into());
    for (i, &(req, generic, app, name, sig)) in entries.iter().enumerate() {
        let name_id = match db.names.iter().position(|n| n == name) {
            Some(p) => p as u32,
            None => {
                db.names.push(name.into());
                (db.names.len() - 1) as u32
            }
        };
        db.labels.push(Label {
            generic,
            class: if app { None } else { Some(0) },
            name: name_id,
            flavor: if app { Some("1.x".into()) } else { None },
            label_id: i as u32,
            sys: Vec::new(),
        });
        let mut parts = sig.splitn(4, ':');
        let ver = match parts.next().unwrap() {
            "*" => None,
            v => Some(v.parse().unwrap()),
        };
        let horder = parts.next().unwrap();
        let habsent = parts.next().unwrap();
        let expsw = parts.next().unwrap_or("").to_string();
        let rec = HttpRecord {
            sig: HttpSig {
                ver,
                horder: horder
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(spec)
                    .collect(),
                habsent: habsent
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                expsw,
            },
            label: (db.labels.len() - 1) as u32,
            line: 100 + i as u32,
        };
        if req {
            db.http_request.push(rec);
        } else {
            db.http_response.push(rec);
        }
    }
    db
}

pub const CURL_REQ: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

pub const PY_RESP: &[u8] = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate: Fri, 27 Nov 2026 03:41:57 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 512\r\n\r\n<!DOCTYPE HTML>";
