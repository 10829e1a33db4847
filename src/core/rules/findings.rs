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
    (
        "entered_differs",
        &["service", "entered", "published", "security"],
    ),
    ("published_settings", &["service", "published", "security"]),
    // Probe.
    ("ok_tls", &["endpoint", "service", "mode", "version"]),
    ("ok_plain", &["endpoint", "service"]),
    ("dns_not_found", &["host"]),
    ("dns_no_address", &["host"]),
    ("dns_unavailable", &["host", "detail"]),
    (
        "connection_refused",
        &["endpoint", "port", "service", "usual_ports"],
    ),
    ("unreachable", &["endpoint", "detail"]),
    ("plain_on_tls_port", &["endpoint", "port"]),
    ("plain_on_tls_port_courier", &["endpoint", "port"]),
    ("timeout", &["endpoint", "stage", "seconds"]),
    ("response_too_large", &["endpoint", "stage", "service"]),
    ("connection_closed", &["endpoint", "stage"]),
    ("wrong_protocol", &["endpoint", "peer", "service"]),
    ("wrong_protocol_smtp_port", &["endpoint", "peer", "service"]),
    ("wrong_protocol_imap_port", &["endpoint", "peer", "service"]),
    ("wrong_protocol_pop3", &["endpoint", "peer", "service"]),
    (
        "tls_on_plain_port",
        &["endpoint", "peer", "port", "service"],
    ),
    (
        "tls_on_plain_port_starttls",
        &["endpoint", "peer", "port", "service"],
    ),
    (
        "tls_on_plain_port_courier",
        &["endpoint", "peer", "port", "service"],
    ),
    (
        "tls_on_plain_port_other_service",
        &["endpoint", "peer", "port", "service"],
    ),
    ("tls_handshake_failed", &["endpoint", "detail"]),
    ("greeting_rejected", &["endpoint", "text"]),
    ("no_tls", &["endpoint", "tls_port"]),
    ("starttls_rejected", &["endpoint", "text"]),
    ("protocol_error", &["endpoint", "stage", "detail"]),
    ("probe_error", &["endpoint", "detail"]),
    ("cert_expired", &["endpoint", "date"]),
    ("cert_untrusted", &["endpoint"]),
    ("cert_untrusted_because", &["endpoint", "reason"]),
    ("cert_not_yet_valid", &["endpoint"]),
    ("cert_name_mismatch", &["endpoint", "names", "host"]),
    ("courier_imap_unsupported", &["endpoint"]),
    ("smtp_auth_not_offered", &["endpoint"]),
    ("relay_port", &[]),
    ("alternative_available", &["endpoint", "mode", "entered"]),
    (
        "alternative_available_courier",
        &["endpoint", "mode", "entered"],
    ),
    ("refused_private_address", &["endpoint", "detail"]),
    ("refused_port_not_allowed", &["endpoint", "detail"]),
    ("refused_invalid_host", &["endpoint", "detail"]),
    ("refused_rate_limited", &["endpoint", "detail"]),
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
