use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::{
    entropy::testing::CountingEntropy,
    exchange::{Context, Step, adapter, testing},
    nonce::NonceGenerator,
};

const SECRET: &str = "bitfinex_test_secret";
const X: ExchangeId = ExchangeId::Bitfinex;

fn credentials() -> Credentials {
    Credentials::new("test-key", SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

/// 2024-11-11T18:20:00.123Z, in milliseconds: its Micros nonce is 1731349200123000.
const NOW_MS: u64 = 1_731_349_200_123;

fn signature_of(path: &str, nonce: &str) -> String {
    let request = signed_request(&credentials(), nonce, path, EMPTY_BODY).unwrap_or_else(|e| panic!("{e}"));
    request.header("bfx-signature").unwrap_or_else(|| panic!("no signature")).to_owned()
}

/// Vector F1 of shared/reference/exchanges-2.md §3.1/§5 (also exchange-apis.md §8), reproduced
/// there with ccxt's signer (nonce forced) and with Python's hmac.
#[test]
fn signature_matches_reference_vector_f1() {
    assert_eq!(
        signature_of(WALLETS_PATH, "1700000000000000"),
        "1ad794c81bb2e2d181725263bc383c1a1b77506f662bd7ccbb8fd0031f2f62dffe8b13243624c9ceaa6c353c7572bb5c"
    );
}

// Computed with two independent implementations, for MESSAGE = '/api' + path + nonce + '{}':
//   node -e 'console.log(require("node:crypto").createHmac("sha384","bitfinex_test_secret")
//            .update(process.argv[1]).digest("hex"))' "$MESSAGE"
//   python3 -c 'import hmac,hashlib,sys; print(hmac.new(b"bitfinex_test_secret",
//            sys.argv[1].encode(), hashlib.sha384).hexdigest())' "$MESSAGE"
// The nonces are Micros nonces: the first two of a millisecond, and the first of the next one.
#[test]
fn signatures_match_node_crypto_and_python() {
    let cases = [
        (
            WALLETS_PATH,
            "1731349200123000",
            "d9ade96e1e7f3e3a0772e57c77ad24a53c4a96979e2cdb26484199b045b116de5e68e037f5b9d481e26248851182220f",
        ),
        (
            WALLETS_PATH,
            "1731349200123001",
            "6af9a1589d52c8b85b4f6df1b3401b95fc3adba47c65648a6078619d1f0668856706f8f23f521e3bc70339afd3099136",
        ),
        (
            PERMISSIONS_PATH,
            "1731349200123001",
            "50e4792420e90493979f43156b9febc70614a59e4e362ae1b23b594af337ab8fdbbc9dfd2f973172247a1ba0c9b5de16",
        ),
        (
            PERMISSIONS_PATH,
            "1731349200124000",
            "c05810e63daabf66e52a181457a4e671a58ca6a39b498ea2d5f3fd2802b9b666636a81388158c3831d5997dd11e79f66",
        ),
    ];
    for (path, nonce, expected) in cases {
        assert_eq!(signature_of(path, nonce), expected, "{path} {nonce}");
    }
}

// Produced by ccxt 4.5.84's own Bitfinex signer (npm `ccxt`), nonce forced, which agrees with
// the two above:
//   node -e 'const ccxt = require("ccxt");
//     const ex = new ccxt.bitfinex({ apiKey: "test-key", secret: "bitfinex_test_secret" });
//     for (const [n, p] of [["1731349200123000","auth/r/wallets"],["1731349200123001","auth/r/permissions"]]) {
//       ex.nonce = () => n; const s = ex.sign(p, "private", "POST", {});
//       console.log(s.url, s.body, s.headers["bfx-signature"]) }'
#[test]
fn signatures_match_ccxt() {
    let cases = [
        (
            "https://api.bitfinex.com/v2/auth/r/wallets",
            WALLETS_PATH,
            "1731349200123000",
            "d9ade96e1e7f3e3a0772e57c77ad24a53c4a96979e2cdb26484199b045b116de5e68e037f5b9d481e26248851182220f",
        ),
        (
            "https://api.bitfinex.com/v2/auth/r/permissions",
            PERMISSIONS_PATH,
            "1731349200123001",
            "50e4792420e90493979f43156b9febc70614a59e4e362ae1b23b594af337ab8fdbbc9dfd2f973172247a1ba0c9b5de16",
        ),
    ];
    for (url, path, nonce, signature) in cases {
        let request = signed_request(&credentials(), nonce, path, EMPTY_BODY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.url, url);
        assert_eq!(request.body.as_deref(), Some("{}"));
        assert_eq!(request.header("bfx-signature"), Some(signature), "{path}");
    }
}

fn assert_signed_post(request: &HttpRequest, url: &str, nonce: &str, signature: &str) {
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, url);
    assert_eq!(request.body.as_deref(), Some("{}"), "the body is sent exactly as signed");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("bfx-nonce"), Some(nonce));
    assert_eq!(request.header("bfx-apikey"), Some("test-key"));
    assert_eq!(request.header("bfx-signature"), Some(signature));
    assert_eq!(request.headers.len(), 4, "nothing else is sent");
    assert!(!format!("{request:?}").contains(&signature[..12]), "Debug must not print the signature");
}

