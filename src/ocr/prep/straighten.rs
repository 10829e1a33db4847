//! Purpose: turn a tilted page (a photo of a monitor, a rotated capture) level, whatever the
//! screen's style.
//!
//! Tesseract finds text lines by their baselines: on a page tilted 2-3 degrees a label and its
//! value on one row fall on different lines, and a tilted row puts the next column's cell
//! nearer.

use image::GrayImage;

/// Below this tilt the page is left as it is: rotating costs a little sharpness, and the pairing
/// already tolerates a degree or so.
const LEVEL_BELOW_DEGREES: f32 = 0.7;
/// The tilts tried, in degrees either way, and the step between them.
const MAX_DEGREES: f32 = 4.0;
const STEP_DEGREES: f32 = 0.2;

/// The page's tilt in degrees (positive: text lines go down to the right), from the projection
/// profile of its ink: rows of text give the sharpest profile (the largest sum of squared row
/// counts) when projected along their own slope. `None` when the page has too little ink to
/// tell, or no tilt beats level clearly.
pub fn skew_degrees(gray: &GrayImage) -> Option<f32> {
    let (w, h) = gray.dimensions();
    if w < 32 || h < 32 {
        return None;
    }
    // Text is where the gray changes sharply across a row: the upright strokes of letters. A
    // box's top and bottom edges give no such change and its sides stack in one column, so
    // boxes, cards and a dimmed page behind a dialog barely weigh; dark mode counts the same.
    // Sampled on a grid, about 200 000 pixels at most: enough for the profile, bounded cost.
    let stride = ((u64::from(w) * u64::from(h) / 200_000) as f64)
        .sqrt()
        .ceil()
        .max(1.0) as u32;
    let mut ink = Vec::new();
    for y in (0..h).step_by(stride as usize) {
        for x in (0..w - 2).step_by(stride as usize) {
            let (a, b) = (gray.get_pixel(x, y).0[0], gray.get_pixel(x + 2, y).0[0]);
            if a.abs_diff(b) > 60 {
                ink.push((x as f32, y as f32));
            }
        }
    }
    if ink.len() < 200 {
        return None;
    }
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let bins = (f64::from(w).hypot(f64::from(h)) / f64::from(stride)) as usize + 2;
    let mut counts = vec![0u32; bins];
    let mut score = |degrees: f32| -> u64 {
        counts.iter_mut().for_each(|c| *c = 0);
        let (sin, cos) = degrees.to_radians().sin_cos();
        for &(x, y) in &ink {
            let along = (y - cy) * cos - (x - cx) * sin;
            let bin = (along / stride as f32 + bins as f32 / 2.0) as usize;
            if let Some(c) = counts.get_mut(bin) {
                *c += 1;
            }
        }
        counts.iter().map(|&c| u64::from(c) * u64::from(c)).sum()
    };
    let level = score(0.0);
    let steps = (MAX_DEGREES / STEP_DEGREES).round() as i32;
    let (best, best_score) = (-steps..=steps)
        .map(|i| i as f32 * STEP_DEGREES)
        .map(|d| (d, score(d)))
        .max_by_key(|&(_, s)| s)?;
    // A clear winner only: a level page's profile is nearly as sharp at ±0.2 degrees.
    (best_score * 10 > level * 11).then_some(best)
}

/// The tilt to undo, in degrees, when the page is tilted by [`LEVEL_BELOW_DEGREES`] or more.
pub fn tilt_to_undo(gray: &GrayImage) -> Option<f32> {
    skew_degrees(gray).filter(|d| d.abs() >= LEVEL_BELOW_DEGREES)
}

/// The page turned by `degrees` about its centre (bilinear), so that a line tilted by that much
/// comes out level; the corners uncovered by the turn take the page's most common level. Done on
/// the enlarged page: turning the screenshot itself softened its 11-13 px text (measured: a
/// rotated dialog lost a host and a phone photo its domain).
pub fn rotate(gray: &GrayImage, degrees: f32) -> GrayImage {
    let mut histogram = [0u32; 256];
    for p in gray.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let fill = (0..256).max_by_key(|&v| histogram[v]).unwrap_or(255) as u8;
    let (w, h) = gray.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (sx, sy) = turn((x as f32 + 0.5, y as f32 + 0.5), (cx, cy), sin, cos);
        let (sx, sy) = (sx - 0.5, sy - 0.5);
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return image::Luma([fill]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let at = |x: u32, y: u32| f32::from(gray.get_pixel(x, y).0[0]);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8])
    })
}

/// Where a point of the turned page comes from in the page before the turn.
fn turn((x, y): (f32, f32), (cx, cy): (f32, f32), sin: f32, cos: f32) -> (f32, f32) {
    let (dx, dy) = (x - cx, y - cy);
    (dx * cos - dy * sin + cx, dx * sin + dy * cos + cy)
}

/// Where a rectangle of the page before a turn by `degrees` lies after it: the box around its
/// turned corners, within `w` x `h`.
pub fn rotate_rect(rect: super::Rect, degrees: f32, w: u32, h: u32) -> super::Rect {
    // The inverse turn (by -degrees) maps a point before the turn to after it.
    let (sin, cos) = (-degrees).to_radians().sin_cos();
    let centre = (w as f32 / 2.0, h as f32 / 2.0);
    let corners = [
        (rect.left, rect.top),
        (rect.right, rect.top),
        (rect.left, rect.bottom),
        (rect.right, rect.bottom),
    ]
    .map(|(x, y)| turn((x as f32, y as f32), centre, sin, cos));
    let xs = corners.map(|c| c.0);
    let ys = corners.map(|c| c.1);
    let min = |v: [f32; 4]| v.iter().copied().fold(f32::MAX, f32::min).max(0.0) as u32;
    let max =
        |v: [f32; 4], limit: u32| (v.iter().copied().fold(0.0, f32::max).ceil() as u32).min(limit);
    super::Rect {
        left: min(xs),
        top: min(ys),
        right: max(xs, w),
        bottom: max(ys, h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dark bars as text lines, drawn tilted by `degrees`.
    fn lines_page(degrees: f32) -> GrayImage {
        let level = GrayImage::from_fn(600, 400, |x, y| {
            let in_line = (y % 40) < 10 && (60..540).contains(&x) && (40..360).contains(&y);
            // Gaps between "words" so a row is not one solid bar.
            let in_word = (x / 30) % 4 != 3;
            image::Luma([if in_line && in_word { 20 } else { 250 }])
        });
        rotate(&level, -degrees)
    }

    #[test]
    fn a_tilted_page_is_measured_and_a_level_one_is_left() {
        for degrees in [-3.0f32, -2.0, 2.0, 2.6] {
            let got = skew_degrees(&lines_page(degrees)).expect("a tilt");
            assert!((got - degrees).abs() <= 0.3, "{degrees}: {got}");
        }
        assert!(tilt_to_undo(&lines_page(0.0)).is_none());
        // Turned back, the page measures level.
        let turned = rotate(&lines_page(2.4), 2.4);
        assert!(tilt_to_undo(&turned).is_none());
    }
}
