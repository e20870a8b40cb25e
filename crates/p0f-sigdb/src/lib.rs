//! p0f signature databases (`p0f.fp`): parsing, validation and TCP matching.
//!
//! # Why this crate exists
//!
//! p0f-rs is a drop-in replacement for p0f 3.09b, so it must accept exactly
//! the databases p0f accepts, reject the ones p0f rejects (with the line
//! number, in plainer words), and pick the same signature p0f would pick for
//! every packet. Both the file format and the matcher have quirks that decide
//! real results; this crate keeps them in one place, independent of packet
//! capture and output.
//!
//! # Design
//!
//! * [`Database::parse`] is a line-oriented state machine following p0f's
//!   lexical rules (NUL ends the text, no trailing-space trimming, `;`
//!   comments). Each line is scanned with a cursor that reads NUL past its
//!   end, mirroring the C parser's view of a NUL-terminated line, so every
//!   "what comes next" decision matches p0f's without unchecked indexing. It
//!   never panics; every failure is a [`DbError`] naming the line.
//! * Names and classes are interned into [`Database::names`] /
//!   [`Database::classes`]; records refer to labels by index, so the data is
//!   plain vectors in file order (order matters for matching).
//! * TCP matching ([`Database::match_tcp`]) is p0f's algorithm, driven by a
//!   [`TcpIndex`] built while loading that buckets records by option layout;
//!   a lookup walks only the records with the packet's layout, in file order,
//!   and allocates nothing. The same routine, in "dupe mode", performs p0f's
//!   load-time check that a new signature is not already covered.
//! * HTTP matching lives in the HTTP crate; this crate parses HTTP signatures
//!   and performs their load-time duplicate check.
//! * [`Database::current`] is p0f-rs's own database, the default;
//!   [`Database::stock_facts`] carries the facts of p0f 3.09b's stock
//!   database for `--bug-compat` (see `builtin.rs`).

mod builtin;
mod error;
mod parse;
pub mod smtp;
pub mod tcp_match;
mod types;

pub use builtin::{BUILTIN_FP, BUILTIN_SOURCE, CURRENT_FP, CURRENT_SOURCE};
pub use error::DbError;
pub use smtp::{SmtpClientRecord, SmtpKind, SmtpLabel, SmtpServerRecord};
pub use tcp_match::{
    classify_window, guess_dist, win_multi, TcpIndex, TcpMatch, TcpObserved, WindowKind, MAX_DIST,
};
pub use types::*;
