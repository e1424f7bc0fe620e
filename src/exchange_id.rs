//! The exchanges Cartera knows, by id.
//!
//! A leaf module on purpose: errors, the vault and storage name an exchange without depending on
//! the adapters, and the adapters depend on the errors. The registry that turns an id into its
//! adapter is `exchange::adapter`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An exchange, as named in storage, in messages and in the locale files (`exchange_<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// OKX, <https://www.okx.com>.
    Okx,
    /// Bybit, <https://www.bybit.com>.
    Bybit,
    /// KuCoin, <https://www.kucoin.com>.
    Kucoin,
    /// Mercado Bitcoin, <https://www.mercadobitcoin.com.br>.
    MercadoBitcoin,
}

impl ExchangeId {
    /// Every supported exchange, in the order the options page offers them.
    pub const ALL: [ExchangeId; 9] = [
        ExchangeId::Bitso,
        ExchangeId::Kraken,
        ExchangeId::Binance,
        ExchangeId::Bitfinex,
        ExchangeId::Coinbase,
        ExchangeId::Okx,
        ExchangeId::Bybit,
        ExchangeId::Kucoin,
        ExchangeId::MercadoBitcoin,
    ];

    /// Parses the id used in storage and messages (`"bitso"`).
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|exchange| exchange.as_str() == id)
    }

    /// Where this exchange sits in [`ExchangeId::ALL`].
    fn index(self) -> usize {
        self as usize
    }

    /// The id used in storage and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeId::Bitso => "bitso",
            ExchangeId::Kraken => "kraken",
            ExchangeId::Binance => "binance",
            ExchangeId::Bitfinex => "bitfinex",
            ExchangeId::Coinbase => "coinbase",
            ExchangeId::Okx => "okx",
            ExchangeId::Bybit => "bybit",
            ExchangeId::Kucoin => "kucoin",
            ExchangeId::MercadoBitcoin => "mercadobitcoin",
        }
    }
}

/// One value per exchange at most, in [`ExchangeId`] order: one slot per exchange, so a value can
/// never be filed under an exchange Cartera does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeMap<T>([Option<T>; ExchangeId::ALL.len()]);

impl<T> Default for ExchangeMap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ExchangeMap<T> {
    /// No value for any exchange.
    pub const fn new() -> Self {
        Self([const { None }; ExchangeId::ALL.len()])
    }

    /// The value for `exchange`, if any.
    pub fn get(&self, exchange: ExchangeId) -> Option<&T> {
        self.0[exchange.index()].as_ref()
    }

    /// Sets the value for `exchange`, returning the one it replaces.
    pub fn insert(&mut self, exchange: ExchangeId, value: T) -> Option<T> {
        self.0[exchange.index()].replace(value)
    }

    /// The value for `exchange`, set to `value` first if there was none.
    pub fn get_or_insert(&mut self, exchange: ExchangeId, value: T) -> &mut T {
        self.0[exchange.index()].get_or_insert(value)
    }

    /// Keeps only the values `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(ExchangeId, &T) -> bool) {
        for (exchange, slot) in ExchangeId::ALL.into_iter().zip(&mut self.0) {
            if slot.as_ref().is_some_and(|value| !keep(exchange, value)) {
                *slot = None;
            }
        }
    }

    /// Whether no exchange has a value.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The exchanges that have a value, with it, in [`ExchangeId`] order.
    pub fn iter(&self) -> impl Iterator<Item = (ExchangeId, &T)> {
        ExchangeId::ALL.into_iter().zip(&self.0).filter_map(|(exchange, slot)| Some((exchange, slot.as_ref()?)))
    }
}

/// A JSON object keyed by exchange id, as a `BTreeMap<ExchangeId, T>` serializes.
impl<T: Serialize> Serialize for ExchangeMap<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(exchange, value)| (exchange.as_str(), value)))
    }
}

/// Reads what [`Serialize`] writes. An id this version does not know (written by a newer one) is
/// left out rather than failing the whole value.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for ExchangeMap<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = ExchangeMap::new();
        for (id, value) in BTreeMap::<String, T>::deserialize(deserializer)? {
            if let Some(exchange) = ExchangeId::parse(&id) {
                map.insert(exchange, value);
            }
        }
        Ok(map)
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
        assert!(ExchangeId::ALL.into_iter().enumerate().all(|(at, exchange)| exchange.index() == at));
        assert_eq!(ExchangeId::parse("Bitso"), None);
        assert_eq!(ExchangeId::parse(""), None);
    }

    #[test]
    fn exchange_map_keeps_one_value_per_exchange_in_order() {
        let mut map = ExchangeMap::new();
        assert!(map.is_empty());
        assert_eq!(map.insert(ExchangeId::Coinbase, 5), None);
        assert_eq!(map.insert(ExchangeId::Bitso, 1), None);
        assert_eq!(map.insert(ExchangeId::Bitso, 2), Some(1));
        *map.get_or_insert(ExchangeId::Kraken, 3) += 10;
        *map.get_or_insert(ExchangeId::Kraken, 100) += 10;
        assert_eq!(map.get(ExchangeId::Kraken), Some(&23));
        assert_eq!(map.get(ExchangeId::Binance), None);
        let json = serde_json::to_string(&map).unwrap_or_default();
        assert_eq!(json, r#"{"bitso":2,"kraken":23,"coinbase":5}"#);
        assert_eq!(serde_json::from_str::<ExchangeMap<u32>>(&json).ok().as_ref(), Some(&map));
        let newer: ExchangeMap<u32> = serde_json::from_str(r#"{"kraken":1,"exchange-of-tomorrow":2}"#).unwrap_or_default();
        assert_eq!(newer.iter().collect::<Vec<_>>(), [(ExchangeId::Kraken, &1)]);
        map.retain(|exchange, &value| exchange != ExchangeId::Kraken && value > 2);
        assert_eq!(map.iter().collect::<Vec<_>>(), [(ExchangeId::Coinbase, &5)]);
        map.retain(|_, _| false);
        assert!(map.is_empty());
    }
}
