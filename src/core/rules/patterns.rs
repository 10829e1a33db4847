//! Every pattern of a group in one [`RegexSet`]: member text is read once, not once per pattern.
//!
//! One automaton of every pattern has states that are combinations of every pattern's
//! progress. On short text, or text that repeats (the bench's paragraph), it builds a few; on a
//! long varied text (a megabyte of log lines whose hosts, numbers and wording never repeat) the
//! states never stop coming, and the `RegexSet` gives the search to its PikeVM: 86 G
//! instructions, 9 – 12 s, for one megabyte (BENCHMARKS.md, "The fifth cuts"). So a long text
//! is read by the same patterns as a lazy DFA that is allowed to give up, and when it does (or
//! meets a byte it can't handle: Unicode word boundaries on non-ASCII text) by sets of
//! [`PATTERNS_PER_SET`], each small enough to keep its states.

use std::sync::{Mutex, OnceLock};

use regex::{RegexSet, RegexSetBuilder};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::{Input, MatchKind};

use super::lazy::RuleRegex;

use super::load::REGEX_SIZE_LIMIT;
use crate::core::literals::Gate;

/// From this length on, a text is read by the lazy DFA that may give up. Below it the
/// `RegexSet`'s literal prefilters make it faster (a 2 KB thread: 0.27 ms a call against
/// 0.35 ms), and its worst case stays a fraction of a second.
const LONG_TEXT_BYTES: usize = 16 << 10;

/// How many patterns share one `RegexSet` once the whole set's lazy DFA gave up: 16 read the
/// varied megabyte in ≈ 0.26 s, 64 in ≈ 0.21 s, 128 in ≈ 0.57 s (their DFAs give up again).
const PATTERNS_PER_SET: usize = 64;

/// The whole set's DFA cache. Small on purpose: the DFA gives up after filling it a few times
/// with too few bytes read per state, and a small cache makes that quick.
const WHOLE_SET_CACHE_BYTES: usize = 4 << 20;

/// Every pattern of a group compiled into one [`RegexSet`], with the owner of each pattern.
#[derive(Debug, Clone)]
pub(super) struct PatternSet {
    pub(super) set: RegexSet,
    /// For long texts: every pattern in one lazy DFA that may give up, built on the first long
    /// text (`None` when too large).
    whole: OnceLock<Option<WholeSetDfa>>,
    /// The patterns in sets of [`PATTERNS_PER_SET`], built the first time `whole` can't answer.
    in_parts: OnceLock<Vec<RegexSet>>,
    pub(super) owner: Vec<usize>,
    /// The index in the set of each group's first pattern.
    group_start: Vec<usize>,
    /// The words one of which any match holds: most text names no provider and quotes no
    /// error, and this proves it without reading the text with every pattern.
    gate: Gate,
}

/// A lazy DFA of every pattern, and its caches (one per search running at once).
#[derive(Debug)]
struct WholeSetDfa {
    dfa: DFA,
    caches: Mutex<Vec<Cache>>,
}

impl Clone for WholeSetDfa {
    fn clone(&self) -> WholeSetDfa {
        WholeSetDfa {
            dfa: self.dfa.clone(),
            caches: Mutex::default(),
        }
    }
}

/// The patterns in sets of [`PATTERNS_PER_SET`].
fn sets_in_parts(patterns: &[String]) -> Result<Vec<RegexSet>, regex::Error> {
    patterns
        .chunks(PATTERNS_PER_SET)
        .map(|part| {
            RegexSetBuilder::new(part)
                .size_limit(REGEX_SIZE_LIMIT * 16)
                .dfa_size_limit(REGEX_SIZE_LIMIT * 16)
                .build()
        })
        .collect()
}

