//! Rejected databases: each error names the right line and the problem.

mod util;

use p0f_sigdb::*;
use util::*;

/// Expects `text` to fail at `line` with a message containing `needle`.
fn fails(text: &str, line: u32, needle: &str) {
    let e = db_err(text);
    assert_eq!(e.line, Some(line), "wrong line for {text:?}: {e}");
    assert!(
        e.message.contains(needle),
        "message {:?} lacks {needle:?}",
        e.message
    );
    assert!(
        e.to_string().starts_with(&format!("test.fp:{line}: ")),
        "{e}"
    );
}

const TCP: &str = "classes = win,unix,other\n[tcp:request]\nlabel = s:unix:Linux:x\n";
const HTTP: &str = "classes = win,unix,other\n[http:request]\nlabel = s:unix:Linux:x\n";

/// A TCP signature value that must fail on line 4.
fn bad_tcp(sig: &str, needle: &str) {
    fails(&format!("{TCP}sig = {sig}\n"), 4, needle);
}

fn good_tcp(sig: &str) -> TcpSig {
    db(&format!("{TCP}sig = {sig}\n")).tcp_request[0].sig
}

fn bad_http(sig: &str, needle: &str) {
    fails(&format!("{HTTP}sig = {sig}\n"), 4, needle);
}

fn good_http(sig: &str) -> HttpSig {
    db(&format!("{HTTP}sig = {sig}\n")).http_request[0]
        .sig
        .clone()
}

#[test]
fn empty_databases() {
    for text in [
        "",
        "\n\n",
        "; only a comment\n",
        "classes = a\n[mtu]\nlabel = x\n",
    ] {
        let e = db_err(text);
        assert_eq!(e.line, None);
        assert_eq!(e.message, "no signatures found");
        assert_eq!(e.to_string(), "test.fp: no signatures found");
    }
}

#[test]
fn lexical_rules() {
    // Leading blanks and comments are fine, NUL ends the text.
    let d = db("  \t; c\n\t[mtu]\n  label = L\n\tsig = 1500\n");
    assert_eq!(d.mtu_link(1500), Some("L"));
    let d = Database::parse(b"[mtu]\nlabel = L\nsig = 1500\n\0garbage\n", "x").unwrap();
    assert_eq!(d.sig_count(), 1);
    // Trailing blanks are not trimmed.
    fails("[mtu]\nlabel = L\nsig = 1500 \n", 3, "malformed MTU value");
    // CRLF fails, and the message says why.
    let e = db_err("[mtu]\r\nlabel = L\r\nsig = 1500\r\n");
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("carriage return"), "{e}");
    let e = db_err(&format!("{TCP}sig = 4:64:0:*:*,*:mss::0\r\n").replace("x\n", "x\r\n"));
    assert_eq!(e.line, Some(4));
    assert!(e.message.contains("payload class"), "{e}");
    assert!(e.message.contains("carriage return"), "{e}");
    // Missing '=', bad key characters, unknown keys.
    fails("[mtu]\nlabel L\n", 2, "key = value");
    fails("[mtu]\n= L\n", 2, "key = value");
    fails("[mtu]\nlab-el = L\n", 2, "key = value");
    fails("[mtu]\nname = L\n", 2, "unknown field 'name'");
    fails("[mtu]\nLabel = L\n", 2, "unknown field");
}

#[test]
fn sections_and_state() {
    fails("[mtu ]\n", 1, "malformed section header");
    fails("[tcp:request] \n", 1, "unknown direction");
    fails("[tcp:req]\n", 1, "unknown direction");
    fails("[udp:request]\n", 1, "unknown module 'udp'");
    fails("[TCP:request]\n", 1, "unknown module");
    fails(
        "classes = a\n[mtu]\nclasses = b\n",
        3,
        "before the first section",
    );
    fails("label = s:unix:A:\n", 1, "before any section");
    fails("sig = 1500\n", 1, "before any section");
    fails("[mtu]\nsig = 1500\n", 2, "without a 'label'");
    fails("[mtu]\nsys = A\n", 2, "'sys'");
    fails(&format!("{TCP}sys = A\n"), 4, "'sys'");
    fails(
        "classes = unix\n[tcp:request]\nlabel = s:!:T:\nlabel = s:unix:A:\n",
        4,
        "'sys'",
    );
    fails(
        "classes = unix\n[tcp:request]\nlabel = s:!:T:\nsig = 4:64:0:*:*,*:mss::0\n",
        4,
        "'sys'",
    );
    // ua_os only right after [http:request].
    fails("[tcp:request]\nua_os = Linux\n", 2, "ua_os");
    fails("[http:response]\nua_os = Linux\n", 2, "ua_os");
    fails(&format!("{HTTP}ua_os = Linux\n"), 4, "ua_os");
}

