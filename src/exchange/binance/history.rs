//! Binance's transaction history, for the cost basis, and its daily candles.
//!
//! Binance keeps no ledger: every kind of event has its own endpoint, each with its own time
//! window, so an import walks several streams one request (one page) at a time, in this order:
//!
//! | Stream | Endpoint | Window, page | Weight |
//! |---|---|---|---|
//! | deposits | `GET /sapi/v1/capital/deposit/hisrec` | under 90 days, 1000 rows by `offset` | 1 (IP) |
//! | withdrawals | `GET /sapi/v1/capital/withdraw/history` | under 90 days, 1000 rows by `offset` | 18,000 of 180,000 a second (IP): 10 a second |
//! | conversions | `GET /sapi/v1/convert/tradeFlow` | 30 days, 1000 rows, `moreData` | 3000 (UID) of 180,000 a minute |
//! | distributions | `GET /sapi/v1/asset/assetDividend` | 180 days, 500 rows, `total` | 10 (IP) |
//! | Simple Earn flexible rewards | `GET /sapi/v1/simple-earn/flexible/history/rewardsRecord` | 3 months, 100 rows by `current` | 150 (IP) |
//! | Simple Earn locked rewards | `GET /sapi/v1/simple-earn/locked/history/rewardsRecord` | 3 months, 100 rows by `current` | 150 (IP) |
//! | fiat buys and sells | `GET /sapi/v1/fiat/payments` | none documented, 500 rows by `page` | 1 (IP) |
//! | fiat deposits and withdrawals | `GET /sapi/v1/fiat/orders` | none documented, 500 rows by `page` | 90,000 (UID) of 180,000 a minute |
//! | dust to BNB | `GET /sapi/v1/asset/dribblet` | the last 100 conversions | 1 (IP) |
//! | spot fills | `GET /api/v3/myTrades` | per symbol, 1000 rows from `fromId` | 20 (IP) of 6000 a minute |
//!
//! (<https://developers.binance.com/docs/wallet/capital/deposite-history>,
//! <https://developers.binance.com/docs/wallet/capital/withdraw-history>,
//! <https://developers.binance.com/docs/convert/trade/Get-Convert-Trade-History>,
//! <https://developers.binance.com/docs/wallet/asset/assets-divided-record>,
//! <https://developers.binance.com/docs/simple_earn/flexible-locked/history/Get-Flexible-Rewards-History>,
//! <https://developers.binance.com/docs/simple_earn/flexible-locked/history/Get-Locked-Rewards-History>,
//! <https://developers.binance.com/docs/fiat/rest-api/Get-Fiat-Payments-History>,
//! <https://developers.binance.com/docs/fiat/rest-api>,
//! <https://developers.binance.com/docs/wallet/asset/dust-log>,
//! <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints>.)
//!
//! Simple Earn subscriptions and redemptions only move coins between the spot and the Earn side of
//! the same account, so they are not read: they change no cost basis. The fiat endpoints document
//! no longest window (ccxt too sends `beginTime` alone), so each reads everything since Binance's
//! opening in one window, by page.
//!
//! The API cannot say when an account was opened, so an import first reads the cheap streams that
//! bring value in from outside: crypto deposits (in windows since Binance's opening, July 2017),
//! fiat buys and fiat deposits. The earliest row any of them shows, less a day, is the account's
//! first funding, kept in the cursor. The costly windowed streams (conversions, distributions and
//! Simple Earn rewards) start there instead of at the opening: a two-year-old account reads two
//! years of them, not nine. An account funded only in ways these streams do not show (P2P, Binance
//! Pay, a transfer from another Binance account) has no first funding, and those streams start at
//! the opening as before. Simple Earn itself began on 22 September 2022
//! (<https://www.binance.com/en/support/faq/introduction-to-binance-simple-earn-8df6abf5930e4ef4977d84f45d99d491>),
//! but its change log does not say from when its rewards history answers, so no later start is
//! assumed for it. Withdrawals are cheap and start at the opening.
//!
//! Fiat orders weigh 90,000 of the account's 180,000 UID a minute, shared with conversions: two are
//! never sent within a minute ([`UID_HEAVY_GAP_MS`]). A first import reads fiat deposits early and
//! fiat withdrawals after the withdrawals, conversions and rewards, so the minute between them is
//! spent reading; once both are caught up, a sync reads only one of them, in turn (deposits in
//! even passes, withdrawals in odd ones), so a daily sync never waits for that minute.
//!
//! A window that comes back full is read again: by the next `offset` where
//! the endpoint pages, or halved where it does not. A row still pending (a deposit waiting for
//! confirmations, a conversion in process) is not a transaction yet; the stream's next sync
//! starts again from it, so it is picked up once it is final.
//!
//! `myTrades` needs a symbol, and no endpoint lists the symbols an account traded. Cartera asks
//! for every spot market (`exchangeInfo`) whose base and quote are both assets the account holds
//! now or ever moved: today's spot balances, every asset of the streams above, and every fee
//! asset of the fills read. A fee asset seen for the first time (BNB, say) widens the list within
//! the same sync. A market traded only through an asset the account never deposited, converted,
//! received or still holds (bought and sold back within Binance) is not found that way: the user
//! names it (the account's trading pairs on the options page), and a named market is read
//! whatever its assets.
//!
//! Reading is enough for all of it: Binance's "Enable Reading" covers every endpoint above
//! (<https://developers.binance.com/docs/wallet/account/api-key-permission>), so a key that reads
//! balances reads history. A history request refused with -2015 ("Invalid API-key, IP, or
//! permissions for action") after the same key read balances is therefore a permission Binance
//! withholds from this key for these endpoints, and says so as [`Error::HistoryPermission`].
//!
//! Pacing keeps a first import well inside every limit ([`Stream::pace_ms`]), and far from the
//! 429 that leads to IP bans: the IP weight is shared with the balance refreshes and with any
//! other program on the same network.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    API_ORIGIN, ACCOUNT_PATH, EXCHANGE, RECV_WINDOW_MS, ServerClock, cartera_code, malformed, out_of_turn,
    read_body, signed_request, time_request,
};
use crate::{
    calendar::{DAY_MS, day_of, parse_iso8601_ms},
    error::{Error, Result},
    exchange::{
        Context, DailyClose, Flow, HttpRequest, HttpResponse, Method, Step, every_row,
        json::{Items, JsonDecimal as _, Value},
    },
    money::Exact as _,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// Crypto deposits.
pub const DEPOSITS_PATH: &str = "/sapi/v1/capital/deposit/hisrec";
/// Crypto withdrawals.
pub const WITHDRAWALS_PATH: &str = "/sapi/v1/capital/withdraw/history";
/// Conversions (Binance Convert).
pub const CONVERTS_PATH: &str = "/sapi/v1/convert/tradeFlow";
/// Airdrops and other distributions.
pub const DIVIDENDS_PATH: &str = "/sapi/v1/asset/assetDividend";
/// Simple Earn flexible products' rewards.
pub const EARN_FLEXIBLE_PATH: &str = "/sapi/v1/simple-earn/flexible/history/rewardsRecord";
/// Simple Earn locked products' rewards.
pub const EARN_LOCKED_PATH: &str = "/sapi/v1/simple-earn/locked/history/rewardsRecord";
/// Crypto bought or sold for fiat (card, bank, cash balance).
pub const FIAT_PAYMENTS_PATH: &str = "/sapi/v1/fiat/payments";
/// Fiat deposits and withdrawals.
pub const FIAT_ORDERS_PATH: &str = "/sapi/v1/fiat/orders";
/// Small balances converted to BNB.
pub const DUST_PATH: &str = "/sapi/v1/asset/dribblet";
/// Spot fills of one symbol.
pub const TRADES_PATH: &str = "/api/v3/myTrades";
/// Every spot market with its base and quote asset.
pub const MARKETS_PATH: &str = "/api/v3/exchangeInfo";
/// Candles of one symbol.
pub const KLINES_PATH: &str = "/api/v3/klines";

/// Binance opened on 14 July 2017; the windowed streams start at the beginning of that month
/// (`date -u -d 2017-07-01T00:00:00Z +%s` → 1498867200).
pub const OPENED_MS: u64 = 1_498_867_200_000;
/// Each sync reads the last hour again, so a row written late, or a clock a little behind
/// Binance's, is not passed by.
const OVERLAP_MS: u64 = 60 * 60 * 1000;
/// The first funding is taken a day early, for rows Binance dates a little apart.
const FUNDING_MARGIN_MS: u64 = DAY_MS;
/// A pending row older than this is not waited for any longer.
const PENDING_FOR_MS: u64 = 90 * DAY_MS;
/// Fills per `myTrades` page (Binance's maximum).
const TRADES_PAGE: usize = 1000;
/// Candles per `klines` request (Binance's maximum).
const CANDLES_PAGE: u64 = 1000;
/// The most rows a stream pages through by `offset` within one window before the answer counts as
/// hostile.
const MAX_OFFSET: u64 = 100_000;

/// The endpoints read in turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Stage {
    #[default]
    Deposits,
    FiatBuys,
    FiatDeposits,
    Withdrawals,
    FiatSells,
    Converts,
    Dividends,
    EarnFlexible,
    EarnLocked,
    FiatWithdrawals,
    Dust,
    /// Today's spot balances, for the assets the account holds.
    Held,
    /// `exchangeInfo`, for the markets of those assets.
    Markets,
    Trades,
}

