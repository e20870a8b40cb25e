//! TCP matcher behaviour on small inline databases.

mod util;

use p0f_sigdb::*;
use util::*;

/// A [tcp:request] database from `label`/`sig` lines.
fn tcp_db(body: &str) -> Database {
    db(&format!("classes = win,unix,other\n[tcp:request]\n{body}"))
}

fn name(db: &Database, m: &TcpMatch) -> Option<String> {
    label_text(db, false, m)
}

#[test]
fn guess_dist_table() {
    assert_eq!(guess_dist(0), 32);
    assert_eq!(guess_dist(32), 0);
    assert_eq!(guess_dist(33), 31);
    assert_eq!(guess_dist(64), 0);
    assert_eq!(guess_dist(100), 28);
    assert_eq!(guess_dist(128), 0);
    assert_eq!(guess_dist(129), 126);
    assert_eq!(guess_dist(255), 0);
}

#[test]
fn exact_specific_wins_immediately() {
    let d = tcp_db(
        "label = g:unix:Gen:\nsig = *:64:0:*:*,*:mss,nop:df:*\n\
         label = s:unix:First:\nsig = 4:64:0:1460:8192,2:mss,nop:df:0\n\
         label = s:unix:Second:\nsig = 4:64:0:*:*,*:mss,nop:df:*\n",
    );
    let m = d.match_tcp(false, &obs(4, 60, 1460, 8192, 2, "mss,nop", "df", false), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("First"));
    assert_eq!((m.fuzzy, m.dist), (false, 4));
    // Different MSS: First is skipped, Second (specific) beats the earlier generic.
    let m = d.match_tcp(false, &obs(4, 64, 1400, 8192, 2, "mss,nop", "df", false), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("Second"));
    // Different layout: nothing.
    let m = d.match_tcp(false, &obs(4, 64, 1460, 8192, 2, "mss", "df", false), 0);
    assert_eq!(
        m,
        TcpMatch {
            record: None,
            fuzzy: false,
            dist: 0
        }
    );
}

#[test]
fn generic_used_when_no_specific() {
    let d = tcp_db(
        "label = g:unix:Gen1:\nsig = *:64:0:*:*,*:mss:df:*\n\
         label = g:unix:Gen2:\nsig = *:64:0:*:*,*:mss:df:*\n\
         label = s:unix:Spec:\nsig = *:64:0:*:*,*:mss:df,ecn:*\n",
    );
    let m = d.match_tcp(false, &obs(4, 50, 1460, 100, 0, "mss", "df", true), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("Gen1"));
    assert_eq!((m.fuzzy, m.dist), (false, 14));
}

#[test]
fn fuzzy_by_quirk_removal_and_addition() {
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:0:*:*,*:mss:df,id+:*\n");
    for q in ["", "df", "id+", "ecn", "id-", "df,id+,ecn", "df,id-"] {
        let m = d.match_tcp(false, &obs(4, 60, 1460, 100, 0, "mss", q, false), 0);
        assert_eq!(name(&d, &m).as_deref(), Some("A"), "quirks {q:?}");
        assert!(m.fuzzy, "quirks {q:?}");
        assert_eq!(m.dist, 4);
    }
    // Anything else added is not tolerated.
    for q in ["df,id+,seq-", "df,id+,flow", "df,id+,0+"] {
        let m = d.match_tcp(false, &obs(4, 60, 1460, 100, 0, "mss", q, false), 0);
        assert_eq!(m.record, None, "quirks {q:?}");
        assert_eq!(m.dist, guess_dist(60));
    }
    // Removing something other than df/id+ is not tolerated either.
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:0:*:*,*:mss:df,ecn:*\n");
    let m = d.match_tcp(false, &obs(4, 60, 1460, 100, 0, "mss", "df", false), 0);
    assert_eq!(m.record, None);
}

