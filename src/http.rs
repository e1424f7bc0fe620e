//! Requests and responses as plain data, between the adapters (which build and read them) and the
//! transport (which sends them).

use serde::Serialize;
use zeroize::Zeroize as _;

use crate::error::MAX_BAN_MS;

/// The largest response body Cartera reads. The biggest genuine answer is Binance's 24-hour
/// ticker list for every symbol, about 1 MB; anything far above is refused unread.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// HTTP methods the adapters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// GET
    #[serde(rename = "GET")]
    Get,
    /// POST
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request ready to send, as plain data.
///
/// Its `Debug` leaves the header values and the body out: they may carry a key or a signature.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL, query string included.
    pub url: String,
    /// Header names and values, in the order they were added.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as signed.
    pub body: Option<String>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        let path = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &path)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// Header values and the body may hold a key, a signature, a bearer token or (Mercado Bitcoin's
/// `/authorize`) a secret: wiped when the request is done with, like every other secret.
impl Drop for HttpRequest {
    fn drop(&mut self) {
        self.body.zeroize();
        for (_, value) in &mut self.headers {
            value.zeroize();
        }
    }
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn get(url: String) -> Self {
        Self { method: Method::Get, url, headers: Vec::new(), body: None }
    }

    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The host the request goes to.
    pub fn host(&self) -> &str {
        let rest = self.url.strip_prefix("https://").unwrap_or(&self.url);
        rest.split(['/', '?']).next().unwrap_or_default()
    }
}

/// What came back: the status, the raw body, the server's wait hint if any, and when it came.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a> {
    /// HTTP status code.
    pub status: u16,
    /// The body bytes, unparsed.
    pub body: &'a [u8],
    /// The `Retry-After` hint, capped at the longest ban honoured (see [`retry_after_ms`]); each
    /// kind of wait caps it further (`Error::rate_limited`, `Error::ip_banned`).
    pub retry_after_ms: Option<u64>,
    /// When the answer arrived, in ms since the epoch (to turn an exchange's "retry at" time into
    /// a wait).
    pub received_at_ms: u64,
}

impl<'a> HttpResponse<'a> {
    /// A response without a wait hint, received at time 0 (tests and fixtures).
    pub fn new(status: u16, body: &'a [u8]) -> Self {
        Self { status, body, retry_after_ms: None, received_at_ms: 0 }
    }

    /// The body as text, or `None` when it is not UTF-8.
    pub fn text(&self) -> Option<&'a str> {
        std::str::from_utf8(self.body).ok()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Reads a `Retry-After` header (RFC 9110 §10.2.3): whole seconds or an HTTP date, as a wait from
/// `now_ms` of at least a second, capped at [`MAX_BAN_MS`]. Anything else (negative, fractional, junk, a date in
/// the past) is no hint at all, and the adapter falls back to the exchange's documented lockout.
pub fn retry_after_ms(header: &str, now_ms: u64) -> Option<u64> {
    let header = header.trim();
    if !header.is_empty() && header.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: a count of seconds, however many (a huge one saturates, then is capped).
        let seconds = header.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
        return Some(wait_ms(seconds));
    }
    let at_ms = http_date_ms(header)?;
    let wait_ms = at_ms.checked_sub(now_ms).filter(|wait| *wait > 0)?;
    Some(self::wait_ms(wait_ms.div_ceil(1000)))
}

/// A wait in milliseconds from one in seconds: at least a second, at most [`MAX_BAN_MS`].
fn wait_ms(seconds: u64) -> u64 {
    seconds.saturating_mul(1000).clamp(1000, MAX_BAN_MS)
}

/// Milliseconds since the epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`, the
/// only date form RFC 9110 lets servers send.
fn http_date_ms(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut parts = text.split(' ');
    let _weekday = parts.next().filter(|day| day.len() == 4 && day.ends_with(','))?;
    let day: u32 = number(parts.next()?, 2)?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)?;
    let year: u32 = number(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let hour: u32 = number(clock.next()?, 2)?;
    let minute: u32 = number(clock.next()?, 2)?;
    let second: u32 = number(clock.next()?, 2)?;
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    let days = crate::calendar::days_from_civil(year, u32::try_from(month).ok()? + 1, day);
    let seconds = days * 86_400 + u64::from(hour * 3600 + minute * 60 + second);
    seconds.checked_mul(1000)
}

fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT

    #[test]
    fn retry_after_table() {
        let cases: &[(&str, Option<u64>)] = &[
            ("58", Some(58_000)),
            (" 2 ", Some(2_000)),
            ("0", Some(1_000)),
            ("7200", Some(7_200_000)),
            ("31536000", Some(MAX_BAN_MS)),
            ("99999999999999999999999999", Some(MAX_BAN_MS)),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            ("", None),
            ("Sun, 06 Nov 1994 08:50:37 GMT", Some(60_000)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", None),
            ("Sat, 05 Nov 1994 08:49:37 GMT", None),
            ("Mon, 06 Nov 1995 08:49:37 GMT", Some(MAX_BAN_MS)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37 UTC", None),
            ("Sun, 32 Nov 1994 08:49:37 GMT", None),
        ];
        for (header, expected) in cases {
            assert_eq!(retry_after_ms(header, NOW), *expected, "{header:?}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(NOW));
        assert_eq!(http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date_ms("Sat, 28 Nov 2026 08:44:30 GMT"), Some(1_795_855_470_000));
        assert_eq!(http_date_ms("Tue, 29 Feb 2028 12:00:00 GMT"), Some(1_835_438_400_000));
    }

    #[test]
    fn debug_hides_header_values_and_query() {
        let request = HttpRequest {
            method: Method::Get,
            url: "https://api.example.com/path?signature=abc".into(),
            headers: vec![("X-Key".into(), "secret-value".into())],
            body: Some("nonce=1".into()),
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("secret-value") && !printed.contains("signature=abc") && !printed.contains("nonce=1"));
        assert_eq!(request.host(), "api.example.com");
    }
}
