//! Purpose: make a screenshot easy for Tesseract, and find its red banner.
//!
//! Grayscale, dark mode turned light, the banner's light-on-red text turned dark-on-light, and a
//! 2x upscale below 1500 px wide (measured: without it, banners and low-quality JPEGs are missed);
//! a soft (blurred) page is enlarged 3x and sharpened instead.

use image::{imageops::FilterType, DynamicImage, GrayImage, RgbImage};

pub mod straighten;

/// Images narrower than this are upscaled.
const UPSCALE_BELOW: u32 = 1500;

/// A rectangle in the prepared image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

impl Rect {
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.left && x < self.right && y >= self.top && y < self.bottom
    }
}

pub struct Prepared {
    pub gray: GrayImage,
    /// Where the error banner is, if the image has one.
    pub banner: Option<Rect>,
    /// The enlargement applied (1-3): sizes measured in the screenshot are this many times
    /// larger here.
    pub scale: u32,
    /// Prepared as a soft (blurred) page.
    pub soft: bool,
}

/// How the gray page is enlarged for Tesseract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// 1, 2 or 3 (the page's width and height are multiplied by it).
    pub factor: u32,
    /// A soft (blurred) page: sharpened before and after enlarging, and not whitened.
    pub soft: bool,
}

/// Below this [`sharpness`] a page is soft (blurred, or enlarged by the sender): measured on
/// the fixtures, blurred renders score 0.02-0.11 and crisp ones (JPEG q50 and a phone photo
/// included) 0.76-0.94.
const SOFT_BELOW: f32 = 0.4;

/// The enlargement a page needs: 2x below 1500 px wide; a soft page 3x, sharpened before and
/// after (measured: it brings back the dots and hyphens of blurred 13 px host names, which the
/// plain 2x loses; applied to crisp pages the same sharpening broke host names).
pub fn scaling_for(image: &DynamicImage) -> Scaling {
    if image.width() >= UPSCALE_BELOW {
        return Scaling {
            factor: 1,
            soft: false,
        };
    }
    if sharpness(&image.to_luma8()) < SOFT_BELOW {
        Scaling {
            factor: 3,
            soft: true,
        }
    } else {
        Scaling {
            factor: 2,
            soft: false,
        }
    }
}

pub fn prepare(image: &DynamicImage) -> Prepared {
    prepare_scaled(image, scaling_for(image))
}

pub fn prepare_scaled(image: &DynamicImage, scaling: Scaling) -> Prepared {
    prepare_with(image, scaling, None)
}

/// A soft page prepared another way for a further reading: deconvolved ([`deblur`], a Gaussian
/// blur of `sigma` screenshot px undone) instead of unsharp-masked before it is enlarged 3x.
pub fn prepare_deblurred(image: &DynamicImage, sigma: f32) -> Prepared {
    let scaling = Scaling {
        factor: 3,
        soft: true,
    };
    prepare_with(image, scaling, Some(sigma))
}

/// Richardson-Lucy rounds of [`prepare_deblurred`].
const DEBLUR_ROUNDS: u32 = 10;

