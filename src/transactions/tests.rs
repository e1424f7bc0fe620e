use super::*;

/// The value, or the test fails with the error.
fn ok<T, E: std::fmt::Debug>(result: std::result::Result<T, E>) -> T {
    result.unwrap_or_else(|error| panic!("{error:?}"))
}

fn amount(asset: &str, value: &str) -> Amount {
    Amount { asset: asset.to_owned(), amount: value.parse().unwrap_or_else(|e| panic!("{e}")) }
}

fn trade(id: &str, at: u64) -> Transaction {
    Transaction {
        id: id.to_owned(),
        at,
        kind: Kind::Trade,
        side: Some(Side::Buy),
        received: Some(amount("btc", "0.1")),
        sent: Some(amount("mxn", "50000")),
        fee: Some(amount("mxn", "25")),
    }
}

/// 2026-11-30T23:59:59Z and 2026-12-01T00:00:00Z (`date -u -d … +%s`).
const NOV_30_LAST: u64 = 1_796_083_199_000;
const DEC_1: u64 = 1_796_083_200_000;

#[test]
fn the_stored_format_is_pinned() {
    let chunk = Chunk { v: FORMAT, transactions: vec![trade("ledger:c4ca42", 1_700_000_000_000)] };
    let text = write_chunk(&chunk);
    assert_eq!(
        text,
        concat!(
            r#"{"v":1,"transactions":[{"id":"ledger:c4ca42","at":1700000000000,"kind":"trade","side":"buy","#,
            r#""received":{"asset":"btc","amount":"0.1"},"sent":{"asset":"mxn","amount":"50000"},"fee":{"asset":"mxn","amount":"25"}}]}"#
        )
    );
    assert_eq!(read_chunk(&text), Ok(chunk));
    let deposit = r#"{"v":1,"transactions":[{"id":"funding:1","at":5,"kind":"deposit","received":{"asset":"eth","amount":"2"}}]}"#;
    assert_eq!(read_chunk(deposit).map(|chunk| chunk.transactions[0].kind), Ok(Kind::Deposit));
}

#[test]
fn what_the_cost_basis_could_not_use_is_refused() {
    let refused = [
        r#"{"v":2,"transactions":[]}"#,
        r#"{"v":1,"transactions":[],"extra":1}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"deposit"}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"deposit","received":{"asset":"BTC","amount":"1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"deposit","received":{"asset":"btc","amount":"-1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"deposit","received":{"asset":"btc","amount":"0"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"deposit","side":"buy","received":{"asset":"btc","amount":"1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"trade","received":{"asset":"btc","amount":"1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"withdrawal","received":{"asset":"btc","amount":"1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"","at":1,"kind":"fee","fee":{"asset":"btc","amount":"1"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"fee","fee":{"asset":"btc","amount":"1e3"}}]}"#,
        r#"{"v":1,"transactions":[{"id":"a","at":1,"kind":"gift","received":{"asset":"btc","amount":"1"}}]}"#,
    ];
    for text in refused {
        assert!(read_chunk(text).is_err(), "{text}");
    }
}

