use super::*;

fn feed_url() -> Url {
    Url::parse("https://example.org/news/feed.xml").unwrap()
}

fn parse(xml: &str) -> ParsedFeed {
    parse_feed(xml.as_bytes(), None, &feed_url()).unwrap()
}

/// Checks one field of the first entry of a parsed document.
fn check(xml: &str, field: fn(&Entry) -> Option<String>, expected: Option<&str>) {
    let feed = parse(xml);
    let entry = feed.entries.first().expect("one entry");
    assert_eq!(field(entry), expected.map(str::to_string), "input: {xml}");
}

fn rss_item(item: &str) -> String {
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title><item>{item}</item></channel></rss>")
}

fn url(entry: &Entry) -> Option<String> {
    entry.url.clone()
}
fn id(entry: &Entry) -> Option<String> {
    entry.id.clone()
}
fn title(entry: &Entry) -> Option<String> {
    entry.title.clone()
}
fn published(entry: &Entry) -> Option<String> {
    entry.published.map(|date| date.to_record())
}
fn image(entry: &Entry) -> Option<String> {
    entry.image_url.clone()
}

#[test]
fn dates_keep_the_publishers_offset() {
    check(
        &rss_item("<title>a</title><pubDate>Tue, 14 May 2024 13:05:00 +0300</pubDate>"),
        published,
        Some("2024-05-14T13:05:00+03:00"),
    );
    check(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><title>a</title><published>2017-01-07T09:00:01-05:00</published></entry></feed>"#,
        published,
        Some("2017-01-07T09:00:01-05:00"),
    );
    check(
        r#"{"version":"https://jsonfeed.org/version/1","items":[{"id":"1","date_published":"2020-02-21T18:08:06+01:00"}]}"#,
        published,
        Some("2020-02-21T18:08:06+01:00"),
    );
}

/// Issue 17: an entry date written without a zone stays a local time in RSS, Atom and JSON
/// Feed alike; it used to come out as UTC ("Z"), an hour off for a Paris feed.
#[test]
fn dates_without_a_zone_stay_local() {
    check(
        &rss_item("<title>a</title><pubDate>Tue, 14 May 2024 13:05:00</pubDate>"),
        published,
        Some("2024-05-14T13:05:00"),
    );
    check(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><title>a</title><published>2024-05-14T13:05:00</published><updated>2024-05-15T08:00:00Z</updated></entry></feed>"#,
        published,
        Some("2024-05-14T13:05:00"),
    );
    check(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><title>a</title><published>2024-05-14T13:05:00</published><updated>2024-05-15T08:00:00Z</updated></entry></feed>"#,
        |entry| entry.updated.map(|date| date.to_record()),
        Some("2024-05-15T08:00:00+00:00"),
    );
    check(
        r#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","date_published":"2024-05-14T13:05:00"}]}"#,
        published,
        Some("2024-05-14T13:05:00"),
    );
}

