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
//! With more than one portfolio, each has its own series beside the one of all portfolios
//! together (see [`Series`]); with one, the series of all of them is its series too.
//! Gaps (the browser was closed) stay gaps: a chart breaks its line where points are further apart
//! than their tier allows.
//!
//! # A budget, so storage never jams
//!
//! Chrome gives an extension 10 MB of `storage.local`, and a write past it fails whole. History is
//! the only part that grows by itself, so it has a byte budget ([`MAX_BYTES`], and never more than
//! leaves [`HEADROOM_BYTES`] free for the vault and everything else), counted as browsers count
//! stored items. Over it, the oldest months are thinned to a point a week, then the oldest chunks
//! are dropped, until it fits. What shrinks storage is written before the new point, in steps of
//! its own ([`Recorded::prune`]), so a full storage never stops history from making room. A chunk
//! that cannot be read is set aside under `hist:x:…` rather than written over.
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

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::{
    error::{Error, Result},
    money::{Exact as _, Plain, parse_decimal, plain_string, to_plain_string},
    portfolio::Snapshot,
};

/// Every history storage key starts with this.
pub const KEY_PREFIX: &str = "hist:";

/// Where a chunk that cannot be read is kept (`hist:x:` and its key without `hist:`): out of
/// every series, never written over, removed only by "Clear history".
const ASIDE_PREFIX: &str = "hist:x:";

/// The most bytes history may take in storage.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// What history leaves free of the storage quota, whatever else is stored: room for the vault,
/// the accounts and the snapshots to be written.
pub const HEADROOM_BYTES: usize = 1024 * 1024;

/// Stored chunks by storage key.
pub type Chunks = BTreeMap<String, String>;

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
        let (year, month, day) = crate::calendar::civil(t);
        format!("{}{year:04}-{month:02}-{day:02}", self.day_prefix)
    }

    fn month_key(&self, t: u64) -> String {
        let (year, month, _) = crate::calendar::civil(t);
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

impl Point {
    /// The point `snapshot` stands for.
    pub fn of(snapshot: &Snapshot) -> Point {
        let priced = snapshot.assets.iter().map(|row| Held { asset: row.asset.clone(), amount: row.total, price: Some(round_price(row.price)) });
        let unpriced = snapshot.unpriced.iter().map(|row| Held { asset: row.asset.clone(), amount: row.total, price: None });
        let mut holdings: Vec<Held> = priced.chain(unpriced).collect();
        holdings.sort_by(|a, b| a.asset.cmp(&b.asset));
        Point {
            t: snapshot.updated_at,
            currency: snapshot.quote.clone(),
            usd_rate: snapshot.usd_rate.map(round_price),
            total: snapshot.total,
            holdings,
        }
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
#[derive(Serialize, Deserialize)]
struct ChunkRecord {
    v: u8,
    assets: Vec<String>,
    points: Vec<PointRecord>,
}

/// One stored point: a JSON array whose positions are named here.
#[derive(Serialize, Deserialize)]
struct PointRecord(
    /// `t`
    u64,
    /// `currency`
    String,
    /// `usdRate`
    #[serde(with = "plain_string::option")]
    Option<Decimal>,
    /// `total`
    #[serde(with = "plain_string")]
    Decimal,
    /// `prices`, in the order of the chunk's assets
    Vec<Option<Plain>>,
    /// `amounts`
    Amounts,
);

/// A point's amounts: listed per asset, or `0` for the same as at the chunk's previous point.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Amounts {
    Same,
    Listed(Vec<Option<Plain>>),
}

impl Serialize for Amounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Amounts::Same => serializer.serialize_u8(0),
            Amounts::Listed(amounts) => amounts.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Amounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct AmountsVisitor;

        impl<'de> de::Visitor<'de> for AmountsVisitor {
            type Value = Amounts;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("0 or a list of amounts")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<Amounts, E> {
                if value == 0 { Ok(Amounts::Same) } else { Err(E::invalid_value(de::Unexpected::Unsigned(value), &self)) }
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Amounts, A::Error> {
                let mut amounts = Vec::new();
                while let Some(amount) = seq.next_element()? {
                    amounts.push(amount);
                }
                Ok(Amounts::Listed(amounts))
            }
        }

        deserializer.deserialize_any(AmountsVisitor)
    }
}

fn corrupt() -> Error {
    Error::InvalidInput { field: "history" }
}

/// Reads a chunk's points, oldest first.
fn decode(text: &str) -> Result<Vec<Point>> {
    let chunk: ChunkRecord = serde_json::from_str(text).map_err(|_| corrupt())?;
    if chunk.v != CHUNK_VERSION {
        return Err(corrupt());
    }
    let mut points = Vec::with_capacity(chunk.points.len());
    let mut amounts: Vec<Option<Plain>> = Vec::new();
    for PointRecord(t, currency, usd_rate, total, prices, listed) in chunk.points {
        if let Amounts::Listed(listed) = listed {
            amounts = listed;
        }
        let mut holdings = Vec::new();
        for (i, asset) in chunk.assets.iter().enumerate() {
            let Some(Some(Plain(amount))) = amounts.get(i) else { continue };
            let price = prices.get(i).copied().flatten().map(|Plain(price)| price);
            holdings.push(Held { asset: asset.clone(), amount: *amount, price });
        }
        holdings.sort_by(|a, b| a.asset.cmp(&b.asset));
        points.push(Point { t, currency, usd_rate, total, holdings });
    }
    points.sort_by_key(|point| point.t);
    Ok(points)
}

/// Every asset the points hold, sorted, once each.
fn asset_names<'a>(points: impl Iterator<Item = &'a Point>) -> Vec<String> {
    let names: BTreeSet<&str> = points.flat_map(|point| point.holdings.iter().map(|held| held.asset.as_str())).collect();
    names.into_iter().map(str::to_owned).collect()
}