/// A stream read in time windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Deposits,
    Withdrawals,
    Converts,
    Dividends,
    EarnFlexible,
    EarnLocked,
    FiatBuys,
    FiatSells,
    FiatDeposits,
    FiatWithdrawals,
}

impl Stream {
    fn path(self) -> &'static str {
        match self {
            Stream::Deposits => DEPOSITS_PATH,
            Stream::Withdrawals => WITHDRAWALS_PATH,
            Stream::Converts => CONVERTS_PATH,
            Stream::Dividends => DIVIDENDS_PATH,
            Stream::EarnFlexible => EARN_FLEXIBLE_PATH,
            Stream::EarnLocked => EARN_LOCKED_PATH,
            Stream::FiatBuys | Stream::FiatSells => FIAT_PAYMENTS_PATH,
            Stream::FiatDeposits | Stream::FiatWithdrawals => FIAT_ORDERS_PATH,
        }
    }

    /// How the endpoint pages within a window.
    fn paging(self) -> Paging {
        match self {
            Stream::Deposits | Stream::Withdrawals => Paging::Offset,
            Stream::Converts | Stream::Dividends => Paging::Narrower,
            Stream::EarnFlexible | Stream::EarnLocked => Paging::Numbered { number: "current", size: "size" },
            Stream::FiatBuys | Stream::FiatSells | Stream::FiatDeposits | Stream::FiatWithdrawals => Paging::Numbered { number: "page", size: "rows" },
        }
    }

    /// Whether it counts against the account's UID weight so heavily that two requests are kept a
    /// minute apart.
    fn uid_heavy(self) -> bool {
        matches!(self, Stream::FiatDeposits | Stream::FiatWithdrawals)
    }

    /// Whether its rows bring value into the account from outside, and so tell its first funding.
    fn funds(self) -> bool {
        matches!(self, Stream::Deposits | Stream::FiatBuys | Stream::FiatDeposits)
    }

    /// Whether it starts at the account's first funding rather than at Binance's opening: the
    /// streams whose windows are short for their weight.
    fn after_funding(self) -> bool {
        matches!(self, Stream::Converts | Stream::Dividends | Stream::EarnFlexible | Stream::EarnLocked)
    }

    /// The longest window the endpoint accepts, ms: "less than 90 days" for transfers (rotki uses
    /// 89), 30 days for conversions, 180 for distributions (kept a day under), "3 months" for
    /// Earn rewards (89 days); the fiat endpoints document none, so everything in one.
    fn span_ms(self) -> u64 {
        match self {
            Stream::Deposits | Stream::Withdrawals | Stream::EarnFlexible | Stream::EarnLocked => 89 * DAY_MS,
            Stream::Converts => 30 * DAY_MS,
            Stream::Dividends => 179 * DAY_MS,
            Stream::FiatBuys | Stream::FiatSells | Stream::FiatDeposits | Stream::FiatWithdrawals => u64::MAX / 2,
        }
    }

    /// The most rows one answer holds.
    fn limit(self) -> u64 {
        match self {
            Stream::EarnFlexible | Stream::EarnLocked => 100,
            Stream::Dividends | Stream::FiatBuys | Stream::FiatSells | Stream::FiatDeposits | Stream::FiatWithdrawals => 500,
            Stream::Deposits | Stream::Withdrawals | Stream::Converts => 1000,
        }
    }

    /// The wait after one request of this stream, ms: a fraction of the limit it counts against,
    /// so balance refreshes and other programs on the same IP keep their room.
    fn pace_ms(self) -> u64 {
        match self {
            // Weight 1 of 12,000 a minute.
            Stream::Deposits => 300,
            // Ten a second at most; two.
            Stream::Withdrawals => 500,
            // 3000 of the account's 180,000 a minute: sixty a minute at most; under thirty, so
            // that with one fiat order (90,000) a minute holds at most 177,000.
            Stream::Converts => 2100,
            // Weight 10 of 12,000 a minute.
            Stream::Dividends => 500,
            // Weight 150 of 12,000 a minute: thirty a minute, 4500.
            Stream::EarnFlexible | Stream::EarnLocked => 2000,
            // Weight 1.
            Stream::FiatBuys | Stream::FiatSells => 300,
            // 90,000 of the account's 180,000 a minute: the next one waits a minute
            // ([`UID_HEAVY_GAP_MS`]); anything else may go on meanwhile.
            Stream::FiatDeposits | Stream::FiatWithdrawals => 300,
        }
    }
}

/// How a stream pages within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// `offset` and `limit`; a full answer means more.
    Offset,
    /// No paging: a full answer (or one that says there is more) is asked again for half the
    /// window.
    Narrower,
    /// Pages numbered from 1 (`number`) of `size` rows; the answer's `total` says how many.
    Numbered { number: &'static str, size: &'static str },
}

