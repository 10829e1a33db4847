//! Loading: the files of a pack parsed into their raw shapes, then validated into [`Rules`]
//! (regexes compiled under a size limit, ids and references checked, templates' placeholders
//! checked), with every problem collected.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use toml::Spanned;

use super::lazy::RuleRegex;
use super::patterns::PatternSet;
use super::raw::{ChecklistFile, ErrorsFile, ProvidersFile, ServerSettingFile};
use super::typed::{checklist_groups, error_groups};
use super::{
    findings, reading, Checklist, ChecklistItem, ErrorRule, FindingTexts, Provider, Replies,
    RuleError, Rules, RulesErrors, ServerSetting, CHECKLIST_FILE, CHECKLIST_IDS, ERRORS_FILE,
    FILES, FINDINGS_FILE, PROVIDERS_FILE, READING_FILE, REPLIES_FILE, REQUIRED_ERROR_CODES,
    REQUIRED_PROVIDERS, TEMPLATE_PLACEHOLDERS,
};

/// Patterns are matched against member text that can be a megabyte long, so the compiled size
/// is bounded; the regex crate itself guarantees linear-time matching.
pub(super) const REGEX_SIZE_LIMIT: usize = 2 << 20;

pub(super) struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn error(
        &self,
        span: Option<Range<usize>>,
        rule: Option<&str>,
        message: impl Into<String>,
    ) -> RuleError {
        RuleError {
            file: self.file.to_string(),
            line: span.map(|s| self.line(s)),
            rule: rule.map(str::to_string),
            message: message.into(),
        }
    }

    pub(super) fn parse<T: serde::de::DeserializeOwned>(
        &self,
        errors: &mut Vec<RuleError>,
    ) -> Option<T> {
        match toml::from_str::<T>(self.text) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(self.error(e.span(), None, e.message().to_string()));
                None
            }
        }
    }

    /// A rule's patterns, checked now and compiled on first use ([`RuleRegex`]).
    fn regexes(
        &self,
        rule: &str,
        patterns: &[Spanned<String>],
        errors: &mut Vec<RuleError>,
    ) -> Vec<RuleRegex> {
        patterns
            .iter()
            .filter_map(|p| {
                RuleRegex::checked(p.get_ref())
                    .map_err(|e| self.regex_error(rule, p, &e, errors))
                    .ok()
            })
            .collect()
    }

    pub(super) fn regex(
        &self,
        rule: &str,
        pattern: &Spanned<String>,
        errors: &mut Vec<RuleError>,
    ) -> Option<Regex> {
        RegexBuilder::new(pattern.get_ref())
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| self.regex_error(rule, pattern, &e, errors))
            .ok()
    }

    fn regex_error(
        &self,
        rule: &str,
        pattern: &Spanned<String>,
        e: &regex::Error,
        errors: &mut Vec<RuleError>,
    ) {
        let first = e
            .to_string()
            .lines()
            .last()
            .unwrap_or("invalid regex")
            .trim()
            .to_string();
        errors.push(self.error(
            Some(pattern.span()),
            Some(rule),
            format!("invalid regex {:?}: {first}", pattern.get_ref()),
        ));
    }
}

/// Only the finding texts of a pack (`findings.toml`, from `(file name, contents)` pairs): the
/// probe words its findings with them and needs nothing else, while compiling the whole pack's
/// patterns would cost a command-line probe most of its time.
pub fn parse_findings(files: &[(&str, &str)]) -> Result<FindingTexts, RulesErrors> {
    let mut errors = Vec::new();
    let source = files
        .iter()
        .find(|(f, _)| *f == FINDINGS_FILE)
        .map(|(file, text)| Source { file, text });
    let Some(source) = source else {
        return Err(RulesErrors(vec![RuleError {
            file: FINDINGS_FILE.to_string(),
            line: None,
            rule: None,
            message: "file is missing".to_string(),
        }]));
    };
    match findings::parse(&source, &mut errors) {
        Some(texts) if errors.is_empty() => Ok(texts),
        _ => Err(RulesErrors(errors)),
    }
}

