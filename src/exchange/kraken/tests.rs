use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::{
    entropy::testing::CountingEntropy,
    exchange::testing::{self, Answer},
    nonce::NonceGenerator,
    transactions::{Amount, Kind, Side, Transaction},
};

/// The private key of Kraken's documented signing example
/// (<https://docs.kraken.com/api/docs/guides/spot-rest-auth>).
const DOCS_SECRET: &str = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

/// Just below the docs' nonce-v2 example, so a frozen clock makes the flow sign with exactly
/// 1731349200123123456, then 1731349200123123457.
const LAST_NONCE: u64 = 1_731_349_200_123_123_455;
const NOW: u64 = 1_731_349_200_000;

fn credentials() -> Credentials {
    Kraken.credentials("kraken-test-key", DOCS_SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn dec(text: &str) -> Decimal {
    crate::money::parse_decimal(text).unwrap_or_else(|| panic!("not a decimal: {text}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn sign_with(secret_base64: &str, path: &str, nonce: &str, body: &str) -> String {
    let secret = Base64::decode_vec(secret_base64).unwrap_or_else(|e| panic!("{e}"));
    api_sign(&secret, path, nonce, body).unwrap_or_else(|e| panic!("{e}"))
}

/// Official example of Kraken's docs ("Authentication", AddOrder), also the reference's K1.
#[test]
fn kraken_docs_example() {
    let body = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
    assert_eq!(
        sign_with(DOCS_SECRET, "/0/private/AddOrder", "1616492376594", body),
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    );
    let request = signed_request(
        &credentials(),
        "1616492376594",
        "/0/private/AddOrder",
        "ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request.body.as_deref(), Some(body));
    assert_eq!(
        request.header("API-Sign"),
        Some("4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==")
    );
}

/// The official SDK's golden vector (krakenfx/kraken-api-sdk `rust/src/auth/signer.rs`,
/// `hmac_signature_pins_canon_algorithm_against_fixed_inputs`): 32 bytes of 0x01 as the secret
/// and a nanosecond nonce. Also the reference's K2.
#[test]
fn kraken_sdk_golden_vector() {
    let secret = Base64::encode_string(&[0x01u8; 32]);
    assert_eq!(secret, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
    assert_eq!(
        sign_with(&secret, "/0/private/Balance", "1700000000000000000", "nonce=1700000000000000000"),
        "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q=="
    );
}

// K3–K5 of shared/reference/exchanges-2.md §5 and S1–S2 (the two requests of a holding with
// 19-digit nonces), reproduced with two independent implementations:
//   node -e 'const c=require("node:crypto");
//     const s=(k,p,n,b)=>c.createHmac("sha512",Buffer.from(k,"base64")).update(p)
//       .update(c.createHash("sha256").update(n+b).digest()).digest("base64");
//     const D="kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
//     console.log(s(D,"/0/private/Balance","1700000000000","nonce=1700000000000"));
//     console.log(s(D,"/0/private/BalanceEx","1700000000000","nonce=1700000000000"));
//     console.log(s(D,"/0/private/Earn/Allocations","1700000000001","nonce=1700000000001&hide_zero_allocations=true"));
//     console.log(s(D,"/0/private/BalanceEx","1731349200123123456","nonce=1731349200123123456"));
//     console.log(s(D,"/0/private/Earn/Allocations","1731349200123123457","nonce=1731349200123123457&hide_zero_allocations=true"))'
//   python3 -c 'import hmac,hashlib,base64
//     def s(k,p,n,b): return base64.b64encode(hmac.new(base64.b64decode(k),
//       p.encode()+hashlib.sha256((n+b).encode()).digest(),hashlib.sha512).digest()).decode()
//     D="kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
//     print(s(D,"/0/private/Balance","1700000000000","nonce=1700000000000"))
//     print(s(D,"/0/private/BalanceEx","1700000000000","nonce=1700000000000"))
//     print(s(D,"/0/private/Earn/Allocations","1700000000001","nonce=1700000000001&hide_zero_allocations=true"))
//     print(s(D,"/0/private/BalanceEx","1731349200123123456","nonce=1731349200123123456"))
//     print(s(D,"/0/private/Earn/Allocations","1731349200123123457","nonce=1731349200123123457&hide_zero_allocations=true"))'
// Both print the same five lines, the ones below. ccxt 4.5.84's own Kraken signer (npm `ccxt`)
// builds the same two holding requests, bodies and API-Sign alike:
//   node -e 'const ccxt=require("ccxt");
//     const ex=new ccxt.kraken({apiKey:"kraken-test-key",secret:"kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="});
//     const n=["1731349200123123456","1731349200123123457"]; ex.nonce=()=>n.shift();
//     for (const [m,p] of [["BalanceEx",{}],["Earn/Allocations",{hide_zero_allocations:true}]]) {
//       const r=ex.sign(m,"private","POST",p); console.log(r.body, r.headers["API-Sign"]); }'
const S1_BALANCE_EX: &str = "X3y5k75ZrRIHQ8RjnD2NKxEhQHf8gg03yc7nUxUIhsJs4YSUoGjP64LBrVa7dqT/pElljvpEROuhchHcpRAkQQ==";
const S2_ALLOCATIONS: &str = "2XW/bf/4HoT39PArGcq+OT2PIBfVn+qquimpeqTy96n9nLEmv7Frat1qnQb8VJxN1i55s7bCf9DglnFKi+q4gQ==";

#[test]
fn signatures_match_node_crypto_and_python() {
    let cases = [
        (
            "K3",
            "/0/private/Balance",
            "1700000000000",
            "",
            "czhu1TvpTUkVtUbRiqwKniRXzZlg53wZmCdUIPWVLRoRMbTDwnq4frkWOdPSH9Q5YwHV5wqsA77JHXvM+XqHVQ==",
        ),
        (
            "K4",
            BALANCE_PATH,
            "1700000000000",
            "",
            "AWsyWIl2ouPCXvZB4pQEp6tqOQjVJLNq7mY+QDjnPEHdMw3Dkdw89JXM9VXYqaCbYXgOTa5+feeHR8a6GERFug==",
        ),
        (
            "K5",
            ALLOCATIONS_PATH,
            "1700000000001",
            ALLOCATIONS_PARAMS,
            "LaI8gvKVyK+JBBCT40ZsxwxkKt0MOdzNGBoGafedne+k+DK6qpODfSN1Gq29jd1qpg6oZO9QXSRiNQ7HQnGWtg==",
        ),
        ("S1", BALANCE_PATH, "1731349200123123456", "", S1_BALANCE_EX),
        ("S2", ALLOCATIONS_PATH, "1731349200123123457", ALLOCATIONS_PARAMS, S2_ALLOCATIONS),
    ];
    for (name, path, nonce, params, expected) in cases {
        let request = signed_request(&credentials(), nonce, path, params).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.header("API-Sign"), Some(expected), "{name}");
        assert_eq!(request.header("API-Sign").map(str::len), Some(88), "{name}: 64 bytes in base64");
    }
}

#[test]
fn secrets_must_be_base64() {
    assert!(Kraken.credentials(" kraken-test-key ", &format!("{DOCS_SECRET}\n")).is_ok(), "paste artefacts are trimmed");
    for secret in ["not base64!", "kQH5HW/8p1uGOVjbgWA7Fun", "====", "a", "kQH5-W_8"] {
        assert_eq!(Kraken.credentials("kraken-test-key", secret), Err(Error::InvalidInput { field: "api_secret" }), "{secret}");
    }
    assert_eq!(Kraken.credentials("", DOCS_SECRET), Err(Error::InvalidInput { field: "api_key" }));
    // Credentials made elsewhere (a vault written before the check) still fail before signing.
    let unchecked = Credentials::new("kraken-test-key", "not base64!").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        signed_request(&unchecked, "1", BALANCE_PATH, "").map(|_| ()),
        Err(Error::InvalidInput { field: "api_secret" })
    );
}

#[test]
fn registry_and_hosts() {
    let adapter = crate::exchange::adapter(ExchangeId::Kraken);
    assert_eq!(adapter.id(), ExchangeId::Kraken);
    assert_eq!(adapter.hosts(), ["api.kraken.com"]);
    assert_eq!(adapter.nonce_format(), NonceFormat::Salted19);
    assert!(adapter.key_scope().is_none(), "Kraken cannot say what a key may do");
    assert_eq!(ExchangeId::parse("kraken"), Some(ExchangeId::Kraken));
}

/// Drives a holding with a nonce generator resumed after [`LAST_NONCE`] and a frozen clock.
fn holdings_with_resumed_nonces(mut answer: impl FnMut(&HttpRequest) -> Answer) -> (Result<Vec<Balance>>, Vec<HttpRequest>) {
    let credentials = credentials();
    let mut nonces = NonceGenerator::resume(NonceFormat::Salted19, Some(LAST_NONCE));
    let mut entropy = CountingEntropy::new(7);
    let mut flow = Kraken.holdings();
    let mut sent = Vec::new();
    let mut last: Option<Answer> = None;
    loop {
        let view = last.as_ref().map(|(status, body)| HttpResponse::new(*status, body.as_bytes()));
        match flow.step(view, &mut Context::private(NOW, &credentials, &mut nonces, &mut entropy)) {
            Ok(Step::Send(request)) => {
                last = Some(answer(&request));
                sent.push(request);
            }
            Ok(Step::SendAll(_)) => panic!("Kraken's nonces must arrive in order: no batches"),
            Ok(Step::Done(balances)) => return (Ok(balances), sent),
            Err(error) => return (Err(error), sent),
        }
    }
}

#[test]
fn holding_requests_are_signed_posts() {
    let (result, sent) = holdings_with_resumed_nonces(answers(BALANCE_EX, ALLOCATIONS));
    assert!(result.is_ok());
    assert_eq!(sent.len(), 2, "BalanceEx, then Earn/Allocations");
    let expected = [
        ("https://api.kraken.com/0/private/BalanceEx", "nonce=1731349200123123456", S1_BALANCE_EX),
        (
            "https://api.kraken.com/0/private/Earn/Allocations",
            "nonce=1731349200123123457&hide_zero_allocations=true",
            S2_ALLOCATIONS,
        ),
    ];
    for (request, (url, body, signature)) in sent.iter().zip(expected) {
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, url);
        assert_eq!(request.body.as_deref(), Some(body));
        let names: Vec<&str> = request.headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["API-Key", "API-Sign", "Content-Type"]);
        assert_eq!(request.header("api-key"), Some("kraken-test-key"));
        assert_eq!(request.header("API-Sign"), Some(signature));
        assert_eq!(request.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(request.host(), "api.kraken.com");
        let printed = format!("{request:?}");
        assert!(!printed.contains(signature) && !printed.contains("kraken-test-key") && !printed.contains("nonce="));
    }
}

#[test]
fn every_request_gets_a_fresh_nonce() {
    let (_, sent) = testing::run(Kraken.holdings(), Some(&credentials()), NonceFormat::Salted19, NOW, answers(BALANCE_EX, ALLOCATIONS));
    let nonces: Vec<u64> = sent
        .iter()
        .map(|request| {
            let body = request.body.as_deref().unwrap_or_default();
            let nonce = body.strip_prefix("nonce=").unwrap_or_default().split('&').next().unwrap_or_default();
            assert_eq!(nonce.len(), 19, "{body}");
            nonce.parse().unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert_eq!(nonces.len(), 2);
    assert!(nonces[1] > nonces[0]);
}

#[test]
fn price_requests_are_public_gets() {
    let (result, sent) = testing::run(Kraken.prices(), None, NonceFormat::Salted19, NOW, |request| match request.url.as_str() {
        "https://api.kraken.com/0/public/AssetPairs" => (200, ASSET_PAIRS.to_owned()),
        _ => (200, TICKERS.to_owned()),
    });
    assert!(result.is_ok());
    let urls: Vec<&str> = sent.iter().map(|request| request.url.as_str()).collect();
    assert_eq!(urls, ["https://api.kraken.com/0/public/AssetPairs", "https://api.kraken.com/0/public/Ticker"]);
    for request in &sent {
        assert_eq!(request.method, Method::Get);
        assert!(request.headers.is_empty() && request.body.is_none());
    }
}

/// Answers BalanceEx and Earn/Allocations with these bodies.
fn answers(balances: &'static str, allocations: &'static str) -> impl FnMut(&HttpRequest) -> Answer {
    move |request| {
        if request.url.ends_with(BALANCE_PATH) {
            (200, balances.to_owned())
        } else if request.url.ends_with(ALLOCATIONS_PATH) {
            (200, allocations.to_owned())
        } else {
            (404, String::new())
        }
    }
}

/// An account with every kind of entry: X/Z codes, altname-suffixed earn (`XBT.F` next to
/// `XXBT`), staked (`DOT.S`, `ETH2.S`), auto-earn on a plain code (`USDT.F`), a hold
/// (`USD.HOLD`), fee credits, TerraUSD, a zero balance, a credit line, and numbers both as
/// strings and as JSON numbers.
const BALANCE_EX: &str = r#"{"error":[],"result":{
  "ZUSD":{"balance":"25435.2100","hold_trade":"8249.7600"},
  "USD.HOLD":{"balance":"50.0000","hold_trade":"0.0000"},
  "ZEUR":{"balance":1500.5,"hold_trade":0},
  "XXBT":{"balance":"1.2435000000","hold_trade":"0.8423000000"},
  "XBT.F":{"balance":"0.5000000000","hold_trade":"0.0000000000"},
  "DOT.S":{"balance":"120.0000000000","hold_trade":"0.0000000000"},
  "USDT":{"balance":"310.55000000","hold_trade":"10.00000000","credit":"500.00000000","credit_used":"0.00000000"},
  "USDT.F":{"balance":"100.00000000","hold_trade":"0.00000000"},
  "XETH":{"balance":"0.1000000000","hold_trade":"0.0000000000"},
  "ETH2.S":{"balance":"2.0000000000","hold_trade":"0.0000000000"},
  "XXDG":{"balance":"1000.00000000","hold_trade":"0.00000000"},
  "XXRP":{"balance":25.5,"hold_trade":0},
  "UST":{"balance":"42.00000000","hold_trade":"0.00000000"},
  "KFEE":{"balance":"1000.00","hold_trade":"0.00"},
  "ADA":{"balance":"0.00000000","hold_trade":"0.00000000"}
}}"#;

/// Earn repeats `XBT.F` exactly, has more DOT than `DOT.S` (some still bonding), less ETH than
/// `ETH2.S`, and holds SOL and USDC that no balance shows (numbers as strings and as numbers).
const ALLOCATIONS: &str = r#"{"error":[],"result":{"converted_asset":"USD","total_allocated":"51234.1200","total_rewarded":"321.0000","items":[
  {"strategy_id":"ESRFUO3-Q62XD-WIOIL7","native_asset":"XBT","amount_allocated":{"total":{"native":"0.5000000000","converted":"47500.0000"}},"total_rewarded":{"native":"0.0012","converted":"114.0000"}},
  {"strategy_id":"ESDQCOL-WTZEU-NU55QF","native_asset":"DOT","amount_allocated":{"bonding":{"native":"20.0000000000","converted":"150.0000","allocation_count":1,"allocations":[{"created_at":"2026-11-20T10:00:00Z","expires":"2026-12-18T10:00:00Z","native":"20.0000000000","converted":"150.0000"}]},"total":{"native":"140.0000000000","converted":"1050.0000"}},"total_rewarded":{"native":"3.1","converted":"23.25"}},
  {"strategy_id":"ESMWVX6-JAPVY-23L3CK","native_asset":"ETH","amount_allocated":{"exit_queue":{"native":"0.2","converted":"700.00"},"total":{"native":"1.5000000000","converted":"5250.0000"}},"total_rewarded":{"native":"0.01","converted":"35.00"},"payout":{"period_start":"2026-11-27T00:00:00Z","period_end":"2026-12-04T00:00:00Z","estimated_reward":{"native":"0.0006","converted":"2.10"},"accumulated_reward":{"native":"0.0002","converted":"0.70"}}},
  {"strategy_id":"ESXUM7H-SJHQ6-KOQNNI","native_asset":"SOL","amount_allocated":{"total":{"native":"12.5000000000","converted":"2150.0000"}},"total_rewarded":{"native":"0","converted":"0"}},
  {"strategy_id":"EVMRV5U-2ZF2J-3UVTQT","native_asset":"USDC","amount_allocated":{"allocated":{"native":25,"converted":25},"total":{"native":25,"converted":25}},"total_rewarded":{"native":0.1,"converted":0.1}}
]}}"#;

