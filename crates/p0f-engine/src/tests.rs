//! Engine-level tests: whole packets through flow logic to observations.

use std::sync::Arc;

use p0f_sigdb::Database;
use p0f_wire::link::dlt;

use super::*;
use crate::packet::tests::ipv4_tcp;

/// Keeps observations as `kind|subject|key=value|...` strings.
#[derive(Default)]
struct Recorder {
    seen: Vec<String>,
    warnings: Vec<String>,
}

impl Sink for Recorder {
    fn observation(&mut self, obs: &Observation<'_>) {
        let mut s = format!(
            "{}|{}",
            obs.kind,
            if obs.about_client { "cli" } else { "srv" }
        );
        for f in obs.fields {
            s.push_str(&format!("|{}={}", f.key, f.value.unwrap_or("???")));
        }
        self.seen.push(s);
    }
    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

impl Recorder {
    fn of_kind(&self, kind: &str) -> Vec<&str> {
        self.seen
            .iter()
            .filter(|s| s.split('|').next() == Some(kind))
            .map(String::as_str)
            .collect()
    }
}

fn engine(cfg: Config) -> Engine {
    Engine::new(Arc::new(Database::builtin()), cfg, dlt::RAW)
}

/// Linux-style SYN options: mss 1460, sok, ts(tsval), nop, ws 7.
fn linux_opts(tsval: u32) -> Vec<u8> {
    let mut o = vec![2, 4, 5, 180, 4, 2, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
    o
}

/// Windows-style SYN options: mss 1460, nop, ws 8, nop, nop, sok.
const WINDOWS_OPTS: [u8; 12] = [2, 4, 5, 180, 1, 3, 3, 8, 1, 1, 4, 2];

fn syn_from(src: [u8; 4], sport: u16, ttl: u8, win: u16, opts: &[u8]) -> Vec<u8> {
    let mut p = ipv4_tcp(p0f_wire::tcp::flags::SYN, opts, &[]);
    p[8] = ttl;
    p[12..16].copy_from_slice(&src);
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[34..36].copy_from_slice(&win.to_be_bytes());
    p
}

#[test]
fn linux_syn_is_fingerprinted_like_p0f() {
    let mut e = engine(Config::default());
    let mut r = Recorder::default();
    let p = syn_from([10, 0, 0, 1], 40000, 57, 64240, &linux_opts(1));
    e.process(1_700_000_000, 0, p.len() as u32, &p, &mut r);
    assert_eq!(
        r.of_kind("syn"),
        ["syn|cli|os=Linux 2.2.x-3.x|dist=7|params=generic|raw_sig=4:57+7:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"]
    );
    assert_eq!(
        r.of_kind("mtu"),
        ["mtu|cli|link=Ethernet or modem|raw_mtu=1500"]
    );
    let host = e.host(&HostAddr::v4([10, 0, 0, 1])).unwrap();
    assert_eq!((host.distance, host.total_conn), (7, 1));
}

#[test]
fn uptime_from_two_syns_one_second_apart() {
    let mut e = engine(Config::default());
    let mut r = Recorder::default();
    let a = syn_from([10, 0, 0, 1], 40000, 64, 64240, &linux_opts(1_000_000));
    let b = syn_from([10, 0, 0, 1], 40001, 64, 64240, &linux_opts(1_001_000));
    e.process(1_700_000_000, 0, a.len() as u32, &a, &mut r);
    e.process(1_700_000_001, 0, b.len() as u32, &b, &mut r);
    assert_eq!(
        r.of_kind("uptime"),
        ["uptime|cli|uptime=0 days 0 hrs 16 min (modulo 49 days)|raw_freq=1000.00 Hz"]
    );
}

#[test]
fn alternating_operating_systems_end_in_ip_sharing() {
    let mut e = engine(Config::default());
    let mut r = Recorder::default();
    for i in 0..5u16 {
        let p = if i % 2 == 0 {
            syn_from(
                [10, 0, 0, 9],
                40000 + i,
                64,
                64240,
                &linux_opts(1000 + u32::from(i)),
            )
        } else {
            syn_from([10, 0, 0, 9], 40000 + i, 128, 64240, &WINDOWS_OPTS)
        };
        e.process(
            1_700_000_000 + i64::from(i) * 10,
            0,
            p.len() as u32,
            &p,
            &mut r,
        );
    }
    let nat: Vec<&str> = r
        .seen
        .iter()
        .filter(|s| s.starts_with("host change") || s.starts_with("ip sharing"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        nat,
        [
            "host change|cli|reason=os_diff|raw_hits=1,1,1,1",
            "host change|cli|reason=os_diff|raw_hits=2,2,2,2",
            "ip sharing|cli|reason=os_diff|raw_hits=3,3,3,3",
            "host change|cli|reason=os_diff|raw_hits=1,1,1,1",
        ]
    );
    assert_ne!(e.host(&HostAddr::v4([10, 0, 0, 9])).unwrap().last_nat, 0);
}

#[test]
fn retransmitted_syn_is_ignored() {
    let mut e = engine(Config::default());
    let mut r = Recorder::default();
    let p = syn_from([10, 0, 0, 1], 40000, 64, 64240, &linux_opts(5));
    e.process(1_700_000_000, 0, p.len() as u32, &p, &mut r);
    e.process(1_700_000_001, 0, p.len() as u32, &p, &mut r);
    assert_eq!(r.of_kind("syn").len(), 1);
    assert_eq!(e.flow_count(), 1);
}

#[test]
fn host_cache_settles_one_above_its_limit() {
    let mut e = engine(Config {
        max_conn: 1000,
        max_hosts: 20,
        ..Config::default()
    });
    let mut r = Recorder::default();
    for i in 0..31u8 {
        let mut p = syn_from([10, 1, 0, i], 40000, 64, 64240, &linux_opts(0));
        // Every SYN goes to the same server, so 32 addresses in all.
        p[16..20].copy_from_slice(&[192, 0, 2, 2]);
        e.process(1_700_000_000, 0, p.len() as u32, &p, &mut r);
        // Close each connection so its hosts can be evicted.
        let mut rst = p.clone();
        rst[33] = p0f_wire::tcp::flags::RST;
        e.process(1_700_000_000, 0, rst.len() as u32, &rst, &mut r);
    }
    assert_eq!(e.host_count(), 21);
    assert!(
        r.warnings.is_empty(),
        "offline mode prints no cache warnings"
    );
}

#[test]
fn unknown_link_layer_warns_once() {
    let mut e = Engine::new(
        Arc::new(Database::builtin()),
        Config::default(),
        dlt::EN10MB,
    );
    let mut r = Recorder::default();
    let mut frame = vec![0u8; 14];
    frame[12] = 0x08;
    frame.extend_from_slice(&syn_from([10, 0, 0, 1], 1, 64, 1, &[]));
    frame[14] = 0x25; // version 2
    for _ in 0..3 {
        e.process(1, 0, frame.len() as u32, &frame, &mut r);
    }
    assert_eq!(r.warnings, ["Unknown packet type 2, link detection issue?"]);
    assert!(r.seen.is_empty());
}

fn vlan_frame(tag: bool) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    if tag {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&syn_from([10, 0, 0, 1], 40000, 64, 64240, &linux_opts(1)));
    f
}

#[test]
fn vlan_frames_are_read_unless_bug_compatible() {
    let frame = vlan_frame(true);
    let mut fixed = Engine::new(
        Arc::new(Database::builtin()),
        Config::default(),
        dlt::EN10MB,
    );
    let mut r = Recorder::default();
    fixed.process(1, 0, frame.len() as u32, &frame, &mut r);
    assert_eq!(r.of_kind("syn").len(), 1);

    let cfg = Config {
        bug_compat: true,
        ..Config::default()
    };
    let mut compat = Engine::new(Arc::new(Database::builtin()), cfg, dlt::EN10MB);
    let mut r2 = Recorder::default();
    compat.process(1, 0, frame.len() as u32, &frame, &mut r2);
    assert!(r2.seen.is_empty());
    assert_eq!(
        r2.warnings,
        ["Unknown packet type 0, link detection issue?"]
    );

    // Untagged frames come out the same in both modes.
    let plain = vlan_frame(false);
    let (mut a, mut b) = (Recorder::default(), Recorder::default());
    let mut e1 = Engine::new(
        Arc::new(Database::builtin()),
        Config::default(),
        dlt::EN10MB,
    );
    let mut e2 = Engine::new(
        Arc::new(Database::builtin()),
        Config {
            bug_compat: true,
            ..Config::default()
        },
        dlt::EN10MB,
    );
    e1.process(1, 0, plain.len() as u32, &plain, &mut a);
    e2.process(1, 0, plain.len() as u32, &plain, &mut b);
    assert_eq!(a.seen, b.seen);
    assert_eq!(a.seen, r.seen, "a tagged frame reads like the untagged one");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Arbitrary packet sequences never panic, and the tables respect
        /// their limits (hosts may sit one above, as in p0f).
        #[test]
        fn arbitrary_traffic_stays_bounded(
            packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..60),
            link in prop_oneof![Just(dlt::RAW), Just(dlt::EN10MB), Just(dlt::LINUX_SLL2), Just(dlt::NULL)],
        ) {
            let cfg = Config { max_conn: 4, max_hosts: 4, ..Config::default() };
            let mut e = Engine::new(Arc::new(Database::builtin()), cfg, link);
            let mut r = Recorder::default();
            for (i, p) in packets.iter().enumerate() {
                e.process(i as i64, 0, p.len() as u32, p, &mut r);
            }
            prop_assert!(e.flow_count() <= 5);
            prop_assert!(e.host_count() <= 6);
        }

        /// Mutations of real SYN/SYN+ACK/ACK exchanges never panic.
        #[test]
        fn mutated_exchanges_never_panic(flips in proptest::collection::vec((0usize..80, any::<u8>()), 0..6)) {
            let mut e = engine(Config::default());
            let mut r = Recorder::default();
            let mut syn = syn_from([10, 0, 0, 1], 40000, 64, 64240, &linux_opts(7));
            for (at, v) in &flips {
                if let Some(b) = syn.get_mut(*at) { *b = *v; }
            }
            e.process(1, 0, syn.len() as u32, &syn, &mut r);
            let mut synack = syn.clone();
            synack[12..16].copy_from_slice(&syn[16..20]);
            synack[16..20].copy_from_slice(&syn[12..16]);
            synack[33] = 0x12;
            e.process(2, 0, synack.len() as u32, &synack, &mut r);
        }
    }
}

