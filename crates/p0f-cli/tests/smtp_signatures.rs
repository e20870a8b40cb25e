//! Floors on the labelled SMTP captures (`samples/smtp/`, made from real
//! MTAs and mail clients by `samples/smtp/capture.sh`) for the built-in
//! `[smtp:client]` / `[smtp:server]` signatures, through the scoring tool
//! (`tools/smtpscore.py`). A later edit of `p0f-rs.fp` that loses a
//! program, or makes a verdict name software that did not speak, fails.

mod common;

use std::process::{Command, Output};

const CAPTURES: [&str; 5] = [
    "samples/smtp/mta.pcap",
    "samples/smtp/servers.pcap",
    "samples/smtp/mesh.pcap",
    "samples/smtp/clients.pcap",
    "samples/smtp/botlike.pcap",
];

fn smtpscore(extra: &[&str]) -> (Output, String) {
    let repo = common::repo();
    let out = Command::new("python3")
        .arg(repo.join("tools/smtpscore.py"))
        .args(["--p0f", common::p0f()])
        .args(extra)
        .arg("samples/smtp/labels.txt")
        .args(CAPTURES)
        .current_dir(&repo)
        .output()
        .expect("python3 runs the scoring tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}{}", String::from_utf8_lossy(&out.stderr));
    (out, text)
}

/// Every label's floor. What the raw signature cannot tell apart is named
/// together ("Postfix/Exim/Sendmail/Exchange"; docs/signatures.md, "SMTP
/// dialects"), so each program is named in every one of its observations
/// but one: Postfix's single 8-bit message (`BODY=8BITMIME`, seen once, so
/// no entry) is unknown, 8 of 9. `client:unknown` (the scripted bot-like
/// client) is never claimed.
const FLOORS: [&str; 14] = [
    "client:Postfix=88",
    "client:Exim=100",
    "client:OpenSMTPD=100",
    "client:Sendmail=100",
    "client:swaks=100",
    "client:msmtp=100",
    "client:smtplib=100",
    "client:Net-SMTP=100",
    "client:curl=100",
    "client:unknown=100",
    "server:Postfix=100",
    "server:Exim=100",
    "server:OpenSMTPD=100",
    "server:Sendmail=100",
];

fn floor_args() -> Vec<&'static str> {
    let mut args = Vec::new();
    for f in FLOORS {
        args.extend(["--floor", f]);
    }
    // Every verdict names only software that spoke it.
    args.extend(["--min-precision", "100"]);
    args
}

#[test]
fn every_program_is_named_and_no_verdict_names_another() {
    let (out, text) = smtpscore(&floor_args());
    assert!(out.status.success(), "a floor was not met:\n{text}");
    // All five captures were read: 78 dialogues, a client and a server
    // verdict each (a change here means the captures or the observer did).
    assert!(text.contains("SMTP observations scored: 156"), "{text}");
}

#[test]
fn exims_commands_in_its_closing_segment_are_read() {
    // Exim pipelines MAIL, RCPT, the BDAT chunk and QUIT into the segment
    // that carries its FIN; the dialogue must still be read to the end.
    let out = common::run_in(&common::repo(), &["-r", "samples/smtp/mta.pcap"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exim: Vec<String> = common::blocks(&stdout)
        .into_iter()
        .filter(|b| b.contains("(smtp client)") && b.contains("10.88.0.12/"))
        .collect();
    assert_eq!(exim.len(), 5, "{stdout}");
    let plain = exim.iter().filter(|b| b.contains("EHLO,MAIL,RCPT:-:quit"));
    assert_eq!(plain.count(), 3, "{exim:#?}");
}

#[test]
fn without_smtp_signatures_the_floors_fail() {
    // p0f 3.09b's facts (no [smtp:*] sections) through -f: every dialect
    // is unknown, so the floors above measure the database, not the tool.
    let stock = common::stock_facts();
    let mut args = vec!["-f", stock.to_str().unwrap()];
    args.extend(floor_args());
    let (out, text) = smtpscore(&args);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("client:Postfix") && text.contains("0.0%"),
        "{text}"
    );
    assert!(text.contains("Unknown dialects"), "{text}");
}

#[test]
fn public_captures_name_their_sending_mta() {
    // The shared corpus's arkime captures: senders named by the Received
    // header they added (samples/smtp/corpus-labels.txt), Exchange 2010
    // among them.
    let Some(shared) = common::shared() else {
        return;
    };
    let repo = common::repo();
    let labels = repo.join("samples/smtp/corpus-labels.txt");
    let text = std::fs::read_to_string(&labels).unwrap();
    let pcaps: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let file = l.split(':').next().unwrap();
            shared
                .join("corpus/dev/arkime")
                .join(file)
                .display()
                .to_string()
        })
        .collect();
    let out = Command::new("python3")
        .arg(repo.join("tools/smtpscore.py"))
        .args(["--p0f", common::p0f()])
        .args([
            "--floor",
            "client:Exchange=100",
            "--floor",
            "client:Sendmail=100",
        ])
        .args([
            "--floor",
            "client:Exim=100",
            "--floor",
            "client:Postfix=100",
        ])
        .args(["--min-precision", "100"])
        .arg(&labels)
        .args(&pcaps)
        .current_dir(&repo)
        .output()
        .expect("python3 runs the scoring tool");
    let report = String::from_utf8_lossy(&out.stdout);
    print!("{report}");
    assert!(out.status.success(), "{report}");
    assert!(report.contains("SMTP observations scored: 8"), "{report}");
}