/// The least time between two requests of a [`Stream::uid_heavy`] stream: one a minute is half
/// of the account's 180,000 UID weight a minute, whichever way Binance cuts its minutes. The UID
/// weight is the account's own, not the IP's that balance refreshes share; conversions, paced
/// under thirty a minute (87,000), fill the rest of it at most.
const UID_HEAVY_GAP_MS: u64 = 60_000;

/// Weight 20 of the IP's 6000 a minute, one a second: a fifth of it.
const TRADES_PACE_MS: u64 = 1000;
/// Weight 1.
const DUST_PACE_MS: u64 = 300;

/// Where a windowed stream stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    /// Where the next window starts, ms; 0 for [`OPENED_MS`].
    #[serde(default)]
    from: u64,
    /// Rows of the current window already read (by `offset`).
    #[serde(default, skip_serializing_if = "is_zero")]
    offset: u64,
    /// A window narrower than the stream's own, ms, after a full answer; 0 for the stream's own.
    #[serde(default, skip_serializing_if = "is_zero")]
    span: u64,
    /// The time of the oldest pending row seen in this pass, to start from again next sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<u64>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A spot market whose fills are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Market {
    /// Binance's symbol (`BNBBTC`).
    symbol: String,
    /// Its base and quote asset, Binance's codes.
    base: String,
    quote: String,
    /// The next fill id to ask for.
    #[serde(default)]
    next_id: u64,
    /// The pass after the last one in which it was read to its end.
    #[serde(default)]
    done: u64,
}

/// Where an import stands: the opaque cursor of [`HistoryPage`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryCursor {
    #[serde(default)]
    stage: Stage,
    /// Syncs caught up so far: a market is read in each.
    #[serde(default)]
    pass: u64,
    #[serde(default)]
    deposits: Window,
    #[serde(default)]
    withdrawals: Window,
    #[serde(default)]
    converts: Window,
    #[serde(default)]
    dividends: Window,
    #[serde(default)]
    earn_flexible: Window,
    #[serde(default)]
    earn_locked: Window,
    #[serde(default)]
    fiat_buys: Window,
    #[serde(default)]
    fiat_sells: Window,
    #[serde(default)]
    fiat_deposits: Window,
    #[serde(default)]
    fiat_withdrawals: Window,
    /// When the last request of a [`Stream::uid_heavy`] stream was sent, ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    uid_heavy_at: u64,
    /// The account's first funding: the earliest row of a [`Stream::funds`] stream, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    funded: Option<u64>,
    /// The time of the newest dust conversion read.
    #[serde(default)]
    dust_after: u64,
    /// Every asset the account held or moved, Binance's codes.
    #[serde(default)]
    assets: BTreeSet<String>,
    /// How many of `assets` the market list was drawn from.
    #[serde(default)]
    assets_listed: usize,
    #[serde(default)]
    markets: Vec<Market>,
    #[serde(default)]
    read: u64,
    /// The markets the user named, Binance's symbols: handed to every page, never stored here.
    #[serde(skip)]
    named: BTreeSet<String>,
}

impl HistoryCursor {
    fn window(&mut self, stream: Stream) -> &mut Window {
        match stream {
            Stream::Deposits => &mut self.deposits,
            Stream::Withdrawals => &mut self.withdrawals,
            Stream::Converts => &mut self.converts,
            Stream::Dividends => &mut self.dividends,
            Stream::EarnFlexible => &mut self.earn_flexible,
            Stream::EarnLocked => &mut self.earn_locked,
            Stream::FiatBuys => &mut self.fiat_buys,
            Stream::FiatSells => &mut self.fiat_sells,
            Stream::FiatDeposits => &mut self.fiat_deposits,
            Stream::FiatWithdrawals => &mut self.fiat_withdrawals,
        }
    }

    /// The next market to read in this pass.
    fn next_market(&mut self) -> Option<&mut Market> {
        let pass = self.pass;
        self.markets.iter_mut().find(|market| market.done <= pass)
    }
}

/// One request of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    /// A window `start..=end` of a stream, from row `offset`.
    Window { stream: Stream, start: u64, end: u64, offset: u64 },
    Dust,
    Held,
    Markets,
    Trades { symbol: String, from_id: u64 },
}

impl Call {
    fn request(&self, clock: ServerClock, context: &Context<'_>) -> Result<HttpRequest> {
        let timestamp = clock.timestamp(context.now_ms())?;
        let query = |params: &str| format!("timestamp={timestamp}{params}&recvWindow={RECV_WINDOW_MS}");
        let (path, params) = match self {
            Call::Window { stream, start, end, offset } => {
                let limit = stream.limit();
                let paging = match stream.paging() {
                    Paging::Offset => format!("&offset={offset}&limit={limit}"),
                    Paging::Narrower => format!("&limit={limit}"),
                    Paging::Numbered { number, size } => format!("&{number}={}&{size}={limit}", offset / limit + 1),
                };
                let window = match stream {
                    // `type` is mandatory; ALL is every kind of reward (bonus tiers, real-time APR,
                    // historical).
                    Stream::EarnFlexible => format!("&type=ALL&startTime={start}&endTime={end}"),
                    Stream::FiatBuys | Stream::FiatDeposits => format!("&transactionType=0&beginTime={start}&endTime={end}"),
                    Stream::FiatSells | Stream::FiatWithdrawals => format!("&transactionType=1&beginTime={start}&endTime={end}"),
                    _ => format!("&startTime={start}&endTime={end}"),
                };
                (stream.path(), format!("{window}{paging}"))
            }
            Call::Dust => (DUST_PATH, String::new()),
            Call::Held => (ACCOUNT_PATH, "&omitZeroBalances=true".to_owned()),
            Call::Markets => {
                // Public, and several megabytes without the permission sets.
                return Ok(HttpRequest::get(format!("{API_ORIGIN}{MARKETS_PATH}?permissions=SPOT&showPermissionSets=false")));
            }
            Call::Trades { symbol, from_id } => {
                (TRADES_PATH, format!("&symbol={symbol}&fromId={from_id}&limit={TRADES_PAGE}"))
            }
        };
        signed_request(context.credentials()?, Method::Get, path, &query(&params))
    }

    /// The wait after this request.
    fn pace_ms(&self) -> u64 {
        match self {
            Call::Window { stream, .. } => stream.pace_ms(),
            Call::Dust => DUST_PACE_MS,
            Call::Held | Call::Markets | Call::Trades { .. } => TRADES_PACE_MS,
        }
    }
}

/// One page of an import: one request (and Binance's time first, once, if it refuses ours).
pub(super) struct HistoryFlow {
    cursor: Option<String>,
    named: BTreeSet<String>,
    state: State,
}

enum State {
    Start,
    Sent { cursor: HistoryCursor, call: Call, clock: Option<ServerClock> },
    AwaitingTime { cursor: HistoryCursor, call: Call },
    Finished,
}

