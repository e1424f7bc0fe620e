//! Prices every asset in a chosen quote currency from an exchange's tickers.
//!
//! The tickers form a graph: a book `base_quote` is an edge `base → quote` at its last trade
//! price and an edge `quote → base` at the inverse. An asset's price is the product of the rates
//! along the shortest route to the quote currency (a direct book, an inverse book, or a path
//! through an intermediate asset such as `sol → usd → mxn`). Among routes of equal length the
//! most liquid wins: a route's liquidity is its thinnest book's 24-hour volume, expressed in the
//! quote currency. Remaining ties go to the alphabetically first books, so results are stable.
//!
//! The last trade price is used, not the bid: it is what exchanges and trackers display, and a
//! portfolio view should agree with the exchange's own balance screen. An asset with no route is
//! unpriced (reported apart, never as worth zero); the quote currency itself is worth 1.
//!
//! The tickers of every connected exchange form one graph (book ids carry their exchange, such as
//! `kraken:XXBTZUSD`), so the same asset gets one price whichever account holds it. A stablecoin
//! is an asset like any other: USDT reaches USD only through a USDT book, never by assumption.
//!
//! Cost is bounded whatever the tickers say: routes are at most [`MAX_HOPS`] books long, so the
//! walk makes at most that many waves, looks at each edge once, and copies at most that many book
//! names per route. For E tickers that is O(E log E) time and O(E · MAX_HOPS) memory (each wave
//! weighs every route it finds before keeping the best per asset); a chain of books crafted to
//! make routes long costs no more than a short one.

use std::collections::{BTreeMap, BTreeSet, btree_map::Entry};

use rust_decimal::Decimal;

use crate::{exchange::Ticker, money::Exact as _};

/// The longest route considered. Real portfolios need two (`sol → usd → mxn`), three across
/// exchanges (`dot → usdt → usd → mxn`); four leaves room and keeps the bound above small.
pub const MAX_HOPS: usize = 4;

/// How an asset reaches the quote currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// Books walked, in order, from the asset to the quote currency.
    pub books: Vec<&'a str>,
    /// Price of one unit of the asset, in the quote currency.
    pub price: Decimal,
    /// The same price 24 hours ago, when every book on the route reports its 24-hour change.
    pub price_24h_ago: Option<Decimal>,
    /// The thinnest book's 24-hour volume in the quote currency; `None` means unbounded (the
    /// quote currency itself).
    liquidity: Option<Decimal>,
    /// When the oldest ticker on the route was computed.
    pub oldest_ticker_at: Option<&'a str>,
}

impl Route<'_> {
    /// Price change over 24 hours in percent, when the route allows it.
    pub fn change_24h_percent(&self) -> Option<Decimal> {
        let before = self.price_24h_ago.filter(|p| !p.is_zero())?;
        let ratio = self.price.checked_div(before)?;
        ratio.minus(Decimal::ONE)?.times(Decimal::ONE_HUNDRED)
    }
}

/// One direction of one book.
#[derive(Debug)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
    book: &'a str,
    rate: Decimal,
    rate_24h_ago: Option<Decimal>,
    /// 24-hour volume in units of `to`.
    volume_in_to: Decimal,
    created_at: Option<&'a str>,
}

/// Every asset's best route to `quote`, keyed by asset code.
///
/// Routes borrow book names and times from `tickers`, so finding them allocates no strings.
pub fn routes_to<'a>(quote: &'a str, tickers: &'a [Ticker]) -> BTreeMap<&'a str, Route<'a>> {
    let edges = edges(tickers);
    // The graph walked backwards: for each asset, the edges that lead to it, in ticker order.
    let mut leading_to: BTreeMap<&str, Vec<&Edge<'_>>> = BTreeMap::new();
    for edge in &edges {
        leading_to.entry(edge.to).or_default().push(edge);
    }

    let quote_route = Route { books: Vec::new(), price: Decimal::ONE, price_24h_ago: Some(Decimal::ONE), liquidity: None, oldest_ticker_at: None };
    let mut routes = BTreeMap::from([(quote, quote_route)]);

    // Breadth-first from the quote over reversed edges: each wave is one hop longer, and every
    // asset of a wave picks its best edge into the previous wave.
    let mut wave: Vec<&str> = vec![quote];
    for _ in 0..MAX_HOPS {
        let mut best: BTreeMap<&str, Route<'_>> = BTreeMap::new();
        for target in &wave {
            let Some(target_route) = routes.get(target) else { continue };
            for edge in leading_to.get(target).into_iter().flatten() {
                if routes.contains_key(edge.from) {
                    continue;
                }
                let Some(route) = extend(edge, target_route) else { continue };
                // Of equally good routes, the first found stays.
                match best.entry(edge.from) {
                    Entry::Vacant(slot) => {
                        slot.insert(route);
                    }
                    Entry::Occupied(mut slot) if is_better(&route, slot.get()) => {
                        slot.insert(route);
                    }
                    Entry::Occupied(_) => {}
                }
            }
        }
        if best.is_empty() {
            break;
        }
        wave = best.keys().copied().collect();
        routes.extend(best);
    }
    routes
}

