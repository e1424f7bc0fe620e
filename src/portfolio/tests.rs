use super::*;
use crate::error::ErrorCode;
use crate::valuation::test_support::{dec, ticker};

fn balance(currency: &str, total: &str, locked: &str) -> Balance {
    let total = dec(total);
    let locked = dec(locked);
    Balance { currency: currency.to_owned(), total, available: total - locked, locked, earning: Decimal::ZERO }
}

fn market() -> Vec<Ticker> {
    vec![
        ticker("btc_mxn", "1750000.50", "25", Some("-17500.005")),
        ticker("eth_mxn", "60000", "300", Some("1200")),
        ticker("usd_mxn", "17.25", "2000000", Some("0.05")),
        ticker("sol_usd", "150.10", "10000", Some("-4.9")),
        ticker("btc_usd", "101000", "10", None),
        ticker("btc_brl", "520000", "3", None),
    ]
}

fn account<'a>(id: &'a str, balances: &'a [Balance]) -> AccountBalances<'a> {
    AccountBalances { id, label: id, exchange: Some(ExchangeId::Bitso), balances, synced_at: Some(1), error: None }
}

fn rows(snapshot: &Snapshot) -> Vec<(String, String, String, String)> {
    snapshot
        .assets
        .iter()
        .map(|r| (r.asset.clone(), plain(r.total), plain(r.value), plain(r.share)))
        .collect()
}

fn plain(value: Decimal) -> String {
    crate::money::to_plain_string(value)
}

#[test]
fn values_direct_inverse_and_two_hop_assets_exactly() {
    let balances = [
        balance("btc", "0.5", "0.1"),
        balance("mxn", "1000.00", "0"),
        balance("sol", "2", "0"),
        balance("xyz", "42", "0"),
        balance("eth", "0", "0"),
    ];
    let snapshot = build_snapshot(&[account("a", &balances)], &market(), "mxn", 1_000);
    // btc 0.5 × 1750000.50 = 875000.25; sol 2 × 150.10 × 17.25 = 5178.45; mxn 1000.
    assert_eq!(plain(snapshot.total), "881178.7");
    assert_eq!(
        rows(&snapshot),
        vec![
            ("btc".into(), "0.5".into(), "875000.25".into(), "99.3".into()),
            ("sol".into(), "2".into(), "5178.45".into(), "0.59".into()),
            ("mxn".into(), "1000".into(), "1000".into(), "0.11".into()),
        ]
    );
    assert_eq!(snapshot.assets[0].available, dec("0.4"));
    assert_eq!(snapshot.assets[0].locked, dec("0.1"));
    assert_eq!(snapshot.assets[1].route, vec!["sol_usd".to_owned(), "usd_mxn".to_owned()]);
    assert_eq!(snapshot.unpriced.len(), 1, "xyz has no book");
    assert_eq!(snapshot.unpriced[0].asset, "xyz");
    assert_eq!(plain(snapshot.unpriced[0].total), "42");
    assert!(snapshot.assets.iter().all(|r| r.asset != "eth"), "zero balances are hidden");
    assert_eq!(snapshot.updated_at, 1_000);
    assert_eq!(snapshot.prices_at.as_deref(), Some("2026-11-24T06:00:00+00:00"));
}

#[test]
fn twenty_four_hour_change_per_row() {
    let balances = [balance("btc", "1", "0"), balance("sol", "1", "0"), balance("mxn", "1", "0")];
    let snapshot = build_snapshot(&[account("a", &balances)], &market(), "mxn", 0);
    let change = |asset: &str| {
        snapshot.assets.iter().find(|r| r.asset == asset).and_then(|r| r.change24h).map(plain)
    };
    // btc: 1750000.50 now, 1767500.505 before → −0.99 %.
    assert_eq!(change("btc").as_deref(), Some("-0.99"));
    // sol: 150.10 × 17.25 = 2589.225 now; 155.00 × 17.20 = 2666 before → −2.88 %.
    assert_eq!(change("sol").as_deref(), Some("-2.88"));
    assert_eq!(change("mxn").as_deref(), Some("0"));
    // The whole portfolio: 1,752,590.725 now against 1,770,167.505 a day ago (the same amounts at
    // yesterday's prices) → −0.99 % (checked with Python's decimal module).
    assert_eq!(snapshot.change24h.map(plain).as_deref(), Some("-0.99"));
    // Without any 24-hour figure there is no portfolio change either.
    let flat = build_snapshot(&[account("a", &balances)], &[ticker("btc_mxn", "1", "1", None)], "mxn", 0);
    assert_eq!(flat.change24h, None);
}

