//! Output of the real p0f 3.09b on crafted flows (see data/p0f_cases.py),
//! compared line for line with what this crate produces.

mod common;

use common::*;
use p0f_http::*;
use p0f_sigdb::Database;

const CASES: &str = include_str!("data/p0f_cases.txt");
const EXPECTED: &str = include_str!("data/p0f_expected.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn segments(list: &str) -> Vec<Vec<u8>> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(unhex)
        .collect()
}

/// The observation lines (as grep'ed from p0f's log) for every case.
fn render(compat: bool) -> Vec<String> {
    let db = Database::builtin();
    let v = Vocabulary::new(&db);
    let mut out = Vec::new();
    for (i, line) in CASES.lines().enumerate() {
        let (req, resp) = line.split_once(';').unwrap();
        let mut fd = Feeder::new(compat);
        for seg in segments(req) {
            fd.packet(true, &seg);
        }
        for seg in segments(resp) {
            fd.packet(false, &seg);
        }
        for m in &fd.messages {
            let r = match_message(&db, &v, m);
            let mut sig = String::new();
            raw_signature(m, &v, &mut sig);
            out.push(format!(
                "mod=http {}|cli=10.0.0.{}/{}|{}={}|lang={}|params={}|raw_sig={}",
                if m.request { "request" } else { "response" },
                i + 2,
                40000 + i,
                app_key(&db, m.request, &r),
                app_value(&db, m.request, &r).unwrap_or_else(|| "???".into()),
                language(m),
                params(&db, m, &r),
                sig
            ));
        }
    }
    out
}

#[test]
fn compat_mode_matches_p0f() {
    let ours = render(true);
    let theirs: Vec<&str> = EXPECTED.lines().collect();
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn fixed_mode_differs_only_on_split_responses() {
    let fixed = render(false);
    let compat = render(true);
    let req = |v: &[String]| {
        v.iter()
            .filter(|l| l.starts_with("mod=http request"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(req(&fixed), req(&compat));
    // Case 1: Last-Modified survives; case 5: the response is no longer lost;
    // case 14: the split Apache response keeps Server and matches again.
    assert!(fixed
        .iter()
        .any(|l| l.contains("10.0.0.2/")
            && l.contains("raw_sig=1:Server,?Last-Modified,Content-Type:")));
    assert!(fixed
        .iter()
        .any(|l| l.contains("10.0.0.6/") && l.starts_with("mod=http response")));
    assert!(fixed
        .iter()
        .any(|l| l.contains("10.0.0.14/") && l.contains("app=Apache 2.x")));
}
