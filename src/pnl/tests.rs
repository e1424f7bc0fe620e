use proptest::prelude::*;

use super::*;

const DAY: u64 = 86_400_000;
/// 2025-01-01T00:00:00Z.
const T0: u64 = 1_735_689_600_000;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn leg(asset: &str, amount: &str) -> Option<Amount> {
    Some(Amount { asset: asset.to_owned(), amount: dec(amount) })
}

fn entry(account: &str, id: &str, at: u64, kind: Kind) -> Entry {
    Entry { account: account.to_owned(), transaction: Transaction { id: id.to_owned(), at, kind, side: None, received: None, sent: None, fee: None } }
}

fn buy(account: &str, id: &str, at: u64, received: (&str, &str), sent: (&str, &str), fee: Option<(&str, &str)>) -> Entry {
    let mut e = entry(account, id, at, Kind::Trade);
    e.transaction.side = Some(Side::Buy);
    e.transaction.received = leg(received.0, received.1);
    e.transaction.sent = leg(sent.0, sent.1);
    e.transaction.fee = fee.and_then(|(asset, amount)| leg(asset, amount));
    e
}

fn sell(account: &str, id: &str, at: u64, sent: (&str, &str), received: (&str, &str), fee: Option<(&str, &str)>) -> Entry {
    let mut e = buy(account, id, at, received, sent, fee);
    e.transaction.side = Some(Side::Sell);
    e
}

fn deposit(account: &str, id: &str, at: u64, asset: &str, amount: &str) -> Entry {
    let mut e = entry(account, id, at, Kind::Deposit);
    e.transaction.received = leg(asset, amount);
    e
}

fn withdrawal(account: &str, id: &str, at: u64, asset: &str, amount: &str) -> Entry {
    let mut e = entry(account, id, at, Kind::Withdrawal);
    e.transaction.sent = leg(asset, amount);
    e
}

fn reward(account: &str, id: &str, at: u64, asset: &str, amount: &str) -> Entry {
    let mut e = entry(account, id, at, Kind::Reward);
    e.transaction.received = leg(asset, amount);
    e
}

/// A report over `entries` with constant prices, holdings and no typed costs.
struct Case {
    entries: Vec<Entry>,
    prices: BTreeMap<String, Decimal>,
    holdings: BTreeMap<(String, String), Decimal>,
    costs: BTreeMap<(String, String), Decimal>,
    selection: BTreeSet<String>,
    quote: &'static str,
}

impl Case {
    fn new(quote: &'static str, entries: Vec<Entry>, prices: &[(&str, &str)]) -> Self {
        let selection = entries.iter().map(|e| e.account.clone()).collect();
        let mut case = Case {
            entries,
            prices: prices.iter().map(|(asset, price)| ((*asset).to_owned(), dec(price))).collect(),
            holdings: BTreeMap::new(),
            costs: BTreeMap::new(),
            selection,
            quote,
        };
        case.holdings = case.held_by_history();
        case
    }

    /// What the history says each account holds: the holdings when history explains everything.
    fn held_by_history(&self) -> BTreeMap<(String, String), Decimal> {
        let mut held: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for e in &self.entries {
            for (asset, change) in e.transaction.balance_legs() {
                *held.entry((e.account.clone(), asset.to_owned())).or_default() += change;
            }
        }
        held
    }

    fn report(&self, method: Method) -> Report {
        let prices = self.prices.clone();
        let price_at = move |asset: &str, _at: u64| prices.get(asset).copied();
        let inputs = Inputs {
            quote: self.quote,
            method,
            entries: &self.entries,
            selection: &self.selection,
            price_at: &price_at,
            costs: &self.costs,
            holdings: &self.holdings,
            prices_now: &self.prices,
            year: None,
            rows: None,
        };
        report(&inputs)
    }
}

fn row<'a>(report: &'a Report, asset: &str) -> &'a AssetRow {
    report.rows.iter().find(|row| row.asset == asset).unwrap_or_else(|| panic!("no {asset} row in {:?}", report.rows))
}

