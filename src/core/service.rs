//! The two words every part of the core uses about a mail server: which service it is, and how
//! its connection is encrypted. The extractors, the rules pack, the probe's judgement and the
//! discovery all speak of the same [`Service`]; the probe and the discovery of the same [`TlsMode`].

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Imap,
    Smtp,
}

impl Service {
    pub fn label(self) -> &'static str {
        match self {
            Service::Imap => "IMAP",
            Service::Smtp => "SMTP",
        }
    }
}

/// How a connection is encrypted: TLS from the first byte ("SSL", e.g. 993 and 465), or a
/// plain start upgraded with STARTTLS (e.g. 143 and 587).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Implicit,
    Starttls,
}

impl TlsMode {
    pub fn other(self) -> TlsMode {
        match self {
            TlsMode::Implicit => TlsMode::Starttls,
            TlsMode::Starttls => TlsMode::Implicit,
        }
    }

    /// The words a member sees in the vendor's form.
    pub fn describe(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit TLS (SSL)",
            TlsMode::Starttls => "STARTTLS",
        }
    }
}
