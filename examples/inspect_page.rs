//! Development aid: for each HTML file given, prints the metadata, lead image and the chosen
//! content roots (with the containers conditional cleaning drops), then the document.
//!
//! Usage: `cargo run --release --example inspect_page -- PAGE.html [URL]`
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: inspect_page PAGE.html [URL]");
        return;
    };
    let url = args
        .next()
        .and_then(|u| url::Url::parse(&u).ok())
        .unwrap_or_else(|| url::Url::parse("https://example.invalid/").expect("static url"));
    let bytes = std::fs::read(&path).unwrap_or_default();
    let html = wirewatch::extract::decode_html(&bytes, None);
    let article = wirewatch::extract::extract(&html, &url);
    println!("title     {:?}", article.title);
    println!("authors   {:?}", article.authors);
    println!("published {:?}", article.published.map(|d| d.to_record()));
    println!(
        "site      {:?}  language {:?}",
        article.site_name, article.language
    );
    println!("url       {}", article.url);
    println!("image     {:?}", article.image);
    for root in wirewatch::extract::debug_roots(&html) {
        println!("root      {}", root.chars().take(3000).collect::<String>());
    }
    println!(
        "\n{}",
        wirewatch::extract::render::document(&article, wirewatch::extract::LinkStyle::Absolute)
    );
}
