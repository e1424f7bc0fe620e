use super::*;
use crate::valuation::test_support::dec;

type States = BTreeMap<String, AlertState>;

fn read(text: &str) -> Result<Alert, serde_json::Error> {
    serde_json::from_str(text)
}

const T0: u64 = 1_795_000_000_000;
const MINUTE: u64 = 60_000;

fn observed(btc: Option<&str>, total: &str, change: Option<&str>) -> Observed {
    Observed {
        quote: "mxn".into(),
        total: dec(total),
        assets: btc
            .map(|price| ObservedAsset { asset: "btc".into(), price: dec(price), change24h: change.map(dec) })
            .into_iter()
            .collect(),
        accounts: Vec::new(),
    }
}

fn alert(id: &str, condition: Condition) -> Alert {
    Alert { id: id.into(), condition, currency: "mxn".into(), paused: false }
}

fn above(threshold: &str) -> Alert {
    alert("a1", Condition::PriceAbove { asset: "btc".into(), threshold: dec(threshold) })
}

/// Runs `alerts` over a series of (minutes after T0, btc price) and returns the minutes at
/// which something fired.
fn fired_at(alerts: &[Alert], series: &[(u64, Option<&str>)]) -> Vec<u64> {
    let mut states = States::new();
    let mut fired = Vec::new();
    for &(minute, price) in series {
        if !evaluate(alerts, &mut states, &observed(price, "1000", Some("0")), T0 + minute * MINUTE).is_empty() {
            fired.push(minute);
        }
    }
    fired
}

#[test]
fn crossing_up_fires_once_then_rearms_past_the_margin() {
    let alerts = [above("2000000")];
    let series = [
        (0, Some("1990000")),  // below: nothing
        (15, Some("2000000")), // reaches it: fires
        (30, Some("2050000")), // still above: quiet
        (45, Some("1995000")), // back below, but within 1 %: still disarmed
        (60, Some("2001000")), // above again: quiet, never re-armed
        (75, Some("1980000")), // 1 % below: re-armed
        (90, Some("2000000")), // fires again
    ];
    assert_eq!(fired_at(&alerts, &series), vec![15, 90]);
}

#[test]
fn crossing_down_and_totals() {
    let below = alert("b", Condition::PriceBelow { asset: "btc".into(), threshold: dec("100") });
    assert_eq!(
        fired_at(&[below], &[(0, Some("101")), (15, Some("100")), (30, Some("100.5")), (45, Some("101")), (60, Some("99"))]),
        vec![15, 60]
    );
    let total = alert("t", Condition::TotalAbove { threshold: dec("999") });
    let mut states = States::new();
    assert_eq!(evaluate(std::slice::from_ref(&total), &mut states, &observed(None, "1000", None), T0).len(), 1);
    assert!(evaluate(&[total], &mut states, &observed(None, "1000", None), T0 + 20 * MINUTE).is_empty());
    let total_below = alert("tb", Condition::TotalBelow { threshold: dec("999") });
    assert!(evaluate(&[total_below], &mut States::new(), &observed(None, "1000", None), T0).is_empty());
}

#[test]
fn never_more_often_than_the_cooldown() {
    let alerts = [above("100")];
    // Re-armed within 5 minutes, above again at 10: the cooldown holds it until 15.
    let series = [(0, Some("100")), (5, Some("90")), (10, Some("110")), (14, Some("110")), (15, Some("110"))];
    assert_eq!(fired_at(&alerts, &series), vec![0, 15]);
}

#[test]
fn paused_missing_prices_and_other_currencies_stay_pending() {
    let mut paused = above("100");
    paused.paused = true;
    assert!(fired_at(&[paused], &[(0, Some("150"))]).is_empty());

    // No price for btc: nothing fires and nothing changes; the price comes back above: fires.
    let alerts = [above("100")];
    assert_eq!(fired_at(&alerts, &[(0, None), (15, None), (30, Some("150"))]), vec![30]);

    // The display currency changed: an alert in pesos is not judged on dollar prices.
    let mut states = States::new();
    let mut in_usd = observed(Some("150"), "1", None);
    in_usd.quote = "usd".into();
    assert!(evaluate(&alerts, &mut states, &in_usd, T0).is_empty());
    assert_eq!(states.get("a1"), Some(&AlertState { armed: true, last_fired_at: None, failing: Vec::new() }));
    assert_eq!(evaluate(&alerts, &mut states, &observed(Some("150"), "1", None), T0).len(), 1);
}

#[test]
fn moves_over_24_hours_up_or_down() {
    let alerts = [alert("m", Condition::Move24h { asset: "btc".into(), percent: dec("5") })];
    let mut states = States::new();
    let run = |states: &mut States, change: &str, minute: u64| {
        evaluate(&alerts, states, &observed(Some("1"), "1", Some(change)), T0 + minute * MINUTE)
    };
    assert!(run(&mut states, "4.99", 0).is_empty());
    let fired = run(&mut states, "-5.10", 15);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].value, Some(dec("-5.10")));
    assert!(run(&mut states, "6", 30).is_empty(), "still moving: quiet");
    assert!(run(&mut states, "4.96", 45).is_empty(), "within the margin: still disarmed");
    assert!(run(&mut states, "4.95", 60).is_empty(), "re-armed");
    assert_eq!(run(&mut states, "5", 75).len(), 1);
}