#[test]
fn after_a_fuzzy_candidate_only_same_quirk_candidates_count() {
    let d = tcp_db(
        "label = s:unix:Fuzzy:\nsig = 4:64:0:*:*,*:mss:df:*\n\
         label = s:unix:OtherFuzzy:\nsig = 4:64:0:*:*,*:mss:id+:*\n\
         label = s:unix:Exact:\nsig = 4:64:0:*:*,*:mss::*\n",
    );
    let m = d.match_tcp(false, &obs(4, 64, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("Exact"));
    assert!(!m.fuzzy);
    let m = d.match_tcp(false, &obs(4, 64, 1460, 100, 0, "mss", "ecn", false), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("Fuzzy"));
    assert!(m.fuzzy);
}

#[test]
fn ttl_fuzziness() {
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:0:*:*,*:mss::*\n");
    let check = |ttl: u8, fuzzy: bool, dist: u8| {
        let m = d.match_tcp(false, &obs(4, ttl, 1460, 100, 0, "mss", "", false), 0);
        assert_eq!(name(&d, &m).as_deref(), Some("A"), "ttl {ttl}");
        assert_eq!((m.fuzzy, m.dist), (fuzzy, dist), "ttl {ttl}");
    };
    check(64, false, 0);
    check(29, false, 35);
    check(28, true, guess_dist(28)); // 36 hops away: too far
    check(70, true, guess_dist(70)); // above the initial TTL
}

#[test]
fn random_ttl_signatures() {
    let d = tcp_db("label = s:unix:A:\nsig = 4:64-:0:*:*,*:mss::*\n");
    let m = d.match_tcp(false, &obs(4, 10, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!((m.record.is_some(), m.fuzzy, m.dist), (true, false, 54));
    assert!(d.tcp_request[0].sig.bad_ttl);
    // Above the maximum: skipped outright, never fuzzy.
    let m = d.match_tcp(false, &obs(4, 65, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!(
        m,
        TcpMatch {
            record: None,
            fuzzy: false,
            dist: guess_dist(65)
        }
    );
    // Fuzzy by quirks, far away: the distance stays the signature's.
    let d = tcp_db("label = s:unix:A:\nsig = 4:64-:0:*:*,*:mss:df:*\n");
    let m = d.match_tcp(false, &obs(4, 10, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!((m.record.is_some(), m.fuzzy, m.dist), (true, true, 54));
}

#[test]
fn user_land_fuzzy_is_no_match_with_zero_distance() {
    let d = tcp_db("label = s:!:Tool:\nsys = @unix\nsig = *:64:0:*:*,*:mss:df:*\n");
    let m = d.match_tcp(false, &obs(4, 50, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!(
        m,
        TcpMatch {
            record: None,
            fuzzy: false,
            dist: 0
        }
    );
    // Exact: reported.
    let m = d.match_tcp(false, &obs(4, 50, 1460, 100, 0, "mss", "df", false), 0);
    assert_eq!((m.record, m.fuzzy, m.dist), (Some(0), false, 14));
    // A generic exact match is preferred over the fuzzy tool.
    let d = tcp_db(
        "label = s:!:Tool:\nsys = @unix\nsig = 4:64:0:*:*,*:mss:df:*\n\
         label = g:unix:Gen:\nsig = 4:64:0:*:*,*:mss::*\n",
    );
    let m = d.match_tcp(false, &obs(4, 50, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!(name(&d, &m).as_deref(), Some("Gen"));
}

#[test]
fn generic_fuzzy_is_possible() {
    let d = tcp_db("label = g:unix:Gen:\nsig = *:64:0:*:*,*:mss:df:*\n");
    let m = d.match_tcp(false, &obs(4, 64, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!((m.record, m.fuzzy), (Some(0), true));
}

#[test]
fn any_version_drops_version_specific_quirks() {
    let d = tcp_db("label = s:unix:A:\nsig = *:64:0:*:*,*:mss:df,id+:*\n");
    // IPv6 packets cannot carry df/id+, so the signature matches exactly.
    let m = d.match_tcp(false, &obs(6, 64, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!((m.record, m.fuzzy), (Some(0), false));
    // But an IPv6 flow label is an added quirk that is not tolerated.
    let m = d.match_tcp(false, &obs(6, 64, 1460, 100, 0, "mss", "flow", false), 0);
    assert_eq!(m.record, None);
    let d = tcp_db("label = s:unix:A:\nsig = *:64:0:*:*,*:mss:flow:*\n");
    let m = d.match_tcp(false, &obs(4, 64, 1460, 100, 0, "mss", "", false), 0);
    assert_eq!((m.record, m.fuzzy), (Some(0), false));
    // A fixed-version signature keeps its quirks (and its version is not checked).
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:0:*:*,*:mss:df:*\n");
    let m = d.match_tcp(false, &obs(6, 64, 1460, 100, 0, "mss", "df", false), 0);
    assert_eq!((m.record, m.fuzzy), (Some(0), false));
}

#[test]
fn fixed_fields_and_wildcards() {
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:4:1460:100,3:mss,eol+2::0\n");
    let base = || {
        let mut o = obs(4, 64, 1460, 100, 3, "mss,eol+2", "", false);
        o.ip_opt_len = 4;
        o
    };
    assert_eq!(d.match_tcp(false, &base(), 0).record, Some(0));
    let mut o = base();
    o.ip_opt_len = 0;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    let mut o = base();
    o.eol_pad = 1;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    let mut o = base();
    o.mss = 1400;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    let mut o = base();
    o.wscale = 4;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    let mut o = base();
    o.has_payload = true;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    let mut o = base();
    o.win = 101;
    assert_eq!(d.match_tcp(false, &o, 0).record, None);
    // Wildcards accept anything.
    let d = tcp_db("label = s:unix:A:\nsig = 4:64:4:*:*,*:mss,eol+2::*\n");
    let mut o = base();
    o.mss = 1;
    o.wscale = 14;
    o.has_payload = true;
    o.win = 7;
    assert_eq!(d.match_tcp(false, &o, 0).record, Some(0));
}

#[test]
fn window_kinds() {
    let d = tcp_db(
        "label = s:unix:Mod:\nsig = 4:64:0:*:%7,0:mss::0\n\
         label = s:unix:Mss:\nsig = 4:64:0:*:mss*4,0:mss::0\n\
         label = s:unix:Mtu:\nsig = 4:64:0:*:mtu*4,0:mss::0\n",
    );
    let win = |w: u16, mss: u16| {
        let m = d.match_tcp(false, &obs(4, 64, mss, w, 0, "mss", "", false), 0);
        name(&d, &m)
    };
    assert_eq!(win(7000, 1460).as_deref(), Some("Mod"));
    assert_eq!(win(5840, 1460).as_deref(), Some("Mss"));
    assert_eq!(win(6000, 1460).as_deref(), Some("Mtu")); // 4 * (1460 + 40)
    assert_eq!(win(4 * 1300, 1300).as_deref(), Some("Mss"));
    assert_eq!(win(4 * 1340, 1300).as_deref(), Some("Mtu"));
    assert_eq!(win(5841, 1460), None);
    // MSS below 100: no multiplier at all.
    assert_eq!(win(4 * 99, 99), None);
}

#[test]
fn response_side_uses_peer_mss() {
    let d =
        db("classes = unix\n[tcp:response]\nlabel = s:unix:A:\nsig = *:64:0:*:mss*3,0:mss::0\n");
    // 3 * 1001 is not a multiple of this packet's 1200 MSS, but of the SYN's.
    let o = obs(4, 64, 1200, 3003, 0, "mss", "", false);
    assert_eq!(d.match_tcp(true, &o, 0).record, None);
    assert_eq!(d.match_tcp(true, &o, 1001).record, Some(0));
    assert_eq!(d.match_tcp(false, &o, 1001).record, None, "wrong direction");
}

#[test]
fn window_classification() {
    let o = |ver: u8, mss: u16, win: u16, ts: bool| {
        let mut o = obs(ver, 64, mss, win, 0, "mss", "", false);
        o.tot_hdr = 60;
        o.ts1 = u32::from(ts);
        o
    };
    assert_eq!(classify_window(&o(4, 1460, 0, false), 0), None);
    assert_eq!(win_multi(&o(4, 1460, 0, false), 0), (-1, false));
    assert_eq!(
        classify_window(&o(4, 1460, 14600, false), 0),
        Some((WindowKind::Mss, 10))
    );
    // MSS - 12 only with a timestamp.
    assert_eq!(
        classify_window(&o(4, 1000, 9880, true), 0),
        Some((WindowKind::Mss, 10))
    );
    assert_eq!(classify_window(&o(4, 1000, 9880, false), 0), None);
    // Fixed 1460 / 1448, IPv6-only 1440 / 1428.
    assert_eq!(
        classify_window(&o(4, 1000, 2920, false), 0),
        Some((WindowKind::Mss, 2))
    );
    assert_eq!(
        classify_window(&o(4, 1000, 2896, false), 0),
        Some((WindowKind::Mss, 2))
    );
    assert_eq!(
        classify_window(&o(6, 1000, 14400, false), 0),
        Some((WindowKind::Mss, 10))
    );
    assert_eq!(classify_window(&o(4, 1000, 14400, false), 0), None);
    // MTU forms: mss+40, mss+tot_hdr, IPv6 mss+60, 1500.
    assert_eq!(
        classify_window(&o(4, 1000, 2080, false), 0),
        Some((WindowKind::Mtu, 2))
    );
    assert_eq!(
        classify_window(&o(4, 1001, 1061 * 3, false), 0),
        Some((WindowKind::Mtu, 3))
    );
    assert_eq!(
        classify_window(&o(4, 1001, 3000, false), 0),
        Some((WindowKind::Mtu, 2))
    );
    // Peer MSS, then peer MSS - 12.
    assert_eq!(
        classify_window(&o(4, 1000, 7 * 523, false), 523),
        Some((WindowKind::Mss, 7))
    );
    assert_eq!(
        classify_window(&o(4, 1000, 7 * 511, false), 523),
        Some((WindowKind::Mss, 7))
    );
}

#[test]
fn window_classification_keeps_p0f_integer_quirks() {
    let o = |win: u16| {
        let mut o = obs(4, 64, 999, win, 0, "mss", "", false);
        o.tot_hdr = 60;
        o
    };
    // Peer MSS 7: divisor 7 - 12 = -5 gives a negative multiplier.
    assert_eq!(win_multi(&o(40000), 7), (-8000, false));
    assert_eq!(classify_window(&o(40000), 7), None);
    // Peer MSS 12: both peer divisors are zero or miss.
    assert_eq!(win_multi(&o(40001), 12), (-1, false));
    // Peer MSS 11: divisor -1; -40001 wraps to 25535 in 16 bits.
    assert_eq!(win_multi(&o(40001), 11), (25535, false));
    assert_eq!(
        classify_window(&o(40001), 11),
        Some((WindowKind::Mss, 25535))
    );
    // Peer MSS 1: 40001 does not fit a positive i16.
    assert_eq!(win_multi(&o(40001), 1), (40001u16 as i16, false));
    assert_eq!(classify_window(&o(40001), 1), None);
    // The wrapped value is compared with signatures as is (p0f does the same).
    let d =
        db("classes = unix\n[tcp:response]\nlabel = s:unix:A:\nsig = *:64:0:*:mss*536,0:mss::0\n");
    assert_eq!(win_multi(&o(65000), 11), (536, false));
    assert_eq!(d.match_tcp(true, &o(65000), 11).record, Some(0));
}

#[test]
fn hand_edited_database_still_matches() {
    let mut d = tcp_db("label = s:unix:A:\nsig = 4:64:0:*:*,*:mss::*\n");
    let mut rec = d.tcp_request[0].clone();
    rec.sig.layout = layout("nop").0;
    d.tcp_request.push(rec);
    let o = obs(4, 64, 1460, 100, 0, "nop", "", false);
    assert_eq!(d.match_tcp(false, &o, 0).record, Some(1));
    d.rebuild_index();
    assert_eq!(d.match_tcp(false, &o, 0).record, Some(1));
    // A database built from scratch has no index at all and still works.
    let fresh = Database {
        labels: d.labels.clone(),
        names: d.names.clone(),
        tcp_request: d.tcp_request.clone(),
        ..Default::default()
    };
    assert_eq!(fresh.match_tcp(false, &o, 0).record, Some(1));
}