/// Bought twice with pesos (a fee in pesos on the first), sold part with the fee taken from the
/// pesos received.
fn two_buys_and_a_sell() -> Case {
    Case::new(
        "mxn",
        vec![
            deposit("b", "d1", T0, "mxn", "200000"),
            buy("b", "t1", T0 + DAY, ("btc", "0.05"), ("mxn", "50000"), Some(("mxn", "325"))),
            buy("b", "t2", T0 + 2 * DAY, ("btc", "0.05"), ("mxn", "60000"), None),
            sell("b", "t3", T0 + 3 * DAY, ("btc", "0.04"), ("mxn", "48000"), Some(("mxn", "240"))),
        ],
        &[("btc", "1200000")],
    )
}

#[test]
fn average_cost_to_the_cent() {
    let report = two_buys_and_a_sell().report(Method::AverageCost);
    // Pool: 0.1 BTC for 50,325 + 60,000 = 110,325 (1,103,250 a coin). The sale brings
    // 48,000 − 240 = 47,760 against 0.04 × 1,103,250 = 44,130: +3,630.
    let btc = row(&report, "btc");
    assert_eq!((btc.amount, btc.explained), (dec("0.06"), dec("0.06")));
    assert_eq!(btc.average_cost, Some(dec("1103250")));
    assert_eq!(btc.cost_basis, dec("66195"));
    assert_eq!(btc.value, Some(dec("72000")));
    assert_eq!(btc.unrealized, Some(dec("5805")));
    assert_eq!(btc.realized, dec("3630"));
    assert_eq!((report.total.realized, report.total.unrealized), (dec("3630"), dec("5805")));
    // 5,805 / 66,195 = 8.7695…%
    assert_eq!(report.total.unrealized_percent, Some(dec("8.77")));
    assert_eq!(report.total.fees, dec("565"));
    assert_eq!(report.disposals.len(), 1);
    assert_eq!((report.disposals[0].proceeds, report.disposals[0].cost_basis), (dec("47760"), dec("44130")));
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
}

#[test]
fn fifo_to_the_cent() {
    let report = two_buys_and_a_sell().report(Method::Fifo);
    // The 0.04 sold come from the first lot (0.05 for 50,325): basis 40,260, gain 7,500. Left:
    // 0.01 for 10,065 and 0.05 for 60,000.
    let btc = row(&report, "btc");
    assert_eq!(btc.cost_basis, dec("70065"));
    assert_eq!(btc.realized, dec("7500"));
    assert_eq!(btc.unrealized, Some(dec("1935")));
    assert_eq!(btc.average_cost, Some(dec("1167750")));
}

#[test]
fn a_fee_in_a_third_asset_is_a_disposal_and_part_of_the_cost() {
    let case = Case::new(
        "mxn",
        vec![
            buy("x", "1", T0, ("btc", "0.1"), ("mxn", "80000"), None),
            buy("x", "2", T0, ("bnb", "1"), ("mxn", "8000"), None),
            // 0.05 BTC (worth 50,000) for 1 ETH, 0.1 BNB (worth 1,000) as the fee.
            buy("x", "3", T0 + DAY, ("eth", "1"), ("btc", "0.05"), Some(("bnb", "0.1"))),
        ],
        &[("btc", "1000000"), ("bnb", "10000"), ("eth", "51000")],
    );
    let report = case.report(Method::AverageCost);
    assert_eq!(row(&report, "btc").realized, dec("10000"), "50,000 for what cost 40,000");
    assert_eq!(row(&report, "bnb").realized, dec("200"), "1,000 for what cost 800");
    assert_eq!(row(&report, "eth").cost_basis, dec("51000"), "the trade and its fee");
    assert_eq!(row(&report, "eth").unrealized, Some(dec("0")));
    assert_eq!(report.total.fees, dec("1000"));
}

