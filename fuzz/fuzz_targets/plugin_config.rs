//! qpsmtpd's configuration as the plugin reads it: `config/plugins` lines
//! and the blocked-OS list. No panic; errors name the file and a line of
//! the text; the whole-file parser agrees with the line parser; accepted
//! instances are usable (socket path within a Unix address, unique names)
//! and an exact block pattern matches its own genre.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_policy::config::{parse_blocked_os, parse_plugin_line, parse_plugins_text, BlockPattern};

fn line_of(place: &str, file: &str, lines: usize) {
    let n: usize = place
        .strip_prefix(file)
        .and_then(|p| p.strip_prefix(':'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("error place {place:?} names no line of {file}"));
    assert!(n >= 1 && n <= lines, "line {n} of {lines}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    match parse_plugins_text(text, "plugins") {
        Err(e) => line_of(&e.place, "plugins", lines),
        Ok(instances) => {
            let singles = text
                .lines()
                .filter(|l| matches!(parse_plugin_line(l, "x"), Ok(Some(_))))
                .count();
            assert_eq!(singles, instances.len());
            for (i, a) in instances.iter().enumerate() {
                let s = a.socket.as_os_str().len();
                assert!(s > 0 && s <= 107, "socket path of {s} bytes");
                assert!(instances[..i].iter().all(|b| b.name != a.name));
                if let Some(r) = &a.smite_os {
                    let _ = r.is_match(text);
                }
            }
        }
    }
    match parse_blocked_os(text, "blocked") {
        Err(e) => line_of(&e.place, "blocked", lines),
        Ok(rules) => {
            assert!(rules.len() <= lines);
            for r in &rules {
                line_of(&r.origin, "blocked", lines);
                match &r.pattern {
                    BlockPattern::Exact(g) => assert!(r.pattern.matches(g)),
                    BlockPattern::Regex(_) => {
                        let _ = r.pattern.matches(text);
                    }
                }
            }
        }
    }
});