#[test]
fn an_account_that_stops_working_is_reported_once_per_change() {
    let alerts = [alert("acc", Condition::AccountFailing)];
    let mut states = States::new();
    let with = |code: Option<ErrorCode>| {
        let mut o = observed(Some("1"), "1", None);
        o.accounts = vec![
            ObservedAccount { id: "k1".into(), error: code },
            ObservedAccount { id: "k2".into(), error: None },
        ];
        o
    };
    assert!(evaluate(&alerts, &mut states, &with(None), T0).is_empty());
    let fired = evaluate(&alerts, &mut states, &with(Some(ErrorCode::InvalidCredentials)), T0 + MINUTE);
    assert_eq!(fired.len(), 1);
    assert_eq!((fired[0].account_id.as_deref(), fired[0].code), (Some("k1"), Some(ErrorCode::InvalidCredentials)));
    assert!(evaluate(&alerts, &mut states, &with(Some(ErrorCode::InvalidCredentials)), T0 + 2 * MINUTE).is_empty());
    // Passing trouble neither reports nor clears it.
    assert!(evaluate(&alerts, &mut states, &with(Some(ErrorCode::Timeout)), T0 + 3 * MINUTE).is_empty());
    assert!(evaluate(&alerts, &mut states, &with(Some(ErrorCode::MissingPermission)), T0 + 4 * MINUTE).is_empty());
    // Working again, then failing again: news again.
    assert!(evaluate(&alerts, &mut states, &with(None), T0 + 5 * MINUTE).is_empty());
    assert_eq!(evaluate(&alerts, &mut states, &with(Some(ErrorCode::MissingPermission)), T0 + 6 * MINUTE).len(), 1);
    // A timeout alone was never a failure.
    let mut fresh = States::new();
    assert!(evaluate(&alerts, &mut fresh, &with(Some(ErrorCode::Timeout)), T0).is_empty());
}

#[test]
fn states_of_deleted_alerts_are_dropped() {
    let mut states = States::new();
    evaluate(&[above("1")], &mut states, &observed(Some("2"), "1", None), T0);
    assert!(states.contains_key("a1"));
    evaluate(&[], &mut states, &observed(Some("2"), "1", None), T0);
    assert!(states.is_empty());
}

