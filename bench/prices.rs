//! Native "prices at scale" timing for `./build.sh bench`.
//!
//! `bench_prices <canned.txt> <accounts.json> <quote> <iterations> <runs>` reads the canned
//! price answers and the accounts bench/prices.mjs wrote, and prints one JSON line: per-run
//! nanoseconds per iteration of the work `benchPrices` loops inside wasm (every exchange's price
//! flow, then the snapshot; `core_ns`), of the whole call (split the canned text, read the
//! accounts, that work, the summary as JSON; `pipeline_ns`), and the summary the caller checks
//! against the wasm build's.

use std::{error::Error, hint::black_box};

use cartera::bench_support::{as_inputs, prices_and_value, read_accounts, read_canned, summary, time_runs};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, canned_path, accounts_path, quote, iterations, runs] = args.as_slice() else {
        return Err("usage: bench_prices <canned.txt> <accounts.json> <quote> <iterations> <runs>".into());
    };
    let canned = std::fs::read_to_string(canned_path)?;
    let accounts_json = std::fs::read_to_string(accounts_path)?;
    let (iterations, runs): (u32, u32) = (iterations.parse()?, runs.parse()?);

    let answers = read_canned(&canned)?;
    let accounts = read_accounts(&accounts_json)?;
    let inputs = as_inputs(&accounts);
    let outcome = prices_and_value(&answers, &inputs, quote)?;

    let core_ns = time_runs(iterations, runs, || {
        black_box(prices_and_value(black_box(&answers), black_box(&inputs), quote)?);
        Ok(())
    })?;
    let pipeline_ns = time_runs(iterations, runs, || {
        let answers = read_canned(black_box(&canned))?;
        let accounts = read_accounts(black_box(&accounts_json))?;
        let outcome = prices_and_value(&answers, &as_inputs(&accounts), quote)?;
        black_box(summary(&outcome).to_string());
        Ok(())
    })?;

    let report = serde_json::json!({
        "core_ns": core_ns,
        "pipeline_ns": pipeline_ns,
        "iterations": iterations,
        "bytes": answers.iter().map(|answer| answer.body.len()).sum::<usize>(),
        "summary": summary(&outcome),
    });
    println!("{report}");
    Ok(())
}
