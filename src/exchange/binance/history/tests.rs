//! Binance history and candles, against a simulated Binance that checks every signature and
//! serves the fixtures (tests/fixtures/binance/, each in the shape of the endpoint's documented
//! example) by window, offset and id, as Binance documents them.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::*;
use crate::{
    exchange::{Exchange, binance::Binance, testing},
    exchange_id::ExchangeId,
    nonce::NonceFormat,
    secret::Credentials,
    signing::hmac_sha256_hex,
};

/// The example key pair of Binance's "SIGNED Endpoint Examples".
const DOC_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

/// 2026-12-01T00:00:00Z (`date -u -d 2026-12-01T00:00:00Z +%s` → 1796083200).
const NOW: u64 = 1_796_083_200_000;

/// The full account's first funding, 2019-07-01T00:00:00Z (`date -u -d 2019-07-01 +%s` →
/// 1561939200): the costly streams start a day before, 2711 days before [`NOW`].
const FUNDED: u64 = 1_561_939_200_000;

const DEPOSITS: &str = include_str!("../../../../tests/fixtures/binance/deposits.json");
const WITHDRAWALS: &str = include_str!("../../../../tests/fixtures/binance/withdrawals.json");
const CONVERTS: &str = include_str!("../../../../tests/fixtures/binance/convert-trade-flow.json");
const DIVIDENDS: &str = include_str!("../../../../tests/fixtures/binance/asset-dividend.json");
const DUST: &str = include_str!("../../../../tests/fixtures/binance/dribblet.json");
const TRADES_BNBBTC: &str = include_str!("../../../../tests/fixtures/binance/my-trades-bnbbtc.json");
const MARKETS: &str = include_str!("../../../../tests/fixtures/binance/exchange-info.json");
const KLINES: &str = include_str!("../../../../tests/fixtures/binance/klines.json");
// https://developers.binance.com/docs/simple_earn/flexible-locked/history/Get-Flexible-Rewards-History
const EARN_FLEXIBLE: &str = include_str!("../../../../tests/fixtures/binance/earn-flexible-rewards.json");
// https://developers.binance.com/docs/simple_earn/flexible-locked/history/Get-Locked-Rewards-History
const EARN_LOCKED: &str = include_str!("../../../../tests/fixtures/binance/earn-locked-rewards.json");
// https://developers.binance.com/docs/fiat/rest-api/Get-Fiat-Payments-History (the docs' row,
// Completed, and a failed one); the sell in the same shape.
const FIAT_BUYS: &str = include_str!("../../../../tests/fixtures/binance/fiat-payments-buy.json");
const FIAT_SELLS: &str = include_str!("../../../../tests/fixtures/binance/fiat-payments-sell.json");
// https://developers.binance.com/docs/fiat/rest-api (Get Fiat Deposit/Withdraw History: the docs'
// expired row and a successful one); the withdrawal in the same shape.
const FIAT_DEPOSITS: &str = include_str!("../../../../tests/fixtures/binance/fiat-orders-deposit.json");
const FIAT_WITHDRAWALS: &str = include_str!("../../../../tests/fixtures/binance/fiat-orders-withdraw.json");

