//! An account's transaction history: Advanced Trade fills from the v3 API, and everything else
//! from the Coinbase App API v2 (the "Track APIs"), both signed with the same CDP token as every
//! other private request and both read with the `view` scope that reads balances.
//!
//! - Fills: `GET /api/v3/brokerage/orders/historical/fills`
//!   (<https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-fills>),
//!   every product at once, paged by the opaque `cursor` of the answer until it comes back empty,
//!   from `start_sequence_timestamp` on. Each fill carries its price, size, side and `commission`
//!   (in the quote currency).
//! - Wallets: `GET /v2/accounts` lists them (one per currency, and vaults;
//!   <https://docs.cdp.coinbase.com/coinbase-app/track-apis/accounts>), and
//!   `GET /v2/accounts/:id/transactions` lists each one's rows
//!   (<https://docs.cdp.coinbase.com/coinbase-app/track-apis/transactions>), both paged by cursor:
//!   `limit` up to 100, `order=asc`, `starting_after=<id of the last row read>`, until
//!   `pagination.next_uri` is null (<https://docs.cdp.coinbase.com/coinbase-app/api-architecture/pagination>).
//!   Amounts are signed: negative for what left the wallet.
//!
//! # One import, as passes
//!
//! A pass re-checks the rows that were not final when last seen, lists the wallets, reads each
//! wallet from the last row imported before, then reads the fills since the newest one imported
//! before. The cursor keeps, per wallet, that last row (`starting_after` for the next pass), and
//! the newest fill's time, so a sync reads only what is new; rows that arrive during an import
//! are read by the pass that reaches them or by the next one (a fill newer than every fill the
//! pass saw is newer than the time kept). A page of the import is a few requests of one pass
//! (see [`REQUESTS_PER_PAGE`]).
//!
//! # Rows that take two wallets
//!
//! - An Advanced Trade fill is also written in both wallets it moved, as `advanced_trade_fill`
//!   rows. Those rows are skipped: the fill is read once, from the fills list, which alone
//!   carries its price and commission exactly (rotki, reading v2 only, instead keeps one of the
//!   two rows by order id).
//! - A conversion (`trade`) is written as one row per wallet, the two sharing `trade.id`, and
//!   only both rows together say what was given for what. Wallets are read one after another,
//!   over several pages and even several syncs, so the first leg found waits in the cursor (a
//!   "half") until its partner is read; the pair then becomes one trade. A half whose partner
//!   never comes (a leg older than the pass that did not find the other: that wallet is not
//!   visible to the key) is booked on its own against its `native_amount`, the value Coinbase
//!   gives it in the user's currency, as rotki does: a sale for, or a purchase with, that
//!   currency. Two such halves of one conversion come to the same cost basis as the pair.
//!   Same-currency conversions in name only (both legs of one asset after Cartera's mapping)
//!   move nothing of value and are skipped. USDC↔USD conversions are kept as trades: Cartera
//!   holds and prices USDC and USD as two assets (see `parse_products`), and dropping them, as
//!   rotki does, would leave both balances off.
//!
//! # Rows not final yet
//!
//! A row is imported once completed. A pending one (a bank deposit clearing, a send awaiting
//! confirmations) is kept in the cursor and fetched again at the start of later passes
//! (`GET /v2/accounts/:id/transactions/:tx`) until it completes or fails, because the wallet's
//! cursor has already moved past it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{EXCHANGE, MALFORMED, asset_code, percent_encode, read_success, sign_next};
use crate::{
    calendar::{DAY_MS, civil, parse_iso8601_ms},
    error::{Error, Result},
    exchange::{
        Context, Flow, HttpResponse, Step,
        json::{JsonDecimal as _, Value},
    },
    money::Exact as _,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// The wallets of the key's portfolio.
pub const WALLETS_PATH: &str = "/v2/accounts";

/// The most rows a v2 list answers at once, and what the import asks for.
pub const PAGE_LIMIT: usize = 100;

/// The Advanced Trade fills of the key's portfolio, every product at once.
pub const FILLS_PATH: &str = "/api/v3/brokerage/orders/historical/fills";

/// Fills asked for at once. The reference names no maximum; its examples and the SDKs use 100.
pub const FILLS_LIMIT: usize = 100;

/// The longest fills `cursor` kept: Coinbase's are short opaque tokens.
const MAX_FILLS_CURSOR: usize = 256;

/// App API keys may send 10,000 requests an hour
/// (<https://docs.cdp.coinbase.com/coinbase-app/api-architecture/rate-limiting>), one every
/// 360 ms. An import averages one every 400 ms, which leaves a tenth of the allowance to anything
/// else the key does meanwhile; the requests of one page go out back to back, and the wait after
/// it pays for all of them.
pub const PACE_MS: u64 = 400;

/// The most requests one page sends. A page ends early, to be stored, once it has read any
/// transactions; wallets with nothing new cost one request each, so several of them share a page.
pub const REQUESTS_PER_PAGE: usize = 10;

/// The most wallets followed. Coinbase lists the currencies an account has used and a few more;
/// far more than any real account, so a listing that never ends is refused.
const MAX_WALLETS: usize = 1_000;

/// The most conversion legs kept waiting for their partner. Past it the oldest is booked on its
/// own (see the module docs), so the cursor stays small.
const MAX_HALVES: usize = 500;

/// The most rows re-checked while not final. Past it the oldest is forgotten: a row pending for
/// that long is not going to complete.
const MAX_WATCHED: usize = 100;

/// Where an import stands, stored by the caller between pages.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The wallets to read, in the order Coinbase lists them, each with the last row imported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wallets: Vec<Wallet>,
    /// The pass under way; none between syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pass: Option<Pass>,
    /// Conversion legs waiting for their partner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    halves: Vec<Half>,
    /// Rows not final when read, to fetch again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    watched: Vec<Watched>,
    /// The newest fill imported by a finished pass, ms: where the next pass's fills start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fills_since: Option<u64>,
    /// Rows read so far.
    #[serde(default)]
    read: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wallet {
    id: String,
    /// The last row imported: where the next read starts after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pass {
    /// When the pass began, ms: a conversion leg older than that, still alone when the pass ends,
    /// has no partner the key can see (both legs were written before the wallets were listed,
    /// and the pass read every listed wallet to its end).
    began: u64,
    stage: Stage,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum Stage {
    /// Fetching the watched rows again, from this one.
    Recheck(usize),
    /// Listing the wallets: those listed so far.
    Listing(Vec<String>),
    /// Reading this wallet.
    Reading(usize),
    /// Reading the fills.
    Fills(FillsRun),
}

/// How far the pass has read the fills.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FillsRun {
    /// Coinbase's `cursor` for the next page; none for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// The newest fill read by this pass, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<u64>,
    /// The fills list said it has no more.
    #[serde(default)]
    ended: bool,
}

/// A conversion leg waiting for its partner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Half {
    /// The conversion's `trade.id`, shared by both legs.
    trade: String,
    /// The row's own id.
    id: String,
    at: u64,
    asset: String,
    /// Signed: negative for the leg given.
    #[serde(with = "crate::money::plain_string")]
    amount: Decimal,
    /// `trade.fee`, when the row carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fee: Option<Amount>,
    /// The leg's value in the user's currency, without its sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    native: Option<Amount>,
}