fn prepare_with(image: &DynamicImage, scaling: Scaling, deblur_sigma: Option<f32>) -> Prepared {
    let soft = scaling.soft;
    let rgb = image.to_rgb8();
    let mut gray = image.to_luma8();
    // A tilted page is turned level once enlarged (below): Tesseract's lines and the pairing
    // work on rows.
    let tilt = straighten::tilt_to_undo(&gray);
    let banner = red_banner(&rgb);
    // Dark mode: judged outside the banner, whose red is dark in gray too.
    let (mut sum, mut count) = (0u64, 0u64);
    for (x, y, p) in gray.enumerate_pixels() {
        if !banner.is_some_and(|b| b.contains(x, y)) {
            sum += u64::from(p.0[0]);
            count += 1;
        }
    }
    if count > 0 && sum / count < 110 {
        image::imageops::invert(&mut gray);
    }
    // Light gray text (small upper-case labels, hints) falls on the white side of Tesseract's
    // global threshold: a gamma curve darkens the mid-tones and keeps white white.
    let gamma: Vec<u8> = (0..=255u32)
        .map(|v| (255.0 * (f64::from(v) / 255.0).powf(1.5)).round() as u8)
        .collect();
    for p in gray.pixels_mut() {
        p.0[0] = gamma[usize::from(p.0[0])];
    }
    // A tinted page (beige, light gray) with white input boxes: Tesseract's global threshold can
    // fall between the two. The most common light level (the page) becomes white. Measured: it
    // brought back hosts, ports and security on held-out JPEG, rotated and scaled renders, and
    // cost a blurred page its hosts, so a soft page is left as it is.
    let mut histogram = [0u64; 256];
    for p in gray.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let page = (128..256).max_by_key(|&v| histogram[v]).unwrap_or(255) as u32;
    if page < 250 && !soft {
        for p in gray.pixels_mut() {
            p.0[0] = (u32::from(p.0[0]) * 255 / page).min(255) as u8;
        }
    }
    // Measured: on a blurred page, words themselves form such blocks and were wiped out.
    if !soft {
        lighten_pills(&mut gray);
    }
    // Tesseract skips a large flat block of gray as a picture: the banner becomes black text on
    // white. Its text is the light part (the red is dark in gray, whatever the mode).
    if let Some(b) = banner {
        for y in b.top..b.bottom {
            for x in b.left..b.right {
                let p = gray.get_pixel_mut(x, y);
                let light = rgb
                    .get_pixel(x, y)
                    .0
                    .iter()
                    .map(|&c| u16::from(c))
                    .sum::<u16>()
                    > 480;
                p.0[0] = if light { 0 } else { 255 };
            }
        }
    }
    if soft {
        gray = match deblur_sigma {
            Some(sigma) => deblur(&gray, sigma, DEBLUR_ROUNDS),
            None => image::imageops::unsharpen(&gray, 1.0, 1),
        };
    }
    let factor = scaling.factor.clamp(1, 3);
    let (mut gray, banner) = if factor > 1 {
        let up = image::imageops::resize(
            &gray,
            gray.width() * factor,
            gray.height() * factor,
            FilterType::CatmullRom,
        );
        let banner = banner.map(|b| Rect {
            left: b.left * factor,
            top: b.top * factor,
            right: b.right * factor,
            bottom: b.bottom * factor,
        });
        (up, banner)
    } else {
        (gray, banner)
    };
    if soft {
        gray = image::imageops::unsharpen(&gray, 1.0, 1);
    }
    let banner = match tilt {
        Some(degrees) => {
            gray = straighten::rotate(&gray, degrees);
            let (w, h) = gray.dimensions();
            banner.map(|b| straighten::rotate_rect(b, degrees, w, h))
        }
        None => banner,
    };
    Prepared {
        gray,
        banner,
        scale: factor,
        soft,
    }
}

fn is_red(p: &image::Rgb<u8>) -> bool {
    let [r, g, b] = p.0;
    r > 150 && g < 110 && b < 120 && r as i32 - g as i32 > 90
}

/// The tallest band of rows that are mostly red (an error banner's background), with its
/// horizontal extent.
fn red_banner(rgb: &RgbImage) -> Option<Rect> {
    let (w, h) = rgb.dimensions();
    if w < 8 || h < 8 {
        return None;
    }
    let red_rows: Vec<bool> = (0..h)
        .map(|y| (0..w).filter(|&x| is_red(rgb.get_pixel(x, y))).count() * 4 > w as usize)
        .collect();
    let mut best: Option<(u32, u32)> = None;
    let mut y = 0;
    while y < h {
        if !red_rows[y as usize] {
            y += 1;
            continue;
        }
        let start = y;
        while y < h && red_rows[y as usize] {
            y += 1;
        }
        if best.is_none_or(|(s, e)| y - start > e - s) {
            best = Some((start, y));
        }
    }
    let (top, bottom) = best.filter(|(s, e)| e - s >= 12)?;
    let mid = (top + bottom) / 2;
    let xs: Vec<u32> = (0..w).filter(|&x| is_red(rgb.get_pixel(x, mid))).collect();
    let (&left, &right) = (xs.first()?, xs.last()?);
    Some(Rect {
        left,
        top,
        right: right + 1,
        bottom,
    })
}

