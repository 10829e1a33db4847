//! The output of the core: what triage found and what the bot should say.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The member's Hub ID (account number), as written in the post: digits only, never a phone,
/// port or date (see `items::hub_id_span`). A newtype, so free text can't be stored or
/// filtered as one by mistake. Serialized as the bare string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HubId(String);

impl HubId {
    /// The id in `text` when it is one: 4 to 10 ASCII digits, as the rules' labels read them,
    /// possibly in groups a phone or the member spaced out ("55 190 23").
    pub fn parse(text: &str) -> Option<HubId> {
        let digits: String = text.split_ascii_whitespace().collect();
        ((4..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(HubId(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads as its digits wherever a `&str` is wanted; it can only be built by [`HubId::parse`].
impl std::ops::Deref for HubId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HubId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host and port as the member wrote them (host lower-cased; IP literals as written): the
/// one host-and-port type of the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&endpoint_text(&self.host, self.port))
    }
}

/// `host:port`, with an IPv6 literal in brackets: how every endpoint is written, whether or not
/// it is held as an [`Endpoint`].
pub fn endpoint_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorFound {
    /// An id from `rules/errors.toml`.
    pub code: String,
    /// The member's error text (the line it was found on, trimmed).
    pub text: String,
}

/// The four checklist confirmations support asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Checklist {
    pub typed_credentials: bool,
    pub typed_servers: bool,
    pub verified_credentials: bool,
    pub confirmed_with_provider: bool,
}

impl Checklist {
    pub fn get(&self, id: &str) -> bool {
        match id {
            "typed_credentials" => self.typed_credentials,
            "typed_servers" => self.typed_servers,
            "verified_credentials" => self.verified_credentials,
            "confirmed_with_provider" => self.confirmed_with_provider,
            _ => false,
        }
    }
    pub fn set(&mut self, id: &str, value: bool) {
        match id {
            "typed_credentials" => self.typed_credentials = value,
            "typed_servers" => self.typed_servers = value,
            "verified_credentials" => self.verified_credentials = value,
            "confirmed_with_provider" => self.confirmed_with_provider = value,
            _ => {}
        }
    }
    pub fn complete(&self) -> bool {
        self.typed_credentials
            && self.typed_servers
            && self.verified_credentials
            && self.confirmed_with_provider
    }
}

/// One of the four things support needs before it can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Screenshot,
    Error,
    HubId,
    Checklist,
}

impl Item {
    pub const ALL: [Item; 4] = [Item::Screenshot, Item::Error, Item::HubId, Item::Checklist];
    pub fn label(self) -> &'static str {
        match self {
            Item::Screenshot => "Screenshot of the connection screen (advanced options open)",
            Item::Error => "The error message",
            Item::HubId => "Hub ID",
            Item::Checklist => "Checklist confirmed",
        }
    }
}

/// The kind of credential found in public text. The value itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    Password,
    AppPassword,
    /// An OAuth access or refresh token, a bearer token, a client secret.
    Token,
}

impl SecretKind {
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::Password => "a password",
            SecretKind::AppPassword => "an app password",
            SecretKind::Token => "an access token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFound {
    pub kind: SecretKind,
    /// Index of the message in the thread.
    pub message: usize,
}

/// What a member's setting was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchSource {
    /// The provider's documented setting (`expected`).
    Provider,
    /// What the member's screenshot shows (`expected`), against what they wrote (`entered`).
    Screenshot,
}

/// A member's setting that differs from the provider's documented one, or from their own
/// screenshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingMismatch {
    /// `imap` or `smtp` (`email` for a screenshot's email domain).
    pub service: &'static str,
    /// `host` or `port` (`domain`).
    pub field: &'static str,
    pub entered: String,
    pub expected: String,
    pub source: MismatchSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub hub_id: Option<HubId>,
    pub imap: Option<Endpoint>,
    pub smtp: Option<Endpoint>,
    pub email_domain: Option<String>,
    pub provider: Option<String>,
    pub error: Option<ErrorFound>,
    pub screenshots: usize,
    pub checklist: Checklist,
    pub missing: Vec<Item>,
    pub secrets: Vec<SecretFound>,
    /// Hosts containing non-ASCII characters (possible look-alikes), as written.
    pub suspicious_hosts: Vec<String>,
    pub mismatches: Vec<SettingMismatch>,
    /// Escalate to moderators: all items are in and the bot has nothing more to suggest, or an
    /// error rule asks for it.
    pub escalate: bool,
    /// Why each field was chosen: the message, zone and excerpt it came from.
    pub evidence: EvidenceMap,
    pub reply: String,
    /// What the attachments' screenshots say, in attachment order (empty when none was read).
    pub screenshot_reads: Vec<super::screenshot::AttachmentRead>,
}

