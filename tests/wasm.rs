//! The platform layer under a real JS engine: Node by default, headless Chromium with
//! `WASM_BINDGEN_USE_BROWSER=1` (see scripts/test). Network answers come from the real `fetch`
//! (a closed loopback port), timers from the real `setTimeout`.
#![cfg(target_arch = "wasm32")]

use edgecensus::wasm::RawClient;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

fn config(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        Reflect::set(&obj, &JsValue::from_str(k), v).unwrap();
    }
    obj.into()
}

fn number(obj: &JsValue, path: &[&str]) -> f64 {
    let mut v = obj.clone();
    for key in path {
        v = Reflect::get(&v, &JsValue::from_str(key)).unwrap();
    }
    v.as_f64().unwrap_or_else(|| panic!("{path:?} is not a number"))
}

/// Ends a root span with string attributes the way `js/core.js` does: ids from `drawIds`, the
/// record through `ingest` (the layout is in `src/tape.rs`).
fn end_root_span(client: &RawClient, name: &str, attributes: &[(&str, &str)]) {
    let ids = client.draw_ids(1);
    let now = js_sys::Date::now();
    let mut nums = vec![1.0, 1.0, f64::from(ids[6])];
    nums.extend(ids[..6].iter().map(|w| f64::from(*w)));
    nums.extend([0.0, now, now + 1.0, 0.0, attributes.len() as f64, 0.0]);
    let mut strings = vec![name, ""];
    for (key, value) in attributes {
        nums.push(0.0);
        strings.extend([*key, *value]);
    }
    nums.extend([0.0, 0.0, 0.0, 0.0]); // no events, no links
    let lengths: Vec<u32> = strings.iter().map(|s| s.encode_utf16().count() as u32).collect();
    client.ingest(&nums, &lengths, strings.concat().as_bytes(), 1, 1, 0);
}

/// A client that exports to a loopback port where nothing listens.
fn unreachable_client(extra: &[(&str, JsValue)]) -> RawClient {
    let mut pairs =
        vec![("connectionString", JsValue::from_str("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9"))];
    pairs.extend(extra.iter().cloned());
    RawClient::new(config(&pairs)).unwrap()
}

#[wasm_bindgen_test]
fn bad_configurations_are_errors_not_traps() {
    for bad in [
        JsValue::from_str("not an object"),
        config(&[("connectionString", JsValue::from_str("nonsense"))]),
        config(&[("connectionString", JsValue::from_f64(3.0))]),
        config(&[("maxQueueSize", JsValue::from_f64(f64::NAN))]),
        config(&[("maxBatchSize", JsValue::from_f64(-1.0))]),
        config(&[("sampler", JsValue::from_str("sometimes"))]),
        config(&[("console", JsValue::from_str("yes"))]),
    ] {
        assert!(RawClient::new(bad).is_err());
    }
    // The client still works after refusing configurations.
    let client = RawClient::new(config(&[])).unwrap();
    assert_eq!(client.draw_ids(1).len(), 7);
}

#[wasm_bindgen_test]
fn ids_are_random_valid_and_sampled_by_the_configured_sampler() {
    let client = RawClient::new(config(&[])).unwrap();
    let ids = client.draw_ids(2);
    assert_eq!(ids.len(), 14);
    assert_ne!(ids[..6], ids[7..13], "two draws differ");
    assert!(ids[..4].iter().any(|w| *w != 0) && ids[4..6].iter().any(|w| *w != 0), "valid ids");
    assert_eq!((ids[6], ids[13]), (1, 1), "the default sampler keeps every trace");
    assert_eq!(client.span_settings(), vec![0, 0, 0, 128, 128, 128]);

    let never = RawClient::new(config(&[("sampler", JsValue::from_str("never"))])).unwrap();
    assert_eq!(never.draw_ids(1)[6], 0);
    assert_eq!(never.span_settings()[0], 1);
    let ctx = never.parse_context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=1,b=2");
    assert_eq!(Reflect::get(&ctx, &"traceState".into()).unwrap().as_string().as_deref(), Some("a=1,b=2"));
    assert!(never.parse_context("00-zz", "").is_null());
    assert_eq!(number(&never.diagnostics(), &["invalidInputs"]), 1.0);
}

