//! TCP signature matching, with the same outcome as p0f 3.09b.
//!
//! The same routine serves two purposes, as in p0f: classifying a packet
//! ([`Database::match_tcp`]) and, while loading, refusing a signature that an
//! earlier one already covers ("dupe mode").

use std::collections::HashMap;

use crate::types::*;

/// Largest TTL distance accepted without calling the match fuzzy.
pub const MAX_DIST: u8 = 35;

/// IPv4 + TCP header size without options.
const MIN_TCP4: i32 = 40;
/// IPv6 + TCP header size without options.
const MIN_TCP6: i32 = 60;

/// What the engine measured on one SYN or SYN+ACK, in the form matching needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpObserved {
    /// 4 or 6.
    pub ver: u8,
    pub ttl: u8,
    pub ip_opt_len: u8,
    /// 0 when the packet has no MSS option.
    pub mss: u16,
    pub win: u16,
    /// 0 when the packet has no window-scale option.
    pub wscale: u8,
    pub layout: OptLayout,
    pub eol_pad: u8,
    pub quirks: Quirks,
    pub has_payload: bool,
    /// IP + TCP header bytes, options included.
    pub tot_hdr: u16,
    /// Own timestamp (TSval), 0 without a timestamp option.
    pub ts1: u32,
}

/// What a window size turned out to be a multiple of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Mss,
    Mtu,
}

/// The outcome of [`Database::match_tcp`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpMatch {
    /// Index into [`Database::tcp_request`] or [`Database::tcp_response`].
    pub record: Option<u32>,
    /// The match is approximate (quirks or TTL did not line up exactly).
    pub fuzzy: bool,
    /// Estimated hop distance.
    pub dist: u8,
}

/// Distance guess from a TTL alone: the gap to the next common initial TTL.
pub fn guess_dist(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32 - ttl,
        33..=64 => 64 - ttl,
        65..=128 => 128 - ttl,
        _ => 255 - ttl,
    }
}

/// p0f's window multiplier: `(multiplier, use_mtu)`. The multiplier is -1 when
/// the window is not recognised as a multiple of anything. Matching compares
/// it with a signature's `mss*N`/`mtu*N`; the raw signature shows
/// `mss*N`/`mtu*N` only when it is positive.
///
/// The arithmetic is deliberately p0f's: 32-bit signed division, divisors
/// derived from the peer's MSS that may be zero (skipped) or negative, and a
/// result truncated to 16 bits (so it may wrap).
pub fn win_multi(obs: &TcpObserved, syn_mss: u16) -> (i16, bool) {
    detect_win_multi(
        obs.win,
        i32::from(obs.mss),
        true,
        obs.ts1,
        obs.ver == 6,
        obs.tot_hdr,
        syn_mss,
    )
}

/// The window classification as printed in a raw signature: `Some` exactly
/// when p0f would print `mss*N` or `mtu*N`.
pub fn classify_window(obs: &TcpObserved, syn_mss: u16) -> Option<(WindowKind, u16)> {
    let (multi, use_mtu) = win_multi(obs, syn_mss);
    if multi > 0 {
        let kind = if use_mtu {
            WindowKind::Mtu
        } else {
            WindowKind::Mss
        };
        Some((kind, multi as u16))
    } else {
        None
    }
}

