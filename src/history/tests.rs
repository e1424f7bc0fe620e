use super::*;
use crate::valuation::test_support::dec;

const T0: u64 = 1_795_000_000_000; // 2026-11-18T11:06:40Z
const MINUTE: u64 = 60_000;

fn point(t: u64, holdings: &[(&str, &str, Option<&str>)]) -> Point {
    let holdings: Vec<Held> = holdings
        .iter()
        .map(|&(asset, amount, price)| Held { asset: asset.into(), amount: dec(amount), price: price.map(dec) })
        .collect();
    let total = holdings.iter().filter_map(|held| Some(held.amount * held.price?)).sum();
    Point { t, currency: "mxn".into(), usd_rate: Some(dec("0.05")), total, holdings }
}

fn chunk_of(points: &[Point]) -> String {
    let mut text: Option<String> = None;
    for point in points {
        text = Some(append(text.as_deref(), point.clone()).unwrap_or_else(|e| panic!("{e}")));
    }
    text.unwrap_or_default()
}

#[test]
fn a_chunk_round_trips_exactly_and_stores_amounts_only_when_they_change() {
    let points = [
        point(T0, &[("btc", "0.5", Some("1750000.5")), ("xyz", "3", None)]),
        point(T0 + 5 * MINUTE, &[("btc", "0.5", Some("1750100")), ("xyz", "3", None)]),
        point(T0 + 10 * MINUTE, &[("btc", "0.75", Some("1750200")), ("eth", "1", Some("60000"))]),
    ];
    let text = chunk_of(&points);
    assert_eq!(decode(&text).unwrap_or_default(), points);
    assert_eq!(
        text,
        concat!(
            r#"{"v":1,"assets":["btc","eth","xyz"],"points":["#,
            r#"[1795000000000,"mxn","0.05","875000.25",["1750000.5"],["0.5",null,"3"]],"#,
            r#"[1795000300000,"mxn","0.05","875050",["1750100"],0],"#,
            r#"[1795000600000,"mxn","0.05","1372650",["1750200","60000"],["0.75","1"]]]}"#
        )
    );
}

#[test]
fn points_come_from_stored_snapshots() {
    let snapshot = r#"{"quote":"mxn","total":"910000.5","updatedAt":1795000000000,"usdRate":"0.0579710144927536231884057971",
      "assets":[{"asset":"btc","total":"0.52","available":"0.52","locked":"0","earning":"0","price":"1750000.961538461538461538461538",
        "value":"910000.5","share":"100","change24h":null,"route":["bitso:btc_mxn"]}],
      "unpriced":[{"asset":"xyz","total":"77.7","available":"77.7","locked":"0"}],"accounts":[]}"#;
    let point = Point::of(&serde_json::from_str(snapshot).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(point.t, 1_795_000_000_000);
    assert_eq!(point.usd_rate, Some(dec("0.0579710144928")), "rates keep 12 significant digits");
    assert_eq!(point.holdings[0], Held { asset: "btc".into(), amount: dec("0.52"), price: Some(dec("1750000.96154")) });
    assert_eq!(point.holdings[1], Held { asset: "xyz".into(), amount: dec("77.7"), price: None });
}

#[test]
fn day_keys_are_utc_dates() {
    assert_eq!(Series::all().day_key(0), "hist:d:1970-01-01");
    assert_eq!(Series::all().day_key(T0), "hist:d:2026-11-18");
    assert_eq!(Series::all().day_key(1_835_395_199_999), "hist:d:2028-02-28");
    assert_eq!(Series::all().day_key(1_835_395_200_000), "hist:d:2028-02-29");
    assert_eq!(Series::all().month_key(1_835_395_200_000), "hist:m:2028-02");
    assert_eq!(iso_time(T0), "2026-11-18T11:06:40Z");
}

