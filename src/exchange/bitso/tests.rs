use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::{exchange::testing, nonce::NonceFormat};

fn credentials() -> Credentials {
    Credentials::new("test-key", "bitso_test_secret").unwrap_or_else(|e| panic!("{e}"))
}

/// Timestamp 1731349200123 and salt 123456, the docs' nonce v2 example.
const NONCE: &str = "1731349200123123456";

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn with_status(status: u16, body: &str) -> HttpResponse<'_> {
    HttpResponse::new(status, body.as_bytes())
}

// Expected signatures were computed independently with node:crypto:
//   node -e 'console.log(require("node:crypto").createHmac("sha256","bitso_test_secret")
//            .update(MESSAGE).digest("hex"))'
// where MESSAGE is nonce + method + path + body as listed in each case. The first one also
// appears in shared/reference/exchange-apis.md §8, computed there with Python's hmac.
#[test]
fn signatures_match_node_crypto() {
    struct Case {
        method: Method,
        path: &'static str,
        body: Option<&'static str>,
        signature: &'static str,
    }
    let cases = [
        Case {
            method: Method::Get,
            path: "/v3/balance/",
            body: None,
            signature: "9ace657d9ad1f64aaf66b851680545abbcf2865ef5218c595f1872414fcd2ca0",
        },
        Case {
            method: Method::Get,
            path: "/v3/user_trades/?book=btc_mxn&limit=100",
            body: None,
            signature: "6555f96b8734f4c8bc142b0c601d42cf95521ece5817625dff580707453765f8",
        },
        Case {
            method: Method::Post,
            path: "/v3/orders/",
            body: Some(r#"{"book":"btc_mxn","side":"buy","type":"limit","major":"0.01","price":"1000"}"#),
            signature: "5d5fd1a3351a6f9ee92fc1c1ca8f114fa9eaf2c984805cfbc553de64aae54cb5",
        },
    ];
    for case in cases {
        let request = signed_request(&credentials(), NONCE, case.method, case.path, case.body)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bitso test-key:1731349200123123456:{}", case.signature).as_str()),
            "{}",
            case.path
        );
        assert_eq!(request.url, format!("https://api.bitso.com{}", case.path));
        assert_eq!(request.body.as_deref(), case.body);
        assert_eq!(request.header("content-type").is_some(), case.body.is_some());
    }
}

// Produced by ccxt 4.5.84's own Bitso signer (npm `ccxt`), which requests the `/api/v3/` form
// of the paths on bitso.com; the signature covers only nonce, method, path and body:
//   node -e 'const ccxt = require("ccxt");
//     const ex = new ccxt.bitso({ apiKey: "test-key", secret: "bitso_test_secret" });
//     ex.nonce = () => "1731349200123123456";
//     console.log(ex.sign("balance", "private", "GET", {}).headers.Authorization);
//     console.log(ex.sign("user_trades", "private", "GET", { book: "btc_mxn", limit: 100 }).headers.Authorization);
//     console.log(ex.sign("orders", "private", "POST", { book: "btc_mxn", side: "buy", type: "limit",
//       major: "0.01", price: "1000" }).headers.Authorization)'
#[test]
fn signatures_match_ccxt() {
    let cases = [
        (Method::Get, "/api/v3/balance", None, "882bf5d9fecdd753b6983907315ecf324278ab739a260921f6c7fcecd46cef7c"),
        (
            Method::Get,
            "/api/v3/user_trades?book=btc_mxn&limit=100",
            None,
            "e6adc6b6c7d43d4f878f3e2b82a242fe45266cb88b4aa38b2e6b1090723aa4ef",
        ),
        (
            Method::Post,
            "/api/v3/orders",
            Some(r#"{"book":"btc_mxn","side":"buy","type":"limit","major":"0.01","price":"1000"}"#),
            "3625bbe1509f2654967ac56f6119cba7192a2e217b82d5ca96c208e3c0ecbd6b",
        ),
    ];
    for (method, path, body, signature) in cases {
        let request = signed_request(&credentials(), NONCE, method, path, body).unwrap_or_else(|e| panic!("{e}"));
        let expected = format!("Bitso test-key:1731349200123123456:{signature}");
        assert_eq!(request.header("Authorization"), Some(expected.as_str()), "{path}");
    }
}

#[test]
fn balance_request_is_a_signed_get() {
    // Resuming just below the docs' nonce makes the flow sign with exactly that nonce.
    let request = testing::first_request(
        Bitso.holdings(),
        &credentials(),
        NonceFormat::Salted19,
        Some(1_731_349_200_123_123_455),
        1_731_349_200_000,
    );
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, "https://api.bitso.com/v3/balance/");
    assert_eq!(request.body, None);
    assert!(
        request
            .header("Authorization")
            .is_some_and(|value| value.ends_with("9ace657d9ad1f64aaf66b851680545abbcf2865ef5218c595f1872414fcd2ca0"))
    );
    assert!(!format!("{request:?}").contains("9ace657d"), "Debug must not print the signature");
}

