//! The milter state machine on an arbitrary command stream from the MTA:
//! the session never panics or hangs, ends when the stream does, and every
//! byte it sends back is a well-formed reply frame of a kind it may send.
//! The p0f socket does not exist, so every lookup fails at once (fail-open
//! or tempfail, chosen by the input); tokio's clock is paused, so timeouts
//! cost no real time.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use p0f_fuzz::Cursor;
use p0f_milter::milter::{proto, serve, MilterOptions};
use p0f_policy::config::parse_plugin_line;
use p0f_policy::{FailMode, Policy, PolicyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REPLIES: &[u8] = &[
    proto::R_ADDHEADER,
    proto::R_INSHEADER,
    proto::R_CHGHEADER,
    proto::R_ACCEPT,
    proto::R_CONTINUE,
    proto::R_REPLYCODE,
    proto::R_OPTNEG,
];

/// Commands the fuzzer picks from (and, rarely, any byte).
const COMMANDS: &[u8] = b"ABCDEHKLMNOQRTU";

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let mut stream = Vec::new();
    let mut commands = 0usize;
    while !c.is_empty() && commands < 64 {
        let pick = c.u8();
        let cmd = if pick & 0x80 != 0 {
            pick
        } else {
            COMMANDS[usize::from(pick) % COMMANDS.len()]
        };
        let len = usize::from(c.u8());
        let body = c.bytes(len);
        stream.extend_from_slice(&((body.len() + 1) as u32).to_be_bytes());
        stream.push(cmd);
        stream.extend_from_slice(body);
        commands += 1;
    }
    let instance = parse_plugin_line("ident/p0f /nonexistent/p0f-fuzz.sock", "fuzz")
        .unwrap()
        .unwrap();
    let policy = Policy::new(PolicyConfig {
        instances: vec![instance],
        fail_mode: if flags & 1 != 0 { FailMode::Tempfail } else { FailMode::Open },
        ..PolicyConfig::default()
    });
    let opts = MilterOptions {
        request_macros: flags & 2 != 0,
        ..MilterOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let replies = rt.block_on(async move {
        let (mut mta, filter) = tokio::io::duplex(1 << 20);
        let session = tokio::spawn(serve(filter, "fuzz".into(), policy, opts));
        mta.write_all(&stream).await.unwrap();
        mta.shutdown().await.unwrap();
        let mut replies = Vec::new();
        mta.read_to_end(&mut replies).await.unwrap();
        tokio::time::timeout(Duration::from_secs(3600), session)
            .await
            .expect("session did not end with its stream")
            .expect("session panicked")
            .ok();
        replies
    });
    let mut b = &replies[..];
    let mut frames = 0;
    while !b.is_empty() {
        assert!(b.len() >= 5, "partial reply frame");
        let len = proto::check_len(u32::from_be_bytes(b[..4].try_into().unwrap())).unwrap();
        assert!(b.len() >= 4 + len);
        assert!(REPLIES.contains(&b[4]), "reply {:?}", b[4] as char);
        b = &b[4 + len..];
        frames += 1;
    }
    // At most one reply per command, plus header edits at end of message.
    assert!(frames <= commands * 8 + 1);
});
