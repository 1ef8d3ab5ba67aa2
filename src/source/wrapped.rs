//! A feed served inside an HTML page: some servers (and "view source" style proxies) wrap the
//! RSS or Atom document in `<html><body>…</body></html>`, either as raw markup or escaped inside
//! a `<pre>` (`&lt;rss …&gt;`). Like Python's feedparser, wirewatch reads the feed out of the
//! wrapper rather than calling the body an HTML page.
//!
//! Only a complete feed element counts — an opening `<rss`/`<feed`/`<rdf:RDF` with its closing
//! tag and at least one item or entry between them — so an ordinary page that merely links to
//! its feed (`<link type="application/rss+xml">`) is still reported as an HTML page.

use super::xml::has_entry_tags;

const ROOTS: &[(&str, &str)] = &[
    ("rss", "</rss>"),
    ("feed", "</feed>"),
    ("rdf:RDF", "</rdf:RDF>"),
];

/// The feed document inside an HTML page, if the page holds one.
pub fn feed_inside_html(html: &str) -> Option<String> {
    if let Some(feed) = raw_feed(html) {
        return Some(feed.to_string());
    }
    escaped_feed(html)
}

fn raw_feed(html: &str) -> Option<&str> {
    ROOTS.iter().find_map(|(name, close)| {
        let start = find_open_tag(html, &format!("<{name}"))?;
        let end = html.rfind(close)? + close.len();
        let feed = html.get(start..end)?;
        has_entry_tags(feed).then_some(feed)
    })
}

fn escaped_feed(html: &str) -> Option<String> {
    ROOTS.iter().find_map(|(name, close)| {
        let start = find_open_tag(html, &format!("&lt;{name}"))?;
        let close = close.replace('<', "&lt;").replace('>', "&gt;");
        let end = html.rfind(&close)? + close.len();
        let feed = unescape(html.get(start..end)?);
        has_entry_tags(&feed).then_some(feed)
    })
}

/// The position of `open` followed by whitespace or the end of the tag (so `<rss` never
/// matches `<rssfoo`).
fn find_open_tag(html: &str, open: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = html.get(from..)?.find(open) {
        let at = from + found;
        let after = html.get(at + open.len()..)?;
        if after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/')
            || after.starts_with("&gt;")
        {
            return Some(at);
        }
        from = at + open.len();
    }
    None
}

/// Undoes the escaping of markup shown as text; `&amp;` last, so `&amp;lt;` stays `&lt;`
/// (an entity inside the feed's own text).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<rss version="2.0"><channel><title>T</title><item><title>One</title><link>https://x.test/1</link></item></channel></rss>"#;

    #[test]
    fn raw_and_escaped_feeds_are_found() {
        let raw = format!("<html><head><title>feed</title></head><body>{RSS}</body></html>");
        assert_eq!(feed_inside_html(&raw).as_deref(), Some(RSS));
        let escaped = format!(
            "<html><body><pre>{}</pre></body></html>",
            RSS.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        );
        assert_eq!(feed_inside_html(&escaped).as_deref(), Some(RSS));
    }

    #[test]
    fn pages_that_only_link_to_a_feed_are_not_feeds() {
        let page = r#"<html><head><link rel="alternate" type="application/rss+xml" href="/index.rss"></head>
            <body><p>We're sorry, the feed <rss> is gone.</p></body></html>"#;
        assert_eq!(feed_inside_html(page), None);
        let empty = "<html><body><rss version=\"2.0\"><channel><title>T</title></channel></rss></body></html>";
        assert_eq!(feed_inside_html(empty), None);
    }
}
