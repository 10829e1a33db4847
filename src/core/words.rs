//! Word lists of the rules (`reading.toml`'s `[hosts]` and `[secrets]`), looked up by exact
//! match, and the copies of the shipped file's lists that callers with no rules at hand use.

use std::sync::{Arc, LazyLock};

use serde::Deserialize;

/// A list of lower-case words, sorted once when the rules load: a look-up is a binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordSet(Box<[String]>);

impl WordSet {
    pub fn new(mut words: Vec<String>) -> WordSet {
        words.sort_unstable();
        words.dedup();
        WordSet(words.into_boxed_slice())
    }

    pub fn contains(&self, word: &str) -> bool {
        self.0
            .binary_search_by(|entry| entry.as_str().cmp(word))
            .is_ok()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `reading.toml`'s `[hosts]`: names with a host's shape that are never the server entered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostWords {
    /// Providers' bare domains (webmail), not a server unless a port follows.
    pub webmail_domains: WordSet,
    /// Domains that are never a mail server, nor any name under them.
    pub not_a_server: WordSet,
}

impl HostWords {
    /// Whether `lower` is one of [`Self::not_a_server`] or a name under one: each suffix after
    /// a dot is looked up, so the cost does not grow with the list.
    pub fn never_a_server(&self, lower: &str) -> bool {
        if self.not_a_server.contains(lower) {
            return true;
        }
        memchr::memchr_iter(b'.', lower.as_bytes())
            .any(|dot| self.not_a_server.contains(&lower[dot + 1..]))
    }
}

/// `reading.toml`'s `[secrets]`: values after a label that are not a credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretWords {
    /// Placeholders pasted from documentation ("your_password", "changeme").
    pub placeholders: WordSet,
    /// Words of ordinary sentences ("the password is correct").
    pub not_a_value: WordSet,
}

impl SecretWords {
    /// Whether `word` (lower case) is listed in either list.
    pub fn not_a_secret(&self, word: &str) -> bool {
        self.not_a_value.contains(word) || self.placeholders.contains(word)
    }
}

/// The lists of the shipped `rules/reading.toml`, built into the binary. The rules an operator
/// loads carry their own ([`super::rules::Reading`]) and the triage reads those; this default
/// serves the callers that have no rules at hand (the adapters that redact a title or a
/// reason, and [`super::secrets::find`] / [`super::secrets::redact`]). `cargo test` checks the
/// shipped file validates, so this parse cannot fail on what is shipped.
pub fn shipped() -> &'static WordLists {
    static SHIPPED: LazyLock<WordLists> = LazyLock::new(|| {
        parse_lists(include_str!("../../rules/reading.toml"))
            .expect("the shipped rules/reading.toml holds [hosts] and [secrets]")
    });
    &SHIPPED
}

/// The two groups of lists, shared: cloned with the rules, never copied.
#[derive(Debug, Clone)]
pub struct WordLists {
    pub hosts: Arc<HostWords>,
    pub secrets: Arc<SecretWords>,
}

/// The shipped lists ([`shipped`]): what a scan built without rules reads with.
impl Default for WordLists {
    fn default() -> WordLists {
        shipped().clone()
    }
}

#[derive(Deserialize)]
struct ListsOnly {
    hosts: HostsLists,
    secrets: SecretsLists,
}

#[derive(Deserialize)]
struct HostsLists {
    webmail_domains: Vec<String>,
    not_a_server: Vec<String>,
}

#[derive(Deserialize)]
struct SecretsLists {
    placeholders: Vec<String>,
    not_a_value: Vec<String>,
}

/// Only the two sections, unvalidated: the loader validates the same file for the rules.
fn parse_lists(text: &str) -> Result<WordLists, toml::de::Error> {
    let lists: ListsOnly = toml::from_str(text)?;
    Ok(WordLists {
        hosts: Arc::new(HostWords {
            webmail_domains: WordSet::new(lists.hosts.webmail_domains),
            not_a_server: WordSet::new(lists.hosts.not_a_server),
        }),
        secrets: Arc::new(SecretWords {
            placeholders: WordSet::new(lists.secrets.placeholders),
            not_a_value: WordSet::new(lists.secrets.not_a_value),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_finds_exactly_its_words() {
        let set = WordSet::new(vec!["pass".into(), "is".into(), "pass".into()]);
        assert_eq!(set.len(), 2);
        assert!(set.contains("pass") && set.contains("is"));
        assert!(!set.contains("pas") && !set.contains("passe") && !set.contains(""));
    }

    #[test]
    fn a_name_under_a_domain_that_is_never_a_server_is_not_one_either() {
        let words = &shipped().hosts;
        assert!(words.never_a_server("hubspot.com"));
        assert!(words.never_a_server("app.hubspot.com"));
        assert!(!words.never_a_server("myhubspot.com"));
        assert!(!words.never_a_server("hubspot.com.evil.example"));
    }

    #[test]
    fn the_shipped_lists_are_the_loaded_rules_lists() {
        let rules = crate::core::rules::shipped_for_tests();
        assert_eq!(*shipped().hosts, *rules.reading.hosts);
        assert_eq!(*shipped().secrets, *rules.reading.secrets);
        assert!(shipped().secrets.not_a_secret("changeme"));
        assert!(shipped().secrets.not_a_secret("correct"));
        assert!(shipped().hosts.webmail_domains.contains("gmail.com"));
    }
}
