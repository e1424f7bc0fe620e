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
    assert_eq!(token.token().expose(), TOKEN);
    assert!(!format!("{token:?}").contains(TOKEN));
    assert!(!format!("{:?}", bearer_get(token.token(), ACCOUNTS_PATH)).contains(TOKEN), "a request's Debug hides its headers");
    let mut flow = Holdings { token: Some(token.token().clone()), listed: true, ..Holdings::default() };
    assert!(matches!(flow.next_account(), Ok(Step::Done(_))));
    assert!(flow.token.is_none());
}

// The token is kept between conversations with the same key (the engine keeps the session), so
// the secret is sent once per token. AUTHORIZE's token expires at 1666116857 (2022-10-18T18:14:17Z).
const EXPIRES_MS: u64 = 1_666_116_857_000;

/// A holdings conversation at `now_ms`, in `session`; the paths it asked for.
fn holdings_in(session: &mut Option<BearerToken>, now_ms: u64, answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Result<Vec<Balance>>, Vec<String>) {
    let (result, sent) =
        testing::run_in_session(MercadoBitcoin.holdings(), Some(&credentials()), NonceFormat::Salted19, now_ms, Some(session), answer);
    let paths = sent.into_iter().flatten().map(|request| request.url.trim_start_matches(API_BASE).to_owned()).collect();
    (result, paths)
}

fn balances_path(account: &str) -> String {
    format!("/accounts/{account}/balances")
}

#[test]
fn a_token_is_kept_for_the_next_conversations_until_it_nears_its_expiry() {
    let mut session = None;
    let hour_before = EXPIRES_MS - 3_600_000;
    let (result, paths) = holdings_in(&mut session, hour_before, exchange);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(paths, [AUTHORIZE_PATH.to_owned(), ACCOUNTS_PATH.to_owned(), balances_path(MAIN), balances_path(SECOND)]);
    assert!(session.as_ref().is_some_and(|token| token.token().expose() == TOKEN));

    // The next refresh, and the one just before the margin: no authorization, the secret stays home.
    for now in [hour_before + 900_000, EXPIRES_MS - BearerToken::EXPIRY_MARGIN_MS - 1] {
        let (result, paths) = holdings_in(&mut session, now, exchange);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(paths, [ACCOUNTS_PATH.to_owned(), balances_path(MAIN), balances_path(SECOND)], "at {now}");
    }
    // Within two minutes of its expiry it is not used any more: the key is authorized again.
    let (_, paths) = holdings_in(&mut session, EXPIRES_MS - BearerToken::EXPIRY_MARGIN_MS, exchange);
    assert_eq!(paths.first().map(String::as_str), Some(AUTHORIZE_PATH));
}