#[test]
fn two_accounts_add_up_and_keep_subtotals() {
    let personal = [balance("btc", "0.25", "0"), balance("mxn", "500", "0")];
    let business = [balance("btc", "0.25", "0.05"), balance("eth", "1.5", "0")];
    let snapshot = build_snapshot(
        &[account("personal", &personal), account("business", &business)],
        &market(),
        "mxn",
        0,
    );
    let btc = &snapshot.assets[0];
    assert_eq!((btc.asset.as_str(), plain(btc.total).as_str()), ("btc", "0.5"));
    assert_eq!(plain(btc.locked), "0.05");
    // 875000.25 + 90000 + 500
    assert_eq!(plain(snapshot.total), "965500.25");
    let subtotals: Vec<(String, String)> =
        snapshot.accounts.iter().map(|a| (a.id.clone(), plain(a.total))).collect();
    assert_eq!(
        subtotals,
        vec![("personal".into(), "438000.125".into()), ("business".into(), "527500.125".into())]
    );
    let shares: Decimal = snapshot.assets.iter().map(|r| r.share).sum();
    assert_eq!(plain(shares), "100");
}

#[test]
fn dust_and_very_large_amounts_stay_exact() {
    let balances = [
        balance("btc", "0.00000001", "0"),
        balance("shib", "98765432109876.12345678", "0"),
    ];
    let tickers = [ticker("btc_mxn", "1750000.50", "1", None), ticker("shib_mxn", "0.00023456", "1", None)];
    let snapshot = build_snapshot(&[account("a", &balances)], &tickers, "mxn", 0);
    let value = |asset: &str| snapshot.assets.iter().find(|r| r.asset == asset).map(|r| plain(r.value));
    assert_eq!(value("btc").as_deref(), Some("0.017500005"));
    // Checked with Python: decimal.getcontext().prec = 60;
    // Decimal("98765432109876.12345678") * Decimal("0.00023456")
    assert_eq!(value("shib").as_deref(), Some("23166419755.6925435180223168"));
    assert_eq!(plain(snapshot.total), "23166419755.7100435230223168");
}

#[test]
fn valued_in_another_quote() {
    let balances = [balance("mxn", "1725", "0"), balance("btc", "1", "0")];
    let snapshot = build_snapshot(&[account("a", &balances)], &market(), "usd", 0);
    let value = |asset: &str| snapshot.assets.iter().find(|r| r.asset == asset).map(|r| plain(r.value));
    assert_eq!(value("mxn").as_deref(), Some("100"));
    assert_eq!(value("btc").as_deref(), Some("101000"));
    assert_eq!(snapshot.quote, "usd");
    assert_eq!(snapshot.quotes, vec!["brl", "mxn", "usd"]);
}

#[test]
fn quote_list_includes_an_unlisted_current_quote() {
    let snapshot = build_snapshot(&[], &market(), "cop", 0);
    assert!(snapshot.quotes.contains(&"cop".to_owned()));
    assert_eq!(snapshot.total, Decimal::ZERO);
    assert!(snapshot.assets.is_empty());
}

#[test]
fn failed_account_carries_its_error_code() {
    let balances = [balance("btc", "1", "0")];
    let mut stale = account("a", &balances);
    stale.error = Some(ErrorView::new(&Error::MissingPermission { exchange: ExchangeId::Bitso }, 0));
    let snapshot = build_snapshot(&[stale], &market(), "mxn", 0);
    let view = snapshot.accounts[0].error.clone().unwrap_or_else(|| panic!("error expected"));
    assert_eq!(view.code, ErrorCode::MissingPermission);
    assert_eq!(view.exchange, Some(ExchangeId::Bitso));
    assert_eq!(plain(snapshot.total), "1750000.5", "its last balances still count");
}