impl Report {
    /// Why each field was chosen, in words: the value, then the message, zone and excerpt it
    /// was taken from. Fields not found say so.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let value = |field: &str| -> Option<String> {
            match field {
                "hub_id" => self.hub_id.as_ref().map(HubId::to_string),
                "imap" => self.imap.as_ref().map(Endpoint::to_string),
                "smtp" => self.smtp.as_ref().map(Endpoint::to_string),
                "email_domain" => self.email_domain.clone(),
                "provider" => self.provider.clone(),
                "error" => self.error.as_ref().map(|e| e.code.clone()),
                other => other
                    .strip_prefix("checklist.")
                    .filter(|id| self.checklist.get(id))
                    .map(|_| "confirmed".to_string()),
            }
        };
        let entries = self.evidence.entries();
        for field in [
            "hub_id",
            "imap",
            "smtp",
            "email_domain",
            "provider",
            "error",
        ] {
            match (value(field), entries.iter().find(|(k, _)| k == field)) {
                (Some(v), Some((_, e))) => {
                    let _ = writeln!(
                        out,
                        "{field}: {v}\n    from message {} ({}): \"{}\"",
                        e.message, e.zone, e.excerpt
                    );
                }
                (Some(v), None) => {
                    let _ = writeln!(out, "{field}: {v}\n    (no single place: combined)");
                }
                (None, _) => {
                    let _ = writeln!(out, "{field}: not found");
                }
            }
        }
        for (field, e) in entries.iter().filter(|(k, _)| k.starts_with("checklist.")) {
            let _ = writeln!(
                out,
                "{field}: {}\n    from message {} ({}): \"{}\"",
                value(field).unwrap_or_else(|| "no".into()),
                e.message,
                e.zone,
                e.excerpt
            );
        }
        for s in &self.secrets {
            let _ = writeln!(
                out,
                "secret: {} in message {} (removed; the value is never shown)",
                s.kind.describe(),
                s.message
            );
        }
        out
    }

    /// One line for moderators: where the main fields came from.
    pub fn evidence_line(&self) -> String {
        self.evidence
            .entries()
            .iter()
            .filter(|(k, _)| !k.starts_with("checklist."))
            .map(|(k, e)| format!("{k} ← msg {} {}: \"{}\"", e.message, e.zone, e.excerpt))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A readable report for the terminal. It never contains a secret: secrets are not in the
    /// report at all, only their kind.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
        let _ = writeln!(
            out,
            "Hub ID:       {}",
            or_none(self.hub_id.as_ref().map(HubId::to_string))
        );
        let _ = writeln!(
            out,
            "IMAP:         {}",
            or_none(self.imap.as_ref().map(Endpoint::to_string))
        );
        let _ = writeln!(
            out,
            "SMTP:         {}",
            or_none(self.smtp.as_ref().map(Endpoint::to_string))
        );
        let _ = writeln!(out, "Email domain: {}", or_none(self.email_domain.clone()));
        let _ = writeln!(out, "Provider:     {}", or_none(self.provider.clone()));
        let _ = writeln!(
            out,
            "Error:        {}",
            or_none(
                self.error
                    .as_ref()
                    .map(|e| format!("{} ({:?})", e.code, e.text))
            )
        );
        let _ = writeln!(out, "Screenshots:  {}", self.screenshots);
        let c = &self.checklist;
        let mark = |b: bool| if b { "x" } else { " " };
        let _ = writeln!(
            out,
            "Checklist:    [{}] typed_credentials [{}] typed_servers [{}] verified_credentials [{}] confirmed_with_provider",
            mark(c.typed_credentials),
            mark(c.typed_servers),
            mark(c.verified_credentials),
            mark(c.confirmed_with_provider)
        );
        let missing: Vec<String> = self
            .missing
            .iter()
            .map(|m| format!("{m:?}").to_lowercase())
            .collect();
        let _ = writeln!(
            out,
            "Missing:      {}",
            if missing.is_empty() {
                "-".to_string()
            } else {
                missing.join(", ")
            }
        );
        for s in &self.secrets {
            let _ = writeln!(
                out,
                "Secret:       {} in message {}",
                s.kind.describe(),
                s.message
            );
        }
        for h in &self.suspicious_hosts {
            let _ = writeln!(out, "Look-alike:   {h}");
        }
        for m in &self.mismatches {
            let against = match m.source {
                MismatchSource::Provider => "provider uses",
                MismatchSource::Screenshot => "screenshot shows",
            };
            let _ = writeln!(
                out,
                "Differs:      {} {}: entered {}, {against} {}",
                m.service, m.field, m.entered, m.expected
            );
        }
        for r in &self.screenshot_reads {
            let _ = writeln!(
                out,
                "Screenshot:   message {} attachment {}: {:?}{}",
                r.message,
                r.attachment,
                r.read.kind,
                if r.read.advanced_options {
                    ", advanced options open"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            out,
            "Escalate:     {}",
            if self.escalate { "yes" } else { "no" }
        );
        let _ = writeln!(out, "\n--- reply ---\n{}", self.reply);
        out
    }
}

/// Where a field was found, so a moderator can check it: the message, its zone, and a short
/// excerpt of the line (secrets removed, email local parts masked, mentions made inert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub message: usize,
    pub zone: &'static str,
    pub excerpt: String,
}

