//! Value history: a point after every sync, kept on the device in tiers, and what it tells: the
//! total over a range, and how much of its change was the market and how much deposits and
//! withdrawals.
//!
//! # What a point holds
//!
//! The time, the display currency and what one unit of it was worth in US dollars, the total, and
//! each asset's amount and price in the display currency (so its price in dollars is the price
//! times that rate). Amounts are exact; prices and the rate are kept to 12 significant digits.
//!
//! # Tiers and storage
//!
//! Every point for 48 hours, the last point of each hour for 30 days, the last of each UTC day
//! after that. Points live in `chrome.storage.local` under one key per UTC day
//! (`hist:d:2026-11-28`) for 30 days, then folded into one key per month (`hist:m:2026-10`), so a
//! sync rewrites only today's small chunk and the monthly ones change once. A chunk lists its
//! assets once and stores amounts only when they changed since the chunk's previous point.
//! Each portfolio has its own series beside the one of all portfolios together (see [`Series`]).
//! Gaps (the browser was closed) stay gaps: a chart breaks its line where points are further apart
//! than their tier allows.
//!
//! # Profit and loss without counting deposits as gains
//!
//! For a range, the **market P&L** is the sum, over consecutive points, of each asset's amount at
//! the first point times its price change to the second: what the price moves of what was held
//! made or lost. The rest of the value change is **net deposits and withdrawals** (flows, which
//! include trading fees and spreads). Until 24 hours of history exist, the 24-hour figure uses the
//! exchanges' own 24-hour change of each asset instead. This is not cost-basis P&L.
//!
//! # Currencies
//!
//! A point is shown in another display currency only where its stored rate allows it: in its own
//! currency, or in dollars. Older points in another currency are left out of a range, and the view
//! says so.

use litemap::LiteMap;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::{
    error::{Error, Result},
    money::{Exact as _, parse_decimal, plain_string, to_plain_string},
    sorting::sort_stable_by,
    stored::{StoredValue, Value, optional, or_default},
};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// Every point is kept this long.
const RAW_FOR_MS: u64 = 48 * HOUR_MS;
/// Hourly points are kept this long; daily ones for ever.
const HOURLY_FOR_MS: u64 = 30 * DAY_MS;
/// Significant digits kept of prices and rates: far beyond any display, and cents stay exact for
/// any price below 10^10.
const PRICE_DIGITS: u32 = 12;
/// The chunk format.
const CHUNK_VERSION: u8 = 1;
/// At most this many points per range are drawn (about the popup chart's width in pixels / 2).
pub const CHART_POINTS: usize = 160;
/// A chart point's height scale: 0 is the range's lowest value, this its highest.
pub const CHART_HEIGHT: u32 = 1000;

/// One point to draw: time, value and height (both `None` in a gap).
pub type ChartPoint = (u64, Option<String>, Option<u32>);

/// Which history a chunk belongs to: every portfolio together (`hist:d:…`, `hist:m:…`) or one
/// portfolio (`hist:p:<id>:d:…`, `hist:p:<id>:m:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    day_prefix: String,
    month_prefix: String,
}

impl Series {
    /// Every portfolio together.
    pub fn all() -> Series {
        Series { day_prefix: "hist:d:".to_owned(), month_prefix: "hist:m:".to_owned() }
    }

    /// One portfolio; its id is a short code of lowercase letters, digits and dashes.
    pub fn portfolio(id: &str) -> Result<Series> {
        let valid = (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(Error::InvalidInput { field: "portfolio" });
        }
        Ok(Series { day_prefix: format!("hist:p:{id}:d:"), month_prefix: format!("hist:p:{id}:m:") })
    }

    /// The storage key of the day chunk for time `t` (`…d:YYYY-MM-DD`, UTC).
    pub fn day_key(&self, t: u64) -> String {
        let (year, month, day) = civil(t);
        format!("{}{year:04}-{month:02}-{day:02}", self.day_prefix)
    }