/// A row not final when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Watched {
    wallet: String,
    id: String,
}

impl Cursor {
    /// Reads a stored cursor; `None` starts from the beginning. Every id that a request would
    /// carry is checked here, so nothing stored can put other text into a URL.
    fn read(text: Option<&str>) -> Result<Cursor> {
        let invalid = Error::InvalidInput { field: "cursor" };
        let Some(text) = text else { return Ok(Cursor::default()) };
        let cursor: Cursor = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let wallets_ok = cursor.wallets.iter().all(|wallet| is_id(&wallet.id) && wallet.last.as_deref().is_none_or(is_id));
        let watched_ok = cursor.watched.iter().all(|watched| is_id(&watched.wallet) && is_id(&watched.id));
        let listed_ok = match &cursor.pass {
            Some(Pass { stage: Stage::Listing(listed), .. }) => listed.iter().all(|id| is_id(id)),
            // Percent-encoded when sent; bounded here.
            Some(Pass { stage: Stage::Fills(run), .. }) => run.next.as_ref().is_none_or(|next| next.len() <= MAX_FILLS_CURSOR),
            _ => true,
        };
        let sizes_ok = cursor.wallets.len() <= MAX_WALLETS && cursor.halves.len() <= MAX_HALVES && cursor.watched.len() <= MAX_WATCHED;
        if wallets_ok && watched_ok && listed_ok && sizes_ok { Ok(cursor) } else { Err(invalid) }
    }

