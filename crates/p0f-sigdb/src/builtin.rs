//! The database compiled into the crate.

use crate::types::Database;

/// Text of the built-in database (`data/p0f-rs.fp`).
pub const BUILTIN_FP: &[u8] = include_bytes!("../data/p0f-rs.fp");

/// Name the built-in database carries in error messages.
pub const BUILTIN_SOURCE: &str = "<built-in p0f-rs.fp>";

impl Database {
    /// The built-in database: the facts of p0f 3.09b's stock `p0f.fp`.
    ///
    /// Its text is fixed at compile time and covered by tests, so parsing it
    /// cannot fail in practice; should it ever, an empty database is returned
    /// rather than panicking.
    pub fn builtin() -> Database {
        Database::parse(BUILTIN_FP, BUILTIN_SOURCE).unwrap_or_default()
    }
}
