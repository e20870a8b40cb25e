mod common;

use common::*;
use p0f_http::*;
use proptest::prelude::*;

/// Cuts `data` at the given points (taken modulo its length).
fn chunks(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    if data.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<usize> = cuts.iter().map(|c| c % data.len()).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| data[w[0]..w[1]].to_vec())
        .collect()
}

fn run(compat: bool, req: &[u8], req_cuts: &[usize], resp: &[u8], resp_cuts: &[usize]) -> Feeder {
    let mut fd = Feeder::new(compat);
    for c in chunks(req, req_cuts) {
        fd.packet(true, &c);
    }
    for c in chunks(resp, resp_cuts) {
        fd.packet(false, &c);
    }
    fd
}

fn check_message(m: &Message) {
    assert!(m.headers.len() <= MAX_HEADERS);
    assert!(m.ver <= 1);
    for h in &m.headers {
        assert!(!h.name.is_empty() && h.name.len() <= MAX_HEADER_NAME);
        assert!(h
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if let Some(v) = &h.value {
            assert!(v.len() <= MAX_HEADER_VALUE && !v.contains(&b'\n') && !v.contains(&0));
        }
    }
    // The fingerprinting functions accept whatever the parser produced.
    let db = db(&[
        (
            true,
            false,
            true,
            "A",
            "*:Host,?Cookie,User-Agent=[Mo]:Accept:Mozilla",
        ),
        (true, true, true, "B", "1:Host::"),
        (false, true, true, "C", "*:Server:Set-Cookie:Apache"),
    ]);
    let v = Vocabulary::new(&db);
    let mut s = String::new();
    raw_signature(m, &v, &mut s);
    assert!(s.is_ascii() && !s.contains('\n'));
    let r = match_message(&db, &v, m);
    let _ = params(&db, m, &r).to_string();
    let _ = (
        app_key(&db, m.request, &r),
        app_value(&db, m.request, &r),
        language(m).as_str(),
    );
}

fn header_line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        4 => prop::sample::select(vec![
            &b"Host"[..], b"User-Agent", b"Server", b"Date", b"Accept-Language", b"Set-Cookie",
            b"Last-Modified", b"Content-Type", b"Via", b"X-Forwarded-For",
        ]).prop_map(|n| n.to_vec()),
        4 => proptest::collection::vec(prop::sample::select(b"aZ09-_x".to_vec()), 1..20),
        1 => proptest::collection::vec(prop::sample::select(b"aZ09-_x".to_vec()), 0..35),
        1 => proptest::collection::vec(any::<u8>(), 0..6),
    ];
    let sep = prop_oneof![
        8 => prop::sample::select(vec![&b": "[..], b":", b":\t", b": \t"]),
        1 => Just(&b"  "[..]),
    ];
    let value = prop_oneof![
        20 => proptest::collection::vec(prop::sample::select(b"abc ;=/|]\r*\x7f".to_vec()), 0..40),
        2 => proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..20),
        2 => Just(b"Thu, 27 Nov 2026 03:41:57 GMT".to_vec()),
        1 => (1000usize..1100).prop_map(|n| vec![b'v'; n]),
    ];
    let end = prop_oneof![4 => Just(&b"\r\n"[..]), 1 => Just(&b"\n"[..])];
    (name, sep, value, end).prop_map(|(n, s, v, e)| [&n[..], s, &v[..], e].concat())
}

fn message(first_lines: Vec<&'static [u8]>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(first_lines),
        prop_oneof![
            8 => proptest::collection::vec(header_line(), 0..8),
            1 => proptest::collection::vec(header_line(), 0..36),
        ],
        prop_oneof![4 => Just(&b"\r\n"[..]), 4 => Just(&b"\n"[..]), 1 => Just(&b""[..])],
        proptest::collection::vec(any::<u8>(), 0..30),
    )
        .prop_map(|(first, hdrs, blank, body)| [first, &hdrs.concat(), blank, &body].concat())
}

