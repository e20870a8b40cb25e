//! Against the built-in (stock p0f 3.09b) database.

mod common;

use common::*;
use p0f_http::*;
use p0f_sigdb::Database;

const CHROME: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36\r\nAccept: text/html,*/*\r\nAccept-Encoding: gzip, deflate, sdch\r\nAccept-Language: en-US,en;q=0.8\r\n\r\n";

fn first(req: &[u8]) -> Message {
    let mut fd = Feeder::new(true);
    fd.packet(true, req);
    fd.messages.remove(0)
}

#[test]
fn chrome_honest_and_forged() {
    let db = Database::builtin();
    assert!(!db.http_request.is_empty());
    let v = Vocabulary::new(&db);
    let m = first(CHROME);
    let r = match_message(&db, &v, &m);
    assert_eq!(app_key(&db, true, &r), "app");
    assert_eq!(
        app_value(&db, true, &r).as_deref(),
        Some("Chrome 51.x or newer")
    );
    assert_eq!(params(&db, &m, &r).to_string(), "none");
    assert_eq!(language(&m).as_str(), "English");
    let ua = m.sw.as_deref().unwrap();
    let linux = db.names.iter().position(|n| n == "Linux").map(|p| p as u32);
    assert_eq!(ua_os(&db, ua), linux);

    let forged = String::from_utf8_lossy(CHROME).replace(
        "Chrome/51.0.2704.103 Safari/537.36",
        "Gecko/20100101 Firefox/47.0",
    );
    let m = first(forged.as_bytes());
    let r = match_message(&db, &v, &m);
    assert_eq!(
        app_value(&db, true, &r).as_deref(),
        Some("Chrome 51.x or newer")
    );
    assert_eq!(params(&db, &m, &r).to_string(), "dishonest");
}

#[test]
fn curl_is_unknown() {
    let db = Database::builtin();
    let v = Vocabulary::new(&db);
    let m = first(CURL_REQ);
    let r = match_message(&db, &v, &m);
    assert_eq!(r, HttpMatch::default());
    let mut s = String::new();
    raw_signature(&m, &v, &mut s);
    assert_eq!(
        s,
        "1:Host,User-Agent,Accept=[*/*]:Connection,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:curl/7.88.1"
    );
}

#[test]
fn apache_response() {
    let db = Database::builtin();
    assert!(!db.http_response.is_empty());
    let v = Vocabulary::new(&db);
    let mut fd = Feeder::new(true);
    fd.packet(true, CURL_REQ);
    fd.packet(
        false,
        b"HTTP/1.1 200 OK\r\nDate: Thu, 27 Nov 2026 03:41:57 GMT\r\nServer: Apache/2.4.57 (Debian)\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nAccept-Ranges: bytes\r\nContent-Length: 10\r\nKeep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\nContent-Type: text/html\r\n\r\n",
    );
    let m = &fd.messages[1];
    let r = match_message(&db, &v, m);
    assert_eq!(app_value(&db, false, &r).as_deref(), Some("Apache 2.x"));
    assert_eq!(params(&db, m, &r).to_string(), "none");
    let mut s = String::new();
    raw_signature(m, &v, &mut s);
    assert_eq!(
        s,
        "1:Date,Server,?Last-Modified,Accept-Ranges=[bytes],?Content-Length,Keep-Alive=[timeout=5, max=100],Connection=[Keep-Alive],Content-Type::Apache/2.4.57 (Debian)"
    );
}
