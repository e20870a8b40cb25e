//! The stock database, the built-in copy, and real signatures matched
//! against them (results observed with the real p0f 3.09b binary).

mod util;

use p0f_sigdb::*;
use util::*;

fn check_counts(db: &Database) {
    assert_eq!(db.sig_count(), 322);
    assert_eq!(db.mtu.len(), 25);
    assert_eq!(db.tcp_request.len(), 91);
    assert_eq!(db.tcp_response.len(), 101);
    assert_eq!(db.http_request.len(), 85);
    assert_eq!(db.http_response.len(), 20);
    assert_eq!(db.classes, ["win", "unix", "other"]);
    assert_eq!(db.labels.len(), 129, "non-mtu labels");
    for (i, l) in db.labels.iter().enumerate() {
        assert_eq!(l.label_id as usize, i + 1, "p0f numbers labels from 1");
    }
    let ua: Vec<(&str, &str)> = db
        .ua_os
        .iter()
        .map(|u| (db.names[u.name as usize].as_str(), u.needle.as_str()))
        .collect();
    assert_eq!(
        ua,
        [
            ("Linux", "Linux"),
            ("Windows", "Windows"),
            ("iOS", "iPad"),
            ("iOS", "iPhone"),
            ("Mac OS X", "Mac OS X"),
            ("FreeBSD", "FreeBSD"),
            ("OpenBSD", "OpenBSD"),
            ("NetBSD", "NetBSD"),
            ("Solaris", "SunOS"),
        ]
    );
}

#[test]
fn stock_loads_with_expected_counts() {
    let Some(db) = stock() else { return };
    check_counts(&db);
}

#[test]
fn builtin_has_the_stock_facts() {
    let b = Database::builtin();
    check_counts(&b);
    let Some(s) = stock() else { return };
    assert_eq!(b.classes, s.classes);
    assert_eq!(b.names, s.names);
    assert_eq!(b.labels, s.labels);
    assert_eq!(b.ua_os, s.ua_os);
    let mtu = |db: &Database| -> Vec<(u16, String)> {
        db.mtu.iter().map(|r| (r.mtu, r.link.clone())).collect()
    };
    assert_eq!(mtu(&b), mtu(&s));
    let tcp =
        |v: &[TcpRecord]| -> Vec<(TcpSig, u32)> { v.iter().map(|r| (r.sig, r.label)).collect() };
    assert_eq!(tcp(&b.tcp_request), tcp(&s.tcp_request));
    assert_eq!(tcp(&b.tcp_response), tcp(&s.tcp_response));
    let http = |v: &[HttpRecord]| -> Vec<(HttpSig, u32)> {
        v.iter().map(|r| (r.sig.clone(), r.label)).collect()
    };
    assert_eq!(http(&b.http_request), http(&s.http_request));
    assert_eq!(http(&b.http_response), http(&s.http_response));
}

#[test]
fn builtin_text_has_no_crlf_and_loads_via_try_stock_facts() {
    assert!(!BUILTIN_FP.contains(&b'\r'));
    let db = Database::try_stock_facts().expect("built-in parses");
    assert_eq!(db.sig_count(), 322);
}

#[test]
fn mtu_links() {
    let db = Database::builtin();
    assert_eq!(db.mtu_link(1500), Some("Ethernet or modem"));
    assert_eq!(db.mtu_link(1492), Some("DSL"));
    assert_eq!(db.mtu_link(16436), Some("loopback"));
    assert_eq!(db.mtu_link(65535), None);
    assert_eq!(db.mtu_link(0), None);
}

fn syn(db: &Database, o: &TcpObserved) -> (Option<String>, TcpMatch) {
    let m = db.match_tcp(false, o, 0);
    (label_text(db, false, &m), m)
}

fn is_generic(db: &Database, response: bool, m: &TcpMatch) -> bool {
    let list = if response {
        &db.tcp_response
    } else {
        &db.tcp_request
    };
    db.labels[list[m.record.unwrap() as usize].label as usize].generic
}

#[test]
fn modern_linux_is_generic_linux() {
    let db = Database::builtin();
    // 4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
    let o = obs(
        4,
        64,
        1460,
        1460 * 44,
        7,
        "mss,sok,ts,nop,ws",
        "df,id+",
        false,
    );
    assert_eq!(classify_window(&o, 0), Some((WindowKind::Mss, 44)));
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Linux 2.2.x-3.x"));
    assert!(!m.fuzzy);
    assert_eq!(m.dist, 0);
    assert!(is_generic(&db, false, &m));
}

#[test]
fn linux_311_at_distance_7() {
    let db = Database::builtin();
    // 4:57+7:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0
    let o = obs(
        4,
        57,
        1460,
        1460 * 20,
        7,
        "mss,sok,ts,nop,ws",
        "df,id+",
        false,
    );
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Linux 3.11 and newer"));
    assert!(!m.fuzzy);
    assert_eq!(m.dist, 7);
    assert!(!is_generic(&db, false, &m));
}

