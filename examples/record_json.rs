//! Development aid: prints the JSON record (docs/FORMAT.md) of one HTML file.
//! Usage: `record_json PAGE.html URL`
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: record_json PAGE.html URL");
        return;
    };
    let Ok(url) = url::Url::parse(&url) else {
        eprintln!("URL must be absolute");
        return;
    };
    let bytes = std::fs::read(path).unwrap_or_default();
    let html = wirewatch::extract::decode_html(&bytes, None);
    let article = wirewatch::extract::extract(&html, &url);
    let record =
        wirewatch::extract::render::record(&article, wirewatch::extract::LinkStyle::Absolute);
    match serde_json::to_string_pretty(&record) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("cannot serialise: {e}"),
    }
}
