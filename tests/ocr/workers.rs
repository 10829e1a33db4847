//! The OCR worker processes: one that hangs, crashes or writes garbage costs one image, never
//! the bot; one left idle exits; one that can't start switches OCR off, tried again later; a
//! full queue refuses at once.

use std::path::{Path, PathBuf};

use imap_triage::core::{ScreenshotKind, ScreenshotRead};
use imap_triage::ocr::{Ocr, OcrSettings};

use super::{fixtures, rules, WORKER};

/// A worker that misbehaves the first time it starts (`first_start`, shell), then is the real
/// worker every later time: the image after the bad one must be read.
fn worker_misbehaving_once(dir: &Path, first_start: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let marker = dir.join("started");
    let script = dir.join("fake-worker");
    let text = format!(
        "#!/bin/sh\nif [ -e '{marker}' ]; then exec '{WORKER}' \"$@\"; fi\n: > '{marker}'\n{first_start}\n",
        marker = marker.display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Whether a process is still there (a zombie counts: it was not reaped).
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Two reads through a worker that misbehaves at its first start: the first image is
/// `unreadable` with `reason`, that worker process is gone, OCR stays on, and the next image
/// is read by a new worker.
fn first_image_lost_then_read(first_start: &str, budget_secs: u64, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ocr = Ocr::start(&OcrSettings {
        budget: std::time::Duration::from_secs(budget_secs),
        worker: Some(worker_misbehaving_once(dir.path(), first_start)),
        ..OcrSettings::default()
    });
    let rules = rules();
    let rt = runtime();
    let bytes = std::fs::read(fixtures().join("a-clean.png")).unwrap();
    let (lost, bad_pids) = rt.block_on(async {
        let read = ocr.read_bytes(&rules, bytes.clone());
        tokio::pin!(read);
        // The bad worker's pid, seen while it holds the image.
        let mut pids = Vec::new();
        loop {
            tokio::select! {
                read = &mut read => break (read, pids),
                _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {
                    for pid in ocr.worker_pids() {
                        if !pids.contains(&pid) {
                            pids.push(pid);
                        }
                    }
                }
            }
        }
    });
    let lost = lost.expect("OCR on");
    assert_eq!(lost.kind, ScreenshotKind::Unreadable, "{lost:?}");
    let why = lost.reason.as_deref().unwrap_or("");
    assert!(why.contains(reason), "{why}");
    assert!(ocr.is_on(), "one bad worker must not switch OCR off");
    assert!(ocr.worker_pids().is_empty(), "{:?}", ocr.worker_pids());
    // Killed and reaped: not even a zombie is left.
    for pid in bad_pids {
        assert!(!process_exists(pid), "worker {pid} is still there");
    }

    let read = rt.block_on(ocr.read_bytes(&rules, bytes)).expect("OCR on");
    assert_eq!(read.kind, ScreenshotKind::ConnectionScreen, "{read:?}");
    assert_eq!(
        read.imap.as_ref().and_then(|s| s.host.as_deref()),
        Some("imap.acme-mail.com")
    );
    assert_eq!(
        ocr.worker_pids().len(),
        1,
        "the new worker stays for the next image"
    );
}

#[test]
fn a_worker_that_hangs_is_killed_at_the_budget_and_the_next_image_is_read() {
    // Says it is ready, then never answers. The budget must also cover the next image's new
    // worker reading in a debug build on a busy machine.
    first_image_lost_then_read(
        "printf '\"ready\"\\n'; exec sleep 600",
        30,
        "took too long; its OCR worker was stopped",
    );
}

#[test]
fn a_worker_that_crashes_mid_image_costs_that_image_only() {
    first_image_lost_then_read(
        "printf '\"ready\"\\n'; head -c 100 > /dev/null; kill -SEGV $$",
        300,
        "the OCR worker stopped while reading this image",
    );
}

#[test]
fn a_worker_that_writes_garbage_is_replaced() {
    first_image_lost_then_read(
        "printf '\"ready\"\\n'; head -c 100 > /dev/null; echo 'Warning: Invalid resolution 0 dpi'; exec sleep 600",
        300,
        "the OCR worker gave a broken answer",
    );
}

#[test]
fn an_idle_worker_exits_and_the_next_image_starts_another() {
    let ocr = Ocr::start(&OcrSettings {
        budget: std::time::Duration::from_secs(300),
        worker: Some(WORKER.into()),
        idle: std::time::Duration::from_secs(1),
        ..OcrSettings::default()
    });
    // Nothing runs before the first image.
    assert!(ocr.worker_pids().is_empty());
    let rules = rules();
    let rt = runtime();
    let bytes = std::fs::read(fixtures().join("banner-only.png")).unwrap();
    let first = rt
        .block_on(ocr.read_bytes(&rules, bytes.clone()))
        .expect("OCR on");
    assert_eq!(first.kind, ScreenshotKind::ErrorBanner, "{first:?}");
    let pids = ocr.worker_pids();
    assert_eq!(pids.len(), 1);
    rt.block_on(async {
        // Bounded: far beyond the idle time, so only a worker that never exits fails this.
        for _ in 0..600 {
            if ocr.worker_pids().is_empty() && !process_exists(pids[0]) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the idle worker {pids:?} is still running");
    });
    let again = rt.block_on(ocr.read_bytes(&rules, bytes)).expect("OCR on");
    assert_eq!(again.kind, ScreenshotKind::ErrorBanner, "{again:?}");
    assert_ne!(ocr.worker_pids(), pids);
}

#[test]
fn a_worker_that_cannot_start_switches_ocr_off_and_images_are_counted() {
    // What a machine without libtesseract gives: the loader refuses the worker (status 127).
    let dir = tempfile::tempdir().unwrap();
    let ocr = Ocr::start(&OcrSettings {
        worker: Some(worker_misbehaving_once(dir.path(), "exit 127")),
        ..OcrSettings::default()
    });
    assert!(
        ocr.is_on(),
        "the binary is there: on until a worker says otherwise"
    );
    let rules = rules();
    let bytes = std::fs::read(fixtures().join("a-clean.png")).unwrap();
    assert_eq!(runtime().block_on(ocr.read_bytes(&rules, bytes)), None);
    let off = ocr.status().unwrap_err().to_string();
    assert!(off.contains("127"), "{off}");
    assert!(off.contains("libtesseract5"), "{off}");
    assert!(ocr.worker_pids().is_empty());

    // The cause may pass (here the next start runs the real worker): after `retry_off` the
    // first image tries a worker again, and OCR is on once one starts.
    let retrying = tempfile::tempdir().unwrap();
    let ocr = Ocr::start(&OcrSettings {
        worker: Some(worker_misbehaving_once(retrying.path(), "exit 127")),
        budget: std::time::Duration::from_secs(300),
        retry_off: std::time::Duration::from_millis(300),
        ..OcrSettings::default()
    });
    let bytes = std::fs::read(fixtures().join("banner-only.png")).unwrap();
    let rt = runtime();
    assert_eq!(rt.block_on(ocr.read_bytes(&rules, bytes.clone())), None);
    assert!(!ocr.is_on());
    std::thread::sleep(std::time::Duration::from_millis(400));
    let read = rt
        .block_on(ocr.read_bytes(&rules, bytes))
        .expect("OCR on again");
    assert_eq!(read.kind, ScreenshotKind::ErrorBanner, "{read:?}");
    assert!(ocr.is_on(), "{:?}", ocr.status());

    let missing = Ocr::start(&OcrSettings {
        worker: Some(dir.path().join("no-such-worker")),
        ..OcrSettings::default()
    });
    let off = missing.status().unwrap_err().to_string();
    assert!(
        off.contains("no-such-worker") && off.contains("missing"),
        "{off}"
    );
}

#[test]
fn a_full_queue_refuses_at_once_and_the_bot_goes_on() {
    // One worker, one waiting place: of four images sent together, at least one is refused
    // with a reason, and none takes the others down.
    let ocr = Ocr::start(&OcrSettings {
        workers: 1,
        queue: 1,
        budget: std::time::Duration::from_secs(300),
        worker: Some(WORKER.into()),
        ..OcrSettings::default()
    });
    let rules = rules();
    let bytes = std::fs::read(fixtures().join("banner-only.png")).unwrap();
    let reads = runtime().block_on(futures_util::future::join_all(
        (0..4).map(|_| ocr.read_bytes(&rules, bytes.clone())),
    ));
    let reads: Vec<ScreenshotRead> = reads.into_iter().map(|r| r.expect("OCR on")).collect();
    let refused = reads
        .iter()
        .filter(|r| {
            r.reason.as_deref() == Some("too many images are being read; try again in a minute")
        })
        .count();
    assert_eq!(refused, 2, "{reads:?}");
    assert_eq!(
        reads
            .iter()
            .filter(|r| r.kind == ScreenshotKind::ErrorBanner)
            .count(),
        2,
        "{reads:?}"
    );
}
