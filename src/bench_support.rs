//! Benchmark-only helpers (`--features bench`; the shipped build never has them): the "prices
//! at scale" figure of `./build.sh bench`. Every adapter's public price flow is driven with
//! canned answers, as the refresh engine drives it with real ones, and accounts are valued
//! against all the tickers. The wasm export (`benchPrices` in the bindings) and the native
//! example (bench/prices.rs) both run exactly this code, so their timings compare the same work.
//!
//! Canned answers come as one text, written by bench/prices.mjs: a JSON header line, then every
//! body back to back, raw, as the transport hands bodies to a flow (a body is never encoded a
//! second time as a JSON string):
//!
//! ```text
//! {"answers":[{"exchange":"kraken","url":"https://api.kraken.com/0/public/AssetPairs","status":200,"bytes":123},…]}
//! <first body><second body>…
//! ```
//!
//! An exchange's answers are given in the order its flow asks for them; each request's URL must
//! be the one its answer was made for.
//!
//! The "first import of history" figure drives the engine itself over a simulated network:
//! [`import`].

pub mod import;

use serde::Deserialize;

use crate::{
    exchange::{Balance, Context, HttpResponse, Step, Ticker, adapter},
    exchange_id::ExchangeId,
    portfolio::{AccountBalances, Snapshot, build_snapshot},
};

/// A benchmark failure, as a sentence for the benchmark's log.
pub type BenchResult<T> = Result<T, String>;

/// The clock the flows and the snapshot see: fixed, so every run does the same work.
pub const NOW_MS: u64 = 1_764_000_000_000;

/// One canned answer to one request of a price flow.
#[derive(Debug, Clone)]
pub struct CannedAnswer<'a> {
    /// Whose flow asks for it.
    pub exchange: ExchangeId,
    /// The URL the flow must ask for.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The body, as received.
    pub body: &'a [u8],
}

/// The header line.
#[derive(Deserialize)]
struct Header {
    answers: Vec<AnswerHead>,
}

/// One answer as the header line describes it.
#[derive(Deserialize)]
struct AnswerHead {
    exchange: ExchangeId,
    url: String,
    status: u16,
    bytes: usize,
}

/// Splits the canned-answers text (see the module's documentation) into its answers; the bodies
/// borrow from `text`.
pub fn read_canned(text: &str) -> BenchResult<Vec<CannedAnswer<'_>>> {
    let (header, bodies) = text.split_once('\n').ok_or("canned answers: no header line")?;
    let heads = serde_json::from_str::<Header>(header)
        .map_err(|_| "canned answers: the header is not {\"answers\":[{exchange, url, status, bytes}, …]}")?
        .answers;
    let mut rest = bodies.as_bytes();
    let mut answers = Vec::with_capacity(heads.len());
    for head in heads {
        let (body, tail) = rest
            .split_at_checked(head.bytes)
            .ok_or_else(|| format!("canned answers: {} wants {} bytes, {} are left", head.url, head.bytes, rest.len()))?;
        rest = tail;
        answers.push(CannedAnswer { exchange: head.exchange, url: head.url, status: head.status, body });
    }
    if !rest.is_empty() {
        return Err(format!("canned answers: {} bytes after the last body", rest.len()));
    }
    Ok(answers)
}

/// Runs `exchange`'s price flow to its end, answering its requests with `answers` in turn.
/// Fails when the flow fails, asks for another URL than the next answer's, asks for more than
/// there are, asks for a batch (no price flow does), or finishes with answers left over.
pub fn exchange_prices<'a>(exchange: ExchangeId, answers: impl IntoIterator<Item = &'a CannedAnswer<'a>>) -> BenchResult<Vec<Ticker>> {
    let name = exchange.as_str();
    let mut flow = adapter(exchange).prices();
    let mut context = Context::public(NOW_MS);
    let mut answers = answers.into_iter();
    let mut answer: Option<HttpResponse<'a>> = None;
    loop {
        match flow.step(answer.take(), &mut context) {
            Ok(Step::Send(request)) => {
                let canned = answers
                    .next()
                    .ok_or_else(|| format!("{name}: the flow asked for {} after the last canned answer", request.url))?;
                if request.url != canned.url {
                    return Err(format!("{name}: the flow asked for {}, the next canned answer is for {}", request.url, canned.url));
                }
                answer = Some(HttpResponse { status: canned.status, body: canned.body, retry_after_ms: None, received_at_ms: NOW_MS });
            }
            Ok(Step::SendAll(_)) => return Err(format!("{name}: the price flow asked for a batch, which canned answers do not replay")),
            Ok(Step::Done(tickers)) => {
                if let Some(unused) = answers.next() {
                    return Err(format!("{name}: the flow finished without asking for {}", unused.url));
                }
                return Ok(tickers);
            }
            Err(error) => return Err(format!("{name}: the price flow failed: {error:?}")),
        }
    }
}

