//! Prints what the OCR edge sees on an image: Tesseract's words, then the page's fields (label,
//! section, value) and banner, then the core's read. For tuning `ocr::layout` on a fixture.
//!
//! `cargo run --example ocr_page -- FILE...`

use imap_triage::ocr::{guard, layout, prep};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = imap_triage::rules_dir::embedded()?;
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let image = guard::decode(&bytes)?;
        let prepared = prep::prepare(&image);
        let (w, h) = prepared.gray.dimensions();
        let mut engine = tesseract::Tesseract::new(None, Some("eng"))?
            .set_variable("debug_file", "/dev/null")?;
        // OCR_VARS="name=value,name=value": Tesseract variables to try.
        for pair in std::env::var("OCR_VARS").unwrap_or_default().split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                engine = engine.set_variable(k, v)?;
            }
        }
        engine.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
        let started = std::time::Instant::now();
        let mut engine = engine
            .set_frame(prepared.gray.as_raw(), w as i32, h as i32, 1, w as i32)?
            .recognize()?;
        let words = layout::words_from_tsv(&engine.get_tsv_text(0)?);
        println!("== {path} ({w}x{h}) {} ms", started.elapsed().as_millis());
        for word in &words {
            println!(
                "  {:?} {:>5},{:>5} {:>4}x{:<4} {:>5.1} {}",
                word.line, word.left, word.top, word.width, word.height, word.conf, word.text
            );
        }
        let page = layout::page(&words, prepared.banner);
        for field in &page.fields {
            println!("  field {:?} / {:?} = {:?}", field.section, field.label, field.value);
        }
        println!("  banner {:?}", page.banner);
        let read = imap_triage::core::screenshot::interpret(&rules, &page, 0);
        println!("  read {}", serde_json::to_string(&read)?);
    }
    Ok(())
}
