//! The whole engine on arbitrary frames of every link type, with small
//! limits: no panic, the connection and host tables stay within their
//! limits, and every host it remembers can be asked about through the v3
//! API with a reply that survives encoding.
#![no_main]
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use p0f_api::v3;
use p0f_engine::{Config, Engine};
use p0f_fuzz::{builtin_db, frames, Cursor, Recorder, LINK_TYPES};

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let link = LINK_TYPES[usize::from(c.u8()) % LINK_TYPES.len()];
    let flags = c.u8();
    let cfg = Config {
        max_conn: 1 + u32::from(flags & 7),
        max_hosts: 1 + u32::from((flags >> 3) & 7),
        conn_max_age: 1 + u32::from(c.u8() % 40),
        host_idle_limit: 1 + u32::from(c.u8() % 4),
        bug_compat: flags & 0x40 != 0,
        offline: flags & 0x80 != 0,
        smtp_ports: p0f_engine::DEFAULT_SMTP_PORTS.to_vec(),
    };
    let (max_conn, max_hosts) = (cfg.max_conn as usize, cfg.max_hosts as usize);
    let mut engine = Engine::new(builtin_db(), cfg, link);
    let mut rec = Recorder::default();
    let mut addrs: Vec<IpAddr> = Vec::new();
    for f in frames(&mut c, 256) {
        engine.process(i64::from(f.ts_sec), f.ts_usec, f.wire_len, f.data, &mut rec);
        // p0f's limits: a new connection or host is added after pruning,
        // so a table may stand one above its limit.
        assert!(engine.flow_count() <= max_conn + 1, "{} flows", engine.flow_count());
        assert!(engine.host_count() <= max_hosts + 1, "{} hosts", engine.host_count());
        for line in rec.lines.drain(..) {
            // Remember addresses the engine reported, to query them.
            if let Some(a) = line
                .split_whitespace()
                .nth(2)
                .and_then(|s| s.rsplit_once(':'))
                .and_then(|(a, _)| a.trim_matches(['[', ']']).parse().ok())
            {
                if addrs.len() < 16 {
                    addrs.push(a);
                }
            }
        }
    }
    for a in addrs {
        let r = engine.query_v3(a);
        assert_eq!(v3::Response::decode(&r.encode()), Some(r));
    }
});
