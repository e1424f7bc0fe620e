use std::str::FromStr;

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::{exchange::testing, nonce::NonceFormat};

/// The example key pair of Binance's "SIGNED Endpoint Examples"
/// (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security>).
const DOC_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

/// Binance's clock in the flow tests; the computer's is five seconds behind it, which Binance
/// accepts, or five seconds ahead, which it refuses.
const SERVER_TIME: u64 = 1_700_000_000_000;
const LOCAL_TIME: u64 = 1_699_999_995_000;
const LOCAL_AHEAD: u64 = 1_700_000_005_000;

const X: ExchangeId = ExchangeId::Binance;

fn credentials() -> Credentials {
    Binance.credentials(DOC_KEY, DOC_SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn signature_of(request: &HttpRequest) -> &str {
    let signed = request.body.as_deref().unwrap_or(&request.url);
    signed.rsplit_once("&signature=").map(|(_, signature)| signature).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Signing vectors

/// B1 and B2: the official examples, signed as a query string and as a form body (the payload
/// is the same either way). B2's elided parameters are B1's, as in the docs' text.
#[test]
fn signatures_match_the_official_examples() {
    let cases = [
        (
            "B1, docs: HMAC example",
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
        ),
        (
            "B2, docs: non-ASCII symbol, percent-encoded before signing",
            "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1\
             &price=0.1&recvWindow=5000&timestamp=1499827319559",
            "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3",
        ),
    ];
    for (name, query, signature) in cases {
        let get = signed_request(&credentials(), Method::Get, "/api/v3/order", query).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(get.url, format!("https://api.binance.com/api/v3/order?{query}&signature={signature}"), "{name}");
        assert_eq!(get.body, None);
        assert_eq!(get.header("X-MBX-APIKEY"), Some(DOC_KEY));
        assert_eq!(get.header("Content-Type"), None);

        let post = signed_request(&credentials(), Method::Post, "/api/v3/order", query).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(post.url, "https://api.binance.com/api/v3/order", "{name}");
        assert_eq!(post.body, Some(format!("{query}&signature={signature}")), "{name}");
        assert_eq!(post.header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(post.header("x-mbx-apikey"), Some(DOC_KEY));
    }
}

// B3–B5 (shared/reference/exchanges-2.md §5) and the queries this adapter sends, with the docs'
// secret, each computed by two independent implementations:
//   S=NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j
//   node -e 'const [s,m]=process.argv.slice(1);
//     console.log(require("node:crypto").createHmac("sha256",s).update(m).digest("hex"))' "$S" "$QUERY"
//   python3 -c 'import hmac,hashlib,sys;
//     print(hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),hashlib.sha256).hexdigest())' "$S" "$QUERY"
// Both printed the same hex for every QUERY below.
const B3: &str = "b4506f87914212f7bba227174dc769482f8935aaa63d6c36f856a9e1c6c6ecbf";
const B4: &str = "b4069c8a49b1ce04606701ff7d300a7db2344d4f355056e70bb4e48d247b0a28";
const B5: &str = "7ef8ae59b4a0121f914da1aeede062c8896147b2ec0a6f1f72db91027a229172";
const ACCOUNT_SIGNATURE: &str = "fa23120bf7c1810b46f48fa6095d936a5e1382590a1e5fbac572c942bb67cdf3";
const PAGE_2_SIGNATURE: &str = "2f58984884a177734b51fa644912eb3fd74a557695b2b832559d536847b87ea9";

#[test]
fn signatures_match_node_crypto_and_python_hmac() {
    let cases = [
        ("B3, account in ccxt's order", Method::Get, ACCOUNT_PATH, "timestamp=1700000000000&omitZeroBalances=true&recvWindow=5000", B3),
        ("B4, funding body", Method::Post, FUNDING_PATH, "timestamp=1700000000000&recvWindow=10000", B4),
        ("B5, flexible page 1", Method::Get, FLEXIBLE_PATH, "timestamp=1700000000000&current=1&size=100&recvWindow=10000", B5),
        (
            "account as sent",
            Method::Get,
            ACCOUNT_PATH,
            "timestamp=1700000000000&omitZeroBalances=true&recvWindow=10000",
            ACCOUNT_SIGNATURE,
        ),
        ("flexible page 2", Method::Get, FLEXIBLE_PATH, "timestamp=1700000000000&current=2&size=100&recvWindow=10000", PAGE_2_SIGNATURE),
    ];
    for (name, method, path, query, signature) in cases {
        let request = signed_request(&credentials(), method, path, query).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signature_of(&request), signature, "{name}");
    }
}

#[test]
fn debug_prints_neither_key_nor_signature() {
    let request = signed_request(&credentials(), Method::Get, ACCOUNT_PATH, "timestamp=1700000000000&recvWindow=10000")
        .unwrap_or_else(|e| panic!("{e}"));
    let printed = format!("{request:?}");
    assert!(!printed.contains(DOC_KEY) && !printed.contains(B4) && !printed.contains("timestamp"), "{printed}");
}

#[test]
fn credentials_must_be_an_hmac_pair() {
    assert!(Binance.credentials(&format!("  {DOC_KEY}\n"), &format!("{DOC_SECRET} ")).is_ok(), "pasted whitespace is trimmed");
    let ed25519_pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJNAVJ4tKdL2RtQXaVY0uqIASe5MZut9ACdnTfrbqbrQ\n-----END PRIVATE KEY-----";
    for secret in [ed25519_pem, "abc+def/ghi=", "secret with spaces", ""] {
        assert_eq!(Binance.credentials(DOC_KEY, secret), Err(Error::InvalidInput { field: "api_secret" }), "{secret:?}");
    }
    assert_eq!(Binance.credentials("", DOC_SECRET), Err(Error::InvalidInput { field: "api_key" }));
}

// ---------------------------------------------------------------------------------------------
// Holdings

const ACCOUNT: &str = r#"{"makerCommission":10,"takerCommission":10,"buyerCommission":0,"sellerCommission":0,
 "commissionRates":{"maker":"0.00100000","taker":"0.00100000","buyer":"0.00000000","seller":"0.00000000"},
 "canTrade":true,"canWithdraw":true,"canDeposit":true,"brokered":false,"requireSelfTradePrevention":false,
 "preventSor":false,"updateTime":1699999990000,"accountType":"SPOT","balances":[
  {"asset":"BTC","free":"0.51000000","locked":"0.01000000"},
  {"asset":"ETH","free":"2.00000000","locked":"0.00000000"},
  {"asset":"BNB","free":"1.25000000","locked":"0.25000000"},
  {"asset":"USDT","free":"150.55000000","locked":"49.45000000"},
  {"asset":"LDO","free":"40.00000000","locked":"0.00000000"},
  {"asset":"LDUSDT","free":"1000.12345678","locked":"0.00000000"},
  {"asset":"LDBTC","free":"0.05000000","locked":"0.00000000"},
  {"asset":"LDOP","free":"12.00000000","locked":"0.00000000"},
  {"asset":"YOYO","free":"100.00000000","locked":"0.00000000"}
 ],"permissions":["SPOT"],"uid":354937868}"#;

const FUNDING: &str = r#"[
  {"asset":"USDT","free":"25.00000000","locked":"5.00000000","freeze":"10.00000000","withdrawing":"2.50000000","btcValuation":"0.00046000"},
  {"asset":"BTC","free":"0.00100000","locked":"0","freeze":"0","withdrawing":"0","btcValuation":"0.00100000"}
]"#;

/// Flexible positions: 101 in all, so two pages.
fn flexible_page(page: u64) -> String {
    let row = |asset: &str, amount: &str| {
        format!(
            r#"{{"totalAmount":"{amount}","tierAnnualPercentageRate":{{"0-5BTC":0.05}},"latestAnnualPercentageRate":"0.02599895",
               "asset":"{asset}","canRedeem":true,"collateralAmount":"0","productId":"{asset}001",
               "yesterdayRealTimeRewards":"0.10293829","cumulativeBonusRewards":"0","cumulativeRealTimeRewards":"0",
               "cumulativeTotalRewards":"0","autoSubscribe":true}}"#
        )
    };
    let rows: Vec<String> = if page == 1 {
        let mut rows = vec![row("USDT", "1000.12345678"), row("BTC", "0.05000000"), row("OP", "12.00000000")];
        rows.extend((0..97).map(|_| row("SHIB", "1000.00")));
        rows
    } else {
        vec![row("ETH", "0.50000000")]
    };
    format!(r#"{{"rows":[{}],"total":101}}"#, rows.join(","))
}