    fn month_key(&self, t: u64) -> String {
        let (year, month, _) = civil(t);
        format!("{}{year:04}-{month:02}", self.month_prefix)
    }

    fn is_day(&self, key: &str) -> bool {
        key.starts_with(&self.day_prefix)
    }

    /// Whether `key` is one of this series' chunks.
    pub fn owns(&self, key: &str) -> bool {
        self.is_day(key) || key.starts_with(&self.month_prefix)
    }
}

/// One asset at one point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Asset code.
    pub asset: String,
    /// Amount held, all accounts together.
    pub amount: Decimal,
    /// Price in the point's currency; `None` when unpriced.
    pub price: Option<Decimal>,
}

/// The portfolio at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Milliseconds since the epoch.
    pub t: u64,
    /// The display currency then.
    pub currency: String,
    /// US dollars per unit of `currency`, when known.
    pub usd_rate: Option<Decimal>,
    /// The total then.
    pub total: Decimal,
    /// Every asset held.
    pub holdings: Vec<Held>,
}

/// A priced asset of a stored snapshot.
struct AssetIn {
    asset: String,
    total: Decimal,
    price: Decimal,
}

impl AssetIn {
    /// `{ asset, total, price, … }`, as `portfolio::AssetRow` is stored.
    fn read(row: Value<'_>) -> Option<AssetIn> {
        let [asset, total, price] = row.pick(["asset", "total", "price"])?;
        Some(AssetIn { asset: asset?.text()?, total: total?.plain_decimal()?, price: price?.plain_decimal()? })
    }
}

impl Point {
    /// The point a stored snapshot stands for.
    pub fn from_snapshot(snapshot: &str) -> Result<Point> {
        Value::parse(snapshot).and_then(Point::read_snapshot).ok_or(Error::InvalidInput { field: "refresh" })
    }

    fn read_snapshot(snapshot: Value<'_>) -> Option<Point> {
        let [quote, total, updated_at, usd_rate, assets, unpriced] =
            snapshot.pick(["quote", "total", "updatedAt", "usdRate", "assets", "unpriced"])?;
        let priced = |row| AssetIn::read(row).map(|row| Held { asset: row.asset, amount: row.total, price: Some(round_price(row.price)) });
        let unpriced_row = |row: Value<'_>| {
            let [asset, total] = row.pick(["asset", "total"])?;
            Some(Held { asset: asset?.text()?, amount: total?.plain_decimal()?, price: None })
        };
        let mut holdings = or_default(assets, |rows| rows.list(priced))?;
        holdings.extend(or_default(unpriced, |rows| rows.list(unpriced_row))?);
        sort_by_asset(&mut holdings);
        Some(Point {
            t: updated_at?.unsigned()?,
            currency: quote?.text()?,
            usd_rate: optional(usd_rate, StoredValue::plain_decimal)?.map(round_price),
            total: total?.plain_decimal()?,
            holdings,
        })
    }

    fn held(&self, asset: &str) -> Option<&Held> {
        self.holdings.binary_search_by(|held| held.asset.as_str().cmp(asset)).ok().and_then(|at| self.holdings.get(at))
    }
}

fn round_price(price: Decimal) -> Decimal {
    price.round_sf_with_strategy(PRICE_DIGITS, RoundingStrategy::MidpointNearestEven).unwrap_or(price).normalize()
}

// ---------------------------------------------------------------------------------------------
// Chunks

/// A chunk as stored: `{"v":1,"assets":[…],"points":[[t, currency, usdRate|null, total,
/// [price|null, …], [amount|null, …] | 0], …]}`. Arrays follow `assets`; a missing tail means
/// "not held"; `0` in place of the amounts means "as at the chunk's previous point".
#[derive(Serialize)]
struct ChunkWire {
    v: u8,
    assets: Vec<String>,
    points: Vec<PointWire>,
}

#[derive(Serialize)]
struct PointWire(u64, String, Option<String>, String, Vec<Option<String>>, AmountsWire);

