//! Packet and API times as p0f prints them: local time, following `TZ`.
//! Shared by `p0f` (the `-o` log) and `p0f-client`.

extern "C" {
    /// POSIX: reads TZ into the C library's time-zone state.
    fn tzset();
}

/// `YYYY/MM/DD HH:MM:SS` in the local zone; `@SECONDS` if the C library
/// cannot convert the time.
pub fn local_time(t: u32) -> String {
    let secs = libc::time_t::from(t);
    // SAFETY: localtime_r writes only into the tm we pass; tzset reads TZ.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tzset();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return format!("@{t}");
        }
        tm
    };
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
