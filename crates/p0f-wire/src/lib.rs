//! Zero-copy, panic-free views of the link, IPv4, IPv6 and TCP headers that
//! p0f-rs reads.
//!
//! Modelled on smoltcp's `wire` module: each protocol gets a thin view type
//! over a byte slice, constructed with `new_checked`, which proves once that
//! the fixed header is present so that every accessor after that is a plain
//! indexed load that cannot panic. Nothing here allocates, copies payloads or
//! interprets fields beyond what the header format itself defines: the
//! fingerprinting rules (which quirks count, how p0f trims lengths) live in
//! `p0f-engine`, so that this crate stays a faithful description of the wire.

pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod tcp;

/// Why a view could not be built over some bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the fixed header needs.
    Truncated,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Truncated => f.write_str("header truncated"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
