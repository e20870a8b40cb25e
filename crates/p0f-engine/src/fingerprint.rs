//! SYN and SYN+ACK fingerprints, MTU and uptime (p0f's `fp_tcp.c` and
//! `fp_mtu.c` behaviour).

use std::fmt::Write as _;
use std::sync::Arc;

use p0f_sigdb::{guess_dist, opt, TcpObserved, WindowKind};

use crate::packet::{kind, PacketFacts};
use crate::sigmemo::{RawSig, SigKey};
use crate::state::SigSnapshot;
use crate::table::Idx;
use crate::{Engine, Sink, Verdict};

/// Largest TTL distance a signature match accepts without being fuzzy.
pub const MAX_DIST: u8 = 35;
/// p0f-sendsyn marks its probes with this window and MSS.
const SENDSYN_WIN: u16 = 1337;
const SENDSYN_MSS: u16 = 1331;

/// Uptime plausibility limits.
const MIN_TWAIT_MS: u64 = 25;
const MAX_TWAIT_MS: u64 = 10 * 60 * 1000;
const TSTAMP_GRACE_MS: u64 = 100;
const MIN_TSCALE: f64 = 0.7;
const MAX_TSCALE: f64 = 1500.0;

fn observed(pk: &PacketFacts<'_>) -> TcpObserved {
    TcpObserved {
        ver: pk.ip_ver,
        ttl: pk.ttl,
        ip_opt_len: pk.ip_opt_len,
        mss: pk.mss,
        win: pk.win,
        wscale: pk.wscale,
        layout: pk.layout,
        eol_pad: pk.eol_pad,
        quirks: pk.quirks,
        has_payload: !pk.payload.is_empty(),
        tot_hdr: pk.tot_hdr,
        ts1: pk.ts1,
    }
}

impl Engine {
    /// Fingerprints a SYN (`to_srv`) or SYN+ACK and prints the observation.
    /// Returns the signature to remember, or None for user-land tools and
    /// p0f-sendsyn flows.
    pub(crate) fn fingerprint_tcp(
        &mut self,
        to_srv: bool,
        pk: &PacketFacts<'_>,
        f: Idx,
        sink: &mut dyn Sink,
    ) -> Option<SigSnapshot> {
        if pk.tcp_type == kind::SYN && pk.win == SENDSYN_WIN && pk.mss == SENDSYN_MSS {
            self.flows.get_mut(f).sendsyn = true;
        }
        let (sendsyn, syn_mss) = {
            let flow = self.flows.get(f);
            (flow.sendsyn, flow.syn_mss)
        };
        let obs = observed(pk);
        let db = &self.db;
        let (m, raw_sig) = self.sig_memo.get(SigKey::new(!to_srv, &obs, syn_mss), || {
            let m = db.match_tcp(!to_srv, &obs, syn_mss);
            (m, raw_sig_text(pk, &obs, syn_mss))
        });
        let records = if to_srv {
            &self.db.tcp_request
        } else {
            &self.db.tcp_response
        };
        let record = m.record.map(|i| &records[i as usize]);
        let label = record.map(|r| &self.db.labels[r.label as usize]);
        let bad_ttl = record.is_some_and(|r| r.sig.bad_ttl);

        self.fields.clear();
        match label {
            Some(l) => {
                let key = if l.class.is_none() || sendsyn {
                    "app"
                } else {
                    "os"
                };
                let name = &self.db.names[l.name as usize];
                self.fields.push_with(key, |s| {
                    s.push_str(name);
                    if let Some(flavor) = &l.flavor {
                        s.push(' ');
                        s.push_str(flavor);
                    }
                });
            }
            None => self.fields.push_str("os", None),
        }
        if bad_ttl {
            self.fields.push_fmt("dist", format_args!("<= {}", m.dist));
        } else {
            let flow = self.flows.get(f);
            let subject = if to_srv { flow.client } else { flow.server };
            self.hosts.get_mut(subject).distance = m.dist;
            self.fields.push_with("dist", |s| num(s, m.dist));
        }
        let generic = label.is_some_and(|l| l.generic);
        self.fields.push_with("params", |s| {
            write_params(
                s,
                record.is_some(),
                generic,
                m.fuzzy,
                bad_ttl,
                m.dist,
                pk.tos,
            )
        });
        self.fields.push_str("raw_sig", Some(raw_sig));
        let keyword = match (to_srv, sendsyn) {
            (true, false) => "syn",
            (true, true) => "sendsyn probe",
            (false, false) => "syn+ack",
            (false, true) => "sendsyn response",
        };
        let verdict = Verdict::Signature {
            label: record.map(|r| r.label),
            exact: !generic && !m.fuzzy,
            fuzzy: m.fuzzy,
            dist: m.dist,
        };
        self.emit_verdict(keyword, f, to_srv, verdict, sink);

        if pk.tcp_type == kind::SYN {
            self.flows.get_mut(f).syn_mss = pk.mss;
        }
        if let Some(l) = label {
            if l.class.is_none() {
                // The database outlives this call; hold it by Arc so that the
                // label's `sys` list can be lent while `self` is borrowed.
                let db = Arc::clone(&self.db);
                let sys = &db.labels[record.map_or(0, |r| r.label as usize)].sys;
                self.verify_tool_class(to_srv, f, sys, sink);
                return None;
            }
        }
        if sendsyn {
            return None;
        }
        let sig = SigSnapshot {
            quirks: pk.quirks,
            layout: pk.layout,
            ttl: pk.ttl,
            mss: pk.mss,
            ts1: pk.ts1,
            recv_ms: self.now_ms,
            matched: m.record,
            fuzzy: m.fuzzy,
            dist: m.dist,
        };
        self.score_tcp_nat(to_srv, &sig, f, sink);
        Some(sig)
    }