#[test]
fn a_page_lands_in_the_month_of_each_transaction_each_once() {
    let page = [trade("a", NOV_30_LAST), trade("b", DEC_1), trade("a", NOV_30_LAST)];
    let written = merge_page("k1", &page, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written.keys().collect::<Vec<_>>(), ["tx:k1:2026-11", "tx:k1:2026-12"]);
    let november = read_chunk(&written["tx:k1:2026-11"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(november.transactions.len(), 1);
    // The same page again (a worker stopped before the cursor was stored) adds nothing.
    let again = merge_page("k1", &page, &written).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, written);
    // A newer transaction goes after, an older one before.
    let more = merge_page("k1", &[trade("c", DEC_1 + 1), trade("d", DEC_1 - 1)], &written).unwrap_or_else(|e| panic!("{e}"));
    let december = read_chunk(&more["tx:k1:2026-12"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(december.transactions.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    let november = read_chunk(&more["tx:k1:2026-11"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(november.transactions.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["a", "d"]);
}

#[test]
fn one_bad_transaction_refuses_the_page() {
    let mut bad = trade("x", DEC_1);
    bad.sent = None;
    assert!(merge_page("k1", &[trade("a", DEC_1), bad], &BTreeMap::new()).is_err());
}

#[test]
fn balance_legs_net_every_leg() {
    let mut sell = trade("s", DEC_1);
    sell.side = Some(Side::Sell);
    sell.received = Some(amount("usdt", "100"));
    sell.sent = Some(amount("btc", "0.002"));
    sell.fee = Some(amount("usdt", "0.1"));
    let changes = sell.balance_changes().unwrap_or_default();
    assert_eq!(changes.get("usdt"), Some(&"99.9".parse().unwrap_or_default()));
    assert_eq!(changes.get("btc"), Some(&"-0.002".parse().unwrap_or_default()));
}

proptest::proptest! {
    #[test]
    fn reading_never_panics(text in "\\PC{0,200}") {
        let _ = read_chunk(&text);
    }
}

#[test]
fn the_span_covers_every_leg_from_the_first_day() {
    let mut first = trade("a", 86_400_000 * 20_000 + 5);
    first.fee = Some(amount("bnb", "0.01"));
    let later = trade("b", 86_400_000 * 20_100);
    let stored = BTreeMap::new();
    let mut chunks = ok(merge_page("acct", &[first, later], &stored));
    chunks.insert("hist:d:20000".into(), "not a transaction chunk".into());
    let span = ok(span(&chunks));
    assert_eq!(span.first_day, Some(20_000));
    let mut expected: Vec<String> = trade("x", 0).balance_legs().map(|(asset, _)| asset.to_owned()).collect();
    expected.push("bnb".into());
    expected.sort();
    expected.dedup();
    assert_eq!(span.assets.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(ok(super::span(&BTreeMap::new())), Span::default());
}

fn typed(side: Side, amount: &str, price: &str, fee: &str) -> TypedTrade {
    TypedTrade {
        id: "k1".into(),
        at: DEC_1,
        side,
        asset: "BTC".into(),
        amount: ok(amount.parse()),
        price: ok(price.parse()),
        fee: ok(fee.parse()),
        quote: "mxn".into(),
    }
}

#[test]
fn a_typed_trade_is_worked_out_exactly() {
    let buy = ok(typed(Side::Buy, "0.1", "1234567.89", "12.5").transaction());
    assert_eq!(buy.id, "manual:k1");
    assert_eq!(buy.received, Some(amount("btc", "0.1")));
    assert_eq!(buy.sent, Some(amount("mxn", "123456.789")));
    assert_eq!(buy.fee, Some(amount("mxn", "12.5")));
    let sell = ok(typed(Side::Sell, "0.3", "0.1", "0").transaction());
    assert_eq!((sell.received, sell.sent, sell.fee), (Some(amount("mxn", "0.03")), Some(amount("btc", "0.3")), None));
}

#[test]
fn a_typed_trade_that_makes_no_sense_is_refused_by_field() {
    let field = |trade: TypedTrade| match trade.transaction() {
        Err(Error::InvalidInput { field }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(typed(Side::Buy, "0", "1", "0")), "amount");
    assert_eq!(field(typed(Side::Buy, "-1", "1", "0")), "amount");
    assert_eq!(field(typed(Side::Buy, "1", "0", "0")), "price");
    assert_eq!(field(typed(Side::Buy, "1", "1", "-1")), "fee");
    assert_eq!(field(typed(Side::Buy, "79228162514264337593543950335", "2", "0")), "amount");
    assert_eq!(field(TypedTrade { quote: "btc".into(), ..typed(Side::Buy, "1", "1", "0") }), "asset");
}

#[test]
fn a_typed_in_transaction_can_be_removed_an_imported_one_cannot() {
    let typed = ok(typed(Side::Buy, "1", "2", "0").transaction());
    let chunks = ok(merge_page("acct", &[typed.clone(), trade("ledger:1", DEC_1)], &BTreeMap::new()));
    let text = &chunks[&chunk_key("acct", DEC_1)];
    let left = ok(without_typed(text, &typed.id)).unwrap_or_default();
    assert_eq!(ok(read_chunk(&left)).transactions, vec![trade("ledger:1", DEC_1)]);
    assert_eq!(ok(without_typed(&left, &typed.id)).as_deref(), Some(left.as_str()), "nothing to remove");
    assert!(without_typed(&left, "ledger:1").is_err());
    let only_typed = ok(merge_page("acct", std::slice::from_ref(&typed), &BTreeMap::new()));
    assert_eq!(ok(without_typed(&only_typed[&chunk_key("acct", DEC_1)], &typed.id)), None);
}
