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

use regex::bytes::{RegexSet, RegexSetBuilder};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
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

/// One character of a bounded gap (`.{0,N}`) in a set: a byte that is neither a line break nor
/// a UTF-8 continuation byte, then the continuation bytes after it.
const GAP_CHARACTER: &str = r"(?-u:[^\n\x80-\xBF][\x80-\xBF]*)";

/// `pattern` with each bounded gap's "any character" (`.` in `.{0,N}`) written as
/// [`GAP_CHARACTER`], for the pattern sets; the pattern itself when none can be.
///
/// A Unicode `.` is a UTF-8 automaton of ≈ 10 NFA states, and `.{0,40}` is 40 of them (the
/// checklist's patterns are 300 – 400 KiB each, BENCHMARKS.md "Issue 14: idle memory");
/// [`GAP_CHARACTER`] is 3. On a `str` (valid UTF-8) the rewritten pattern matches where the
/// pattern does, at the same places: every character is one lead byte and its continuation
/// bytes, so a gap of N characters is N copies of [`GAP_CHARACTER`]; and a copy can only stop
/// inside a character when nothing after it in the match can start on a continuation byte —
/// which every Unicode part of a pattern, and the next gap, can't. So a gap is rewritten only
/// when something after it in its sequence must take at least one character, and only in a
/// pattern whose `.` is `[^\n]` (no `s`, `R` or `u` flag). The sets answer which patterns
/// match: the patterns' own regexes, which give the evidence, keep the gaps as written.
/// Test: `compact_gaps_match_as_the_patterns_do`.
pub fn compact_gaps(pattern: &str) -> String {
    use regex_syntax::ast::{self, Ast};
    let Ok(parsed) = ast::parse::Parser::new().parse(pattern) else {
        return pattern.to_string();
    };
    // Whether `node`, followed in a sequence, must take at least one character.
    fn takes_a_character(node: &Ast, pattern: &str) -> bool {
        match node {
            Ast::Literal(_)
            | Ast::Dot(_)
            | Ast::ClassUnicode(_)
            | Ast::ClassPerl(_)
            | Ast::ClassBracketed(_) => true,
            Ast::Repetition(r) => {
                let least = match r.op.kind {
                    ast::RepetitionKind::OneOrMore => 1,
                    ast::RepetitionKind::Range(
                        ast::RepetitionRange::Exactly(m)
                        | ast::RepetitionRange::AtLeast(m)
                        | ast::RepetitionRange::Bounded(m, _),
                    ) => m,
                    _ => 0,
                };
                least > 0 && takes_a_character(&r.ast, pattern)
            }
            Ast::Group(g) => pattern
                .get(g.span.start.offset..g.span.end.offset)
                .and_then(|group| regex_syntax::Parser::new().parse(group).ok())
                .is_some_and(|hir| hir.properties().minimum_len().is_some_and(|n| n > 0)),
            _ => false,
        }
    }
    // The offsets of the `.` of every gap that can be rewritten; `None` when a flag changes
    // what `.` means.
    fn gaps(node: &Ast, pattern: &str, out: &mut Vec<usize>) -> Option<()> {
        let plain_flags = |flags: &ast::Flags| {
            flags.items.iter().all(|item| {
                matches!(
                    item.kind,
                    ast::FlagsItemKind::Flag(
                        ast::Flag::CaseInsensitive
                            | ast::Flag::MultiLine
                            | ast::Flag::SwapGreed
                            | ast::Flag::IgnoreWhitespace
                    )
                )
            })
        };
        match node {
            Ast::Flags(set) => plain_flags(&set.flags).then_some(()),
            Ast::Group(g) => {
                if let ast::GroupKind::NonCapturing(flags) = &g.kind {
                    plain_flags(flags).then_some(())?;
                }
                gaps(&g.ast, pattern, out)
            }
            Ast::Repetition(r) => gaps(&r.ast, pattern, out),
            Ast::Alternation(a) => a.asts.iter().try_for_each(|x| gaps(x, pattern, out)),
            Ast::Concat(c) => {
                for (i, part) in c.asts.iter().enumerate() {
                    if let Ast::Repetition(r) = part {
                        let bounded = matches!(
                            r.op.kind,
                            ast::RepetitionKind::Range(ast::RepetitionRange::Bounded(_, n)) if n > 1
                        );
                        if let (true, Ast::Dot(dot)) = (bounded, &*r.ast) {
                            if c.asts[i + 1..]
                                .iter()
                                .any(|later| takes_a_character(later, pattern))
                            {
                                out.push(dot.start.offset);
                            }
                            continue;
                        }
                    }
                    gaps(part, pattern, out)?;
                }
                Some(())
            }
            _ => Some(()),
        }
    }
    let mut dots = Vec::new();
    if gaps(&parsed, pattern, &mut dots).is_none() || dots.is_empty() {
        return pattern.to_string();
    }
    dots.sort_unstable();
    let mut rewritten = String::with_capacity(pattern.len() + dots.len() * GAP_CHARACTER.len());
    let mut from = 0;
    for dot in dots {
        rewritten.push_str(&pattern[from..dot]);
        rewritten.push_str(GAP_CHARACTER);
        from = dot + 1;
    }
    rewritten.push_str(&pattern[from..]);
    rewritten
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
        // The gaps' characters are bytes ([`compact_gaps`]); the text is still a `str`.
        .syntax(syntax::Config::new().utf8(false))
        .thompson(thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT * 16)))
        .build_many(patterns)
        .ok()?;
    Some(WholeSetDfa {
        dfa,
        caches: Mutex::default(),
    })
}
/// Every pattern of `dfa` (built with [`MatchKind::All`]) matching somewhere in `haystack`;
/// `None` when the DFA gave up (its cache cleared too often) or met a byte it quits on.
///
/// What `try_which_overlapping_matches` answers, read in one loop: that search returns to its
/// caller at every match state and keeps its place in memory, ≈ 27 instructions a byte here
/// (BENCHMARKS.md, "The eighth cuts"). A match state met again at once (the same state, the
/// cache not cleared in between) holds the same patterns and is not read again.
fn which_patterns_match(
    dfa: &DFA,
    cache: &mut Cache,
    haystack: &[u8],
) -> Option<regex_automata::PatternSet> {
    let mut found = regex_automata::PatternSet::new(dfa.pattern_len());
    let mut sid = dfa.start_state_forward(cache, &Input::new(haystack)).ok()?;
    // The lazy DFA's give-up test counts the bytes read since its cache was last cleared.
    cache.search_start(0);
    let mut last_match: Option<(LazyStateID, usize)> = None;
    let mut at = 0;
    while at < haystack.len() {
        let byte = haystack[at];
        let mut next = if sid.is_tagged() {
            // A match state's transitions (the only tagged state the loop goes on from).
            cache.search_update(at);
            dfa.next_state(cache, sid, byte).ok()?
        } else {
            // Untagged states up to the next tagged one, in a loop of their own.
            match to_tagged_state(dfa, cache, &haystack[at..], sid) {
                Ok((read, from, tagged)) => {
                    at += read;
                    sid = from;
                    tagged
                }
                Err(last) => {
                    sid = last;
                    at = haystack.len();
                    break;
                }
            }
        };
        if next.is_unknown() {
            // Not computed yet (or dropped by a cache clear): build it.
            cache.search_update(at);
            next = dfa.next_state(cache, sid, haystack[at]).ok()?;
        }
        if next.is_match() {
            let seen = (next, cache.clear_count());
            if last_match != Some(seen) {
                last_match = Some(seen);
                for i in 0..dfa.match_len(cache, next) {
                    found.insert(dfa.match_pattern(cache, next, i));
                }
                if found.is_full() {
                    cache.search_finish(at);
                    return Some(found);
                }
            }
        } else if next.is_dead() {
            cache.search_finish(at);
            return Some(found);
        } else if next.is_quit() {
            cache.search_finish(at);
            return None;
        }
        sid = next;
        at += 1;
    }
    cache.search_finish(at);
    let end = dfa.next_eoi_state(cache, sid).ok()?;
    if end.is_match() {
        for i in 0..dfa.match_len(cache, end) {
            found.insert(dfa.match_pattern(cache, end, i));
        }
    }
    Some(found)
}

