//! The `#[wasm_bindgen]` API: `RawClient` and `RawSpan`, wrapped by `js/core.js`.
//!
//! Every method takes simple, pre-sorted values (the JS wrapper dispatches on `typeof`), never
//! throws, and never panics: the shared core is reached with `try_borrow_mut`, and a call that
//! finds it busy (a re-entrant call from a console hook, say) is counted and ignored.

use super::host::{Core, Shared, WasmHost};
use super::js;
use crate::azure::connection_string::ConnectionString;
use crate::config::{whole_number, ConfigError};
use crate::ids::{SpanId, TraceId};
use crate::log::{Correlation, ExceptionDetail, ExceptionRecord, Severity};
use crate::stats::aggregation::{Aggregation, AggregationData};
use crate::stats::view::{Measure, MeasureKind, View};
use crate::telemetry::{Config, OtlpConfig, Telemetry};
use crate::trace::{AttributeValue, Attributes, Sampler, SpanLimits};
use crate::trace_context::{parse_traceparent, TraceState};
use js_sys::{Object, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Runs `f` on the core unless it is busy (then counts nothing and returns `None`).
fn with_core<T>(core: &Shared, f: impl FnOnce(&mut Core) -> T) -> Option<T> {
    core.try_borrow_mut().ok().map(|mut c| f(&mut c))
}

#[wasm_bindgen]
pub struct RawClient {
    core: Shared,
}

#[wasm_bindgen]
impl RawClient {
    /// Validates `config` (a plain object) and creates the client. Starts nothing: no timer,
    /// no request and no random number until spans are made.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<RawClient, JsError> {
        let _ = crate::json::FLOAT_FORMATTER.set(|value, out| out.push_str(&js::number_text(value)));
        let (config, request_timeout_ms) = read_config(&config).map_err(|e| JsError::new(&e.to_string()))?;
        let core = WasmHost::attach(Telemetry::new(config, WasmHost::new(request_timeout_ms)));
        Ok(RawClient { core })
    }

    /// Takes a batch of finished spans and log records written by the JS API (see
    /// `crate::tape` for the layout): `nums` is the number channel; the string channel is
    /// `text`, the strings joined (as UTF-8: JS's `TextEncoder` is faster than wasm-bindgen's
    /// string copy), with each one's length in UTF-16 units in `lengths`. `records` is how many
    /// the batch holds: those after a malformed one (which ends the decoding) are counted as
    /// invalid inputs too, so that none is lost uncounted. `started` and `sampled_out` count the
    /// spans the JS API started since the last batch, and those the sampler left out.
    ///
    /// False when the core is busy (a re-entrant call, from a console hook say): nothing was
    /// taken, and the caller keeps the batch for later.
    pub fn ingest(
        &self,
        nums: &[f64],
        lengths: &[u32],
        text: &[u8],
        records: u32,
        started: u32,
        sampled_out: u32,
    ) -> bool {
        with_core(&self.core, |core| {
            let d = core.diagnostics_mut();
            d.spans_started += u64::from(started);
            d.spans_sampled_out += u64::from(sampled_out);
            let taken = match core::str::from_utf8(text) {
                Ok(text) => crate::tape::ingest(core, nums, crate::tape::Strings::new(text, lengths)),
                Err(_) => {
                    core.diagnostics_mut().invalid_inputs += 1;
                    0
                }
            };
            // The malformed record itself is counted already.
            let lost = (records as usize).saturating_sub(taken).saturating_sub(1);
            core.diagnostics_mut().invalid_inputs += lost as u64;
        })
        .is_some()
    }

    /// `count` fresh ids for spans started by the JS API (see `Tracer::draw_ids`).
    #[wasm_bindgen(js_name = drawIds)]
    pub fn draw_ids(&self, count: u32) -> Vec<u32> {
        with_core(&self.core, |core| core.draw_ids(count.min(4096) as usize)).unwrap_or_default()
    }

    /// What the JS API needs to start spans itself: the sampler as `[mode, high, low]` (see
    /// `Sampler::as_words`), then the attribute, event and link count limits.
    #[wasm_bindgen(js_name = spanSettings)]
    pub fn span_settings(&self) -> Vec<u32> {
        with_core(&self.core, |core| core.span_settings().to_vec()).unwrap_or_default()
    }

    /// Parses incoming `traceparent` / `tracestate` values into a context object, or `null`
    /// (counted as an invalid input when a header was present but malformed).
    #[wasm_bindgen(js_name = parseContext)]
    pub fn parse_context(&self, traceparent: &str, tracestate: &str) -> JsValue {
        let parsed = parse_traceparent(traceparent);
        let state = if tracestate.is_empty() { Ok(TraceState::default()) } else { TraceState::parse(tracestate) };
        let Ok(parent) = parsed else {
            if !traceparent.is_empty() {
                with_core(&self.core, |c| c.diagnostics_mut().invalid_inputs += 1);
            }
            return JsValue::NULL;
        };
        // A malformed tracestate is dropped; the traceparent still counts.
        let state = state.unwrap_or_else(|_| {
            with_core(&self.core, |c| c.diagnostics_mut().invalid_inputs += 1);
            TraceState::default()
        });
        let obj = Object::new();
        js::set(&obj, "traceId", parent.trace_id.to_hex());
        js::set(&obj, "spanId", parent.parent_id.to_hex());
        js::set(&obj, "traceFlags", parent.flags);
        if !state.is_empty() {
            js::set(&obj, "traceState", state.header());
        }
        js::set(&obj, "isRemote", true);
        obj.into()
    }

    /// Registers a measure (or finds the same one); its index is what `record` takes.
    #[wasm_bindgen(js_name = registerMeasure)]
    pub fn register_measure(&self, name: &str, description: &str, unit: &str, is_int: bool) -> Result<u32, JsError> {
        let measure = Measure {
            name: name.to_owned(),
            description: description.to_owned(),
            unit: unit.to_owned(),
            kind: if is_int { MeasureKind::Int } else { MeasureKind::Float },
        };
        with_core(&self.core, |core| core.stats.register_measure(measure))
            .ok_or_else(busy)?
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Registers a view. `aggregation`: 0 count, 1 sum, 2 last value, 3 distribution (`bounds`).
    #[wasm_bindgen(js_name = registerView)]
    pub fn register_view(
        &self,
        name: &str,
        description: &str,
        measure: u32,
        columns: Vec<String>,
        aggregation: u8,
        bounds: Vec<f64>,
    ) -> Result<(), JsError> {
        let aggregation = match aggregation {
            0 => Aggregation::Count,
            1 => Aggregation::Sum,
            2 => Aggregation::LastValue,
            _ => Aggregation::distribution(bounds).map_err(|e| JsError::new(&format!("edgecensus: {e}")))?,
        };
        let view = View { name: name.to_owned(), description: description.to_owned(), measure, columns, aggregation };
        with_core(&self.core, |core| core.register_view(view))
            .ok_or_else(busy)?
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Interns a tag map; -1 (and counted) when a key or value is invalid.
    #[wasm_bindgen(js_name = tagSet)]
    pub fn tag_set(&self, keys: Vec<String>, values: Vec<String>) -> i32 {
        with_core(&self.core, |core| {
            let id = core.stats.tag_set(keys.into_iter().zip(values).collect());
            id.map(|id| id as i32).unwrap_or_else(|_| {
                core.diagnostics_mut().invalid_inputs += 1;
                -1
            })
        })
        .unwrap_or(-1)
    }

    /// Records `value` of measure `measure` against tag set `tag_set`: the hot path, three numbers.
    pub fn record(&self, measure: u32, value: f64, tag_set: u32) {
        with_core(&self.core, |core| {
            let (stats, diag) = core.stats_and_diagnostics();
            stats.record(tag_set, measure, value, diag);
        });
    }

    /// The current cumulative metrics of every view, as plain objects.
    #[wasm_bindgen(js_name = getMetrics)]
    pub fn get_metrics(&self) -> JsValue {
        with_core(&self.core, |core| metrics_to_js(core)).unwrap_or_else(|| js_sys::Array::new().into())
    }

    /// Reports an exception chain: entry `i` has its type, message and stack, and the index of
    /// the exception that wraps it in `outer` (-1 for none).
    #[allow(clippy::too_many_arguments)] // flat arrays: one crossing instead of one per exception
    pub fn exception(
        &self,
        severity: u8,
        types: Vec<String>,
        messages: Vec<String>,
        stacks: Vec<String>,
        outer: Vec<i32>,
        keys: Vec<String>,
        values: Vec<String>,
        correlation: Vec<u32>,
    ) {
        with_core(&self.core, |core| {
            let count = types.len().min(messages.len()).min(stacks.len()).min(32);
            let mut exceptions = Vec::with_capacity(count);
            for (i, ((type_name, message), stack)) in
                types.into_iter().zip(messages).zip(stacks).take(count).enumerate()
            {
                let outer_id = outer.get(i).copied().filter(|o| *o >= 0 && (*o as usize) < count).map(|o| o as u32);
                exceptions.push(ExceptionDetail { id: i as u32, outer_id, type_name, message, stack });
            }
            if exceptions.is_empty() {
                core.diagnostics_mut().invalid_inputs += 1;
                return;
            }
            let properties = properties(core, keys, values);
            let record = ExceptionRecord {
                time_unix_nanos: core.now(),
                severity: Severity::from_code(severity),
                exceptions,
                properties,
                correlation: correlation_from_words(&correlation),
            };
            core.exception(record);
        });
    }

    /// Counts a measurement refused before it reached the core (an invalid tag map).
    #[wasm_bindgen(js_name = countInvalidMeasurement)]
    pub fn count_invalid_measurement(&self) {
        with_core(&self.core, |c| c.diagnostics_mut().measurements_invalid += 1);
    }

    /// Counts a console message that capture dropped over its rate limit.
    #[wasm_bindgen(js_name = dropRateLimited)]
    pub fn drop_rate_limited(&self) {
        with_core(&self.core, |c| c.diagnostics_mut().drop_items(crate::diagnostics::DropReason::RateLimited, 1));
    }

    /// Counts a value from JS that was refused (wrong type, NaN, missing name...).
    #[wasm_bindgen(js_name = countInvalid)]
    pub fn count_invalid(&self) {
        with_core(&self.core, |c| c.diagnostics_mut().invalid_inputs += 1);
    }

    /// Sends everything queued; the promise resolves with `{sent, accepted, rejected, pending}`
    /// once every item queued so far is delivered or dropped, or when `timeout_ms` (if finite)
    /// has passed. It never rejects.
    pub fn flush(&self, timeout_ms: f64) -> Promise {
        self.settle_with(|core| core.flush(timeout(timeout_ms)))
    }

    /// Flushes, stops the timers, and refuses later items (counted as `shutdown` drops).
    pub fn shutdown(&self, timeout_ms: f64) -> Promise {
        self.settle_with(|core| core.shutdown(timeout(timeout_ms)))
    }

    /// The page is hidden (`last` false) or going away (`last` true): see `Telemetry::unload`.
    /// Items for browser storage come back as `"<exporter index>:<item JSON>"`.
    pub fn unload(&self, persist: bool, last: bool) -> Vec<String> {
        with_core(&self.core, |core| core.unload(persist, last))
            .unwrap_or_default()
            .into_iter()
            .map(|(index, item)| format!("{index}:{item}"))
            .collect()
    }

    /// Queues items read back from browser storage (as `unload` gave them).
    pub fn restore(&self, items: Vec<String>) {
        let parsed: Vec<(usize, String)> = items
            .into_iter()
            .filter_map(|s| {
                let (index, item) = s.split_once(':')?;
                Some((index.parse().ok()?, item.to_owned()))
            })
            .collect();
        with_core(&self.core, |core| core.restore(parsed));
    }

    /// Counts stored items too old to send.
    pub fn expire(&self, count: u32) {
        with_core(&self.core, |core| core.expire(u64::from(count)));
    }

    /// The network is back: stop waiting out the backoff and send.
    pub fn resume(&self) {
        with_core(&self.core, |core| core.resume());
    }

    fn settle_with(&self, start: impl FnOnce(&mut Core) -> u64) -> Promise {
        let core = Rc::clone(&self.core);
        let mut start = Some(start);
        Promise::new(&mut |resolve, _reject| {
            let done = with_core(&core, |c| {
                let ticket = (start.take()?)(c);
                c.host.on_flush_settled(ticket, resolve.clone());
                Some(())
            });
            if done.flatten().is_none() {
                let _ = resolve.call1(&JsValue::UNDEFINED, &super::host::flush_result_object(&Default::default()));
            }
        })
    }

    /// The counters, as a plain object (see `Diagnostics` in index.d.ts).
    pub fn diagnostics(&self) -> JsValue {
        let obj = Object::new();
        with_core(&self.core, |core| {
            let d = core.diagnostics();
            let n = |v: u64| v as f64;
            js::set(&obj, "spansStarted", n(d.spans_started));
            js::set(&obj, "spansEnded", n(d.spans_ended));
            js::set(&obj, "spansSampledOut", n(d.spans_sampled_out));
            js::set(&obj, "itemsQueued", n(d.items_queued));
            js::set(&obj, "itemsPending", n(core.items_pending()));
            js::set(&obj, "itemsSent", n(d.items_sent));
            js::set(&obj, "itemsAccepted", n(d.items_accepted));
            js::set(&obj, "itemsRejected", n(d.items_rejected));
            js::set(&obj, "requestsSent", n(d.requests_sent));
            js::set(&obj, "requestsFailed", n(d.requests_failed));
            js::set(&obj, "itemsRetried", n(d.items_retried));
            js::set(&obj, "itemsPersisted", n(d.items_persisted));
            js::set(&obj, "itemsRestored", n(d.items_restored));
            js::set(&obj, "attributesDropped", n(d.attributes_dropped));
            js::set(&obj, "eventsDropped", n(d.events_dropped));
            js::set(&obj, "linksDropped", n(d.links_dropped));
            js::set(&obj, "valuesTruncated", n(d.values_truncated));
            js::set(&obj, "invalidInputs", n(d.invalid_inputs));
            js::set(&obj, "logsRecorded", n(d.logs_recorded));
            js::set(&obj, "exceptionsRecorded", n(d.exceptions_recorded));
            js::set(&obj, "measurementsRecorded", n(d.measurements_recorded));
            js::set(&obj, "measurementsInvalid", n(d.measurements_invalid));
            js::set(&obj, "seriesOverflow", n(d.series_overflow));
            let dropped = Object::new();
            for reason in crate::diagnostics::DropReason::ALL {
                js::set(&dropped, reason.name(), n(d.dropped(reason)));
            }
            js::set(&obj, "dropped", dropped);
            if let Some(e) = &d.last_error {
                js::set(&obj, "lastError", e.as_str());
            }
        });
        obj.into()
    }
}

/// A correlation from 7 words (trace id, span id, as the JS API keeps them, and trace flags),
/// or none.
fn correlation_from_words(words: &[u32]) -> Option<Correlation> {
    let &[t0, t1, t2, t3, s0, s1, flags] = words else { return None };
    Some(Correlation {
        trace_id: TraceId::from_words([t0, t1, t2, t3]),
        span_id: SpanId::from_words([s0, s1]),
        trace_flags: flags.min(255) as u8,
    })
}

/// Properties from parallel key/value arrays, with the attribute limits applied.
fn properties(core: &mut Core, keys: Vec<String>, values: Vec<String>) -> Attributes {
    let (limits, diag) = core.limits_and_diagnostics();
    let mut attributes = Attributes::default();
    for (key, value) in keys.into_iter().zip(values) {
        if key.is_empty() {
            diag.invalid_inputs += 1;
        } else {
            attributes.set(&key, AttributeValue::Str(value), limits, diag);
        }
    }
    attributes
}

/// A finite, non-negative number of milliseconds, else no timeout.
fn timeout(ms: f64) -> Option<u32> {
    (ms.is_finite() && ms >= 0.0).then_some(ms.min(f64::from(u32::MAX)) as u32)
}

fn busy() -> JsError {
    JsError::new("edgecensus: the client is busy (called from inside one of its own callbacks)")
}

/// `getMetrics()`: one object per view with its series, values as of now.
fn metrics_to_js(core: &Core) -> JsValue {
    let now_ms = core.now() as f64 / 1e6;
    let list = js_sys::Array::new();
    for view in core.stats.views() {
        let v = &view.view;
        let obj = Object::new();
        js::set(&obj, "name", v.name.as_str());
        js::set(&obj, "description", v.description.as_str());
        if let Some(m) = core.stats.measure(v.measure) {
            let measure = Object::new();
            js::set(&measure, "name", m.name.as_str());
            js::set(&measure, "unit", m.unit.as_str());
            js::set(&measure, "kind", if m.kind == MeasureKind::Int { "int" } else { "float" });
            js::set(&obj, "measure", measure);
        }
        js::set(&obj, "aggregation", v.aggregation.name());
        if let Aggregation::Distribution(bounds) = &v.aggregation {
            js::set(&obj, "bounds", bounds.iter().map(|b| JsValue::from_f64(*b)).collect::<js_sys::Array>());
        }
        js::set(&obj, "columns", v.columns.iter().map(|c| JsValue::from_str(c)).collect::<js_sys::Array>());
        js::set(&obj, "startTime", view.start_unix_nanos as f64 / 1e6);
        let series = js_sys::Array::new();
        for s in &view.series {
            let point = Object::new();
            let tags = Object::new();
            for (column, value) in v.columns.iter().zip(&s.tag_values) {
                if let Some(value) = value {
                    js::set(&tags, column, value.as_str());
                }
            }
            js::set(&point, "tags", tags);
            match &s.data {
                AggregationData::Count(n) => js::set(&point, "value", *n as f64),
                AggregationData::Sum(x) | AggregationData::LastValue(x) => js::set(&point, "value", *x),
                AggregationData::Distribution(d) => {
                    js::set(&point, "count", d.count as f64);
                    js::set(&point, "sum", d.sum());
                    js::set(&point, "mean", d.mean);
                    js::set(&point, "min", d.min);
                    js::set(&point, "max", d.max);
                    js::set(&point, "sumOfSquaredDeviation", d.sum_of_squared_deviation);
                    let buckets =
                        d.bucket_counts.iter().map(|c| JsValue::from_f64(*c as f64)).collect::<js_sys::Array>();
                    js::set(&point, "bucketCounts", buckets);
                }
            }
            js::set(&point, "timestamp", now_ms);
            series.push(&point);
        }
        js::set(&obj, "series", series);
        list.push(&obj);
    }
    list.into()
}

/// Reads and validates the JS configuration object.
/// Returns the core configuration and the per-request timeout (a platform setting).
fn read_config(raw: &JsValue) -> Result<(Config, u32), ConfigError> {
    if !raw.is_object() {
        return Err(ConfigError::NotAnObject);
    }
    let mut config = Config::default();
    let field = |name: &str| js::get(raw, name);

    let cs = field("connectionString");
    if !cs.is_undefined() && !cs.is_null() {
        let text = cs.as_string().ok_or(ConfigError::WrongType("connectionString", "a string"))?;
        config.azure = Some(ConnectionString::parse(&text).map_err(ConfigError::ConnectionString)?);
    }
    if let Some(v) = optional(&field("console")) {
        config.console = v.as_bool().ok_or(ConfigError::WrongType("console", "a boolean"))?;
    }
    if let Some(v) = optional(&field("serviceName")) {
        config.service_name = v.as_string().ok_or(ConfigError::WrongType("serviceName", "a string"))?;
    }
    if let Some(v) = optional(&field("serviceInstance")) {
        config.service_instance = Some(v.as_string().ok_or(ConfigError::WrongType("serviceInstance", "a string"))?);
    }
    if let Some(v) = optional(&field("sampler")) {
        config.sampler = read_sampler(&v)?;
    }
    let count = |name: &'static str, low: f64, high: f64| -> Result<Option<f64>, ConfigError> {
        match optional(&field(name)) {
            Some(v) => {
                let n = v.as_f64().ok_or(ConfigError::WrongType(name, "a number"))?;
                whole_number(name, n, low, high).map(Some)
            }
            None => Ok(None),
        }
    };
    if let Some(n) = count("maxQueueSize", 1.0, 1_000_000.0)? {
        config.batch.max_queue_items = n as usize;
    }
    if let Some(n) = count("maxBatchSize", 1.0, 100_000.0)? {
        config.batch.max_batch_items = n as usize;
    }
    if let Some(n) = count("maxBatchBytes", 1_024.0, 64.0 * 1_048_576.0)? {
        config.batch.max_batch_bytes = n as usize;
    }
    if let Some(n) = count("exportIntervalMs", 0.0, 86_400_000.0)? {
        config.export_interval_ms = n as u32;
    }
    if let Some(n) = count("metricsIntervalMs", 0.0, 86_400_000.0)? {
        config.metrics_interval_ms = n as u32;
    }
    if let Some(n) = count("maxSeriesPerView", 1.0, 100_000.0)? {
        config.stats_limits.max_series_per_view = n as usize;
    }
    if let Some(n) = count("maxQueueBytes", 65_536.0, 256.0 * 1_048_576.0)? {
        config.batch.max_queue_bytes = n as usize;
    }
    let request_timeout_ms = count("requestTimeoutMs", 0.0, 600_000.0)?.map_or(30_000, |n| n as u32);
    let otlp = field("otlp");
    if let Some(otlp) = optional(&otlp) {
        config.otlp = Some(read_otlp(&otlp, raw, &config.service_name)?);
    }
    let limits = field("limits");
    if let Some(limits) = optional(&limits) {
        let limit = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            match optional(&js::get(&limits, name)) {
                Some(v) => {
                    let n = v.as_f64().ok_or(ConfigError::WrongType(name, "a number"))?;
                    Ok(Some(whole_number(name, n, 0.0, 1_000_000.0)? as usize))
                }
                None => Ok(None),
            }
        };
        if let Some(n) = limit("attributeCount")? {
            config.limits.attribute_count = n;
        }
        if let Some(n) = limit("eventCount")? {
            config.limits.event_count = n;
        }
        if let Some(n) = limit("linkCount")? {
            config.limits.link_count = n;
        }
        if let Some(n) = limit("attributeValueLength")? {
            config.limits.value_length = n;
        }
    }
    Ok((config, request_timeout_ms))
}