/// Every exchange's tickers, exchanges in [`ExchangeId::ALL`] order (one without canned
/// answers is left out), with how many tickers each gave.
pub fn all_prices(answers: &[CannedAnswer<'_>]) -> BenchResult<(Vec<Ticker>, TickerCounts)> {
    let mut tickers = Vec::new();
    let mut counts = Vec::new();
    for exchange in ExchangeId::ALL {
        if !answers.iter().any(|answer| answer.exchange == exchange) {
            continue;
        }
        let some = exchange_prices(exchange, answers.iter().filter(|answer| answer.exchange == exchange))?;
        counts.push((exchange, some.len()));
        tickers.extend(some);
    }
    Ok((tickers, counts))
}

/// An account as the benchmark hands it over: `{ id, label, exchange?, balances }`, balances as
/// [`Balance`] serialises them.
#[derive(Debug, Clone, Deserialize)]
pub struct BenchAccount {
    /// The account's id.
    pub id: String,
    /// Its name.
    pub label: String,
    /// Which exchange holds it (`"bitso"`).
    #[serde(default)]
    pub exchange: Option<ExchangeId>,
    /// What it holds, in Cartera's asset codes.
    pub balances: Vec<Balance>,
}

/// Reads a JSON array of [`BenchAccount`]s.
pub fn read_accounts(json: &str) -> BenchResult<Vec<BenchAccount>> {
    serde_json::from_str(json).map_err(|_| "accounts: not a list of {id, label, exchange?, balances}".to_owned())
}

/// The accounts as [`build_snapshot`] takes them, synced at [`NOW_MS`].
pub fn as_inputs(accounts: &[BenchAccount]) -> Vec<AccountBalances<'_>> {
    accounts
        .iter()
        .map(|account| AccountBalances {
            id: &account.id,
            label: &account.label,
            exchange: account.exchange,
            balances: &account.balances,
            synced_at: Some(NOW_MS),
            error: None,
        })
        .collect()
}

/// How many tickers each exchange's flow gave, in [`ExchangeId::ALL`] order.
pub type TickerCounts = Vec<(ExchangeId, usize)>;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How many tickers each exchange's flow gave.
    pub tickers: TickerCounts,
    /// The accounts valued against all of them.
    pub snapshot: Snapshot,
}

/// The figure's work, once: every price flow with its canned answers, then the snapshot of
/// `accounts` in `quote` against every ticker.
pub fn prices_and_value(answers: &[CannedAnswer<'_>], accounts: &[AccountBalances<'_>], quote: &str) -> BenchResult<Outcome> {
    let (tickers, counts) = all_prices(answers)?;
    let snapshot = build_snapshot(accounts, &tickers, quote, NOW_MS);
    Ok(Outcome { tickers: counts, snapshot })
}

/// What the benchmark checks of a run, as JSON: `{ total, tickers, byExchange: { bitso: n, … },
/// priced: [asset], unpriced: [asset] }`.
pub fn summary(outcome: &Outcome) -> serde_json::Value {
    let by_exchange: serde_json::Map<String, serde_json::Value> =
        outcome.tickers.iter().map(|(exchange, count)| (exchange.as_str().to_owned(), (*count).into())).collect();
    serde_json::json!({
        "total": outcome.snapshot.total.normalize().to_string(),
        "tickers": outcome.tickers.iter().map(|(_, count)| count).sum::<usize>(),
        "byExchange": by_exchange,
        "priced": outcome.snapshot.assets.iter().map(|row| row.asset.as_str()).collect::<Vec<_>>(),
        "unpriced": outcome.snapshot.unpriced.iter().map(|row| row.asset.as_str()).collect::<Vec<_>>(),
    })
}