#[test]
fn each_portfolio_has_its_own_series_beside_all_of_them() {
    let home = Series::portfolio("home-2").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(home.day_key(T0), "hist:p:home-2:d:2026-11-18");
    assert_eq!(home.month_key(T0), "hist:p:home-2:m:2026-11");
    for bad in ["", "Home", "a:b", "a b", &"x".repeat(41)] {
        assert_eq!(Series::portfolio(bad), Err(Error::InvalidInput { field: "portfolio" }), "{bad:?}");
    }
    let mut chunks = Chunks::new();
    chunks.insert(Series::all().day_key(T0), chunk_of(&[point(T0, &[("btc", "2", Some("1"))])]));
    chunks.insert(home.day_key(T0 + 1), chunk_of(&[point(T0 + 1, &[("btc", "1", Some("1"))])]));
    let everything = load(&Series::all(), &chunks);
    let only_home = load(&home, &chunks);
    assert_eq!((everything.len(), everything[0].t), (1, T0));
    assert_eq!((only_home.len(), only_home[0].t), (1, T0 + 1));
    // Compaction of one series never touches the other's chunks.
    let later = T0 + 40 * DAY_MS;
    let compaction = compact(&home, &chunks, later);
    assert_eq!(compaction.remove, vec![home.day_key(T0 + 1)]);
    assert!(compaction.write.keys().all(|key| home.owns(key) && !Series::all().owns(key)));
}

/// Runs a simulated stretch of syncs every `every` ms from `start` to `end`, storing each point in
/// its day chunk and compacting once an hour, as the background does; returns the stored chunks.
fn simulate(start: u64, end: u64, every: u64, assets: usize) -> Chunks {
    let mut chunks: Chunks = Chunks::new();
    let mut t = start;
    let mut last_compaction = start;
    let mut step = 0u64;
    while t <= end {
        let holdings: Vec<(String, String, Option<String>)> = (0..assets)
            .map(|i| {
                // Amounts change now and then; prices every time.
                let amount = format!("{}.{:08}", 1 + i, (step / 288) % 100_000_000);
                let price = format!("{}.{:02}", 1_000 + (step * 7 + i as u64 * 13) % 90_000, step % 100);
                (format!("asset{i:02}"), amount, Some(price))
            })
            .collect();
        let borrowed: Vec<(&str, &str, Option<&str>)> =
            holdings.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_deref())).collect();
        let point = point(t, &borrowed);
        let key = Series::all().day_key(t);
        let text = append(chunks.get(&key).map(String::as_str), point).unwrap_or_else(|e| panic!("{e}"));
        chunks.insert(key, text);
        if t - last_compaction >= 3_600_000 {
            let changes = compact(&Series::all(), &chunks, t);
            for key in &changes.remove {
                chunks.remove(key);
            }
            chunks.extend(changes.write);
            last_compaction = t;
        }
        t += every;
        step += 1;
    }
    chunks
}

#[test]
fn tiers_keep_every_point_for_48_hours_hourly_for_30_days_then_daily() {
    let end = T0 + 40 * DAY_MS;
    let chunks = simulate(T0, end, 5 * MINUTE, 3);
    let points = load(&Series::all(), &chunks);
    let age = |point: &Point| end - point.t;
    let raw = points.iter().filter(|p| age(p) <= RAW_FOR_MS).count();
    let hourly = points.iter().filter(|p| age(p) > RAW_FOR_MS + HOUR_MS && age(p) <= HOURLY_FOR_MS - DAY_MS).count();
    let daily = points.iter().filter(|p| age(p) > HOURLY_FOR_MS + DAY_MS).count();
    assert!((570..=580).contains(&raw), "{raw} points in the last 48 h (every 5 minutes)");
    // Between 49 h and 29 days: one per hour.
    assert!((640..=700).contains(&hourly), "{hourly} hourly points");
    assert!((8..=10).contains(&daily), "{daily} daily points beyond 31 days");
    assert!(chunks.keys().any(|key| key.starts_with("hist:m:")), "old days fold into months");
    assert!(chunks.keys().filter(|key| key.starts_with("hist:d:")).count() <= 32);
    // Strictly increasing times, no duplicates.
    assert!(points.windows(2).all(|pair| pair[0].t < pair[1].t));
}

