//! The output of the core: what triage found and what the bot should say.

use std::fmt::Write as _;

use serde::Serialize;

/// A host and port as the member wrote them (host lower-cased; IP literals as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
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
}

impl SecretKind {
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::Password => "a password",
            SecretKind::AppPassword => "an app password",
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
    pub hub_id: Option<String>,
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
    pub reply: String,
    /// What the attachments' screenshots say, in attachment order (empty when none was read).
    pub screenshot_reads: Vec<super::screenshot::AttachmentRead>,
}

impl Report {
    /// A readable report for the terminal. It never contains a secret: secrets are not in the
    /// report at all, only their kind.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
        let _ = writeln!(out, "Hub ID:       {}", or_none(self.hub_id.clone()));
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
