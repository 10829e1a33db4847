//! Purpose: more Tesseract passes over a page whose first reading looks weak.
//!
//! Tesseract's automatic layout sometimes drops whole blocks of a form: a value inside a box
//! with its label inside the same box (a floating label), a small port box beside a wide host
//! box, most of a blurred page but its input boxes. Two more readings recover them, at the cost
//! of more recognitions, so they run only when the first reading lacks what a connection screen
//! shows ([`needs_second_read`]), and the core takes from them only what the first lacks:
//! - each input box read on its own ([`box_words`]): its interior cropped, given a margin and
//!   read as one line, in place of what the first reading found inside it;
//! - the same prepared page read as sparse text (each word found on its own, no blocks).

use image::{DynamicImage, GrayImage, Luma};
use tesseract::{PageSegMode, Tesseract};

use imap_triage::core::screenshot::{needs_second_read, OcrPage};

use imap_triage::ocr::layout::{self, Word};
use imap_triage::ocr::prep::{self, Prepared, Rect};
use imap_triage::ocr::{boxes, marks};

/// Adds the further readings to `page` when it needs them, each behind the one before (the core
/// fills what a reading lacks from the next): the first reading with its boxes read one by one,
/// the sparse reading with them, the sparse reading alone. `words` are the first reading's. The
/// engine is taken from `slot` and put back; on an engine error it is dropped (the next image
/// starts a new one) and what was read so far stands.
pub fn add_second_read(
    slot: &mut Option<Tesseract>,
    prepared: &Prepared,
    words: &[Word],
    page: &mut OcrPage,
) {
    if !needs_second_read(page) {
        return;
    }
    let sparse = sparse_words(slot, prepared);
    let boxes = read_boxes(slot, prepared, words);
    let mut readings: Vec<Vec<Word>> = Vec::new();
    readings.extend(with_boxes(&prepared.gray, words, &boxes));
    if let Some(sparse) = sparse {
        readings.extend(with_boxes(&prepared.gray, &sparse, &boxes));
        readings.push(sparse);
    }
    page.second = readings.into_iter().rev().fold(None, |behind, words| {
        let mut page = layout::page(&words, prepared.banner);
        page.second = behind;
        Some(Box::new(page))
    });
}

/// How Tesseract binarizes the page (its `thresholding_method`).
#[derive(Clone, Copy)]
pub enum Threshold {
    /// One global threshold (Otsu): Tesseract's default, what the fixtures were tuned with.
    Global,
    /// A local threshold (Sauvola) over a window around each pixel.
    Local,
}

/// The engine set to binarize with `threshold`.
pub fn set_threshold(engine: Tesseract, threshold: Threshold) -> Result<Tesseract, String> {
    let method = match threshold {
        Threshold::Global => "0",
        Threshold::Local => "2",
    };
    engine
        .set_variable("thresholding_method", method)
        .map_err(|e| e.to_string())
}

/// On a soft (blurred) page that needed the further readings, the same prepared page read again
/// with a local threshold (and its own further readings when it needs them), behind every
/// reading before it. Measured on the blurred fixtures: the global threshold merges blurred
/// letters ("tid" read "Od") and drops thin labels and ports; the local one brought back ports,
/// securities and hosts, but read first it lost fields the global one had (a host's first
/// letter, two securities), so it only fills what the global readings lack.
pub fn add_local_threshold_read(
    slot: &mut Option<Tesseract>,
    prepared: &Prepared,
    page: &mut OcrPage,
) {
    if !prepared.soft || page.second.is_none() {
        return;
    }
    let switch = |slot: &mut Option<Tesseract>, threshold| {
        if let Some(engine) = slot.take() {
            *slot = set_threshold(engine, threshold).ok();
        }
    };
    switch(slot, Threshold::Local);
    if let Some(words) = auto_words(slot, prepared) {
        let mut local = layout::page(&words, prepared.banner);
        add_second_read(slot, prepared, &words, &mut local);
        append(page, local);
    }
    switch(slot, Threshold::Global);
}

/// Puts `last` behind every reading of `page`'s chain.
fn append(page: &mut OcrPage, last: OcrPage) {
    let mut tail = page;
    while let Some(ref mut next) = tail.second {
        tail = next;
    }
    tail.second = Some(Box::new(last));
}