/// The budget: two years of syncs of 50 assets stay within 2 MiB of JSON. What remains after
/// compaction is the same whether the syncs were every 5 minutes or every hour, except for the last
/// 48 hours; so the first 700 days sync daily (one point a day is what the daily tier keeps), the
/// next 27 hourly (the hourly tier), and the last 3 every 5 minutes (every point kept), which keeps
/// the test quick in a debug build.
#[test]
fn two_years_of_syncs_at_fifty_assets_fit_the_budget() {
    let start = T0 + 700 * DAY_MS;
    let mut chunks = simulate(start, start + 27 * DAY_MS, 60 * MINUTE, 50);
    let last = simulate(start + 27 * DAY_MS + 5 * MINUTE, start + 30 * DAY_MS, 5 * MINUTE, 50);
    chunks.extend(last);
    let mut t = T0;
    let end = start - DAY_MS;
    while t <= end {
        let holdings: Vec<(String, String, Option<String>)> =
            (0..50).map(|i| (format!("asset{i:02}"), format!("{}.12345678", i + 1), Some(format!("{}.25", 10_000 + i * 37 + (t / DAY_MS) % 1000)))).collect();
        let borrowed: Vec<(&str, &str, Option<&str>)> = holdings.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_deref())).collect();
        let key = Series::all().day_key(t);
        let text = append(chunks.get(&key).map(String::as_str), point(t, &borrowed)).unwrap_or_else(|e| panic!("{e}"));
        chunks.insert(key, text);
        let changes = compact(&Series::all(), &chunks, t);
        for key in &changes.remove {
            chunks.remove(key);
        }
        chunks.extend(changes.write);
        t += DAY_MS;
    }
    let changes = compact(&Series::all(), &chunks, start + 30 * DAY_MS);
    for key in &changes.remove {
        chunks.remove(key);
    }
    chunks.extend(changes.write);
    let bytes: usize = chunks.iter().map(|(key, text)| key.len() + text.len()).sum();
    println!("history after two years at 50 assets: {bytes} bytes in {} keys, {} points", chunks.len(), load(&Series::all(), &chunks).len());
    assert!(bytes <= 2 * 1024 * 1024, "{bytes} bytes for two years");
    assert!(load(&Series::all(), &chunks).len() > 700);
}

fn series(points: &[Point]) -> Vec<Point> {
    points.to_vec()
}

/// Constructed to the cent: a price rise, a deposit, a trade with a fee, a crash, a withdrawal.
#[test]
fn market_pnl_and_flows_are_apart_to_the_cent() {
    let h = 3_600_000;
    let points = series(&[
        point(T0, &[("btc", "1", Some("100000.00"))]),                                            // 100,000
        point(T0 + h, &[("btc", "1", Some("110000.00"))]),                                        // price +10,000
        point(T0 + 2 * h, &[("btc", "1", Some("110000.00")), ("mxn", "50000.00", Some("1"))]),   // deposit 50,000
        point(T0 + 3 * h, &[("btc", "0.5", Some("110000.00")), ("mxn", "104950.00", Some("1"))]), // sold 0.5, fee 50
        point(T0 + 4 * h, &[("btc", "0.5", Some("55000.00")), ("mxn", "104950.00", Some("1"))]),  // crash −27,500
        point(T0 + 5 * h, &[("btc", "0.5", Some("55000.00")), ("mxn", "4950.00", Some("1"))]),    // withdrew 100,000
    ]);
    let view = view(&points, "mxn", T0 + 5 * h, None);
    let all = &view.ranges[&"all"];
    assert_eq!(all.start, Some(dec("100000")));
    assert_eq!(all.end, Some(dec("32450")));
    assert_eq!(all.change, Some(dec("-67550")));
    assert_eq!(all.market.map(|d| d.normalize()), Some(dec("-17500")), "+10,000 then −27,500");
    assert_eq!(all.flows.map(|d| d.normalize()), Some(dec("-50050")), "+50,000 −50 fee −100,000");
    assert_eq!(all.change_percent, Some(dec("-67.55")));
    assert_eq!(all.basis, "history");
}

