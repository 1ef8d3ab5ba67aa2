//! Templates parse, escape what comes from feeds, and mark hits only with `<mark>`.

use minijinja::context;

use super::highlight::parts;
use super::*;

#[test]
fn every_template_parses() {
    for (name, _) in TEMPLATES {
        assert!(
            templates().get_template(name).is_ok(),
            "{name} does not parse"
        );
    }
}

#[test]
fn text_from_feeds_is_escaped_and_only_hits_are_marked() {
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let data = context! {
        alert => context! {
            id => "msg_1", kind => "article.matched", title => hostile, watchlist => "w",
            source => "s", article_url => "https://example.org/a?b=<c>", created => "1m ago",
            deliveries => [context! { sink => "hook", state => "dead", attempts => 3, last_error => hostile }],
        },
        hits => [context! { term => "Tunis", field => "title", snippet => parts(&format!("{hostile} in **Tunis**")) }],
        document => hostile,
        story => Vec::<(String, String)>::new(),
    };
    let html = templates()
        .get_template("alert.html")
        .unwrap()
        .render(
            context! { data, version => "0", operator => false, token_set => false, csrf => "" },
        )
        .unwrap();
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(html.contains("<mark>Tunis</mark>"), "{html}");
    assert_eq!(html.matches("<mark>").count(), 1);
}
