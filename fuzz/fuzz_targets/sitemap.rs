//! Sitemap and sitemap-index bytes through the sitemap parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://example.org/sitemap.xml").expect("a valid literal URL");
    let _ = wirewatch::source::sitemap::parse_sitemap(data, None, &url, 1000);
});
