//! Purpose: make a screenshot easy for Tesseract, and find its red banner.
//!
//! Grayscale, dark mode turned light, the banner's light-on-red text turned dark-on-light, and a
//! 2x upscale below 1500 px wide (measured: without it, banners and low-quality JPEGs are missed).

use image::{imageops::FilterType, DynamicImage, GrayImage, RgbImage};

/// Images narrower than this are upscaled 2x.
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
}

pub fn prepare(image: &DynamicImage) -> Prepared {
    let rgb = image.to_rgb8();
    let banner = red_banner(&rgb);
    let mut gray = image.to_luma8();
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
    let (gray, banner) = if gray.width() < UPSCALE_BELOW {
        let up = image::imageops::resize(
            &gray,
            gray.width() * 2,
            gray.height() * 2,
            FilterType::CatmullRom,
        );
        let banner = banner.map(|b| Rect {
            left: b.left * 2,
            top: b.top * 2,
            right: b.right * 2,
            bottom: b.bottom * 2,
        });
        (up, banner)
    } else {
        (gray, banner)
    };
    Prepared { gray, banner }
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
