//! Purpose: what a screenshot says, and how it joins what the member wrote.
//!
//! The OCR edge (`crate::ocr`) turns an image into an [`OcrPage`]: lines of text, label/value
//! pairs found from word boxes, and the text of a red banner. Everything after that is decided
//! here, purely:
//! - [`interpret`] reads a page into a [`ScreenshotRead`] with the core's own extractors: hosts
//!   and ports through `endpoints::Settings` (the page's fields are a zone of their own, written
//!   as `IMAP server: x` lines), the error through the rules, the email domain through `items`,
//!   and secrets through `secrets` (the read's text is redacted before it leaves).
//! - [`triage_with_reads`] (`merge.rs`) merges the reads of a thread's attachments into its
//!   report: fields missing from the text come from the screenshots, each disagreement becomes a
//!   `mismatches` entry, a visible password counts as a posted secret, and the screenshot stays
//!   missing until one shows the connection screen with its advanced options open.

use serde::{Deserialize, Serialize};

use super::endpoints::Settings;
use super::rules::Rules;
use super::service::Service;
use super::text::{neutralize_mentions, truncate};
use super::{classify, items, secrets};

mod labels;
mod merge;
use labels::{checkbox_kind, looks_visible, port_of, security_with_label};
pub use labels::{is_security_value, label_kind, service_of, LabelKind, CHECKED, UNCHECKED};
pub use merge::{lacking, triage_with_reads, AttachmentRead};

/// The longest text kept from one screenshot.
const TEXT_MAX: usize = 2000;
/// The longest error text kept from a banner.
const ERROR_TEXT_MAX: usize = 300;

/// What the image is, as far as support is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenshotKind {
    /// The vendor's IMAP connection screen (or any form with mail server fields).
    ConnectionScreen,
    /// An error message without the settings.
    ErrorBanner,
    /// Readable, but not about the connection.
    Other,
    /// Not an image we could read: wrong type, too large, broken, or OCR failed.
    Unreadable,
}

/// The encryption a settings form shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Security {
    #[serde(rename = "SSL/TLS")]
    SslTls,
    #[serde(rename = "STARTTLS")]
    Starttls,
    #[serde(rename = "none")]
    None,
}

/// One server's settings as the screenshot shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRead {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<Security>,
}

impl ServerRead {
    fn is_empty(&self) -> bool {
        self.host.is_none() && self.port.is_none() && self.security.is_none()
    }
}

/// What was read from one image. Holds no secret: the text is redacted, the email is a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenshotRead {
    pub kind: ScreenshotKind,
    /// The server and port fields are visible (Advanced options open).
    pub advanced_options: bool,
    pub imap: Option<ServerRead>,
    pub smtp: Option<ServerRead>,
    /// The domain of the email address shown; never the local part.
    pub email_domain: Option<String>,
    /// The banner's (or the error line's) text, redacted.
    pub error_text: Option<String>,
    /// The password field shows characters, not dots.
    pub password_visible: bool,
    /// The recognised text, secrets redacted and email local parts masked.
    pub text: String,
    /// Why the image is `unreadable`, in words a member can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Time spent reading, in milliseconds (0 when never read).
    pub ms: u64,
}

impl ScreenshotRead {
    /// An image that could not be read, with the reason.
    pub fn unreadable(reason: impl Into<String>, ms: u64) -> ScreenshotRead {
        ScreenshotRead {
            kind: ScreenshotKind::Unreadable,
            advanced_options: false,
            imap: None,
            smtp: None,
            email_domain: None,
            error_text: None,
            password_visible: false,
            text: String::new(),
            reason: Some(reason.into()),
            ms,
        }
    }

    /// Shows the connection screen with the servers and ports: the screenshot support asks for.
    pub fn is_complete(&self) -> bool {
        self.kind == ScreenshotKind::ConnectionScreen && self.advanced_options
    }
}