#[derive(Serialize)]
#[serde(untagged)]
enum AmountsWire {
    Same(u8),
    Listed(Vec<Option<String>>),
}

/// One stored point, as [`PointWire`] writes it. Prices stay text until an asset is held.
struct PointRow {
    t: u64,
    currency: String,
    usd_rate: Option<Decimal>,
    total: Decimal,
    prices: Vec<Option<String>>,
    /// `None` for `0`: the amounts are as at the chunk's previous point.
    amounts: Option<Vec<Option<Decimal>>>,
}

impl PointRow {
    fn read(row: Value<'_>) -> Option<PointRow> {
        let mut elements = row.items()?;
        let mut next = || elements.next();
        let (t, currency, usd_rate, total, prices, amounts) = (next()?, next()?, next()?, next()?, next()?, next()?);
        if next().is_some() {
            return None;
        }
        Some(PointRow {
            t: t.unsigned()?,
            currency: currency.text()?,
            usd_rate: usd_rate.nullable(StoredValue::plain_decimal)?,
            total: total.plain_decimal()?,
            prices: prices.list(|price| price.nullable(StoredValue::text))?,
            amounts: match amounts.unsigned() {
                Some(same) => u8::try_from(same).ok().map(|_| None)?,
                None => Some(amounts.list(|amount| amount.nullable(StoredValue::plain_decimal))?),
            },
        })
    }
}

fn corrupt() -> Error {
    Error::InvalidInput { field: "history" }
}

/// Reads a chunk's points, oldest first.
fn decode(text: &str) -> Result<Vec<Point>> {
    let [version, assets, rows] = Value::parse(text).and_then(|chunk| chunk.pick(["v", "assets", "points"])).ok_or_else(corrupt)?;
    if version.and_then(Value::unsigned) != Some(u64::from(CHUNK_VERSION)) {
        return Err(corrupt());
    }
    let assets = assets.and_then(|assets| assets.list(StoredValue::text)).ok_or_else(corrupt)?;
    let mut points = Vec::new();
    let mut amounts: Vec<Option<Decimal>> = Vec::new();
    for row in rows.and_then(Value::items).ok_or_else(corrupt)? {
        let row = PointRow::read(row).ok_or_else(corrupt)?;
        if let Some(listed) = row.amounts {
            amounts = listed;
        }
        let mut holdings = Vec::new();
        for (i, asset) in assets.iter().enumerate() {
            let Some(Some(amount)) = amounts.get(i) else { continue };
            let price = row.prices.get(i).cloned().flatten().as_deref().map(decimal).transpose()?;
            holdings.push(Held { asset: asset.clone(), amount: *amount, price });
        }
        sort_by_asset(&mut holdings);
        points.push(Point { t: row.t, currency: row.currency, usd_rate: row.usd_rate, total: row.total, holdings });
    }
    sort_by_time(&mut points);
    Ok(points)
}

fn decimal(text: &str) -> Result<Decimal> {
    parse_decimal(text).ok_or_else(corrupt)
}

/// Oldest first.
fn sort_by_time(points: &mut Vec<Point>) {
    sort_stable_by(points, |a, b| a.t.cmp(&b.t));
}

/// By asset code.
fn sort_by_asset(holdings: &mut Vec<Held>) {
    sort_stable_by(holdings, |a, b| a.asset.cmp(&b.asset));
}

/// Every asset the points hold, sorted, once each.
fn asset_names<'a>(points: impl Iterator<Item = &'a Point>) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for point in points {
        names.extend(point.holdings.iter().map(|held| held.asset.as_str()));
    }
    sort_stable_by(&mut names, |a, b| a.cmp(b));
    names.dedup();
    names.into_iter().map(str::to_owned).collect()
}

