mod common;

use common::*;
use p0f_http::*;
use p0f_sigdb::Database;

fn messages(req: &[u8], resp: &[u8]) -> Vec<Message> {
    let mut fd = Feeder::new(true);
    fd.packet(true, req);
    fd.packet(false, resp);
    fd.messages
}

fn raw(msg: &Message, vocab: &Vocabulary) -> String {
    let mut s = String::new();
    raw_signature(msg, vocab, &mut s);
    s
}

#[test]
fn curl_and_python_raw_signatures() {
    let db = Database::default();
    let v = Vocabulary::new(&db);
    let m = messages(CURL_REQ, PY_RESP);
    assert_eq!(
        raw(&m[0], &v),
        "1:Host,User-Agent,Accept=[*/*]:Connection,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:curl/7.88.1"
    );
    assert_eq!(
        raw(&m[1], &v),
        "0:Server,Date,Content-type=[text/html; charset=utf-8],?Content-Length:Content-Type,Connection,Keep-Alive,Accept-Ranges:SimpleHTTP/0.6 Python/3.11.7"
    );
    for msg in &m {
        assert_eq!(language(msg), Language::None);
        assert_eq!(
            params(&db, msg, &match_message(&db, &v, msg)).to_string(),
            "none"
        );
        assert_eq!(app_key(&db, msg.request, &HttpMatch::default()), "app");
        assert_eq!(app_value(&db, msg.request, &HttpMatch::default()), None);
    }
}

#[test]
fn curl_german() {
    let v = Vocabulary::new(&Database::default());
    let req = b"GET / HTTP/1.1\r\nHost: [::1]:8081\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAccept-Language: de-DE,de;q=0.9\r\n\r\n";
    let m = &messages(req, b"")[0];
    assert_eq!(
        raw(m, &v),
        "1:Host,User-Agent,Accept=[*/*],Accept-Language=[de-DE,de;q=0.9]:Connection,Accept-Encoding,Accept-Charset,Keep-Alive:curl/7.88.1"
    );
    assert_eq!(language(m).as_str(), "German");
}

#[test]
fn languages() {
    let lang = |v: Option<&[u8]>| {
        let mut m = Message::new(true, 1);
        if let Some(v) = v {
            m.push_header(b"Accept-Language", v);
        }
        language(&m)
    };
    assert_eq!(lang(Some(b"de-DE,de;q=0.9")), Language::Known("German"));
    assert_eq!(lang(Some(b"EN")), Language::Unknown);
    assert_eq!(lang(Some(b"EN")).as_str(), "???");
    assert_eq!(lang(None), Language::None);
    assert_eq!(lang(Some(b"")), Language::None);
    assert_eq!(lang(Some(b"en\0")), Language::Known("English"));
    assert_eq!(lang(Some(b"e\0n")), Language::None);
    let mut resp = Message::new(false, 1);
    resp.push_header(b"Accept-Language", b"en");
    assert_eq!(language(&resp), Language::None);
}