#[test]
fn on_a_sell_the_fee_lowers_the_proceeds() {
    let case = Case::new(
        "usd",
        vec![
            buy("x", "1", T0, ("btc", "1"), ("usd", "30000"), None),
            buy("x", "2", T0, ("bnb", "1"), ("usd", "500"), None),
            // 1 BTC sold for 40,000 USDT, 0.02 BNB (worth 10) as the fee.
            sell("x", "3", T0 + DAY, ("btc", "1"), ("usdt", "40000"), Some(("bnb", "0.02"))),
        ],
        &[("btc", "45000"), ("bnb", "500"), ("usdt", "1")],
    );
    let report = case.report(Method::Fifo);
    assert_eq!(row(&report, "btc").realized, dec("9990"));
    assert_eq!(row(&report, "bnb").realized, dec("0"));
    assert_eq!(row(&report, "usdt").cost_basis, dec("40000"));
}

#[test]
fn a_fee_taken_from_what_was_received_means_fewer_units() {
    let case = Case::new("usd", vec![buy("x", "1", T0, ("btc", "1"), ("usd", "30000"), Some(("btc", "0.001")))], &[("btc", "30000")]);
    let report = case.report(Method::AverageCost);
    let btc = row(&report, "btc");
    assert_eq!((btc.amount, btc.cost_basis), (dec("0.999"), dec("30000")));
}

#[test]
fn kraken_fee_credits_are_income_when_granted_and_spent_at_their_value() {
    // KFEE is worth 0.01 USD (the price function says so); valued in USD.
    let case = Case::new(
        "usd",
        vec![
            reward("k", "grant", T0, "kfee", "1000"),
            buy("k", "t", T0 + DAY, ("btc", "0.01"), ("usd", "1000"), Some(("kfee", "500"))),
        ],
        &[("kfee", "0.01"), ("btc", "100000")],
    );
    let report = case.report(Method::AverageCost);
    assert_eq!(report.total.income, dec("10"));
    assert_eq!(row(&report, "btc").cost_basis, dec("1005"));
    assert_eq!(row(&report, "kfee").realized, dec("0"));
    assert_eq!(row(&report, "kfee").cost_basis, dec("5"));
}

#[test]
fn a_transfer_keeps_its_basis_and_the_network_takes_a_fee_at_basis() {
    let case = Case::new(
        "mxn",
        vec![
            buy("a", "1", T0, ("eth", "1"), ("mxn", "40000"), None),
            withdrawal("a", "w", T0 + DAY, "eth", "1"),
            deposit("b", "d", T0 + DAY + 3_600_000, "eth", "0.99"),
        ],
        &[("eth", "50000")],
    );
    for method in [Method::AverageCost, Method::Fifo] {
        let report = case.report(method);
        let eth = row(&report, "eth");
        assert_eq!((eth.amount, eth.cost_basis), (dec("0.99"), dec("39600")), "{method:?}");
        assert_eq!(eth.realized, dec("-400"), "the 0.01 lost on the way leaves at its basis");
        assert_eq!(report.total.fees, dec("400"));
        assert!(report.transactions.iter().filter(|t| t.kind != Kind::Trade).all(|t| t.transfer && !t.estimated));
    }
    // The receiving account alone: the coins arrive with the basis they had.
    let mut only_b = case;
    only_b.selection = BTreeSet::from(["b".to_owned()]);
    let report = only_b.report(Method::Fifo);
    assert_eq!(row(&report, "eth").cost_basis, dec("39600"));
    // The sending account alone: they left with their basis, no P&L.
    only_b.selection = BTreeSet::from(["a".to_owned()]);
    let report = only_b.report(Method::Fifo);
    assert!(report.rows.iter().all(|row| row.realized.is_zero()), "{:?}", report.rows);
}