/// Writes points (oldest first) as one chunk.
fn encode(points: &[Point]) -> String {
    let assets = asset_names(points.iter());
    let mut previous: Option<Vec<Option<String>>> = None;
    let wire: Vec<PointWire> = points
        .iter()
        .map(|point| {
            let column = |value: &dyn Fn(&Held) -> Option<String>| -> Vec<Option<String>> {
                let mut column: Vec<Option<String>> = assets.iter().map(|asset| point.held(asset).and_then(value)).collect();
                while column.last().is_some_and(Option::is_none) {
                    column.pop();
                }
                column
            };
            let prices = column(&|held| held.price.map(to_plain_string));
            let amounts = column(&|held| Some(to_plain_string(held.amount)));
            let listed = if previous.as_ref() == Some(&amounts) {
                AmountsWire::Same(0)
            } else {
                previous = Some(amounts.clone());
                AmountsWire::Listed(amounts)
            };
            PointWire(point.t, point.currency.clone(), point.usd_rate.map(to_plain_string), to_plain_string(point.total), prices, listed)
        })
        .collect();
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string(&ChunkWire { v: CHUNK_VERSION, assets, points: wire }).unwrap_or_default()
}

/// The UTC date of `t` (Howard Hinnant's `civil_from_days`,
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
fn civil(t: u64) -> (u64, u64, u64) {
    let z = t / DAY_MS + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `point` added to the day chunk `chunk` (its key is [`Series::day_key`] of the point's time).
pub fn append(chunk: Option<&str>, point: Point) -> Result<String> {
    let mut points = match chunk {
        Some(text) => decode(text)?,
        None => Vec::new(),
    };
    // A sync within the same millisecond as the last point replaces it.
    points.retain(|existing| existing.t != point.t);
    points.push(point);
    sort_by_time(&mut points);
    Ok(encode(&points))
}

/// What compaction changes in storage.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// Keys to write, with their new text.
    pub write: LiteMap<String, String>,
    /// Keys to remove.
    pub remove: Vec<String>,
}

/// Applies the tiers at time `now_ms` to the stored chunks (`key → text`): day chunks older than
/// 48 hours keep the last point of each hour, and days older than 30 days fold their last point
/// into their month's chunk. Only what changed is returned. A chunk that cannot be read is left
/// as it is.
pub fn compact(series: &Series, chunks: &LiteMap<String, String>, now_ms: u64) -> Compaction {
    let mut compaction = Compaction::default();
    let mut months: LiteMap<String, Vec<Point>> = LiteMap::new_vec();
    for (key, text) in chunks.iter().filter(|(key, _)| series.is_day(key)) {
        let Ok(points) = decode(text) else { continue };
        let newest = points.last().map_or(0, |point| point.t);
        if now_ms.saturating_sub(newest) > HOURLY_FOR_MS {
            // The whole day is past the hourly tier: its last point joins the month.
            if let Some(last) = points.into_iter().last() {
                months.entry(series.month_key(last.t)).or_default().push(last);
            }
            compaction.remove.push(key.clone());
            continue;
        }
        let kept = keep_last_per_bucket(&points, |point| now_ms.saturating_sub(point.t) > RAW_FOR_MS, HOUR_MS);
        if kept.len() < points.len() {
            compaction.write.insert(key.clone(), encode(&kept));
        }
    }
    for (key, mut folded) in months {
        if let Some(Ok(existing)) = chunks.get(&key).map(|text| decode(text)) {
            folded.extend(existing);
        }
        sort_by_time(&mut folded);
        let kept = keep_last_per_bucket(&folded, |_| true, DAY_MS);
        compaction.write.insert(key, encode(&kept));
    }
    compaction
}

/// Keeps, among the points `thin` selects, only the last of each `bucket_ms` window; the others
/// are all kept.
fn keep_last_per_bucket(points: &[Point], thin: impl Fn(&Point) -> bool, bucket_ms: u64) -> Vec<Point> {
    let mut kept: Vec<Point> = Vec::with_capacity(points.len());
    for point in points {
        if let Some(last) = kept.last()
            && thin(last)
            && thin(point)
            && last.t / bucket_ms == point.t / bucket_ms
        {
            kept.pop();
        }
        kept.push(point.clone());
    }
    kept
}

/// Every point of the series in the stored chunks, oldest first (unreadable chunks are skipped).
pub fn load(series: &Series, chunks: &LiteMap<String, String>) -> Vec<Point> {
    let mut points: Vec<Point> = chunks
        .iter()
        .filter(|(key, _)| series.owns(key))
        .filter_map(|(_, text)| decode(text).ok())
        .flatten()
        .collect();
    sort_by_time(&mut points);
    points.dedup_by_key(|point| point.t);
    points
}

// ---------------------------------------------------------------------------------------------
// What the history tells

/// The ranges offered, with their length (`None`: everything).
pub const RANGES: [(&str, Option<u64>); 5] =
    [("24h", Some(DAY_MS)), ("7d", Some(7 * DAY_MS)), ("30d", Some(30 * DAY_MS)), ("1y", Some(365 * DAY_MS)), ("all", None)];

/// One range of the history in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeView {
    /// `[t, value, y]` to draw, at most [`CHART_POINTS`]: `y` is the value's height from 0 (the
    /// range's lowest value) to [`CHART_HEIGHT`] (its highest), so the pages draw without doing
    /// arithmetic on money; `value` and `y` null mark a gap.
    pub points: Vec<ChartPoint>,
    /// Where the range starts in time (the first point it has).
    pub since: Option<u64>,
    /// The value at the start and at the end.
    #[serde(with = "plain_string::option")]
    pub start: Option<Decimal>,
    /// The value at the end.
    #[serde(with = "plain_string::option")]
    pub end: Option<Decimal>,
    /// `end − start`.
    #[serde(with = "plain_string::option")]
    pub change: Option<Decimal>,
    /// The change in percent of `start`, two decimals.
    #[serde(with = "plain_string::option")]
    pub change_percent: Option<Decimal>,
    /// What the price moves of what was held made or lost.
    #[serde(with = "plain_string::option")]
    pub market: Option<Decimal>,
    /// Net deposits and withdrawals (and fees): `change − market`.
    #[serde(with = "plain_string::option")]
    pub flows: Option<Decimal>,
    /// `history`: from the stored points; `exchanges`: from the exchanges' 24-hour changes (until
    /// 24 hours of history exist); `none`: nothing to say yet.
    pub basis: &'static str,
}

