use serde_json::json;

use super::*;

/// The value, or the test fails with the error.
fn ok<T, E: std::fmt::Debug>(result: std::result::Result<T, E>) -> T {
    result.unwrap_or_else(|error| panic!("{error:?}"))
}

fn dec(text: &str) -> Decimal {
    ok(text.parse())
}

/// 2025-01-10T12:00:00Z and 2025-03-10T12:30:00Z (`date -u -d … +%s`).
const JAN_10: u64 = 1_736_510_400_000;
const MAR_10: u64 = 1_741_609_800_000;

fn chunk(transactions: serde_json::Value) -> String {
    json!({ "v": 1, "transactions": transactions }).to_string()
}

/// One Bitso account labelled `label`: 0.1 BTC bought for 50,000 + 25 MXN, 0.04 sold for 30,000;
/// 0.06 held at 1,000,000.
fn stored(label: &str, portfolio: Option<&str>) -> serde_json::Value {
    json!({
        "method": "averageCost",
        "portfolio": portfolio,
        "accounts": [{ "id": "a", "label": label, "exchange": "bitso", "portfolio": "main" }],
        "portfolios": [{ "id": "main", "name": "Main" }, { "id": "other", "name": "Other" }],
        "snapshot": {
            "quote": "mxn", "total": "60000", "updatedAt": MAR_10,
            "assets": [{ "asset": "btc", "total": "0.06", "available": "0.06", "locked": "0", "earning": "0", "price": "1000000",
                "value": "60000", "share": "100", "change24h": null, "route": [] }],
            "accounts": [{ "id": "a", "label": label, "exchange": "bitso", "total": "60000",
                "balances": [{ "currency": "btc", "total": "0.06", "available": "0.06", "locked": "0" }] }],
        },
    })
}

/// The account's two months, as storage keeps them, and a key that is not a chunk.
fn chunks() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("tx:a:2025-01".to_owned(), chunk(json!([{ "id": "ledger:1", "at": JAN_10, "kind": "trade", "side": "buy",
            "received": { "asset": "btc", "amount": "0.1" }, "sent": { "asset": "mxn", "amount": "50000" },
            "fee": { "asset": "mxn", "amount": "25" } }]))),
        ("tx:a:2025-03".to_owned(), chunk(json!([{ "id": "ledger:2", "at": MAR_10, "kind": "trade", "side": "sell",
            "received": { "asset": "mxn", "amount": "30000" }, "sent": { "asset": "btc", "amount": "0.04" } }]))),
        ("hist:d:20000".to_owned(), "not a transaction chunk".to_owned()),
    ])
}

#[test]
fn the_report_reads_what_storage_holds() {
    let report = ok(report_from_storage(&stored("Main", None).to_string(), &chunks()));
    let btc = ok(report.rows.iter().find(|row| row.asset == "btc").ok_or("no btc row"));
    // 0.1 for 50,025 (500,250 a coin); 0.04 leaves with 20,010 for 30,000.
    assert_eq!((btc.cost_basis, btc.value, btc.unrealized), (dec("30015"), Some(dec("60000")), Some(dec("29985"))));
    assert_eq!(report.total.realized, dec("9990"));
    assert_eq!((report.transactions.len(), report.transaction_count), (2, 2));
    // Only the newest row when asked for one.
    let mut one = stored("Main", None);
    one["rows"] = json!(1);
    let report = ok(report_from_storage(&one.to_string(), &chunks()));
    assert_eq!((report.transactions.len(), report.transaction_count, report.transactions[0].at), (1, 2, MAR_10));
}

#[test]
fn another_portfolio_sees_none_of_the_account() {
    let report = ok(report_from_storage(&stored("Main", Some("other")).to_string(), &chunks()));
    assert!(report.transactions.is_empty());
}

#[test]
fn a_damaged_chunk_fails_the_report_rather_than_leave_a_month_out() {
    let mut damaged = chunks();
    damaged.insert("tx:a:2025-03".to_owned(), "{\"v\":1,\"transactions\":[{\"id\":\"\"}]}".to_owned());
    assert!(report_from_storage(&stored("Main", None).to_string(), &damaged).is_err());
    assert!(report_from_storage("{}", &chunks()).is_err(), "no snapshot");
}

#[test]
fn the_exports_name_accounts_by_label_and_guard_formulas() {
    let input = stored("=HYPERLINK(\"x\")", None).to_string();
    let gains = ok(csv_from_storage(&input, &chunks(), Export::RealizedGains, "Typed in"));
    assert_eq!(
        gains,
        "time,asset,amount,proceeds_MXN,cost_basis_MXN,gain_MXN,account\r\n\
         2025-03-10T12:30:00Z,btc,0.04,30000,20010,9990,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
    );
    let transactions = ok(csv_from_storage(&input, &chunks(), Export::Transactions, "Typed in"));
    let lines: Vec<&str> = transactions.lines().collect();
    assert_eq!(lines[0], "time,type,asset,amount,price_MXN,fee_MXN,account,estimated,transfer");
    assert!(lines[1].starts_with("2025-01-10T12:00:00Z,buy,btc,0.1,500000,25,"), "{}", lines[1]);
    assert!(lines[2].starts_with("2025-03-10T12:30:00Z,sell,btc,0.04,750000,"), "{}", lines[2]);
}
