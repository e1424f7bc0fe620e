//! One error type for the whole core, with a stable code for JS and a message in the UI
//! language that tells the user what to do.
//!
//! No variant carries a response body, a header, a signature or a secret: what crosses to JS
//! is the code, the message, and at most a retry delay.

use crate::exchange::ExchangeId;

/// The languages the extension ships (`extension/_locales`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the fallback.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Picks the language for a BCP 47 tag such as `es-MX` or `en-US`; anything but Spanish
    /// falls back to English, as `default_locale` does in the manifest.
    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("es") { Lang::Es } else { Lang::En }
    }
}

/// Everything that can go wrong, one variant per thing the user must do differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Wrong key or secret, or a signature or nonce the exchange rejected.
    #[error("{exchange:?} rejected the API key or its signature")]
    InvalidCredentials {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// The key exists but may not read balances.
    #[error("the {exchange:?} API key may not view balances")]
    MissingPermission {
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
    /// Too many requests; the next try is allowed after `retry_after_ms`.
    #[error("{exchange:?} is rate limiting requests")]
    RateLimited {
        /// Which exchange answered.
        exchange: ExchangeId,
        /// How long to wait before the next request, in milliseconds.
        retry_after_ms: u64,
    },
    /// A 5xx, a CDN error page, or an empty answer.
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
        /// The exchange's own error code (digits and letters only, at most 16).
        code: String,
    },
    /// The answer was not shaped as documented.
    #[error("{exchange:?} sent a response Cartera cannot read")]
    MalformedResponse {
        /// Which exchange answered.
        exchange: ExchangeId,
    },
    /// No answer within the time limit.
    #[error("{exchange:?} did not answer in time")]
    Timeout {
        /// Which exchange was asked.
        exchange: ExchangeId,
    },
    /// The request could not be sent at all (offline, DNS, TLS).
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
    /// The vault has no account with that id.
    #[error("no such account")]
    AccountNotFound,
    /// The platform's random number generator failed.
    #[error("no secure randomness available")]
    Randomness,
}