    /// Reports the link MTU implied by the MSS option.
    pub(crate) fn fingerprint_mtu(
        &mut self,
        to_srv: bool,
        pk: &PacketFacts<'_>,
        f: Idx,
        sink: &mut dyn Sink,
    ) {
        if pk.mss == 0 || self.flows.get(f).sendsyn {
            return;
        }
        let mtu = u32::from(pk.mss) + if pk.ip_ver == 4 { 40 } else { 60 };
        let link = u16::try_from(mtu)
            .ok()
            .and_then(|m| self.db.mtu.iter().position(|r| r.mtu == m));
        self.fields.clear();
        match link {
            Some(i) => {
                let flow = self.flows.get(f);
                let subject = if to_srv { flow.client } else { flow.server };
                self.hosts.get_mut(subject).link_type = Some(i as u32);
                let name = &self.db.mtu[i].link;
                self.fields.push_str("link", Some(name));
            }
            None => self.fields.push_str("link", None),
        }
        self.fields.push_with("raw_mtu", |s| num(s, mtu));
        self.emit("mtu", f, to_srv, sink);
    }

    /// Estimates uptime from the TCP timestamp clock (p0f's `check_ts_tcp`).
    pub(crate) fn check_uptime(
        &mut self,
        to_srv: bool,
        pk: &PacketFacts<'_>,
        f: Idx,
        sink: &mut dyn Sink,
    ) {
        let flow = self.flows.get(f);
        if pk.ts1 == 0 || flow.sendsyn {
            return;
        }
        let (tps, reference) = if to_srv {
            (flow.cli_tps, self.hosts.get(flow.client).last_syn)
        } else {
            (flow.srv_tps, self.hosts.get(flow.server).last_synack)
        };
        let Some(reference) = reference else { return };
        if tps != 0 || reference.ts1 == 0 {
            return;
        }
        let ms_diff = self.now_ms.wrapping_sub(reference.recv_ms);
        let ts_diff = pk.ts1.wrapping_sub(reference.ts1);
        if !(MIN_TWAIT_MS..=MAX_TWAIT_MS).contains(&ms_diff) {
            return;
        }
        // A small step back within the grace period is reordering, not a clock.
        if ts_diff < 5 || (ms_diff < TSTAMP_GRACE_MS && (!ts_diff) / 1000 < 15) {
            return;
        }
        let freq_f = if ts_diff > !ts_diff {
            f64::from(!ts_diff) * -1000.0 / ms_diff as f64
        } else {
            f64::from(ts_diff) * 1000.0 / ms_diff as f64
        };
        if !(MIN_TSCALE..=MAX_TSCALE).contains(&freq_f) {
            if pk.tcp_type != kind::SYN {
                let flow = self.flows.get_mut(f);
                if to_srv {
                    flow.cli_tps = -1;
                } else {
                    flow.srv_tps = -1;
                }
            }
            return;
        }
        let freq = round_frequency(freq_f as u32);
        let flow = self.flows.get_mut(f);
        if to_srv {
            flow.cli_tps = freq as i32;
        } else {
            flow.srv_tps = freq as i32;
        }
        let subject = if to_srv { flow.client } else { flow.server };
        let up_min = pk.ts1 / freq / 60;
        let up_mod_days = u32::MAX / (freq * 60 * 60 * 24);
        let host = self.hosts.get_mut(subject);
        host.last_up_min = i64::from(up_min);
        host.up_mod_days = up_mod_days;
        self.fields.clear();
        self.fields.push_fmt(
            "uptime",
            format_args!(
                "{} days {} hrs {} min (modulo {} days)",
                up_min / 60 / 24,
                (up_min / 60) % 24,
                up_min % 60,
                up_mod_days
            ),
        );
        self.fields
            .push_fmt("raw_freq", format_args!("{freq_f:.2} Hz"));
        self.emit_verdict(
            "uptime",
            f,
            to_srv,
            Verdict::Uptime {
                minutes: up_min,
                seconds: pk.ts1 / freq,
                modulo_days: up_mod_days,
            },
            sink,
        );
    }
}

