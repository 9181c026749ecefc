//! The wasm [`Host`]: `performance.now()` clock, `crypto.getRandomValues` entropy, `fetch`
//! transport, `setTimeout` export timer, `console.log`, and flush promises.

use super::js;
use crate::platform::{Clock, Entropy, ExportRequest, ExportResponse, Host, ResponseHeaders};
use crate::telemetry::{FlushResult, Telemetry};
use js_sys::{Function, Object, Reflect};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub type Core = Telemetry<WasmHost>;
pub type Shared = Rc<RefCell<Core>>;

pub struct WasmHost {
    /// The client this host serves, for answers and timers that arrive later.
    me: Weak<RefCell<Core>>,
    /// `performance`, when its clock agrees with `Date.now()` (it does not in every runtime).
    performance: Option<js::Performance>,
    time_origin_ms: f64,
    /// One callback reused for every export timer, so no closure is created or freed per tick.
    timer_callback: Option<Closure<dyn FnMut()>>,
    timer_id: Option<JsValue>,
    /// Resolvers of flush promises not yet settled, by ticket.
    flush_resolvers: Vec<(u64, Function)>,
    /// Flushes that completed before their promise's resolver was registered.
    flushes_done_early: Vec<(u64, FlushResult)>,
    /// Per-request timeout (0: none).
    request_timeout_ms: u32,
}

impl WasmHost {
    /// Reads no global but `performance` and `Date`: safe at any time, including module scope.
    pub fn new(request_timeout_ms: u32) -> WasmHost {
        let performance = js::get(&js_sys::global(), "performance").dyn_into::<js::Performance>().ok();
        let mut host = WasmHost {
            me: Weak::new(),
            performance: None,
            time_origin_ms: 0.0,
            timer_callback: None,
            timer_id: None,
            flush_resolvers: Vec::new(),
            flushes_done_early: Vec::new(),
            request_timeout_ms,
        };
        if let Some(p) = performance {
            let origin = p.time_origin().as_f64().unwrap_or(0.0);
            if let Ok(now) = p.now() {
                // Some runtimes (workerd) report no time origin: trust `performance` only
                // where origin + now() agrees with the wall clock.
                if (origin + now - js::date_now()).abs() < 1_000.0 {
                    host.time_origin_ms = origin;
                    host.performance = Some(p);
                }
            }
        }
        host
    }

    /// Creates the shared client and points its host back at it.
    pub fn attach(core: Core) -> Shared {
        let shared = Rc::new(RefCell::new(core));
        shared.borrow_mut().host.me = Rc::downgrade(&shared);
        shared
    }

    /// Registers the resolver of the flush promise for `ticket` (or settles it now).
    pub fn on_flush_settled(&mut self, ticket: u64, resolve: Function) {
        if let Some(pos) = self.flushes_done_early.iter().position(|(t, _)| *t == ticket) {
            let (_, result) = self.flushes_done_early.swap_remove(pos);
            let _ = resolve.call1(&JsValue::UNDEFINED, &flush_result_object(&result));
        } else {
            self.flush_resolvers.push((ticket, resolve));
        }
    }
}

impl Drop for WasmHost {
    /// A client that JS has let go of must not leave a timer behind: its callback would call
    /// a closure that no longer exists (an exception in the host app).
    fn drop(&mut self) {
        if let Some(id) = self.timer_id.take() {
            let _ = js::clear_timeout(&id);
        }
    }
}

pub fn flush_result_object(result: &FlushResult) -> JsValue {
    let obj = Object::new();
    js::set(&obj, "sent", result.sent as f64);
    js::set(&obj, "accepted", result.accepted as f64);
    js::set(&obj, "rejected", result.rejected as f64);
    js::set(&obj, "pending", result.pending as f64);
    obj.into()
}

impl Clock for WasmHost {
    fn now_unix_nanos(&self) -> u64 {
        let ms = match &self.performance {
            Some(p) => self.time_origin_ms + p.now().unwrap_or_else(|_| js::date_now() - self.time_origin_ms),
            None => js::date_now(),
        };
        if ms.is_finite() && ms > 0.0 {
            (ms * 1_000_000.0) as u64
        } else {
            0
        }
    }
}

impl Entropy for WasmHost {
    fn fill(&self, seed: &mut [u8; 32]) -> bool {
        getrandom::fill(seed).is_ok()
    }
}

impl Host for WasmHost {
    fn send(&mut self, request: ExportRequest) {
        let me = self.me.clone();
        let timeout_ms = self.request_timeout_ms;
        wasm_bindgen_futures::spawn_local(async move {
            let id = request.id;
            let response = post(request, timeout_ms).await;
            if let Some(core) = me.upgrade() {
                if let Ok(mut core) = core.try_borrow_mut() {
                    core.on_response(id, response);
                }
            }
        });
    }

    fn cancel_timer(&mut self) {
        if let Some(id) = self.timer_id.take() {
            let _ = js::clear_timeout(&id);
        }
    }

    fn arm_timer(&mut self, delay_ms: u32, keep_alive: bool) -> Result<(), String> {
        self.cancel_timer();
        let me = self.me.clone();
        let callback = self.timer_callback.get_or_insert_with(|| {
            Closure::new(move || {
                if let Some(core) = me.upgrade() {
                    if let Ok(mut core) = core.try_borrow_mut() {
                        core.host.timer_id = None;
                        core.on_timer();
                    }
                }
            })
        });
        match js::set_timeout(callback.as_ref(), delay_ms) {
            Ok(id) => {
                // Node: a periodic export must not keep the process alive (a flush must).
                if !keep_alive {
                    js::call_method0(&id, "unref");
                }
                self.timer_id = Some(id);
                Ok(())
            }
            Err(e) => Err(format!("setTimeout failed: {}", js::describe_error(&e))),
        }
    }

