//! SMTP dialect observation on real captures of the shared corpus (SMTP
//! sessions captured by other projects: nDPI, Arkime), and on a database
//! given with `-f`: what is printed, how it matches, and that
//! `--bug-compat` prints none of it.

mod common;

use std::path::PathBuf;

fn corpus(shared: &std::path::Path, rel: &str) -> PathBuf {
    shared.join("corpus/dev").join(rel)
}

/// `(kind, raw_sig, app, flags)` of every SMTP block.
fn smtp_blocks(stdout: &str) -> Vec<(String, String, String, String)> {
    common::blocks(stdout)
        .iter()
        .filter(|b| common::kind(b).starts_with("smtp "))
        .map(|b| {
            let field = |k: &str| {
                b.lines()
                    .find_map(|l| {
                        l.strip_prefix("| ")
                            .and_then(|r| r.split_once(" = "))
                            .filter(|(key, _)| key.trim() == k)
                            .map(|(_, v)| v.to_string())
                    })
                    .unwrap_or_default()
            };
            (
                common::kind(b).to_string(),
                field("raw_sig"),
                field("app"),
                field("flags"),
            )
        })
        .collect()
}

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = common::run_in(dir, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn real_sessions_are_observed_and_bug_compat_shows_none() {
    let Some(shared) = common::shared() else {
        return;
    };
    let cap = corpus(&shared, "nDPI/smtp.pcap");
    let dir = cap.parent().unwrap();
    let out = run(dir, &["-r", "smtp.pcap"]);
    let blocks = smtp_blocks(&out);
    let clients: Vec<_> = blocks.iter().filter(|b| b.0 == "smtp client").collect();
    let servers: Vec<_> = blocks.iter().filter(|b| b.0 == "smtp server").collect();
    assert!(!clients.is_empty() && !servers.is_empty(), "{out}");
    for (_, raw, _, flags) in &blocks {
        assert!(!raw.is_empty() && !flags.is_empty());
    }
    // Every client signature has the documented twelve fields, and the
    // session (which ends in QUIT) is read to its end.
    for (_, raw, _, _) in &clients {
        assert_eq!(raw.split(':').count(), 12, "{raw}");
    }
    assert!(
        clients.iter().any(|c| c.1.ends_with(":quit")),
        "{clients:#?}"
    );
    let compat = run(dir, &["--bug-compat", "-r", "smtp.pcap"]);
    assert!(smtp_blocks(&compat).is_empty());
    // Take the SMTP blocks away and the rest is what --bug-compat prints
    // with the same database.
    let stock = common::stock_facts();
    let fixed = run(dir, &["-f", stock.to_str().unwrap(), "-r", "smtp.pcap"]);
    let compat = run(
        dir,
        &[
            "--bug-compat",
            "-f",
            stock.to_str().unwrap(),
            "-r",
            "smtp.pcap",
        ],
    );
    let others = |s: &str| -> Vec<String> {
        common::blocks(s)
            .into_iter()
            .filter(|b| !common::kind(b).starts_with("smtp "))
            .collect()
    };
    assert_eq!(others(&fixed), others(&compat));
}

#[test]
fn starttls_sessions_stop_at_starttls() {
    let Some(shared) = common::shared() else {
        return;
    };
    let cap = corpus(&shared, "nDPI/smtp-starttls.pcap");
    let out = run(cap.parent().unwrap(), &["-r", "smtp-starttls.pcap"]);
    let clients: Vec<_> = smtp_blocks(&out)
        .into_iter()
        .filter(|b| b.0 == "smtp client")
        .collect();
    assert!(!clients.is_empty(), "{out}");
    for (_, raw, _, flags) in &clients {
        assert!(raw.ends_with(":tls"), "{raw}");
        assert!(flags.contains("starttls"), "{flags}");
    }
}

#[test]
fn a_database_signature_names_the_dialect_and_summary_lists_unknown_ones() {
    let Some(shared) = common::shared() else {
        return;
    };
    let cap = corpus(&shared, "nDPI/smtp.pcap");
    let dir = cap.parent().unwrap();
    // What the capture's client looks like, made into a signature.
    let out = run(dir, &["-r", "smtp.pcap"]);
    let blocks = smtp_blocks(&out);
    let client = blocks.iter().find(|b| b.0 == "smtp client").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("smtp.fp");
    let mut text = String::from_utf8(
        std::fs::read(common::repo().join("crates/p0f-sigdb/data/p0f-rs.fp")).unwrap(),
    )
    .unwrap();
    text.push_str(&format!(
        "\n[smtp:client]\n\nlabel = s:mta:Test MTA:1.x\nsig   = {}\n",
        client.1
    ));
    std::fs::write(&db, &text).unwrap();
    let named = run(dir, &["-f", db.to_str().unwrap(), "-r", "smtp.pcap"]);
    let named = smtp_blocks(&named);
    assert!(
        named
            .iter()
            .any(|b| b.0 == "smtp client" && b.1 == client.1 && b.2 == "Test MTA 1.x"),
        "{named:#?}"
    );
    // Without it, the summary offers the raw signature as a p0f.fp line.
    let summary = run(dir, &["-r", "smtp.pcap", "--summary", "--no-progress"]);
    if client.2 == "???" {
        assert!(summary.contains("[smtp:client]"), "{summary}");
        assert!(
            summary.contains(&format!("sig   = {}", client.1)),
            "{summary}"
        );
    }
    // A malformed SMTP signature is refused with the file and line.
    std::fs::write(&db, "[smtp:client]\nlabel = s:mta:X:\nsig = wait:EHLO\n").unwrap();
    let bad = common::run_in(dir, &["-f", db.to_str().unwrap(), "-r", "smtp.pcap"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("smtp.fp:3:"), "{err}");
}

#[test]
fn json_and_log_carry_the_smtp_blocks() {
    let Some(shared) = common::shared() else {
        return;
    };
    let cap = corpus(&shared, "nDPI/smtp.pcap");
    let dir = cap.parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("p0f.log");
    let out = run(
        dir,
        &["-r", "smtp.pcap", "--json", "-o", log.to_str().unwrap()],
    );
    let smtp: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"].as_str().is_some_and(|k| k.starts_with("smtp ")))
        .collect();
    assert!(!smtp.is_empty());
    for v in &smtp {
        assert!(v["flags"].is_array(), "{v}");
        assert!(v["raw_sig"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert!(v.get("app").is_some(), "{v}");
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("mod=smtp client|") && l.contains("|raw_sig=")),
        "{log}"
    );
}

#[test]
fn smtp_ports_none_turns_it_off() {
    let Some(shared) = common::shared() else {
        return;
    };
    let cap = corpus(&shared, "nDPI/smtp.pcap");
    let out = run(
        cap.parent().unwrap(),
        &["-r", "smtp.pcap", "--smtp-ports", "none"],
    );
    assert!(smtp_blocks(&out).is_empty());
    let help = common::run_in(cap.parent().unwrap(), &["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--smtp-ports"), "{help}");
}
