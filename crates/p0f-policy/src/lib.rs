//! OS-aware mail policy on top of p0f, with the semantics of qpsmtpd's
//! `ident/p0f` plugin, so that an MTA other than qpsmtpd (Postfix, through the
//! `p0f-mailpolicy` milter or policy service) can run the same policy from
//! the same configuration.
//!
//! # Why a library
//! The decisions (what to ask p0f, what the answer means, who is blocked,
//! which headers a message gets) do not depend on how the MTA talks to us.
//! Keeping them here lets the milter and the Postfix policy service share
//! them, and lets them be tested without any MTA.
//!
//! # The plugin's semantics, and where this differs on purpose
//! * **Queries.** v3 asks by client address (IPv4, or IPv6 as 16 bytes in
//!   network order: the plugin split the text on `:` and packed the pieces
//!   as bytes, which is wrong for every IPv6 address). IPv4-mapped IPv6
//!   clients are asked about as IPv4. v2 asks by the connection's 4-tuple,
//!   with `local_ip` replacing the server address.
//! * **Replies** are checked like the plugin (magic, then status / type) and
//!   also for length and, in v2, the echoed id. Any failure (no socket,
//!   timeout, short or garbled reply, refused query) is logged and the
//!   connection goes on unfingerprinted ([`config::FailMode::Open`]), or its
//!   recipients get a temporary failure with `on_p0f_error = "tempfail"`.
//!   "No match" is not a failure.
//! * **Record** ([`Fingerprint`]): `genre` in v3 mode is `os_name`, a space
//!   and `os_flavor`, e.g. `Linux 3.11 and newer` or `Windows 7 or 8`. When
//!   the flavor is empty, the genre is just `os_name` (the plugin kept a
//!   trailing space, `"Mac OS X "`, so an exact rule `Mac OS X` never
//!   matched). `link` and `link_type` are p0f's `link_type` in v3; in v2 both
//!   are p0f's `link` (the plugin never set `link_type` in v2 mode, so it
//!   never wrote `X-P0F-Link-Type` there). `uptime` is v2 hours, or v3
//!   `uptime_min` in minutes, as the plugin copied them.
//! * **Blocking** (`p0f_blocked_operating_systems`): a line is an exact,
//!   case-sensitive genre, or `/regex/` matched case-insensitively anywhere.
//!   Relay clients (trusted networks or an authenticated session) and
//!   exempt recipients are never blocked. The reply is `550 5.7.1 OS
//!   Blocked` by default (qpsmtpd's DENY with "OS Blocked").
//! * **smite_os**: each v3 instance whose regex (case-insensitive) matches
//!   its own genre lowers the connection's karma by one, as the plugin did
//!   only in v3 mode. MTAs have no karma: the value is logged and exported.
//! * **Headers**: `X-P0F-Genre` and `X-P0F-Link-Type`, each only when it has
//!   a value; every copy the message already carries is removed
//!   (case-insensitively), even when there is no value to add.
//! * **Several instances** (`ident/p0f:2 ... version 2` and `ident/p0f:3`):
//!   all are asked concurrently; the last one in configuration order that
//!   answered gives the record, as the last plugin to write the note did.
//!   Headers are on if any instance has `add_headers` on.
//! * **Beyond the plugin**: rules that need an exact p0f match
//!   (`os_match_q == 0`, never fuzzy or generic; v2 replies do not say, so
//!   such rules never block on v2), a dry-run mode, configurable replies,
//!   and timeouts on every step of every query.

pub mod client;
pub mod config;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
pub mod greylist;
pub mod net;
pub mod policy;
pub mod record;
pub mod smtp;

pub use client::{Answer, ConnInfo, LookupError};
pub use config::{ConfigError, FailMode, PolicyConfig, SmtpReply};
pub use greylist::decide::GreyVerdict;
pub use greylist::RcptContext;
pub use policy::{
    HeaderPlan, Lookup, Policy, RcptVerdict, HEADER_GENRE, HEADER_GREYLIST, HEADER_LINK_TYPE,
};
pub use record::{ApiVersion, Fingerprint};