/// The history as the popup and the History page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// The currency of every value.
    pub currency: String,
    /// One entry per range id of [`RANGES`].
    pub ranges: LiteMap<&'static str, RangeView>,
    /// When points exist that cannot be shown in this currency (stored in another one), the
    /// newest of them: the view says history before it is missing.
    pub unconverted_before: Option<u64>,
    /// How many points are stored.
    pub stored_points: usize,
}

/// The exchanges' own 24-hour view of the current snapshot, for the 24-hour range until history
/// covers a day: value now, and the market move (the same amounts at yesterday's prices).
#[derive(Debug, Clone, Copy)]
pub struct DayBefore {
    /// The total now.
    pub total: Decimal,
    /// The total's percent change over 24 hours.
    pub change_percent: Decimal,
}

/// `value` of `point`, expressed in `currency` where its stored rate allows it.
fn convert(point: &Point, value: Decimal, currency: &str) -> Option<Decimal> {
    if point.currency == currency {
        Some(value)
    } else if currency == "usd" {
        value.times(point.usd_rate?)
    } else {
        None
    }
}

/// The largest gap between two points of the same tier before a chart breaks its line.
fn gap_allowed(newer: &Point, now_ms: u64) -> u64 {
    let age = now_ms.saturating_sub(newer.t);
    if age <= RAW_FOR_MS {
        2 * HOUR_MS
    } else if age <= HOURLY_FOR_MS {
        3 * HOUR_MS
    } else {
        3 * DAY_MS
    }
}

