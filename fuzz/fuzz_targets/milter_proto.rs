//! The milter decoder: no panic; a decoded command, encoded the way an MTA
//! sends it, decodes to the same command (decode(encode(x)) == x for every
//! x the decoder can produce); and our reply frames are well-formed, with
//! their text intact and NUL-free.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_fuzz::milter_mta;
use p0f_milter::milter::proto::{self, check_len, parse_command};

/// Splits a reply stream into (command, data) frames, checking lengths.
fn frames(mut b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let len = u32::from_be_bytes(b[..4].try_into().unwrap());
        let len = check_len(len).expect("reply frame length");
        assert!(b.len() >= 4 + len, "reply frame cut short");
        out.push((b[4], &b[5..4 + len]));
        b = &b[4 + len..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cmd, d)) = data.split_first() else {
        return;
    };
    if let Ok(c) = parse_command(cmd, d) {
        let (cmd2, d2) = milter_mta::encode(&c);
        assert_eq!(parse_command(cmd2, &d2), Ok(c.clone()), "encoded as {cmd2} {d2:?}");
    }

    // Reply encoders with arbitrary text.
    let text = String::from_utf8_lossy(d);
    let (name, value) = text.split_once(':').unwrap_or((&text, ""));
    let index = u32::from(cmd);
    for f in [
        proto::ins_header(index, name, value),
        proto::chg_header(index, name, value),
    ] {
        let fr = frames(&f);
        assert_eq!(fr.len(), 1);
        let (_, body) = fr[0];
        assert_eq!(body[..4], index.to_be_bytes());
        let parts: Vec<&[u8]> = body[4..].split(|&b| b == 0).collect();
        // name NUL value NUL: three parts, the last empty.
        assert_eq!(parts.len(), 3, "{body:?}");
        let strip = |s: &str| s.replace('\0', "");
        assert_eq!(parts[0], strip(name).as_bytes());
        assert_eq!(parts[1], strip(value).as_bytes());
    }
    let fr = proto::reply_code(&text);
    let fr = frames(&fr);
    assert_eq!(fr[0].0, proto::R_REPLYCODE);
    let body = fr[0].1;
    assert_eq!(body.iter().filter(|&&b| b == 0).count(), 1);
    assert_eq!(
        String::from_utf8_lossy(&body[..body.len() - 1]).replace("%%", "%"),
        text.replace('\0', "")
    );
});
