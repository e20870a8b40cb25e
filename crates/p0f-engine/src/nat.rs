//! NAT and host-change detection: scoring how much a new signature
//! disagrees with what a host showed before (p0f's `score_nat`,
//! `add_nat_score` and `verify_tool_class`).

use p0f_sigdb::{Quirks, SysEntry};

use crate::state::{SigSnapshot, NAT_SCORES};
use crate::table::Idx;
use crate::{Engine, Sink};

/// Reason bits, in p0f's values.
pub mod reason {
    pub const APP_SIG: u16 = 0x0001;
    pub const OS_SIG: u16 = 0x0002;
    pub const UNK_DIFF: u16 = 0x0004;
    pub const TO_UNK: u16 = 0x0008;
    pub const TS: u16 = 0x0010;
    pub const PORT: u16 = 0x0020;
    pub const TTL: u16 = 0x0040;
    pub const FUZZY: u16 = 0x0080;
    pub const MSS: u16 = 0x0100;
    pub const APP_LB: u16 = 0x0200;
    pub const APP_VIA: u16 = 0x0400;
    pub const APP_DATE: u16 = 0x0800;
    pub const APP_UA: u16 = 0x1000;

    /// Printed names, in the order p0f prints them.
    pub const NAMES: [(u16, &str); 13] = [
        (APP_SIG, "app_vs_os"),
        (OS_SIG, "os_diff"),
        (UNK_DIFF, "sig_diff"),
        (TO_UNK, "x_known"),
        (TS, "tstamp"),
        (TTL, "ttl"),
        (PORT, "port"),
        (MSS, "mtu"),
        (FUZZY, "fuzzy"),
        (APP_VIA, "via"),
        (APP_DATE, "date"),
        (APP_LB, "srv_sig_lb"),
        (APP_UA, "ua_vs_os"),
    ];
}

const NEAR_TTL_LIMIT: u8 = 9;
const LOCAL_TTL_LIMIT: u8 = 5;
const SMALL_TTL_CHG: i16 = 2;
const MIN_PORT_DROP: u16 = 64;
const MAX_NAT_TS_MS: u64 = 24 * 60 * 60 * 1000;
const TSTAMP_GRACE_MS: u64 = 100;
const MAX_TSCALE: u64 = 1500;

/// Quirks that may legitimately come and go on one host.
const SOFT_QUIRKS: Quirks =
    Quirks(Quirks::ECN.0 | Quirks::DF.0 | Quirks::NZ_ID.0 | Quirks::ZERO_ID.0);

impl Engine {
    /// Scores a new OS (or unknown) TCP signature against the host's last
    /// one of the same direction, then records the outcome on the host.
    pub(crate) fn score_tcp_nat(
        &mut self,
        to_srv: bool,
        sig: &SigSnapshot,
        f: Idx,
        sink: &mut dyn Sink,
    ) {
        let flow = self.flows.get(f);
        let cli_port = flow.key.cli_port;
        let subject = if to_srv { flow.client } else { flow.server };
        let host = self.hosts.get(subject);
        let reference = if to_srv {
            host.last_syn
        } else {
            host.last_synack
        };
        let records = if to_srv {
            &self.db.tcp_request
        } else {
            &self.db.tcp_response
        };
        let label_of = |m: u32| &self.db.labels[records[m as usize].label as usize];
        let mut score: u8 = 0;
        let mut why: u16 = 0;

        if let Some(r) = reference {
            let mut differs = false;
            match (sig.matched, r.matched) {
                (Some(s), Some(p)) => {
                    let (sl, pl) = (label_of(s), label_of(p));
                    if sl.name != pl.name {
                        score += 8;
                        why |= reason::OS_SIG;
                        differs = true;
                    } else if to_srv {
                        if sl.label_id != pl.label_id {
                            score += 2;
                            why |= reason::OS_SIG;
                        } else if records[s as usize].line != records[p as usize].line {
                            score += 1;
                            why |= reason::OS_SIG;
                        } else if sig.fuzzy != r.fuzzy {
                            score += 1;
                            why |= reason::FUZZY;
                        }
                    }
                }
                _ => {
                    if Quirks(sig.quirks.0 ^ r.quirks.0).difference(SOFT_QUIRKS).0 != 0 {
                        score += 2;
                        why |= reason::UNK_DIFF;
                    } else if to_srv && sig.layout != r.layout {
                        score += 1;
                        why |= reason::UNK_DIFF;
                    }
                    if to_srv && sig.matched != r.matched {
                        score += 1;
                        why |= reason::TO_UNK;
                    }
                }
            }
            if !differs {
                if let Some(s) = sig.matched {
                    if host.last_class_id != -1 && host.last_name_id != label_of(s).name as i32 {
                        score += 8;
                        why |= reason::OS_SIG;
                        differs = true;
                    }
                }
            }
            let bad_ttl = |m: Option<u32>| m.is_some_and(|i| records[i as usize].sig.bad_ttl);
            let ttl_diff = i16::from(sig.ttl) - i16::from(r.ttl);
            if !differs
                && ttl_diff != 0
                && !bad_ttl(sig.matched)
                && !bad_ttl(r.matched)
                && (sig.dist <= NEAR_TTL_LIMIT || ttl_diff > 1)
            {
                score += if sig.dist > LOCAL_TTL_LIMIT && ttl_diff.abs() <= SMALL_TTL_CHG {
                    1
                } else {
                    4
                };
                why |= reason::TTL;
            }
            if to_srv
                && host.last_port != 0
                && cli_port < host.last_port
                && host.last_port - cli_port >= MIN_PORT_DROP
            {
                score += 1;
                why |= reason::PORT;
            }
            if sig.mss != r.mss {
                score += 1;
                why |= reason::MSS;
            }
            if score != 0 && sig.ts1 != 0 && r.ts1 != 0 {
                let ms = sig.recv_ms.wrapping_sub(r.recv_ms);
                if ms < MAX_NAT_TS_MS {
                    let max_ts = ms.max(TSTAMP_GRACE_MS) * MAX_TSCALE / 1000;
                    let ts_diff = sig.ts1.wrapping_sub(r.ts1);
                    if u64::from(ts_diff) > max_ts
                        && (ms >= TSTAMP_GRACE_MS || u64::from(!ts_diff) > max_ts)
                    {
                        score += 4;
                        why |= reason::TS;
                    } else {
                        score /= 2;
                    }
                }
            }
        } else if let Some(s) = sig.matched {
            // Nothing of this kind seen before: compare with what other
            // signatures said about the host.
            if host.last_class_id != -1 && host.last_name_id != label_of(s).name as i32 {
                score += 8;
                why |= reason::OS_SIG;
            }
        }

        let update = sig.matched.map(|s| {
            let l = label_of(s);
            (
                l.class.map_or(-1, |c| c as i32),
                l.name as i32,
                records[s as usize].label,
                l.generic,
            )
        });
        self.add_nat_score(to_srv, f, why, score, sink);
        let host = self.hosts.get_mut(subject);
        if let Some((class, name, label, generic)) = update {
            host.last_class_id = class;
            host.last_name_id = name;
            host.last_label = Some(label);
            host.last_quality = u8::from(sig.fuzzy) | (u8::from(generic) << 1);
        }
        host.last_port = cli_port;
    }