#[test]
fn a_kept_token_the_exchange_refuses_is_replaced_once() {
    let now = EXPIRES_MS - 3_600_000;
    let stale = || Some(BearerToken::new("stale-token".into(), EXPIRES_MS));
    let refusing = |request: &HttpRequest| {
        if request.header("Authorization") == Some("Bearer stale-token") {
            (401, r#"{"code":"API|FORBIDDEN","message":"Invalid or expired token"}"#.to_owned())
        } else {
            exchange(request)
        }
    };
    let mut session = stale();
    let (result, paths) = holdings_in(&mut session, now, refusing);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(paths, [ACCOUNTS_PATH.to_owned(), AUTHORIZE_PATH.to_owned(), ACCOUNTS_PATH.to_owned(), balances_path(MAIN), balances_path(SECOND)]);
    assert!(session.as_ref().is_some_and(|token| token.token().expose() == TOKEN), "the new token is kept");

    // A key deleted on the exchange's site: the kept token and the key are both refused, once each.
    let mut session = stale();
    let (result, paths) = holdings_in(&mut session, now, |_: &HttpRequest| (401, r#"{"code":"FORBIDDEN","message":"…"}"#.to_owned()));
    assert_eq!(result, Err(Error::InvalidCredentials { exchange: X }));
    assert_eq!(paths, [ACCOUNTS_PATH, AUTHORIZE_PATH]);
    assert!(session.is_none(), "a refused token is forgotten");

    // Any other failure is the exchange's, not the token's: it is not asked for again.
    let mut session = stale();
    let (result, paths) = holdings_in(&mut session, now, |_: &HttpRequest| (503, r#"{"code":"API_UNAVAILABLE","message":"…"}"#.to_owned()));
    assert!(matches!(result, Err(Error::ExchangeUnavailable { .. })), "{result:?}");
    assert_eq!(paths, [ACCOUNTS_PATH]);
}

#[test]
fn a_token_is_kept_no_longer_than_a_day_and_not_at_all_without_an_expiry() {
    let received = EXPIRES_MS - 3_600_000;
    let far = r#"{"access_token":"01GF442ATTVP4M6M0XGHQYT544","expiration":99999999999}"#;
    let token = parse_token(HttpResponse { received_at_ms: received, ..ok(far) }).unwrap_or_else(|e| panic!("{e}"));
    assert!(token.usable_at(received + MAX_TOKEN_LIFE_MS - BearerToken::EXPIRY_MARGIN_MS - 1));
    assert!(!token.usable_at(received + MAX_TOKEN_LIFE_MS - BearerToken::EXPIRY_MARGIN_MS));
    for body in [r#"{"access_token":"01GF442ATTVP4M6M0XGHQYT544"}"#, r#"{"access_token":"01GF442ATTVP4M6M0XGHQYT544","expiration":"soon"}"#] {
        let token = parse_token(HttpResponse { received_at_ms: received, ..ok(body) }).unwrap_or_else(|e| panic!("{e}"));
        assert!(!token.usable_at(received), "{body}");
    }
    // Used for its own conversation, then not kept.
    let mut session = None;
    let (result, _) = holdings_in(&mut session, received, |request: &HttpRequest| {
        if request.url.ends_with(AUTHORIZE_PATH) { (200, r#"{"access_token":"01GF442ATTVP4M6M0XGHQYT544"}"#.to_owned()) } else { exchange(request) }
    });
    assert!(result.is_ok(), "{result:?}");
    assert!(session.is_none());
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
        // The same codes under their domain, as the v4 reference writes them.
        (ok_auth.clone(), (400, body("API|FORBIDDEN")), Err(Error::InvalidCredentials { exchange: X })),
        (ok_auth.clone(), (400, body("API|INVALID_ACCESS")), Err(Error::MissingPermission { exchange: X })),
        (ok_auth.clone(), (400, body("API|REQUEST_RATE_EXCEEDED")), Err(Error::RateLimited { exchange: X, retry_after_ms: 2000 })),
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

// Transaction history: fills, deposits and withdrawals per account and asset; daily closes

mod history_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        exchange::mercadobitcoin::history::{FIRST_SECS, HISTORY_PACE_MS, LOOKBACK_SECS, SPLIT_ORDERS},
        transactions::{Amount, HistoryPage, Kind, Side, Transaction},
    };

    // Fixtures shaped exactly as the response schemas of <https://api.mercadobitcoin.net/api/v4/docs>
    // ("List orders" with its `Execution`s, "List Deposits", "List Fiat Deposits", "List
    // Withdraw Coin", "List Candles"), with amounts of a made-up account.
    const ORDERS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/orders-btc-brl.json");
    const DEPOSITS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/deposits-btc.json");
    const FIAT_DEPOSITS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/fiat-deposits.json");
    const WITHDRAWALS: &str = include_str!("../../../tests/fixtures/mercadobitcoin/withdrawals-btc.json");
    const CANDLES: &str = include_str!("../../../tests/fixtures/mercadobitcoin/candles.json");

    /// The import begins at 2025-07-01T00:00:00Z (`date -u -d 2025-07-01 +%s` → 1751328000).
    const NOW: u64 = 1_751_328_000_000;
    const NOW_SECS: u64 = NOW / 1_000;

    fn leg(asset: &str, amount: &str) -> Option<Amount> {
        Some(Amount { asset: asset.to_owned(), amount: dec(amount) })
    }

    fn page(cursor: Option<&str>, now: u64, answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Result<HistoryPage>, Vec<HttpRequest>) {
        let flow = MercadoBitcoin.history(cursor, &[]).unwrap_or_else(|| panic!("Mercado Bitcoin reads its history"));
        testing::run(flow, Some(&credentials()), NonceFormat::Salted19, now, answer)
    }

    fn done(result: Result<HistoryPage>) -> HistoryPage {
        result.unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn path(request: &HttpRequest) -> &str {
        request.url.strip_prefix(API_BASE).unwrap_or_else(|| panic!("another host: {}", request.url))
    }

    fn param<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
        let query = request.url.split_once('?')?.1;
        query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }

    fn error(status: u16, code: &str) -> testing::Answer {
        (status, format!(r#"{{"code":"{code}","message":"…"}}"#))
    }

    /// The made-up account: BTC fills, deposits and a withdrawal on the main account, reais
    /// deposited; nothing else anywhere.
    fn account(request: &HttpRequest) -> testing::Answer {
        let route = path(request).split('?').next().unwrap_or_default();
        let first = param(request, "page").is_none_or(|page| page == "1");
        let main = |rest: &str| route == format!("/accounts/{MAIN}{rest}");
        let body = match route {
            AUTHORIZE_PATH | ACCOUNTS_PATH => return exchange(request),
            _ if route.ends_with("/balances") => return exchange(request),
            _ if main("/BTC-BRL/orders") => ORDERS,
            _ if main("/wallet/BTC/deposits") && first => DEPOSITS,
            _ if main("/wallet/fiat/BRL/deposits") && first => FIAT_DEPOSITS,
            _ if main("/wallet/BTC/withdraw") && first => WITHDRAWALS,
            _ => "[]",
        };
        (200, body.to_owned())
    }

    /// `answer` for the account requests, the token for /authorize.
    fn with_token(mut answer: impl FnMut(&HttpRequest) -> testing::Answer) -> impl FnMut(&HttpRequest) -> testing::Answer {
        move |request| if path(request) == AUTHORIZE_PATH { exchange(request) } else { answer(request) }
    }

    fn bearer(request: &HttpRequest) -> Option<&str> {
        request.header("Authorization")
    }

    #[test]
    fn a_first_page_authorizes_then_plans_every_account_and_asset() {
        let (result, requests) = page(None, NOW, account);
        let first = done(result);
        let urls: Vec<&str> = requests.iter().map(path).collect();
        assert_eq!(urls, [AUTHORIZE_PATH.to_owned(), ACCOUNTS_PATH.to_owned(), format!("/accounts/{MAIN}/balances"), format!("/accounts/{SECOND}/balances")]);
        assert_eq!(requests[0].body.as_deref(), Some(r#"{"login":"7f3c9a1e2b4d","password":"mb-secret-0123456789abcdef"}"#));
        let token = format!("Bearer {TOKEN}");
        assert!(requests[1..].iter().all(|request| bearer(request) == Some(token.as_str()) && request.method == Method::Get));
        assert!(first.transactions.is_empty());
        assert!(!first.caught_up);
        assert_eq!(first.wait_ms, HISTORY_PACE_MS);
        // The first round reads every asset listed, held or not (LTC's balance is zero).
        let cursor: serde_json::Value = serde_json::from_str(&first.cursor).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cursor["plan"][0]["assets"], serde_json::json!(["BRL", "BTC", "LTC", "USDT"]));
        assert_eq!(cursor["plan"][1]["assets"], serde_json::json!(["ETH", "BTC"]));
        assert_eq!((cursor["from"].as_u64(), cursor["until"].as_u64()), (Some(FIRST_SECS), Some(NOW_SECS)));

        let (_, requests) = page(Some(&first.cursor), NOW, account);
        let urls: Vec<&str> = requests.iter().map(path).collect();
        let range = format!("from={FIRST_SECS}&to={NOW_SECS}");
        assert_eq!(
            urls,
            [
                AUTHORIZE_PATH.to_owned(),
                // Reais trade on no market of their own: their deposits come first.
                format!("/accounts/{MAIN}/wallet/fiat/BRL/deposits?limit=50&page=1&{range}"),
                format!("/accounts/{MAIN}/wallet/BRL/withdraw?page=1&page_size=50&from={FIRST_SECS}"),
                format!("/accounts/{MAIN}/BTC-BRL/orders?has_executions=true&executed_at_from={FIRST_SECS}&executed_at_to={NOW_SECS}"),
            ]
        );
    }

    #[test]
    fn a_page_uses_the_kept_token_and_replaces_a_refused_one() {
        let now = EXPIRES_MS - 3_600_000;
        let flow = || MercadoBitcoin.history(None, &[]).unwrap_or_else(|| panic!("Mercado Bitcoin reads its history"));
        let run = |session: &mut Option<BearerToken>, answer: &mut dyn FnMut(&HttpRequest) -> testing::Answer| {
            let (result, sent) = testing::run_in_session(flow(), Some(&credentials()), NonceFormat::Salted19, now, Some(session), answer);
            (done(result), sent.into_iter().flatten().map(|request| path(&request).to_owned()).collect::<Vec<_>>())
        };
        let mut session = Some(BearerToken::new(TOKEN.into(), EXPIRES_MS));
        let (_, paths) = run(&mut session, &mut account);
        assert_eq!(paths, [ACCOUNTS_PATH.to_owned(), format!("/accounts/{MAIN}/balances"), format!("/accounts/{SECOND}/balances")], "no authorization");

        let mut session = Some(BearerToken::new("stale-token".into(), EXPIRES_MS));
        let mut refusing = |request: &HttpRequest| {
            if bearer(request) == Some("Bearer stale-token") { error(401, "API|FORBIDDEN") } else { account(request) }
        };
        let (page, paths) = run(&mut session, &mut refusing);
        let planned = [ACCOUNTS_PATH.to_owned(), format!("/accounts/{MAIN}/balances"), format!("/accounts/{SECOND}/balances")];
        assert_eq!(paths[..2], [ACCOUNTS_PATH.to_owned(), AUTHORIZE_PATH.to_owned()]);
        assert_eq!(paths[2..], planned, "the page begins again under the new token");
        assert!(!page.caught_up);
        assert!(session.as_ref().is_some_and(|token| token.token().expose() == TOKEN));
    }

    /// Every page of an import from `cursor`, until it is caught up.
    fn import(cursor: Option<String>, now: u64, mut answer: impl FnMut(&HttpRequest) -> testing::Answer) -> (Vec<HistoryPage>, Vec<HttpRequest>) {
        let (mut pages, mut sent, mut cursor) = (Vec::new(), Vec::new(), cursor);
        for _ in 0..100 {
            let (result, requests) = page(cursor.as_deref(), now, &mut answer);
            let page = done(result);
            assert!(requests.len() <= 4, "the token and three account requests at most");
            sent.extend(requests);
            cursor = Some(page.cursor.clone());
            let caught_up = page.caught_up;
            pages.push(page);
            if caught_up {
                return (pages, sent);
            }
        }
        panic!("the import never caught up")
    }

    #[test]
    fn a_first_import_reads_fills_deposits_and_withdrawals() {
        let (pages, sent) = import(None, NOW, account);
        let mut transactions: Vec<Transaction> = pages.iter().flat_map(|page| page.transactions.clone()).collect();
        transactions.sort_by_key(|t| t.at);
        let by_id: BTreeMap<&str, &Transaction> = transactions.iter().map(|t| (t.id.as_str(), t)).collect();
        assert_eq!(by_id.len(), transactions.len(), "ids are unique");
        let trade = |id: &str, at: u64, side: Side, received: Option<Amount>, sent: Option<Amount>, fee: Option<Amount>| Transaction {
            id: id.to_owned(),
            at,
            kind: Kind::Trade,
            side: Some(side),
            received,
            sent,
            fee,
        };
        assert_eq!(
            transactions,
            vec![
                // 1500 reais by PIX, 2025-04-01T07:00:00Z.
                Transaction {
                    id: "fiat-deposit:1234".to_owned(),
                    at: 1_743_490_800_000,
                    kind: Kind::Deposit,
                    side: None,
                    received: leg("brl", "1500"),
                    sent: None,
                    fee: None,
                },
                // A sale cancelled after one execution: 0.002 × 480000 = 960 reais, 0.7% of them kept.
                trade("fill:BTC-BRL:9", 1_746_093_600_000, Side::Sell, leg("brl", "960"), leg("btc", "0.002"), leg("brl", "6.72")),
                Transaction {
                    id: "deposit:BTC:e10e3ea123e99a4ec3999ca5ac2a57e23468e994e1b4ff324fe028bbf83548e5".to_owned(),
                    at: 1_747_994_400_000,
                    kind: Kind::Deposit,
                    side: None,
                    received: leg("btc", "0.05"),
                    sent: None,
                    fee: None,
                },
                // A buy in two executions, each with its own rate, the fee in bitcoin.
                trade("fill:BTC-BRL:16", 1_748_779_200_000, Side::Buy, leg("btc", "0.001"), leg("brl", "500"), leg("btc", "0.000007")),
                trade("fill:BTC-BRL:17", 1_748_779_260_000, Side::Buy, leg("btc", "0.0005"), leg("brl", "250.05"), leg("btc", "0.0000015")),
                Transaction {
                    id: "withdrawal:7".to_owned(),
                    at: 1_749_903_000_000,
                    kind: Kind::Withdrawal,
                    side: None,
                    received: None,
                    sent: leg("btc", "0.0099"),
                    fee: leg("btc", "0.0001"),
                },
            ]
        );
        // The plan, then 4 + 4 assets' tasks less the two reais markets that do not exist.
        let data = sent.iter().filter(|request| path(request) != AUTHORIZE_PATH).count();
        assert_eq!(data, 3 + (4 + 2) * 3 - 1);
        assert_eq!(pages.len(), 1 + (data - 3).div_ceil(3));
        assert!(pages.last().is_some_and(|page| page.wait_ms == 0));
        assert!(pages[..pages.len() - 1].iter().all(|page| page.wait_ms == HISTORY_PACE_MS));
        assert_eq!(pages.last().map(|page| page.read), Some(2 + 2 + 2 + 2));
    }

    #[test]
    fn a_later_sync_reads_from_the_oldest_transfer_under_way() {
        let (pages, _) = import(None, NOW, account);
        let cursor = pages.last().map(|page| page.cursor.clone());
        let later = NOW + 86_400_000;
        let (_, sent) = import(cursor, later, account);
        // The bitcoin deposit still confirming (2025-05-27T10:00:00Z) holds the next round there.
        let pending = 1_748_340_000;
        assert!(pending < NOW_SECS - LOOKBACK_SECS);
        let orders: Vec<&HttpRequest> = sent.iter().filter(|request| path(request).contains("/orders?")).collect();
        assert!(orders.iter().all(|request| param(request, "executed_at_from") == Some("1748340000")), "{orders:?}");
        assert!(orders.iter().all(|request| param(request, "executed_at_to") == Some(&*(later / 1_000).to_string())));
        // LTC, at zero and never traded, is no longer read; the assets held or with history are.
        let routes: Vec<&str> = sent.iter().map(path).collect();
        assert!(!routes.iter().any(|route| route.contains("LTC")), "{routes:?}");
        for asset in ["BTC", "USDT", "ETH"] {
            assert!(routes.iter().any(|route| route.contains(&format!("/wallet/{asset}/withdraw"))), "{asset}");
        }
    }

    #[test]
    fn full_pages_are_followed_and_long_order_lists_are_split() {
        // Ten deposits fill a page: the next one is asked.
        let row = r#"{"amount":"0.1","coin":"BTC","createdAt":1747994400,"status":"2","transaction_id":"TX"}"#;
        let ten = format!("[{}]", (0..10).map(|i| row.replace("TX", &format!("t{i}"))).collect::<Vec<_>>().join(","));
        let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BTC"]}}],"task":1,"from":{FIRST_SECS},"until":{NOW_SECS}}}"#);
        let (result, requests) = page(
            Some(&cursor),
            NOW,
            with_token(|request| match param(request, "page") {
                Some("1") if path(request).contains("/deposits?") => (200, ten.clone()),
                _ => (200, "[]".to_owned()),
            }),
        );
        assert_eq!(done(result).transactions.len(), 10);
        let pages: Vec<Option<&str>> = requests[1..].iter().map(|request| param(request, "page")).collect();
        assert_eq!(pages, [Some("1"), Some("2"), Some("1")], "page 2, then the withdrawals");

        // SPLIT_ORDERS orders in a window: it is read again as two halves, the answer not kept.
        let order = r#"{"instrument":"BTC-BRL","side":"buy","executions":[]}"#;
        let many = format!("[{}]", vec![order; SPLIT_ORDERS].join(","));
        let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BTC"]}}],"from":{FIRST_SECS},"until":{NOW_SECS}}}"#);
        let (result, requests) = page(
            Some(&cursor),
            NOW,
            with_token(|request| {
                let low: u64 = param(request, "executed_at_from").and_then(|v| v.parse().ok()).unwrap_or_default();
                (200, if low == FIRST_SECS { many.clone() } else { "[]".to_owned() })
            }),
        );
        done(result);
        let windows: Vec<(Option<&str>, Option<&str>)> =
            requests[1..].iter().map(|request| (param(request, "executed_at_from"), param(request, "executed_at_to"))).collect();
        let (first, all) = (FIRST_SECS.to_string(), NOW_SECS.to_string());
        let half = FIRST_SECS + (NOW_SECS - FIRST_SECS) / 2;
        let quarter = FIRST_SECS + (half - FIRST_SECS) / 2;
        assert_eq!(
            windows,
            [
                (Some(first.as_str()), Some(all.as_str())),
                (Some(first.as_str()), Some(&*half.to_string())),
                (Some(first.as_str()), Some(&*quarter.to_string())),
            ]
        );
    }

    #[test]
    fn an_asset_without_a_market_or_wallet_is_passed() {
        let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["MBCCSH01"]}}],"from":{FIRST_SECS},"until":{NOW_SECS}}}"#);
        let (result, requests) = page(
            Some(&cursor),
            NOW,
            with_token(|request| match path(request) {
                p if p.contains("/orders?") => error(400, "TRADING|LIST_ORDERS|INVALID_SYMBOL"),
                p if p.contains("/deposits?") => error(400, "WALLET|LIST_DEPOSITS|DEPOSIT_UNAVAILABLE"),
                _ => (200, "[]".to_owned()),
            }),
        );
        let last = done(result);
        assert_eq!(requests.len(), 4);
        assert!(last.caught_up);
        // Any other refusal fails the page.
        let (result, _) = page(Some(&cursor), NOW, with_token(|_| error(400, "TRADING|LIST_ORDERS|INVALID_PARAMETER")));
        assert!(matches!(result, Err(Error::ExchangeRejected { .. })), "{result:?}");
    }

    #[test]
    fn a_key_that_cannot_read_history_says_so() {
        let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BTC"]}}],"from":{FIRST_SECS},"until":{NOW_SECS}}}"#);
        for refusal in [error(403, "INVALID_ACCESS"), error(403, "API|INVALID_ACCESS")] {
            let (result, _) = page(Some(&cursor), NOW, with_token(|_| refusal.clone()));
            assert_eq!(result, Err(Error::HistoryPermission { exchange: X }));
        }
        let (result, _) = page(None, NOW, with_token(|_| error(403, "INVALID_ACCESS")));
        assert_eq!(result, Err(Error::HistoryPermission { exchange: X }));
        let (result, _) = page(None, NOW, |_| error(401, "FORBIDDEN"));
        assert_eq!(result, Err(Error::InvalidCredentials { exchange: X }));
        let (result, _) = page(Some(&cursor), NOW, with_token(|_| error(429, "REQUEST_RATE_EXCEEDED")));
        assert!(matches!(result, Err(Error::RateLimited { .. })), "{result:?}");
    }

    #[test]
    fn rows_that_cannot_be_read_fail_the_page() {
        let cursor = |task: usize| format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BTC"]}}],"task":{task},"from":{FIRST_SECS},"until":{NOW_SECS}}}"#);
        for (task, body) in [
            (0, ORDERS.replace(r#""price": 500000"#, r#""price": "x""#)),
            (0, ORDERS.replace(r#""side": "buy","#, r#""side": "both","#)),
            (0, ORDERS.replace(r#""qty": "0.00100000""#, r#""qty": "-1""#)),
            (1, DEPOSITS.replace(r#""coin": "BTC""#, r#""coin": "B/TC""#)),
            (1, DEPOSITS.replace(r#""createdAt": 1747994400"#, r#""createdAt": "soon""#)),
            (2, WITHDRAWALS.replace(r#""net_quantity": "0.00990000""#, r#""net_quantity": "0""#)),
            (2, "{}".to_owned()),
        ] {
            let (result, _) = page(Some(&cursor(task)), NOW, with_token(|_| (200, body.clone())));
            assert_eq!(result, Err(Error::MalformedResponse { exchange: X }), "{task}: {body}");
        }
        for stored in ["{", r#"{"plan":[{"account":"../x","assets":[]}]}"#, r#"{"known":["btc"]}"#, r#"{"other":1}"#] {
            let (result, requests) = page(Some(stored), NOW, account);
            assert_eq!(result, Err(Error::InvalidInput { field: "cursor" }), "{stored}");
            assert!(requests.is_empty());
        }
    }

    #[test]
    fn daily_closes_come_from_public_daily_candles() {
        // 2025-06-28 is day 20267 (`date -u -d 2025-06-28 +%s` → 1751068800).
        let flow = MercadoBitcoin.daily_closes("BTC-BRL", 20_267, 20_269).unwrap_or_else(|| panic!("Mercado Bitcoin has candles"));
        let (closes, requests) = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, CANDLES.to_owned()));
        let closes = closes.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            closes,
            vec![
                DailyClose { day: 20_267, close: dec("345000") },
                DailyClose { day: 20_268, close: dec("351200.5") },
                DailyClose { day: 20_269, close: dec("349800") },
            ]
        );
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].url, "https://api.mercadobitcoin.net/api/v4/candles?symbol=BTC-BRL&resolution=1d&from=1751068800&to=1751327999");
        assert!(requests[0].headers.is_empty(), "public");

        // Bars that start later than the first day asked: the days before are asked, once.
        let flow = MercadoBitcoin.daily_closes("BTC-BRL", 20_200, 20_269).unwrap_or_else(|| panic!("candles"));
        let (closes, requests) = testing::run(flow, None, NonceFormat::Salted19, NOW, |request| {
            if param(request, "to") == Some("1751327999") { (200, CANDLES.to_owned()) } else { (200, r#"{"t":[],"c":[]}"#.to_owned()) }
        });
        assert_eq!(closes.map(|closes| closes.len()), Ok(3));
        assert_eq!(requests.iter().map(|request| param(request, "to")).collect::<Vec<_>>(), [Some("1751327999"), Some("1751068799")]);

        for market in ["btc-brl", "BTCBRL", "BTC-BRL&x=1", "", "BTC-"] {
            assert!(MercadoBitcoin.daily_closes(market, 0, 1).is_none(), "{market}");
        }
        let flow = MercadoBitcoin.daily_closes("BTC-BRL", 20_267, 20_269).unwrap_or_else(|| panic!("candles"));
        let (result, _) = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, CANDLES.replace("349800.00000000", "x")));
        assert_eq!(result, Err(Error::MalformedResponse { exchange: X }));
    }

    /// JSON made of the members history rows carry.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            "[A-Za-z0-9.-]{0,12}".prop_map(serde_json::Value::String),
            Just(serde_json::Value::from("2")),
            Just(serde_json::Value::from("BTC-BRL")),
        ];
        leaf.prop_recursive(4, 32, 8, |inner| {
            let names = prop_oneof![
                Just("instrument".to_owned()),
                Just("side".to_owned()),
                Just("executions".to_owned()),
                Just("id".to_owned()),
                Just("price".to_owned()),
                Just("qty".to_owned()),
                Just("fee_rate".to_owned()),
                Just("executed_at".to_owned()),
                Just("amount".to_owned()),
                Just("coin".to_owned()),
                Just("status".to_owned()),
                Just("createdAt".to_owned()),
                Just("net_quantity".to_owned()),
                Just("created_at".to_owned()),
                "[a-z]{1,6}".prop_map(|s| s),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(names, inner, 0..8).prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn history_pages_never_panic_on_arbitrary_bytes(task in 0usize..9, status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BRL","BTC","ETH"]}}],"task":{task},"from":1,"until":{NOW_SECS}}}"#);
            let body = String::from_utf8_lossy(&body).into_owned();
            let _ = page(Some(&cursor), NOW, with_token(|_| (status, body.clone())));
            let _ = page(None, NOW, with_token(|_| (status, body.clone())));
        }

        #[test]
        fn history_pages_never_panic_on_row_shaped_json(task in 0usize..9, value in arb_json()) {
            let cursor = format!(r#"{{"plan":[{{"account":"{MAIN}","assets":["BRL","BTC","ETH"]}}],"task":{task},"from":1,"until":{NOW_SECS}}}"#);
            let body = format!("[{value}]");
            let _ = page(Some(&cursor), NOW, with_token(|_| (200, body.clone())));
            let candles = format!(r#"{{"t":[{value}],"c":[{value}]}}"#);
            let flow = MercadoBitcoin.daily_closes("BTC-BRL", 20_267, 20_269).unwrap_or_else(|| panic!("candles"));
            let _ = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, candles.clone()));
        }
    }
}
