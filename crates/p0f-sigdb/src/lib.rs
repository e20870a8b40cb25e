//! p0f signature databases (`p0f.fp`): parsing, validation and TCP matching.

mod types;
pub use types::*;
