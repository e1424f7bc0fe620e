//! [`Ticker::priced`] and [`Ticker::changed_since`]: the rules every adapter's tickers share.

use rust_decimal::Decimal;

use super::Ticker;
use crate::exchange_id::ExchangeId;

fn pair(base: &str, quote: &str) -> (String, String) {
    (base.to_owned(), quote.to_owned())
}

#[test]
fn a_ticker_is_filed_under_its_exchange_and_market() {
    let ticker = Ticker::priced(ExchangeId::MercadoBitcoin, "BTC-BRL", pair("btc", "brl"), Decimal::new(35214012, 2));
    assert_eq!(
        ticker,
        Some(Ticker {
            book: "mercadobitcoin:BTC-BRL".to_owned(),
            base: "btc".to_owned(),
            quote: "brl".to_owned(),
            last: Decimal::new(35214012, 2),
            volume: Decimal::ZERO,
            change_24h: None,
            created_at: None,
        })
    );
}

#[test]
fn a_market_that_cannot_price_anything_gives_no_ticker() {
    for (last, base, quote, why) in [
        (Decimal::ZERO, "btc", "usd", "no last price (a delisted market)"),
        (Decimal::new(-1, 0), "btc", "usd", "a negative price"),
        (Decimal::ONE, "usdt", "usdt", "one asset against itself"),
    ] {
        assert_eq!(Ticker::priced(ExchangeId::Binance, "X", pair(base, quote), last), None, "{why}");
    }
}

#[test]
fn the_change_is_worked_out_from_a_positive_open_only() {
    let ticker = || Ticker::priced(ExchangeId::Okx, "BTC-USDT", pair("btc", "usdt"), Decimal::new(105, 0)).unwrap_or_else(|| panic!("priced"));
    assert_eq!(ticker().changed_since(Some(Decimal::new(100, 0))).change_24h, Some(Decimal::new(5, 0)));
    assert_eq!(ticker().changed_since(Some(Decimal::new(110, 0))).change_24h, Some(Decimal::new(-5, 0)));
    assert_eq!(ticker().changed_since(Some(Decimal::ZERO)).change_24h, None, "a market that did not trade a day ago");
    assert_eq!(ticker().changed_since(None).change_24h, None);
}
