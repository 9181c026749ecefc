//! Reads the track endpoint's answer into a [`Verdict`], following the ingestion service's rules:
//! 200/206 answer item by item (`{"itemsReceived","itemsAccepted","errors":[{"index","statusCode","message"}]}`),
//! and per-item 408/429/500/502/503/504 are worth sending again; 408, 429, 500, 502, 503, 504 and
//! network errors retry the whole batch (honouring `Retry-After`); 307/308 move to `Location`;
//! 402 and 439 mean the quota is spent; 413 splits the batch; anything else is final.

use crate::diagnostics::DropReason;
use crate::export::retry::{open_response, Verdict};
use crate::json::{parse, JsonValue};
use crate::platform::ExportResponse;

fn retriable(status: u64) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Interprets the answer to a batch of `items` envelopes.
pub fn verdict(response: &ExportResponse, items: usize, now_unix_nanos: u64) -> Verdict {
    let (status, body, after_ms) = match open_response(response, now_unix_nanos) {
        Ok(opened) => opened,
        Err(verdict) => return verdict,
    };
    let location = match response {
        ExportResponse::Http { headers, .. } => headers.location.as_ref(),
        ExportResponse::NetworkError(_) => None,
    };
    match status {
        200 | 206 => answered(status, body, items),
        307 | 308 => match location {
            Some(location) => Verdict::Redirect { location: location.clone() },
            None => Verdict::Retry { after_ms, reason: format!("HTTP {status} without a Location") },
        },
        402 | 439 => Verdict::Drop { reason: DropReason::Quota, message: format!("HTTP {status}: quota exceeded") },
        413 => Verdict::Split,
        s if retriable(u64::from(s)) => Verdict::Retry { after_ms, reason: format!("HTTP {status}") },
        _ => Verdict::Drop {
            reason: DropReason::HttpStatus,
            message: first_message(body).unwrap_or_else(|| format!("track endpoint answered HTTP {status}")),
        },
    }
}

fn answered(status: u16, body: &str, items: usize) -> Verdict {
    let parsed = parse(body).ok();
    let errors: &[JsonValue] =
        parsed.as_ref().and_then(|v| v.get("errors")).and_then(JsonValue::as_array).unwrap_or(&[]);
    let mut retry = Vec::new();
    let mut rejected = 0u64;
    for e in errors {
        let index = e.get("index").and_then(JsonValue::as_u64).map(|i| i as usize).filter(|i| *i < items);
        let code = e.get("statusCode").and_then(JsonValue::as_u64).unwrap_or(0);
        match index {
            Some(i) if retriable(code) && !retry.contains(&i) => retry.push(i),
            Some(_) => rejected += 1,
            None => {}
        }
    }
    let listed = retry.len() as u64 + rejected;
    let items = items as u64;
    let accepted = match parsed.as_ref().and_then(|v| v.get("itemsAccepted")).and_then(JsonValue::as_u64) {
        Some(n) => n.min(items - listed.min(items)),
        // A 200 without a readable body took everything; a 206 took what it did not list.
        None => items - listed.min(items),
    };
    // Items neither accepted nor listed: the service gave no reason, so they cannot be retried
    // safely (they may have been taken); count them as refused.
    let unaccounted = items.saturating_sub(accepted + listed);
    let message = errors
        .first()
        .map(describe)
        .or_else(|| (status == 206 && unaccounted > 0).then(|| "206 without errors".into()));
    Verdict::Answered { accepted, retry, rejected: rejected + unaccounted, message }
}

fn describe(e: &JsonValue) -> String {
    let code = e.get("statusCode").and_then(JsonValue::as_u64).unwrap_or(0);
    let message = e.get("message").and_then(JsonValue::as_str).unwrap_or("");
    format!("item refused ({code}): {message}")
}

fn first_message(body: &str) -> Option<String> {
    let v = parse(body).ok()?;
    let first = v.get("errors")?.as_array()?.first().map(describe);
    first.or_else(|| v.get("message").and_then(JsonValue::as_str).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ResponseHeaders;

    fn http(status: u16, body: &str) -> ExportResponse {
        ExportResponse::Http { status, body: body.into(), headers: ResponseHeaders::default() }
    }

    #[test]
    fn full_acceptance() {
        let v = verdict(&http(200, r#"{"itemsReceived":3,"itemsAccepted":3,"errors":[]}"#), 3, 0);
        assert_eq!(v, Verdict::Answered { accepted: 3, retry: vec![], rejected: 0, message: None });
        assert_eq!(
            verdict(&http(200, "<html>"), 4, 0),
            Verdict::Answered { accepted: 4, retry: vec![], rejected: 0, message: None }
        );
    }

    #[test]
    fn partial_success_resends_only_retriable_items() {
        let body = r#"{"itemsReceived":4,"itemsAccepted":1,"errors":[{"index":0,"statusCode":400,"message":"bad name"},{"index":2,"statusCode":429,"message":"x"},{"index":3,"statusCode":500,"message":"y"}]}"#;
        let Verdict::Answered { accepted, retry, rejected, message } = verdict(&http(206, body), 4, 0) else {
            panic!()
        };
        assert_eq!((accepted, retry, rejected), (1, vec![2, 3], 1));
        assert_eq!(message.as_deref(), Some("item refused (400): bad name"));
    }

    #[test]
    fn whole_batch_outcomes() {
        let mut headers = ResponseHeaders { retry_after: Some("7".into()), ..Default::default() };
        let throttled = ExportResponse::Http { status: 429, body: String::new(), headers: headers.clone() };
        assert_eq!(verdict(&throttled, 1, 0), Verdict::Retry { after_ms: Some(7_000), reason: "HTTP 429".into() });
        for status in [408, 500, 502, 503, 504] {
            assert!(matches!(verdict(&http(status, ""), 1, 0), Verdict::Retry { after_ms: None, .. }), "{status}");
        }
        assert!(matches!(verdict(&ExportResponse::NetworkError("offline".into()), 1, 0), Verdict::Retry { .. }));
        for status in [402, 439] {
            assert!(matches!(verdict(&http(status, ""), 1, 0), Verdict::Drop { reason: DropReason::Quota, .. }));
        }
        assert_eq!(verdict(&http(413, ""), 2, 0), Verdict::Split);
        for status in [400, 401, 403, 404] {
            assert!(matches!(verdict(&http(status, ""), 1, 0), Verdict::Drop { reason: DropReason::HttpStatus, .. }));
        }
        headers.location = Some("http://127.0.0.1:9/v2.1/track".into());
        let moved = ExportResponse::Http { status: 307, body: String::new(), headers };
        assert_eq!(verdict(&moved, 1, 0), Verdict::Redirect { location: "http://127.0.0.1:9/v2.1/track".into() });
        assert!(matches!(verdict(&http(308, ""), 1, 0), Verdict::Retry { .. }), "no Location: retry later");
    }

    #[test]
    fn error_messages_are_kept() {
        let body = r#"{"itemsReceived":1,"itemsAccepted":0,"errors":[{"index":0,"statusCode":400,"message":"Invalid instrumentation key"}]}"#;
        let Verdict::Drop { message, .. } = verdict(&http(400, body), 1, 0) else { panic!() };
        assert_eq!(message, "item refused (400): Invalid instrumentation key");
    }
}
