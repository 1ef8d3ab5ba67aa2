//! Every document of the feed corpus through `source::feed::parse_feed` (as `kind = "feed"`
//! would poll it): which yield entries, how many distinct identities, against the item count
//! the corpus manifest records.
//!
//! Usage: `cargo run --example feed_corpus -- [DIR] [-v]`, DIR defaulting to
//! `../shared/corpus/feeds` (with its `MANIFEST.tsv`). Prints one line per document with `-v`,
//! else only the documents that yield nothing or whose entries share identities, then the
//! totals. Sitemaps are skipped (a different source kind).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use wirewatch::source::{entry_key, feed::parse_feed};

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else if !matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("MANIFEST.tsv" | "README.md")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "../shared/corpus/feeds".to_string());
    let root = Path::new(&dir);
    // file → (format, items) from the manifest
    let mut manifest = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(root.join("MANIFEST.tsv")) {
        for line in text.lines().skip(1) {
            let columns: Vec<&str> = line.split('\t').collect();
            if let [file, format, _, _, _, _, items, ..] = columns[..] {
                manifest.insert(
                    file.to_string(),
                    (format.to_string(), items.parse::<usize>().unwrap_or(0)),
                );
            }
        }
    }
    let mut paths = Vec::new();
    files(root, &mut paths)?;
    paths.sort();
    let url = url::Url::parse("https://feeds.example.com/feed.xml")?;
    let (mut documents, mut yielding, mut entries_total, mut distinct_total) = (0, 0, 0, 0);
    let (mut expected_documents, mut expected_total, mut sharing) = (0, 0, 0);
    for path in paths {
        let relative = path
            .strip_prefix(root)?
            .to_string_lossy()
            .replace('\\', "/");
        let (format, items) = manifest
            .get(&relative)
            .cloned()
            .unwrap_or_else(|| ("?".to_string(), 0));
        if format.starts_with("sitemap") {
            continue;
        }
        documents += 1;
        let bytes = std::fs::read(&path)?;
        let result = parse_feed(&bytes, None, &url);
        let (count, distinct, note) = match &result {
            Ok(feed) => {
                let keys: HashSet<String> = feed.entries.iter().map(entry_key).collect();
                (feed.entries.len(), keys.len(), String::new())
            }
            Err(error) => (0, 0, format!("  error: {error}")),
        };
        if distinct > 0 {
            yielding += 1;
        }
        if distinct < count {
            sharing += 1;
        }
        entries_total += count;
        distinct_total += distinct;
        if items > 0 {
            expected_documents += 1;
            expected_total += items;
        }
        if verbose || distinct < count || count == 0 {
            println!("{relative}\t{format}\tmanifest {items}\tentries {count}\tdistinct {distinct}{note}");
        }
    }
    println!(
        "\ndocuments {documents} (sitemaps skipped); yielding entries {yielding}; entries {entries_total}, distinct identities {distinct_total} ({:.1} per yielding document)",
        distinct_total as f64 / yielding.max(1) as f64
    );
    println!(
        "documents whose entries share an identity {sharing}; manifest: {expected_documents} documents with item tags, {expected_total} tags"
    );
    Ok(())
}
