//! The native TOML configuration of p0f-mailpolicy: no panic; an error
//! names the file (and, when it gives a line, one inside the text); an
//! accepted configuration passes its own validation and makes a policy
//! that can answer.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use p0f_policy::config::{parse_native, parse_native_unvalidated};
use p0f_policy::{Lookup, Policy};

/// Files the configuration names relative to itself resolve under a
/// directory that does not exist.
const FILE: &str = "/nonexistent-p0f-fuzz/p0f-mailpolicy.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // An error at the end of a text that ends in a newline is on the
    // (empty) line after it.
    let lines = text.matches('\n').count() + 1;
    match parse_native(text, Path::new(FILE)) {
        Err(e) => {
            if let Some(rest) = e.place.strip_prefix(FILE) {
                if let Some(n) = rest.strip_prefix(':').and_then(|n| n.parse::<usize>().ok()) {
                    assert!(n >= 1 && n <= lines, "line {n} of {lines}: {e}");
                }
            }
            // Otherwise the error is about another file the configuration
            // names, and must say which.
            assert!(!e.place.is_empty());
        }
        Ok(cfg) => {
            assert!(parse_native_unvalidated(text, Path::new(FILE)).is_ok());
            assert!(cfg.validate(FILE).is_ok());
            assert!(!cfg.instances.is_empty());
            let policy = Policy::new(cfg);
            let _ = policy.header_plan(&Lookup::default());
            let _ = policy.is_exempt_recipient("postmaster@example.org");
        }
    }
});