const NO_ALLOCATIONS: &str = r#"{"error":[],"result":{"converted_asset":"USD","total_allocated":"0","total_rewarded":"0","items":[]}}"#;

/// (currency, total, available, locked, earning)
type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

fn assert_rows(balances: &[Balance], expected: &[Row<'_>], case: &str) {
    let mut got: Vec<&Balance> = balances.iter().collect();
    got.sort_by(|a, b| a.currency.cmp(&b.currency));
    let mut want = expected.to_vec();
    want.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(got.len(), want.len(), "{case}: {got:?}");
    for (balance, (currency, total, available, locked, earning)) in got.iter().zip(want) {
        assert_eq!(balance.currency, currency, "{case}");
        assert_eq!(
            (balance.total, balance.available, balance.locked, balance.earning),
            (dec(total), dec(available), dec(locked), dec(earning)),
            "{case}: {currency}"
        );
        assert_eq!(balance.total, balance.available + balance.locked + balance.earning, "{case}: {currency} adds up");
    }
}

#[test]
fn holding_of_a_realistic_account() {
    let (result, _) =
        testing::run(Kraken.holdings(), Some(&credentials()), NonceFormat::Salted19, NOW, answers(BALANCE_EX, ALLOCATIONS));
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    assert_rows(
        &balances,
        &[
            // Spot plus USD.HOLD (locked with what open orders keep).
            ("usd", "25485.21", "17185.45", "8299.76", "0"),
            ("eur", "1500.5", "1500.5", "0", "0"),
            // XBT.F and the Earn allocation are the same half bitcoin: counted once.
            ("btc", "1.7435", "0.4012", "0.8423", "0.5"),
            // Earn knows 20 DOT more (still bonding) than DOT.S shows.
            ("dot", "140", "0", "0", "140"),
            // The credit line is not the account's money.
            ("usdt", "410.55", "300.55", "10", "100"),
            // ETH2.S holds more than Earn reports: the larger one counts.
            ("eth", "2.1", "0.1", "0", "2"),
            ("doge", "1000", "1000", "0", "0"),
            ("xrp", "25.5", "25.5", "0", "0"),
            // Kraken's UST is TerraUSD Classic.
            ("ustc", "42", "42", "0", "0"),
            // Only in Earn.
            ("sol", "12.5", "0", "0", "12.5"),
            ("usdc", "25", "0", "0", "25"),
        ],
        "realistic account",
    );
    assert!(balances.iter().all(|b| b.currency != "kfee" && b.currency != "fee" && b.currency != "ada"));
}

#[test]
fn reconciliation_table() {
    struct Case {
        name: &'static str,
        balances: &'static str,
        allocations: &'static str,
        expected: &'static [Row<'static>],
    }
    let cases = [
        Case {
            name: "auto-earn: base is 0, orders hold funds of the .F part",
            balances: r#"{"error":[],"result":{"XXBT":{"balance":"0.0000000000","hold_trade":"0.3000000000"},"XBT.F":{"balance":"1.0000000000","hold_trade":"0"}}}"#,
            allocations: r#"{"error":[],"result":{"items":[{"native_asset":"XBT","amount_allocated":{"total":{"native":"1.0"}}}]}}"#,
            expected: &[("btc", "1", "0", "0.3", "0.7")],
        },
        Case {
            name: "hold_trade beyond everything is capped at the total",
            balances: r#"{"error":[],"result":{"ZEUR":{"balance":"10","hold_trade":"25"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("eur", "10", "0", "10", "0")],
        },
        Case {
            name: "every earning suffix adds to its base",
            balances: r#"{"error":[],"result":{"USDC":{"balance":"1","hold_trade":"0"},"USDC.M":{"balance":"2"},"USDC.B":{"balance":"3"},"USDC.P":{"balance":"4"},"USDC.T":{"balance":"5"},"USDC.S":{"balance":"6"},"USDC.F":{"balance":"7"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("usdc", "28", "1", "0", "27")],
        },
        Case {
            name: "Earn larger than the suffixed balances: the Earn amount, not the sum",
            balances: r#"{"error":[],"result":{"DOT":{"balance":"5","hold_trade":"1"},"DOT.S":{"balance":"10"}}}"#,
            allocations: r#"{"error":[],"result":{"items":[{"native_asset":"DOT","amount_allocated":{"total":{"native":"12"}}},{"native_asset":"DOT","amount_allocated":{"total":{"native":"3"}}}]}}"#,
            expected: &[("dot", "20", "4", "1", "15")],
        },
        Case {
            name: "legacy staking codes with a lock-up count toward their asset",
            balances: r#"{"error":[],"result":{"DOT28.S":{"balance":"3"},"KSM07.S":{"balance":"1.5"},"ATOM21.S":{"balance":"2"},"SOL03.S":{"balance":"4"},"ETH2":{"balance":"0.25"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("dot", "3", "0", "0", "3"), ("ksm", "1.5", "0", "0", "1.5"), ("atom", "2", "0", "0", "2"), ("sol", "4", "0", "0", "4"), ("eth", "0.25", "0.25", "0", "0")],
        },
        Case {
            name: "an unknown suffix is counted, as locked; digits in real codes stay",
            balances: r#"{"error":[],"result":{"USDT0.TEMPO":{"balance":"8"},"SN44.F":{"balance":"2"},"1INCH":{"balance":"9","hold_trade":"0"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("usdt0", "8", "0", "8", "0"), ("sn44", "2", "0", "0", "2"), ("1inch", "9", "9", "0", "0")],
        },
        Case {
            name: "X and Z are not stripped by rule; Z fiat codes are mapped",
            balances: r#"{"error":[],"result":{"XTZ":{"balance":"1"},"XRP":{"balance":"2"},"ZEC":{"balance":"3"},"ZMXN":{"balance":"4"},"ZJPY":{"balance":"5"},"ZCAD":{"balance":"6"},"ZGBP":{"balance":"7"},"ZAUD":{"balance":"8"},"XXLM":{"balance":"9"},"XDG":{"balance":"10"},"LUNA":{"balance":"11"},"LUNA2":{"balance":"12"},"USDT":{"balance":"13"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[
                ("xtz", "1", "1", "0", "0"), ("xrp", "2", "2", "0", "0"), ("zec", "3", "3", "0", "0"), ("mxn", "4", "4", "0", "0"),
                ("jpy", "5", "5", "0", "0"), ("cad", "6", "6", "0", "0"), ("gbp", "7", "7", "0", "0"), ("aud", "8", "8", "0", "0"),
                ("xlm", "9", "9", "0", "0"), ("doge", "10", "10", "0", "0"), ("lunc", "11", "11", "0", "0"), ("luna", "12", "12", "0", "0"),
                ("usdt", "13", "13", "0", "0"),
            ],
        },
        Case {
            name: "fee credits and zero entries are left out; zero allocations too",
            balances: r#"{"error":[],"result":{"KFEE":{"balance":"500"},"FEE.F":{"balance":"1"},"ADA":{"balance":"0"}}}"#,
            allocations: r#"{"error":[],"result":{"items":[{"native_asset":"ADA","amount_allocated":{}},{"native_asset":"KFEE","amount_allocated":{"total":{"native":"1"}}},{"native_asset":"ATOM","amount_allocated":{"total":{"native":"0"}}}]}}"#,
            expected: &[],
        },
        Case {
            name: "numbers in exponent form stay exact",
            balances: r#"{"error":[],"result":{"XXBT":{"balance":3.8e-7,"hold_trade":1E-7}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("btc", "0.00000038", "0.00000028", "0.0000001", "0")],
        },
        Case {
            name: "warnings next to a result are no error",
            balances: r#"{"error":["WGeneral:Deprecated"],"result":{"ZUSD":{"balance":"1","hold_trade":"0"}}}"#,
            allocations: NO_ALLOCATIONS,
            expected: &[("usd", "1", "1", "0", "0")],
        },
    ];
    for case in cases {
        let (result, _) = testing::run(
            Kraken.holdings(),
            Some(&credentials()),
            NonceFormat::Salted19,
            NOW,
            answers(case.balances, case.allocations),
        );
        let balances = result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_rows(&balances, case.expected, case.name);
    }
}

