//! The browser's transport: `fetch` through gloo-net, bounded in time and size.
//!
//! gloo-net is kept behind this one module (its maintainers describe it as on life support:
//! <https://github.com/ranile/gloo/issues/506>), so it can be replaced by raw `web-sys` fetch
//! without touching anything else. The request itself is built with `web_sys::Request`, not
//! gloo-net's `RequestBuilder`: that one re-serialises a URL's query string and appends a `&`
//! to it (gloo-net 0.6.0, `TryFrom<RequestBuilder> for Request`), and Binance signs the exact
//! query string it receives.
//!
//! Every request is sent with `redirect: "error"` (no exchange API redirects, and a followed
//! redirect would carry a signed request to another host), `referrerPolicy: "no-referrer"`,
//! `credentials: "omit"` (the exchange's web cookies must not ride along) and
//! `cache: "no-store"`. Bodies are read chunk by chunk and refused past
//! [`MAX_BODY_BYTES`], before they can fill the wasm memory. Every request can be aborted at once
//! ([`Transport::cancel`]): Lock, or a page that gave up, stops what is in flight.

use std::cell::RefCell;

use gloo_net::http::Request;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, Headers, ReadableStream, ReadableStreamDefaultReader, ReferrerPolicy, RequestCache,
    RequestCredentials, RequestInit, RequestRedirect,
};

use crate::{
    http::{HttpRequest, MAX_BODY_BYTES},
    refresh::{OwnedResponse, Transport, TransportFailure},
};

/// How long one request may take, headers and body together.
const TIMEOUT_MS: u32 = 15_000;

/// `fetch` from the extension's own context (service worker or page). With the host permission
/// granted, Chrome sends no CORS preflight and no `Origin` on GET.
#[derive(Debug, Default)]
pub struct FetchTransport {
    /// Aborts every request sent since it was made; replaced by a fresh one when it fires.
    cancel: RefCell<Option<AbortController>>,
}

impl FetchTransport {
    /// The signal of the requests sent now: aborted by [`Transport::cancel`].
    fn cancel_signal(&self) -> Result<AbortSignal, TransportFailure> {
        let mut cancel = self.cancel.borrow_mut();
        if cancel.is_none() {
            *cancel = Some(AbortController::new().map_err(|_| TransportFailure::Offline)?);
        }
        cancel.as_ref().map(AbortController::signal).ok_or(TransportFailure::Offline)
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: &HttpRequest) -> Result<OwnedResponse, TransportFailure> {
        // AbortSignal.timeout() aborts with a "TimeoutError" DOMException, body reading included
        // (https://dom.spec.whatwg.org/#dom-abortsignal-timeout); AbortSignal.any() aborts with
        // whichever fires first (https://dom.spec.whatwg.org/#dom-abortsignal-any).
        let (timeout, cancel) = (AbortSignal::timeout_with_u32(TIMEOUT_MS), self.cancel_signal()?);
        let signals = Array::of2(timeout.as_ref(), cancel.as_ref());
        let signal = AbortSignal::any(&signals);
        let init = RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_credentials(RequestCredentials::Omit);
        init.set_cache(RequestCache::NoStore);
        init.set_redirect(RequestRedirect::Error);
        init.set_referrer_policy(ReferrerPolicy::NoReferrer);
        init.set_signal(Some(&signal));
        let headers = Headers::new().map_err(|_| TransportFailure::Offline)?;
        for (name, value) in &request.headers {
            headers.append(name, value).map_err(|_| TransportFailure::Offline)?;
        }
        init.set_headers(&headers);
        if let Some(body) = &request.body {
            init.set_body(&JsValue::from_str(body));
        }
        let prepared = web_sys::Request::new_with_str_and_init(&request.url, &init).map_err(|_| TransportFailure::Offline)?;

        // A refused redirect rejects the fetch with a TypeError: reported as unreachable.
        let response = Request::from(prepared).send().await.map_err(classify)?;
        let headers = response.headers();
        let declared = headers.get("content-length").and_then(|value| value.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Err(TransportFailure::TooLarge);
        }
        let retry_after = headers.get("retry-after");
        let body = match response.body() {
            Some(stream) => read_bounded(stream).await?,
            None => Vec::new(),
        };
        Ok(OwnedResponse { status: response.status(), body, retry_after })
    }

    fn now_ms(&self) -> u64 {
        // Epoch milliseconds, exact as a JS number far beyond any date Cartera sees; never money.
        js_sys::Date::now() as u64
    }

    fn cancel(&self) {
        if let Some(cancel) = self.cancel.borrow_mut().take() {
            cancel.abort();
        }
    }

    async fn sleep(&self, ms: u64) {
        // setTimeout takes a 32-bit delay; the engine's waits are a pace window or two.
        let delay = i32::try_from(ms).unwrap_or(i32::MAX);
        let elapsed = Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, delay);
        });
        // The promise only ever resolves.
        let _ = JsFuture::from(elapsed).await;
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout`, the same in a page and in the service worker
    /// (<https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#dom-settimeout>).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, delay: i32) -> JsValue;
}

/// Reads a body stream, giving up (and cancelling the stream) once it passes `MAX_BODY_BYTES`.
async fn read_bounded(stream: ReadableStream) -> Result<Vec<u8>, TransportFailure> {
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(classify_js)?;
        if Reflect::get(&chunk, &JsValue::from_str("done")).ok().and_then(|done| done.as_bool()).unwrap_or(true) {
            return Ok(body);
        }
        let Ok(bytes) = Reflect::get(&chunk, &JsValue::from_str("value")).map(Uint8Array::from) else {
            return Err(TransportFailure::Offline);
        };
        let length = bytes.length() as usize;
        if body.len().saturating_add(length) > MAX_BODY_BYTES {
            // The rest of the answer is not wanted; its fate does not matter.
            let _ = reader.cancel();
            return Err(TransportFailure::TooLarge);
        }
        let start = body.len();
        body.resize(start + length, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

fn classify(error: gloo_net::Error) -> TransportFailure {
    match error {
        gloo_net::Error::JsError(js) if js.name == "TimeoutError" || js.name == "AbortError" => TransportFailure::Timeout,
        _ => TransportFailure::Offline,
    }
}

fn classify_js(error: JsValue) -> TransportFailure {
    let name = Reflect::get(&error, &JsValue::from_str("name")).ok().and_then(|name| name.as_string());
    match name.as_deref() {
        Some("TimeoutError" | "AbortError") => TransportFailure::Timeout,
        _ => TransportFailure::Offline,
    }
}
