//! Purpose: what the page's pixels say that Tesseract's words don't: which checkboxes and radio
//! buttons are ticked, and which words are a placeholder's faint gray.
//!
//! Tesseract reads a radio button or a checkbox as a stray letter ("O", "©", "@", "{Ea") or
//! not at all, and whether it reads one says nothing about its state. Here a mark is found in
//! the prepared page itself: a small, hollow, roughly square ring of ink (a box or a circle)
//! standing apart, just left of a word. Its state is the ink inside the ring: a tick or a dot
//! fills it, an empty box doesn't. The stray letters are dropped and the mark becomes a word of
//! its own, [`CHECKED`] or [`UNCHECKED`], which the core reads like a switch's "On"/"Off".
//!
//! A placeholder ("e.g. smtp.example.com" in an empty box) is drawn in a light gray, much
//! fainter than the page's text: such words are dropped, since they are not what was typed.

use image::GrayImage;

pub use crate::core::screenshot::{CHECKED, UNCHECKED};

use super::layout::Word;

/// Ink, in the prepared (dark-on-light) page, tried at two levels: an unticked mark's thin gray
/// ring, enlarged, is only mid-gray; at the lighter level a radio's dot joins its ring.
const INK_LEVELS: [u8; 3] = [128, 170, 200];

/// A ring of ink found on the page, in the prepared image's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
    checked: bool,
}

impl Mark {
    fn side(&self) -> u32 {
        (self.right - self.left).max(self.bottom - self.top)
    }
}

/// Replaces what Tesseract made of each checkbox or radio button next to a word with a
/// [`CHECKED`] or [`UNCHECKED`] word, and drops faint placeholder words.
pub fn apply(gray: &GrayImage, words: &mut Vec<Word>) {
    drop_faint(gray, words);
    for mark in find_marks(gray) {
        let s = mark.side();
        let cy = (mark.top + mark.bottom) / 2;
        let on_row = |w: &Word| {
            let wy = w.top + w.height / 2;
            wy.abs_diff(cy) * 2 < s.max(w.height)
        };
        // The text the mark belongs to: the nearest word starting to its right on its row.
        let Some(next) = words
            .iter()
            .filter(|w| on_row(w) && w.left + w.width > mark.right + s / 2)
            .filter(|w| w.left + s / 2 >= mark.left && w.left < mark.right + s * 3)
            .min_by_key(|w| w.left)
            .cloned()
        else {
            continue;
        };
        // A word that begins right where the ring ends is the ring's own word ("OUTGOING" after
        // its "O"): a mark's text starts after a space, or Tesseract read the mark into it.
        // A word that starts on the ring with a letter is a word starting with "O" ("OUTGOING");
        // one Tesseract read the mark into starts with a stray mark ("@STARTTLS").
        let starts_on_ring = next.left < mark.right.saturating_sub(s / 4);
        if (next.left > mark.left + s / 4 && next.left < mark.right + s / 4)
            || (starts_on_ring && next.text.starts_with(char::is_alphanumeric))
        {
            continue;
        }
        // The mark read as a word of its own, or as the start of the next word ("@STARTTLS").
        words.retain(|w| {
            let cx = w.left + w.width / 2;
            let inside =
                on_row(w) && cx + s / 4 >= mark.left && cx <= mark.right + s / 4 && w != &next;
            !inside
        });
        if let Some(w) = words.iter_mut().find(|w| **w == next) {
            if w.left < mark.right {
                // The mark's own letters: its stray marks ("@"), or as many letters as it covers.
                let chars = w.text.chars().count().max(1) as u32;
                let per = (w.width / chars).max(1);
                let stray = w.text.chars().take_while(|c| !c.is_alphanumeric()).count();
                let cut = if stray > 0 {
                    stray
                } else {
                    ((mark.right - w.left) / per) as usize
                };
                let rest: String = w.text.chars().skip(cut).collect();
                if !rest.is_empty() {
                    w.width = (w.left + w.width).saturating_sub(mark.right + 1).max(1);
                    w.left = mark.right + 1;
                    w.text = rest;
                }
            }
        }
        words.push(Word {
            line: next.line,
            left: mark.left,
            top: mark.top,
            width: mark.right - mark.left,
            height: mark.bottom - mark.top,
            conf: 99.0,
            text: if mark.checked { CHECKED } else { UNCHECKED }.to_string(),
        });
    }
}

