//! Logs and exceptions: severity levels, log and exception records, and JS stack parsing.
//!
//! Records written while a span is active carry its trace and span id, so they are
//! correlated with the operation that was running.

pub mod stack;

use crate::ids::{SpanId, TraceId};
use crate::trace::Attributes;

/// Application Insights `severityLevel`, mapped from log levels as AzureLogHandler maps Python's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Verbose = 0,
    Information = 1,
    Warning = 2,
    Error = 3,
    Critical = 4,
}

impl Severity {
    /// `debug`/`verbose` → Verbose, `info` → Information, `warning`/`warn` → Warning,
    /// `error` → Error, `critical`/`fatal` → Critical.
    pub fn from_level(level: &str) -> Option<Severity> {
        Some(match level {
            "debug" | "verbose" | "trace" => Severity::Verbose,
            "info" | "information" => Severity::Information,
            "warning" | "warn" => Severity::Warning,
            "error" => Severity::Error,
            "critical" | "fatal" => Severity::Critical,
            _ => return None,
        })
    }
    pub fn from_code(code: u8) -> Severity {
        match code {
            0 => Severity::Verbose,
            1 => Severity::Information,
            2 => Severity::Warning,
            4 => Severity::Critical,
            _ => Severity::Error,
        }
    }
}

/// The operation a record belongs to: the active span's trace and span id, and its trace flags
/// (OTLP sends them with the record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correlation {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_flags: u8,
}

/// A log message.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    pub time_unix_nanos: u64,
    pub severity: Severity,
    pub message: String,
    /// The logger's name, sent as the `loggerName` property when set (shared by the records of
    /// a batch that have the same one).
    pub logger: std::rc::Rc<str>,
    pub properties: Attributes,
    pub correlation: Option<Correlation>,
}

/// One exception of a chain: an error, its `cause`s, the errors of an `AggregateError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionDetail {
    /// This exception's id within the record (its index).
    pub id: u32,
    /// The id of the exception that wraps this one (through `cause` or `errors`).
    pub outer_id: Option<u32>,
    pub type_name: String,
    pub message: String,
    pub stack: String,
}

/// An exception report.
#[derive(Clone, Debug, PartialEq)]
pub struct ExceptionRecord {
    pub time_unix_nanos: u64,
    pub severity: Severity,
    pub exceptions: Vec<ExceptionDetail>,
    pub properties: Attributes,
    pub correlation: Option<Correlation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_as_azure_log_handler_maps_them() {
        assert_eq!(Severity::from_level("debug"), Some(Severity::Verbose));
        assert_eq!(Severity::from_level("info"), Some(Severity::Information));
        assert_eq!(Severity::from_level("warning"), Some(Severity::Warning));
        assert_eq!(Severity::from_level("warn"), Some(Severity::Warning));
        assert_eq!(Severity::from_level("error"), Some(Severity::Error));
        assert_eq!(Severity::from_level("critical"), Some(Severity::Critical));
        assert_eq!(Severity::from_level("loud"), None);
        assert_eq!(Severity::Critical as u8, 4);
        assert_eq!(Severity::from_code(0), Severity::Verbose);
        assert_eq!(Severity::from_code(200), Severity::Error);
    }
}