#[test]
fn far_ttl_is_fuzzy_with_guessed_distance() {
    let db = Database::builtin();
    let o = obs(
        4,
        200,
        1460,
        1460 * 20,
        7,
        "mss,sok,ts,nop,ws",
        "df,id+",
        false,
    );
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Linux 3.11 and newer"));
    assert!(m.fuzzy);
    assert_eq!(m.dist, 55);
}

#[test]
fn missing_df_is_fuzzy() {
    let db = Database::builtin();
    let o = obs(4, 57, 1460, 1460 * 20, 7, "mss,sok,ts,nop,ws", "", false);
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Linux 3.11 and newer"));
    assert!(m.fuzzy);
    assert_eq!(m.dist, 7);
}

#[test]
fn nmap_syn_scan_random_ttl() {
    let db = Database::builtin();
    let o = obs(4, 50, 1460, 1024, 0, "mss", "", false);
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("NMap SYN scan"));
    assert!(!m.fuzzy);
    assert_eq!(m.dist, 14);
    let rec = &db.tcp_request[m.record.unwrap() as usize];
    assert!(rec.sig.bad_ttl);
    assert_eq!(db.labels[rec.label as usize].class, None);
}

#[test]
fn fuzzy_nmap_is_no_match_with_distance_zero() {
    let db = Database::builtin();
    // An NMap OS-detection probe with an extra 'ecn' quirk only matches the
    // NMap signature fuzzily, and p0f then reports nothing with a distance of
    // 0 (not the guess of 14).
    let o = obs(4, 50, 265, 512, 0, "mss,sok,ts", "ack+,ecn", false);
    let m = db.match_tcp(false, &o, 0);
    assert_eq!(
        m,
        TcpMatch {
            record: None,
            fuzzy: false,
            dist: 0
        }
    );
    // Without the extra quirk it is an exact (random-TTL) match.
    let o = obs(4, 50, 265, 512, 0, "mss,sok,ts", "ack+", false);
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("NMap OS detection"));
    assert_eq!((m.fuzzy, m.dist), (false, 14));
}

#[test]
fn windows_10_is_generic_windows() {
    let db = Database::builtin();
    let o = obs(
        4,
        128,
        1460,
        1460 * 44,
        8,
        "mss,nop,ws,nop,nop,sok",
        "df,id+",
        false,
    );
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Windows NT kernel"));
    assert!(!m.fuzzy && is_generic(&db, false, &m));
}

#[test]
fn macos_is_generic_mac() {
    let db = Database::builtin();
    let o = obs(
        4,
        64,
        1460,
        65535,
        6,
        "mss,nop,ws,nop,nop,ts,sok,eol+1",
        "df,id+",
        false,
    );
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Mac OS X"));
    assert!(!m.fuzzy && is_generic(&db, false, &m));
}

#[test]
fn loopback_capture() {
    let db = Database::builtin();
    // SYN: 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0
    let o = obs(
        4,
        64,
        65495,
        65495,
        10,
        "mss,sok,ts,nop,ws",
        "df,id+",
        false,
    );
    assert_eq!(classify_window(&o, 0), Some((WindowKind::Mss, 1)));
    let (name, m) = syn(&db, &o);
    assert_eq!(name.as_deref(), Some("Linux 2.2.x-3.x"));
    assert!(!m.fuzzy && is_generic(&db, false, &m));
    assert_eq!(m.dist, 0);
    // SYN+ACK: 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0 -> ???
    let o = obs(4, 64, 65495, 65495, 10, "mss,sok,ts,nop,ws", "df", false);
    let m = db.match_tcp(true, &o, 65495);
    assert_eq!(m.record, None);
    assert_eq!(m.dist, 0);
    // IPv6 SYN: 6:64+0:0:65476:mss*1,10:mss,sok,ts,nop,ws:flow:0 -> ???
    let o = obs(6, 64, 65476, 65476, 10, "mss,sok,ts,nop,ws", "flow", false);
    let m = db.match_tcp(false, &o, 0);
    assert_eq!(m.record, None);
    assert_eq!(m.dist, 0);
}

#[test]
fn builtin_and_stock_match_alike() {
    let Some(s) = stock() else { return };
    let b = Database::builtin();
    for ttl in [1u8, 30, 57, 64, 100, 128, 200, 255] {
        for (opts, q) in [
            ("mss,sok,ts,nop,ws", "df,id+"),
            ("mss,nop,ws,nop,nop,sok", "df,id+"),
            ("mss", ""),
            ("mss,nop,nop,sok", "df,id+"),
        ] {
            for win in [1024u16, 8192, 65535, 29200, 14600, 5840] {
                let o = obs(4, ttl, 1460, win, 7, opts, q, false);
                for resp in [false, true] {
                    assert_eq!(b.match_tcp(resp, &o, 1460), s.match_tcp(resp, &o, 1460));
                }
            }
        }
    }
}
