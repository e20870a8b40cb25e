//! The HTTP entries of the built-in database against our own captures of
//! real clients and servers (`samples/labelled/http.pcap` and
//! `okhttp.pcap`, made by `samples/labelled/capture.sh`): every message
//! gets the application that sent it, and p0f 3.09b's facts name fewer of
//! them, so the check measures the new database. The captures are evidence
//! the entries cite, so this guards against regressions; it is not an
//! accuracy figure.

mod common;

use std::collections::BTreeMap;

/// (kind, application) -> how many messages of that kind got it.
type Tally = BTreeMap<(String, String), usize>;

/// The `app` of every HTTP block p0f prints for `captures`.
fn apps(captures: &[&str], stock: bool) -> Tally {
    let repo = common::repo();
    let facts = common::stock_facts();
    let mut tally = Tally::new();
    for capture in captures {
        let mut args = vec!["-r", capture];
        if stock {
            args.extend(["-f", facts.to_str().unwrap()]);
        }
        let out = common::run_in(&repo, &args);
        assert!(out.status.success(), "p0f -r {capture} failed");
        for block in common::blocks(&String::from_utf8_lossy(&out.stdout)) {
            let kind = common::kind(&block).to_string();
            if !kind.starts_with("http") {
                continue;
            }
            let app = block
                .lines()
                .find_map(|l| l.strip_prefix("| app      = "))
                .unwrap_or_else(|| panic!("{capture}: no app line in\n{block}"));
            *tally.entry((kind, app.to_string())).or_default() += 1;
        }
    }
    tally
}

const CAPTURES: [&str; 2] = ["samples/labelled/http.pcap", "samples/labelled/okhttp.pcap"];

/// What each message of the two captures is, by capture.sh's runs: curl
/// against four servers, one request each from the other clients, all
/// else against nginx, and OkHttp twice (with and without a cookie).
const EXPECTED: [(&str, &str, usize); 16] = [
    ("http request", "curl", 4),
    ("http request", "wget", 1),
    ("http request", "Python requests", 1),
    ("http request", "Python httpx", 1),
    ("http request", "Python urllib", 1),
    ("http request", "Go net/http", 1),
    ("http request", "Java HttpClient", 1),
    ("http request", "Chromium Chrome, Edge or other", 1),
    ("http request", "Firefox 10.x or newer", 1),
    ("http request", "okhttp", 2),
    ("http response", "nginx 1.x", 11),
    ("http response", "lighttpd 1.4", 1),
    ("http response", "Apache 2.x", 1),
    ("http response", "Caddy 2.x", 1),
    // Nothing here is IIS: its entry must not catch other servers.
    ("http response", "IIS 7 to 10", 0),
    ("http response", "???", 0),
];

#[test]
fn own_clients_and_servers_get_their_application() {
    let got = apps(&CAPTURES, false);
    for (kind, app, count) in EXPECTED {
        let n = got
            .get(&(kind.to_string(), app.to_string()))
            .copied()
            .unwrap_or(0);
        assert_eq!(n, count, "{kind} '{app}': {n}, want {count}; all: {got:?}");
    }
    let total: usize = got.values().sum();
    let expected: usize = EXPECTED.iter().map(|e| e.2).sum();
    assert_eq!(total, expected, "messages not listed above: {got:?}");
}

#[test]
fn stock_facts_miss_the_current_clients() {
    // p0f 3.09b's database knows none of these; a test that passed with
    // it would not be measuring the new entries.
    let got = apps(&CAPTURES, true);
    for app in [
        "okhttp",
        "Go net/http",
        "Java HttpClient",
        "Python httpx",
        "Caddy 2.x",
    ] {
        let n: usize = got
            .iter()
            .filter(|((_, a), _)| a.starts_with(app))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(n, 0, "stock names {app}: {got:?}");
    }
}
