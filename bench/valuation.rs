//! Native valuation timing for `./build.sh bench` (row 3).
//!
//! `bench_valuation <accounts.json> <tickers.json> <quote> <iterations> <runs>` reads the same
//! inputs the wasm benchmark uses (written by bench/run.mjs) and prints one JSON line:
//! per-operation nanoseconds for each run of `build_snapshot` alone (`value_ns`) and for the
//! whole path `benchValue` takes in wasm — parse both JSON texts, value, serialise the snapshot
//! (`pipeline_ns`) — plus the snapshot's total so the caller can check both builds agree.

use std::{error::Error, hint::black_box};

use cartera::{
    bench_support::{BenchAccount, read_accounts, time_runs},
    exchange::{HttpResponse, Ticker, bitso},
    exchange_id::ExchangeId,
    portfolio::{AccountBalances, Snapshot, build_snapshot},
};

fn parse(accounts_json: &str, tickers_json: &str) -> Result<(Vec<BenchAccount>, Vec<Ticker>), Box<dyn Error>> {
    let accounts = read_accounts(accounts_json)?;
    let tickers = bitso::parse_tickers(HttpResponse::new(200, tickers_json.as_bytes())).map_err(|e| format!("tickers: {e}"))?;
    Ok((accounts, tickers))
}

fn value(accounts: &[BenchAccount], tickers: &[Ticker], quote: &str) -> Snapshot {
    let inputs: Vec<AccountBalances<'_>> = accounts
        .iter()
        .map(|account| AccountBalances {
            id: &account.id,
            label: &account.label,
            exchange: Some(ExchangeId::Bitso),
            balances: &account.balances,
            synced_at: Some(0),
            error: None,
        })
        .collect();
    build_snapshot(&inputs, tickers, quote, 0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, accounts_path, tickers_path, quote, iterations, runs] = args.as_slice() else {
        return Err("usage: bench_valuation <accounts.json> <tickers.json> <quote> <iterations> <runs>".into());
    };
    let accounts_json = std::fs::read_to_string(accounts_path)?;
    let tickers_json = std::fs::read_to_string(tickers_path)?;
    let (iterations, runs): (u32, u32) = (iterations.parse()?, runs.parse()?);

    let (accounts, tickers) = parse(&accounts_json, &tickers_json)?;
    let snapshot = value(&accounts, &tickers, quote);

    let value_ns = time_runs(iterations, runs, || {
        black_box(value(black_box(&accounts), black_box(&tickers), quote));
        Ok(())
    })?;
    let pipeline_ns = time_runs(iterations, runs, || {
        let (accounts, tickers) = parse(black_box(&accounts_json), black_box(&tickers_json))?;
        black_box(serde_json::to_string(&value(&accounts, &tickers, quote))?);
        Ok(())
    })?;

    let report = serde_json::json!({
        "value_ns": value_ns,
        "pipeline_ns": pipeline_ns,
        "iterations": iterations,
        "total": snapshot.total.normalize().to_string(),
        "assets": snapshot.assets.len(),
        "unpriced": snapshot.unpriced.len(),
        "accounts": accounts.len(),
        "balances": accounts.iter().map(|account| account.balances.len()).sum::<usize>(),
        "books": tickers.len(),
    });
    println!("{report}");
    Ok(())
}
