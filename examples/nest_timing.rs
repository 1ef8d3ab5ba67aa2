//! Times pathological pages: 100k nested `<div>`s and a 5 MiB article.
//!
//! Usage: `cargo run --release --example nest_timing [DEPTH]`
use std::time::Instant;

fn main() {
    let depth: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let url = url::Url::parse("https://example.org/").expect("static url");

    let mut html = String::from("<html><body>");
    html.push_str(&"<div>".repeat(depth));
    html.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
    html.push_str(&"</div>".repeat(depth));
    let t = Instant::now();
    let a = wirewatch::extract::extract(&html, &url);
    println!(
        "{depth} nested divs: extract {:?}, blocks {}",
        t.elapsed(),
        a.blocks.len()
    );

    // Wide and deep: 1000 sibling subtrees, each 400 levels deep around one paragraph.
    let mut wide = String::from("<html><body>");
    for _ in 0..1000 {
        wide.push_str(&"<div>".repeat(400));
        wide.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
        wide.push_str(&"</div>".repeat(400));
    }
    let t = Instant::now();
    let a = wirewatch::extract::extract(&wide, &url);
    println!(
        "1000 x 400-deep subtrees ({} KiB): extract {:?}, blocks {}",
        wide.len() / 1024,
        t.elapsed(),
        a.blocks.len()
    );

    let mut big = String::from("<html><head><title>Big</title></head><body><article>");
    let mut n = 0;
    while big.len() < 5 * 1024 * 1024 {
        n += 1;
        big.push_str(&format!(
            "<p>Officials said on Tuesday that talks round {n}, which lasted several hours, ended \
             without agreement on <a href=\"/x\">the main issues</a>, according to people familiar.</p>\n\
             <div class=\"share\"><a href=\"/s\">Share</a></div>\n"
        ));
    }
    big.push_str("</article></body></html>");
    let t = Instant::now();
    let a = wirewatch::extract::extract(&big, &url);
    println!(
        "5 MiB page: extract {:?}, blocks {}",
        t.elapsed(),
        a.blocks.len()
    );
}
