//! Filter expressions on capture files (need the libpcap runtime, which CI
//! installs; elsewhere the tests say so and stop).

mod common;

fn libpcap_present() -> bool {
    if p0f_capture::libpcap_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install libpcap0.8"
    );
    eprintln!("note: libpcap runtime not installed; skipping filter tests");
    false
}

#[test]
fn a_filter_narrows_what_is_fingerprinted() {
    if !libpcap_present() {
        return;
    }
    let samples = common::repo().join("samples");
    let all = common::run_in(&samples, &["-r", "loopback.pcap"]);
    let smtp = common::run_in(&samples, &["-r", "loopback.pcap", "port 2525"]);
    assert!(
        smtp.status.success(),
        "{}",
        String::from_utf8_lossy(&smtp.stderr)
    );
    let text = String::from_utf8_lossy(&smtp.stdout);
    assert!(text.contains("[+] Custom filtering rule enabled: port 2525 [+VLAN]"));
    let blocks = common::blocks(&text);
    assert!(!blocks.is_empty());
    assert!(blocks
        .iter()
        .all(|b| b.lines().next().unwrap().contains("/2525 (")));
    // The signatures of those connections are the unfiltered run's. (Uptime
    // and NAT verdicts compare with earlier traffic of the same host, which
    // the filter hides, so they may differ.)
    let signatures = |blocks: Vec<String>| -> Vec<String> {
        blocks
            .into_iter()
            .filter(|b| b.lines().next().unwrap().contains("/2525 ("))
            .filter(|b| matches!(common::kind(b), "syn" | "syn+ack" | "mtu"))
            .collect()
    };
    let expected = signatures(common::blocks(&String::from_utf8_lossy(&all.stdout)));
    assert!(!expected.is_empty());
    assert_eq!(signatures(blocks), expected);
    // Only the packets that pass are counted.
    let count = |t: &str| {
        t.lines()
            .find_map(|l| l.strip_prefix("All done. Processed "))
            .map(str::to_string)
    };
    assert_ne!(count(&text), count(&String::from_utf8_lossy(&all.stdout)));
}

#[test]
fn a_bad_filter_is_a_clear_error() {
    if !libpcap_present() {
        return;
    }
    let samples = common::repo().join("samples");
    let out = common::run_in(&samples, &["-r", "loopback.pcap", "port port"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad filter expression 'port port'"), "{err}");
}

#[test]
fn a_link_type_libpcap_cannot_filter_is_an_error_as_in_p0f() {
    // LINKTYPE_USER0 (147): libpcap has no code for "tcp" there, so p0f 3.09b
    // aborts in pcap_compile before any observation or "All done" line. This
    // needs no libpcap: the default filter is evaluated natively.
    let dir = std::env::temp_dir().join(format!("p0f-user0-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut pcap = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 147] {
        pcap.extend_from_slice(&word.to_le_bytes());
    }
    std::fs::write(dir.join("user0.pcap"), &pcap).unwrap();
    let out = common::run_in(&dir, &["--bug-compat", "-r", "user0.pcap"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("All done."), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot filter link type 147"), "{err}");
}
