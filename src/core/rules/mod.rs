//! Rules are data: TOML files parsed into raw `*File` types (serde, unknown keys rejected), then
//! validated into typed [`Rules`] (regexes compiled, references checked).
//!
//! Parsing works on file *contents*; reading the directory is the job of [`crate::rules_dir`], so
//! this stays pure. Every validation error names the file, the line and the rule.
//!
//! # Layout
//! - this file: the rule files by name, the shipped pack, and what a pack must define;
//! - `typed`: the validated [`Rules`] and its parts, and the searches over them;
//! - `patterns`: many patterns compiled into one set, so a text is read once;
//! - `lazy`: a rule's own regex, checked at load and compiled on first use;
//! - `errors`: [`RuleError`] (file, line, rule) and [`RulesErrors`];
//! - `raw`: the shapes of the TOML files, as serde reads them;
//! - `load`: [`parse`], raw shapes into typed rules, with every problem collected;
//! - `reading`, `findings`: `reading.toml` and `findings.toml`, each loaded in its own file.

mod errors;
mod findings;
mod lazy;
mod load;
mod patterns;
mod raw;
mod reading;
mod typed;

pub use errors::{RuleError, RulesErrors};
pub use findings::{FindingTexts, FINDINGS_FILE};
pub use lazy::RuleRegex;
pub use load::{parse, parse_findings};
pub use patterns::compact_gaps;
pub use reading::Reading;
pub use typed::{
    Checklist, ChecklistItem, ErrorRule, Provider, Replies, Rules, ServerSetting, Step, TextMatches,
};

/// The rule files, by the name they have in `rules/`.
pub const ERRORS_FILE: &str = "errors.toml";
pub const PROVIDERS_FILE: &str = "providers.toml";
pub const CHECKLIST_FILE: &str = "checklist.toml";
pub const REPLIES_FILE: &str = "replies.toml";
pub const READING_FILE: &str = "reading.toml";
pub const FILES: [&str; 6] = [
    ERRORS_FILE,
    PROVIDERS_FILE,
    CHECKLIST_FILE,
    REPLIES_FILE,
    READING_FILE,
    FINDINGS_FILE,
];

/// The pack in `rules/`, built into the binary, so the bot runs with nothing but the binary.
pub const SHIPPED: [(&str, &str); 6] = [
    (ERRORS_FILE, include_str!("../../../rules/errors.toml")),
    (
        PROVIDERS_FILE,
        include_str!("../../../rules/providers.toml"),
    ),
    (
        CHECKLIST_FILE,
        include_str!("../../../rules/checklist.toml"),
    ),
    (REPLIES_FILE, include_str!("../../../rules/replies.toml")),
    (READING_FILE, include_str!("../../../rules/reading.toml")),
    (FINDINGS_FILE, include_str!("../../../rules/findings.toml")),
];

/// The shipped pack, validated. A test validates it on every run, so an error here is a broken
/// build; it is still returned, not panicked on.
pub fn shipped() -> Result<Rules, RulesErrors> {
    parse(&SHIPPED)
}

/// The shipped pack, parsed once for the core's unit tests.
#[cfg(test)]
pub(crate) fn shipped_for_tests() -> &'static Rules {
    static RULES: std::sync::LazyLock<Rules> =
        std::sync::LazyLock::new(|| shipped().expect("the shipped rules are valid"));
    &RULES
}

/// Error codes the bot and the probe refer to by name; the errors file must define them all.
pub const REQUIRED_ERROR_CODES: [&str; 11] = [
    "imap_settings_incorrect",
    "imap_auth_error",
    "smtp_settings_incorrect",
    "smtp_auth_error",
    "unauthorized",
    "tls_error",
    "timeout",
    "connection_refused",
    "too_many_connections",
    "basic_auth_disabled",
    "unknown",
];

/// Checklist ids, in the order support lists them.
pub const CHECKLIST_IDS: [&str; 4] = [
    "typed_credentials",
    "typed_servers",
    "verified_credentials",
    "confirmed_with_provider",
];

/// Providers the shipped pack must know.
pub const REQUIRED_PROVIDERS: [&str; 15] = [
    "gmail",
    "office365",
    "yahoo",
    "icloud",
    "zoho",
    "godaddy",
    "ionos",
    "ovh",
    "namecheap",
    "fastmail",
    "aol",
    "rackspace",
    "gmx",
    "yandex",
    "protonmail",
];

/// Placeholders each reply template may use. Anything else is a validation error, so a typo in
/// a template is caught by `rules check`, not by a member reading `{hubid}`.
const TEMPLATE_PLACEHOLDERS: &[(&str, &[&str])] = &[
    ("intro", &[]),
    ("found_header", &[]),
    ("missing_header", &[]),
    ("ask_screenshot", &[]),
    ("ask_error", &[]),
    ("ask_hub_id", &[]),
    ("ask_checklist", &["points"]),
    ("error_header", &["title", "step"]),
    ("provider_header", &["provider"]),
    ("provider_mismatch", &["kind", "entered", "expected"]),
    ("lookalike_host", &["host"]),
    ("secret_warning", &["kinds"]),
    ("complete", &[]),
    ("suggest_settings", &["provider"]),
    ("screenshot_closed", &[]),
    ("screenshot_error_only", &[]),
    ("screenshot_other", &[]),
    ("screenshot_unreadable", &[]),
    ("screenshot_mismatch", &["kind", "written", "shown"]),
    ("screenshot_password", &[]),
];

#[cfg(test)]
mod tests;
