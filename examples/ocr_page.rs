//! Prints what the OCR edge sees on an image: Tesseract's words, then the page's fields (label,
//! section, value) and banner, then the core's read. For tuning `ocr::layout` on a fixture.
//!
//! `cargo run --example ocr_page -- FILE...`

use imap_triage::ocr::{guard, layout, marks, prep};

// The worker's second pass, the same source file: the library links no Tesseract.
#[path = "../src/bin/imap-triage-ocr/passes.rs"]
mod passes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = imap_triage::rules_dir::embedded()?;
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let image = guard::decode(&bytes)?;
        // OCR_SCALE=3 OCR_SOFT=1: try another enlargement or treatment than the chosen one.
        let (prep_started, prep_cpu) = (std::time::Instant::now(), cpu_ms());
        let prepared = match std::env::var("OCR_SCALE") {
            Ok(scale) => prep::prepare_scaled(
                &image,
                prep::Scaling {
                    factor: scale.parse()?,
                    soft: std::env::var_os("OCR_SOFT").is_some(),
                },
            ),
            Err(_) => prep::prepare(&image),
        };
        println!(
            "== prepared in {} ms wall, {} ms CPU",
            prep_started.elapsed().as_millis(),
            cpu_ms() - prep_cpu
        );
        let (w, h) = prepared.gray.dimensions();
        println!(
            "sharpness {:.3}, skew {:?}",
            prep::sharpness(&image.to_luma8()),
            prep::straighten::skew_degrees(&image.to_luma8())
        );
        // OCR_SAVE=FILE: keep the prepared page to look at.
        if let Ok(out) = std::env::var("OCR_SAVE") {
            prepared.gray.save(out)?;
        }
        let mut engine = tesseract::Tesseract::new(None, Some("eng"))?
            .set_variable("debug_file", "/dev/null")?;
        // OCR_VARS="name=value,name=value": Tesseract variables to try.
        for pair in std::env::var("OCR_VARS").unwrap_or_default().split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                engine = engine.set_variable(k, v)?;
            }
        }
        // OCR_PSM=11: another page segmentation mode (6: one block, 11: sparse text).
        engine.set_page_seg_mode(match std::env::var("OCR_PSM").as_deref() {
            Ok("6") => tesseract::PageSegMode::PsmSingleBlock,
            Ok("11") => tesseract::PageSegMode::PsmSparseText,
            _ => tesseract::PageSegMode::PsmAuto,
        });
        let (started, cpu_before) = (std::time::Instant::now(), cpu_ms());
        let mut engine = engine
            .set_frame(prepared.gray.as_raw(), w as i32, h as i32, 1, w as i32)?
            .recognize()?;
        let mut words = layout::words_from_tsv(&engine.get_tsv_text(0)?);
        marks::apply(&prepared.gray, &mut words);
        println!(
            "== {path} ({w}x{h}) {} ms wall, {} ms CPU",
            started.elapsed().as_millis(),
            cpu_ms() - cpu_before
        );
        for word in &words {
            println!(
                "  {:?} {:>5},{:>5} {:>4}x{:<4} {:>5.1} {}",
                word.line, word.left, word.top, word.width, word.height, word.conf, word.text
            );
        }
        let mut page = layout::page(&words, prepared.banner);
        // The pool's second pass when the first reading is weak (ocr::passes), timed apart.
        let (started, cpu_before) = (std::time::Instant::now(), cpu_ms());
        let mut slot = Some(engine);
        passes::add_second_read(&mut slot, &prepared, &words, &mut page);
        passes::add_local_threshold_read(&mut slot, &prepared, &mut page);
        passes::add_deblurred_read(&mut slot, &image, &prepared, &mut page);
        if page.second.is_some() {
            println!(
                "== second pass {} ms wall, {} ms CPU",
                started.elapsed().as_millis(),
                cpu_ms() - cpu_before
            );
        }
        println!(
            "  boxes {:?}",
            imap_triage::ocr::boxes::find(&prepared.gray, prepared.scale)
        );
        let mut next = page.second.as_deref();
        while let Some(more) = next {
            for field in &more.fields {
                println!(
                    "  more {:?} / {:?} = {:?}",
                    field.section, field.label, field.value
                );
            }
            next = more.second.as_deref();
        }
        for field in &page.fields {
            println!(
                "  field {:?} / {:?} = {:?}",
                field.section, field.label, field.value
            );
        }
        println!("  banner {:?}", page.banner);
        let read = imap_triage::core::screenshot::interpret(&rules, &page, 0);
        println!("  read {}", serde_json::to_string(&read)?);
    }
    Ok(())
}

/// This process's CPU time (user + system, all threads) from /proc, in milliseconds: steadier
/// than wall time on a shared machine.
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in ticks of
    // 10 ms on Linux.
    (fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0)) * 10
}
