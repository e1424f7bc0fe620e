use proptest::prelude::*;

use super::*;
use crate::{exchange::testing, nonce::NonceFormat};

const X: ExchangeId = ExchangeId::Kucoin;
const SECRET: &str = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3";
const PASSPHRASE: &str = "Passphrase#1";

// Fixtures shaped as the examples of <https://www.kucoin.com/docs-new/>: "Get Server Time",
// "Get Account List - Spot", "Get API Key Info" and "Get All Tickers", with amounts of a made-up
// account holding every kind of account (main, trade, margin, trade_hf).
const TIME: &str = include_str!("../../../tests/fixtures/kucoin/time.json");
const ACCOUNTS: &str = include_str!("../../../tests/fixtures/kucoin/accounts.json");
const API_KEY: &str = include_str!("../../../tests/fixtures/kucoin/api-key.json");
const TICKERS: &str = include_str!("../../../tests/fixtures/kucoin/all-tickers.json");

/// KuCoin's time in `TIME`.
const KUCOIN_MS: u64 = 1_546_837_113_087;

fn credentials() -> Credentials {
    Credentials::new("kucoin-test-key", SECRET)
        .and_then(|credentials| credentials.with_passphrase(PASSPHRASE))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn signed(timestamp: u64, path: &str) -> HttpRequest {
    signed_get(&credentials(), timestamp, path).unwrap_or_else(|e| panic!("{e}"))
}

// KuCoin's documentation shows how the signature is made but publishes no vector with its result.
// These come from two independent implementations, for timestamp 1546837113000, secret SECRET and
// passphrase PASSPHRASE (each path in turn; `accounts` with `{type: "main"}` for the query):
//   kucoin-python 1.0.26 (`pip install kucoin-python`), its clock and session replaced:
//     python3 -c 'import time; from unittest import mock; from kucoin.base_request.base_request
//       import KucoinBaseRestApi as A; a = A("k", "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3",
//       "Passphrase#1"); a.session = type("S", (), {"request": lambda s, m, u, headers, **k:
//       print(u, headers["KC-API-SIGN"], headers["KC-API-PASSPHRASE"])})();
//       mock.patch("time.time", return_value=1546837113.087).start();
//       a._request("GET", "/api/v1/accounts")'
//   ccxt 4.5.84 (bench/node_modules/ccxt), its clock forced:
//     node -e 'import("ccxt").then(({default: c}) => { const x = new c.kucoin({apiKey: "k",
//       secret: "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3", password: "Passphrase#1"});
//       x.milliseconds = () => 1546837113000; const s = x.sign("accounts", "private", "GET", {});
//       console.log(s.url, s.headers["KC-API-SIGN"], s.headers["KC-API-PASSPHRASE"]) })'
// Both print the same values.
#[test]
fn signatures_match_kucoin_python_and_ccxt() {
    let cases = [
        (ACCOUNTS_PATH, "M+NzoB5dywJv8+zJuApRnjimlPmTqu5jaTJstamFF9o="),
        (API_KEY_PATH, "FMqWQCPHhoxx1dPU4aT+ciLzNUJPNKitT/8a2Aq3cpg="),
        ("/api/v1/accounts?type=main", "Bj8i4m3NZngab0V880QE8kIFJBhy/eb36uzxzeSFU3o="),
    ];
    for (path, expected) in cases {
        let request = signed(1_546_837_113_000, path);
        assert_eq!(request.header("KC-API-SIGN"), Some(expected), "{path}");
        assert_eq!(request.header("KC-API-PASSPHRASE"), Some("8IOghgvxokMF7c4OY/2urRR4MjfpbunAZZGQ5d3zXXY="), "{path}");
    }
}

#[test]
fn a_request_carries_every_header_and_the_path_as_signed() {
    let request = signed(1_546_837_113_000, ACCOUNTS_PATH);
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.url, "https://api.kucoin.com/api/v1/accounts");
    assert_eq!(request.header("KC-API-KEY"), Some("kucoin-test-key"));
    assert_eq!(request.header("KC-API-TIMESTAMP"), Some("1546837113000"));
    assert_eq!(request.header("KC-API-KEY-VERSION"), Some("2"));
    assert_eq!(request.body, None);
    assert!(request.headers.iter().all(|(_, value)| !value.contains(PASSPHRASE)), "the passphrase never travels as typed");
    let without = Credentials::new("kucoin-test-key", SECRET).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed_get(&without, 1, ACCOUNTS_PATH), Err(Error::InvalidInput { field: "api_passphrase" }));
}

