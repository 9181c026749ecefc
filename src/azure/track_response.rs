//! Reads the track endpoint's answer: how many items it accepted, and which it refused.
//!
//! The body is `{"itemsReceived":n,"itemsAccepted":m,"errors":[{"index":i,"statusCode":c,"message":"..."}]}`.

use crate::json::{parse, JsonValue};

/// What one answered request means for its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackOutcome {
    pub accepted: u64,
    /// Items the service refused one by one (200/206 with `errors`).
    pub rejected: u64,
    /// All items refused by the request's status (4xx/5xx without per-item detail).
    pub failed_status: Option<u16>,
    /// The first error message the service gave, for diagnostics.
    pub message: Option<String>,
}

/// Interprets an HTTP answer to a batch of `items` envelopes.
pub fn interpret(status: u16, body: &str, items: u64) -> TrackOutcome {
    if status != 200 && status != 206 {
        return TrackOutcome {
            accepted: 0,
            rejected: 0,
            failed_status: Some(status),
            message: Some(first_message(body).unwrap_or_else(|| format!("track endpoint answered HTTP {status}"))),
        };
    }
    let parsed = parse(body).ok();
    let accepted =
        parsed.as_ref().and_then(|v| v.get("itemsAccepted")).and_then(JsonValue::as_u64).map(|n| n.min(items));
    let errors =
        parsed.as_ref().and_then(|v| v.get("errors")).and_then(JsonValue::as_array).map_or(0, |e| e.len() as u64);
    // A 200 without a readable body means all were taken; a 206 without one, that the
    // listed errors (if any) were refused.
    let accepted = accepted.unwrap_or(if status == 200 { items } else { items.saturating_sub(errors) });
    TrackOutcome {
        accepted,
        rejected: items - accepted,
        failed_status: None,
        message: parsed.as_ref().and_then(first_error),
    }
}

fn first_error(v: &JsonValue) -> Option<String> {
    let e = v.get("errors")?.as_array()?.first()?;
    let code = e.get("statusCode").and_then(JsonValue::as_u64).unwrap_or(0);
    let message = e.get("message").and_then(JsonValue::as_str).unwrap_or("");
    Some(format!("item refused ({code}): {message}"))
}

fn first_message(body: &str) -> Option<String> {
    let v = parse(body).ok()?;
    first_error(&v).or_else(|| v.get("message").and_then(JsonValue::as_str).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_acceptance() {
        let o = interpret(200, r#"{"itemsReceived":3,"itemsAccepted":3,"errors":[]}"#, 3);
        assert_eq!((o.accepted, o.rejected, o.failed_status), (3, 0, None));
    }

    #[test]
    fn partial_acceptance_counts_the_refused_items() {
        let body = r#"{"itemsReceived":3,"itemsAccepted":1,"errors":[{"index":0,"statusCode":400,"message":"bad name"},{"index":2,"statusCode":400,"message":"x"}]}"#;
        let o = interpret(206, body, 3);
        assert_eq!((o.accepted, o.rejected), (1, 2));
        assert_eq!(o.message.as_deref(), Some("item refused (400): bad name"));
    }

    #[test]
    fn unreadable_bodies() {
        assert_eq!(interpret(200, "<html>", 4).accepted, 4);
        let o = interpret(206, "", 4);
        assert_eq!((o.accepted, o.rejected), (4, 0));
        // More accepted than sent is capped.
        assert_eq!(interpret(200, r#"{"itemsAccepted":9}"#, 2).accepted, 2);
    }

    #[test]
    fn error_statuses_fail_the_whole_batch() {
        let o = interpret(
            400,
            r#"{"itemsReceived":1,"itemsAccepted":0,"errors":[{"index":0,"statusCode":400,"message":"Invalid instrumentation key"}]}"#,
            1,
        );
        assert_eq!(o.failed_status, Some(400));
        assert_eq!(o.message.as_deref(), Some("item refused (400): Invalid instrumentation key"));
        let o = interpret(503, "", 5);
        assert_eq!(o.failed_status, Some(503));
        assert_eq!(o.message.as_deref(), Some("track endpoint answered HTTP 503"));
    }
}