#[test]
fn wallets_request_is_a_signed_post_with_a_micros_nonce() {
    let request =
        testing::first_request(Bitfinex.holdings(), &credentials(), NonceFormat::Micros, Some(1_731_349_200_122_999), NOW_MS);
    assert_signed_post(
        &request,
        "https://api.bitfinex.com/v2/auth/r/wallets",
        "1731349200123000",
        "d9ade96e1e7f3e3a0772e57c77ad24a53c4a96979e2cdb26484199b045b116de5e68e037f5b9d481e26248851182220f",
    );
}

#[test]
fn permissions_request_is_a_signed_post() {
    // Resuming after the wallets' nonce, within the same millisecond.
    let request = testing::first_request(
        Bitfinex.key_scope().unwrap_or_else(|| panic!("Bitfinex reports key permissions")),
        &credentials(),
        NonceFormat::Micros,
        Some(1_731_349_200_123_000),
        NOW_MS,
    );
    assert_signed_post(
        &request,
        "https://api.bitfinex.com/v2/auth/r/permissions",
        "1731349200123001",
        "50e4792420e90493979f43156b9febc70614a59e4e362ae1b23b594af337ab8fdbbc9dfd2f973172247a1ba0c9b5de16",
    );
}

/// Test connection signs the wallets and then the permissions with one nonce sequence: within
/// one millisecond the second nonce is the first plus one, as Bitfinex requires.
#[test]
fn holdings_then_key_scope_sign_increasing_nonces() {
    let credentials = credentials();
    let mut nonces = NonceGenerator::new(Bitfinex.nonce_format());
    let mut entropy = CountingEntropy::new(1);
    let mut first_request = |mut flow: Box<dyn Flow<Vec<Balance>>>| {
        match flow.step(None, &mut Context::private(NOW_MS, &credentials, &mut nonces, &mut entropy)) {
            Ok(Step::Send(request)) => request,
            other => panic!("expected a request, got {:?}", other.map(|_| ())),
        }
    };
    let wallets = first_request(Bitfinex.holdings());
    let mut scope_flow = Bitfinex.key_scope().unwrap_or_else(|| panic!("Bitfinex reports key permissions"));
    let permissions = match scope_flow.step(None, &mut Context::private(NOW_MS, &credentials, &mut nonces, &mut entropy)) {
        Ok(Step::Send(request)) => request,
        other => panic!("expected a request, got {:?}", other.map(|_| ())),
    };
    assert_eq!(wallets.header("bfx-nonce"), Some("1731349200123000"));
    assert_eq!(permissions.header("bfx-nonce"), Some("1731349200123001"));
    assert_eq!(
        permissions.header("bfx-signature"),
        Some("50e4792420e90493979f43156b9febc70614a59e4e362ae1b23b594af337ab8fdbbc9dfd2f973172247a1ba0c9b5de16")
    );
    assert_eq!(nonces.last().map(|nonce| nonce.value()), Some(1_731_349_200_123_001));
}

#[test]
fn tickers_request_is_one_public_get() {
    let (_, sent) = testing::run(Bitfinex.prices(), None, NonceFormat::Micros, 0, |_| (503, String::new()));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Get);
    assert_eq!(sent[0].url, "https://api-pub.bitfinex.com/v2/tickers?symbols=ALL");
    assert!(sent[0].headers.is_empty());
    assert_eq!(sent[0].body, None);
}