impl HistoryFlow {
    /// The page after `cursor`, reading the markets `named` by the user as well (those that are
    /// not a symbol are no market and are left out).
    pub(super) fn new(cursor: Option<&str>, named: &[String]) -> Self {
        let named = named.iter().filter(|symbol| is_symbol(symbol)).cloned().collect();
        Self { cursor: cursor.map(str::to_owned), named, state: State::Start }
    }
}

impl Flow<HistoryPage> for HistoryFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (answer, std::mem::replace(&mut self.state, State::Finished)) {
            (None, State::Start) => {
                let mut cursor: HistoryCursor = match self.cursor.as_deref() {
                    Some(text) => serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "cursor" })?,
                    None => HistoryCursor::default(),
                };
                cursor.named = std::mem::take(&mut self.named);
                let now = context.now_ms();
                let Some(call) = next_call(&mut cursor, now) else {
                    return Ok(Step::Done(caught_up(cursor, Vec::new())));
                };
                // A sync begun within a minute of the last one's fiat orders waits its turn.
                let wait = wait_before(&cursor, &call, now);
                if wait > 0 {
                    return Ok(Step::Done(page(Vec::new(), &cursor, false, wait)));
                }
                let request = call.request(ServerClock::default(), context)?;
                self.state = State::Sent { cursor, call, clock: None };
                Ok(Step::Send(request))
            }
            (Some(answer), State::Sent { cursor, call, clock }) => {
                // A refused timestamp on the computer's clock: the same request on Binance's.
                if clock.is_none() && call != Call::Markets && matches!(read_body(answer), Err(Error::ClockSkew { .. })) {
                    self.state = State::AwaitingTime { cursor, call };
                    return Ok(Step::Send(time_request()));
                }
                let local_now = context.now_ms();
                let now = clock.unwrap_or_default().timestamp(local_now)?;
                read_page(answer, cursor, &call, now, local_now).map(Step::Done)
            }
            (Some(answer), State::AwaitingTime { cursor, call }) => {
                let clock = ServerClock::read(answer, context.now_ms())?;
                let request = call.request(clock, context)?;
                self.state = State::Sent { cursor, call, clock: Some(clock) };
                Ok(Step::Send(request))
            }
            _ => Err(out_of_turn()),
        }
    }
}

/// The request the cursor's stage needs, moving past stages with nothing to ask (a stream whose
/// next window would start after `now`, no market left); `None` once the pass is over.
fn next_call(cursor: &mut HistoryCursor, now: u64) -> Option<Call> {
    loop {
        let stream = match cursor.stage {
            Stage::Deposits => Stream::Deposits,
            Stage::Withdrawals => Stream::Withdrawals,
            Stage::Converts => Stream::Converts,
            Stage::Dividends => Stream::Dividends,
            Stage::EarnFlexible => Stream::EarnFlexible,
            Stage::EarnLocked => Stream::EarnLocked,
            Stage::FiatBuys => Stream::FiatBuys,
            Stage::FiatSells => Stream::FiatSells,
            Stage::FiatDeposits => Stream::FiatDeposits,
            Stage::FiatWithdrawals => Stream::FiatWithdrawals,
            Stage::Dust => return Some(Call::Dust),
            Stage::Held => return Some(Call::Held),
            Stage::Markets => return Some(Call::Markets),
            Stage::Trades => {
                if let Some(market) = cursor.next_market() {
                    return Some(Call::Trades { symbol: market.symbol.clone(), from_id: market.next_id });
                }
                // Fee assets seen for the first time: their markets too, in this pass.
                if cursor.assets.len() > cursor.assets_listed {
                    cursor.stage = Stage::Held;
                    continue;
                }
                return None;
            }
        };
        let first = if stream.after_funding() { cursor.funded.map_or(OPENED_MS, |at| at.saturating_sub(FUNDING_MARGIN_MS)) } else { OPENED_MS };
        // Once both are caught up, a sync reads one kind of fiat order: deposits in even passes,
        // withdrawals in odd ones.
        let turn = cursor.pass % 2 == u64::from(stream == Stream::FiatWithdrawals);
        let window = cursor.window(stream);
        let start = window.from.max(first);
        let skipped = stream.uid_heavy() && window.from > 0 && window.offset == 0 && !turn;
        if start <= now && !skipped {
            let span = if window.span == 0 { stream.span_ms() } else { window.span };
            let end = start.saturating_add(span - 1).min(now);
            return Some(Call::Window { stream, start, end, offset: window.offset });
        }
        cursor.stage = next_stage(cursor.stage);
    }
}

/// The wait `call` needs before it goes, ms: a [`Stream::uid_heavy`] request waits until
/// [`UID_HEAVY_GAP_MS`] after the last one.
fn wait_before(cursor: &HistoryCursor, call: &Call, local_now: u64) -> u64 {
    match call {
        Call::Window { stream, .. } if stream.uid_heavy() && cursor.uid_heavy_at > 0 => {
            cursor.uid_heavy_at.saturating_add(UID_HEAVY_GAP_MS).saturating_sub(local_now)
        }
        _ => 0,
    }
}

fn next_stage(stage: Stage) -> Stage {
    match stage {
        Stage::Deposits => Stage::FiatBuys,
        Stage::FiatBuys => Stage::FiatDeposits,
        Stage::FiatDeposits => Stage::Withdrawals,
        Stage::Withdrawals => Stage::FiatSells,
        Stage::FiatSells => Stage::Converts,
        Stage::Converts => Stage::Dividends,
        Stage::Dividends => Stage::EarnFlexible,
        Stage::EarnFlexible => Stage::EarnLocked,
        Stage::EarnLocked => Stage::FiatWithdrawals,
        Stage::FiatWithdrawals => Stage::Dust,
        Stage::Dust => Stage::Held,
        Stage::Held => Stage::Markets,
        Stage::Markets | Stage::Trades => Stage::Trades,
    }
}

/// The page that ends a pass: the next sync starts a new one from the first stream.
fn caught_up(mut cursor: HistoryCursor, transactions: Vec<Transaction>) -> HistoryPage {
    cursor.stage = Stage::Deposits;
    cursor.pass = cursor.pass.saturating_add(1);
    page(transactions, &cursor, true, 0)
}

fn page(transactions: Vec<Transaction>, cursor: &HistoryCursor, caught_up: bool, wait_ms: u64) -> HistoryPage {
    HistoryPage {
        transactions,
        // Strings, integers and sets of strings always serialise.
        cursor: serde_json::to_string(cursor).unwrap_or_default(),
        caught_up,
        read: cursor.read,
        expected: None,
        wait_ms: if caught_up { 0 } else { wait_ms },
    }
}

/// What a window's answer says about the rest of the window.
enum More {
    /// The window is read to its end.
    No,
    /// More rows from this offset.
    FromOffset(u64),
    /// More rows than one answer holds, and no offset: ask again for a narrower window.
    Narrower,
}

