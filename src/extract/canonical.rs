//! Whether a page's declared canonical URL (`<link rel=canonical>`, `og:url`) really names the
//! page. Some templates declare the site's home page or the section index on every article
//! (a Yahoo page: `//us.yahoo.com/news/`); taken at its word, every article of the site would
//! share one identity and alert once. Such canonicals are ignored and the fetched URL is used.
//! This does not judge canonicals that point at another article (syndicated copies do that
//! on purpose).

use url::Url;

/// Folder names that are section indexes when a canonical URL is nothing but one of them.
const SECTIONS: &[&str] = &[
    "news",
    "world",
    "politics",
    "business",
    "sport",
    "sports",
    "tech",
    "technology",
    "science",
    "health",
    "entertainment",
    "culture",
    "opinion",
    "lifestyle",
    "travel",
    "local",
    "national",
    "us",
    "uk",
    "europe",
    "asia",
    "africa",
    "americas",
    "economy",
    "markets",
    "finance",
    "arts",
    "style",
    "food",
    "video",
    "videos",
    "latest",
    "top-stories",
    "home",
    "index",
    "blog",
];

/// A canonical URL that names a site's home page or a section index rather than the page: its
/// path is `/`, or an ancestor of the fetched page's path (`/news/` for `/news/a-story.html`), or
/// one folder named like a section (`/world/`) for a page elsewhere. The page itself at such a
/// path keeps it.
pub fn is_site_or_section_index(canonical: &Url, page_url: &Url) -> bool {
    let segments = |url: &Url| -> Vec<String> {
        url.path()
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(str::to_string)
            .collect()
    };
    let canonical_segments = segments(canonical);
    let page_segments = segments(page_url);
    if canonical_segments == page_segments {
        return false;
    }
    let ancestor = canonical_segments.len() < page_segments.len()
        && page_segments.starts_with(&canonical_segments);
    // A lone folder is a section only by its name: WordPress permalinks are lone folders too.
    let section = canonical.path().ends_with('/')
        && canonical_segments.len() == 1
        && canonical_segments
            .first()
            .is_some_and(|name| SECTIONS.contains(&name.to_ascii_lowercase().as_str()));
    let folder = section && !page_segments.is_empty();
    canonical_segments.is_empty() || ancestor || folder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(canonical: &str, page: &str, ignored: bool) {
        let canonical = Url::parse(canonical).unwrap();
        let page = Url::parse(page).unwrap();
        assert_eq!(
            is_site_or_section_index(&canonical, &page),
            ignored,
            "canonical {canonical} for {page}"
        );
    }

    #[test]
    fn home_pages_and_section_indexes_are_not_canonical() {
        check(
            "https://us.yahoo.com/news/",
            "https://news.yahoo.com/news/putin-visits-china-1234.html",
            true,
        );
        check(
            "https://www.example.com/",
            "https://www.example.com/2024/05/14/story",
            true,
        );
        check(
            "https://www.example.com/world/",
            "https://www.example.com/2024/05/14/story",
            true,
        );
        check(
            "https://www.example.com/world/europe",
            "https://www.example.com/world/europe/story-1",
            true,
        );
    }

    #[test]
    fn real_canonicals_are_kept() {
        check(
            "https://www.example.com/2024/05/14/story",
            "https://www.example.com/2024/05/14/story?utm_source=rss",
            false,
        );
        check(
            "https://www.example.com/story-12345",
            "https://www.example.com/world/story-12345",
            false,
        );
        check(
            "https://www.example.com/",
            "https://www.example.com/",
            false,
        );
        check(
            "https://www.example.com/news/",
            "https://www.example.com/news/",
            false,
        );
        check(
            "https://amp.example.com/a/story",
            "https://www.example.com/amp/a/story",
            false,
        );
    }
}
