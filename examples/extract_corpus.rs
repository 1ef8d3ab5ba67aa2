//! Extracts every `<id>.html` of a corpus directory and writes `<id>.txt` (the plain body) for
//! `score_extraction.py`, then reports single-threaded throughput and peak memory.
//!
//! Usage: `cargo run --release --example extract_corpus -- GOLD_DIR PRED_DIR [--doc]`
//! (`--doc` also writes `<id>.doc.txt`, the full document, for reading by eye.)

use std::path::PathBuf;
use std::time::Instant;
use wirewatch::extract::{self, render};

/// User + system CPU time of this process (from /proc/self/stat, clock ticks of 10 ms), so that
/// throughput is comparable on a machine shared with other jobs.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: extract_corpus GOLD_DIR PRED_DIR [--doc]".into());
    }
    let gold = PathBuf::from(&args[1]);
    let pred = PathBuf::from(&args[2]);
    let write_doc = args.iter().any(|a| a == "--doc");
    std::fs::create_dir_all(&pred)?;

    // Preload so the timing covers decoding, parsing and extraction only.
    let mut pages = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&gold)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    entries.sort();
    for path in entries {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(&path)?;
        let url = std::fs::read_to_string(gold.join(format!("{id}.json")))
            .ok()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| v.get("url").and_then(|u| u.as_str()).map(str::to_string))
            .and_then(|u| url::Url::parse(&u).ok())
            .unwrap_or_else(|| url::Url::parse("https://example.invalid/").expect("static url"));
        pages.push((id, bytes, url));
    }

    let cpu_started = cpu_seconds();
    let started = Instant::now();
    let mut outputs = Vec::with_capacity(pages.len());
    for (id, bytes, url) in &pages {
        let html = extract::decode_html(bytes, None);
        let article = extract::extract(&html, url);
        outputs.push((id, article));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;

    for (id, article) in &outputs {
        std::fs::write(pred.join(format!("{id}.txt")), render::body(article))?;
        if write_doc {
            std::fs::write(
                pred.join(format!("{id}.doc.txt")),
                render::document(article, render::LinkStyle::Absolute),
            )?;
        }
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "pages {} seconds {:.3} pages/s {:.1} (cpu {:.3}s: {:.1} pages/cpu-s) peak RSS {}",
        pages.len(),
        elapsed,
        pages.len() as f64 / elapsed,
        cpu,
        pages.len() as f64 / cpu.max(0.001),
        peak
    );
    Ok(())
}