#[test]
fn registered_with_its_hosts_and_nonce_format() {
    let bitfinex = adapter(ExchangeId::Bitfinex);
    assert_eq!(bitfinex.id(), ExchangeId::Bitfinex);
    assert_eq!(ExchangeId::parse("bitfinex"), Some(ExchangeId::Bitfinex));
    assert_eq!(bitfinex.hosts(), ["api.bitfinex.com", "api-pub.bitfinex.com"]);
    assert_eq!(bitfinex.nonce_format(), NonceFormat::Micros);
    // Every URL a flow builds is on a listed host.
    let private = signed_request(&credentials(), "1", WALLETS_PATH, EMPTY_BODY).unwrap_or_else(|e| panic!("{e}"));
    let (_, public) = testing::run(bitfinex.prices(), None, NonceFormat::Micros, 0, |_| (503, String::new()));
    for request in [&private, &public[0]] {
        assert!(bitfinex.hosts().contains(&request.host()), "{}", request.url);
    }
}

/// Every wallet kind and rule: exchange and margin wallets (locked = balance − available),
/// funding (lent out = earning), a null AVAILABLE, derivatives collateral (`USTF0`), the
/// exponent form, paper trading, renamed currencies, a zero balance, unsettled interest.
const WALLETS: &str = r#"[
  ["exchange","BTC",0.5213,0,0.5013,"Exchange 0.02 BTC for USD @ 101500.0 on wallet exchange",null],
  ["exchange","UST",1200.5,0,1200.5,null,null],
  ["exchange","UDC",250,0,null,null,null],
  ["exchange","EUR",100,0,99.5,null,{"reason":"TRADE","order_id":1234567890,"order_cid":1731349200000}],
  ["margin","BTC",0.1,0,0.05,null,null],
  ["margin","USTF0",300.25,0,300.25,null,null],
  ["funding","USD",5000,0.35,1000,"Margin Funding Payment on wallet funding",null],
  ["funding","UST",3.8e-7,0,3.8e-7,null,null],
  ["exchange","TESTBTC",10,0,10,null,null],
  ["exchange","TESTUSD",100000,0,100000,null,null],
  ["exchange","ETH",0,0,0,null,null],
  ["exchange","DSH",2.5,0,2.5,null,null],
  ["exchange","LUNA2",12.34,0,12.34,null,null],
  ["exchange","DOGE",1500,0,1500,null,null]
]"#;

fn summary(balances: &[Balance]) -> Vec<[String; 5]> {
    balances
        .iter()
        .map(|b| {
            [b.currency.clone(), b.total.normalize().to_string(), b.available.normalize().to_string(),
             b.locked.normalize().to_string(), b.earning.normalize().to_string()]
        })
        .collect()
}

#[test]
fn wallets_sum_over_every_wallet_by_the_rules() {
    let balances = parse_wallets(ok(WALLETS)).unwrap_or_else(|e| panic!("{e}"));
    // [asset, total, available, locked, earning]
    let expected = [
        ["btc", "0.6213", "0.5513", "0.07", "0"],
        ["usdt", "1500.75000038", "1500.75000038", "0", "0"],
        ["usdc", "250", "250", "0", "0"],
        ["eur", "100", "99.5", "0.5", "0"],
        ["usd", "5000", "1000", "0", "4000"],
        ["dash", "2.5", "2.5", "0", "0"],
        ["luna", "12.34", "12.34", "0", "0"],
        ["doge", "1500", "1500", "0", "0"],
    ];
    assert_eq!(summary(&balances), expected.map(|row| row.map(str::to_owned)));
    for balance in &balances {
        assert_eq!(balance.total, balance.available + balance.locked + balance.earning, "{}", balance.currency);
    }
}

#[test]
fn available_outside_the_balance_is_read_as_the_nearest_possible_value() {
    let body = r#"[["exchange","BTC",1,0,1.5,null,null],["margin","ETH",2,0,-0.5,null,null],
                   ["margin","USD",-10,0,5,null,null],["funding","EUR",3,0,3,null,null]]"#;
    let balances = parse_wallets(ok(body)).unwrap_or_else(|e| panic!("{e}"));
    // The negative USD margin balance is a debt, not a holding: left out.
    let expected = [
        ["btc", "1", "1", "0", "0"],
        ["eth", "2", "0", "2", "0"],
        ["eur", "3", "3", "0", "0"],
    ];
    assert_eq!(summary(&balances), expected.map(|row| row.map(str::to_owned)));
}

