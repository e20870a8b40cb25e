//! Arbitrary text as a p0f.fp database: no panic; an error names the source
//! and a line inside the text; an accepted database is internally
//! consistent (every index in range, within the size limits) and usable by
//! the engine.
#![no_main]
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use p0f_engine::{Config, Engine};
use p0f_fuzz::Recorder;
use p0f_sigdb::Database;

/// A SYN from 192.0.2.1 to 192.0.2.2 (raw IPv4, MSS + SACK + timestamps +
/// window scale) and its SYN+ACK, to run through an engine using the
/// parsed database.
const SYN: &[u8] = &[
    0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 0x9c, 0x40, 0, 80, 0, 0,
    0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0, 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
    0, 0, 0, 0, 1, 3, 3, 7,
];
const SYN_ACK: &[u8] = &[
    0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1, 0, 80, 0x9c, 0x40, 0, 0,
    0, 9, 0, 0, 0, 2, 0xa0, 0x12, 0xfe, 0x88, 0, 0, 0, 0, 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 5,
    0, 0, 0, 1, 1, 3, 3, 7,
];

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count() as u32;
    match Database::parse(data, "fuzz.fp") {
        Err(e) => {
            assert_eq!(e.source, "fuzz.fp");
            if let Some(l) = e.line {
                assert!(l >= 1 && l <= lines, "line {l} of {lines}");
            }
            assert!(e.to_string().starts_with("fuzz.fp"));
        }
        Ok(db) => {
            assert!(db.sig_count() <= 20_000);
            for l in &db.labels {
                assert!((l.name as usize) < db.names.len());
                if let Some(c) = l.class {
                    assert!((c as usize) < db.classes.len());
                }
            }
            let tcp = db.tcp_request.iter().chain(&db.tcp_response);
            for r in tcp {
                assert!((r.label as usize) < db.labels.len());
                assert!(r.line >= 1 && r.line <= lines);
            }
            for r in db.http_request.iter().chain(&db.http_response) {
                assert!((r.label as usize) < db.labels.len());
            }
            for u in &db.ua_os {
                assert!((u.name as usize) < db.names.len());
            }
            let mut engine = Engine::new(Arc::new(db), Config::default(), 12);
            let mut rec = Recorder::default();
            engine.process(1, 0, SYN.len() as u32, SYN, &mut rec);
            engine.process(1, 1000, SYN_ACK.len() as u32, SYN_ACK, &mut rec);
            let _ = engine.query_v3("192.0.2.1".parse().unwrap());
        }
    }
});