/// How crisp the page's edges are, from 0 (soft) to 1: of the places where the gray changes
/// strongly across three pixels, the share where one pixel step makes most of that change.
/// Rendered text is crisp (about 0.5 and up); a blurred or photographed screen is soft.
pub fn sharpness(gray: &GrayImage) -> f32 {
    let (w, h) = gray.dimensions();
    let (mut wide, mut steep) = (0u64, 0u64);
    for y in 0..h {
        let row = &gray.as_raw()[(y * w) as usize..((y + 1) * w) as usize];
        for x in 0..row.len().saturating_sub(3) {
            let span = i32::from(row[x + 3]) - i32::from(row[x]);
            if span.abs() < 90 {
                continue;
            }
            wide += 1;
            let biggest = (0..3)
                .map(|i| (i32::from(row[x + i + 1]) - i32::from(row[x + i])).abs())
                .max()
                .unwrap_or(0);
            if biggest * 10 >= span.abs() * 6 {
                steep += 1;
            }
        }
    }
    if wide == 0 {
        return 1.0;
    }
    steep as f32 / wide as f32
}

/// Small filled blocks (a switch's "ON"/"OFF" pill, a button) become white with dark text.
/// Tesseract skips light text on a coloured pill, and often dark text on a gray one: measured,
/// a phone list's SSL switches were never read at 1x. A block is a connected piece of darker
/// pixels, 10-60 px high and wider than high, that fills most of its box; what it encloses
/// (its text) is inverted when lighter than the block, dark text on it is kept, and the block
/// and its surroundings within the box turn white.
fn lighten_pills(gray: &mut GrayImage) {
    const BLOCK_BELOW: u8 = 170;
    let (w, h) = gray.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let mut seen = vec![false; wu * hu];
    let mut stack = Vec::new();
    let mut pixels = Vec::new();
    let mut blocks = Vec::new();
    for start in 0..wu * hu {
        if seen[start] || gray.as_raw()[start] >= BLOCK_BELOW {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        pixels.clear();
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let mut sum = 0u64;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % wu, i / wu);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            pixels.push(i);
            sum += u64::from(gray.as_raw()[i]);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < wu).then(|| i + 1),
                (y > 0).then(|| i - wu),
                (y + 1 < hu).then(|| i + wu),
            ];
            for j in neighbours.into_iter().flatten() {
                if !seen[j] && gray.as_raw()[j] < BLOCK_BELOW {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        let count = pixels.len() as u64;
        let (bw, bh) = ((x1 - x0 + 1) as u64, (y1 - y0 + 1) as u64);
        if !(10..=60).contains(&bh) || bw < bh * 3 / 2 || bw > 400 || count * 100 < bw * bh * 55 {
            continue;
        }
        // A pill's fill is one flat mid-tone (not black ink): most of it near its median.
        let mut values: Vec<u8> = pixels.iter().map(|&i| gray.as_raw()[i]).collect();
        values.sort_unstable();
        let median = i32::from(values[values.len() / 2]);
        let flat = values
            .iter()
            .filter(|&&v| (i32::from(v) - median).abs() <= 20)
            .count();
        if !(60..170).contains(&median) || flat * 10 < values.len() * 7 {
            continue;
        }
        blocks.push(((x0, y0, x1, y1), (sum / count) as u32, pixels.clone()));
    }
    for ((x0, y0, x1, y1), level, own) in blocks {
        let bw = x1 - x0 + 1;
        let at = |i: usize| (i / wu - y0) * bw + (i % wu - x0);
        // 0: enclosed (text), 1: the block, 2: outside it (reached from the box's edge).
        let mut kind = vec![0u8; bw * (y1 - y0 + 1)];
        for &i in &own {
            kind[at(i)] = 1;
        }
        let mut outside: Vec<usize> = (x0..=x1)
            .flat_map(|x| [y0 * wu + x, y1 * wu + x])
            .chain((y0..=y1).flat_map(|y| [y * wu + x0, y * wu + x1]))
            .filter(|&i| kind[at(i)] == 0)
            .collect();
        for &i in &outside {
            kind[at(i)] = 2;
        }
        while let Some(i) = outside.pop() {
            let (x, y) = (i % wu, i / wu);
            let neighbours = [
                (x > x0).then(|| i - 1),
                (x < x1).then(|| i + 1),
                (y > y0).then(|| i - wu),
                (y < y1).then(|| i + wu),
            ];
            for j in neighbours.into_iter().flatten() {
                if kind[at(j)] == 0 {
                    kind[at(j)] = 2;
                    outside.push(j);
                }
            }
        }
        for y in y0..=y1 {
            for x in x0..=x1 {
                let i = y * wu + x;
                let p = gray.get_pixel_mut(x as u32, y as u32);
                let v = u32::from(p.0[0]);
                p.0[0] = match kind[at(i)] {
                    2 => 255,
                    // Enclosed and lighter than the block: light text, made dark on white.
                    0 if v > level => (255 - (v - level) * 255 / (255 - level).max(1)) as u8,
                    // The block, or dark text on it: the block white, the text dark.
                    _ => (v * 255 / level.max(1)).min(255) as u8,
                };
            }
        }
    }
}