/// What the OCR edge saw on one image, before any interpretation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcrPage {
    /// Recognised lines, top to bottom.
    pub lines: Vec<String>,
    /// Labels paired with their values from word boxes, with the section heading above them.
    pub fields: Vec<OcrField>,
    /// The text inside a red (error-coloured) banner, if the image has one.
    pub banner: Option<String>,
    /// A second reading of the same image (another segmentation), made when this one looked
    /// weak ([`needs_second_read`]): [`interpret`] fills what this page lacks from it.
    pub second: Option<Box<OcrPage>>,
}

/// Whether a page lacks what a connection screen it appears to be should show, so that a
/// second reading is worth its time: an address label none of whose values is an address; for a
/// service, a host, port or security label none of whose values parses (a host with a dot, a
/// port 1-65535, a security word); or host labels without any port label (the port boxes were
/// not seen at all). Judged per kind, not per label: the pairing also offers stray candidates
/// ("Port" = "SSL/TLS" across a table row) beside the right one, and those cost nothing.
pub fn needs_second_read(page: &OcrPage) -> bool {
    // Per (service, kind): whether a label was seen, whether one of its values parsed.
    let mut seen: Vec<(Option<Service>, LabelKind, bool)> = Vec::new();
    let (mut hosts, mut ports) = (0, 0);
    for field in &page.fields {
        let Some((kind, named)) = label_kind(&field.label) else {
            continue;
        };
        let service = named.or_else(|| field.section.as_deref().and_then(service_of));
        let value = field.value.trim();
        let parsed = match kind {
            LabelKind::Host => {
                hosts += 1;
                value.contains('.') && !value.contains(' ')
            }
            LabelKind::Port => {
                ports += 1;
                port_of(value).is_some()
            }
            LabelKind::Security => security_with_label(&field.label, value).is_some(),
            LabelKind::Email => value.contains('@'),
            LabelKind::Password => continue,
        };
        match seen
            .iter_mut()
            .find(|(s, k, _)| *s == service && *k == kind)
        {
            Some(entry) => entry.2 |= parsed,
            None => seen.push((service, kind, parsed)),
        }
    }
    (hosts > 0 && ports == 0) || seen.iter().any(|&(_, _, parsed)| !parsed)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcrField {
    /// The heading the label sits under ("IMAP (incoming)"), if any.
    pub section: Option<String>,
    pub label: String,
    /// Empty when the label has no value next to or below it.
    pub value: String,
}

/// Reads a page with the core's extractors. `ms` is the OCR time, carried through. With a second
/// reading, what the first lacks (a server's host, port or security, the email domain) comes
/// from the second, field by field; what the first read stays, and only values that parsed
/// (a host the endpoint scanner accepted, a port 1-65535, a security word) are ever taken.
pub fn interpret(rules: &Rules, page: &OcrPage, ms: u64) -> ScreenshotRead {
    let mut read = interpret_one(rules, page, ms);
    let Some(second) = page.second.as_deref() else {
        return read;
    };
    // The second may carry a third: each fills what those before it lack.
    let other = interpret(rules, second, ms);
    for (mine, theirs) in [(&mut read.imap, &other.imap), (&mut read.smtp, &other.smtp)] {
        let Some(theirs) = theirs else { continue };
        let slot = mine.get_or_insert_with(ServerRead::default);
        slot.host = slot.host.take().or_else(|| theirs.host.clone());
        slot.port = slot.port.or(theirs.port);
        slot.security = slot.security.or(theirs.security);
    }
    if read.email_domain.is_none() {
        read.email_domain = other.email_domain;
    }
    if read.error_text.is_none() {
        read.error_text = other.error_text;
    }
    // A visible password is not taken from the second reading: sparse text reads password
    // dots as characters (measured: a false alarm on a dark page), and the alarm deletes the
    // member's message.
    if read.imap.is_some() || read.smtp.is_some() {
        read.kind = ScreenshotKind::ConnectionScreen;
        read.advanced_options = true;
    }
    read
}

fn interpret_one(rules: &Rules, page: &OcrPage, ms: u64) -> ScreenshotRead {
    let mut imap = ServerRead::default();
    let mut smtp = ServerRead::default();
    let mut server_labels = 0;
    let mut form_labels = 0;
    let mut email_domain = None;
    let mut password_visible = false;
    let mut hidden: Vec<String> = Vec::new();
    // The zone the endpoint scanner reads: one `SERVICE server: value` line per field.
    let mut zone = [String::new(), String::new()];
    // The service the last label that named one named.
    let mut last_named: Option<Service> = None;

    // What the page's labels hold: a line that is one of them is a value, not a heading
    // ("IMAP", the value of "Account Type:", is no IMAP section for the rows below it).
    let values: Vec<&str> = page
        .fields
        .iter()
        .map(|f| f.value.trim())
        .filter(|v| !v.is_empty())
        .collect();
    for field in &page.fields {
        let Some((kind, named)) =
            label_kind(&field.label).or_else(|| checkbox_kind(&field.label, &field.value))
        else {
            continue;
        };
        form_labels += 1;
        let section = field
            .section
            .as_deref()
            .filter(|s| !values.contains(&s.trim()));
        let service = named.or_else(|| section.and_then(service_of));
        // A security label that names no service under no service heading ("Use the following
        // type of encrypted connection:" under "Incoming server (IMAP): 993") belongs to the
        // server the label above it named; it only fills what is still unknown.
        let inherited = service.is_none() && kind == LabelKind::Security;
        let service = service.or(if inherited { last_named } else { None });
        if named.is_some() {
            last_named = named;
        }
        // OCR puts a space beside the `@`, reads dots as commas and an "l" as "|".
        let cleaned: String;
        let value = match kind {
            LabelKind::Host | LabelKind::Email => {
                // A lower-case "l" read as "|" ("example.com.|b").
                cleaned = field
                    .value
                    .trim()
                    .replace('|', "l")
                    .replace(',', ".")
                    .replace(" @", "@")
                    .replace("@ ", "@")
                    .replace(" -", "-")
                    .replace("- ", "-")
                    .replace(" .", ".")
                    .replace(". ", ".");
                cleaned.as_str()
            }
            _ => field.value.trim(),
        };
        match kind {
            LabelKind::Host | LabelKind::Port | LabelKind::Security => {
                server_labels += 1;
                let Some(service) = service else { continue };
                let (slot, zone) = match service {
                    Service::Imap => (&mut imap, &mut zone[0]),
                    Service::Smtp => (&mut smtp, &mut zone[1]),
                };
                let name = service.label();
                match kind {
                    // A server label with a colon whose value is a bare number names the
                    // server's port ("Incoming server (IMAP): 993" under "Server Port
                    // Numbers"): a host is never only digits. Without a colon the number may
                    // be any box below a heading or a tab ("Outgoing Server"). A port label of
                    // the same server still wins.
                    LabelKind::Host
                        if field.label.trim_end().ends_with(':')
                            && value.chars().any(|c| c.is_ascii_digit())
                            && port_of(value).is_some() =>
                    {
                        slot.port = slot.port.or(port_of(value));
                    }
                    LabelKind::Host if !value.is_empty() => {
                        zone.push_str(&format!("{name} server: {value}\n"));
                    }
                    LabelKind::Port => {
                        if let Some(port) = port_of(value) {
                            slot.port = Some(port);
                            zone.push_str(&format!("{name} port: {port}\n"));
                        }
                    }
                    LabelKind::Security => {
                        if let Some(security) = security_with_label(&field.label, value) {
                            if !inherited || slot.security.is_none() {
                                slot.security = Some(security);
                            }
                        }
                    }
                    _ => {}
                }
            }
            LabelKind::Email => {
                if email_domain.is_none() {
                    email_domain = items::email_domain(value, &rules.reading.email_domain);
                }
            }
            LabelKind::Password => {
                if looks_visible(value) {
                    password_visible = true;
                    hidden.push(value.to_string());
                }
            }
        }
    }
    for (service, zone, slot) in [
        (Service::Imap, &zone[0], &mut imap),
        (Service::Smtp, &zone[1], &mut smtp),
    ] {
        let mut settings = Settings::with_words(rules.reading.words());
        settings.scan(zone, &rules.reading.zones);
        let found = match service {
            Service::Imap => settings.imap(),
            Service::Smtp => settings.smtp(),
        };
        slot.host = match found {
            Some(endpoint) => Some(endpoint.host),
            None => settings.host_without_port(service).map(str::to_string),
        };
    }

    // The text, with the visible password taken out before anything else reads it.
    let mut text = page.lines.join("\n");
    for value in &hidden {
        text = text.replace(value.as_str(), "[redacted]");
    }
    let text = items::mask_email_local_parts(&secrets::redact_with(&rules.reading.secrets, &text));
    if email_domain.is_none() {
        email_domain = items::email_domain(&text, &rules.reading.email_domain);
    }
    let error_text = error_text(rules, page, &text);

    let lower = text.to_ascii_lowercase();
    let screen_words = lower.contains("imap") || lower.contains("smtp");
    let advanced_options = !imap.is_empty() || !smtp.is_empty() || server_labels >= 2;
    let kind = if advanced_options || form_labels >= 2 || (screen_words && form_labels >= 1) {
        ScreenshotKind::ConnectionScreen
    } else if error_text.is_some() {
        ScreenshotKind::ErrorBanner
    } else {
        ScreenshotKind::Other
    };
    ScreenshotRead {
        kind,
        advanced_options: kind == ScreenshotKind::ConnectionScreen && advanced_options,
        imap: (!imap.is_empty()).then_some(imap),
        smtp: (!smtp.is_empty()).then_some(smtp),
        email_domain,
        error_text,
        password_visible,
        text: truncate(&text, TEXT_MAX),
        reason: None,
        ms,
    }
}

/// The banner's text when there is one; otherwise the line a specific error rule matches.
fn error_text(rules: &Rules, page: &OcrPage, text: &str) -> Option<String> {
    let clean = |t: &str| {
        truncate(
            &neutralize_mentions(&secrets::redact_with(&rules.reading.secrets, t)),
            ERROR_TEXT_MAX,
        )
    };
    // A banner holds words; a red photo read as banner gives a few stray marks.
    let wordy = |b: &str| {
        b.split_whitespace()
            .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
            .count()
            >= 2
    };
    if let Some(banner) = page.banner.as_deref().filter(|b| wordy(b)) {
        let one_line = banner.split_whitespace().collect::<Vec<_>>().join(" ");
        return Some(clean(&one_line));
    }
    // Without a banner, only a sentence that says something failed: a form's own labels name
    // errors' topics without being one ("Server Timeouts", "Authentication method",
    // "Connection timeout (seconds)"), and the rules would take them for the error.
    let (found, range) = classify::error_among(rules, text, &rules.errors_matching(text))?;
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |i| range.end + i);
    (found.code != "unknown" && says_failure(&text[line_start..line_end])).then_some(found.text)
}

/// Words of a sentence that reports a failure (lower case), as error messages word it.
const FAILURE_WORDS: &[&str] = &[
    "fail",
    "unable",
    "could not",
    "couldn't",
    "couldn\u{2019}t",
    "cannot",
    "can't",
    "can\u{2019}t",
    "can not",
    "invalid",
    "denied",
    "refused",
    "timed out",
    "rejected",
    "incorrect",
    "unreachable",
    "not found",
    "error",
    "wrong",
    "expired",
    "did not",
    "does not",
    "was not",
    "no route",
    "not respond",
    "not verify",
    "not connect",
    "lost",
];

/// Whether a line of the page says something failed (not just names a setting).
fn says_failure(line: &str) -> bool {
    let lower = line.to_lowercase();
    FAILURE_WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests;