#[test]
fn the_24_hour_range_uses_the_exchanges_until_a_day_of_history_exists() {
    let points = [point(T0, &[("btc", "1", Some("100"))]), point(T0 + 3_600_000, &[("btc", "1", Some("110"))])];
    let day = DayBefore { total: dec("110"), change_percent: dec("10") };
    let young = view(&points, "mxn", T0 + 3_600_000, Some(day));
    let range = &young.ranges[&"24h"];
    assert_eq!(range.basis, "exchanges");
    assert_eq!(range.start, Some(dec("100")));
    assert_eq!(range.market, Some(dec("10")));
    assert_eq!(range.flows, None, "flows cannot be told from the exchanges' figures");
    // A day later the history speaks for itself.
    let mut longer = points.to_vec();
    longer.push(point(T0 + DAY_MS + 3_600_000, &[("btc", "1", Some("120"))]));
    let old = view(&longer, "mxn", T0 + DAY_MS + 3_600_000, Some(day));
    assert_eq!(old.ranges[&"24h"].basis, "history");
    assert_eq!(old.ranges[&"24h"].start, Some(dec("110")));
}

#[test]
fn another_display_currency_shows_what_the_rates_allow_and_says_so() {
    let mut in_mxn = point(T0, &[("btc", "1", Some("2000000"))]);
    in_mxn.usd_rate = Some(dec("0.05"));
    let mut in_brl = point(T0 + 3_600_000, &[("btc", "1", Some("600000"))]);
    in_brl.currency = "brl".into();
    in_brl.usd_rate = Some(dec("0.17"));
    let mut in_usd = point(T0 + 7_200_000, &[("btc", "1", Some("100000"))]);
    in_usd.currency = "usd".into();
    in_usd.usd_rate = Some(dec("1"));
    let points = [in_mxn, in_brl, in_usd];
    let usd = view(&points, "usd", T0 + 7_200_000, None);
    let all = &usd.ranges[&"all"];
    assert_eq!(all.start, Some(dec("100000")), "2,000,000 MXN × 0.05");
    assert_eq!(all.points.iter().filter(|(_, v, _)| v.is_some()).count(), 3, "every point converts to dollars");
    assert_eq!(usd.unconverted_before, None);
    let mxn = view(&points, "mxn", T0 + 7_200_000, None);
    assert_eq!(mxn.ranges[&"all"].points.len(), 1, "only the peso point shows in pesos");
    assert_eq!(mxn.unconverted_before, Some(T0 + 7_200_000));
}

#[test]
fn gaps_stay_gaps_and_charts_stay_small() {
    // Two stretches of 5-minute points with a 6-hour hole between them.
    let mut points: Vec<Point> = (0..12).map(|i| point(T0 + i * 5 * MINUTE, &[("btc", "1", Some("100"))])).collect();
    points.extend((0..12).map(|i| point(T0 + 7 * 3_600_000 + i * 5 * MINUTE, &[("btc", "1", Some("101"))])));
    let range = &view(&points, "mxn", T0 + 8 * 3_600_000, None).ranges[&"24h"];
    let gaps = range.points.iter().filter(|(_, value, _)| value.is_none()).count();
    assert_eq!(gaps, 1);
    // Heights run from the lowest value (0) to the highest (1000).
    let heights: Vec<u32> = range.points.iter().filter_map(|(_, _, y)| *y).collect();
    assert_eq!((heights.iter().min(), heights.iter().max()), (Some(&0), Some(&CHART_HEIGHT)));
    // A year of hourly points is drawn with at most CHART_POINTS points.
    let many: Vec<Point> = (0..8760).map(|i| point(T0 + i * 3_600_000, &[("btc", "1", Some("100"))])).collect();
    let year = &view(&many, "mxn", T0 + 8760 * 3_600_000, None).ranges[&"all"];
    assert!(year.points.len() <= CHART_POINTS + 8, "{}", year.points.len());
    assert_eq!(year.points.first().map(|p| p.0), Some(T0), "the line starts at the first point");
    assert!(year.points.iter().all(|(_, _, y)| *y == Some(CHART_HEIGHT / 2)), "a flat line sits in the middle");
    assert_eq!(year.points.last().map(|p| p.0), Some(T0 + 8759 * 3_600_000), "and ends at the last");
}

