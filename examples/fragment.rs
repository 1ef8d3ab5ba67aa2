//! Development aid: renders the blocks of an HTML fragment (a feed entry's content) as document
//! lines. Usage: `fragment FILE.html BASE_URL`
use wirewatch::extract::{fragment_blocks, render, LinkStyle};
use wirewatch::model::Article;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(base)) = (args.next(), args.next()) else {
        eprintln!("usage: fragment FILE.html BASE_URL");
        return;
    };
    let html = std::fs::read_to_string(path).unwrap_or_default();
    let Ok(base) = url::Url::parse(&base) else {
        eprintln!("BASE_URL must be absolute");
        return;
    };
    let article = Article {
        blocks: fragment_blocks(&html, &base),
        url: base.to_string(),
        ..Article::default()
    };
    print!("{}", render::document(&article, LinkStyle::Absolute));
}