#[test]
fn asset_names() {
    let cases = [
        ("XXBT", Some("btc")), ("XBT", Some("btc")), ("XXDG", Some("doge")), ("XDG", Some("doge")),
        ("XETH", Some("eth")), ("XETC", Some("etc")), ("XLTC", Some("ltc")), ("XMLN", Some("mln")),
        ("XREP", Some("rep")), ("XXLM", Some("xlm")), ("XXMR", Some("xmr")), ("XXRP", Some("xrp")),
        ("XZEC", Some("zec")), ("ZUSD", Some("usd")), ("ZEUR", Some("eur")), ("ZGBP", Some("gbp")),
        ("ZCAD", Some("cad")), ("ZJPY", Some("jpy")), ("ZAUD", Some("aud")), ("ZMXN", Some("mxn")),
        ("ZARS", Some("ars")), ("ZCLP", Some("clp")), ("ZCOP", Some("cop")), ("ZDKK", Some("dkk")),
        ("ZGEL", Some("gel")), ("ZGHS", Some("ghs")), ("ZLKR", Some("lkr")), ("ZPLN", Some("pln")),
        ("ZSEK", Some("sek")), ("ZUGX", Some("ugx")), ("ZVND", Some("vnd")), ("ZXOF", Some("xof")),
        ("UST", Some("ustc")), ("USDT", Some("usdt")), ("USD", Some("usd")), ("EUR", Some("eur")),
        ("CHF", Some("chf")), ("XRP", Some("xrp")), ("XLM", Some("xlm")), ("ZEC", Some("zec")),
        ("XTZ", Some("xtz")), ("ZRX", Some("zrx")), ("AAPLx", Some("aaplx")), ("", None),
        ("BTC-USD", None), ("<b>", None), ("ÉTH", None),
    ];
    for (kraken, cartera) in cases {
        assert_eq!(asset_code(kraken).as_deref(), cartera, "{kraken}");
    }
    assert_eq!(split_suffix("XBT.F"), ("XBT", Some("F")));
    assert_eq!(split_suffix("USDT0.TEMPO.X"), ("USDT0", Some("TEMPO.X")));
    assert_eq!(split_suffix("ZUSD"), ("ZUSD", None));
    assert!(is_fee_credit("KFEE") && is_fee_credit("FEE") && !is_fee_credit("FEES"));
}

