//! A bounded record of recently fingerprinted connections, for the p0f 2
//! (per-connection) API.
//!
//! p0f 2 answered "who is on the other end of this TCP connection?" from a
//! ring of the last 128 SYNs it fingerprinted. p0f 3 only answers per host,
//! which is wrong for several clients behind one NAT address. This table is
//! filled from the engine's observations (so the engine stays unchanged):
//! a `syn` observation about the client opens a record for its 4-tuple; the
//! `mtu`, `uptime` and `ip sharing` observations that follow complete it.
//! It holds a fixed number of records and overwrites the oldest, so memory
//! stays bounded whatever the traffic.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use p0f_api::v2::{Response, NO_SCORE, RESP_OK};
use p0f_api::FixedStr;
use p0f_engine::{HostAddr, Observation, Verdict};
use p0f_sigdb::Database;

/// Remote (SYN sender) address and port, then local address and port, as
/// a v2 query names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnKey {
    pub src: Ipv4Addr,
    pub src_port: u16,
    pub dst: Ipv4Addr,
    pub dst_port: u16,
}

/// The part of a v2 reply known about one connection.
#[derive(Clone, Copy, Debug)]
struct Record {
    key: ConnKey,
    genre: FixedStr<20>,
    detail: FixedStr<40>,
    dist: i8,
    link: FixedStr<30>,
    nat: u8,
    real: u8,
    uptime_hours: i32,
}

/// The table. Lookups and inserts are O(1).
pub struct ConnTable {
    slots: Vec<Option<Record>>,
    index: HashMap<ConnKey, usize>,
    next: usize,
    /// SYNs recorded so far (the v2 status reply's "matched" counts those
    /// with an OS or application match).
    pub recorded: u64,
    pub matched: u64,
}