    fn print(&mut self, line: &str) {
        js::console_log(line);
    }

    fn flush_done(&mut self, ticket: u64, result: FlushResult) {
        match self.flush_resolvers.iter().position(|(t, _)| *t == ticket) {
            Some(pos) => {
                let (_, resolve) = self.flush_resolvers.swap_remove(pos);
                let _ = resolve.call1(&JsValue::UNDEFINED, &flush_result_object(&result));
            }
            None => self.flushes_done_early.push((ticket, result)),
        }
    }
}

/// The body for `fetch`: a `Blob` of the bytes, a copy of wasm memory, where a string would be
/// decoded from UTF-8 and, by fetch, encoded again (3x slower for a large batch). Not a bare
/// `Uint8Array`: Node's fetch cannot resend one when it follows a 307/308. A string where the
/// host has no `Blob`.
fn body_value(body: &str) -> JsValue {
    let bytes = js_sys::Uint8Array::from(body.as_bytes());
    js::get(&js_sys::global(), "Blob")
        .dyn_into::<js_sys::Function>()
        .ok()
        .and_then(|blob| Reflect::construct(&blob, &js_sys::Array::of1(&js_sys::Array::of1(&bytes))).ok())
        .unwrap_or_else(|| JsValue::from_str(body))
}

/// Gzips `body` with `CompressionStream` where the host has it: a promise of the bytes.
fn gzip(body: &JsValue) -> Option<js_sys::Promise> {
    let global = js_sys::global();
    let compression = js::get(&global, "CompressionStream").dyn_into::<js_sys::Function>().ok()?;
    let response_class = js::get(&global, "Response").dyn_into::<js_sys::Function>().ok()?;
    let stream = Reflect::construct(&compression, &js_sys::Array::of1(&JsValue::from_str("gzip"))).ok()?;
    let source = Reflect::construct(&response_class, &js_sys::Array::of1(body)).ok()?;
    let compressed = js::call_method1(&js::get(&source, "body"), "pipeThrough", &stream);
    let response = Reflect::construct(&response_class, &js_sys::Array::of1(&compressed)).ok()?;
    js::call_method0(&response, "arrayBuffer").dyn_into::<js_sys::Promise>().ok()
}

/// POSTs one request with `fetch` and reads the answer's status, body and the headers the
/// exporters act on. Keepalive requests (page unload) fall back to `navigator.sendBeacon`.
async fn post(request: ExportRequest, timeout_ms: u32) -> ExportResponse {
    let global = js_sys::global();
    let init = Object::new();
    js::set(&init, "method", "POST");
    let headers = Object::new();
    js::set(&headers, "content-type", request.content_type);
    for (name, value) in &request.headers {
        js::set(&headers, name, value.as_str());
    }
    let body = body_value(&request.body);
    match request.gzip.then(|| gzip(&body)).flatten() {
        Some(stream) => {
            js::set(&headers, "content-encoding", "gzip");
            match JsFuture::from(stream).await {
                Ok(bytes) => js::set(&init, "body", bytes),
                Err(_) => {
                    let _ = Reflect::delete_property(&headers, &JsValue::from_str("content-encoding"));
                    js::set(&init, "body", &body);
                }
            }
        }
        None => js::set(&init, "body", &body),
    }
    js::set(&init, "headers", headers);
    if request.keepalive {
        js::set(&init, "keepalive", true);
    } else if timeout_ms > 0 {
        // AbortSignal.timeout where the host has it (browsers, Node 17.3+, workerd).
        let signal = js::call_method1(&js::get(&global, "AbortSignal"), "timeout", &JsValue::from(timeout_ms));
        if !signal.is_undefined() {
            js::set(&init, "signal", signal);
        }
    }
    let result = match js::fetch(&request.url, &init) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(response) => response,
        Err(e) if request.keepalive => {
            // Over the keepalive budget, or fetch refused it: a beacon gives no answer, so it
            // counts as delivered once the browser has taken it.
            let sent = js::call_method2(
                &js::get(&global, "navigator"),
                "sendBeacon",
                &JsValue::from_str(&request.url),
                &JsValue::from_str(&request.body),
            );
            if sent.as_bool() == Some(true) {
                return ExportResponse::Http { status: 200, body: String::new(), headers: ResponseHeaders::default() };
            }
            return ExportResponse::NetworkError(js::describe_error(&e));
        }
        Err(e) => return ExportResponse::NetworkError(js::describe_error(&e)),
    };
    let status = js::get(&response, "status").as_f64().unwrap_or(0.0) as u16;
    let header =
        |name: &str| js::call_method1(&js::get(&response, "headers"), "get", &JsValue::from_str(name)).as_string();
    let redirected_to = if js::get(&response, "redirected").as_bool() == Some(true) {
        js::get(&response, "url").as_string().filter(|u| !u.is_empty())
    } else {
        None
    };
    let headers = ResponseHeaders { retry_after: header("retry-after"), location: header("location"), redirected_to };
    let body = match js::call_method0(&response, "text").dyn_into::<js_sys::Promise>() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    ExportResponse::Http { status, body, headers }
}
