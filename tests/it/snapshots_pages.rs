//! Snapshot tests: real saved pages of different sites and languages rendered as documents.
//! Each snapshot was reviewed by eye to read as the article; a changed snapshot needs the same.

use wirewatch::extract::{decode_html, extract, render, LinkStyle};

fn render_page(name: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pages");
    let urls = std::fs::read_to_string(format!("{dir}/urls.tsv")).unwrap();
    let url = urls
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('\t'))
        .unwrap_or_else(|| panic!("{name} missing from urls.tsv"));
    let bytes = std::fs::read(format!("{dir}/{name}.html")).unwrap();
    let html = decode_html(&bytes, None);
    let article = extract(&html, &url::Url::parse(url).unwrap());
    render::document(&article, LinkStyle::Absolute)
}

macro_rules! page_snapshots {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!($name, render_page($name));
        }
    )*};
}

page_snapshots! {
    nydailynews_en => "pl_www.nydailynews.com",
    yomiuri_ja => "pl_www.yomiuri.co.jp",
    heise_de => "readability_heise",
    futurezone_de => "tc_futurezone.at.lyft",
    sauvonsluniversite_fr => "tc_sauvonsluniversite.com.spip",
    abcnews_en => "pl_abcnews.go.com",
    mashable_en => "newspaper_mashable.com2",
    phoronix_en => "pl_www.phoronix.com",
    washingtonpost_en => "pl_www.washingtonpost.com",
    lemonde_fr => "readability_lemonde-1",
    liberation_fr => "readability_liberation-1",
    python_blog_en => "tc_blog.python.org",
    cnn_money_en => "pl_money.cnn.com",
    zdnet_ja => "pl_japan.zdnet.com",
    aktualne_cs => "readability_aktualne",
}