fn v4(a: &HostAddr) -> Option<Ipv4Addr> {
    match a.octets() {
        [a, b, c, d] => Some(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => None,
    }
}

/// Splits `Linux 2.2.x-3.x` into the database's name and the rest.
impl ConnTable {
    pub fn new(capacity: usize) -> ConnTable {
        let capacity = capacity.max(1);
        ConnTable {
            slots: vec![None; capacity],
            index: HashMap::with_capacity(capacity),
            next: 0,
            recorded: 0,
            matched: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Takes note of one engine observation.
    pub fn observe(&mut self, db: &Database, obs: &Observation<'_>) {
        if !obs.about_client {
            return;
        }
        let (Some(src), Some(dst)) = (v4(&obs.client), v4(&obs.server)) else {
            return;
        };
        let key = ConnKey {
            src,
            src_port: obs.client_port,
            dst,
            dst_port: obs.server_port,
        };
        let field = |k: &str| obs.fields.iter().find(|f| f.key == k).and_then(|f| f.value);
        match (obs.kind, obs.verdict) {
            (
                "syn",
                Verdict::Signature {
                    label, exact, dist, ..
                },
            ) => {
                let mut rec = Record {
                    key,
                    genre: FixedStr::default(),
                    detail: FixedStr::default(),
                    dist: i8::try_from(dist).unwrap_or(-1),
                    link: FixedStr::default(),
                    nat: 0,
                    real: 0,
                    uptime_hours: -1,
                };
                if let Some(l) = label.and_then(|i| db.labels.get(i as usize)) {
                    let name = db.names.get(l.name as usize).map_or("", String::as_str);
                    rec.genre = FixedStr::new_limited(name, 19);
                    rec.detail = FixedStr::new_limited(l.flavor.as_deref().unwrap_or(""), 39);
                    // p0f 2 called a match "real" when it was an OS (not a
                    // user-land tool) and certain.
                    rec.real = u8::from(l.class.is_some() && exact);
                    self.matched += 1;
                }
                self.recorded += 1;
                self.insert(rec);
            }
            ("mtu", _) => {
                if let (Some(link), Some(r)) = (field("link"), self.get_mut(&key)) {
                    r.link = FixedStr::new_limited(link, 29);
                }
            }
            ("uptime", Verdict::Uptime { minutes, .. }) => {
                if let Some(r) = self.get_mut(&key) {
                    r.uptime_hours = i32::try_from(minutes / 60).unwrap_or(i32::MAX);
                }
            }
            ("ip sharing", _) => {
                if let Some(r) = self.get_mut(&key) {
                    r.nat = 1;
                }
            }
            _ => {}
        }
    }

    fn insert(&mut self, rec: Record) {
        if let Some(&i) = self.index.get(&rec.key) {
            self.slots[i] = Some(rec);
            return;
        }
        let i = self.next;
        self.next = (self.next + 1) % self.slots.len();
        if let Some(old) = self.slots[i].take() {
            if self.index.get(&old.key) == Some(&i) {
                self.index.remove(&old.key);
            }
        }
        self.index.insert(rec.key, i);
        self.slots[i] = Some(rec);
    }

    fn get_mut(&mut self, key: &ConnKey) -> Option<&mut Record> {
        let i = *self.index.get(key)?;
        self.slots[i].as_mut()
    }

    /// The v2 reply for a connection, if it was fingerprinted. A query whose
    /// source port is 0 matches the newest record with the same addresses
    /// and destination port (p0f 2's `-0` behaviour).
    pub fn lookup(&self, key: &ConnKey, id: u32) -> Option<Response> {
        let rec = if key.src_port == 0 {
            self.newest_matching(key)?
        } else {
            self.slots[*self.index.get(key)?].as_ref()?
        };
        let mut r = Response::empty(id, RESP_OK);
        r.genre = rec.genre;
        r.detail = rec.detail;
        r.dist = rec.dist;
        r.link = rec.link;
        r.nat = rec.nat;
        r.real = rec.real;
        r.score = NO_SCORE;
        r.uptime = rec.uptime_hours;
        Some(r)
    }

    fn newest_matching(&self, key: &ConnKey) -> Option<&Record> {
        let n = self.slots.len();
        (1..=n)
            .map(|back| (self.next + n - back) % n)
            .filter_map(|i| self.slots[i].as_ref())
            .find(|r| {
                r.key.src == key.src && r.key.dst == key.dst && r.key.dst_port == key.dst_port
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p0f_engine::Field;

    fn obs<'a>(
        kind: &'static str,
        port: u16,
        fields: &'a [Field<'a>],
        verdict: Verdict,
    ) -> Observation<'a> {
        Observation {
            kind,
            time: 0,
            millis: 0,
            client: HostAddr::v4([10, 0, 0, 1]),
            client_port: port,
            server: HostAddr::v4([10, 0, 0, 2]),
            server_port: 25,
            about_client: true,
            fields,
            verdict,
        }
    }

    /// The label index of a name and flavor in the built-in database.
    fn label(db: &Database, name: &str, flavor: &str) -> u32 {
        db.labels
            .iter()
            .position(|l| db.names[l.name as usize] == name && l.flavor.as_deref() == Some(flavor))
            .unwrap() as u32
    }

    fn key(port: u16) -> ConnKey {
        ConnKey {
            src: Ipv4Addr::new(10, 0, 0, 1),
            src_port: port,
            dst: Ipv4Addr::new(10, 0, 0, 2),
            dst_port: 25,
        }
    }

    #[test]
    fn records_and_maps_fields() {
        let db = Database::builtin();
        let mut t = ConnTable::new(4);
        let syn = [
            Field {
                key: "os",
                value: Some("Linux 2.2.x-3.x"),
            },
            Field {
                key: "dist",
                value: Some("7"),
            },
            Field {
                key: "params",
                value: Some("none"),
            },
        ];
        let linux = Verdict::Signature {
            label: Some(label(&db, "Linux", "2.2.x-3.x")),
            exact: true,
            fuzzy: false,
            dist: 7,
        };
        t.observe(&db, &obs("syn", 1000, &syn, linux));
        let mtu = [Field {
            key: "link",
            value: Some("Ethernet or modem"),
        }];
        t.observe(&db, &obs("mtu", 1000, &mtu, Verdict::None));
        let up = [Field {
            key: "uptime",
            value: Some("2 days 3 hrs 4 min (modulo 49 days)"),
        }];
        let minutes = (2 * 24 + 3) * 60 + 4;
        t.observe(
            &db,
            &obs(
                "uptime",
                1000,
                &up,
                Verdict::Uptime {
                    minutes,
                    seconds: minutes * 60,
                    modulo_days: 497,
                },
            ),
        );
        let r = t.lookup(&key(1000), 77).unwrap();
        assert_eq!(r.id, 77);
        assert_eq!(r.genre.as_string(), "Linux");
        assert_eq!(r.detail.as_string(), "2.2.x-3.x");
        assert_eq!((r.dist, r.real, r.uptime), (7, 1, 51));
        assert_eq!(r.link.as_string(), "Ethernet or modem");
        assert!(t.lookup(&key(1001), 1).is_none());
        assert_eq!(t.lookup(&key(0), 1).unwrap().genre.as_string(), "Linux");
    }

    #[test]
    fn stays_bounded() {
        let db = Database::builtin();
        let mut t = ConnTable::new(8);
        let syn = [Field {
            key: "os",
            value: None,
        }];
        for p in 1..=1000 {
            let unknown = Verdict::Signature {
                label: None,
                exact: false,
                fuzzy: false,
                dist: 255,
            };
            t.observe(&db, &obs("syn", p, &syn, unknown));
            assert!(t.len() <= 8);
        }
        assert!(t.lookup(&key(1000), 0).is_some());
        assert!(t.lookup(&key(992), 0).is_none());
        let r = t.lookup(&key(999), 0).unwrap();
        assert!(r.genre.is_empty() && r.dist == -1 && r.real == 0);
    }
}
