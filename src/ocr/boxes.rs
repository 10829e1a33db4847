//! Purpose: find a form's input boxes on the prepared page, so that the worker can read each
//! box's text on its own (`src/bin/imap-triage-ocr/passes.rs`).
//!
//! Tesseract's automatic layout sometimes drops the text inside input boxes while keeping the
//! labels beside them (measured on blurred pages: j and r blurred kept 3-5 of 11 fields), and
//! misreads a box's edge as part of its text ("[993"). A box, in any style, is two long
//! horizontal edges of the same extent (its top and bottom border, or the edges of its filled
//! background) joined by vertical edges at both ends. Only the geometry of the prepared page's
//! brightness is used, never a colour: dark mode is already light here.

use image::GrayImage;

use super::prep::Rect;

/// The smallest brightness step that counts as an edge: a light gray border (#d0d5dd, 208) on
/// white is 47; a sunken 3D box's white fill against its light bottom and right border on a gray
/// dialog face is 15; a filled box (#f7f8f9) on a light page (#f4f5f7) with no border would be
/// 3, and is not a box this finds.
const EDGE: u8 = 12;

/// Boxes at most this many, top to bottom: each costs one small recognition.
pub const MAX_BOXES: usize = 24;

/// The input boxes of the page, as their interiors (inside the border), top to bottom then
/// left to right. `scale` is the prepared page's enlargement (2 or 3): the sizes below are in
/// screenshot pixels times it.
pub fn find(gray: &GrayImage, scale: u32) -> Vec<Rect> {
    let (w, h) = gray.dimensions();
    if w < 8 || h < 8 {
        return Vec::new();
    }
    let scale = scale.max(1);
    // A box is at least 28 px wide and 14-64 px high in the screenshot.
    let min_len = 28 * scale;
    let (min_h, max_h) = (14 * scale, 64 * scale);
    // Brightness is compared two screenshot pixels apart: a blurred border spreads its step
    // over several rows.
    let span = 2 * scale;
    let runs = horizontal_edges(gray, min_len, span);
    let mut boxes: Vec<Rect> = Vec::new();
    for (i, top) in runs.iter().enumerate() {
        // The nearest edge below with the same ends (a rounded corner shortens both alike).
        let tolerance = 3 * scale;
        let reach = 8 * scale;
        let bottom = runs[i + 1..]
            .iter()
            .filter(|b| b.y >= top.y + min_h && b.y <= top.y + max_h)
            .find(|b| b.x0.abs_diff(top.x0) <= tolerance && b.x1.abs_diff(top.x1) <= tolerance);
        let (left, right, bottom_y) = match bottom {
            Some(bottom) => {
                let (left, right) = (top.x0.min(bottom.x0), top.x1.max(bottom.x1));
                // Its sides: vertical edges along most of its height, within a corner's
                // radius of each end. An edge is recorded `span` rows before its border.
                let (y0, y1) = (top.y + span + scale, bottom.y.saturating_sub(scale));
                if y1 <= y0 {
                    continue;
                }
                let side = |from: u32, to: u32| {
                    (from..=to.min(w - 1 - span))
                        .any(|x| vertical_edge_share(gray, x, y0, y1, span) >= 0.7)
                };
                if !side(left.saturating_sub(reach), left + reach)
                    || !side(right.saturating_sub(reach), right + reach)
                {
                    continue;
                }
                (left, right, bottom.y + span)
            }
            // A sunken 3D box: a dark top and left border, its bottom and right ones as light
            // as the dialog face (invisible once the face is made white). Its height is its
            // left side's.
            None => {
                let y0 = top.y + span + scale;
                let height = (top.x0.saturating_sub(2 * scale)
                    ..=(top.x0 + 2 * scale).min(w - 1 - span))
                    .map(|x| {
                        (y0..h)
                            .take_while(|&y| {
                                gray.get_pixel(x, y)[0].abs_diff(gray.get_pixel(x + span, y)[0])
                                    >= EDGE
                            })
                            .count() as u32
                    })
                    .max()
                    .unwrap_or(0);
                if height + span + scale < min_h || height > max_h {
                    continue;
                }
                (top.x0, top.x1, y0 + height)
            }
        };
        // Inside the border: the edges themselves and a little padding stay out.
        let inset = 2 * scale;
        let interior = Rect {
            left: left + inset,
            top: top.y + span + inset,
            right: right.saturating_sub(inset),
            bottom: bottom_y.saturating_sub(inset),
        };
        if interior.right <= interior.left || interior.bottom <= interior.top {
            continue;
        }
        // One box can show as several nested pairs (a 3D border's two shades, a border and its
        // fill): the first, outermost, stands.
        if boxes.iter().any(|b| overlap(b, &interior)) {
            continue;
        }
        boxes.push(interior);
        if boxes.len() == MAX_BOXES {
            break;
        }
    }
    boxes.sort_by_key(|b| (b.top, b.left));
    boxes
}