/// Every pattern in one lazy DFA reporting every pattern that matches (as `RegexSet` does),
/// allowed to give up; `None` when the automaton would be too large.
fn whole_set_dfa(patterns: &[String]) -> Option<WholeSetDfa> {
    let dfa = DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(WHOLE_SET_CACHE_BYTES)
                .skip_cache_capacity_check(true)
                // The regex crate's own settings for giving up (regex-automata's meta wrappers).
                .minimum_cache_clear_count(Some(3))
                .minimum_bytes_per_state(Some(10))
                // `\b` is Unicode: a non-ASCII byte stops the search, and the sets in parts answer.
                .unicode_word_boundary(true),
        )
        .thompson(thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT * 16)))
        .build_many(patterns)
        .ok()?;
    Some(WholeSetDfa {
        dfa,
        caches: Mutex::default(),
    })
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
        let set = RegexSetBuilder::new(&patterns)
            .size_limit(REGEX_SIZE_LIMIT * 16)
            .dfa_size_limit(REGEX_SIZE_LIMIT * 16)
            .build()?;
        Ok(PatternSet {
            set,
            whole: OnceLock::new(),
            in_parts: OnceLock::new(),
            owner,
            group_start,
            gate,
        })
    }

    /// The index of every pattern matching somewhere in `text`, in order, whatever the gate.
    pub(super) fn matches(&self, text: &str) -> Vec<usize> {
        if text.len() < LONG_TEXT_BYTES {
            return self.set.matches(text).into_iter().collect();
        }
        self.whole_set_matches(text)
            .unwrap_or_else(|| self.matches_in_parts(text))
    }

    /// [`Self::matches`] by sets of [`PATTERNS_PER_SET`] patterns.
    pub(super) fn matches_in_parts(&self, text: &str) -> Vec<usize> {
        let parts = self.in_parts.get_or_init(|| {
            // Each part is smaller than the whole, which compiled; if one fails all the same,
            // its patterns go one set each (every pattern compiled alone when the pack loaded).
            sets_in_parts(self.set.patterns()).unwrap_or_else(|_| {
                self.set
                    .patterns()
                    .iter()
                    .filter_map(|p| RegexSet::new([p]).ok())
                    .collect()
            })
        });
        let mut found = Vec::new();
        let mut first = 0;
        for set in parts {
            found.extend(set.matches(text).iter().map(|i| first + i));
            first += set.len();
        }
        found
    }

    /// [`Self::matches`] by the whole set's lazy DFA; `None` when it gave up or met a byte it
    /// can't handle.
    pub(super) fn whole_set_matches(&self, text: &str) -> Option<Vec<usize>> {
        let WholeSetDfa { dfa, caches } = self
            .whole
            .get_or_init(|| whole_set_dfa(self.set.patterns()))
            .as_ref()?;
        let taken = caches.lock().ok()?.pop();
        let mut cache = taken.unwrap_or_else(|| dfa.create_cache());
        let mut found = regex_automata::PatternSet::new(dfa.pattern_len());
        let answered = dfa
            .try_which_overlapping_matches(&mut cache, &Input::new(text), &mut found)
            .is_ok();
        if let Ok(mut caches) = caches.lock() {
            caches.push(cache);
        }
        answered.then(|| found.iter().map(|id| id.as_usize()).collect())
    }

    /// For each group, the position within the group of its first pattern (in order) that
    /// matches somewhere in `text`: one search instead of one per pattern.
    pub(super) fn first_patterns(&self, text: &str) -> Vec<Option<usize>> {
        let mut first = vec![None; self.group_start.len()];
        if !self.gate.may_match(text, None) {
            return first;
        }
        for i in self.matches(text) {
            let group = self.owner[i];
            first[group].get_or_insert(i - self.group_start[group]);
        }
        first
    }

    /// Every pattern matching somewhere in `text`, in order, as its group and its position in
    /// the group; none when the gate proves that none matches.
    pub(super) fn matching_patterns(&self, text: &str) -> Vec<(usize, usize)> {
        if !self.gate.may_match(text, None) {
            return Vec::new();
        }
        self.matches(text)
            .into_iter()
            .map(|i| {
                let group = self.owner[i];
                (group, i - self.group_start[group])
            })
            .collect()
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
            .matches(text)
            .into_iter()
            .map(|i| self.owner[i])
            .collect();
        groups.dedup();
        groups
    }
}
