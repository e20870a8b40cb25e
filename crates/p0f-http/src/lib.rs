//! HTTP/1.x fingerprinting as p0f 3.09b does it.
//!
//! p0f looks at the first request and response of a TCP flow, records the
//! order, names and some values of their headers, and compares that against
//! the `[http:request]` / `[http:response]` signatures of `p0f.fp`. Users
//! compare our output with p0f's byte for byte and share raw signatures, so
//! every limit, decision point and formatting rule here is p0f's own,
//! including its bugs; the one bug that can be fixed (split responses, see
//! [`HttpFlow`]) is fixed only when the caller asks for non-compatible mode.
//!
//! * [`HttpFlow`] is the per-flow state machine the engine drives as payload
//!   arrives; it yields a [`Message`] when a header block ends.
//! * [`Vocabulary`], [`raw_signature`], [`match_message`], [`language`],
//!   [`params`], [`app_key`]/[`app_value`] and [`ua_os`] turn a message into
//!   the printed values. All are pure: no I/O, no global state.
//! * [`parse_date`] converts a response `Date`, deterministically (see its
//!   module for the rule that replaces p0f's uninitialised-memory behaviour).

mod date;
mod flow;
mod lang;
mod sig;
mod vocab;

pub use date::parse_date;
pub use flow::{
    Header, HttpFlow, Message, Step, MAX_FIRST_LINE, MAX_FLOW_DATA, MAX_HEADERS, MAX_HEADER_NAME,
    MAX_HEADER_VALUE,
};
pub use lang::{classify as classify_language, language, Language};
pub use sig::{
    app_key, app_value, match_message, matched_record, params, raw_signature, records, ua_os,
    HttpMatch, Params, MAX_SHOW,
};
pub use vocab::{
    Vocabulary, FIXED, REQ_COMMON, REQ_OPTIONAL, REQ_SKIPVAL, RESP_COMMON, RESP_OPTIONAL,
    RESP_SKIPVAL,
};