#[test]
fn classes_and_labels() {
    fails("classes = win,\n", 1, "malformed class list");
    fails("classes = win ,unix\n", 1, "malformed class list");
    fails("classes = w-in\n", 1, "malformed class list");
    fails("[mtu]\nlabel =\n", 2, "empty link name");
    fails("[mtu]\nlabel =   \n", 2, "empty link name");
    let pre = "classes = win,unix\n[tcp:request]\n";
    fails(&format!("{pre}label = x:unix:A:\n"), 3, "'s:'");
    fails(&format!("{pre}label = s-unix:A:\n"), 3, "'s:'");
    fails(&format!("{pre}label =\n"), 3, "'s:'");
    fails(&format!("{pre}label = s::A:\n"), 3, "malformed class");
    fails(&format!("{pre}label = s:unix\n"), 3, "malformed class");
    fails(
        &format!("{pre}label = s:bsd:A:\n"),
        3,
        "unknown class 'bsd'",
    );
    fails(&format!("{pre}label = s:!x:A:\n"), 3, "unknown class '!x'");
    fails(&format!("{pre}label = s:unix::x\n"), 3, "malformed name");
    fails(&format!("{pre}label = s:unix:A#B:x\n"), 3, "malformed name");
    fails(&format!("{pre}label = s:unix:AB\n"), 3, "malformed name");
    // sys entries.
    let app = "classes = win,unix\n[tcp:request]\nlabel = s:!:Tool:\n";
    fails(&format!("{app}sys = @bsd\n"), 4, "unknown class '@bsd'");
    fails(&format!("{app}sys = Linux,\n"), 4, "malformed sys entry");
    fails(&format!("{app}sys = Li#nux\n"), 4, "malformed sys entry");
    fails(&format!("{app}sys = @\n"), 4, "malformed sys entry");
}

#[test]
fn label_details() {
    let d = db("classes = Win,unix\n[tcp:request]\n\
                label = s:WIN:Windows:XP \n\
                sig = 4:128:0:*:*,*:mss::0\n\
                label = g:unix:WINDOWS:\n\
                sig = 4:64:0:*:*,*:mss::0\n\
                label = s:!:Some (tool) v1.0/x_y-z?!:\n\
                sys = windows, @UNIX,New OS \n\
                sig = 4:32:0:*:*,*:mss::0\n");
    assert_eq!(d.names, ["Windows", "Some (tool) v1.0/x_y-z?!", "New OS "]);
    let l = &d.labels;
    assert_eq!((l[0].generic, l[0].class, l[0].name), (false, Some(0), 0));
    assert_eq!(l[0].flavor.as_deref(), Some("XP "));
    assert_eq!(
        (l[1].generic, l[1].class, l[1].name, l[1].flavor.clone()),
        (true, Some(1), 0, None)
    );
    assert_eq!(
        (l[2].class, l[2].label_id),
        (None, 3),
        "p0f numbers labels from 1"
    );
    assert_eq!(
        l[2].sys,
        [SysEntry::Name(0), SysEntry::Class(1), SysEntry::Name(2)]
    );
    assert!(l[0].sys.is_empty());
    // label_id counts labels without signatures too, but not [mtu] labels.
    let d = db(
        "classes = unix\n[mtu]\nlabel = L\nsig = 1500\n[tcp:request]\n\
                label = s:unix:A:\nlabel = s:unix:B:\nsig = 4:64:0:*:*,*:mss::0\n",
    );
    assert_eq!(d.tcp_request[0].label, 1);
    assert_eq!(d.labels[1].label_id, 2);
}

#[test]
fn mtu_signatures() {
    fails("[mtu]\nlabel = L\nsig = 0\n", 3, "outside 1..65535");
    fails("[mtu]\nlabel = L\nsig = 65536\n", 3, "outside 1..65535");
    fails("[mtu]\nlabel = L\nsig = 15x\n", 3, "malformed MTU value");
    fails("[mtu]\nlabel = L\nsig = \n", 3, "malformed MTU value");
    fails("[mtu]\nlabel = L\nsig = -5\n", 3, "malformed MTU value");
    let d = db("[mtu]\nlabel = A\nsig = 1500\nlabel = B\nsig = 1500\nsig = 65535\n");
    assert_eq!(d.mtu_link(1500), Some("A"));
    assert_eq!(d.mtu_link(65535), Some("B"));
    assert_eq!(d.mtu[2].line, 6);
}