/// Parses and validates a rules pack from `(file name, contents)` pairs.
///
/// Every file in [`FILES`] must be present. All problems are collected, not just the first.
pub fn parse(files: &[(&str, &str)]) -> Result<Rules, RulesErrors> {
    let mut errors = Vec::new();
    let source = |name: &str| {
        files
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(f, text)| Source { file: f, text })
    };
    for name in FILES {
        if source(name).is_none() {
            errors.push(RuleError {
                file: name.to_string(),
                line: None,
                rule: None,
                message: "file is missing".to_string(),
            });
        }
    }
    let errs = source(ERRORS_FILE)
        .map(|s| parse_errors(&s, &mut errors))
        .unwrap_or_default();
    let providers = source(PROVIDERS_FILE)
        .map(|s| parse_providers(&s, &mut errors))
        .unwrap_or_default();
    let checklist = source(CHECKLIST_FILE).and_then(|s| parse_checklist(&s, &mut errors));
    let replies = source(REPLIES_FILE).and_then(|s| parse_replies(&s, &mut errors));
    let reading = source(READING_FILE).and_then(|s| reading::parse_reading(&s, &mut errors));
    let findings = source(FINDINGS_FILE).and_then(|s| findings::parse(&s, &mut errors));
    match (checklist, replies, reading, findings) {
        (Some(checklist), Some(replies), Some(reading), Some(findings)) if errors.is_empty() => {
            let error_patterns = error_groups(&errs);
            let checklist_patterns = checklist_groups(&checklist);
            let both: Vec<&[RuleRegex]> = error_patterns
                .iter()
                .chain(&checklist_patterns)
                .copied()
                .collect();
            let both_set = PatternSet::new(&both).ok();
            // The error and checklist sets hold the same patterns as `both_set`: when it
            // compiled, they compile too (fewer patterns, same limits) and are built on first
            // use (issue 14: 7 MiB of an idle bot's heap). Otherwise they are needed for every
            // message, and built now, a failure reported with its file.
            let sets = if both_set.is_some() {
                Ok((OnceLock::new(), OnceLock::new()))
            } else {
                PatternSet::new(&error_patterns)
                    .map_err(|e| (ERRORS_FILE, e))
                    .and_then(|error_set| {
                        PatternSet::new(&checklist_patterns)
                            .map_err(|e| (CHECKLIST_FILE, e))
                            .map(|checklist_set| {
                                (
                                    OnceLock::from(Some(error_set)),
                                    OnceLock::from(Some(checklist_set)),
                                )
                            })
                    })
            };
            let host_patterns: Vec<&[RuleRegex]> = providers
                .iter()
                .map(|p| p.host_patterns.as_slice())
                .collect();
            let host_set = PatternSet::new(&host_patterns).ok();
            let domain_patterns: Vec<&[RuleRegex]> = providers
                .iter()
                .map(|p| p.domain_patterns.as_slice())
                .collect();
            let domain_set = PatternSet::new(&domain_patterns).ok();
            let name_patterns: Vec<&[RuleRegex]> = providers
                .iter()
                .map(|p| p.name_patterns.as_slice())
                .collect();
            let name_set = PatternSet::new(&name_patterns).ok();
            match sets {
                Ok((error_set, checklist_set)) => Ok(Rules {
                    both_set,
                    host_set,
                    domain_set,
                    name_set,
                    message_literals: std::sync::OnceLock::new(),
                    errors: errs,
                    providers,
                    checklist,
                    replies,
                    reading,
                    findings,
                    error_set,
                    checklist_set,
                }),
                Err((file, e)) => Err(RulesErrors(vec![RuleError {
                    file: file.to_string(),
                    line: None,
                    rule: None,
                    message: format!("the patterns together are too large: {e}"),
                }])),
            }
        }
        _ => Err(RulesErrors(errors)),
    }
}

