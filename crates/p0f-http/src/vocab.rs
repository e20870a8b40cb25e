//! The known-header vocabulary.
//!
//! p0f gives an id to every header name it knows: six fixed ones, the
//! built-in lists used when dumping signatures, and every name appearing in
//! an HTTP signature of the database. Whether a header is known changes how it
//! is dumped (known ones may be marked optional or have their values hidden),
//! and matching compares ids. Names are compared exactly, case-sensitively.

use std::collections::HashMap;

use p0f_sigdb::{Database, HttpRecord};

/// Registered first, in this order (p0f's ids 0–5).
pub const FIXED: [&str; 6] = [
    "User-Agent",
    "Server",
    "Accept-Language",
    "Via",
    "X-Forwarded-For",
    "Date",
];

/// Request headers dumped with `?` and without a value.
pub const REQ_OPTIONAL: [&str; 11] = [
    "Cookie",
    "Referer",
    "Origin",
    "Range",
    "If-Modified-Since",
    "If-None-Match",
    "Via",
    "X-Forwarded-For",
    "Authorization",
    "Proxy-Authorization",
    "Cache-Control",
];

/// Response headers dumped with `?` and without a value.
pub const RESP_OPTIONAL: [&str; 12] = [
    "Set-Cookie",
    "Last-Modified",
    "ETag",
    "Content-Length",
    "Content-Disposition",
    "Cache-Control",
    "Expires",
    "Pragma",
    "Location",
    "Refresh",
    "Content-Range",
    "Vary",
];

/// Request headers whose values are never dumped.
pub const REQ_SKIPVAL: [&str; 2] = ["Host", "User-Agent"];

/// Response headers whose values are never dumped.
pub const RESP_SKIPVAL: [&str; 3] = ["Date", "Content-Type", "Server"];

/// Request headers listed in the habsent part when missing, in this order.
pub const REQ_COMMON: [&str; 8] = [
    "Host",
    "User-Agent",
    "Connection",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Charset",
    "Keep-Alive",
];

/// Response headers listed in the habsent part when missing, in this order.
pub const RESP_COMMON: [&str; 5] = [
    "Content-Type",
    "Connection",
    "Keep-Alive",
    "Accept-Ranges",
    "Date",
];

const F_REQ_OPTIONAL: u8 = 1;
const F_RESP_OPTIONAL: u8 = 2;
const F_REQ_SKIPVAL: u8 = 4;
const F_RESP_SKIPVAL: u8 = 8;

/// A database signature with its header names resolved to ids.
#[derive(Clone, Debug)]
pub(crate) struct CompiledSig {
    pub horder: Vec<u32>,
    pub habsent: Vec<u32>,
}

/// Known header names, their dump properties, and the database's HTTP
/// signatures with names resolved to ids. Build it once per database.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    ids: HashMap<Box<[u8]>, u32>,
    names: Vec<Box<str>>,
    flags: Vec<u8>,
    req_common: Vec<u32>,
    resp_common: Vec<u32>,
    /// Compiled `db.http_response` and `db.http_request`, in file order.
    pub(crate) sigs: [Vec<CompiledSig>; 2],
}

impl Vocabulary {
    /// Registers the fixed and built-in names, then every name used by the
    /// database's HTTP signatures. Matching with this vocabulary must use the
    /// same database.
    pub fn new(db: &Database) -> Vocabulary {
        let mut v = Vocabulary {
            ids: HashMap::new(),
            names: Vec::new(),
            flags: Vec::new(),
            req_common: Vec::new(),
            resp_common: Vec::new(),
            sigs: [Vec::new(), Vec::new()],
        };
        for name in FIXED {
            v.register(name);
        }
        for (list, flag) in [
            (&REQ_OPTIONAL[..], F_REQ_OPTIONAL),
            (&RESP_OPTIONAL[..], F_RESP_OPTIONAL),
            (&REQ_SKIPVAL[..], F_REQ_SKIPVAL),
            (&RESP_SKIPVAL[..], F_RESP_SKIPVAL),
        ] {
            for name in list {
                let id = v.register(name);
                v.flags[id as usize] |= flag;
            }
        }
        v.req_common = REQ_COMMON.iter().map(|n| v.register(n)).collect();
        v.resp_common = RESP_COMMON.iter().map(|n| v.register(n)).collect();
        let resp = v.compile(&db.http_response);
        let req = v.compile(&db.http_request);
        v.sigs = [resp, req];
        v
    }

    fn compile(&mut self, records: &[HttpRecord]) -> Vec<CompiledSig> {
        records
            .iter()
            .map(|r| CompiledSig {
                horder: r
                    .sig
                    .horder
                    .iter()
                    .map(|h| self.register(&h.name))
                    .collect(),
                habsent: r.sig.habsent.iter().map(|n| self.register(n)).collect(),
            })
            .collect()
    }

    fn register(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name.as_bytes()) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.as_bytes().into(), id);
        self.names.push(name.into());
        self.flags.push(0);
        id
    }

    /// The id of a known header name (exact, case-sensitive), without
    /// allocating.
    pub fn lookup(&self, name: &[u8]) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name registered under `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Number of known names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: the fixed names are always there.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// In the direction's built-in optional list (dumped as `?Name`).
    pub fn is_optional(&self, request: bool, id: u32) -> bool {
        let f = if request {
            F_REQ_OPTIONAL
        } else {
            F_RESP_OPTIONAL
        };
        self.flags[id as usize] & f != 0
    }

    /// In the direction's skip-value list.
    pub fn skips_value(&self, request: bool, id: u32) -> bool {
        let f = if request {
            F_REQ_SKIPVAL
        } else {
            F_RESP_SKIPVAL
        };
        self.flags[id as usize] & f != 0
    }

    /// The direction's "common" headers (ids, in dump order).
    pub(crate) fn common(&self, request: bool) -> &[u32] {
        if request {
            &self.req_common
        } else {
            &self.resp_common
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_and_lists() {
        let v = Vocabulary::new(&Database::default());
        for (i, n) in FIXED.iter().enumerate() {
            assert_eq!(v.lookup(n.as_bytes()), Some(i as u32));
        }
        assert_eq!(v.lookup(b"user-agent"), None);
        assert_eq!(v.lookup(b"Content-type"), None);
        let cl = v.lookup(b"Content-Length").unwrap();
        assert!(v.is_optional(false, cl) && !v.is_optional(true, cl));
        let host = v.lookup(b"Host").unwrap();
        assert!(v.skips_value(true, host) && !v.skips_value(false, host));
        // 6 fixed names plus the new names each list adds: 9, 11, 1, 1, 5, 1.
        assert_eq!(v.len(), 34);
    }
}
