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

const DEPOSITS: &str = include_str!("../../../../tests/fixtures/binance/deposits.json");
const WITHDRAWALS: &str = include_str!("../../../../tests/fixtures/binance/withdrawals.json");
const CONVERTS: &str = include_str!("../../../../tests/fixtures/binance/convert-trade-flow.json");
const DIVIDENDS: &str = include_str!("../../../../tests/fixtures/binance/asset-dividend.json");
const DUST: &str = include_str!("../../../../tests/fixtures/binance/dribblet.json");
const TRADES_BNBBTC: &str = include_str!("../../../../tests/fixtures/binance/my-trades-bnbbtc.json");
const MARKETS: &str = include_str!("../../../../tests/fixtures/binance/exchange-info.json");
const KLINES: &str = include_str!("../../../../tests/fixtures/binance/klines.json");

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
        Sim {
            deposits: rows(DEPOSITS),
            withdrawals: rows(WITHDRAWALS),
            converts: parse(CONVERTS)["list"].as_array().cloned().unwrap_or_default(),
            dividends: parse(DIVIDENDS)["rows"].as_array().cloned().unwrap_or_default(),
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
            let (start, end) = (number("startTime"), number("endTime"));
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
    waited_ms: u64,
}

/// Pages from `cursor` until caught up, the clock standing at `now`.
fn sync(sim: &Sim, cursor: Option<&str>, now: u64) -> Synced {
    let mut synced = Synced { transactions: Vec::new(), cursor: cursor.unwrap_or_default().to_owned(), pages: 0, requests: Vec::new(), waited_ms: 0 };
    let mut cursor = cursor.map(str::to_owned);
    for _ in 0..2000 {
        let (page, sent) = one_page(sim, cursor.as_deref(), now);
        let page = page.unwrap_or_else(|e| panic!("page {}: {e}", synced.pages));
        assert!(page.transactions.iter().all(|t| t.check().is_ok()));
        synced.pages += 1;
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
            "deposit:769754833590042625",
            "deposit:769800519366885376",
            "dividend:1631750237",
            "dividend:1637366104",
            "dust:4359321",
            "dust:4359321",
            "trade:BNBBTC:28457",
            "trade:BNBBTC:28458",
            "withdrawal:156ec387f49b41df8724fa744fa82719",
            "withdrawal:b6ae22b3aa844210a7041aee7589627c",
        ]
    );
    // One request a page. From July 2017 to December 2026 (3440 days): 39 windows of 89 days for
    // each transfer stream, 115 of 30 days for conversions, 20 of 179 days for distributions;
    // dust, balances and markets once; then each market of two held assets.
    let counts = paths(&synced.requests);
    assert_eq!(counts[DEPOSITS_PATH], 39);
    assert_eq!(counts[WITHDRAWALS_PATH], 39);
    assert_eq!(counts[CONVERTS_PATH], 115);
    assert_eq!(counts[DIVIDENDS_PATH], 20);
    assert_eq!((counts[DUST_PATH], counts["/api/v3/account"], counts[MARKETS_PATH]), (1, 1, 1));
    // BNB, BTC, ETH, IOTA, USDT and BHFT are held or moved: ETHBTC, BNBBTC, BTCUSDT and BNBUSDT,
    // not DOGEUSDT, and never a symbol that could not go in a URL.
    assert_eq!(counts[TRADES_PATH], 4);
    assert_eq!(synced.pages, synced.requests.len());
    // 39 × 0.3 s + 39 × 0.5 s + 115 × 2 s + 20 × 0.5 s + 0.3 s + 2 × 1 s + 3 × 1 s (the last
    // page waits for nothing).
    assert_eq!(synced.waited_ms, 39 * 300 + 39 * 500 + 115 * 2000 + 20 * 500 + 300 + 2 * 1000 + 3 * 1000);
    // The first windows, pinned.
    let first: Vec<&str> = synced.requests.iter().take(2).map(|r| r.url.split("&signature=").next().unwrap_or_default()).collect();
    assert_eq!(
        first,
        [
            "https://api.binance.com/sapi/v1/capital/deposit/hisrec?timestamp=1796083200000&startTime=1498867200000&endTime=1506556799999&offset=0&limit=1000&recvWindow=10000",
            "https://api.binance.com/sapi/v1/capital/deposit/hisrec?timestamp=1796083200000&startTime=1506556800000&endTime=1514246399999&offset=0&limit=1000&recvWindow=10000",
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
    assert_eq!(counts[TRADES_PATH], 4);
    assert_eq!(second.requests.len(), 11);
    let deposits = second.requests.iter().find(|r| query_of(r).0 == DEPOSITS_PATH).map(query_of).map(|(_, p)| p).unwrap_or_default();
    assert_eq!(deposits["startTime"], (NOW - 3_600_000).to_string());
    let bnbbtc = second.requests.iter().map(query_of).find(|(path, p)| *path == TRADES_PATH && p["symbol"] == "BNBBTC").map(|(_, p)| p).unwrap_or_default();
    assert_eq!(bnbbtc["fromId"], "28459");
    // A third sync finds nothing new.
    let third = sync(&sim, Some(&second.cursor), later + DAY_MS);
    assert!(third.transactions.is_empty());
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
    let deposits = synced.transactions.iter().filter(|t| t.kind == Kind::Deposit).count();
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
const STAGE_CURSORS: [&str; 8] = [
    "{}",
    r#"{"stage":"withdrawals"}"#,
    r#"{"stage":"converts"}"#,
    r#"{"stage":"dividends"}"#,
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
        Just("time"), Just("isBuyer"), Just("code"), Just("serverTime"),
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
    fn pages_never_panic_on_arbitrary_bodies(stage in 0usize..8, status in prop_oneof![Just(200u16), Just(400u16), Just(401u16), Just(429u16)], body in "\\PC{0,300}") {
        let _ = page_answered(STAGE_CURSORS[stage], status, &body);
    }

    #[test]
    fn pages_never_panic_on_shaped_answers(stage in 0usize..8, value in arb_json()) {
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
