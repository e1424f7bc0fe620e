//! The exchanges Cartera knows, by id.
//!
//! A leaf module on purpose: errors, the vault and storage name an exchange without depending on
//! the adapters, and the adapters depend on the errors. The registry that turns an id into its
//! adapter is `exchange::adapter`.

use serde::Serialize;

/// An exchange, as named in storage, in messages and in the locale files (`exchange_<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeId {
    /// Bitso, <https://bitso.com>.
    Bitso,
    /// Kraken, <https://www.kraken.com>.
    Kraken,
    /// Binance, <https://www.binance.com>.
    Binance,
    /// Bitfinex, <https://www.bitfinex.com>.
    Bitfinex,
    /// Coinbase (Advanced Trade), <https://www.coinbase.com>.
    Coinbase,
}

impl ExchangeId {
    /// Every supported exchange, in the order the options page offers them.
    pub const ALL: [ExchangeId; 5] =
        [ExchangeId::Bitso, ExchangeId::Kraken, ExchangeId::Binance, ExchangeId::Bitfinex, ExchangeId::Coinbase];

    /// Parses the id used in storage and messages (`"bitso"`).
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|exchange| exchange.as_str() == id)
    }

    /// The id used in storage and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeId::Bitso => "bitso",
            ExchangeId::Kraken => "kraken",
            ExchangeId::Binance => "binance",
            ExchangeId::Bitfinex => "bitfinex",
            ExchangeId::Coinbase => "coinbase",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for exchange in ExchangeId::ALL {
            assert_eq!(ExchangeId::parse(exchange.as_str()), Some(exchange));
            let json = serde_json::to_string(&exchange).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", exchange.as_str()));
        }
        assert_eq!(ExchangeId::parse("Bitso"), None);
        assert_eq!(ExchangeId::parse(""), None);
    }
}
