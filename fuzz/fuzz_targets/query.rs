//! Query text through the parser; what parses is compiled and run over a small article, so the
//! matcher, hits and snippets see every shape the parser accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirewatch::rules::{Document, Matcher, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = Query::parse(text) else {
        return;
    };
    let matcher = Matcher::new(vec![query]);
    let authors = vec!["Jane Doe".to_string()];
    let document = Document {
        title: "Sanctions on Russian oil: EU talks stall",
        body: "Officials in Brussels said on Tuesday that the sanctions package, which targets \
               Rosneft and Gazprom Neft, would not pass before June. «Nous verrons», a diplomat \
               said. 東京 証券取引所 stocks fell 2.5% (NYSE: XOM up).",
        url: "https://example.org/2024/05/sanctions-oil",
        source: "wire",
        authors: &authors,
        language: Some("en"),
    };
    let _ = matcher.matches(&document);
});
