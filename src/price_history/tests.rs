use super::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn ticker(book: &str, base: &str, quote: &str, last: &str) -> Ticker {
    Ticker { book: book.to_owned(), base: base.to_owned(), quote: quote.to_owned(), last: dec(last), volume: dec("100"), change_24h: None, created_at: None }
}

fn tickers() -> Vec<Ticker> {
    vec![
        ticker("bitso:btc_mxn", "btc", "mxn", "2000000"),
        ticker("bitso:usd_mxn", "usd", "mxn", "17"),
        ticker("kraken:SOLUSD", "sol", "usd", "150"),
        ticker("bitso:mxn_ars", "mxn", "ars", "50"),
    ]
}

fn series(from: u64, closes: &[&str]) -> Series {
    Series { v: FORMAT, from, closes: closes.iter().map(|c| if c.is_empty() { None } else { Some(Close(dec(c))) }).collect() }
}

#[test]
fn routes_follow_todays_books_in_their_direction() {
    let assets = ["btc", "sol", "ars", "kfee", "nothing"].map(str::to_owned);
    let routes = routes("mxn", &tickers(), &assets);
    assert_eq!(routes.assets["btc"], [Hop { book: "bitso:btc_mxn".into(), inverse: false }]);
    assert_eq!(
        routes.assets["sol"],
        [Hop { book: "kraken:SOLUSD".into(), inverse: false }, Hop { book: "bitso:usd_mxn".into(), inverse: false }]
    );
    assert_eq!(routes.assets["ars"], [Hop { book: "bitso:mxn_ars".into(), inverse: true }]);
    assert!(routes.assets.contains_key("usd"), "fee credits are priced through the dollar");
    assert!(!routes.assets.contains_key("nothing"));
}

#[test]
fn a_past_price_multiplies_each_days_closes_along_the_route() {
    let routes = routes("mxn", &tickers(), &["sol".to_owned(), "ars".to_owned(), "kfee".to_owned()]);
    let stored = BTreeMap::from([
        ("kraken:SOLUSD".to_owned(), series(100, &["20", "21", ""])),
        ("bitso:usd_mxn".to_owned(), series(99, &["19", "20", "", "18"])),
        ("bitso:mxn_ars".to_owned(), series(100, &["4"])),
    ]);
    let book = PriceBook::new(&routes, &stored);
    let day = |d: u64| d * crate::calendar::DAY_MS + 3_600_000;
    assert_eq!(book.price_at("sol", day(100)), Some(dec("400")));
    // Day 101: SOL 21, USD/MXN missing, so day 100's 20.
    assert_eq!(book.price_at("sol", day(101)), Some(dec("420")));
    assert_eq!(book.price_at("ars", day(100)), Some(dec("0.25")));
    assert_eq!(book.price_at("mxn", day(5)), Some(Decimal::ONE));
    assert_eq!(book.price_at("kfee", day(100)), Some(dec("0.2")));
    // Before any close, or more than a week after the last: unknown.
    assert_eq!(book.price_at("sol", day(98)), None);
    assert_eq!(book.price_at("sol", day(120)), None);
}

#[test]
fn series_merge_and_say_what_is_missing() {
    let mut stored = Series::default();
    assert_eq!(missing(None, 10, 20), [(10, 20)]);
    stored.merge(10, 20, &[DailyClose { day: 10, close: dec("1") }, DailyClose { day: 20, close: dec("2") }, DailyClose { day: 30, close: dec("9") }]);
    assert_eq!((stored.from, stored.to()), (10, Some(20)));
    assert_eq!(missing(Some(&stored), 10, 20), []);
    assert_eq!(missing(Some(&stored), 5, 25), [(5, 9), (21, 25)]);
    stored.merge(21, 25, &[DailyClose { day: 25, close: dec("3") }]);
    stored.merge(5, 9, &[DailyClose { day: 5, close: dec("0.5") }]);
    assert_eq!((stored.from, stored.to()), (5, Some(25)));
    assert_eq!(stored.close(5), Some(dec("0.5")));
    assert_eq!(stored.close(26), Some(dec("3")), "borrowed from the day before");
    let text = stored.write();
    assert!(text.starts_with(r#"{"v":1,"from":5,"closes":["0.5",null,"#), "{text}");
    assert_eq!(Series::read(&text), Ok(stored));
    assert!(Series::read(r#"{"v":2,"from":1,"closes":[]}"#).is_err());
    assert!(Series::read(r#"{"v":1,"from":1,"closes":[1.5]}"#).is_err());
}

proptest::proptest! {
    #[test]
    fn reading_never_panics(text in "\\PC{0,200}") {
        let _ = Series::read(&text);
    }

    #[test]
    fn merging_never_panics(
        from in 0u64..20_000, span in 0u64..400, days in proptest::collection::vec((0u64..20_500, 1u32..100_000), 0..50),
        again in 0u64..20_000, again_span in 0u64..400,
    ) {
        let closes: Vec<DailyClose> = days.into_iter().map(|(day, close)| DailyClose { day, close: Decimal::from(close) }).collect();
        let mut stored = Series::default();
        stored.merge(from, from + span, &closes);
        stored.merge(again, again + again_span, &closes);
        proptest::prop_assert!(stored.closes.len() <= MAX_DAYS);
        for day in from..=from + span {
            let _ = stored.close(day);
        }
    }
}