/// The evidence for each field the report found; fields not found have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct EvidenceMap {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_id: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imap: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Evidence>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub checklist: std::collections::BTreeMap<String, Evidence>,
}

impl EvidenceMap {
    /// The fields with evidence, in the report's order, as `(field, evidence)`.
    pub fn entries(&self) -> Vec<(String, &Evidence)> {
        let mut out: Vec<(String, &Evidence)> = [
            ("hub_id", &self.hub_id),
            ("imap", &self.imap),
            ("smtp", &self.smtp),
            ("email_domain", &self.email_domain),
            ("provider", &self.provider),
            ("error", &self.error),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|e| (k.to_string(), e)))
        .collect();
        out.extend(
            self.checklist
                .iter()
                .map(|(k, e)| (format!("checklist.{k}"), e)),
        );
        out
    }
}

/// The longest evidence excerpt, in characters.
pub const EXCERPT_MAX: usize = 80;

impl Evidence {
    /// Evidence from `line` of message `message`, centred on `focus` (the value found) when the
    /// line is longer than [`EXCERPT_MAX`]. The line is redacted whole before it is cut, so a
    /// cut can never leave half a secret behind.
    pub fn new(
        message: usize,
        zone: super::zones::ZoneKind,
        line: &str,
        focus: Option<&str>,
    ) -> Evidence {
        Evidence::from_redacted(message, zone, &super::secrets::redact(line), focus)
    }

    /// [`Evidence::new`], redacted with the rules' `[secrets]` lists.
    pub fn new_with(
        words: &super::words::SecretWords,
        message: usize,
        zone: super::zones::ZoneKind,
        line: &str,
        focus: Option<&str>,
    ) -> Evidence {
        Evidence::from_redacted(
            message,
            zone,
            &super::secrets::redact_with(words, line),
            focus,
        )
    }

    /// [`Evidence::new`] for `line` of the whole message `text`, redacted with the message as
    /// context (a value may sit on the line after its label): `secrets` are the credentials
    /// found in `text` ([`super::secrets::find_in`]).
    pub fn in_message(
        message: usize,
        zone: super::zones::ZoneKind,
        text: &str,
        line: std::ops::Range<usize>,
        focus: Option<&str>,
        secrets: &[(super::SecretKind, std::ops::Range<usize>)],
    ) -> Evidence {
        Evidence::from_redacted(
            message,
            zone,
            &super::secrets::redact_span_among(text, line, secrets),
            focus,
        )
    }

    fn from_redacted(
        message: usize,
        zone: super::zones::ZoneKind,
        redacted: &str,
        focus: Option<&str>,
    ) -> Evidence {
        let clean =
            super::text::neutralize_mentions(&super::items::mask_email_local_parts(redacted));
        let clean = clean.trim();
        let excerpt = if clean.chars().count() <= EXCERPT_MAX {
            clean.to_string()
        } else {
            // ASCII case folding keeps every byte where it was, so an offset in the folded
            // line is a char boundary of the line (full Unicode lowering can move them).
            let at = focus
                .and_then(|f| clean.to_ascii_lowercase().find(&f.to_ascii_lowercase()))
                .filter(|&at| clean.is_char_boundary(at))
                .unwrap_or(0);
            let chars_before = clean[..at].chars().count();
            let skip = chars_before.saturating_sub(EXCERPT_MAX / 3);
            let window: String = clean.chars().skip(skip).collect();
            let mut cut = super::text::truncate(&window, EXCERPT_MAX - usize::from(skip > 0));
            if skip > 0 {
                cut.insert(0, '…');
            }
            cut
        };
        Evidence {
            message,
            zone: zone.as_str(),
            excerpt,
        }
    }
}

#[cfg(test)]
mod evidence_tests {
    use super::*;

    /// Lower-casing "K" (KELVIN SIGN, 3 bytes) gives "k" (1 byte) and "Ⱥ" (2 bytes) gives "ⱥ"
    /// (3 bytes): with two of those after the value, the line keeps its length, yet the value
    /// sits 2 bytes earlier in the lowered line, inside the "€" before it. The excerpt must not
    /// cut inside a character (a proptest case found this).
    #[test]
    fn an_excerpt_never_cuts_inside_a_character() {
        let line = format!(
            "\u{212A}{}€imap.example.com settings{}ȺȺ",
            "x".repeat(60),
            "y".repeat(60)
        );
        let e = Evidence::new(
            0,
            crate::core::zones::ZoneKind::Prose,
            &line,
            Some("imap.example.com"),
        );
        assert!(e.excerpt.contains("imap.example.com"), "{}", e.excerpt);
        assert!(e.excerpt.chars().count() <= EXCERPT_MAX);
    }
}
