//! `parse_date` against glibc: each line of data/dates_glibc_utc.txt is a
//! hex-encoded Date value and what glibc's strptime (format
//! `%a, %d %b %Y %H:%M:%S %Z`, zeroed struct tm) plus mktime gave under
//! TZ=UTC, truncated to u32 (0 = strptime failed).

#[test]
fn agrees_with_glibc_under_utc() {
    // This test binary holds only this test, so changing TZ is contained.
    std::env::set_var("TZ", "UTC");
    let text = include_str!("data/dates_glibc_utc.txt");
    for line in text.lines() {
        let (hex, want) = line.split_once(' ').unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let want: u32 = want.parse().unwrap();
        assert_eq!(
            p0f_http::parse_date(&bytes),
            want,
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