#[test]
fn raw_value_rules() {
    let db = db(&[(true, false, true, "Thing", "1:Host,X-Known:X-Absent:")]);
    let v = Vocabulary::new(&db);
    let mut m = Message::new(true, 1);
    m.push_header(b"Host", b"example.com"); // skip-value
    m.push_header(b"Cookie", b"a=b"); // optional: '?', no value
    m.push_header(b"X-Known", b"a|b]c"); // known: stops at '|'
    m.push_header(b"X-Other", b"a|b]c"); // unknown: keeps '|', stops at ']'
    m.push_header(b"X-Known", b"|lead"); // nothing left: no "=[]"
    m.push_header(b"X-Other", b"\x01x"); // ditto
    m.push_header(b"X-Empty", b""); // no value at all
    m.push_header(b"X-Long", "y".repeat(300).as_bytes());
    m.push_header(b"X-Bin", b"ab\xffcd");
    m.push_header(b"X-Del", b"a\x7fb");
    m.push_header(b"User-Agent", b"Agent|1]x");
    let long = "y".repeat(200);
    assert_eq!(
        raw(&m, &v),
        format!(
            "1:Host,?Cookie,X-Known=[a],X-Other=[a|b],X-Known,X-Other,X-Empty,X-Long=[{long}],X-Bin=[ab],X-Del=[a\x7fb],User-Agent:Connection,Accept,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:Agent|1"
        )
    );
    // Known only because the database mentions it: X-Known's value is cut
    // at '|', unlike an unknown header's.
    let plain = Vocabulary::new(&Database::default());
    assert!(raw(&m, &plain).contains("X-Known=[a|b],"));
    // A response: optional/skip lists of that direction.
    let mut r = Message::new(false, 1);
    r.push_header(b"Content-Type", b"text/html");
    r.push_header(b"Cookie", b"x");
    r.push_header(b"Set-Cookie", b"x");
    r.push_header(b"Date", b"Thu, 27 Nov 2026 03:41:57 GMT");
    r.push_header(b"Connection", b"close");
    assert_eq!(
        raw(&r, &v),
        "1:Content-Type,Cookie=[x],?Set-Cookie,Date,Connection=[close]:Keep-Alive,Accept-Ranges:"
    );
}

fn req(headers: &[(&str, &str)]) -> Message {
    let mut m = Message::new(true, 1);
    for (n, v) in headers {
        m.push_header(n.as_bytes(), v.as_bytes());
    }
    m
}

#[test]
fn matching_specific_generic_dishonest() {
    let db = db(&[
        (true, true, true, "Generic", "*:Host,User-Agent::"),
        (
            true,
            false,
            true,
            "Firefox",
            "1:Host,User-Agent,Accept=[text/html],?Referer,Connection::Firefox/",
        ),
        (true, false, true, "Old", "0:Host,User-Agent::"),
        (true, true, true, "Generic2", "1:Host::"),
        (true, false, false, "Linux", "1:Host,X-Linux:Accept:"),
        (false, false, true, "nginx", "*:Server:Set-Cookie:nginx"),
    ]);
    let v = Vocabulary::new(&db);
    let rec = |m: &Message| match_message(&db, &v, m);
    let name = |m: &Message| app_value(&db, m.request, &rec(m));

    let ff = req(&[
        ("Host", "x"),
        ("User-Agent", "Mozilla Firefox/99"),
        ("Accept", "text/html,*/*"),
        ("Connection", "k"),
    ]);
    assert_eq!(
        rec(&ff),
        HttpMatch {
            record: Some(1),
            dishonest: false
        }
    );
    assert_eq!(name(&ff).as_deref(), Some("Firefox 1.x"));
    assert_eq!(params(&db, &ff, &rec(&ff)).to_string(), "none");

    // Same shape, UA without "Firefox/": dishonest.
    let liar = req(&[
        ("Host", "x"),
        ("User-Agent", "Chrome"),
        ("Accept", "text/html"),
        ("Connection", "k"),
    ]);
    assert_eq!(
        rec(&liar),
        HttpMatch {
            record: Some(1),
            dishonest: true
        }
    );
    assert_eq!(params(&db, &liar, &rec(&liar)).to_string(), "dishonest");

    // No UA at all: the specific one fails (UA is mandatory), the first
    // generic wins, and the UA-less message is anonymous.
    let anon = req(&[("Host", "x"), ("Accept", "text/html"), ("Connection", "k")]);
    assert_eq!(
        rec(&anon),
        HttpMatch {
            record: Some(3),
            dishonest: false
        }
    );
    assert_eq!(
        params(&db, &anon, &rec(&anon)).to_string(),
        "anonymous generic"
    );

    // Extra headers in between are fine; the first generic is remembered
    // but a later specific one wins.
    let extra = req(&[
        ("Host", "x"),
        ("X-1", ""),
        ("User-Agent", "Firefox/1"),
        ("Accept", "text/html"),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&extra).record, Some(1));

    // Wrong value substring (case-sensitive), wrong order, optional out of
    // order, optional present in order.
    let bad_val = req(&[
        ("Host", "x"),
        ("User-Agent", "Firefox/1"),
        ("Accept", "TEXT/HTML"),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&bad_val).record, Some(0));
    let bad_order = req(&[
        ("User-Agent", "Firefox/1"),
        ("Host", "x"),
        ("Accept", "text/html"),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&bad_order).record, Some(3));
    let opt_early = req(&[
        ("Referer", "r"),
        ("Host", "x"),
        ("User-Agent", "Firefox/1"),
        ("Accept", "text/html"),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&opt_early).record, Some(0));
    let opt_ok = req(&[
        ("Host", "x"),
        ("User-Agent", "Firefox/1"),
        ("Accept", "text/html"),
        ("Referer", "r"),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&opt_ok).record, Some(1));
    // A value-less header cannot satisfy a value rule.
    let no_val = req(&[
        ("Host", "x"),
        ("User-Agent", "Firefox/1"),
        ("Accept", ""),
        ("Connection", "k"),
    ]);
    assert_eq!(rec(&no_val).record, Some(0));

    // Version: "0:" only matches HTTP/1.0; "*" anything.
    let mut old = req(&[("Host", "x"), ("User-Agent", "u")]);
    old.ver = 0;
    assert_eq!(rec(&old).record, Some(2));

    // habsent, and an OS-class signature.
    let linux = req(&[("Host", "x"), ("X-Linux", "1")]);
    // A later specific signature beats an earlier generic one.
    assert_eq!(rec(&linux).record, Some(4));
    assert_eq!(app_key(&db, true, &rec(&linux)), "os");
    assert_eq!(name(&linux).as_deref(), Some("Linux"));
    let linux_accept = req(&[("Host", "x"), ("X-Linux", "1"), ("Accept", "a")]);
    assert_eq!(rec(&linux_accept).record, Some(3));
    assert_eq!(app_key(&db, true, &rec(&linux_accept)), "app");

    // Responses use their own list; habsent.
    let mut srv = Message::new(false, 1);
    srv.push_header(b"Server", b"Apache");
    assert_eq!(
        match_message(&db, &v, &srv),
        HttpMatch {
            record: Some(0),
            dishonest: true
        }
    );
    srv.push_header(b"Set-Cookie", b"x");
    assert_eq!(match_message(&db, &v, &srv), HttpMatch::default());
    let none = Message::new(false, 1);
    assert_eq!(
        params(&db, &none, &match_message(&db, &v, &none)).to_string(),
        "anonymous"
    );
}

