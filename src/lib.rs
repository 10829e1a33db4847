//! imap-triage: a support-triage bot for failed IMAP/SMTP inbox connections.
//!
//! # Layout
//! - [`core`]: the pure triage core. Takes a [`core::Thread`] and [`core::rules::Rules`] and returns
//!   a [`core::Report`]. No I/O, no async, cannot fail.
//! - [`rules_dir`]: loads `rules/` from disk (or the copy embedded at build time).
//! - [`probe`]: the sanitized connectivity probe (network adapter).
//! - [`cli`]: the command line.

pub mod cli;
pub mod core;
pub mod probe;
pub mod rules_dir;
