//! Purpose: a second Tesseract pass over a page whose first reading looks weak.
//!
//! Tesseract's automatic layout sometimes drops whole blocks of a form: a value inside a box
//! with its label inside the same box (a floating label), a small port box beside a wide host
//! box, most of a blurred page but its input boxes. Reading the same prepared page again as
//! sparse text (each word found on its own, no blocks) recovers them, at the cost of a second
//! recognition; so it runs only when the first reading lacks what a connection screen shows
//! ([`needs_second_read`]), and the core takes from it only what the first lacks.

use tesseract::{PageSegMode, Tesseract};

use crate::core::screenshot::{needs_second_read, OcrPage};

use super::prep::Prepared;
use super::{layout, marks};

/// Adds a second reading to `page` when it needs one. The engine is taken from `slot` and put
/// back; on an engine error it is dropped (the next image starts a new one) and the first
/// reading stands alone.
pub fn add_second_read(slot: &mut Option<Tesseract>, prepared: &Prepared, page: &mut OcrPage) {
    if !needs_second_read(page) {
        return;
    }
    let Some(mut engine) = slot.take() else {
        return;
    };
    engine.set_page_seg_mode(PageSegMode::PsmSparseText);
    let (w, h) = prepared.gray.dimensions();
    let Ok(engine) = engine.set_frame(prepared.gray.as_raw(), w as i32, h as i32, 1, w as i32)
    else {
        return;
    };
    let Ok(mut engine) = engine.recognize() else {
        return;
    };
    let tsv = engine.get_tsv_text(0);
    engine.set_page_seg_mode(PageSegMode::PsmAuto);
    *slot = Some(engine);
    let Ok(tsv) = tsv else { return };
    let mut words = layout::words_from_tsv(&tsv);
    marks::apply(&prepared.gray, &mut words);
    page.second = Some(Box::new(layout::page(&words, prepared.banner)));
}