/// Runs `dfa` from the untagged state `sid` over `bytes` up to the first transition to a tagged
/// state (a match, an unknown transition, the dead or quit state): how many bytes were read
/// before that transition, the state it leaves and the state it leads to; or, when the bytes
/// end first, the last state. A loop of its own, so that its few values stay in registers (the
/// literal pass's [`crate::core::literals`] walk does the same).
#[inline(never)]
fn to_tagged_state(
    dfa: &DFA,
    cache: &Cache,
    bytes: &[u8],
    mut sid: LazyStateID,
) -> Result<(usize, LazyStateID, LazyStateID), LazyStateID> {
    for (at, &byte) in bytes.iter().enumerate() {
        let next = dfa.next_state_untagged(cache, sid, byte);
        if next.is_tagged() {
            return Ok((at, sid, next));
        }
        sid = next;
    }
    Err(sid)
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
        let patterns: Vec<String> = patterns.into_iter().map(compact_gaps).collect();
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
            return self.set.matches(text.as_bytes()).into_iter().collect();
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
            found.extend(set.matches(text.as_bytes()).iter().map(|i| first + i));
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
        let found = which_patterns_match(dfa, &mut cache, text.as_bytes());
        if let Ok(mut caches) = caches.lock() {
            caches.push(cache);
        }
        found.map(|found| found.iter().map(|id| id.as_usize()).collect())
    }

    /// [`Self::whole_set_matches`] with `cache` (made on first use), by its own loop or, with
    /// `by_library`, by the library's overlapping search it replaced (the tests' oracle).
    #[cfg(test)]
    pub(super) fn whole_set_matches_with(
        &self,
        cache: &mut Option<Cache>,
        text: &str,
        by_library: bool,
    ) -> Option<Vec<usize>> {
        let WholeSetDfa { dfa, .. } = self
            .whole
            .get_or_init(|| whole_set_dfa(self.set.patterns()))
            .as_ref()?;
        let cache = cache.get_or_insert_with(|| dfa.create_cache());
        let found = if by_library {
            let mut found = regex_automata::PatternSet::new(dfa.pattern_len());
            dfa.try_which_overlapping_matches(cache, &Input::new(text), &mut found)
                .ok()
                .map(|()| found)
        } else {
            which_patterns_match(dfa, cache, text.as_bytes())
        };
        found.map(|found| found.iter().map(|id| id.as_usize()).collect())
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
