//! Answers about hosts, in the shape of p0f's v3 API reply.

use std::net::IpAddr;

use p0f_api::v3::{Response, Status};
use p0f_api::FixedStr;

use crate::{Engine, HostAddr};

impl Engine {
    /// What p0f 3.09b's API would answer for `addr`: every field filled as
    /// p0f fills it (255 for an unknown distance, 0 for an unknown uptime).
    pub fn query_v3(&self, addr: IpAddr) -> Response {
        let Some(h) = self.host(&HostAddr::from(addr)) else {
            return Response::empty(Status::NoMatch);
        };
        let db = &self.db;
        let name = |id: i32| {
            usize::try_from(id)
                .ok()
                .and_then(|i| db.names.get(i))
                .map(|s| FixedStr::new(s))
        };
        let flavor = |label: Option<u32>| {
            label
                .and_then(|l| db.labels.get(l as usize))
                .and_then(|l| l.flavor.as_deref())
                .map(FixedStr::new)
        };
        let mut r = Response::empty(Status::Ok);
        r.first_seen = h.first_seen;
        r.last_seen = h.last_seen;
        r.total_conn = h.total_conn;
        if let Some(n) = name(h.last_name_id) {
            r.os_name = n;
            r.os_flavor = flavor(h.last_label).unwrap_or_default();
        }
        if let Some(n) = name(h.http_name_id) {
            r.http_name = n;
            r.http_flavor = flavor(h.http_label).unwrap_or_default();
        }
        if let Some(link) = h.link_type.and_then(|i| db.mtu.get(i as usize)) {
            r.link_type = FixedStr::new(&link.link);
        }
        if let Some(lang) = h.language {
            r.language = FixedStr::new(lang);
        }
        r.bad_sw = h.bad_sw;
        r.last_nat = h.last_nat;
        r.last_chg = h.last_chg;
        r.up_mod_days = h.up_mod_days;
        r.distance = i16::from(h.distance);
        r.os_match_q = h.last_quality;
        if h.last_up_min >= 0 {
            r.uptime_min = h.last_up_min as u32;
        }
        r
    }
}
