//! The life cycle of a greylist entry, as a pure function of the stored
//! records and the time. Both stores apply exactly this (the Redis store
//! as a Lua script, tested against this module with the same scenarios).
//!
//! Records:
//! * **triplet** `(first_seen, last_seen, passed)`;
//! * **client** (auto-whitelist) `(count, last_counted)`, per client address;
//! * **network** `(new_entries, window_start)`, per client network.
//!
//! Transitions, at time `now`:
//! 1. A client whose count reached `awl_clients` passes (`ClientWhitelisted`);
//!    its count goes up once an hour at most, and its record lives
//!    `max_age` from then.
//! 2. No triplet, or one that never passed and was first seen more than
//!    `retry_window` ago, or one that passed but was last seen more than
//!    `max_age` ago: a new entry, deferred (`New`). If the network already
//!    created `max_new_per_network` entries within the retry window, the
//!    mail is deferred the same way but nothing is recorded, so a sender
//!    cycling through addresses cannot grow the state.
//! 3. A triplet not yet passed and first seen less than `delay` ago:
//!    deferred again (`TooEarly`); `first_seen` is kept.
//! 4. A triplet not yet passed, after `delay`: passes (`Retried`) and is
//!    remembered for `max_age`; the client's count goes up (once an hour
//!    at most, as postgrey counts "one attempt per hour").
//! 5. A triplet that passed: passes (`Known`), `last_seen` renewed.

/// Greylisting times (seconds) and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// A retry passes this long after first sight (default 300).
    pub delay: u64,
    /// The retry must come within this time of first sight (default 2 days).
    pub retry_window: u64,
    /// A passed triplet is remembered this long after its last delivery (35 days).
    pub max_age: u64,
    /// Passes after which a client address is whitelisted; 0 turns it off (5).
    pub awl_clients: u32,
    /// New entries per client network per retry window (default 1000).
    pub max_new_per_network: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            delay: 300,
            retry_window: 2 * 86_400,
            max_age: 35 * 86_400,
            awl_clients: 5,
            max_new_per_network: 1000,
        }
    }
}

/// A triplet's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub first_seen: u64,
    pub last_seen: u64,
    pub passed: bool,
}

/// A client's auto-whitelist record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ClientRec {
    pub count: u32,
    pub last_counted: u64,
}

/// A network's count of new entries in the current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NetRec {
    pub new_entries: u32,
    pub window_start: u64,
}

/// What the store answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// First sight (or an entry that expired): defer.
    New,
    /// First sight, but the network's quota of new entries is used up:
    /// defer without recording.
    Capped,
    /// A retry before `delay`: defer; `remaining` seconds to go.
    TooEarly { remaining: u64 },
    /// The first retry after `delay`: pass; it waited `waited` seconds.
    Retried { waited: u64 },
    /// A triplet that passed before: pass.
    Known,
    /// The client is auto-whitelisted: pass.
    ClientWhitelisted,
}

impl Outcome {
    pub fn passes(&self) -> bool {
        matches!(
            self,
            Outcome::Retried { .. } | Outcome::Known | Outcome::ClientWhitelisted
        )
    }

    /// A short word for logs and headers.
    pub fn reason(&self) -> &'static str {
        match self {
            Outcome::New => "new",
            Outcome::Capped => "new (network quota reached, not recorded)",
            Outcome::TooEarly { .. } => "early retry",
            Outcome::Retried { .. } => "retried after delay",
            Outcome::Known => "known triplet",
            Outcome::ClientWhitelisted => "client auto-whitelisted",
        }
    }
}

/// The records before one check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Before {
    pub triplet: Option<Entry>,
    pub client: Option<ClientRec>,
    pub network: Option<NetRec>,
}

/// What to write after one check: `Some` means "store this, living `ttl`
/// seconds from now".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub triplet: Option<(Entry, u64)>,
    pub client: Option<(ClientRec, u64)>,
    pub network: Option<(NetRec, u64)>,
}

