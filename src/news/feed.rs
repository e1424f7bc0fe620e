//! Headlines out of an RSS 2.0, RSS 1.0 (RDF) or Atom document, read with `quick-xml`'s
//! streaming reader.
//!
//! Only what the popup shows is kept of each item: its title (as plain text, see
//! [`super::text`]), its link (http or https only) and its date. Descriptions, content and
//! images are skipped unread. The reader expands no DTD entities (no "billion laughs"), keeps no
//! tree (depth costs nothing), stops after [`MAX_ITEMS`] items, and a feed that breaks off halfway
//! still gives the items it completed, as feed readers do. A document whose root is not `rss`,
//! `feed` or `rdf:RDF` (a login page, a CDN's challenge) is not a feed.

use quick_xml::{Reader, events::Event};

use super::{MAX_ITEMS, date::parse_date, text};

/// One item of a feed, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// Plain text, never markup.
    pub title: String,
    /// The article, `http:` or `https:` only.
    pub link: String,
    /// When it was published, in ms since the epoch, when the feed says and it reads.
    pub published_at: Option<u64>,
}

/// Why a document gave no headlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Not RSS or Atom, or broken before its first item.
    NotAFeed,
}

/// Which format the root element named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
}

/// The item field being read: text inside it is collected until it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    /// RSS `<link>` text (Atom links are attributes).
    Link,
    /// `pubDate` (RSS 2.0) or `published` (Atom).
    Published,
    /// `dc:date` (RSS 1.0, some RSS 2.0) or `updated` (Atom): used when there is no published date.
    Updated,
}

/// What has been read of the item being read.
#[derive(Default)]
struct Item {
    title: String,
    link: Option<String>,
    /// Atom's `<link>` without `rel` or with `rel="alternate"`; an RSS `<link>` wins.
    alternate: Option<String>,
    /// `pubDate` or Atom's `published`; else `dc:date` or Atom's `updated`.
    published: Option<String>,
    updated: Option<String>,
}

impl Item {
    fn finish(self) -> Option<Headline> {
        let link = self.link.or(self.alternate).and_then(|link| web_link(&link))?;
        let title = text::plain_text(&self.title);
        if title.is_empty() {
            return None;
        }
        let published_at = self.published.or(self.updated).and_then(|date| parse_date(&date));
        Some(Headline { title, link, published_at })
    }
}

/// The headlines of `document`, at most [`MAX_ITEMS`], in the feed's order. Items without a
/// title or an http(s) link are left out.
pub fn read_feed(document: &str) -> Result<Vec<Headline>, Unreadable> {
    let mut reader = Reader::from_str(document);
    let mut format = None;
    let mut headlines = Vec::new();
    // Depth of the element being read: 1 is the root.
    let mut depth = 0usize;
    // The open item (or entry) and its depth.
    let mut item: Option<(Item, usize)> = None;
    // The field being read, its depth, and its text so far.
    let mut field: Option<(Field, usize, String)> = None;
    // A feed cut short or broken (an `Err`) keeps the items it completed.
    while let Ok(event) = reader.read_event() {
        let opens = matches!(event, Event::Start(_));
        match event {
            Event::Start(start) | Event::Empty(start) if format.is_none() => {
                format = Some(match start.name().as_ref() {
                    "rss" | "rdf:RDF" => Format::Rss,
                    "feed" => Format::Atom,
                    _ => return Err(Unreadable::NotAFeed),
                });
                depth += usize::from(opens);
            }
            Event::Start(start) => {
                depth += 1;
                let name = start.name();
                match &mut item {
                    None if matches!(name.as_ref(), "item" | "entry") => item = Some((Item::default(), depth)),
                    Some((open, item_depth)) if depth == *item_depth + 1 && field.is_none() => {
                        if name.as_ref() == "link" && format == Some(Format::Atom) {
                            take_atom_link(open, &start);
                        } else if let Some(kind) = field_of(name.as_ref()) {
                            field = Some((kind, depth, String::new()));
                        }
                    }
                    _ => {}
                }
            }
            Event::Empty(start) => {
                if let Some((open, item_depth)) = &mut item
                    && depth == *item_depth
                    && field.is_none()
                    && start.name().as_ref() == "link"
                {
                    take_atom_link(open, &start);
                }
            }
            Event::Text(content) => append(&mut field, &content),
            Event::CData(content) => append(&mut field, &content),
            Event::GeneralRef(reference) => {
                if let Some((_, _, text)) = &mut field {
                    // Kept as a reference when unknown (`&nbsp;` is not XML's): the title's HTML
                    // reading decodes it then.
                    match text::reference(&reference) {
                        Some(c) => text.push(c),
                        None => {
                            text.push('&');
                            text.push_str(&reference);
                            text.push(';');
                        }
                    }
                }
            }
            Event::End(_) => {
                if let Some((kind, _, text)) = field.take_if(|(_, field_depth, _)| *field_depth == depth)
                    && let Some((open, _)) = &mut item
                {
                    store(open, kind, text);
                }
                if let Some((open, _)) = item.take_if(|(_, item_depth)| *item_depth == depth) {
                    headlines.extend(open.finish());
                    if headlines.len() == MAX_ITEMS {
                        break;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match format {
        Some(_) => Ok(headlines),
        None => Err(Unreadable::NotAFeed),
    }
}

/// The item field an element of an item is.
fn field_of(name: &str) -> Option<Field> {
    match name {
        "title" => Some(Field::Title),
        "link" => Some(Field::Link),
        "pubDate" | "published" => Some(Field::Published),
        "dc:date" | "updated" => Some(Field::Updated),
        _ => None,
    }
}

fn append(field: &mut Option<(Field, usize, String)>, content: &str) {
    if let Some((_, _, text)) = field {
        text.push_str(content);
    }
}

fn store(item: &mut Item, kind: Field, text: String) {
    match kind {
        // Text, CDATA and references of one title (or markup inside an XHTML title) were joined
        // as they came; a second title is ignored.
        Field::Title if item.title.is_empty() => item.title = text,
        Field::Title => {}
        Field::Link => item.link = Some(text),
        Field::Published => item.published = Some(text),
        Field::Updated => item.updated = Some(text),
    }
}

/// Atom's `<link href="…"/>`: the article when it has no `rel` or `rel="alternate"`.
fn take_atom_link(item: &mut Item, start: &quick_xml::events::BytesStart<'_>) {
    let mut href = None;
    let mut alternate = true;
    // A duplicated attribute is the feed's mistake, not a reason to drop the link: no check (and
    // no hash set for it in the wasm).
    for attribute in start.attributes().with_checks(false).flatten() {
        match attribute.key.as_ref() {
            "href" => href = Some(text::decode_references(&attribute.value)),
            "rel" => alternate = attribute.value.as_ref() == "alternate",
            _ => {}
        }
    }
    if alternate && item.alternate.is_none() {
        item.alternate = href;
    }
}

/// `link` when it is an absolute http or https URL with a host, trimmed; anything else
/// (`javascript:`, `data:`, relative paths, spaces inside) is never shown.
pub fn web_link(link: &str) -> Option<String> {
    let link = link.trim();
    let rest = strip_prefix_ignore_case(link, "https://").or_else(|| strip_prefix_ignore_case(link, "http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let clean = link.len() <= 2048 && !link.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'));
    (host_ok && clean).then(|| link.to_owned())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests;
