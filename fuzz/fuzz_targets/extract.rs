//! Article pages (any bytes, any charset) through decoding, extraction and both renderings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirewatch::extract::render::{document, record, LinkStyle};

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://example.org/2024/05/story").expect("a valid literal URL");
    let html = wirewatch::extract::decode_html(data, None);
    let article = wirewatch::extract::extract(&html, &url);
    let _ = document(&article, LinkStyle::Absolute);
    let _ = record(&article, LinkStyle::Absolute);
});