#[test]
fn tcp_signature_errors() {
    bad_tcp("5:64:0:*:*,*:mss::0", "IP version");
    bad_tcp("4;64:0:*:*,*:mss::0", "after the IP version");
    bad_tcp("4:64x:0:*:*,*:mss::0", "malformed initial TTL");
    bad_tcp("4:300:0:*:*,*:mss::0", "initial TTL 300 is outside 1..255");
    bad_tcp("4:0:0:*:*,*:mss::0", "initial TTL 0 is outside");
    bad_tcp("4::0:*:*,*:mss::0", "initial TTL is missing");
    bad_tcp("4:64+192:0:*:*,*:mss::0", "exceeds 255");
    bad_tcp("4:64+x:0:*:*,*:mss::0", "TTL distance");
    bad_tcp(
        "4:64:256:*:*,*:mss::0",
        "IP option length 256 is outside 0..255",
    );
    bad_tcp("4:64:x:*:*,*:mss::0", "malformed IP option length");
    bad_tcp("4:64:0:65536:*,*:mss::0", "MSS 65536 is outside");
    bad_tcp("4:64:0:**:*,*:mss::0", "malformed MSS");
    bad_tcp("4:64:0:*:x,*:mss::0", "malformed window size 'x'");
    bad_tcp("4:64:0:*:65536,*:mss::0", "window size 65536 is outside");
    bad_tcp(
        "4:64:0:*:%1,*:mss::0",
        "window modulus %1 is outside 2..65535",
    );
    bad_tcp("4:64:0:*:%x,*:mss::0", "malformed window modulus");
    bad_tcp("4:64:0:*:mss*0,*:mss::0", "multiplier 0 is outside 1..1000");
    bad_tcp("4:64:0:*:mtu*1001,*:mss::0", "multiplier 1001 is outside");
    bad_tcp("4:64:0:*:mss*2x,*:mss::0", "malformed window multiplier");
    bad_tcp("4:64:0:*:*:*:mss::0", "malformed window size");
    bad_tcp("4:64:0:*:*,256:mss::0", "window scale 256 is outside");
    bad_tcp("4:64:0:*:*,x:mss::0", "malformed window scale");
    bad_tcp("4:64:0:*:*,*:foo::0", "unknown TCP option 'foo'");
    bad_tcp("4:64:0:*:*,*:mss,,nop::0", "unknown TCP option");
    bad_tcp("4:64:0:*:*,*:mssx::0", "malformed TCP option list");
    bad_tcp("4:64:0:*:*,*:eol+1,mss::0", "must be the last");
    bad_tcp("4:64:0:*:*,*:eol::0", "eol+N");
    bad_tcp("4:64:0:*:*,*:eol+256::0", "EOL padding 256");
    bad_tcp("4:64:0:*:*,*:eol+1", "ends inside the TCP option list");
    bad_tcp("4:64:0:*:*,*:mss", "ends inside the TCP option list");
    bad_tcp("4:64:0:*:*,*:?256::0", "option kind ?256");
    bad_tcp("4:64:0:*:*,*:?x::0", "malformed option '?x'");
    let many = vec!["nop"; 25].join(",");
    bad_tcp(
        &format!("4:64:0:*:*,*:{many}::0"),
        "more than 24 TCP options",
    );
    bad_tcp("4:64:0:*:*,*:mss:zz:0", "unknown quirk 'zz'");
    bad_tcp("4:64:0:*:*,*:mss:df;id+:0", "malformed quirk list");
    bad_tcp("4:64:0:*:*,*:mss:df", "quirk list");
    for q in ["df", "id+", "id-", "0+"] {
        bad_tcp(&format!("6:64:0:*:*,*:mss:{q}:0"), "IPv6");
    }
    bad_tcp("4:64:0:*:*,*:mss:flow:0", "IPv4");
    bad_tcp("4:64:0:*:*,*:mss::1", "payload class must be 0, + or *");
    bad_tcp("4:64:0:*:*,*:mss::0 ", "payload class");
    bad_tcp("4:64:0:*:*,*:mss::", "payload class");
    bad_tcp("4:64:0:*:*,*:mss::0:", "payload class");
    bad_tcp("4:64-:", "IP option length");
    bad_tcp("", "IP version");
}