#[test]
fn the_key_form_asks_for_the_passphrase() {
    assert!(Kucoin.key_form().passphrase);
    assert_eq!(Kucoin.hosts(), ["api.kucoin.com"]);
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
fn holdings_ask_the_time_then_sign_with_it_and_sum_every_account() {
    // Our clock is 10 minutes ahead of KuCoin's: the request carries KuCoin's time.
    let now = KUCOIN_MS + 600_000;
    let answers = [(TIME_PATH, TIME), (ACCOUNTS_PATH, ACCOUNTS)];
    let (result, sent) = testing::run(Kucoin.holdings(), Some(&credentials()), NonceFormat::Salted19, now, answer_from(&answers));
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 2, "the time, then the accounts");
    assert_eq!(sent[0].url, "https://api.kucoin.com/api/v1/timestamp");
    assert!(sent[0].headers.is_empty(), "the time is public");
    assert_eq!(sent[1].header("KC-API-TIMESTAMP"), Some("1546837113087"));
    let expected = [
        // 0.25 main + 0.5 trade (0.1 held).
        Balance { currency: "btc".into(), total: dec("0.75"), available: dec("0.65"), locked: dec("0.1"), earning: Decimal::ZERO },
        // 1250.75 trade + 100 margin (20 held).
        Balance { currency: "usdt".into(), total: dec("1350.75"), available: dec("1330.75"), locked: dec("20"), earning: Decimal::ZERO },
        Balance::available("kcs", dec("12")),
        Balance::available("waxp", dec("300.5")),
    ];
    assert_eq!(balances, expected, "zero balances dropped, assets summed across accounts");
}

