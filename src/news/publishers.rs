//! The publishers whose feeds Cartera can read: one host each, asked for only when the user
//! ticks the publisher (the manifest lists them as optional host permissions, and the pages' CSP
//! lets them be fetched; `registry_tests` checks both against this table).
//!
//! Each feed URL is the publisher's own, as public code that reads these feeds uses it; none goes
//! through an aggregator or a proxy.

use serde::Serialize;

use super::Lang;

/// A news publisher and its feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Publisher {
    /// Stable id, stored in the user's choice.
    pub id: &'static str,
    /// The publisher's name as it writes it (the same in every language).
    pub name: &'static str,
    /// The language it writes in: the options page offers a language's publishers first.
    pub lang: Lang,
    /// The feed, fetched with a plain GET.
    pub feed: &'static str,
}

impl Publisher {
    /// The feed's host: the only one asked for when the publisher is ticked.
    pub fn host(&self) -> &'static str {
        let rest = self.feed.strip_prefix("https://").unwrap_or(self.feed);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The match pattern of the host permission the publisher needs.
    pub fn origin(&self) -> String {
        format!("https://{}/*", self.host())
    }
}

/// Every publisher, in the order the options page lists each language's.
pub const PUBLISHERS: [Publisher; 6] = [
    Publisher { id: "coindesk", name: "CoinDesk", lang: Lang::En, feed: "https://www.coindesk.com/arc/outboundfeeds/rss/" },
    Publisher { id: "decrypt", name: "Decrypt", lang: Lang::En, feed: "https://decrypt.co/feed" },
    Publisher { id: "theblock", name: "The Block", lang: Lang::En, feed: "https://www.theblock.co/rss.xml" },
    Publisher { id: "criptonoticias", name: "CriptoNoticias", lang: Lang::Es, feed: "https://www.criptonoticias.com/feed/" },
    Publisher { id: "livecoins", name: "Livecoins", lang: Lang::Pt, feed: "https://livecoins.com.br/feed/" },
    Publisher { id: "cointelegraph-br", name: "Cointelegraph Brasil", lang: Lang::Pt, feed: "https://br.cointelegraph.com/rss" },
];

/// The publisher with this id.
pub fn publisher(id: &str) -> Option<&'static Publisher> {
    PUBLISHERS.iter().find(|publisher| publisher.id == id)
}