#[test]
fn tcp_signature_forms() {
    let s = good_tcp("*:64+7:2:1460:mss*20,10:mss,sok,ts,nop,ws:df,id+:0");
    assert_eq!(s.ver, IpVersion::Any);
    assert_eq!((s.ttl, s.bad_ttl, s.ip_opt_len), (71, false, 2));
    assert_eq!(
        (s.mss, s.win, s.scale),
        (Some(1460), WindowSpec::MssMultiple(20), Some(10))
    );
    assert_eq!(s.layout.as_slice(), [2, 4, 8, 1, 3]);
    assert_eq!(s.quirks, Quirks::DF.union(Quirks::NZ_ID));
    assert_eq!(s.pclass, Some(false));
    let s = good_tcp("6:255:0:*:%8192,*:?30,nop,sack,eol+7:flow,ecn,seq-,ack+,ack-,uptr+,urgf+,pushf+,ts1-,ts2+,opt+,exws,bad:+");
    assert_eq!(
        (s.ver, s.ttl, s.mss, s.scale),
        (IpVersion::V6, 255, None, None)
    );
    assert_eq!(s.win, WindowSpec::Modulo(8192));
    assert_eq!(s.layout.as_slice(), [30, 1, 5, 0]);
    assert_eq!(s.eol_pad, 7);
    assert_eq!(s.quirks.0, 0x1F03_F021);
    assert_eq!(s.pclass, Some(true));
    let s = good_tcp("4:1:0:0:0,0:::*");
    assert!(s.layout.is_empty());
    assert_eq!(
        (s.win, s.pclass, s.quirks),
        (WindowSpec::Exact(0), None, Quirks::empty())
    );
    assert_eq!(
        good_tcp("4:64:0:*:mtu*1000,*:mss::0").win,
        WindowSpec::MtuMultiple(1000)
    );
    assert_eq!(good_tcp("4:64:0:*:*,*:mss::0").win, WindowSpec::Any);
    let many = vec!["nop"; 24].join(",");
    assert_eq!(
        good_tcp(&format!("4:64:0:*:*,*:{many}::0")).layout.len(),
        24
    );
    // '?' with no digits is kind 0, like p0f.
    assert_eq!(good_tcp("4:64:0:*:*,*:?,mss::0").layout.as_slice(), [0, 2]);
    // Trailing commas in the option and quirk lists are tolerated by p0f.
    let s = good_tcp("4:64:0:*:*,*:mss,:df,:0");
    assert_eq!((s.layout.as_slice(), s.quirks), (&[2u8][..], Quirks::DF));
}

#[test]
fn tcp_ttl_parser_quirks() {
    // "N-:" skips the first character of the option length (p0f does too).
    let s = good_tcp("*:64-:0:1460:1024,0:mss::0");
    assert_eq!((s.ttl, s.bad_ttl, s.ip_opt_len), (64, true, 0));
    let s = good_tcp("*:64-:5:1460:1024,0:mss::0");
    assert_eq!(s.ip_opt_len, 0);
    let s = good_tcp("*:64-:12:1460:1024,0:mss::0");
    assert_eq!(s.ip_opt_len, 2);
    // '-' not followed by ':' is just a separator.
    let s = good_tcp("4:64-3:*:*,*:mss::0");
    assert_eq!((s.ttl, s.bad_ttl, s.ip_opt_len), (64, false, 3));
    // A leading '+' is read as a sign by atol, then again as "N+D".
    let s = good_tcp("4:+32:0:*:*,*:mss::0");
    assert_eq!(s.ttl, 64);
    // Numbers are read like C's atol stored in 32 bits: 2^32 + 64 wraps to 64
    // (checked against p0f 3.09b), while saturated values are rejected.
    assert_eq!(good_tcp("4:4294967360:0:*:*,*:mss::0").ttl, 64);
    bad_tcp(
        "4:99999999999999999999:0:*:*,*:mss::0",
        "initial TTL 99999999999999999999 is outside",
    );
}

