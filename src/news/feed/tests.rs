use proptest::prelude::*;

use super::*;
use crate::news::date::parse_date;

fn fixture(name: &str) -> Vec<Headline> {
    let path = format!("{}/src/news/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    read_feed(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn titles(headlines: &[Headline]) -> Vec<&str> {
    headlines.iter().map(|h| h.title.as_str()).collect()
}

fn at(text: &str) -> Option<u64> {
    parse_date(text)
}

#[test]
fn coindesk_cdata_titles_and_guids_that_are_not_links() {
    let headlines = fixture("coindesk.xml");
    assert_eq!(headlines.len(), 5);
    assert_eq!(headlines[0].title, "Bitcoin Tops $140K as ETF Inflows Hit a Three-Week High");
    assert_eq!(headlines[0].link, "https://www.coindesk.com/markets/2026/12/05/bitcoin-tops-140k-as-etf-inflows-hit-a-three-week-high");
    assert_eq!(headlines[0].published_at, at("2026-12-05T14:03:11Z"));
    // The `&` inside CDATA is literal; media:description and content:encoded are not titles.
    assert_eq!(headlines[2].title, "SEC Delays Decision on Solana & XRP ETFs Until January");
}

#[test]
fn decrypt_plain_titles_with_character_references() {
    let headlines = fixture("decrypt.xml");
    assert_eq!(titles(&headlines), [
        "Dogecoin Jumps 12% as Meme Coins Wake Up—But Traders Aren’t Convinced",
        "Cardano & Polkadot Developers Agree on a Bridge Standard",
        "Near Record Highs, Gold Outshines Bitcoin in 2026—For Now",
        "What Is an AI Agent? A Beginner’s Guide",
    ]);
    assert_eq!(headlines[1].link, "https://decrypt.co/352101/cardano-polkadot-developers-bridge-standard");
}

#[test]
fn the_block_links_with_escaped_query_strings_and_named_zones() {
    let headlines = fixture("theblock.xml");
    assert_eq!(headlines.len(), 3);
    assert_eq!(headlines[0].link, "https://www.theblock.co/post/381204/arbitrum-dao-votes-gaming-program?utm_source=rss&utm_medium=rss");
    assert_eq!(headlines[0].published_at, at("2026-12-05T14:02:10Z"));
}

#[test]
fn criptonoticias_wordpress_rss_and_atom_agree() {
    let rss = fixture("criptonoticias.xml");
    let atom = fixture("criptonoticias-atom.xml");
    assert_eq!(rss[1].title, "“Algo cambió en el mercado”: analistas explican la subida de SOL");
    assert_eq!(titles(&rss[..3]), titles(&atom));
    assert_eq!(rss[0].link, atom[0].link);
    assert_eq!(rss[0].published_at, atom[0].published_at);
    // Atom: `published` wins over `updated`, offsets count, and `updated` stands in for it.
    assert_eq!(atom[1].published_at, at("2026-12-05T14:30:00Z"));
    assert_eq!(atom[2].published_at, at("2026-12-04T20:05:00Z"));
    // The `rel="replies"` links are not the article.
    assert!(atom.iter().all(|h| !h.link.contains("#respond") && !h.link.ends_with("/feed/atom/")));
}

#[test]
fn livecoins_wordpress_rss() {
    let headlines = fixture("livecoins.xml");
    assert_eq!(headlines[0].title, "Bitcoin sobe 3% e investidores brasileiros voltam às compras");
    assert_eq!(headlines.len(), 3);
}

#[test]
fn cointelegraph_brasil_html_entities_inside_cdata_and_a_missing_date() {
    let headlines = fixture("cointelegraph-br.xml");
    assert_eq!(titles(&headlines), [
        "XRP dispara 15% após Ripple fechar acordo com bancos brasileiros",
        "Preço do Bitcoin hoje: BTC testa suporte em US$ 138 mil",
        "Sei Network anuncia parceria; \"sei que vai subir\", diz trader",
    ]);
    assert_eq!(headlines[2].published_at, None);
}

#[test]
fn only_http_links_are_kept() {
    let feed = |link: &str| format!("<rss><channel><item><title>T</title><link>{link}</link></item></channel></rss>");
    for bad in ["javascript:alert(1)", "data:text/html,x", "/relative/path", "ftp://x.example/a", "https://", "https://exa mple.com/", "https://x.example/\"onclick"] {
        assert_eq!(read_feed(&feed(bad)), Ok(vec![]), "{bad}");
    }
    assert_eq!(read_feed(&feed("  HTTPS://x.example/a?b=1&amp;c=2#d  ")).map(|h| h[0].link.clone()), Ok("HTTPS://x.example/a?b=1&c=2#d".into()));
    assert_eq!(read_feed(&feed("http://x.example")).map(|h| h.len()), Ok(1));
}

#[test]
fn items_without_a_title_are_left_out() {
    let feed = "<rss><channel><item><title> <![CDATA[ ]]> </title><link>https://x.example/a</link></item></channel></rss>";
    assert_eq!(read_feed(feed), Ok(vec![]));
}

#[test]
fn what_is_not_a_feed_says_so() {
    for document in [
        "",
        "   ",
        "<!doctype html><html><head><title>Just a moment...</title></head><body></body></html>",
        "{\"items\": []}",
        "<?xml version=\"1.0\"?><error>forbidden</error>",
        "not xml at all",
    ] {
        assert_eq!(read_feed(document), Err(Unreadable::NotAFeed), "{document}");
    }
}

#[test]
fn a_feed_cut_short_keeps_the_items_it_completed() {
    let text = std::fs::read_to_string(format!("{}/src/news/fixtures/decrypt.xml", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default();
    let cut = &text[..text.find("Near Record Highs").unwrap_or(0)];
    assert_eq!(read_feed(cut).map(|h| h.len()), Ok(2));
    // Broken markup after two items: the two are kept.
    let broken = format!("{}</oops></channel></rss>", &text[..text.find("\t<item>\n\t\t<title>Near").unwrap_or(0)]);
    assert_eq!(read_feed(&broken).map(|h| h.len()), Ok(2));
}

#[test]
fn no_entity_of_a_doctype_is_expanded() {
    let feed = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
        <rss><channel><item><title>x &b; y</title><link>https://x.example/</link></item></channel></rss>"#;
    assert_eq!(read_feed(feed).map(|h| h[0].title.clone()), Ok("x &b; y".into()));
}

#[test]
fn a_huge_feed_gives_its_first_items_only() {
    let item = "<item><title>Bitcoin</title><link>https://x.example/a</link></item>";
    let feed = format!("<rss><channel>{}</channel></rss>", item.repeat(MAX_ITEMS * 5));
    assert_eq!(read_feed(&feed).map(|h| h.len()), Ok(MAX_ITEMS));
    // Deep nesting costs nothing: nothing is kept per level.
    let deep = format!("<rss><channel>{}{}{}</channel></rss>", "<x>".repeat(100_000), item, "</x>".repeat(100_000));
    assert_eq!(read_feed(&deep).map(|h| h.len()), Ok(1));
}

#[test]
fn rss_1_items_beside_the_channel() {
    let feed = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel rdf:about="https://x.example/"><title>X</title></channel>
        <item rdf:about="https://x.example/1"><title>One</title><link>https://x.example/1</link><dc:date>2026-12-05T14:03:11Z</dc:date></item>
        </rdf:RDF>"#;
    assert_eq!(read_feed(feed), Ok(vec![Headline { title: "One".into(), link: "https://x.example/1".into(), published_at: at("2026-12-05T14:03:11Z") }]));
}

#[test]
fn atom_xhtml_titles_and_links_without_rel() {
    let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>
        <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Solana <b>rallies</b></div></title>
        <link href="https://x.example/a"/><updated>2026-12-05T14:03:11Z</updated></entry></feed>"#;
    assert_eq!(read_feed(feed), Ok(vec![Headline { title: "Solana rallies".into(), link: "https://x.example/a".into(), published_at: at("2026-12-05T14:03:11Z") }]));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,3000}") {
        let _ = read_feed(&text);
    }

    #[test]
    fn arbitrary_markup_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("<rss>".to_owned()), Just("<feed>".to_owned()), Just("<item>".to_owned()), Just("</item>".to_owned()),
            Just("<entry>".to_owned()), Just("</entry>".to_owned()), Just("<title>".to_owned()), Just("</title>".to_owned()),
            Just("<link href=\"https://x.example/\"/>".to_owned()), Just("<link>".to_owned()), Just("</link>".to_owned()),
            Just("<![CDATA[".to_owned()), Just("]]>".to_owned()), Just("&amp;".to_owned()), Just("&#x1F600;".to_owned()),
            Just("&nbsp;".to_owned()), Just("<pubDate>".to_owned()), Just("</pubDate>".to_owned()), "[ -~]{0,12}",
        ],
        0..80,
    )) {
        let document: String = parts.concat();
        if let Ok(headlines) = read_feed(&document) {
            prop_assert!(headlines.len() <= MAX_ITEMS);
            for headline in headlines {
                prop_assert!(web_link(&headline.link).is_some());
                prop_assert!(!headline.title.is_empty());
            }
        }
    }
}