const LOCKED: &str = r#"{"rows":[
  {"positionId":123123,"parentPositionId":123122,"projectId":"Axs*90","asset":"AXS","amount":"122.09202928",
   "purchaseTime":"1646182276000","duration":"90","accrualDays":"4","rewardAsset":"AXS","APY":"0.2032",
   "rewardAmt":"5.17181528","nextPay":"1.29295383","nextPayDate":"1646697600000","payPeriod":"1",
   "redeemAmountEarly":"2802.24068892","rewardsEndDate":"1651449600000","deliverDate":"1651536000000",
   "redeemPeriod":"1","redeemingAmt":"232.2323","canRedeemEarly":true,"autoSubscribe":true,"type":"AUTO",
   "status":"HOLDING","canReStake":true},
  {"positionId":123124,"projectId":"Eth*120","asset":"ETH","amount":"1.5","status":"HOLDING"}
],"total":2}"#;

/// The path a request goes to.
fn path_of(request: &HttpRequest) -> &str {
    request.url.trim_start_matches(API_ORIGIN).split('?').next().unwrap_or_default()
}

/// A parameter of a request, from its form body or else its query string.
fn param<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    let params = match &request.body {
        Some(body) => body.as_str(),
        None => request.url.split_once('?')?.1,
    };
    params.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Answers like Binance for the fixture account, its clock at [`SERVER_TIME`]: a signed request
