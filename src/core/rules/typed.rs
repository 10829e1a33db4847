//! The typed, validated rules: what the core reads, with regexes compiled and references
//! checked, and the searches over them (which error rules, checklist items and providers match).

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::lazy::RuleRegex;
use super::patterns::PatternSet;
use super::{FindingTexts, Reading};
use crate::core::service::TlsMode;

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
    pub patterns: Vec<RuleRegex>,
    /// The vendor's own error message, as its connection screen shows it: the strongest
    /// evidence of all.
    pub vendor_wording: Vec<RuleRegex>,
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
    pub host_patterns: Vec<RuleRegex>,
    pub domain_patterns: Vec<RuleRegex>,
    /// How members name the provider in prose: "O365", "Google Workspace", "1&1".
    pub name_patterns: Vec<RuleRegex>,
    /// Matched against the lower-cased names of a domain's MX hosts: who hosts its mail.
    pub mx_patterns: Vec<RuleRegex>,
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
    pub patterns: Vec<RuleRegex>,
    /// Short forms that confirm the point only as an answer to a moderator's question about it
    /// ("typed them manually" after "did you type your email and password by hand?").
    pub answer_patterns: Vec<RuleRegex>,
}

#[derive(Debug, Clone)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
    /// Sentences that confirm every point at once ("I did all four steps").
    pub all_patterns: Vec<RuleRegex>,
    /// Words that, before a confirmation in the same sentence, turn it into a denial.
    pub negation: Regex,
    /// An answer that starts "yes" / "no" to the moderator's checklist question before it.
    pub answer_yes: Option<Regex>,
    pub answer_no: Option<Regex>,
}

/// Reply templates with `{placeholder}` slots, checked at load time.
#[derive(Debug, Clone)]
pub struct Replies {
    pub(super) templates: BTreeMap<String, String>,
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
    /// Built on first use when `both_set` compiled ([`Rules::error_set`]): triage reads messages
    /// with `both_set`, and this set only serves screenshots' text.
    pub(super) error_set: std::sync::OnceLock<Option<PatternSet>>,
    /// All checklist patterns in one set: most text confirms nothing, and one pass proves it.
    /// Built on first use when `both_set` compiled ([`Rules::checklist_set`]): it is only asked
    /// about the sentences of a message whose whole-text pass found a confirmation.
    pub(super) checklist_set: std::sync::OnceLock<Option<PatternSet>>,
    /// Both sets in one, so that triage reads each message once for both; `None` when the
    /// union is over the size limit (then the two sets above are used one after the other).
    pub(super) both_set: Option<PatternSet>,
    /// The providers' host patterns, and their domain patterns, each in one set: one search
    /// finds the first provider in file order instead of one search per pattern.
    pub(super) host_set: Option<PatternSet>,
    pub(super) domain_set: Option<PatternSet>,
    /// The providers' name patterns in one set: most text names no provider, and one search
    /// proves it, instead of one per pattern.
    pub(super) name_set: Option<PatternSet>,
    /// Every literal a message is searched for first, in one index, built on first use.
    pub(super) message_literals:
        std::sync::OnceLock<crate::core::message_literals::MessageLiterals>,
}

/// Which error rules and which checklist items have a pattern matching in one text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextMatches {
    /// As [`Rules::errors_matching`].
    pub errors: Vec<usize>,
    /// For each rule of [`Self::errors`], in the same order, the positions in its `patterns`
    /// of those that match somewhere in the text (`None`: not known, any may). The evidence
    /// search reads the text with these only: on a long text each other pattern read it whole
    /// to find nothing.
    pub error_patterns: Option<Vec<Vec<usize>>>,
    /// As [`Rules::checklist_matching`].
    pub checklist: Vec<usize>,
}

impl Rules {
    /// The literals of this pack's and the core's searches, in one index (see
    /// [`crate::core::message_literals`]).
    pub fn message_literals(&self) -> &crate::core::message_literals::MessageLiterals {
        self.message_literals
            .get_or_init(|| crate::core::message_literals::MessageLiterals::new(self))
    }

    /// The error rules' set, compiled on its first use (issue 14: the pack's sets are most of
    /// an idle bot's heap, and this one duplicates a part of `both_set`). `None` only if it
    /// could not be compiled, which cannot happen while `both_set`, a superset under the same
    /// limits, compiled; the callers then answer from `both_set`.
    pub(super) fn error_set(&self) -> Option<&PatternSet> {
        self.error_set
            .get_or_init(|| PatternSet::new(&error_groups(&self.errors)).ok())
            .as_ref()
    }

    /// The checklist's set, compiled on its first use; as [`Rules::error_set`].
    pub(super) fn checklist_set(&self) -> Option<&PatternSet> {
        self.checklist_set
            .get_or_init(|| PatternSet::new(&checklist_groups(&self.checklist)).ok())
            .as_ref()
    }

