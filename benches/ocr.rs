//! OCR time per image and the memory of a warm pool. Reads every readable fixture in
//! `tests/fixtures/ocr` several times through the same pool the bot uses, one image at a time,
//! and prints p50/p99 of the time each read took (decode, preprocessing, Tesseract, pairing),
//! for 1x screenshots and for all images, and the resident set size before the pool started
//! and once it is warm.
//! Run: `cargo bench --bench ocr` (`OCR_BENCH_ROUNDS=N` to change the 5 rounds). Prints the
//! figures; nothing is asserted.

use std::path::Path;
use std::time::{Duration, Instant};

use imap_triage::core::ScreenshotKind;
use imap_triage::ocr::{Ocr, OcrSettings};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let rounds: usize = std::env::var("OCR_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocr");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg")))
        .collect();
    files.sort();
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let before = rss_kib();
    let ocr = Ocr::start(&OcrSettings {
        budget: Duration::from_secs(300),
        ..OcrSettings::default()
    });
    assert!(ocr.is_on(), "OCR is off: {:?}", ocr.status().err());
    let (mut all, mut screens_1x) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        for file in &files {
            let start = Instant::now();
            let read = runtime.block_on(ocr.read_path(&rules, file)).unwrap();
            let ms = start.elapsed().as_millis() as u64;
            // Round 0 warms the engine and the caches; it is not counted.
            if round == 0 || read.kind == ScreenshotKind::Unreadable {
                continue;
            }
            all.push(ms);
            let name = file.file_name().unwrap().to_string_lossy();
            let one_x = name.starts_with("a-") || name.starts_with("b-");
            if one_x && !name.contains("scale") && read.kind == ScreenshotKind::ConnectionScreen {
                screens_1x.push(ms);
            }
        }
    }
    let warm = rss_kib();
    all.sort_unstable();
    screens_1x.sort_unstable();
    println!(
        "OCR, 1x connection screens: n={} p50={} ms p99={} ms",
        screens_1x.len(),
        percentile(&screens_1x, 50.0),
        percentile(&screens_1x, 99.0)
    );
    println!(
        "OCR, every readable image:  n={} p50={} ms p99={} ms",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0)
    );
    println!(
        "RSS: {} MiB before the pool, {} MiB with one warm worker (+{} MiB)",
        before / 1024,
        warm / 1024,
        warm.saturating_sub(before) / 1024
    );
}