fn detect_win_multi(
    win: u16,
    mss: i32,
    literal: bool,
    ts1: u32,
    v6: bool,
    tot_hdr: u16,
    syn_mss: u16,
) -> (i16, bool) {
    if win == 0 || mss < 100 || !literal {
        return (-1, false);
    }
    let win = i32::from(win);
    let try_div = |div: i32| -> Option<i16> {
        if win.checked_rem(div) == Some(0) {
            Some((win / div) as i16)
        } else {
            None
        }
    };
    let mut mss_divs: [i32; 6] = [0; 6];
    let mut n = 0;
    mss_divs[n] = mss;
    n += 1;
    if ts1 != 0 {
        mss_divs[n] = mss - 12;
        n += 1;
    }
    mss_divs[n] = 1500 - MIN_TCP4;
    mss_divs[n + 1] = 1500 - MIN_TCP4 - 12;
    n += 2;
    if v6 {
        mss_divs[n] = 1500 - MIN_TCP6;
        mss_divs[n + 1] = 1500 - MIN_TCP6 - 12;
        n += 2;
    }
    for &div in &mss_divs[..n] {
        if let Some(m) = try_div(div) {
            return (m, false);
        }
    }
    let mut mtu_divs: [i32; 4] = [0; 4];
    let mut n = 0;
    mtu_divs[n] = mss + MIN_TCP4;
    mtu_divs[n + 1] = mss + i32::from(tot_hdr);
    n += 2;
    if v6 {
        mtu_divs[n] = mss + MIN_TCP6;
        n += 1;
    }
    mtu_divs[n] = 1500;
    n += 1;
    for &div in &mtu_divs[..n] {
        if let Some(m) = try_div(div) {
            return (m, true);
        }
    }
    if syn_mss != 0 {
        let peer = i32::from(syn_mss);
        for div in [peer, peer - 12] {
            if let Some(m) = try_div(div) {
                return (m, false);
            }
        }
    }
    (-1, false)
}

/// Records of one direction bucketed by option layout, each bucket in file
/// order. Built at load time so a lookup only visits plausible candidates.
#[derive(Clone, Debug, Default)]
pub struct TcpIndex {
    // ahash: this lookup runs for every SYN and SYN+ACK, and std's SipHash
    // (made to resist hash flooding) is not needed for keys chosen by the
    // database, only looked up with packet data.
    request: HashMap<OptLayout, Vec<u32>, ahash::RandomState>,
    response: HashMap<OptLayout, Vec<u32>, ahash::RandomState>,
    /// How many records of each direction the index covers.
    covered: (usize, usize),
}

impl TcpIndex {
    /// Indexes the TCP records of `db`.
    pub fn build(db: &Database) -> TcpIndex {
        let mut index = TcpIndex::default();
        for (i, rec) in db.tcp_request.iter().enumerate() {
            index.add(false, rec.sig.layout, i as u32);
        }
        for (i, rec) in db.tcp_response.iter().enumerate() {
            index.add(true, rec.sig.layout, i as u32);
        }
        index
    }

    pub(crate) fn add(&mut self, response: bool, layout: OptLayout, record: u32) {
        let (map, count) = if response {
            (&mut self.response, &mut self.covered.1)
        } else {
            (&mut self.request, &mut self.covered.0)
        };
        map.entry(layout).or_default().push(record);
        *count += 1;
    }

    fn covers(&self, db: &Database) -> bool {
        self.covered == (db.tcp_request.len(), db.tcp_response.len())
    }

    fn bucket(&self, response: bool, layout: &OptLayout) -> &[u32] {
        let map = if response {
            &self.response
        } else {
            &self.request
        };
        map.get(layout).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WinType {
    Normal,
    Any,
    Mod,
    Mss,
    Mtu,
}

/// The comparable form shared by packets and (in dupe mode) new signatures.
/// Wildcards use p0f's -1 convention.
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    ip_ver: i8,
    ttl: u8,
    ip_opt_len: u8,
    mss: i32,
    win: u16,
    win_type: WinType,
    wscale: i16,
    pay_class: i8,
    eol_pad: u8,
    quirks: u32,
    tot_hdr: u16,
    ts1: u32,
}

impl Probe {
    fn from_observed(obs: &TcpObserved) -> Probe {
        Probe {
            ip_ver: obs.ver as i8,
            ttl: obs.ttl,
            ip_opt_len: obs.ip_opt_len,
            mss: i32::from(obs.mss),
            win: obs.win,
            win_type: WinType::Normal,
            wscale: i16::from(obs.wscale),
            pay_class: i8::from(obs.has_payload),
            eol_pad: obs.eol_pad,
            quirks: obs.quirks.0,
            tot_hdr: obs.tot_hdr,
            ts1: obs.ts1,
        }
    }

