use proptest::prelude::*;

use super::*;
use crate::{exchange::testing, nonce::NonceFormat};

const X: ExchangeId = ExchangeId::Okx;
const SECRET: &str = "22582BD0CFF14C41EDBF1AB98506286D";
const PASSPHRASE: &str = "Passphrase#1";

// Fixtures shaped as the examples of <https://www.okx.com/docs-v5/en/>: "Get system time",
// "Get balance" (trading account), "Get balance" (funding account), "Get saving balance", "Get
// account configuration" and "Get tickers", with amounts of a made-up account.
const TIME: &str = include_str!("../../../tests/fixtures/okx/time.json");
const TRADING: &str = include_str!("../../../tests/fixtures/okx/account-balance.json");
const FUNDING: &str = include_str!("../../../tests/fixtures/okx/asset-balances.json");
const SAVINGS: &str = include_str!("../../../tests/fixtures/okx/savings-balance.json");
const CONFIG: &str = include_str!("../../../tests/fixtures/okx/account-config.json");
const TICKERS: &str = include_str!("../../../tests/fixtures/okx/tickers-spot.json");

/// OKX's time in `TIME`: 2020-08-10T02:26:23.085Z.
const OKX_MS: u64 = 1_597_026_383_085;

fn credentials() -> Credentials {
    Credentials::new("okx-test-key", SECRET).and_then(|credentials| credentials.with_passphrase(PASSPHRASE)).unwrap_or_else(|e| panic!("{e}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn signature_of(timestamp: &str, path: &str) -> String {
    let request = signed_get(&credentials(), timestamp, path).unwrap_or_else(|e| panic!("{e}"));
    request.header("OK-ACCESS-SIGN").unwrap_or_else(|| panic!("no signature")).to_owned()
}

// OKX's documentation shows how the signature is made but publishes no vector with its result.
// These come from two independent implementations, for timestamp 2020-12-08T09:08:57.715Z (the
// documentation's example) and secret SECRET:
//   python-okx 0.4.4 (`pip install python-okx`):
//     python3 -c 'from okx import utils; print(utils.signature("2020-12-08T09:08:57.715Z", "GET",
//       "/api/v5/account/balance", "", "22582BD0CFF14C41EDBF1AB98506286D").decode())'
//   ccxt 4 (bench/node_modules/ccxt), with its clock forced:
//     node -e 'import("ccxt").then(({default: c}) => { const x = new c.okx({apiKey: "k",
//       secret: "22582BD0CFF14C41EDBF1AB98506286D", password: "p"});
//       x.nonce = () => Date.parse("2020-12-08T09:08:57.715Z");
//       console.log(x.sign("account/balance", "private", "GET", {}).headers["OK-ACCESS-SIGN"]) })'
// (each path in turn; `account/bills` with `{limit: 100}`). Both print the same four values.
#[test]
fn signatures_match_python_okx_and_ccxt() {
    let timestamp = "2020-12-08T09:08:57.715Z";
    let cases = [
        (TRADING_PATH, "AkD5YszBhggtIyjDlmTy/9PpNVntel+1Lff8wh0qpQw="),
        (FUNDING_PATH, "tD2JyPoMgjlc4YSaUuw6rMf5ZQyhDkotKh9nVXDVJ4c="),
        (CONFIG_PATH, "Kr/8IrbDYujS4cg2KkmB+tO2HMUXxyayG6ZwNb4H/yA="),
        ("/api/v5/account/bills?limit=100", "kPcKREYrQ68dyH9Mfb8H4PDhLBZtbIAxe3tYiG39P/w="),
    ];
    for (path, expected) in cases {
        assert_eq!(signature_of(timestamp, path), expected, "{path}");
    }
}

#[test]
fn a_request_carries_every_header_and_the_path_as_signed() {
    let request = signed_get(&credentials(), "2020-12-08T09:08:57.715Z", TRADING_PATH).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, "https://www.okx.com/api/v5/account/balance");
    assert_eq!(request.header("OK-ACCESS-KEY"), Some("okx-test-key"));
    assert_eq!(request.header("OK-ACCESS-TIMESTAMP"), Some("2020-12-08T09:08:57.715Z"));
    assert_eq!(request.header("OK-ACCESS-PASSPHRASE"), Some(PASSPHRASE));
    assert_eq!(request.body, None);
    let without = Credentials::new("okx-test-key", SECRET).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed_get(&without, "t", TRADING_PATH), Err(Error::InvalidInput { field: "api_passphrase" }));
}

#[test]
fn timestamps_are_iso_with_milliseconds() {
    assert_eq!(iso_timestamp(1_607_418_537_715), "2020-12-08T09:08:57.715Z");
    assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_timestamp(951_868_799_999), "2000-02-29T23:59:59.999Z");
}

