//! Thunderbird's ISPDB, the subset shipped in `ispdb.toml` (MPL-2.0; source and license are noted
//! in that file). Looked up by the email domain, then by each MX host's parent domains, as
//! Thunderbird does.

use serde::Deserialize;

use crate::core::diagnose::discovery::{
    normalize, Autoconfig, AutoconfigSource, MxHost, ServerSettings,
};

const DATA: &str = include_str!("ispdb.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    entry: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The ISPDB file this entry restates.
    #[allow(dead_code, reason = "provenance for readers of the data file")]
    file: String,
    domains: Vec<String>,
    imap: Option<ServerSettings>,
    smtp: Option<ServerSettings>,
}

#[derive(Debug, Clone)]
pub struct Ispdb {
    entries: Vec<Entry>,
}

impl Ispdb {
    /// The shipped data. A unit test parses it on every run, so this cannot fail in a build
    /// that passed its tests; should it ever, the database is empty rather than the bot down.
    pub fn embedded() -> Ispdb {
        Ispdb::parse(DATA).unwrap_or(Ispdb {
            entries: Vec::new(),
        })
    }

    pub fn parse(text: &str) -> Result<Ispdb, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(Ispdb {
            entries: file.entry,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn by_domain(&self, domain: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }

    /// The entry for `domain`, else for the parent domains of its MX hosts (most preferred
    /// first); with the key that matched.
    pub fn lookup(&self, domain: &str, mx: &[MxHost]) -> Option<(String, Autoconfig)> {
        let domain = normalize(domain);
        let mut keys = vec![domain];
        for host in mx {
            let host = normalize(&host.host);
            let labels: Vec<&str> = host.split('.').collect();
            // The host itself, then each parent with at least two labels.
            for i in 0..labels.len().saturating_sub(1) {
                keys.push(labels[i..].join("."));
            }
        }
        keys.into_iter().find_map(|key| {
            self.by_domain(&key).map(|e| {
                (
                    key,
                    Autoconfig {
                        source: AutoconfigSource::Ispdb,
                        imap: e.imap.clone(),
                        smtp: e.smtp.clone(),
                    },
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_data_parses_and_is_found_by_domain_and_by_mx() {
        let db = Ispdb::parse(DATA).unwrap_or_else(|e| panic!("ispdb.toml: {e}"));
        assert!(db.len() >= 6);
        let gmail = db
            .lookup("GMail.com", &[])
            .map(|(_, a)| a.imap.map(|s| s.host));
        assert_eq!(gmail, Some(Some("imap.gmail.com".to_string())));
        let mx = [MxHost {
            host: "acme-com.mail.protection.outlook.com.".into(),
            preference: 0,
        }];
        let (key, found) = db
            .lookup("acme.com", &mx)
            .unwrap_or_else(|| panic!("no match"));
        assert_eq!(key, "mail.protection.outlook.com");
        assert_eq!(
            found.imap.map(|s| s.host).as_deref(),
            Some("outlook.office365.com")
        );
        assert!(db.lookup("acme.com", &[]).is_none());
        // A parent is never a bare top-level domain.
        let com = [MxHost {
            host: "mx.com".into(),
            preference: 0,
        }];
        assert!(db.lookup("acme.com", &com).is_none());
    }
}
