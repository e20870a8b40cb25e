//! The single error type of this crate.

use std::fmt;

/// Why a database could not be loaded.
///
/// Displayed as `SOURCE:LINE: message`, or `SOURCE: message` when the problem
/// is not tied to one line (I/O failure, no signatures at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbError {
    /// The name the text was loaded under (usually the file path).
    pub source: String,
    /// 1-based line number of the offending line, when there is one.
    pub line: Option<u32>,
    /// What is wrong, in plain English.
    pub message: String,
}

impl DbError {
    pub(crate) fn at(source: &str, line: u32, message: impl Into<String>) -> DbError {
        DbError {
            source: source.to_string(),
            line: Some(line),
            message: message.into(),
        }
    }

    pub(crate) fn whole(source: &str, message: impl Into<String>) -> DbError {
        DbError {
            source: source.to_string(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.source, line, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for DbError {}
