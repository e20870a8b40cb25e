//! The SYN+ACK and HTTP entries written from public captures of the shared
//! corpus (docs/signatures.md, "Servers and HTTP clients from the corpus"):
//! each capture they rest on still gets its verdict, and p0f 3.09b's facts
//! name none of them, so the check measures the built-in database.
//! These captures are the evidence, not held-out data: this is a
//! regression check, not an accuracy figure.

mod common;

use std::path::Path;

/// (capture under corpus/dev, block kind, subject address/port, verdict).
const EVIDENCE: [(&str, &str, &str, &str); 12] = [
    (
        "nDPI/anydesk.pcapng",
        "syn+ack",
        "192.168.1.187/7070",
        "Windows 10, 11 or Server 2016+",
    ),
    (
        "nDPI/radmin3.pcapng",
        "syn+ack",
        "192.168.88.197/4899",
        "Windows 10, 11 or Server 2016+",
    ),
    (
        "nDPI/teams.pcap",
        "syn+ack",
        "52.114.250.123/443",
        "Windows 10, 11 or Server 2016+",
    ),
    (
        "nDPI/anydesk.pcapng",
        "syn+ack",
        "192.168.1.178/7070",
        "macOS or iOS",
    ),
    (
        "nDPI/nats.pcap",
        "syn+ack",
        "127.0.0.1/4222",
        "macOS or iOS",
    ),
    (
        "nDPI/opc-ua.pcap",
        "syn+ack",
        "127.0.0.1/4840",
        "macOS or iOS",
    ),
    (
        "arkime/ssl-selfsign.pcap",
        "syn+ack",
        "10.180.152.137/4443",
        "macOS or iOS",
    ),
    (
        "arkime/http-empty-useragent.pcap",
        "syn+ack",
        "0:0:0:0:0:0:0:1/9200",
        "macOS or iOS",
    ),
    (
        "nDPI/netflix.pcap",
        "syn+ack",
        "23.246.11.141/80",
        "FreeBSD",
    ),
    (
        "nDPI/KakaoTalk_chat.pcap",
        "http request",
        "10.24.82.188/37553",
        "Android HttpURLConnection",
    ),
    (
        "nDPI/alexa-app.pcapng",
        "http request",
        "172.16.42.216/60246",
        "Android HttpURLConnection",
    ),
    (
        "nDPI/xiaomi.pcap",
        "http request",
        "192.168.2.100/48698",
        "Android HttpURLConnection",
    ),
];

/// The verdicts (`os` or `app` line) p0f gives `subject` in `kind` blocks.
fn verdicts(dir: &Path, capture: &str, kind: &str, subject: &str, stock: bool) -> Vec<String> {
    let facts = common::stock_facts();
    let mut args = vec!["-r", capture];
    if stock {
        args.extend(["-f", facts.to_str().unwrap()]);
    }
    let out = common::run_in(dir, &args);
    assert!(out.status.success(), "p0f -r {capture} failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let role = if kind.starts_with("syn+ack") || kind == "http response" {
        "server"
    } else {
        "client"
    };
    common::blocks(&stdout)
        .iter()
        .filter(|b| common::kind(b) == kind)
        .filter(|b| {
            b.lines()
                .any(|l| l.starts_with("| ") && l.contains(role) && l.ends_with(subject))
        })
        .filter_map(|b| {
            b.lines()
                .find(|l| l.starts_with("| os ") || l.starts_with("| app "))
                .and_then(|l| l.split_once("= "))
                .map(|(_, v)| v.to_string())
        })
        .collect()
}

#[test]
fn corpus_servers_and_clients_keep_their_verdicts() {
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = shared.join("corpus/dev");
    for (capture, kind, subject, want) in EVIDENCE {
        let got = verdicts(&dir, capture, kind, subject, false);
        assert!(!got.is_empty(), "{capture}: no {kind} of {subject}");
        assert!(
            got.iter().all(|v| v == want),
            "{capture} {kind} {subject}: {got:?}, want {want}"
        );
    }
}

#[test]
fn stock_facts_name_none_of_them() {
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = shared.join("corpus/dev");
    for (capture, kind, subject, _) in EVIDENCE {
        let got = verdicts(&dir, capture, kind, subject, true);
        assert!(!got.is_empty(), "{capture}: no {kind} of {subject}");
        assert!(
            got.iter().all(|v| v == "???"),
            "{capture} {kind} {subject}: stock says {got:?}"
        );
    }
}

/// How many `host change` blocks in `capture` give the reason ua_vs_os.
fn ua_vs_os(dir: &Path, capture: &str, stock: bool) -> usize {
    let facts = common::stock_facts();
    let mut args = vec!["-r", capture];
    if stock {
        args.extend(["-f", facts.to_str().unwrap()]);
    }
    let out = common::run_in(dir, &args);
    common::blocks(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .filter(|b| common::kind(b) == "host change" && b.contains("ua_vs_os"))
        .count()
}

#[test]
fn user_agents_map_to_this_databases_names() {
    // Chrome on Mac OS X from hosts whose SYN is "macOS or iOS", and Android's
    // HttpURLConnection from phones whose SYN is "Android": the User-Agent
    // agrees with the SYN, so no ua_vs_os host change. Stock's map ("Mac OS
    // X") raises one for each Mac.
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = shared.join("corpus/dev");
    for capture in ["nDPI/http_auth.pcap", "arkime/http-content-zip.pcap"] {
        assert_eq!(ua_vs_os(&dir, capture, false), 0, "{capture}");
        assert_eq!(
            ua_vs_os(&dir, capture, true),
            1,
            "{capture} with stock facts"
        );
    }
    for capture in ["nDPI/xiaomi.pcap", "nDPI/alexa-app.pcapng"] {
        assert_eq!(ua_vs_os(&dir, capture, false), 0, "{capture}");
    }
}
