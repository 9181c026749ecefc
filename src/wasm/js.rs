//! Bindings to the few JavaScript globals the platform layer uses, and small value helpers.
//!
//! Every binding that can throw is declared with `catch`, so a missing or failing global
//! becomes an `Err` here instead of an exception thrown through the host app.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (browsers, workers, workerd, Node 18+).
    #[wasm_bindgen(catch, js_name = fetch)]
    pub fn fetch(url: &str, init: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_name = setTimeout)]
    pub fn set_timeout(callback: &JsValue, delay_ms: u32) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(js_namespace = console, js_name = log)]
    pub fn console_log(line: &str);

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    pub fn date_now() -> f64;

    /// `String(number)`: the shortest decimal that reads back as the same number.
    #[wasm_bindgen(js_name = String)]
    pub fn number_text(value: f64) -> String;

    /// `globalThis.performance`, typed just enough to call `now()`.
    pub type Performance;
    #[wasm_bindgen(method, catch)]
    pub fn now(this: &Performance) -> Result<f64, JsValue>;
    #[wasm_bindgen(method, getter, js_name = timeOrigin)]
    pub fn time_origin(this: &Performance) -> JsValue;
}

/// `obj[key]`, or `undefined` when it cannot be read.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[key] = value`, ignoring failures (frozen objects).
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// Calls `obj[name]()` when it is a function; the result or `undefined`.
pub fn call_method0(obj: &JsValue, name: &str) -> JsValue {
    match get(obj, name).dyn_into::<js_sys::Function>() {
        Ok(f) => f.call0(obj).unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    }
}

/// Calls `obj[name](arg)` when it is a function; the result or `undefined`.
pub fn call_method1(obj: &JsValue, name: &str, arg: &JsValue) -> JsValue {
    match get(obj, name).dyn_into::<js_sys::Function>() {
        Ok(f) => f.call1(obj, arg).unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    }
}

/// Calls `obj[name](a, b)` when it is a function; the result or `undefined`.
pub fn call_method2(obj: &JsValue, name: &str, a: &JsValue, b: &JsValue) -> JsValue {
    match get(obj, name).dyn_into::<js_sys::Function>() {
        Ok(f) => f.call2(obj, a, b).unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    }
}

/// A short text for a thrown JS value, for diagnostics.
pub fn describe_error(error: &JsValue) -> String {
    if let Some(s) = error.as_string() {
        return s;
    }
    let message = get(error, "message");
    match message.as_string() {
        Some(m) => m,
        None => "unknown error".into(),
    }
}