/// Reads the answer to `call` into the page it ends, and moves the cursor on.
fn read_page(response: HttpResponse<'_>, mut cursor: HistoryCursor, call: &Call, now: u64, local_now: u64) -> Result<HistoryPage> {
    if matches!(call, Call::Window { stream, .. } if stream.uid_heavy()) {
        cursor.uid_heavy_at = local_now;
    }
    let body = read_body(response).map_err(|error| match error {
        Error::KeyPermissionOrIp { exchange } => Error::HistoryPermission { exchange },
        other => other,
    })?;
    let mut transactions = Vec::new();
    let rows_read;
    match call {
        Call::Window { stream, start, end, offset } => {
            let (found, more, pending, rows) = read_window(body, *stream, *offset, now)?;
            if stream.funds() {
                let earliest = found.iter().map(|(_, transaction)| transaction.at).chain(pending).min();
                cursor.funded = earliest.into_iter().chain(cursor.funded).min();
            }
            let window = cursor.window(*stream);
            if let Some(at) = pending {
                window.pending = Some(window.pending.map_or(at, |known| known.min(at)));
            }
            match more {
                More::FromOffset(next) => window.offset = next,
                More::Narrower => {
                    // Half the window; a single millisecond that is still too full is not an
                    // answer Binance gives.
                    if end <= start {
                        return Err(malformed());
                    }
                    window.span = (end - start).div_ceil(2);
                }
                More::No => {
                    window.offset = 0;
                    window.span = 0;
                    if *end >= now {
                        let again = now.saturating_sub(OVERLAP_MS);
                        window.from = window.pending.take().map_or(again, |at| at.min(again));
                        cursor.stage = next_stage(cursor.stage);
                    } else {
                        window.from = end.saturating_add(1);
                    }
                }
            }
            if !matches!(more, More::Narrower) {
                for transaction in &found {
                    note_assets(&mut cursor.assets, transaction);
                }
                transactions = found.into_iter().map(|(_, transaction)| transaction).collect();
            }
            rows_read = rows;
        }
        Call::Dust => {
            let (found, newest, rows) = read_dust(body, cursor.dust_after)?;
            for transaction in &found {
                note_assets(&mut cursor.assets, transaction);
            }
            transactions = found.into_iter().map(|(_, transaction)| transaction).collect();
            cursor.dust_after = cursor.dust_after.max(newest);
            cursor.stage = next_stage(cursor.stage);
            rows_read = rows;
        }
        Call::Held => {
            let held = parse_account_body(body)?;
            rows_read = held.len() as u64;
            for code in held {
                // `LDUSDT`, Earn's mirror of USDT: USDT is held.
                if let Some(asset) = code.strip_prefix("LD").filter(|_| code.len() >= 5) {
                    cursor.assets.insert(asset.to_owned());
                }
                cursor.assets.insert(code);
            }
            cursor.stage = Stage::Markets;
        }
        Call::Markets => {
            let listed = read_markets(body, &cursor.assets, &cursor.named)?;
            rows_read = 0;
            let known = std::mem::take(&mut cursor.markets);
            cursor.markets = listed
                .into_iter()
                .map(|(symbol, base, quote)| match known.iter().find(|market| market.symbol == symbol) {
                    Some(market) => market.clone(),
                    None => Market { symbol, base, quote, next_id: 0, done: 0 },
                })
                .collect();
            cursor.assets_listed = cursor.assets.len();
            cursor.stage = Stage::Trades;
        }
        Call::Trades { symbol, .. } => {
            let market = cursor.markets.iter().find(|market| &market.symbol == symbol).cloned().ok_or_else(out_of_turn)?;
            let (found, last_id, rows) = read_trades(body, &market)?;
            for (fee_asset, _) in &found {
                if let Some(code) = fee_asset {
                    cursor.assets.insert(code.clone());
                }
            }
            transactions = found.into_iter().filter_map(|(_, transaction)| transaction).collect();
            let pass = cursor.pass;
            if let Some(market) = cursor.markets.iter_mut().find(|market| &market.symbol == symbol) {
                if let Some(last) = last_id {
                    market.next_id = last.checked_add(1).ok_or_else(malformed)?;
                }
                if rows < TRADES_PAGE as u64 {
                    market.done = pass.saturating_add(1);
                }
            }
            rows_read = rows;
        }
    }
    cursor.read = cursor.read.saturating_add(rows_read);
    // Whether anything is left in this pass; the stage moves past streams already caught up.
    let mut ahead = cursor.clone();
    let Some(next) = next_call(&mut ahead, now) else {
        return Ok(caught_up(cursor, transactions));
    };
    let wait = call.pace_ms().max(wait_before(&cursor, &next, local_now));
    Ok(page(transactions, &cursor, false, wait))
}

/// Adds the assets a transaction moved, in Binance's codes, to `assets`.
fn note_assets(assets: &mut BTreeSet<String>, (codes, _): &(Vec<String>, Transaction)) {
    assets.extend(codes.iter().cloned());
}

/// The Binance codes of `/api/v3/account`'s balances.
fn parse_account_body(body: Value<'_>) -> Result<Vec<String>> {
    let rows = every_row(EXCHANGE, body.get("balances").and_then(Value::items), |row| Some(row.get("asset")?.string()?.trim().to_owned()))?;
    if rows.iter().any(String::is_empty) {
        return Err(malformed());
    }
    Ok(rows)
}

