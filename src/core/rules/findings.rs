//! `findings.toml`: the messages of findings, as templates. The bot decides which finding
//! applies, its code and its severity; the pack words it, as it words the replies and the error
//! steps. Loaded and checked like the replies: unknown keys, unknown placeholders and missing
//! templates are errors naming the file, the line and the key.

use super::load::{parse_templates, Source};
use super::{Replies, RuleError};

/// The rule file, by the name it has in `rules/`.
pub const FINDINGS_FILE: &str = "findings.toml";

/// Placeholders each finding message may use.
const FINDING_PLACEHOLDERS: &[(&str, &[&str])] = &[
    ("domain_not_found", &["domain"]),
    ("no_mx", &["domain"]),
    ("null_mx", &["domain"]),
    ("lookup_failed", &["domain", "records", "detail"]),
    ("mail_hosted_by_mx", &["domain", "provider", "mx"]),
    ("mail_hosted_by_domain", &["domain", "provider"]),
    ("native_integration", &["provider"]),
    ("bridge_only", &["provider"]),
    ("srv_published", &["domain", "records"]),
    ("autoconfig_found", &["domain", "url"]),
    ("autoconfig_plain", &["url", "servers"]),
    ("autoconfig_unusable", &["domain", "detail"]),
    ("ispdb_found", &["entry"]),
    ("nothing_published", &["domain"]),
];

/// Finding messages with `{placeholder}` slots, checked at load time.
#[derive(Debug, Clone)]
pub struct FindingTexts(Replies);

impl FindingTexts {
    /// Fills the message of `key`. Keys and placeholders were checked when the rules loaded.
    pub fn render(&self, key: &str, values: &[(&str, &str)]) -> String {
        self.0.render(key, values)
    }
}

pub(super) fn parse(source: &Source, errors: &mut Vec<RuleError>) -> Option<FindingTexts> {
    parse_templates(source, errors, FINDING_PLACEHOLDERS, "finding message")
        .map(|templates| FindingTexts(Replies { templates }))
}
