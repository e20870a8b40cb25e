//! HTTP entries of the built-in database that rest on messages recorded in
//! public code ([T] in `p0f-rs.fp`: IIS responses, Safari requests): each
//! recorded header order, written here with values of our own, gets the
//! entry's label, and p0f 3.09b's facts do not name it. Regression checks
//! of those entries, not accuracy figures.

mod common;

use common::Feeder;
use p0f_http::{app_value, match_message, params, Message, Vocabulary};
use p0f_sigdb::Database;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";

/// The message whose first line is `start` and whose headers are `headers`
/// (name, value) in this order; a response follows a plain request.
fn message(start: &str, headers: &[(&str, &str)]) -> Message {
    let mut text = format!("{start}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let request = !start.starts_with("HTTP/");
    let mut fd = Feeder::new(false);
    if !request {
        fd.packet(true, REQUEST);
    }
    fd.packet(request, text.as_bytes());
    fd.messages
        .into_iter()
        .find(|m| m.request == request)
        .expect("the message is complete")
}

fn response(headers: &[(&str, &str)]) -> Message {
    message("HTTP/1.1 200 OK", headers)
}

fn request(headers: &[(&str, &str)]) -> Message {
    message("GET / HTTP/1.1", headers)
}

fn verdict(db: &Database, msg: &Message) -> (Option<String>, String) {
    let vocab = Vocabulary::new(db);
    let m = match_message(db, &vocab, msg);
    (
        app_value(db, msg.request, &m),
        params(db, msg, &m).to_string(),
    )
}

/// Each of `msgs` gets `label` from the built-in database, as an exact match.
fn all_named(msgs: impl IntoIterator<Item = Message>, label: &str) {
    let db = Database::current();
    for msg in msgs {
        assert_eq!(
            verdict(&db, &msg),
            (Some(label.to_string()), "none".to_string())
        );
    }
}

const DATE: &str = "Wed, 02 Dec 2026 10:00:00 GMT";

/// IIS 10 serving a static file.
fn iis_static() -> Message {
    response(&[
        ("Content-Type", "text/html"),
        ("Last-Modified", "Tue, 01 Dec 2026 09:00:00 GMT"),
        ("Accept-Ranges", "bytes"),
        ("ETag", "\"1d2c3b4a5f6e7:0\""),
        ("Server", "Microsoft-IIS/10.0"),
        ("X-Powered-By", "ASP.NET"),
        ("Date", DATE),
        ("Content-Length", "703"),
    ])
}

/// IIS 10 answering with an ASP.NET page.
fn iis_aspnet() -> Message {
    response(&[
        ("Cache-Control", "private"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Server", "Microsoft-IIS/10.0"),
        ("X-AspNet-Version", "4.0.30319"),
        ("X-Powered-By", "ASP.NET"),
        ("Date", DATE),
        ("Content-Length", "1200"),
    ])
}

#[test]
fn recorded_iis_responses_are_named() {
    all_named([iis_static(), iis_aspnet()], "IIS 7 to 10");
}

#[test]
fn stock_facts_do_not_name_iis_10() {
    let db = Database::stock_facts();
    for msg in [iis_static(), iis_aspnet()] {
        assert_eq!(verdict(&db, &msg).0, None);
    }
}

#[test]
fn another_server_in_iis_clothes_is_dishonest() {
    // Same order and X-Powered-By, but the Server header is not IIS's: the
    // entry's expected software string flags it. (Accept-Ranges keeps
    // stock's IIS 7.x entries, earlier in the file, from matching first.)
    let msg = response(&[
        ("Content-Type", "text/html"),
        ("Accept-Ranges", "bytes"),
        ("Server", "Apache"),
        ("X-Powered-By", "ASP.NET"),
        ("Date", DATE),
    ]);
    let (app, params) = verdict(&Database::current(), &msg);
    assert_eq!(app.as_deref(), Some("IIS 7 to 10"));
    assert_eq!(params, "dishonest");
}

#[test]
fn without_x_powered_by_or_with_keep_alive_it_is_not_iis() {
    // The facts the entry stands on: IIS's default header, and no
    // Keep-Alive header (absent from every IIS message seen, and listed
    // as absent by stock's IIS entries).
    let db = Database::current();
    let stripped = response(&[
        ("Content-Type", "text/html"),
        ("Server", "Microsoft-IIS/10.0"),
        ("Date", DATE),
    ]);
    let keep_alive = response(&[
        ("Content-Type", "text/html"),
        ("Server", "Microsoft-IIS/10.0"),
        ("X-Powered-By", "ASP.NET"),
        ("Date", DATE),
        ("Keep-Alive", "timeout=5"),
    ]);
    for msg in [stripped, keep_alive] {
        assert_ne!(verdict(&db, &msg).0.as_deref(), Some("IIS 7 to 10"));
    }
}

const SAFARI_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn safari_ua(version: &str) -> String {
    format!(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) Version/{version} Safari/605.1.15"
    )
}

/// Desktop Safari loading a page, in the order recorded for 11, 14 and 15.
fn safari_direct(version: &str) -> Message {
    let ua = safari_ua(version);
    request(&[
        ("Host", "example.test"),
        ("Upgrade-Insecure-Requests", "1"),
        ("Accept", SAFARI_ACCEPT),
        ("User-Agent", &ua),
        ("Accept-Language", "en-gb"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Connection", "keep-alive"),
    ])
}

/// Safari 12 through a proxy: Accept moves up, a cookie comes along.
fn safari_proxied() -> Message {
    let ua = safari_ua("12.0.2");
    request(&[
        ("Host", "example.test"),
        ("Accept", SAFARI_ACCEPT),
        ("Proxy-Connection", "keep-alive"),
        ("Upgrade-Insecure-Requests", "1"),
        ("Cookie", "a=1"),
        ("User-Agent", &ua),
        ("Accept-Language", "en-ca"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Connection", "keep-alive"),
    ])
}

#[test]
fn recorded_safari_requests_are_named() {
    let msgs = [
        safari_direct("11.1.2"),
        safari_direct("14.0.3"),
        safari_direct("15.3"),
        safari_proxied(),
    ];
    all_named(msgs, "Safari 11 to 15");
}

#[test]
fn stock_facts_do_not_name_current_safari() {
    let db = Database::stock_facts();
    for msg in [safari_direct("15.3"), safari_proxied()] {
        assert_eq!(verdict(&db, &msg).0, None);
    }
}

#[test]
fn the_11_to_15_entry_does_not_claim_safari_18() {
    // The one Safari 18.0.1 recording, in its own order: naming it
    // "11 to 15" would be a wrong claim.
    let ua = safari_ua("18.0.1");
    let msg = request(&[
        ("Host", "example.test"),
        ("Sec-Fetch-Site", "none"),
        ("Connection", "keep-alive"),
        ("Upgrade-Insecure-Requests", "1"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Accept", SAFARI_ACCEPT),
        ("User-Agent", &ua),
        ("Accept-Language", "en-GB,en;q=0.9"),
        ("Sec-Fetch-Dest", "document"),
        ("Accept-Encoding", "gzip, deflate"),
    ]);
    let app = verdict(&Database::current(), &msg).0;
    assert_ne!(app.as_deref(), Some("Safari 11 to 15"));
}
