//! Feed bytes (RSS, Atom, RDF, JSON Feed, any charset) through the feed parser: an error is
//! fine, a panic or a hang is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://example.org/feed.xml").expect("a valid literal URL");
    let _ = wirewatch::source::feed::parse_feed(data, None, &url);
    let _ = wirewatch::source::feed::parse_feed(data, Some("text/xml; charset=iso-8859-1"), &url);
});