fn check_id(
    source: &Source,
    span: Range<usize>,
    id: &str,
    seen: &mut BTreeSet<String>,
    errors: &mut Vec<RuleError>,
) {
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        errors.push(source.error(Some(span.clone()), Some(id), "id must be lower_snake_case"));
    }
    if !seen.insert(id.to_string()) {
        errors.push(source.error(Some(span), Some(id), "duplicate id"));
    }
}

fn parse_errors(source: &Source, errors: &mut Vec<RuleError>) -> Vec<ErrorRule> {
    let Some(file) = source.parse::<ErrorsFile>(errors) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    let mut rules = Vec::new();
    for spanned in file.error {
        let span = spanned.span();
        let raw = spanned.into_inner();
        check_id(source, span.clone(), &raw.id, &mut seen, errors);
        if raw.patterns.is_empty() && raw.id != "unknown" {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                "an error rule needs at least one pattern",
            ));
        }
        if raw.next_steps.is_empty() {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                "an error rule needs at least one next step",
            ));
        }
        if raw.diagnosis.trim().is_empty() {
            errors.push(source.error(Some(span.clone()), Some(&raw.id), "diagnosis is empty"));
        }
        rules.push(ErrorRule {
            patterns: source.regexes(&raw.id, &raw.patterns, errors),
            vendor_wording: source.regexes(&raw.id, &raw.vendor_wording, errors),
            other_service: raw.other_service,
            id: raw.id,
            title: raw.title,
            step: raw.step,
            diagnosis: raw.diagnosis,
            next_steps: raw.next_steps,
            escalate: raw.escalate,
        });
    }
    for code in REQUIRED_ERROR_CODES {
        if !seen.contains(code) {
            errors.push(source.error(None, Some(code), "required error code is not defined"));
        }
    }
    for rule in &rules {
        if let Some(other) = &rule.other_service {
            if !seen.contains(other.as_str()) {
                errors.push(source.error(
                    None,
                    Some(&rule.id),
                    format!("other_service {other:?} is not an error id in this file"),
                ));
            }
        }
    }
    rules
}

fn server_setting(
    source: &Source,
    rule: &str,
    span: Range<usize>,
    raw: ServerSettingFile,
    errors: &mut Vec<RuleError>,
) -> ServerSetting {
    for host in std::iter::once(&raw.host).chain(&raw.also_hosts) {
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
        {
            errors.push(source.error(
                Some(span.clone()),
                Some(rule),
                format!("host {host:?} must be a lower-case name"),
            ));
        }
    }
    if raw.port == 0 || raw.also_ports.contains(&0) {
        errors.push(source.error(Some(span), Some(rule), "port 0 is not a port"));
    }
    ServerSetting {
        host: raw.host,
        port: raw.port,
        security: raw.security,
        also_hosts: raw.also_hosts,
        also_ports: raw.also_ports,
    }
}

fn parse_providers(source: &Source, errors: &mut Vec<RuleError>) -> Vec<Provider> {
    let Some(file) = source.parse::<ProvidersFile>(errors) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    let mut providers = Vec::new();
    for spanned in file.provider {
        let span = spanned.span();
        let raw = spanned.into_inner();
        check_id(source, span.clone(), &raw.id, &mut seen, errors);
        if raw.host_patterns.is_empty() && raw.domain_patterns.is_empty() {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                "a provider needs host_patterns or domain_patterns",
            ));
        }
        if raw.imap.is_none() && !raw.local_bridge_only {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                "a provider needs an [imap] setting unless local_bridge_only",
            ));
        }
        let id = raw.id.clone();
        providers.push(Provider {
            host_patterns: source.regexes(&id, &raw.host_patterns, errors),
            domain_patterns: source.regexes(&id, &raw.domain_patterns, errors),
            name_patterns: source.regexes(&id, &raw.name_patterns, errors),
            mx_patterns: source.regexes(&id, &raw.mx_patterns, errors),
            imap: raw
                .imap
                .map(|s| server_setting(source, &id, span.clone(), s, errors)),
            smtp: raw
                .smtp
                .map(|s| server_setting(source, &id, span.clone(), s, errors)),
            id,
            name: raw.name,
            app_password: raw.app_password,
            imap_must_be_enabled: raw.imap_must_be_enabled,
            basic_auth_retired: raw.basic_auth_retired,
            local_bridge_only: raw.local_bridge_only,
            notes: raw.notes,
        });
    }
    for id in REQUIRED_PROVIDERS {
        if !seen.contains(id) {
            errors.push(source.error(None, Some(id), "required provider is not defined"));
        }
    }
    providers
}

