//! The errors of loading settings: each is one line naming the key (or the variable), never
//! quoting the value, which might be the token in the wrong place.

use figment::error::{Actual, Kind};
use figment::Source;

/// A setting that could not be used. `Display` is one line naming the key; the CLI prints it and
/// exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config: cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config: {path}: line {line}: {reason}")]
    Syntax {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("config: {var}: {reason}")]
    Env { var: String, reason: String },
    /// A key with a bad or missing value. `key` is dotted (`discord.moderator_role`); `from_env`
    /// names the variable when the value came from the environment.
    #[error("config: {key}{}: {reason}", source_suffix(.from_env))]
    Key {
        key: String,
        from_env: Option<String>,
        reason: String,
    },
}

fn source_suffix(source: &Option<String>) -> String {
    match source {
        Some(var) => format!(" (from {var})"),
        None => String::new(),
    }
}

impl ConfigError {
    pub(super) fn key(key: &str, reason: impl Into<String>) -> Self {
        ConfigError::Key {
            key: key.to_string(),
            from_env: None,
            reason: reason.into(),
        }
    }
}

/// A figment error as one line naming the key, without quoting the offending value (it might be
/// the token in the wrong place).
pub(super) fn key_error(e: figment::Error) -> ConfigError {
    let mut key = e.path.join(".");
    let reason = match &e.kind {
        // The path ends with the unknown key itself.
        Kind::UnknownField(_, []) => "unknown key".to_string(),
        Kind::UnknownField(_, known) => format!("unknown key (known here: {})", known.join(", ")),
        Kind::MissingField(field) => {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            "missing".to_string()
        }
        Kind::InvalidType(Actual::Map, _) => "is a value, not a section".to_string(),
        Kind::InvalidType(_, expected)
        | Kind::InvalidValue(_, expected)
        | Kind::InvalidLength(_, expected) => format!("expected {}", in_toml_terms(expected)),
        Kind::UnknownVariant(_, known) => format!("expected one of: {}", known.join(", ")),
        Kind::Message(message) => one_line(message),
        Kind::DuplicateField(_) => "set twice".to_string(),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "out of range".to_string(),
        Kind::Unsupported(_) | Kind::UnsupportedKey(..) => "unsupported value".to_string(),
    };
    let from_env = e
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(Source::custom)
        .map(str::to_string);
    ConfigError::Key {
        key,
        from_env,
        reason,
    }
}

/// serde names the Rust type a setting expects (`u64`, `a sequence`, `struct ProbeConfig`); the
/// person editing the file thinks in TOML's terms.
fn in_toml_terms(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => "an integer".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        table if table.starts_with("struct ") => "a table".to_string(),
        other => one_line(other),
    }
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