/// The market P&L from `before` to `after`: each asset's amount at `before` times its price
/// change, both prices in `currency`.
fn market_between(before: &Point, after: &Point, currency: &str) -> Option<Decimal> {
    let mut sum = Decimal::ZERO;
    for held in &before.holdings {
        let (Some(then), Some(now)) = (held.price, after.held(&held.asset).and_then(|later| later.price)) else {
            continue;
        };
        let (then, now) = (convert(before, then, currency)?, convert(after, now, currency)?);
        sum = sum.plus(held.amount.times(now.minus(then)?)?)?;
    }
    Some(sum)
}

/// Every range of the history in `currency` at time `now_ms`. `day_before` stands in for the
/// 24-hour range while history covers less than a day.
pub fn view(points: &[Point], currency: &str, now_ms: u64, day_before: Option<DayBefore>) -> View {
    let shown: Vec<(&Point, Decimal)> =
        points.iter().filter_map(|point| Some((point, convert(point, point.total, currency)?))).collect();
    let unconverted_before = points.iter().filter(|point| convert(point, point.total, currency).is_none()).map(|p| p.t).max();
    let mut ranges = LiteMap::new_vec();
    for (id, length) in RANGES {
        let from = length.map_or(0, |length| now_ms.saturating_sub(length));
        let inside: Vec<(&Point, Decimal)> = shown.iter().copied().filter(|(point, _)| point.t >= from).collect();
        let covers_a_day = shown.first().is_some_and(|(first, _)| first.t <= from);
        let range = match (id, day_before) {
            ("24h", Some(day)) if !covers_a_day => from_exchanges(&inside, day, now_ms),
            _ => from_history(&inside, currency, now_ms),
        };
        ranges.insert(id, range);
    }
    View { currency: currency.to_owned(), ranges, unconverted_before, stored_points: points.len() }
}

fn from_history(inside: &[(&Point, Decimal)], currency: &str, now_ms: u64) -> RangeView {
    let (Some(&(first, start)), Some(&(_, end))) = (inside.first(), inside.last()) else {
        return RangeView { points: Vec::new(), since: None, start: None, end: None, change: None, change_percent: None, market: None, flows: None, basis: "none" };
    };
    let market = inside
        .windows(2)
        .try_fold(Decimal::ZERO, |sum, pair| sum.plus(market_between(pair[0].0, pair[1].0, currency)?));
    let change = end.minus(start);
    RangeView {
        points: chart(inside, now_ms),
        since: Some(first.t),
        start: Some(start),
        end: Some(end),
        change,
        change_percent: change.and_then(|change| percent_of(change, start)),
        market,
        flows: change.zip(market).and_then(|(change, market)| change.minus(market)),
        basis: if inside.len() > 1 { "history" } else { "none" },
    }
}

/// The 24-hour range from the exchanges' 24-hour changes: the same amounts at yesterday's prices.
/// Flows cannot be known this way.
fn from_exchanges(inside: &[(&Point, Decimal)], day: DayBefore, now_ms: u64) -> RangeView {
    let factor = Decimal::ONE.plus(day.change_percent.checked_div(Decimal::ONE_HUNDRED).unwrap_or_default());
    let start = factor.filter(|factor| !factor.is_zero()).and_then(|factor| day.total.checked_div(factor));
    let change = start.and_then(|start| day.total.minus(start));
    RangeView {
        points: chart(inside, now_ms),
        since: inside.first().map(|(point, _)| point.t),
        start,
        end: Some(day.total),
        change,
        change_percent: Some(day.change_percent),
        market: change,
        flows: None,
        basis: "exchanges",
    }
}