#[test]
fn one_assets_history() {
    let points = [
        point(T0, &[("btc", "1", Some("100"))]),
        point(T0 + 3_600_000, &[("btc", "2", Some("100")), ("xyz", "1", None)]),
        point(T0 + 7_200_000, &[("eth", "1", Some("5"))]),
    ];
    let btc = asset_series(&points, "btc", "mxn", 0);
    assert_eq!(
        btc,
        vec![
            (T0, Some("100".into()), Some(500), "1".into()),
            (T0 + 3_600_000, Some("200".into()), Some(1000), "2".into()),
            (T0 + 7_200_000, Some("0".into()), Some(0), "0".into()),
        ]
    );
    let xyz = asset_series(&points, "xyz", "mxn", T0 + 1);
    assert_eq!(xyz[0], (T0 + 3_600_000, None, None, "1".into()), "held but unpriced: no value");
}

#[test]
fn the_csv_has_holdings_then_history_with_header_rows() {
    let balance = |currency: &str, amount: &str| format!(r#"{{"currency":"{currency}","total":"{amount}","available":"{amount}","locked":"0"}}"#);
    let account = |id: &str, label: &str, exchange: &str, balances: &[String]| {
        format!(r#"{{"id":"{id}","label":{label},"exchange":{exchange},"total":"0","balances":[{}]}}"#, balances.join(","))
    };
    let snapshot = format!(
        r#"{{"quote":"mxn","total":"125","updatedAt":1,"assets":[{{"asset":"btc","total":"1","available":"1","locked":"0","earning":"0",
          "price":"100","value":"100","share":"100","change24h":null,"route":[]}}],"accounts":[{},{},{}]}}"#,
        account("a", r#""Main, \"old\"""#, r#""bitso""#, &[balance("btc", "0.5"), balance("xyz", "2")]),
        account("b", r#""=cmd""#, r#""kraken""#, &[balance("btc", "0.5")]),
        account("manual-main", r#""Manual""#, "null", &[balance("btc", "0.25")]),
    );
    let snapshot: Snapshot = serde_json::from_str(&snapshot).unwrap_or_else(|e| panic!("{e}: {snapshot}"));
    let points = [point(T0, &[("btc", "1", Some("100")), ("xyz", "2", None)])];
    let text = csv(&snapshot, &points, "mxn");
    assert_eq!(
        text,
        concat!(
            "asset,account,exchange,amount,price_MXN,value_MXN\r\n",
            "btc,\"Main, \"\"old\"\"\",bitso,0.5,100,50\r\n",
            "xyz,\"Main, \"\"old\"\"\",bitso,2,,\r\n",
            "btc,'=cmd,kraken,0.5,100,50\r\n",
            "btc,Manual,manual,0.25,100,25\r\n",
            "\r\n",
            "time,total_MXN,btc_amount,btc_value_MXN,xyz_amount,xyz_value_MXN\r\n",
            "2026-11-18T11:06:40Z,100,1,100,2,\r\n",
        )
    );
}

#[test]
fn a_damaged_chunk_is_refused_and_skipped() {
    assert!(decode("{}").is_err());
    assert!(decode(r#"{"v":2,"assets":[],"points":[]}"#).is_err());
    assert!(append(Some("not json"), point(T0, &[])).is_err());
    let good = r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",["2"],["0.5"]],[1795000060000,"mxn",null,"1",[null],0]]}"#;
    let read = decode(good).unwrap_or_default();
    assert_eq!(read.iter().map(|p| (p.holdings[0].amount, p.holdings[0].price)).collect::<Vec<_>>(), [(dec("0.5"), Some(dec("2"))), (dec("0.5"), None)]);
    for damaged in [
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",["2"],["0.5"],7]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",["2"]]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",["2"],256]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",["2"],["5e-1"]]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,"1",[2],["0.5"]]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[1795000000000,"mxn",null,1,["2"],["0.5"]]]}"#,
        r#"{"v":1,"assets":["btc"],"points":[[-1,"mxn",null,"1",["2"],["0.5"]]]}"#,
        r#"{"v":1,"assets":[1],"points":[]}"#,
        r#"{"v":1,"points":[]}"#,
        r#"{"v":"1","assets":[],"points":[]}"#,
    ] {
        assert_eq!(decode(damaged), Err(corrupt()), "{damaged}");
    }
    let mut chunks = Chunks::new();
    chunks.insert(Series::all().day_key(T0), "garbage".to_owned());
    chunks.insert(Series::all().day_key(T0 + DAY_MS), chunk_of(&[point(T0 + DAY_MS, &[("btc", "1", Some("1"))])]));
    assert_eq!(load(&Series::all(), &chunks).len(), 1);
    assert_eq!(compact(&Series::all(), &chunks, T0 + DAY_MS), Compaction::default(), "nothing to do, and the damaged one is left alone");
}