#[test]
fn http_signature_errors() {
    bad_http("2:Host::", "HTTP version");
    bad_http("1Host::", "after the HTTP version");
    bad_http("", "after the HTTP version");
    bad_http("1:Ho st::", "malformed header list");
    bad_http("1:Host", "malformed header list");
    bad_http("1:Host:", "malformed header name");
    bad_http("1:,Host::", "malformed header name");
    bad_http("1:?::", "malformed header name");
    bad_http("1:Host=x::", "expected '['");
    bad_http("1:Host=[]::", "malformed value for header 'Host'");
    bad_http("1:Host=[abc::", "malformed value");
    bad_http("1:Host:?Accept:", "absent-header list");
    bad_http("1:Host:Accept=[x]:", "absent-header list");
    bad_http("1:Host:Acc ept:", "absent-header list");
    bad_http("1:Host::Mozilla: 5", "must not contain ':'");
    let many: Vec<String> = (0..33).map(|i| format!("H{i}")).collect();
    bad_http(&format!("1:{}::", many.join(",")), "more than 32 headers");
    bad_http(
        &format!("1:Host:{}:", many.join(",")),
        "more than 32 headers",
    );
    // 32 is fine.
    assert_eq!(
        good_http(&format!("1:{}::", many[..32].join(",")))
            .horder
            .len(),
        32
    );
}

#[test]
fn http_signature_forms() {
    let s = good_http(
        "*:Host,?Referer,Accept=[text/html, */*],X_y-1=[a b]:Keep-Alive,TE:Mozilla/5.0 (X11)",
    );
    assert_eq!(s.ver, None);
    let h: Vec<(&str, bool, Option<&str>)> = s
        .horder
        .iter()
        .map(|h| (h.name.as_str(), h.optional, h.value.as_deref()))
        .collect();
    assert_eq!(
        h,
        [
            ("Host", false, None),
            ("Referer", true, None),
            ("Accept", false, Some("text/html, */*")),
            ("X_y-1", false, Some("a b")),
        ]
    );
    // A value ends at the first ']'.
    bad_http("1:X=[a]b]::", "malformed header list");
    assert_eq!(s.habsent, ["Keep-Alive", "TE"]);
    assert_eq!(s.expsw, "Mozilla/5.0 (X11)");
    let s = good_http("0:::");
    assert_eq!(
        (s.ver, s.horder.len(), s.habsent.len(), s.expsw.as_str()),
        (Some(0), 0, 0, "")
    );
    // Trailing commas are tolerated by p0f.
    assert_eq!(good_http("1:Host,:TE,:").horder.len(), 1);
}

#[test]
fn ua_os_lines() {
    let d = db(
        "classes = unix\n[tcp:request]\nlabel = s:unix:LINUX:\nsig = 4:64:0:*:*,*:mss::0\n\
                [http:request]\nua_os = linux,iOS=[iPad],Mac OS X\nua_os = X=[y]Z,\n\
                label = s:unix:LINUX:\nsig = 1:Host::\n",
    );
    let got: Vec<(&str, &str)> = d
        .ua_os
        .iter()
        .map(|u| (d.names[u.name as usize].as_str(), u.needle.as_str()))
        .collect();
    // The needle defaults to the name's first spelling.
    assert_eq!(
        got,
        [
            ("LINUX", "LINUX"),
            ("iOS", "iPad"),
            ("Mac OS X", "Mac OS X"),
            ("X", "y"),
            ("Z", "Z")
        ]
    );
    let pre = "[http:request]\n";
    fails(&format!("{pre}ua_os = Linux=x\n"), 2, "expected '['");
    fails(&format!("{pre}ua_os = Linux=[]\n"), 2, "alias");
    fails(&format!("{pre}ua_os = Linux=[x\n"), 2, "alias");
    fails(&format!("{pre}ua_os = #\n"), 2, "malformed OS name");
    fails(&format!("{pre}ua_os = A,,B\n"), 2, "malformed OS name");
}

#[test]
fn io_errors() {
    let e = Database::load(std::path::Path::new("/nonexistent/p0f.fp")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/p0f.fp: cannot read"),
        "{e}"
    );
    let _: &dyn std::error::Error = &e;
}

#[test]
fn absurd_databases_are_refused_quickly() {
    let mut text = String::from("classes = unix\n[tcp:request]\nlabel = s:unix:X:\n");
    for i in 0..20_001 {
        text.push_str(&format!("sig = 4:64:0:{}:*,*:mss::0\n", i % 60_000));
    }
    let err = p0f_sigdb::Database::parse(text.as_bytes(), "big.fp").unwrap_err();
    assert_eq!(err.line, Some(20_004));
    assert!(err.message.contains("more than 20000 signatures"), "{err}");
}

#[test]
fn a_device_is_not_read_forever() {
    let err = p0f_sigdb::Database::load(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
}