fn parse_checklist(source: &Source, errors: &mut Vec<RuleError>) -> Option<Checklist> {
    let file = source.parse::<ChecklistFile>(errors)?;
    let mut seen = BTreeSet::new();
    let mut items = Vec::new();
    for spanned in file.item {
        let span = spanned.span();
        let raw = spanned.into_inner();
        check_id(source, span.clone(), &raw.id, &mut seen, errors);
        if !CHECKLIST_IDS.contains(&raw.id.as_str()) {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                format!(
                    "unknown checklist id; expected one of {}",
                    CHECKLIST_IDS.join(", ")
                ),
            ));
        }
        if raw.patterns.is_empty() {
            errors.push(source.error(
                Some(span.clone()),
                Some(&raw.id),
                "a checklist item needs at least one pattern",
            ));
        }
        items.push(ChecklistItem {
            patterns: source.regexes(&raw.id, &raw.patterns, errors),
            answer_patterns: source.regexes(&raw.id, &raw.answer_patterns, errors),
            id: raw.id,
            label: raw.label,
        });
    }
    for id in CHECKLIST_IDS {
        if !seen.contains(id) {
            errors.push(source.error(None, Some(id), "checklist item is not defined"));
        }
    }
    // Keep support's order whatever the file's order.
    items.sort_by_key(|i| CHECKLIST_IDS.iter().position(|id| *id == i.id));
    let all_patterns = source.regexes("all_patterns", &file.all_patterns, errors);
    let negation = source.regex("negation", &file.negation, errors)?;
    let answer_yes = file
        .answer_yes
        .as_ref()
        .and_then(|p| source.regex("answer_yes", p, errors));
    let answer_no = file
        .answer_no
        .as_ref()
        .and_then(|p| source.regex("answer_no", p, errors));
    Some(Checklist {
        items,
        all_patterns,
        negation,
        answer_yes,
        answer_no,
    })
}

fn parse_replies(source: &Source, errors: &mut Vec<RuleError>) -> Option<Replies> {
    parse_templates(source, errors, TEMPLATE_PLACEHOLDERS, "reply template")
        .map(|templates| Replies { templates })
}

/// A file of `key = "template"` lines: every key must be one of `known`, use only the
/// placeholders listed for it, and be present. `kind` names a template in the errors.
pub(super) fn parse_templates(
    source: &Source,
    errors: &mut Vec<RuleError>,
    known: &[(&str, &[&str])],
    kind: &str,
) -> Option<BTreeMap<String, String>> {
    let file = source.parse::<BTreeMap<String, Spanned<String>>>(errors)?;
    let mut templates = BTreeMap::new();
    for (key, spanned) in &file {
        let span = spanned.span();
        let Some((_, allowed)) = known.iter().find(|(k, _)| k == key) else {
            errors.push(source.error(Some(span), Some(key), format!("unknown {kind}")));
            continue;
        };
        for name in placeholders(spanned.get_ref()) {
            if !allowed.contains(&name) {
                let hint = if allowed.is_empty() {
                    "this template takes no placeholders".to_string()
                } else {
                    format!(
                        "allowed: {}",
                        allowed
                            .iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                errors.push(source.error(
                    Some(span.clone()),
                    Some(key),
                    format!("unknown placeholder {{{name}}}; {hint}"),
                ));
            }
        }
        templates.insert(key.clone(), spanned.get_ref().clone());
    }
    for (key, _) in known {
        if !file.contains_key(*key) {
            errors.push(source.error(None, Some(key), format!("{kind} is missing")));
        }
    }
    Some(templates)
}

fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
}
