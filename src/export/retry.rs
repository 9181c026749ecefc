//! What to do with an answered (or failed) export request, and how long to wait before a retry.

use crate::diagnostics::DropReason;
use crate::platform::ExportResponse;

/// The outcome of one request, as the exporter acts on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The service answered item by item: `accepted` taken, the items at `retry` (indexes into
    /// the batch) to send again, `rejected` refused for good.
    Answered { accepted: u64, retry: Vec<usize>, rejected: u64, message: Option<String> },
    /// Send the whole batch again later (throttled, server error, network error, timeout).
    Retry { after_ms: Option<u64>, reason: String },
    /// Send the batch again at once, to this URL, and keep using it.
    Redirect { location: String },
    /// The batch was too large: send it again in two halves.
    Split,
    /// Give the batch up.
    Drop { reason: DropReason, message: String },
}

/// What every protocol does first with an answer: a network error is retried; otherwise the
/// status, the body and the `Retry-After` delay (if any) for the protocol's own rules.
pub fn open_response(response: &ExportResponse, now_unix_nanos: u64) -> Result<(u16, &str, Option<u64>), Verdict> {
    match response {
        ExportResponse::NetworkError(message) => Err(Verdict::Retry { after_ms: None, reason: message.clone() }),
        ExportResponse::Http { status, body, headers } => {
            let after_ms = headers.retry_after.as_deref().and_then(|v| retry_after_ms(v, now_unix_nanos));
            Ok((*status, body.as_str(), after_ms))
        }
    }
}

/// Waiting time after `failures` failures in a row: 1 s doubling up to 5 min, with jitter
/// (a random point in the upper half), so that many clients do not retry in step.
pub fn backoff_ms(failures: u32, random: u64) -> u64 {
    let exponent = failures.saturating_sub(1).min(20);
    let full = (1_000u64 << exponent).min(300_000);
    full / 2 + random % (full / 2 + 1)
}

/// Reads `Retry-After`: delay seconds, or an HTTP date (relative to `now_unix_nanos`).
pub fn retry_after_ms(value: &str, now_unix_nanos: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1_000));
    }
    let at = crate::time::parse_http_date(value)?;
    Some((at.saturating_mul(1_000_000_000)).saturating_sub(now_unix_nanos) / 1_000_000)
}

/// A redirect target: an absolute http(s) URL, or a path on the current origin.
pub fn resolve_location(current: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.starts_with("https://") || location.starts_with("http://") {
        return Some(location.to_owned());
    }
    if location.starts_with('/') && !location.starts_with("//") {
        let scheme_end = crate::text::find(current, "://")? + 3;
        let origin_end = current.get(scheme_end..)?.find('/').map_or(current.len(), |i| scheme_end + i);
        return Some(format!("{}{}", current.get(..origin_end)?, location));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        assert_eq!(backoff_ms(1, 0), 500);
        assert_eq!(backoff_ms(1, 500), 1_000);
        assert!((1_000..=2_000).contains(&backoff_ms(2, 12_345)));
        assert!((2_000..=4_000).contains(&backoff_ms(3, 999_999)));
        assert!(backoff_ms(50, u64::MAX) <= 300_000);
        assert!(backoff_ms(50, 0) >= 150_000);
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(retry_after_ms("3", 0), Some(3_000));
        assert_eq!(retry_after_ms(" 0 ", 0), Some(0));
        // 1994-11-06T08:49:37Z is 784111777 s; 10 s before it:
        let now = 784_111_767u64 * 1_000_000_000;
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(10_000));
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now + 60_000_000_000), Some(0), "a past date: now");
        assert_eq!(retry_after_ms("soon", 0), None);
        assert_eq!(retry_after_ms("-5", 0), None);
    }

    #[test]
    fn locations() {
        let current = "http://127.0.0.1:8000/v2.1/track";
        assert_eq!(
            resolve_location(current, "http://127.0.0.1:9000/v2.1/track").as_deref(),
            Some("http://127.0.0.1:9000/v2.1/track")
        );
        assert_eq!(resolve_location(current, "/v2/track").as_deref(), Some("http://127.0.0.1:8000/v2/track"));
        assert_eq!(resolve_location(current, "//evil/x"), None);
        assert_eq!(resolve_location(current, "ftp://x"), None);
    }
}
