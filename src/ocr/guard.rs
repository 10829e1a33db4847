//! Purpose: refuse what is not a reasonable screenshot before spending memory on it.
//!
//! The type comes from the magic bytes, never the name; the dimensions come from the header,
//! before any pixel is decoded, so a decompression bomb costs nothing; decoding itself runs
//! under the image crate's allocation limits as a second fence.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// The largest file accepted (downloads stop here too).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 8000;
/// The most pixels accepted (a 4K screen is about 8.3 million).
pub const MAX_PIXELS: u64 = 24_000_000;

/// Why an image was refused, in words a member can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than 10 MB")]
    TooLarge,
    #[error("the file is not a PNG, JPEG, WebP or GIF image")]
    NotAnImage,
    #[error("the image declares {0}x{1} pixels, more than a screenshot can have")]
    TooManyPixels(u32, u32),
    #[error("the image is damaged or incomplete: {0}")]
    Broken(String),
}

/// The format, from the magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else {
        None
    }
}

/// Checks size, type and dimensions, then decodes within limits.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(Refused::TooLarge);
    }
    let format = sniff(bytes).ok_or(Refused::NotAnImage)?;
    // A PNG's header is fixed: its size is known from 24 bytes, even when nothing follows.
    let (width, height) = match png_header_size(bytes) {
        Some(size) => size,
        None => ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| Refused::Broken(short(&e.to_string())))?,
    };
    if width == 0
        || height == 0
        || width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
    {
        return Err(Refused::TooManyPixels(width, height));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 * 2);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| Refused::Broken(short(&e.to_string())))
}

/// Width and height from a PNG's IHDR chunk, which must come first.
fn png_header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}

fn short(text: &str) -> String {
    super::super::core::text::truncate(text, 120)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_comes_from_the_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(ImageFormat::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(decode(b""), Err(Refused::Empty));
        assert_eq!(decode(b"hello.png"), Err(Refused::NotAnImage));
    }
}