/// A horizontal edge: row `y`, columns `x0..=x1`.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
}

/// Rows' long runs of a brightness step between a pixel and the one below it, top to bottom.
/// One border gives an edge on the rows on either side of it: runs on the next rows with the
/// same extent as one already kept are the same border and are dropped.
fn horizontal_edges(gray: &GrayImage, min_len: u32, span: u32) -> Vec<Run> {
    let (w, h) = gray.dimensions();
    let raw = gray.as_raw();
    let at = |x: u32, y: u32| raw[(y * w + x) as usize];
    let mut runs: Vec<Run> = Vec::new();
    for y in 0..h.saturating_sub(span) {
        let mut start = None;
        for x in 0..=w {
            let edge = x < w && at(x, y).abs_diff(at(x, y + span)) >= EDGE;
            match (edge, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    start = None;
                    if x - s >= min_len {
                        let run = Run {
                            y,
                            x0: s,
                            x1: x - 1,
                        };
                        let same = runs
                            .iter()
                            .rev()
                            .take_while(|r| r.y + span + 2 >= y)
                            .any(|r| {
                                r.y < y && r.x0.abs_diff(run.x0) <= 4 && r.x1.abs_diff(run.x1) <= 4
                            });
                        if !same {
                            runs.push(run);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    runs
}

/// The share of rows `y0..=y1` where column `x` and the one `span` to its right differ by an
/// edge.
fn vertical_edge_share(gray: &GrayImage, x: u32, y0: u32, y1: u32, span: u32) -> f32 {
    let edges = (y0..=y1)
        .filter(|&y| gray.get_pixel(x, y)[0].abs_diff(gray.get_pixel(x + span, y)[0]) >= EDGE)
        .count();
    edges as f32 / (y1 - y0 + 1) as f32
}

fn overlap(a: &Rect, b: &Rect) -> bool {
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A white page with a box drawn as a 1-pixel (times `scale`) border.
    fn page_with_box(scale: u32, fill: u8, border: u8) -> GrayImage {
        let mut gray = GrayImage::from_pixel(300 * scale, 100 * scale, Luma([255]));
        let (l, t, r, b) = (40 * scale, 30 * scale, 240 * scale, 56 * scale);
        for y in t..=b {
            for x in l..=r {
                let edge = y < t + scale || y > b - scale || x < l + scale || x > r - scale;
                gray.put_pixel(x, y, Luma([if edge { border } else { fill }]));
            }
        }
        gray
    }

    #[test]
    fn a_bordered_box_is_found_by_its_interior() {
        for scale in [2, 3] {
            let boxes = find(&page_with_box(scale, 255, 130), scale);
            assert_eq!(boxes.len(), 1, "scale {scale}: {boxes:?}");
            let b = boxes[0];
            assert!(b.left > 40 * scale && b.left < 46 * scale, "{b:?}");
            assert!(b.right < 240 * scale && b.right > 234 * scale, "{b:?}");
            assert!(b.top > 30 * scale && b.bottom < 56 * scale, "{b:?}");
        }
    }

    #[test]
    fn a_filled_box_without_a_border_is_found_too() {
        let boxes = find(&page_with_box(2, 200, 200), 2);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
    }

    #[test]
    fn a_sunken_box_with_only_its_top_and_left_border_is_found() {
        let mut gray = GrayImage::from_pixel(600, 200, Luma([255]));
        for x in 80..480 {
            for y in 60..62 {
                gray.put_pixel(x, y, Luma([100]));
            }
        }
        for y in 60..104 {
            for x in 80..82 {
                gray.put_pixel(x, y, Luma([100]));
            }
        }
        let boxes = find(&gray, 2);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        assert!(boxes[0].bottom > 95 && boxes[0].bottom < 104, "{boxes:?}");
    }

    #[test]
    fn lines_without_sides_and_blank_pages_are_not_boxes() {
        // Two rules of the same length (a list's row separators): no sides, no box.
        let mut gray = GrayImage::from_pixel(600, 200, Luma([255]));
        for y in [40, 100] {
            for x in 20..560 {
                gray.put_pixel(x, y, Luma([120]));
            }
        }
        assert!(find(&gray, 2).is_empty());
        assert!(find(&GrayImage::from_pixel(600, 200, Luma([255])), 2).is_empty());
        assert!(find(&GrayImage::new(3, 3), 2).is_empty());
    }
}
