use proptest::prelude::*;

use super::*;
use crate::{exchange::testing, nonce::NonceFormat};

const X: ExchangeId = ExchangeId::MercadoBitcoin;
const KEY_ID: &str = "7f3c9a1e2b4d";
const SECRET: &str = "mb-secret-0123456789abcdef";

// Fixtures shaped as the examples of <https://api.mercadobitcoin.net/api/v4/docs>: "Authorize",
// "List accounts", "List balances", "List symbols" and "List tickers", with amounts of a
// made-up account that has two accounts.
const AUTHORIZE: &str = include_str!("../../../tests/fixtures/mercadobitcoin/authorize.json");
const ACCOUNTS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/accounts.json");
const BALANCES_MAIN: &str = include_str!("../../../tests/fixtures/mercadobitcoin/balances-main.json");
const BALANCES_SECOND: &str = include_str!("../../../tests/fixtures/mercadobitcoin/balances-second.json");
const SYMBOLS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/symbols.json");
const TICKERS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/tickers.json");

/// The token in `AUTHORIZE`.
const TOKEN: &str = "01GF442ATTVP4M6M0XGHQYT544";
const MAIN: &str = "a322205ace882ef800553118e5000066";
const SECOND: &str = "b1f0c7e2d4a94c0e8a1d5e6f70819a2b";