/// Rounds a timestamp clock to the values real stacks use.
fn round_frequency(f: u32) -> u32 {
    match f {
        0 => 1,
        1..=10 => f,
        11..=50 => (f + 3) / 5 * 5,
        51..=100 => (f + 7) / 10 * 10,
        101..=500 => (f + 33) / 50 * 50,
        _ => (f + 67) / 100 * 100,
    }
}

fn write_params(
    s: &mut String,
    matched: bool,
    generic: bool,
    fuzzy: bool,
    bad_ttl: bool,
    dist: u8,
    tos: u8,
) {
    let start = s.len();
    let add = |s: &mut String, word: std::fmt::Arguments<'_>| {
        if s.len() > start {
            s.push(' ');
        }
        let _ = s.write_fmt(word);
    };
    if matched {
        if generic {
            add(s, format_args!("generic"));
        }
        if fuzzy {
            add(s, format_args!("fuzzy"));
        }
        if bad_ttl {
            add(s, format_args!("random_ttl"));
        }
    }
    if dist > MAX_DIST {
        add(s, format_args!("excess_dist"));
    }
    if tos != 0 {
        add(s, format_args!("tos:0x{tos:02x}"));
    }
    if s.len() == start {
        s.push_str("none");
    }
}

/// Appends a decimal number (itoa: `write!` is measurably slow here).
fn num(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// The raw signature exactly as p0f prints it.
fn raw_sig_text(pk: &PacketFacts<'_>, obs: &TcpObserved, syn_mss: u16) -> RawSig {
    // The longest raw signature: "6:255+?:255:65535:mss*65535,255:" (32),
    // 24 options of at most "eol+255," (192), all 17 quirk tokens with
    // commas (76) and ":+" (2): 302 bytes.
    let mut t = RawSig::new();
    let dist = guess_dist(pk.ttl);
    t.push_u16(pk.ip_ver.into());
    t.push(b':');
    t.push_u16(pk.ttl.into());
    t.push(b'+');
    if dist > MAX_DIST {
        t.push(b'?');
    } else {
        t.push_u16(dist.into());
    }
    t.push(b':');
    t.push_u16(pk.ip_opt_len.into());
    t.push(b':');
    if pk.mss == SENDSYN_MSS && pk.tcp_type == kind::SYN_ACK {
        t.push(b'*');
    } else {
        t.push_u16(pk.mss);
    }
    t.push(b':');
    match p0f_sigdb::classify_window(obs, syn_mss) {
        Some((WindowKind::Mss, n)) => {
            t.push_str("mss*");
            t.push_u16(n);
        }
        Some((WindowKind::Mtu, n)) => {
            t.push_str("mtu*");
            t.push_u16(n);
        }
        None => t.push_u16(pk.win),
    }
    t.push(b',');
    t.push_u16(pk.wscale.into());
    t.push(b':');
    for (i, &k) in pk.layout.as_slice().iter().enumerate() {
        if i > 0 {
            t.push(b',');
        }
        match k {
            opt::EOL => {
                t.push_str("eol+");
                t.push_u16(pk.eol_pad.into());
            }
            opt::NOP => t.push_str("nop"),
            opt::MSS => t.push_str("mss"),
            opt::WS => t.push_str("ws"),
            opt::SOK => t.push_str("sok"),
            opt::SACK => t.push_str("sack"),
            opt::TS => t.push_str("ts"),
            other => {
                t.push(b'?');
                t.push_u16(other.into());
            }
        }
    }
    t.push(b':');
    for (i, token) in pk.quirks.tokens().enumerate() {
        if i > 0 {
            t.push(b',');
        }
        t.push_str(token);
    }
    t.push_str(if pk.payload.is_empty() { ":0" } else { ":+" });
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_rounding() {
        assert_eq!(round_frequency(0), 1);
        assert_eq!(round_frequency(7), 7);
        assert_eq!(round_frequency(12), 15);
        assert_eq!(round_frequency(98), 100);
        assert_eq!(round_frequency(260), 250);
        assert_eq!(round_frequency(1003), 1000);
    }

    #[test]
    fn params_order() {
        let mut s = String::new();
        write_params(&mut s, true, true, true, false, 40, 4);
        assert_eq!(s, "generic fuzzy excess_dist tos:0x04");
        s.clear();
        write_params(&mut s, false, true, true, true, 3, 0);
        assert_eq!(s, "none");
    }
}
