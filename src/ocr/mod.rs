//! Purpose: read the screenshots members attach, offline, with Tesseract. This is the edge:
//! everything here can fail, and every failure becomes an `unreadable` read with a reason a
//! member can act on. What the text means is decided by the core (`core::screenshot`).
//!
//! # Layout
//! - `fetch`: download guards (CDN host allowlist, https, 10 MB, hard time limit).
//! - `guard`: type from magic bytes, dimensions from the header before decoding, decode limits.
//! - `prep`: grayscale, dark mode and the red banner made dark-on-light, 2x upscale.
//! - `pool`: worker processes (`imap-triage-ocr`, src/bin), one Tesseract engine each, started
//!   with the first image, killed over the time budget, stopped when idle; a bounded queue.
//! - `protocol`: what the bot and a worker say over the worker's stdin/stdout.
//! - `marks`: checkboxes and radio buttons (ticked or not) and faint placeholders, from pixels.
//! - `layout`: word boxes -> lines, phrases, label/value pairs, banner text.
//! - `boxes`: a form's input boxes on the prepared page, for the worker to read one by one.
//!
//! `guard`, `prep`, `marks`, `boxes` and `layout` run in the worker (its `engine.rs` strings them
//! together around Tesseract); the bot's own binary never links Tesseract.
//!
//! When the worker binary is missing, [`Ocr::start`] still returns: OCR is off, every read is
//! `None`, and images count as they did before OCR existed. When a worker can't start or says
//! Tesseract or its language data is missing, OCR turns off the same way from then on.

pub mod boxes;
pub mod fetch;
pub mod guard;
pub mod layout;
pub mod marks;
pub mod pool;
pub mod prep;
pub mod protocol;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::screenshot::{self, ScreenshotRead};
use crate::core::Rules;

pub use fetch::{FetchError, FetchPolicy};
pub use pool::{OcrOff, Outcome, Pool};

/// How OCR runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrSettings {
    pub enabled: bool,
    /// Worker processes at most, each with its own engine.
    pub workers: usize,
    /// Images waiting beyond the ones being read; more are refused at once.
    pub queue: usize,
    /// The longest a caller waits for one image (queue + reading).
    pub budget: Duration,
    pub fetch: FetchPolicy,
    /// The worker binary; `None`: `imap-triage-ocr` next to this executable.
    pub worker: Option<PathBuf>,
    /// A worker idle this long exits.
    pub idle: Duration,
    /// OCR switched off by a worker that could not start (a failed fork, a package being
    /// upgraded) is tried again with the first image after this long.
    pub retry_off: Duration,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            enabled: true,
            workers: 1,
            queue: 8,
            budget: Duration::from_secs(20),
            fetch: FetchPolicy::default(),
            worker: None,
            idle: Duration::from_secs(300),
            retry_off: Duration::from_secs(600),
        }
    }
}

/// The OCR service: on (a pool) or off (with the reason).
pub struct Ocr {
    pool: Result<Pool, OcrOff>,
    budget: Duration,
    fetch: FetchPolicy,
}

impl Ocr {
    /// Checks that the worker binary is there (no engine starts, no process); never fails.
    /// Check [`Ocr::status`] to know whether OCR is on.
    pub fn start(settings: &OcrSettings) -> Ocr {
        let pool = if settings.enabled {
            let program = pool::worker_program(settings.worker.as_deref());
            pool::check_program(&program).map(|()| {
                Pool::new(
                    program,
                    settings.workers,
                    settings.queue,
                    settings.idle,
                    settings.retry_off,
                )
            })
        } else {
            Err(OcrOff("switched off in the settings".into()))
        };
        Ocr {
            pool,
            budget: settings.budget,
            fetch: settings.fetch.clone(),
        }
    }

    /// An OCR service that is off, for tests and tools.
    pub fn off(reason: &str) -> Ocr {
        Ocr {
            pool: Err(OcrOff(reason.to_string())),
            budget: Duration::from_secs(1),
            fetch: FetchPolicy::default(),
        }
    }

    /// `Ok(workers)` while on (as far as known: workers start with the first image), or why
    /// it is off.
    pub fn status(&self) -> Result<usize, OcrOff> {
        match &self.pool {
            Ok(pool) => pool.off().map_or(Ok(pool.workers()), Err),
            Err(off) => Err(off.clone()),
        }
    }

    pub fn is_on(&self) -> bool {
        self.status().is_ok()
    }

    /// Starts a worker now, within the time budget: a one-shot command learns at once whether
    /// OCR can run here. Then [`Ocr::status`] says.
    pub async fn warm(&self) {
        if let Ok(pool) = &self.pool {
            let _ = pool.warm(tokio::time::Instant::now() + self.budget).await;
        }
    }

    /// The pids of the worker processes alive now.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.pool
            .as_ref()
            .map(Pool::worker_pids)
            .unwrap_or_default()
    }

    /// Reads an image's bytes. `None` when OCR is off.
    pub async fn read_bytes(&self, rules: &Rules, bytes: Vec<u8>) -> Option<ScreenshotRead> {
        let pool = self.pool.as_ref().ok()?;
        let deadline = tokio::time::Instant::now() + self.budget;
        match pool.read(&bytes, deadline).await {
            Outcome::Page(page, ms) => Some(screenshot::interpret(rules, &page, ms)),
            Outcome::Unreadable(reason, ms) => Some(ScreenshotRead::unreadable(reason, ms)),
            Outcome::Off => None,
        }
    }

    /// Downloads an attachment under the fetch policy, then reads it. `None` when OCR is off.
    pub async fn read_url(&self, rules: &Rules, url: &str) -> Option<ScreenshotRead> {
        if !self.is_on() {
            return None;
        }
        match self.fetch.fetch(url).await {
            Ok(bytes) => self.read_bytes(rules, bytes).await,
            // Not fetched by policy: the image is counted, as when OCR is off.
            Err(FetchError::NotAllowed) => {
                tracing::warn!("attachment not downloaded: its host is not on the CDN allowlist");
                None
            }
            Err(e) => Some(ScreenshotRead::unreadable(e.to_string(), 0)),
        }
    }

    /// Reads a local file (at most 10 MB of it). `None` when OCR is off.
    pub async fn read_path(&self, rules: &Rules, path: &Path) -> Option<ScreenshotRead> {
        if !self.is_on() {
            return None;
        }
        match read_capped(path) {
            Ok(bytes) => self.read_bytes(rules, bytes).await,
            Err(reason) => Some(ScreenshotRead::unreadable(reason, 0)),
        }
    }
}

/// A file's bytes, refusing one over the size limit without reading it all.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(guard::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() > guard::MAX_BYTES {
        return Err(guard::Refused::TooLarge.to_string());
    }
    Ok(bytes)
}
