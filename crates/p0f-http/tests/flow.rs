mod common;

use common::*;
use p0f_http::{HttpFlow, Message, Vocabulary};
use p0f_sigdb::Database;

fn req_only(data: &[u8]) -> (p0f_http::Step, HttpFlow) {
    let mut f = HttpFlow::new();
    let s = f.process(true, data, data.len() < 8192, true);
    (s, f)
}

fn names(m: &Message) -> Vec<&str> {
    m.headers.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn request_methods() {
    assert!(req_only(b"GET / HTTP/1.1\r\n\r\n").0.completed.is_some());
    assert!(req_only(b"HEAD /x HTTP/1.0\r\n\r\n").0.completed.is_some());
    for bad in [
        &b"POST / HTTP/1.1\r\n\r\n"[..],
        b"GET http://a/ HTTP/1.1\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh",
    ] {
        let (s, f) = req_only(bad);
        assert!(
            !s.need_more && s.completed.is_none() && f.is_off(),
            "{bad:?}"
        );
    }
}

#[test]
fn request_waits_for_15_bytes() {
    let mut f = HttpFlow::new();
    // Fewer than 15 bytes: not even the method is checked yet.
    assert!(f.process(true, b"POST / HTTP/1.", true, true).need_more);
    assert!(!f.is_off());
    let (s, _) = req_only(b"GET / HTTP/1.0\n");
    assert!(s.need_more && s.completed.is_none());
}

#[test]
fn request_newline_limits() {
    // Newline at offset 13: too close.
    let (s, f) = req_only(b"GET / HTTP/1.\nHost: a\n\n");
    assert!(!s.need_more && f.is_off());
    // Newline at offset 14, no '\r': the shortest valid line.
    let (s, _) = req_only(b"GET / HTTP/1.0\n\n");
    let m = s.completed.unwrap();
    assert_eq!((m.ver, m.headers.len()), (0, 0));
    // Newline at offset 1023 is fine, 1024 is too far.
    let mut line = b"GET /".to_vec();
    line.resize(1023 - 9, b'a');
    line.extend_from_slice(b" HTTP/1.1\n\n");
    assert_eq!(line.iter().position(|&b| b == b'\n'), Some(1023));
    assert!(req_only(&line).0.completed.is_some());
    line.insert(6, b'a');
    assert!(!req_only(&line).0.need_more);
    // 1024 bytes without a newline: not HTTP at once; 1023: wait.
    let mut partial = b"GET /".to_vec();
    partial.resize(1024, b'a');
    assert!(!req_only(&partial).0.need_more);
    partial.pop();
    assert!(req_only(&partial).0.need_more);
    // Binary data in the first line; DEL (0x7F) is allowed.
    assert!(!req_only(b"GET /\x01 HTTP/1.1\r\n\r\n").0.need_more);
    assert!(req_only(b"GET /\x7f HTTP/1.1\r\n\r\n")
        .0
        .completed
        .is_some());
    // A first line that never ends before the buffer is full.
    let mut f = HttpFlow::new();
    let mut big = b"GET /".to_vec();
    big.resize(900, b'a');
    assert!(f.process(true, &big, true, true).need_more);
    assert!(!f.process(true, &big, false, true).need_more);
    assert!(f.is_off());
}

#[test]
fn request_version() {
    let ver = |d: &[u8]| req_only(d).0.completed.map(|m| m.ver);
    assert_eq!(ver(b"GET / HTTP/1.1\r\n\r\n"), Some(1));
    assert_eq!(ver(b"GET / HTTP/1.1\n\n"), Some(1));
    assert_eq!(ver(b"GET / HTTP/1.0\r\n\r\n"), Some(0));
    assert_eq!(ver(b"GET / HTTP/1.7\r\n\r\n"), Some(0));
    assert_eq!(ver(b"GET / HTTP/1.x\r\n\r\n"), Some(0));
    assert_eq!(ver(b"GET / HTTP/2.0\r\n\r\n"), None);
    assert_eq!(ver(b"GET / HTTP/1.11\r\n\r\n"), None);
    // Only one '\r' is allowed for: "\r\r\n" shifts the version out of place.
    assert_eq!(ver(b"GET / HTTP/1.1\r\r\n\r\n"), None);
}

#[test]
fn request_split_first_line() {
    let mut fd = Feeder::new(true);
    for chunk in [
        &b"GET /index.html HT"[..],
        b"TP/1.1\r",
        b"\nHost: x\r\n",
        b"\r\n",
    ] {
        fd.packet(true, chunk);
    }
    assert_eq!(fd.messages.len(), 1);
    assert_eq!(fd.messages[0].ver, 1);
    assert!(fd.flow.request_done() && !fd.destroyed);
}

#[test]
fn header_values() {
    let (s, _) = req_only(
        b"GET / HTTP/1.1\r\nA:b\r\nC:  two spaces\r\nD:\ttab\r\nE:\r\nF: \r\nG: x\0y\r\nH: \0\r\nI: a\rb\nJ: trail \r\n\r\n",
    );
    let m = s.completed.unwrap();
    let vals: Vec<Option<&[u8]>> = m.headers.iter().map(|h| h.value.as_deref()).collect();
    assert_eq!(
        vals,
        [
            Some(&b"b"[..]),
            Some(b" two spaces"),
            Some(b"tab"),
            None,
            None,
            Some(b"x"),
            Some(b""),
            Some(b"a\rb"),
            Some(b"trail "),
        ]
    );
}

#[test]
fn header_limits() {
    let build = |n: usize| {
        let mut r = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    assert_eq!(req_only(&build(32)).0.completed.unwrap().headers.len(), 32);
    let (s, f) = req_only(&build(33));
    assert!(!s.need_more && s.completed.is_none() && f.is_off());
    // The 33rd line aborts as soon as it starts, even incomplete.
    let mut r = build(32);
    r.truncate(r.len() - 2);
    r.push(b'X');
    assert!(!req_only(&r).0.need_more);

    // Names: 32 characters fine, 33 not; only [A-Za-z0-9_-].
    let name32 = "N".repeat(32);
    let ok = format!("GET / HTTP/1.1\r\n{name32}: v\r\n\r\n");
    assert_eq!(
        req_only(ok.as_bytes()).0.completed.unwrap().headers[0].name,
        name32
    );
    let bad = format!("GET / HTTP/1.1\r\n{name32}N: v\r\n\r\n");
    assert!(!req_only(bad.as_bytes()).0.need_more);
    // A 33-character name at the very end of the buffer waits.
    let wait = format!("GET / HTTP/1.1\r\n{name32}N");
    assert!(req_only(wait.as_bytes()).0.need_more);
    for bad in [
        &b"GET / HTTP/1.1\r\nX Y: v\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX.Y: v\r\n\r\n",
        b"GET / HTTP/1.1\r\n: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: v\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: v\r\n\tfolded\r\n\r\n",
    ] {
        let (s, f) = req_only(bad);
        assert!(
            !s.need_more && s.completed.is_none() && f.is_off(),
            "{bad:?}"
        );
    }

    // Values: 1024 bytes (counting a '\r') fine; 1025 aborts HTTP but, as in
    // p0f, still reports "need more" so the flow is kept.
    let v1024 = "v".repeat(1023);
    let ok = format!("GET / HTTP/1.1\r\nX: {v1024}\r\n\r\n");
    assert_eq!(
        req_only(ok.as_bytes()).0.completed.unwrap().headers[0]
            .value
            .as_ref()
            .unwrap()
            .len(),
        1023
    );
    let bad = format!("GET / HTTP/1.1\r\nX: {v1024}v\r\n\r\n");
    let (s, f) = req_only(bad.as_bytes());
    assert!(s.need_more && s.completed.is_none() && f.is_off());
    let mut f = f;
    assert!(!f.process(true, bad.as_bytes(), true, true).need_more);
    // An incomplete value longer than 1024 aborts before more data arrives.
    let partial = format!("GET / HTTP/1.1\r\nX: {v1024}vv");
    assert!(req_only(partial.as_bytes()).1.is_off());
}

#[test]
fn end_of_buffer_gives_up() {
    let mut f = HttpFlow::new();
    let data = b"GET / HTTP/1.1\r\nHost: x\r\n";
    assert!(f.process(true, data, true, true).need_more);
    assert!(!f.process(true, data, false, true).need_more);
    assert!(f.is_off());
}

#[test]
fn captured_fields() {
    let (s, _) = req_only(
        b"GET / HTTP/1.1\r\nUser-Agent: a\r\nUser-Agent: b\r\nUser-Agent:\r\nAccept-Language: fr\r\nVia: 1.1 p\r\nServer: no\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
    );
    let m = s.completed.unwrap();
    assert!(m.request);
    assert_eq!(m.sw.as_deref(), Some(&b"b"[..]));
    assert_eq!(m.lang.as_deref(), Some(&b"fr"[..]));
    assert_eq!(m.via.as_deref(), Some(&b"1.1 p"[..]));
    assert_eq!(m.date, 0);

    let mut fd = Feeder::new(true);
    fd.packet(true, CURL_REQ);
    fd.packet(false, b"HTTP/1.1 200 OK\r\nUser-Agent: x\r\nAccept-Language: de\r\nX-Forwarded-For: 1.2.3.4\r\nDate: Thu, 27 Nov 2026 03:41:57 GMT\r\n\r\n");
    let r = &fd.messages[1];
    assert!(!r.request && r.sw.is_none() && r.lang.is_none());
    assert_eq!(r.via.as_deref(), Some(&b"1.2.3.4"[..]));
    assert_eq!(
        r.date,
        p0f_http::parse_date(b"Thu, 27 Nov 2026 03:41:57 GMT")
    );
    assert_ne!(r.date, 0);
}

#[test]
fn request_then_response_lifecycle() {
    let mut fd = Feeder::new(true);
    let s = fd.packet(true, CURL_REQ).unwrap();
    assert!(s.need_more && s.completed.is_some());
    // More client data after the request is ignored.
    let s = fd.packet(true, b"GET /again HTTP/1.1\r\n\r\n").unwrap();
    assert!(s.need_more && s.completed.is_none());
    let s = fd.packet(false, PY_RESP).unwrap();
    assert!(!s.need_more);
    let m = s.completed.unwrap();
    assert_eq!(m.ver, 0);
    assert_eq!(
        names(&m),
        ["Server", "Date", "Content-type", "Content-Length"]
    );
    assert!(fd.destroyed && fd.flow.is_off());
}

#[test]
fn response_too_early() {
    // Server speaks first (e.g. SMTP banner).
    let mut fd = Feeder::new(true);
    assert!(!fd.packet(false, b"220 mail ESMTP\r\n").unwrap().need_more);
    // Server answers before the request headers ended.
    let mut fd = Feeder::new(true);
    assert!(
        fd.packet(true, b"GET / HTTP/1.1\r\nHost: x\r\n")
            .unwrap()
            .need_more
    );
    assert!(
        !fd.packet(false, b"HTTP/1.1 200 OK\r\n\r\n")
            .unwrap()
            .need_more
    );
    assert!(fd.messages.is_empty());
}

#[test]
fn response_first_line() {
    let resp = |d: &[u8]| {
        let mut fd = Feeder::new(true);
        fd.packet(true, CURL_REQ);
        let s = fd.packet(false, d).unwrap();
        (s, fd)
    };
    assert_eq!(resp(b"HTTP/1.1 200 OK\r\n\r\n").0.completed.unwrap().ver, 1);
    assert_eq!(resp(b"HTTP/1.0 200 OK\n\n").0.completed.unwrap().ver, 0);
    // Fewer than 13 bytes: wait.
    assert!(resp(b"HTTP/1.1 200").0.need_more);
    // Newline before offset 13.
    assert!(!resp(b"HTTP/1.1 200\r\n\r\n").0.need_more);
    assert!(!resp(b"HTTP/2.0 200 OK\r\n\r\n").0.need_more);
    assert!(!resp(b"HTTP/1.1 200 \x80K\r\n\r\n").0.need_more);
}

fn split_response(compat: bool, parts: &[&[u8]]) -> Feeder {
    let mut fd = Feeder::new(compat);
    fd.packet(true, CURL_REQ);
    for p in parts {
        fd.packet(false, p);
    }
    fd
}

#[test]
fn split_response_loses_a_line_in_compat_mode() {
    let parts: [&[u8]; 2] = [
        b"HTTP/1.1 200 OK\r\nServer: nginx\r\n",
        b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/html\r\n\r\n",
    ];
    let compat = split_response(true, &parts);
    assert_eq!(names(&compat.messages[1]), ["Server", "Content-Type"]);
    let fixed = split_response(false, &parts);
    assert_eq!(
        names(&fixed.messages[1]),
        ["Server", "Last-Modified", "Content-Type"]
    );
    // Whole: the same in both modes.
    let whole = [parts.concat()];
    let whole: Vec<&[u8]> = whole.iter().map(|v| &v[..]).collect();
    assert_eq!(split_response(true, &whole).messages[1], fixed.messages[1]);
}

#[test]
fn split_response_incomplete_line() {
    // The line cut at the segment boundary is lost whole in compat mode.
    let parts: [&[u8]; 2] = [b"HTTP/1.1 200 OK\r\nServer: ngi", b"nx\r\nVary: a\r\n\r\n"];
    assert_eq!(names(&split_response(true, &parts).messages[1]), ["Vary"]);
    assert_eq!(
        names(&split_response(false, &parts).messages[1]),
        ["Server", "Vary"]
    );
    // Three segments, the middle one still incomplete: the tail is skipped
    // and parsing resumes after the line.
    let parts: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nServer: ngi",
        b"nx/1",
        b".2\r\nVary: a\r\n\r\n",
    ];
    assert_eq!(names(&split_response(true, &parts).messages[1]), ["Vary"]);
    assert_eq!(
        split_response(false, &parts).messages[1].sw.as_deref(),
        Some(&b"nginx/1.2"[..])
    );
}

#[test]
fn split_response_blank_line_alone() {
    let parts: [&[u8]; 2] = [b"HTTP/1.1 200 OK\r\nServer: nginx\r\n", b"\r\n<html>"];
    let compat = split_response(true, &parts);
    assert_eq!(compat.messages.len(), 1);
    assert!(compat.destroyed && compat.flow.is_off());
    assert_eq!(split_response(false, &parts).messages.len(), 2);
}

#[test]
fn split_response_past_1024() {
    let mut first = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..3 {
        first.extend_from_slice(b"X-Pad: ");
        first.extend_from_slice(&[b'p'; 500]);
        first.extend_from_slice(b"\r\n");
    }
    let second = b"Last-Modified: yesterday\r\n\r\n";
    let compat = split_response(true, &[&first, second]);
    assert_eq!(
        names(&compat.messages[1]),
        ["X-Pad", "X-Pad", "X-Pad", "ast-Modified"]
    );
    let fixed = split_response(false, &[&first, second]);
    assert_eq!(
        names(&fixed.messages[1]),
        ["X-Pad", "X-Pad", "X-Pad", "Last-Modified"]
    );

    // Next newline at or beyond offset 1024: the response is dropped.
    let mut first = b"HTTP/1.1 200 OK\r\nServer: x\r\n".to_vec();
    let mut second = b"X-Pad: ".to_vec();
    second.resize(1007, b'p');
    second.extend_from_slice(b"\r\n\r\n");
    assert_eq!(split_response(true, &[&first, &second]).messages.len(), 1);
    assert_eq!(split_response(false, &[&first, &second]).messages.len(), 2);

    // Position exactly 1024: dropped too.
    first.clear();
    first.extend_from_slice(b"HTTP/1.1 200 OK\r\nX-Pad: ");
    first.resize(524, b'p');
    first.extend_from_slice(b"\r\nX-Pad: ");
    first.resize(1022, b'p');
    first.extend_from_slice(b"\r\n");
    assert_eq!(first.len(), 1024);
    let c = split_response(true, &[&first, b"Vary: a\r\n\r\n"]);
    assert_eq!(c.messages.len(), 1);
    assert!(c.destroyed);
    assert_eq!(
        split_response(false, &[&first, b"Vary: a\r\n\r\n"])
            .messages
            .len(),
        2
    );

    // A non-ASCII byte in the skipped line drops the response.
    let parts: [&[u8]; 2] = [
        b"HTTP/1.1 200 OK\r\nServer: x\r\n",
        b"X-Name: caf\xc3\xa9\r\n\r\n",
    ];
    assert_eq!(split_response(true, &parts).messages.len(), 1);
    assert_eq!(split_response(false, &parts).messages.len(), 2);
}

#[test]
fn single_segment_responses_agree() {
    let c = split_response(true, &[PY_RESP]);
    let f = split_response(false, &[PY_RESP]);
    assert_eq!(c.messages, f.messages);
}

#[test]
fn vocabulary_lookup_is_exact() {
    let db = db(&[(true, false, true, "X", "1:Host,X-Custom:Bogus:")]);
    let v = Vocabulary::new(&db);
    assert!(v.lookup(b"X-Custom").is_some());
    assert!(v.lookup(b"Bogus").is_some());
    assert!(v.lookup(b"x-custom").is_none());
    let _ = Database::default();
}
