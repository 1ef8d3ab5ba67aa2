//! HTML list pages (a news site's front page or section page without a feed) → entries, picked
//! out with CSS selectors from the source's configuration.
//!
//! `item` selects one element per story; `link`, `title`, `date` and `summary` are looked up
//! inside it, with defaults when omitted (the item itself or its first `a[href]` for the link,
//! the link text or first heading for the title, the first `time` element for the date). Links
//! resolve against `<base href>` and the page URL. An `item` selector that matches nothing is an
//! error, not an empty page, so the daemon can warn that the layout changed. Decoding the page's
//! bytes (meta charset) is not done here, and neither is fetching the linked articles.

use std::collections::HashSet;
use std::sync::OnceLock;

use cssparser::ToCss;
use scraper::error::SelectorErrorKind;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::date::parse_date;
use super::SourceError;
use crate::model::{canonical_url, Entry};

/// Selectors as written in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageSelectors {
    pub item: String,
    pub link: Option<String>,
    pub title: Option<String>,
    pub date: Option<String>,
    pub summary: Option<String>,
}

/// Selectors compiled once, at configuration load, and reused on every poll.
#[derive(Debug, Clone)]
pub struct CompiledSelectors {
    item_source: String,
    item: Selector,
    link: Option<Selector>,
    title: Option<Selector>,
    date: Option<Selector>,
    summary: Option<Selector>,
}

/// Compiles the selectors, naming the first invalid one and why it is invalid.
pub fn compile(selectors: &PageSelectors) -> Result<CompiledSelectors, SourceError> {
    let optional = |field: &'static str, source: &Option<String>| match source {
        Some(source) => compile_one(field, source).map(Some),
        None => Ok(None),
    };
    Ok(CompiledSelectors {
        item_source: selectors.item.trim().to_string(),
        item: compile_one("item", &selectors.item)?,
        link: optional("link", &selectors.link)?,
        title: optional("title", &selectors.title)?,
        date: optional("date", &selectors.date)?,
        summary: optional("summary", &selectors.summary)?,
    })
}

fn compile_one(field: &'static str, source: &str) -> Result<Selector, SourceError> {
    let invalid = |reason: String| SourceError::InvalidSelector {
        field,
        selector: source.to_string(),
        reason,
    };
    if source.trim().is_empty() {
        return Err(invalid("it is empty".to_string()));
    }
    Selector::parse(source.trim()).map_err(|error| invalid(describe(&error)))
}

/// Says what is wrong with a selector. scraper's own `Display` of the error panics on tokens it
/// did not expect to see (`article.s!ory` → "Token Delim('!') is not supposed to match as a
/// single-character token!", found by fuzzing the config), which would crash `check` and the
/// daemon's reload on a typo; tokens are written back as CSS here instead.
fn describe(error: &SelectorErrorKind<'_>) -> String {
    match error {
        SelectorErrorKind::UnexpectedToken(token) => {
            format!("`{}` was not expected there", token.to_css_string())
        }
        SelectorErrorKind::EndOfLine => "it ends too early".to_string(),
        SelectorErrorKind::InvalidAtRule(rule) => format!("@{rule} is not a selector"),
        SelectorErrorKind::InvalidAtRuleBody | SelectorErrorKind::QualRuleInvalid => {
            "it is not a selector".to_string()
        }
        SelectorErrorKind::ExpectedColonOnPseudoElement(token) => format!(
            "a pseudo-element needs `::`, found `{}`",
            token.to_css_string()
        ),
        SelectorErrorKind::ExpectedIdentityOnPseudoElement(token) => format!(
            "a pseudo-element needs a name, found `{}`",
            token.to_css_string()
        ),
        SelectorErrorKind::UnexpectedSelectorParseError(kind) => format!("{kind:?}"),
    }
}