proptest::proptest! {
    #[test]
    fn chunk_parser_never_panics(text in ".{0,400}") {
        let _ = decode(&text);
    }

    #[test]
    fn chunk_parser_never_panics_on_chunk_shaped_json(
        times in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..6),
        cells in proptest::collection::vec(proptest::option::of("[0-9.e-]{0,6}"), 0..6),
    ) {
        let points: Vec<serde_json::Value> = times.iter().map(|t| serde_json::json!([t, "mxn", null, "1", cells, cells])).collect();
        let text = serde_json::json!({"v": 1, "assets": ["a", "b", "c"], "points": points}).to_string();
        let _ = decode(&text);
    }
}

/// Every chunk version 0.1.0 stored (`tests/e2e/upgrade/storage-0.1.0.json`) reads, and writes
/// back byte for byte.
#[test]
fn chunks_of_version_0_1_0_read_and_write_back_as_they_were() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/upgrade/storage-0.1.0.json");
    let recorded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or_default();
    let chunks: Vec<(&String, &str)> = recorded["local"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(KEY_PREFIX))
        .filter_map(|(key, text)| Some((key, text.as_str()?)))
        .collect();
    assert!(chunks.len() >= 3, "all portfolios together and each of two");
    for (key, text) in chunks {
        let points = decode(text).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(!points.is_empty(), "{key}");
        assert_eq!(encode(&points), text, "{key}");
    }
}

/// A snapshot of `holdings` (asset, amount, price in MXN) at `t`.
fn snapshot_at(t: u64, holdings: &[(&str, &str, &str)]) -> Snapshot {
    let assets: Vec<serde_json::Value> = holdings
        .iter()
        .map(|(asset, amount, price)| {
            serde_json::json!({ "asset": asset, "total": amount, "available": amount, "locked": "0", "earning": "0", "price": price,
                "value": "0", "share": "0", "change24h": null, "route": [] })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "quote": "mxn", "total": "1", "updatedAt": t, "assets": assets }))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Years of syncs by an account whose amounts change at every point (Earn accruing), recorded
/// with a small budget: after every sync the stored history fits it, the oldest data is what
/// went, and the recent tiers are whole.
#[test]
fn years_of_accruing_history_stay_within_the_budget() {
    const BUDGET: usize = 60_000;
    let mut chunks = Chunks::new();
    let holdings: Vec<String> = (0..20).map(|i| format!("asset{i:02}")).collect();
    let mut t = T0;
    let end = T0 + 3 * 365 * DAY_MS;
    let mut step = 0u64;
    while t <= end {
        // Daily syncs for three years (the daily tier), each amount a little larger every time.
        let rows: Vec<(String, String, String)> =
            holdings.iter().enumerate().map(|(i, asset)| (asset.clone(), format!("{}.{:08}", i + 1, step), format!("{}", 1_000 + i))).collect();
        let borrowed: Vec<(&str, &str, &str)> = rows.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
        let snapshot = snapshot_at(t, &borrowed);
        let recorded = record(&chunks, &[("", &snapshot)], t, true, BUDGET).unwrap_or_else(|e| panic!("{e}"));
        for key in &recorded.prune.remove {
            chunks.remove(key);
        }
        chunks.extend(recorded.prune.write);
        chunks.extend(recorded.append);
        assert!(history_bytes(&chunks) <= BUDGET, "{} bytes after {step} days", history_bytes(&chunks));
        t += DAY_MS;
        step += 1;
    }
    let points = load(&Series::all(), &chunks);
    assert_eq!(points.last().map(|p| p.t), Some(T0 + step.saturating_sub(1) * DAY_MS), "the newest point is kept");
    // The last 30 days are whole; what went is the oldest.
    let recent = points.iter().filter(|p| end - p.t < 30 * DAY_MS).count();
    assert!(recent >= 29, "{recent} points in the last 30 days");
    assert!(points.first().is_some_and(|first| first.t > T0 + 365 * DAY_MS), "the first year went first");
}