/// On a soft (blurred) page that needed the further readings, one more at the end of the chain:
/// the page deconvolved ([`prep::prepare_deblurred`]) instead of unsharp-masked, read with the
/// automatic layout. The core takes from it only what every reading before it lacks.
pub fn add_deblurred_read(
    slot: &mut Option<Tesseract>,
    image: &DynamicImage,
    prepared: &Prepared,
    page: &mut OcrPage,
) {
    if !prepared.soft || page.second.is_none() {
        return;
    }
    let deblurred = prep::prepare_deblurred(image, DEBLUR_SIGMA);
    let Some(words) = auto_words(slot, &deblurred) else {
        return;
    };
    append(page, layout::page(&words, deblurred.banner));
}

/// The blur, in screenshot px, [`add_deblurred_read`] undoes: measured on the blurred fixtures
/// (0.7-1.2 px), one value for all.
const DEBLUR_SIGMA: f32 = 1.0;

/// A prepared page read with the automatic layout (Tesseract PSM 3), as the first reading is.
fn auto_words(slot: &mut Option<Tesseract>, prepared: &Prepared) -> Option<Vec<Word>> {
    words_in_mode(slot, prepared, PageSegMode::PsmAuto)
}

/// The same prepared page read as sparse text (Tesseract PSM 11).
fn sparse_words(slot: &mut Option<Tesseract>, prepared: &Prepared) -> Option<Vec<Word>> {
    words_in_mode(slot, prepared, PageSegMode::PsmSparseText)
}

/// The prepared page read in page segmentation `mode`; the engine goes back to the automatic
/// layout after, as every other reading expects it.
fn words_in_mode(
    slot: &mut Option<Tesseract>,
    prepared: &Prepared,
    mode: PageSegMode,
) -> Option<Vec<Word>> {
    let mut engine = slot.take()?;
    engine.set_page_seg_mode(mode);
    let (w, h) = prepared.gray.dimensions();
    let engine = engine
        .set_frame(prepared.gray.as_raw(), w as i32, h as i32, 1, w as i32)
        .ok()?;
    let mut engine = engine.recognize().ok()?;
    let tsv = engine.get_tsv_text(0);
    engine.set_page_seg_mode(PageSegMode::PsmAuto);
    *slot = Some(engine);
    let mut words = layout::words_from_tsv(&tsv.ok()?);
    marks::apply(&prepared.gray, &mut words);
    Some(words)
}

/// Each input box of the page with ink in it, read on its own, unless the first reading
/// (`words`) read it surely.
fn read_boxes(
    slot: &mut Option<Tesseract>,
    prepared: &Prepared,
    words: &[Word],
) -> Vec<(Rect, Vec<Word>)> {
    let mut reads = Vec::new();
    for (k, interior) in boxes::find(&prepared.gray, prepared.scale)
        .into_iter()
        .enumerate()
    {
        // A box the first reading read surely (a title bar, a button, a clean value) can't be
        // read better: not worth a recognition.
        let inside = |w: &Word| interior.contains(w.left + w.width / 2, w.top + w.height / 2);
        let mut first = words.iter().filter(|w| inside(w)).peekable();
        let sure = first.peek().is_some() && mean_conf(first) >= SURE;
        if sure || !has_ink(&prepared.gray, &interior) {
            continue;
        }
        let Some(read) = read_box(slot, &prepared.gray, &interior, k as u32) else {
            // The engine failed: what was read so far stands.
            break;
        };
        if !read.is_empty() {
            reads.push((interior, read));
        }
    }
    reads
}

/// `words` with what a box read found in place of the words inside that box, where the box's
/// reading is surer (or nothing was found there). None when no box changed anything.
fn with_boxes(gray: &GrayImage, words: &[Word], boxes: &[(Rect, Vec<Word>)]) -> Option<Vec<Word>> {
    let mut words = words.to_vec();
    let mut changed = false;
    for (interior, read) in boxes {
        let inside = |w: &Word| interior.contains(w.left + w.width / 2, w.top + w.height / 2);
        let before = mean_conf(words.iter().filter(|w| inside(w)));
        if mean_conf(read.iter()) <= before {
            continue;
        }
        words.retain(|w| !inside(w));
        words.extend(read.iter().cloned());
        changed = true;
    }
    // A placeholder in an empty box ("e.g. smtp.example.com") is no value, read whole or not.
    marks::drop_faint(gray, &mut words);
    changed.then_some(words)
}

/// The first reading's mean confidence inside a box above which the box is not read again.
const SURE: f32 = 88.0;