#[test]
fn unreadable_holdings_fail_the_whole_answer() {
    const X: ExchangeId = ExchangeId::Kraken;
    let malformed = Err(Error::MalformedResponse { exchange: X });
    let bodies = [
        r#"{"error":[],"result":{"ZUSD":{"balance":"1,000.00","hold_trade":"0"}}}"#,
        r#"{"error":[],"result":{"ZUSD":{"balance":"-1","hold_trade":"0"}}}"#,
        r#"{"error":[],"result":{"ZUSD":{"balance":"1","hold_trade":"-0.5"}}}"#,
        r#"{"error":[],"result":{"ZUSD":{"hold_trade":"0"}}}"#,
        r#"{"error":[],"result":{"ZUSD":{"balance":null}}}"#,
        r#"{"error":[],"result":{"BTC/USD":{"balance":"1"}}}"#,
        r#"{"error":[],"result":{".F":{"balance":"1"}}}"#,
        r#"{"error":[],"result":[]}"#,
        r#"{"error":[]}"#,
        r#"{"error":[],"result":{"ZUSD":{"balance":"1"}"#,
        "",
        "null",
    ];
    for body in bodies {
        assert_eq!(parse_balances(ok(body)).map(|_| ()), malformed, "{body}");
    }
    let allocations = [
        r#"{"error":[],"result":{}}"#,
        r#"{"error":[],"result":{"items":[{"amount_allocated":{"total":{"native":"1"}}}]}}"#,
        r#"{"error":[],"result":{"items":[{"native_asset":"DOT","amount_allocated":{"total":{"native":"lots"}}}]}}"#,
        r#"{"error":[],"result":{"items":[{"native_asset":"DOT","amount_allocated":{"total":{"converted":"1"}}}]}}"#,
        r#"{"error":[],"result":{"items":[{"native_asset":"D O T","amount_allocated":{"total":{"native":"1"}}}]}}"#,
    ];
    for body in allocations {
        assert_eq!(parse_allocations(ok(body)).map(|_| ()), malformed, "{body}");
    }
    // 7.7e28 twice: each fits a decimal, their sum does not.
    let sevens = "7".repeat(29);
    let huge = leak(format!(r#"{{"error":[],"result":{{"ZUSD":{{"balance":"{sevens}"}},"USD.HOLD":{{"balance":"{sevens}"}}}}}}"#));
    assert_eq!(
        testing::run(Kraken.holdings(), Some(&credentials()), NonceFormat::Salted19, NOW, answers(huge, NO_ALLOCATIONS)).0.map(|_| ()),
        Err(Error::AmountOverflow { exchange: X }),
        "a sum beyond a decimal's range",
    );
}

#[test]
fn error_table() {
    use Error as E;
    const X: ExchangeId = ExchangeId::Kraken;
    const RECEIVED_AT: u64 = 1_731_349_200_000;
    struct Case {
        name: &'static str,
        status: u16,
        body: &'static str,
        retry_after_ms: Option<u64>,
        expected: Error,
    }
    let error = |message: &str| format!(r#"{{"error":["{message}"],"result":{{}}}}"#);
    let unavailable = |status| E::ExchangeUnavailable { exchange: X, status };
    let limited = |retry_after_ms| E::RateLimited { exchange: X, retry_after_ms };
    let cases = vec![
        Case { name: "invalid key", status: 200, body: leak(error("EAPI:Invalid key")), retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "invalid signature", status: 200, body: leak(error("EAPI:Invalid signature")), retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "EAuth", status: 200, body: leak(error("EAuth:Account temporary disabled")), retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "invalid nonce", status: 200, body: leak(error("EAPI:Invalid nonce")), retry_after_ms: None, expected: E::NonceRejected { exchange: X } },
        Case { name: "general permission", status: 200, body: leak(error("EGeneral:Permission denied")), retry_after_ms: None, expected: E::MissingPermission { exchange: X } },
        Case { name: "API permission", status: 200, body: leak(error("EAPI:Permission denied")), retry_after_ms: None, expected: E::MissingPermission { exchange: X } },
        Case { name: "lockout", status: 200, body: leak(error("EGeneral:Temporary lockout")), retry_after_ms: Some(5_000), expected: limited(900_000) },
        Case { name: "rate limit, no header", status: 200, body: leak(error("EAPI:Rate limit exceeded")), retry_after_ms: None, expected: limited(60_000) },
        Case { name: "rate limit with Retry-After", status: 200, body: leak(error("EAPI:Rate limit exceeded")), retry_after_ms: Some(7_000), expected: limited(7_000) },
        Case { name: "auth rate limit", status: 200, body: leak(error("EAuth:Rate limit exceeded")), retry_after_ms: None, expected: limited(60_000) },
        Case { name: "too many requests", status: 200, body: leak(error("EGeneral:Too many requests")), retry_after_ms: None, expected: limited(60_000) },
        Case { name: "throttled until an instant", status: 200, body: leak(error("EService:Throttled: 1731349260")), retry_after_ms: None, expected: limited(60_000) },
        Case { name: "throttled, spaces and a fraction of a second", status: 200, body: leak(error("EService: Throttled : 1731349230")), retry_after_ms: Some(1_000), expected: limited(30_000) },
        Case { name: "throttled far ahead is capped", status: 200, body: leak(error("EService:Throttled: 1831349260")), retry_after_ms: None, expected: limited(900_000) },
        Case { name: "throttled in the past", status: 200, body: leak(error("EService:Throttled: 1731340000")), retry_after_ms: None, expected: limited(1_000) },
        Case { name: "throttled without a time", status: 200, body: leak(error("EService:Throttled")), retry_after_ms: None, expected: limited(60_000) },
        Case { name: "service unavailable", status: 200, body: leak(error("EService:Unavailable")), retry_after_ms: None, expected: unavailable(200) },
        Case { name: "service busy", status: 200, body: leak(error("EService:Busy")), retry_after_ms: None, expected: unavailable(200) },
        Case { name: "internal error", status: 200, body: leak(error("EGeneral:Internal error")), retry_after_ms: None, expected: unavailable(200) },
        Case { name: "database error", status: 500, body: leak(error("EDatabase:Internal error")), retry_after_ms: None, expected: unavailable(500) },
        Case { name: "cancel_only", status: 200, body: leak(error("EService:Market in cancel_only mode")), retry_after_ms: None, expected: unavailable(200) },
        Case { name: "post_only", status: 200, body: leak(error("EService:Market in post_only mode")), retry_after_ms: None, expected: unavailable(200) },
        Case { name: "unknown category", status: 200, body: leak(error("EQuery:Unknown asset pair")), retry_after_ms: None, expected: E::ExchangeRejected { exchange: X, code: "EQuery".into() } },
        Case { name: "invalid arguments", status: 200, body: leak(error("EGeneral:Invalid arguments:hide_zero_allocations")), retry_after_ms: None, expected: E::ExchangeRejected { exchange: X, code: "EGeneral".into() } },
        Case { name: "junk category", status: 200, body: r#"{"error":["E<script>alert(1)</script>:x"]}"#, retry_after_ms: None, expected: E::ExchangeRejected { exchange: X, code: "unknown".into() } },
        Case { name: "error as one string", status: 200, body: r#"{"error":"EAPI:Invalid key"}"#, retry_after_ms: None, expected: E::InvalidCredentials { exchange: X } },
        Case { name: "warning first, then the error", status: 200, body: r#"{"error":["WGeneral:Deprecated","EAPI:Invalid nonce"]}"#, retry_after_ms: None, expected: E::NonceRejected { exchange: X } },
        Case { name: "Cloudflare 520", status: 520, body: "<!DOCTYPE html><title>api.kraken.com | 520: Web server is returning an unknown error</title>", retry_after_ms: None, expected: unavailable(520) },
        Case { name: "502 empty", status: 502, body: "", retry_after_ms: None, expected: unavailable(502) },
        Case { name: "503 JSON without envelope", status: 503, body: r#"{"status":"maintenance"}"#, retry_after_ms: None, expected: unavailable(503) },
        Case { name: "403 block page", status: 403, body: "<html>Access denied</html>", retry_after_ms: None, expected: unavailable(403) },
        Case { name: "500 with an empty envelope", status: 500, body: r#"{"error":[],"result":{}}"#, retry_after_ms: None, expected: unavailable(500) },
        Case { name: "HTTP 429 with Retry-After", status: 429, body: "Too Many Requests", retry_after_ms: Some(12_000), expected: limited(12_000) },
        Case { name: "HTTP 429 without", status: 429, body: "", retry_after_ms: None, expected: limited(60_000) },
        Case { name: "200 empty", status: 200, body: "", retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 not JSON", status: 200, body: "<html>maintenance</html>", retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 truncated", status: 200, body: r#"{"error":[],"result":{"ZU"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 neither error nor result", status: 200, body: r#"{"error":[]}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 error not strings", status: 200, body: r#"{"error":[42],"result":{}}"#, retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
        Case { name: "200 binary", status: 200, body: "\u{0}\u{1}", retry_after_ms: None, expected: E::MalformedResponse { exchange: X } },
    ];
    for case in cases {
        let response = HttpResponse {
            status: case.status,
            body: case.body.as_bytes(),
            retry_after_ms: case.retry_after_ms,
            received_at_ms: RECEIVED_AT,
        };
        assert_eq!(parse_balances(response).map(|_| ()), Err(case.expected.clone()), "{} (BalanceEx)", case.name);
        assert_eq!(parse_allocations(response).map(|_| ()), Err(case.expected.clone()), "{} (Earn)", case.name);
        assert_eq!(parse_asset_pairs(response).map(|_| ()), Err(case.expected.clone()), "{} (AssetPairs)", case.name);
        assert_eq!(parse_tickers(response, &BTreeMap::new()).map(|_| ()), Err(case.expected), "{} (Ticker)", case.name);
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[test]
fn an_earn_error_ends_the_holding() {
    // Both calls need the same "Query Funds" permission; showing balances without Earn would
    // show less than the user owns, so the error is reported instead.
    let (result, sent) = testing::run(
        Kraken.holdings(),
        Some(&credentials()),
        NonceFormat::Salted19,
        NOW,
        answers(BALANCE_EX, r#"{"error":["EGeneral:Permission denied"],"result":{}}"#),
    );
    assert_eq!(result, Err(Error::MissingPermission { exchange: ExchangeId::Kraken }));
    assert_eq!(sent.len(), 2);

    let (result, sent) = testing::run(
        Kraken.holdings(),
        Some(&credentials()),
        NonceFormat::Salted19,
        NOW,
        answers(r#"{"error":["EAPI:Invalid key"],"result":{}}"#, ALLOCATIONS),
    );
    assert_eq!(result, Err(Error::InvalidCredentials { exchange: ExchangeId::Kraken }));
    assert_eq!(sent.len(), 1, "a refused key is not asked again");
}

#[test]
fn flows_refuse_answers_out_of_turn() {
    let credentials = credentials();
    let mut nonces = NonceGenerator::new(NonceFormat::Salted19);
    let mut entropy = CountingEntropy::new(1);
    let mut context = Context::private(NOW, &credentials, &mut nonces, &mut entropy);
    let answer = ok(NO_ALLOCATIONS);
    let out_of_turn = Err(Error::InvalidInput { field: "refresh" });
    assert_eq!(Kraken.holdings().step(Some(answer), &mut context).map(|_| ()), out_of_turn);
    assert_eq!(Kraken.prices().step(Some(answer), &mut context).map(|_| ()), out_of_turn);
    let mut holdings = Kraken.holdings();
    assert!(matches!(holdings.step(None, &mut context), Ok(Step::Send(_))));
    assert_eq!(holdings.step(None, &mut context).map(|_| ()), out_of_turn);
    // Holdings need credentials; prices never do.
    assert_eq!(Kraken.holdings().step(None, &mut Context::public(NOW)).map(|_| ()), Err(Error::InvalidInput { field: "api_key" }));
}

const ASSET_PAIRS: &str = r#"{"error":[],"result":{
  "XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD","aclass_base":"currency","base":"XXBT","aclass_quote":"currency","quote":"ZUSD","lot":"unit","cost_decimals":5,"pair_decimals":1,"lot_decimals":8,"lot_multiplier":1,"leverage_buy":[2,3,4,5],"leverage_sell":[2,3,4,5],"fees":[[0,0.4],[10000,0.35]],"fees_maker":[[0,0.25],[10000,0.2]],"fee_volume_currency":"ZUSD","margin_call":80,"margin_stop":40,"ordermin":"0.00005","costmin":"0.5","tick_size":"0.1","status":"online"},
  "XETHZEUR":{"altname":"ETHEUR","wsname":"ETH/EUR","base":"XETH","quote":"ZEUR","status":"online"},
  "USDTZUSD":{"altname":"USDTUSD","wsname":"USDT/USD","base":"USDT","quote":"ZUSD","status":"online"},
  "ZEURZUSD":{"altname":"EURUSD","wsname":"EUR/USD","base":"ZEUR","quote":"ZUSD"},
  "XDGUSD":{"altname":"XDGUSD","wsname":"XDG/USD","base":"XXDG","quote":"ZUSD","status":"online"},
  "USTUSD":{"altname":"USTUSD","wsname":"UST/USD","base":"UST","quote":"ZUSD","status":"online"},
  "DOTUSD":{"altname":"DOTUSD","wsname":"DOT/USD","base":"DOT","quote":"ZUSD","status":"online"},
  "SOLUSD":{"altname":"SOLUSD","wsname":"SOL/USD","base":"SOL","quote":"ZUSD","status":"online"},
  "FEEUSD":{"altname":"FEEUSD","base":"KFEE","quote":"ZUSD"},
  "NOQUOTE":{"altname":"NOQUOTE","base":"XXBT"},
  "ODDNAME":{"base":"BTC/X","quote":"ZUSD"},
  "NUMBERS":{"base":1,"quote":2}
}}"#;

const TICKERS: &str = r#"{"error":[],"result":{
  "XXBTZUSD":{"a":["95000.10000","1","1.000"],"b":["95000.00000","2","2.000"],"c":["95000.05000","0.00120000"],"v":["1234.56789012","2345.67890123"],"p":["94500.1","94400.2"],"t":[10000,20000],"l":["93000.0","92000.0"],"h":["96000.0","96500.0"],"o":"94000.00000"},
  "XETHZEUR":{"c":["3200.50","0.50000000"],"v":["100.00000000","250.50000000"],"o":"3100.00"},
  "USDTZUSD":{"c":["1.00020000","100.00000000"],"v":["5000000.00000000","12000000.50000000"]},
  "ZEURZUSD":{"c":["1.08450","10.00000000"],"v":["1500000.00000000","3000000.00000000"]},
  "XDGUSD":{"c":[0.1234567,100],"v":[1.0,2e6]},
  "USTUSD":{"c":["0.01500","10.00000000"],"v":["1.00000000","1000.00000000"]},
  "DOTUSD":{"c":["0.00000","1.00000000"],"v":["0","0"]},
  "SOLUSD":{"v":["1","2"]},
  "FEEUSD":{"c":["1.0","1"],"v":["1","1"]},
  "UNLISTED":{"c":["5.0","1"],"v":["1","1"]}
}}"#;

#[test]
fn tickers_for_every_pair() {
    let (result, _) = testing::run(Kraken.prices(), None, NonceFormat::Salted19, NOW, |request| {
        if request.url.ends_with(ASSET_PAIRS_PATH) { (200, ASSET_PAIRS.to_owned()) } else { (200, TICKERS.to_owned()) }
    });
    let tickers = result.unwrap_or_else(|e| panic!("{e}"));
    let mut summary: Vec<(&str, &str, &str, String, String)> = tickers
        .iter()
        .map(|t| (t.book.as_str(), t.base.as_str(), t.quote.as_str(), t.last.to_string(), t.volume.to_string()))
        .collect();
    // In the answer's order; sorted here for the comparison.
    summary.sort();
    let expected = [
        ("kraken:USDTZUSD", "usdt", "usd", "1.00020000", "12000000.50000000"),
        ("kraken:USTUSD", "ustc", "usd", "0.01500", "1000.00000000"),
        ("kraken:XDGUSD", "doge", "usd", "0.1234567", "2000000"),
        ("kraken:XETHZEUR", "eth", "eur", "3200.50", "250.50000000"),
        ("kraken:XXBTZUSD", "btc", "usd", "95000.05000", "2345.67890123"),
        ("kraken:ZEURZUSD", "eur", "usd", "1.08450", "3000000.00000000"),
    ];
    let expected: Vec<(&str, &str, &str, String, String)> =
        expected.iter().map(|(book, base, quote, last, volume)| (*book, *base, *quote, (*last).to_owned(), (*volume).to_owned())).collect();
    assert_eq!(summary, expected, "zero, missing, unknown and unnamed pairs are skipped");
    assert!(tickers.iter().all(|t| t.change_24h.is_none() && t.created_at.is_none()), "midnight UTC is not 24 hours ago");
}

#[test]
fn a_failed_pair_list_ends_the_prices() {
    let (result, sent) = testing::run(Kraken.prices(), None, NonceFormat::Salted19, NOW, |_| {
        (200, r#"{"error":["EGeneral:Too many requests"]}"#.to_owned())
    });
    assert_eq!(result, Err(Error::RateLimited { exchange: ExchangeId::Kraken, retry_after_ms: 60_000 }));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        parse_asset_pairs(ok(r#"{"error":[],"result":[]}"#)).map(|_| ()),
        Err(Error::MalformedResponse { exchange: ExchangeId::Kraken })
    );
    assert_eq!(
        parse_tickers(ok(r#"{"error":[],"result":"none"}"#), &BTreeMap::new()),
        Err(Error::MalformedResponse { exchange: ExchangeId::Kraken })
    );
}

#[test]
fn no_error_message_carries_the_body() {
    let body = r#"{"error":["EGeneral:Invalid arguments:SECRET-PAYLOAD-MARKER"],"result":{}}"#;
    let error = parse_balances(ok(body)).err().unwrap_or(Error::AccountNotFound);
    let view = serde_json::to_string(&crate::error::ErrorView::new(&error, 0)).unwrap_or_default();
    assert!(!format!("{error:?} {error} {view}").contains("SECRET-PAYLOAD-MARKER"));
    assert_eq!(error, Error::ExchangeRejected { exchange: ExchangeId::Kraken, code: "EGeneral".into() });
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse { status, body: &body, retry_after_ms: None, received_at_ms: NOW };
        let _ = parse_balances(response);
        let _ = parse_allocations(response);
        let _ = parse_asset_pairs(response);
        let _ = parse_tickers(response, &BTreeMap::new());
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(value in arb_json(), received_at_ms in any::<u64>()) {
        let body = value.to_string();
        let response = HttpResponse { status: 200, body: body.as_bytes(), retry_after_ms: None, received_at_ms };
        let _ = parse_balances(response).map(reconcile);
        let _ = parse_allocations(response);
        let markets = parse_asset_pairs(response).unwrap_or_default();
        let _ = parse_tickers(response, &markets);
    }

    #[test]
    fn holdings_always_add_up(entries in proptest::collection::vec((arb_asset_name(), arb_amount(), arb_amount()), 0..12),
                              allocated in proptest::collection::vec((arb_asset_name(), arb_amount()), 0..4)) {
        let balances: serde_json::Map<String, Value> = entries
            .into_iter()
            .map(|(name, balance, hold)| (name, serde_json::json!({"balance": balance, "hold_trade": hold})))
            .collect();
        let items: Vec<Value> = allocated
            .into_iter()
            .map(|(name, native)| serde_json::json!({"native_asset": name, "amount_allocated": {"total": {"native": native}}}))
            .collect();
        let tallies = parse_balances(ok(&serde_json::json!({"error": [], "result": balances}).to_string()));
        let allocations = parse_allocations(ok(&serde_json::json!({"error": [], "result": {"items": items}}).to_string()));
        if let (Ok(mut tallies), Ok(allocations)) = (tallies, allocations) {
            tallies.extend(allocations);
            for balance in reconcile(tallies).unwrap_or_default() {
                prop_assert!(!balance.available.is_sign_negative() && !balance.locked.is_sign_negative() && !balance.earning.is_sign_negative());
                prop_assert_eq!(balance.total, balance.available + balance.locked + balance.earning);
            }
        }
    }
}

fn arb_asset_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("XXBT".to_owned()), Just("XBT.F".to_owned()), Just("XBT".to_owned()), Just("ZUSD".to_owned()),
        Just("USD.HOLD".to_owned()), Just("DOT.S".to_owned()), Just("DOT".to_owned()), Just("KFEE".to_owned()),
        "[A-Z]{2,5}(\\.[A-Z]{1,4})?",
    ]
}

fn arb_amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..10_000_000_000, 0u32..10).prop_map(|(units, scale)| Value::String(Decimal::new(units as i64, scale).to_string())),
        (0u64..1_000_000).prop_map(Value::from),
    ]
}

/// JSON values shaped like Kraken's envelope and answers often enough to reach the inner parsers.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[0-9]{1,6}(\\.[0-9]{1,8})?".prop_map(Value::String),
        "[A-Z]{1,5}(\\.[A-Z])?".prop_map(Value::String),
        "E[A-Za-z]{1,8}: ?[A-Za-z ]{0,12}(: ?[0-9]{0,12})?".prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("error".to_owned()), Just("result".to_owned()), Just("balance".to_owned()),
                    Just("hold_trade".to_owned()), Just("items".to_owned()), Just("native_asset".to_owned()),
                    Just("amount_allocated".to_owned()), Just("total".to_owned()), Just("native".to_owned()),
                    Just("base".to_owned()), Just("quote".to_owned()), Just("c".to_owned()), Just("v".to_owned()),
                    Just("XXBTZUSD".to_owned()), Just("XBT.F".to_owned()), "[A-Z]{1,6}",
                ],
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    (tree, prop_oneof![Just(Value::Array(vec![])), "E[A-Za-z]{1,8}:[A-Za-z ]{0,12}".prop_map(|e| Value::Array(vec![Value::String(e)]))])
        .prop_map(|(result, error)| serde_json::json!({"error": error, "result": result}))
}

// ---------------------------------------------------------------------------------------------
// Transaction history: the ledger, and daily closes

/// A first page of `Ledgers` in the shape of Kraken's documented example
/// (<https://docs.kraken.com/api/docs/rest-api/get-ledgers>): every kind an account meets.
const LEDGER_FIXTURE: &str = include_str!("../../../tests/fixtures/kraken/ledger-page-1.json");

/// Drives one history page from `cursor`, answering every request with `body`, with the nonces
/// resumed after [`LAST_NONCE`] (so the first request signs with 1731349200123123456).
fn history_page(cursor: Option<&str>, body: &str) -> (Result<HistoryPage>, Vec<HttpRequest>) {
    let credentials = credentials();
    let mut nonces = NonceGenerator::resume(NonceFormat::Salted19, Some(LAST_NONCE));
    let mut entropy = CountingEntropy::new(7);
    let mut flow = Kraken.history(cursor, &[]).unwrap_or_else(|| panic!("Kraken reads its ledger"));
    let mut sent = Vec::new();
    let mut answer: Option<HttpResponse<'_>> = None;
    loop {
        match flow.step(answer.take(), &mut Context::private(NOW, &credentials, &mut nonces, &mut entropy)) {
            Ok(Step::Send(request)) => {
                sent.push(request);
                answer = Some(ok(body));
            }
            Ok(Step::SendAll(_)) => panic!("Kraken's nonces must arrive in order: no batches"),
            Ok(Step::Done(page)) => return (Ok(page), sent),
            Err(error) => return (Err(error), sent),
        }
    }
}


/// A transaction as (kind, side, received, sent, fee), for comparing whole pages at a glance.
type Summary<'a> = (Kind, Option<Side>, Option<(&'a str, Decimal)>, Option<(&'a str, Decimal)>, Option<(&'a str, Decimal)>);

fn summary(transaction: &Transaction) -> Summary<'_> {
    fn leg(leg: &Option<Amount>) -> Option<(&str, Decimal)> {
        leg.as_ref().map(|leg| (leg.asset.as_str(), leg.amount))
    }
    (transaction.kind, transaction.side, leg(&transaction.received), leg(&transaction.sent), leg(&transaction.fee))
}

fn page_of(result: Result<HistoryPage>) -> HistoryPage {
    result.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_ledger_reads_every_kind_as_a_transaction() {
    let (page, sent) = history_page(None, LEDGER_FIXTURE);
    let page = page_of(page);
    assert_eq!(sent.len(), 1);
    let summaries: Vec<Summary<'_>> = page.transactions.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            (Kind::Deposit, None, Some(("usd", dec("5000"))), None, None),
            // Two rows of one refid; the fee rides on the USD leg.
            (Kind::Trade, Some(Side::Buy), Some(("btc", dec("0.05"))), Some(("usd", dec("4321.5"))), Some(("usd", dec("11.2359")))),
            // Paid with fee credits: a KFEE row of its own.
            (Kind::Trade, Some(Side::Sell), Some(("eur", dec("2650.8"))), Some(("eth", dec("1.2"))), Some(("kfee", dec("689.21")))),
            // The network fee is taken on top of what left.
            (Kind::Withdrawal, None, None, Some(("btc", dec("0.01"))), Some(("btc", dec("0.00005")))),
            // Staking (`DOT.S`) and Earn rewards, in the base asset.
            (Kind::Reward, None, Some(("dot", dec("0.1234"))), None, None),
            (Kind::Reward, None, Some(("eth", dec("0.0012"))), None, None),
            // The moves between spot and staking or Earn change nothing: no transaction.
        ]
    );
    let ids: Vec<&str> = page.transactions.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ledger:QCCW5SZ-NHGYL-YZJUQL",
            "ledger:TJKLXX-PGMUI-4NTLXU",
            "ledger:TQ5UYB-ATKPG-LKN6AN",
            "ledger:FTQqzsk-V6Za8qrWnhzTx67rYHz8Tg",
            "ledger:RKBYIS6-WCUJD-Z2QN3S",
            "ledger:STHFSYV-COKEV-2N3FK7",
        ]
    );
    // 2025-03-01T10:00:00Z is 1740823200 (`date -u -d 2025-03-01T10:00:00Z +%s`); the trade's
    // 1740925815.1234 is 2025-03-02T14:30:15.123Z.
    assert_eq!(page.transactions[0].at, 1_740_823_200_000);
    assert_eq!(page.transactions[1].at, 1_740_925_815_123);
    assert!(page.transactions.iter().all(|t| t.check().is_ok()));
    // Fewer rows than a page: caught up. The next sync asks for what came after the newest
    // row's second (2025-03-16T12:00:00Z, 1742126400), skipping the rows of that second it has.
    assert!(page.caught_up);
    assert_eq!((page.read, page.expected, page.wait_ms), (13, Some(13), 0));
    assert_eq!(page.cursor, r#"{"start":1742126400,"seen":["LQWX3M-7FJRD-XQ2VZA","LW5DQG-BSZ2O-2TJ3QK"]}"#);
}