/// Writes points (oldest first) as one chunk.
fn encode(points: &[Point]) -> String {
    let assets = asset_names(points.iter());
    let mut previous: Option<Vec<Option<Plain>>> = None;
    let records: Vec<PointRecord> = points
        .iter()
        .map(|point| {
            let column = |value: &dyn Fn(&Held) -> Option<Decimal>| -> Vec<Option<Plain>> {
                let mut column: Vec<Option<Plain>> = assets.iter().map(|asset| point.held(asset).and_then(value).map(Plain)).collect();
                while column.last().is_some_and(Option::is_none) {
                    column.pop();
                }
                column
            };
            let prices = column(&|held| held.price);
            let amounts = column(&|held| Some(held.amount));
            let listed = if previous.as_ref() == Some(&amounts) {
                Amounts::Same
            } else {
                previous = Some(amounts.clone());
                Amounts::Listed(amounts)
            };
            PointRecord(point.t, point.currency.clone(), point.usd_rate, point.total, prices, listed)
        })
        .collect();
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_string(&ChunkRecord { v: CHUNK_VERSION, assets, points: records }).unwrap_or_default()
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
    points.sort_by_key(|point| point.t);
    Ok(encode(&points))
}

/// What compaction changes in storage.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// Keys to write, with their new text.
    pub write: Chunks,
    /// Keys to remove.
    pub remove: Vec<String>,
}

/// Applies the tiers at time `now_ms` to the stored chunks (`key → text`): day chunks older than
/// 48 hours keep the last point of each hour, and days older than 30 days fold their last point
/// into their month's chunk. Only what changed is returned. A chunk that cannot be read is left
/// as it is.
pub fn compact(series: &Series, chunks: &Chunks, now_ms: u64) -> Compaction {
    let mut compaction = Compaction::default();
    let mut months: BTreeMap<String, Vec<Point>> = BTreeMap::new();
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
        folded.sort_by_key(|point| point.t);
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

/// How many points the series of all portfolios together holds in `chunks`.
pub fn point_count(chunks: &Chunks) -> usize {
    load(&Series::all(), chunks).len()
}

/// Every point of the series in the stored chunks, oldest first (unreadable chunks are skipped).
pub fn load(series: &Series, chunks: &Chunks) -> Vec<Point> {
    let mut points: Vec<Point> = chunks
        .iter()
        .filter(|(key, _)| series.owns(key))
        .filter_map(|(_, text)| decode(text).ok())
        .flatten()
        .collect();
    points.sort_by_key(|point| point.t);
    points.dedup_by_key(|point| point.t);
    points
}

// ---------------------------------------------------------------------------------------------
// Recording a sync

/// How often the tiers are applied: a day chunk only changes tier hourly.
pub const COMPACT_EVERY_MS: u64 = HOUR_MS;

/// What one sync changes in the stored history, and the views the popup paints from.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// What makes room, to be stored first: tiers applied, old data thinned or dropped to stay
    /// within the budget, unreadable chunks set aside. Its writes never hold more than its
    /// removals free, beyond the chunks being folded.
    pub prune: Changes,
    /// The new points, each in its day's chunk, to be stored after [`Recorded::prune`].
    pub append: Chunks,
    /// The view of each series recorded, by portfolio id (`""` for all portfolios together).
    pub views: BTreeMap<String, View>,
}

/// Chunks to write and keys to remove.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Keys to write, with their text.
    pub write: Chunks,
    /// Keys to remove.
    pub remove: Vec<String>,
}

