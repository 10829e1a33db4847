//! `imap-triage-ocr`: the OCR worker process. The bot starts it on the first screenshot and
//! talks to it over stdin/stdout (`imap_triage::ocr::protocol`): image bytes in, the page's
//! words out. Tesseract runs here, not in the bot: a hostile image that stalls or crashes it
//! costs this process, which the bot kills or replaces, and the bot's own binary maps none of
//! Tesseract's libraries.
//!
//! Not meant to be run by hand. `--check` starts the engine, prints whether OCR can run here
//! and exits (0 when it can).
//!
//! Exit codes: 0 at the end of input (or `--check` ok); 1 when OCR can't run here; 2 when the
//! bot broke the protocol or the pipe failed.

mod engine;
mod passes;

use std::io::{self, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use imap_triage::ocr::guard::MAX_BYTES;
use imap_triage::ocr::protocol::{self, Hello, Reply};

fn main() {
    let check = std::env::args().nth(1).as_deref() == Some("--check");
    let mut out = match protocol_out() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("imap-triage-ocr: cannot set up its output: {e}");
            std::process::exit(2);
        }
    };
    let mut engine = match engine::engine() {
        Ok(engine) => Some(engine),
        Err(reason) => {
            let _ = protocol::write_line(&mut out, &Hello::Off(reason));
            std::process::exit(1);
        }
    };
    if protocol::write_line(&mut out, &Hello::Ready).is_err() {
        std::process::exit(2);
    }
    if check {
        return;
    }
    let mut input = io::stdin().lock();
    loop {
        let bytes = match protocol::read_request(&mut input, MAX_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return,
            Err(e) => {
                eprintln!("imap-triage-ocr: bad request from the bot: {e}");
                std::process::exit(2);
            }
        };
        let started = Instant::now();
        // A panic in the decoders on a hostile image is that image's failure, not the worker's.
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| engine::read(&mut engine, &bytes)))
                .unwrap_or_else(|_| {
                    engine = None;
                    Err("the image could not be read (the reader failed on it)".to_string())
                });
        drop(bytes);
        let ms = started.elapsed().as_millis() as u64;
        let reply = match result {
            Ok(page) => Reply::Page { page, ms },
            Err(reason) => Reply::Unreadable { reason, ms },
        };
        if protocol::write_line(&mut out, &reply).is_err() {
            std::process::exit(2);
        }
    }
}

/// The protocol's own copy of stdout; fd 1 itself then points at stderr, so whatever Tesseract,
/// Leptonica or a decoder prints can't be mistaken for an answer.
fn protocol_out() -> io::Result<BufWriter<std::fs::File>> {
    io::stdout().flush()?;
    // SAFETY: dup and dup2 on the process's own standard descriptors; the new descriptor is
    // owned by the File from here on.
    let fd = unsafe { libc::dup(1) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(BufWriter::new(file))
}
