//! The Postfix policy-delegation reader and service on arbitrary input:
//! no panic; the requests read do not depend on how the stream arrives
//! (buffer sizes from 1 byte up); each request stays within the attribute
//! and size limits; a request written back as attribute lines reads back
//! the same (decode(encode(x)) == x); and the service answers each request
//! with exactly one well-formed `action=` block.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use p0f_milter::policyd::{read_request, PolicyService, Request, RequestError, MAX_ATTRS};
use p0f_policy::config::parse_plugin_line;
use p0f_policy::{Policy, PolicyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

const IDLE: Duration = Duration::from_secs(60);

async fn read_all(input: &[u8], capacity: usize) -> Vec<Result<Request, RequestError>> {
    let mut rd = BufReader::with_capacity(capacity, input);
    let mut out = Vec::new();
    loop {
        match read_request(&mut rd, IDLE).await {
            Ok(Some(r)) => out.push(Ok(r)),
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

fn encode(req: &Request) -> Vec<u8> {
    let mut v = Vec::new();
    for (k, val) in req {
        v.extend_from_slice(format!("{k}={val}\n").as_bytes());
    }
    v.push(b'\n');
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&cap, input)) = data.split_first() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let whole = read_all(input, 8192).await;
        let trickled = read_all(input, 1 + usize::from(cap % 64)).await;
        assert_eq!(whole, trickled, "buffering changed the requests");
        for r in whole.iter().flatten() {
            assert!(r.len() <= MAX_ATTRS);
            // A value's trailing CR is read as part of the line ending.
            if r.values().any(|v| v.ends_with('\r')) {
                continue;
            }
            let again = read_all(&encode(r), 8192).await;
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].as_ref().ok(), Some(r), "request did not survive re-encoding");
        }

        let instance = parse_plugin_line("ident/p0f /nonexistent/p0f-fuzz.sock", "fuzz")
            .unwrap()
            .unwrap();
        let service = PolicyService::new(Policy::new(PolicyConfig {
            instances: vec![instance],
            ..PolicyConfig::default()
        }));
        let (mut postfix, ours) = tokio::io::duplex(1 << 20);
        let session = tokio::spawn(async move { service.serve(ours, "fuzz".into(), IDLE).await });
        postfix.write_all(input).await.unwrap();
        postfix.shutdown().await.unwrap();
        let mut answers = Vec::new();
        postfix.read_to_end(&mut answers).await.unwrap();
        let _ = session.await.expect("policy service panicked");
        let text = String::from_utf8(answers).expect("answers are text");
        let blocks: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), whole.iter().filter(|r| r.is_ok()).count());
        for b in blocks {
            assert!(b.starts_with("action=") && !b.contains('\n'), "{b:?}");
        }
    });
});