/// What history may take of storage: [`MAX_BYTES`], or less when everything else stored
/// (`used_bytes` of `quota_bytes` in all, history's `history_bytes` included) leaves less than
/// that beside [`HEADROOM_BYTES`].
pub fn budget(quota_bytes: usize, used_bytes: usize, history_bytes: usize) -> usize {
    let other = used_bytes.saturating_sub(history_bytes);
    quota_bytes.saturating_sub(HEADROOM_BYTES).saturating_sub(other).min(MAX_BYTES)
}

/// What one stored item takes, as browsers count it: its key, and its value as JSON (a chunk is
/// a string, so its quotes and backslashes are escaped).
pub fn stored_bytes(key: &str, text: &str) -> usize {
    let escapes = text.bytes().filter(|byte| matches!(byte, b'"' | b'\\')).count();
    key.len() + text.len() + escapes + 2
}

/// Every history chunk's bytes.
pub fn history_bytes(chunks: &Chunks) -> usize {
    chunks.iter().filter(|(key, _)| key.starts_with(KEY_PREFIX)).map(|(key, text)| stored_bytes(key, text)).sum()
}

/// The stored history as one sync changes it: [`Recorded::prune`] applied to the chunks, then
/// [`Recorded::append`].
struct Working {
    chunks: Chunks,
    recorded: Recorded,
}

impl Working {
    fn prune_write(&mut self, key: String, text: String) {
        self.recorded.prune.remove.retain(|removed| removed != &key);
        self.chunks.insert(key.clone(), text.clone());
        self.recorded.prune.write.insert(key, text);
    }

    fn prune_remove(&mut self, key: &str) {
        self.chunks.remove(key);
        self.recorded.prune.write.remove(key);
        self.recorded.append.remove(key);
        if !self.recorded.prune.remove.iter().any(|removed| removed == key) {
            self.recorded.prune.remove.push(key.to_owned());
        }
    }

    /// Keeps an unreadable chunk at `key` aside, so that what is written there next loses nothing.
    fn set_aside(&mut self, key: &str) {
        if let Some(text) = self.chunks.get(key).cloned() {
            let aside = format!("{ASIDE_PREFIX}{}", key.trim_start_matches(KEY_PREFIX));
            self.prune_remove(key);
            self.prune_write(aside, text);
        }
    }

    /// The stored chunk at `key` if it reads; set aside if it does not.
    fn readable(&mut self, key: &str) -> Option<String> {
        let text = self.chunks.get(key)?.clone();
        if decode(&text).is_ok() {
            Some(text)
        } else {
            self.set_aside(key);
            None
        }
    }
}

/// Adds each snapshot (`(portfolio id, snapshot)`, `""` for all portfolios together) as a point of
/// its series to the stored `chunks`, applies the tiers when `compact` says so, keeps the history
/// within `budget_bytes`, and returns what to store with the view of every series recorded.
///
/// With one portfolio only, its own series would repeat the series of all of them: its snapshot
/// gets that series' view, and its own chunks go.
pub fn record(chunks: &Chunks, snapshots: &[(&str, &Snapshot)], now_ms: u64, compact: bool, budget_bytes: usize) -> Result<Recorded> {
    let mut working = Working { chunks: chunks.clone(), recorded: Recorded::default() };
    let portfolios: Vec<&str> = snapshots.iter().map(|(id, _)| *id).filter(|id| !id.is_empty()).collect();
    let one_portfolio = portfolios.len() == 1;
    if let (true, Some(only)) = (one_portfolio, portfolios.first()) {
        let series = Series::portfolio(only)?;
        let own: Vec<String> = working.chunks.keys().filter(|key| series.owns(key)).cloned().collect();
        for key in own {
            working.prune_remove(&key);
        }
    }
    let mut recorded_series = Vec::new();
    for &(portfolio, snapshot) in snapshots {
        if one_portfolio && !portfolio.is_empty() {
            continue;
        }
        let series = if portfolio.is_empty() { Series::all() } else { Series::portfolio(portfolio)? };
        if compact {
            let compaction = self::compact(&series, &working.chunks, now_ms);
            for (key, text) in compaction.write {
                // A month chunk that cannot be read is set aside rather than written over.
                if working.chunks.get(&key).is_some_and(|stored| decode(stored).is_err()) {
                    working.set_aside(&key);
                }
                working.prune_write(key, text);
            }
            for key in compaction.remove {
                working.prune_remove(&key);
            }
        }
        let point = Point::of(snapshot);
        let key = series.day_key(point.t);
        let day = working.readable(&key);
        let text = append(day.as_deref(), point)?;
        working.chunks.insert(key.clone(), text.clone());
        working.recorded.append.insert(key, text);
        recorded_series.push((portfolio, series, snapshot));
    }
    keep_within(&mut working, budget_bytes);
    for (portfolio, series, snapshot) in recorded_series {
        let view = view(&load(&series, &working.chunks), &snapshot.quote, now_ms, DayBefore::of(snapshot));
        working.recorded.views.insert(portfolio.to_owned(), view);
    }
    if let (true, Some(only), Some(all)) = (one_portfolio, portfolios.first(), working.recorded.views.get("").cloned()) {
        working.recorded.views.insert((*only).to_owned(), all);
    }
    Ok(working.recorded)
}

