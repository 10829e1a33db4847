//! `reading.toml`: how a message is read before any field is looked for — the zone patterns
//! and the Hub ID labels. Validated like the other files; the words each Hub ID search looks for
//! first are derived here from the patterns themselves, so an operator who adds a label cannot
//! forget its trigger word.

use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use serde::Deserialize;
use toml::Spanned;

use super::load::{Source, REGEX_SIZE_LIMIT};
use super::RuleError;
use crate::core::answers::AnswerPatterns;
use crate::core::ascii::AsciiTwin;
use crate::core::items::{EmailWords, HubIdPatterns};
use crate::core::text::Triggers;
use crate::core::words::{HostWords, SecretWords, WordSet};
use crate::core::zones::ZonePatterns;
use std::sync::Arc;

/// What `reading.toml` holds, validated.
#[derive(Debug, Clone)]
pub struct Reading {
    pub zones: ZonePatterns,
    pub hub_id: HubIdPatterns,
    pub email_domain: EmailWords,
    pub answers: AnswerPatterns,
    /// `[hosts]`, shared with every scan that reads hosts.
    pub hosts: Arc<HostWords>,
    /// `[secrets]`, shared with every search for credentials.
    pub secrets: Arc<SecretWords>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadingFile {
    zones: ZonesFile,
    hub_id: HubIdFile,
    email_domain: EmailDomainFile,
    /// Optional, so a rules directory written before it still loads (with these answers unread).
    #[serde(default)]
    answers: AnswersFile,
    hosts: HostsFile,
    secrets: SecretsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsFile {
    webmail_domains: Vec<Spanned<String>>,
    not_a_server: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    placeholders: Vec<Spanned<String>>,
    not_a_value: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    #[serde(default)]
    provider_question: Vec<Spanned<String>>,
    #[serde(default)]
    choice: Vec<Spanned<String>>,
    #[serde(default)]
    last_choice: Vec<Spanned<String>>,
    #[serde(default)]
    clause_break: Option<Spanned<String>>,
    #[serde(default)]
    first_questions: Vec<Spanned<String>>,
    #[serde(default)]
    last_question: Option<Spanned<String>>,
    #[serde(default)]
    rest_questions: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailDomainFile {
    placeholder_local_parts: Vec<Spanned<String>>,
    vendor_domains: Vec<Spanned<String>>,
    example_domains: Vec<Spanned<String>>,
    example_labels: Vec<Spanned<String>>,
    /// First labels that make a domain made up whatever the local part (`info@mysite.org`).
    #[serde(default)]
    made_up_labels: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZonesFile {
    trace: Vec<Spanned<String>>,
    log: Vec<Spanned<String>>,
    config: Vec<Spanned<String>>,
    signature_start: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HubIdFile {
    labels: Vec<Spanned<String>>,
    between: Vec<Spanned<String>>,
    app_urls: Vec<Spanned<String>>,
}

/// The shortest trigger word allowed: a one-letter word would send every line to the regex.
const TRIGGER_MIN_LEN: usize = 2;

pub(super) fn parse_reading(source: &Source, errors: &mut Vec<RuleError>) -> Option<Reading> {
    let file = source.parse::<ReadingFile>(errors)?;
    let before = errors.len();
    let z = &file.zones;
    // Each zone list is matched at the start of a line, after its indentation.
    let zones = [
        ("zones.trace", &z.trace),
        ("zones.log", &z.log),
        ("zones.config", &z.config),
        ("zones.signature_start", &z.signature_start),
    ]
    .map(|(key, patterns)| alternatives(source, key, patterns, r"^\s*(?:", ")", errors));

    let h = &file.hub_id;
    let labels = alternatives(source, "hub_id.labels", &h.labels, "", "", errors);
    let between = alternatives(source, "hub_id.between", &h.between, "", "", errors);
    let mut label_words = Vec::new();
    for label in &h.labels {
        match trigger_words(label.get_ref()) {
            Ok(words) => label_words.extend(words),
            Err(why) => errors.push(source.error(
                Some(label.span()),
                Some("hub_id.labels"),
                format!("{:?} {why}", label.get_ref()),
            )),
        }
    }
    let mut urls = Vec::new();
    let mut url_words = Vec::new();
    for url in &h.app_urls {
        let Some(re) = source.regex("hub_id.app_urls", url, errors) else {
            continue;
        };
        if re.capture_names().all(|n| n != Some("id")) {
            errors.push(source.error(
                Some(url.span()),
                Some("hub_id.app_urls"),
                format!(
                    "{:?} needs a group named `id` holding the number",
                    url.get_ref()
                ),
            ));
        }
        match trigger_words(url.get_ref()) {
            Ok(words) => url_words.extend(words),
            Err(why) => errors.push(source.error(
                Some(url.span()),
                Some("hub_id.app_urls"),
                format!("{:?} {why}", url.get_ref()),
            )),
        }
        urls.push(re);
    }
    let e = &file.email_domain;
    let email_domain = EmailWords {
        placeholder_local_parts: words(
            source,
            "email_domain.placeholder_local_parts",
            &e.placeholder_local_parts,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'),
            errors,
        ),
        vendor_domains: words(
            source,
            "email_domain.vendor_domains",
            &e.vendor_domains,
            domain_char,
            errors,
        ),
        example_domains: words(
            source,
            "email_domain.example_domains",
            &e.example_domains,
            domain_char,
            errors,
        ),
        example_labels: words(
            source,
            "email_domain.example_labels",
            &e.example_labels,
            |c| c.is_ascii_alphanumeric() || c == '-',
            errors,
        ),
        made_up_labels: words(
            source,
            "email_domain.made_up_labels",
            &e.made_up_labels,
            |c| c.is_ascii_alphanumeric() || c == '-',
            errors,
        ),
    };
    let hosts = HostWords {
        webmail_domains: WordSet::new(words(
            source,
            "hosts.webmail_domains",
            &file.hosts.webmail_domains,
            domain_char,
            errors,
        )),
        not_a_server: WordSet::new(words(
            source,
            "hosts.not_a_server",
            &file.hosts.not_a_server,
            domain_char,
            errors,
        )),
    };
    let secrets = SecretWords {
        placeholders: WordSet::new(secret_words(
            source,
            "secrets.placeholders",
            &file.secrets.placeholders,
            errors,
        )),
        not_a_value: WordSet::new(secret_words(
            source,
            "secrets.not_a_value",
            &file.secrets.not_a_value,
            errors,
        )),
    };
    let a = &file.answers;
    let joined_or_none = |key: &str, list: &[Spanned<String>], errors: &mut Vec<RuleError>| {
        if list.is_empty() {
            return None;
        }
        alternatives(source, key, list, "", "", errors)
            .and_then(|re| compile_joined(source, key, &re, errors))
    };
    let answers = AnswerPatterns {
        provider_question: joined_or_none(
            "answers.provider_question",
            &a.provider_question,
            errors,
        ),
        choice: a
            .choice
            .iter()
            .filter_map(|p| source.regex("answers.choice", p, errors))
            .collect(),
        last_choice: joined_or_none("answers.last_choice", &a.last_choice, errors),
        clause_break: a
            .clause_break
            .as_ref()
            .and_then(|p| source.regex("answers.clause_break", p, errors)),
        first_questions: a
            .first_questions
            .iter()
            .filter_map(|p| source.regex("answers.first_questions", p, errors))
            .collect(),
        last_question: a
            .last_question
            .as_ref()
            .and_then(|p| source.regex("answers.last_question", p, errors)),
        rest_questions: a
            .rest_questions
            .as_ref()
            .and_then(|p| source.regex("answers.rest_questions", p, errors)),
    };
    if errors.len() > before {
        return None;
    }
    let [trace, log, config, signature_start] = zones;
    // The id and what may follow it stay in code: `label_id` reads the match by that shape.
    let label = compile_joined(
        source,
        "hub_id.labels",
        &format!(
            r"(?i)\b(?:{})(?:{})*(?P<id>\d{{2,4}}(?: \d{{2,4}}){{1,3}}\b|\d{{4,10}})(?P<after>[\-./:]\d|\d)?",
            labels?, between?
        ),
        errors,
    )?;
    Some(Reading {
        zones: ZonePatterns {
            trace: AsciiTwin::new(compile_joined(source, "zones.trace", &trace?, errors)?),
            log: AsciiTwin::new(compile_joined(source, "zones.log", &log?, errors)?),
            config: AsciiTwin::new(compile_joined(source, "zones.config", &config?, errors)?),
            signature_start: AsciiTwin::new(compile_joined(
                source,
                "zones.signature_start",
                &signature_start?,
                errors,
            )?),
        },
        hub_id: HubIdPatterns {
            label,
            label_triggers: Triggers::from_words(label_words),
            app_urls: urls,
            url_triggers: Triggers::from_words(url_words),
        },
        email_domain,
        answers,
        hosts: Arc::new(hosts),
        secrets: Arc::new(secrets),
    })
}

impl Reading {
    /// The `[hosts]` and `[secrets]` lists, shared.
    pub fn words(&self) -> crate::core::words::WordLists {
        crate::core::words::WordLists {
            hosts: Arc::clone(&self.hosts),
            secrets: Arc::clone(&self.secrets),
        }
    }
}

/// A `[secrets]` list: words as [`words`] checks them, of any character but white space, and
/// not ending in the punctuation cut from a value before it is compared (such an entry could
/// never match).
fn secret_words(
    source: &Source,
    key: &str,
    list: &[Spanned<String>],
    errors: &mut Vec<RuleError>,
) -> Vec<String> {
    for w in list {
        if w.get_ref().ends_with(['.', ',', '!', '?', ';', ':', ')']) {
            errors.push(source.error(
                Some(w.span()),
                Some(key),
                format!(
                    "{:?} ends with punctuation, which is cut from a value before it is compared: it would never match",
                    w.get_ref()
                ),
            ));
        }
    }
    words(source, key, list, |c| !c.is_whitespace(), errors)
}

fn domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

/// A list of words compared as they are: each lower case, not empty, of the characters `ok`
/// allows, and not listed twice. An entry that is not names its file, key and line.
fn words(
    source: &Source,
    key: &str,
    list: &[Spanned<String>],
    ok: fn(char) -> bool,
    errors: &mut Vec<RuleError>,
) -> Vec<String> {
    if list.is_empty() {
        errors.push(source.error(None, Some(key), "needs at least one entry"));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for w in list {
        let word = w.get_ref();
        let why = if word.is_empty() {
            Some("is empty")
        } else if word.chars().any(|c| c.is_ascii_uppercase()) {
            Some("must be lower case: words are compared with lower-cased text")
        } else if !word.chars().all(ok) {
            Some("holds a character no such word has")
        } else if out.contains(word) {
            Some("is listed twice")
        } else {
            None
        };
        match why {
            Some(why) => {
                errors.push(source.error(Some(w.span()), Some(key), format!("{word:?} {why}")))
            }
            None => out.push(word.clone()),
        }
    }
    out
}

/// Checks each pattern alone (so an error names its line), then joins them as one regex
/// source: `prefix(?:a)|(?:b)…suffix`.
fn alternatives(
    source: &Source,
    key: &str,
    patterns: &[Spanned<String>],
    prefix: &str,
    suffix: &str,
    errors: &mut Vec<RuleError>,
) -> Option<String> {
    if patterns.is_empty() {
        errors.push(source.error(None, Some(key), "needs at least one pattern"));
        return None;
    }
    let mut ok = true;
    for p in patterns {
        ok &= source.regex(key, p, errors).is_some();
    }
    let joined: Vec<String> = patterns
        .iter()
        .map(|p| format!("(?:{})", p.get_ref()))
        .collect();
    ok.then(|| format!("{prefix}{}{suffix}", joined.join("|")))
}

/// A list's patterns joined: each compiled alone already, so only the size can fail here.
/// The joined regex may be as large as the pattern sets are (`\w` and friends are Unicode).
fn compile_joined(
    source: &Source,
    key: &str,
    regex: &str,
    errors: &mut Vec<RuleError>,
) -> Option<Regex> {
    match regex::RegexBuilder::new(regex)
        .size_limit(REGEX_SIZE_LIMIT * 16)
        .build()
    {
        Ok(re) => Some(re),
        Err(e) => {
            errors.push(source.error(
                None,
                Some(key),
                format!("the patterns together are too large: {e}"),
            ));
            None
        }
    }
}

/// The words every match of `pattern` (matched case-insensitively) begins with, lower-cased:
/// the search finds lines holding one of them before it runs the regex. An error says why
/// there are none.
pub(crate) fn trigger_words(pattern: &str) -> Result<Vec<Vec<u8>>, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .map_err(|e| format!("is not a valid regex: {e}"))?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix);
    let seq = extractor.extract(&hir);
    let Some(literals) = seq.literals() else {
        return Err("must begin with a fixed word (the bot looks for that word first)".into());
    };
    let mut words: Vec<Vec<u8>> = literals
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    if words.iter().any(|w| w.len() < TRIGGER_MIN_LEN) {
        return Err(format!(
            "must begin with a fixed word of at least {TRIGGER_MIN_LEN} characters (the bot looks for that word first)"
        ));
    }
    words.sort();
    words.dedup();
    // "hub" already finds every line "hubid" would.
    let all = words.clone();
    words.retain(|w| {
        !all.iter()
            .any(|shorter| shorter != w && w.starts_with(shorter))
    });
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_words_are_the_lower_cased_prefixes() {
        assert_eq!(trigger_words(r"hub\s*:").unwrap(), vec![b"hub".to_vec()]);
        let words = trigger_words(r"(?:hubspot|hs)[\s-]*account").unwrap();
        assert!(words.contains(&b"hs".to_vec()), "{words:?}");
        assert!(words.iter().any(|w| w.starts_with(b"hub")), "{words:?}");
        assert!(words
            .iter()
            .all(|w| w.iter().all(|b| !b.is_ascii_uppercase())));
    }

    #[test]
    fn a_pattern_without_a_leading_word_is_refused() {
        assert!(trigger_words(r"\d+ hub").is_err());
        assert!(trigger_words(r"\w+hub").is_err());
        assert!(trigger_words(r"h|hubspot").is_err());
        assert!(trigger_words(r"(").is_err());
    }
}