fn credentials() -> Credentials {
    Binance.credentials(DOC_KEY, DOC_SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn parse(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn rows(text: &str) -> Vec<Json> {
    match parse(text) {
        Json::Array(rows) => rows,
        other => panic!("not a list: {other}"),
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A simulated Binance: each list in the endpoint's own row shape.
#[derive(Clone, Default)]
struct Sim {
    deposits: Vec<Json>,
    withdrawals: Vec<Json>,
    converts: Vec<Json>,
    dividends: Vec<Json>,
    earn_flexible: Vec<Json>,
    earn_locked: Vec<Json>,
    fiat_buys: Vec<Json>,
    fiat_sells: Vec<Json>,
    fiat_deposits: Vec<Json>,
    fiat_withdrawals: Vec<Json>,
    dust: Vec<Json>,
    spot: Vec<&'static str>,
    markets: Vec<Json>,
    trades: BTreeMap<String, Vec<Json>>,
    /// Answers every signed request with this error body (HTTP 400 or 401).
    refuse: Option<(u16, &'static str)>,
    /// Binance's clock, ms ahead of the computer's.
    ahead_ms: u64,
    /// The markets the user named for the account.
    named: Vec<String>,
}

/// A row's time; `None` for a row without one (the broken rows of the malformed tests), which
/// every window holds.
fn time_of_row(row: &Json, name: &str) -> Option<u64> {
    match &row[name] {
        Json::Number(n) => n.as_u64(),
        Json::String(text) => crate::calendar::parse_iso8601_ms(text),
        _ => None,
    }
}

fn query_of(request: &HttpRequest) -> (&str, BTreeMap<String, String>) {
    let rest = request.url.strip_prefix("https://api.binance.com").unwrap_or_else(|| panic!("{}", request.url));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params = query.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    (path, params)
}

impl Sim {
    fn full() -> Self {
        let mut trades = BTreeMap::new();
        trades.insert("BNBBTC".to_owned(), rows(TRADES_BNBBTC));
        // The docs' examples date from 2019 to 2022: an earlier deposit funds the account before
        // any of them, so every stream reads them all.
        let mut deposits = rows(DEPOSITS);
        deposits.push(json!({"id":"700000000000000001","amount":"100","coin":"USDT","network":"ETH","status":1,"address":"x","addressTag":"","txId":"t0","insertTime": FUNDED,"transferType":0,"confirmTimes":"12/12","unlockConfirm":0,"walletType":0}));
        Sim {
            deposits,
            withdrawals: rows(WITHDRAWALS),
            converts: parse(CONVERTS)["list"].as_array().cloned().unwrap_or_default(),
            dividends: parse(DIVIDENDS)["rows"].as_array().cloned().unwrap_or_default(),
            earn_flexible: parse(EARN_FLEXIBLE)["rows"].as_array().cloned().unwrap_or_default(),
            earn_locked: parse(EARN_LOCKED)["rows"].as_array().cloned().unwrap_or_default(),
            fiat_buys: parse(FIAT_BUYS)["data"].as_array().cloned().unwrap_or_default(),
            fiat_sells: parse(FIAT_SELLS)["data"].as_array().cloned().unwrap_or_default(),
            fiat_deposits: parse(FIAT_DEPOSITS)["data"].as_array().cloned().unwrap_or_default(),
            fiat_withdrawals: parse(FIAT_WITHDRAWALS)["data"].as_array().cloned().unwrap_or_default(),
            dust: parse(DUST)["userAssetDribblets"].as_array().cloned().unwrap_or_default(),
            spot: vec!["BTC", "LDUSDT"],
            markets: parse(MARKETS)["symbols"].as_array().cloned().unwrap_or_default(),
            trades,
            refuse: None,
            ahead_ms: 0,
            named: Vec::new(),
        }
    }

    fn answer(&self, request: &HttpRequest) -> testing::Answer {
        let (path, params) = query_of(request);
        let reply = |value: Json| (200, value.to_string());
        if path == TIME_PATH_FOR_TESTS {
            return reply(json!({ "serverTime": NOW + self.ahead_ms }));
        }
        if path == MARKETS_PATH {
            assert!(request.header("X-MBX-APIKEY").is_none(), "exchangeInfo is public");
            assert_eq!((params["permissions"].as_str(), params["showPermissionSets"].as_str()), ("SPOT", "false"));
            return reply(json!({ "timezone": "UTC", "serverTime": NOW, "rateLimits": [], "exchangeFilters": [], "symbols": self.markets }));
        }
        // Signed: the key, then the signature over the query string as sent.
        assert_eq!(request.header("X-MBX-APIKEY"), Some(DOC_KEY));
        let (signed, signature) = request.url.split_once('?').and_then(|(_, query)| query.rsplit_once("&signature=")).unwrap_or_else(|| panic!("unsigned: {}", request.url));
        let expected = hmac_sha256_hex(DOC_SECRET.as_bytes(), &[signed.as_bytes()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signature, expected, "{}", request.url);
        assert!(signed.starts_with("timestamp=") && signed.ends_with("&recvWindow=10000"), "{signed}");
        let timestamp: u64 = params["timestamp"].parse().unwrap_or_else(|e| panic!("{e}"));
        if timestamp + 10_000 < NOW + self.ahead_ms {
            return (400, r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#.to_owned());
        }
        if let Some((status, body)) = self.refuse {
            return (status, body.to_owned());
        }
        let number = |name: &str| -> u64 { params[name].parse().unwrap_or_else(|e| panic!("{name}: {e}")) };
        let window = |rows: &[Json], field: &str, longest: u64| -> Vec<Json> {
            let start = if params.contains_key("beginTime") { number("beginTime") } else { number("startTime") };
            let end = number("endTime");
            assert!(start <= end && end - start < longest, "window {start}..{end} of {path}");
            rows.iter().filter(|row| time_of_row(row, field).is_none_or(|at| (start..=end).contains(&at))).cloned().collect()
        };
        let paged = |rows: Vec<Json>| -> Json {
            let (offset, limit) = (number("offset") as usize, number("limit") as usize);
            assert_eq!(limit, 1000);
            Json::Array(rows.into_iter().skip(offset).take(limit).collect())
        };
        match path {
            DEPOSITS_PATH => reply(paged(window(&self.deposits, "insertTime", 90 * DAY_MS))),
            WITHDRAWALS_PATH => reply(paged(window(&self.withdrawals, "applyTime", 90 * DAY_MS))),
            CONVERTS_PATH => {
                let found = window(&self.converts, "createTime", 30 * DAY_MS + 1);
                let limit = number("limit") as usize;
                let more = found.len() > limit;
                reply(json!({ "list": found.into_iter().take(limit).collect::<Vec<_>>(), "startTime": number("startTime"), "endTime": number("endTime"), "limit": limit, "moreData": more }))
            }
            DIVIDENDS_PATH => {
                let found = window(&self.dividends, "divTime", 180 * DAY_MS + 1);
                let total = found.len();
                reply(json!({ "rows": found.into_iter().take(number("limit") as usize).collect::<Vec<_>>(), "total": total }))
            }
            // Pages numbered from 1, `total` the window's rows; 3 months at most, `type` required.
            EARN_FLEXIBLE_PATH | EARN_LOCKED_PATH => {
                let flexible = path == EARN_FLEXIBLE_PATH;
                assert_eq!(params.get("type").map(String::as_str), flexible.then_some("ALL"));
                let found = window(if flexible { &self.earn_flexible } else { &self.earn_locked }, "time", 90 * DAY_MS);
                let (current, size) = (number("current") as usize, number("size") as usize);
                assert!(current >= 1 && (1..=100).contains(&size));
                let total = found.len();
                reply(json!({ "rows": found.into_iter().skip((current - 1) * size).take(size).collect::<Vec<_>>(), "total": total }))
            }
            // No longest window documented; pages numbered from 1 of at most 500 rows.
            FIAT_PAYMENTS_PATH | FIAT_ORDERS_PATH => {
                let sell = match params["transactionType"].as_str() {
                    "0" => false,
                    "1" => true,
                    other => panic!("transactionType {other}"),
                };
                let rows = match (path == FIAT_PAYMENTS_PATH, sell) {
                    (true, false) => &self.fiat_buys,
                    (true, true) => &self.fiat_sells,
                    (false, false) => &self.fiat_deposits,
                    (false, true) => &self.fiat_withdrawals,
                };
                let found = window(rows, "createTime", u64::MAX);
                let (page, size) = (number("page") as usize, number("rows") as usize);
                assert!(page >= 1 && (1..=500).contains(&size));
                let total = found.len();
                let data: Vec<Json> = found.into_iter().skip((page - 1) * size).take(size).collect();
                reply(json!({ "code": "000000", "message": "success", "data": data, "total": total, "success": true }))
            }
            DUST_PATH => reply(json!({ "total": self.dust.len(), "userAssetDribblets": self.dust })),
            "/api/v3/account" => {
                assert_eq!(params["omitZeroBalances"], "true");
                let balances: Vec<Json> = self.spot.iter().map(|asset| json!({"asset": asset, "free": "1.00000000", "locked": "0.00000000"})).collect();
                reply(json!({ "makerCommission": 10, "canTrade": true, "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868 }))
            }
            TRADES_PATH => {
                let symbol = &params["symbol"];
                assert!(self.markets.iter().any(|m| m["symbol"] == **symbol), "{symbol} is not a market");
                let from = number("fromId");
                let limit = number("limit") as usize;
                let fills = self.trades.get(symbol.as_str()).cloned().unwrap_or_default();
                reply(Json::Array(fills.into_iter().filter(|fill| fill["id"].as_u64().unwrap_or(0) >= from).take(limit).collect()))
            }
            other => panic!("unexpected {other}"),
        }
    }
}

const TIME_PATH_FOR_TESTS: &str = "/api/v3/time";

/// One page from `cursor` at `now`: the page and the requests it sent.
fn one_page(sim: &Sim, cursor: Option<&str>, now: u64) -> (Result<HistoryPage>, Vec<HttpRequest>) {
    let flow = Binance.history(cursor, &sim.named).unwrap_or_else(|| panic!("Binance reads its history"));
    testing::run(flow, Some(&credentials()), NonceFormat::Salted19, now, |request| sim.answer(request))
}

/// What a sync did: every transaction, the cursor after it, pages, requests, and the waits
/// asked for in all.
struct Synced {
    transactions: Vec<Transaction>,
    cursor: String,
    pages: usize,
    requests: Vec<HttpRequest>,
    /// When each request went, ms after the sync began, at the pace asked for.
    sent_at: Vec<u64>,
    waited_ms: u64,
}

/// Pages from `cursor` until caught up, the clock starting at `now` and moving on by each page's
/// wait, as the caller waits.
fn sync(sim: &Sim, cursor: Option<&str>, now: u64) -> Synced {
    let mut synced = Synced { transactions: Vec::new(), cursor: cursor.unwrap_or_default().to_owned(), pages: 0, requests: Vec::new(), sent_at: Vec::new(), waited_ms: 0 };
    let mut cursor = cursor.map(str::to_owned);
    for _ in 0..2000 {
        let (page, sent) = one_page(sim, cursor.as_deref(), now + synced.waited_ms);
        let page = page.unwrap_or_else(|e| panic!("page {}: {e}", synced.pages));
        assert!(page.transactions.iter().all(|t| t.check().is_ok()));
        synced.pages += 1;
        synced.sent_at.extend(sent.iter().map(|_| synced.waited_ms));
        synced.requests.extend(sent);
        synced.transactions.extend(page.transactions);
        synced.waited_ms += page.wait_ms;
        cursor = Some(page.cursor.clone());
        synced.cursor = page.cursor;
        if page.caught_up {
            return synced;
        }
    }
    panic!("never caught up")
}

fn ids(transactions: &[Transaction]) -> Vec<&str> {
    let mut ids: Vec<&str> = transactions.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

fn paths(requests: &[HttpRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in requests {
        *counts.entry(query_of(request).0.to_owned()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn a_first_import_reads_every_stream_and_every_held_market() {
    let sim = Sim::full();
    let synced = sync(&sim, None, NOW);
    assert_eq!(
        ids(&synced.transactions),
        [
            "convert:940708407462087195",
            "deposit:700000000000000001",
            "deposit:769754833590042625",
            "deposit:769800519366885376",
            "dividend:1631750237",
            "dividend:1637366104",
            "dust:4359321",
            "dust:4359321",
            "earn-flexible:USDT001:BONUS:busd:1577233578000",
            "earn-flexible:USDT001:REALTIME:usdt:1577233562000",
            "earn-locked:123123:BoostRewards:bnb:1575018510000",
            "earn-locked:123123:LockedRewards:bnb:1575018510000",
            "fiat-deposit:0b1f4c52-8e3d-4a7b-9c6e-2f5d8a1b3c4e",
            "fiat-payment:353fca443f06466db0c4dc89f94f027a",
            "fiat-payment:8a4b2c6d1e3f40a59b7c8d9e0f1a2b3c",
            "fiat-withdrawal:c9e3a7f1-2b4d-4e6f-8a0c-1d3e5f7a9b2c",
            "trade:BNBBTC:28457",
            "trade:BNBBTC:28458",
            "withdrawal:156ec387f49b41df8724fa744fa82719",
            "withdrawal:b6ae22b3aa844210a7041aee7589627c",
        ]
    );
    // One request a page. From July 2017 to December 2026 (3440 days): 39 windows of 89 days for
    // each transfer stream. From a day before the first funding (2711 days): 91 of 30 days for
    // conversions, 16 of 179 days for distributions, 31 of 89 days for each kind of Earn reward.
    // One window for each fiat stream; dust, balances and markets once; then each market of two
    // held assets.
    let counts = paths(&synced.requests);
    assert_eq!(counts[DEPOSITS_PATH], 39);
    assert_eq!(counts[WITHDRAWALS_PATH], 39);
    assert_eq!(counts[CONVERTS_PATH], 91);
    assert_eq!(counts[DIVIDENDS_PATH], 16);
    assert_eq!((counts[EARN_FLEXIBLE_PATH], counts[EARN_LOCKED_PATH]), (31, 31));
    assert_eq!((counts[FIAT_PAYMENTS_PATH], counts[FIAT_ORDERS_PATH]), (2, 2));
    assert_eq!((counts[DUST_PATH], counts["/api/v3/account"], counts[MARKETS_PATH]), (1, 1, 1));
    // BNB, BTC, ETH, IOTA, USDT and BHFT are held or moved: ETHBTC, BNBBTC, BTCUSDT and BNBUSDT,
    // not DOGEUSDT, and never a symbol that could not go in a URL.
    assert_eq!(counts[TRADES_PATH], 4);
    assert_eq!(synced.pages, synced.requests.len());
    // 39 × 0.3 s (deposits) + 2 × 0.3 s (fiat buys and deposits) + 39 × 0.5 s + 0.3 s (fiat
    // sales) + 91 × 2.1 s + 16 × 0.5 s + 62 × 2 s (Earn) + 0.3 s (fiat withdrawals, long past the
    // minute) + 0.3 s (dust) + 2 × 1 s + 3 × 1 s (the last page waits for nothing).
    let funding = 39 * 300 + 2 * 300;
    assert_eq!(synced.waited_ms, funding + 39 * 500 + 300 + 91 * 2100 + 16 * 500 + 62 * 2000 + 300 + 300 + 2 * 1000 + 3 * 1000);
    // The costly streams start a day before the first funding.
    let first_of = |path: &str| synced.requests.iter().map(query_of).find(|(p, _)| *p == path).map(|(_, params)| params["startTime"].clone());
    for path in [CONVERTS_PATH, DIVIDENDS_PATH, EARN_FLEXIBLE_PATH, EARN_LOCKED_PATH] {
        assert_eq!(first_of(path), Some((FUNDED - DAY_MS).to_string()), "{path}");
    }
    assert_eq!(first_of(WITHDRAWALS_PATH), Some(OPENED_MS.to_string()));
    assert!(synced.cursor.contains(&format!(r#""funded":{FUNDED}"#)), "{}", synced.cursor);
    // The first windows, pinned.
    let first: Vec<&str> = synced.requests.iter().take(2).map(|r| r.url.split("&signature=").next().unwrap_or_default()).collect();
    assert_eq!(
        first,
        [
            "https://api.binance.com/sapi/v1/capital/deposit/hisrec?timestamp=1796083200000&startTime=1498867200000&endTime=1506556799999&offset=0&limit=1000&recvWindow=10000",
            "https://api.binance.com/sapi/v1/capital/deposit/hisrec?timestamp=1796083200300&startTime=1506556800000&endTime=1514246399999&offset=0&limit=1000&recvWindow=10000",
        ]
    );
}

#[test]
fn every_kind_reads_as_the_model_wants_it() {
    let synced = sync(&Sim::full(), None, NOW);
    let by_id = |id: &str| synced.transactions.iter().find(|t| t.id == id).cloned().unwrap_or_else(|| panic!("{id}"));
    let amount = |asset: &str, amount: &str| Some(Amount { asset: asset.to_owned(), amount: dec(amount) });
    // Docs' deposit: 2022-08-26T05:52:26Z (`date -u -d @1661493146`).
    let deposit = by_id("deposit:769800519366885376");
    assert_eq!((deposit.kind, deposit.at, deposit.received, deposit.fee), (Kind::Deposit, 1_661_493_146_000, amount("bnb", "0.001"), None));
    // Docs' withdrawal: `applyTime` 2019-10-12 11:12:02 UTC → 1570878722; its fee on top.
    let withdrawal = by_id("withdrawal:b6ae22b3aa844210a7041aee7589627c");
    assert_eq!((withdrawal.kind, withdrawal.at), (Kind::Withdrawal, 1_570_878_722_000));
    assert_eq!((withdrawal.sent, withdrawal.fee), (amount("usdt", "8.91"), amount("usdt", "0.004")));
    // A conversion: an order id beyond 2^53 kept digit for digit.
    let convert = by_id("convert:940708407462087195");
    assert_eq!((convert.kind, convert.side, convert.at), (Kind::Trade, Some(Side::Buy), 1_624_248_872_184));
    assert_eq!((convert.received, convert.sent, convert.fee), (amount("bnb", "0.06154036"), amount("usdt", "20"), None));
    let dividend = by_id("dividend:1637366104");
    assert_eq!((dividend.kind, dividend.received, dividend.at), (Kind::Reward, amount("bhft", "10"), 1_563_189_166_000));
    // Dust: USDT sold for BNB; 0.000441 credited after a 0.000009 fee.
    let dust = synced.transactions.iter().find(|t| t.id.starts_with("dust:") && t.sent.as_ref().is_some_and(|s| s.asset == "usdt")).cloned().unwrap_or_else(|| panic!("dust"));
    assert_eq!((dust.kind, dust.side), (Kind::Trade, Some(Side::Sell)));
    let changes = dust.balance_changes().unwrap_or_default();
    assert_eq!(changes.get("bnb"), Some(&dec("0.000441")));
    assert_eq!((dust.sent, dust.received, dust.fee), (amount("usdt", "0.0009"), amount("bnb", "0.00045"), amount("bnb", "0.000009")));
    // Fills: a buy of 12 BNB for 48.000012 BTC with the fee in BNB; a sell of 2 BNB, fee in BTC.
    let buy = by_id("trade:BNBBTC:28457");
    assert_eq!((buy.side, buy.received, buy.sent, buy.fee), (Some(Side::Buy), amount("bnb", "12"), amount("btc", "48.000012"), amount("bnb", "10.1")));
    let sell = by_id("trade:BNBBTC:28458");
    assert_eq!((sell.side, sell.received, sell.sent, sell.fee), (Some(Side::Sell), amount("btc", "8.000004"), amount("bnb", "2"), amount("btc", "0.008")));
}

#[test]
fn an_incremental_sync_reads_only_what_is_new() {
    let mut sim = Sim::full();
    let first = sync(&sim, None, NOW);
    // A day later: a deposit, a second page of BNBBTC fills.
    let later = NOW + DAY_MS;
    sim.deposits.push(json!({"id":"900000000000000001","amount":"0.25","coin":"BTC","network":"BTC","status":1,"address":"x","addressTag":"","txId":"t","insertTime": NOW + 3_600_000,"transferType":0,"confirmTimes":"2/2","unlockConfirm":0,"walletType":0}));
    if let Some(fills) = sim.trades.get_mut("BNBBTC") {
        fills.push(json!({"symbol":"BNBBTC","id":28460,"orderId":100300,"orderListId":-1,"price":"0.0067","qty":"1.00000000","quoteQty":"0.0067","commission":"0","commissionAsset":"BNB","time": NOW + 7_200_000,"isBuyer":true,"isMaker":true,"isBestMatch":true}));
    }
    let second = sync(&sim, Some(&first.cursor), later);
    assert_eq!(ids(&second.transactions), ["deposit:900000000000000001", "trade:BNBBTC:28460"]);
    // One window per stream, from an hour before the last sync; dust, balances, markets; and
    // each market once, BNBBTC from the fill after the last one read.
    let counts = paths(&second.requests);
    assert_eq!((counts[DEPOSITS_PATH], counts[WITHDRAWALS_PATH], counts[CONVERTS_PATH], counts[DIVIDENDS_PATH]), (1, 1, 1, 1));
    // Fiat orders: only withdrawals in this second pass, so nothing waits for their minute.
    assert_eq!((counts[EARN_FLEXIBLE_PATH], counts[EARN_LOCKED_PATH], counts[FIAT_PAYMENTS_PATH], counts[FIAT_ORDERS_PATH]), (1, 1, 2, 1));
    assert_eq!(counts[TRADES_PATH], 4);
    assert_eq!(second.requests.len(), 16);
    let fiat_order = second.requests.iter().map(query_of).find(|(path, _)| *path == FIAT_ORDERS_PATH).map(|(_, p)| p["transactionType"].clone());
    assert_eq!(fiat_order.as_deref(), Some("1"));
    let deposits = second.requests.iter().find(|r| query_of(r).0 == DEPOSITS_PATH).map(query_of).map(|(_, p)| p).unwrap_or_default();
    // The first sync read its last deposits window 38 × 0.3 s after it began.
    assert_eq!(deposits["startTime"], (NOW + 38 * 300 - 3_600_000).to_string());
    let bnbbtc = second.requests.iter().map(query_of).find(|(path, p)| *path == TRADES_PATH && p["symbol"] == "BNBBTC").map(|(_, p)| p).unwrap_or_default();
    assert_eq!(bnbbtc["fromId"], "28459");
    // A third sync finds nothing new.
    let third = sync(&sim, Some(&second.cursor), later + DAY_MS);
    assert!(third.transactions.is_empty());
    let fiat_order = third.requests.iter().map(query_of).find(|(path, _)| *path == FIAT_ORDERS_PATH).map(|(_, p)| p["transactionType"].clone());
    assert_eq!(fiat_order.as_deref(), Some("0"), "fiat deposits in the third pass");
}

#[test]
fn an_account_with_no_funding_read_starts_every_stream_at_the_opening() {
    // Funded by P2P or Binance Pay, which no stream read shows: no first funding, so the costly
    // streams fall back to Binance's opening (3440 days: 115 conversion windows, 39 of Earn).
    let sim = Sim { deposits: Vec::new(), fiat_buys: Vec::new(), fiat_deposits: Vec::new(), ..Sim::full() };
    let synced = sync(&sim, None, NOW);
    let counts = paths(&synced.requests);
    assert_eq!((counts[CONVERTS_PATH], counts[DIVIDENDS_PATH], counts[EARN_FLEXIBLE_PATH]), (115, 20, 39));
    assert!(!synced.cursor.contains("funded"), "{}", synced.cursor);
    let converts = synced.requests.iter().map(query_of).find(|(path, _)| *path == CONVERTS_PATH).map(|(_, p)| p["startTime"].clone());
    assert_eq!(converts, Some(OPENED_MS.to_string()));
}

#[test]
fn a_cursor_stored_before_the_first_funding_still_loads() {
    // A caught-up cursor as an earlier version stored it: no `funded`, no Earn or fiat windows.
    let stored = r#"{"stage":"deposits","pass":1,"deposits":{"from":1796079600000},"withdrawals":{"from":1796079600000},"converts":{"from":1796079600000},"dividends":{"from":1796079600000},"dustAfter":0,"assets":["BNB","BTC"],"assetsListed":2,"markets":[],"read":12}"#;
    let (page, sent) = one_page(&Sim::full(), Some(stored), NOW + DAY_MS);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query_of(&sent[0]).0, DEPOSITS_PATH);
    assert_eq!((page.read, page.caught_up), (12, false));
    // Its windows go on where they were; the new streams start from the beginning in this pass.
    let synced = sync(&Sim::full(), Some(stored), NOW + DAY_MS);
    let counts = paths(&synced.requests);
    assert_eq!((counts[DEPOSITS_PATH], counts[CONVERTS_PATH]), (1, 1));
    assert_eq!((counts[FIAT_PAYMENTS_PATH], counts[FIAT_ORDERS_PATH]), (2, 2));
}

#[test]
fn a_pending_deposit_is_read_again_until_it_is_credited() {
    let mut sim = Sim::full();
    let pending_at = NOW - 10 * DAY_MS;
    let row = |status: u64| json!({"id":"800","amount":"3","coin":"ETH","network":"ETH","status":status,"address":"x","addressTag":"","txId":"t","insertTime": pending_at,"transferType":0,"confirmTimes":"1/12","unlockConfirm":0,"walletType":0});
    sim.deposits.push(row(0));
    let first = sync(&sim, None, NOW);
    assert!(!first.transactions.iter().any(|t| t.id == "deposit:800"));
    sim.deposits.pop();
    sim.deposits.push(row(1));
    let second = sync(&sim, Some(&first.cursor), NOW + DAY_MS);
    assert!(second.transactions.iter().any(|t| t.id == "deposit:800"), "credited since");
    let start = second.requests.iter().map(query_of).find(|(path, _)| *path == DEPOSITS_PATH).map(|(_, p)| p["startTime"].clone());
    assert_eq!(start, Some(pending_at.to_string()));
}

#[test]
fn a_full_window_goes_on_by_offset_and_a_full_conversion_window_is_halved() {
    let mut sim = Sim::full();
    sim.deposits = (0..1500u64).map(|i| json!({"id": format!("d{i}"),"amount":"1","coin":"USDT","network":"TRX","status":1,"address":"x","addressTag":"","txId":"t","insertTime": NOW - DAY_MS + i,"transferType":0,"confirmTimes":"1/1","unlockConfirm":0,"walletType":0})).collect();
    sim.converts = (0..1200u64).map(|i| json!({"quoteId":"q","orderId": 1_000 + i,"orderStatus":"SUCCESS","fromAsset":"USDT","fromAmount":"1","toAsset":"BTC","toAmount":"0.00001","ratio":"0.00001","inverseRatio":"100000","createTime": NOW - 20 * DAY_MS + i * 1_000_000})).collect();
    let synced = sync(&sim, None, NOW);
    let deposits = synced.transactions.iter().filter(|t| t.id.starts_with("deposit:")).count();
    let converts = synced.transactions.iter().filter(|t| t.id.starts_with("convert:")).count();
    assert_eq!((deposits, converts), (1500, 1200));
    let offsets: Vec<String> = synced.requests.iter().map(query_of).filter(|(path, p)| *path == DEPOSITS_PATH && p["startTime"] != p["endTime"] && p["offset"] != "0").map(|(_, p)| p["offset"].clone()).collect();
    assert_eq!(offsets, ["1000"]);
    // Every window asked for after the first full one is narrower than 30 days.
    let spans: Vec<u64> = synced.requests.iter().map(query_of).filter(|(path, _)| *path == CONVERTS_PATH).map(|(_, p)| p["endTime"].parse::<u64>().unwrap_or(0) - p["startTime"].parse::<u64>().unwrap_or(0)).collect();
    assert!(spans.iter().any(|span| *span < 15 * DAY_MS), "{spans:?}");
}

#[test]
fn a_fee_asset_seen_for_the_first_time_widens_the_markets_in_the_same_sync() {
    // Only USDT and BTC are held; a BTCUSDT fill pays its fee in BNB, so BNB's markets follow.
    let mut sim = Sim { spot: vec!["BTC", "USDT"], markets: parse(MARKETS)["symbols"].as_array().cloned().unwrap_or_default(), ..Sim::default() };
    sim.trades.insert("BTCUSDT".to_owned(), vec![json!({"symbol":"BTCUSDT","id":5,"orderId":9,"orderListId":-1,"price":"60000","qty":"0.01","quoteQty":"600","commission":"0.001","commissionAsset":"BNB","time": NOW - DAY_MS,"isBuyer":true,"isMaker":false,"isBestMatch":true})]);
    sim.trades.insert("BNBUSDT".to_owned(), vec![json!({"symbol":"BNBUSDT","id":7,"orderId":10,"orderListId":-1,"price":"600","qty":"1","quoteQty":"600","commission":"0.00075","commissionAsset":"BNB","time": NOW - 2 * DAY_MS,"isBuyer":true,"isMaker":false,"isBestMatch":true})]);
    let synced = sync(&sim, None, NOW);
    assert_eq!(ids(&synced.transactions), ["trade:BNBUSDT:7", "trade:BTCUSDT:5"]);
    let counts = paths(&synced.requests);
    assert_eq!((counts["/api/v3/account"], counts[MARKETS_PATH]), (2, 2));
    // BTCUSDT, then BNBBTC and BNBUSDT: each once.
    assert_eq!(counts[TRADES_PATH], 3);
}

#[test]
fn a_market_the_user_names_is_read_whatever_its_assets() {
    // DOGE bought with USDT and sold back within Binance: nothing held or moved shows DOGE.
    let mut sim = Sim { spot: vec!["USDT"], markets: parse(MARKETS)["symbols"].as_array().cloned().unwrap_or_default(), ..Sim::default() };
    let fill = |id: u64, buyer: bool| json!({"symbol":"DOGEUSDT","id":id,"orderId":id,"orderListId":-1,"price":"0.1","qty":"100","quoteQty":"10","commission":"0.01","commissionAsset":"USDT","time": NOW - DAY_MS,"isBuyer":buyer,"isMaker":false,"isBestMatch":true});
    sim.trades.insert("DOGEUSDT".to_owned(), vec![fill(1, true), fill(2, false)]);
    let before = sync(&sim, None, NOW);
    assert!(before.transactions.is_empty());
    assert_eq!(paths(&before.requests).get(TRADES_PATH), None);

    // Named on the options page: the next sync reads it from its first fill. Text that is no
    // symbol never reaches a URL.
    sim.named = vec!["DOGEUSDT".to_owned(), "DOGE/USDT".to_owned(), "NOSUCHPAIR".to_owned()];
    let after = sync(&sim, Some(&before.cursor), NOW);
    assert_eq!(ids(&after.transactions), ["trade:DOGEUSDT:1", "trade:DOGEUSDT:2"]);
    let asked: Vec<String> = after.requests.iter().map(query_of).filter(|(path, _)| *path == TRADES_PATH).map(|(_, p)| p["symbol"].clone()).collect();
    assert_eq!(asked, ["DOGEUSDT"], "a named symbol exchangeInfo does not list is not asked for");
    assert!(!after.cursor.contains("NOSUCHPAIR"), "the names are not kept in the cursor");
}

#[test]
fn a_key_binance_refuses_for_history_says_so() {
    let cases = [
        ((401, r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#), Error::HistoryPermission { exchange: ExchangeId::Binance }),
        ((400, r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#), Error::InvalidCredentials { exchange: ExchangeId::Binance }),
        ((429, r#"{"code":-1003,"msg":"Too much request weight used"}"#), Error::rate_limited(ExchangeId::Binance, None, 60)),
    ];
    for (refusal, expected) in cases {
        let sim = Sim { refuse: Some(refusal), ..Sim::full() };
        let (page, _) = one_page(&sim, None, NOW);
        assert_eq!(page, Err(expected), "{refusal:?}");
    }
}

#[test]
fn a_clock_behind_binance_is_corrected_once() {
    let sim = Sim { ahead_ms: 20_000, ..Sim::full() };
    let (page, sent) = one_page(&sim, None, NOW);
    assert!(page.is_ok(), "{page:?}");
    assert_eq!(sent.len(), 3);
    assert_eq!(query_of(&sent[1]).0, "/api/v3/time");
    assert_eq!(query_of(&sent[2]).1["timestamp"], (NOW + 20_000).to_string());
}

#[test]
fn a_row_that_cannot_be_read_fails_the_page() {
    let broken = [
        json!({"id":"1","amount":"abc","coin":"BTC","status":1,"insertTime":NOW - DAY_MS}),
        json!({"id":"1","amount":"1","coin":"BTC","status":1}),
        json!({"id":"1","amount":"-1","coin":"BTC","status":1,"insertTime":NOW - DAY_MS}),
        json!({"id":"1","amount":"1","coin":"B T C","status":1,"insertTime":NOW - DAY_MS}),
        json!({"amount":"1","coin":"BTC","status":1,"insertTime":NOW - DAY_MS}),
    ];
    for row in broken {
        let mut sim = Sim::full();
        sim.deposits = vec![row.clone()];
        // The window that holds it: start from a cursor a day before.
        let cursor = r#"{"deposits":{"from":1795910400000}}"#;
        let (page, _) = one_page(&sim, Some(cursor), NOW);
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }), "{row}");
    }
    // A fill out of id order, or for another symbol.
    for fills in [
        vec![json!({"symbol":"BNBBTC","id":9,"qty":"1","quoteQty":"1","commission":"0","commissionAsset":"BNB","time":1,"isBuyer":true}), json!({"symbol":"BNBBTC","id":8,"qty":"1","quoteQty":"1","commission":"0","commissionAsset":"BNB","time":1,"isBuyer":true})],
        vec![json!({"symbol":"ETHBTC","id":9,"qty":"1","quoteQty":"1","commission":"0","commissionAsset":"BNB","time":1,"isBuyer":true})],
    ] {
        let mut sim = Sim::full();
        sim.trades.insert("BNBBTC".to_owned(), fills);
        let cursor = r#"{"stage":"trades","markets":[{"symbol":"BNBBTC","base":"BNB","quote":"BTC"}],"assets":["BNB","BTC"],"assetsListed":2}"#;
        let (page, _) = one_page(&sim, Some(cursor), NOW);
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }));
    }
    let (page, _) = one_page(&Sim::full(), Some("not json"), NOW);
    assert_eq!(page, Err(Error::InvalidInput { field: "cursor" }));
}

#[test]
fn rows_that_moved_nothing_are_skipped() {
    // The fixtures' wrong deposit (status 7), cancelled withdrawal (status 1) and failed
    // conversion are not transactions; neither is a zero deposit.
    let mut sim = Sim::full();
    sim.deposits.push(json!({"id":"0z","amount":"0","coin":"BTC","status":1,"insertTime":NOW - DAY_MS}));
    let synced = sync(&sim, None, NOW);
    for id in ["deposit:769800519366885378", "deposit:0z", "withdrawal:a0cc9f5b2e6d4f0f9c1b8e7d6c5b4a39", "convert:940708407462087201"] {
        assert!(!synced.transactions.iter().any(|t| t.id == id), "{id}");
    }
}

#[test]
fn a_market_request_is_pinned() {
    let sim = Sim::full();
    let cursor = r#"{"stage":"trades","markets":[{"symbol":"BNBBTC","base":"BNB","quote":"BTC","nextId":28457}],"assets":["BNB","BTC"],"assetsListed":2}"#;
    let (page, sent) = one_page(&sim, Some(cursor), NOW);
    assert!(page.is_ok());
    // S=NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j; with Q the query below,
    //   python3 -c 'import hmac,hashlib,sys;print(hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),hashlib.sha256).hexdigest())' "$S" "$Q"
    //   node -e 'console.log(require("node:crypto").createHmac("sha256",process.argv[1]).update(process.argv[2]).digest("hex"))' "$S" "$Q"
    let query = "timestamp=1796083200000&symbol=BNBBTC&fromId=28457&limit=1000&recvWindow=10000";
    assert_eq!(sent[0].url, format!("https://api.binance.com/api/v3/myTrades?{query}&signature={PINNED_TRADES_SIGNATURE}"));
}

/// The signature of [`a_market_request_is_pinned`]'s query, computed by both commands there.
const PINNED_TRADES_SIGNATURE: &str = "f9e7734a1f8d5747f33f414939fa70b20acdaacf4ac5f2c36157e6c2bc1ed0a2";

#[test]
fn earn_rewards_and_fiat_read_as_the_model_wants_them() {
    let synced = sync(&Sim::full(), None, NOW);
    let by_id = |id: &str| synced.transactions.iter().find(|t| t.id == id).cloned().unwrap_or_else(|| panic!("{id}"));
    let amount = |asset: &str, amount: &str| Some(Amount { asset: asset.to_owned(), amount: dec(amount) });
    // Docs' flexible reward: 2019-12-25T00:26:02Z (`date -u -d @1577233562`).
    let flexible = by_id("earn-flexible:USDT001:REALTIME:usdt:1577233562000");
    assert_eq!((flexible.kind, flexible.at, flexible.received, flexible.sent, flexible.fee), (Kind::Reward, 1_577_233_562_000, amount("usdt", "0.00687654"), None, None));
    // Docs' locked rewards: two of the same position at the same time (2019-11-29T09:08:30Z), told
    // apart by their type.
    let locked = by_id("earn-locked:123123:LockedRewards:bnb:1575018510000");
    assert_eq!((locked.kind, locked.received), (Kind::Reward, amount("bnb", "21312.23223")));
    assert_eq!(by_id("earn-locked:123123:BoostRewards:bnb:1575018510000").received, amount("bnb", "1.23223"));
    // Docs' card purchase (2021-06-24T10:18:39Z): 20 EUR, of which 0.2 fee, for 4.462 LUNA.
    let buy = by_id("fiat-payment:353fca443f06466db0c4dc89f94f027a");
    assert_eq!((buy.kind, buy.side, buy.at), (Kind::Trade, Some(Side::Buy), 1_624_529_919_000));
    assert_eq!(buy.balance_changes().unwrap_or_default().get("eur"), Some(&dec("-20.0")));
    assert_eq!((buy.received, buy.sent, buy.fee), (amount("luna", "4.462"), amount("eur", "19.8"), amount("eur", "0.2")));
    // A sale (2021-06-26T10:18:39Z): 0.5 BNB for 30 EUR, less 0.6 of fee.
    let sell = by_id("fiat-payment:8a4b2c6d1e3f40a59b7c8d9e0f1a2b3c");
    assert_eq!((sell.side, sell.received, sell.sent, sell.fee), (Some(Side::Sell), amount("eur", "30.0"), amount("bnb", "0.5"), amount("eur", "0.6")));
    // Fiat in (2021-07-14T02:55:56Z) and out (2021-07-15T02:55:56Z): 100 EUR leave, 1 of them fee.
    let deposit = by_id("fiat-deposit:0b1f4c52-8e3d-4a7b-9c6e-2f5d8a1b3c4e");
    assert_eq!((deposit.kind, deposit.at, deposit.received, deposit.fee), (Kind::Deposit, 1_626_231_356_000, amount("brl", "250.00"), None));
    let withdrawal = by_id("fiat-withdrawal:c9e3a7f1-2b4d-4e6f-8a0c-1d3e5f7a9b2c");
    assert_eq!((withdrawal.kind, withdrawal.sent, withdrawal.fee), (Kind::Withdrawal, amount("eur", "99.00"), amount("eur", "1.00")));
    // The failed payment and the docs' expired deposit moved nothing.
    for id in ["fiat-payment:5d2a1c0e9b8f4e7aa6f3c1d2b4e5f607", "fiat-deposit:7d76d611-0568-4f43-afb6-24cac7767365"] {
        assert!(!synced.transactions.iter().any(|t| t.id == id), "{id}");
    }
    // The windows and pages asked for, pinned but for the time each went (fiat windows end then).
    let urls: Vec<String> = synced
        .requests
        .iter()
        .map(|r| {
            let (path, params) = query_of(r);
            let timestamp = params.get("timestamp").cloned().unwrap_or_default();
            let url = r.url.split("&signature=").next().unwrap_or_default().replace(&format!("timestamp={timestamp}&"), "");
            format!("{path} {}", url.split_once('?').map(|(_, q)| q).unwrap_or_default().replace(&format!("endTime={timestamp}"), "endTime=now"))
        })
        .collect();
    // Rewards from a day before the first funding (2019-06-30T00:00:00Z); fiat since the opening.
    for expected in [
        "/sapi/v1/simple-earn/flexible/history/rewardsRecord type=ALL&startTime=1561852800000&endTime=1569542399999&current=1&size=100&recvWindow=10000",
        "/sapi/v1/simple-earn/locked/history/rewardsRecord startTime=1561852800000&endTime=1569542399999&current=1&size=100&recvWindow=10000",
        "/sapi/v1/fiat/payments transactionType=0&beginTime=1498867200000&endTime=now&page=1&rows=500&recvWindow=10000",
        "/sapi/v1/fiat/payments transactionType=1&beginTime=1498867200000&endTime=now&page=1&rows=500&recvWindow=10000",
        "/sapi/v1/fiat/orders transactionType=0&beginTime=1498867200000&endTime=now&page=1&rows=500&recvWindow=10000",
        "/sapi/v1/fiat/orders transactionType=1&beginTime=1498867200000&endTime=now&page=1&rows=500&recvWindow=10000",
    ] {
        assert!(urls.iter().any(|url| url == expected), "{expected}");
    }
}

#[test]
fn earn_and_fiat_page_on_until_their_total_and_sync_incrementally() {
    let mut sim = Sim::full();
    let reward = |i: u64| json!({"asset":"USDT","rewards":"0.01","projectId":"USDT001","type":"REALTIME","time": NOW - 10 * DAY_MS + i * 60_000});
    sim.earn_flexible = (0..250).map(reward).collect();
    let payment = |i: u64| json!({"orderNo": format!("p{i}"),"sourceAmount":"10","fiatCurrency":"EUR","obtainAmount":"0.0001","cryptoCurrency":"BTC","totalFee":"0.2","price":"98000","status":"Completed","paymentMethod":"Credit Card","createTime": NOW - 400 * DAY_MS + i * 1000,"updateTime": NOW - 400 * DAY_MS + i * 1000});
    sim.fiat_buys = (0..1200).map(payment).collect();
    let first = sync(&sim, None, NOW);
    let count = |prefix: &str, synced: &Synced| synced.transactions.iter().filter(|t| t.id.starts_with(prefix)).count();
    assert_eq!((count("earn-flexible:", &first), count("fiat-payment:", &first)), (250, 1201));
    let pages = |path: &str, name: &str| -> Vec<String> {
        first.requests.iter().map(query_of).filter(|(p, params)| *p == path && params.get("transactionType").is_none_or(|t| t == "0")).map(|(_, params)| params[name].clone()).filter(|n| n != "1").collect()
    };
    assert_eq!(pages(EARN_FLEXIBLE_PATH, "current"), ["2", "3"]);
    assert_eq!(pages(FIAT_PAYMENTS_PATH, "page"), ["2", "3"]);
    // A day later: one new reward and one new purchase, and nothing read twice.
    sim.earn_flexible.push(json!({"asset":"USDT","rewards":"0.02","projectId":"USDT001","type":"REALTIME","time": NOW + 3_600_000}));
    let mut late = payment(1200);
    late["createTime"] = json!(NOW + 3_600_000);
    sim.fiat_buys.push(late);
    let second = sync(&sim, Some(&first.cursor), NOW + 20 * DAY_MS);
    assert_eq!((count("earn-flexible:", &second), count("fiat-payment:", &second)), (1, 1));
    let start = second.requests.iter().map(query_of).find(|(p, _)| *p == FIAT_PAYMENTS_PATH).map(|(_, params)| params["beginTime"].clone());
    let last_read = first.requests.iter().zip(&first.sent_at).filter(|(r, _)| query_of(r).0 == FIAT_PAYMENTS_PATH && query_of(r).1["transactionType"] == "0").map(|(_, at)| *at).max().unwrap_or_default();
    assert_eq!(start, Some((NOW + last_read - 3_600_000).to_string()));
}

#[test]
fn a_processing_card_purchase_is_read_again_until_it_completes() {
    let mut sim = Sim::full();
    let at = NOW - 2 * DAY_MS;
    let row = |status: &str| json!({"orderNo":"q1","sourceAmount":"100","fiatCurrency":"EUR","obtainAmount":"0.001","cryptoCurrency":"BTC","totalFee":"1.8","price":"98200","status":status,"paymentMethod":"Credit Card","createTime": at,"updateTime": at});
    sim.fiat_buys = vec![row("Processing")];
    let first = sync(&sim, None, NOW);
    assert!(!first.transactions.iter().any(|t| t.id == "fiat-payment:q1"));
    sim.fiat_buys = vec![row("Completed")];
    let second = sync(&sim, Some(&first.cursor), NOW + DAY_MS);
    assert!(second.transactions.iter().any(|t| t.id == "fiat-payment:q1"));
}

#[test]
fn fiat_orders_are_never_asked_twice_within_a_minute() {
    // A sync begun 10 s after the last fiat order waits 50 s before the next, asking nothing.
    let cursor = format!(r#"{{"stage":"fiatDeposits","uidHeavyAt":{}}}"#, NOW - 10_000);
    let (page, sent) = one_page(&Sim::full(), Some(&cursor), NOW);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert!(sent.is_empty() && !page.caught_up && page.transactions.is_empty());
    assert_eq!(page.wait_ms, 50_000);
    // A minute on, it goes.
    let (page, sent) = one_page(&Sim::full(), Some(&page.cursor), NOW + 50_000);
    assert!(page.is_ok());
    assert_eq!(sent.iter().map(|r| query_of(r).0).collect::<Vec<_>>(), [FIAT_ORDERS_PATH]);
}

/// Binance's weights (each endpoint's page, linked in `history.rs`) and what they count against.
fn weight_of(path: &str) -> (&'static str, u64) {
    match path {
        CONVERTS_PATH => ("uid", 3000),
        FIAT_ORDERS_PATH => ("uid", 90_000),
        // Its own limit of ten a second, not the IP's minute.
        WITHDRAWALS_PATH => ("withdrawals", 1),
        EARN_FLEXIBLE_PATH | EARN_LOCKED_PATH => ("sapi", 150),
        DIVIDENDS_PATH => ("sapi", 10),
        DEPOSITS_PATH | DUST_PATH | FIAT_PAYMENTS_PATH => ("sapi", 1),
        MARKETS_PATH | TRADES_PATH | "/api/v3/account" => ("api", 20),
        other => panic!("no weight for {other}"),
    }
}

#[test]
fn a_first_import_keeps_within_every_limit_in_every_minute() {
    // A busy account: fills on two markets, conversions, rewards and card purchases in plenty.
    let mut sim = Sim::full();
    sim.converts = (0..3000u64).map(|i| json!({"quoteId":"q","orderId": 5_000 + i,"orderStatus":"SUCCESS","fromAsset":"USDT","fromAmount":"1","toAsset":"BTC","toAmount":"0.00001","ratio":"0.00001","inverseRatio":"100000","createTime": NOW - 700 * DAY_MS + i * 20_000_000})).collect();
    sim.earn_flexible = (0..2000u64).map(|i| json!({"asset":"USDT","rewards":"0.01","projectId":"USDT001","type":"REALTIME","time": NOW - 700 * DAY_MS + i * 30_000_000})).collect();
    sim.fiat_deposits = (0..1100u64).map(|i| json!({"orderNo": format!("d{i}"),"fiatCurrency":"EUR","indicatedAmount":"10","amount":"10","totalFee":"0","method":"SEPA","status":"Successful","createTime": NOW - 700 * DAY_MS + i * 50_000_000,"updateTime": 0})).collect();
    let synced = sync(&sim, None, NOW);
    // Binance counts weight by the clock's minute: the worst case puts the import's first request
    // anywhere in one, so every alignment to the second is tried.
    // Half of each IP limit, which balance refreshes and other programs share; the account's own
    // UID weight whole, conversions and one fiat order at most in a minute.
    let limits = [("sapi", 6000), ("api", 3000), ("uid", 180_000)];
    for shift in (0..60_000).step_by(1000) {
        let mut minutes: BTreeMap<(&str, u64), u64> = BTreeMap::new();
        for (request, at) in synced.requests.iter().zip(&synced.sent_at) {
            let (limit, weight) = weight_of(query_of(request).0);
            *minutes.entry((limit, (at + shift) / 60_000)).or_insert(0) += weight;
        }
        for ((limit, minute), used) in &minutes {
            if let Some((_, most)) = limits.iter().find(|(name, _)| name == limit) {
                assert!(used <= most, "{limit} minute {minute}: {used} of {most}");
            }
        }
    }
    // Withdrawals' ten a second: never two in one second.
    let times: Vec<u64> = synced.requests.iter().zip(&synced.sent_at).filter(|(r, _)| query_of(r).0 == WITHDRAWALS_PATH).map(|(_, at)| *at).collect();
    assert!(times.windows(2).all(|pair| pair[1] - pair[0] >= 500));
}

#[test]
fn an_earn_or_fiat_row_that_cannot_be_read_fails_the_page() {
    let earn = [
        json!({"asset":"USDT","rewards":"-1","projectId":"USDT001","type":"REALTIME","time": NOW - DAY_MS}),
        json!({"asset":"USDT","rewards":"1","type":"REALTIME","time": NOW - DAY_MS}),
        json!({"asset":"USDT","rewards":"1","projectId":"USDT001","type":"REALTIME"}),
    ];
    for row in earn {
        let sim = Sim { earn_flexible: vec![row.clone()], ..Sim::full() };
        let (page, _) = one_page(&sim, Some(r#"{"stage":"earnFlexible","earnFlexible":{"from":1795910400000}}"#), NOW);
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }), "{row}");
    }
    let fiat = [
        // A fee larger than what was paid, a missing amount, no order number.
        json!({"orderNo":"x","sourceAmount":"1","fiatCurrency":"EUR","obtainAmount":"1","cryptoCurrency":"BTC","totalFee":"2","status":"Completed","createTime": NOW - DAY_MS}),
        json!({"orderNo":"x","fiatCurrency":"EUR","obtainAmount":"1","cryptoCurrency":"BTC","totalFee":"0","status":"Completed","createTime": NOW - DAY_MS}),
        json!({"sourceAmount":"1","fiatCurrency":"EUR","obtainAmount":"1","cryptoCurrency":"BTC","totalFee":"0","status":"Completed","createTime": NOW - DAY_MS}),
    ];
    for row in fiat {
        let sim = Sim { fiat_buys: vec![row.clone()], ..Sim::full() };
        let (page, _) = one_page(&sim, Some(r#"{"stage":"fiatBuys"}"#), NOW);
        assert_eq!(page, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }), "{row}");
    }
    // An envelope that is not a success, and a short page before its total.
    for body in [r#"{"code":"000000","message":"success","data":[],"total":0,"success":false}"#, r#"{"code":"000000","message":"success","data":[],"total":3,"success":true}"#] {
        assert_eq!(page_answered(r#"{"stage":"fiatSells"}"#, 200, body), Err(Error::MalformedResponse { exchange: ExchangeId::Binance }), "{body}");
    }
    // None at all: `data` left out.
    let page = page_answered(r#"{"stage":"fiatSells"}"#, 200, r#"{"code":"000000","message":"success","total":0,"success":true}"#);
    assert!(page.is_ok_and(|page| page.transactions.is_empty()));
}

#[test]
fn daily_closes_come_a_thousand_days_at_a_time() {
    // 2017-07-03 is day 17350 (`date -u -d @1499040000` → 2017-07-03T00:00:00Z).
    let flow = Binance.daily_closes("ETHBTC", 17_350, 17_350 + 1500).unwrap_or_else(|| panic!("Binance has candles"));
    let (closes, sent) = testing::run(flow, None, NonceFormat::Salted19, 0, |_| (200, KLINES.to_owned()));
    let closes = closes.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].url, "https://api.binance.com/api/v3/klines?symbol=ETHBTC&interval=1d&startTime=1499040000000&endTime=1585439999999&limit=1000");
    assert!(sent.iter().all(|request| request.header("X-MBX-APIKEY").is_none()), "public");
    assert_eq!(closes[0], DailyClose { day: 17_350, close: dec("0.015771") });
    assert_eq!(closes[1], DailyClose { day: 17_351, close: dec("0.0159") });
    // Zero closes are left out; a symbol that is not one never reaches a URL.
    let zero = r#"[[1499040000000,"0","0","0","0","0",1499126399999,"0",0,"0","0","0"]]"#;
    let flow = Binance.daily_closes("ETHBTC", 17_350, 17_350).unwrap_or_else(|| panic!("candles"));
    let (closes, _) = testing::run(flow, None, NonceFormat::Salted19, 0, |_| (200, zero.to_owned()));
    assert_eq!(closes, Ok(Vec::new()));
    for market in ["ethbtc", "ETH/BTC", "ETHBTC&x=1", "", "币安人生USDT"] {
        assert!(Binance.daily_closes(market, 0, 1).is_none(), "{market}");
    }
}

/// Cursors at every stage, for the no-panic properties.
const STAGE_CURSORS: [&str; 14] = [
    "{}",
    r#"{"stage":"withdrawals"}"#,
    r#"{"stage":"converts"}"#,
    r#"{"stage":"dividends"}"#,
    r#"{"stage":"earnFlexible"}"#,
    r#"{"stage":"earnLocked"}"#,
    r#"{"stage":"fiatBuys"}"#,
    r#"{"stage":"fiatSells"}"#,
    r#"{"stage":"fiatDeposits"}"#,
    r#"{"stage":"fiatWithdrawals"}"#,
    r#"{"stage":"dust"}"#,
    r#"{"stage":"held"}"#,
    r#"{"stage":"markets","assets":["BTC","USDT"]}"#,
    r#"{"stage":"trades","markets":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}],"assets":["BTC","USDT"],"assetsListed":2}"#,
];

fn page_answered(cursor: &str, status: u16, body: &str) -> Result<HistoryPage> {
    let flow = Binance.history(Some(cursor), &[]).unwrap_or_else(|| panic!("history"));
    testing::run(flow, Some(&credentials()), NonceFormat::Salted19, NOW, |_| (status, body.to_owned())).0
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<u64>().prop_map(|n| json!(n)),
        "[A-Z]{1,6}".prop_map(Json::String),
        "-?[0-9]{1,4}(\\.[0-9]{1,8})?".prop_map(Json::String),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]".prop_map(Json::String),
    ];
    let names = prop_oneof![
        Just("id"), Just("amount"), Just("coin"), Just("status"), Just("insertTime"), Just("applyTime"),
        Just("transactionFee"), Just("list"), Just("moreData"), Just("orderStatus"), Just("orderId"),
        Just("fromAsset"), Just("fromAmount"), Just("toAsset"), Just("toAmount"), Just("createTime"),
        Just("rows"), Just("total"), Just("divTime"), Just("asset"), Just("userAssetDribblets"),
        Just("userAssetDribbletDetails"), Just("operateTime"), Just("transId"), Just("transferedAmount"),
        Just("serviceChargeAmount"), Just("balances"), Just("symbols"), Just("symbol"), Just("baseAsset"),
        Just("quoteAsset"), Just("qty"), Just("quoteQty"), Just("commission"), Just("commissionAsset"),
        Just("time"), Just("isBuyer"), Just("code"), Just("serverTime"), Just("rewards"), Just("projectId"),
        Just("positionId"), Just("type"), Just("data"), Just("success"), Just("orderNo"), Just("sourceAmount"),
        Just("fiatCurrency"), Just("obtainAmount"), Just("cryptoCurrency"), Just("totalFee"), Just("indicatedAmount"),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::btree_map(names.clone().prop_map(str::to_owned), inner, 0..8).prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn pages_never_panic_on_arbitrary_bodies(stage in 0usize..14, status in prop_oneof![Just(200u16), Just(400u16), Just(401u16), Just(429u16)], body in "\\PC{0,300}") {
        let _ = page_answered(STAGE_CURSORS[stage], status, &body);
    }

    #[test]
    fn pages_never_panic_on_shaped_answers(stage in 0usize..14, value in arb_json()) {
        let _ = page_answered(STAGE_CURSORS[stage], 200, &value.to_string());
    }

    #[test]
    fn cursors_never_panic(cursor in "\\PC{0,200}") {
        let _ = page_answered(&cursor, 200, "[]");
    }

    #[test]
    fn candles_never_panic(value in arb_json(), body in "\\PC{0,200}") {
        for text in [value.to_string(), body] {
            if let Some(flow) = Binance.daily_closes("BTCUSDT", 20_000, 20_001) {
                let _ = testing::run(flow, None, NonceFormat::Salted19, 0, |_| (200, text.clone()));
            }
        }
    }
}

#[test]
fn a_pair_is_named_as_binance_spells_its_symbol() {
    let cases = [
        ("DOGE/USDT", Some("DOGEUSDT")),
        (" doge-usdt ", Some("DOGEUSDT")),
        ("bnb_btc", Some("BNBBTC")),
        ("1000SATS/USDT", Some("1000SATSUSDT")),
        ("", None),
        ("DOGE/USDT;", None),
        ("ÉTH/USDT", None),
        ("AVERYLONGNAME/ANOTHERONE", None),
    ];
    for (text, symbol) in cases {
        assert_eq!(Binance.market_named(text).as_deref(), symbol, "{text:?}");
    }
    assert!(Binance.reads_named_markets());
}
