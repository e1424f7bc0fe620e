//! Cartera's core: exchange adapters, exact money, portfolio valuation and the vault.
//!
//! Everything here is pure and runs natively under `cargo test`. Only `transport` and
//! `bindings` touch the browser, and both compile for `wasm32` only. The core carries no
//! user-facing prose: errors and hints cross to JS as codes with parameters, and the sentences
//! live in `extension/_locales`.

pub mod alerts;
pub mod asset;
pub mod backup;
#[cfg(feature = "bench")]
pub mod bench_support;
pub mod calendar;
pub mod entropy;
pub mod error;
pub mod exchange;
pub mod exchange_id;
pub mod history;
pub mod http;
pub mod money;
pub mod news;
pub mod nonce;
pub mod pages;
pub mod passphrase;
pub mod pnl;
pub mod portfolio;
pub mod price_history;
pub mod profile;
pub mod refresh;
pub mod schedule;
pub mod sealing;
pub mod secret;
pub mod signing;
pub mod settle;
pub mod stored;
pub mod transactions;
pub mod valuation;
pub mod vault;

#[cfg(test)]
mod formats_tests;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod transport;
