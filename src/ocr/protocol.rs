//! Purpose: what the bot and its OCR worker process (`imap-triage-ocr`) say to each other.
//!
//! - Once, at start, the worker writes a [`Hello`] line: ready, or why OCR can't run here
//!   (Tesseract's language data missing); after `off` it exits.
//! - Per image, the bot writes a 4-byte big-endian length and the image's bytes (at most
//!   [`guard::MAX_BYTES`](super::guard::MAX_BYTES)); the worker answers with one [`Reply`] line.
//! - End of its stdin: the worker exits.
//!
//! Lines are JSON ending in `\n`. The worker's stdout carries nothing else (it moves the
//! libraries' own fd 1 to stderr before starting the engine), so anything that is not one of
//! these lines means the worker is broken: the bot kills it and starts another.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::core::screenshot::OcrPage;

/// The longest line the bot accepts from a worker: a page's text is tens of KB.
pub const MAX_LINE: u64 = 8 * 1024 * 1024;

/// The worker's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hello {
    /// The engine started: images can be sent.
    Ready,
    /// OCR can't run here, and why (in words for an operator).
    Off(String),
}

/// The worker's answer to one image, with the time it spent on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Page { page: OcrPage, ms: u64 },
    Unreadable { reason: String, ms: u64 },
}

/// Writes one message as a JSON line and flushes it.
pub fn write_line<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Writes one image request.
pub fn request_header(len: usize) -> [u8; 4] {
    (len as u32).to_be_bytes()
}

/// Reads one image request: `Ok(None)` at a clean end of input (the bot closed the pipe).
pub fn read_request(input: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an image request longer than the limit",
        ));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_a_clean_end_is_none() {
        let mut wire = request_header(3).to_vec();
        wire.extend_from_slice(b"abc");
        let mut input = &wire[..];
        assert_eq!(read_request(&mut input, 10).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_request(&mut input, 10).unwrap(), None);
    }

    #[test]
    fn a_request_over_the_limit_or_cut_short_is_an_error() {
        let mut wire = request_header(11).to_vec();
        wire.extend_from_slice(&[0; 11]);
        assert!(read_request(&mut &wire[..], 10).is_err());
        let cut = [0u8, 0];
        assert!(read_request(&mut &cut[..], 10).is_err());
        let mut short = request_header(5).to_vec();
        short.extend_from_slice(b"ab");
        assert!(read_request(&mut &short[..], 10).is_err());
    }

    #[test]
    fn lines_are_one_json_object_each() {
        let mut out = Vec::new();
        write_line(&mut out, &Hello::Ready).unwrap();
        write_line(
            &mut out,
            &Reply::Unreadable {
                reason: "the file is empty".into(),
                ms: 3,
            },
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            serde_json::from_str::<Hello>(lines[0]).unwrap(),
            Hello::Ready
        );
        assert_eq!(
            serde_json::from_str::<Reply>(lines[1]).unwrap(),
            Reply::Unreadable {
                reason: "the file is empty".into(),
                ms: 3
            }
        );
    }
}