fn percent_of(change: Decimal, start: Decimal) -> Option<Decimal> {
    if start.is_zero() {
        return None;
    }
    let percent = change.times(Decimal::ONE_HUNDRED)?.checked_div(start)?;
    Some(percent.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// At most [`CHART_POINTS`] points to draw: the last point of each of as many time buckets, and a
/// gap wherever two consecutive stored points are further apart than their tier allows. Buckets
/// never span a gap, and the first point of the range is always drawn.
fn chart(inside: &[(&Point, Decimal)], now_ms: u64) -> Vec<ChartPoint> {
    let Some(&(first, _)) = inside.first() else { return Vec::new() };
    let span = inside.last().map_or(0, |(last, _)| last.t - first.t).max(1);
    let bucket = span.div_ceil(CHART_POINTS as u64 - 1).max(1);
    let mut kept: Vec<(u64, Option<Decimal>)> = Vec::with_capacity(CHART_POINTS + 8);
    let mut last_key: Option<(usize, u64)> = None;
    let mut segment = 0;
    for (i, &(point, value)) in inside.iter().enumerate() {
        let gap = i > 0 && inside.get(i - 1).is_some_and(|(previous, _)| point.t - previous.t > gap_allowed(point, now_ms));
        if gap {
            segment += 1;
            kept.push((point.t - 1, None));
        }
        let key = (segment, (point.t - first.t) / bucket);
        if i > 1 && !gap && last_key == Some(key) {
            kept.pop();
        }
        kept.push((point.t, Some(value)));
        last_key = Some(key);
    }
    let values = kept.iter().filter_map(|(_, value)| *value);
    let low = values.clone().min().unwrap_or_default();
    let high = values.max().unwrap_or_default();
    kept.into_iter()
        .map(|(t, value)| (t, value.map(to_plain_string), value.map(|value| height(value, low, high))))
        .collect()
}

/// Where `value` sits between `low` and `high`, from 0 to [`CHART_HEIGHT`] (the middle when they
/// are equal).
fn height(value: Decimal, low: Decimal, high: Decimal) -> u32 {
    let scale = Decimal::from(CHART_HEIGHT);
    let Some(range) = high.minus(low).filter(|range| !range.is_zero()) else { return CHART_HEIGHT / 2 };
    value
        .minus(low)
        .and_then(|above| above.times(scale))
        .and_then(|scaled| scaled.checked_div(range))
        .map(|ratio| ratio.round())
        .and_then(|ratio| u32::try_from(ratio.mantissa()).ok())
        .map_or(0, |ratio| ratio.min(CHART_HEIGHT))
}

// ---------------------------------------------------------------------------------------------
// One asset, and the CSV export

/// One asset over a range, in `currency`: `[t, value, y, amount]` per point, drawn like the
/// total ([`ChartPoint`] plus the amount held; no value where it had no price).
pub fn asset_series(points: &[Point], asset: &str, currency: &str, from_ms: u64) -> Vec<(u64, Option<String>, Option<u32>, String)> {
    let rows: Vec<(u64, Option<Decimal>, Decimal)> = points
        .iter()
        .filter(|point| point.t >= from_ms && convert(point, point.total, currency).is_some())
        .map(|point| {
            let held = point.held(asset);
            let amount = held.map_or(Decimal::ZERO, |held| held.amount);
            let value = match held {
                Some(held) => held.price.and_then(|price| convert(point, held.amount.times(price)?, currency)),
                None => Some(Decimal::ZERO),
            };
            (point.t, value, amount)
        })
        .collect();
    let values = rows.iter().filter_map(|(_, value, _)| *value);
    let low = values.clone().min().unwrap_or_default();
    let high = values.max().unwrap_or_default();
    rows.into_iter()
        .map(|(t, value, amount)| (t, value.map(to_plain_string), value.map(|value| height(value, low, high)), to_plain_string(amount)))
        .collect()
}

/// The snapshot's accounts, for the holdings part of the export.
struct ExportSnapshot {
    quote: String,
    assets: Vec<AssetIn>,
    accounts: Vec<ExportAccount>,
}

struct ExportAccount {
    label: String,
    /// `None` for typed-in holdings.
    exchange: Option<String>,
    /// Each currency held, with its amount.
    balances: Vec<(String, Decimal)>,
}

impl ExportSnapshot {
    fn read(snapshot: Value<'_>) -> Option<ExportSnapshot> {
        let [quote, assets, accounts] = snapshot.pick(["quote", "assets", "accounts"])?;
        let balance = |row: Value<'_>| {
            let [currency, total] = row.pick(["currency", "total"])?;
            Some((currency?.text()?, total?.plain_decimal()?))
        };
        let account = |row: Value<'_>| {
            let [label, exchange, balances] = row.pick(["label", "exchange", "balances"])?;
            Some(ExportAccount {
                label: label?.text()?,
                exchange: optional(exchange, StoredValue::text)?,
                balances: or_default(balances, |rows| rows.list(balance))?,
            })
        };
        Some(ExportSnapshot {
            quote: quote?.text()?,
            assets: or_default(assets, |rows| rows.list(AssetIn::read))?,
            accounts: or_default(accounts, |rows| rows.list(account))?,
        })
    }
}