#[test]
fn alerts_are_read_and_checked_from_the_pages_json() {
    let good = read(r#"{"id":"x1","kind":"priceAbove","asset":"btc","threshold":"2000000","currency":"mxn"}"#);
    assert_eq!(good.ok().map(|a| a.condition), Some(Condition::PriceAbove { asset: "btc".into(), threshold: dec("2000000") }));
    assert!(read(r#"{"id":"x2","kind":"move24h","asset":"eth","percent":"7.5","currency":"usd","paused":true}"#).is_ok());
    assert!(read(r#"{"id":"x3","kind":"accountFailing","currency":"mxn"}"#).is_ok());
    for bad in [
        r#"{"id":"x","kind":"priceAbove","asset":"btc","threshold":"0","currency":"mxn"}"#,
        r#"{"id":"x","kind":"priceAbove","asset":"btc","threshold":"-5","currency":"mxn"}"#,
        r#"{"id":"x","kind":"priceAbove","asset":"btc","threshold":"1e3","currency":"mxn"}"#,
        r#"{"id":"x","kind":"priceAbove","asset":"BTC<","threshold":"1","currency":"mxn"}"#,
        r#"{"id":"x y","kind":"totalAbove","threshold":"1","currency":"mxn"}"#,
        r#"{"id":"x","kind":"totalAbove","threshold":"1","currency":""}"#,
        r#"{"id":"x","kind":"sometimes","currency":"mxn"}"#,
        r#"{"id":"x","kind":"move24h","asset":"btc","currency":"mxn"}"#,
        "not json",
    ] {
        assert!(read(bad).is_err(), "{bad}");
    }
    // What the kind does not take is left out when stored again.
    let extra = read(r#"{"id":"x4","kind":"accountFailing","currency":"mxn","threshold":"5","asset":"btc"}"#);
    let stored = extra.ok().and_then(|alert| serde_json::to_string(&alert).ok()).unwrap_or_default();
    assert_eq!(stored, r#"{"id":"x4","kind":"accountFailing","currency":"mxn","paused":false}"#);
}

#[test]
fn firings_and_states_round_trip_as_stored() {
    let mut states = States::new();
    let fired = evaluate(&[above("1")], &mut states, &observed(Some("2"), "1", None), T0);
    assert_eq!(serde_json::to_string(&fired).unwrap_or_default(), r#"[{"alertId":"a1","value":"2"}]"#);
    let stored = serde_json::to_string(&states).unwrap_or_default();
    assert_eq!(stored, format!(r#"{{"a1":{{"armed":false,"lastFiredAt":{T0}}}}}"#));
    let states_of = |text: &str| serde_json::from_str::<States>(text).ok();
    assert_eq!(states_of(&stored), Some(states));
    // A state missing fields (an older version's) reads as armed and never fired.
    let empty = states_of(r#"{"a1":{}}"#).unwrap_or_default();
    assert_eq!(empty.get("a1"), Some(&AlertState { armed: true, last_fired_at: None, failing: Vec::new() }));
    let failing = states_of(r#"{"a2":{"armed":true,"lastFiredAt":null,"failing":["k1"],"later":1}}"#);
    assert_eq!(failing.and_then(|states| states.get("a2").map(|state| state.failing.clone())), Some(vec!["k1".to_owned()]));
    for damaged in [r#"{"a1":{"armed":"yes"}}"#, r#"{"a1":{"lastFiredAt":-1}}"#, r#"{"a1":5}"#, "[]", "{"] {
        assert_eq!(states_of(damaged), None, "{damaged}");
    }
}

#[test]
fn stored_alerts_read_back_as_written() {
    let alerts = vec![
        above("2000000"),
        Alert { id: "m1".into(), condition: Condition::Move24h { asset: "eth".into(), percent: dec("7.5") }, currency: "usd".into(), paused: true },
        Alert { id: "f1".into(), condition: Condition::AccountFailing, currency: "mxn".into(), paused: false },
    ];
    let stored = serde_json::to_string(&alerts).unwrap_or_default();
    // Byte for byte the shape every earlier version stored (pinned).
    assert_eq!(
        stored,
        concat!(
            r#"[{"id":"a1","kind":"priceAbove","asset":"btc","threshold":"2000000","currency":"mxn","paused":false},"#,
            r#"{"id":"m1","kind":"move24h","asset":"eth","percent":"7.5","currency":"usd","paused":true},"#,
            r#"{"id":"f1","kind":"accountFailing","currency":"mxn","paused":false}]"#
        )
    );
    let list = |text: &str| serde_json::from_str::<Vec<Alert>>(text).ok();
    assert_eq!(list(&stored), Some(alerts));
    assert_eq!(list("[]"), Some(Vec::new()));
    for damaged in [r#"[{"id":"a","kind":"priceAbove","currency":"mxn"}]"#, r#"{"id":"a"}"#, r#"[{"id":"a","kind":"totalAbove","threshold":"1","currency":"mxn","paused":null}]"#] {
        assert_eq!(list(damaged), None, "{damaged}");
    }
}

#[test]
fn a_stored_snapshot_is_observed_as_written() {
    use crate::{
        exchange::{Balance, Ticker},
        exchange_id::ExchangeId,
        portfolio::{AccountBalances, build_snapshot},
        valuation::test_support::ticker,
    };
    let btc = [Balance { currency: "btc".into(), total: dec("0.5"), available: dec("0.5"), locked: Decimal::ZERO, earning: Decimal::ZERO }];
    let failing = crate::error::ErrorView::new(&Error::InvalidCredentials { exchange: ExchangeId::Kraken }, 0);
    let accounts = [
        AccountBalances { id: "k1", label: "Main", exchange: Some(ExchangeId::Bitso), balances: &btc, synced_at: Some(1), error: None },
        AccountBalances { id: "k2", label: "Kraken", exchange: Some(ExchangeId::Kraken), balances: &[], synced_at: None, error: Some(failing) },
    ];
    let tickers: Vec<Ticker> = vec![ticker("btc_mxn", "1750000.50", "25", Some("-17500.005"))];
    let snapshot = serde_json::to_string(&build_snapshot(&accounts, &tickers, "mxn", 1_000)).unwrap_or_default();
    let observe = |text: &str| serde_json::from_str::<Snapshot>(text).map(|snapshot| Observed::of(&snapshot));

    let observed = observe(&snapshot).unwrap_or_default();
    assert_eq!((observed.quote.as_str(), observed.total), ("mxn", dec("875000.25")));
    let btc = observed.assets.iter().find(|row| row.asset == "btc");
    assert_eq!(btc.map(|row| (row.price, row.change24h.is_some())), Some((dec("1750000.50"), true)));
    let errors: Vec<(&str, Option<ErrorCode>)> = observed.accounts.iter().map(|a| (a.id.as_str(), a.error)).collect();
    assert_eq!(errors, [("k1", None), ("k2", Some(ErrorCode::InvalidCredentials))]);

    assert_eq!(observe(r#"{"quote":"mxn","total":"1","updatedAt":5}"#).map(|o| o.assets.len()).ok(), Some(0), "no assets or accounts yet");
    for damaged in [r#"{"quote":"mxn","total":1}"#, r#"{"quote":"mxn","total":"1","assets":[{"asset":"btc"}]}"#, "null"] {
        assert!(observe(damaged).is_err(), "{damaged}");
    }
}