/// Seconds between two auto-whitelist counts of one client.
pub const AWL_COUNT_INTERVAL: u64 = 3600;

/// One check: the answer and the records to write.
pub fn step(now: u64, p: &Params, before: Before) -> (Outcome, Writes) {
    let mut w = Writes::default();
    let client = before.client.unwrap_or_default();
    let counts_now = now >= client.last_counted.saturating_add(AWL_COUNT_INTERVAL)
        || client.last_counted > now
        || client.count == 0;
    if p.awl_clients > 0 && client.count >= p.awl_clients {
        if counts_now {
            let c = ClientRec {
                count: client.count.saturating_add(1),
                last_counted: now,
            };
            w.client = Some((c, p.max_age));
        }
        return (Outcome::ClientWhitelisted, w);
    }
    let live = before.triplet.filter(|e| {
        // A date in the future is treated as now (clock steps).
        let first = e.first_seen.min(now);
        let last = e.last_seen.min(now);
        if e.passed {
            now - last <= p.max_age
        } else {
            now - first <= p.retry_window
        }
    });
    match live {
        None => {
            let net = before
                .network
                .filter(|n| n.window_start <= now && now - n.window_start <= p.retry_window)
                .unwrap_or(NetRec {
                    new_entries: 0,
                    window_start: now,
                });
            if net.new_entries >= p.max_new_per_network {
                return (Outcome::Capped, w);
            }
            let left = p.retry_window - (now - net.window_start);
            w.network = Some((
                NetRec {
                    new_entries: net.new_entries + 1,
                    window_start: net.window_start,
                },
                left.max(1),
            ));
            let e = Entry {
                first_seen: now,
                last_seen: now,
                passed: false,
            };
            w.triplet = Some((e, p.retry_window.max(1)));
            (Outcome::New, w)
        }
        Some(e) if !e.passed => {
            let first = e.first_seen.min(now);
            let waited = now - first;
            if waited < p.delay {
                let e = Entry {
                    first_seen: first,
                    last_seen: now,
                    passed: false,
                };
                w.triplet = Some((e, (p.retry_window - waited).max(1)));
                return (
                    Outcome::TooEarly {
                        remaining: p.delay - waited,
                    },
                    w,
                );
            }
            let e = Entry {
                first_seen: first,
                last_seen: now,
                passed: true,
            };
            w.triplet = Some((e, p.max_age.max(1)));
            if p.awl_clients > 0 && counts_now {
                let c = ClientRec {
                    count: client.count.saturating_add(1),
                    last_counted: now,
                };
                w.client = Some((c, p.max_age.max(1)));
            }
            (Outcome::Retried { waited }, w)
        }
        Some(e) => {
            let e = Entry {
                first_seen: e.first_seen.min(now),
                last_seen: now,
                passed: true,
            };
            w.triplet = Some((e, p.max_age.max(1)));
            (Outcome::Known, w)
        }
    }
}

