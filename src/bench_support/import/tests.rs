use std::cell::RefCell;

use super::*;

/// 2025-11-24T16:00:00Z.
const NOW: u64 = 1_764_000_000_000;
const ROUND_TRIP_MS: u64 = 200;

/// A Bitso ledger of `rows` deposits, one a minute, served as Bitso pages it (`sort=asc`, after
/// `marker`, `limit` rows).
fn ledger_answer(rows: usize, request: &HttpRequest) -> Answer {
    let query = request.url.split_once('?').map_or("", |(_, query)| query);
    let param = |name: &str| query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='));
    let limit: usize = param("limit").and_then(|limit| limit.parse().ok()).unwrap_or(25);
    let from = param("marker").and_then(|marker| marker.strip_prefix('e')?.parse::<usize>().ok()).map_or(0, |index| index + 1);
    let page: Vec<String> = (from..rows.min(from + limit))
        .map(|index| {
            format!(
                r#"{{"eid":"e{index}","operation":"funding","created_at":"2025-01-03T{:02}:{:02}:00.000+00:00","balance_updates":[{{"currency":"mxn","amount":"100.00"}}]}}"#,
                index / 60,
                index % 60
            )
        })
        .collect();
    Ok(OwnedResponse { status: 200, body: format!(r#"{{"success":true,"payload":[{}]}}"#, page.join(",")).into_bytes(), retry_after: None })
}

fn credentials() -> Credentials {
    Credentials::new("bench-key", "bench-secret").unwrap_or_else(|error| panic!("{error:?}"))
}

#[test]
fn pages_cost_a_round_trip_per_request_and_the_exchange_reads_them_halfway() {
    let seen = RefCell::new(Vec::new());
    let import = HistoryImport::new(ExchangeId::Bitso, "acct-1", &credentials(), ROUND_TRIP_MS, |request: &HttpRequest, at| {
        seen.borrow_mut().push((request.url.clone(), at, request.header("Authorization").map(str::to_owned)));
        ledger_answer(150, request)
    })
    .unwrap_or_else(|error| panic!("{error}"));

    let first = import.page(None, None, NOW).unwrap_or_else(|error| panic!("{error}"));
    let page = first.page.as_ref().ok().and_then(Option::as_ref).unwrap_or_else(|| panic!("{first:?}"));
    assert_eq!((page.transactions.len(), page.caught_up, page.wait_ms), (100, false, 400));
    assert_eq!((first.requests, first.finished_at_ms), (1, NOW + ROUND_TRIP_MS));
    assert!(first.last_nonce.is_some());

    let later = first.finished_at_ms + page.wait_ms;
    let second = import.page(Some(&page.cursor), first.last_nonce, later).unwrap_or_else(|error| panic!("{error}"));
    let last = second.page.as_ref().ok().and_then(Option::as_ref).unwrap_or_else(|| panic!("{second:?}"));
    assert_eq!((last.transactions.len(), last.caught_up, second.requests), (50, true, 1));
    assert!(second.last_nonce > first.last_nonce, "each page spends a newer nonce");

    let seen = seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, NOW + ROUND_TRIP_MS / 2);
    assert_eq!(seen[1].1, later + ROUND_TRIP_MS / 2);
    assert!(seen[1].0.ends_with("&marker=e99"), "{}", seen[1].0);
    assert!(seen.iter().all(|(_, _, authorization)| authorization.as_deref().is_some_and(|value| value.starts_with("Bitso bench-key:"))));

    let json = second.to_json();
    assert_eq!(json["page"]["caughtUp"], true);
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["finishedAt"], later + ROUND_TRIP_MS);
}

#[test]
fn a_rate_limit_or_a_redirect_ends_the_page_with_its_error() {
    let limited = HistoryImport::new(ExchangeId::Bitso, "acct-1", &credentials(), ROUND_TRIP_MS, |_: &HttpRequest, _| {
        Ok(OwnedResponse {
            status: 420,
            body: br#"{"success":false,"error":{"code":"0801","message":"rate limit"}}"#.to_vec(),
            retry_after: None,
        })
    })
    .unwrap_or_else(|error| panic!("{error}"));
    let outcome = limited.page(None, None, NOW).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(outcome.to_json()["error"]["code"], "rate_limited");
    assert_eq!(outcome.requests, 1);

    let redirected = HistoryImport::new(ExchangeId::Bitso, "acct-1", &credentials(), ROUND_TRIP_MS, |_: &HttpRequest, _| {
        Ok(OwnedResponse { status: 302, body: Vec::new(), retry_after: None })
    })
    .unwrap_or_else(|error| panic!("{error}"));
    let outcome = redirected.page(None, None, NOW).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(outcome.to_json()["error"]["code"], "offline");
}