/// What brings the stored history within `budget_bytes`, and nothing else: when a write fails
/// for want of room, history (the only part that grows by itself) makes it.
pub fn prune(chunks: &Chunks, budget_bytes: usize) -> Changes {
    let mut working = Working { chunks: chunks.clone(), recorded: Recorded::default() };
    keep_within(&mut working, budget_bytes);
    working.recorded.prune
}

/// The date part of a chunk's key (`2026-11` of a month chunk, `2026-11-28` of a day chunk):
/// sorting by it puts older chunks first, and a month before its days.
fn chunk_date(key: &str) -> &str {
    key.rsplit(':').next().unwrap_or(key)
}

/// Thins the oldest months to a point a week, then drops the oldest chunks, until the history
/// fits `budget_bytes`. The chunks of the points just added are never dropped.
fn keep_within(working: &mut Working, budget_bytes: usize) {
    let mut bytes = history_bytes(&working.chunks);
    if bytes <= budget_bytes {
        return;
    }
    let mut oldest: Vec<String> = working
        .chunks
        .keys()
        .filter(|key| key.starts_with(KEY_PREFIX) && !key.starts_with(ASIDE_PREFIX) && !working.recorded.append.contains_key(*key))
        .cloned()
        .collect();
    oldest.sort_by(|a, b| chunk_date(a).cmp(chunk_date(b)).then_with(|| a.cmp(b)));
    let months: Vec<String> = oldest.iter().filter(|key| key.contains(":m:")).cloned().collect();
    for key in months {
        let Some(points) = working.chunks.get(&key).and_then(|text| decode(text).ok()) else { continue };
        let weekly = keep_last_per_bucket(&points, |_| true, 7 * DAY_MS);
        if weekly.len() < points.len() {
            let before = working.chunks.get(&key).map_or(0, |text| stored_bytes(&key, text));
            let thinned = encode(&weekly);
            bytes = (bytes + stored_bytes(&key, &thinned)).saturating_sub(before);
            working.prune_write(key, thinned);
            if bytes <= budget_bytes {
                return;
            }
        }
    }
    for key in oldest {
        if bytes <= budget_bytes {
            return;
        }
        if let Some(text) = working.chunks.get(&key) {
            bytes = bytes.saturating_sub(stored_bytes(&key, text));
            working.prune_remove(&key);
        }
    }
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
    pub ranges: BTreeMap<&'static str, RangeView>,
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

impl DayBefore {
    /// What `snapshot` says of the last 24 hours, when its exchanges report it.
    pub fn of(snapshot: &Snapshot) -> Option<DayBefore> {
        snapshot.change24h.map(|change_percent| DayBefore { total: snapshot.total, change_percent })
    }
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
    let mut ranges = BTreeMap::new();
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

/// The CSV export: the holdings now (one row per asset and account: amount, price and value in
/// the snapshot's currency), a blank line, then the history in `currency` (one row per point:
/// time in ISO 8601, total, and each asset's amount and value). UTF-8, `.` decimals, a header row
/// per table, fields quoted where they need it. No key or secret is anywhere in it.
pub fn csv(snapshot: &Snapshot, points: &[Point], currency: &str) -> String {
    let quote = snapshot.quote.to_ascii_uppercase();
    let mut out = format!("asset,account,exchange,amount,price_{quote},value_{quote}\r\n");
    for account in &snapshot.accounts {
        for balance in &account.balances {
            let (currency, amount) = (&balance.currency, &balance.total);
            let price = snapshot.assets.iter().find(|row| &row.asset == currency).map(|row| row.price);
            let value = price.and_then(|price| amount.times(price));
            let cells = [
                currency.clone(),
                account.label.clone(),
                account.exchange.map_or("manual", |exchange| exchange.as_str()).to_owned(),
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
    out
}

/// One CSV row (RFC 4180): a field with a comma, a quote or a line break is quoted. A field that
/// a spreadsheet would read as a formula (`=`, `+`, `-`, `@` first) gets a leading apostrophe, as
/// labels are the user's own text.
pub(crate) fn push_row(out: &mut String, cells: &[String]) {
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

pub(crate) fn iso_time(t: u64) -> String {
    let (year, month, day) = crate::calendar::civil(t);
    let seconds = (t % DAY_MS) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

#[cfg(test)]
mod tests;
