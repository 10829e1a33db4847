//! What the words of a connection screen mean: which phrases are labels and of what, which
//! values are security modes, ports or a password shown in clear. The OCR edge asks
//! [`label_kind`] which phrases are labels; [`super::interpret`] reads the values.

use super::Security;
use crate::core::service::Service;

/// A ticked checkbox or a chosen radio button, as the OCR edge writes it into the text.
pub const CHECKED: char = '☑';
/// A checkbox or radio button left empty.
pub const UNCHECKED: char = '☐';

/// What a form label asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Host,
    Port,
    Security,
    Email,
    Password,
}

/// The kind of a form label ("Incoming mail server", "Port:", "E-mail address"), and the
/// service it names, if any. `None` for anything that is not a short label. The OCR edge uses
/// this to decide which phrases are labels.
pub fn label_kind(label: &str) -> Option<(LabelKind, Option<Service>)> {
    let clean: String = label
        .trim()
        .trim_end_matches([':', '*', '.'])
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = clean.split_whitespace().collect();
    // A longer phrase ending in a colon is a label when its last words say what it asks for
    // ("Use the following type of encrypted connection:"); other long phrases are sentences.
    if words.len() > 4 && words.len() <= 8 && label.trim_end().ends_with(':') {
        words.drain(..words.len() - 3);
    }
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    let service = service_of(label);
    // OCR drops the first letter of light text ("erver", "ncryption"): a long label word also
    // matches without it.
    let has = |w: &str| {
        words
            .iter()
            .any(|x| *x == w || (w.len() >= 6 && x.len() + 1 == w.len() && w.ends_with(*x)))
    };
    // A link or a switch that opens the settings ("Hide server settings", "Show advanced"), and
    // an authentication choice ("Normal password"), are not labels.
    if words.iter().any(|w| NOT_LABEL_WORDS.contains(w)) {
        return None;
    }
    let kind = if has("password") || has("passwort") {
        LabelKind::Password
    } else if has("port") {
        LabelKind::Port
    } else if has("security")
        || has("encryption")
        || has("encrypted")
        || has("secure")
        || has("ssl")
        || has("tls")
        || has("starttls")
    {
        // "SSL" heading a column is also a value: the OCR edge takes a phrase made only of
        // value words as a label only where nothing else claimed it (`is_security_value`).
        LabelKind::Security
    } else if has("server") || has("host") || has("hostname") {
        LabelKind::Host
    } else if has("email") || (has("e") && has("mail")) || has("username") || has("user") {
        LabelKind::Email
    } else {
        return None;
    };
    Some((kind, service))
}

/// A checkbox's own sentence as a label ("☑ This server requires an encrypted connection
/// (SSL/TLS)"): a security setting when it speaks of encryption, not when it is about how to log
/// on ("Secure Password Authentication").
pub fn checkbox_kind(label: &str, value: &str) -> Option<(LabelKind, Option<Service>)> {
    let v = value.trim();
    if v != CHECKED.to_string() && v != UNCHECKED.to_string() {
        return None;
    }
    let lower = label.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let any = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if any(&["password", "authentication", "logon", "login", "spa"]) {
        return None;
    }
    any(&[
        "encrypted",
        "encryption",
        "ssl",
        "tls",
        "starttls",
        "secure",
    ])
    .then(|| (LabelKind::Security, service_of(label)))
}

/// Words of a phrase that is a control or a choice, never a form label.
const NOT_LABEL_WORDS: &[&str] = &[
    "show",
    "hide",
    "settings",
    "advanced",
    "more",
    "fewer",
    "manual",
    "manually",
    "configure",
    "configuration",
    "normal",
    "cleartext",
];

/// Words a security setting's value is made of.
const SECURITY_VALUE_WORDS: &[&str] = &[
    "ssl", "tls", "starttls", "start", "none", "yes", "no", "on", "off", "auto", "plain",
];

/// The service a heading or label names: IMAP/incoming or SMTP/outgoing.
pub fn service_of(text: &str) -> Option<Service> {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let any = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if any(&["imap", "imaps", "incoming", "inbound"]) {
        Some(Service::Imap)
    } else if any(&["smtp", "smtps", "outgoing", "outbound"]) {
        Some(Service::Smtp)
    } else {
        None
    }
}