#[test]
fn the_key_form_asks_for_the_passphrase() {
    assert!(Okx.key_form().passphrase);
    assert_eq!(Okx.hosts(), ["www.okx.com"]);
}

/// Answers every request of a private flow from the fixtures.
fn answer_from(fixtures: &[(&str, &str)]) -> impl FnMut(&HttpRequest) -> testing::Answer {
    let fixtures: Vec<(String, String)> = fixtures.iter().map(|(path, body)| ((*path).to_owned(), (*body).to_owned())).collect();
    move |request| {
        let path = request.url.trim_start_matches(API_ORIGIN);
        let body = fixtures.iter().find(|(known, _)| known == path).map(|(_, body)| body.clone());
        body.map_or_else(|| (404, String::new()), |body| (200, body))
    }
}

#[test]
fn holdings_ask_the_time_then_sign_every_account_with_it() {
    // Our clock is 10 minutes ahead of OKX's: the requests carry OKX's time.
    let now = OKX_MS + 600_000;
    let answers = [(TIME_PATH, TIME), (TRADING_PATH, TRADING), (FUNDING_PATH, FUNDING), (SAVINGS_PATH, SAVINGS)];
    let (result, batches) = testing::run_batches(Okx.holdings(), Some(&credentials()), NonceFormat::Salted19, now, answer_from(&answers));
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batches.len(), 2, "the time, then the three accounts together");
    assert_eq!(batches[0][0].url, "https://www.okx.com/api/v5/public/time");
    assert!(batches[0][0].headers.is_empty(), "the time is public");
    let stamps: Vec<Option<&str>> = batches[1].iter().map(|request| request.header("OK-ACCESS-TIMESTAMP")).collect();
    assert_eq!(stamps, [Some("2020-08-10T02:26:23.085Z"); 3]);

    let expected = [
        Balance { currency: "btc".into(), total: dec("0.5"), available: dec("0.4"), locked: dec("0.1"), earning: Decimal::ZERO },
        Balance {
            currency: "usdt".into(),
            // 1250.75 trading + 150 funding (50 frozen) + 11.00… savings.
            total: dec("1411.7510737453457821"),
            available: dec("1350.75"),
            locked: dec("50"),
            earning: dec("11.0010737453457821"),
        },
        Balance::available("okb", dec("12")),
        Balance::available("eth", dec("37.11827078")),
    ];
    assert_eq!(balances, expected, "zero balances dropped, assets summed across accounts");
}