#[test]
fn amounts_as_strings_and_an_empty_account_are_read() {
    let balances = parse_wallets(ok(r#"[["exchange","BTC","0.1",0,"0.1",null,null]]"#)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary(&balances), [["btc", "0.1", "0.1", "0", "0"].map(str::to_owned)]);
    assert_eq!(parse_wallets(ok("[]")), Ok(Vec::new()));
    assert_eq!(parse_wallets(ok(" [ ] ")), Ok(Vec::new()));
}

#[test]
fn sums_beyond_a_decimal_overflow_instead_of_wrapping() {
    let body = r#"[["exchange","BTC",79228162514264337593543950335,0,null,null,null],
                   ["margin","BTC",79228162514264337593543950335,0,null,null,null]]"#;
    assert_eq!(parse_wallets(ok(body)), Err(Error::AmountOverflow { exchange: X }));
}

#[test]
fn currency_codes_follow_the_mapping_table() {
    let cases = [
        ("UST", "usdt"), ("UDC", "usdc"), ("TSD", "tusd"), ("DSH", "dash"), ("IOT", "iota"), ("EUT", "eurt"),
        ("ALG", "algo"), ("AMP", "ampl"), ("ATO", "atom"), ("DAT", "data"), ("MNA", "mana"), ("QTM", "qtum"),
        ("STJ", "storj"), ("XCH", "xchf"), ("WAX", "waxp"), ("TERRAUST", "ustc"), ("LUNA", "lunc"),
        ("LUNA2", "luna"), ("XBT", "btc"), ("BCHN", "bch"), ("EUS", "eurs"), ("IDX", "id"), ("IQX", "iq"),
        ("QSH", "qash"), ("RBT", "rbtc"), ("SNG", "sngls"), ("VSY", "vsys"), ("YYW", "yoyow"), ("ZBT", "zb"),
        // Everything else is lowercased as it is.
        ("BTC", "btc"), ("USD", "usd"), ("EUR", "eur"), ("DOGE", "doge"), ("XAUT", "xaut"), ("HTX", "htx"),
        ("YGG", "ygg"), ("ORS", "ors"),
    ];
    for (bitfinex, cartera) in cases {
        assert_eq!(asset_code(bitfinex), cartera, "{bitfinex}");
    }
    // Derivatives collateral in a wallet is its underlying currency.
    let body = r#"[["margin","USTF0",1,0,1,null,null],["margin","BTCF0",2,0,2,null,null],["margin","EUTF0",3,0,3,null,null]]"#;
    let codes: Vec<String> =
        parse_wallets(ok(body)).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|b| b.currency).collect();
    assert_eq!(codes, ["usdt", "btc", "eurt"]);
}