    pub(crate) fn from_sig(sig: &TcpSig) -> Probe {
        let (win_type, win) = window_parts(sig.win);
        Probe {
            ip_ver: match sig.ver {
                IpVersion::Any => -1,
                IpVersion::V4 => 4,
                IpVersion::V6 => 6,
            },
            ttl: sig.ttl,
            ip_opt_len: sig.ip_opt_len,
            mss: sig.mss.map_or(-1, i32::from),
            win,
            win_type,
            wscale: sig.scale.map_or(-1, i16::from),
            pay_class: sig.pclass.map_or(-1, i8::from),
            eol_pad: sig.eol_pad,
            quirks: sig.quirks.0,
            tot_hdr: 0,
            ts1: 0,
        }
    }
}

fn window_parts(win: WindowSpec) -> (WinType, u16) {
    match win {
        WindowSpec::Any => (WinType::Any, 0),
        WindowSpec::Exact(w) => (WinType::Normal, w),
        WindowSpec::Modulo(n) => (WinType::Mod, n),
        WindowSpec::MssMultiple(n) => (WinType::Mss, n),
        WindowSpec::MtuMultiple(n) => (WinType::Mtu, n),
    }
}

const VER4_ONLY: u32 = Quirks::DF.0 | Quirks::NZ_ID.0 | Quirks::ZERO_ID.0;
const FUZZY_DELETABLE: u32 = Quirks::DF.0 | Quirks::NZ_ID.0;
const FUZZY_ADDABLE: u32 = Quirks::ZERO_ID.0 | Quirks::ECN.0;

/// p0f's tcp_find_match over `candidates` (record indexes in file order, all
/// with the probe's option layout). In dupe mode only an exact match of a
/// specific signature is reported.
pub(crate) fn find_match<I: Iterator<Item = u32>>(
    records: &[TcpRecord],
    labels: &[Label],
    candidates: I,
    probe: &Probe,
    dupe: bool,
    syn_mss: u16,
) -> TcpMatch {
    let (multi, use_mtu) = detect_win_multi(
        probe.win,
        probe.mss,
        probe.win_type == WinType::Normal,
        probe.ts1,
        probe.ip_ver == 6,
        probe.tot_hdr,
        syn_mss,
    );
    let mut fmatch: Option<u32> = None;
    let mut gmatch: Option<u32> = None;

    for idx in candidates {
        let Some(rec) = records.get(idx as usize) else {
            continue;
        };
        let sig = &rec.sig;
        let mut fuzzy = false;

        let mut ref_quirks = sig.quirks.0;
        if sig.ver == IpVersion::Any {
            ref_quirks &= if probe.ip_ver == 4 {
                !Quirks::FLOW.0
            } else {
                !VER4_ONLY
            };
        }
        if ref_quirks != probe.quirks {
            let diff = ref_quirks ^ probe.quirks;
            let deleted = diff & ref_quirks;
            let added = diff & probe.quirks;
            if fmatch.is_some() || deleted & !FUZZY_DELETABLE != 0 || added & !FUZZY_ADDABLE != 0 {
                continue;
            }
            fuzzy = true;
        }

        if sig.eol_pad != probe.eol_pad || sig.ip_opt_len != probe.ip_opt_len {
            continue;
        }

        if sig.bad_ttl {
            if sig.ttl < probe.ttl {
                continue;
            }
        } else if sig.ttl < probe.ttl || sig.ttl - probe.ttl > MAX_DIST {
            fuzzy = true;
        }

        if sig.mss.is_some_and(|m| i32::from(m) != probe.mss) {
            continue;
        }
        if sig.scale.is_some_and(|s| i16::from(s) != probe.wscale) {
            continue;
        }
        if sig.pclass.is_some_and(|p| i8::from(p) != probe.pay_class) {
            continue;
        }

        if probe.win_type != WinType::Normal {
            // Two signatures: the window constraint must be the very same.
            if window_parts(sig.win) != (probe.win_type, probe.win) {
                continue;
            }
        } else {
            let ok = match sig.win {
                WindowSpec::Any => true,
                WindowSpec::Exact(w) => w == probe.win,
                WindowSpec::Modulo(n) => probe.win.checked_rem(n) == Some(0),
                WindowSpec::MssMultiple(n) => !use_mtu && i32::from(n) == i32::from(multi),
                WindowSpec::MtuMultiple(n) => use_mtu && i32::from(n) == i32::from(multi),
            };
            if !ok {
                continue;
            }
        }

        let generic = labels.get(rec.label as usize).is_some_and(|l| l.generic);
        if !fuzzy {
            if !generic {
                return TcpMatch {
                    record: Some(idx),
                    fuzzy: false,
                    dist: sig.ttl.wrapping_sub(probe.ttl),
                };
            }
            gmatch.get_or_insert(idx);
        } else {
            fmatch.get_or_insert(idx);
        }
    }

    if dupe {
        return TcpMatch::default();
    }

    if let Some(g) = gmatch {
        return TcpMatch {
            record: Some(g),
            fuzzy: false,
            dist: records[g as usize].sig.ttl.wrapping_sub(probe.ttl),
        };
    }

    let Some(f) = fmatch else {
        return TcpMatch {
            record: None,
            fuzzy: false,
            dist: guess_dist(probe.ttl),
        };
    };
    let rec = &records[f as usize];
    let user_land = labels
        .get(rec.label as usize)
        .is_some_and(|l| l.class.is_none());
    if user_land {
        // p0f refuses fuzzy matches of tools and leaves the distance at 0.
        return TcpMatch::default();
    }
    let sig = &rec.sig;
    let out_of_range = sig.ttl < probe.ttl || (!sig.bad_ttl && sig.ttl - probe.ttl > MAX_DIST);
    TcpMatch {
        record: Some(f),
        fuzzy: true,
        dist: if out_of_range {
            guess_dist(probe.ttl)
        } else {
            sig.ttl - probe.ttl
        },
    }
}

/// Dupe-mode search used while loading: the line of an earlier specific
/// signature (same direction) that already covers `sig`, if any.
pub(crate) fn covering_line(
    db: &Database,
    index: &TcpIndex,
    response: bool,
    sig: &TcpSig,
) -> Option<u32> {
    let records = if response {
        &db.tcp_response
    } else {
        &db.tcp_request
    };
    let probe = Probe::from_sig(sig);
    let cands = index.bucket(response, &sig.layout).iter().copied();
    find_match(records, &db.labels, cands, &probe, true, 0)
        .record
        .map(|r| records[r as usize].line)
}

impl Database {
    /// Finds the signature p0f would report for a SYN (`response == false`)
    /// or SYN+ACK (`response == true`). `syn_mss` is the MSS of the flow's
    /// SYN when classifying a SYN+ACK, otherwise 0. Does not allocate.
    pub fn match_tcp(&self, response: bool, obs: &TcpObserved, syn_mss: u16) -> TcpMatch {
        let records = if response {
            &self.tcp_response
        } else {
            &self.tcp_request
        };
        let probe = Probe::from_observed(obs);
        if self.tcp_index.covers(self) {
            let cands = self.tcp_index.bucket(response, &obs.layout).iter().copied();
            find_match(records, &self.labels, cands, &probe, false, syn_mss)
        } else {
            // Records were changed by hand after loading: walk them all.
            let cands = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.sig.layout == obs.layout)
                .map(|(i, _)| i as u32);
            find_match(records, &self.labels, cands, &probe, false, syn_mss)
        }
    }

    /// Rebuilds the layout index after the record lists were edited by hand.
    /// (Matching stays correct without it, only slower.)
    pub fn rebuild_index(&mut self) {
        self.tcp_index = TcpIndex::build(self);
    }
}