/// A symbol as Binance's filters allow it in a URL (`^[A-Z0-9-_.]{1,20}$`), narrowed to letters
/// and digits: anything else never reaches a URL.
pub(super) fn is_symbol(text: &str) -> bool {
    (1..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The markets of `exchangeInfo` whose base and quote are both in `assets`, and those `named`.
fn read_markets(body: Value<'_>, assets: &BTreeSet<String>, named: &BTreeSet<String>) -> Result<Vec<(String, String, String)>> {
    let rows = body.get("symbols").and_then(|symbols| symbols.rows(["symbol", "baseAsset", "quoteAsset"])).ok_or_else(malformed)?;
    let mut markets = Vec::new();
    for (count, row) in rows.enumerate() {
        if count == crate::exchange::MAX_ROWS {
            return Err(malformed());
        }
        let [symbol, base, quote] = row.ok_or_else(malformed)?;
        let text = |value: Option<Value<'_>>| value.and_then(Value::string).map(|text| text.into_owned()).ok_or_else(malformed);
        let (symbol, base, quote) = (text(symbol)?, text(base)?, text(quote)?);
        if is_symbol(&symbol) && (named.contains(&symbol) || (assets.contains(&base) && assets.contains(&quote))) {
            markets.push((symbol, base, quote));
        }
    }
    Ok(markets)
}

/// The elements of a list, at most [`MAX_ROWS`](crate::exchange::MAX_ROWS); a missing list or a
/// longer one is malformed.
fn rows_of(items: Option<Items<'_>>) -> Result<Vec<Value<'_>>> {
    let mut rows = Vec::new();
    for row in items.ok_or_else(malformed)? {
        if rows.len() == crate::exchange::MAX_ROWS {
            return Err(malformed());
        }
        rows.push(row);
    }
    Ok(rows)
}

/// An amount of a Binance asset, as a transaction leg; `None` for zero.
fn leg(code: &str, amount: Decimal) -> Result<Option<Amount>> {
    if amount.is_sign_negative() {
        return Err(malformed());
    }
    if amount.is_zero() {
        return Ok(None);
    }
    let code = cartera_code(code).ok_or_else(malformed)?;
    Amount::new(&code, amount).map(Some).map_err(|_| malformed())
}

/// An id as Binance writes it, a number of any size or a string, as text fit for a transaction
/// id.
fn id_text(value: Option<Value<'_>>) -> Option<String> {
    let value = value.filter(|value| !value.is_null())?;
    let text = value.string().map_or_else(|| value.raw().to_owned(), std::borrow::Cow::into_owned);
    let fits = (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    fits.then_some(text)
}

fn string_of(row: Value<'_>, name: &str) -> Result<String> {
    row.get(name).and_then(Value::string).map(std::borrow::Cow::into_owned).ok_or_else(malformed)
}

fn decimal_of(row: Value<'_>, name: &str) -> Result<Decimal> {
    row.get(name).and_then(Value::decimal).ok_or_else(malformed)
}

fn time_of(row: Value<'_>, name: &str) -> Result<u64> {
    row.get(name).and_then(Value::unsigned).ok_or_else(malformed)
}

/// A transaction found, with the Binance codes of the assets it moved.
type Found = (Vec<String>, Transaction);

/// Rows of a window: the transactions, what the answer says about the rest of the window, the
/// time of the oldest row still pending (within [`PENDING_FOR_MS`] of `now`), and how many rows
/// it held.
fn read_window(body: Value<'_>, stream: Stream, offset: u64, now: u64) -> Result<(Vec<Found>, More, Option<u64>, u64)> {
    let limit = stream.limit();
    // A list left out when it would be empty (`total` 0), as Binance does for some of these.
    let listed = |name: &str, total: u64| match body.get_present(name) {
        Some(rows) => rows.items(),
        None if total == 0 => Value::parse("[]").and_then(Value::items),
        None => None,
    };
    let total_of = || body.get("total").and_then(Value::unsigned).ok_or_else(malformed);
    let (rows, told) = match stream {
        Stream::Deposits | Stream::Withdrawals => (body.items(), Told::Nothing),
        // `{"list": [...], "moreData": false}`.
        Stream::Converts => (body.get("list").and_then(Value::items), Told::More(body.get("moreData").and_then(Value::boolean).ok_or_else(malformed)?)),
        // `{"rows": [...], "total": 1}`: every row of the window, on pages or not.
        Stream::Dividends => {
            let total = total_of()?;
            (listed("rows", total), Told::More(total > limit))
        }
        Stream::EarnFlexible | Stream::EarnLocked => {
            let total = total_of()?;
            (listed("rows", total), Told::Total(total))
        }
        // `{"code": "000000", "message": "success", "data": [...], "total": 1, "success": true}`.
        Stream::FiatBuys | Stream::FiatSells | Stream::FiatDeposits | Stream::FiatWithdrawals => {
            if body.get("success").and_then(Value::boolean) != Some(true) {
                return Err(malformed());
            }
            let total = total_of()?;
            (listed("data", total), Told::Total(total))
        }
    };
    let read = |row: Value<'_>| -> Option<Result<Row>> {
        Some(match stream {
            Stream::Deposits => deposit_row(row),
            Stream::Withdrawals => withdrawal_row(row),
            Stream::Converts => convert_row(row),
            Stream::Dividends => dividend_row(row),
            Stream::EarnFlexible | Stream::EarnLocked => earn_row(row, stream),
            Stream::FiatBuys | Stream::FiatSells => fiat_payment_row(row, stream == Stream::FiatBuys),
            Stream::FiatDeposits | Stream::FiatWithdrawals => fiat_order_row(row, stream == Stream::FiatDeposits),
        })
    };
    let rows = every_row(EXCHANGE, rows, read)?;
    let count = rows.len() as u64;
    let mut found = Vec::new();
    let mut pending: Option<u64> = None;
    for row in rows {
        match row? {
            Row::Final(transaction) => found.push(transaction),
            Row::Pending(at) if at.saturating_add(PENDING_FOR_MS) >= now => {
                pending = Some(pending.map_or(at, |known| known.min(at)));
            }
            Row::Pending(_) | Row::Nothing => {}
        }
    }
    let next = offset.saturating_add(count);
    let more = match told {
        Told::More(true) => More::Narrower,
        Told::More(false) if count >= limit => More::Narrower,
        Told::More(false) => More::No,
        Told::Nothing if count >= limit => More::FromOffset(next),
        Told::Nothing => More::No,
        // A short page before the total is reached would never reach it.
        Told::Total(total) if next < total && count < limit => return Err(malformed()),
        Told::Total(total) if next < total => More::FromOffset(next),
        Told::Total(_) => More::No,
    };
    if matches!(more, More::FromOffset(next) if next > MAX_OFFSET) {
        return Err(malformed());
    }
    Ok((found, more, pending, count))
}

/// What an answer says about the rest of its window.
enum Told {
    /// Nothing: a full answer may have more after it.
    Nothing,
    /// Whether there is more than it holds.
    More(bool),
    /// How many rows the window holds in all.
    Total(u64),
}

/// One row of a stream.
enum Row {
    Final(Found),
    /// Not final yet, at this time.
    Pending(u64),
    /// Moved nothing (cancelled, rejected, zero).
    Nothing,
}

/// A crypto deposit: `status` 1 (success) and 6 (credited, not yet withdrawable) are credited;
/// 0 (pending) and 8 (waiting for the user's confirmation) may still be; 2 (rejected) and 7
/// (wrong deposit) never will.
fn deposit_row(row: Value<'_>) -> Result<Row> {
    let at = time_of(row, "insertTime")?;
    let status = row.get("status").and_then(Value::unsigned).ok_or_else(malformed)?;
    let coin = string_of(row, "coin")?;
    let amount = decimal_of(row, "amount")?;
    let id = id_text(row.get("id")).or_else(|| id_text(row.get("txId"))).ok_or_else(malformed)?;
    match status {
        1 | 6 => {}
        2 | 7 => return Ok(Row::Nothing),
        _ => return Ok(Row::Pending(at)),
    }
    let Some(received) = leg(&coin, amount)? else { return Ok(Row::Nothing) };
    let transaction = Transaction { id: format!("deposit:{id}"), at, kind: Kind::Deposit, side: None, received: Some(received), sent: None, fee: None };
    Ok(Row::Final((vec![coin], transaction)))
}

/// A crypto withdrawal: `status` 6 is completed; 1 (cancelled), 3 (rejected) and 5 (failure) moved
/// nothing; the rest (email sent, awaiting approval, processing) may still complete. `amount` is
/// what was sent, `transactionFee` the network fee on top. `applyTime` is UTC text.
fn withdrawal_row(row: Value<'_>) -> Result<Row> {
    let at = row.get("applyTime").and_then(Value::string).and_then(|text| parse_iso8601_ms(&text)).ok_or_else(malformed)?;
    let status = row.get("status").and_then(Value::unsigned).ok_or_else(malformed)?;
    let coin = string_of(row, "coin")?;
    let amount = decimal_of(row, "amount")?;
    let fee = match row.get_present("transactionFee") {
        Some(fee) => fee.decimal().ok_or_else(malformed)?,
        None => Decimal::ZERO,
    };
    let id = id_text(row.get("id")).ok_or_else(malformed)?;
    match status {
        6 => {}
        1 | 3 | 5 => return Ok(Row::Nothing),
        _ => return Ok(Row::Pending(at)),
    }
    let sent = leg(&coin, amount)?;
    let fee = leg(&coin, fee)?;
    let kind = if sent.is_some() { Kind::Withdrawal } else { Kind::Fee };
    if sent.is_none() && fee.is_none() {
        return Ok(Row::Nothing);
    }
    let transaction = Transaction { id: format!("withdrawal:{id}"), at, kind, side: None, received: None, sent, fee };
    Ok(Row::Final((vec![coin], transaction)))
}

/// A conversion: `orderStatus` SUCCESS is done, FAIL moved nothing, anything else (PROCESS,
/// ACCEPT_SUCCESS) may still be. The spread is in the price; there is no fee.
fn convert_row(row: Value<'_>) -> Result<Row> {
    let at = time_of(row, "createTime")?;
    let status = string_of(row, "orderStatus")?;
    let id = id_text(row.get("orderId")).ok_or_else(malformed)?;
    let (from, to) = (string_of(row, "fromAsset")?, string_of(row, "toAsset")?);
    let sent = leg(&from, decimal_of(row, "fromAmount")?)?;
    let received = leg(&to, decimal_of(row, "toAmount")?)?;
    match status.as_str() {
        "SUCCESS" => {}
        "FAIL" => return Ok(Row::Nothing),
        _ => return Ok(Row::Pending(at)),
    }
    match (received, sent) {
        (None, None) => Ok(Row::Nothing),
        (Some(received), Some(sent)) => {
            let transaction = Transaction {
                id: format!("convert:{id}"),
                at,
                kind: Kind::Trade,
                side: Some(Side::Buy),
                received: Some(received),
                sent: Some(sent),
                fee: None,
            };
            Ok(Row::Final((vec![from, to], transaction)))
        }
        _ => Err(malformed()),
    }
}

/// A distribution (airdrop, fork, launchpool, interest Binance pays this way): income.
fn dividend_row(row: Value<'_>) -> Result<Row> {
    let at = time_of(row, "divTime")?;
    let id = id_text(row.get("id")).or_else(|| id_text(row.get("tranId"))).ok_or_else(malformed)?;
    let asset = string_of(row, "asset")?;
    let Some(received) = leg(&asset, decimal_of(row, "amount")?)? else { return Ok(Row::Nothing) };
    let transaction = Transaction { id: format!("dividend:{id}"), at, kind: Kind::Reward, side: None, received: Some(received), sent: None, fee: None };
    Ok(Row::Final((vec![asset], transaction)))
}

/// A Simple Earn reward: income, paid into the product (or spot) of the same account. The rows
/// carry no id of their own; the product (`projectId`, `positionId`), the reward's type, asset
/// and time tell one from another. Flexible rows name the amount `rewards`, locked ones `amount`.
fn earn_row(row: Value<'_>, stream: Stream) -> Result<Row> {
    let at = time_of(row, "time")?;
    let asset = string_of(row, "asset")?;
    let (source, product, amount) = match stream {
        Stream::EarnFlexible => ("earn-flexible", id_text(row.get("projectId")), decimal_of(row, "rewards")?),
        _ => ("earn-locked", id_text(row.get("positionId")), decimal_of(row, "amount")?),
    };
    let product = product.ok_or_else(malformed)?;
    // "Locked Rewards", "Boost Rewards", "REALTIME": letters only in the id.
    let kind: String = row.get("type").and_then(Value::string).unwrap_or_default().chars().filter(char::is_ascii_alphanumeric).take(32).collect();
    let Some(received) = leg(&asset, amount)? else { return Ok(Row::Nothing) };
    let id = format!("{source}:{product}:{kind}:{}:{at}", received.asset);
    let transaction = Transaction { id, at, kind: Kind::Reward, side: None, received: Some(received), sent: None, fee: None };
    Ok(Row::Final((vec![asset], transaction)))
}

/// Where a fiat row stands: `done` is its final status; `Processing` may still get there; any
/// other (Failed, Refunded, Expired, …) moved nothing.
fn fiat_status(row: Value<'_>, done: &str) -> Result<Option<Row>> {
    let at = time_of(row, "createTime")?;
    Ok(match string_of(row, "status")?.as_str() {
        status if status == done => None,
        "Processing" => Some(Row::Pending(at)),
        _ => Some(Row::Nothing),
    })
}

/// Crypto bought (`buy`) or sold for fiat, by card, bank or cash balance; only `Completed` counts.
/// `sourceAmount` is the fiat side and holds the fee (`totalFee`, in fiat): in the docs' example
/// 20 EUR paid for 4.462 LUNA at 4.437472 is 19.8 EUR of coins and 0.2 of fee.
fn fiat_payment_row(row: Value<'_>, buy: bool) -> Result<Row> {
    if let Some(row) = fiat_status(row, "Completed")? {
        return Ok(row);
    }
    let at = time_of(row, "createTime")?;
    let id = id_text(row.get("orderNo")).ok_or_else(malformed)?;
    let (fiat, crypto) = (string_of(row, "fiatCurrency")?, string_of(row, "cryptoCurrency")?);
    let (fiat_amount, fee_amount) = (decimal_of(row, "sourceAmount")?, decimal_of(row, "totalFee")?);
    let coins = leg(&crypto, decimal_of(row, "obtainAmount")?)?;
    let fee = leg(&fiat, fee_amount)?;
    let (received, sent, side) = if buy {
        let paid = fiat_amount.minus(fee_amount).filter(|paid| !paid.is_sign_negative()).ok_or_else(malformed)?;
        (coins, leg(&fiat, paid)?, Side::Buy)
    } else {
        (leg(&fiat, fiat_amount)?, coins, Side::Sell)
    };
    match (received, sent) {
        (None, None) => Ok(Row::Nothing),
        (Some(received), Some(sent)) => {
            let transaction = Transaction { id: format!("fiat-payment:{id}"), at, kind: Kind::Trade, side: Some(side), received: Some(received), sent: Some(sent), fee };
            Ok(Row::Final((vec![fiat, crypto], transaction)))
        }
        _ => Err(malformed()),
    }
}

/// Fiat deposited (`deposit`) or withdrawn; only `Successful` counts. `indicatedAmount` is the
/// order's amount, `totalFee` the fee within it: a deposit credits the amount less the fee, a
/// withdrawal takes the amount, of which the fee.
fn fiat_order_row(row: Value<'_>, deposit: bool) -> Result<Row> {
    if let Some(row) = fiat_status(row, "Successful")? {
        return Ok(row);
    }
    let at = time_of(row, "createTime")?;
    let id = id_text(row.get("orderNo")).ok_or_else(malformed)?;
    let fiat = string_of(row, "fiatCurrency")?;
    let (amount, fee_amount) = (decimal_of(row, "indicatedAmount")?, decimal_of(row, "totalFee")?);
    let fee = leg(&fiat, fee_amount)?;
    let transaction = if deposit {
        let Some(received) = leg(&fiat, amount)? else { return Ok(Row::Nothing) };
        Transaction { id: format!("fiat-deposit:{id}"), at, kind: Kind::Deposit, side: None, received: Some(received), sent: None, fee }
    } else {
        let sent = leg(&fiat, amount.minus(fee_amount).filter(|sent| !sent.is_sign_negative()).ok_or_else(malformed)?)?;
        if sent.is_none() && fee.is_none() {
            return Ok(Row::Nothing);
        }
        let kind = if sent.is_some() { Kind::Withdrawal } else { Kind::Fee };
        Transaction { id: format!("fiat-withdrawal:{id}"), at, kind, side: None, received: None, sent, fee }
    };
    Ok(Row::Final((vec![fiat], transaction)))
}

/// The dust log's conversions newer than `after`: each small balance sold for BNB. Binance's
/// `transferedAmount` is the BNB credited after its fee (`serviceChargeAmount`, 2 %: in the
/// docs' example 0.000441 + 0.000009 = 0.00045, of which 0.000009 is 2 %), so what was credited
/// before the fee is their sum. Also the newest conversion's time and the rows read.
fn read_dust(body: Value<'_>, after: u64) -> Result<(Vec<Found>, u64, u64)> {
    let conversions = match body.get_present("userAssetDribblets") {
        Some(list) => list.items(),
        None => (body.get("total").and_then(Value::unsigned) == Some(0)).then(|| Value::parse("[]").and_then(Value::items)).flatten(),
    };
    let conversions = rows_of(conversions)?;
    let mut found = Vec::new();
    let mut newest = after;
    let mut rows = 0u64;
    for conversion in conversions {
        let at = time_of(conversion, "operateTime")?;
        let details = rows_of(conversion.get("userAssetDribbletDetails").and_then(Value::items))?;
        rows = rows.saturating_add(details.len() as u64);
        newest = newest.max(at);
        if at <= after {
            continue;
        }
        for detail in details {
            let id = id_text(detail.get("transId")).ok_or_else(malformed)?;
            let from = string_of(detail, "fromAsset")?;
            let net = decimal_of(detail, "transferedAmount")?;
            let charge = decimal_of(detail, "serviceChargeAmount")?;
            let sent = leg(&from, decimal_of(detail, "amount")?)?;
            let received = leg("BNB", net.plus(charge).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?)?;
            let fee = leg("BNB", charge)?;
            let (Some(sent), Some(received)) = (sent, received) else {
                return Err(malformed());
            };
            let at = detail.get("operateTime").and_then(Value::unsigned).unwrap_or(at);
            let transaction =
                Transaction { id: format!("dust:{id}"), at, kind: Kind::Trade, side: Some(Side::Sell), received: Some(received), sent: Some(sent), fee };
            found.push((vec![from, "BNB".to_owned()], transaction));
        }
    }
    Ok((found, newest, rows))
}

/// A fill: its fee asset's Binance code, and the transaction (`None` when it moved nothing).
type Fill = (Option<String>, Option<Transaction>);

/// A market's fills: each a transaction (or `None` when it moved nothing) with its fee asset's
/// Binance code; the last fill id; the rows read. A buyer received `qty` of the base for
/// `quoteQty` of the quote; a seller the other way round; `commission` is taken in
/// `commissionAsset`, whatever it is (BNB with the BNB discount).
fn read_trades(body: Value<'_>, market: &Market) -> Result<(Vec<Fill>, Option<u64>, u64)> {
    let rows = rows_of(body.items())?;
    let count = rows.len() as u64;
    let mut last_id: Option<u64> = None;
    let mut found = Vec::new();
    for row in rows {
        let id = time_of(row, "id")?;
        // Binance answers in id order; one out of it would move the cursor back or past rows.
        if last_id.is_some_and(|last| id <= last) || id < market.next_id {
            return Err(malformed());
        }
        last_id = Some(id);
        if row.get("symbol").and_then(Value::string).as_deref() != Some(market.symbol.as_str()) {
            return Err(malformed());
        }
        let at = time_of(row, "time")?;
        let buyer = row.get("isBuyer").and_then(Value::boolean).ok_or_else(malformed)?;
        let base = leg(&market.base, decimal_of(row, "qty")?)?;
        let quote = leg(&market.quote, decimal_of(row, "quoteQty")?)?;
        let fee_code = string_of(row, "commissionAsset").ok();
        let commission = decimal_of(row, "commission")?;
        let fee = match &fee_code {
            Some(code) => leg(code, commission)?,
            None if commission.is_zero() => None,
            None => return Err(malformed()),
        };
        let (received, sent, side) = if buyer { (base, quote, Side::Buy) } else { (quote, base, Side::Sell) };
        let transaction = match (received, sent) {
            (None, None) => None,
            (Some(received), Some(sent)) => Some(Transaction {
                id: format!("trade:{}:{id}", market.symbol),
                at,
                kind: Kind::Trade,
                side: Some(side),
                received: Some(received),
                sent: Some(sent),
                fee,
            }),
            _ => return Err(malformed()),
        };
        found.push((fee_code.filter(|code| !code.is_empty()), transaction));
    }
    Ok((found, last_id, count))
}

/// A symbol's daily candles, [`CANDLES_PAGE`] days at a time.
pub(super) struct Candles {
    symbol: String,
    next_day: u64,
    to_day: u64,
    closes: Vec<DailyClose>,
}

impl Candles {
    /// Candles of `market` (`BTCUSDT`); `None` for anything that is not a symbol.
    pub(super) fn new(market: &str, from_day: u64, to_day: u64) -> Option<Self> {
        is_symbol(market).then(|| Self { symbol: market.to_owned(), next_day: from_day, to_day, closes: Vec::new() })
    }
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            // `[[openTime, open, high, low, close, volume, closeTime, …], …]`.
            let rows = every_row(EXCHANGE, read_body(answer)?.items(), |row| {
                let mut fields = row.items()?;
                let open_time = fields.next()?.unsigned()?;
                let close = fields.nth(3)?.decimal()?;
                Some(DailyClose { day: day_of(open_time), close })
            })?;
            self.closes.extend(rows.into_iter().filter(|close| close.close > Decimal::ZERO));
        }
        if self.next_day > self.to_day {
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        }
        let last = self.to_day.min(self.next_day.saturating_add(CANDLES_PAGE - 1));
        let url = format!(
            "{API_ORIGIN}{KLINES_PATH}?symbol={}&interval=1d&startTime={}&endTime={}&limit={CANDLES_PAGE}",
            self.symbol,
            self.next_day.saturating_mul(DAY_MS),
            last.saturating_add(1).saturating_mul(DAY_MS).saturating_sub(1),
        );
        self.next_day = last + 1;
        Ok(Step::Send(HttpRequest::get(url)))
    }
}

#[cfg(test)]
mod tests;
