//! Rules are data: TOML files parsed into raw `*File` types (serde, unknown keys rejected), then
//! validated into typed [`Rules`] (regexes compiled, references checked).
//!
//! Parsing works on file *contents*; reading the directory is the job of [`crate::rules_dir`], so
//! this stays pure. Every validation error names the file, the line and the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use toml::Spanned;

mod reading;
pub use reading::Reading;

use super::service::TlsMode;

mod findings;
pub use findings::{FindingTexts, FINDINGS_FILE};

/// The rule files, by the name they have in `rules/`.
pub const ERRORS_FILE: &str = "errors.toml";
pub const PROVIDERS_FILE: &str = "providers.toml";
pub const CHECKLIST_FILE: &str = "checklist.toml";
pub const REPLIES_FILE: &str = "replies.toml";
pub const READING_FILE: &str = "reading.toml";
pub const FILES: [&str; 6] = [
    ERRORS_FILE,
    PROVIDERS_FILE,
    CHECKLIST_FILE,
    REPLIES_FILE,
    READING_FILE,
    FINDINGS_FILE,
];

/// The pack in `rules/`, built into the binary, so the bot runs with nothing but the binary.
pub const SHIPPED: [(&str, &str); 6] = [
    (ERRORS_FILE, include_str!("../../rules/errors.toml")),
    (PROVIDERS_FILE, include_str!("../../rules/providers.toml")),
    (CHECKLIST_FILE, include_str!("../../rules/checklist.toml")),
    (REPLIES_FILE, include_str!("../../rules/replies.toml")),
    (READING_FILE, include_str!("../../rules/reading.toml")),
    (FINDINGS_FILE, include_str!("../../rules/findings.toml")),
];

/// The shipped pack, validated. A test validates it on every run, so an error here is a broken
/// build; it is still returned, not panicked on.
pub fn shipped() -> Result<Rules, RulesErrors> {
    parse(&SHIPPED)
}

/// The shipped pack, parsed once for the core's unit tests.
#[cfg(test)]
pub(crate) fn shipped_for_tests() -> &'static Rules {
    static RULES: std::sync::LazyLock<Rules> =
        std::sync::LazyLock::new(|| shipped().expect("the shipped rules are valid"));
    &RULES
}

/// Error codes the bot and the probe refer to by name; the errors file must define them all.
pub const REQUIRED_ERROR_CODES: [&str; 11] = [
    "imap_settings_incorrect",
    "imap_auth_error",
    "smtp_settings_incorrect",
    "smtp_auth_error",
    "unauthorized",
    "tls_error",
    "timeout",
    "connection_refused",
    "too_many_connections",
    "basic_auth_disabled",
    "unknown",
];

/// Checklist ids, in the order support lists them.
pub const CHECKLIST_IDS: [&str; 4] = [
    "typed_credentials",
    "typed_servers",
    "verified_credentials",
    "confirmed_with_provider",
];

/// Providers the shipped pack must know.
pub const REQUIRED_PROVIDERS: [&str; 15] = [
    "gmail",
    "office365",
    "yahoo",
    "icloud",
    "zoho",
    "godaddy",
    "ionos",
    "ovh",
    "namecheap",
    "fastmail",
    "aol",
    "rackspace",
    "gmx",
    "yandex",
    "protonmail",
];

/// Placeholders each reply template may use. Anything else is a validation error, so a typo in
/// a template is caught by `rules check`, not by a member reading `{hubid}`.
const TEMPLATE_PLACEHOLDERS: &[(&str, &[&str])] = &[
    ("intro", &[]),
    ("found_header", &[]),
    ("missing_header", &[]),
    ("ask_screenshot", &[]),
    ("ask_error", &[]),
    ("ask_hub_id", &[]),
    ("ask_checklist", &["points"]),
    ("error_header", &["title", "step"]),
    ("provider_header", &["provider"]),
    ("provider_mismatch", &["kind", "entered", "expected"]),
    ("lookalike_host", &["host"]),
    ("secret_warning", &["kinds"]),
    ("complete", &[]),
    ("suggest_settings", &["provider"]),
    ("screenshot_closed", &[]),
    ("screenshot_error_only", &[]),
    ("screenshot_other", &[]),
    ("screenshot_unreadable", &[]),
    ("screenshot_mismatch", &["kind", "written", "shown"]),
    ("screenshot_password", &[]),
];

// ---------------------------------------------------------------------------------------------
// Typed, validated rules
// ---------------------------------------------------------------------------------------------

