//! The two words every part of the core uses about a mail server: which service it is, and how
//! its connection is encrypted. The extractors, the rules pack, the probe's judgement and the
//! discovery all speak of the same [`Service`] and the same [`TlsMode`].

use std::fmt;

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
///
/// The probe's JSON writes it `implicit` or `starttls`; the rules pack and the discovery JSON,
/// which follow the vendor's form, write `tls` or `starttls` (see [`as_security`]).
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

/// The option's name in the vendor's form: `SSL/TLS` or `STARTTLS`.
impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::Implicit => "SSL/TLS",
            TlsMode::Starttls => "STARTTLS",
        })
    }
}

/// [`TlsMode`] as a `security` field: `tls` or `starttls`, the words of `rules/providers.toml`,
/// of the shipped ISPDB data and of `imap-triage discover --json`. Use with
/// `#[serde(with = "crate::core::service::as_security")]`.
pub mod as_security {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::TlsMode;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Security {
        Tls,
        Starttls,
    }

    pub fn serialize<S: Serializer>(mode: &TlsMode, serializer: S) -> Result<S::Ok, S::Error> {
        match mode {
            TlsMode::Implicit => Security::Tls,
            TlsMode::Starttls => Security::Starttls,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TlsMode, D::Error> {
        Ok(match Security::deserialize(deserializer)? {
            Security::Tls => TlsMode::Implicit,
            Security::Starttls => TlsMode::Starttls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Setting {
        #[serde(with = "as_security")]
        security: TlsMode,
    }

    #[test]
    fn a_security_field_keeps_the_words_of_the_rules_pack() {
        let json = serde_json::to_string(&Setting {
            security: TlsMode::Implicit,
        })
        .unwrap_or_default();
        assert_eq!(json, r#"{"security":"tls"}"#);
        let back: Setting =
            serde_json::from_str(r#"{"security":"starttls"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.security, TlsMode::Starttls);
        assert!(serde_json::from_str::<Setting>(r#"{"security":"implicit"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&TlsMode::Implicit).unwrap_or_default(),
            r#""implicit""#
        );
    }
}