    /// Checks that an application runs on the OS the host is known to run.
    pub(crate) fn verify_tool_class(
        &mut self,
        to_srv: bool,
        f: Idx,
        sys: &[SysEntry],
        sink: &mut dyn Sink,
    ) {
        let flow = self.flows.get(f);
        let host = self
            .hosts
            .get(if to_srv { flow.client } else { flow.server });
        if host.last_class_id == -1 {
            return;
        }
        let fits = sys.iter().any(|e| match *e {
            SysEntry::Class(c) => c as i32 == host.last_class_id,
            SysEntry::Name(n) => n as i32 == host.last_name_id,
        });
        if fits {
            self.add_nat_score(to_srv, f, 0, 0, sink);
        } else {
            self.add_nat_score(to_srv, f, reason::APP_SIG, 4, sink);
        }
    }

    /// Records a score in the host's history and reports a host change or
    /// IP sharing when the history says so.
    pub(crate) fn add_nat_score(
        &mut self,
        to_srv: bool,
        f: Idx,
        why: u16,
        score: u8,
        sink: &mut dyn Sink,
    ) {
        let flow = self.flows.get(f);
        let subject = if to_srv { flow.client } else { flow.server };
        let now = self.now_sec;
        let host = self.hosts.get_mut(subject);
        let scores = if to_srv {
            &mut host.cli_scores
        } else {
            &mut host.srv_scores
        };
        scores.copy_within(1.., 0);
        scores[NAT_SCORES - 1] = score;
        host.nat_reasons |= why;
        if score == 0 {
            return;
        }
        let mut hits = [0u32; 4];
        for &s in scores.iter() {
            let level = match s {
                6.. => 4,
                3..=5 => 3,
                2 => 2,
                1 => 1,
                0 => 0,
            };
            for h in hits.iter_mut().take(level) {
                *h += 1;
            }
        }
        // hits[3] counts scores of 6 and up, hits[0] every non-zero score.
        let (over5, over2, over1, over0) = (hits[3], hits[2], hits[1], hits[0]);
        let (kind, shown) = if over5 > 2 || over2 > 4 || over1 > 6 || over0 > 8 {
            let all = host.nat_reasons;
            host.last_nat = now;
            *scores = [0; NAT_SCORES];
            host.nat_reasons = 0;
            ("ip sharing", all)
        } else if score == 1 {
            return;
        } else {
            host.last_chg = now;
            ("host change", why)
        };
        self.fields.clear();
        if shown == 0 {
            self.fields.push_str("reason", None);
        } else {
            self.fields.push_with("reason", |s| {
                let mut first = true;
                for (bit, name) in reason::NAMES {
                    if shown & bit != 0 {
                        if !first {
                            s.push(' ');
                        }
                        s.push_str(name);
                        first = false;
                    }
                }
            });
        }
        self.fields
            .push_fmt("raw_hits", format_args!("{over5},{over2},{over1},{over0}"));
        self.emit(kind, f, to_srv, sink);
    }
}
