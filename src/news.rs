//! News about what the user holds, from the publishers the user picks.
//!
//! Off until the user turns it on and ticks publishers ([`Choice`], storage key `news`). The
//! background then fetches each chosen feed on its own alarm (every [`REFRESH_MINUTES`], only
//! while news is on), reading at most [`MAX_FEED_BYTES`] of it, and hands the answer here:
//! [`read_answer`] turns it into headlines or a per-feed error, [`merge`] keeps the newest
//! [`MAX_ITEMS`] of all feeds (storage key `newsItems`), and [`view`] orders them for the popup,
//! the ones about held assets first ([`matching`]). The request is the only thing sent: no cookie,
//! no referrer, nothing about the portfolio, whose matching happens here, on the device.

pub mod date;
pub mod feed;
pub mod matching;
pub mod publishers;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use feed::{Headline, read_feed, web_link};
use publishers::{PUBLISHERS, publisher};

/// The most items kept, all feeds together, and the most read from one feed.
pub const MAX_ITEMS: usize = 200;

/// The most bytes of one feed read; past it the read stops and the feed is "too large". Real
/// feeds with full articles inside run to a few hundred kilobytes.
pub const MAX_FEED_BYTES: usize = 4 * 1024 * 1024;

/// How often the feeds are fetched while news is on, in minutes.
pub const REFRESH_MINUTES: u32 = 30;

/// A date further ahead than this (a wrong clock at the publisher) is not believed.
const FUTURE_SLACK_MS: u64 = 24 * 60 * 60 * 1000;

/// A language news is offered and matched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En = 0,
    /// Spanish.
    Es = 1,
    /// Portuguese.
    Pt = 2,
}

impl Lang {
    /// The language of a browser's UI language tag ("es-419", "pt-BR", "en-US"); English for any
    /// other.
    pub fn of_ui(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "es" => Lang::Es,
            "pt" => Lang::Pt,
            _ => Lang::En,
        }
    }
}

/// Whether news is on and which publishers the user ticked (storage key `news`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Choice {
    /// The "Show news" switch.
    pub enabled: bool,
    /// Ticked publishers' ids, in the order of [`PUBLISHERS`].
    pub publishers: Vec<String>,
}

impl Choice {
    /// The choice with only known publishers, each once, in the table's order; an unknown id is
    /// refused.
    pub fn checked(self) -> Result<Choice> {
        if self.publishers.iter().any(|id| publisher(id).is_none()) {
            return Err(Error::InvalidInput { field: "news" });
        }
        let publishers = PUBLISHERS.iter().filter(|p| self.publishers.iter().any(|id| id == p.id)).map(|p| p.id.to_owned()).collect();
        Ok(Choice { enabled: self.enabled, publishers })
    }

    /// The publishers whose feeds are fetched now: none while news is off.
    pub fn fetched(&self) -> Vec<&str> {
        if self.enabled { self.publishers.iter().map(String::as_str).collect() } else { Vec::new() }
    }
}

/// A headline as stored (storage key `newsItems`, newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredItem {
    /// The publisher's id.
    pub publisher: String,
    /// Plain text.
    pub title: String,
    /// http or https only.
    pub link: String,
    /// When the feed says it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<u64>,
    /// When Cartera first read it: the item's time when the feed gives none.
    pub seen_at: u64,
}

impl StoredItem {
    /// The time it is sorted by.
    fn at(&self) -> u64 {
        self.published_at.unwrap_or(self.seen_at)
    }
}

/// An item as the popup shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownItem<'a> {
    /// The publisher's id (the page shows its name).
    pub publisher: &'a str,
    /// Plain text.
    pub title: &'a str,
    /// http or https only, checked again as it is shown.
    pub link: &'a str,
    /// The time shown: published, else first seen.
    pub at: u64,
    /// The held assets it is about, as the portfolio writes their codes.
    pub assets: Vec<&'a str>,
}

/// What a feed's answer gives: its headlines, or why it gives none. `cut_short` says the read
/// stopped at [`MAX_FEED_BYTES`].
pub fn read_answer(status: u16, body: &[u8], cut_short: bool) -> Result<Vec<Headline>> {
    if !(200..300).contains(&status) {
        return Err(Error::FeedUnavailable { status });
    }
    if cut_short || body.len() > MAX_FEED_BYTES {
        return Err(Error::FeedTooLarge);
    }
    // Every publisher here writes UTF-8; a stray invalid byte only spoils its own character.
    read_feed(&String::from_utf8_lossy(body)).map_err(|_| Error::FeedNotAFeed)
}

/// `stored` with `publisher`'s fresh headlines merged in (an item already kept keeps the time it
/// was first seen), newest first, at most [`MAX_ITEMS`].
pub fn merge(mut stored: Vec<StoredItem>, publisher: &str, fresh: Vec<Headline>, now_ms: u64) -> Vec<StoredItem> {
    for headline in fresh {
        let published_at = headline.published_at.filter(|&at| at <= now_ms.saturating_add(FUTURE_SLACK_MS));
        match stored.iter_mut().find(|item| item.publisher == publisher && item.link == headline.link) {
            Some(item) => {
                item.title = headline.title;
                item.published_at = published_at;
            }
            None => stored.push(StoredItem {
                publisher: publisher.to_owned(),
                title: headline.title,
                link: headline.link,
                published_at,
                seen_at: now_ms,
            }),
        }
    }
    newest_first(&mut stored);
    stored.truncate(MAX_ITEMS);
    stored
}

/// `stored` without the items of publishers no longer chosen (all of them while news is off).
pub fn keep_chosen(mut stored: Vec<StoredItem>, choice: &Choice) -> Vec<StoredItem> {
    let fetched = choice.fetched();
    stored.retain(|item| fetched.contains(&item.publisher.as_str()));
    stored
}

/// The codes of held assets as matching takes them: in capitals (the core stores them in lower
/// case), each once.
pub fn held_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut held: Vec<String> = Vec::new();
    for code in codes.into_iter().map(str::to_ascii_uppercase) {
        if !held.contains(&code) {
            held.push(code);
        }
    }
    held
}

/// The items for the popup: those about a `held` asset (codes in capitals, [`held_codes`]) first,
/// then the rest, each part in the stored order (newest first). Items whose link is not http(s) (storage edited by hand) are left out.
pub fn view<'a>(stored: &'a [StoredItem], held: &'a [String], lang: Lang) -> Vec<ShownItem<'a>> {
    let shown = stored
        .iter()
        .filter(|item| web_link(&item.link).is_some() && publisher(&item.publisher).is_some())
        .map(|item| ShownItem {
            publisher: &item.publisher,
            title: &item.title,
            link: &item.link,
            at: item.at(),
            assets: matching::assets_in(&item.title, held, lang),
        });
    // Stored items are newest first already ([`merge`]): splitting keeps that order in each part.
    let (mut about_held, rest): (Vec<_>, Vec<_>) = shown.partition(|item| !item.assets.is_empty());
    about_held.extend(rest);
    about_held
}

/// Newest first; items of the same time in a fixed order, so the same items always store alike.
fn newest_first(items: &mut [StoredItem]) {
    items.sort_unstable_by(|a, b| b.at().cmp(&a.at()).then_with(|| a.publisher.cmp(&b.publisher)).then_with(|| a.link.cmp(&b.link)));
}

#[cfg(test)]
mod tests;
