use super::*;

const NOW: u64 = 1_796_479_391_000;
const HOUR: u64 = 3_600_000;

fn headline(title: &str, link: &str, published_at: Option<u64>) -> Headline {
    Headline { title: title.into(), link: link.into(), published_at }
}

fn held(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|&code| code.to_owned()).collect()
}

#[test]
fn answers_that_give_no_headlines_say_why() {
    assert_eq!(read_answer(404, b"<html/>", false), Err(Error::FeedUnavailable { status: 404 }));
    assert_eq!(read_answer(503, b"", false), Err(Error::FeedUnavailable { status: 503 }));
    assert_eq!(read_answer(200, b"<rss><channel>", true), Err(Error::FeedTooLarge));
    assert_eq!(read_answer(200, b"<!doctype html><html></html>", false), Err(Error::FeedNotAFeed));
    assert_eq!(read_answer(200, b"<rss><channel></channel></rss>", false), Ok(vec![]));
    // Invalid UTF-8 spoils only its own character.
    let body = b"<rss><channel><item><title>Bitcoin \xFF sube</title><link>https://x.example/</link></item></channel></rss>";
    assert_eq!(read_answer(200, body, false).map(|h| h[0].title.clone()), Ok("Bitcoin \u{FFFD} sube".into()));
}

#[test]
fn merging_keeps_the_newest_and_the_first_sight_of_each() {
    let first = merge(Vec::new(), "coindesk", vec![headline("A", "https://x.example/a", Some(NOW - HOUR)), headline("B", "https://x.example/b", None)], NOW);
    assert_eq!(first.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["B", "A"]);
    let later = merge(first, "coindesk", vec![headline("B, edited", "https://x.example/b", None)], NOW + HOUR);
    assert_eq!(later[0].title, "B, edited");
    assert_eq!(later[0].seen_at, NOW, "an item keeps the time it was first seen");
    // The same link from another publisher is another item.
    let both = merge(later, "decrypt", vec![headline("B", "https://x.example/b", Some(NOW + 2 * HOUR))], NOW + 2 * HOUR);
    assert_eq!(both.len(), 3);
    assert_eq!(both[0].publisher, "decrypt");
}

#[test]
fn dates_far_in_the_future_are_not_believed() {
    let items = merge(Vec::new(), "coindesk", vec![headline("A", "https://x.example/a", Some(NOW + 30 * 24 * HOUR))], NOW);
    assert_eq!(items[0].published_at, None);
    assert_eq!(items[0].at(), NOW);
}

#[test]
fn storage_is_bounded() {
    let mut items = Vec::new();
    for round in 0..5u64 {
        let fresh = (0..MAX_ITEMS as u64).map(|i| headline("T", &format!("https://x.example/{round}/{i}"), Some(NOW + round * HOUR + i))).collect();
        items = merge(items, "coindesk", fresh, NOW + round * HOUR);
        assert!(items.len() <= MAX_ITEMS);
    }
    assert!(items.iter().all(|item| item.link.starts_with("https://x.example/4/")), "only the newest are kept");
}

#[test]
fn only_chosen_publishers_items_stay_and_none_while_off() {
    let items = merge(Vec::new(), "coindesk", vec![headline("A", "https://x.example/a", None)], NOW);
    let items = merge(items, "decrypt", vec![headline("B", "https://x.example/b", None)], NOW);
    let choice = Choice { enabled: true, publishers: vec!["decrypt".into()] };
    assert_eq!(keep_chosen(items.clone(), &choice).iter().map(|i| i.publisher.as_str()).collect::<Vec<_>>(), ["decrypt"]);
    assert!(keep_chosen(items, &Choice { enabled: false, ..choice }).is_empty());
}

#[test]
fn the_view_puts_what_is_held_first_then_the_rest_newest_first() {
    let items = merge(Vec::new(), "coindesk", vec![
        headline("Markets wait on jobs data", "https://x.example/1", Some(NOW)),
        headline("Bitcoin tops $140K", "https://x.example/2", Some(NOW - 3 * HOUR)),
        headline("Solana & XRP ETFs delayed", "https://x.example/3", Some(NOW - HOUR)),
        headline("Cardano upgrade", "https://x.example/4", Some(NOW - 2 * HOUR)),
    ], NOW);
    let held = held(&["BTC", "SOL", "MXN"]);
    let shown = view(&items, &held, Lang::En);
    let titles: Vec<&str> = shown.iter().map(|item| item.title).collect();
    assert_eq!(titles, ["Solana & XRP ETFs delayed", "Bitcoin tops $140K", "Markets wait on jobs data", "Cardano upgrade"]);
    assert_eq!(shown[0].assets, ["SOL"]);
    assert!(shown[2].assets.is_empty());
}

#[test]
fn the_view_shows_no_link_that_is_not_http_and_no_unknown_publisher() {
    let mut items = merge(Vec::new(), "coindesk", vec![headline("A", "https://x.example/a", None)], NOW);
    items.push(StoredItem { publisher: "coindesk".into(), title: "B".into(), link: "javascript:alert(1)".into(), published_at: None, seen_at: NOW });
    items.push(StoredItem { publisher: "elsewhere".into(), title: "C".into(), link: "https://x.example/c".into(), published_at: None, seen_at: NOW });
    let shown = view(&items, &[], Lang::En);
    assert_eq!(shown.iter().map(|item| item.title).collect::<Vec<_>>(), ["A"]);
}

#[test]
fn the_choice_takes_known_publishers_once_in_order() {
    let choice = Choice { enabled: true, publishers: vec!["decrypt".into(), "coindesk".into(), "decrypt".into()] };
    assert_eq!(choice.checked().map(|c| c.publishers), Ok(vec!["coindesk".to_owned(), "decrypt".to_owned()]));
    let unknown = Choice { enabled: true, publishers: vec!["evil.example".into()] };
    assert_eq!(unknown.checked(), Err(Error::InvalidInput { field: "news" }));
    assert!(serde_json::from_str::<Choice>(r#"{"enabled":true,"publishers":[],"extra":1}"#).is_err());
    assert_eq!(Choice::default().fetched(), Vec::<&str>::new());
}

#[test]
fn ui_languages() {
    assert_eq!(Lang::of_ui("es-419"), Lang::Es);
    assert_eq!(Lang::of_ui("pt_BR"), Lang::Pt);
    assert_eq!(Lang::of_ui("en-US"), Lang::En);
    assert_eq!(Lang::of_ui("fr"), Lang::En);
}

#[test]
fn every_publisher_has_its_own_https_host_and_one_fixture() {
    let mut hosts: Vec<&str> = PUBLISHERS.iter().map(|p| p.host()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    assert_eq!(hosts.len(), PUBLISHERS.len());
    for publisher in PUBLISHERS {
        assert!(publisher.feed.starts_with("https://"), "{}", publisher.id);
        assert_eq!(publisher.origin(), format!("https://{}/*", publisher.host()));
        let path = format!("{}/src/news/fixtures/{}.xml", env!("CARGO_MANIFEST_DIR"), publisher.id);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let headlines = read_answer(200, text.as_bytes(), false).unwrap_or_else(|e| panic!("{}: {e}", publisher.id));
        assert!(headlines.len() >= 3, "{}", publisher.id);
        assert!(headlines.iter().all(|h| h.link.starts_with(&format!("https://{}/", publisher.host()))), "{}", publisher.id);
    }
}

#[test]
fn held_codes_are_capitals_each_once() {
    assert_eq!(held_codes(["btc", "eth", "BTC", "mxn"]), ["BTC", "ETH", "MXN"]);
}