/// stamped 1 s or more ahead of it, or more than `recvWindow` behind, is refused with -1021.
fn binance(request: &HttpRequest) -> testing::Answer {
    if let Some(timestamp) = param(request, "timestamp").and_then(|t| t.parse::<u64>().ok()) {
        let window: u64 = param(request, "recvWindow").and_then(|w| w.parse().ok()).unwrap_or(5_000);
        if timestamp >= SERVER_TIME + 1_000 || SERVER_TIME.saturating_sub(timestamp) > window {
            return (400, r#"{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."}"#.to_owned());
        }
    }
    match path_of(request) {
        TIME_PATH => (200, format!(r#"{{"serverTime":{SERVER_TIME}}}"#)),
        ACCOUNT_PATH => (200, ACCOUNT.to_owned()),
        FUNDING_PATH => (200, FUNDING.to_owned()),
        FLEXIBLE_PATH => {
            let page = param(request, "current").and_then(|page| page.parse().ok()).unwrap_or(0);
            (200, flexible_page(page))
        }
        LOCKED_PATH => (200, LOCKED.to_owned()),
        RESTRICTIONS_PATH => (200, RESTRICTIONS_READ_ONLY.to_owned()),
        _ => (404, r#"{"code":-1000,"msg":"unknown path"}"#.to_owned()),
    }
}

fn holdings() -> (Result<Vec<Balance>>, Vec<HttpRequest>) {
    testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, binance)
}

/// Every request of the holdings flow, exactly, for a fixed clock, grouped as they are sent: the
/// four wallets at once on the computer's clock, five seconds ahead of Binance's and refused;
/// the time alone; the four wallets again, each signed with Binance's time; then the second
/// flexible page, the only one left, on Binance's time too.
#[test]
fn holdings_requests_are_pinned() {
    let (result, mut batches) =
        testing::run_batches(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_AHEAD, binance);
    assert!(result.is_ok(), "{result:?}");
    let refused = batches.remove(0);
    let stamped: Vec<(&str, Option<&str>)> = refused.iter().map(|r| (path_of(r), param(r, "timestamp"))).collect();
    let ahead = Some("1700000005000");
    assert_eq!(stamped, [(ACCOUNT_PATH, ahead), (FUNDING_PATH, ahead), (FLEXIBLE_PATH, ahead), (LOCKED_PATH, ahead)]);
    let signed = |path: &str, query: &str, signature: &str| format!("{API_ORIGIN}{path}?{query}&signature={signature}");
    let page = |n: u64| format!("timestamp=1700000000000&current={n}&size=100&recvWindow=10000");
    let expected: Vec<Vec<(Method, String, Option<String>)>> = vec![
        vec![(Method::Get, "https://api.binance.com/api/v3/time".to_owned(), None)],
        vec![
            (
                Method::Get,
                signed(ACCOUNT_PATH, "timestamp=1700000000000&omitZeroBalances=true&recvWindow=10000", ACCOUNT_SIGNATURE),
                None,
            ),
            (
                Method::Post,
                "https://api.binance.com/sapi/v1/asset/get-funding-asset".to_owned(),
                Some(format!("timestamp=1700000000000&recvWindow=10000&signature={B4}")),
            ),
            (Method::Get, signed(FLEXIBLE_PATH, &page(1), B5), None),
            // Binance does not sign the path: the locked page 1 carries the flexible page 1's signature.
            (Method::Get, signed(LOCKED_PATH, &page(1), B5), None),
        ],
        vec![(Method::Get, signed(FLEXIBLE_PATH, &page(2), PAGE_2_SIGNATURE), None)],
    ];
    let got: Vec<Vec<(Method, String, Option<String>)>> =
        batches.iter().map(|batch| batch.iter().map(|r| (r.method, r.url.clone(), r.body.clone())).collect()).collect();
    assert_eq!(got, expected);

    assert!(batches[0][0].headers.is_empty(), "the time request is public");
    for request in batches[1..].iter().flatten() {
        assert_eq!(request.header("X-MBX-APIKEY"), Some(DOC_KEY));
        assert_eq!(request.header("Content-Type").is_some(), request.method == Method::Post);
        assert_eq!(request.host(), "api.binance.com");
    }
}

#[test]
fn holdings_sum_every_wallet_and_skip_earn_mirrors() {
    let (result, _) = holdings();
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    // (asset, total, available, locked, earning), in the order assets first appear.
    let expected = [
        // 0.52 spot + 0.001 funding + 0.05 flexible; LDBTC (five characters) is not counted again.
        ("btc", "0.571", "0.511", "0.01", "0.05"),
        // 2 spot + 0.5 flexible (page 2) + 1.5 locked.
        ("eth", "4", "2", "0", "2"),
        ("bnb", "1.5", "1.25", "0.25", "0"),
        // 200 spot + 42.5 funding (5 locked + 10 frozen + 2.5 withdrawing held) + 1000.12345678
        // flexible; LDUSDT is its mirror.
        ("usdt", "1242.62345678", "175.55", "66.95", "1000.12345678"),
        // Lido's LDO is a real asset, not a mirror of an "O" position.
        ("ldo", "40", "40", "0", "0"),
        // Binance's YOYO is YOYOW.
        ("yoyow", "100", "100", "0", "0"),
        // LDOP is four characters, skipped only because OP has a flexible position.
        ("op", "12", "0", "0", "12"),
        ("shib", "97000", "0", "0", "97000"),
        ("axs", "122.09202928", "0", "0", "122.09202928"),
    ];
    let got: Vec<_> = balances.iter().map(|b| (b.currency.as_str(), b.total, b.available, b.locked, b.earning)).collect();
    let want: Vec<_> = expected.iter().map(|(c, t, a, l, e)| (*c, dec(t), dec(a), dec(l), dec(e))).collect();
    assert_eq!(got, want);
}

#[test]
fn ld_entries_are_mirrors_by_length_or_by_earn_position() {
    let earn = BTreeSet::from(["OP".to_owned(), "USDT".to_owned()]);
    let cases = [
        ("LDUSDT", true),
        ("LDBTC", true),
        ("LDSHIB2", true),
        ("LDOP", true),
        ("LDO", false),
        ("LDAB", false),
        ("LD", false),
        ("OLD", false),
        ("BTC", false),
    ];
    for (code, mirror) in cases {
        assert_eq!(mirrors_earn(code, &earn), mirror, "{code}");
    }
    assert!(!mirrors_earn("LDOP", &BTreeSet::new()), "without an OP position LDOP is an asset");
}

#[test]
fn codes_are_mapped_and_lowercased() {
    let cases = [
        ("BTC", Some("btc")),
        ("XBT", Some("btc")),
        ("BCHSV", Some("bsv")),
        ("YOYO", Some("yoyow")),
        ("BCC", Some("bcc")),
        ("1000SATS", Some("1000sats")),
        (" USDT ", Some("usdt")),
        ("币安人生", Some("币安人生")),
        ("", None),
        ("BT C", None),
        ("BTC\u{0}", None),
    ];
    for (code, expected) in cases {
        assert_eq!(cartera_code(code).as_deref(), expected, "{code:?}");
    }
}

#[test]
fn empty_wallets_give_no_balances() {
    let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
        match path_of(request) {
            TIME_PATH => (200, format!(r#"{{"serverTime":{SERVER_TIME}}}"#)),
            ACCOUNT_PATH => (200, r#"{"accountType":"SPOT","balances":[],"permissions":["SPOT"]}"#.to_owned()),
            FUNDING_PATH => (200, "[]".to_owned()),
            _ => (200, r#"{"rows":[],"total":0}"#.to_owned()),
        }
    });
    assert_eq!(result, Ok(Vec::new()));
    assert_eq!(sent.len(), 4, "account, funding, one page of each Earn kind: a clock Binance accepts needs no time");
}

/// Whichever Earn kinds have more pages are paged together, one page of each per batch, until
/// the last; positions from any page count for the `LD` rule (`LDOP` is skipped for an `OP`
/// position on the last flexible page). Every signed request checks against an HMAC computed
/// here, apart from the adapter's signing code.
#[test]
fn earn_pages_of_both_kinds_go_together() {
    use hmac::{Hmac, KeyInit, Mac};

    let earn_page = |rows: Vec<String>, total: usize| format!(r#"{{"rows":[{}],"total":{total}}}"#, rows.join(","));
    let flexible = |asset: &str, amount: &str| format!(r#"{{"asset":"{asset}","totalAmount":"{amount}"}}"#);
    let locked = |asset: &str, amount: &str| format!(r#"{{"asset":"{asset}","amount":"{amount}"}}"#);
    let answer = |request: &HttpRequest| {
        let path = path_of(request);
        if path != TIME_PATH {
            let signed = request.body.as_deref().unwrap_or_else(|| request.url.split_once('?').map_or("", |(_, query)| query));
            let (payload, signature) = signed.rsplit_once("&signature=").unwrap_or_else(|| panic!("{path}: unsigned"));
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(DOC_SECRET.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            mac.update(payload.as_bytes());
            assert_eq!(hex::encode(mac.finalize().into_bytes()), signature, "{path}");
        }
        let page = param(request, "current").unwrap_or_default();
        match (path, page) {
            // 250 flexible positions: three pages.
            (FLEXIBLE_PATH, "1") => (200, earn_page(vec![flexible("USDT", "1"); 100], 250)),
            (FLEXIBLE_PATH, "2") => (200, earn_page(vec![flexible("BTC", "0.01"); 100], 250)),
            (FLEXIBLE_PATH, "3") => {
                let mut rows = vec![flexible("ETH", "1"); 49];
                rows.push(flexible("OP", "12"));
                (200, earn_page(rows, 250))
            }
            // 150 locked positions: two pages.
            (LOCKED_PATH, "1") => (200, earn_page(vec![locked("DOT", "0.5"); 100], 150)),
            (LOCKED_PATH, "2") => (200, earn_page(vec![locked("AXS", "2"); 50], 150)),
            _ => binance(request),
        }
    };
    let (result, batches) =
        testing::run_batches(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, answer);
    let shape: Vec<Vec<(&str, Option<&str>)>> =
        batches.iter().map(|batch| batch.iter().map(|r| (path_of(r), param(r, "current"))).collect()).collect();
    assert_eq!(
        shape,
        [
            vec![(ACCOUNT_PATH, None), (FUNDING_PATH, None), (FLEXIBLE_PATH, Some("1")), (LOCKED_PATH, Some("1"))],
            vec![(FLEXIBLE_PATH, Some("2")), (LOCKED_PATH, Some("2"))],
            vec![(FLEXIBLE_PATH, Some("3"))],
        ]
    );
    let balances = result.unwrap_or_else(|e| panic!("{e}"));
    let earning = |currency: &str| balances.iter().find(|b| b.currency == currency).map(|b| b.earning);
    let expected = [("usdt", "100"), ("btc", "1"), ("eth", "49"), ("op", "12"), ("dot", "50"), ("axs", "100")];
    for (currency, amount) in expected {
        assert_eq!(earning(currency), Some(dec(amount)), "{currency}");
    }
    assert_eq!(earning("ldop"), None, "LDOP mirrors the OP position of the last page");
}

/// Rows are counted across every answer of every batch: each wallet alone is within
/// [`MAX_ROWS`], together they may not be more.
#[test]
fn rows_are_counted_across_every_answer() {
    let half = MAX_ROWS / 2;
    let spot = format!(r#"{{"balances":[{}]}}"#, vec![r#"{"asset":"BTC","free":"1","locked":"0"}"#; half].join(","));
    let funding_row = r#"{"asset":"ETH","free":"1","locked":"0","freeze":"0","withdrawing":"0"}"#;
    let funding = format!("[{}]", vec![funding_row; MAX_ROWS - half].join(","));
    for (locked_rows, expected) in [(0, Ok(())), (1, Err(Error::MalformedResponse { exchange: X }))] {
        let locked = format!(r#"{{"rows":[{}],"total":{locked_rows}}}"#, vec![r#"{"asset":"DOT","amount":"1"}"#; locked_rows].join(","));
        let (result, _) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
            match path_of(request) {
                ACCOUNT_PATH => (200, spot.clone()),
                FUNDING_PATH => (200, funding.clone()),
                FLEXIBLE_PATH => (200, r#"{"rows":[],"total":0}"#.to_owned()),
                LOCKED_PATH => (200, locked.clone()),
                _ => binance(request),
            }
        });
        assert_eq!(result.map(|_| ()), expected, "{locked_rows} locked rows");
    }
}

#[test]
fn paging_stops_on_an_empty_page_whatever_the_total_says() {
    let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
        match path_of(request) {
            FLEXIBLE_PATH if param(request, "current") == Some("1") => {
                (200, r#"{"rows":[{"asset":"USDT","totalAmount":"5"}],"total":1000000}"#.to_owned())
            }
            FLEXIBLE_PATH => (200, r#"{"rows":[],"total":1000000}"#.to_owned()),
            _ => binance(request),
        }
    });
    assert!(result.is_ok(), "{result:?}");
    let flexible = sent.iter().filter(|r| r.url.contains(FLEXIBLE_PATH)).count();
    assert_eq!(flexible, 2);
}

/// The computer's clock first; once Binance refuses it, Binance's clock as the computer's
/// advances between steps, for the refused batch and every later one. The requests of one batch
/// carry the same timestamp, and Binance's time is asked once at most.
#[test]
fn timestamps_follow_the_server_clock() {
    use crate::entropy::testing::CountingEntropy;
    let credentials = credentials();
    let mut nonces = crate::nonce::NonceGenerator::new(NonceFormat::Salted19);
    let mut entropy = CountingEntropy::new(1);
    let mut flow = Binance.holdings();
    let at = |body: &'static str, received_at_ms: u64| HttpResponse { received_at_ms, ..HttpResponse::new(200, body.as_bytes()) };
    let refused = HttpResponse::new(400, br#"{"code":-1021,"msg":"x"}"#);
    let local = match flow.step(None, &mut Context::private(1_000, &credentials, &mut nonces, &mut entropy)) {
        Ok(Step::SendAll(requests)) => requests,
        other => panic!("{other:?}"),
    };
    assert!(local.iter().all(|request| param(request, "timestamp") == Some("1000")), "{local:?}");
    // One refusal in the batch is enough to ask the time.
    let answers = vec![at(ACCOUNT, 1_000), refused, at(LOCKED, 1_000), at(LOCKED, 1_000)];
    let time = match flow.step_all(answers, &mut Context::private(1_000, &credentials, &mut nonces, &mut entropy)) {
        Ok(Step::Send(request)) => request,
        other => panic!("{other:?}"),
    };
    assert_eq!(time.url, "https://api.binance.com/api/v3/time");
    // Binance is 4 s ahead when the answer arrives at 1 000.
    let answer = Some(at(r#"{"serverTime":5000}"#, 1_000));
    let first = match flow.step(answer, &mut Context::private(1_000, &credentials, &mut nonces, &mut entropy)) {
        Ok(Step::SendAll(requests)) => requests,
        other => panic!("{other:?}"),
    };
    let paths: Vec<&str> = first.iter().map(path_of).collect();
    assert_eq!(paths, [ACCOUNT_PATH, FUNDING_PATH, FLEXIBLE_PATH, LOCKED_PATH], "the same batch again");
    assert!(first.iter().all(|request| param(request, "timestamp") == Some("5000")), "{first:?}");
    // Half a second later on the computer's clock, the second flexible page.
    let page_1 = flexible_page(1);
    let answers = vec![at(ACCOUNT, 1_500), at(FUNDING, 1_500), ok(&page_1), at(LOCKED, 1_500)];
    let second = match flow.step_all(answers, &mut Context::private(1_500, &credentials, &mut nonces, &mut entropy)) {
        Ok(Step::SendAll(requests)) => requests,
        other => panic!("{other:?}"),
    };
    assert_eq!(second.len(), 1);
    assert_eq!((param(&second[0], "current"), param(&second[0], "timestamp")), (Some("2"), Some("5500")));
    // Refused again on Binance's own time: the clock is not the computer's to fix.
    let again = flow.step_all(vec![refused], &mut Context::private(1_600, &credentials, &mut nonces, &mut entropy));
    assert_eq!(again.map(|_| ()), Err(Error::ClockSkew { exchange: X }));

    // And when Binance is behind.
    let mut flow = Binance.key_scope().unwrap_or_else(|| panic!("Binance reports key scopes"));
    let mut nonces = crate::nonce::NonceGenerator::new(NonceFormat::Salted19);
    let mut context = Context::private(90_000, &credentials, &mut nonces, &mut entropy);
    assert!(matches!(flow.step(None, &mut context), Ok(Step::Send(_))));
    let restrictions = match flow.step(Some(ok(r#"{"serverTime":30000}"#)), &mut context) {
        Ok(Step::Send(request)) => request,
        other => panic!("{other:?}"),
    };
    assert_eq!(param(&restrictions, "timestamp"), Some("30000"));
}

#[test]
fn answers_out_of_turn_are_refused() {
    use crate::entropy::testing::CountingEntropy;
    let credentials = credentials();
    let mut nonces = crate::nonce::NonceGenerator::new(NonceFormat::Salted19);
    let mut entropy = CountingEntropy::new(1);
    let mut context = Context::private(LOCAL_TIME, &credentials, &mut nonces, &mut entropy);
    let out_of_turn = Err(Error::InvalidInput { field: "refresh" });
    let time = ok(r#"{"serverTime":1700000000000}"#);

    let refused = HttpResponse::new(400, br#"{"code":-1021,"msg":"x"}"#);
    let four_refused = || vec![refused; 4];

    let mut flow = Binance.holdings();
    assert_eq!(flow.step_all(four_refused(), &mut context).map(|_| ()), out_of_turn, "a batch before the start");
    let mut flow = Binance.holdings();
    assert!(matches!(flow.step(None, &mut context), Ok(Step::SendAll(_))));
    assert_eq!(flow.step(Some(ok(ACCOUNT)), &mut context).map(|_| ()), out_of_turn, "one answer for a batch");
    let mut flow = Binance.holdings();
    assert!(matches!(flow.step(None, &mut context), Ok(Step::SendAll(_))));
    let three = vec![ok(ACCOUNT), ok(FUNDING), ok(LOCKED)];
    assert_eq!(flow.step_all(three, &mut context).map(|_| ()), out_of_turn, "three answers for four requests");
    let mut flow = Binance.holdings();
    assert!(matches!(flow.step(None, &mut context), Ok(Step::SendAll(_))));
    assert!(matches!(flow.step_all(four_refused(), &mut context), Ok(Step::Send(_))));
    assert_eq!(flow.step_all(vec![time], &mut context).map(|_| ()), out_of_turn, "the time as a batch");
    let mut flow = Binance.holdings();
    assert!(matches!(flow.step(None, &mut context), Ok(Step::SendAll(_))));
    assert!(matches!(flow.step_all(four_refused(), &mut context), Ok(Step::Send(_))));
    assert!(matches!(flow.step(Some(time), &mut context), Ok(Step::SendAll(_))));
    assert_eq!(flow.step(Some(time), &mut context).map(|_| ()), out_of_turn, "a second time");

    // The key-scope flow sends one request at a time.
    let mut flow = Binance.key_scope().unwrap_or_else(|| panic!("Binance reports key scopes"));
    assert!(matches!(flow.step(None, &mut context), Ok(Step::Send(_))));
    assert_eq!(flow.step_all(vec![time], &mut context).map(|_| ()), out_of_turn);
}

#[test]
fn a_broken_time_answer_stops_the_flow() {
    for body in ["{}", r#"{"serverTime":"soon"}"#, r#"{"serverTime":-5}"#, r#"{"serverTime":99999999999999999999}"#, "<html>"] {
        let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_AHEAD, |request| {
            if path_of(request) == TIME_PATH { (200, body.to_owned()) } else { binance(request) }
        });
        assert_eq!(result, Err(Error::MalformedResponse { exchange: X }), "{body}");
        assert_eq!(sent.len(), 5, "a refused batch, then the time");
    }
}

/// An error in any answer ends the flow with that error; nothing more is sent (the rest of the
/// wallets' batch was sent with the failing request).
#[test]
fn an_error_at_any_step_ends_the_flow() {
    // -1021 from any wallet: the time, the batch again, refused again.
    for failing in [ACCOUNT_PATH, FUNDING_PATH, FLEXIBLE_PATH, LOCKED_PATH] {
        let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
            if request.url.contains(failing) {
                (400, r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#.to_owned())
            } else {
                binance(request)
            }
        });
        assert_eq!(result, Err(Error::ClockSkew { exchange: X }), "{failing}");
        assert_eq!(sent.len(), 9, "{failing}");
    }
    // A time request that fails.
    let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_AHEAD, |request| {
        if path_of(request) == TIME_PATH { (503, String::new()) } else { binance(request) }
    });
    assert_eq!(result, Err(Error::ExchangeUnavailable { exchange: X, status: 503 }));
    assert_eq!(sent.len(), 5);
    // A failing later page, in the next batch.
    let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
        if param(request, "current") == Some("2") { (503, String::new()) } else { binance(request) }
    });
    assert_eq!(result, Err(Error::ExchangeUnavailable { exchange: X, status: 503 }));
    assert_eq!(sent.len(), 5);
}

/// When several answers of a batch fail, the first in request order decides the error, however
/// the answers came; a rate limit anywhere in the batch comes first, so that it is honoured, and
/// a refused timestamp is retried once on Binance's clock before it counts.
#[test]
fn of_several_failing_answers_the_first_in_request_order_wins() {
    let skew = (400, r#"{"code":-1021,"msg":"x"}"#);
    let permission = (401, r#"{"code":-2015,"msg":"x"}"#);
    let signature = (400, r#"{"code":-1022,"msg":"x"}"#);
    let truncated = (200, r#"{"rows":[{"asset":"#);
    let limited = (429, r#"{"code":-1003,"msg":"x"}"#);
    let unavailable = (503, "");
    let cases = [
        ([(ACCOUNT_PATH, skew), (LOCKED_PATH, permission)], Error::ClockSkew { exchange: X }),
        ([(LOCKED_PATH, skew), (FUNDING_PATH, permission)], Error::KeyPermissionOrIp { exchange: X }),
        ([(LOCKED_PATH, truncated), (FLEXIBLE_PATH, signature)], Error::InvalidCredentials { exchange: X }),
        ([(FLEXIBLE_PATH, truncated), (LOCKED_PATH, signature)], Error::MalformedResponse { exchange: X }),
        ([(ACCOUNT_PATH, unavailable), (LOCKED_PATH, limited)], Error::RateLimited { exchange: X, retry_after_ms: 60_000 }),
    ];
    for (failures, expected) in cases {
        let (result, sent) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
            match failures.iter().find(|(path, _)| request.url.contains(path)) {
                Some((_, (status, body))) => (*status, (*body).to_owned()),
                None => binance(request),
            }
        });
        assert_eq!(result, Err(expected), "{failures:?}");
        // A refused timestamp first asks the time and sends the batch again.
        let refused_time = failures.iter().any(|(_, answer)| *answer == skew);
        assert_eq!(sent.len(), if refused_time { 9 } else { 4 }, "{failures:?}");
    }
}

#[test]
fn an_unreadable_row_fails_the_whole_wallet() {
    let cases = [
        (ACCOUNT_PATH, r#"{"balances":[{"asset":"BTC","free":"1,5","locked":"0"}]}"#),
        (ACCOUNT_PATH, r#"{"balances":[{"asset":"","free":"1","locked":"0"}]}"#),
        (ACCOUNT_PATH, r#"{"balances":[{"asset":"BTC","free":"1"}]}"#),
        (ACCOUNT_PATH, r#"{"canTrade":true}"#),
        (FUNDING_PATH, r#"[{"asset":"USDT","free":"1","locked":"0","freeze":"0"}]"#),
        (FUNDING_PATH, r#"{"asset":"USDT"}"#),
        (FLEXIBLE_PATH, r#"{"rows":[{"asset":"USDT","amount":"5"}],"total":1}"#),
        (FLEXIBLE_PATH, r#"{"rows":[{"asset":"USDT","totalAmount":"5"}]}"#),
        (LOCKED_PATH, r#"{"rows":[{"asset":"AXS","totalAmount":"5"}],"total":1}"#),
        (LOCKED_PATH, r#"{"rows":[{"asset":"AXS","amount":"5"}],"total":"1"}"#),
        (LOCKED_PATH, r#"{"total":0}"#),
    ];
    for (path, body) in cases {
        let (result, _) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
            if request.url.contains(path) { (200, body.to_owned()) } else { binance(request) }
        });
        assert_eq!(result, Err(Error::MalformedResponse { exchange: X }), "{path} {body}");
    }
}

#[test]
fn amounts_too_large_to_add_are_an_overflow() {
    let huge = "79228162514264337593543950335";
    let (result, _) = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, |request| {
        if request.url.contains(FUNDING_PATH) {
            (200, format!(r#"[{{"asset":"BTC","free":"{huge}","locked":"0","freeze":"0","withdrawing":"0"}}]"#))
        } else {
            binance(request)
        }
    });
    assert_eq!(result, Err(Error::AmountOverflow { exchange: X }));
    // Inside one row, too large to sum is unreadable.
    let row = format!(r#"{{"balances":[{{"asset":"BTC","free":"{huge}","locked":"1"}}]}}"#);
    assert_eq!(parse_account(ok(&row)), Err(Error::MalformedResponse { exchange: X }));
}

#[test]
fn numbers_and_exponents_stay_exact() {
    let body = r#"{"balances":[{"asset":"ETH","free":0.1,"locked":3.8e-7}]}"#;
    let balances = parse_account(ok(body)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(balances[0].1.total.to_string(), "0.10000038");
}

// ---------------------------------------------------------------------------------------------
// Errors

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
    let cases = vec![
        case("-2014 key format", 401, r#"{"code":-2014,"msg":"API-key format invalid."}"#, E::InvalidCredentials { exchange: X }),
        case("-1022 signature", 400, r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#, E::InvalidCredentials { exchange: X }),
        case(
            "-2015 key, IP or permission",
            401,
            r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#,
            E::KeyPermissionOrIp { exchange: X },
        ),
        case(
            "-1021 timestamp",
            400,
            r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#,
            E::ClockSkew { exchange: X },
        ),
        Case {
            name: "429 -1003 with Retry-After",
            status: 429,
            body: r#"{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}"#,
            retry_after_ms: Some(12_000),
            expected: E::RateLimited { exchange: X, retry_after_ms: 12_000 },
        },
        case("429 without Retry-After", 429, "", E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        Case {
            name: "418 IP ban: its Retry-After whole, beyond a rate limit's cap",
            status: 418,
            body: r#"{"code":-1003,"msg":"Way too much request weight used; IP banned until 1700007200000."}"#,
            retry_after_ms: Some(7_200_000),
            expected: E::IpBanned { exchange: X, retry_after_ms: 7_200_000 },
        },
        Case {
            name: "429 with a Retry-After beyond the cap",
            status: 429,
            body: "",
            retry_after_ms: Some(7_200_000),
            expected: E::RateLimited { exchange: X, retry_after_ms: crate::error::MAX_RETRY_AFTER_MS },
        },
        case("418 HTML, no Retry-After: half an hour", 418, "<html>I'm a teapot</html>", E::IpBanned { exchange: X, retry_after_ms: 1_800_000 }),
        case("-1003 under another status", 400, r#"{"code":-1003,"msg":"x"}"#, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        case(
            "451 geo block",
            451,
            r#"{"code":0,"msg":"Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."}"#,
            E::LocationRestricted { exchange: X },
        ),
        case("451 empty", 451, "", E::LocationRestricted { exchange: X }),
        case(
            "403 WAF page",
            403,
            "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>Request blocked.</body></html>",
            E::ExchangeUnavailable { exchange: X, status: 403 },
        ),
        case("403 with a code", 403, r#"{"code":-2015,"msg":"x"}"#, E::ExchangeUnavailable { exchange: X, status: 403 }),
        case("500 -1001", 500, r#"{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}"#, E::ExchangeUnavailable { exchange: X, status: 500 }),
        case("502 HTML", 502, "<html>Bad Gateway</html>", E::ExchangeUnavailable { exchange: X, status: 502 }),
        case("503 -1008", 503, r#"{"code":-1008,"msg":"Server is currently overloaded with other requests. Please try again in a few minutes."}"#, E::ExchangeUnavailable { exchange: X, status: 503 }),
        case("504 empty", 504, "", E::ExchangeUnavailable { exchange: X, status: 504 }),
        case("400 -1016 shutting down", 400, r#"{"code":-1016,"msg":"This service is no longer available."}"#, E::ExchangeUnavailable { exchange: X, status: 400 }),
        case("408 -1007 backend timeout", 408, r#"{"code":-1007,"msg":"Timeout waiting for response from backend server."}"#, E::ExchangeUnavailable { exchange: X, status: 408 }),
        case("400 -1100", 400, r#"{"code":-1100,"msg":"Illegal characters found in parameter 'symbol'."}"#, E::ExchangeRejected { exchange: X, code: "-1100".into() }),
        case("400 -1102", 400, r#"{"code":-1102,"msg":"Mandatory parameter 'timestamp' was not sent."}"#, E::ExchangeRejected { exchange: X, code: "-1102".into() }),
        case("401 -1002 sapi", 401, r#"{"code":-1002,"msg":"You are not authorized to execute this request."}"#, E::ExchangeRejected { exchange: X, code: "-1002".into() }),
        case("code quoted", 400, r#"{"code":"-2015","msg":"x"}"#, E::KeyPermissionOrIp { exchange: X }),
        case("code as junk", 400, r#"{"code":"<script>","msg":"x"}"#, E::ExchangeUnavailable { exchange: X, status: 400 }),
        case("code too long", 400, r#"{"code":-12345678901234567890,"msg":"x"}"#, E::ExchangeUnavailable { exchange: X, status: 400 }),
        case("positive code", 400, r#"{"code":200,"msg":"x"}"#, E::ExchangeUnavailable { exchange: X, status: 400 }),
        case("400 not JSON", 400, "Bad Request", E::ExchangeUnavailable { exchange: X, status: 400 }),
        case("404 JSON without code", 404, r#"{"error":"not found"}"#, E::ExchangeUnavailable { exchange: X, status: 404 }),
        case("302 at the adapter", 302, "moved", E::MalformedResponse { exchange: X }),
        case("200 empty", 200, "", E::MalformedResponse { exchange: X }),
        case("200 truncated", 200, r#"{"balances":[{"asset":"BT"#, E::MalformedResponse { exchange: X }),
        case("200 error shape", 200, r#"{"code":-1021,"msg":"x"}"#, E::MalformedResponse { exchange: X }),
        case("200 not JSON", 200, "\u{fffd}", E::MalformedResponse { exchange: X }),
    ];
    for case in cases {
        let response = HttpResponse { retry_after_ms: case.retry_after_ms, ..HttpResponse::new(case.status, case.body.as_bytes()) };
        assert_eq!(parse_account(response).map(|_| ()), Err(case.expected.clone()), "{} (account)", case.name);
        if case.status != 200 {
            assert_eq!(parse_tickers(response).map(|_| ()), Err(case.expected.clone()), "{} (tickers)", case.name);
            assert_eq!(parse_key_scope(response).map(|_| ()), Err(case.expected), "{} (key scope)", case.name);
        }
    }
    let invalid_utf8 = HttpResponse::new(200, &[0xff, 0xfe, b'[']);
    assert_eq!(parse_tickers(invalid_utf8), Err(E::MalformedResponse { exchange: X }));
}

#[test]
fn no_error_carries_the_body() {
    let body = r#"{"code":-2015,"msg":"SECRET-PAYLOAD-MARKER"}"#;
    for status in [400, 401, 418, 429, 451, 500] {
        let error = parse_account(HttpResponse::new(status, body.as_bytes())).err().unwrap_or(Error::AccountNotFound);
        let view = serde_json::to_string(&crate::error::ErrorView::new(&error, 0)).unwrap_or_default();
        assert!(!format!("{error:?} {error} {view}").contains("SECRET-PAYLOAD-MARKER"), "{status}");
    }
}

// ---------------------------------------------------------------------------------------------
// Key scope

const RESTRICTIONS_READ_ONLY: &str = r#"{"ipRestrict":false,"createTime":1698645219000,"enableReading":true,
 "enableWithdrawals":false,"enableInternalTransfer":false,"enableMargin":false,"enableFutures":false,
 "permitsUniversalTransfer":false,"enableVanillaOptions":false,"enableFixApiTrade":false,"enableFixReadOnly":true,
 "enableSpotAndMarginTrading":false,"enablePortfolioMarginTrading":false}"#;

#[test]
fn key_scope_requests_are_pinned() {
    let flow = Binance.key_scope().unwrap_or_else(|| panic!("Binance reports key scopes"));
    let (result, sent) = testing::run(flow, Some(&credentials()), NonceFormat::Salted19, LOCAL_TIME, binance);
    assert_eq!(result, Ok(KeyScope::default()));
    let urls: Vec<&str> = sent.iter().map(|r| r.url.as_str()).collect();
    let restrictions = format!("https://api.binance.com/sapi/v1/account/apiRestrictions?timestamp=1700000000000&recvWindow=10000&signature={B4}");
    assert_eq!(urls, ["https://api.binance.com/api/v3/time", restrictions.as_str()]);
    assert!(sent[0].headers.is_empty());
    assert_eq!(sent[1].header("X-MBX-APIKEY"), Some(DOC_KEY));
    assert!(sent.iter().all(|r| r.method == Method::Get && r.body.is_none()));
}

#[test]
fn key_scope_flags() {
    let scope = |trade, withdraw, transfer, other| KeyScope { trade, withdraw, transfer, other };
    assert_eq!(parse_key_scope(ok(RESTRICTIONS_READ_ONLY)), Ok(KeyScope::default()));
    // Each right turned on in a read-only key's full answer.
    let with = |flag: &str| RESTRICTIONS_READ_ONLY.replace(&format!(r#""{flag}":false"#), &format!(r#""{flag}":true"#));
    let cases = [
        ("enableSpotAndMarginTrading", scope(true, false, false, false)),
        ("enableMargin", scope(true, false, false, false)),
        ("enableFutures", scope(true, false, false, false)),
        ("enableVanillaOptions", scope(true, false, false, false)),
        ("enablePortfolioMarginTrading", scope(true, false, false, false)),
        ("enableFixApiTrade", scope(true, false, false, false)),
        ("enableWithdrawals", scope(false, true, false, false)),
        ("enableInternalTransfer", scope(false, false, true, false)),
        ("permitsUniversalTransfer", scope(false, false, true, false)),
    ];
    for (flag, expected) in cases {
        let body = with(flag);
        assert_ne!(body, RESTRICTIONS_READ_ONLY, "{flag} is in the answer");
        assert_eq!(parse_key_scope(ok(&body)), Ok(expected), "{flag}");
    }
    // Fail closed: a flag every key has that is missing, or an unknown right that is on.
    let unknown = scope(false, false, false, true);
    let fail_closed = [
        (r#"{"enableReading":true}"#.to_owned(), unknown),
        (RESTRICTIONS_READ_ONLY.replace(r#""enableWithdrawals":false,"#, ""), unknown),
        (RESTRICTIONS_READ_ONLY.replace(r#""enableSpotAndMarginTrading":false,"#, ""), unknown),
        (RESTRICTIONS_READ_ONLY.replace(r#""enableReading":true,"#, r#""enableReading":true,"enableEarnRedeem":true,"#), unknown),
        (RESTRICTIONS_READ_ONLY.replace(r#""enableReading":true,"#, r#""enableReading":true,"permitsCopyTrading":true,"#), unknown),
        // Known read-only rights, unknown rights that are off, and other members change nothing.
        (RESTRICTIONS_READ_ONLY.replace(r#""enableReading":true,"#, r#""enableReading":true,"enableEarnRedeem":false,"#), KeyScope::default()),
        (RESTRICTIONS_READ_ONLY.replace(r#""ipRestrict":false"#, r#""ipRestrict":true,"tradingAuthorityExpirationTime":1"#), KeyScope::default()),
    ];
    for (body, expected) in fail_closed {
        assert_eq!(parse_key_scope(ok(&body)), Ok(expected), "{body}");
    }
    // The account's canTrade/canWithdraw are no answer about the key; a right must be a boolean.
    for body in [ACCOUNT, r#"{"canTrade":true,"canWithdraw":true}"#, "[]", r#"{"enableReading":"yes"}"#, r#"{"enableReading":true,"enableMargin":1}"#] {
        assert_eq!(parse_key_scope(ok(body)), Err(Error::MalformedResponse { exchange: X }), "{body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Prices

fn ticker_row(symbol: &str, last: &str, volume: &str, change: &str) -> String {
    format!(
        r#"{{"symbol":"{symbol}","priceChange":"{change}","priceChangePercent":"-0.520","weightedAvgPrice":"{last}",
           "prevClosePrice":"{last}","lastPrice":"{last}","lastQty":"0.00030000","bidPrice":"{last}","bidQty":"1.50000000",
           "askPrice":"{last}","askQty":"2.10000000","openPrice":"{last}","highPrice":"{last}","lowPrice":"{last}",
           "volume":"{volume}","quoteVolume":"1.00000000","openTime":1699913600000,"closeTime":1700000000000,
           "firstId":3297621488,"lastId":3299110302,"count":1488815}}"#
    )
}

#[test]
fn tickers_request_is_public() {
    let (_, sent) = testing::run(Binance.prices(), None, NonceFormat::Salted19, LOCAL_TIME, |_| (503, String::new()));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Get);
    assert_eq!(sent[0].url, "https://api.binance.com/api/v3/ticker/24hr");
    assert!(sent[0].headers.is_empty() && sent[0].body.is_none());
}

#[test]
fn tickers_split_map_and_skip() {
    let rows = [
        ticker_row("BTCUSDT", "98150.01000000", "18234.51230000", "-512.33000000"),
        ticker_row("ETHBTC", "0.03497000", "41235.12000000", "0.00021000"),
        ticker_row("USDTMXN", "18.43000000", "5123456.70000000", "0.02000000"),
        ticker_row("USDTBRL", "5.81200000", "81234567.00000000", "-0.01300000"),
        ticker_row("USDTARS", "1180.50000000", "912345.00000000", "4.50000000"),
        ticker_row("EURUSDT", "1.08420000", "35123456.00000000", "0.00110000"),
        ticker_row("BTCFDUSD", "98140.00000000", "9123.00000000", "-500.00000000"),
        ticker_row("FDUSDUSDT", "0.99980000", "512345678.00000000", "0.00010000"),
        ticker_row("1000SATSUSDT", "0.00031230", "98765432100.00000000", "0.00000120"),
        ticker_row("BTCIDR", "1620000000.00000000", "1.30000000", "-2000000.00000000"),
        ticker_row("XBTUSDT", "98150.00000000", "1.00000000", "0"),
        ticker_row("币安人生USDT", "0.31230000", "1234567.00000000", "0.01000000"),
        // Skipped: delisted (zero price), two possible splits, an unknown quote, no base, broken rows.
        ticker_row("BCCBTC", "0.00000000", "0.00000000", "0.00000000"),
        ticker_row("ADAEUR", "0.61230000", "812345.00000000", "0.00230000"),
        ticker_row("BTCAEUR", "91000.00000000", "0.10000000", "0"),
        ticker_row("BTCXYZ", "91000.00000000", "0.10000000", "0"),
        ticker_row("USDT", "1.00000000", "1.00000000", "0"),
        ticker_row("ETHUSDC", "-1", "1", "0"),
        r#"{"symbol":"SOLUSDT","lastPrice":"abc"}"#.to_owned(),
        r#"{"symbol":"SOLUSDT"}"#.to_owned(),
        r#"{"symbol":5,"lastPrice":"1"}"#.to_owned(),
        "null".to_owned(),
        "[1,2]".to_owned(),
        // Without volume or change: kept, volume zero, no change.
        r#"{"symbol":"DOGETRY","lastPrice":"14.01"}"#.to_owned(),
    ];
    let body = format!("[{}]", rows.join(","));
    let tickers = parse_tickers(ok(&body)).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<_> = tickers.iter().map(|t| (t.book.as_str(), t.base.as_str(), t.quote.as_str())).collect();
    assert_eq!(
        got,
        [
            ("binance:BTCUSDT", "btc", "usdt"),
            ("binance:ETHBTC", "eth", "btc"),
            ("binance:USDTMXN", "usdt", "mxn"),
            ("binance:USDTBRL", "usdt", "brl"),
            ("binance:USDTARS", "usdt", "ars"),
            ("binance:EURUSDT", "eur", "usdt"),
            ("binance:BTCFDUSD", "btc", "fdusd"),
            ("binance:FDUSDUSDT", "fdusd", "usdt"),
            ("binance:1000SATSUSDT", "1000sats", "usdt"),
            ("binance:BTCIDR", "btc", "idr"),
            ("binance:XBTUSDT", "btc", "usdt"),
            ("binance:币安人生USDT", "币安人生", "usdt"),
            ("binance:DOGETRY", "doge", "try"),
        ]
    );
    let btc = &tickers[0];
    assert_eq!((btc.last, btc.volume, btc.change_24h), (dec("98150.01"), dec("18234.5123"), Some(dec("-512.33"))));
    assert_eq!(btc.created_at, None);
    let doge = tickers.last().unwrap_or_else(|| panic!("no tickers"));
    assert_eq!((doge.volume, doge.change_24h), (Decimal::ZERO, None));
}

#[test]
fn symbols_split_at_the_one_known_quote() {
    let cases = [
        ("BTCUSDT", Some(("BTC", "USDT"))),
        ("BTCTUSD", Some(("BTC", "TUSD"))),
        ("ETHFDUSD", Some(("ETH", "FDUSD"))),
        ("WBTCBTC", Some(("WBTC", "BTC"))),
        ("USDCUSDT", Some(("USDC", "USDT"))),
        ("TRXXRP", Some(("TRX", "XRP"))),
        ("BTCUSD1", Some(("BTC", "USD1"))),
        ("USDTCOP", Some(("USDT", "COP"))),
        ("AEURUSDT", Some(("AEUR", "USDT"))),
        ("BTCEUR", Some(("BTC", "EUR"))),
        ("BTCIDR", Some(("BTC", "IDR"))),
        // Two quotes fit: ADA/EUR or AD/AEUR, BTC/AEUR or BTCA/EUR, BNB/IDR or BN/BIDR.
        ("ADAEUR", None),
        ("BTCAEUR", None),
        ("BNBIDR", None),
        ("BTCBIDR", None),
        ("BTCXYZ", None),
        ("BTC", None),
        ("", None),
    ];
    for (symbol, expected) in cases {
        assert_eq!(split_symbol(symbol), expected, "{symbol}");
    }
}

/// Only the two known pairs of quotes end one another; any new one needs a look at the symbols
/// it would make ambiguous.
#[test]
fn quote_assets_that_end_another() {
    let mut nested = Vec::new();
    for a in QUOTE_ASSETS {
        for b in QUOTE_ASSETS {
            if a != b && a.ends_with(b) {
                nested.push((*a, *b));
            }
        }
        assert!(a.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{a}");
    }
    nested.sort_unstable();
    assert_eq!(nested, [("AEUR", "EUR"), ("BIDR", "IDR")]);
}

/// The size of the real answer (about 2,000 symbols, 1 MB), and more.
#[test]
fn a_full_answer_of_2500_rows() {
    let quotes = ["USDT", "BTC", "FDUSD", "TRY", "EUR", "XYZ"];
    let rows: Vec<String> = (0..2_500)
        .map(|i| {
            let quote = quotes[i % quotes.len()];
            let last = if i % 50 == 7 { "0.00000000".to_owned() } else { format!("{}.{:08}", i + 1, i) };
            ticker_row(&format!("COIN{i}{quote}"), &last, &format!("{i}.5"), "-0.01000000")
        })
        .collect();
    let body = format!("[{}]", rows.join(","));
    assert!(body.len() > 1_000_000, "{} bytes", body.len());
    let tickers = parse_tickers(ok(&body)).unwrap_or_else(|e| panic!("{e}"));
    let expected = (0..2_500).filter(|i| i % quotes.len() != 5 && i % 50 != 7).count();
    assert_eq!(tickers.len(), expected);
    let first = &tickers[0];
    assert_eq!((first.book.as_str(), first.base.as_str(), first.quote.as_str()), ("binance:COIN0USDT", "coin0", "usdt"));
    assert_eq!(first.last, dec("1.00000000"));
    assert!(tickers.iter().all(|t| t.last > Decimal::ZERO && t.quote != "xyz"));
}

#[test]
fn at_most_max_rows_are_read() {
    let row = r#"{"symbol":"BTCUSDT","lastPrice":"1"}"#;
    let body = format!("[{}]", vec![row; MAX_ROWS + 5].join(","));
    assert_eq!(parse_tickers(ok(&body)).map(|t| t.len()), Ok(MAX_ROWS));
}

#[test]
fn tickers_that_are_not_a_list_are_malformed() {
    for body in [r#"{"symbol":"BTCUSDT","lastPrice":"1"}"#, r#"{"code":-1121,"msg":"Invalid symbol."}"#, "", "[", "null"] {
        assert_eq!(parse_tickers(ok(body)), Err(Error::MalformedResponse { exchange: X }), "{body}");
    }
    assert_eq!(parse_tickers(ok("[]")), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------------------------
// Parsers and flows never panic

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = parse_account(response);
        let _ = parse_funding(response);
        let _ = parse_earn_page(response, EarnKind::Flexible);
        let _ = parse_earn_page(response, EarnKind::Locked);
        let _ = parse_key_scope(response);
        let _ = parse_tickers(response);
        let _ = ServerClock::read(response, LOCAL_TIME);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(value in arb_json(), status in prop_oneof![Just(200u16), Just(400u16), Just(429u16)]) {
        let body = value.to_string();
        let response = HttpResponse::new(status, body.as_bytes());
        let _ = parse_account(response);
        let _ = parse_funding(response);
        let _ = parse_earn_page(response, EarnKind::Flexible);
        let _ = parse_earn_page(response, EarnKind::Locked);
        let _ = parse_key_scope(response);
        let _ = parse_tickers(response);
        let _ = ServerClock::read(response, LOCAL_TIME);
    }

    #[test]
    fn flows_never_panic_and_always_end(answers in proptest::collection::vec((prop_oneof![Just(200u16), Just(400u16), Just(503u16)], arb_json()), 1..12), now in any::<u64>()) {
        let mut answers = answers.into_iter().map(|(status, value)| (status, value.to_string()));
        let mut answer = |_: &HttpRequest| answers.next().unwrap_or((200, r#"{"rows":[],"total":0}"#.to_owned()));
        let _ = testing::run(Binance.holdings(), Some(&credentials()), NonceFormat::Salted19, now, &mut answer);
        if let Some(flow) = Binance.key_scope() {
            let _ = testing::run(flow, Some(&credentials()), NonceFormat::Salted19, now, &mut answer);
        }
    }
}

/// JSON values shaped like Binance's answers often enough to reach the inner parsers.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just("LDUSDT"), Just("LDO"), Just("BTCUSDT"), Just("USDT"), Just("1.5"), Just("-0"), Just("1e-7")]
            .prop_map(|s| Value::String(s.to_owned())),
        "[A-Z0-9.\\-]{0,12}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("balances"), Just("asset"), Just("free"), Just("locked"), Just("freeze"), Just("withdrawing"),
        Just("rows"), Just("total"), Just("totalAmount"), Just("amount"), Just("serverTime"), Just("code"),
        Just("msg"), Just("symbol"), Just("lastPrice"), Just("volume"), Just("priceChange"), Just("enableReading"),
        Just("enableWithdrawals"), Just("permitsUniversalTransfer"),
    ]
    .prop_map(str::to_owned);
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(prop_oneof![keys.clone(), "[a-z]{1,6}"], inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}