/// Shorthand for the core's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A stable, machine-readable code for JS; never changes once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidCredentials { .. } => "invalid_credentials",
            Error::MissingPermission { .. } => "missing_permission",
            Error::KeyInactive { .. } => "key_inactive",
            Error::IpNotAllowed { .. } => "ip_not_allowed",
            Error::AccountRestricted { .. } => "account_restricted",
            Error::RateLimited { .. } => "rate_limited",
            Error::ExchangeUnavailable { .. } => "exchange_unavailable",
            Error::ExchangeRejected { .. } => "exchange_rejected",
            Error::MalformedResponse { .. } => "malformed_response",
            Error::Timeout { .. } => "timeout",
            Error::Offline { .. } => "offline",
            Error::WrongPassphrase => "wrong_passphrase",
            Error::WeakKdfParameters => "weak_kdf_parameters",
            Error::UnsupportedVault => "unsupported_vault",
            Error::PassphraseTooShort { .. } => "passphrase_too_short",
            Error::InvalidInput { .. } => "invalid_input",
            Error::AccountNotFound => "account_not_found",
            Error::Randomness => "randomness_unavailable",
        }
    }

    /// How long to wait before retrying, when the exchange said so.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// What happened and what to do, in the user's language.
    pub fn message(&self, lang: Lang) -> String {
        use Lang::{En, Es};
        match (self, lang) {
            (Error::InvalidCredentials { exchange }, En) => format!(
                "{} did not accept this API key and secret. Check that both were pasted completely, \
                 or create a new key in {}.",
                exchange.name(),
                exchange.api_settings_path(En)
            ),
            (Error::InvalidCredentials { exchange }, Es) => format!(
                "{} no aceptó esta API key y su secreto. Comprueba que ambos estén completos, \
                 o crea una key nueva en {}.",
                exchange.name(),
                exchange.api_settings_path(Es)
            ),
            (Error::MissingPermission { exchange }, En) => format!(
                "This key cannot view balances. In {}, enable 'View balances' for it.",
                exchange.api_settings_path(En)
            ),
            (Error::MissingPermission { exchange }, Es) => format!(
                "Esta key no puede ver saldos. En {}, activa 'Ver saldos' para ella.",
                exchange.api_settings_path(Es)
            ),
            (Error::KeyInactive { exchange }, En) => format!(
                "This API key is not active. Activate it in {}, or create a new one.",
                exchange.api_settings_path(En)
            ),
            (Error::KeyInactive { exchange }, Es) => format!(
                "Esta API key no está activa. Actívala en {}, o crea una nueva.",
                exchange.api_settings_path(Es)
            ),
            (Error::IpNotAllowed { exchange }, En) => format!(
                "This key only works from other IP addresses. In {}, remove the IP restriction \
                 or add this network's address.",
                exchange.api_settings_path(En)
            ),
            (Error::IpNotAllowed { exchange }, Es) => format!(
                "Esta key solo funciona desde otras direcciones IP. En {}, quita la restricción \
                 de IP o agrega la dirección de esta red.",
                exchange.api_settings_path(Es)
            ),
            (Error::AccountRestricted { exchange }, En) => format!(
                "Your {} account is restricted or suspended. Contact {} support.",
                exchange.name(),
                exchange.name()
            ),
            (Error::AccountRestricted { exchange }, Es) => format!(
                "Tu cuenta de {} está restringida o suspendida. Contacta al soporte de {}.",
                exchange.name(),
                exchange.name()
            ),
            (Error::RateLimited { exchange, retry_after_ms }, En) => format!(
                "{} is limiting requests. Try again in {} s.",
                exchange.name(),
                seconds_rounded_up(*retry_after_ms)
            ),
            (Error::RateLimited { exchange, retry_after_ms }, Es) => format!(
                "{} está limitando las solicitudes. Intenta de nuevo en {} s.",
                exchange.name(),
                seconds_rounded_up(*retry_after_ms)
            ),
            (Error::ExchangeUnavailable { exchange, .. }, En) => format!(
                "{} is not available right now. Your last balances are kept; try again in a few minutes.",
                exchange.name()
            ),
            (Error::ExchangeUnavailable { exchange, .. }, Es) => format!(
                "{} no está disponible ahora. Se conservan tus últimos saldos; intenta de nuevo en unos minutos.",
                exchange.name()
            ),
            (Error::ExchangeRejected { exchange, code }, En) => {
                format!("{} refused the request (error {code}). Try again later.", exchange.name())
            }
            (Error::ExchangeRejected { exchange, code }, Es) => format!(
                "{} rechazó la solicitud (error {code}). Intenta de nuevo más tarde.",
                exchange.name()
            ),
            (Error::MalformedResponse { exchange }, En) => format!(
                "{} sent an answer Cartera cannot read. Your last balances are kept; try again later.",
                exchange.name()
            ),
            (Error::MalformedResponse { exchange }, Es) => format!(
                "{} envió una respuesta que Cartera no puede leer. Se conservan tus últimos saldos; \
                 intenta más tarde.",
                exchange.name()
            ),
            (Error::Timeout { exchange }, En) => format!(
                "{} did not answer within 15 seconds. Check your connection and try again.",
                exchange.name()
            ),
            (Error::Timeout { exchange }, Es) => format!(
                "{} no respondió en 15 segundos. Revisa tu conexión e intenta de nuevo.",
                exchange.name()
            ),
            (Error::Offline { exchange }, En) => format!(
                "{} could not be reached. Check your internet connection.",
                exchange.name()
            ),
            (Error::Offline { exchange }, Es) => format!(
                "No se pudo contactar a {}. Revisa tu conexión a internet.",
                exchange.name()
            ),
            (Error::WrongPassphrase, En) => "Wrong passphrase, or the vault is damaged.".to_owned(),
            (Error::WrongPassphrase, Es) => {
                "Frase de acceso incorrecta, o la bóveda está dañada.".to_owned()
            }
            (Error::WeakKdfParameters, En) => {
                "The vault asks for weaker protection than Cartera accepts, so it was not opened. \
                 Reset the vault and add your keys again."
                    .to_owned()
            }
            (Error::WeakKdfParameters, Es) => {
                "La bóveda pide una protección más débil de la que Cartera acepta, así que no se abrió. \
                 Restablece la bóveda y agrega tus keys de nuevo."
                    .to_owned()
            }
            (Error::UnsupportedVault, En) => {
                "This vault was made by a newer or unknown version of Cartera and cannot be read here."
                    .to_owned()
            }
            (Error::UnsupportedVault, Es) => {
                "Esta bóveda la creó una versión más nueva o desconocida de Cartera y no se puede leer aquí."
                    .to_owned()
            }
            (Error::PassphraseTooShort { min_chars }, En) => {
                format!("Choose a passphrase of at least {min_chars} characters.")
            }
            (Error::PassphraseTooShort { min_chars }, Es) => {
                format!("Elige una frase de acceso de al menos {min_chars} caracteres.")
            }
            (Error::InvalidInput { field }, En) => format!("Fill in a valid {}.", field_name(field, En)),
            (Error::InvalidInput { field }, Es) => format!("Escribe un valor válido en {}.", field_name(field, Es)),
            (Error::AccountNotFound, En) => "That account no longer exists.".to_owned(),
            (Error::AccountNotFound, Es) => "Esa cuenta ya no existe.".to_owned(),
            (Error::Randomness, En) => {
                "The browser could not provide secure random numbers. Restart the browser and try again."
                    .to_owned()
            }
            (Error::Randomness, Es) => {
                "El navegador no pudo dar números aleatorios seguros. Reinicia el navegador e intenta de nuevo."
                    .to_owned()
            }
        }
    }
}