#[test]
fn api_answers_like_p0f() {
    let mut e = engine(Config::default());
    let mut r = Recorder::default();
    let a = syn_from([10, 0, 0, 1], 40000, 57, 64240, &linux_opts(1_000_000));
    let b = syn_from([10, 0, 0, 1], 40001, 57, 64240, &linux_opts(1_001_000));
    e.process(1_700_000_000, 0, a.len() as u32, &a, &mut r);
    e.process(1_700_000_001, 0, b.len() as u32, &b, &mut r);
    let resp = e.query_v3("10.0.0.1".parse().unwrap());
    assert_eq!(resp.status, p0f_api::v3::Status::Ok);
    assert_eq!(resp.os_name.as_string(), "Linux");
    assert_eq!(resp.os_flavor.as_string(), "2.2.x-3.x");
    assert_eq!(resp.os_match_q, 2, "generic");
    assert_eq!(
        (resp.first_seen, resp.last_seen, resp.total_conn),
        (1_700_000_000, 1_700_000_001, 2)
    );
    assert_eq!(
        (resp.distance, resp.uptime_min, resp.up_mod_days),
        (7, 16, 49)
    );
    assert_eq!(resp.link_type.as_string(), "Ethernet or modem");
    // The server side saw no SYN+ACK: distance unknown is 255, as in p0f.
    let srv = e.query_v3("192.0.2.2".parse().unwrap());
    assert_eq!(
        (srv.status, srv.distance, srv.total_conn),
        (p0f_api::v3::Status::Ok, 255, 2)
    );
    assert!(srv.os_name.is_empty());
    assert_eq!(
        e.query_v3("10.9.9.9".parse().unwrap()).status,
        p0f_api::v3::Status::NoMatch
    );
}
