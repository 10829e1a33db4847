//! imap-triage: a support-triage bot for failed IMAP/SMTP inbox connections.
//!
//! # Layout
//! - [`core`]: the pure triage core. Takes a [`core::Thread`] and [`core::rules::Rules`] and returns
//!   a [`core::Report`]. No I/O, no async, cannot fail.
//! - [`rules_dir`]: loads `rules/` from disk (or the copy embedded at build time).
//! - [`probe`]: the sanitized connectivity probe (network adapter).
//! - [`discover`]: where a domain's mail lives: MX, SRV, autoconfig, ISPDB (network adapter).
//! - [`engine`]: the async engine shared by the Discord bot and the console: events in,
//!   effects out through the [`engine::chat::Chat`] trait, state in the [`store`].
//! - [`store`]: the triage log (sled behind a trait).
//! - [`ticket`]: the ids and [`ticket::TicketState`] that the engine, store and review share.
//! - [`discord`]: the serenity adapter. [`config`]: settings (TOML + env).
//! - [`cli`]: the command line. [`timestamp`]: RFC 3339 times and `--since` dates.

pub mod cli;
pub mod config;
pub mod console;
pub mod core;
pub mod discord;
pub mod discover;
pub mod engine;
pub mod health;
pub mod log_cli;
pub mod memory;
pub mod metrics;
pub mod ocr;
pub mod probe;
pub mod rules_dir;
pub mod store;
pub mod ticket;
pub mod timestamp;
pub mod web;