#[test]
fn an_account_that_overflows_is_left_out_with_its_own_error() {
    // Two spellings of one asset in one answer, each at Decimal::MAX: their sum cannot exist.
    let huge = Decimal::MAX.to_string();
    let broken = [balance("btc", &huge, "0"), balance("btc", &huge, "0")];
    let fine = [balance("btc", "1", "0")];
    let snapshot = build_snapshot(&[account("fine", &fine), account("broken", &broken)], &market(), "mxn", 5);
    assert_eq!(plain(snapshot.total), "1750000.5");
    assert_eq!(snapshot.accounts[0].error, None);
    let error = snapshot.accounts[1].error.clone().unwrap_or_else(|| panic!("overflow expected"));
    assert_eq!(error.code, ErrorCode::AmountOverflow);
    assert_eq!(plain(snapshot.accounts[1].total), "0");
    assert_eq!(plain(snapshot.assets[0].total), "1", "none of the broken account is counted");
}

#[test]
fn value_overflow_across_accounts_blames_the_account_that_overflows() {
    // Each account alone fits; together their value does not. The first stays, the second is out.
    let big = [balance("mxn", "50000000000000000000000000000", "0")];
    let more = [balance("usd", "3000000000000000000000000000", "0")];
    let snapshot = build_snapshot(&[account("a", &big), account("b", &more)], &market(), "mxn", 0);
    assert_eq!(snapshot.accounts[0].error, None);
    assert_eq!(snapshot.accounts[1].error.as_ref().map(|e| e.code), Some(ErrorCode::AmountOverflow));
    assert_eq!(plain(snapshot.total), "50000000000000000000000000000");
}

#[test]
fn rows_and_accounts_both_add_up_to_the_total() {
    let a = [balance("btc", "0.123456789", "0"), balance("sol", "3.3", "0")];
    let b = [balance("btc", "0.987654321", "0"), balance("sol", "1.1", "0"), balance("xyz", "1", "0")];
    let snapshot = build_snapshot(&[account("a", &a), account("b", &b)], &market(), "mxn", 0);
    let rows: Decimal = snapshot.assets.iter().map(|r| r.value).sum();
    let accounts: Decimal = snapshot.accounts.iter().map(|a| a.total).sum();
    assert_eq!(rows, snapshot.total);
    assert_eq!(accounts, snapshot.total);
}

#[test]
fn prices_from_an_exchange_without_accounts_are_named_as_a_bridge() {
    let balances = [balance("dot", "10", "0")];
    let tickers = [ticker("kraken:dot_usd", "5", "100", None), ticker("bitso:usd_mxn", "17", "1000", None)];
    let mut on_kraken = account("k", &balances);
    on_kraken.exchange = Some(ExchangeId::Bitso);
    let snapshot = build_snapshot(&[on_kraken], &tickers, "mxn", 0);
    assert_eq!(plain(snapshot.total), "850");
    assert_eq!(snapshot.bridges, [ExchangeId::Kraken], "Bitso holds an account, so only Kraken's prices are a bridge");
}

