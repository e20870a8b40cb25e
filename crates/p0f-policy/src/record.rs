//! The connection's fingerprint record (the plugin's `p0f` connection note).

use p0f_api::{v2, v3};

/// Which p0f API produced a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V2,
    V3,
}

/// What p0f told about one SMTP client: the fields of the plugin's note.
///
/// `genre`, `detail`, `distance`, `uptime`, `link` and `link_type` exist for
/// both API versions; the rest only for v3 (they are `None` for v2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub version: ApiVersion,
    /// v3: `os_name` and `os_flavor` joined by one space, e.g. `Linux 3.11 and
    /// newer`; just `os_name` when the flavor is empty (the plugin left a
    /// trailing space there, see the crate docs). v2: the `genre` field.
    pub genre: String,
    /// v2: the `detail` field (e.g. `2.6, seldom 2.4 (older, 4)`). v3: the flavor.
    pub detail: String,
    /// Network hops (v2: -1 unknown; v3: 255 unknown, as p0f 3.09b sends).
    pub distance: i32,
    /// v2: hours (-1 unknown). v3: `uptime_min` (minutes) when non-zero, as
    /// the plugin copies it; `None` when p0f does not know.
    pub uptime: Option<i64>,
    /// v2: the `link` field; v3: `link_type`.
    pub link: String,
    /// v3: `link_type`; v2: the `link` field (the plugin left it unset in v2
    /// mode, so `X-P0F-Link-Type` was never written there).
    pub link_type: String,
    pub first_seen: Option<u32>,
    pub last_seen: Option<u32>,
    pub total_conn: Option<u32>,
    pub uptime_min: Option<u32>,
    pub up_mod_days: Option<u32>,
    pub last_nat: Option<u32>,
    pub last_chg: Option<u32>,
    pub bad_sw: Option<u8>,
    /// 0 exact, bit 0x01 fuzzy, bit 0x02 generic. `None` for v2, which does
    /// not say.
    pub os_match_q: Option<u8>,
    pub os_name: Option<String>,
    pub os_flavor: Option<String>,
    pub http_name: Option<String>,
    pub http_flavor: Option<String>,
    pub language: Option<String>,
}

/// Drops the NUL padding and the trailing blanks, as Perl's `unpack "A32"`.
fn text<const N: usize>(f: &p0f_api::FixedStr<N>) -> String {
    let s = f.as_string();
    s.trim_end_matches([' ', '\0', '\t', '\n', '\r'])
        .to_string()
}

impl Fingerprint {
    /// The record of a v3 reply with status OK. When p0f matched no OS
    /// signature (empty `os_name`) the genre is empty: the plugin then set no
    /// genre, blocked nothing and wrote no `X-P0F-Genre`, and neither do we.
    pub fn from_v3(r: &v3::Response) -> Fingerprint {
        let os_name = text(&r.os_name);
        let os_flavor = text(&r.os_flavor);
        let link_type = text(&r.link_type);
        let genre = match (os_name.is_empty(), os_flavor.is_empty()) {
            (true, _) => String::new(),
            (false, true) => os_name.clone(),
            (false, false) => format!("{os_name} {os_flavor}"),
        };
        Fingerprint {
            version: ApiVersion::V3,
            genre,
            detail: os_flavor.clone(),
            distance: i32::from(r.distance),
            uptime: (r.uptime_min != 0).then_some(i64::from(r.uptime_min)),
            link: link_type.clone(),
            link_type,
            first_seen: Some(r.first_seen),
            last_seen: Some(r.last_seen),
            total_conn: Some(r.total_conn),
            uptime_min: Some(r.uptime_min),
            up_mod_days: Some(r.up_mod_days),
            last_nat: Some(r.last_nat),
            last_chg: Some(r.last_chg),
            bad_sw: Some(r.bad_sw),
            os_match_q: Some(r.os_match_q),
            os_name: Some(os_name),
            os_flavor: Some(os_flavor),
            http_name: Some(text(&r.http_name)),
            http_flavor: Some(text(&r.http_flavor)),
            language: Some(text(&r.language)),
        }
    }