/// True when a stored triplet is of no further use at `now`.
pub fn triplet_expired(e: &Entry, now: u64, p: &Params) -> bool {
    if e.passed {
        now.saturating_sub(e.last_seen) > p.max_age
    } else {
        now.saturating_sub(e.first_seen) > p.retry_window
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Applies writes to an in-memory copy of the records (TTL ignored;
    /// the step function itself checks ages).
    fn apply(b: &mut Before, w: Writes) {
        if let Some((e, _)) = w.triplet {
            b.triplet = Some(e);
        }
        if let Some((c, _)) = w.client {
            b.client = Some(c);
        }
        if let Some((n, _)) = w.network {
            b.network = Some(n);
        }
    }

    #[test]
    fn life_cycle() {
        let p = Params::default();
        let mut b = Before::default();
        let t0 = 1_000_000;
        let at = |t: u64, b: &mut Before| {
            let (o, w) = step(t, &p, *b);
            apply(b, w);
            o
        };
        assert_eq!(at(t0, &mut b), Outcome::New);
        assert_eq!(at(t0 + 60, &mut b), Outcome::TooEarly { remaining: 240 });
        assert_eq!(
            b.triplet.unwrap().first_seen,
            t0,
            "an early retry keeps first_seen"
        );
        assert_eq!(at(t0 + 300, &mut b), Outcome::Retried { waited: 300 });
        assert_eq!(b.client.unwrap().count, 1);
        assert_eq!(at(t0 + 400, &mut b), Outcome::Known);
        // Remembered for max_age after the last delivery, renewed by each.
        let later = t0 + 400 + p.max_age;
        assert_eq!(at(later, &mut b), Outcome::Known);
        assert_eq!(at(later + p.max_age + 1, &mut b), Outcome::New);
    }

    #[test]
    fn retry_window_expires_unpassed_entries() {
        let p = Params::default();
        let e = Entry {
            first_seen: 0,
            last_seen: 0,
            passed: false,
        };
        let b = Before {
            triplet: Some(e),
            ..Before::default()
        };
        assert_eq!(
            step(p.retry_window, &p, b).0,
            Outcome::Retried {
                waited: p.retry_window
            }
        );
        assert_eq!(step(p.retry_window + 1, &p, b).0, Outcome::New);
    }

    #[test]
    fn auto_whitelist_counts_once_an_hour() {
        let p = Params {
            awl_clients: 2,
            ..Params::default()
        };
        let pass = |t: u64, client: Option<ClientRec>| {
            let b = Before {
                triplet: Some(Entry {
                    first_seen: t - 300,
                    last_seen: t - 300,
                    passed: false,
                }),
                client,
                network: None,
            };
            step(t, &p, b)
        };
        let (o, w) = pass(10_000, None);
        assert_eq!(o, Outcome::Retried { waited: 300 });
        let c1 = w.client.unwrap().0;
        assert_eq!(c1.count, 1);
        // A second pass within the hour does not count.
        let (_, w) = pass(10_100, Some(c1));
        assert_eq!(w.client, None);
        let (_, w) = pass(10_000 + 3600, Some(c1));
        let c2 = w.client.unwrap().0;
        assert_eq!(c2.count, 2);
        let b = Before {
            client: Some(c2),
            ..Before::default()
        };
        assert_eq!(step(20_000, &p, b).0, Outcome::ClientWhitelisted);
        let off = Params {
            awl_clients: 0,
            ..p.clone()
        };
        assert_eq!(step(20_000, &off, b).0, Outcome::New);
    }

    #[test]
    fn new_entries_are_capped_per_network() {
        let p = Params {
            max_new_per_network: 2,
            ..Params::default()
        };
        let mut net = None;
        for i in 0..2 {
            let (o, w) = step(
                100 + i,
                &p,
                Before {
                    network: net,
                    ..Before::default()
                },
            );
            assert_eq!(o, Outcome::New);
            net = w.network.map(|n| n.0);
        }
        let (o, w) = step(
            103,
            &p,
            Before {
                network: net,
                ..Before::default()
            },
        );
        assert_eq!(o, Outcome::Capped);
        assert_eq!(w, Writes::default(), "a capped check writes nothing");
        // A new window opens after retry_window.
        let (o, _) = step(
            100 + p.retry_window + 1,
            &p,
            Before {
                network: net,
                ..Before::default()
            },
        );
        assert_eq!(o, Outcome::New);
    }

    #[test]
    fn future_dates_are_treated_as_now() {
        let p = Params::default();
        let b = Before {
            triplet: Some(Entry {
                first_seen: 5000,
                last_seen: 5000,
                passed: false,
            }),
            ..Before::default()
        };
        assert_eq!(step(1000, &p, b).0, Outcome::TooEarly { remaining: 300 });
    }
}
