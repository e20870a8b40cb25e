//! HTTP entries of the built-in database that rest on messages recorded in
//! public code ([T] in `p0f-rs.fp`): each recorded header order, written
//! here with values of our own, gets the entry's label, and p0f 3.09b's
//! facts do not name it. Regression checks of those entries, not accuracy
//! figures.

mod common;

use common::Feeder;
use p0f_http::{app_value, match_message, params, Message, Vocabulary};
use p0f_sigdb::Database;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";

/// The response a server sends with `headers` (name, value) in this order.
fn response(headers: &[(&str, &str)]) -> Message {
    let mut text = String::from("HTTP/1.1 200 OK\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut fd = Feeder::new(false);
    fd.packet(true, REQUEST);
    fd.packet(false, text.as_bytes());
    fd.messages
        .into_iter()
        .find(|m| !m.request)
        .expect("the response is complete")
}

fn verdict(db: &Database, msg: &Message) -> (Option<String>, String) {
    let vocab = Vocabulary::new(db);
    let m = match_message(db, &vocab, msg);
    (app_value(db, false, &m), params(db, msg, &m).to_string())
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
    let db = Database::current();
    for msg in [iis_static(), iis_aspnet()] {
        assert_eq!(
            verdict(&db, &msg),
            (Some("IIS 7 to 10".to_string()), "none".to_string())
        );
    }
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
