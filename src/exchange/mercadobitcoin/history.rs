//! Mercado Bitcoin's transaction history, for the cost basis, and its public daily candles.
//!
//! Every endpoint is from the API v4 reference (<https://api.mercadobitcoin.net/api/v4/docs>, its
//! `swagger.yaml`); times there are Unix seconds.
//!
//! # Sources, per account and asset
//!
//! - **Fills**: `GET /accounts/{accountId}/{ASSET}-BRL/orders?has_executions=true`, filtered by
//!   `executed_at_from`/`executed_at_to`, newest first, each order with its `executions`
//!   (`id`, `price`, `qty`, `fee_rate` in percent, `executed_at`). Every market is against BRL.
//!   The fee is taken from what the execution credits (a buy's base asset, a sale's reais), so it
//!   is `fee_rate`% of that, to 8 places, as Mercado Bitcoin keeps amounts.
//! - **Deposits**: crypto at `GET /accounts/{accountId}/wallet/{ASSET}/deposits` (`limit` at
//!   most 10, `page`, `from`, `to`), reais at `GET /accounts/{accountId}/wallet/fiat/BRL/deposits`
//!   (`limit` at most 50). A crypto deposit counts once its `status` is 2 (1 is under way, as
//!   for withdrawals); a fiat one once `CREDITED`.
//! - **Withdrawals**: `GET /accounts/{accountId}/wallet/{ASSET}/withdraw` (`page`, `page_size` at
//!   most 50, `from`), crypto and reais alike: status 2 is done (1 open, 3 cancelled);
//!   `net_quantity` left the account and `fee` was taken.
//!
//! The reference documents no page size for the order list, so a window whose answer holds
//! [`SPLIT_ORDERS`] orders or more is read again as two halves (down to a day): an answer that
//! could have been cut short is never kept.
//!
//! # Rounds
//!
//! A round asks for the accounts and their balances, and reads every source of every asset they
//! list (the first round: every asset listed, held now or not; later rounds: those held now and
//! those that ever had history) from the last round's end (the first: 2013, when Mercado Bitcoin
//! opened) to the time it began. The next round starts [`LOOKBACK_SECS`] before that, or at the
//! oldest deposit or withdrawal still under way, so nothing that completes late is missed; ids
//! de-duplicate what is read twice.
//!
//! # Pacing
//!
//! No request is signed: a page uses the key's bearer token (kept from an earlier conversation,
//! or asked for at [`super::authorize_request`], as every flow of this adapter does), then makes at most [`REQUESTS_PER_PAGE`] account requests
//! and waits [`HISTORY_PACE_MS`]: within the 3 requests a second the reference allows on account
//! endpoints and its 500 a minute overall. A read-only ("Apenas Leitura") key reads all of it; a
//! refusal is read as [`Error::HistoryPermission`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    ACCOUNTS_PATH, API_BASE, authorize_request, bearer_get, cartera_code, is_account_id, malformed, out_of_turn, parse_accounts,
    parse_token, read_body, seconds_in_ms as millis, token_refused,
};
use crate::{
    calendar::day_of,
    error::{Error, Result},
    exchange::{
        Context, DailyClose, Flow, HttpRequest, HttpResponse, MAX_ROWS, Step,
        json::{JsonDecimal as _, Value},
    },
    secret::SecretString,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// Where a first import starts: 2013-01-01T00:00:00Z (`date -u -d 2013-01-01 +%s`).
pub const FIRST_SECS: u64 = 1_356_998_400;
/// How far before the last round's end the next one starts.
pub const LOOKBACK_SECS: u64 = 3 * DAY_SECS;
/// Account requests a page makes, at most.
pub const REQUESTS_PER_PAGE: usize = 3;
/// Between pages: a page's account requests and the next page's never share a second.
pub const HISTORY_PACE_MS: u64 = 1_000;
/// An order list this long is read again in two halves.
pub const SPLIT_ORDERS: usize = 50;
/// Rows a page of crypto deposits holds: the most the endpoint gives.
pub const DEPOSITS_PAGE: usize = 10;
/// Rows a page of fiat deposits or of withdrawals holds: the most each endpoint gives.
pub const TRANSFERS_PAGE: usize = 50;

const DAY_SECS: u64 = 86_400;
/// Assets a round reads, at most.
const MAX_ASSETS: usize = 1_000;

/// What a task reads for one asset of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Fills,
    Deposits,
    Withdrawals,
}

