//! HTML list pages through the page-source parser with typical selectors.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wirewatch::source::page::{compile, CompiledSelectors, PageSelectors};

fn selectors() -> &'static CompiledSelectors {
    static SELECTORS: OnceLock<CompiledSelectors> = OnceLock::new();
    SELECTORS.get_or_init(|| {
        compile(&PageSelectors {
            item: "article, li.story".into(),
            link: Some("a".into()),
            title: Some("h2, h3".into()),
            date: Some("time".into()),
            summary: Some("p".into()),
        })
        .expect("valid literal selectors")
    })
}

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://example.org/news/").expect("a valid literal URL");
    let html = wirewatch::extract::decode_html(data, None);
    let _ = wirewatch::source::page::parse_page(&html, &url, selectors());
});
