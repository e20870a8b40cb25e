//! p0f's load-time duplicate check ("already covered by line Y").

/// Two TCP signatures under two labels; Ok or the error line/covering line.
fn tcp_pair(l1: &str, s1: &str, l2: &str, s2: &str) -> Result<(), (Option<u32>, String)> {
    let text = format!(
        "classes = unix\n[tcp:request]\nlabel = {l1}\nsig = {s1}\nlabel = {l2}\nsig = {s2}\n"
    );
    match p0f_sigdb::Database::parse(text.as_bytes(), "t") {
        Ok(_) => Ok(()),
        Err(e) => Err((e.line, e.message)),
    }
}

fn covered(s1: &str, s2: &str) -> bool {
    match tcp_pair("s:unix:A:", s1, "s:unix:B:", s2) {
        Ok(()) => false,
        Err((line, msg)) => {
            assert_eq!(line, Some(6), "{msg}");
            assert!(msg.contains("covered by the one in line 4"), "{msg}");
            true
        }
    }
}

#[test]
fn wildcard_mss_first_makes_fixed_mss_fatal() {
    assert!(covered(
        "4:64:0:*:mss*20,10:mss:df:0",
        "4:64:0:1460:mss*20,10:mss:df:0"
    ));
    assert!(covered(
        "*:64:0:*:mss*20,10:mss::0",
        "*:64:0:1460:mss*20,10:mss::0"
    ));
    // The other order is fine.
    assert!(!covered(
        "4:64:0:1460:mss*20,10:mss:df:0",
        "4:64:0:*:mss*20,10:mss:df:0"
    ));
    // Two '*' signatures with df are never duplicates: the earlier one loses
    // its df (the new one is not '4:'), so df counts as an added quirk.
    assert!(!covered(
        "*:64:0:*:mss*20,10:mss:df:0",
        "*:64:0:1460:mss*20,10:mss:df:0"
    ));
    // Same for scale and payload class wildcards.
    assert!(covered("4:64:0:*:*,*:mss::*", "4:64:0:1460:8192,7:mss::0"));
    assert!(!covered("4:64:0:1460:8192,7:mss::0", "4:64:0:*:*,*:mss::*"));
    // Identical signatures.
    assert!(covered(
        "4:64:0:1460:8192,7:mss::0",
        "4:64:0:1460:8192,7:mss::0"
    ));
}

#[test]
fn earlier_generic_never_covers() {
    let r = tcp_pair(
        "g:unix:A:",
        "*:64:0:*:*,*:mss::*",
        "s:unix:B:",
        "*:64:0:1460:8192,7:mss::0",
    );
    assert_eq!(r, Ok(()));
    // But a later generic can be covered by an earlier specific one.
    let r = tcp_pair(
        "s:unix:A:",
        "*:64:0:*:*,*:mss::*",
        "g:unix:B:",
        "*:64:0:1460:8192,7:mss::0",
    );
    assert!(r.is_err());
}

#[test]
fn other_direction_or_layout_never_covers() {
    let text = "classes = unix\n[tcp:request]\nlabel = s:unix:A:\nsig = 4:64:0:*:*,*:mss::*\n\
                [tcp:response]\nlabel = s:unix:A:\nsig = 4:64:0:*:*,*:mss::*\n";
    assert!(p0f_sigdb::Database::parse(text.as_bytes(), "t").is_ok());
    assert!(!covered("4:64:0:*:*,*:mss::*", "4:64:0:*:*,*:mss,nop::*"));
    assert!(!covered(
        "4:64:0:*:*,*:mss,eol+0::*",
        "4:64:0:*:*,*:mss,eol+1::*"
    ));
    assert!(!covered("4:64:0:*:*,*:mss::*", "4:64:4:*:*,*:mss::*"));
}

#[test]
fn window_kinds_in_dupe_mode() {
    // A non-literal new window must have the very same kind and value.
    assert!(!covered("4:64:0:*:*,0:mss::0", "4:64:0:*:%8,0:mss::0"));
    assert!(!covered(
        "4:64:0:*:*,0:mss::0",
        "4:64:0:1460:mss*4,0:mss::0"
    ));
    assert!(!covered(
        "4:64:0:*:mss*4,0:mss::0",
        "4:64:0:*:mtu*4,0:mss::0"
    ));
    assert!(covered("4:64:0:*:%8,0:mss::0", "4:64:0:*:%8,0:mss::0"));
    assert!(covered(
        "4:64:0:*:mss*4,0:mss::0",
        "4:64:0:*:mss*4,0:mss::0"
    ));
    // A literal new window is compared like a packet's: '*', '%N' and even
    // 'mss*N' (using the new signature's own MSS) can cover it.
    assert!(covered("4:64:0:*:*,0:mss::0", "4:64:0:*:8192,0:mss::0"));
    assert!(covered("4:64:0:*:%8,0:mss::0", "4:64:0:*:8192,0:mss::0"));
    assert!(covered(
        "4:64:0:*:mss*10,0:mss::0",
        "4:64:0:1460:14600,0:mss::0"
    ));
    assert!(!covered(
        "4:64:0:*:mss*10,0:mss::0",
        "4:64:0:*:14600,0:mss::0"
    ));
    assert!(covered(
        "4:64:0:*:mtu*10,0:mss::0",
        "4:64:0:1460:15000,0:mss::0"
    ));
}