#[wasm_bindgen_test]
fn odd_values_are_counted_not_thrown() {
    let client =
        RawClient::new(config(&[("limits", config(&[("attributeValueLength", JsValue::from_f64(10.0))]))])).unwrap();
    let big = "x".repeat(1 << 20);
    end_root_span(&client, "s", &[("big", &big), ("", "empty key"), ("\u{e9}t\u{e9}", "\u{1f980}")]);
    // A batch cut short, one that claims more strings than it has, and numbers that are no ids.
    client.ingest(&[1.0, 0.0], &[], b"", 1, 0, 0);
    client.ingest(&[2.0, 1.0, 1.0, 0.0, 0.0], &[5], b"abc", 1, 0, 0);
    client.ingest(&[1.0, 0.0, 1.0, -1.0, 0.5, f64::NAN, 1e300, 0.0, 0.0, 0.0, 0.0, 0.0], &[], b"", 1, 0, 0);
    client.ingest(&[2.0, 1.0, 1.0, 0.0, 0.0], &[1, 1], &[0xff, 0xfe], 1, 0, 0); // not UTF-8
                                                                                // A malformed first record of three: the two after it cannot be read, and count too.
    client.ingest(&[7.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0], &[1, 1, 1, 1], b"abcd", 3, 0, 0);
    let d = client.diagnostics();
    assert_eq!(number(&d, &["valuesTruncated"]), 1.0);
    assert_eq!(number(&d, &["invalidInputs"]), 8.0);
    assert_eq!(number(&d, &["spansEnded"]), 1.0);
}

#[wasm_bindgen_test]
async fn a_failed_fetch_is_retried_and_a_flush_deadline_reports_it_pending() {
    let client = unreachable_client(&[]);
    end_root_span(&client, "s", &[]);
    let result = JsFuture::from(client.flush(300.0)).await.unwrap();
    assert_eq!(number(&result, &["pending"]), 1.0, "the item is kept for a retry, not dropped");
    assert_eq!(number(&result, &["accepted"]), 0.0);
    let d = client.diagnostics();
    assert!(number(&d, &["requestsFailed"]) >= 1.0);
    assert!(number(&d, &["itemsRetried"]) >= 1.0);
    assert_eq!(number(&d, &["dropped", "network"]), 0.0);
    assert!(Reflect::get(&d, &"lastError".into()).unwrap().is_string());
}

#[wasm_bindgen_test]
async fn the_export_timer_sends_without_a_flush() {
    let client = unreachable_client(&[("exportIntervalMs", JsValue::from_f64(20.0))]);
    end_root_span(&client, "s", &[]);
    for _ in 0..100 {
        if number(&client.diagnostics(), &["requestsFailed"]) >= 1.0 {
            break;
        }
        sleep_ms(20).await;
    }
    assert!(number(&client.diagnostics(), &["requestsSent"]) >= 1.0);
    assert!(number(&client.diagnostics(), &["requestsFailed"]) >= 1.0);
}

#[wasm_bindgen_test]
async fn shutdown_flushes_then_refuses_spans() {
    let client = unreachable_client(&[]);
    JsFuture::from(client.shutdown(200.0)).await.unwrap();
    end_root_span(&client, "late", &[]);
    assert_eq!(number(&client.diagnostics(), &["dropped", "shutdown"]), 1.0);
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: js_sys::Function = Reflect::get(&global, &"setTimeout".into()).unwrap().into();
        set_timeout.call2(&global, &resolve, &JsValue::from(ms)).unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
fn stats_record_through_the_js_boundary() {
    let client = RawClient::new(config(&[])).unwrap();
    let m = client.register_measure("presses", "Button presses", "1", true).unwrap();
    client.register_view("by_button", "", m, vec!["button".into()], 0, vec![]).unwrap();
    assert!(client.register_view("by_button", "", m, vec![], 1, vec![]).is_err(), "a conflicting view is refused");
    assert!(client.register_view("dist", "", m, vec![], 3, vec![5.0, 1.0]).is_err(), "bounds must increase");
    let buy = client.tag_set(vec!["button".into()], vec!["buy".into()]);
    assert!(buy > 0);
    assert_eq!(client.tag_set(vec!["button".into()], vec!["\u{e9}".into()]), -1, "non-ASCII values are refused");
    for _ in 0..3 {
        client.record(m, 1.0, buy as u32);
    }
    client.record(m, 0.5, buy as u32); // a fraction for an int measure
    let metrics: js_sys::Array = client.get_metrics().into();
    assert_eq!(metrics.length(), 1);
    let view = metrics.get(0);
    let series: js_sys::Array = Reflect::get(&view, &"series".into()).unwrap().into();
    assert_eq!(number(&series.get(0), &["value"]), 3.0);
    let tags = Reflect::get(&series.get(0), &"tags".into()).unwrap();
    assert_eq!(Reflect::get(&tags, &"button".into()).unwrap().as_string().as_deref(), Some("buy"));
    let d = client.diagnostics();
    assert_eq!(number(&d, &["measurementsRecorded"]), 3.0);
    assert_eq!(number(&d, &["measurementsInvalid"]), 1.0);
}
