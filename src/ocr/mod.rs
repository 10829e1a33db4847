//! Purpose: read the screenshots members attach, offline, with Tesseract. This is the edge:
//! everything here can fail, and every failure becomes an `unreadable` read with a reason a
//! member can act on. What the text means is decided by the core (`core::screenshot`).
//!
//! # Layout
//! - `fetch`: download guards (CDN host allowlist, https, 10 MB, hard time limit).
//! - `guard`: type from magic bytes, dimensions from the header before decoding, decode limits.
//! - `prep`: grayscale, dark mode and the red banner made dark-on-light, 2x upscale.
//! - `pool`: worker threads, one Tesseract engine each, a bounded queue.
//! - `marks`: checkboxes and radio buttons (ticked or not) and faint placeholders, from pixels.
//! - `layout`: word boxes -> lines, phrases, label/value pairs, banner text.
//!
//! When Tesseract or its language data is missing, [`Ocr::start`] still returns: OCR is off,
//! every read is `None`, and images count as they did before OCR existed.

pub mod fetch;
pub mod guard;
pub mod layout;
pub mod marks;
pub mod passes;
pub mod pool;
pub mod prep;

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use crate::core::screenshot::{self, ScreenshotRead};
use crate::core::Rules;

pub use fetch::{FetchError, FetchPolicy};
pub use pool::{OcrOff, Pool};

/// How OCR runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrSettings {
    pub enabled: bool,
    /// Worker threads, each with its own engine.
    pub workers: usize,
    /// Images waiting beyond the ones being read; more are refused at once.
    pub queue: usize,
    /// The longest a caller waits for one image (queue + reading).
    pub budget: Duration,
    pub fetch: FetchPolicy,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            enabled: true,
            workers: 1,
            queue: 8,
            budget: Duration::from_secs(20),
            fetch: FetchPolicy::default(),
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
    /// Starts the workers; never fails. Check [`Ocr::status`] to know whether OCR is on.
    pub fn start(settings: &OcrSettings) -> Ocr {
        let pool = if settings.enabled {
            Pool::start(settings.workers, settings.queue)
        } else {
            Err(OcrOff("switched off in the settings".into()))
        };
        if pool.is_ok() && std::env::var_os("OMP_THREAD_LIMIT").is_none() {
            // libgomp reads it when the library loads: too late to set it from here.
            tracing::warn!(
                "OMP_THREAD_LIMIT is not set: Tesseract's OpenMP threads spin on every core, about 3x the CPU per image; set OMP_THREAD_LIMIT=1 (the Dockerfile and scripts/console do)"
            );
        }
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

    /// `Ok(workers)` when on, or why it is off.
    pub fn status(&self) -> Result<usize, &OcrOff> {
        self.pool.as_ref().map(Pool::workers)
    }

    pub fn is_on(&self) -> bool {
        self.pool.is_ok()
    }

    /// Reads an image's bytes. `None` when OCR is off.
    pub async fn read_bytes(&self, rules: &Rules, bytes: Vec<u8>) -> Option<ScreenshotRead> {
        let pool = self.pool.as_ref().ok()?;
        let rx = match pool.submit(bytes) {
            Ok(rx) => rx,
            Err(reason) => return Some(ScreenshotRead::unreadable(reason, 0)),
        };
        Some(match tokio::time::timeout(self.budget, rx).await {
            Ok(Ok((Ok(page), ms))) => screenshot::interpret(rules, &page, ms),
            Ok(Ok((Err(reason), ms))) => ScreenshotRead::unreadable(reason, ms),
            Ok(Err(_)) => ScreenshotRead::unreadable("the OCR worker stopped", 0),
            Err(_) => ScreenshotRead::unreadable(
                "reading the image took too long",
                self.budget.as_millis() as u64,
            ),
        })
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