#[test]
fn tickers_request_is_public() {
    let (_, sent) = testing::run(Bitso.prices(), None, NonceFormat::Salted19, 0, |_| (503, String::new()));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://api.bitso.com/v3/ticker/");
    assert!(sent[0].headers.is_empty());
}

const BALANCES: &str = r#"{"success": true, "payload": {"balances": [
  {"currency":"mxn","total":"300.00","locked":"25.1234","available":"274.8766",
   "pending_deposit":"0.00000000","pending_withdrawal":"200.00000000"},
  {"currency":"btc","total":"0.00000001","locked":"0.00000000","available":"0.00000001",
   "pending_deposit":"0.00500000","pending_withdrawal":"0.00000000"},
  {"currency":"bat","total":"0.00000000","locked":"0.00000000","available":"0.00000000"},
  {"currency":"NEWCOIN","total":"12345678901234.123456789","locked":"0","available":"12345678901234.123456789"}
]}}"#;

#[test]
fn parses_documented_balances() {
    let balances = parse_balances(ok(BALANCES)).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(String, String, String, String)> = balances
        .iter()
        .map(|b| (b.currency.clone(), b.total.to_string(), b.available.to_string(), b.locked.to_string()))
        .collect();
    // Zero balances (bat) are dropped; pending deposits and withdrawals are not part of `total`.
    let expected = [
        ("mxn", "300.00", "274.8766", "25.1234"),
        ("btc", "0.00000001", "0.00000001", "0.00000000"),
        ("newcoin", "12345678901234.123456789", "12345678901234.123456789", "0"),
    ];
    assert_eq!(summary.len(), expected.len());
    for (got, want) in summary.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str(), got.3.as_str()), want);
    }
}

