//! Hostile and odd input never panics and stays fast: arbitrary bytes, absurd nesting, huge pages.

use wirewatch::extract::{decode_html, extract, fragment_blocks, render, LinkStyle};

fn page_url() -> url::Url {
    url::Url::parse("https://example.org/news/story").unwrap()
}

fn run(html: &str) {
    let article = extract(html, &page_url());
    let _ = render::document(&article, LinkStyle::Absolute);
    let _ = render::document(&article, LinkStyle::Hash);
    let _ = serde_json::to_string(&render::record(&article, LinkStyle::Absolute)).unwrap();
    let _ = fragment_blocks(html, &page_url());
}

/// A small deterministic generator (xorshift) so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pieces: &[&[u8]] = &[
        b"<p>",
        b"</p>",
        b"<div class=\"content\">",
        b"</div>",
        b"<a href=\"/x\">",
        b"</a>",
        b"<b>",
        b"</b>",
        b"<br>",
        b"<figure><img src=x><figcaption>",
        b"</figcaption></figure>",
        b"<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"author\":[",
        b"</script>",
        b"<meta charset=\"koi8-r\">",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"&amp;",
        b"&#x",
        b"<time datetime=\"2024-13-45T99:99\">",
        b"<li>",
        b"<h2>",
        b"<blockquote>",
        b"text, more text",
        b"\xd0\x9f\xd1\x80",
        b"\xe2\x80",
        b"<",
        b">",
        b"\"",
        b"<table><tr><td>",
    ];
    for _ in 0..300 {
        let mut bytes = Vec::new();
        let n = (rng.next() % 60) as usize;
        for _ in 0..n {
            if rng.next().is_multiple_of(4) {
                bytes.push((rng.next() % 256) as u8);
            } else {
                bytes.extend_from_slice(pieces[(rng.next() as usize) % pieces.len()]);
            }
        }
        let text = decode_html(&bytes, None);
        run(&text);
        let _ = decode_html(&bytes, Some("text/html; charset=shift_jis"));
    }
}

#[test]
fn deeply_nested_divs_do_not_overflow() {
    let depth = 100_000;
    let mut html = String::with_capacity(depth * 12 + 100);
    html.push_str("<html><body>");
    for _ in 0..depth {
        html.push_str("<div>");
    }
    html.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
    for _ in 0..depth {
        html.push_str("</div>");
    }
    run(&html);
}

#[test]
fn many_deep_subtrees_stay_linear() {
    let mut html = String::from("<html><body>");
    for _ in 0..300 {
        html.push_str(&"<div>".repeat(400));
        html.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
        html.push_str(&"</div>".repeat(400));
    }
    run(&html);
}

#[test]
fn deeply_nested_inline_elements_do_not_overflow() {
    let depth = 50_000;
    let html = format!(
        "<p>{}text{}</p>",
        "<a href=\"/a\"><b>".repeat(depth),
        "</b></a>".repeat(depth)
    );
    run(&html);
}

/// Its speed is `examples/nest_timing`'s and the extraction benchmark's business, not a test's.
#[test]
fn five_mib_page_keeps_every_paragraph() {
    let mut html = String::from("<html><head><title>Big page</title></head><body><article>");
    let mut n = 0;
    while html.len() < 5 * 1024 * 1024 {
        n += 1;
        // Numbered so that no paragraph is a verbatim duplicate of another.
        html.push_str(&format!(
            "<p>Officials said on Tuesday that talks round {n}, which lasted several hours, ended \
             without agreement on <a href=\"/x\">the main issues</a>, according to people familiar.</p>\n"
        ));
        html.push_str("<div class=\"share\"><a href=\"/s\">Share</a></div>\n");
    }
    html.push_str("</article></body></html>");
    let article = extract(&html, &page_url());
    assert!(
        article.blocks.len() > 10_000,
        "{} of {n}",
        article.blocks.len()
    );
}

#[test]
fn empty_and_degenerate_input() {
    for html in [
        "",
        " ",
        "<",
        "<html>",
        "<!doctype html>",
        "\u{0}",
        "<p></p>",
        "<a href=''>x</a>",
    ] {
        run(html);
    }
    let article = extract("", &page_url());
    assert_eq!(article.url, "https://example.org/news/story");
    assert!(article.blocks.is_empty());
}