#[test]
fn relative_links_resolve_against_the_feed_url() {
    check(
        &rss_item("<link>/story/1</link>"),
        url,
        Some("https://example.org/story/1"),
    );
    check(
        &rss_item("<link>story/2</link>"),
        url,
        Some("https://example.org/news/story/2"),
    );
    check(
        &rss_item(r#"<link>/a</link><enclosure url="/img/a.jpg" type="image/jpeg" length="1"/>"#),
        image,
        Some("https://example.org/img/a.jpg"),
    );
}

#[test]
fn xml_base_is_honoured() {
    check(
        r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.com/2024/"><entry><id>x</id><link rel="alternate" href="post.html"/></entry></feed>"#,
        url,
        Some("https://blog.example.com/2024/post.html"),
    );
    check(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry xml:base="https://other.example/a/"><id>x</id><link href="../b"/></entry></feed>"#,
        url,
        Some("https://other.example/b"),
    );
}

#[test]
fn generated_ids_are_not_guids() {
    check(
        &rss_item("<title>a</title><link>https://example.org/a</link>"),
        id,
        None,
    );
    check(
        &rss_item("<guid isPermaLink=\"false\">abc-1</guid>"),
        id,
        Some("abc-1"),
    );
    check(
        &rss_item("<guid>https://example.org/permalink</guid>"),
        url,
        Some("https://example.org/permalink"),
    );
}

#[test]
fn titles_decode_entities_once() {
    check(
        &rss_item("<title>AT&amp;T &amp;#8211; news</title>"),
        title,
        Some("AT&T – news"),
    );
    check(
        &rss_item("<title>Left &amp;amp; Right</title>"),
        title,
        Some("Left & Right"),
    );
    check(
        &rss_item("<title><![CDATA[<b>Bold</b>  move]]></title>"),
        title,
        Some("Bold move"),
    );
}

#[test]
fn distinct_posts_sharing_a_guid_and_link_stay_distinct() {
    let feed = parse(
        "<rss version=\"2.0\"><channel>\
             <item><title>One</title><guid>g</guid><link>https://example.org/s</link></item>\
             <item><title>Two</title><guid>g</guid><link>https://example.org/s</link></item>\
             <item><title>Two</title><guid>g</guid><link>https://example.org/s</link></item>\
             <item><title>Alone</title><guid>h</guid><link>https://example.org/h</link></item>\
             </channel></rss>",
    );
    let keys: Vec<_> = feed.entries.iter().map(super::super::entry_key).collect();
    assert_ne!(keys[0], keys[1]);
    // copies of one item are one item
    assert_eq!(keys[1], keys[2]);
    assert!(keys[0].starts_with("g#"));
    // entries without a clash keep the key they always had
    assert_eq!(keys[3], "h");
}

#[test]
fn description_only_items_are_distinct_and_stable() {
    let xml = "<rss version=\"0.92\"><channel><title>T</title>\
             <item><description>First note.</description></item>\
             <item><description>Second note.</description>\
             <enclosure url=\"http://example.org/a.mp3\" length=\"1\" type=\"audio/mpeg\"/></item>\
             </channel></rss>";
    let keys = |xml: &str| -> Vec<String> {
        parse(xml)
            .entries
            .iter()
            .map(super::super::entry_key)
            .collect()
    };
    let first_poll = keys(xml);
    assert_eq!(first_poll.len(), 2);
    assert_ne!(first_poll[0], first_poll[1]);
    assert_eq!(first_poll, keys(xml));
    assert_eq!(
        parse(xml).entries[1].enclosure_url.as_deref(),
        Some("http://example.org/a.mp3")
    );
}

#[test]
fn a_feed_inside_an_html_wrapper_yields_its_entries() {
    let feed = "<rss version=\"2.0\"><channel><title>Wrapped</title>\
             <item><title>One</title><link>https://example.org/1</link></item></channel></rss>";
    let raw = format!("<html><head><title>x</title></head><body>{feed}</body></html>");
    assert_eq!(parse(&raw).entries.len(), 1);
    let escaped = format!(
        "<!DOCTYPE html><html><body><pre>{}</pre></body></html>",
        feed.replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    );
    let parsed = parse(&escaped);
    assert_eq!(parsed.title.as_deref(), Some("Wrapped"));
    assert_eq!(
        parsed.entries[0].url.as_deref(),
        Some("https://example.org/1")
    );
}

#[test]
fn double_encoded_utf8_is_repaired_and_clean_text_kept() {
    let feed = parse(
            "<rss version=\"2.0\"><channel><title>Culture : CinÃ©ma, thÃ©Ã¢tre</title>\
             <item><title>Deux ans aprÃ¨s, un Â«Espace CabuÂ»</title><link>https://example.org/1</link>\
             <description>Déjà vu, déjà lu</description></item></channel></rss>",
        );
    assert_eq!(feed.title.as_deref(), Some("Culture : Cinéma, théâtre"));
    let entry = &feed.entries[0];
    assert_eq!(
        entry.title.as_deref(),
        Some("Deux ans après, un «Espace Cabu»")
    );
    assert_eq!(entry.summary_html.as_deref(), Some("Déjà vu, déjà lu"));
}

#[test]
fn duplicate_guids_with_different_links_fall_back_to_urls() {
    let feed = parse(
        "<rss version=\"2.0\"><channel>\
             <item><guid>same</guid><link>https://example.org/1</link></item>\
             <item><guid>same</guid><link>https://example.org/2</link></item>\
             <item><guid>twice</guid><link>https://example.org/3</link></item>\
             <item><guid>twice</guid><link>https://example.org/3</link></item>\
             </channel></rss>",
    );
    let ids: Vec<_> = feed
        .entries
        .iter()
        .map(|entry| entry.id.as_deref())
        .collect();
    assert_eq!(ids, [None, None, Some("twice"), Some("twice")]);
    let keys: Vec<_> = feed.entries.iter().map(super::super::entry_key).collect();
    assert_eq!(keys[0], "https://example.org/1");
    assert_eq!(keys[1], "https://example.org/2");
}

#[test]
fn hub_and_ttl() {
    let feed = parse(
        r#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T &amp; U</title><ttl>30</ttl><atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/><atom:link rel="self" href="/feed.xml"/></channel></rss>"#,
    );
    assert_eq!(
        feed.self_link.as_deref(),
        Some("https://example.org/feed.xml")
    );
    assert_eq!(feed.title.as_deref(), Some("T & U"));
    assert_eq!(feed.ttl_minutes, Some(30));
    assert_eq!(
        feed.hub.as_deref(),
        Some("https://pubsubhubbub.appspot.com/")
    );
}

#[test]
fn syndication_update_period() {
    let feed = parse_feed(
            br#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel rdf:about="https://example.org/"><title>T</title><link>https://example.org/</link><sy:updatePeriod> daily </sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency></channel><item rdf:about="https://example.org/1"><title>One</title><link>https://example.org/1</link></item></rdf:RDF>"#,
            None,
            &Url::parse("https://example.org/feed").unwrap(),
        )
        .unwrap();
    assert_eq!(
        (feed.update_period.as_deref(), feed.update_frequency),
        (Some("daily"), Some(4))
    );
    assert_eq!(
        element_text(
            "<a><b:updatePeriodX>x</b:updatePeriodX></a>",
            "updatePeriod"
        ),
        None
    );
}

#[test]
fn broken_xml_is_repaired() {
    // Bare ampersand in a link and a document cut off mid-tag.
    let feed = parse("<rss version=\"2.0\"><channel><item><link>https://example.org/?a=1&b=2</link><title>x</title></item><item><title>cut</tit");
    assert_eq!(feed.entries.len(), 2);
    assert_eq!(
        feed.entries[0].url.as_deref(),
        Some("https://example.org/?a=1&b=2")
    );
    // Unterminated CDATA.
    let feed = parse("<rss version=\"2.0\"><channel><item><title><![CDATA[half");
    assert_eq!(feed.entries[0].title.as_deref(), Some("half"));
}

#[test]
fn html_entities_undefined_in_xml() {
    check(
        &rss_item("<title>Caf&eacute;&nbsp;talk & more</title><description>a&nbsp;b</description>"),
        title,
        Some("Café talk & more"),
    );
    check(
        &rss_item("<title>x</title><description>a&nbsp;b</description>"),
        |entry| entry.summary_html.clone(),
        Some("a\u{a0}b"),
    );
}

#[test]
fn unknown_default_namespace_on_the_root() {
    check(
        r#"<rss version="2.0" xmlns="http://example.com/custom"><channel><item><title>a</title></item></channel></rss>"#,
        title,
        Some("a"),
    );
    check(
        r#"<feed xmlns="http://www.w3.org/2005/atom"><entry><id>1</id><title>b</title></entry></feed>"#,
        title,
        Some("b"),
    );
}

#[test]
fn rss_without_version_is_read_as_rss_2() {
    check(
        "<rss><channel><item><title>a</title></item></channel></rss>",
        title,
        Some("a"),
    );
}

#[test]
fn non_feeds_are_reported() {
    let check_error = |body: &str, expected: &str| {
        let error = parse_feed(body.as_bytes(), None, &feed_url()).unwrap_err();
        assert!(error.to_string().contains(expected), "{body}: {error}");
    };
    check_error(
        "<!DOCTYPE html><html><body>hi</body></html>",
        "an HTML page",
    );
    check_error("<html><body>hi</body></html>", "kind = \"page\"");
    check_error(
        "<figure><img src=x></figure><p>fragment</p>",
        "an HTML page",
    );
    check_error(
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"></urlset>",
        "a sitemap",
    );
    check_error("{\"rss\": {\"channel\": {}}}", "RSS-in-JSON");
    check_error("  \n ", "empty");
}

#[test]
fn json_feed_plain_text_content_is_escaped() {
    check(
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","content_text":"a < b & c"}]}"#,
        |entry| entry.content_html.clone(),
        Some("a &lt; b &amp; c"),
    );
}

#[test]
fn json_feed_with_loose_version() {
    check(
        r#"{"version":"1.1","title":"t","items":[{"id":"1","url":"/a","title":"A"}]}"#,
        url,
        Some("https://example.org/a"),
    );
}