fn credentials() -> Credentials {
    Credentials::new(KEY_ID, SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Answers every request of a refresh as Mercado Bitcoin would, for a key whose token is TOKEN.
fn exchange(request: &HttpRequest) -> testing::Answer {
    let path = request.url.strip_prefix(API_BASE).unwrap_or_else(|| panic!("another host: {}", request.url));
    let body = match path {
        AUTHORIZE_PATH => AUTHORIZE,
        ACCOUNTS_PATH => ACCOUNTS,
        p if p == format!("/accounts/{MAIN}/balances") => BALANCES_MAIN,
        p if p == format!("/accounts/{SECOND}/balances") => BALANCES_SECOND,
        SYMBOLS_PATH => SYMBOLS,
        p if p.starts_with("/tickers?") => TICKERS,
        other => panic!("unexpected path {other}"),
    };
    (200, body.to_owned())
}

fn holdings(answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Result<Vec<Balance>>, Vec<HttpRequest>) {
    testing::run(MercadoBitcoin.holdings(), Some(&credentials()), NonceFormat::Salted19, 1_700_000_000_000, answer)
}

// No request is signed: the secret's only way out is the /authorize body. The body's JSON is
// checked against two independent encoders, for a secret that needs escaping:
//   node -e 'console.log(JSON.stringify({login: "7f3c9a1e2b4d", password: "s3cr\"et\\wörd"}))'
//   python3 -c 'import json; print(json.dumps({"login": "7f3c9a1e2b4d",
//     "password": "s3cr\"et\\wörd"}, separators=(",", ":"), ensure_ascii=False))'
// Both print the body below.
#[test]
fn the_authorize_body_matches_node_and_python() {
    let credentials = Credentials::new(KEY_ID, "s3cr\"et\\wörd").unwrap_or_else(|e| panic!("{e}"));
    let request = authorize_request(&credentials).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://api.mercadobitcoin.net/api/v4/authorize");
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    assert_eq!(request.body.as_deref(), Some(r#"{"login":"7f3c9a1e2b4d","password":"s3cr\"et\\wörd"}"#));
}

#[test]
fn the_secret_goes_only_in_the_authorize_body_to_the_exchange() {
    let (result, sent) = holdings(exchange);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(sent.len(), 4, "authorize, accounts, and each account's balances");
    for (index, request) in sent.iter().enumerate() {
        assert_eq!(request.host(), "api.mercadobitcoin.net");
        let headers: String = request.headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
        assert!(!headers.contains(SECRET), "the secret in a header of request {index}");
        assert!(!request.url.contains(SECRET), "the secret in the URL of request {index}");
        let carries_secret = request.body.as_deref().is_some_and(|body| body.contains(SECRET));
        assert_eq!(carries_secret, index == 0, "request {index}");
    }
    assert!(sent[0].url.ends_with(AUTHORIZE_PATH));
    assert_eq!(sent[0].header("Authorization"), None);
    for request in &sent[1..] {
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.header("Authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(request.body, None);
    }
    // Prices are public: nothing of the key goes there.
    let (prices, sent) = testing::run(MercadoBitcoin.prices(), None, NonceFormat::Salted19, 0, exchange);
    assert!(prices.is_ok(), "{prices:?}");
    assert!(sent.iter().all(|request| request.headers.is_empty() && request.body.is_none()));
}

#[test]
fn the_token_is_not_printed_and_is_dropped_when_the_flow_ends() {
    let token = parse_token(ok(AUTHORIZE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.expose(), TOKEN);
    assert!(!format!("{:?}", bearer_get(&token, ACCOUNTS_PATH)).contains(TOKEN), "a request's Debug hides its headers");
    let mut flow = Holdings { token: Some(token), listed: true, ..Holdings::default() };
    assert!(matches!(flow.next_account(), Ok(Step::Done(_))));
    assert!(flow.token.is_none());
}

#[test]
fn holdings_sum_every_account_one_request_at_a_time() {
    let (result, sent) = testing::run_batches(MercadoBitcoin.holdings(), Some(&credentials()), NonceFormat::Salted19, 0, exchange);
    assert!(sent.iter().all(|batch| batch.len() == 1), "account endpoints are asked one at a time");
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    let expected = [
        Balance { currency: "brl".into(), total: dec("10500"), available: dec("10000"), locked: dec("500"), earning: Decimal::ZERO },
        Balance { currency: "btc".into(), total: dec("0.6"), available: dec("0.59"), locked: dec("0.01"), earning: Decimal::ZERO },
        Balance::available("usdt", dec("250")),
        Balance::available("eth", dec("1.25")),
    ];
    assert_eq!(balances, expected);
}

#[test]
fn no_account_means_no_holdings() {
    let (result, sent) = holdings(|request| {
        if request.url.ends_with(AUTHORIZE_PATH) { (200, AUTHORIZE.to_owned()) } else { (200, "[]".to_owned()) }
    });
    assert_eq!(result, Ok(Vec::new()));
    assert_eq!(sent.len(), 2);
}

#[test]
fn account_ids_that_would_change_the_path_are_refused() {
    for body in [r#"[{"id":"../orders"}]"#, r#"[{"id":"a?b"}]"#, r#"[{"id":""}]"#, r#"[{"name":"x"}]"#, r#"{"id":"a"}"#] {
        assert_eq!(parse_accounts(ok(body)), Err(Error::MalformedResponse { exchange: X }), "{body}");
    }
    assert_eq!(parse_accounts(ok(ACCOUNTS)), Ok(vec![MAIN.to_owned(), SECOND.to_owned()]));
}

#[test]
fn balances_refuse_rows_they_cannot_read() {
    for body in [
        r#"[{"symbol":"BTC","available":"1","on_hold":"0"}]"#,
        r#"[{"symbol":"BTC","available":"x","total":"1"}]"#,
        r#"[{"symbol":"B/TC","available":"1","total":"1"}]"#,
        r#"{"symbol":"BTC"}"#,
    ] {
        assert_eq!(parse_balances(ok(body)), Err(Error::MalformedResponse { exchange: X }), "{body}");
    }
    let stale = parse_balances(ok(r#"[{"symbol":"BTC","available":"2","on_hold":"0","total":"1"}]"#));
    assert_eq!(stale, Ok(vec![Balance::available("btc", dec("1"))]));
}

#[test]
fn symbols_keep_traded_markets_only() {
    let symbols = parse_symbols(ok(SYMBOLS)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(symbols, ["BTC-BRL", "ETH-BRL", "USDT-BRL", "LTC-BRL"]);
    let odd = parse_symbols(ok(r#"{"symbol":["BTC-BRL","a&b-BRL","NOPAIR",1]}"#));
    assert_eq!(odd, Ok(vec!["BTC-BRL".to_owned()]));
    assert_eq!(parse_symbols(ok(r#"{"base-currency":["BTC"]}"#)), Err(Error::MalformedResponse { exchange: X }));
}

#[test]
fn prices_ask_the_symbols_then_every_ticker_at_once() {
    let (result, sent) = testing::run(MercadoBitcoin.prices(), None, NonceFormat::Salted19, 0, exchange);
    let urls: Vec<&str> = sent.iter().map(|request| request.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://api.mercadobitcoin.net/api/v4/symbols",
            "https://api.mercadobitcoin.net/api/v4/tickers?symbols=BTC-BRL,ETH-BRL,USDT-BRL,LTC-BRL",
        ]
    );
    let tickers = result.unwrap_or_else(|e| panic!("{e}"));
    let books: Vec<(&str, &str, &str, Decimal)> =
        tickers.iter().map(|t| (t.book.as_str(), t.base.as_str(), t.quote.as_str(), t.last)).collect();
    assert_eq!(
        books,
        [
            ("mercadobitcoin:BTC-BRL", "btc", "brl", dec("345000")),
            ("mercadobitcoin:ETH-BRL", "eth", "brl", dec("19000")),
            ("mercadobitcoin:USDT-BRL", "usdt", "brl", dec("5.42")),
        ],
        "a market without a positive last price is skipped"
    );
    assert_eq!(tickers[0].volume, dec("125.5"));
    assert_eq!(tickers[0].change_24h, Some(dec("3000")));
    assert_eq!(tickers[2].change_24h, Some(dec("-0.03")));
}

#[test]
fn no_market_means_no_ticker_request() {
    let (result, sent) = testing::run(MercadoBitcoin.prices(), None, NonceFormat::Salted19, 0, |_| (200, r#"{"symbol":[]}"#.to_owned()));
    assert_eq!(result, Ok(Vec::new()));
    assert_eq!(sent.len(), 1);
}

#[test]
fn asset_codes_are_the_symbols_lowercased() {
    let cases = [("BTC", Some("btc")), ("USDT", Some("usdt")), ("BRL", Some("brl")), ("MBCCSH01", Some("mbccsh01")), ("B-TC", None), ("", None)];
    for (symbol, expected) in cases {
        assert_eq!(cartera_code(symbol).as_deref(), expected, "{symbol}");
    }
    assert_eq!(cartera_code(&"A".repeat(21)), None);
}

#[test]
fn the_key_scope_cannot_be_checked() {
    assert!(MercadoBitcoin.key_scope().is_none());
    assert!(!MercadoBitcoin.key_form().passphrase);
}

/// Runs a refresh whose authorize answers `authorize` and whose later requests answer `later`.
fn failing(authorize: testing::Answer, later: testing::Answer) -> Result<Vec<Balance>> {
    holdings(|request| if request.url.ends_with(AUTHORIZE_PATH) { authorize.clone() } else { later.clone() }).0
}

#[test]
fn every_error_kind_is_mapped() {
    let unavailable = |status| Err(Error::ExchangeUnavailable { exchange: X, status });
    let body = |code: &str| format!(r#"{{"code":"{code}","message":"..."}}"#);
    let ok_auth = (200, AUTHORIZE.to_owned());
    let cases: Vec<(testing::Answer, testing::Answer, Result<Vec<Balance>>)> = vec![
        // A wrong key id or secret, whatever the status and code.
        ((401, body("FORBIDDEN")), ok_auth.clone(), Err(Error::InvalidCredentials { exchange: X })),
        ((403, body("FORBIDDEN")), ok_auth.clone(), Err(Error::InvalidCredentials { exchange: X })),
        ((400, body("INVALID_PARAMETER")), ok_auth.clone(), Err(Error::InvalidCredentials { exchange: X })),
        ((403, String::new()), ok_auth.clone(), Err(Error::InvalidCredentials { exchange: X })),
        // A token refused later, a key that may not read.
        (ok_auth.clone(), (401, body("FORBIDDEN")), Err(Error::InvalidCredentials { exchange: X })),
        (ok_auth.clone(), (403, body("INVALID_ACCESS")), Err(Error::MissingPermission { exchange: X })),
        // Rate limits, with a capped wait.
        ((429, String::new()), ok_auth.clone(), Err(Error::RateLimited { exchange: X, retry_after_ms: 2000 })),
        (ok_auth.clone(), (429, body("REQUEST_RATE_EXCEEDED")), Err(Error::RateLimited { exchange: X, retry_after_ms: 2000 })),
        (ok_auth.clone(), (400, body("REQUEST_BLOCKED")), Err(Error::RateLimited { exchange: X, retry_after_ms: 2000 })),
        // Maintenance and outages, at /authorize or later.
        ((503, body("API_UNAVAILABLE")), ok_auth.clone(), unavailable(503)),
        ((502, "<html>Bad gateway</html>".to_owned()), ok_auth.clone(), unavailable(502)),
        (ok_auth.clone(), (500, String::new()), unavailable(500)),
        (ok_auth.clone(), (400, body("API_UNAVAILABLE")), unavailable(400)),
        // Other refusals and malformed answers.
        (ok_auth.clone(), (404, body("NOTFOUND")), Err(Error::ExchangeRejected { exchange: X, code: "NOTFOUND".into() })),
        ((200, "{}".to_owned()), ok_auth.clone(), Err(Error::MalformedResponse { exchange: X })),
        ((200, r#"{"access_token":"a b"}"#.to_owned()), ok_auth.clone(), Err(Error::MalformedResponse { exchange: X })),
        (ok_auth.clone(), (200, "not json".to_owned()), Err(Error::MalformedResponse { exchange: X })),
    ];
    for (authorize, later, expected) in cases {
        let label = format!("{authorize:?} then {later:?}");
        assert_eq!(failing(authorize, later), expected, "{label}");
    }
}

#[test]
fn a_named_wait_is_honoured_up_to_the_cap() {
    let limited = |retry_after_ms| read_body(HttpResponse { retry_after_ms: Some(retry_after_ms), ..HttpResponse::new(429, b"") });
    assert_eq!(limited(5000).err(), Some(Error::RateLimited { exchange: X, retry_after_ms: 5000 }));
    let capped = limited(u64::MAX).err();
    assert!(matches!(capped, Some(Error::RateLimited { retry_after_ms, .. }) if retry_after_ms == crate::error::MAX_RETRY_AFTER_MS));
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let response = HttpResponse::new(status, &bytes);
        let _ = parse_token(response);
        let _ = parse_accounts(response);
        let _ = parse_balances(response);
        let _ = parse_symbols(response);
        let _ = parse_tickers(response);
    }

    #[test]
    fn balances_never_panic_on_arbitrary_amounts(available in "[-0-9.eE]{0,24}", total in "[-0-9.eE]{0,24}") {
        let body = format!(r#"[{{"symbol":"BTC","available":"{available}","on_hold":"0","total":"{total}"}}]"#);
        let _ = parse_balances(ok(&body));
    }
}