const SOURCES: [Source; 3] = [Source::Fills, Source::Deposits, Source::Withdrawals];

/// One account and the assets a round reads for it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    account: String,
    assets: Vec<String>,
}

/// Where an import stands.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The round under way; empty between rounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    plan: Vec<Plan>,
    /// The task under way: three per asset ([`SOURCES`]), in plan order.
    #[serde(default)]
    task: usize,
    /// Pages of the task already read.
    #[serde(default)]
    page: u32,
    /// The fills window under way (its first and last second), when it is not the round's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    high: Option<u64>,
    /// The round's start and end, seconds.
    #[serde(default)]
    from: u64,
    #[serde(default)]
    until: u64,
    /// Where the next round starts, once one has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
    /// The oldest deposit or withdrawal still under way in this round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold: Option<u64>,
    /// Assets that ever had history: read in every round.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    known: Vec<String>,
    /// Rows read in this import.
    #[serde(default)]
    read: u64,
}

impl Cursor {
    fn read(text: Option<&str>) -> Result<Self> {
        let invalid = Error::InvalidInput { field: "cursor" };
        let Some(text) = text else { return Ok(Self::default()) };
        let cursor: Cursor = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let assets = cursor.plan.iter().flat_map(|plan| &plan.assets).chain(&cursor.known);
        let sane = cursor.plan.iter().all(|plan| is_account_id(&plan.account)) && assets.clone().count() <= 2 * MAX_ASSETS;
        if sane && assets.into_iter().all(|asset| is_symbol(asset)) { Ok(cursor) } else { Err(invalid) }
    }

    /// The task under way: its account, asset and source.
    fn task(&self) -> Option<(&str, &str, Source)> {
        let mut index = self.task;
        for plan in &self.plan {
            let tasks = plan.assets.len() * SOURCES.len();
            if index < tasks {
                return Some((&plan.account, &plan.assets[index / SOURCES.len()], SOURCES[index % SOURCES.len()]));
            }
            index -= tasks;
        }
        None
    }

    fn next_task(&mut self) {
        self.task += 1;
        self.page = 0;
        (self.low, self.high) = (None, None);
    }

    /// A deposit or withdrawal at `at` is still under way: the next round starts no later.
    fn hold_at(&mut self, at: u64) {
        self.hold = Some(self.hold.map_or(at, |hold| hold.min(at)));
    }
}

