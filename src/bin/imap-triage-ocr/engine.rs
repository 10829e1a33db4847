//! Purpose: the Tesseract engine and the read of one image (guard -> prep -> engine -> layout ->
//! marks). Compiled only into the worker binary, so the bot's own binary never links Tesseract.
//!
//! Tesseract's engine takes about 55 ms to start: the worker keeps one for its lifetime.

use tesseract::Tesseract;

use imap_triage::core::screenshot::OcrPage;
use imap_triage::ocr::{guard, layout, marks, prep};

use crate::passes;

/// The language data the engine loads.
const LANGUAGE: &str = "eng";

pub fn engine() -> Result<Tesseract, String> {
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

/// Guards, decodes, prepares and recognises one image with this worker's engine.
pub fn read(slot: &mut Option<Tesseract>, bytes: &[u8]) -> Result<OcrPage, String> {
    let image = guard::decode(bytes).map_err(|e| e.to_string())?;
    let prepared = prep::prepare(&image);
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
    // A weak first reading gets a second pass (passes.rs).
    passes::add_second_read(slot, &prepared, &words, &mut page);
    passes::add_local_threshold_read(slot, &prepared, &mut page);
    passes::add_deblurred_read(slot, &image, &prepared, &mut page);
    Ok(page)
}
