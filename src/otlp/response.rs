//! Reads an OTLP/HTTP answer into a [`Verdict`], as the OTLP specification defines it:
//! 200 with an optional `partialSuccess` (`rejectedSpans`, `rejectedDataPoints`,
//! `rejectedLogRecords`: refused for good); 429, 502, 503, 504 and network errors are retried
//! (honouring `Retry-After`); 413 splits the batch; any other answer is final.

use crate::diagnostics::DropReason;
use crate::export::retry::{open_response, Verdict};
use crate::json::{parse, JsonValue};
use crate::platform::ExportResponse;

pub fn verdict(response: &ExportResponse, items: usize, now_unix_nanos: u64) -> Verdict {
    let (status, body, after_ms) = match open_response(response, now_unix_nanos) {
        Ok(opened) => opened,
        Err(verdict) => return verdict,
    };
    match status {
        200..=299 => {
            let partial = parse(body).ok().and_then(|v| v.get("partialSuccess").cloned());
            let rejected = partial.as_ref().map_or(0, |p| {
                ["rejectedSpans", "rejectedDataPoints", "rejectedLogRecords"]
                    .iter()
                    .filter_map(|k| p.get(k).and_then(count))
                    .sum::<u64>()
            });
            // Rejected data points are counted against whole items (a metric holds several).
            let rejected = rejected.min(items as u64);
            let message = partial
                .as_ref()
                .and_then(|p| p.get("errorMessage"))
                .and_then(JsonValue::as_str)
                .filter(|m| !m.is_empty())
                .map(|m| format!("partial success: {m}"));
            Verdict::Answered { accepted: items as u64 - rejected, retry: Vec::new(), rejected, message }
        }
        429 | 502 | 503 | 504 => Verdict::Retry { after_ms, reason: format!("HTTP {status}") },
        413 => Verdict::Split,
        _ => Verdict::Drop { reason: DropReason::HttpStatus, message: format!("OTLP endpoint answered HTTP {status}") },
    }
}

/// An int64 in OTLP JSON: a decimal string, or (from lenient servers) a number.
fn count(v: &JsonValue) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ResponseHeaders;

    fn http(status: u16, body: &str) -> ExportResponse {
        ExportResponse::Http { status, body: body.into(), headers: ResponseHeaders::default() }
    }

    #[test]
    fn success_and_partial_success() {
        assert_eq!(
            verdict(&http(200, "{}"), 3, 0),
            Verdict::Answered { accepted: 3, retry: vec![], rejected: 0, message: None }
        );
        let body = r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad span"}}"#;
        assert_eq!(
            verdict(&http(200, body), 3, 0),
            Verdict::Answered {
                accepted: 1,
                retry: vec![],
                rejected: 2,
                message: Some("partial success: bad span".into())
            }
        );
        let body = r#"{"partialSuccess":{"rejectedLogRecords":1}}"#;
        assert!(matches!(verdict(&http(200, body), 3, 0), Verdict::Answered { rejected: 1, .. }));
    }

    #[test]
    fn retries_and_drops() {
        for status in [429, 502, 503, 504] {
            assert!(matches!(verdict(&http(status, ""), 1, 0), Verdict::Retry { .. }), "{status}");
        }
        assert!(matches!(verdict(&ExportResponse::NetworkError("x".into()), 1, 0), Verdict::Retry { .. }));
        for status in [400, 401, 403, 404, 500] {
            assert!(matches!(verdict(&http(status, ""), 1, 0), Verdict::Drop { .. }), "{status}");
        }
        assert_eq!(verdict(&http(413, ""), 2, 0), Verdict::Split);
    }
}