/// An asset as Mercado Bitcoin names it in a path: uppercase letters and digits.
fn is_symbol(symbol: &str) -> bool {
    (1..=20).contains(&symbol.len()) && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// One page of the history: the token, then at most [`REQUESTS_PER_PAGE`] account requests.
pub struct HistoryPageFlow {
    stored: Option<String>,
    cursor: Cursor,
    token: Option<SecretString>,
    /// The token was kept from an earlier conversation and no answer has accepted it yet.
    kept: bool,
    state: State,
    sent: usize,
    transactions: Vec<Transaction>,
}

enum State {
    Start,
    Authorizing,
    Accounts,
    /// Balances asked for the last account of the plan; these are still to ask, last first.
    Balances(Vec<String>),
    Reading,
    Finished,
}

impl HistoryPageFlow {
    pub fn new(cursor: Option<&str>) -> Self {
        Self {
            stored: cursor.map(str::to_owned),
            cursor: Cursor::default(),
            token: None,
            kept: false,
            state: State::Start,
            sent: 0,
            transactions: Vec::new(),
        }
    }

    fn get(&mut self, path: &str, state: State) -> Result<Step<HistoryPage>> {
        let token = self.token.as_ref().ok_or_else(out_of_turn)?;
        self.sent += 1;
        self.state = state;
        Ok(Step::Send(bearer_get(token, path)))
    }

    /// The next task's request, or the page once its requests are spent or the round is over.
    fn next(&mut self) -> Result<Step<HistoryPage>> {
        loop {
            let Some((account, asset, source)) = self.cursor.task() else {
                let end = self.cursor.until.saturating_sub(LOOKBACK_SECS);
                let next = self.cursor.hold.map_or(end, |hold| hold.min(end));
                let Cursor { known, read, .. } = std::mem::take(&mut self.cursor);
                self.cursor = Cursor { next: Some(next), known, read, ..Cursor::default() };
                return self.page(true);
            };
            if self.sent >= REQUESTS_PER_PAGE {
                return self.page(false);
            }
            let (from, until, page) = (self.cursor.from, self.cursor.until, self.cursor.page + 1);
            let path = match (source, asset) {
                (Source::Fills, "BRL") => {
                    self.cursor.next_task();
                    continue;
                }
                (Source::Fills, _) => {
                    let (low, high) = (self.cursor.low.unwrap_or(from), self.cursor.high.unwrap_or(until));
                    format!("{ACCOUNTS_PATH}/{account}/{asset}-BRL/orders?has_executions=true&executed_at_from={low}&executed_at_to={high}")
                }
                (Source::Deposits, "BRL") => {
                    format!("{ACCOUNTS_PATH}/{account}/wallet/fiat/BRL/deposits?limit={TRANSFERS_PAGE}&page={page}&from={from}&to={until}")
                }
                (Source::Deposits, _) => {
                    format!("{ACCOUNTS_PATH}/{account}/wallet/{asset}/deposits?limit={DEPOSITS_PAGE}&page={page}&from={from}&to={until}")
                }
                (Source::Withdrawals, _) => {
                    format!("{ACCOUNTS_PATH}/{account}/wallet/{asset}/withdraw?page={page}&page_size={TRANSFERS_PAGE}&from={from}")
                }
            };
            return self.get(&path, State::Reading);
        }
    }

    fn page(&mut self, caught_up: bool) -> Result<Step<HistoryPage>> {
        // This flow's copy of the token is of no more use: dropped (and zeroized) now.
        self.token = None;
        self.state = State::Finished;
        // In the order the answers gave them: storing sorts them into their months.
        let transactions = std::mem::take(&mut self.transactions);
        for asset in transactions.iter().flat_map(|t| [&t.received, &t.sent, &t.fee]).flatten() {
            let symbol = asset.asset.to_ascii_uppercase();
            if !self.cursor.known.contains(&symbol) && self.cursor.known.len() < MAX_ASSETS {
                self.cursor.known.push(symbol);
            }
        }
        Ok(Step::Done(HistoryPage {
            transactions,
            // Strings, integers and lists of them always serialise.
            cursor: serde_json::to_string(&self.cursor).unwrap_or_default(),
            caught_up,
            read: self.cursor.read,
            expected: None,
            wait_ms: if caught_up { 0 } else { HISTORY_PACE_MS },
        }))
    }

    /// Reads the answer of the task under way.
    fn read_task(&mut self, answer: HttpResponse<'_>) -> Result<()> {
        let (_, _, source) = self.cursor.task().ok_or_else(out_of_turn)?;
        let Some(body) = task_body(answer)? else {
            self.cursor.next_task();
            return Ok(());
        };
        let rows: Vec<Value<'_>> = body.items().ok_or_else(malformed)?.take(MAX_ROWS + 1).collect();
        if rows.len() > MAX_ROWS {
            return Err(malformed());
        }
        let (from, until) = (self.cursor.from, self.cursor.until);
        if source == Source::Fills {
            let (low, high) = (self.cursor.low.unwrap_or(from), self.cursor.high.unwrap_or(until));
            if rows.len() >= SPLIT_ORDERS && high - low > DAY_SECS {
                (self.cursor.low, self.cursor.high) = (Some(low), Some(low + (high - low) / 2));
                return Ok(());
            }
            for order in &rows {
                order_fills(*order, &mut self.transactions).ok_or_else(malformed)?;
            }
            self.cursor.read = self.cursor.read.saturating_add(rows.len() as u64);
            if high < until {
                (self.cursor.low, self.cursor.high) = (Some(high + 1), Some(until));
            } else {
                self.cursor.next_task();
            }
            return Ok(());
        }
        let fiat = self.cursor.task().is_some_and(|(_, asset, _)| asset == "BRL");
        for row in &rows {
            let (transaction, pending) = match (source, fiat) {
                (Source::Deposits, true) => fiat_deposit(*row),
                (Source::Deposits, false) => deposit(*row),
                _ => withdrawal(*row),
            }
            .ok_or_else(malformed)?;
            self.transactions.extend(transaction);
            if let Some(at) = pending {
                self.cursor.hold_at(at);
            }
        }
        self.cursor.read = self.cursor.read.saturating_add(rows.len() as u64);
        let size = if source == Source::Deposits && !fiat { DEPOSITS_PAGE } else { TRANSFERS_PAGE };
        if rows.len() >= size {
            self.cursor.page += 1;
        } else {
            self.cursor.next_task();
        }
        Ok(())
    }

    /// Reads one account's balances into the plan: the assets the round reads for it.
    fn read_balances(&mut self, answer: HttpResponse<'_>) -> Result<()> {
        let plan = self.cursor.plan.last_mut().ok_or_else(out_of_turn)?;
        let first_round = self.cursor.next.is_none();
        for row in read_body(answer).map_err(history_error)?.items().ok_or_else(malformed)?.take(MAX_ASSETS) {
            let [symbol, total] = row.pick(["symbol", "total"]).ok_or_else(malformed)?;
            let symbol = symbol.and_then(Value::string).filter(|symbol| cartera_code(symbol).is_some()).ok_or_else(malformed)?;
            let symbol = symbol.to_ascii_uppercase();
            let held = total.and_then(Value::decimal).ok_or_else(malformed)? > Decimal::ZERO;
            if (first_round || held || self.cursor.known.contains(&symbol)) && !plan.assets.contains(&symbol) {
                plan.assets.push(symbol);
            }
        }
        Ok(())
    }
}

impl Flow<HistoryPage> for HistoryPageFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        let Some(answer) = answer else {
            if !matches!(self.state, State::Start) {
                return Err(out_of_turn());
            }
            self.cursor = Cursor::read(self.stored.as_deref())?;
            if let Some(token) = context.session() {
                self.token = Some(token.clone());
                self.kept = true;
                return self.authorized(context.now_ms());
            }
            self.state = State::Authorizing;
            return authorize_request(context.credentials()?).map(Step::Send);
        };
        if std::mem::take(&mut self.kept) && token_refused(answer) {
            // Nothing was read with it: the page begins again under a new token.
            context.end_session();
            self.token = None;
            self.cursor = Cursor::read(self.stored.as_deref())?;
            self.state = State::Authorizing;
            return authorize_request(context.credentials()?).map(Step::Send);
        }
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Authorizing => {
                let token = parse_token(answer)?;
                self.token = Some(token.token().clone());
                context.keep_session(token);
                self.authorized(context.now_ms())
            }
            State::Accounts => {
                let mut accounts = parse_accounts(answer).map_err(history_error)?;
                accounts.reverse();
                self.balances(accounts)
            }
            State::Balances(accounts) => {
                self.read_balances(answer)?;
                self.balances(accounts)
            }
            State::Reading => {
                self.read_task(answer)?;
                self.next()
            }
            State::Start | State::Finished => Err(out_of_turn()),
        }
    }
}

