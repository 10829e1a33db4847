//! Fuzz targets for imap-triage. The checks live in [`checks`], which
//! `tests/triage/fuzz_regressions.rs` also includes, so kept inputs replay on every `cargo test`.

pub mod checks;