#[test]
fn savings_refused_to_the_account_are_none_but_a_refused_key_fails() {
    let refusing = |status: u16, code: &str| {
        let savings = format!(r#"{{"code":"{code}","msg":"","data":[]}}"#);
        let answers = [(TIME_PATH, TIME.to_owned()), (TRADING_PATH, TRADING.to_owned()), (FUNDING_PATH, FUNDING.to_owned())];
        let (result, _) = testing::run(Okx.holdings(), Some(&credentials()), NonceFormat::Salted19, OKX_MS, move |request: &HttpRequest| {
            let path = request.url.trim_start_matches(API_ORIGIN);
            if path == SAVINGS_PATH {
                return (status, savings.clone());
            }
            answers.iter().find(|(known, _)| *known == path).map_or((404, String::new()), |(_, body)| (200, body.clone()))
        });
        result
    };
    // A code of OKX's own that says nothing of the key or the rate: the trading and funding
    // accounts still count.
    let balances = refusing(400, "51001").unwrap_or_else(|e| panic!("{e}"));
    let usdt = balances.iter().find(|balance| balance.currency == "usdt").map(|balance| (balance.total, balance.earning));
    assert_eq!(usdt, Some((dec("1400.75"), Decimal::ZERO)));
    assert_eq!(refusing(401, "50113"), Err(Error::InvalidCredentials { exchange: X }));
    assert_eq!(refusing(403, "50120"), Err(Error::MissingPermission { exchange: X }));
    assert!(matches!(refusing(429, "50011"), Err(Error::RateLimited { .. })));
}

#[test]
fn holding_kinds_are_read_apart() {
    let trading = parse_trading(ok(TRADING)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(trading.iter().map(|b| b.currency.as_str()).collect::<Vec<_>>(), ["btc", "usdt", "okb", "eth"]);
    let funding = parse_funding(ok(FUNDING)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(funding[1], Balance { currency: "usdt".into(), total: dec("150"), available: dec("100"), locked: dec("50"), earning: Decimal::ZERO });
    let savings = parse_savings(ok(SAVINGS)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(savings[0].earning, savings[0].total);
    assert_eq!(savings[0].available, Decimal::ZERO);
    // A debt in the trading account (negative equity) is not a holding.
    let debt = r#"{"code":"0","msg":"","data":[{"details":[{"ccy":"USDT","eq":"-20","availBal":"0"}]}]}"#;
    assert_eq!(parse_trading(ok(debt)), Ok(vec![]));
    // An account mode without availBal: everything is available.
    let no_avail = r#"{"code":"0","msg":"","data":[{"details":[{"ccy":"BTC","eq":"2","availBal":""}]}]}"#;
    assert_eq!(parse_trading(ok(no_avail)), Ok(vec![Balance::available("btc", dec("2"))]));
    // Empty accounts.
    assert_eq!(parse_funding(ok(r#"{"code":"0","msg":"","data":[]}"#)), Ok(vec![]));
    assert_eq!(parse_savings(ok(r#"{"code":"0","msg":"","data":[]}"#)), Ok(vec![]));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_answer() {
    let malformed = Err(Error::MalformedResponse { exchange: X });
    for body in [
        r#"{"code":"0","msg":"","data":[{"ccy":"BTC","bal":"x","availBal":"1"}]}"#,
        r#"{"code":"0","msg":"","data":[{"ccy":"B-TC","bal":"1","availBal":"1"}]}"#,
        r#"{"code":"0","msg":"","data":[{"bal":"1","availBal":"1"}]}"#,
        r#"{"code":"0","msg":"","data":{}}"#,
        r#"{"code":"0","msg":""}"#,
    ] {
        assert_eq!(parse_funding(ok(body)), malformed, "{body}");
    }
}

#[test]
fn asset_codes_are_okx_codes_lowercased() {
    let cases = [("BTC", Some("btc")), ("USDT", Some("usdt")), ("OKB", Some("okb")), ("AE", Some("aet")), ("1INCH", Some("1inch"))];
    for (okx, cartera) in cases {
        assert_eq!(cartera_code(okx).as_deref(), cartera, "{okx}");
    }
    for refused in ["", "BTC-USDT", "US DT", "ÑU", &"A".repeat(21)] {
        assert_eq!(cartera_code(refused), None, "{refused}");
    }
}

#[test]
fn key_scope_comes_from_perm() {
    let config = |perm: &str| CONFIG.replace(r#""perm": "read_only""#, &format!(r#""perm": "{perm}""#));
    let scope = |perm: &str| parse_config(ok(&config(perm))).unwrap_or_else(|e| panic!("{e}"));
    assert!(scope("read_only").is_read_only());
    assert_eq!(scope("read_only,trade"), KeyScope { trade: true, ..KeyScope::default() });
    assert_eq!(scope("read_only,withdraw,trade"), KeyScope { trade: true, withdraw: true, ..KeyScope::default() });
    // Fails closed: what Cartera does not know, or a list without read_only.
    assert_eq!(scope("read_only,transfer"), KeyScope { other: true, ..KeyScope::default() });
    assert_eq!(scope(""), KeyScope { other: true, ..KeyScope::default() });
    let no_perm = r#"{"code":"0","msg":"","data":[{"uid":"1"}]}"#;
    assert_eq!(parse_config(ok(no_perm)), Err(Error::MalformedResponse { exchange: X }));

    let answers = [(TIME_PATH, TIME), (CONFIG_PATH, CONFIG)];
    let flow = Okx.key_scope().unwrap_or_else(|| panic!("OKX says what a key may do"));
    let (scope, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Salted19, OKX_MS, answer_from(&answers));
    assert_eq!(scope.map(|scope| scope.is_read_only()), Ok(true));
    assert_eq!(sent.len(), 2);
}

#[test]
fn tickers_keep_spot_markets_with_a_price() {
    let tickers = parse_tickers(ok(TICKERS)).unwrap_or_else(|e| panic!("{e}"));
    let books: Vec<&str> = tickers.iter().map(|ticker| ticker.book.as_str()).collect();
    assert_eq!(books, ["okx:BTC-USDT", "okx:ETH-USDT", "okx:OKB-USDT", "okx:USDT-USDC"], "a market without a last price is skipped");
    let btc = &tickers[0];
    assert_eq!((btc.base.as_str(), btc.quote.as_str()), ("btc", "usdt"));
    assert_eq!((btc.last, btc.volume, btc.change_24h), (dec("60000.1"), dec("8543.21"), Some(dec("1000"))));
    assert_eq!(tickers[2].change_24h, None, "no opening price, no change");
    let (result, sent) = testing::run(Okx.prices(), None, NonceFormat::Salted19, OKX_MS, |_| (200, TICKERS.to_owned()));
    assert_eq!(result.map(|tickers| tickers.len()), Ok(4));
    assert_eq!(sent[0].url, "https://www.okx.com/api/v5/market/tickers?instType=SPOT");
}

/// An OKX error answer (<https://www.okx.com/docs-v5/en/#error-code>).
fn error(code: &str, msg: &str) -> String {
    format!(r#"{{"code":"{code}","data":[],"msg":"{msg}"}}"#)
}

#[test]
fn error_table() {
    use Error as E;
    let unavailable = |status| E::ExchangeUnavailable { exchange: X, status };
    let cases: Vec<(u16, String, Option<u64>, Error)> = vec![
        (401, error("50111", "Invalid OK-ACCESS-KEY"), None, E::InvalidCredentials { exchange: X }),
        (401, error("50113", "Invalid Sign"), None, E::InvalidCredentials { exchange: X }),
        (401, error("50119", "API key doesn't exist"), None, E::InvalidCredentials { exchange: X }),
        (401, error("50105", "Passphrase error"), None, E::ApiPassphraseRejected { exchange: X }),
        (401, error("50104", "OK-ACCESS-PASSPHRASE header cannot be empty"), None, E::ApiPassphraseRejected { exchange: X }),
        (401, error("50102", "Timestamp request expired"), None, E::ClockSkew { exchange: X }),
        (401, error("50112", "Invalid OK-ACCESS-TIMESTAMP"), None, E::ClockSkew { exchange: X }),
        (401, error("50120", "API key doesn't have permission"), None, E::MissingPermission { exchange: X }),
        (401, error("50110", "Your IP 1.2.3.4 is not included in your API key's IP whitelist"), None, E::IpNotAllowed { exchange: X }),
        (401, error("50100", "API frozen, please contact customer service"), None, E::KeyInactive { exchange: X }),
        (200, error("50007", "Account blocked"), None, E::AccountRestricted { exchange: X }),
        (429, error("50011", "Too Many Requests"), None, E::RateLimited { exchange: X, retry_after_ms: 3_000 }),
        (429, error("50011", "Too Many Requests"), Some(5_000), E::RateLimited { exchange: X, retry_after_ms: 5_000 }),
        (429, error("50011", "Too Many Requests"), Some(86_400_000), E::RateLimited { exchange: X, retry_after_ms: 15 * 60 * 1000 }),
        (429, String::new(), None, E::RateLimited { exchange: X, retry_after_ms: 3_000 }),
        (503, error("50001", "Service temporarily unavailable"), None, unavailable(503)),
        (200, error("50013", "System is busy, please try again later"), None, unavailable(200)),
        (502, "<html>Bad Gateway</html>".to_owned(), None, unavailable(502)),
        (200, "<html></html>".to_owned(), None, E::MalformedResponse { exchange: X }),
        (200, error("51000", "Parameter ccy error"), None, E::ExchangeRejected { exchange: X, code: "51000".into() }),
        (400, error("<script>", "x"), None, E::ExchangeRejected { exchange: X, code: "unknown".into() }),
        (401, error("0", ""), None, unavailable(401)),
    ];
    for (status, body, retry_after_ms, expected) in cases {
        let response = HttpResponse { retry_after_ms, ..HttpResponse::new(status, body.as_bytes()) };
        for result in [parse_trading(response).err(), parse_config(response).err(), parse_tickers(response).err()] {
            assert_eq!(result.as_ref(), Some(&expected), "{status} {body}");
        }
    }
}

#[test]
fn a_rate_limit_in_a_batch_wins_over_other_errors() {
    let limited = error("50011", "Too Many Requests");
    let refused = error("50111", "Invalid OK-ACCESS-KEY");
    let (result, _) = testing::run(Okx.holdings(), Some(&credentials()), NonceFormat::Salted19, OKX_MS, |request| {
        match request.url.trim_start_matches(API_ORIGIN) {
            TIME_PATH => (200, TIME.to_owned()),
            SAVINGS_PATH => (429, limited.clone()),
            _ => (401, refused.clone()),
        }
    });
    assert_eq!(result, Err(Error::RateLimited { exchange: X, retry_after_ms: 3_000 }));
    // A time endpoint that fails ends the flow before anything is signed.
    let (result, sent) =
        testing::run(Okx.holdings(), Some(&credentials()), NonceFormat::Salted19, OKX_MS, |_| (503, error("50001", "maintenance")));
    assert_eq!((result, sent.len()), (Err(Error::ExchangeUnavailable { exchange: X, status: 503 }), 1));
}

#[test]
fn no_error_carries_the_body() {
    let body = error("51000", "secret-looking payload okx-test-key");
    let shown = format!("{:?}", parse_funding(HttpResponse::new(400, body.as_bytes())));
    assert!(!shown.contains("payload") && !shown.contains("okx-test-key"), "{shown}");
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = parse_trading(response);
        let _ = parse_funding(response);
        let _ = parse_savings(response);
        let _ = parse_config(response);
        let _ = parse_tickers(response);
        let _ = ServerClock::read(response, OKX_MS);
    }

    #[test]
    fn parsers_never_panic_on_okx_shaped_answers(code in "[0-9]{1,5}", ccy in "[A-Z0-9-]{0,6}", amount in "-?[0-9]{0,30}(\\.[0-9]{0,30})?") {
        let body = format!(r#"{{"code":"{code}","msg":"","data":[{{"details":[{{"ccy":"{ccy}","eq":"{amount}","availBal":"{amount}"}}],"ccy":"{ccy}","bal":"{amount}","availBal":"{amount}","amt":"{amount}","perm":"{ccy}","instId":"{ccy}-USDT","last":"{amount}","ts":"{amount}"}}]}}"#);
        let response = ok(&body);
        let _ = parse_trading(response);
        let _ = parse_funding(response);
        let _ = parse_savings(response);
        let _ = parse_config(response);
        let _ = parse_tickers(response);
        let _ = ServerClock::read(response, OKX_MS);
    }

    #[test]
    fn timestamps_read_back_as_the_same_time(ms in 0u64..4_102_444_800_000) {
        prop_assert_eq!(crate::calendar::parse_iso8601_ms(&iso_timestamp(ms)), Some(ms));
    }
}

// ------------------------------------------------------------------------------------- history

use super::history::{BILLS_PATH, DEPOSITS_PATH, HISTORY_PACE_MS, HistoryCursor, PAGE_ROWS, WITHDRAWALS_PATH};
use crate::{
    calendar::DAY_MS,
    exchange::DailyClose,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

// Shaped as the examples of "Get bills details (last 3 months)", "Get deposit history", "Get
// withdrawal history" and "Get candlesticks history" (<https://www.okx.com/docs-v5/en/>). The
// BTC-USDT buy is the documentation's own bill (its `balChg` is `sz` + `fee`) with its USDT half;
// the ETH-USDT sell earned a maker rebate (a positive `fee`).
const BILLS: &str = include_str!("../../../tests/fixtures/okx/bills-archive.json");
const DEPOSITS: &str = include_str!("../../../tests/fixtures/okx/deposit-history.json");
const WITHDRAWALS: &str = include_str!("../../../tests/fixtures/okx/withdrawal-history.json");
const CANDLES: &str = include_str!("../../../tests/fixtures/okx/history-candles.json");

fn amount(asset: &str, text: &str) -> Option<Amount> {
    Some(Amount { asset: asset.to_owned(), amount: dec(text) })
}

/// One history page from `cursor`, each request answered by `answer`; the page and its requests.
fn history_page(cursor: Option<&str>, answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Result<HistoryPage>, Vec<HttpRequest>) {
    let flow = Okx.history(cursor, &[]).unwrap_or_else(|| panic!("OKX reads history"));
    testing::run(flow, Some(&credentials()), NonceFormat::Salted19, OKX_MS, answer)
}

/// Answers OKX's time and, for any other request, `body` when its path starts with `path`.
fn serving(path: &'static str, body: String) -> impl FnMut(&HttpRequest) -> testing::Answer {
    move |request| {
        let asked = request.url.trim_start_matches(API_ORIGIN);
        if asked == TIME_PATH {
            (200, TIME.to_owned())
        } else if asked.starts_with(path.split('?').next().unwrap_or(path)) {
            (200, body.clone())
        } else {
            (404, String::new())
        }
    }
}

fn cursor_of(page: &HistoryPage) -> HistoryCursor {
    serde_json::from_str(&page.cursor).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_first_import_reads_fills_then_deposits_then_withdrawals() {
    // Fills: the time, then the bills signed with OKX's time.
    let (page, sent) = history_page(None, serving(BILLS_PATH, BILLS.to_owned()));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].url, "https://www.okx.com/api/v5/public/time");
    assert_eq!(sent[1].url, "https://www.okx.com/api/v5/account/bills-archive?instType=SPOT&type=2&limit=100");
    assert_eq!(sent[1].header("OK-ACCESS-TIMESTAMP"), Some("2020-08-10T02:26:23.085Z"));
    assert_eq!(sent[1].header("OK-ACCESS-SIGN"), Some(signature_of("2020-08-10T02:26:23.085Z", BILLS_PATH).as_str()));
    assert_eq!(sent[1].header("OK-ACCESS-PASSPHRASE"), Some(PASSPHRASE));
    let expected = vec![
        // 2023-09-18T10:37:56.167Z (`date -u -d @1695033476.167`): 0.0219338232210000 + 0.000021955779 BTC
        // bought for 595.1311499961 USDT, the fee taken in BTC.
        Transaction {
            id: "fill:BTC-USDT:586760148".into(),
            at: 1_695_033_476_167,
            kind: Kind::Trade,
            side: Some(Side::Buy),
            received: amount("btc", "0.0219557790000000"),
            sent: amount("usdt", "595.1311499961"),
            fee: amount("btc", "0.000021955779"),
        },
        // 2023-09-19T10:40:00.124Z: 0.8235 ETH sold for 1349.23887 USDT, and 0.26984777 USDT rebate.
        Transaction {
            id: "fill:ETH-USDT:586760200".into(),
            at: 1_695_120_000_124,
            kind: Kind::Trade,
            side: Some(Side::Sell),
            received: amount("usdt", "1349.23887000"),
            sent: amount("eth", "0.8235"),
            fee: None,
        },
        Transaction {
            id: "fill:ETH-USDT:586760200:rebate:usdt".into(),
            at: 1_695_120_000_124,
            kind: Kind::Reward,
            side: None,
            received: amount("usdt", "0.26984777"),
            sent: None,
            fee: None,
        },
    ];
    assert_eq!(page.transactions, expected);
    assert!(!page.caught_up);
    assert_eq!((page.read, page.wait_ms), (4, HISTORY_PACE_MS));
    let cursor = cursor_of(&page);
    assert_eq!((cursor.source, cursor.floor, cursor.after), (1, [623_950_854_533_513_232, 0, 0], None));

    // Deposits: the credited one; the one still waiting holds the floor at its time
    // (2023-01-18T10:45:05Z); the blacklisted one (state 11) moved nothing.
    let (page, sent) = history_page(Some(&page.cursor), serving(DEPOSITS_PATH, DEPOSITS.to_owned()));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent[1].url, "https://www.okx.com/api/v5/asset/deposit-history?limit=100");
    let deposit = Transaction {
        id: "deposit:34579090".into(),
        at: 1_674_038_705_000,
        kind: Kind::Deposit,
        side: None,
        received: amount("usdt", "135.705808"),
        sent: None,
        fee: None,
    };
    assert_eq!(page.transactions, vec![deposit]);
    assert_eq!(cursor_of(&page).floor[1], 1_674_038_705_000);

    // Withdrawals: the one sent (2022-06-15T00:00:00Z) with its fee; the cancelled one moved nothing.
    let (page, sent) = history_page(Some(&page.cursor), serving(WITHDRAWALS_PATH, WITHDRAWALS.to_owned()));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent[1].url, "https://www.okx.com/api/v5/asset/withdrawal-history?limit=100");
    let withdrawal = Transaction {
        id: "withdrawal:15447421".into(),
        at: 1_655_251_200_000,
        kind: Kind::Withdrawal,
        side: None,
        received: None,
        sent: amount("eth", "0.029809"),
        fee: amount("eth", "0.007"),
    };
    assert_eq!(page.transactions, vec![withdrawal]);
    assert!(page.caught_up);
    assert_eq!((page.read, page.wait_ms), (9, 0));
    for transaction in &expected {
        transaction.check().unwrap_or_else(|e| panic!("{e}"));
    }

    // The next sync: the same answers hold nothing new but the deposit still waiting.
    let cursor = cursor_of(&page);
    assert_eq!((cursor.source, cursor.floor), (0, [623_950_854_533_513_232, 1_674_038_705_000, 1_655_251_200_000]));
    let (again, _) = history_page(Some(&page.cursor), serving(BILLS_PATH, BILLS.to_owned()));
    let again = again.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.transactions.len(), cursor_of(&again).floor[0]), (0, 623_950_854_533_513_232));
}

/// A bill of a spot fill, as OKX writes it (only the members Cartera reads and a few others).
fn bill(id: u64, trade: u64, ccy: &str, change: &str, fee: &str) -> String {
    format!(
        r#"{{"billId":"{id}","type":"2","subType":"1","instType":"SPOT","instId":"SOL-USDT","tradeId":"{trade}","ordId":"9{trade}","ccy":"{ccy}","balChg":"{change}","fee":"{fee}","sz":"1","ts":"{}","bal":"1","execType":"T"}}"#,
        1_700_000_000_000 + trade
    )
}

fn answer(rows: &[String]) -> String {
    format!(r#"{{"code":"0","msg":"","data":[{}]}}"#, rows.join(","))
}

#[test]
fn full_pages_go_on_and_keep_the_two_bills_of_a_fill_together() {
    // 100 bills, newest first: a transfer (moves nothing Cartera counts), 49 whole fills, then
    // the SOL half of fill 0 whose USDT half is the first bill of the next page.
    let mut rows = vec![bill(1100, 60, "USDT", "5", "0").replacen(r#""subType":"1""#, r#""subType":"11""#, 1)];
    for trade in (1..50u64).rev() {
        rows.push(bill(1000 + 2 * trade + 1, trade, "SOL", "1", "-0.001"));
        rows.push(bill(1000 + 2 * trade, trade, "USDT", "-20", "0"));
    }
    rows.push(bill(1001, 0, "SOL", "1", "-0.001"));
    assert_eq!(rows.len(), PAGE_ROWS);
    let (page, _) = history_page(None, serving(BILLS_PATH, answer(&rows)));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.transactions.len(), 49);
    assert!(page.transactions.iter().all(|t| t.fee == amount("sol", "0.001") && t.received == amount("sol", "1.001")));
    let cursor = cursor_of(&page);
    assert_eq!((cursor.source, cursor.after, cursor.next_floor), (0, Some(1002), 1101));
    assert_eq!(page.read, 99, "the lone half is read again");

    let (next, sent) = history_page(Some(&page.cursor), serving(BILLS_PATH, answer(&[bill(1001, 0, "SOL", "1", "-0.001"), bill(1000, 0, "USDT", "-20", "0")])));
    let next = next.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent[1].url, format!("{API_ORIGIN}{BILLS_PATH}&after=1002"));
    assert_eq!(sent[1].header("OK-ACCESS-SIGN"), Some(signature_of("2020-08-10T02:26:23.085Z", &format!("{BILLS_PATH}&after=1002")).as_str()));
    assert_eq!(next.transactions.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["fill:SOL-USDT:0"]);
    let cursor = cursor_of(&next);
    assert_eq!((cursor.source, cursor.floor[0], cursor.after), (1, 1101, None));
}

#[test]
fn a_round_stops_at_what_the_last_one_read() {
    // The last round read up to bill 1003; a full page reaching below it ends the round.
    let cursor = HistoryCursor { floor: [1004, 0, 0], ..HistoryCursor::default() };
    let text = serde_json::to_string(&cursor).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Vec::new();
    for trade in (1..51u64).rev() {
        rows.push(bill(1000 + 2 * trade + 1, trade, "SOL", "1", "0"));
        rows.push(bill(1000 + 2 * trade, trade, "USDT", "-20", "0"));
    }
    let (page, _) = history_page(Some(&text), serving(BILLS_PATH, answer(&rows)));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.transactions.len(), 49, "fills 2 to 50; fill 1 was read before");
    assert_eq!(cursor_of(&page).floor[0], 1102);
    assert_eq!(cursor_of(&page).source, 1);
}

#[test]
fn deposits_sharing_a_millisecond_across_pages_are_read_again() {
    let deposit = |id: u64, ts: u64| format!(r#"{{"depId":"{id}","ccy":"BTC","amt":"0.1","ts":"{ts}","state":"2","chain":"BTC-Bitcoin","txId":"x"}}"#);
    let rows: Vec<String> = (0..100u64).map(|n| deposit(500 - n, 1_700_000_000_000 - n / 2 * 1000)).collect();
    let cursor = serde_json::to_string(&HistoryCursor { source: 1, ..HistoryCursor::default() }).unwrap_or_else(|e| panic!("{e}"));
    let (page, _) = history_page(Some(&cursor), serving(DEPOSITS_PATH, answer(&rows)));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    // The oldest two share 1_699_999_951_000: the next page asks for what is earlier than a ms after.
    assert_eq!(cursor_of(&page).after, Some(1_699_999_951_001));
    // A full page all at one time would be asked for again: refused rather than looping.
    let same: Vec<String> = (0..100u64).map(|n| deposit(500 - n, 1_699_999_951_000)).collect();
    let (again, _) = history_page(Some(&page.cursor), serving(DEPOSITS_PATH, answer(&same)));
    assert_eq!(again.err(), Some(Error::MalformedResponse { exchange: X }));
}

#[test]
fn a_key_that_may_not_read_history_says_so() {
    let (page, _) = history_page(None, |request| match request.url.trim_start_matches(API_ORIGIN) {
        TIME_PATH => (200, TIME.to_owned()),
        _ => (401, error("50120", "API key doesn't have permission")),
    });
    assert_eq!(page, Err(Error::HistoryPermission { exchange: X }));
    let (page, _) = history_page(None, serving(BILLS_PATH, error("50111", "Invalid OK-ACCESS-KEY")));
    assert_eq!(page, Err(Error::InvalidCredentials { exchange: X }));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_page() {
    let broken = [
        BILLS.replacen(r#""balChg": "-0.8235""#, r#""balChg": "lots""#, 1),
        BILLS.replacen(r#""instId": "ETH-USDT""#, r#""instId": "ETHUSDT""#, 1),
        BILLS.replacen(r#""billId": "623950854533513231""#, r#""billId": "x""#, 1),
        // Both bills of a fill moving the same way.
        BILLS.replacen(r#""balChg": "-0.8235""#, r#""balChg": "0.8235""#, 1),
    ];
    for body in broken {
        let (page, _) = history_page(None, serving(BILLS_PATH, body));
        assert_eq!(page, Err(Error::MalformedResponse { exchange: X }));
    }
    let cursor = serde_json::to_string(&HistoryCursor { source: 2, ..HistoryCursor::default() }).unwrap_or_else(|e| panic!("{e}"));
    let body = WITHDRAWALS.replacen(r#""amt": "0.029809""#, r#""amt": "-1""#, 1);
    let (page, _) = history_page(Some(&cursor), serving(WITHDRAWALS_PATH, body));
    assert_eq!(page, Err(Error::MalformedResponse { exchange: X }));
    assert_eq!(history_page(Some(r#"{"source":3}"#), |_| (200, TIME.to_owned())).0, Err(Error::InvalidInput { field: "cursor" }));
}

fn closes(market: &str, from_day: u64, to_day: u64, answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Result<Vec<DailyClose>>, Vec<HttpRequest>) {
    let flow = Okx.daily_closes(market, from_day, to_day).unwrap_or_else(|| panic!("{market} is a market"));
    testing::run(flow, None, NonceFormat::Salted19, OKX_MS, answer)
}

#[test]
fn daily_closes_come_from_utc_day_candles() {
    // 2023-11-15 is day 19676 (`date -u -d @1700006400`, 1700006400 / 86400).
    let (result, sent) = closes("BTC-USDT", 19_676, 19_678, |_| (200, CANDLES.to_owned()));
    let expected = [(19_676, "35543.8"), (19_677, "37381.2"), (19_678, "36165.5")]
        .map(|(day, close)| DailyClose { day, close: dec(close) });
    assert_eq!(result, Ok(expected.to_vec()));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, format!("https://www.okx.com/api/v5/market/history-candles?instId=BTC-USDT&bar=1Dutc&after={}&limit=100", 19_679 * DAY_MS));
    assert!(sent[0].headers.is_empty(), "candles are public");

    // 100 candles a page, newest first: the next page asks for what is before the oldest.
    let page = |last_day: u64| {
        let rows: Vec<String> = (0..100).map(|n| format!(r#"["{}","1","1","1","2","0","0","0","1"]"#, (last_day - n) * DAY_MS)).collect();
        answer(&rows)
    };
    let (result, sent) = closes("SOL-USDT", 19_500, 19_678, |request| {
        if request.url.contains(&format!("after={}", 19_679 * DAY_MS)) { (200, page(19_678)) } else { (200, page(19_578)) }
    });
    let result = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent[1].url, format!("https://www.okx.com/api/v5/market/history-candles?instId=SOL-USDT&bar=1Dutc&after={}&limit=100", 19_579 * DAY_MS));
    assert_eq!((sent.len(), result.len(), result.first().map(|c| c.day)), (2, 179, Some(19_500)));
}

#[test]
fn only_instruments_reach_a_candles_url() {
    for market in ["BTC", "BTC-USDT&bar=1m", "../x-y", "-USDT", "BTC-", ""] {
        assert!(Okx.daily_closes(market, 1, 2).is_none(), "{market}");
    }
    let (result, _) = closes("BTC-USDT", 19_676, 19_678, |_| (200, CANDLES.replacen("36165.5", "x", 1)));
    assert_eq!(result, Err(Error::MalformedResponse { exchange: X }));
    let (result, sent) = closes("BTC-USDT", 5, 4, |_| (500, String::new()));
    assert_eq!((result, sent.len()), (Ok(Vec::new()), 0));
}

proptest! {
    #[test]
    fn history_never_panics_on_arbitrary_bytes(source in 0usize..3, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let cursor = format!(r#"{{"source":{source}}}"#);
        let text = String::from_utf8_lossy(&body).into_owned();
        let _ = history_page(Some(&cursor), serving("/", text.clone()));
        let _ = closes("BTC-USDT", 1, 400, |_| (200, text.clone()));
    }

    #[test]
    fn history_never_panics_on_okx_shaped_rows(
        source in 0usize..3,
        state in "-?[0-9]{1,2}",
        id in "[0-9a-z]{0,22}",
        amount in "-?[0-9]{0,20}(\\.[0-9]{0,20})?",
        ts in "[0-9]{0,14}",
    ) {
        let row = format!(
            r#"{{"billId":"{id}","type":"2","subType":"{state}","instId":"BTC-USDT","tradeId":"{id}","ordId":"","ccy":"BTC","balChg":"{amount}","fee":"{amount}","ts":"{ts}","depId":"{id}","wdId":"{id}","amt":"{amount}","state":"{state}","feeCcy":""}}"#
        );
        let cursor = format!(r#"{{"source":{source},"floor":[1,1,1]}}"#);
        let _ = history_page(Some(&cursor), serving("/", answer(&[row.clone(), row])));
        let candle = format!(r#"{{"code":"0","data":[["{ts}","1","1","1","{amount}"]]}}"#);
        let _ = closes("BTC-USDT", 1, 400, |_| (200, candle.clone()));
    }
}
