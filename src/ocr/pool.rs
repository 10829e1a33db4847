//! Purpose: run Tesseract off the async runtime, a bounded number at a time.
//!
//! Tesseract's engine is `Send` but not `Sync`, and takes about 55 ms to start: each worker
//! thread owns one engine for its lifetime. Jobs wait in a small bounded queue; a full queue
//! refuses at once rather than letting work pile up. The caller bounds its wait per image.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tesseract::Tesseract;

use crate::core::screenshot::OcrPage;

use super::{guard, layout, marks, passes, prep};

/// Why OCR can't run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OCR is off: {0}")]
pub struct OcrOff(pub String);

/// The result of one job: the page, or why the image could not be read; and the time spent.
pub type JobResult = (Result<OcrPage, String>, u64);

struct Job {
    bytes: Vec<u8>,
    reply: tokio::sync::oneshot::Sender<JobResult>,
}

/// A fixed set of OCR workers, each with its own engine.
pub struct Pool {
    queue: SyncSender<Job>,
    workers: usize,
}

/// The language data the engine loads.
const LANGUAGE: &str = "eng";

fn engine() -> Result<Tesseract, String> {
    let engine = Tesseract::new(None, Some(LANGUAGE)).map_err(|e| {
        format!(
            "Tesseract could not load its '{LANGUAGE}' language data ({e}); install tesseract-ocr-eng or fix TESSDATA_PREFIX"
        )
    })?;
    // Tesseract writes its warnings ("Estimating resolution") to stderr otherwise.
    let mut engine = engine
        .set_variable("debug_file", "/dev/null")
        .map_err(|e| e.to_string())?;
    // Full automatic layout: label and value on one line come back as one line.
    engine.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
    Ok(engine)
}

/// Starts one engine and drops it: whether OCR can run here (library and language data).
pub fn check_engine() -> Result<(), OcrOff> {
    engine().map(drop).map_err(OcrOff)
}

impl Pool {
    /// Starts `workers` threads after checking that an engine can start here.
    pub fn start(workers: usize, queue: usize) -> Result<Pool, OcrOff> {
        // One engine proves the library and the language data are there.
        engine().map_err(OcrOff)?;
        let workers = workers.max(1);
        let (tx, rx) = sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("ocr-{n}"))
                .spawn(move || worker(rx))
                .map_err(|e| OcrOff(format!("cannot start an OCR thread: {e}")))?;
        }
        Ok(Pool { queue: tx, workers })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queues one image; the answer arrives on the returned channel. `Err` when the queue is
    /// full.
    pub fn submit(
        &self,
        bytes: Vec<u8>,
    ) -> Result<tokio::sync::oneshot::Receiver<JobResult>, String> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        match self.queue.try_send(Job { bytes, reply }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => {
                Err("too many images are being read; try again in a minute".into())
            }
            Err(TrySendError::Disconnected(_)) => Err("the OCR workers stopped".into()),
        }
    }
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>) {
    let mut engine: Option<Tesseract> = None;
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let started = Instant::now();
        let result = read(&mut engine, &job.bytes);
        let ms = started.elapsed().as_millis() as u64;
        let _ = job.reply.send((result, ms));
    }
}

/// Guards, decodes, prepares and recognises one image with this worker's engine.
fn read(slot: &mut Option<Tesseract>, bytes: &[u8]) -> Result<OcrPage, String> {
    let image = guard::decode(bytes).map_err(|e| e.to_string())?;
    let prepared = prep::prepare(&image);
    drop(image);
    let engine = match slot.take() {
        Some(engine) => engine,
        None => engine()?,
    };
    let (w, h) = prepared.gray.dimensions();
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("OCR failed ({what}: {e})");
    // The engine is consumed by each step; on an error it is dropped and a new one starts
    // with the next image.
    let engine = engine
        .set_frame(prepared.gray.as_raw(), w as i32, h as i32, 1, w as i32)
        .map_err(|e| fail("image", &e))?;
    let mut engine = engine.recognize().map_err(|e| fail("recognise", &e))?;
    let tsv = engine.get_tsv_text(0).map_err(|e| fail("text", &e))?;
    *slot = Some(engine);
    let mut words = layout::words_from_tsv(&tsv);
    marks::apply(&prepared.gray, &mut words);
    let mut page = layout::page(&words, prepared.banner);
    // A weak first reading gets a second pass (ocr::passes).
    passes::add_second_read(slot, &prepared, &mut page);
    Ok(page)
}