#[test]
fn under_fifo_transferred_coins_keep_their_place_in_line() {
    // February's coin goes to account b while March's stays on a; selling one on b a day later
    // sells February's coin first, as FIFO pooled over both accounts says.
    let case = Case::new(
        "usd",
        vec![
            buy("a", "feb", T0, ("btc", "1"), ("usd", "80000"), None),
            buy("a", "mar", T0 + 30 * DAY, ("btc", "1"), ("usd", "90000"), None),
            withdrawal("a", "w", T0 + 40 * DAY, "btc", "1"),
            deposit("b", "d", T0 + 40 * DAY + 3_600_000, "btc", "1"),
            sell("b", "s", T0 + 41 * DAY, ("btc", "1"), ("usd", "100000"), None),
        ],
        &[("btc", "100000")],
    );
    let report = case.report(Method::Fifo);
    assert_eq!(report.disposals.len(), 1);
    assert_eq!((report.disposals[0].cost_basis, report.disposals[0].gain), (dec("80000"), dec("20000")));
    let btc = row(&report, "btc");
    assert_eq!((btc.cost_basis, btc.realized, btc.unrealized), (dec("90000"), dec("20000"), Some(dec("10000"))));
}

#[test]
fn a_deposit_larger_than_the_withdrawal_or_too_late_is_no_transfer() {
    let case = Case::new(
        "mxn",
        vec![
            buy("a", "1", T0, ("eth", "2"), ("mxn", "80000"), None),
            withdrawal("a", "w1", T0, "eth", "1"),
            deposit("b", "d1", T0 + 1, "eth", "1.5"),
            withdrawal("a", "w2", T0, "eth", "0.5"),
            deposit("b", "d2", T0 + TRANSFER_WINDOW_MS + 1, "eth", "0.5"),
        ],
        &[("eth", "50000")],
    );
    let report = case.report(Method::AverageCost);
    let estimated: Vec<&str> = report.transactions.iter().filter(|t| t.estimated).map(|t| t.id.as_str()).collect();
    assert_eq!(estimated, ["d2", "d1"]);
}

#[test]
fn a_deposit_from_outside_is_estimated_at_market_or_at_the_cost_typed() {
    let mut case = Case::new("mxn", vec![deposit("a", "in", T0, "btc", "0.5")], &[("btc", "1000000")]);
    let report = case.report(Method::AverageCost);
    assert_eq!(row(&report, "btc").cost_basis, dec("500000"));
    assert!(report.transactions[0].estimated);
    case.costs.insert(("a".to_owned(), "in".to_owned()), dec("450000"));
    let report = case.report(Method::AverageCost);
    assert_eq!(row(&report, "btc").cost_basis, dec("450000"));
    assert_eq!(row(&report, "btc").unrealized, Some(dec("50000")));
}

#[test]
fn without_a_price_a_deposit_is_unexplained_never_free() {
    let case = Case::new("mxn", vec![deposit("a", "in", T0, "obscure", "100")], &[]);
    let report = case.report(Method::AverageCost);
    let row = row(&report, "obscure");
    assert_eq!((row.amount, row.explained, row.cost_basis), (dec("100"), dec("0"), dec("0")));
    assert_eq!(row.unrealized, None);
    assert_eq!(report.unpriced, 1);
    assert!(report.transactions[0].unpriced);
}

#[test]
fn rewards_are_income_and_their_value_their_basis() {
    let case = Case::new("mxn", vec![reward("a", "stake", T0, "eth", "0.1")], &[("eth", "30000")]);
    let report = case.report(Method::Fifo);
    assert_eq!(report.total.income, dec("3000"));
    assert_eq!(row(&report, "eth").cost_basis, dec("3000"));
    assert_eq!(report.total.realized, dec("0"));
}

