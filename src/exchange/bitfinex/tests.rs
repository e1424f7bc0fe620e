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

// ---------------------------------------------------------------------------------------------
// Transaction history: trades, movements and ledger income, paged newest first; daily closes
//
// Fixtures in the shapes of <https://docs.bitfinex.com/reference/rest-auth-trades>,
// <https://docs.bitfinex.com/reference/rest-auth-movements>,
// <https://docs.bitfinex.com/reference/rest-auth-ledgers> and
// <https://docs.bitfinex.com/reference/rest-public-candles>.

mod history_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        exchange::testing::Answer,
        signing::hmac_sha384_hex,
        transactions::{Amount, Kind, Side, Transaction},
    };
    use crate::exchange::bitfinex::history::{HISTORY_PACE_MS, LEDGERS_PATH, MOVEMENTS_PATH, STREAMS, TRADES_PATH};

    /// 2025-07-01T00:00:00.123Z (`date -u -d 2025-07-01 +%s` = 1751328000): after every fixture row.
    const NOW: u64 = 1_751_328_000_123;

    const TRADES: &str = include_str!("../../../tests/fixtures/bitfinex/trades-hist.json");
    const MOVEMENTS: &str = include_str!("../../../tests/fixtures/bitfinex/movements-hist.json");
    const STAKING: &str = include_str!("../../../tests/fixtures/bitfinex/ledgers-staking.json");
    const INTEREST: &str = include_str!("../../../tests/fixtures/bitfinex/ledgers-interest.json");
    const REBATES: &str = include_str!("../../../tests/fixtures/bitfinex/ledgers-rebates.json");
    const PERMISSIONS: &str = include_str!("../../../tests/fixtures/bitfinex/permissions.json");
    const CANDLES: &str = include_str!("../../../tests/fixtures/bitfinex/candles-1d.json");

    /// Where a source's rows keep the time its `start`/`end` filter on.
    fn time_index(source: &str) -> usize {
        match source {
            "trades" => 2,
            "movements" => 6,
            _ => 3,
        }
    }

    fn rows(text: &str) -> Vec<Value> {
        match serde_json::from_str(text) {
            Ok(Value::Array(rows)) => rows,
            other => panic!("not an array of rows: {other:?}"),
        }
    }

    /// A stand-in for Bitfinex's history endpoints, paging as they do: rows whose time is within
    /// `start..=end`, newest first, at most `limit`. Every request's signature is checked.
    struct FakeBitfinex {
        sources: BTreeMap<&'static str, Vec<Value>>,
        permissions: String,
        /// Every request's path and body, in order.
        seen: Vec<(String, String)>,
    }

    impl FakeBitfinex {
        fn new() -> Self {
            let sources = BTreeMap::from([
                ("trades", rows(TRADES)),
                ("movements", rows(MOVEMENTS)),
                ("staking", rows(STAKING)),
                ("interest", rows(INTEREST)),
                ("rebates", rows(REBATES)),
            ]);
            Self { sources, permissions: PERMISSIONS.to_owned(), seen: Vec::new() }
        }

        fn answer(&mut self, request: &HttpRequest) -> Answer {
            let path = request.url.strip_prefix(AUTH_ORIGIN).unwrap_or_else(|| panic!("not signed: {}", request.url));
            let body = request.body.clone().unwrap_or_default();
            let nonce = request.header("bfx-nonce").unwrap_or_default();
            let expected = hmac_sha384_hex(SECRET.as_bytes(), &[b"/api", path.as_bytes(), nonce.as_bytes(), body.as_bytes()]);
            assert_eq!(request.header("bfx-signature"), expected.ok().as_deref(), "signature of {path} {body}");
            assert_eq!(request.header("bfx-apikey"), Some("test-key"));
            self.seen.push((path.to_owned(), body.clone()));
            if path == PERMISSIONS_PATH {
                return (200, self.permissions.clone());
            }
            let query: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
            let number = |name: &str| query.get(name).and_then(Value::as_u64).unwrap_or_else(|| panic!("no {name} in {body}"));
            let source = match (path, query.get("category").and_then(Value::as_u64)) {
                (TRADES_PATH, None) => "trades",
                (MOVEMENTS_PATH, None) => "movements",
                (LEDGERS_PATH, Some(262)) => "staking",
                (LEDGERS_PATH, Some(28)) => "interest",
                (LEDGERS_PATH, Some(241)) => "rebates",
                other => panic!("unexpected request {other:?}"),
            };
            let (start, end, limit) = (number("start"), number("end"), number("limit"));
            let at = time_index(source);
            let time = |row: &Value| row[at].as_u64().unwrap_or_default();
            let mut page: Vec<Value> =
                self.sources[source].iter().filter(|row| (start..=end).contains(&time(row))).cloned().collect();
            page.sort_by(|a, b| time(b).cmp(&time(a)).then_with(|| b[0].as_u64().cmp(&a[0].as_u64())));
            page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            (200, Value::Array(page).to_string())
        }

        /// One page from `cursor`, at `now_ms`.
        fn page(&mut self, cursor: Option<&str>, now_ms: u64) -> (Result<HistoryPage>, usize) {
            let flow = Bitfinex.history(cursor, &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
            let (page, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, now_ms, |request| self.answer(request));
            (page, sent.len())
        }

        /// Pages from `cursor` until caught up: every transaction, the last cursor, and how many
        /// pages and requests it took.
        fn import(&mut self, cursor: Option<&str>, now_ms: u64) -> (Vec<Transaction>, String, usize, usize) {
            let mut cursor = cursor.map(str::to_owned);
            let (mut transactions, mut pages, mut requests) = (Vec::new(), 0, 0);
            loop {
                let (page, sent) = self.page(cursor.as_deref(), now_ms);
                let page = page.unwrap_or_else(|e| panic!("{e:?}"));
                assert!(page.transactions.iter().all(|t| t.check().is_ok()), "{:?}", page.transactions);
                assert_eq!(page.wait_ms, if page.caught_up { 0 } else { HISTORY_PACE_MS });
                transactions.extend(page.transactions);
                cursor = Some(page.cursor);
                pages += 1;
                requests += sent;
                if page.caught_up {
                    return (transactions, cursor.unwrap_or_default(), pages, requests);
                }
                assert!(pages < 50, "the import never catches up");
            }
        }
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn leg(asset: &str, amount: &str) -> Option<Amount> {
        Some(Amount { asset: asset.to_owned(), amount: dec(amount) })
    }

    fn tx(id: &str, at: u64, kind: Kind, side: Option<Side>, legs: [Option<Amount>; 3]) -> Transaction {
        let [received, sent, fee] = legs;
        Transaction { id: id.to_owned(), at, kind, side, received, sent, fee }
    }

    fn ids(transactions: &[Transaction]) -> Vec<&str> {
        transactions.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn a_first_import_reads_every_kind_from_its_source() {
        let mut bitfinex = FakeBitfinex::new();
        let (transactions, cursor, pages, requests) = bitfinex.import(None, NOW);
        // The permission check, then one request per source: nothing here fills a page.
        assert_eq!((pages, requests), (5, 6));
        let buy = Some(Side::Buy);
        let sell = Some(Side::Sell);
        assert_eq!(
            transactions,
            [
                // Trades, oldest first. 2025-01-10T18:00:00Z: a fill Bitfinex reports without
                // an order type is a spot trade; 2 × 105.5 USD.
                tx("trade:1408000000", 1_736_532_000_000, Kind::Trade, buy, [leg("ltc", "2"), leg("usd", "211.0"), leg("ltc", "0.004")]),
                // 2025-01-15T09:00:00Z: UST is Tether's USDt; the fee in the bought BTC.
                tx("trade:1408000001", 1_736_931_600_000, Kind::Trade, buy, [leg("btc", "0.05"), leg("usdt", "4750"), leg("btc", "0.0001")]),
                // 2025-02-01T08:00:00Z.
                tx("trade:1408000002", 1_738_396_800_000, Kind::Trade, buy, [leg("eth", "1.5"), leg("btc", "0.0465"), leg("eth", "0.003")]),
                // 2025-03-10T12:30:00Z, a maker sale. The margin fill 250 ms later and the
                // perpetual (tBTCF0:USTF0) are skipped.
                tx("trade:1408000003", 1_741_609_800_000, Kind::Trade, sell, [leg("usd", "1640"), leg("btc", "0.02"), leg("usd", "1.312")]),
                // 2025-04-02T10:15:00Z: a positive FEE is a maker rebate, income of its own.
                tx("trade:1408000006", 1_743_588_900_000, Kind::Trade, sell, [leg("usd", "850"), leg("doge", "5000"), None]),
                tx("trade:1408000006:rebate", 1_743_588_900_000, Kind::Reward, None, [leg("usd", "0.5"), None, None]),
                // Movements: COMPLETED only, at MTS_UPDATED (2025-01-02T03:04:05Z,
                // 2025-04-02T10:15:00Z); the pending and the cancelled one are skipped.
                tx("movement:23000001", 1_735_787_045_000, Kind::Deposit, None, [leg("btc", "0.1"), None, None]),
                tx("movement:23000003", 1_743_588_900_000, Kind::Withdrawal, None, [None, leg("usdt", "500"), leg("usdt", "1")]),
                // Staking payments (2025-05-06, 2025-06-01).
                tx("ledger:9100000001", 1_746_489_600_000, Kind::Reward, None, [leg("dot", "0.0123"), None, None]),
                tx("ledger:9100000002", 1_748_736_000_000, Kind::Reward, None, [leg("dot", "0.0123"), None, None]),
                // Margin funding interest (2025-03-01T16:00:00Z: WALLET null, named in the
                // description; 2025-06-02).
                tx("ledger:9200000002", 1_740_844_800_000, Kind::Reward, None, [leg("usdt", "0.5"), None, None]),
                tx("ledger:9200000003", 1_748_822_400_000, Kind::Reward, None, [leg("usd", "1.23456789"), None, None]),
                // An affiliate rebate (2025-03-01T00:00:00Z).
                tx("ledger:9300000001", 1_740_787_200_000, Kind::Reward, None, [leg("usd", "0.42"), None, None]),
            ]
        );
        // Each source starts its next round at its newest row (the pending movement included:
        // it is read again once it changes).
        assert_eq!(
            cursor,
            concat!(
                r#"{"stream":0,"seen":{"interest":{"mts":1748822400000,"ids":["9200000003"]},"#,
                r#""movements":{"mts":1746453600000,"ids":["23000004"]},"#,
                r#""rebates":{"mts":1740787200000,"ids":["9300000001"]},"#,
                r#""staking":{"mts":1748736000000,"ids":["9100000002"]},"#,
                r#""trades":{"mts":1743588900000,"ids":["1408000006"]}},"read":16}"#
            )
        );
        let bodies: Vec<&str> = bitfinex.seen.iter().map(|(_, body)| body.as_str()).collect();
        assert_eq!(
            bodies,
            [
                "{}",
                r#"{"sort":-1,"start":0,"end":1751328000123,"limit":2500}"#,
                r#"{"start":0,"end":1751328000123,"limit":1000}"#,
                r#"{"category":262,"start":0,"end":1751328000123,"limit":2500}"#,
                r#"{"category":28,"wallet":"funding","start":0,"end":1751328000123,"limit":2500}"#,
                r#"{"category":241,"start":0,"end":1751328000123,"limit":2500}"#,
            ]
        );
    }

    #[test]
    fn history_requests_are_signed_posts_over_their_bodies() {
        let mut bitfinex = FakeBitfinex::new();
        let flow = Bitfinex.history(None, &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
        let (_, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |request| bitfinex.answer(request));
        assert_eq!(sent.len(), 2);
        assert_signed_post(
            &sent[0],
            "https://api.bitfinex.com/v2/auth/r/permissions",
            "1751328000123000",
            // Python: hmac.new(b"bitfinex_test_secret", b"/api/v2/auth/r/permissions1751328000123000{}", sha384).
            "0e1d39f08d2e0e6b55e20778a5c4b1637ca31e5404dfe848613ef504e4a59fc35418e45bd336fcfaee1020c46c400274",
        );
        let trades = &sent[1];
        assert_eq!((trades.method, trades.url.as_str()), (Method::Post, "https://api.bitfinex.com/v2/auth/r/trades/hist"));
        assert_eq!(trades.body.as_deref(), Some(r#"{"sort":-1,"start":0,"end":1751328000123,"limit":2500}"#));
        assert_eq!(trades.header("bfx-nonce"), Some("1751328000123001"), "nonces increase within the page");
        // Python: hmac.new(secret, b'/api/v2/auth/r/trades/hist1751328000123001{"sort":-1,…}', sha384).
        assert_eq!(
            trades.header("bfx-signature"),
            Some("4b795575bd57b83d1cf07a8f07bf3e8f3602490c5fe1313536ab0079dc6a23de258d3a5a602dc6d13fd842da096a00bf")
        );
        assert_eq!(trades.header("content-type"), Some("application/json"));
    }

    #[test]
    fn an_incremental_sync_starts_where_each_source_stopped() {
        let mut bitfinex = FakeBitfinex::new();
        let (_, cursor, _, _) = bitfinex.import(None, NOW);
        bitfinex.seen.clear();
        // Nothing new: the rows at each start are known, and nothing is counted twice.
        let later = NOW + 86_400_000;
        let (transactions, unchanged, pages, requests) = bitfinex.import(Some(&cursor), later);
        assert!(transactions.is_empty(), "{transactions:?}");
        assert_eq!((pages, requests), (5, 6));
        assert_eq!(unchanged, cursor);
        assert_eq!(bitfinex.seen[1].1, r#"{"sort":-1,"start":1743588900000,"end":1751414400123,"limit":2500}"#);
        assert_eq!(bitfinex.seen[2].1, r#"{"start":1746453600000,"end":1751414400123,"limit":1000}"#);

        // A fill in the same millisecond as the newest one read, and the pending withdrawal
        // completed (its MTS_UPDATED moves on; 2025-05-05T15:00:00Z).
        let trades = bitfinex.sources.entry("trades").or_default();
        trades.push(serde_json::json!([1408000007u64, "tBTCUSD", 1_743_588_900_000u64, 190000000007u64, 0.001, 84000, "EXCHANGE MARKET", null, -1, -0.000002, "BTC", 1]));
        let movements = bitfinex.sources.entry("movements").or_default();
        movements[0][6] = Value::from(1_746_457_200_000u64);
        movements[0][9] = Value::from("COMPLETED");
        let (transactions, cursor, _, _) = bitfinex.import(Some(&cursor), later);
        assert_eq!(ids(&transactions), ["trade:1408000007", "movement:23000004"]);
        assert_eq!(transactions[1].sent, leg("btc", "0.05"));
        assert!(cursor.contains(r#""trades":{"mts":1743588900000,"ids":["1408000006","1408000007"]}"#), "{cursor}");
        assert!(cursor.contains(r#""movements":{"mts":1746457200000,"ids":["23000004"]}"#), "{cursor}");
        assert!(cursor.contains(r#""read":18"#), "{cursor}");
    }

    /// 2,600 fills, five of them in the millisecond where the first page of 2,500 ends.
    fn many_fills() -> Vec<Value> {
        (0..2_600u64)
            .map(|i| {
                // Newest first, rows 2,497..=2,501 (ids 1000098..=1000102) share one millisecond.
                let second = if (98..=102).contains(&i) { 102 } else { i };
                let mts = 1_700_000_000_000 + second * 1_000;
                serde_json::json!([1_000_000 + i, "tBTCUSD", mts, 5_000_000 + i, 0.001, 40000, "EXCHANGE LIMIT", 40000, 1, -0.032, "USD", 1])
            })
            .collect()
    }

    #[test]
    fn a_full_page_moves_the_end_back_without_losing_or_repeating_rows() {
        let mut bitfinex = FakeBitfinex::new();
        let fills = many_fills();
        // The page boundary falls inside the shared millisecond.
        let times: Vec<u64> = fills.iter().map(|row| row[2].as_u64().unwrap_or_default()).collect();
        let mut sorted = times.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!((sorted[2_497], sorted[2_499], sorted[2_501]), (1_700_000_102_000, 1_700_000_102_000, 1_700_000_102_000));
        assert_ne!(sorted[2_496], 1_700_000_102_000);
        bitfinex.sources.insert("trades", fills);

        let (page, _) = bitfinex.page(None, NOW);
        let page = page.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!page.caught_up);
        assert_eq!((page.transactions.len(), page.read, page.wait_ms), (2_500, 2_500, HISTORY_PACE_MS));
        let cursor: Value = serde_json::from_str(&page.cursor).unwrap_or_default();
        assert_eq!(cursor["stream"], 0, "still on trades");
        assert_eq!(cursor["sweep"]["end"]["mts"], 1_700_000_102_000u64);
        assert_eq!(cursor["sweep"]["end"]["ids"].as_array().map(Vec::len), Some(3), "the rows read in that millisecond");
        assert_eq!(cursor["sweep"]["newest"]["mts"], 1_700_002_599_000u64);

        // The second page asks up to that millisecond, inclusive, without a permission check.
        bitfinex.seen.clear();
        let (second, requests) = bitfinex.page(Some(&page.cursor), NOW);
        let second = second.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(requests, 1);
        assert_eq!(bitfinex.seen[0].1, r#"{"sort":-1,"start":0,"end":1700000102000,"limit":2500}"#);
        assert_eq!((second.transactions.len(), second.read), (100, 2_600));

        // The whole import: every fill exactly once.
        let mut bitfinex = FakeBitfinex::new();
        bitfinex.sources.insert("trades", many_fills());
        let (transactions, _, pages, requests) = bitfinex.import(None, NOW);
        let trades: std::collections::BTreeSet<&str> =
            transactions.iter().filter(|t| t.kind == Kind::Trade).map(|t| t.id.as_str()).collect();
        assert_eq!((trades.len(), transactions.iter().filter(|t| t.kind == Kind::Trade).count()), (2_600, 2_600));
        assert_eq!((pages, requests), (6, 7));
    }

    #[test]
    fn rows_that_arrive_during_an_import_are_read_by_the_next_sync() {
        let mut bitfinex = FakeBitfinex::new();
        bitfinex.sources.insert("trades", many_fills());
        let (page, _) = bitfinex.page(None, NOW);
        let mut cursor = page.map(|page| page.cursor).unwrap_or_else(|e| panic!("{e:?}"));
        // A fill after the round began (its `end`), while the older pages are still being read.
        let new_fill = serde_json::json!([9_999_999u64, "tBTCUSD", NOW + 5_000, 1u64, -0.5, 90000, "EXCHANGE MARKET", null, -1, -9, "USD", 1]);
        bitfinex.sources.entry("trades").or_default().push(new_fill);
        let (rest, last, _, _) = bitfinex.import(Some(&cursor), NOW + 10_000);
        assert!(!ids(&rest).contains(&"trade:9999999"), "beyond this round's end");
        cursor = last;
        let (next, _, _, _) = bitfinex.import(Some(&cursor), NOW + 60_000);
        assert_eq!(ids(&next), ["trade:9999999"]);
    }

    #[test]
    fn a_key_without_account_history_says_so() {
        let mut bitfinex = FakeBitfinex::new();
        bitfinex.permissions =
            r#"[["account",0,0],["history",0,0],["orders",0,0],["wallets",1,0],["withdraw",0,0]]"#.to_owned();
        let (page, requests) = bitfinex.page(None, NOW);
        assert_eq!(page, Err(Error::HistoryPermission { exchange: X }));
        assert_eq!(requests, 1, "nothing is asked of the history endpoints");

        // Mid-import (no permission check), a history endpoint refusing the key.
        let mid_import = r#"{"stream":1,"read":3}"#;
        for body in [r#"["error",10001,"api_key: permission invalid"]"#, r#"["error",10100,"apikey: invalid permission"]"#] {
            let flow = Bitfinex.history(Some(mid_import), &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
            let (page, _) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| (500, body.to_owned()));
            assert_eq!(page, Err(Error::HistoryPermission { exchange: X }), "{body}");
        }
        // Other errors are what they are for balances.
        let flow = Bitfinex.history(None, &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
        let (page, _) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| {
            (500, r#"["error",10100,"apikey: invalid"]"#.to_owned())
        });
        assert_eq!(page, Err(Error::InvalidCredentials { exchange: X }));
        let flow = Bitfinex.history(Some(mid_import), &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
        let (page, _) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| {
            (429, r#"{"error":"ERR_RATE_LIMIT"}"#.to_owned())
        });
        assert!(matches!(page, Err(Error::RateLimited { .. })), "{page:?}");
    }

    /// The answer to the first data request of `stream`, mid-import.
    fn read_stream(stream: usize, body: &str) -> Result<HistoryPage> {
        let cursor = format!(r#"{{"stream":{stream},"sweep":{{"end":{{"mts":{NOW}}}}}}}"#);
        let flow = Bitfinex.history(Some(&cursor), &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
        testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| (200, body.to_owned())).0
    }

    #[test]
    fn a_row_that_cannot_be_read_fails_the_page() {
        let malformed = Err(Error::MalformedResponse { exchange: X });
        for (stream, row) in [
            (0, r#"[1,"tBTCUSD",1700000000000,2,0.1,"x","EXCHANGE LIMIT",null,1,-0.1,"USD"]"#),
            (0, r#"[1,"tBTCUSD",1700000000000,2,0.1,0,"EXCHANGE LIMIT",null,1,-0.1,"USD"]"#),
            (0, r#"[1,"tBTC/USD",1700000000000,2,0.1,40000,"EXCHANGE LIMIT",null,1,-0.1,"USD"]"#),
            (0, r#"[1,"tBTCUSD",1700000000000,2,0.1,40000,"EXCHANGE LIMIT",null,1,-0.1,null]"#),
            (0, r#"[1,"tBTCUSD",1700000000000,2,0.1,40000,"EXCHANGE LIMIT"]"#),
            (0, r#"[-1,"tBTCUSD",1700000000000,2,0.1,40000,"EXCHANGE LIMIT",null,1,-0.1,"USD"]"#),
            (1, r#"[1,"BTC","BITCOIN",null,null,1,"soon",null,null,"COMPLETED",null,null,0.1,0]"#),
            (1, r#"[1,"B C","BITCOIN",null,null,1,2,null,null,"COMPLETED",null,null,0.1,0]"#),
            (2, r#"[1,"DOT","exchange",1700000000000,null,"lots",1,null,"Staking Payment"]"#),
            (3, r#"[1,"USD","funding",-5,null,1,1,null,"Margin Funding Payment"]"#),
            (4, r#"{"id":1}"#),
        ] {
            assert_eq!(read_stream(stream, &format!("[{row}]")), malformed, "{row}");
        }
        // Not an array of rows at all.
        assert_eq!(read_stream(0, r#"{"rows":[]}"#), malformed);
    }

    #[test]
    fn rows_that_move_nothing_are_skipped_but_counted() {
        // A swap payment in the margin wallet, a zero interest row and paper-trading funds.
        let body = r#"[[3,"USD","margin",1700000000300,null,-0.75,99,null,"Swap Payment on wallet margin"],
                       [2,"USD","funding",1700000000200,null,0,99,null,"Margin Funding Payment on wallet funding"],
                       [1,"TESTUSD","funding",1700000000100,null,5,5,null,"Margin Funding Payment on wallet funding"]]"#;
        let page = read_stream(3, body).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(page.transactions.is_empty(), "{:?}", page.transactions);
        assert_eq!(page.read, 3);
        // A debit in an income category is a fee.
        let page = read_stream(2, r#"[[1,"DOT","exchange",1700000000000,null,-0.01,9,null,"Staking fee"]]"#);
        let page = page.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.transactions, [tx("ledger:1", 1_700_000_000_000, Kind::Fee, None, [None, None, leg("dot", "0.01")])]);
    }

    #[test]
    fn a_cursor_this_version_did_not_write_is_refused() {
        for cursor in [
            "not json",
            r#"{"stream":5}"#,
            r#"{"stream":0,"seen":{"orders":{"mts":1}}}"#,
            r#"{"stream":0,"seen":{"trades":{"mts":1,"ids":["a b"]}}}"#,
            r#"{"stream":0,"extra":1}"#,
        ] {
            let flow = Bitfinex.history(Some(cursor), &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
            let (page, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| (200, "[]".to_owned()));
            assert_eq!(page, Err(Error::InvalidInput { field: "cursor" }), "{cursor}");
            assert!(sent.is_empty());
        }
        assert_eq!(STREAMS.len(), 5);
    }

    #[test]
    fn daily_closes_come_from_public_candles_oldest_first() {
        // 2025-01-01 is day 20089 (`date -u -d 2025-01-01 +%s` = 1735689600).
        let flow = Bitfinex.daily_closes("tBTCUSD", 20_089, 20_089 + 1_200).unwrap_or_else(|| panic!("Bitfinex has candles"));
        let (closes, sent) = testing::run(flow, None, NonceFormat::Micros, 0, |_| (200, CANDLES.to_owned()));
        let closes = closes.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(sent.len(), 2, "1,000 days a request");
        assert_eq!(
            sent[0].url,
            "https://api-pub.bitfinex.com/v2/candles/trade:1D:tBTCUSD/hist?start=1735689600000&end=1822089599999&limit=1000&sort=1"
        );
        // Day 21089 (2027-09-28) to day 21289.
        assert_eq!(
            sent[1].url,
            "https://api-pub.bitfinex.com/v2/candles/trade:1D:tBTCUSD/hist?start=1822089600000&end=1839455999999&limit=1000&sort=1"
        );
        assert!(sent.iter().all(|request| request.method == Method::Get && request.headers.is_empty()), "public");
        assert_eq!(closes.len(), 6);
        assert_eq!(closes[..3], [
            DailyClose { day: 20_089, close: dec("94419") },
            DailyClose { day: 20_090, close: dec("96886") },
            DailyClose { day: 20_091, close: dec("98107") },
        ]);
        // Pairs with a colon reach the URL as Bitfinex names them; nothing else does.
        assert!(Bitfinex.daily_closes("tDOGE:USD", 0, 1).is_some());
        for market in ["BTCUSD", "tBTC/USD", "tBTCUSD&x=1", "t", "tBTCUSD?", "fUSD", "tBTC:US D", "tBTCUSDT"] {
            assert!(Bitfinex.daily_closes(market, 0, 1).is_none(), "{market}");
        }
    }

    #[test]
    fn candles_keep_positive_closes_and_fail_on_rows_that_cannot_be_read() {
        let run = |body: &'static str| {
            let flow = Bitfinex.daily_closes("tBTCUSD", 20_089, 20_090).unwrap_or_else(|| panic!("Bitfinex has candles"));
            testing::run(flow, None, NonceFormat::Micros, 0, |_| (200, body.to_owned())).0
        };
        assert_eq!(run(r#"[[1735689600000,1,0,1,1,1],[1735776000000,1,2.5,1,1,1]]"#), Ok(vec![DailyClose { day: 20_090, close: dec("2.5") }]));
        assert_eq!(run(r#"[[1735689600000,1,"x",1,1,1]]"#), Err(Error::MalformedResponse { exchange: X }));
        assert_eq!(run("[]"), Ok(Vec::new()));
        let flow = Bitfinex.daily_closes("tBTCUSD", 20_089, 20_090).unwrap_or_else(|| panic!("Bitfinex has candles"));
        let (error, _) = testing::run(flow, None, NonceFormat::Micros, 0, |_| (500, r#"["error",10020,"symbol: invalid"]"#.to_owned()));
        assert_eq!(error, Err(Error::ExchangeRejected { exchange: X, code: "10020".into() }));
    }

    proptest! {
        #[test]
        fn history_pages_never_panic_on_arbitrary_bytes(stream in 0usize..5, status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let cursor = format!(r#"{{"stream":{stream}}}"#);
            let flow = Bitfinex.history(Some(&cursor), &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
            let _ = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| (status, String::from_utf8_lossy(&body).into_owned()));
        }

        #[test]
        fn history_pages_never_panic_on_row_shaped_json(stream in 0usize..5, value in arb_json(), first in any::<bool>()) {
            let body = value.to_string();
            if first {
                let flow = Bitfinex.history(None, &[]).unwrap_or_else(|| panic!("Bitfinex reads its history"));
                let _ = testing::run(flow, Some(&credentials()), NonceFormat::Micros, NOW, |_| (200, body.clone()));
            }
            let _ = read_stream(stream, &body);
            let flow = Bitfinex.daily_closes("tBTCUSD", 20_089, 20_090).unwrap_or_else(|| panic!("Bitfinex has candles"));
            let _ = testing::run(flow, None, NonceFormat::Micros, 0, |_| (200, body.clone()));
        }

        #[test]
        fn trade_rows_balance_as_bitfinex_says(amount in -1_000_000i64..1_000_000, price in 1i64..100_000_000, fee in -1_000i64..1_000) {
            let row = serde_json::json!([[1, "tBTCUSD", 1_700_000_000_000u64, 2, Decimal::new(amount, 4), Decimal::new(price, 2), "EXCHANGE LIMIT", null, 1, Decimal::new(fee, 6), "USD"]]);
            let page = read_stream(0, &row.to_string());
            let page = page.unwrap_or_else(|e| panic!("{e:?}"));
            for transaction in &page.transactions {
                prop_assert!(transaction.check().is_ok());
                if transaction.kind == Kind::Trade {
                    let changes = transaction.balance_changes().unwrap_or_default();
                    prop_assert_eq!(changes.get("btc").copied().unwrap_or_default(), Decimal::new(amount, 4));
                }
            }
            prop_assert_eq!(page.transactions.is_empty(), amount == 0);
        }
    }
}