/// The CSV export: the holdings now (one row per asset and account: amount, price and value in
/// the snapshot's currency), a blank line, then the history in `currency` (one row per point:
/// time in ISO 8601, total, and each asset's amount and value). UTF-8, `.` decimals, a header row
/// per table, fields quoted where they need it. No key or secret is anywhere in it.
pub fn csv(snapshot: &str, points: &[Point], currency: &str) -> Result<String> {
    let snapshot = Value::parse(snapshot).and_then(ExportSnapshot::read).ok_or(Error::InvalidInput { field: "refresh" })?;
    let quote = snapshot.quote.to_ascii_uppercase();
    let mut out = format!("asset,account,exchange,amount,price_{quote},value_{quote}\r\n");
    for account in &snapshot.accounts {
        for (currency, amount) in &account.balances {
            let price = snapshot.assets.iter().find(|row| &row.asset == currency).map(|row| row.price);
            let value = price.and_then(|price| amount.times(price));
            let cells = [
                currency.clone(),
                account.label.clone(),
                account.exchange.clone().unwrap_or_else(|| "manual".to_owned()),
                to_plain_string(*amount),
                price.map(to_plain_string).unwrap_or_default(),
                value.map(to_plain_string).unwrap_or_default(),
            ];
            push_row(&mut out, &cells);
        }
    }
    let shown: Vec<&Point> = points.iter().filter(|point| convert(point, point.total, currency).is_some()).collect();
    let assets = asset_names(shown.iter().copied());
    let upper = currency.to_ascii_uppercase();
    let mut header = vec!["time".to_owned(), format!("total_{upper}")];
    for asset in &assets {
        header.push(format!("{asset}_amount"));
        header.push(format!("{asset}_value_{upper}"));
    }
    out.push_str("\r\n");
    push_row(&mut out, &header);
    for point in shown {
        let mut cells = vec![iso_time(point.t), convert(point, point.total, currency).map(to_plain_string).unwrap_or_default()];
        for asset in &assets {
            let held = point.held(asset);
            cells.push(held.map(|held| to_plain_string(held.amount)).unwrap_or_default());
            let value = held.and_then(|held| convert(point, held.amount.times(held.price?)?, currency));
            cells.push(value.map(to_plain_string).unwrap_or_default());
        }
        push_row(&mut out, &cells);
    }
    Ok(out)
}

/// One CSV row (RFC 4180): a field with a comma, a quote or a line break is quoted. A field that
/// a spreadsheet would read as a formula (`=`, `+`, `-`, `@` first) gets a leading apostrophe, as
/// labels are the user's own text.
fn push_row(out: &mut String, cells: &[String]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let is_number = parse_decimal(cell).is_some();
        let guarded = if !is_number && cell.starts_with(['=', '+', '-', '@']) { format!("'{cell}") } else { cell.clone() };
        if guarded.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push_str("\r\n");
}

fn iso_time(t: u64) -> String {
    let (year, month, day) = civil(t);
    let seconds = (t % DAY_MS) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

#[cfg(test)]
mod tests;