#[test]
fn a_stale_available_is_read_as_the_nearest_possible_value() {
    let body = r#"{"code":"200000","data":[{"currency":"BTC","type":"main","balance":"1","available":"2","holds":"0"},
        {"currency":"ETH","type":"trade","balance":"1","available":"-1","holds":"2"}]}"#;
    let expected = vec![
        Balance::available("btc", dec("1")),
        Balance { currency: "eth".into(), total: dec("1"), available: Decimal::ZERO, locked: dec("1"), earning: Decimal::ZERO },
    ];
    assert_eq!(parse_accounts(ok(body)), Ok(expected));
    assert_eq!(parse_accounts(ok(r#"{"code":"200000","data":[]}"#)), Ok(vec![]));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_answer() {
    let malformed = Err(Error::MalformedResponse { exchange: X });
    for body in [
        r#"{"code":"200000","data":[{"currency":"BTC","balance":"x","available":"1"}]}"#,
        r#"{"code":"200000","data":[{"currency":"B-TC","balance":"1","available":"1"}]}"#,
        r#"{"code":"200000","data":[{"balance":"1","available":"1"}]}"#,
        r#"{"code":"200000","data":[{"currency":"BTC","balance":"-1","available":"0"}]}"#,
        r#"{"code":"200000","data":{}}"#,
        r#"{"code":"200000"}"#,
    ] {
        assert_eq!(parse_accounts(ok(body)), malformed, "{body}");
    }
}

#[test]
fn asset_codes_are_kucoin_codes_lowercased_with_ccxts_renames() {
    let cases = [
        ("BTC", Some("btc")),
        ("USDT", Some("usdt")),
        ("KCS", Some("kcs")),
        ("1INCH", Some("1inch")),
        ("WAX", Some("waxp")),
        ("VAI", Some("vaiot")),
        ("BIFI", Some("bifif")),
        ("ALT", Some("aptoslaunchtoken")),
        ("KALT", Some("alt")),
    ];
    for (kucoin, cartera) in cases {
        assert_eq!(cartera_code(kucoin).as_deref(), cartera, "{kucoin}");
    }
    for refused in ["", "BTC-USDT", "US DT", "ÑU", &"A".repeat(21)] {
        assert_eq!(cartera_code(refused), None, "{refused}");
    }
}

#[test]
fn key_scope_comes_from_permission() {
    let with = |permission: &str| API_KEY.replace(r#""permission": "General""#, &format!(r#""permission": "{permission}""#));
    let scope = |permission: &str| parse_api_key(ok(&with(permission))).unwrap_or_else(|e| panic!("{e}"));
    assert!(scope("General").is_read_only());
    assert_eq!(scope("General,Spot"), KeyScope { trade: true, ..KeyScope::default() });
    assert_eq!(scope("General,Margin,Futures"), KeyScope { trade: true, ..KeyScope::default() });
    assert_eq!(scope("General,Transfer"), KeyScope { withdraw: true, ..KeyScope::default() });
    assert_eq!(scope("General,InnerTransfer"), KeyScope { transfer: true, ..KeyScope::default() });
    assert_eq!(
        scope("General,Spot,Transfer,InnerTransfer"),
        KeyScope { trade: true, withdraw: true, transfer: true, ..KeyScope::default() }
    );
    // Fails closed: what Cartera does not know, or a list without General.
    assert_eq!(scope("General,Earn"), KeyScope { other: true, ..KeyScope::default() });
    assert_eq!(scope("Spot"), KeyScope { trade: true, other: true, ..KeyScope::default() });
    assert_eq!(scope(""), KeyScope { other: true, ..KeyScope::default() });
    let no_permission = r#"{"code":"200000","data":{"remark":"x"}}"#;
    assert_eq!(parse_api_key(ok(no_permission)), Err(Error::MalformedResponse { exchange: X }));

    let answers = [(TIME_PATH, TIME), (API_KEY_PATH, API_KEY)];
    let flow = Kucoin.key_scope().unwrap_or_else(|| panic!("KuCoin says what a key may do"));
    let (scope, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Salted19, KUCOIN_MS, answer_from(&answers));
    assert_eq!(scope.map(|scope| scope.is_read_only()), Ok(true));
    assert_eq!(sent.len(), 2);
}

#[test]
fn tickers_keep_markets_with_a_price() {
    let tickers = parse_tickers(ok(TICKERS)).unwrap_or_else(|e| panic!("{e}"));
    let books: Vec<&str> = tickers.iter().map(|ticker| ticker.book.as_str()).collect();
    assert_eq!(books, ["kucoin:BTC-USDT", "kucoin:ETH-BTC", "kucoin:KCS-USDT", "kucoin:WAX-USDT"], "a market without a last price is skipped");
    let btc = &tickers[0];
    assert_eq!((btc.base.as_str(), btc.quote.as_str()), ("btc", "usdt"));
    assert_eq!((btc.last, btc.volume, btc.change_24h), (dec("11328.9"), dec("2282.70993217"), Some(dec("-63.6"))));
    assert_eq!(tickers[2].change_24h, None, "no change reported");
    assert_eq!(tickers[3].base, "waxp");
    let (result, sent) = testing::run(Kucoin.prices(), None, NonceFormat::Salted19, KUCOIN_MS, |_| (200, TICKERS.to_owned()));
    assert_eq!(result.map(|tickers| tickers.len()), Ok(4));
    assert_eq!(sent[0].url, "https://api.kucoin.com/api/v1/market/allTickers");
    assert!(sent[0].headers.is_empty());
}

/// A KuCoin error answer (<https://www.kucoin.com/docs-new/error-code/spot>).
fn error(code: &str, msg: &str) -> String {
    format!(r#"{{"code":"{code}","msg":"{msg}"}}"#)
}

#[test]
fn error_table() {
    use Error as E;
    let unavailable = |status| E::ExchangeUnavailable { exchange: X, status };
    let cases: Vec<(u16, String, Option<u64>, Error)> = vec![
        (401, error("400001", "Please check the header of your request for KC-API-KEY"), None, E::InvalidCredentials { exchange: X }),
        (401, error("400003", "KC-API-KEY not exists"), None, E::InvalidCredentials { exchange: X }),
        (401, error("400005", "Invalid KC-API-SIGN"), None, E::InvalidCredentials { exchange: X }),
        (401, error("400004", "Invalid KC-API-PASSPHRASE"), None, E::ApiPassphraseRejected { exchange: X }),
        (401, error("400002", "Invalid KC-API-TIMESTAMP"), None, E::ClockSkew { exchange: X }),
        (401, error("400007", "Access Denied"), None, E::MissingPermission { exchange: X }),
        (401, error("400006", "The requested ip address is not in the api whitelist"), None, E::IpNotAllowed { exchange: X }),
        (200, error("411100", "User is frozen"), None, E::AccountRestricted { exchange: X }),
        (429, error("429000", "Too Many Requests"), None, E::RateLimited { exchange: X, retry_after_ms: 30_000 }),
        (429, error("429000", "Too Many Requests"), Some(5_000), E::RateLimited { exchange: X, retry_after_ms: 5_000 }),
        (429, error("429000", "Too Many Requests"), Some(86_400_000), E::RateLimited { exchange: X, retry_after_ms: 15 * 60 * 1000 }),
        (429, String::new(), None, E::RateLimited { exchange: X, retry_after_ms: 30_000 }),
        (503, error("503000", "Service unavailable"), None, unavailable(503)),
        (500, error("500000", "Internal Server Error"), None, unavailable(500)),
        (502, "<html>Bad Gateway</html>".to_owned(), None, unavailable(502)),
        (200, "<html></html>".to_owned(), None, E::MalformedResponse { exchange: X }),
        (400, error("400100", "Parameter Error"), None, E::ExchangeRejected { exchange: X, code: "400100".into() }),
        (400, error("<script>", "x"), None, E::ExchangeRejected { exchange: X, code: "unknown".into() }),
        (401, error("200000", ""), None, unavailable(401)),
    ];
    for (status, body, retry_after_ms, expected) in cases {
        let response = HttpResponse { retry_after_ms, ..HttpResponse::new(status, body.as_bytes()) };
        for result in [parse_accounts(response).err(), parse_api_key(response).err(), parse_tickers(response).err(), server_time(response).err()] {
            assert_eq!(result.as_ref(), Some(&expected), "{status} {body}");
        }
    }
}

#[test]
fn a_time_endpoint_that_fails_ends_the_flow_before_anything_is_signed() {
    let (result, sent) =
        testing::run(Kucoin.holdings(), Some(&credentials()), NonceFormat::Salted19, KUCOIN_MS, |_| (503, error("503000", "maintenance")));
    assert_eq!((result, sent.len()), (Err(Error::ExchangeUnavailable { exchange: X, status: 503 }), 1));
}

#[test]
fn no_error_carries_the_body() {
    let body = error("400100", "secret-looking payload kucoin-test-key");
    let shown = format!("{:?}", parse_accounts(HttpResponse::new(400, body.as_bytes())));
    assert!(!shown.contains("payload") && !shown.contains("kucoin-test-key"), "{shown}");
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = parse_accounts(response);
        let _ = parse_api_key(response);
        let _ = parse_tickers(response);
        let _ = server_time(response);
    }

    #[test]
    fn parsers_never_panic_on_kucoin_shaped_answers(code in "[0-9]{1,6}", currency in "[A-Z0-9-]{0,6}", amount in "-?[0-9]{0,30}(\\.[0-9]{0,30})?") {
        let row = format!(r#"{{"currency":"{currency}","balance":"{amount}","available":"{amount}","symbol":"{currency}-USDT","last":"{amount}","changePrice":"{amount}","vol":"{amount}"}}"#);
        for body in [
            format!(r#"{{"code":"{code}","data":[{row}]}}"#),
            format!(r#"{{"code":"{code}","data":{{"permission":"{currency}","ticker":[{row}]}}}}"#),
            format!(r#"{{"code":"{code}","data":{amount}}}"#),
        ] {
            let response = ok(&body);
            let _ = parse_accounts(response);
            let _ = parse_api_key(response);
            let _ = parse_tickers(response);
            let _ = server_time(response);
        }
    }
}