/// Extracts one entry per `item` match, in page order. Items without a link and without a title
/// are skipped, and a story linked from two items (teaser image and headline as separate
/// elements) is kept once, at its first position.
pub fn parse_page(
    html: &str,
    page_url: &Url,
    selectors: &CompiledSelectors,
) -> Result<Vec<Entry>, SourceError> {
    let document = Html::parse_document(html);
    let base = document_base(&document, page_url);
    let items: Vec<ElementRef<'_>> = document.select(&selectors.item).collect();
    if items.is_empty() {
        return Err(SourceError::SelectorMatchedNothing {
            selector: selectors.item_source.clone(),
        });
    }
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for item in items {
        let entry = item_entry(item, &base, selectors);
        if entry.url.is_none() && entry.title.is_none() {
            continue;
        }
        if let Some(url) = &entry.url {
            let key =
                Url::parse(url).map_or_else(|_| url.clone(), |url| canonical_url(&url).to_string());
            if !seen.insert(key) {
                continue;
            }
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// `<base href>` (itself relative to the page URL) or the page URL.
fn document_base(document: &Html, page_url: &Url) -> Url {
    let Some(selector) = builtin(&BASE, "base[href]") else {
        return page_url.clone();
    };
    document
        .select(selector)
        .next()
        .and_then(|base| base.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone())
}

fn item_entry(item: ElementRef<'_>, base: &Url, selectors: &CompiledSelectors) -> Entry {
    let link_element = match &selectors.link {
        Some(selector) => first_match(item, selector),
        None => default_link(item),
    };
    let url = link_element
        .and_then(|element| element.value().attr("href"))
        .map(str::trim)
        .filter(|href| {
            !href.is_empty() && !href.starts_with('#') && !href.starts_with("javascript:")
        })
        .and_then(|href| base.join(href).ok())
        .map(|url| url.to_string());
    let title = match &selectors.title {
        Some(selector) => first_match(item, selector).and_then(element_text),
        None => link_element
            .and_then(element_text)
            .or_else(|| first_heading(item).and_then(element_text)),
    };
    let date_element = match &selectors.date {
        Some(selector) => first_match(item, selector),
        None => builtin(&TIME, "time").and_then(|selector| first_match(item, selector)),
    };
    let published = date_element.and_then(|element| {
        let value = element.value();
        value
            .attr("datetime")
            .or_else(|| value.attr("content"))
            .and_then(parse_date)
            .or_else(|| element_text(element).and_then(|text| parse_date(&text)))
    });
    let summary_html = selectors
        .summary
        .as_ref()
        .and_then(|selector| first_match(item, selector))
        .map(|element| element.inner_html().trim().to_string())
        .filter(|summary| !summary.is_empty());
    Entry {
        url,
        title,
        published,
        summary_html,
        ..Entry::default()
    }
}

static TIME: OnceLock<Option<Selector>> = OnceLock::new();
static LINK: OnceLock<Option<Selector>> = OnceLock::new();
static HEADING: OnceLock<Option<Selector>> = OnceLock::new();
static BASE: OnceLock<Option<Selector>> = OnceLock::new();

/// The selectors used for defaults, compiled once. They are literals, so `None` never happens
/// in practice; it only keeps this path free of panics.
fn builtin(cell: &'static OnceLock<Option<Selector>>, css: &str) -> Option<&'static Selector> {
    cell.get_or_init(|| Selector::parse(css).ok()).as_ref()
}

fn first_match<'a>(item: ElementRef<'a>, selector: &Selector) -> Option<ElementRef<'a>> {
    // An item may itself be what the field selects (e.g. item "a.story", link "a").
    if selector.matches(&item) {
        return Some(item);
    }
    item.select(selector).next()
}

fn default_link(item: ElementRef<'_>) -> Option<ElementRef<'_>> {
    if item.value().name() == "a" && item.value().attr("href").is_some() {
        return Some(item);
    }
    item.select(builtin(&LINK, "a[href]")?).next()
}

fn first_heading(item: ElementRef<'_>) -> Option<ElementRef<'_>> {
    item.select(builtin(&HEADING, "h1, h2, h3, h4, h5, h6")?)
        .next()
}

/// The element's text with whitespace collapsed; `None` when blank.
fn element_text(element: ElementRef<'_>) -> Option<String> {
    let text: String = element.text().collect();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><base href="/news/"></head><body>
        <ul class="stories">
          <li class="story"><h2><a href="a.html">First <em>story</em></a></h2>
              <time datetime="2024-05-14T13:05:00+03:00">today</time><p class="dek">Lead <b>one</b></p></li>
          <li class="story"><a href="https://other.example/b?utm_source=x"><img src="b.jpg"></a>
              <h3>Second story</h3><span class="when">Wednesday, 15 October 2025</span></li>
          <li class="story"><a href="https://other.example/b">Second story again</a></li>
          <li class="story"><span>no link, no heading</span></li>
          <li class="story"><a href="javascript:void(0)">Share</a></li>
        </ul></body></html>"#;

    fn page_url() -> Url {
        Url::parse("https://site.example/front").unwrap()
    }

    fn selectors(item: &str) -> PageSelectors {
        PageSelectors {
            item: item.to_string(),
            ..PageSelectors::default()
        }
    }

    /// Parses PAGE and compares `url | title | published | summary` per entry.
    fn check(selectors: PageSelectors, expected: &[&str]) {
        let compiled = compile(&selectors).unwrap();
        let entries = parse_page(PAGE, &page_url(), &compiled).unwrap();
        let lines: Vec<String> = entries
            .iter()
            .map(|entry| {
                format!(
                    "{} | {} | {} | {}",
                    entry.url.as_deref().unwrap_or("-"),
                    entry.title.as_deref().unwrap_or("-"),
                    entry
                        .published
                        .map_or("-".to_string(), |date| date.to_record()),
                    entry.summary_html.as_deref().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(lines, expected, "selectors: {selectors:?}");
    }

    #[test]
    fn defaults_find_link_title_and_time() {
        check(
            selectors("li.story"),
            &[
                "https://site.example/news/a.html | First story | 2024-05-14T13:05:00+03:00 | -",
                "https://other.example/b?utm_source=x | Second story | - | -",
                "- | Share | - | -",
            ],
        );
    }

    #[test]
    fn explicit_selectors() {
        check(
            PageSelectors {
                item: "li.story".to_string(),
                link: Some("a".to_string()),
                title: Some("h2, h3".to_string()),
                date: Some("time, .when".to_string()),
                summary: Some(".dek".to_string()),
            },
            &[
                "https://site.example/news/a.html | First story | 2024-05-14T13:05:00+03:00 | Lead <b>one</b>",
                "https://other.example/b?utm_source=x | Second story | 2025-10-15T00:00:00 | -",
            ],
        );
    }

    #[test]
    fn item_that_is_the_link() {
        check(
            selectors("li.story > a"),
            &[
                "https://other.example/b?utm_source=x | - | - | -",
                "- | Share | - | -",
            ],
        );
    }

    #[test]
    fn selector_errors_name_the_field() {
        let error = compile(&PageSelectors {
            item: "div.story".to_string(),
            date: Some("time[".to_string()),
            ..PageSelectors::default()
        })
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("the date selector \"time[\" is not valid CSS: "),
            "{message}"
        );
        // scraper's own message for this one panics (fuzzing found it through the config)
        let error = compile(&selectors("article.s!ory")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the item selector \"article.s!ory\" is not valid CSS: `!` was not expected there"
        );
        let error = compile(&selectors("  ")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the item selector \"  \" is not valid CSS: it is empty"
        );
    }

    #[test]
    fn item_matching_nothing_is_an_error() {
        let compiled = compile(&selectors("article.story")).unwrap();
        let error = parse_page(PAGE, &page_url(), &compiled).unwrap_err();
        assert!(
            matches!(error, SourceError::SelectorMatchedNothing { ref selector } if selector == "article.story")
        );
        assert!(error.to_string().contains("layout may have changed"));
    }
}