/// Marks found at either ink level, each once.
fn find_marks(gray: &GrayImage) -> Vec<Mark> {
    let mut marks: Vec<Mark> = Vec::new();
    for level in INK_LEVELS {
        for m in marks_at(gray, level) {
            let overlaps = marks.iter().any(|o| {
                o.left < m.right && m.left < o.right && o.top < m.bottom && m.top < o.bottom
            });
            if !overlaps {
                marks.push(m);
            }
        }
    }
    marks
}

/// Small hollow rings of ink (a box or a circle) with clear space left and right, and whether
/// their inside holds ink.
fn marks_at(gray: &GrayImage, ink_below: u8) -> Vec<Mark> {
    let (w, h) = gray.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let raw = gray.as_raw();
    let ink = |x: u32, y: u32| raw[y as usize * wu + x as usize] < ink_below;
    let mut seen = vec![false; wu * hu];
    let mut marks = Vec::new();
    let mut stack = Vec::new();
    let mut pixels = Vec::new();
    for start in 0..wu * hu {
        if seen[start] || raw[start] >= ink_below {
            continue;
        }
        // One connected piece of ink (8-neighbours), bounded by the image.
        seen[start] = true;
        stack.push(start);
        pixels.clear();
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % wu) as u32, (i / wu) as u32);
            pixels.push((x, y));
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let j = ny as usize * wu + nx as usize;
                    if !seen[j] && raw[j] < ink_below {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
        let side = bw.max(bh);
        if !(14..=90).contains(&side) || bw * 4 < bh * 3 || bh * 4 < bw * 3 {
            continue;
        }
        // Hollow: none of the ring's own ink in its middle (a letter's strokes cross it); a
        // ring: ink near each side all along it (a box everywhere, a circle except near the
        // corners).
        let (mx0, mx1) = (x0 + bw * 3 / 10, x1 - bw * 3 / 10);
        let (my0, my1) = (y0 + bh * 3 / 10, y1 - bh * 3 / 10);
        let own_middle = pixels
            .iter()
            .filter(|(x, y)| (mx0..=mx1).contains(x) && (my0..=my1).contains(y))
            .count();
        let band_x = (bw / 4).max(1);
        let band_y = (bh / 4).max(1);
        let mut cover = [0u32; 4];
        let mut top = vec![false; bw as usize];
        let mut bottom = vec![false; bw as usize];
        let mut left = vec![false; bh as usize];
        let mut right = vec![false; bh as usize];
        for &(x, y) in &pixels {
            let (i, j) = ((x - x0) as usize, (y - y0) as usize);
            if y - y0 < band_y {
                top[i] = true;
            }
            if y1 - y < band_y {
                bottom[i] = true;
            }
            if x - x0 < band_x {
                left[j] = true;
            }
            if x1 - x < band_x {
                right[j] = true;
            }
        }
        for (k, side_hits) in [&top, &bottom, &left, &right].iter().enumerate() {
            cover[k] = side_hits.iter().filter(|&&b| b).count() as u32 * 100
                / side_hits.len().max(1) as u32;
        }
        // A radio's dot joined to its ring (JPEG, a coloured accent): across its middle, both
        // ways, ink-gap-dot-gap-ink.
        let mut own = vec![false; (bw * bh) as usize];
        for &(x, y) in &pixels {
            own[((y - y0) * bw + (x - x0)) as usize] = true;
        }
        let runs = |cells: &mut dyn Iterator<Item = bool>| {
            let (mut n, mut last) = (0, false);
            for ink in cells {
                if ink && !last {
                    n += 1;
                }
                last = ink;
            }
            n
        };
        let (cx, cy) = (bw / 2, bh / 2);
        let dotted = runs(&mut (0..bw).map(|x| own[(cy * bw + x) as usize])) == 3
            && runs(&mut (0..bh).map(|y| own[(y * bw + cx) as usize])) == 3
            && own[(cy * bw + cx) as usize];
        // JPEG can break a thin ring on one side: most of it must still be there.
        let ring = cover.iter().sum::<u32>() >= 280 && cover.iter().all(|&c| c >= 35);
        // A ticked box drawn filled (an accent-coloured square with a light tick): solid.
        let solid = pixels.len() as u32 * 100 >= bw * bh * 70;
        if (own_middle > 0 && !dotted && !solid) || !ring {
            continue;
        }
        // Standing apart: a mark begins its line or follows a gap of half its size (a port's
        // box can be that close), and its text follows
        // after a space; a letter "O", even in widely spaced capitals, has a neighbour closer.
        let gap = (side * 3 / 10).max(2);
        let clear = |xa: u32, xb: u32| {
            (y0..=y1).all(|y| (xa..xb.min(w)).all(|x| !ink(x, y) || (x >= x0 && x <= x1)))
        };
        if !clear(x0.saturating_sub(side / 2), x0) || !clear(x1 + 1, x1 + 1 + gap) {
            continue;
        }
        // Ticked: ink (a tick, a dot) fills part of the middle.
        let middle = ((mx1 - mx0 + 1) * (my1 - my0 + 1)).max(1);
        let filled = (my0..=my1)
            .flat_map(|y| (mx0..=mx1).map(move |x| (x, y)))
            .filter(|&(x, y)| ink(x, y))
            .count() as u32;
        marks.push(Mark {
            left: x0,
            top: y0,
            right: x1 + 1,
            bottom: y1 + 1,
            checked: dotted || solid || filled * 100 >= middle * 15,
        });
    }
    // A ring inside another (the dot's own ring inside a radio's) is part of it.
    let all = marks.clone();
    marks.retain(|m| {
        !all.iter().any(|o| {
            o != m
                && o.left <= m.left
                && o.right >= m.right
                && o.top <= m.top
                && o.bottom >= m.bottom
        })
    });
    marks
}