/// Both directions of every usable book; a book listed twice is used once, as first listed.
fn edges(tickers: &[Ticker]) -> Vec<Edge<'_>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut edges = Vec::with_capacity(tickers.len() * 2);
    for ticker in tickers.iter().filter(|ticker| ticker.base != ticker.quote) {
        if !seen.insert(&ticker.book) {
            continue;
        }
        let Some(inverse) = Decimal::ONE.checked_div(ticker.last) else { continue };
        let last_24h_ago = ticker
            .change_24h
            .and_then(|change| ticker.last.minus(change))
            .filter(|price| price.is_sign_positive() && !price.is_zero());
        let created_at = ticker.created_at.as_deref();
        edges.push(Edge {
            from: &ticker.base,
            to: &ticker.quote,
            book: &ticker.book,
            rate: ticker.last,
            rate_24h_ago: last_24h_ago,
            volume_in_to: ticker.volume.times(ticker.last).unwrap_or(Decimal::MAX),
            created_at,
        });
        edges.push(Edge {
            from: &ticker.quote,
            to: &ticker.base,
            book: &ticker.book,
            rate: inverse,
            rate_24h_ago: last_24h_ago.and_then(|price| Decimal::ONE.checked_div(price)),
            volume_in_to: ticker.volume,
            created_at,
        });
    }
    edges
}

/// The route from `edge.from`: `edge`, then the target's route.
fn extend<'a>(edge: &Edge<'a>, target: &Route<'a>) -> Option<Route<'a>> {
    let price = edge.rate.times(target.price)?;
    let edge_liquidity = edge.volume_in_to.times(target.price).unwrap_or(Decimal::MAX);
    let liquidity = Some(match target.liquidity {
        Some(downstream) => edge_liquidity.min(downstream),
        None => edge_liquidity,
    });
    let price_24h_ago = match (edge.rate_24h_ago, target.price_24h_ago) {
        (Some(edge_before), Some(target_before)) => edge_before.times(target_before),
        _ => None,
    };
    let oldest_ticker_at = match (edge.created_at, target.oldest_ticker_at) {
        (Some(here), Some(there)) => Some(here.min(there)),
        (here, there) => here.or(there),
    };
    let mut books = Vec::with_capacity(target.books.len() + 1);
    books.push(edge.book);
    books.extend_from_slice(&target.books);
    Some(Route { books, price, price_24h_ago, liquidity, oldest_ticker_at })
}

/// Same length assumed: more liquid first, then the alphabetically first books.
fn is_better(candidate: &Route<'_>, current: &Route<'_>) -> bool {
    match (candidate.liquidity, current.liquidity) {
        (Some(a), Some(b)) if a != b => a > b,
        _ => candidate.books < current.books,
    }
}

/// Builders shared by the valuation and portfolio tests.
#[cfg(test)]
pub(crate) mod test_support {
    use rust_decimal::Decimal;

    use crate::{exchange::Ticker, money::parse_decimal};

    /// A decimal from a literal the test knows is valid.
    pub(crate) fn dec(text: &str) -> Decimal {
        parse_decimal(text).unwrap_or_else(|| panic!("bad decimal {text}"))
    }

