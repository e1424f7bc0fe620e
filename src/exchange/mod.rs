//! Exchange adapters: pure translators between Cartera's model and one exchange's API.
//!
//! An adapter builds requests as plain data, parses response bytes and maps errors. It never
//! sends anything, reads a clock or draws random numbers: the time and the nonce arrive in a
//! [`Stamp`], so every adapter is deterministic and testable without a network. The transport
//! sends the [`HttpRequest`] and hands back an [`HttpResponse`].
//!
//! The trait fits the exchanges planned next: Kraken (HMAC-SHA512 with a base64 secret, form
//! body), Bitfinex (HMAC-SHA384 headers, JSON body), Binance (HMAC over the query string) and
//! Coinbase (an ES256/Ed25519 JWT per request, which needs only `now_ms` and a unique nonce).

pub mod bitso;
mod json;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{error::Result, nonce::Nonce, secret::Credentials};

/// The exchanges Cartera knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeId {
    /// Bitso, <https://bitso.com>.
    Bitso,
}

impl ExchangeId {
    /// Parses the id used in storage and messages (`"bitso"`).
    pub fn parse(id: &str) -> Option<Self> {
        [ExchangeId::Bitso].into_iter().find(|exchange| exchange.as_str() == id)
    }

    /// The id used in storage and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeId::Bitso => "bitso",
        }
    }

    /// The exchange's name as users know it.
    pub fn name(self) -> &'static str {
        match self {
            ExchangeId::Bitso => "Bitso",
        }
    }

    /// Where the user manages API keys, in the exchange's own menu words.
    pub fn api_settings_path(self, lang: crate::error::Lang) -> &'static str {
        match (self, lang) {
            (ExchangeId::Bitso, crate::error::Lang::En) => "Bitso → Profile → API",
            (ExchangeId::Bitso, crate::error::Lang::Es) => "Bitso → Perfil → API",
        }
    }

    /// The adapter for this exchange.
    pub fn adapter(self) -> &'static dyn Exchange {
        match self {
            ExchangeId::Bitso => &bitso::Bitso,
        }
    }
}

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
/// Its `Debug` leaves the header values out: they may carry a signature.
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
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What came back: the status, the raw body, and the `Retry-After` header if any.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a> {
    /// HTTP status code.
    pub status: u16,
    /// The body bytes, unparsed.
    pub body: &'a [u8],
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after_secs: Option<u64>,
}

/// The time and nonce for one signed request, supplied by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// A nonce never used before by this engine.
    pub nonce: Nonce,
}

/// One currency's balance in one account, in the exchange's own units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Lowercase currency code, as the exchange names it (`btc`, `mxn`).
    pub currency: String,
    /// Everything the account holds.
    #[serde(with = "crate::money::plain_string")]
    pub total: Decimal,
    /// What can be used now.
    #[serde(with = "crate::money::plain_string")]
    pub available: Decimal,
    /// What open orders hold.
    #[serde(with = "crate::money::plain_string")]
    pub locked: Decimal,
}

/// One market's last price and 24-hour figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticker {
    /// The market's id, such as `btc_mxn`.
    pub book: String,
    /// The asset bought and sold (`btc`).
    pub base: String,
    /// The currency prices are in (`mxn`).
    pub quote: String,
    /// Last trade price, in `quote` per `base`.
    pub last: Decimal,
    /// Volume traded in the last 24 hours, in `base`.
    pub volume: Decimal,
    /// Price change over 24 hours, in `quote`, when the exchange reports it.
    pub change_24h: Option<Decimal>,
    /// When the exchange computed the ticker (ISO 8601), when it says.
    pub created_at: Option<String>,
}

/// One exchange's API, as pure functions.
pub trait Exchange: Sync {
    /// Which exchange this is.
    fn id(&self) -> ExchangeId;

    /// The hosts this adapter ever contacts (for the manifest's host permissions).
    fn hosts(&self) -> &'static [&'static str];

    /// A signed request for every balance in the account.
    fn balance_request(&self, credentials: &Credentials, stamp: Stamp) -> Result<HttpRequest>;

    /// Reads the balances from a response, or the error it reports.
    fn parse_balances(&self, response: HttpResponse<'_>) -> Result<Vec<Balance>>;

    /// A public request for the tickers of every market.
    fn tickers_request(&self) -> HttpRequest;

    /// Reads tickers from a response, or the error it reports.
    fn parse_tickers(&self, response: HttpResponse<'_>) -> Result<Vec<Ticker>>;
}
