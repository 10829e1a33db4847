//! Every pattern of a group in one [`RegexSet`]: a megabyte of member text is read once, not
//! once per pattern.

use regex::{RegexSet, RegexSetBuilder};

use super::lazy::RuleRegex;

use super::load::REGEX_SIZE_LIMIT;
use crate::core::literals::Gate;

/// Every pattern of a group compiled into one [`RegexSet`], with the owner of each pattern.
#[derive(Debug, Clone)]
pub(super) struct PatternSet {
    pub(super) set: RegexSet,
    pub(super) owner: Vec<usize>,
    /// The index in the set of each group's first pattern.
    group_start: Vec<usize>,
    /// The words one of which any match holds: most text names no provider and quotes no
    /// error, and this proves it without reading the text with every pattern.
    gate: Gate,
}

impl PatternSet {
    pub(super) fn new(groups: &[&[RuleRegex]]) -> Result<PatternSet, regex::Error> {
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
        let gate = Gate::new(patterns.iter().copied());
        let set = RegexSetBuilder::new(patterns)
            .size_limit(REGEX_SIZE_LIMIT * 16)
            .dfa_size_limit(REGEX_SIZE_LIMIT * 16)
            .build()?;
        Ok(PatternSet {
            set,
            owner,
            group_start,
            gate,
        })
    }

    /// For each group, the position within the group of its first pattern (in order) that
    /// matches somewhere in `text`: one search instead of one per pattern.
    pub(super) fn first_patterns(&self, text: &str) -> Vec<Option<usize>> {
        let mut first = vec![None; self.group_start.len()];
        if !self.gate.may_match(text, None) {
            return first;
        }
        for i in self.set.matches(text).iter() {
            let group = self.owner[i];
            first[group].get_or_insert(i - self.group_start[group]);
        }
        first
    }

    /// The set's gate.
    pub(super) fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Which groups have a pattern matching somewhere in `text`, as a sorted, deduplicated list.
    pub(super) fn matching_groups(&self, text: &str) -> Vec<usize> {
        self.matching_groups_if(text, self.gate.may_match(text, None))
    }

    /// [`Self::matching_groups`], with the gate's answer on `text` (`may_match`) known already.
    pub(super) fn matching_groups_if(&self, text: &str, may_match: bool) -> Vec<usize> {
        if !may_match {
            return Vec::new();
        }
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