    /// The record of a v2 reply of type OK.
    pub fn from_v2(r: &v2::Response) -> Fingerprint {
        let link = text(&r.link);
        Fingerprint {
            version: ApiVersion::V2,
            genre: text(&r.genre),
            detail: text(&r.detail),
            distance: i32::from(r.dist),
            uptime: (r.uptime >= 0).then_some(i64::from(r.uptime)),
            link: link.clone(),
            link_type: link,
            first_seen: None,
            last_seen: None,
            total_conn: None,
            uptime_min: None,
            up_mod_days: None,
            last_nat: None,
            last_chg: None,
            bad_sw: None,
            os_match_q: None,
            os_name: None,
            os_flavor: None,
            http_name: None,
            http_flavor: None,
            language: None,
        }
    }

    /// True when p0f said the OS match was neither fuzzy nor generic.
    pub fn is_exact_match(&self) -> bool {
        self.os_match_q == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p0f_api::FixedStr;

    fn v3_reply(name: &str, flavor: &str) -> v3::Response {
        let mut r = v3::Response::empty(v3::Status::Ok);
        r.os_name = FixedStr::new(name);
        r.os_flavor = FixedStr::new(flavor);
        r.link_type = FixedStr::new("Ethernet or modem");
        r.distance = 7;
        r.uptime_min = 1390;
        r.first_seen = 10;
        r.last_seen = 20;
        r.total_conn = 3;
        r.os_match_q = 2;
        r.language = FixedStr::new("English");
        r
    }

    #[test]
    fn v3_genre_is_name_space_flavor() {
        let f = Fingerprint::from_v3(&v3_reply("Linux", "3.11 and newer"));
        assert_eq!(f.genre, "Linux 3.11 and newer");
        assert_eq!(f.detail, "3.11 and newer");
        assert_eq!(f.link, "Ethernet or modem");
        assert_eq!(f.link_type, "Ethernet or modem");
        assert_eq!(f.uptime, Some(1390));
        assert_eq!(f.distance, 7);
        assert_eq!(f.total_conn, Some(3));
        assert_eq!(f.language.as_deref(), Some("English"));
        assert_eq!(f.os_match_q, Some(2));
        assert!(!f.is_exact_match());
    }

    #[test]
    fn v3_empty_flavor_has_no_trailing_space() {
        let f = Fingerprint::from_v3(&v3_reply("Mac OS X", ""));
        assert_eq!(f.genre, "Mac OS X");
        let f = Fingerprint::from_v3(&v3_reply("", ""));
        assert_eq!(f.genre, "");
    }

    #[test]
    fn v3_unknown_uptime_is_none_and_32_byte_names_survive() {
        let mut r = v3_reply("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "x");
        r.uptime_min = 0;
        let f = Fingerprint::from_v3(&r);
        assert_eq!(f.uptime, None);
        assert_eq!(f.genre, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 x");
    }

    #[test]
    fn v2_fields() {
        let mut r = v2::Response::empty(7, v2::RESP_OK);
        r.genre = FixedStr::new("FreeBSD");
        r.detail = FixedStr::new("6.x (1)");
        r.link = FixedStr::new("ethernet/modem");
        r.dist = 17;
        r.uptime = 1390;
        let f = Fingerprint::from_v2(&r);
        assert_eq!(f.genre, "FreeBSD");
        assert_eq!(f.detail, "6.x (1)");
        assert_eq!(f.link, "ethernet/modem");
        assert_eq!(f.link_type, "ethernet/modem");
        assert_eq!(f.distance, 17);
        assert_eq!(f.uptime, Some(1390));
        assert_eq!(f.os_match_q, None);
        assert_eq!(f.first_seen, None);
    }
}
