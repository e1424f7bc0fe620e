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