#[test]
fn what_history_does_not_explain_is_shown_and_left_out() {
    let mut case = Case::new("mxn", vec![buy("k", "1", T0, ("btc", "0.52"), ("mxn", "520000"), None)], &[("btc", "1100000")]);
    case.holdings.insert(("k".to_owned(), "btc".to_owned()), dec("0.53"));
    let report = case.report(Method::AverageCost);
    assert_eq!(report.mismatches, [Mismatch { account: "k".into(), asset: "btc".into(), explained: dec("0.52"), held: dec("0.53") }]);
    let btc = row(&report, "btc");
    assert_eq!((btc.amount, btc.explained), (dec("0.53"), dec("0.52")));
    assert_eq!(btc.unrealized, Some(dec("52000")), "0.52 × 1,100,000 − 520,000");
}

#[test]
fn selling_more_than_history_explains_realizes_only_what_it_explains() {
    let case = Case::new(
        "mxn",
        vec![
            buy("k", "1", T0, ("btc", "0.1"), ("mxn", "100000"), None),
            sell("k", "2", T0 + DAY, ("btc", "0.2"), ("mxn", "240000"), None),
        ],
        &[("btc", "1200000")],
    );
    let report = case.report(Method::Fifo);
    // Half the sale is explained: 120,000 for what cost 100,000.
    assert_eq!(row(&report, "btc").realized, dec("20000"));
}

#[test]
fn the_year_summary_counts_that_year_only() {
    let mut case = two_buys_and_a_sell();
    case.entries.push(sell("b", "t4", T0 + 400 * DAY, ("btc", "0.01"), ("mxn", "15000"), None));
    case.holdings = case.held_by_history();
    let prices = case.prices.clone();
    let price_at = move |asset: &str, _at: u64| prices.get(asset).copied();
    let inputs = Inputs {
        quote: "mxn",
        method: Method::AverageCost,
        entries: &case.entries,
        selection: &case.selection,
        price_at: &price_at,
        costs: &case.costs,
        holdings: &case.holdings,
        prices_now: &case.prices,
        year: Some(2026),
        rows: None,
    };
    let report = report(&inputs);
    assert_eq!(report.years, [2026, 2025]);
    // 15,000 against 0.01 × 1,103,250.
    assert_eq!(report.summary.realized, dec("3967.5"));
    assert_eq!(report.summary.fees, dec("0"));
    assert_eq!(report.total.realized, dec("7597.5"));
}

proptest! {
    /// Under FIFO the lots always sum to the holding, and with everything priced the gain adds
    /// up: what was paid and received plus what is held now equals realized plus unrealized.
    #[test]
    fn lots_sum_to_the_holding_and_the_gain_adds_up(
        steps in proptest::collection::vec((any::<bool>(), 1u32..1_000, 1u32..100_000), 1..40),
        now_price in 1u32..100_000,
    ) {
        let mut entries = Vec::new();
        let mut held = Decimal::ZERO;
        let mut cash = Decimal::ZERO;
        for (i, (is_buy, units, price)) in steps.into_iter().enumerate() {
            let amount = Decimal::new(i64::from(units), 3);
            let money = amount * Decimal::from(price);
            let at = T0 + i as u64 * DAY;
            if is_buy || held < amount {
                entries.push(buy("x", &i.to_string(), at, ("eth", &amount.to_string()), ("usd", &money.to_string()), None));
                held += amount;
                cash -= money;
            } else {
                entries.push(sell("x", &i.to_string(), at, ("eth", &amount.to_string()), ("usd", &money.to_string()), None));
                held -= amount;
                cash += money;
            }
        }
        let case = Case::new("usd", entries, &[("eth", &now_price.to_string())]);
        for method in [Method::Fifo, Method::AverageCost] {
            let report = case.report(method);
            let eth = report.rows.iter().find(|row| row.asset == "eth");
            let (amount, explained) = eth.map_or((Decimal::ZERO, Decimal::ZERO), |row| (row.amount, row.explained));
            prop_assert_eq!(amount, held);
            prop_assert_eq!(explained, held);
            let gain = cash + held * Decimal::from(now_price);
            let accounted = report.total.realized + report.total.unrealized;
            prop_assert!((gain - accounted).abs() < dec("0.000001"), "{} vs {}", gain, accounted);
        }
    }
}