    /// Indices into [`Rules::errors`] of the rules with a pattern matching in `text`, in file
    /// (priority) order.
    pub fn errors_matching(&self, text: &str) -> Vec<usize> {
        match (self.error_set(), &self.both_set) {
            (Some(set), _) => set.matching_groups(text),
            (None, Some(both)) => self.matching_with(both, text).errors,
            (None, None) => Vec::new(),
        }
    }

    /// Indices into [`Checklist::items`] of the items with a pattern matching somewhere in
    /// `text`; the index `items.len()` stands for `all_patterns`.
    pub fn checklist_matching(&self, text: &str) -> Vec<usize> {
        match (self.checklist_set(), &self.both_set) {
            (Some(set), _) => set.matching_groups(text),
            (None, Some(both)) => self.matching_with(both, text).checklist,
            (None, None) => Vec::new(),
        }
    }

    /// For each checklist item, and then for `all_patterns` (index `items.len()`), the position
    /// in its `patterns` of the first pattern that matches in `text`: what
    /// `patterns.iter().position(|re| re.is_match(text))` says for each, in one search.
    pub fn checklist_first_patterns(&self, text: &str) -> Vec<Option<usize>> {
        match (self.checklist_set(), &self.both_set) {
            (Some(set), _) => set.first_patterns(text),
            (None, Some(both)) => both.first_patterns(text).split_off(self.errors.len()),
            (None, None) => vec![None; self.checklist.items.len() + 1],
        }
    }

    /// [`Rules::errors_matching`] and [`Rules::checklist_matching`] together, in one pass over
    /// `text`.
    pub fn matching(&self, text: &str) -> TextMatches {
        let Some(both) = &self.both_set else {
            return TextMatches {
                errors: self.errors_matching(text),
                error_patterns: None,
                checklist: self.checklist_matching(text),
            };
        };
        self.matching_with(both, text)
    }

    /// [`Rules::matching`] by `both`, the set of both.
    fn matching_with(&self, both: &PatternSet, text: &str) -> TextMatches {
        let error_groups = self.errors.len();
        let mut errors = Vec::new();
        let mut error_patterns: Vec<Vec<usize>> = Vec::new();
        let mut checklist = Vec::new();
        for (group, position) in both.matching_patterns(text) {
            if group < error_groups {
                if errors.last() != Some(&group) {
                    errors.push(group);
                    error_patterns.push(Vec::new());
                }
                if let Some(positions) = error_patterns.last_mut() {
                    positions.push(position);
                }
            } else if checklist.last() != Some(&(group - error_groups)) {
                checklist.push(group - error_groups);
            }
        }
        TextMatches {
            errors,
            error_patterns: Some(error_patterns),
            checklist,
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
        self.provider_names_if(text, self.may_name_a_provider(text))
    }

    /// Whether the provider-name gate lets `text` through: `false` proves that no name pattern
    /// matches it.
    pub fn may_name_a_provider(&self, text: &str) -> bool {
        self.name_set
            .as_ref()
            .is_none_or(|set| set.gate().may_match(text, None))
    }

    /// The literals one of which every provider name holds ([`crate::core::literals::Gate`]);
    /// `None` when some name pattern has none (or there is no name set).
    pub fn provider_name_literals(&self) -> Option<&[Vec<u8>]> {
        self.name_set.as_ref()?.gate().literal_strings()
    }

    /// [`Self::provider_names_in`], with the answer of the name gate on `text` known already
    /// (`may_name`: whether [`Self::provider_name_literals`] may be in `text`).
    pub fn provider_names_if(
        &self,
        text: &str,
        may_name: bool,
    ) -> Vec<(&Provider, std::ops::Range<usize>)> {
        let named: Vec<&Provider> = match &self.name_set {
            Some(set) => set
                .matching_groups_if(text, may_name)
                .into_iter()
                .filter_map(|i| self.providers.get(i))
                .collect(),
            None => self.providers.iter().collect(),
        };
        let mut out: Vec<(&Provider, std::ops::Range<usize>)> = named
            .into_iter()
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

/// The error rules' patterns, a group a rule, in file order: the groups of the error set.
pub(super) fn error_groups(errors: &[ErrorRule]) -> Vec<&[RuleRegex]> {
    errors.iter().map(|e| e.patterns.as_slice()).collect()
}

/// The checklist's patterns, a group an item and then `all_patterns`: the groups of the
/// checklist set.
pub(super) fn checklist_groups(checklist: &Checklist) -> Vec<&[RuleRegex]> {
    let mut groups: Vec<&[RuleRegex]> = checklist
        .items
        .iter()
        .map(|i| i.patterns.as_slice())
        .collect();
    groups.push(&checklist.all_patterns);
    groups
}
