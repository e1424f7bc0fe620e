//! A feed's title as plain text: tags stripped, character references decoded, whitespace folded.
//!
//! Feeds put HTML in titles more often than the formats allow: WordPress writes `&#8217;` inside
//! CDATA, Atom's `type="html"` titles are escaped markup, some feeds double-escape (`&amp;amp;`).
//! A title is therefore read as a fragment of HTML once the XML layer has been decoded: tags go,
//! references are decoded, and what is left is only ever shown as text (the pages set
//! `textContent`), so nothing a feed sends is rendered as markup.

/// The longest title kept, in characters; longer ones end with "…".
pub const MAX_TITLE_CHARS: usize = 300;

/// `html` as plain text: references decoded, then tags removed (so escaped markup such as
/// `&lt;b&gt;` goes too), control characters dropped, runs of whitespace folded into one space, at
/// most [`MAX_TITLE_CHARS`] characters.
pub fn plain_text(html: &str) -> String {
    let decoded = strip_tags(&decode_references(html));
    let visible = decoded.chars().filter(|&c| c.is_whitespace() || !(c.is_control() || is_invisible_format(c)));
    let mut words = String::with_capacity(decoded.len());
    for c in visible {
        if !c.is_whitespace() {
            words.push(c);
        } else if !words.is_empty() && !words.ends_with(' ') {
            words.push(' ');
        }
    }
    let folded = words.trim_end();
    match folded.char_indices().nth(MAX_TITLE_CHARS - 1) {
        Some((cut, _)) if folded[cut..].chars().nth(1).is_some() => format!("{}…", folded[..cut].trim_end()),
        _ => folded.to_owned(),
    }
}

/// Bidirectional overrides and zero-width characters, which could make a title display as other
/// text than it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `html` without its tags and comments. A `<` that does not open a tag ("BTC < 100k") stays.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let opens_markup = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !opens_markup {
            text.push('<');
            rest = after;
            continue;
        }
        let end = if after.starts_with("!--") { after.find("-->").map(|i| i + 3) } else { after.find('>').map(|i| i + 1) };
        match end {
            Some(end) => {
                // A block's edge is a break between words ("<p>a</p><p>b</p>" reads "a b"); an
                // inline tag is not ("<b>hoje</b>:" reads "hoje:").
                if breaks_words(&after[..end]) {
                    text.push(' ');
                }
                rest = &after[end..];
            }
            // An unclosed tag runs to the end: nothing after it is text.
            None => rest = "",
        }
    }
    text.push_str(rest);
    text
}

/// Whether a tag (the text after its `<`) starts or ends a block or a line.
fn breaks_words(tag: &str) -> bool {
    let name: String = tag.trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
    matches!(
        name.to_ascii_lowercase().as_str(),
        "br" | "p" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "tr" | "td" | "hr"
    )
}

/// `text` with its character references (`&#8217;`, `&#x20AC;`, `&amp;`, `&nbsp;`…) decoded.
/// Unknown or malformed references stay as written.
pub fn decode_references(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        decoded.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(';').filter(|&end| end <= 32).and_then(|end| Some((reference(&after[..end])?, end))) {
            Some((c, end)) => {
                decoded.push(c);
                rest = &after[end + 1..];
            }
            None => {
                decoded.push('&');
                rest = after;
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// The character a reference's name (between `&` and `;`) stands for.
pub fn reference(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        // NUL and surrogates are not characters; U+FFFD stands in, as HTML does.
        return Some(char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{FFFD}'));
    }
    NAMED.binary_search_by(|(entity, _)| entity.cmp(&name)).ok().map(|i| NAMED[i].1)
}

/// XML's five entities and the HTML ones that news titles in English, Spanish and Portuguese use,
/// sorted by name for the binary search.
const NAMED: [(&str, char); 70] = [
    ("AElig", 'Æ'), ("Aacute", 'Á'), ("Acirc", 'Â'), ("Agrave", 'À'), ("Atilde", 'Ã'), ("Ccedil", 'Ç'),
    ("Eacute", 'É'), ("Ecirc", 'Ê'), ("Iacute", 'Í'), ("Ntilde", 'Ñ'), ("Oacute", 'Ó'), ("Ocirc", 'Ô'),
    ("Otilde", 'Õ'), ("Uacute", 'Ú'), ("Uuml", 'Ü'), ("aacute", 'á'), ("acirc", 'â'), ("aelig", 'æ'),
    ("agrave", 'à'), ("amp", '&'), ("apos", '\''), ("atilde", 'ã'), ("bdquo", '„'), ("bull", '•'),
    ("ccedil", 'ç'), ("cent", '¢'), ("copy", '©'), ("deg", '°'), ("divide", '÷'), ("eacute", 'é'), ("ecirc", 'ê'),
    ("egrave", 'è'), ("euro", '€'), ("gt", '>'), ("hellip", '…'), ("iacute", 'í'), ("iexcl", '¡'),
    ("iquest", '¿'), ("laquo", '«'), ("ldquo", '“'), ("lsquo", '‘'), ("lt", '<'), ("mdash", '—'),
    ("middot", '·'), ("nbsp", '\u{A0}'), ("ndash", '–'), ("ntilde", 'ñ'), ("oacute", 'ó'), ("ocirc", 'ô'),
    ("ordf", 'ª'), ("ordm", 'º'), ("otilde", 'õ'), ("percnt", '%'), ("pound", '£'), ("quot", '"'), ("raquo", '»'),
    ("rdquo", '”'), ("reg", '®'), ("rsquo", '’'), ("sbquo", '‚'), ("sect", '§'), ("shy", '\u{AD}'),
    ("thinsp", '\u{2009}'), ("times", '×'), ("trade", '™'), ("uacute", 'ú'), ("uuml", 'ü'), ("yen", '¥'),
    ("zwj", '\u{200D}'), ("zwnj", '\u{200C}'),
];

#[cfg(test)]
mod tests;
