//! Times as RFC 3339 in UTC, for the JSON outputs of `p0f` and
//! `p0f-client`.

/// `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone letter).
pub fn utc_seconds(secs: u32) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(super::utc_seconds(0), "1970-01-01T00:00:00");
        assert_eq!(super::utc_seconds(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(super::utc_seconds(u32::MAX), "2106-02-07T06:28:15");
    }
}