/// A phrase that is, or may be, a security setting's value ("SSL", "SSL/TLS", "STARTTLS"):
/// a label made of such words ("SSL" heading a column) is only a label where no other label
/// claims it as its value.
pub fn is_security_value(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        // A dropdown's arrow reads as a stray letter ("STARTTLS v").
        .filter(|w| w.len() > 1)
        .collect();
    !words.is_empty() && words.iter().all(|w| SECURITY_VALUE_WORDS.contains(w))
}

/// The security a value shows. A switch's state ("Yes", "On", "No", "Off") is read against
/// its label: "Use STARTTLS: Yes" is STARTTLS, "SSL: On" is SSL/TLS.
pub(super) fn security_with_label(label: &str, value: &str) -> Option<Security> {
    // A checkbox beside its label is a switch; a radio group is the option after its one
    // chosen mark (none chosen: unknown).
    let trimmed = value.trim();
    if trimmed.chars().eq([CHECKED]) {
        return security_with_label(label, "on");
    }
    if trimmed.chars().eq([UNCHECKED]) {
        return Some(Security::None);
    }
    if trimmed.contains([CHECKED, UNCHECKED]) {
        let (_, chosen) = trimmed.split_once(CHECKED)?;
        let chosen = chosen.split([CHECKED, UNCHECKED]).next().unwrap_or("");
        return if chosen.trim().is_empty() {
            security_with_label(label, "on")
        } else {
            security_with_label(label, chosen)
        };
    }
    let v = value.to_ascii_lowercase();
    let words: Vec<&str> = v
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let switch_on = words.len() <= 2
        && words
            .iter()
            .any(|w| ["yes", "on", "enabled", "true", "checked"].contains(w));
    let switch_off = words.len() <= 2
        && words
            .iter()
            .any(|w| ["no", "off", "disabled", "false", "unchecked"].contains(w));
    if switch_on {
        return match security_of(label) {
            Some(Security::Starttls) => Some(Security::Starttls),
            _ => Some(Security::SslTls),
        };
    }
    if switch_off {
        return Some(Security::None);
    }
    security_of(value)
}

fn security_of(value: &str) -> Option<Security> {
    let v = value.to_ascii_lowercase();
    if v.contains("starttls") || v.contains("start tls") {
        Some(Security::Starttls)
    } else if v.contains("ssl") || v.contains("tls") {
        Some(Security::SslTls)
    } else if v.contains("none")
        || v.contains("off")
        || v.contains("no encryption")
        || v.contains("unencrypted")
        || v.contains("plain")
    {
        Some(Security::None)
    } else {
        None
    }
}

/// The password field shows characters: one token with several distinct letters or digits.
/// Dots read by OCR come out as runs of one or two characters ("eeeeeeee", "*****", "••••");
/// a phrase of several words is the next line of the form, not a password; nor is a word of
/// the form's own controls ("Advanced", "Show": a link below a password row whose dots OCR
/// did not see), since a false alarm deletes the member's message.
pub(super) fn looks_visible(value: &str) -> bool {
    if value.split_whitespace().count() != 1 {
        return false;
    }
    let word = value
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    if NOT_LABEL_WORDS.contains(&word.as_str()) {
        return false;
    }
    let mut distinct: Vec<char> = value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() >= 4 && value.chars().filter(|c| !c.is_whitespace()).count() >= 4
}

/// A port field's value: digits only (OCR may add a stray mark around them). In a port's slot,
/// and only there, OCR's usual confusions among digits are undone: "O"/"o" is 0 and "l"/"I" is
/// 1 ("99O", "l43"), when at least one real digit stands beside them (a lone "l" is a box
/// edge, "ON" a switch).
pub(super) fn port_of(value: &str) -> Option<u16> {
    let raw = value
        .trim()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let real = raw.chars().filter(|c| c.is_ascii_digit()).count();
    let digits: String = raw
        .chars()
        .map(|c| match c {
            'O' | 'o' if real > 0 => '0',
            'l' | 'I' if real > 0 => '1',
            c => c,
        })
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 5 {
        return None;
    }
    digits.parse::<u16>().ok().filter(|p| *p > 0)
}
