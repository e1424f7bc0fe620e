use proptest::prelude::*;

use super::*;

#[test]
fn references_decode_and_unknown_ones_stay() {
    assert_eq!(plain_text("Traders Aren&#8217;t Convinced&#8212;Yet"), "Traders Aren’t Convinced—Yet");
    assert_eq!(plain_text("Pre&ccedil;o &amp; an&aacute;lise &#x20AC;5"), "Preço & análise €5");
    assert_eq!(plain_text("&bogus; &#xZZ; &#; &"), "&bogus; &#xZZ; &#; &");
    assert_eq!(plain_text("&#0;&#xD800;"), "\u{FFFD}\u{FFFD}");
}

#[test]
fn tags_go_and_escaped_markup_too() {
    assert_eq!(plain_text("<p>Bitcoin</p><p>sube</p>"), "Bitcoin sube");
    assert_eq!(plain_text("Pre&ccedil;o &lt;b&gt;hoje&lt;/b&gt;"), "Preço hoje");
    assert_eq!(plain_text("<!-- a > b --> kept"), "kept");
    assert_eq!(plain_text("BTC < 100k and 1 <3 ETH"), "BTC < 100k and 1 <3 ETH");
    assert_eq!(plain_text("cut <span class=\"x"), "cut");
    assert_eq!(plain_text("&lt;script&gt;alert(1)&lt;/script&gt;"), "alert(1)");
}

#[test]
fn whitespace_folds_and_invisible_characters_go() {
    assert_eq!(plain_text("\n\t  Bitcoin \u{A0}\u{A0} sube  \r\n"), "Bitcoin sube");
    assert_eq!(plain_text("a\u{202E}b\u{200B}c\u{7}d"), "abcd");
}

#[test]
fn long_titles_end_with_an_ellipsis() {
    let long = "x".repeat(MAX_TITLE_CHARS * 3);
    let text = plain_text(&long);
    assert_eq!(text.chars().count(), MAX_TITLE_CHARS);
    assert!(text.ends_with('…'));
    assert_eq!(plain_text(&"y".repeat(MAX_TITLE_CHARS)), "y".repeat(MAX_TITLE_CHARS));
}

#[test]
fn the_entity_table_is_sorted_for_its_search() {
    assert!(NAMED.windows(2).all(|pair| pair[0].0 < pair[1].0));
}

proptest! {
    #[test]
    fn any_text_gives_short_plain_text(input in ".{0,2000}") {
        let text = plain_text(&input);
        prop_assert!(text.chars().count() <= MAX_TITLE_CHARS);
        prop_assert!(!text.chars().any(|c| c.is_control()));
        prop_assert_eq!(text.trim(), text.as_str());
    }

    #[test]
    fn markup_never_survives(words in proptest::collection::vec("[a-z]{1,8}", 1..8)) {
        let html: String = words.iter().map(|w| format!("<b class=\"{w}\">{w}</b>")).collect();
        prop_assert!(!plain_text(&html).contains(['<', '>']));
    }
}
