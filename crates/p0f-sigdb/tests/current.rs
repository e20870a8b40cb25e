//! p0f-rs's own database (`data/p0f-rs.fp`): it loads, its labels fit the
//! v3 API, every entry names its sources, and the stack facts it was
//! written for give the verdicts it promises.

mod util;

use p0f_sigdb::*;
use util::{label_text, obs};

fn current() -> Database {
    Database::try_current().unwrap_or_else(|e| panic!("{e}"))
}

fn text() -> &'static str {
    std::str::from_utf8(CURRENT_FP).expect("the database is UTF-8")
}

#[test]
fn loads_and_is_the_default() {
    let db = current();
    assert_eq!(db.classes, ["win", "unix", "other"]);
    assert!(db.tcp_request.len() > 200, "{}", db.tcp_request.len());
    assert!(!db.tcp_response.is_empty());
    assert!(!db.http_request.is_empty() && !db.http_response.is_empty());
    assert_eq!(Database::current().sig_count(), db.sig_count());
    assert_ne!(db.sig_count(), Database::stock_facts().sig_count());
    assert!(!CURRENT_FP.contains(&b'\r'));
}

#[test]
fn labels_fit_the_v3_api_name_fields() {
    // The v3 reply carries os_name[32] and os_flavor[32], NUL-terminated.
    let db = current();
    for l in &db.labels {
        let name = &db.names[l.name as usize];
        assert!(name.len() < 32, "name too long for the API: {name:?}");
        if let Some(f) = &l.flavor {
            assert!(f.len() < 32, "flavor too long for the API: {f:?}");
        }
    }
    for r in &db.mtu {
        assert!(r.link.len() < 32, "link label too long: {:?}", r.link);
    }
}

#[test]
fn every_label_names_its_sources() {
    let lines: Vec<&str> = text().lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with("label") {
            continue;
        }
        let comment: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with(';'))
            .copied()
            .collect();
        assert!(
            comment.iter().any(|c| c.contains("src:")),
            "line {}: '{line}' has no 'src:' comment above it",
            i + 1
        );
    }
}

#[test]
fn no_label_claims_macos_or_ios_alone() {
    // No SYN or SYN+ACK fact we hold separates the two (docs/signatures.md);
    // the stock SYN+ACK entry "Mac OS X 10.x" is the only Apple name kept.
    let db = current();
    for rec in &db.tcp_request {
        let l = &db.labels[rec.label as usize];
        let name = db.names[l.name as usize].as_str();
        assert!(
            !matches!(name, "iOS" | "macOS" | "Mac OS X" | "MacOS X"),
            "SYN label {name} claims one Apple system"
        );
    }
}

/// The label the database gives a SYN in Linux's option layout.
fn linux_layout_syn(db: &Database, mss: u16, win: u16, scale: u8, quirks: &str) -> String {
    let o = obs(4, 64, mss, win, scale, "mss,sok,ts,nop,ws", quirks, false);
    label_text(db, false, &db.match_tcp(false, &o, 0)).unwrap_or_else(|| "???".into())
}

#[test]
fn android_by_scale_leaves_older_kernels_and_loopback_alone() {
    // Scale 8 or 9 names Android whatever the window (a router may have
    // lowered the MSS the window was computed from), but the older kernels'
    // 4 x MSS and 10 x MSS windows keep their names, and a loopback SYN
    // (MSS 65495) of a server with raised buffers stays Linux.
    let db = current();
    assert_eq!(linux_layout_syn(&db, 1400, 43400, 9, "df,id+"), "Android");
    assert_eq!(linux_layout_syn(&db, 1460, 42340, 8, "df"), "Android");
    assert_eq!(linux_layout_syn(&db, 1460, 65535, 8, "df,id+"), "Android");
    assert_eq!(linux_layout_syn(&db, 1460, 14600, 8, "df,id+"), "Linux 3.x");
    assert_eq!(
        linux_layout_syn(&db, 1460, 5840, 9, "df,id+"),
        "Linux 2.4.x-2.6.x"
    );
    assert_eq!(
        linux_layout_syn(&db, 65495, 43690, 9, "df,id+"),
        "Linux (loopback)"
    );
    // Desktop scales stay Linux: 7 (4-6 MB buffers) and 10 (32 MB).
    assert_eq!(
        linux_layout_syn(&db, 1460, 64240, 7, "df,id+"),
        "Linux 4.19 or newer"
    );
    assert_eq!(
        linux_layout_syn(&db, 1460, 64240, 10, "df,id+"),
        "Linux 6.x (32 MB buffers)"
    );
    assert_eq!(linux_layout_syn(&db, 1400, 43400, 7, "df,id+"), "Linux");
}