    fn write(&self) -> String {
        // Strings, integers and decimals always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether `text` can be a Coinbase id in a URL path or query: UUIDs and the like, nothing that
/// needs escaping.
fn is_id(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One page of the import.
pub(super) struct Import {
    /// The cursor as handed in, read at the first step.
    given: Option<String>,
    page: Option<Page>,
}

impl Import {
    pub(super) fn new(cursor: Option<&str>) -> Self {
        Self { given: cursor.map(str::to_owned), page: None }
    }
}

/// A page being read.
struct Page {
    cursor: Cursor,
    found: Vec<Transaction>,
    /// Requests sent by this page.
    sent: usize,
    /// Rows of wallets read by this page.
    rows: usize,
    /// Whether a request is out, waiting for its answer.
    waiting: bool,
}

impl Flow<HistoryPage> for Import {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        let page = match (answer, self.page.as_mut()) {
            (None, None) => {
                let mut cursor = Cursor::read(self.given.as_deref())?;
                if cursor.pass.is_none() {
                    cursor.pass = Some(Pass { began: context.now_ms(), stage: Stage::Recheck(0) });
                }
                self.page.insert(Page { cursor, found: Vec::new(), sent: 0, rows: 0, waiting: false })
            }
            (Some(answer), Some(page)) if page.waiting => {
                page.waiting = false;
                page.take(answer)?;
                page
            }
            // The engine feeds answers strictly in turn; anything else is a bug, reported as such.
            _ => return Err(Error::InvalidInput { field: "refresh" }),
        };
        page.next(context)
    }
}

/// The stage of the pass, without what it holds.
#[derive(Clone, Copy)]
enum At {
    Recheck(usize),
    Listing,
    Reading(usize),
    Fills { ended: bool },
}

impl Page {
    fn at(&self) -> Result<At> {
        match self.cursor.pass.as_ref().map(|pass| &pass.stage) {
            Some(Stage::Recheck(index)) => Ok(At::Recheck(*index)),
            Some(Stage::Listing(_)) => Ok(At::Listing),
            Some(Stage::Reading(index)) => Ok(At::Reading(*index)),
            Some(Stage::Fills(run)) => Ok(At::Fills { ended: run.ended }),
            None => Err(Error::InvalidInput { field: "refresh" }),
        }
    }

    fn move_to(&mut self, stage: Stage) {
        if let Some(pass) = self.cursor.pass.as_mut() {
            pass.stage = stage;
        }
    }

    /// The next request of the pass, or the end of the page.
    fn next(&mut self, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        // Steps that need no request.
        if matches!(self.at()?, At::Recheck(index) if index >= self.cursor.watched.len()) {
            self.move_to(Stage::Listing(Vec::new()));
        }
        if matches!(self.at()?, At::Reading(index) if index >= self.cursor.wallets.len()) {
            self.move_to(Stage::Fills(FillsRun::default()));
        }
        if matches!(self.at()?, At::Fills { ended: true }) {
            return Ok(Step::Done(self.finish_pass()));
        }
        if self.rows > 0 || self.sent >= REQUESTS_PER_PAGE {
            return Ok(Step::Done(self.done(false)));
        }
        let out_of_range = || Error::InvalidInput { field: "refresh" };
        let request = match self.at()? {
            At::Recheck(index) => {
                let watched = self.cursor.watched.get(index).ok_or_else(out_of_range)?;
                sign_next(context, &format!("{WALLETS_PATH}/{}/transactions/{}", watched.wallet, watched.id), "")?
            }
            At::Listing => {
                let after = match self.cursor.pass.as_ref().map(|pass| &pass.stage) {
                    Some(Stage::Listing(listed)) => listed.last().cloned(),
                    _ => None,
                };
                sign_next(context, WALLETS_PATH, &list_query(after.as_deref()))?
            }
            At::Reading(index) => {
                let wallet = self.cursor.wallets.get(index).ok_or_else(out_of_range)?;
                sign_next(context, &format!("{WALLETS_PATH}/{}/transactions", wallet.id), &list_query(wallet.last.as_deref()))?
            }
            At::Fills { .. } => {
                let next = match self.cursor.pass.as_ref().map(|pass| &pass.stage) {
                    Some(Stage::Fills(run)) => run.next.clone(),
                    _ => None,
                };
                sign_next(context, FILLS_PATH, &fills_query(self.cursor.fills_since, next.as_deref()))?
            }
        };
        self.sent += 1;
        self.waiting = true;
        Ok(Step::Send(request))
    }

    /// Reads the answer to the request of the current stage.
    fn take(&mut self, answer: HttpResponse<'_>) -> Result<()> {
        let out_of_range = || Error::InvalidInput { field: "refresh" };
        match self.at()? {
            At::Recheck(index) => {
                let watched = self.cursor.watched.get(index).cloned().ok_or_else(out_of_range)?;
                let reading = if answer.status == 404 {
                    // Gone: nothing to import.
                    Reading::Skipped
                } else {
                    let body = read_answer(answer)?;
                    let (id, reading) = body.get("data").and_then(read_row).ok_or(MALFORMED)?;
                    if id != watched.id {
                        return Err(MALFORMED);
                    }
                    reading
                };
                if matches!(reading, Reading::Pending) {
                    self.move_to(Stage::Recheck(index + 1));
                } else {
                    self.cursor.watched.remove(index);
                    self.keep(reading, &watched.wallet, &watched.id);
                }
            }
            At::Listing => {
                let (rows, more) = list_page(read_answer(answer)?)?;
                let count = rows.len();
                let Some(Pass { stage: Stage::Listing(listed), .. }) = self.cursor.pass.as_mut() else { return Err(out_of_range()) };
                for row in rows {
                    let id = row.get("id").and_then(Value::string).filter(|id| is_id(id)).ok_or(MALFORMED)?;
                    listed.push(id.into_owned());
                }
                if listed.len() > MAX_WALLETS {
                    return Err(MALFORMED);
                }
                // A page that says "more" but brought nothing would ask for itself forever.
                if !more || count == 0 {
                    let listed = std::mem::take(listed);
                    self.cursor.wallets = merge_wallets(listed, std::mem::take(&mut self.cursor.wallets));
                    self.move_to(Stage::Reading(0));
                }
            }
            At::Reading(index) => {
                let wallet = self.cursor.wallets.get(index).map(|wallet| wallet.id.clone()).ok_or_else(out_of_range)?;
                // A wallet listed before but gone since has nothing more to read.
                let (rows, more) = if answer.status == 404 { (Vec::new(), false) } else { list_page(read_answer(answer)?)? };
                let count = rows.len();
                for row in rows {
                    let (id, reading) = read_row(row).ok_or(MALFORMED)?;
                    self.keep(reading, &wallet, &id);
                    if let Some(wallet) = self.cursor.wallets.get_mut(index) {
                        wallet.last = Some(id);
                    }
                }
                self.rows += count;
                self.cursor.read = self.cursor.read.saturating_add(count as u64);
                // A page that says "more" but brought nothing would ask for itself forever.
                if !more || count == 0 {
                    self.move_to(Stage::Reading(index + 1));
                }
            }
            At::Fills { .. } => {
                let (fills, next) = fills_page(read_answer(answer)?)?;
                let Some(Pass { stage: Stage::Fills(run), .. }) = self.cursor.pass.as_mut() else { return Err(out_of_range()) };
                let count = fills.len();
                for fill in fills {
                    run.newest = run.newest.max(Some(fill.sequence));
                    self.found.extend(fill.trade);
                }
                // A cursor that does not move, or a page that brought nothing but says "more",
                // would ask for itself forever.
                match next {
                    Some(next) if count > 0 && run.next.as_deref() != Some(next.as_str()) && next.len() <= MAX_FILLS_CURSOR => {
                        run.next = Some(next);
                    }
                    Some(_) if count > 0 => return Err(MALFORMED),
                    _ => run.ended = true,
                }
                self.rows += count;
                self.cursor.read = self.cursor.read.saturating_add(count as u64);
            }
        }
        Ok(())
    }

    /// Books what one row stands for.
    fn keep(&mut self, reading: Reading, wallet: &str, id: &str) {
        match reading {
            Reading::Transaction(transaction) => self.found.push(transaction),
            Reading::Half(half) => self.pair(half),
            Reading::Pending => {
                let watched = Watched { wallet: wallet.to_owned(), id: id.to_owned() };
                if !self.cursor.watched.contains(&watched) {
                    if self.cursor.watched.len() == MAX_WATCHED {
                        self.cursor.watched.remove(0);
                    }
                    self.cursor.watched.push(watched);
                }
            }
            Reading::Skipped => {}
        }
    }

    /// Pairs a conversion leg with its partner when that one is waiting, or keeps it waiting.
    fn pair(&mut self, half: Half) {
        let partner = self.cursor.halves.iter().position(|waiting| waiting.trade == half.trade && waiting.id != half.id);
        match partner {
            Some(position) => {
                let partner = self.cursor.halves.remove(position);
                self.found.extend(conversion(partner, half));
            }
            None if self.cursor.halves.iter().any(|waiting| waiting.id == half.id) => {}
            None => {
                if self.cursor.halves.len() == MAX_HALVES {
                    let oldest = self.cursor.halves.remove(0);
                    self.found.extend(alone(&oldest));
                }
                self.cursor.halves.push(half);
            }
        }
    }

    /// Ends the pass: legs that will find no partner are booked alone, and the import is caught up.
    fn finish_pass(&mut self) -> HistoryPage {
        let pass = self.cursor.pass.take();
        if let Some(Pass { stage: Stage::Fills(FillsRun { newest: Some(newest), .. }), .. }) = &pass {
            self.cursor.fills_since = self.cursor.fills_since.max(Some(*newest));
        }
        let began = pass.map_or(0, |pass| pass.began);
        let (orphans, waiting): (Vec<Half>, Vec<Half>) = std::mem::take(&mut self.cursor.halves).into_iter().partition(|half| half.at < began);
        self.cursor.halves = waiting;
        self.found.extend(orphans.iter().filter_map(alone));
        self.done(true)
    }

    fn done(&mut self, caught_up: bool) -> HistoryPage {
        HistoryPage {
            transactions: std::mem::take(&mut self.found),
            cursor: self.cursor.write(),
            caught_up,
            read: self.cursor.read,
            expected: None,
            wait_ms: if caught_up { 0 } else { PACE_MS.saturating_mul(self.sent as u64) },
        }
    }
}

/// The query of one page of a v2 list, oldest first, after `after`.
fn list_query(after: Option<&str>) -> String {
    let mut query = format!("limit={PAGE_LIMIT}&order=asc");
    if let Some(after) = after {
        query.push_str("&starting_after=");
        query.push_str(after);
    }
    query
}

/// The query of one page of fills: every product, from `since` (ms) on, after Coinbase's `cursor`.
/// The start is inclusive, so the newest fill imported before is read again (its id keeps it
/// from counting twice) and none of the same instant is missed.
fn fills_query(since: Option<u64>, cursor: Option<&str>) -> String {
    let mut query = format!("limit={FILLS_LIMIT}");
    if let Some(since) = since {
        query.push_str("&start_sequence_timestamp=");
        query.push_str(&percent_encode(&rfc3339(since)));
    }
    if let Some(cursor) = cursor {
        query.push_str("&cursor=");
        query.push_str(&percent_encode(cursor));
    }
    query
}

/// `ms` as RFC 3339 in UTC with milliseconds, `2024-01-15T10:30:00.123Z`.
fn rfc3339(ms: u64) -> String {
    let (year, month, day) = civil(ms);
    let of_day = ms % DAY_MS;
    let (hour, minute, second, milli) = (of_day / 3_600_000, of_day / 60_000 % 60, of_day / 1000 % 60, of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// One entry of the fills list.
struct FillEntry {
    /// The trade it stands for; none for an entry that is no trade.
    trade: Option<Transaction>,
    /// Its `sequence_timestamp`, ms.
    sequence: u64,
}

/// The fills of one page, and the `cursor` of the next page when there is one (an empty cursor
/// ends the list).
fn fills_page(body: Value<'_>) -> Result<(Vec<FillEntry>, Option<String>)> {
    let [fills, cursor] = body.pick(["fills", "cursor"]).ok_or(MALFORMED)?;
    let mut read = Vec::new();
    for fill in fills.and_then(Value::items).ok_or(MALFORMED)? {
        if read.len() == FILLS_LIMIT {
            return Err(MALFORMED);
        }
        read.push(read_fill(fill).ok_or(MALFORMED)?);
    }
    let next = match cursor.filter(|cursor| !cursor.is_null()) {
        Some(cursor) => Some(cursor.string().ok_or(MALFORMED)?.into_owned()).filter(|cursor| !cursor.is_empty()),
        None => None,
    };
    Ok((read, next))
}

/// One fill as a trade, with its `sequence_timestamp` (`trade_time` when absent); `None` when it
/// cannot be read. Only `FILL` entries are trades: a `REVERSAL` or `CORRECTION` entry's sizes
/// are not documented, and are left out rather than guessed.
///
/// `size` is in the base currency, or in the quote currency when `size_in_quote` (a market buy
/// by amount spent); the other side is size × price, or size ÷ price, and `commission` the fee in
/// the quote currency. A buy receives the base and sends the quote without the commission; a
/// sale the other way round.
fn read_fill(fill: Value<'_>) -> Option<FillEntry> {
    let [entry, kind, product, side, price, size, in_quote, commission, trade_time, sequence] = fill.pick([
        "entry_id",
        "trade_type",
        "product_id",
        "side",
        "price",
        "size",
        "size_in_quote",
        "commission",
        "trade_time",
        "sequence_timestamp",
    ])?;
    let id = entry?.string()?;
    if !is_id(&id) {
        return None;
    }
    let at = parse_iso8601_ms(&trade_time?.string()?)?;
    let sequence = match present(sequence) {
        Some(sequence) => parse_iso8601_ms(&sequence.string()?)?,
        None => at,
    };
    if kind?.string()? != "FILL" {
        return Some(FillEntry { trade: None, sequence });
    }
    let product = product?.string()?;
    let (base, quote) = product.split_once('-')?;
    let (base, quote) = (asset_code(base)?, asset_code(quote)?);
    let price = price?.decimal().filter(|price| *price > Decimal::ZERO)?;
    let size = size?.decimal().filter(|size| *size > Decimal::ZERO)?;
    let (base_amount, quote_amount) = match present(in_quote).map(|in_quote| in_quote.boolean()) {
        Some(Some(true)) => (size.checked_div(price)?, size),
        Some(Some(false)) | None => (size, size.times(price)?),
        Some(None) => return None,
    };
    let commission = match present(commission) {
        Some(commission) => commission.decimal().filter(|commission| !commission.is_sign_negative())?,
        None => Decimal::ZERO,
    };
    let base_amount = positive(&base, base_amount)?;
    let quote_amount = positive(&quote, quote_amount)?;
    let fee = if commission.is_zero() { None } else { positive(&quote, commission) };
    let (side, received, sent) = match side?.string()?.as_ref() {
        "BUY" => (Side::Buy, base_amount, quote_amount),
        "SELL" => (Side::Sell, quote_amount, base_amount),
        _ => return None,
    };
    let transaction = Transaction { id: format!("fill:{id}"), at, kind: Kind::Trade, side: Some(side), received: Some(received), sent: Some(sent), fee };
    Some(FillEntry { trade: Some(transaction), sequence })
}

/// A wallet listing in the order Coinbase gives it, each keeping the last row imported before.
/// A wallet known before but no longer listed stays at the end with its place kept: reading it
/// again from its start would find conversion legs whose partners are long imported.
fn merge_wallets(listed: Vec<String>, known: Vec<Wallet>) -> Vec<Wallet> {
    let mut wallets: Vec<Wallet> = Vec::with_capacity(listed.len());
    for id in listed {
        if wallets.iter().any(|wallet| wallet.id == id) {
            continue;
        }
        let last = known.iter().find(|wallet| wallet.id == id).and_then(|wallet| wallet.last.clone());
        wallets.push(Wallet { id, last });
    }
    for wallet in known {
        if wallets.len() < MAX_WALLETS && wallet.last.is_some() && !wallets.iter().any(|listed| listed.id == wallet.id) {
            wallets.push(wallet);
        }
    }
    wallets
}

/// The body of a successful v2 answer, or the error it stands for. A key refused with HTTP 403
/// and a JSON body (`{"errors":[{"id":"invalid_scope",…}]}`, or v3's `PERMISSION_DENIED`) may
/// not read the history; Cloudflare's HTML 403 page is not an answer of Coinbase's and keeps
/// its meaning.
fn read_answer(response: HttpResponse<'_>) -> Result<Value<'_>> {
    read_success(response).map_err(|error| match error {
        Error::RateLimited { .. } => error,
        Error::MissingPermission { .. } => Error::HistoryPermission { exchange: EXCHANGE },
        _ if response.status == 403 && response.text().and_then(Value::parse).is_some() => Error::HistoryPermission { exchange: EXCHANGE },
        other => other,
    })
}

/// The rows of a v2 list page, and whether more follow (`pagination.next_uri` not null).
fn list_page(body: Value<'_>) -> Result<(Vec<Value<'_>>, bool)> {
    let [data, pagination] = body.pick(["data", "pagination"]).ok_or(MALFORMED)?;
    let rows: Vec<Value<'_>> = data.and_then(Value::items).ok_or(MALFORMED)?.take(PAGE_LIMIT + 1).collect();
    if rows.len() > PAGE_LIMIT {
        return Err(MALFORMED);
    }
    let more = match pagination.map(|pagination| pagination.get("next_uri")) {
        None => false,
        Some(next) => next.is_some_and(|next| !next.is_null()),
    };
    Ok((rows, more))
}

/// What one transaction row stands for.
#[derive(Debug)]
enum Reading {
    /// A transaction of the account.
    Transaction(Transaction),
    /// A conversion leg, to pair with the other.
    Half(Half),
    /// Not final yet.
    Pending,
    /// Moves nothing, or another row carries it.
    Skipped,
}

/// Reads one row of `/transactions`: its id and what it stands for; `None` when it cannot be read.
fn read_row(row: Value<'_>) -> Option<(String, Reading)> {
    let [id, kind, status, amount, native, created_at] = row.pick(["id", "type", "status", "amount", "native_amount", "created_at"])?;
    let id = id?.string()?.into_owned();
    if !is_id(&id) {
        return None;
    }
    let kind = kind?.string()?;
    match status?.string()?.as_ref() {
        "completed" => {}
        "failed" | "expired" | "canceled" | "cancelled" => return Some((id, Reading::Skipped)),
        // `pending`, `waiting_for_signature`, `waiting_for_clearing` and any state added later.
        _ => return Some((id, Reading::Pending)),
    }
    let at = parse_iso8601_ms(&created_at?.string()?)?;
    let (asset, amount) = money(amount?)?;
    let native = match native.filter(|native| !native.is_null()) {
        Some(native) => Some(money(native)?),
        None => None,
    };
    if amount.is_zero() {
        return Some((id, Reading::Skipped));
    }
    let leg = Leg { id: &id, at, asset: &asset, amount, native: native.as_ref() };
    let reading = match kind.as_ref() {
        "buy" => app_trade(&leg, row.get_present("buy"), Side::Buy)?,
        "sell" => app_trade(&leg, row.get_present("sell"), Side::Sell)?,
        "trade" => convert_leg(&leg, row.get_present("trade"))?,
        // Dust swept into another currency, wrapped assets: one row per wallet, nothing shared
        // to pair them by.
        "retail_simple_dust" | "wrap_asset" | "unwrap_asset" => priced(&leg).map_or(Reading::Skipped, Reading::Transaction),
        // Fills are read from the fills list (see the module docs). Moves between the account's
        // own wallets (staking, vaults, the retired Coinbase Pro and Exchange books) show in both
        // wallets and change nothing; a request moves nothing until paid, and its payment is a
        // send.
        "advanced_trade_fill" | "staking_transfer" | "unstaking_transfer" | "transfer" | "vault_withdrawal" | "pro_deposit" | "pro_withdrawal"
        | "exchange_deposit" | "exchange_withdrawal" | "request" => Reading::Skipped,
        "staking_reward" | "inflation_reward" | "interest" | "earn_payout" | "incentives_rewards_payout" | "subscription_rebate"
        | "cardbuyback"
            if amount.is_sign_positive() =>
        {
            Reading::Transaction(leg.transaction(Kind::Reward, Some(leg.amount()?), None, None, None))
        }
        "subscription" if amount.is_sign_negative() => Reading::Transaction(leg.transaction(Kind::Fee, None, None, Some(leg.amount()?), None)),
        "send" if amount.is_sign_negative() => Reading::Transaction(withdrawal(&leg, row.get_present("network"))?),
        // `send` and `receive` in, fiat deposits and withdrawals, clawbacks, card spends, the
        // uncategorised `tx`, and every type Coinbase adds later: what left or arrived.
        _ => Reading::Transaction(leg.movement()?),
    };
    Some((id, reading))
}

/// A money hash (`{"amount": "-0.5", "currency": "BTC"}`): Cartera's asset code and the signed
/// amount.
fn money(value: Value<'_>) -> Option<(String, Decimal)> {
    let [amount, currency] = value.pick(["amount", "currency"])?;
    Some((asset_code(&currency?.string()?)?, amount?.decimal()?))
}

/// An unsigned amount of an asset, `None` unless it is more than zero.
fn positive(asset: &str, amount: Decimal) -> Option<Amount> {
    Amount::new(asset, amount.abs()).ok()
}

/// A member that is there and not `null`.
fn present(value: Option<Value<'_>>) -> Option<Value<'_>> {
    value.filter(|value| !value.is_null())
}

/// A completed row's common parts.
struct Leg<'a> {
    id: &'a str,
    at: u64,
    asset: &'a str,
    /// Signed.
    amount: Decimal,
    /// Signed, in the user's currency.
    native: Option<&'a (String, Decimal)>,
}

impl Leg<'_> {
    /// The row's amount without its sign.
    fn amount(&self) -> Option<Amount> {
        positive(self.asset, self.amount)
    }

    fn transaction(&self, kind: Kind, received: Option<Amount>, sent: Option<Amount>, fee: Option<Amount>, side: Option<Side>) -> Transaction {
        Transaction { id: format!("tx:{}", self.id), at: self.at, kind, side, received, sent, fee }
    }

    /// What arrived (a deposit) or left (a withdrawal), by the amount's sign.
    fn movement(&self) -> Option<Transaction> {
        let amount = self.amount()?;
        Some(if self.amount.is_sign_positive() {
            self.transaction(Kind::Deposit, Some(amount), None, None, None)
        } else {
            self.transaction(Kind::Withdrawal, None, Some(amount), None, None)
        })
    }
}

/// A send out: the row's amount is what left the wallet, network fee included
/// (`network.transaction_fee`; `network.transaction_amount` is what reached the address). A fee in
/// another currency is not part of this row and is left out.
fn withdrawal(leg: &Leg<'_>, network: Option<Value<'_>>) -> Option<Transaction> {
    let total = leg.amount.abs();
    let fee = match network.and_then(|network| network.get_present("transaction_fee")) {
        Some(fee) => Some(money(fee)?),
        None => None,
    };
    match fee {
        Some((asset, fee)) if asset == leg.asset && fee > Decimal::ZERO && fee < total => {
            let sent = positive(leg.asset, total.minus(fee)?)?;
            Some(leg.transaction(Kind::Withdrawal, None, Some(sent), positive(leg.asset, fee), None))
        }
        _ => leg.movement(),
    }
}

/// A buy or sell of the Coinbase app, from the row in the wallet of the asset bought or sold.
///
/// The `buy`/`sell` object names the other side: `subtotal` (before the fee) and `fee`, or only
/// `total` (the fee inside it: what was paid, or what was credited); without either, the row's
/// `native_amount` stands for it. The paying wallet's own row of the same buy (the cash that
/// left, in the other side's currency, or debited on a buy / credited on a sell) is skipped:
/// this row already carries it.
fn app_trade(leg: &Leg<'_>, object: Option<Value<'_>>, side: Side) -> Option<Reading> {
    let [subtotal, total, fee] = match object {
        Some(object) => object.pick(["subtotal", "total", "fee"])?,
        None => [None, None, None],
    };
    let (other, fee) = if let Some(subtotal) = present(subtotal) {
        let fee = match present(fee) {
            Some(fee) => Some(money(fee)?).filter(|(_, fee)| !fee.is_zero()),
            None => None,
        };
        (money(subtotal)?, fee)
    } else if let Some(total) = present(total) {
        (money(total)?, None)
    } else {
        match leg.native {
            Some(native) => (native.clone(), None),
            None => return None,
        }
    };
    let cash_leg = match side {
        Side::Buy => leg.amount.is_sign_negative(),
        Side::Sell => leg.amount.is_sign_positive(),
    };
    if cash_leg || other.0 == leg.asset {
        return Some(Reading::Skipped);
    }
    let asset = leg.amount()?;
    let Some(other) = positive(&other.0, other.1) else {
        // Worth nothing in the other currency (dust): only the asset moved.
        return leg.movement().map(Reading::Transaction);
    };
    let fee = match fee {
        Some((asset, fee)) => Some(positive(&asset, fee)?),
        None => None,
    };
    let (received, sent) = match side {
        Side::Buy => (asset, other),
        Side::Sell => (other, asset),
    };
    Some(Reading::Transaction(leg.transaction(Kind::Trade, Some(received), Some(sent), fee, Some(side))))
}

/// A conversion leg, to pair by `trade.id`; one without that id is booked on its own.
fn convert_leg(leg: &Leg<'_>, object: Option<Value<'_>>) -> Option<Reading> {
    let Some(object) = object else { return Some(priced(leg).map_or(Reading::Skipped, Reading::Transaction)) };
    let [trade, fee] = object.pick(["id", "fee"])?;
    let Some(trade) = trade.and_then(Value::string).filter(|trade| is_id(trade)) else {
        return Some(priced(leg).map_or(Reading::Skipped, Reading::Transaction));
    };
    let fee = match fee.filter(|fee| !fee.is_null()) {
        Some(fee) => {
            let (asset, amount) = money(fee)?;
            positive(&asset, amount)
        }
        None => None,
    };
    let native = leg.native.and_then(|(asset, amount)| positive(asset, *amount));
    Some(Reading::Half(Half {
        trade: trade.into_owned(),
        id: leg.id.to_owned(),
        at: leg.at,
        asset: leg.asset.to_owned(),
        amount: leg.amount,
        fee,
        native,
    }))
}

/// One row that is half of an exchange of assets, booked on its own against its value in the
/// user's currency: a purchase with that currency when it arrived, a sale for it when it left.
/// `None` for a row in that currency itself (the other legs carry it); a row without a value is
/// what arrived or left.
fn priced(leg: &Leg<'_>) -> Option<Transaction> {
    let amount = leg.amount()?;
    let native = leg.native.and_then(|(asset, value)| positive(asset, *value).map(|value| (asset, value)));
    match native {
        Some((asset, _)) if asset == leg.asset => None,
        Some((_, value)) if leg.amount.is_sign_positive() => {
            Some(leg.transaction(Kind::Trade, Some(amount), Some(value), None, Some(Side::Buy)))
        }
        Some((_, value)) => Some(leg.transaction(Kind::Trade, Some(value), Some(amount), None, Some(Side::Sell))),
        None => leg.movement(),
    }
}

/// A conversion leg booked on its own (see [`priced`]).
fn alone(half: &Half) -> Option<Transaction> {
    let native = half.native.as_ref().map(|native| (native.asset.clone(), if half.amount.is_sign_negative() { -native.amount } else { native.amount }));
    priced(&Leg { id: &half.id, at: half.at, asset: &half.asset, amount: half.amount, native: native.as_ref() })
}

/// The trade two legs of one conversion make: what left for what arrived, at the earlier leg's
/// time. The fee (`trade.fee`, carried by both legs) is inside the leg of its currency: the leg
/// given is what left with the fee, the leg received what arrived after it. A fee in a third
/// currency was taken from neither row and stays in the price. Legs that do not make a trade
/// (both in or both out) are booked on their own; legs of one asset are skipped.
fn conversion(first: Half, second: Half) -> Vec<Transaction> {
    if first.asset == second.asset {
        return Vec::new();
    }
    let (given, taken) = match (first.amount.is_sign_negative(), second.amount.is_sign_negative()) {
        (true, false) => (first, second),
        (false, true) => (second, first),
        _ => return [alone(&first), alone(&second)].into_iter().flatten().collect(),
    };
    let paired = || -> Option<Transaction> {
        let mut sent = given.amount.abs();
        let mut received = taken.amount;
        let fee = match given.fee.clone().or_else(|| taken.fee.clone()) {
            Some(fee) if fee.asset == given.asset && fee.amount < sent => {
                sent = sent.minus(fee.amount)?;
                Some(fee)
            }
            Some(fee) if fee.asset == taken.asset => {
                received = received.plus(fee.amount)?;
                Some(fee)
            }
            _ => None,
        };
        Some(Transaction {
            id: format!("convert:{}", given.trade),
            at: given.at.min(taken.at),
            kind: Kind::Trade,
            side: Some(Side::Buy),
            received: Some(positive(&taken.asset, received)?),
            sent: Some(positive(&given.asset, sent)?),
            fee,
        })
    };
    match paired() {
        Some(transaction) => vec![transaction],
        None => [alone(&given), alone(&taken)].into_iter().flatten().collect(),
    }
}
