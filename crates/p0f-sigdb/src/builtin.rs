//! The databases compiled into the crate.
//!
//! Two are built in, because p0f-rs promises two things at once: current
//! verdicts by default, and p0f 3.09b's verdicts to the byte under
//! `--bug-compat`. [`Database::current`] is p0f-rs's own database
//! (`data/p0f-rs.fp`), written from labelled observations, vendor defaults
//! and our own captures, each entry naming its sources.
//! [`Database::stock_facts`] holds the facts of p0f 3.09b's stock `p0f.fp`
//! (`data/stock-3.09b.fp`), in the same order, so that matching gives
//! exactly p0f's results.

use crate::error::DbError;
use crate::types::Database;

/// Text of p0f-rs's own database (`data/p0f-rs.fp`), the default.
pub const CURRENT_FP: &[u8] = include_bytes!("../data/p0f-rs.fp");

/// Name the default database carries in error messages.
pub const CURRENT_SOURCE: &str = "<built-in p0f-rs.fp>";

/// Text of the database with p0f 3.09b's stock facts (`data/stock-3.09b.fp`).
pub const BUILTIN_FP: &[u8] = include_bytes!("../data/stock-3.09b.fp");

/// Name the stock-facts database carries in error messages.
pub const BUILTIN_SOURCE: &str = "<built-in stock-3.09b.fp>";

impl Database {
    /// p0f-rs's current database: the default when no `-f` is given.
    ///
    /// Programs load it with [`Database::try_current`], so that a database
    /// that no longer parses stops them with the file and line instead of
    /// running without signatures. This infallible form is for tests and
    /// tools, where the built-in text is known to parse (tests/current.rs
    /// holds it to that); should it ever fail, it gives an empty database.
    pub fn current() -> Database {
        Database::try_current().unwrap_or_default()
    }

    /// [`Database::current`], or the parse error naming the line of
    /// `data/p0f-rs.fp` that broke.
    pub fn try_current() -> Result<Database, DbError> {
        Database::parse(CURRENT_FP, CURRENT_SOURCE)
    }

    /// The facts of p0f 3.09b's stock database, for `--bug-compat` without
    /// `-f` and for tests that compare with p0f 3.09b's own output. As with
    /// [`Database::current`], programs use [`Database::try_stock_facts`].
    pub fn stock_facts() -> Database {
        Database::try_stock_facts().unwrap_or_default()
    }

    /// [`Database::stock_facts`], or the parse error naming its line.
    pub fn try_stock_facts() -> Result<Database, DbError> {
        Database::parse(BUILTIN_FP, BUILTIN_SOURCE)
    }

    /// The same as [`Database::stock_facts`]. Tests across the workspace
    /// compare against p0f 3.09b's recorded output and use this name.
    pub fn builtin() -> Database {
        Database::stock_facts()
    }
}