#[test]
fn error_table() {
    use Error as E;
    struct Case {
        name: &'static str,
        status: u16,
        body: &'static str,
        retry_after_ms: Option<u64>,
        expected: Error,
    }
    let case = |name, status, body, expected| Case { name, status, body, retry_after_ms: None, expected };
    let rejected = |code: &str| E::ExchangeRejected { exchange: X, code: code.to_owned() };
    let unavailable = |status| E::ExchangeUnavailable { exchange: X, status };
    let cases = vec![
        case("10100 unknown key", 500, r#"["error",10100,"apikey: invalid"]"#, E::InvalidCredentials { exchange: X }),
        case("10100 bad signature", 500, r#"["error",10100,"apikey: digest invalid"]"#, E::InvalidCredentials { exchange: X }),
        case("10114 nonce", 500, r#"["error",10114,"nonce: small"]"#, E::NonceRejected { exchange: X }),
        case("10001 permission", 500, r#"["error",10001,"api_key: permission invalid"]"#, E::MissingPermission { exchange: X }),
        case("10001 permission, other casing", 500, r#"["error",10001,"Permission: invalid"]"#, E::MissingPermission { exchange: X }),
        case("10001 other message", 500, r#"["error",10001,"amount: invalid"]"#, rejected("10001")),
        case("10001 without message", 500, r#"["error",10001]"#, rejected("10001")),
        case("10001 null message", 500, r#"["error",10001,null]"#, rejected("10001")),
        case("10001 as a string", 500, r#"["error","10001","api_key: permission invalid"]"#, E::MissingPermission { exchange: X }),
        case("11010 rate limit", 500, r#"["error",11010,"ratelimit: error"]"#, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        Case {
            name: "11010 with Retry-After",
            status: 500,
            body: r#"["error",11010,"ratelimit: error"]"#,
            retry_after_ms: Some(20_000),
            expected: E::RateLimited { exchange: X, retry_after_ms: 20_000 },
        },
        case("ERR_RATE_LIMIT", 429, r#"{"error":"ERR_RATE_LIMIT"}"#, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        case("ERR_RATE_LIMIT in a 200", 200, r#"{"error": "ERR_RATE_LIMIT"}"#, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        Case {
            name: "HTTP 429 with Retry-After",
            status: 429,
            body: "",
            retry_after_ms: Some(12_000),
            expected: E::RateLimited { exchange: X, retry_after_ms: 12_000 },
        },
        case("HTTP 429 HTML", 429, "<html><body>Too Many Requests</body></html>", E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        case("20060 maintenance", 500, r#"["error",20060,"maintenance"]"#, unavailable(500)),
        case(
            "temporarily_unavailable",
            503,
            r#"{"code":503,"error":"temporarily_unavailable","error_description":"Sorry, the service is temporarily unavailable. See https://www.bitfinex.com/ for more info."}"#,
            unavailable(503),
        ),
        case("other code", 500, r#"["error",10020,"symbol: invalid"]"#, rejected("10020")),
        case("code with junk", 500, r#"["error","<script>alert(1)</script>","x"]"#, rejected("unknown")),
        case("negative code", 500, r#"["error",-1,"x"]"#, unavailable(500)),
        case("error without code", 500, r#"["error"]"#, unavailable(500)),
        case("error with null code", 500, r#"["error",null,"x"]"#, unavailable(500)),
        case("error array in a 200", 200, r#"["error",10114,"nonce: small"]"#, E::NonceRejected { exchange: X }),
        case("500 empty", 500, "", unavailable(500)),
        case("502 Cloudflare HTML", 502, "<!DOCTYPE html><title>api.bitfinex.com | 502: Bad gateway</title>", unavailable(502)),
        case("403 Cloudflare HTML", 403, "<!DOCTYPE html><title>Access denied | api.bitfinex.com used Cloudflare</title>", unavailable(403)),
        case("404 plain text", 404, "Not Found", unavailable(404)),
        case("500 JSON object without error", 500, r#"{"message":"Internal error"}"#, unavailable(500)),
        case("500 non-error array", 500, "[1]", unavailable(500)),
        case("200 empty body", 200, "", E::MalformedResponse { exchange: X }),
        case("200 truncated JSON", 200, r#"[["exchange","BTC",0.5"#, E::MalformedResponse { exchange: X }),
        case("200 object", 200, "{}", E::MalformedResponse { exchange: X }),
        case("200 null", 200, "null", E::MalformedResponse { exchange: X }),
        case("200 short row", 200, r#"[["exchange","BTC"]]"#, E::MalformedResponse { exchange: X }),
        case("200 row not an array", 200, r#"[{"currency":"BTC"}]"#, E::MalformedResponse { exchange: X }),
        case("200 currency null", 200, r#"[["exchange",null,1,0,1,null,null]]"#, E::MalformedResponse { exchange: X }),
        case("200 currency with a dash", 200, r#"[["exchange","BT-C",1,0,1,null,null]]"#, E::MalformedResponse { exchange: X }),
        case("200 amount beyond range", 200, r#"[["exchange","BTC",1e400,0,null,null,null]]"#, E::MalformedResponse { exchange: X }),
        case("200 amount with a comma", 200, r#"[["exchange","BTC","1,000",0,null,null,null]]"#, E::MalformedResponse { exchange: X }),
        case("200 available not a number", 200, r#"[["exchange","BTC",1,0,"abc",null,null]]"#, E::MalformedResponse { exchange: X }),
        case("200 wallet type not a string", 200, r#"[[0,"BTC",1,0,1,null,null]]"#, E::MalformedResponse { exchange: X }),
    ];
    for case in cases {
        let response =
            HttpResponse { retry_after_ms: case.retry_after_ms, ..HttpResponse::new(case.status, case.body.as_bytes()) };
        assert_eq!(parse_wallets(response), Err(case.expected.clone()), "wallets: {}", case.name);
        // The same envelope rules hold for every answer.
        if case.status != 200 || !case.body.starts_with("[[") {
            assert_eq!(parse_permissions(response).err(), Some(case.expected.clone()), "permissions: {}", case.name);
        }
    }
}

#[test]
fn non_utf8_bodies_are_unreadable() {
    assert_eq!(
        parse_wallets(HttpResponse::new(500, &[0xff, 0xfe, b'['])),
        Err(Error::ExchangeUnavailable { exchange: X, status: 500 })
    );
    assert_eq!(parse_wallets(HttpResponse::new(200, &[0xff, 0xfe])), Err(Error::MalformedResponse { exchange: X }));
}

#[test]
fn permissions_table() {
    let read_only = r#"[["account",1,0],["history",1,0],["orders",1,0],["positions",1,0],["funding",1,0],
                        ["settings",1,0],["wallets",1,0],["withdraw",0,0],["ui_withdraw",0,0],["bfxpay",0,0]]"#;
    let scope = |body: &str| parse_permissions(ok(body));
    let read_only_scope = scope(read_only).unwrap_or_else(|e| panic!("{e}"));
    assert!(read_only_scope.is_read_only());

    let with = |name: &str| read_only.replace(&format!(r#"["{name}",1,0]"#), &format!(r#"["{name}",1,1]"#))
        .replace(&format!(r#"["{name}",0,0]"#), &format!(r#"["{name}",0,1]"#));
    let trade = KeyScope { trade: true, ..KeyScope::default() };
    let withdraw = KeyScope { withdraw: true, ..KeyScope::default() };
    let transfer = KeyScope { transfer: true, ..KeyScope::default() };
    let cases = [
        ("orders", trade),
        ("positions", trade),
        ("funding", trade),
        ("withdraw", withdraw),
        ("ui_withdraw", withdraw),
        ("wallets", transfer),
        // Writing settings, the account or Bitfinex Pay moves no funds.
        ("settings", KeyScope::default()),
        ("account", KeyScope::default()),
        ("bfxpay", KeyScope::default()),
    ];
    for (name, expected) in cases {
        assert_eq!(scope(&with(name)), Ok(expected), "{name}");
    }
    let everything = r#"[["orders",1,1],["positions",1,1],["funding",1,1],["wallets",1,1],["withdraw",1,1]]"#;
    assert_eq!(scope(everything), Ok(KeyScope { trade: true, withdraw: true, transfer: true, other: false }));
    // Fail closed: an empty or partial list, or a scope Cartera does not know that may write.
    let unknown = Ok(KeyScope { other: true, ..KeyScope::default() });
    assert_eq!(scope("[]"), unknown);
    assert_eq!(scope(&read_only.replace(r#"["withdraw",0,0],"#, "")), unknown);
    assert_eq!(scope(&read_only.replace(r#"["orders",1,0],"#, "")), unknown);
    assert_eq!(scope(&read_only.replace(r#"["bfxpay",0,0]"#, r#"["bfxpay",0,0],["eaas_withdraw",1,1]"#)), unknown);
    assert_eq!(scope(&read_only.replace(r#"["bfxpay",0,0]"#, r#"["bfxpay",0,0],["eaas_withdraw",1,0]"#)), Ok(KeyScope::default()));
    let with_booleans = r#"[["orders",true,false],["wallets",true,false],["withdraw",false,false]]"#;
    assert_eq!(scope(with_booleans), Ok(KeyScope::default()), "booleans are flags too");

    assert_eq!(scope(r#"[["wallets",0,0],["orders",1,0]]"#), Err(Error::MissingPermission { exchange: X }));
    for broken in [r#"[["orders","1",1]]"#, r#"[["orders",1]]"#, r#"[[null,1,1]]"#, r#"[["orders",2,0]]"#, r#"["orders"]"#] {
        assert_eq!(scope(broken), Err(Error::MalformedResponse { exchange: X }), "{broken}");
    }
    assert_eq!(
        parse_permissions(HttpResponse::new(500, br#"["error",10100,"apikey: invalid"]"#)),
        Err(Error::InvalidCredentials { exchange: X })
    );
}

/// Realistic `tickers?symbols=ALL` rows: spot pairs with three-letter and colon ids, Bitfinex's
/// own currency ids, a funding ticker (17 fields), a paper-trading and a derivative pair, and
/// rows Cartera cannot price.
const TICKERS: &str = r#"[
  ["tBTCUSD",101490,12.51984302,101500,9.84201273,-310.75,-0.0031,101500.25,1523.40827391,102800,100200],
  ["tETHUSD",3550,120.5,3550.2,98.1,48.2,0.0138,3550.1,21034.55012,3600,3480],
  ["tUSTUSD",1.0002,2500000,1.0003,1800000,0.0001,0.0001,1.0003,5123456.7,1.0008,0.9995],
  ["tBTCUST",101440,3.2,101460,2.9,-295,-0.0029,101450,330.12,102750,100150],
  ["tBTCEUR",93500,1.5,93520,1.1,120,0.0013,93510,85.3,94000,92800],
  ["tUDCUSD",0.99995,800000,1.0001,750000,0,0,1,912345.5,1.0003,0.9996],
  ["tDOGE:USD",0.32145,150000,0.3216,140000,0.0041,0.0129,0.3216,4567890.1,0.3301,0.3112],
  ["tDSHUSD",41.2,120,41.3,110,-0.8,-0.019,41.25,2345.6,42.5,40.9],
  ["tXAUT:UST",2650.5,10,2651.5,9,3.2,0.0012,2651,123.45,2660,2640],
  ["tSHIB:USD",1.234e-5,1000000000,1.236e-5,900000000,2.1e-7,0.0173,1.235e-5,98000000000,1.25e-5,1.2e-5],
  ["fUSD",0.0002,0.00019,30,1523.4,0.00021,2,50000,-0.00001,-0.05,0.0002,1234567,0.00025,0.00015,null,null,9876543.2],
  ["tTESTBTC:TESTUSD",101490,1,101500,1,0,0,101500,10,101600,101400],
  ["tBTCF0:USTF0",101480,20,101490,18,-300,-0.003,101485,2500.5,102700,100100],
  ["tBTC",1,1,1,1,0,0,1,1,1,1],
  ["tZERUSD",0,1,0,1,0,0,0,1,0,0],
  ["tNULUSD",1,1,1,1,0,0,null,1,1,1],
  ["tXYZUSD",1,2],
  ["tUSTUST",1,1,1,1,0,0,1,1,1,1],
  "tABCUSD",
  ["tNOVUSD",1,1,1,1,null,null,2.5,null,3,2]
]"#;

#[test]
fn tickers_keep_spot_pairs_in_cartera_codes() {
    let tickers = parse_tickers(ok(TICKERS)).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(String, String, String, String, String, Option<String>)> = tickers
        .iter()
        .map(|t| {
            (t.book.clone(), t.base.clone(), t.quote.clone(), t.last.to_string(), t.volume.to_string(),
             t.change_24h.map(|d| d.to_string()))
        })
        .collect();
    let expected = [
        ("bitfinex:tBTCUSD", "btc", "usd", "101500.25", "1523.40827391", Some("-310.75")),
        ("bitfinex:tETHUSD", "eth", "usd", "3550.1", "21034.55012", Some("48.2")),
        ("bitfinex:tUSTUSD", "usdt", "usd", "1.0003", "5123456.7", Some("0.0001")),
        ("bitfinex:tBTCUST", "btc", "usdt", "101450", "330.12", Some("-295")),
        ("bitfinex:tBTCEUR", "btc", "eur", "93510", "85.3", Some("120")),
        ("bitfinex:tUDCUSD", "usdc", "usd", "1", "912345.5", Some("0")),
        ("bitfinex:tDOGE:USD", "doge", "usd", "0.3216", "4567890.1", Some("0.0041")),
        ("bitfinex:tDSHUSD", "dash", "usd", "41.25", "2345.6", Some("-0.8")),
        ("bitfinex:tXAUT:UST", "xaut", "usdt", "2651", "123.45", Some("3.2")),
        ("bitfinex:tSHIB:USD", "shib", "usd", "0.00001235", "98000000000", Some("0.00000021")),
        ("bitfinex:tNOVUSD", "nov", "usd", "2.5", "0", None),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(book, base, quote, last, volume, change)| {
            (book.to_string(), base.to_string(), quote.to_string(), last.to_string(), volume.to_string(),
             change.map(str::to_owned))
        })
        .collect();
    assert_eq!(summary, expected);
    assert!(tickers.iter().all(|t| t.created_at.is_none()));
}

#[test]
fn tickers_errors() {
    assert_eq!(parse_tickers(ok("[]")), Ok(Vec::new()));
    assert_eq!(parse_tickers(ok(r#"{"tBTCUSD":[1]}"#)), Err(Error::MalformedResponse { exchange: X }));
    assert_eq!(
        parse_tickers(HttpResponse::new(429, br#"{"error":"ERR_RATE_LIMIT"}"#)),
        Err(Error::RateLimited { exchange: X, retry_after_ms: 60_000 })
    );
    assert_eq!(
        parse_tickers(HttpResponse::new(500, br#"["error",20060,"maintenance"]"#)),
        Err(Error::ExchangeUnavailable { exchange: X, status: 500 })
    );
    assert_eq!(
        parse_tickers(HttpResponse::new(503, b"Service Unavailable")),
        Err(Error::ExchangeUnavailable { exchange: X, status: 503 })
    );
}

#[test]
fn pairs_split_at_the_colon_or_three_and_three() {
    assert_eq!(split_pair("BTCUSD"), Some(("BTC", "USD")));
    assert_eq!(split_pair("DOGE:USD"), Some(("DOGE", "USD")));
    assert_eq!(split_pair("BTCF0:USTF0"), Some(("BTCF0", "USTF0")));
    for broken in ["BTCUS", "BTCUSDT", "DOGE:", ":USD", "A:B:C", "BTC-US", "BTCUSé", ""] {
        assert_eq!(split_pair(broken), None, "{broken}");
    }
}

#[test]
fn no_error_message_carries_the_body() {
    let body = r#"["error",10100,"apikey: invalid SECRET-PAYLOAD-MARKER"]"#;
    let error = parse_wallets(HttpResponse::new(500, body.as_bytes())).err().unwrap_or(Error::AccountNotFound);
    let view = serde_json::to_string(&crate::error::ErrorView::new(&error, 0)).unwrap_or_default();
    assert!(!format!("{error:?} {error} {view}").contains("SECRET-PAYLOAD-MARKER"));
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = parse_wallets(response);
        let _ = parse_permissions(response);
        let _ = parse_tickers(response);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(status in prop_oneof![Just(200u16), Just(429u16), Just(500u16)], value in arb_json()) {
        let body = value.to_string();
        let response = HttpResponse::new(status, body.as_bytes());
        let _ = parse_wallets(response);
        let _ = parse_permissions(response);
        let _ = parse_tickers(response);
    }

    #[test]
    fn wallet_rows_keep_total_equal_to_its_parts(rows in proptest::collection::vec(arb_wallet_row(), 0..12)) {
        let body = Value::Array(rows).to_string();
        if let Ok(balances) = parse_wallets(ok(&body)) {
            for balance in balances {
                prop_assert_eq!(balance.total, balance.available + balance.locked + balance.earning);
            }
        }
    }
}

/// Leaves that look like Bitfinex's: wallet types, currency ids, symbols, error tags, numbers in
/// every JSON form, nulls.
fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..12).prop_map(|(mantissa, exponent)| {
            serde_json::from_str(&format!("{mantissa}e-{exponent}")).unwrap_or(Value::Null)
        }),
        prop_oneof![
            Just("exchange"), Just("margin"), Just("funding"), Just("error"), Just("BTC"), Just("UST"),
            Just("USTF0"), Just("TESTBTC"), Just("tBTCUSD"), Just("tDOGE:USD"), Just("fUSD"), Just("wallets"),
            Just("orders"), Just("withdraw"), Just("ERR_RATE_LIMIT"),
        ]
        .prop_map(|text| Value::String(text.to_owned())),
        "[a-zA-Z0-9:]{0,10}".prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(3, 96, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![Just("error".to_owned()), Just("code".to_owned()), "[a-z]{1,6}"],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn arb_wallet_row() -> impl Strategy<Value = Value> {
    let amount = prop_oneof![
        Just(Value::Null),
        (-1_000_000_000i64..1_000_000_000, 0u32..9)
            .prop_map(|(mantissa, exponent)| serde_json::from_str(&format!("{mantissa}e-{exponent}")).unwrap_or(Value::Null)),
    ];
    (
        prop_oneof![Just("exchange"), Just("margin"), Just("funding")],
        prop_oneof![Just("BTC"), Just("UST"), Just("USTF0"), Just("USD")],
        amount.clone(),
        amount,
    )
        .prop_map(|(wallet, currency, balance, available)| {
            serde_json::json!([wallet, currency, balance, 0, available, null, null])
        })
}
