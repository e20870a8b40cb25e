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

impl Engine {
    /// The SMTP extension's answer for `addr`: its v3 reply, and the last
    /// SMTP verdict of the host (`port` 0) or of the connection from
    /// `addr`:`port`.
    pub fn query_smtp(&self, addr: IpAddr, port: u16) -> p0f_api::smtp::Response {
        use p0f_api::smtp::{Response as SmtpResponse, Verdict, RAW_SIG_LEN, SMTP_OK};
        let host = self.query_v3(addr);
        let key = HostAddr::from(addr);
        let h = self.host(&key);
        let client = if port == 0 {
            h.and_then(|h| h.smtp_client.as_ref())
        } else {
            self.smtp_connection(&key, port)
        };
        let mut smtp = Verdict::default();
        if let Some(v) = client {
            let mut raw = String::with_capacity(RAW_SIG_LEN);
            let record = self.smtp_client_record(v, &mut raw);
            let label = record.and_then(|r| self.smtp_client_label(r));
            smtp.status = SMTP_OK;
            smtp.flags = v.features.flags().0;
            smtp.time = v.time;
            smtp.cli_port = v.key.cli_port;
            smtp.stage = v.stage;
            smtp.kind = crate::smtp::kind_code(label.map(|l| l.kind));
            smtp.generic = label.is_some_and(|l| l.generic);
            smtp.before_rcpt = v
                .features
                .before_rcpt
                .map_or(255, |n| u8::try_from(n).unwrap_or(254));
            if let Some(l) = label {
                smtp.app_name = FixedStr::new(&l.name);
                smtp.app_flavor = FixedStr::new(l.flavor.as_deref().unwrap_or(""));
            }
            smtp.raw_sig = FixedStr::new(&raw);
        }
        if let Some(l) = h
            .and_then(|h| h.smtp_server.as_ref())
            .and_then(|s| s.record)
            .and_then(|r| self.smtp_server_label(r))
        {
            smtp.server_name = FixedStr::new(&l.name);
            smtp.server_flavor = FixedStr::new(l.flavor.as_deref().unwrap_or(""));
        }
        SmtpResponse { host, smtp }
    }
}