/// Richardson-Lucy deconvolution with a Gaussian point spread of `sigma` px, `iterations` rounds.
pub fn deblur(gray: &GrayImage, sigma: f32, iterations: u32) -> GrayImage {
    let (w, h) = gray.dimensions();
    let observed: Vec<f32> = gray.pixels().map(|p| f32::from(p.0[0]) + 1.0).collect();
    let kernel = gaussian_kernel(sigma);
    let mut estimate = observed.clone();
    let mut ratio = vec![0f32; observed.len()];
    for _ in 0..iterations {
        let blurred = convolve(&estimate, w as usize, h as usize, &kernel);
        for ((r, o), b) in ratio.iter_mut().zip(&observed).zip(&blurred) {
            *r = o / b.max(1e-3);
        }
        let correction = convolve(&ratio, w as usize, h as usize, &kernel);
        for (e, c) in estimate.iter_mut().zip(&correction) {
            *e *= c;
        }
    }
    GrayImage::from_fn(w, h, |x, y| {
        let v = estimate[(y * w + x) as usize] - 1.0;
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (sigma * 3.0).ceil().max(1.0) as i32;
    let mut k: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// A separable convolution with `kernel` along rows then columns, edges clamped.
fn convolve(src: &[f32], w: usize, h: usize, kernel: &[f32]) -> Vec<f32> {
    let r = (kernel.len() / 2) as isize;
    let mut rows = vec![0f32; src.len()];
    for y in 0..h {
        let line = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0.0;
            for (i, k) in kernel.iter().enumerate() {
                let xx = (x as isize + i as isize - r).clamp(0, w as isize - 1) as usize;
                acc += k * line[xx];
            }
            rows[y * w + x] = acc;
        }
    }
    let mut out = vec![0f32; src.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, k) in kernel.iter().enumerate() {
                let yy = (y as isize + i as isize - r).clamp(0, h as isize - 1) as usize;
                acc += k * rows[yy * w + x];
            }
            out[y * w + x] = acc;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark stroke two pixels wide on white, blurred with a Gaussian of `sigma`.
    fn blurred_bar(sigma: f32) -> GrayImage {
        let sharp = GrayImage::from_fn(40, 12, |x, _| {
            image::Luma([if (16..18).contains(&x) { 20 } else { 240 }])
        });
        image::imageops::blur(&sharp, sigma)
    }

    #[test]
    fn deconvolution_brings_a_blurred_stroke_back_toward_its_ink() {
        let soft = blurred_bar(1.0);
        let restored = deblur(&soft, 1.0, DEBLUR_ROUNDS);
        let ink = |g: &GrayImage| g.get_pixel(16, 6).0[0];
        let paper = |g: &GrayImage| g.get_pixel(4, 6).0[0];
        // The stroke's middle darker than blurred, the paper far from it still white.
        assert!(
            ink(&restored) + 10 < ink(&soft),
            "{} vs {}",
            ink(&restored),
            ink(&soft)
        );
        assert!(paper(&restored) >= 230, "{}", paper(&restored));
        assert_eq!(restored.dimensions(), soft.dimensions());
    }
}
