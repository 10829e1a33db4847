//! Settings: a TOML file overridden by `IMAP_TRIAGE_<SECTION>__<KEY>` environment variables,
//! layered by figment.
//!
//! Purpose: parse once, at the edge, into checked types. Unknown keys are errors (from the file
//! and from the environment alike), every error is one line naming the key, and the bot token is
//! never printed. `[discord]` is optional at load time so that `console` and `log` work with a
//! config holding only `[store]`; `run` asks for [`Config::discord`], which checks that every
//! key the bot needs is there.
//!
//! # Layout
//! - `settings`: the settings types, their defaults, and what the rest of the bot reads from
//!   them (the probe policy, the OCR settings, forum tag names);
//! - `load`: [`Config::load`] and [`Config::from_sources`] (the file and the variables layered
//!   by figment, then checked), and [`Config::discord`] for `run`;
//! - `error`: [`ConfigError`], and a figment or toml error turned into one line naming the key.

mod error;
mod load;
mod settings;

pub use error::ConfigError;
pub use settings::{
    AutoModConfig, Config, DiscordSection, DiscordSettings, LifecycleConfig, LogConfig, LogFormat,
    MetricsConfig, OcrConfig, ProbeConfig, RulesConfig, Secret, StoreConfig, TagNames, WebConfig,
};

/// The prefix of every settings variable; `__` separates the nesting levels.
pub const ENV_PREFIX: &str = "IMAP_TRIAGE_";

#[cfg(test)]
mod tests;