fn request() -> impl Strategy<Value = Vec<u8>> {
    message(vec![
        b"GET / HTTP/1.1\r\n",
        b"HEAD /a/b?c HTTP/1.0\n",
        b"GET /x HTTP/1.9\r\n",
        b"POST / HTTP/1.1\r\n",
    ])
}

fn response() -> impl Strategy<Value = Vec<u8>> {
    message(vec![
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.0 404 Not Found\n",
        b"HTTP/1.1 200\r\n",
        b"HTTP/2 200 OK\r\n",
    ])
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes in arbitrary segments and directions never panic, and
    /// whatever comes out is well-formed.
    #[test]
    fn arbitrary_streams(
        prefix in prop_oneof![Just(&b""[..]), Just(&b"GET / HTTP/1.1\r\n"[..]), Just(&b"HTTP/1.1 200 OK\r\n"[..])],
        data in proptest::collection::vec(any::<u8>(), 0..2500),
        packets in proptest::collection::vec((any::<bool>(), any::<usize>()), 0..20),
        compat in any::<bool>(),
    ) {
        let data = [prefix, &data[..]].concat();
        let mut fd = Feeder::new(compat);
        let mut at = 0;
        for (to_srv, len) in packets {
            if at >= data.len() { break; }
            let n = 1 + len % (data.len() - at);
            let step = fd.packet(to_srv, &data[at..at + n]);
            if let Some(s) = &step {
                if !s.need_more { prop_assert!(fd.flow.is_off()); }
            }
            at += n;
        }
        prop_assert!(fd.messages.len() <= 2);
        for m in &fd.messages { check_message(m); }
    }

    /// HTTP-shaped traffic in any segmentation: no panics in either mode; in
    /// fixed mode the outcome does not depend on segmentation, and in compat
    /// mode it only does on the response side.
    #[test]
    fn split_independence(
        req in request(), resp in response(),
        req_cuts in cuts(), resp_cuts in cuts(),
    ) {
        let whole_fixed = run(false, &req, &[], &resp, &[]);
        let whole_compat = run(true, &req, &[], &resp, &[]);
        prop_assert_eq!(&whole_fixed.messages, &whole_compat.messages);

        let split_fixed = run(false, &req, &req_cuts, &resp, &resp_cuts);
        prop_assert_eq!(&split_fixed.messages, &whole_fixed.messages);
        prop_assert_eq!(split_fixed.flow.is_off(), whole_fixed.flow.is_off());

        let split_compat = run(true, &req, &req_cuts, &resp, &resp_cuts);
        for m in split_fixed.messages.iter().chain(&split_compat.messages) { check_message(m); }
        // Requests are never affected by the response bug.
        prop_assert_eq!(split_compat.messages.first(), whole_fixed.messages.first());
        let compat_resp_whole = run(true, &req, &req_cuts, &resp, &[]);
        prop_assert_eq!(&compat_resp_whole.messages, &whole_fixed.messages);
    }

    /// Truncating the buffer at 8192 bytes, with segments of any size.
    #[test]
    fn full_buffers(
        fill in proptest::collection::vec(prop::sample::select(b"ab: \r\n".to_vec()), 0..9000),
        seg in 1usize..4000, compat in any::<bool>(),
    ) {
        let req = [&b"GET / HTTP/1.1\r\n"[..], &fill].concat();
        let resp = [&b"HTTP/1.1 200 OK\r\n"[..], &fill].concat();
        let mut fd = Feeder::new(compat);
        for c in req.chunks(seg) { fd.packet(true, c); }
        for c in resp.chunks(seg) { fd.packet(false, c); }
        for m in &fd.messages { check_message(m); }
    }

    #[test]
    fn dates_never_panic(s in proptest::collection::vec(any::<u8>(), 0..60)) {
        let _ = parse_date(&s);
    }

    #[test]
    fn dates_roundtrip(d in 1u32..29, mo in 0usize..12, y in 1971u32..2037, h in 0u32..24, mi in 0u32..60, sec in 0u32..60) {
        const M: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let s = format!("Mon, {d:02} {} {y} {h:02}:{mi:02}:{sec:02} GMT", M[mo]);
        prop_assert_ne!(parse_date(s.as_bytes()), 0);
    }
}