#[test]
fn stored_snapshot_gives_back_each_accounts_balances() {
    let balances = [balance("btc", "0.5", "0.1"), balance("xyz", "3", "0")];
    let snapshot = build_snapshot(&[account("a", &balances)], &market(), "mxn", 7);
    let json = serde_json::to_string(&snapshot).unwrap_or_else(|e| panic!("{e}"));
    assert!(json.contains(r#""total":"875000.25""#), "{json}");
    assert!(json.contains(r#""updatedAt":7"#));
    assert!(json.contains(r#""change24h":"-0.99""#));
    let read = |text: &str| serde_json::from_str::<Snapshot>(text).ok();
    let back = read(&json).unwrap_or_default();
    assert_eq!(back, snapshot, "a stored snapshot reads back whole");
    assert_eq!(back.accounts.len(), 1);
    assert_eq!(back.accounts[0].id, "a");
    assert_eq!(back.accounts[0].synced_at, Some(1));
    assert_eq!(back.accounts[0].balances, snapshot.accounts[0].balances);
    // A balance that earns keeps it; an older snapshot's missing members take their defaults;
    // damaged accounts make the whole snapshot unusable.
    let earning = r#"{"quote":"mxn","total":"1","updatedAt":1,"accounts":[{"id":"k","label":"K","exchange":"kraken","total":"1",
        "syncedAt":null,"balances":[{"currency":"eth","total":"2","available":"1","locked":"0","earning":"1"}]}]}"#;
    let earning = read(earning).unwrap_or_default();
    assert_eq!((earning.accounts[0].synced_at, earning.accounts[0].balances[0].earning), (None, Decimal::ONE));
    for damaged in [
        r#"{"accounts":[{"id":"k","label":"K","exchange":null,"total":"1","balances":[{"currency":"eth","total":"2"}]}]}"#,
        r#"{"accounts":[{"id":"k"}]}"#,
        r#"{"total":1}"#,
        "[]",
    ] {
        assert_eq!(read(damaged), None, "{damaged}");
    }
}

#[test]
fn manual_holdings_are_valued_like_any_account_and_unknown_codes_are_unpriced() {
    let manual = [balance("btc", "0.1", "0"), balance("mycoin", "1000", "0")];
    let entry = AccountBalances { id: "manual-p1", label: "Manual", exchange: None, balances: &manual, synced_at: None, error: None };
    let snapshot = build_snapshot(&[entry], &market(), "mxn", 0);
    assert_eq!(plain(snapshot.total), "175000.05");
    assert_eq!(snapshot.unpriced.iter().map(|r| r.asset.as_str()).collect::<Vec<_>>(), ["mycoin"]);
    assert_eq!(snapshot.accounts[0].exchange, None);
    let json = serde_json::to_string(&snapshot.accounts[0]).unwrap_or_default();
    assert!(json.contains(r#""exchange":null"#), "{json}");
}

#[test]
fn small_balances_are_listed_apart_at_the_threshold() {
    let balances = [balance("btc", "0.001", "0"), balance("mxn", "1750.0005", "0"), balance("eth", "0.0001", "0")];
    // btc 1750.0005, mxn 1750.0005, eth 6: only what is strictly below the threshold is small.
    let snapshot = build_snapshot_hiding(&[account("a", &balances)], &market(), "mxn", 0, Some(dec("1750.0005")));
    assert_eq!(snapshot.small.assets, vec!["eth".to_owned()]);
    assert_eq!(plain(snapshot.small.total), "6");
    assert_eq!(plain(snapshot.total), "3506.001", "small balances still count in the total");
    let above = build_snapshot_hiding(&[account("a", &balances)], &market(), "mxn", 0, Some(dec("1750.0006")));
    assert_eq!(above.small.assets, vec!["btc".to_owned(), "mxn".to_owned(), "eth".to_owned()]);
    for off in [None, Some(Decimal::ZERO), Some(dec("-1"))] {
        assert_eq!(build_snapshot_hiding(&[account("a", &balances)], &market(), "mxn", 0, off).small, SmallBalances::default());
    }
}

#[test]
fn movers_leave_dust_out() {
    let balances = [balance("btc", "1", "0"), balance("sol", "0.001", "0"), balance("mxn", "10", "0")];
    let snapshot = build_snapshot(&[account("a", &balances)], &market(), "mxn", 0);
    // sol is worth 2.59 of 1,750,013: dust. btc fell; nothing rose.
    assert_eq!(snapshot.movers.losers, vec!["btc".to_owned()]);
    assert!(snapshot.movers.gainers.is_empty());
    let biggest = snapshot.movers.biggest.unwrap_or_else(|| panic!("a biggest move"));
    assert_eq!((biggest.asset.as_str(), plain(biggest.value_change).as_str()), ("btc", "-17500.005"));
}

#[test]
fn the_dollar_rate_of_the_quote_is_kept_for_history() {
    let balances = [balance("btc", "1", "0")];
    let accounts = [account("a", &balances)];
    let rate = |quote: &str| build_snapshot(&accounts, &market(), quote, 0).usd_rate.map(plain);
    // usd_mxn at 17.25: one peso is 1/17.25 dollars.
    assert_eq!(rate("mxn"), Some(plain(Decimal::ONE / dec("17.25"))));
    assert_eq!(rate("usd"), Some("1".to_owned()));
    // BRL reaches the dollar only through BTC: 101000 / 520000, to the 12 significant digits
    // history keeps (the route's price is itself a rounded quotient).
    let brl = build_snapshot(&accounts, &market(), "brl", 0).usd_rate.and_then(|r| r.round_sf(12)).map(plain);
    assert_eq!(brl, Some("0.194230769231".to_owned()));
    let no_dollar = [ticker("btc_mxn", "1750000", "25", None)];
    assert_eq!(build_snapshot(&accounts, &no_dollar, "mxn", 0).usd_rate, None);
}