#[test]
fn generic_dishonest_and_empty_sw() {
    let db = db(&[(true, true, true, "G", "*:Host::curl")]);
    let v = Vocabulary::new(&db);
    let m = req(&[("Host", "x"), ("User-Agent", "wget")]);
    let r = match_message(&db, &v, &m);
    assert_eq!(
        r,
        HttpMatch {
            record: Some(0),
            dishonest: true
        }
    );
    assert_eq!(params(&db, &m, &r).to_string(), "dishonest generic");
    // A UA that is present but empty after NUL-cutting: not anonymous, and
    // dishonest against a non-empty expsw.
    let m = req(&[("Host", "x"), ("User-Agent", "\0curl")]);
    let r = match_message(&db, &v, &m);
    assert!(r.dishonest);
    assert_eq!(params(&db, &m, &r).to_string(), "dishonest generic");
}

#[test]
fn ua_os_map() {
    let db = Database {
        names: vec!["Linux".into(), "iOS".into()],
        ua_os: vec![
            p0f_sigdb::UaOs {
                name: 0,
                needle: "Linux".into(),
            },
            p0f_sigdb::UaOs {
                name: 1,
                needle: "iPhone".into(),
            },
        ],
        ..Database::default()
    };
    assert_eq!(ua_os(&db, b"Mozilla (iPhone; Linux-ish)"), Some(0));
    assert_eq!(ua_os(&db, b"Mozilla (iPhone)"), Some(1));
    assert_eq!(ua_os(&db, b"curl"), None);
}
