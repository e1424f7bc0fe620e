//! The browser's transport: `fetch` through gloo-net, with a 15-second limit.
//!
//! gloo-net is kept behind this one module (its maintainers describe it as on life support:
//! <https://github.com/ranile/gloo/issues/506>), so it can be replaced by raw `web-sys` fetch
//! without touching anything else.

use gloo_net::http::{Method as GlooMethod, RequestBuilder};
use web_sys::{AbortSignal, RequestCache, RequestCredentials};

use crate::{
    exchange::{HttpRequest, Method},
    refresh::{OwnedResponse, Transport, TransportFailure},
};

/// How long one request may take, headers and body together.
const TIMEOUT_MS: u32 = 15_000;

/// `fetch` from the extension's own context (service worker or page). With the host permission
/// granted, Chrome sends no CORS preflight and no `Origin` on GET.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(&self, request: &HttpRequest) -> Result<OwnedResponse, TransportFailure> {
        // AbortSignal.timeout() aborts with a "TimeoutError" DOMException, body reading included
        // (https://dom.spec.whatwg.org/#dom-abortsignal-timeout).
        let signal = AbortSignal::timeout_with_u32(TIMEOUT_MS);
        let mut builder = RequestBuilder::new(&request.url)
            .method(match request.method {
                Method::Get => GlooMethod::GET,
                Method::Post => GlooMethod::POST,
            })
            // Cookies for api.bitso.com would otherwise ride along on every request.
            .credentials(RequestCredentials::Omit)
            .cache(RequestCache::NoStore)
            .abort_signal(Some(&signal));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let prepared = match &request.body {
            Some(body) => builder.body(body.as_str()),
            None => builder.build(),
        }
        .map_err(|_| TransportFailure::Offline)?;

        let response = prepared.send().await.map_err(classify)?;
        let retry_after_secs = response.headers().get("retry-after").and_then(|value| value.trim().parse().ok());
        let body = response.binary().await.map_err(classify)?;
        Ok(OwnedResponse { status: response.status(), body, retry_after_secs })
    }
}

fn classify(error: gloo_net::Error) -> TransportFailure {
    match error {
        gloo_net::Error::JsError(js) if js.name == "TimeoutError" || js.name == "AbortError" => {
            TransportFailure::Timeout
        }
        _ => TransportFailure::Offline,
    }
}
