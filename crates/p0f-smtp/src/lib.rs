//! Passive SMTP dialect observation (`docs/smtp.md`).
//!
//! Real MTAs, mail libraries and spam engines each speak SMTP in their own
//! way: how they greet, whether they wait for the banner, how they write
//! `MAIL FROM:`, which parameters they send, whether they pipeline, how
//! they end. This crate watches one TCP flow's plain-text dialogue from both
//! sides and summarises it, so that `[smtp:client]` / `[smtp:server]`
//! signatures can name the software.
//!
//! * [`SmtpFlow`] is the per-flow observer the engine drives with each
//!   direction's in-sequence payload; it reports [`Events`] (first MAIL,
//!   first RCPT, dialogue over, server known). It holds at most one 512-byte
//!   partial line per direction and fixed-size summaries: memory per flow is
//!   constant, and no input makes it panic (property-tested and fuzzed).
//! * [`ClientFeatures`] / [`ServerFeatures`] are the summaries, `Copy`, with
//!   their raw signatures and flags.
//! * [`match_client`] / [`match_server`] pick the signature, from the
//!   features or (`*_sig`) from the raw signature alone.
//!
//! Pure: no I/O, no clock, no global state.

mod features;
mod flow;
mod matching;
mod text;

pub use features::{
    ClientFeatures, End, Flags, HeloShape, PathShape, ServerFeatures, ServerFlags, Verb, MAX_ORDER,
};
pub use flow::{Events, SmtpFlow, MAX_COMMANDS, MAX_LINE};
pub use matching::{match_client, match_client_sig, match_server, match_server_sig};
pub use text::Text;