// The three bodies below, signed with the docs' secret, by node:crypto and Python's hmac (the
// same one-liners as above, with path /0/private/Ledgers and nonce 1731349200123123456).
const LEDGER_FIRST_SIGN: &str = "Lr9CDlMv1H6eBhtHwudmf1t17WzxWuvXWRJFxdUXe3DsiKgqJ6CpT0KyEEOyuwRmy5ZOVu5L5UbUw8Xt8dpq8w==";
const LEDGER_NEXT_SIGN: &str = "RARC51pcXteuG2ZaEhHyfWRDFjoNtahjdUOByrIXIJbusTOE/CXlauxVqdAjLnKrekHrAlJuapgH2K3KheVqOw==";
const LEDGER_SYNC_SIGN: &str = "ckOJENUxKYixvrONjAgduG/nJsOe8chJWRu68e0ulCd7v7MiPA5fEtmWjSLihwq5m8S1o5SfStBEoNz2WbgCQg==";

fn assert_ledger_request(request: &HttpRequest, body: &str, signature: &str) {
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://api.kraken.com/0/private/Ledgers");
    assert_eq!(request.body.as_deref(), Some(body));
    assert_eq!(request.header("API-Key"), Some("kraken-test-key"));
    assert_eq!(request.header("API-Sign"), Some(signature));
    assert_eq!(request.header("Content-Type"), Some("application/x-www-form-urlencoded"));
}