#[test]
fn only_exact_matches_count() {
    // Quirk differences that would be a fuzzy match do not count.
    assert!(!covered("4:64:0:*:*,*:mss:df:*", "4:64:0:*:*,*:mss::*"));
    assert!(!covered("4:64:0:*:*,*:mss::*", "4:64:0:*:*,*:mss:ecn:*"));
    // TTL: within 35 below the earlier one is exact; otherwise fuzzy.
    assert!(covered("4:64:0:*:*,*:mss::*", "4:32:0:*:*,*:mss::*"));
    assert!(!covered("4:128:0:*:*,*:mss::*", "4:64:0:*:*,*:mss::*"));
    assert!(!covered("4:64:0:*:*,*:mss::*", "4:128:0:*:*,*:mss::*"));
    // A random-TTL signature covers any lower TTL.
    assert!(covered("4:64-:0:*:*,*:mss::*", "4:10:0:*:*,*:mss::*"));
    assert!(!covered("4:64-:0:*:*,*:mss::*", "4:65:0:*:*,*:mss::*"));
}

#[test]
fn ip_version_in_dupe_mode() {
    // The IP version itself is not compared.
    assert!(covered("4:64:0:*:*,*:mss::*", "6:64:0:*:*,*:mss::*"));
    // An earlier '*' signature loses df/id+/id- unless the new one is '4:'.
    assert!(covered("*:64:0:*:*,*:mss:df,id+:*", "*:64:0:*:*,*:mss::*"));
    assert!(covered("*:64:0:*:*,*:mss:df,id+:*", "6:64:0:*:*,*:mss::*"));
    assert!(!covered("*:64:0:*:*,*:mss:df,id+:*", "4:64:0:*:*,*:mss::*"));
    assert!(covered("*:64:0:*:*,*:mss:flow:*", "4:64:0:*:*,*:mss::*"));
}

fn http_pair(dir: &str, l1: &str, s1: &str, s2: &str) -> Result<(), String> {
    let text = format!(
        "classes = unix\n[http:{dir}]\nlabel = {l1}\nsig = {s1}\nlabel = s:unix:B:\nsig = {s2}\n"
    );
    match p0f_sigdb::Database::parse(text.as_bytes(), "t") {
        Ok(_) => Ok(()),
        Err(e) => {
            assert_eq!(e.line, Some(6), "{e}");
            assert!(e.message.contains("covered by the one in line 4"), "{e}");
            Err(e.message)
        }
    }
}

fn http_covered(s1: &str, s2: &str) -> bool {
    let a = http_pair("request", "s:unix:A:", s1, s2).is_err();
    let b = http_pair("response", "s:unix:A:", s1, s2).is_err();
    assert_eq!(a, b);
    a
}

#[test]
fn http_duplicates() {
    assert!(http_covered("1:Host,User-Agent::", "1:Host,User-Agent::"));
    assert!(http_covered("1:Host::", "1:Host,Accept::"));
    assert!(!http_covered("1:Host,Accept::", "1:Host::"));
    assert!(!http_covered("1:Accept,Host::", "1:Host,Accept::"));
    // Versions: '*' covers both, a fixed version does not cover '*'.
    assert!(http_covered("*:Host::", "1:Host::"));
    assert!(!http_covered("1:Host::", "*:Host::"));
    assert!(!http_covered("0:Host::", "1:Host::"));
    // Software strings play no part.
    assert!(http_covered("1:Host::A", "1:Host::B"));
    // Values: the earlier value must be a substring of the new one.
    assert!(http_covered("1:Accept=[text]::", "1:Accept=[text/html]::"));
    assert!(!http_covered("1:Accept=[text/html]::", "1:Accept=[text]::"));
    assert!(!http_covered("1:Accept=[text]::", "1:Accept::"));
    // Optional headers.
    assert!(http_covered("1:Host,?Accept::", "1:Host::"));
    assert!(http_covered("1:Host,?Accept::", "1:Host,Accept::"));
    assert!(!http_covered("1:?Accept,Host::", "1:Host,Accept::"));
    // An earlier mandatory header that is only optional in the new one.
    assert!(!http_covered("1:Host,Accept::", "1:Host,?Accept::"));
}

#[test]
fn http_absent_header_subset_rule() {
    // The earlier absent set must be a subset of the new one.
    assert!(http_covered("1:Host::", "1:Host:TE:"));
    assert!(!http_covered("1:Host:TE:", "1:Host::"));
    assert!(http_covered("1:Host:TE:", "1:Host:Via,TE:"));
    assert!(!http_covered("1:Host:TE,Via:", "1:Host:TE:"));
    assert!(!http_covered("1:Host:TE,TE:", "1:Host:TE:"));
    // An earlier absent header that the new one lists is a mismatch...
    assert!(!http_covered("1:Host:TE:", "1:Host,TE:TE:"));
    // ...unless it is listed as optional.
    assert!(http_covered("1:Host:TE:", "1:Host,?TE:TE:"));
}

#[test]
fn http_generic_never_covers() {
    assert_eq!(
        http_pair("request", "g:unix:A:", "1:Host::", "1:Host::"),
        Ok(())
    );
}
