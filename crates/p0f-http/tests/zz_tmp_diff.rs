mod common;
use common::*;
use p0f_http::*;
use p0f_sigdb::Database;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn diff() {
    let Ok(text) = std::fs::read_to_string("/tmp/httpdiff/cases.txt") else {
        return;
    };
    let compat = std::env::var("COMPAT").map(|v| v == "1").unwrap_or(true);
    let db = Database::builtin();
    let v = Vocabulary::new(&db);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let (req, resp) = line.split_once(';').unwrap();
        let mut fd = Feeder::new(compat);
        for r in req.split(',').filter(|s| !s.is_empty()) {
            fd.packet(true, &unhex(r));
        }
        for r in resp.split(',').filter(|s| !s.is_empty()) {
            fd.packet(false, &unhex(r));
        }
        for m in &fd.messages {
            let r = match_message(&db, &v, m);
            let mut s = String::new();
            raw_signature(m, &v, &mut s);
            out.push_str(&format!(
                "mod=http {}|cli=10.0.0.{}/{}|{}={}|lang={}|params={}|raw_sig={}\n",
                if m.request { "request" } else { "response" },
                i + 2,
                40000 + i,
                app_key(&db, m.request, &r),
                app_value(&db, m.request, &r).unwrap_or("???".into()),
                language(m),
                params(&db, m, &r),
                s
            ));
        }
    }
    std::fs::write(
        if compat {
            "/tmp/httpdiff/ours.http"
        } else {
            "/tmp/httpdiff/ours_fixed.http"
        },
        out,
    )
    .unwrap();
}