/// One ledger row in Kraken's shape.
fn ledger_row(id: &str, refid: &str, time: u64, kind: &str, asset: &str, amount: &str, fee: &str) -> String {
    format!(
        r#""{id}":{{"aclass":"currency","amount":"{amount}","asset":"{asset}","balance":"1.0000","fee":"{fee}","refid":"{refid}","subtype":"","time":{time}.1234,"type":"{kind}"}}"#
    )
}

fn ledger_body(rows: &[String], count: usize) -> String {
    format!(r#"{{"error":[],"result":{{"ledger":{{{}}},"count":{count}}}}}"#, rows.join(","))
}

/// 2025-03-16T12:00:00Z (`date -u -d 2025-03-16T12:00:00Z +%s`).
const T0: u64 = 1_742_126_400;

/// Sixty rows, newest first: deposits an hour apart, except rows 49 and 50, the two legs of one
/// trade, which fall on either side of the first page's end.
fn sixty_rows() -> Vec<String> {
    (0..60u64)
        .map(|i| match i {
            49 => ledger_row("LSPLT1-AAAAA-BBBBBB", "TSPLIT-AAAAA-BBBBBB", T0 - 49 * 3600, "trade", "ZUSD", "-100.0000", "0.2600"),
            50 => ledger_row("LSPLT2-AAAAA-BBBBBB", "TSPLIT-AAAAA-BBBBBB", T0 - 49 * 3600, "trade", "XXBT", "0.0010000000", "0"),
            _ => ledger_row(&format!("LDEP{i:02}-AAAAA-BBBBBB"), &format!("QDEP{i:02}-AAAAA-BBBBBB"), T0 - i * 3600, "deposit", "ZUSD", "10.0000", "0"),
        })
        .collect()
}

#[test]
fn a_first_import_walks_down_by_offset_and_the_next_sync_reads_only_what_is_new() {
    let rows = sixty_rows();

    // First page: the newest 50 rows. The walk is pinned to the newest row's second, so rows
    // that arrive meanwhile cannot shift the offsets; the trade leg at the page's end waits for
    // its partner.
    let (first, sent) = history_page(None, &ledger_body(&rows[..50], 60));
    assert_ledger_request(&sent[0], "nonce=1731349200123123456", LEDGER_FIRST_SIGN);
    let first = page_of(first);
    assert!(!first.caught_up);
    assert_eq!((first.read, first.expected, first.wait_ms), (50, Some(60), LEDGER_PACE_MS));
    assert_eq!(first.transactions.len(), 49);
    assert!(first.transactions.iter().all(|t| t.kind == Kind::Deposit && t.check().is_ok()));
    let cursor: serde_json::Value = serde_json::from_str(&first.cursor).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cursor["end"], T0 + 1);
    assert_eq!(cursor["ofs"], 50);
    assert_eq!(cursor["count"], 60);
    assert_eq!(cursor["held"][0]["id"], "LSPLT1-AAAAA-BBBBBB");
    assert_eq!(cursor["top"], serde_json::json!(["LDEP00-AAAAA-BBBBBB"]));

    // Second page: the same window, 50 rows on; the held leg meets its partner.
    let (second, sent) = history_page(Some(&first.cursor), &ledger_body(&rows[50..], 60));
    assert_ledger_request(&sent[0], "nonce=1731349200123123456&end=1742126401&ofs=50", LEDGER_NEXT_SIGN);
    let second = page_of(second);
    assert!(second.caught_up);
    assert_eq!((second.read, second.expected, second.wait_ms), (60, Some(60), 0));
    assert_eq!(second.transactions.len(), 10);
    let trade = second.transactions.iter().find(|t| t.kind == Kind::Trade).unwrap_or_else(|| panic!("the split trade"));
    assert_eq!(trade.id, "ledger:TSPLIT-AAAAA-BBBBBB");
    assert_eq!(summary(trade), (Kind::Trade, Some(Side::Buy), Some(("btc", dec("0.001"))), Some(("usd", dec("100"))), Some(("usd", dec("0.26")))));
    assert_eq!(second.cursor, r#"{"start":1742126400,"seen":["LDEP00-AAAAA-BBBBBB"]}"#);

    // The next sync: rows after the newest second read; the row of that second it already
    // has comes again and is skipped.
    let new_row = ledger_row("LNEW01-AAAAA-BBBBBB", "QNEW01-AAAAA-BBBBBB", T0 + 7200, "deposit", "ZUSD", "25.0000", "0");
    let (sync, sent) = history_page(Some(&second.cursor), &ledger_body(&[new_row, rows[0].clone()], 2));
    assert_ledger_request(&sent[0], "nonce=1731349200123123456&start=1742126400", LEDGER_SYNC_SIGN);
    let sync = page_of(sync);
    assert!(sync.caught_up);
    assert_eq!(sync.transactions.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["ledger:QNEW01-AAAAA-BBBBBB"]);
    assert_eq!(sync.cursor, r#"{"start":1742133600,"seen":["LNEW01-AAAAA-BBBBBB"]}"#);

    // Nothing new: the same cursor back.
    let (quiet, _) = history_page(Some(&sync.cursor), r#"{"error":[],"result":{"ledger":{},"count":0}}"#);
    let quiet = page_of(quiet);
    assert!(quiet.caught_up && quiet.transactions.is_empty());
    assert_eq!(quiet.cursor, sync.cursor);
}

#[test]
fn a_count_that_changes_mid_walk_starts_the_walk_over() {
    let rows = sixty_rows();
    let cursor = r#"{"end":1742126401,"ofs":50,"count":60}"#;
    // A row moved in the window (Kraken now counts 61): an offset may have skipped one.
    let (page, _) = history_page(Some(cursor), &ledger_body(&rows[50..], 61));
    let page = page_of(page);
    assert!(!page.caught_up && page.transactions.is_empty());
    assert_eq!(page.wait_ms, LEDGER_PACE_MS);
    assert_eq!(page.cursor, r#"{"end":1742126401,"count":61,"restarts":1}"#);
    // After three restarts the walk reads on regardless.
    let cursor = r#"{"end":1742126401,"ofs":50,"count":60,"restarts":3}"#;
    let (page, _) = history_page(Some(cursor), &ledger_body(&rows[50..], 61));
    let page = page_of(page);
    assert!(page.caught_up);
    assert_eq!(page.transactions.len(), 10);
}

#[test]
fn a_key_without_the_ledger_permission_says_so() {
    let (page, _) = history_page(None, r#"{"error":["EGeneral:Permission denied"]}"#);
    assert_eq!(page, Err(Error::HistoryPermission { exchange: ExchangeId::Kraken }));
    // Other errors map as they do for balances.
    let (page, _) = history_page(None, r#"{"error":["EAPI:Invalid key"]}"#);
    assert_eq!(page, Err(Error::InvalidCredentials { exchange: ExchangeId::Kraken }));
    let (page, _) = history_page(None, r#"{"error":["EAPI:Rate limit exceeded"]}"#);
    assert!(matches!(page, Err(Error::RateLimited { exchange: ExchangeId::Kraken, .. })), "{page:?}");
    let (page, _) = history_page(None, r#"{"error":["EAPI:Invalid nonce"]}"#);
    assert_eq!(page, Err(Error::NonceRejected { exchange: ExchangeId::Kraken }));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_page() {
    let good = ledger_row("LGOOD1-AAAAA-BBBBBB", "QGOOD1-AAAAA-BBBBBB", T0, "deposit", "ZUSD", "1", "0");
    for body in [
        ledger_body(&[good.replace("1742126400.1234", "\"yesterday\"")], 1),
        ledger_body(&[good.replace(r#""amount":"1","#, "")], 1),
        ledger_body(&[good.replace(r#""amount":"1""#, r#""amount":"one""#)], 1),
        ledger_body(&[good.replace("ZUSD", "Z U S D")], 1),
        ledger_body(&[good.replace("LGOOD1-AAAAA-BBBBBB", "L GOOD 1")], 1),
        ledger_body(&[good.replace("QGOOD1-AAAAA-BBBBBB", "Q/1")], 1),
        ledger_body(&[good.replace(r#""type":"deposit""#, r#""type":"""#)], 1),
        ledger_body(&[good.replace("1742126400.1234", "99")], 1),
        r#"{"error":[],"result":{"ledger":{}}}"#.to_owned(),
        r#"{"error":[],"result":{"ledger":"none","count":0}}"#.to_owned(),
        r#"{"error":[],"result":{"count":0}}"#.to_owned(),
    ] {
        let (page, _) = history_page(None, &body);
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Kraken }), "{body}");
    }
    // An empty ledger may come as an empty array.
    let (page, _) = history_page(None, r#"{"error":[],"result":{"ledger":[],"count":0}}"#);
    let page = page_of(page);
    assert!(page.caught_up && page.transactions.is_empty());
    assert_eq!(page.cursor, "{}");
    // A cursor comes back from storage: anything that is not one of ours is refused.
    for cursor in [
        "not json",
        r#"{"ofs":50}"#,
        r#"{"start":1,"extra":true}"#,
        r#"{"end":2,"seen":["not an id!"]}"#,
        r#"{"end":2,"held":[{"id":"L1","refid":"R1","at":1,"type":"trade","subtype":"","asset":"B T C","amount":"1","fee":"0"}]}"#,
    ] {
        let (page, sent) = history_page(Some(cursor), LEDGER_FIXTURE);
        assert_eq!(page, Err(Error::InvalidInput { field: "cursor" }), "{cursor}");
        assert!(sent.is_empty());
    }
}

#[test]
fn rows_that_move_nothing_are_skipped() {
    let rows = [
        // A failed withdrawal and its reversal, fee given back.
        ledger_row("LFAIL1-AAAAA-BBBBBB", "FAIL01-AAAAA-BBBBBB", T0, "withdrawal", "XXBT", "-0.5000000000", "0.0005000000"),
        ledger_row("LFAIL2-AAAAA-BBBBBB", "FAIL01-AAAAA-BBBBBB", T0 + 60, "withdrawal", "XXBT", "0.5000000000", "-0.0005000000"),
        // Spot to Earn under one refid.
        ledger_row("LEARN1-AAAAA-BBBBBB", "EARN01-AAAAA-BBBBBB", T0 + 120, "earn", "DOT", "-5", "0")
            .replace(r#""subtype":"""#, r#""subtype":"allocation""#),
        ledger_row("LEARN2-AAAAA-BBBBBB", "EARN01-AAAAA-BBBBBB", T0 + 120, "earn", "DOT.S", "5", "0")
            .replace(r#""subtype":"""#, r#""subtype":"allocation""#),
    ];
    let (page, _) = history_page(None, &ledger_body(&rows, 4));
    let page = page_of(page);
    assert!(page.caught_up);
    assert!(page.transactions.is_empty(), "{:?}", page.transactions);
}

/// Candles in the shape of Kraken's documented example
/// (<https://docs.kraken.com/api/docs/rest-api/get-ohlc-data>). NOW (2024-11-11T18:20:00Z) is
/// day 20038; 1730505600 is day 20029 (`date -u -d @1730505600` = 2024-11-02), 1731110400 day
/// 20036, 1731196800 day 20037 and 1731283200 day 20038, today.
const CANDLES: &str = r#"{"error":[],"result":{"XXBTZUSD":[
    [1730505600,"69500.0","70100.0","69000.1","69800.5","69600.2","1500.1",40000],
    [1731110400,"76000.0","77000.0","75800.0","76550.1","76400.0","2100.5",52000],
    [1731196800,"76550.1","80000.0","76000.0","0","78000.0","0",0],
    [1731283200,"80000.0","81000.0","79500.0","80900.0","80500.0","900.3",21000]
],"last":1731196800}}"#;

#[test]
fn daily_closes_are_one_public_call_for_the_days_asked() {
    let flow = Kraken.daily_closes("XXBTZUSD", 20_030, 20_038).unwrap_or_else(|| panic!("Kraken has candles"));
    let (closes, sent) = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, CANDLES.to_owned()));
    let closes = closes.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 1);
    // 20030 × 86400 − 1 = 1730591999.
    assert_eq!(sent[0].url, "https://api.kraken.com/0/public/OHLC?pair=XXBTZUSD&interval=1440&since=1730591999");
    assert_eq!(sent[0].method, Method::Get);
    assert!(sent[0].headers.is_empty() && sent[0].body.is_none(), "public");
    // Day 20029 was not asked for, 20037 closed at nothing, 20038 is still moving.
    assert_eq!(closes, [DailyClose { day: 20_036, close: dec("76550.1") }]);
    // Days older than the 720 candles Kraken keeps: nothing to ask.
    let flow = Kraken.daily_closes("XXBTZUSD", 10, 20).unwrap_or_else(|| panic!("Kraken has candles"));
    let (closes, sent) = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, CANDLES.to_owned()));
    assert_eq!(closes, Ok(Vec::new()));
    assert!(sent.is_empty());
    // Errors as everywhere else.
    let flow = Kraken.daily_closes("XXBTZUSD", 20_030, 20_038).unwrap_or_else(|| panic!("Kraken has candles"));
    let (closes, _) = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, r#"{"error":["EQuery:Unknown asset pair"]}"#.to_owned()));
    assert!(matches!(closes, Err(Error::ExchangeRejected { exchange: ExchangeId::Kraken, .. })), "{closes:?}");
    // Only a pair id reaches the URL.
    for market in ["", "XBT/USD", "XBTUSD&since=0", "kraken:XBTUSD", "ÄBC", &"A".repeat(33)] {
        assert!(Kraken.daily_closes(market, 0, 1).is_none(), "{market}");
    }
}

/// A ledger row made of the pieces proptest picks.
fn arb_ledger_row() -> impl Strategy<Value = (usize, u64, &'static str, &'static str, &'static str, Decimal, Decimal)> {
    (
        0usize..4,
        0u64..4,
        prop::sample::select(vec!["trade", "deposit", "withdrawal", "staking", "earn", "adjustment", "transfer", "spend", "receive"]),
        prop::sample::select(vec!["", "reward", "airdrop"]),
        prop::sample::select(vec!["XXBT", "ZUSD", "XETH", "DOT.S", "KFEE", "USDT"]),
        (-1_000_000_000i64..1_000_000_000, 0u32..9).prop_map(|(units, scale)| Decimal::new(units, scale)),
        prop_oneof![Just(Decimal::ZERO), (-1_000i64..100_000, 0u32..6).prop_map(|(units, scale)| Decimal::new(units, scale))],
    )
}

proptest! {
    #[test]
    fn ledger_pages_never_panic(body in "\\PC{0,400}") {
        let _ = history_page(None, &body);
        let _ = history_page(Some(&body), LEDGER_FIXTURE);
    }

    #[test]
    fn ledger_shapes_never_panic(value in arb_json(), ledger in arb_json()) {
        let _ = history_page(None, &value.to_string());
        let nested = serde_json::json!({"error": [], "result": {"ledger": ledger["result"].clone(), "count": 3}});
        let _ = history_page(None, &nested.to_string());
    }

    #[test]
    fn candles_never_panic(value in arb_json(), body in "\\PC{0,200}") {
        for text in [value.to_string(), body] {
            let flow = Kraken.daily_closes("XXBTZUSD", 20_000, 20_038).unwrap_or_else(|| panic!("Kraken has candles"));
            let _ = testing::run(flow, None, NonceFormat::Salted19, NOW, |_| (200, text.clone()));
        }
    }

    /// A walk that ends on its page settles every row: the transactions move each balance by
    /// exactly what the rows did (`amount − fee`), whatever pairs they formed.
    #[test]
    fn transactions_move_balances_as_the_ledger_rows_do(rows in proptest::collection::vec(arb_ledger_row(), 0..20)) {
        let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
        let texts: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(index, (refid, seconds, kind, subtype, asset, amount, fee))| {
                let code = match *asset {
                    "XXBT" => "btc", "ZUSD" => "usd", "XETH" => "eth", "DOT.S" => "dot", "KFEE" => "kfee", _ => "usdt",
                };
                let change = expected.entry(code.to_owned()).or_default();
                *change += *amount - *fee;
                ledger_row(&format!("LROW{index:02}-AAAAA-BBBBBB"), &format!("TREF{refid:02}-AAAAA-BBBBBB"), T0 + seconds, kind, asset, &amount.to_string(), &fee.to_string())
                    .replace(r#""subtype":"""#, &format!(r#""subtype":"{subtype}""#))
            })
            .collect();
        let (page, _) = history_page(None, &ledger_body(&texts, texts.len()));
        let page = page_of(page);
        prop_assert!(page.caught_up);
        let mut moved: BTreeMap<String, Decimal> = BTreeMap::new();
        for transaction in &page.transactions {
            prop_assert!(transaction.check().is_ok(), "{transaction:?}");
            for (asset, change) in transaction.balance_changes().unwrap_or_else(|| panic!("no overflow")) {
                *moved.entry(asset.to_owned()).or_default() += change;
            }
        }
        expected.retain(|_, change| !change.is_zero());
        moved.retain(|_, change| !change.is_zero());
        prop_assert_eq!(moved, expected);
        let ids: std::collections::BTreeSet<&str> = page.transactions.iter().map(|t| t.id.as_str()).collect();
        prop_assert_eq!(ids.len(), page.transactions.len(), "ids are unique");
    }
}