    /// A ticker for `book` (`base_quote`), computed at 2026-11-24T06:00:00Z.
    pub(crate) fn ticker(book: &str, last: &str, volume: &str, change: Option<&str>) -> Ticker {
        let market = book.rsplit(':').next().unwrap_or(book);
        let (base, quote) = market.split_once('_').unwrap_or_else(|| panic!("bad book {book}"));
        Ticker {
            book: book.to_owned(),
            base: base.to_owned(),
            quote: quote.to_owned(),
            last: dec(last),
            volume: dec(volume),
            change_24h: change.map(dec),
            created_at: Some("2026-11-24T06:00:00+00:00".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valuation::test_support::ticker;

    fn price_of(routes: &BTreeMap<&str, Route<'_>>, asset: &str) -> Option<(String, Vec<String>)> {
        routes.get(asset).map(|r| (r.price.normalize().to_string(), r.books.iter().map(|b| (*b).to_owned()).collect()))
    }

    #[test]
    fn quote_currency_is_worth_one() {
        let tickers = [];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(price_of(&routes, "mxn"), Some(("1".into(), vec![])));
        assert_eq!(routes[&"mxn"].change_24h_percent(), Some(Decimal::ZERO));
    }

    #[test]
    fn direct_book() {
        let tickers = [ticker("btc_mxn", "1750000.50", "10", None)];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(price_of(&routes, "btc"), Some(("1750000.5".into(), vec!["btc_mxn".into()])));
    }

    #[test]
    fn inverse_book() {
        // Valuing pesos in dollars walks usd_mxn backwards: 1 / 20 = 0.05.
        let tickers = [ticker("usd_mxn", "20", "1000", None)];
        let routes = routes_to("usd", &tickers);
        assert_eq!(price_of(&routes, "mxn"), Some(("0.05".into(), vec!["usd_mxn".into()])));
    }

    #[test]
    fn two_hops_through_an_intermediate() {
        let tickers = [ticker("sol_usd", "150.25", "500", None), ticker("usd_mxn", "17.5", "100000", None)];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(
            price_of(&routes, "sol"),
            Some(("2629.375".into(), vec!["sol_usd".into(), "usd_mxn".into()]))
        );
    }

    #[test]
    fn shortest_route_wins_over_a_more_liquid_longer_one() {
        let tickers = [
                ticker("eth_mxn", "60000", "0.001", None),
                ticker("eth_usd", "3000", "1000000", None),
                ticker("usd_mxn", "20", "1000000000", None),
            ];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(price_of(&routes, "eth"), Some(("60000".into(), vec!["eth_mxn".into()])));
    }

    #[test]
    fn most_liquid_route_among_equals() {
        // Two two-hop routes for xrp: via usd (thin xrp_usd) or via btc (deep xrp_btc).
        let tickers = [
            ticker("xrp_usd", "0.5", "10", None),           // 5 usd ≈ 100 mxn of volume
            ticker("usd_mxn", "20", "1000000", None),
            ticker("xrp_btc", "0.00001", "5000000", None), // 50 btc ≈ 50,000,000 mxn
            ticker("btc_mxn", "1000000", "100", None),
        ];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(
            price_of(&routes, "xrp"),
            Some(("10".into(), vec!["xrp_btc".into(), "btc_mxn".into()]))
        );
    }

    #[test]
    fn liquidity_is_the_thinnest_book_on_the_route() {
        // Via btc the first book is deep but btc_mxn is thin; via usd both are moderate.
        let tickers = [
            ticker("abc_btc", "0.001", "1000000", None),
            ticker("btc_mxn", "1000000", "0.0001", None), // 100 mxn of volume
            ticker("abc_usd", "50", "100", None),          // 5,000 usd
            ticker("usd_mxn", "20", "10000", None),        // 200,000 mxn
        ];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(routes[&"abc"].books, vec!["abc_usd", "usd_mxn"]);
        assert_eq!(routes[&"abc"].price.normalize().to_string(), "1000");
    }

    #[test]
    fn unreachable_assets_have_no_route() {
        let tickers = [ticker("btc_mxn", "1", "1", None), ticker("foo_bar", "2", "1", None)];
        let routes = routes_to("mxn", &tickers);
        assert!(!routes.contains_key("foo"));
        assert!(!routes.contains_key("bar"));
        assert!(!routes.contains_key("xyz"));
    }

    #[test]
    fn change_24h_direct_inverse_and_two_hop() {
        let tickers = [
            ticker("btc_mxn", "110", "1", Some("10")),  // was 100: +10 %
            ticker("usd_mxn", "20", "1", Some("-5")),   // was 25: -20 %
            ticker("sol_usd", "12", "1", Some("2")),    // was 10
            ticker("dot_usd", "5", "1", None),
        ];
        let routes = routes_to("mxn", &tickers);
        let pct = |asset: &str| routes[&asset].change_24h_percent().map(|d| d.round_dp(2).normalize().to_string());
        assert_eq!(pct("btc").as_deref(), Some("10"));
        assert_eq!(pct("usd").as_deref(), Some("-20"));
        // sol: 12 × 20 = 240 now, 10 × 25 = 250 before → -4 %.
        assert_eq!(pct("sol").as_deref(), Some("-4"));
        assert_eq!(pct("dot"), None, "dot_usd has no 24 h change");

        let in_usd = routes_to("usd", &tickers);
        // mxn in usd: 1/20 now, 1/25 before → +25 %.
        assert_eq!(
            in_usd[&"mxn"].change_24h_percent().map(|d| d.round_dp(2).normalize().to_string()).as_deref(),
            Some("25")
        );
    }

    #[test]
    fn duplicate_and_self_books_are_ignored() {
        let tickers = [
            ticker("btc_mxn", "100", "1", None),
            ticker("btc_mxn", "999", "1", None),
            Ticker { base: "mxn".into(), quote: "mxn".into(), ..ticker("mxn_mxn", "2", "1", None) },
        ];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(routes[&"btc"].price.normalize().to_string(), "100");
        assert_eq!(routes[&"mxn"].price, Decimal::ONE);
    }

    #[test]
    fn routes_stop_at_the_hop_limit_on_a_long_chain() {
        // 10,000 books chained a1_a0, a2_a1, …: without a bound every route would copy the whole
        // chain (O(N²) memory). Only MAX_HOPS assets are reachable, each with a short route.
        let tickers: Vec<Ticker> = (1..=10_000).map(|i| ticker(&format!("a{i}_a{}", i - 1), "1.0001", "1", None)).collect();
        let routes = routes_to("a0", &tickers);
        assert_eq!(routes.len(), MAX_HOPS + 1);
        assert_eq!(routes[&"a4"].books, vec!["a4_a3", "a3_a2", "a2_a1", "a1_a0"]);
        assert!(!routes.contains_key("a5"));
        assert!(routes.values().all(|route| route.books.len() <= MAX_HOPS));
    }

    #[test]
    fn ten_thousand_books_around_one_hub_are_valued_once_each() {
        // A dense star plus a ring: every asset has many equal routes; each edge is looked at once.
        let mut tickers: Vec<Ticker> = (0..5_000).map(|i| ticker(&format!("c{i}_usd"), "2", "10", None)).collect();
        tickers.extend((0..5_000).map(|i| ticker(&format!("c{i}_c{}", (i + 1) % 5_000), "1", "1", None)));
        let routes = routes_to("usd", &tickers);
        assert_eq!(routes.len(), 5_001);
        assert!(routes.values().all(|route| route.books.len() <= 1));
    }

    #[test]
    fn one_price_per_asset_across_exchanges() {
        // The same btc is quoted on two exchanges; the deeper book prices it for everyone.
        let tickers = [ticker("bitso:btc_usd", "100000", "1", None), ticker("kraken:btc_usd", "100100", "50", None)];
        let routes = routes_to("usd", &tickers);
        assert_eq!(routes[&"btc"].books, vec!["kraken:btc_usd"]);
    }

    #[test]
    fn oldest_ticker_time_is_reported() {
        let mut first = ticker("sol_usd", "1", "1", None);
        first.created_at = Some("2026-11-24T05:59:00+00:00".into());
        let mut second = ticker("usd_mxn", "1", "1", None);
        second.created_at = Some("2026-11-24T06:00:00+00:00".into());
        let tickers = [first, second];
        let routes = routes_to("mxn", &tickers);
        assert_eq!(routes[&"sol"].oldest_ticker_at, Some("2026-11-24T05:59:00+00:00"));
    }
}