/// The step of the vendor's connection sequence that an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    ImapConnect,
    ImapLogin,
    SmtpConnect,
    SmtpLogin,
    SendTest,
    Any,
}

impl Step {
    pub fn describe(self) -> &'static str {
        match self {
            Step::ImapConnect => "step 1: connecting to the IMAP server",
            Step::ImapLogin => "step 2: logging in to IMAP",
            Step::SmtpConnect => "step 3: connecting to the SMTP server",
            Step::SmtpLogin => "step 4: logging in to SMTP",
            Step::SendTest => "step 5: sending the test email",
            Step::Any => "any step",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ErrorRule {
    pub id: String,
    pub title: String,
    pub step: Step,
    pub patterns: Vec<Regex>,
    /// The vendor's own error message, as its connection screen shows it: the strongest
    /// evidence of all.
    pub vendor_wording: Vec<Regex>,
    /// The same failure at the other service (`imap_auth_error` ↔ `smtp_auth_error`): when the
    /// wording names no service, the nearest evidence in the message decides.
    pub other_service: Option<String>,
    pub diagnosis: String,
    pub next_steps: Vec<String>,
    /// Escalate to moderators as soon as the items are complete, without further member steps.
    pub escalate: bool,
}

#[derive(Debug, Clone)]
pub struct ServerSetting {
    pub host: String,
    pub port: u16,
    pub security: TlsMode,
    /// Other host names the provider documents for the same service.
    pub also_hosts: Vec<String>,
    /// Other ports the provider documents for the same service.
    pub also_ports: Vec<u16>,
}

impl ServerSetting {
    pub fn accepts_host(&self, host: &str) -> bool {
        self.host == host || self.also_hosts.iter().any(|h| h == host)
    }
    pub fn accepts_port(&self, port: u16) -> bool {
        self.port == port || self.also_ports.contains(&port)
    }
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub host_patterns: Vec<Regex>,
    pub domain_patterns: Vec<Regex>,
    /// How members name the provider in prose: "O365", "Google Workspace", "1&1".
    pub name_patterns: Vec<Regex>,
    /// Matched against the lower-cased names of a domain's MX hosts: who hosts its mail.
    pub mx_patterns: Vec<Regex>,
    pub imap: Option<ServerSetting>,
    pub smtp: Option<ServerSetting>,
    pub app_password: bool,
    pub imap_must_be_enabled: bool,
    /// Basic authentication retired: the native integration is the way in.
    pub basic_auth_retired: bool,
    /// Reachable only through a local bridge, so the vendor's servers can never connect.
    pub local_bridge_only: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ChecklistItem {
    pub id: String,
    /// The point as support words it, used when asking.
    pub label: String,
    /// Sentences that confirm this point.
    pub patterns: Vec<Regex>,
}

#[derive(Debug, Clone)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
    /// Sentences that confirm every point at once ("I did all four steps").
    pub all_patterns: Vec<Regex>,
    /// Words that, before a confirmation in the same sentence, turn it into a denial.
    pub negation: Regex,
}

/// Reply templates with `{placeholder}` slots, checked at load time.
#[derive(Debug, Clone)]
pub struct Replies {
    templates: BTreeMap<String, String>,
}

impl Replies {
    /// Fills a template. Unknown names and missing values cannot happen for shipped keys: both are
    /// checked when the rules load, so this never fails.
    pub fn render(&self, key: &str, values: &[(&str, &str)]) -> String {
        let Some(template) = self.templates.get(key) else {
            return String::new();
        };
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match values.iter().find(|(k, _)| *k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub errors: Vec<ErrorRule>,
    pub providers: Vec<Provider>,
    pub checklist: Checklist,
    pub replies: Replies,
    /// How a message is read before fields are looked for: zones, Hub ID labels.
    pub reading: Reading,
    /// The messages of findings, from `findings.toml`.
    pub findings: FindingTexts,
    /// All error patterns in one set, so a megabyte of text is read once, not once per pattern.
    error_set: PatternSet,
    /// All checklist patterns in one set: most text confirms nothing, and one pass proves it.
    checklist_set: PatternSet,
    /// Both sets in one, so that triage reads each message once for both; `None` when the
    /// union is over the size limit (then the two sets above are used one after the other).
    both_set: Option<PatternSet>,
    /// The providers' host patterns, and their domain patterns, each in one set: one search
    /// finds the first provider in file order instead of one search per pattern.
    host_set: Option<PatternSet>,
    domain_set: Option<PatternSet>,
}

/// Which error rules and which checklist items have a pattern matching in one text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextMatches {
    /// As [`Rules::errors_matching`].
    pub errors: Vec<usize>,
    /// As [`Rules::checklist_matching`].
    pub checklist: Vec<usize>,
}

/// Every pattern of a group compiled into one [`RegexSet`], with the owner of each pattern.
#[derive(Debug, Clone)]
struct PatternSet {
    set: RegexSet,
    owner: Vec<usize>,
    /// The index in the set of each group's first pattern.
    group_start: Vec<usize>,
}

impl PatternSet {
    fn new(groups: &[&[Regex]]) -> Result<PatternSet, regex::Error> {
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        let mut group_start = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            group_start.push(patterns.len());
            for re in *group {
                patterns.push(re.as_str());
                owner.push(i);
            }
        }
        let set = RegexSetBuilder::new(patterns)
            .size_limit(REGEX_SIZE_LIMIT * 16)
            .dfa_size_limit(REGEX_SIZE_LIMIT * 16)
            .build()?;
        Ok(PatternSet {
            set,
            owner,
            group_start,
        })
    }

    /// For each group, the position within the group of its first pattern (in order) that
    /// matches somewhere in `text`: one search instead of one per pattern.
    fn first_patterns(&self, text: &str) -> Vec<Option<usize>> {
        let mut first = vec![None; self.group_start.len()];
        for i in self.set.matches(text).iter() {
            let group = self.owner[i];
            first[group].get_or_insert(i - self.group_start[group]);
        }
        first
    }

    /// Which groups have a pattern matching somewhere in `text`, as a sorted, deduplicated list.
    fn matching_groups(&self, text: &str) -> Vec<usize> {
        let mut groups: Vec<usize> = self
            .set
            .matches(text)
            .iter()
            .map(|i| self.owner[i])
            .collect();
        groups.dedup();
        groups
    }
}

impl Rules {
    /// Indices into [`Rules::errors`] of the rules with a pattern matching in `text`, in file
    /// (priority) order.
    pub fn errors_matching(&self, text: &str) -> Vec<usize> {
        self.error_set.matching_groups(text)
    }

    /// Indices into [`Checklist::items`] of the items with a pattern matching somewhere in
    /// `text`; the index `items.len()` stands for `all_patterns`.
    pub fn checklist_matching(&self, text: &str) -> Vec<usize> {
        self.checklist_set.matching_groups(text)
    }

    /// For each checklist item, and then for `all_patterns` (index `items.len()`), the position
    /// in its `patterns` of the first pattern that matches in `text`: what
    /// `patterns.iter().position(|re| re.is_match(text))` says for each, in one search.
    pub fn checklist_first_patterns(&self, text: &str) -> Vec<Option<usize>> {
        self.checklist_set.first_patterns(text)
    }

    /// [`Rules::errors_matching`] and [`Rules::checklist_matching`] together, in one pass over
    /// `text`.
    pub fn matching(&self, text: &str) -> TextMatches {
        let Some(both) = &self.both_set else {
            return TextMatches {
                errors: self.errors_matching(text),
                checklist: self.checklist_matching(text),
            };
        };
        let error_groups = self.errors.len();
        let (errors, checklist) = both
            .matching_groups(text)
            .into_iter()
            .partition::<Vec<usize>, _>(|&g| g < error_groups);
        TextMatches {
            errors,
            checklist: checklist.into_iter().map(|g| g - error_groups).collect(),
        }
    }

    /// The first provider (in file order) with a host pattern matching `host`.
    pub fn provider_by_host(&self, host: &str) -> Option<&Provider> {
        match &self.host_set {
            Some(set) => self.providers.get(*set.matching_groups(host).first()?),
            None => self
                .providers
                .iter()
                .find(|p| p.host_patterns.iter().any(|re| re.is_match(host))),
        }
    }

    /// The first provider (in file order) with a domain pattern matching `domain`.
    pub fn provider_by_domain(&self, domain: &str) -> Option<&Provider> {
        match &self.domain_set {
            Some(set) => self.providers.get(*set.matching_groups(domain).first()?),
            None => self
                .providers
                .iter()
                .find(|p| p.domain_patterns.iter().any(|re| re.is_match(domain))),
        }
    }

    /// Every place a member names a provider in `text` ("we're on O365"), in order.
    pub fn provider_names_in(&self, text: &str) -> Vec<(&Provider, std::ops::Range<usize>)> {
        let mut out: Vec<(&Provider, std::ops::Range<usize>)> = self
            .providers
            .iter()
            .flat_map(|p| {
                p.name_patterns
                    .iter()
                    .flat_map(move |re| re.find_iter(text).map(move |m| (p, m.range())))
            })
            .collect();
        out.sort_by_key(|(_, r)| r.start);
        out
    }

    /// The first provider (in file order) with an MX pattern matching `host` (an MX host name,
    /// lower-cased, without the trailing dot).
    pub fn provider_by_mx(&self, host: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|p| p.mx_patterns.iter().any(|re| re.is_match(host)))
    }

    pub fn error(&self, id: &str) -> Option<&ErrorRule> {
        self.errors.iter().find(|e| e.id == id)
    }
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation errors
// ---------------------------------------------------------------------------------------------

/// One problem in one rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The rule's id (or the key) the problem belongs to.
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(rule) = &self.rule {
            write!(f, ": rule `{rule}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a rules pack; loading reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesErrors(pub Vec<RuleError>);

impl fmt::Display for RulesErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RulesErrors {}

// ---------------------------------------------------------------------------------------------
// Raw file shapes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorsFile {
    #[serde(default)]
    error: Vec<Spanned<ErrorRuleFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorRuleFile {
    id: String,
    title: String,
    step: Step,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    #[serde(default)]
    vendor_wording: Vec<Spanned<String>>,
    #[serde(default)]
    other_service: Option<String>,
    diagnosis: String,
    next_steps: Vec<String>,
    #[serde(default)]
    escalate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    #[serde(default)]
    provider: Vec<Spanned<ProviderFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    id: String,
    name: String,
    #[serde(default)]
    host_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    domain_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    name_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    mx_patterns: Vec<Spanned<String>>,
    imap: Option<ServerSettingFile>,
    smtp: Option<ServerSettingFile>,
    #[serde(default)]
    app_password: bool,
    #[serde(default)]
    imap_must_be_enabled: bool,
    #[serde(default)]
    basic_auth_retired: bool,
    #[serde(default)]
    local_bridge_only: bool,
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSettingFile {
    host: String,
    port: u16,
    #[serde(with = "super::service::as_security")]
    security: TlsMode,
    #[serde(default)]
    also_hosts: Vec<String>,
    #[serde(default)]
    also_ports: Vec<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistFile {
    #[serde(default)]
    all_patterns: Vec<Spanned<String>>,
    negation: Spanned<String>,
    #[serde(default)]
    item: Vec<Spanned<ChecklistItemFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistItemFile {
    id: String,
    label: String,
    patterns: Vec<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Patterns are matched against member text that can be a megabyte long, so the compiled size
/// is bounded; the regex crate itself guarantees linear-time matching.
const REGEX_SIZE_LIMIT: usize = 2 << 20;

struct Source<'a> {
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

    fn error(
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

    fn parse<T: serde::de::DeserializeOwned>(&self, errors: &mut Vec<RuleError>) -> Option<T> {
        match toml::from_str::<T>(self.text) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(self.error(e.span(), None, e.message().to_string()));
                None
            }
        }
    }

    fn regexes(
        &self,
        rule: &str,
        patterns: &[Spanned<String>],
        errors: &mut Vec<RuleError>,
    ) -> Vec<Regex> {
        patterns
            .iter()
            .filter_map(|p| self.regex(rule, p, errors))
            .collect()
    }

    fn regex(
        &self,
        rule: &str,
        pattern: &Spanned<String>,
        errors: &mut Vec<RuleError>,
    ) -> Option<Regex> {
        match RegexBuilder::new(pattern.get_ref())
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
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
                None
            }
        }
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
            let error_patterns: Vec<&[Regex]> =
                errs.iter().map(|e| e.patterns.as_slice()).collect();
            let mut checklist_patterns: Vec<&[Regex]> = checklist
                .items
                .iter()
                .map(|i| i.patterns.as_slice())
                .collect();
            checklist_patterns.push(&checklist.all_patterns);
            let sets = PatternSet::new(&error_patterns)
                .map_err(|e| (ERRORS_FILE, e))
                .and_then(|error_set| {
                    PatternSet::new(&checklist_patterns)
                        .map_err(|e| (CHECKLIST_FILE, e))
                        .map(|checklist_set| (error_set, checklist_set))
                });
            let both: Vec<&[Regex]> = error_patterns
                .iter()
                .chain(&checklist_patterns)
                .copied()
                .collect();
            let both_set = PatternSet::new(&both).ok();
            let host_patterns: Vec<&[Regex]> = providers
                .iter()
                .map(|p| p.host_patterns.as_slice())
                .collect();
            let host_set = PatternSet::new(&host_patterns).ok();
            let domain_patterns: Vec<&[Regex]> = providers
                .iter()
                .map(|p| p.domain_patterns.as_slice())
                .collect();
            let domain_set = PatternSet::new(&domain_patterns).ok();
            match sets {
                Ok((error_set, checklist_set)) => Ok(Rules {
                    both_set,
                    host_set,
                    domain_set,
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
    Some(Checklist {
        items,
        all_patterns,
        negation,
    })
}

fn parse_replies(source: &Source, errors: &mut Vec<RuleError>) -> Option<Replies> {
    parse_templates(source, errors, TEMPLATE_PLACEHOLDERS, "reply template")
        .map(|templates| Replies { templates })
}

/// A file of `key = "template"` lines: every key must be one of `known`, use only the
/// placeholders listed for it, and be present. `kind` names a template in the errors.
fn parse_templates(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(set: &PatternSet, text: &str) -> Vec<usize> {
        let mut groups: Vec<usize> = set.set.matches(text).iter().map(|i| set.owner[i]).collect();
        groups.dedup();
        groups
    }

    /// The provider sets find the provider the pattern-by-pattern search finds.
    #[test]
    fn provider_sets_agree_with_plain_searches() {
        let rules = crate::rules_dir::embedded().expect("shipped rules are valid");
        assert!(rules.host_set.is_some() && rules.domain_set.is_some());
        let mut names: Vec<String> = Vec::new();
        for p in &rules.providers {
            for s in p.imap.iter().chain(&p.smtp) {
                names.push(s.host.clone());
                names.extend(s.also_hosts.iter().cloned());
            }
        }
        names.extend(
            [
                "gmail.com",
                "outlook.com",
                "yahoo.co.uk",
                "icloud.com",
                "me.com",
                "acme.com",
                "mail.acme.com",
                "x.gmail.com.evil.net",
                "",
                "secureserver.net",
                "gmx.de",
            ]
            .map(String::from),
        );
        for name in &names {
            let by_host = rules
                .providers
                .iter()
                .find(|p| p.host_patterns.iter().any(|re| re.is_match(name)));
            let by_domain = rules
                .providers
                .iter()
                .find(|p| p.domain_patterns.iter().any(|re| re.is_match(name)));
            assert_eq!(
                rules.provider_by_host(name).map(|p| &p.id),
                by_host.map(|p| &p.id),
                "{name}"
            );
            assert_eq!(
                rules.provider_by_domain(name).map(|p| &p.id),
                by_domain.map(|p| &p.id),
                "{name}"
            );
        }
    }

    /// The combined set changes nothing: the same rules and items match as with each set; and
    /// the first matching pattern of each item is the one a pattern-by-pattern search finds.
    #[test]
    fn combined_set_and_first_patterns_agree_with_plain_searches() {
        let rules = crate::rules_dir::embedded().expect("shipped rules are valid");
        assert!(rules.both_set.is_some());
        let filler = "We tried again with the hosting panel settings, and it still fails.\n";
        let tails = [
            "",
            "IMAP authentication error. I typed my password manually.",
            "Error: something went wrong\n* NO [AUTHENTICATIONFAILED] Invalid credentials",
            "xerror: \"it broke\" 550 5.7.139 and the checklist is done",
            "I did all four steps. My password is correct, IT team confirmed the settings.",
            "> a1 BAD command\n535 5.7.8 nope, ECONNREFUSED, SocketException",
        ];
        for tail in tails {
            for repeat in [0, 1, 80] {
                for (before, after) in [(filler.repeat(repeat), ""), (String::new(), filler)] {
                    let text = format!("{before}{tail}{}", after.repeat(repeat));
                    for set in [&rules.error_set, &rules.checklist_set] {
                        assert_eq!(set.matching_groups(&text), plain(set, &text), "{tail:?}");
                    }
                    let first = rules.checklist_first_patterns(&text);
                    let groups = rules.checklist.items.iter().map(|i| &i.patterns);
                    let groups = groups.chain(std::iter::once(&rules.checklist.all_patterns));
                    let want: Vec<Option<usize>> = groups
                        .map(|patterns| patterns.iter().position(|re| re.is_match(&text)))
                        .collect();
                    assert_eq!(first, want, "{tail:?}");
                    let both = rules.matching(&text);
                    assert_eq!(both.errors, plain(&rules.error_set, &text), "{tail:?}");
                    assert_eq!(
                        both.checklist,
                        plain(&rules.checklist_set, &text),
                        "{tail:?}"
                    );
                }
            }
        }
    }
}