/// Whether a box's interior holds anything darker than its background (an empty box is not
/// worth a recognition).
fn has_ink(gray: &GrayImage, r: &Rect) -> bool {
    let (mut lo, mut hi) = (255u8, 0u8);
    for y in r.top..r.bottom {
        for x in r.left..r.right {
            let v = gray.get_pixel(x, y)[0];
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    hi.saturating_sub(lo) >= 60
}

fn mean_conf<'a>(words: impl Iterator<Item = &'a Word>) -> f32 {
    let (sum, n) = words.fold((0.0, 0), |(s, n), w| (s + w.conf, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

/// One box's interior read as a single line (Tesseract PSM 7), on a margin of its own
/// background; its words come back in the page's pixels, as a line of their own (`k`).
/// None when the engine failed.
fn read_box(slot: &mut Option<Tesseract>, gray: &GrayImage, r: &Rect, k: u32) -> Option<Vec<Word>> {
    let (w, h) = (r.right - r.left, r.bottom - r.top);
    let margin = h / 2 + 4;
    let background = most_common(gray, r);
    let mut crop = GrayImage::from_pixel(w + 2 * margin, h + 2 * margin, Luma([background]));
    image::imageops::replace(
        &mut crop,
        &image::imageops::crop_imm(gray, r.left, r.top, w, h).to_image(),
        margin as i64,
        margin as i64,
    );
    erase_edges(&mut crop, margin, background);
    let mut engine = slot.take()?;
    engine.set_page_seg_mode(PageSegMode::PsmSingleLine);
    let (cw, ch) = crop.dimensions();
    let engine = engine
        .set_frame(crop.as_raw(), cw as i32, ch as i32, 1, cw as i32)
        .ok()?;
    let mut engine = engine.recognize().ok()?;
    let tsv = engine.get_tsv_text(0);
    engine.set_page_seg_mode(PageSegMode::PsmAuto);
    *slot = Some(engine);
    let mut words: Vec<Word> = layout::words_from_tsv(&tsv.ok()?)
        .into_iter()
        .filter(|w| !w.text.chars().all(|c| EDGE_MARKS.contains(c)))
        .collect();
    // What is left of the box's own edge at either end ("[993", "STARTTLS |").
    if let Some(first) = words.first_mut() {
        first.text = first
            .text
            .trim_start_matches(|c| EDGE_MARKS.contains(c))
            .to_string();
    }
    if let Some(last) = words.last_mut() {
        last.text = last
            .text
            .trim_end_matches(|c| EDGE_MARKS.contains(c))
            .to_string();
    }
    words.retain(|w| !w.text.is_empty());
    let words = words
        .into_iter()
        .map(|w| Word {
            line: (10_000 + k, 0, 0),
            left: (w.left + r.left).saturating_sub(margin),
            top: (w.top + r.top).saturating_sub(margin),
            ..w
        })
        .collect();
    Some(words)
}

/// Marks that a box's edge reads as.
const EDGE_MARKS: &str = "|[]_";

/// The (x, y) of the k-th pixel along a row or column of a crop: `(line, k)`.
type PixelOfLine = fn(u32, u32) -> (u32, u32);

/// Whitens the rows and columns along a crop's inner edge (within `margin` of the pasted
/// interior's sides) that are mostly ink: what is left of a box's border or its inner shadow.
fn erase_edges(crop: &mut GrayImage, margin: u32, background: u8) {
    let (w, h) = crop.dimensions();
    let dark = |v: u8| u16::from(v) + 40 < u16::from(background);
    let band = margin.min(h / 2);
    // Rows, then columns: `pixel(line, k)` is the k-th pixel along a line of `along` pixels.
    let rows: (u32, u32, PixelOfLine) = (h, w, |y, x| (x, y));
    let cols: (u32, u32, PixelOfLine) = (w, h, |x, y| (x, y));
    for (lines, along, pixel) in [rows, cols] {
        let near_edges: Vec<u32> = (margin..margin + band / 2)
            .chain((lines - margin).saturating_sub(band / 2)..lines - margin)
            .collect();
        for line in near_edges {
            let inked = (0..along)
                .filter(|&k| {
                    let (x, y) = pixel(line, k);
                    dark(crop.get_pixel(x, y)[0])
                })
                .count();
            if inked * 10 > (along - 2 * margin) as usize * 7 {
                for k in 0..along {
                    let (x, y) = pixel(line, k);
                    crop.put_pixel(x, y, Luma([background]));
                }
            }
        }
    }
}

/// The interior's most common level: its background.
fn most_common(gray: &GrayImage, r: &Rect) -> u8 {
    let mut counts = [0u32; 256];
    for y in r.top..r.bottom {
        for x in r.left..r.right {
            counts[gray.get_pixel(x, y)[0] as usize] += 1;
        }
    }
    (0..=255u8)
        .max_by_key(|&v| counts[v as usize])
        .unwrap_or(255)
}