fn seconds_rounded_up(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// The user-facing name of a form field named in [`Error::InvalidInput`].
fn field_name(field: &str, lang: Lang) -> &str {
    match (field, lang) {
        ("api_key", _) => "API key",
        ("api_secret", Lang::En) => "API secret",
        ("api_secret", Lang::Es) => "API secret (secreto)",
        ("label", Lang::En) => "label",
        ("label", Lang::Es) => "nombre",
        ("quote", Lang::En) => "display currency",
        ("quote", Lang::Es) => "moneda de visualización",
        ("account_id", Lang::En) => "account",
        ("account_id", Lang::Es) => "cuenta",
        ("vault_key", Lang::En) => "vault key",
        ("vault_key", Lang::Es) => "clave de la bóveda",
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE: ExchangeId = ExchangeId::Bitso;

    fn every_error() -> Vec<Error> {
        vec![
            Error::InvalidCredentials { exchange: EXCHANGE },
            Error::MissingPermission { exchange: EXCHANGE },
            Error::KeyInactive { exchange: EXCHANGE },
            Error::IpNotAllowed { exchange: EXCHANGE },
            Error::AccountRestricted { exchange: EXCHANGE },
            Error::RateLimited { exchange: EXCHANGE, retry_after_ms: 60_000 },
            Error::ExchangeUnavailable { exchange: EXCHANGE, status: 503 },
            Error::ExchangeRejected { exchange: EXCHANGE, code: "0304".into() },
            Error::MalformedResponse { exchange: EXCHANGE },
            Error::Timeout { exchange: EXCHANGE },
            Error::Offline { exchange: EXCHANGE },
            Error::WrongPassphrase,
            Error::WeakKdfParameters,
            Error::UnsupportedVault,
            Error::PassphraseTooShort { min_chars: 10 },
            Error::InvalidInput { field: "api_key" },
            Error::AccountNotFound,
            Error::Randomness,
        ]
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut codes: Vec<_> = every_error().iter().map(Error::code).collect();
        assert!(codes.iter().all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len());
    }

    #[test]
    fn every_error_has_distinct_english_and_spanish_messages() {
        for error in every_error() {
            let en = error.message(Lang::En);
            let es = error.message(Lang::Es);
            assert!(!en.is_empty() && !es.is_empty(), "{}", error.code());
            assert_ne!(en, es, "{} is not translated", error.code());
        }
    }

    #[test]
    fn missing_permission_says_where_to_fix_it() {
        assert_eq!(
            Error::MissingPermission { exchange: EXCHANGE }.message(Lang::En),
            "This key cannot view balances. In Bitso → Profile → API, enable 'View balances' for it."
        );
    }

    #[test]
    fn rate_limit_message_rounds_the_wait_up() {
        let error = Error::RateLimited { exchange: EXCHANGE, retry_after_ms: 1_001 };
        assert_eq!(error.message(Lang::En), "Bitso is limiting requests. Try again in 2 s.");
        assert_eq!(error.retry_after_ms(), Some(1_001));
    }

    #[test]
    fn language_tags() {
        assert_eq!(Lang::from_tag("es-MX"), Lang::Es);
        assert_eq!(Lang::from_tag("ES"), Lang::Es);
        assert_eq!(Lang::from_tag("es_419"), Lang::Es);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("pt-BR"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }
}
