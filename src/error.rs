//! One error type for the whole core, crossing to JS as a stable code plus its parameters.
//!
//! The core carries no prose: every sentence the user reads lives in
//! `extension/_locales/<lang>/messages.json` under `error_<code>`, with placeholders for the
//! parameters ([`ErrorView`]). A language is then one file, and the wasm module ships no text.
//!
//! No variant carries a response body, a header, a signature or a secret: what crosses to JS is
//! the code, the exchange, and at most an exchange's own error code (sanitised), an HTTP status,
//! a retry time, a field name or a length.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::exchange_id::ExchangeId;

/// The longest wait any exchange's rate-limit hint is honoured for. Bitso's documented lockout is
/// one minute and Kraken's auth lockout about 15; anything above is a misconfigured proxy or a
/// hostile answer, and must never block refresh for longer than this.
pub const MAX_RETRY_AFTER_MS: u64 = 15 * 60 * 1000;

/// The longest IP ban honoured: Binance bans an IP that goes on after its rate limits "from 2
/// minutes to 3 days", longer for repeat offenders
/// (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits>). A ban is waited
/// out whole, so the next request never earns a longer one.
pub const MAX_BAN_MS: u64 = 3 * 24 * 60 * 60 * 1000;

/// Everything that can go wrong, one variant per thing the user must do differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Wrong key or secret, or a signature the exchange rejected.
    #[error("{exchange:?} rejected the API key or its signature")]
    InvalidCredentials {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The exchange refused the API passphrase that goes with the key (OKX's and KuCoin's
    /// "Passphrase", chosen when the key was created): not Cartera's own passphrase.
    #[error("{exchange:?} rejected the API passphrase")]
    ApiPassphraseRejected {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The nonce was not larger than the last one the exchange saw for this key: another app
    /// uses the key, or the clock is off.
    #[error("{exchange:?} rejected the request's nonce")]
    NonceRejected {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The request's timestamp is outside the exchange's window: the computer's clock is off.
    #[error("{exchange:?} rejected the request's time")]
    ClockSkew {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The key exists but may not read balances.
    #[error("the {exchange:?} API key may not view balances")]
    MissingPermission {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The key reads balances but not the transaction history: the exchange asks for one more
    /// read permission (its name is the adapter's `history_permission`).
    #[error("the {exchange:?} API key may not read the transaction history")]
    HistoryPermission {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The user named a market the exchange does not list (not among its public prices).
    #[error("{exchange:?} lists no such market")]
    UnknownMarket {
        /// Which exchange was asked.
        exchange: ExchangeId,
    },
    /// The exchange answered one code for a wrong key, a missing permission and a refused IP
    /// address alike (Binance's -2015), so the message names all three.
    #[error("{exchange:?} refused the key, its permissions or this IP address")]
    KeyPermissionOrIp {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The key was disabled or not yet activated.
    #[error("the {exchange:?} API key is not active")]
    KeyInactive {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The key is restricted to other IP addresses.
    #[error("this IP address is not allowed to use the {exchange:?} API key")]
    IpNotAllowed {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The exchange account itself is restricted or suspended.
    #[error("the {exchange:?} account is restricted")]
    AccountRestricted {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The exchange does not serve the user's location (Binance's HTTP 451).
    #[error("{exchange:?} does not serve this location")]
    LocationRestricted {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// Too many requests; the next try is allowed after `retry_after_ms` (never more than
    /// [`MAX_RETRY_AFTER_MS`]).
    #[error("{exchange:?} is rate limiting requests")]
    RateLimited {
        /// Which exchange answered.
        exchange: ExchangeId,
        /// How long to wait before the next request, in milliseconds.
        retry_after_ms: u64,
    },
    /// The exchange banned this IP address for having gone on after its rate limits; nothing is
    /// sent to it until `retry_after_ms` has passed (never more than [`MAX_BAN_MS`]).
    #[error("{exchange:?} banned this IP address for a while")]
    IpBanned {
        /// Which exchange answered.
        exchange: ExchangeId,
        /// How long the ban lasts, in milliseconds.
        retry_after_ms: u64,
    },
    /// A 5xx, a maintenance answer, a CDN error page, or an empty answer.
    #[error("{exchange:?} is unavailable (HTTP {status})")]
    ExchangeUnavailable {
        /// Which exchange answered.
        exchange: ExchangeId,
        /// The HTTP status seen.
        status: u16,
    },
    /// The exchange refused the request with a code Cartera has no advice for.
    #[error("{exchange:?} refused the request with code {code}")]
    ExchangeRejected {
        /// Which exchange answered.
        exchange: ExchangeId,
        /// The exchange's own error code (see [`sanitize_code`]).
        code: String,
    },
    /// The answer was not shaped as documented.
    #[error("{exchange:?} sent a response Cartera cannot read")]
    MalformedResponse {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The answer was larger than any genuine answer could be.
    #[error("{exchange:?} sent a response larger than Cartera accepts")]
    ResponseTooLarge {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The exchange reported amounts whose sum or value does not fit an exact decimal.
    #[error("{exchange:?} reported an amount Cartera cannot add up")]
    AmountOverflow {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// No answer within the time limit.
    #[error("{exchange:?} did not answer in time")]
    Timeout {
        /// Which exchange was asked.
        exchange: ExchangeId,
    },
    /// The request could not be sent at all (offline, DNS, TLS, a redirect).
    #[error("{exchange:?} could not be reached")]
    Offline {
        /// Which exchange was asked.
        exchange: ExchangeId,
    },
    /// The passphrase does not open the vault, or the vault was altered.
    #[error("wrong passphrase, or the vault is damaged")]
    WrongPassphrase,
    /// The vault asks for key-derivation parameters below the accepted floor.
    #[error("the vault's key-derivation parameters are below the accepted minimum")]
    WeakKdfParameters,
    /// The vault is not in a format this version can read.
    #[error("the vault format is not supported")]
    UnsupportedVault,
    /// A new passphrase is shorter than the minimum.
    #[error("the passphrase is too short")]
    PassphraseTooShort {
        /// The minimum length, in characters.
        min_chars: usize,
    },
    /// A required field is empty or not valid.
    #[error("invalid input: {field}")]
    InvalidInput {
        /// Which field (a fixed name, never the value).
        field: &'static str,
    },
    /// The pasted private key is no key at all: neither PEM nor base64, or its base64 or DER
    /// structure is broken (a truncated paste, say).
    #[error("the private key cannot be read")]
    PrivateKeyMalformed,
    /// A public key was pasted where the private key belongs.
    #[error("a public key was given instead of the private key")]
    PrivateKeyPublic,
    /// A private key of a type Cartera cannot sign with: RSA, another curve, or encrypted.
    #[error("the private key is of an unsupported type")]
    PrivateKeyUnsupported,
    /// The vault has no account with that id.
    #[error("no such account")]
    AccountNotFound,
    /// The platform's random number generator failed.
    #[error("no secure randomness available")]
    Randomness,
    /// The work was stopped before it finished: Cartera was locked, or the page gave up on it.
    #[error("stopped before it finished")]
    Cancelled,
    /// A file that is not a Cartera backup, or one damaged or cut short.
    #[error("not a Cartera backup, or a damaged one")]
    BackupUnreadable,
    /// A backup made by a newer version of Cartera.
    #[error("the backup is from a newer version")]
    BackupNewer,
    /// The passphrase does not open the backup, or the file was changed after it was made.
    #[error("wrong passphrase for the backup, or the backup was changed")]
    BackupWrongPassphrase,
    /// A news feed answered with an HTTP error (gone, blocked, down).
    #[error("the news feed answered HTTP {status}")]
    FeedUnavailable {
        /// The HTTP status seen.
        status: u16,
    },
    /// A news feed's answer is not RSS or Atom (a login page, a CDN's challenge, a broken file).
    #[error("the news feed's answer is not a feed")]
    FeedNotAFeed,
    /// A news feed's answer ran past the bytes Cartera reads of one feed.
    #[error("the news feed's answer is too large")]
    FeedTooLarge,
}

/// Declares [`ErrorCode`]: each variant with the code it crosses to JS as, written once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Every error code a page may show: those of the core's [`Error`]s and those the
        /// background raises itself. `error_<code>` names its sentence in the locale files; a code
        /// never changes once shipped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as the pages and the locale files name it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// [`Error::InvalidCredentials`].
    InvalidCredentials = "invalid_credentials",
    /// [`Error::NonceRejected`].
    NonceRejected = "nonce_rejected",
    /// [`Error::ApiPassphraseRejected`].
    ApiPassphraseRejected = "api_passphrase_rejected",
    /// [`Error::ClockSkew`].
    ClockSkew = "clock_skew",
    /// [`Error::MissingPermission`].
    MissingPermission = "missing_permission",
    /// [`Error::HistoryPermission`].
    HistoryPermission = "history_permission",
    /// [`Error::UnknownMarket`].
    UnknownMarket = "unknown_market",
    /// [`Error::KeyPermissionOrIp`].
    KeyPermissionOrIp = "key_permission_or_ip",
    /// [`Error::KeyInactive`].
    KeyInactive = "key_inactive",
    /// [`Error::IpNotAllowed`].
    IpNotAllowed = "ip_not_allowed",
    /// [`Error::AccountRestricted`].
    AccountRestricted = "account_restricted",
    /// [`Error::LocationRestricted`].
    LocationRestricted = "location_restricted",
    /// [`Error::RateLimited`].
    RateLimited = "rate_limited",
    /// [`Error::IpBanned`].
    IpBanned = "ip_banned",
    /// [`Error::ExchangeUnavailable`].
    ExchangeUnavailable = "exchange_unavailable",
    /// [`Error::ExchangeRejected`].
    ExchangeRejected = "exchange_rejected",
    /// [`Error::MalformedResponse`].
    MalformedResponse = "malformed_response",
    /// [`Error::ResponseTooLarge`].
    ResponseTooLarge = "response_too_large",
    /// [`Error::AmountOverflow`].
    AmountOverflow = "amount_overflow",
    /// [`Error::Timeout`].
    Timeout = "timeout",
    /// [`Error::Offline`].
    Offline = "offline",
    /// [`Error::WrongPassphrase`].
    WrongPassphrase = "wrong_passphrase",
    /// [`Error::WeakKdfParameters`].
    WeakKdfParameters = "weak_kdf_parameters",
    /// [`Error::UnsupportedVault`].
    UnsupportedVault = "unsupported_vault",
    /// [`Error::PassphraseTooShort`].
    PassphraseTooShort = "passphrase_too_short",
    /// [`Error::InvalidInput`].
    InvalidInput = "invalid_input",
    /// [`Error::PrivateKeyMalformed`].
    PrivateKeyMalformed = "private_key_malformed",
    /// [`Error::PrivateKeyPublic`].
    PrivateKeyPublic = "private_key_public",
    /// [`Error::PrivateKeyUnsupported`].
    PrivateKeyUnsupported = "private_key_unsupported",
    /// [`Error::AccountNotFound`].
    AccountNotFound = "account_not_found",
    /// [`Error::Randomness`].
    RandomnessUnavailable = "randomness_unavailable",
    /// [`Error::Cancelled`].
    Cancelled = "cancelled",
    /// [`Error::BackupUnreadable`].
    BackupUnreadable = "backup_unreadable",
    /// [`Error::BackupNewer`].
    BackupNewer = "backup_newer",
    /// [`Error::BackupWrongPassphrase`].
    BackupWrongPassphrase = "backup_wrong_passphrase",
    /// [`Error::FeedUnavailable`].
    FeedUnavailable = "feed_unavailable",
    /// [`Error::FeedNotAFeed`].
    FeedNotAFeed = "feed_not_a_feed",
    /// [`Error::FeedTooLarge`].
    FeedTooLarge = "feed_too_large",
    /// A news feed could not be reached (offline, DNS, TLS, a redirect to another host).
    FeedOffline = "feed_offline",
    /// The browser withholds access to a news publisher's host (removed in its settings).
    FeedPermission = "feed_permission",
    /// Cartera is locked: the passphrase is needed.
    Locked = "locked",
    /// No vault exists yet.
    NoVault = "no_vault",
    /// The vault changed in another tab since the page read it; nothing was written.
    VaultChanged = "vault_changed",
    /// The vault holds keys no account lists: every edit waits until they are removed.
    VaultMismatch = "vault_mismatch",
    /// The browser's storage is full; nothing was written.
    StorageFull = "storage_full",
    /// A page sent a message the background does not know.
    UnknownMessage = "unknown_message",
    /// Something failed that has no better code (never with details).
    Internal = "internal",
    /// The core could not be loaded.
    EngineUnavailable = "engine_unavailable",
    /// The browser withholds access to an exchange's API host.
    HostPermission = "host_permission",
    /// The key can trade, withdraw or transfer; kept only once the user accepts that.
    KeyNotReadOnly = "key_not_read_only",
    /// The portfolio no longer exists.
    PortfolioNotFound = "portfolio_not_found",
    /// The last portfolio cannot be deleted.
    LastPortfolio = "last_portfolio",
    /// More entries than Cartera keeps (portfolios, holdings, alerts).
    TooMany = "too_many",
    /// Nothing to refresh: no account and no holding.
    NoAccounts = "no_accounts",
    /// A refresh took longer than the page waits.
    RequestTimeout = "request_timeout",
    /// A page could not reach the background.
    NoBackground = "no_background",
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A code this version does not know (written by a newer one) reads as [`ErrorCode::Internal`]:
/// the message is then generic, and nothing else stored beside it is lost.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = Cow::<str>::deserialize(deserializer)?;
        Ok(ErrorCode::ALL.iter().copied().find(|known| known.as_str() == code).unwrap_or(ErrorCode::Internal))
    }
}

/// Shorthand for the core's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A stable, machine-readable code; `error_<code>` names its sentence in the locale files.
    /// Never changes once shipped.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidCredentials { .. } => ErrorCode::InvalidCredentials,
            Error::NonceRejected { .. } => ErrorCode::NonceRejected,
            Error::ApiPassphraseRejected { .. } => ErrorCode::ApiPassphraseRejected,
            Error::ClockSkew { .. } => ErrorCode::ClockSkew,
            Error::MissingPermission { .. } => ErrorCode::MissingPermission,
            Error::HistoryPermission { .. } => ErrorCode::HistoryPermission,
            Error::UnknownMarket { .. } => ErrorCode::UnknownMarket,
            Error::KeyPermissionOrIp { .. } => ErrorCode::KeyPermissionOrIp,
            Error::KeyInactive { .. } => ErrorCode::KeyInactive,
            Error::IpNotAllowed { .. } => ErrorCode::IpNotAllowed,
            Error::AccountRestricted { .. } => ErrorCode::AccountRestricted,
            Error::LocationRestricted { .. } => ErrorCode::LocationRestricted,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::IpBanned { .. } => ErrorCode::IpBanned,
            Error::ExchangeUnavailable { .. } => ErrorCode::ExchangeUnavailable,
            Error::ExchangeRejected { .. } => ErrorCode::ExchangeRejected,
            Error::MalformedResponse { .. } => ErrorCode::MalformedResponse,
            Error::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Error::AmountOverflow { .. } => ErrorCode::AmountOverflow,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::Offline { .. } => ErrorCode::Offline,
            Error::WrongPassphrase => ErrorCode::WrongPassphrase,
            Error::WeakKdfParameters => ErrorCode::WeakKdfParameters,
            Error::UnsupportedVault => ErrorCode::UnsupportedVault,
            Error::PassphraseTooShort { .. } => ErrorCode::PassphraseTooShort,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::PrivateKeyMalformed => ErrorCode::PrivateKeyMalformed,
            Error::PrivateKeyPublic => ErrorCode::PrivateKeyPublic,
            Error::PrivateKeyUnsupported => ErrorCode::PrivateKeyUnsupported,
            Error::AccountNotFound => ErrorCode::AccountNotFound,
            Error::Randomness => ErrorCode::RandomnessUnavailable,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::BackupUnreadable => ErrorCode::BackupUnreadable,
            Error::BackupNewer => ErrorCode::BackupNewer,
            Error::BackupWrongPassphrase => ErrorCode::BackupWrongPassphrase,
            Error::FeedUnavailable { .. } => ErrorCode::FeedUnavailable,
            Error::FeedNotAFeed => ErrorCode::FeedNotAFeed,
            Error::FeedTooLarge => ErrorCode::FeedTooLarge,
        }
    }

    /// The exchange the error is about, if any.
    pub fn exchange(&self) -> Option<ExchangeId> {
        match self {
            Error::InvalidCredentials { exchange }
            | Error::NonceRejected { exchange }
            | Error::ApiPassphraseRejected { exchange }
            | Error::ClockSkew { exchange }
            | Error::MissingPermission { exchange }
            | Error::HistoryPermission { exchange }
            | Error::UnknownMarket { exchange }
            | Error::KeyPermissionOrIp { exchange }
            | Error::KeyInactive { exchange }
            | Error::IpNotAllowed { exchange }
            | Error::AccountRestricted { exchange }
            | Error::LocationRestricted { exchange }
            | Error::RateLimited { exchange, .. }
            | Error::IpBanned { exchange, .. }
            | Error::ExchangeUnavailable { exchange, .. }
            | Error::ExchangeRejected { exchange, .. }
            | Error::MalformedResponse { exchange }
            | Error::ResponseTooLarge { exchange }
            | Error::AmountOverflow { exchange }
            | Error::Timeout { exchange }
            | Error::Offline { exchange } => Some(*exchange),
            Error::WrongPassphrase
            | Error::WeakKdfParameters
            | Error::UnsupportedVault
            | Error::PassphraseTooShort { .. }
            | Error::InvalidInput { .. }
            | Error::PrivateKeyMalformed
            | Error::PrivateKeyPublic
            | Error::PrivateKeyUnsupported
            | Error::AccountNotFound
            | Error::Randomness
            | Error::Cancelled
            | Error::BackupUnreadable
            | Error::BackupNewer
            | Error::BackupWrongPassphrase
            | Error::FeedUnavailable { .. }
            | Error::FeedNotAFeed
            | Error::FeedTooLarge => None,
        }
    }

    /// How long to wait before retrying, when the exchange said so.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_ms, .. } | Error::IpBanned { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }
}

/// An error as it crosses to JS and is stored: the code and its parameters, nothing else.
///
/// `retryAt` is absolute (ms since the epoch), so a stored message can count down or name the
/// time and stays true while it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorView {
    /// [`Error::code`].
    pub code: ErrorCode,
    /// [`Error::exchange`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ExchangeId>,
    /// An exchange's own error code or an HTTP status, for "error 0304" style messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When a rate-limited exchange may be asked again, in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
    /// The shortest passphrase accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chars: Option<usize>,
    /// The field that was empty or not valid (`field_<name>` in the locale files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'static, str>>,
}

impl ErrorView {
    /// The view of `error` at time `now_ms` (which turns a wait into an absolute retry time).
    pub fn new(error: &Error, now_ms: u64) -> Self {
        let detail = match error {
            Error::ExchangeRejected { code, .. } => Some(code.clone()),
            Error::ExchangeUnavailable { status, .. } | Error::FeedUnavailable { status } => Some(status.to_string()),
            _ => None,
        };
        Self {
            code: error.code(),
            exchange: error.exchange(),
            detail,
            retry_at: error.retry_after_ms().map(|wait| now_ms.saturating_add(wait)),
            min_chars: match error {
                Error::PassphraseTooShort { min_chars } => Some(*min_chars),
                _ => None,
            },
            field: match error {
                Error::InvalidInput { field } => Some(Cow::Borrowed(*field)),
                _ => None,
            },
        }
    }

    /// A view with a code and nothing else.
    pub fn of(code: ErrorCode) -> Self {
        Self { code, exchange: None, detail: None, retry_at: None, min_chars: None, field: None }
    }
}

/// Keeps an exchange's error code only when it looks like a code (at most 16 letters, digits or
/// `-`), so no payload can reach a message.
pub fn sanitize_code(code: &str) -> String {
    let looks_like_a_code = !code.is_empty()
        && code.len() <= 16
        && code.chars().enumerate().all(|(i, c)| c.is_ascii_alphanumeric() || (c == '-' && i == 0));
    if looks_like_a_code { code.to_owned() } else { "unknown".to_owned() }
}

impl Error {
    /// What an answer that is not the exchange's own (a CDN page, an empty body, broken JSON)
    /// means: the exchange is unavailable when the status is an error, else the answer is malformed.
    pub fn unreadable(exchange: ExchangeId, status: u16) -> Error {
        if status >= 400 { Error::ExchangeUnavailable { exchange, status } } else { Error::MalformedResponse { exchange } }
    }

    /// A rate limit: the wait the answer named, else `default_secs`, capped at
    /// [`MAX_RETRY_AFTER_MS`].
    pub fn rate_limited(exchange: ExchangeId, named_ms: Option<u64>, default_secs: u64) -> Error {
        let wait = named_ms.map_or_else(|| capped_wait_ms(default_secs), |named| named.min(MAX_RETRY_AFTER_MS));
        Error::RateLimited { exchange, retry_after_ms: wait }
    }

    /// An IP ban: the wait the answer named, else `default_secs`, capped at [`MAX_BAN_MS`].
    pub fn ip_banned(exchange: ExchangeId, named_ms: Option<u64>, default_secs: u64) -> Error {
        let wait = named_ms.unwrap_or_else(|| default_secs.saturating_mul(1000)).clamp(1000, MAX_BAN_MS);
        Error::IpBanned { exchange, retry_after_ms: wait }
    }
}

/// The longest `exchange` is ever waited for: [`MAX_BAN_MS`] where it bans IP addresses (Binance's
/// 418), [`MAX_RETRY_AFTER_MS`] elsewhere.
pub fn longest_wait_ms(exchange: ExchangeId) -> u64 {
    if exchange == ExchangeId::Binance { MAX_BAN_MS } else { MAX_RETRY_AFTER_MS }
}

/// Whether a stored retry time for `exchange` is still ahead at `now_ms`, and no further ahead
/// than Cartera ever waits for it.
pub fn believable_lockout(exchange: ExchangeId, retry_at: u64, now_ms: u64) -> bool {
    retry_at > now_ms && retry_at - now_ms <= longest_wait_ms(exchange)
}

/// A wait in milliseconds from a hint in seconds, capped at [`MAX_RETRY_AFTER_MS`] and at least
/// one second.
pub fn capped_wait_ms(seconds: u64) -> u64 {
    seconds.saturating_mul(1000).clamp(1000, MAX_RETRY_AFTER_MS)
}

#[cfg(test)]
mod tests;
