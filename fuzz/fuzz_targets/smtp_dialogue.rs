//! The SMTP observer fed an arbitrary interleaving of client and server
//! segments, as the engine feeds it: no panic; each report happens at most
//! once; summaries stay within their bounds; the raw signatures it writes
//! are accepted by the database parser and match the dialogue they came
//! from; and re-cutting every segment into smaller ones changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_fuzz::Cursor;
use p0f_smtp::{match_client, match_server, Events, SmtpFlow};

/// Runs the script; `cut` > 0 re-cuts each segment into pieces of that size.
fn run(script: &[(bool, &[u8])], cut: usize) -> (SmtpFlow, [u32; 2]) {
    let mut f = SmtpFlow::new();
    let mut reports = [0u32; 2];
    let mut count = |ev: Events| {
        reports[0] += u32::from(ev.has(Events::CLIENT_DONE));
        reports[1] += u32::from(ev.has(Events::SERVER_READY));
    };
    for (to_srv, seg) in script {
        let pieces: Vec<&[u8]> = if cut == 0 { vec![seg] } else { seg.chunks(cut).collect() };
        for p in pieces {
            count(if *to_srv { f.client_data(p) } else { f.server_data(p) });
        }
    }
    count(f.close());
    (f, reports)
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let cut = 1 + usize::from(c.u8() % 32);
    let mut script = Vec::new();
    while !c.is_empty() && script.len() < 64 {
        let head = c.u8();
        let len = usize::from(c.u8());
        script.push((head & 1 == 1, c.bytes(len)));
    }
    let (whole, reports) = run(&script, 0);
    let (split, _) = run(&script, cut);
    assert!(reports[0] <= 1 && reports[1] <= 1, "reported twice: {reports:?}");
    assert_eq!(whole.client(), split.client(), "segmentation changed the client");
    assert_eq!(whole.server(), split.server(), "segmentation changed the server");
    let (mut cs, mut ss) = (String::new(), String::new());
    whole.client().push_raw_sig(&mut cs);
    whole.server().push_raw_sig(&mut ss);
    assert!(cs.len() < 400 && ss.len() < 300);
    let mut server_fields: Vec<&str> = ss.splitn(3, ':').collect();
    if server_fields[2].is_empty() {
        server_fields[2] = "*";
    }
    let text = format!(
        "[smtp:client]\nlabel = s:bot:F:\nsig = {cs}\n[smtp:server]\nlabel = s:mta:F:\nsig = {}\n",
        server_fields.join(":")
    );
    let db = p0f_sigdb::Database::parse(text.as_bytes(), "fuzz").expect("raw signatures parse");
    let mut scratch = String::new();
    assert!(match_client(&db, whole.client(), &mut scratch).is_some());
    assert!(match_server(&db, whole.server(), &mut scratch).is_some());
});