impl HistoryPageFlow {
    /// The page's first account request, once it has a token: the next task of the round under
    /// way, or the accounts when a round begins at `now_ms`.
    fn authorized(&mut self, now_ms: u64) -> Result<Step<HistoryPage>> {
        if !self.cursor.plan.is_empty() {
            return self.next();
        }
        self.cursor.until = now_ms / 1_000;
        self.cursor.from = self.cursor.next.unwrap_or(FIRST_SECS).min(self.cursor.until);
        self.cursor.task = 0;
        self.cursor.hold = None;
        self.get(ACCOUNTS_PATH, State::Accounts)
    }

    /// The next account's balances, or the first task once every account is planned.
    fn balances(&mut self, mut accounts: Vec<String>) -> Result<Step<HistoryPage>> {
        match accounts.pop() {
            Some(account) => {
                let path = format!("{ACCOUNTS_PATH}/{account}/balances");
                self.cursor.plan.push(Plan { account, assets: Vec::new() });
                self.get(&path, State::Balances(accounts))
            }
            None => self.next(),
        }
    }
}

/// A key that may not read what history needs says so as such.
fn history_error(error: Error) -> Error {
    match error {
        Error::MissingPermission { exchange } => Error::HistoryPermission { exchange },
        other => other,
    }
}