/// `otlp: {endpoint, headers, compression, resource}` with `serviceName`, `serviceVersion`.
fn read_otlp(otlp: &JsValue, raw: &JsValue, service_name: &str) -> Result<OtlpConfig, ConfigError> {
    let endpoint =
        js::get(otlp, "endpoint").as_string().ok_or(ConfigError::WrongType("otlp.endpoint", "a URL string"))?;
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(ConfigError::WrongType("otlp.endpoint", "an http(s) URL"));
    }
    let mut headers = Vec::new();
    let given = js::get(otlp, "headers");
    if let Some(given) = optional(&given) {
        for key in js_sys::Object::keys(given.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let value = js::get(&given, &key)
                .as_string()
                .ok_or(ConfigError::WrongType("otlp.headers", "an object of strings"))?;
            headers.push((key, value));
        }
    }
    let gzip = match js::get(otlp, "compression").as_string().as_deref() {
        None | Some("gzip") => true,
        Some("none") => false,
        Some(_) => return Err(ConfigError::WrongType("otlp.compression", "\"gzip\" or \"none\"")),
    };
    let mut resource = Attributes::default();
    let limits = SpanLimits::default();
    let mut diag = crate::diagnostics::Diagnostics::default();
    resource.set("service.name", AttributeValue::Str(service_name.to_owned()), &limits, &mut diag);
    if let Some(version) = js::get(raw, "serviceVersion").as_string() {
        resource.set("service.version", AttributeValue::Str(version), &limits, &mut diag);
    }
    if let Some(instance) = js::get(raw, "serviceInstance").as_string() {
        resource.set("service.instance.id", AttributeValue::Str(instance), &limits, &mut diag);
    }
    resource.set("telemetry.sdk.name", AttributeValue::Str("edgecensus".into()), &limits, &mut diag);
    resource.set("telemetry.sdk.language", AttributeValue::Str("rust".into()), &limits, &mut diag);
    resource.set("telemetry.sdk.version", AttributeValue::Str(env!("CARGO_PKG_VERSION").into()), &limits, &mut diag);
    let extra = js::get(raw, "resource");
    if let Some(extra) = optional(&extra) {
        for key in js_sys::Object::keys(extra.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let value = js::get(&extra, &key);
            let value = if let Some(s) = value.as_string() {
                AttributeValue::Str(s)
            } else if let Some(b) = value.as_bool() {
                AttributeValue::Bool(b)
            } else if let Some(n) = value.as_f64().filter(|n| n.is_finite()) {
                AttributeValue::from_number(n)
            } else {
                return Err(ConfigError::WrongType("resource", "an object of strings, numbers and booleans"));
            };
            resource.set(&key, value, &limits, &mut diag);
        }
    }
    Ok(OtlpConfig { endpoint, headers, gzip, resource })
}

/// `None` for undefined/null, the value otherwise.
fn optional(value: &JsValue) -> Option<JsValue> {
    (!value.is_undefined() && !value.is_null()).then(|| value.clone())
}

fn read_sampler(v: &JsValue) -> Result<Sampler, ConfigError> {
    let kind = v.as_string().or_else(|| js::get(v, "type").as_string());
    match kind.as_deref() {
        Some("always") => Ok(Sampler::AlwaysOn),
        Some("never") => Ok(Sampler::AlwaysOff),
        Some("probability") => {
            let p = js::get(v, "probability").as_f64().unwrap_or(f64::NAN);
            Sampler::probability(p).map_err(|e| ConfigError::Sampler(e.to_string()))
        }
        _ => Err(ConfigError::Sampler("expected \"always\", \"never\" or {type: \"probability\", probability}".into())),
    }
}