#[test]
fn error_table() {
    use Error as E;
    const X: ExchangeId = ExchangeId::Bitso;
    struct Case {
        name: &'static str,
        status: u16,
        body: &'static str,
        retry_after_ms: Option<u64>,
        expected: Error,
    }
    let auth = |code: &str| format!(r#"{{"success":false,"error":{{"code":"{code}","message":"whatever"}}}}"#);
    let cases = vec![
        Case { name: "0201 credentials", status: 401, body: leak(auth("0201")), retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "0206 nonce type", status: 401, body: leak(auth("0206")), retry_after_ms: None, expected: E::NonceRejected { exchange: X } },
        Case { name: "0207 nonce value", status: 401, body: leak(auth("0207")), retry_after_ms: None, expected: E::NonceRejected { exchange: X } },
        Case { name: "0215 signature", status: 401, body: leak(auth("0215")), retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "0202 permission", status: 401, body: leak(auth("0202")), retry_after_ms: None, expected: E::MissingPermission { exchange: X } },
        Case { name: "0326 inactive", status: 400, body: leak(auth("0326")), retry_after_ms: None, expected: E::KeyInactive { exchange: X } },
        Case { name: "0213 ip", status: 401, body: leak(auth("0213")), retry_after_ms: None, expected: E::IpNotAllowed { exchange: X } },
        Case { name: "0705 suspended", status: 400, body: leak(auth("0705")), retry_after_ms: None, expected: E::AccountRestricted { exchange: X } },
        Case { name: "0801 rate limit, no header", status: 420, body: leak(auth("0801")), retry_after_ms: None, expected: E::RateLimited { exchange: X, retry_after_ms: 60_000 } },
        Case { name: "0802 inside a 200", status: 200, body: leak(auth("0802")), retry_after_ms: Some(30000), expected: E::RateLimited { exchange: X, retry_after_ms: 30_000 } },
        Case { name: "HTTP 429 with Retry-After", status: 429, body: "", retry_after_ms: Some(12000), expected: E::RateLimited { exchange: X, retry_after_ms: 12_000 } },
        Case { name: "HTTP 420 HTML", status: 420, body: "<html>slow down</html>", retry_after_ms: None, expected: E::RateLimited { exchange: X, retry_after_ms: 60_000 } },
        Case { name: "numeric code", status: 401, body: r#"{"success":false,"error":{"code":201,"message":"x"}}"#, retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "legacy numeric nonce 104", status: 400, body: r#"{"success":false,"error":{"code":104,"message":"nonce must be higher"}}"#, retry_after_ms: None, expected: E::NonceRejected { exchange: X } },
        Case { name: "unknown code", status: 400, body: leak(auth("0304")), retry_after_ms: None, expected: E::ExchangeRejected { exchange: X, code: "0304".into() } },
        Case { name: "code with junk", status: 400, body: r#"{"success":false,"error":{"code":"<script>alert(1)</script>","message":"x"}}"#, retry_after_ms: None, expected: E::ExchangeRejected { exchange: X, code: "unknown".into() } },
        Case { name: "internal 0101", status: 500, body: leak(auth("0101")), retry_after_ms: None, expected: E::ExchangeUnavailable { exchange: X, status: 500 } },
        Case { name: "Cloudflare 403 HTML", status: 403, body: "<!DOCTYPE html><title>Access denied | api.bitso.com used Cloudflare</title>", retry_after_ms: None, expected: E::ExchangeUnavailable { exchange: X, status: 403 } },
        Case { name: "502 empty", status: 502, body: "", retry_after_ms: None, expected: E::ExchangeUnavailable { exchange: X, status: 502 } },
        Case { name: "503 JSON without envelope", status: 503, body: r#"{"status":"maintenance"}"#, retry_after_ms: None, expected: E::ExchangeUnavailable { exchange: X, status: 503 } },
        Case { name: "200 empty body", status: 200, body: "", retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 truncated JSON", status: 200, body: r#"{"success":true,"payload":{"bal"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 success without payload", status: 200, body: r#"{"success":true}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 payload without balances", status: 200, body: r#"{"success":true,"payload":{}}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 float-looking garbage amount", status: 200, body: r#"{"success":true,"payload":{"balances":[{"currency":"btc","total":"1,000","available":"0","locked":"0"}]}}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 missing field", status: 200, body: r#"{"success":true,"payload":{"balances":[{"currency":"btc","total":"1"}]}}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "success false without error", status: 200, body: r#"{"success":false}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
    ];
    for case in cases {
        let response = HttpResponse { retry_after_ms: case.retry_after_ms, ..HttpResponse::new(case.status, case.body.as_bytes()) };
        assert_eq!(parse_balances(response), Err(case.expected), "{}", case.name);
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[test]
fn success_as_string_is_accepted() {
    let body = r#"{"success":"true","payload":{"balances":[{"currency":"eth","total":"1.5","available":"1.5","locked":"0"}]}}"#;
    assert_eq!(parse_balances(ok(body)).map(|b| b.len()), Ok(1));
}

#[test]
fn numeric_amounts_stay_exact() {
    let body = r#"{"success":true,"payload":{"balances":[{"currency":"eth","total":0.1,"available":0.1,"locked":0}]}}"#;
    let balances = parse_balances(ok(body)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(balances[0].total.to_string(), "0.1");
}

#[test]
fn tickers_all_books_and_one_book() {
    let all = r#"{"success":true,"payload":[
      {"book":"btc_mxn","volume":"22.31","high":"1","low":"1","last":"1750000.50","vwap":"1","ask":"1","bid":"1",
       "created_at":"2026-11-24T06:00:00+00:00","change_24":"-1234.56","rolling_average_change":{"6":"-0.5228"}},
      {"book":"usd_mxn","volume":"100000","last":"17.25","created_at":"2026-11-24T06:00:01+00:00"},
      {"book":"broken","last":"1"},
      {"book":"zero_mxn","last":"0"},
      {"book":"nolast_mxn"}
    ]}"#;
    let tickers = parse_tickers(ok(all)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tickers.len(), 2, "unusable books are skipped");
    let btc = &tickers[0];
    assert_eq!((btc.base.as_str(), btc.quote.as_str()), ("btc", "mxn"));
    assert_eq!(btc.last.to_string(), "1750000.50");
    assert_eq!(btc.volume.to_string(), "22.31");
    assert_eq!(btc.change_24h.map(|d| d.to_string()).as_deref(), Some("-1234.56"));
    assert_eq!(btc.created_at.as_deref(), Some("2026-11-24T06:00:00+00:00"));
    assert_eq!(tickers[1].change_24h, None);

    let one = r#"{"success":true,"payload":{"book":"eth_mxn","volume":"1","last":"60000","created_at":"2026-11-24T06:00:00+00:00"}}"#;
    let tickers = parse_tickers(ok(one)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tickers.len(), 1);
    assert_eq!(tickers[0].book, "bitso:eth_mxn");

    assert_eq!(
        parse_tickers(ok(r#"{"success":true,"payload":"nope"}"#)),
        Err(Error::MalformedResponse { exchange: ExchangeId::Bitso })
    );
    assert_eq!(
        parse_tickers(with_status(503, "Service Unavailable")),
        Err(Error::ExchangeUnavailable { exchange: ExchangeId::Bitso, status: 503 })
    );
}

#[test]
fn no_error_message_carries_the_body() {
    let body = r#"{"success":false,"error":{"code":"0201","message":"SECRET-PAYLOAD-MARKER"}}"#;
    let error = parse_balances(with_status(401, body)).err().unwrap_or(Error::AccountNotFound);
    let view = serde_json::to_string(&crate::error::ErrorView::new(&error, 0)).unwrap_or_default();
    assert!(!format!("{error:?} {error} {view}").contains("SECRET-PAYLOAD-MARKER"));
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = parse_balances(response);
        let _ = parse_tickers(response);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(value in arb_json()) {
        let body = value.to_string();
        let response = HttpResponse::new(200, body.as_bytes());
        let _ = parse_balances(response);
        let _ = parse_tickers(response);
    }
}

/// JSON values shaped like Bitso's envelope often enough to reach the inner parsers.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9_.\\-]{0,12}".prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("success".to_owned()), Just("payload".to_owned()), Just("balances".to_owned()),
                    Just("currency".to_owned()), Just("total".to_owned()), Just("available".to_owned()),
                    Just("locked".to_owned()), Just("book".to_owned()), Just("last".to_owned()),
                    Just("error".to_owned()), Just("code".to_owned()), "[a-z]{1,6}",
                ],
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    tree.prop_map(|inner| serde_json::json!({"success": true, "payload": inner}))
}

// ---------------------------------------------------------------------------------------------
// Transaction history: the ledger, and daily closes

const LEDGER_FIXTURE: &str = include_str!("../../../tests/fixtures/bitso/ledger-page-1.json");

fn history_page(cursor: Option<&str>, body: &str) -> (Result<HistoryPage>, Vec<HttpRequest>) {
    let flow = Bitso.history(cursor, &[]).unwrap_or_else(|| panic!("Bitso reads its ledger"));
    testing::run(flow, Some(&credentials()), NonceFormat::Salted19, 1_731_349_200_123, |_| (200, body.to_owned()))
}

fn dec(text: &str) -> rust_decimal::Decimal {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_ledger_reads_every_operation_as_a_transaction() {
    let (page, sent) = history_page(None, LEDGER_FIXTURE);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://api.bitso.com/v3/ledger/?limit=100&sort=asc");
    assert!(sent[0].header("authorization").is_some_and(|auth| auth.starts_with("Bitso test-key:")));
    type Leg<'a> = Option<(&'a str, rust_decimal::Decimal)>;
    let kinds: Vec<(Kind, Leg<'_>, Leg<'_>, Leg<'_>)> = page
        .transactions
        .iter()
        .map(|t| {
            fn leg(leg: &Option<Amount>) -> Option<(&str, rust_decimal::Decimal)> {
                leg.as_ref().map(|leg| (leg.asset.as_str(), leg.amount))
            }
            (t.kind, leg(&t.received), leg(&t.sent), leg(&t.fee))
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::Deposit, Some(("mxn", dec("100000"))), None, None),
            (Kind::Trade, Some(("btc", dec("0.05"))), Some(("mxn", dec("50000"))), None),
            (Kind::Fee, None, None, Some(("mxn", dec("325")))),
            (Kind::Trade, Some(("mxn", dec("30000"))), Some(("btc", dec("0.02"))), None),
            (Kind::Fee, None, None, Some(("mxn", dec("195")))),
            (Kind::Withdrawal, None, Some(("btc", dec("0.01"))), None),
            (Kind::Deposit, Some(("eth", dec("1.5"))), None, None),
        ]
    );
    // The sale of bitcoin for pesos is a sell; the purchase a buy.
    let sides: Vec<Option<Side>> = page.transactions.iter().filter(|t| t.kind == Kind::Trade).map(|t| t.side).collect();
    assert_eq!(sides, [Some(Side::Buy), Some(Side::Sell)]);
    assert_eq!(page.transactions[0].id, "ledger:c4ca4238a0b923820dcc509a6f75849b");
    // 2025-01-03T17:52:31Z (`date -u -d … +%s`).
    assert_eq!(page.transactions[0].at, 1_735_926_751_000);
    assert!(page.transactions.iter().all(|t| t.check().is_ok()));
    // Fewer rows than a page: caught up, the marker on the last row.
    assert!(page.caught_up);
    assert_eq!((page.read, page.wait_ms), (7, 0));
    assert_eq!(page.cursor, r#"{"marker":"8f14e45fceea167a5a36dedd4bea2543","read":7}"#);
}

#[test]
fn the_next_page_goes_on_from_the_marker_and_counts_on() {
    let full: Vec<String> = (0..100)
        .map(|i| {
            format!(r#"{{"eid":"e{i}","operation":"funding","created_at":"2025-05-01T00:00:00Z","balance_updates":[{{"currency":"btc","amount":"0.001"}}]}}"#)
        })
        .collect();
    let body = format!(r#"{{"success":true,"payload":[{}]}}"#, full.join(","));
    let (page, sent) = history_page(Some(r#"{"marker":"abc","read":7}"#), &body);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent[0].url, "https://api.bitso.com/v3/ledger/?limit=100&sort=asc&marker=abc");
    assert!(!page.caught_up, "a full page: there may be more");
    assert_eq!((page.read, page.wait_ms), (107, LEDGER_PACE_MS));
    assert_eq!(page.cursor, r#"{"marker":"e99","read":107}"#);
    // An empty page keeps the marker where it was.
    let (page, _) = history_page(Some(r#"{"marker":"abc","read":7}"#), r#"{"success":true,"payload":[]}"#);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert!(page.caught_up && page.transactions.is_empty());
    assert_eq!(page.cursor, r#"{"marker":"abc","read":7}"#);
}

#[test]
fn a_key_without_the_history_permission_says_so() {
    let (page, _) = history_page(None, r#"{"success":false,"error":{"code":"0202","message":"API key is not authorized"}}"#);
    assert_eq!(page, Err(Error::HistoryPermission { exchange: ExchangeId::Bitso }));
    let (page, _) = history_page(None, r#"{"success":false,"error":{"code":"0201","message":"x"}}"#);
    assert_eq!(page, Err(Error::InvalidCredentials { exchange: ExchangeId::Bitso }));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_page() {
    for row in [
        r#"{"eid":"x","operation":"trade","created_at":"yesterday","balance_updates":[]}"#,
        r#"{"eid":"x","operation":"trade","created_at":"2025-05-01T00:00:00Z","balance_updates":[{"currency":"btc","amount":"1"},{"currency":"eth","amount":"1"}]}"#,
        r#"{"eid":"x","operation":"funding","created_at":"2025-05-01T00:00:00Z","balance_updates":[{"currency":"b t c","amount":"1"}]}"#,
        r#"{"operation":"funding","created_at":"2025-05-01T00:00:00Z","balance_updates":[]}"#,
    ] {
        let (page, _) = history_page(None, &format!(r#"{{"success":true,"payload":[{row}]}}"#));
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Bitso }), "{row}");
    }
    let (page, _) = history_page(Some("not json"), LEDGER_FIXTURE);
    assert_eq!(page, Err(Error::InvalidInput { field: "cursor" }));
}

#[test]
fn daily_closes_come_a_year_at_a_time() {
    // 2025-01-01 is day 20089.
    let flow = Bitso.daily_closes("btc_mxn", 20_089, 20_089 + 400).unwrap_or_else(|| panic!("Bitso has candles"));
    let body = r#"{"success":true,"payload":[{"bucket_start_time":1735689600000,"first_trade_time":1735689601000,"last_trade_time":1735775999000,"first_rate":"1940000.00","last_rate":"1952500.50","min_rate":"1930000","max_rate":"1960000","trade_count":812,"volume":"12.5","vwap":"1945000"}]}"#;
    let (closes, sent) = testing::run(flow, None, NonceFormat::Salted19, 0, |_| (200, body.to_owned()));
    let closes = closes.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].url, "https://api.bitso.com/v3/ohlc?book=btc_mxn&time_bucket=86400&start=1735689600000&end=1767225599999");
    assert!(sent.iter().all(|request| request.header("authorization").is_none()), "public");
    assert_eq!(closes[0], DailyClose { day: 20_089, close: dec("1952500.5") });
    assert!(Bitso.daily_closes("btc_mxn&x=1", 0, 1).is_none());
}

proptest! {
    #[test]
    fn ledger_pages_never_panic(body in "\\PC{0,300}") {
        let _ = history_page(None, &body);
    }

    #[test]
    fn ledger_shapes_never_panic(value in arb_json()) {
        let _ = history_page(None, &value.to_string());
    }
}

#[test]
fn a_trade_that_brings_in_the_quote_currency_is_a_sell() {
    let cases = [
        ("btc", "mxn", Side::Buy),
        ("mxn", "btc", Side::Sell),
        ("usdt", "mxn", Side::Buy),
        ("mxn", "usdt", Side::Sell),
        ("btc", "usdt", Side::Buy),
        ("usdt", "btc", Side::Sell),
        ("eth", "btc", Side::Buy),
        ("btc", "eth", Side::Sell),
        ("xrp", "eth", Side::Buy),
    ];
    for (received, sent, side) in cases {
        assert_eq!(side_of(received, sent), side, "{received} for {sent}");
    }
}