/// Nanoseconds per call of `op`, for each of `runs` runs of `iterations` calls (after one
/// untimed warm-up run); the native benchmark examples share it.
#[cfg(not(target_arch = "wasm32"))]
pub fn time_runs(
    iterations: u32,
    runs: u32,
    mut op: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Vec<u128>, Box<dyn std::error::Error>> {
    for _ in 0..iterations {
        op()?;
    }
    let mut per_op = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            op()?;
        }
        per_op.push(start.elapsed().as_nanos() / u128::from(iterations.max(1)));
    }
    Ok(per_op)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BITSO_URL: &str = "https://api.bitso.com/v3/ticker/";
    const BITSO_BODY: &str = r#"{"success":true,"payload":[{"book":"btc_mxn","last":"1750000.50","volume":"45.1","change_24":"-1250.00","created_at":"2026-11-24T06:00:00+00:00"},{"book":"usd_mxn","last":"17.245","volume":"2500000"}]}"#;

    fn canned(answers: &[(&str, &str, &str)]) -> String {
        let heads: Vec<serde_json::Value> = answers
            .iter()
            .map(|(exchange, url, body)| serde_json::json!({ "exchange": exchange, "url": url, "status": 200, "bytes": body.len() }))
            .collect();
        let bodies: String = answers.iter().map(|(_, _, body)| *body).collect();
        format!("{}\n{bodies}", serde_json::json!({ "answers": heads }))
    }

    #[test]
    fn drives_a_flow_with_its_canned_answers_and_values_the_accounts() {
        let text = canned(&[("bitso", BITSO_URL, BITSO_BODY)]);
        let answers = read_canned(&text).unwrap_or_default();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers.first().map(|answer| answer.body), Some(BITSO_BODY.as_bytes()));
        let accounts = read_accounts(
            r#"[{"id":"a","label":"A","exchange":"bitso","balances":[{"currency":"btc","total":"2","available":"2","locked":"0"},{"currency":"usd","total":"10","available":"10","locked":"0"},{"currency":"xyz","total":"1","available":"1","locked":"0"}]}]"#,
        )
        .unwrap_or_default();
        let outcome = prices_and_value(&answers, &as_inputs(&accounts), "mxn");
        let summary = outcome.as_ref().map(summary).unwrap_or_default();
        assert_eq!(summary["total"], "3500173.45");
        assert_eq!(summary["tickers"], 2);
        assert_eq!(summary["byExchange"]["bitso"], 2);
        assert_eq!(summary["unpriced"], serde_json::json!(["xyz"]));
    }

    #[test]
    fn refuses_answers_the_flow_does_not_ask_for() {
        let wrong_url = canned(&[("bitso", "https://api.bitso.com/v3/ticker/?book=btc_mxn", BITSO_BODY)]);
        let answers = read_canned(&wrong_url).unwrap_or_default();
        assert!(all_prices(&answers).is_err_and(|error| error.contains("asked for https://api.bitso.com/v3/ticker/")));

        let one_too_many = canned(&[("bitso", BITSO_URL, BITSO_BODY), ("bitso", BITSO_URL, BITSO_BODY)]);
        let answers = read_canned(&one_too_many).unwrap_or_default();
        assert!(all_prices(&answers).is_err_and(|error| error.contains("finished without asking")));

        // Kraken asks twice: one answer is too few.
        let too_few = canned(&[("kraken", "https://api.kraken.com/0/public/AssetPairs", r#"{"error":[],"result":{}}"#)]);
        let answers = read_canned(&too_few).unwrap_or_default();
        assert!(all_prices(&answers).is_err_and(|error| error.contains("after the last canned answer")));
    }

    #[test]
    fn refuses_a_canned_text_whose_lengths_do_not_add_up() {
        let text = canned(&[("bitso", BITSO_URL, BITSO_BODY)]);
        assert!(read_canned(&format!("{text}x")).is_err());
        assert!(read_canned(text.trim_end_matches('}')).is_err());
        assert!(read_canned("no header").is_err());
    }
}
