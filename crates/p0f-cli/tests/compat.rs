//! The default mode differs from `--bug-compat` only by the fixes listed in
//! docs/compat.md, and each fix does what it says.

mod common;

use std::collections::HashMap;

fn multiset(blocks: &[String]) -> HashMap<&str, i32> {
    let mut m = HashMap::new();
    for b in blocks {
        *m.entry(b.as_str()).or_insert(0) += 1;
    }
    m
}

/// Blocks in `a` that are not in `b` (as multisets).
fn missing<'a>(a: &'a [String], b: &[String]) -> Vec<&'a str> {
    let mut have = multiset(b);
    let mut out = Vec::new();
    for x in a {
        match have.get_mut(x.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(x.as_str()),
        }
    }
    out
}

#[test]
fn fixes_change_nothing_else_on_the_corpus() {
    let Some(shared) = common::shared() else {
        return;
    };
    let db = shared.join("reference/p0f.fp");
    let db = db.to_str().unwrap();
    let mut captures = Vec::new();
    for entry in walk(&shared.join("corpus/dev")) {
        if entry
            .with_file_name(format!(
                "{}.p0f.out",
                entry.file_name().unwrap().to_str().unwrap()
            ))
            .exists()
        {
            captures.push(entry);
        }
    }
    assert!(!captures.is_empty());
    let mut changed = 0;
    for cap in &captures {
        let dir = cap.parent().unwrap();
        let name = cap.file_name().unwrap().to_str().unwrap();
        let fixed = common::run_in(dir, &["-f", db, "-r", name]);
        let compat = common::run_in(dir, &["--bug-compat", "-f", db, "-r", name]);
        let (fixed_out, compat_out) = (
            String::from_utf8_lossy(&fixed.stdout),
            String::from_utf8_lossy(&compat.stdout),
        );
        if fixed_out == compat_out {
            continue;
        }
        changed += 1;
        let (fb, cb) = (common::blocks(&fixed_out), common::blocks(&compat_out));
        let gone = missing(&cb, &fb);
        let added = missing(&fb, &cb);
        let vlan_dropped = String::from_utf8_lossy(&compat.stderr).contains("Unknown packet type");
        let nat = |b: &&str| matches!(common::kind(b), "host change" | "ip sharing");
        // SMTP observation only adds its own blocks (docs/compat.md).
        assert!(
            !gone.iter().any(|b| common::kind(b).starts_with("smtp ")),
            "{name}: --bug-compat printed SMTP blocks"
        );
        let added: Vec<&str> = added
            .into_iter()
            .filter(|b| !common::kind(b).starts_with("smtp "))
            .collect();
        if gone.is_empty() && added.is_empty() {
            continue;
        }
        if vlan_dropped {
            // Reading tagged frames only adds observations (and the NAT
            // verdicts they lead to).
            assert!(gone.iter().all(nat), "{name}: VLAN fix lost {gone:#?}");
        } else {
            // Otherwise only split HTTP responses may parse differently.
            let http = |b: &&str| common::kind(b) == "http response" || nat(b);
            assert!(
                gone.iter().all(http) && added.iter().all(http),
                "{name}: unexpected change {gone:#?} -> {added:#?}"
            );
            assert!(!added.is_empty() || !gone.is_empty());
        }
    }
    assert!(
        changed > 0,
        "the corpus has VLAN and split-response captures"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn tagged_frames_are_fingerprinted_unless_bug_compatible() {
    let samples = common::repo().join("samples");
    // The same signatures in both modes, so that only the fix differs.
    let stock = common::stock_facts();
    let stock = stock.to_str().unwrap();
    let fixed = common::run_in(&samples, &["-f", stock, "-r", "vlan.pcap"]);
    let compat = common::run_in(&samples, &["--bug-compat", "-f", stock, "-r", "vlan.pcap"]);
    let fixed_blocks = common::blocks(&String::from_utf8_lossy(&fixed.stdout));
    let compat_blocks = common::blocks(&String::from_utf8_lossy(&compat.stdout));
    let syns = |b: &[String], port: &str| {
        b.iter()
            .filter(|x| {
                common::kind(x) == "syn" && x.contains(&format!("-> 198.51.100.20/{port} "))
            })
            .count()
    };
    // The tagged handshake (port 80) is seen only with the fix...
    assert_eq!(syns(&fixed_blocks, "80"), 1);
    assert_eq!(syns(&compat_blocks, "80"), 0);
    assert!(String::from_utf8_lossy(&compat.stderr).contains("Unknown packet type"));
    // ...and the untagged one (port 81) reads the same in both modes.
    assert_eq!(syns(&fixed_blocks, "81"), 1);
    let untagged = |b: &[String]| {
        b.iter()
            .filter(|x| x.contains("/81 ("))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(untagged(&fixed_blocks), untagged(&compat_blocks));
    // Same stack, same signature, tag or no tag.
    let raw = |b: &[String], port: &str| {
        b.iter()
            .find(|x| common::kind(x) == "syn" && x.contains(&format!("/{port} (")))
            .and_then(|x| {
                x.lines()
                    .find(|l| l.starts_with("| raw_sig"))
                    .map(str::to_string)
            })
    };
    assert_eq!(raw(&fixed_blocks, "80"), raw(&fixed_blocks, "81"));
}

#[test]
fn without_f_bug_compat_uses_the_stock_facts() {
    // --bug-compat alone gives p0f 3.09b's verdicts: the same output as with
    // p0f's own file, which is what the corpus comparison runs.
    let samples = common::repo().join("samples");
    let stock = common::stock_facts();
    let builtin = common::run_in(&samples, &["--bug-compat", "-r", "loopback.pcap"]);
    let file = common::run_in(
        &samples,
        &[
            "--bug-compat",
            "-f",
            stock.to_str().unwrap(),
            "-r",
            "loopback.pcap",
        ],
    );
    let text = String::from_utf8_lossy(&builtin.stdout);
    assert!(text.contains("[+] Loaded 322 signatures from the built-in p0f 3.09b database."));
    assert_eq!(
        common::blocks(&text),
        common::blocks(&String::from_utf8_lossy(&file.stdout))
    );
    assert!(text.contains("| os       = Linux 2.2.x-3.x\n"), "{text}");
}

#[test]
fn sample_capture_runs_with_the_built_in_database() {
    let samples = common::repo().join("samples");
    let out = common::run_in(&samples, &["-r", "loopback.pcap"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let count = p0f_sigdb::Database::current().sig_count();
    assert!(
        text.contains(&format!(
            "[+] Loaded {count} signatures from the built-in database."
        )),
        "{text}"
    );
    assert!(
        !text.contains("Linux 3.11 and newer"),
        "the default is p0f-rs's database"
    );
    let blocks = common::blocks(&text);
    for kind in [
        "syn",
        "syn+ack",
        "mtu",
        "http request",
        "http response",
        "uptime",
    ] {
        assert!(
            blocks.iter().any(|b| common::kind(b) == kind),
            "no {kind} block in the sample"
        );
    }
    assert!(text.trim_end().ends_with("packets."));
}

/// Runs both modes on a sample capture: (fixed blocks, compat blocks, compat stderr).
/// Without a database of its own, both runs use the stock facts, so that
/// only the fixes differ.
fn both_modes(capture: &str, db: Option<&str>) -> (Vec<String>, Vec<String>, String) {
    let samples = common::repo().join("samples");
    let stock = common::stock_facts();
    let db = db.unwrap_or_else(|| stock.to_str().unwrap());
    let args = vec!["-r", capture, "-f", db];
    let fixed = common::run_in(&samples, &args);
    let compat = common::run_in(&samples, &[&["--bug-compat"], &args[..]].concat());
    assert!(fixed.status.success() && compat.status.success());
    (
        common::blocks(&String::from_utf8_lossy(&fixed.stdout)),
        common::blocks(&String::from_utf8_lossy(&compat.stdout)),
        String::from_utf8_lossy(&compat.stderr).into_owned(),
    )
}

fn raw_sig_of<'a>(blocks: &'a [String], kind: &str) -> Vec<&'a str> {
    blocks
        .iter()
        .filter(|b| common::kind(b) == kind)
        .filter_map(|b| b.lines().find_map(|l| l.strip_prefix("| raw_sig  = ")))
        .collect()
}

#[test]
fn split_http_responses_keep_every_header() {
    let (fixed, compat, _) = both_modes("http-split.pcap", None);
    // The response's headers arrive in two segments, split after Server.
    assert_eq!(
        raw_sig_of(&fixed, "http response"),
        ["1:Server,?Last-Modified,Content-Type,?Content-Length:Connection,Keep-Alive,Accept-Ranges,Date:Apache"]
    );
    assert_eq!(
        raw_sig_of(&compat, "http response"),
        ["1:Server,Content-Type,?Content-Length:Connection,Keep-Alive,Accept-Ranges,Date:Apache"],
        "p0f 3.09b loses the line after the split"
    );
    let others = |b: &[String]| {
        b.iter()
            .filter(|x| common::kind(x) != "http response")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&fixed), others(&compat));
}

#[test]
fn link_headers_p0f_misreads_are_read() {
    // OpenBSD loopback, PPP in HDLC framing and today's pflog header: p0f
    // 3.09b starts reading IP at the wrong offset and sees nothing.
    for capture in ["loop.pcap", "ppp-serial.pcap", "pflog.pcap"] {
        let (fixed, compat, stderr) = both_modes(capture, None);
        let kinds: Vec<&str> = fixed.iter().map(|b| common::kind(b)).collect();
        assert_eq!(kinds, ["syn", "mtu", "syn+ack", "mtu"], "{capture}");
        assert!(compat.is_empty(), "{capture}");
        assert!(stderr.contains("Unknown packet type"), "{capture}");
    }
}

#[test]
fn http_os_signatures_do_not_flag_their_own_host() {
    let (fixed, compat, _) = both_modes("http-os.pcap", Some("http-os.fp"));
    let changes = |b: &[String]| {
        b.iter()
            .filter(|x| common::kind(x) == "host change")
            .count()
    };
    // The first request moves the host from unknown to TestOS: a change in
    // both modes. The second, identical one is a change only to p0f 3.09b.
    assert_eq!(changes(&fixed), 1);
    assert_eq!(changes(&compat), 2);
    let verdicts = |b: &[String]| {
        b.iter()
            .filter(|x| common::kind(x) != "host change")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&fixed), verdicts(&compat));
}
