//! The response `Date` header, converted the way p0f 3.09b does it.

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Broken-down time as `strptime` leaves it (the fields `mktime` reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    pub mday: i32,
    /// 0-based month.
    pub mon: i32,
    /// Years since 1900.
    pub year: i32,
    pub hour: i32,
    pub min: i32,
    pub sec: i32,
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

/// C's `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl Cursor<'_> {
    /// The current byte; 0 past the end, like the C string's terminator.
    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn skip_space(&mut self) {
        while is_space(self.peek()) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, c: u8) -> Option<()> {
        if self.peek() == c {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    fn starts_with_ci(&self, word: &str) -> bool {
        let rest = self.s.get(self.pos..).unwrap_or(&[]);
        rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    }

    /// Longest full or three-letter name; returns its index.
    fn name(&mut self, names: &[&str]) -> Option<i32> {
        let mut best: Option<(usize, usize)> = None;
        for (i, full) in names.iter().enumerate() {
            for cand in [*full, &full[..3]] {
                let longer = match best {
                    Some((_, len)) => cand.len() > len,
                    None => true,
                };
                if longer && self.starts_with_ci(cand) {
                    best = Some((i, cand.len()));
                }
            }
        }
        let (i, len) = best?;
        self.pos += len;
        Some(i as i32)
    }

    /// glibc's `get_number(from, to, n)`.
    fn number(&mut self, from: i32, to: i32, digits: u32) -> Option<i32> {
        self.skip_space();
        if !self.peek().is_ascii_digit() {
            return None;
        }
        let mut val: i32 = 0;
        let mut left = digits;
        loop {
            val = val * 10 + i32::from(self.peek() - b'0');
            self.pos += 1;
            left -= 1;
            if !(left > 0 && val * 10 <= to && self.peek().is_ascii_digit()) {
                break;
            }
        }
        (from..=to).contains(&val).then_some(val)
    }
}

/// Parses with `%a, %d %b %Y %H:%M:%S %Z`; None where `strptime` fails.
pub(crate) fn parse_fields(value: &[u8]) -> Option<Fields> {
    let mut c = Cursor { s: value, pos: 0 };
    c.name(&DAYS)?;
    c.literal(b',')?;
    c.skip_space();
    let mday = c.number(1, 31, 2)?;
    c.skip_space();
    let mon = c.name(&MONTHS)?;
    c.skip_space();
    let year = c.number(0, 9999, 4)? - 1900;
    c.skip_space();
    let hour = c.number(0, 23, 2)?;
    c.literal(b':')?;
    let min = c.number(0, 59, 2)?;
    c.literal(b':')?;
    let sec = c.number(0, 61, 2)?;
    // " %Z": white space, then one word; cannot fail.
    Some(Fields {
        mday,
        mon,
        year,
        hour,
        min,
        sec,
    })
}

/// The `date` value p0f keeps for a response: the header converted to Unix
/// time (truncated to 32 bits), or 0 when it does not parse.
///
/// p0f hands the value to glibc `strptime` with the format
/// `%a, %d %b %Y %H:%M:%S %Z` and the result to `mktime`, truncating the
/// `time_t` to 32 bits; any parse failure gives 0. It parses into an
/// uninitialised `struct tm`, so the fields `strptime` does not set (above
/// all `tm_isdst`) hold stack garbage and its verdicts can differ from run to
/// run. This function fixes that with one deterministic rule, used in both
/// compatibility modes:
///
/// **Every `struct tm` field the parse does not set is zero.** In particular
/// `tm_isdst = 0`, so the time is read as *standard* local time of the zone in
/// `TZ`, through the C library's `mktime`. Under `TZ=UTC`, the usual way to
/// run p0f on captures, this is plain UTC and agrees with p0f.
///
/// The parse follows glibc's rules: weekday and month names match full or
/// abbreviated English names case-insensitively; a space in the format skips
/// any amount of white space, including none; numbers skip leading white
/// space and read at most 2 (4 for the year) digits, stopping early once
/// another digit would exceed the maximum; the ranges are day 1–31, year
/// 0–9999, hour 0–23, minute 0–59, second 0–61; `%Z` skips white space and
/// then one word and never fails; anything after it is ignored. `mktime`
/// normalises out-of-range dates such as 31 February. A value that is
/// "1 Jan 1970 00:00:00" in the zone gives 0, like a failure, as in p0f.
pub fn parse_date(value: &[u8]) -> u32 {
    let Some(f) = parse_fields(value) else {
        return 0;
    };
    // SAFETY: an all-zero `struct tm` is valid (a null tm_zone is allowed),
    // and mktime only reads and normalises the structure we own.
    let t = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_sec = f.sec;
        tm.tm_min = f.min;
        tm.tm_hour = f.hour;
        tm.tm_mday = f.mday;
        tm.tm_mon = f.mon;
        tm.tm_year = f.year;
        tm.tm_isdst = 0;
        libc::mktime(&mut tm)
    };
    // C converts time_t to u32 modulo 2^32; so does `as`.
    t as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Option<Fields> {
        parse_fields(s.as_bytes())
    }

    #[test]
    fn rfc1123() {
        assert_eq!(
            f("Thu, 27 Nov 2026 03:41:57 GMT"),
            Some(Fields {
                mday: 27,
                mon: 10,
                year: 126,
                hour: 3,
                min: 41,
                sec: 57
            })
        );
        // Full names, odd case, extra spaces, a missing zone and trailing junk.
        assert!(f("thursday,27 NOVEMBER   2026 3:4:5").is_some());
        assert!(f("Thu, 27 Nov 2026 03:41:57 GMT and more").is_some());
    }

    #[test]
    fn failures() {
        assert_eq!(f(""), None);
        assert_eq!(f(" Thu, 27 Nov 2026 03:41:57 GMT"), None); // %a does not skip space
        assert_eq!(f("Thu 27 Nov 2026 03:41:57 GMT"), None); // missing comma
        assert_eq!(f("Thu, 32 Nov 2026 03:41:57 GMT"), None);
        assert_eq!(f("Thu, 0 Nov 2026 03:41:57 GMT"), None);
        assert_eq!(f("Thu, 27 Nov 2026 24:41:57 GMT"), None);
        assert_eq!(f("Thu, 27 Nov 2026 03:60:57 GMT"), None);
        assert_eq!(f("Thu, 27 Nov 2026 03:41:62 GMT"), None);
        assert_eq!(f("Thu, 27 Nov 2026 03:41"), None);
        assert_eq!(f("Thu, 27-Nov-2026 03:41:57 GMT"), None);
    }

    #[test]
    fn glibc_number_rules() {
        // "45" would exceed 31, so only "4" is read, and then "5" is no month.
        assert_eq!(f("Thu, 45 Nov 2026 03:41:57 GMT"), None);
        // Three digits: "27" is read, then "7" is no month name.
        assert_eq!(f("Thu, 277 Nov 2026 03:41:57 GMT"), None);
        // Year reads 4 digits at most; the fifth becomes the hour, then ':' is missing.
        assert_eq!(f("Thu, 27 Nov 20261 03:41:57 GMT").map(|x| x.year), None);
        assert_eq!(
            f("Thu, 27 Nov 98 03:41:57 GMT").map(|x| x.year),
            Some(98 - 1900)
        );
        assert_eq!(f("Thu, 27 Nov 2026 03:41:61 GMT").map(|x| x.sec), Some(61));
    }

    #[test]
    fn to_unix_time() {
        // The process-wide TZ is left alone: compare against a value computed
        // the same way, and check UTC arithmetic only when TZ says UTC.
        let v = parse_date(b"Thu, 27 Nov 2026 03:41:57 GMT");
        assert_ne!(v, 0);
        if matches!(
            std::env::var("TZ").as_deref(),
            Ok("UTC") | Ok("UTC0") | Ok(":UTC")
        ) {
            assert_eq!(v, 1_795_750_917);
        }
        assert_eq!(parse_date(b"garbage"), 0);
    }
}