/// The body of a task's answer; `None` when the exchange says the asset has no such market or
/// wallet (`{"code": "…|INVALID_SYMBOL", …}` with status 400, and the like): nothing to read.
fn task_body(answer: HttpResponse<'_>) -> Result<Option<Value<'_>>> {
    if answer.status == 400 {
        let code = answer.text().and_then(Value::parse).and_then(|body| body.get("code")).and_then(Value::string);
        let nothing = ["INVALID_SYMBOL", "INVALID_PAIR", "ASSET_NETWORKS_NOT_FOUND", "DEPOSIT_UNAVAILABLE", "INVALID_SYMBOL_NETWORK"];
        if code.is_some_and(|code| nothing.iter().any(|name| code.rsplit('|').next() == Some(name))) {
            return Ok(None);
        }
    }
    read_body(answer).map(Some).map_err(history_error)
}

/// An id Mercado Bitcoin gives a row, written as a string or a number: letters, digits, `-`, `_`.
fn row_id(value: Option<Value<'_>>) -> Option<String> {
    let (id, _) = value?.code()?;
    ((1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')).then_some(id)
}

fn amount(asset: &str, amount: Decimal) -> Option<Amount> {
    Amount::new(asset, amount).ok()
}

/// The trades of one order's executions. An execution that moved nothing is skipped.
fn order_fills(order: Value<'_>, out: &mut Vec<Transaction>) -> Option<()> {
    let [instrument, side, executions] = order.pick(["instrument", "side", "executions"])?;
    let instrument = instrument?.string()?;
    let (base, quote) = instrument.split_once('-')?;
    let (base, quote) = (cartera_code(base)?, cartera_code(quote)?);
    let side = match side?.string()?.as_ref() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        _ => return None,
    };
    let Some(executions) = executions.filter(|executions| !executions.is_null()) else { return Some(()) };
    for execution in executions.items()? {
        let [id, price, quantity, rate, at] = execution.pick(["id", "price", "qty", "fee_rate", "executed_at"])?;
        let (price, quantity) = (price?.decimal()?, quantity?.decimal()?);
        let rate = match rate {
            Some(rate) => rate.decimal()?,
            None => Decimal::ZERO,
        };
        if price.is_sign_negative() || quantity.is_sign_negative() || rate.is_sign_negative() {
            return None;
        }
        if price.is_zero() || quantity.is_zero() {
            continue;
        }
        let value = quantity.checked_mul(price)?;
        let ((received, gross), (given, cost)) = match side {
            Side::Buy => ((&base, quantity), (&quote, value)),
            Side::Sell => ((&quote, value), (&base, quantity)),
        };
        let fee = gross.checked_mul(rate)?.checked_div(Decimal::ONE_HUNDRED)?.round_dp(8);
        out.push(Transaction {
            id: format!("fill:{instrument}:{}", row_id(id)?),
            at: millis(at)?,
            kind: Kind::Trade,
            side: Some(side),
            received: Some(amount(received, gross)?),
            sent: Some(amount(given, cost)?),
            fee: if fee.is_zero() { None } else { Some(amount(received, fee)?) },
        });
    }
    Some(())
}

/// A transfer's transaction (if it counts) and, when it is under way, its time.
type Read = (Option<Transaction>, Option<u64>);

fn transfer(kind: Kind, id: String, at: u64, asset: &str, moved: Decimal, fee: Decimal) -> Option<Transaction> {
    let moved = Some(amount(asset, moved)?);
    let (received, sent) = if kind == Kind::Deposit { (moved, None) } else { (None, moved) };
    let fee = if fee.is_zero() { None } else { Some(amount(asset, fee)?) };
    Some(Transaction { id, at, kind, side: None, received, sent, fee })
}

/// One crypto deposit: counted once `status` is 2, held for the next round while it is 1.
fn deposit(row: Value<'_>) -> Option<Read> {
    let [amount, coin, status, created, chain_id] = row.pick(["amount", "coin", "status", "createdAt", "transaction_id"])?;
    let coin = coin?.string()?;
    let asset = cartera_code(&coin)?;
    let at = millis(created)?;
    let moved = amount?.decimal()?;
    match status?.code()?.0.as_str() {
        "2" if moved > Decimal::ZERO => {
            // A deposit has no id of its own: the chain's transaction names it, else its time.
            let chain_id = row_id(chain_id).unwrap_or_else(|| at.to_string());
            let transaction = transfer(Kind::Deposit, format!("deposit:{coin}:{chain_id}"), at, &asset, moved, Decimal::ZERO)?;
            Some((Some(transaction), None))
        }
        "1" => Some((None, Some(at / 1_000))),
        _ => Some((None, None)),
    }
}

/// One deposit of reais: counted once `CREDITED`.
fn fiat_deposit(row: Value<'_>) -> Option<Read> {
    let [id, amount, coin, status, source, created] = row.pick(["id", "amount", "coin", "status", "source", "created_at"])?;
    if status?.string()? != "CREDITED" {
        return Some((None, None));
    }
    let asset = cartera_code(&coin?.string()?)?;
    let at = millis(created.or_else(|| source?.get("created_at")))?;
    let moved = amount?.decimal()?;
    if moved <= Decimal::ZERO {
        return None;
    }
    Some((Some(transfer(Kind::Deposit, format!("fiat-deposit:{}", row_id(id)?), at, &asset, moved, Decimal::ZERO)?), None))
}

/// One withdrawal: counted once `status` is 2, held for the next round while it is 1.
fn withdrawal(row: Value<'_>) -> Option<Read> {
    let [id, coin, net, fee, status, created, updated] =
        row.pick(["id", "coin", "net_quantity", "fee", "status", "created_at", "updated_at"])?;
    let id = row_id(id)?;
    let asset = cartera_code(&coin?.string()?)?;
    let created = millis(created)?;
    match status?.code()?.0.as_str() {
        "2" => {
            let fee = match fee.filter(|fee| !fee.is_null()) {
                Some(fee) => fee.decimal()?,
                None => Decimal::ZERO,
            };
            let net = net?.decimal()?;
            if net <= Decimal::ZERO || fee.is_sign_negative() {
                return None;
            }
            let at = millis(updated).unwrap_or(created);
            Some((Some(transfer(Kind::Withdrawal, format!("withdrawal:{id}"), at, &asset, net, fee)?), None))
        }
        "1" => Some((None, Some(created / 1_000))),
        _ => Some((None, None)),
    }
}

/// Whether `market` is a market as Mercado Bitcoin's tickers name it (`BTC-BRL`): nothing else
/// reaches a candles URL.
pub fn is_market(market: &str) -> bool {
    market.split_once('-').is_some_and(|(base, quote)| is_symbol(base) && is_symbol(quote))
}

/// A market's daily candles: `GET /candles?symbol=BTC-BRL&resolution=1d&from=…&to=…`, parallel
/// lists `t` (each bar's start, seconds) and `c` (its close). The reference states no most bars
/// an answer holds: when the oldest bar answered is later than the first day asked, the days
/// before it are asked again, until an answer is empty or reaches no earlier. Public candles
/// allow a request a second; two years are one request.
pub struct Candles {
    market: String,
    from_day: u64,
    /// The last second the next request asks for; `None` once every day is read.
    to: Option<u64>,
    closes: Vec<DailyClose>,
}

impl Candles {
    pub fn new(market: &str, from_day: u64, to_day: u64) -> Self {
        let to = (from_day <= to_day).then(|| to_day.saturating_add(1).saturating_mul(DAY_SECS) - 1);
        Self { market: market.to_owned(), from_day, to, closes: Vec::new() }
    }
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            let body = read_body(answer)?;
            let [starts, closes] = body.pick(["t", "c"]).ok_or_else(malformed)?;
            let mut starts = starts.and_then(Value::items).ok_or_else(malformed)?;
            let mut closes = closes.and_then(Value::items).ok_or_else(malformed)?;
            let mut oldest: Option<u64> = None;
            for _ in 0..=MAX_ROWS {
                let (start, close) = match (starts.next(), closes.next()) {
                    (None, None) => break,
                    (Some(start), Some(close)) => (start.unsigned().ok_or_else(malformed)?, close.decimal().ok_or_else(malformed)?),
                    _ => return Err(malformed()),
                };
                if self.to.is_some_and(|to| start > to) || self.closes.len() >= MAX_ROWS {
                    return Err(malformed());
                }
                oldest = Some(oldest.map_or(start, |oldest| oldest.min(start)));
                let day = day_of(start.saturating_mul(1_000));
                if day >= self.from_day && close > Decimal::ZERO {
                    self.closes.push(DailyClose { day, close });
                }
            }
            let first = self.from_day.saturating_mul(DAY_SECS);
            self.to = oldest.filter(|&oldest| oldest > first).map(|oldest| oldest - 1);
        }
        let Some(to) = self.to else {
            self.closes.sort_by_key(|close| close.day);
            self.closes.dedup_by_key(|close| close.day);
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        };
        let from = self.from_day.saturating_mul(DAY_SECS);
        Ok(Step::Send(HttpRequest::get(format!("{API_BASE}/candles?symbol={}&resolution=1d&from={from}&to={to}", self.market))))
    }
}