#[test]
fn the_budget_leaves_headroom_for_everything_else() {
    const QUOTA: usize = 10_485_760;
    assert_eq!(budget(QUOTA, 0, 0), MAX_BYTES);
    // 6 MiB of other data: history may take what leaves 1 MiB free.
    assert_eq!(budget(QUOTA, 6 * 1024 * 1024 + 100, 100), QUOTA - HEADROOM_BYTES - 6 * 1024 * 1024);
    assert_eq!(budget(QUOTA, QUOTA, 0), 0, "nothing left for history when the rest fills storage");
    assert_eq!(stored_bytes("hist:d:2026-12-06", r#"{"v":1}"#), 17 + 7 + 2 + 2, "key, text, quotes escaped, and the string's quotes");
}

#[test]
fn an_unreadable_chunk_is_set_aside_not_written_over() {
    let mut chunks = Chunks::new();
    let key = Series::all().day_key(T0);
    chunks.insert(key.clone(), "written by something else".to_owned());
    let snapshot = snapshot_at(T0, &[("btc", "1", "100")]);
    let recorded = record(&chunks, &[("", &snapshot)], T0, false, MAX_BYTES).unwrap_or_else(|e| panic!("{e}"));
    let aside = key.replacen("hist:", "hist:x:", 1);
    assert_eq!(recorded.prune.write.get(&aside).map(String::as_str), Some("written by something else"));
    assert!(recorded.append.contains_key(&key), "today's point is recorded anew");
    assert!(!Series::all().owns(&aside), "what is set aside belongs to no series");
    // A month that cannot be read is set aside before compaction folds days into it.
    let mut chunks = Chunks::new();
    let month = Series::all().month_key(T0);
    chunks.insert(month.clone(), "{broken".to_owned());
    chunks.insert(Series::all().day_key(T0), chunk_of(&[point(T0, &[("btc", "1", Some("1"))])]));
    let later = T0 + 40 * DAY_MS;
    let recorded = record(&chunks, &[("", &snapshot_at(later, &[("btc", "1", "1")]))], later, true, MAX_BYTES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recorded.prune.write.get(&month.replacen("hist:", "hist:x:", 1)).map(String::as_str), Some("{broken"));
    assert!(recorded.prune.write.get(&month).is_some_and(|text| decode(text).is_ok()), "the month is written anew");
}

#[test]
fn with_one_portfolio_its_series_is_the_series_of_all() {
    let home = Series::portfolio("main").unwrap_or_else(|e| panic!("{e}"));
    let mut chunks = Chunks::new();
    chunks.insert(home.day_key(T0 - DAY_MS), chunk_of(&[point(T0 - DAY_MS, &[("btc", "1", Some("1"))])]));
    let snapshot = snapshot_at(T0, &[("btc", "1", "100")]);
    let recorded = record(&chunks, &[("", &snapshot), ("main", &snapshot)], T0, false, MAX_BYTES).unwrap_or_else(|e| panic!("{e}"));
    assert!(recorded.append.keys().all(|key| Series::all().owns(key)), "one series recorded: {:?}", recorded.append.keys());
    assert_eq!(recorded.prune.remove, [home.day_key(T0 - DAY_MS)], "the duplicate series goes");
    assert_eq!(recorded.views.get("main"), recorded.views.get(""), "the portfolio shows the series of all");
    // With two, each has its own.
    let recorded = record(&Chunks::new(), &[("", &snapshot), ("main", &snapshot), ("work", &snapshot)], T0, false, MAX_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recorded.append.len(), 3);
}

#[test]
fn prune_makes_room_from_the_oldest() {
    let mut chunks = Chunks::new();
    for day in 0..10 {
        let t = T0 + day * DAY_MS;
        chunks.insert(Series::all().day_key(t), chunk_of(&[point(t, &[("btc", "1", Some("1"))])]));
    }
    let each = history_bytes(&chunks) / 10;
    let changes = prune(&chunks, 4 * each + each / 2);
    assert_eq!(changes.remove.len(), 6);
    assert!(changes.remove.iter().all(|key| key.as_str() < Series::all().day_key(T0 + 6 * DAY_MS).as_str()), "{:?}", changes.remove);
    assert_eq!(prune(&chunks, usize::MAX), Changes::default());
}
