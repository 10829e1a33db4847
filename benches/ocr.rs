//! OCR time per image and the memory of a warm pool. Reads every readable fixture in
//! `tests/fixtures/ocr` several times through the same pool the bot uses (one `imap-triage-ocr`
//! worker process), one image at a time, and prints p50/p99 of the time each read took as the
//! caller sees it (sending the bytes, decode, preprocessing, Tesseract, pairing, the answer),
//! for 1x screenshots and for all images, and the resident set size of this process before the
//! pool and once it is warm, and of the warm worker.
//! Run: `cargo bench --bench ocr` (`OCR_BENCH_ROUNDS=N` to change the 5 rounds). Prints the
//! figures; nothing is asserted. Runs with `OMP_THREAD_LIMIT=1`, as the bot does, unless the
//! variable is set. Also prints the CPU time per 1x read, steadier than wall time when other
//! work shares the cores.

use std::path::Path;
use std::time::{Duration, Instant};

use imap_triage::core::ScreenshotKind;
use imap_triage::ocr::{Ocr, OcrSettings};

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
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

/// A process's CPU time (user + system, every thread) in milliseconds, from /proc: on a
/// shared machine it is steadier than wall time, which mostly measures the wait for a core.
fn cpu_ms(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime (fields 14 and 15 of the line), in 10 ms ticks.
    (fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0)) * 10
}

fn main() {
    // The bot runs with OMP_THREAD_LIMIT=1 (Dockerfile, scripts/console). libgomp reads it when
    // it loads, so the bench runs itself again with it when it is unset; set it to measure
    // anything else (`OMP_THREAD_LIMIT=64` for no limit).
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .status()
            .expect("run the bench again with OMP_THREAD_LIMIT=1");
        std::process::exit(status.code().unwrap_or(1));
    }
    println!(
        "OMP_THREAD_LIMIT={}",
        std::env::var("OMP_THREAD_LIMIT").unwrap_or_default()
    );
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

    let before = rss_kib("self");
    let ocr = Ocr::start(&OcrSettings {
        budget: Duration::from_secs(300),
        worker: Some(env!("CARGO_BIN_EXE_imap-triage-ocr").into()),
        ..OcrSettings::default()
    });
    runtime.block_on(ocr.warm());
    assert!(ocr.is_on(), "OCR is off: {:?}", ocr.status().err());
    // One worker, reused for every image (a crash would start another: its CPU is then lost).
    let worker = ocr.worker_pids()[0].to_string();
    let cpu_both = |worker: &str| cpu_ms("self") + cpu_ms(worker);
    let (mut all, mut screens_1x, mut cpu_1x) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        for file in &files {
            let (start, cpu) = (Instant::now(), cpu_both(&worker));
            let read = runtime.block_on(ocr.read_path(&rules, file)).unwrap();
            let ms = start.elapsed().as_millis() as u64;
            let cpu = cpu_both(&worker).saturating_sub(cpu);
            // Round 0 warms the engine and the caches; it is not counted.
            if round == 0 || read.kind == ScreenshotKind::Unreadable {
                continue;
            }
            all.push(ms);
            let name = file.file_name().unwrap().to_string_lossy();
            // A mock-up style's fixtures are named `<letter>-...` (a to f).
            let one_x = name.as_bytes().get(1) == Some(&b'-');
            if one_x && !name.contains("scale") && read.kind == ScreenshotKind::ConnectionScreen {
                screens_1x.push(ms);
                cpu_1x.push(cpu);
            }
        }
    }
    let warm = rss_kib("self");
    let worker_rss = rss_kib(&worker);
    all.sort_unstable();
    screens_1x.sort_unstable();
    cpu_1x.sort_unstable();
    println!(
        "OCR, 1x connection screens: n={} p50={} ms p99={} ms",
        screens_1x.len(),
        percentile(&screens_1x, 50.0),
        percentile(&screens_1x, 99.0)
    );
    println!(
        "OCR, 1x connection screens, CPU time (caller + worker, 10 ms ticks): p50={} ms p99={} ms",
        percentile(&cpu_1x, 50.0),
        percentile(&cpu_1x, 99.0)
    );
    println!(
        "OCR, every readable image:  n={} p50={} ms p99={} ms",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0)
    );
    println!(
        "RSS: caller {} MiB before the pool, {} MiB with one warm worker; the worker {} MiB",
        before / 1024,
        warm / 1024,
        worker_rss / 1024
    );
}