/// Drops placeholder values: their ink is less than half as dark, against their own background,
/// as the page's plain text (measured: placeholders 97-104 of 255 where the text is 200-255; a
/// phone list's light-gray values keep 150 and more; light 12 px labels fall to 110, which is
/// why only value-like words go). Run again on words read box by box, which skip [`apply`].
pub fn drop_faint(gray: &GrayImage, words: &mut Vec<Word>) {
    let contrasts: Vec<u32> = words.iter().map(|w| contrast(gray, w)).collect();
    let mut sorted: Vec<u32> = contrasts
        .iter()
        .zip(words.iter())
        .filter(|(_, w)| w.conf >= 60.0)
        .map(|(&c, _)| c)
        .collect();
    if sorted.len() < 5 {
        return;
    }
    sorted.sort_unstable();
    // The page's plain text: its labels may be gray too, so the upper quartile, not the median.
    let usual = sorted[sorted.len() * 3 / 4];
    // Only a faint value (a host, an address, a number): light gray labels and hints are text
    // all the same, and a placeholder worth dropping is one that could pass for a setting.
    let mut i = 0;
    words.retain(|w| {
        let value_like = w.text.contains(['.', '@']) || w.text.chars().any(|c| c.is_ascii_digit());
        let keep = contrasts[i] * 2 >= usual || !value_like;
        i += 1;
        keep
    });
}

/// How dark a word's ink is against its box's background (0-255): the difference between the
/// box's light and dark ends.
fn contrast(gray: &GrayImage, w: &Word) -> u32 {
    let (iw, ih) = gray.dimensions();
    let mut histogram = [0u32; 256];
    let mut n = 0u32;
    for y in w.top..(w.top + w.height).min(ih) {
        for x in w.left..(w.left + w.width).min(iw) {
            histogram[usize::from(gray.get_pixel(x, y).0[0])] += 1;
            n += 1;
        }
    }
    if n == 0 {
        return 0;
    }
    let at = |share: u32| {
        let mut seen = 0;
        for (v, &c) in histogram.iter().enumerate() {
            seen += c;
            if seen * 100 >= n * share {
                return v as u32;
            }
        }
        255
    };
    at(90).saturating_sub(at(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with a 24 px box at `x`: its 2 px border, and a filled middle when ticked.
    fn draw_box(page: &mut GrayImage, x: u32, ticked: bool) {
        for dy in 0..24 {
            for dx in 0..24 {
                let border = !(2..22).contains(&dx) || !(2..22).contains(&dy);
                let middle = (7..17).contains(&dx) && (7..17).contains(&dy);
                if border || (ticked && middle) {
                    page.put_pixel(x + dx, 20 + dy, image::Luma([0]));
                }
            }
        }
    }

    #[test]
    fn boxes_are_found_with_their_state_and_replace_their_stray_letters() {
        let mut page = GrayImage::from_pixel(400, 64, image::Luma([255]));
        draw_box(&mut page, 10, true);
        draw_box(&mut page, 200, false);
        let word = |left: u32, text: &str| Word {
            line: (1, 1, 1),
            left,
            top: 22,
            width: 60,
            height: 20,
            conf: 90.0,
            text: text.into(),
        };
        // Tesseract's reading: the ticked box as "@", the empty one as "O", then each label.
        let mut words = vec![
            word(10, "@"),
            word(50, "STARTTLS"),
            word(200, "O"),
            word(240, "None"),
        ];
        words[0].width = 24;
        words[2].width = 24;
        apply(&page, &mut words);
        words.sort_by_key(|w| w.left);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, vec!["☑", "STARTTLS", "☐", "None"]);
    }
}