#[test]
fn a_rebuilt_ip_header_is_only_linux() {
    // TTL 255 with IP ID 0 is a middlebox's header, not a phone's (a
    // quarter of such SYNs in [Z] carry a Linux User-Agent); with a
    // non-zero ID the TTL-fuzzy Android entry still names the phone.
    let db = current();
    let syn = |quirks| {
        let o = obs(4, 255, 1400, 65535, 9, "mss,sok,ts,nop,ws", quirks, false);
        label_text(&db, false, &db.match_tcp(false, &o, 0))
    };
    assert_eq!(syn("df").as_deref(), Some("Linux (IP header rewritten)"));
    assert_eq!(syn("df,id+").as_deref(), Some("Android"));
}

/// The SYN match for a 65535 window with TTL 64 and MSS 1460.
fn syn_65535(db: &Database, scale: u8, layout: &str, quirks: &str) -> TcpMatch {
    let o = obs(4, 64, 1460, 65535, scale, layout, quirks, false);
    db.match_tcp(false, &o, 0)
}

#[test]
fn freebsd_syns_with_and_without_an_ip_id() {
    // FreeBSD's default SYN; with ip_rfc6864 (ID 0) it names no version.
    let db = current();
    let syn = |scale, quirks| {
        label_text(
            &db,
            false,
            &syn_65535(&db, scale, "mss,nop,ws,sok,ts", quirks),
        )
    };
    assert_eq!(syn(6, "df,id+").as_deref(), Some("FreeBSD 9.x or newer"));
    assert_eq!(syn(6, "df").as_deref(), Some("FreeBSD"));
    // Other scales in this layout come from every family in [Z].
    assert_eq!(syn(12, "df"), None);
}

#[test]
fn apple_syns_without_timestamps_at_both_scales() {
    // FreeBSD's SYN only takes this shape with timestamps switched off, so
    // the SYN is Apple's at scale 6 too (its SYN+ACK is not: see below).
    let db = current();
    for scale in [5, 6] {
        let m = syn_65535(&db, scale, "mss,nop,ws,sok,eol+1", "df");
        assert!(!m.fuzzy, "scale {scale}: {m:?}");
        assert_eq!(label_text(&db, false, &m).as_deref(), Some("macOS or iOS"));
    }
}

/// The label the database gives a SYN+ACK with a 65535 window and DF.
fn synack_65535(db: &Database, ttl: u8, scale: u8, layout: &str, quirks: &str) -> String {
    let o = obs(4, ttl, 1460, 65535, scale, layout, quirks, false);
    label_text(db, true, &db.match_tcp(true, &o, 1460)).unwrap_or_else(|| "???".into())
}

#[test]
fn server_answers_of_windows_apple_and_freebsd() {
    // Each family answers in its own SYN's layout; Windows 10+ with 65535
    // where 7 and 8 answered 8192, FreeBSD with IP ID 0 (ip_rfc6864).
    let db = current();
    let win_layout = "mss,nop,ws,nop,nop,sok";
    let apple = "mss,nop,ws,nop,nop,ts,sok,eol+1";
    assert_eq!(
        synack_65535(&db, 128, 8, win_layout, "df,id+"),
        "Windows 10, 11 or Server 2016+"
    );
    assert_eq!(synack_65535(&db, 64, 5, apple, "df"), "macOS or iOS");
    assert_eq!(
        synack_65535(&db, 64, 6, "mss,nop,ws,sok,ts", "df"),
        "FreeBSD"
    );
    assert_eq!(
        synack_65535(&db, 64, 9, "mss,nop,ws,sok,ts", "df"),
        "FreeBSD"
    );
    // Without timestamps, scale 6 is both FreeBSD's default answer and
    // macOS's: no new entry claims it; only stock's FreeBSD 9.x form (id+)
    // names it, as a fuzzy match, which p0f 3.09b's facts do as well.
    let o = obs(4, 64, 1460, 65535, 6, "mss,nop,ws,sok,eol+1", "df", false);
    let m = db.match_tcp(true, &o, 1460);
    assert!(m.fuzzy, "{m:?}");
    assert_eq!(label_text(&db, true, &m).as_deref(), Some("FreeBSD 9.x"));
    assert_eq!(
        synack_65535(&db, 64, 5, "mss,nop,ws,sok,eol+1", "df"),
        "macOS or iOS"
    );
}
