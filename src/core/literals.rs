//! Literals that every match of a regex contains, derived from the parsed pattern with
//! `regex-syntax`: text holding none of them can't match, so the regex isn't run on it.
//!
//! Most of the words a regex looks for are not at its start ("i meant", "instead of",
//! "5.7.139"), so the regex crate's own prefix prefilter can't skip the text; an inner literal
//! can. The literals are ASCII-lower-cased and searched in ASCII-lower-cased text, and only in
//! ASCII text: `(?i)` also matches `ſ` for `s` and the Kelvin sign for `k`, which such a search
//! misses, so text with any other byte goes to the regex. A gate never changes an answer; it
//! only saves the search when the answer is already known to be "no match".

use aho_corasick::AhoCorasick;
use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

/// At most this many strings in one exact set: past it, a node is only "contains one of".
const MAX_STRINGS: usize = 64;
/// At most this many bytes in one literal.
const MAX_LEN: usize = 32;
/// A class with more ASCII characters than this (after lower-casing) is not spelled out.
const MAX_CLASS: usize = 4;

/// What a node of a pattern says about its matches on ASCII text, lower-cased.
struct Lits {
    /// The node matches exactly one of these strings, and nothing else.
    exact: Option<Vec<Vec<u8>>>,
    /// Every match of the node contains one of these; `None` when nothing is known.
    required: Option<Vec<Vec<u8>>>,
    /// Every match of the node begins with one of these; `None` when nothing is known.
    prefix: Option<Vec<Vec<u8>>>,
}

impl Lits {
    fn exact(set: Vec<Vec<u8>>) -> Lits {
        let mut set = set;
        set.sort();
        set.dedup();
        let required = usable(&set).then(|| set.clone());
        Lits {
            exact: Some(set),
            prefix: required.clone(),
            required,
        }
    }

    fn unknown() -> Lits {
        Lits {
            exact: None,
            required: None,
            prefix: None,
        }
    }

    fn inexact(required: Option<Vec<Vec<u8>>>, prefix: Option<Vec<Vec<u8>>>) -> Lits {
        Lits {
            exact: None,
            required: required.filter(|r| usable(r)),
            prefix: prefix.filter(|p| usable(p)),
        }
    }
}

/// A required set helps only when none of its strings is empty (the empty string is in every
/// text).
fn usable(set: &[Vec<u8>]) -> bool {
    set.iter().all(|s| !s.is_empty())
}

/// Words found in nearly every support message. A required literal inside one of them (or
/// holding one) passes its gate on nearly every line: "server" in `(?:gleiche|selbe)n?\s+server`
/// let the "same server" regex run on every line naming a server, where "gleiche" or "selbe"
/// would not. Only the choice of gate depends on this list, never an answer.
const COMMON_WORDS: &[&[u8]] = &[
    b"server",
    b"host",
    b"setting",
    b"use",
    b"see",
    b"port",
    b"mail",
    b"connect",
    b"password",
    b"account",
    b"name",
    b"error",
    b"the",
    b"and",
    b"for",
    b"not",
    b"with",
    b"have",
    b"this",
    b"that",
    b"from",
    b"your",
];

/// Whether `literal` is inside a [`COMMON_WORDS`] word ("serv", "set"), or holds one of five
/// letters or more ("connection"): a short word inside a longer one says little ("refused"
/// holds "use").
fn is_common(literal: &[u8]) -> bool {
    let word: Vec<u8> = literal
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    word.len() <= 2
        || COMMON_WORDS.iter().any(|w| {
            memchr::memmem::find(w, &word).is_some()
                || w.len() >= 5 && memchr::memmem::find(&word, w).is_some()
        })
}

/// The better of two required sets: the one without a common word ([`COMMON_WORDS`]), then
/// the longer shortest string, then the one whose shortest string holds fewer letters, digits
/// and spaces (`&` is rarer in prose than `1`), then the fewer strings.
fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let score = |s: &Vec<Vec<u8>>| {
        let shortest = s.iter().min_by_key(|l| l.len());
        let common = shortest.map_or(0, |l| {
            l.iter()
                .filter(|b| b.is_ascii_alphanumeric() || b.is_ascii_whitespace())
                .count()
        });
        (
            !s.iter().any(|l| is_common(l)),
            shortest.map_or(usize::MAX, Vec::len).min(8),
            std::cmp::Reverse(common),
            std::cmp::Reverse(s.len()),
        )
    };
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Every concatenation of a string of `a` and one of `b`, if the result stays small.
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_STRINGS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LEN {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(out)
}

fn lits(hir: &Hir) -> Lits {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Lits::exact(vec![Vec::new()]),
        HirKind::Literal(lit) => {
            if lit.0.len() > MAX_LEN {
                // A long literal still contains its own beginning.
                let start = vec![lit.0[..MAX_LEN].to_ascii_lowercase()];
                return Lits::inexact(Some(start.clone()), Some(start));
            }
            Lits::exact(vec![lit.0.to_ascii_lowercase()])
        }
        HirKind::Class(class) => {
            // On ASCII text only a class's ASCII members can match.
            let mut members: Vec<u8> = Vec::new();
            let mut add = |start: u32, end: u32| {
                for c in start..=end.min(0x7F) {
                    let b = (c as u8).to_ascii_lowercase();
                    if !members.contains(&b) {
                        members.push(b);
                    }
                    if members.len() > MAX_CLASS {
                        return false;
                    }
                }
                true
            };
            let small = match class {
                Class::Unicode(c) => c
                    .ranges()
                    .iter()
                    .all(|r| add(u32::from(r.start()), u32::from(r.end()))),
                Class::Bytes(c) => c
                    .ranges()
                    .iter()
                    .all(|r| add(u32::from(r.start()), u32::from(r.end()))),
            };
            if !small {
                return Lits::unknown();
            }
            // An empty set (a class of non-ASCII characters only) never matches ASCII text.
            Lits::exact(members.into_iter().map(|b| vec![b]).collect())
        }
        HirKind::Capture(cap) => lits(&cap.sub),
        HirKind::Repetition(rep) => {
            let sub = lits(&rep.sub);
            match (rep.min, rep.max) {
                (0, Some(1)) => match sub.exact {
                    Some(mut set) if set.len() < MAX_STRINGS => {
                        set.push(Vec::new());
                        Lits::exact(set)
                    }
                    _ => Lits::unknown(),
                },
                (0, _) => Lits::unknown(),
                (min, max) => {
                    // `x{n}`: n copies of an exact set, spelled out while that stays small.
                    if max == Some(min) && min <= 4 {
                        if let Some(set) = &sub.exact {
                            let mut all = Some(vec![Vec::new()]);
                            for _ in 0..min {
                                all = all.and_then(|a| product(&a, set));
                            }
                            if let Some(all) = all {
                                return Lits::exact(all);
                            }
                        }
                    }
                    // Every match holds at least one match of the sub-expression, and begins
                    // with one.
                    Lits::inexact(sub.required, sub.prefix)
                }
            }
        }
        HirKind::Concat(subs) => {
            let mut best: Option<Vec<Vec<u8>>> = None;
            // The product of the current run of exact nodes.
            let mut run: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
            // What every match begins with, once known.
            let mut prefix: Option<Option<Vec<Vec<u8>>>> = None;
            let mut all_exact = true;
            for sub in subs {
                let l = lits(sub);
                best = better(best, l.required);
                match (l.exact, run.take()) {
                    (Some(set), Some(current)) => match product(&current, &set) {
                        Some(p) => run = Some(p),
                        None => {
                            all_exact = false;
                            prefix.get_or_insert_with(|| Some(current.clone()));
                            best = better(best, usable(&current).then_some(current));
                            run = Some(set);
                        }
                    },
                    (Some(set), None) => run = Some(set),
                    (None, current) => {
                        all_exact = false;
                        if let Some(current) = current {
                            // The run, then the beginning of this node: "g" then "mail" or
                            // "oogle" is "gmail" or "google".
                            let joined = l.prefix.as_ref().and_then(|p| product(&current, p));
                            prefix.get_or_insert_with(|| joined.clone().or(Some(current.clone())));
                            best = better(best, joined.filter(|j| usable(j)));
                            best = better(best, usable(&current).then_some(current));
                        }
                    }
                }
            }
            match run {
                Some(current) if all_exact => Lits::exact(current),
                Some(current) => Lits::inexact(
                    better(best, usable(&current).then_some(current)),
                    prefix.flatten(),
                ),
                None => Lits::inexact(best, prefix.flatten()),
            }
        }
        HirKind::Alternation(subs) => {
            let all: Vec<Lits> = subs.iter().map(lits).collect();
            if all.iter().all(|l| l.exact.is_some()) {
                let union: Vec<Vec<u8>> = all
                    .iter()
                    .flat_map(|l| l.exact.clone().unwrap_or_default())
                    .collect();
                if union.len() <= MAX_STRINGS {
                    return Lits::exact(union);
                }
            }
            let union = |part: fn(&Lits) -> &Option<Vec<Vec<u8>>>| {
                let mut union = Vec::new();
                for l in &all {
                    match part(l) {
                        Some(r) if usable(r) => union.extend(r.iter().cloned()),
                        // A branch without one: the alternation has none either.
                        _ => return None,
                    }
                }
                union.sort();
                union.dedup();
                Some(union)
            };
            Lits::inexact(union(|l| &l.required), union(|l| &l.prefix))
        }
    }
}

/// Literals (ASCII-lower-cased) one of which every match of `pattern` contains, when the text
/// is ASCII; `None` when no such set is known (or the pattern doesn't parse).
pub fn required(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    lits(&hir).required.filter(|r| usable(r))
}

/// A search for the required literals of one or more patterns: it says when none of them can
/// match a text.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `None`: some pattern has no required literal, and every text may match.
    literals: Option<Literals>,
}

#[derive(Debug, Clone)]
struct Literals {
    /// The literals themselves, for [`GateIndex`].
    all: Vec<Vec<u8>>,
    /// For lower-cased text: a plain search, which SIMD can speed up.
    in_lowered: AhoCorasick,
    /// For text as it is, ignoring ASCII case: no copy needed, for short text.
    ignoring_case: AhoCorasick,
}

impl Gate {
    /// The gate of several patterns: a text passes when any of them may match it.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Gate {
        let mut all = Vec::new();
        for pattern in patterns {
            match required(pattern) {
                Some(r) => all.extend(r),
                None => return Gate { literals: None },
            }
        }
        all.sort();
        all.dedup();
        let in_lowered = AhoCorasick::new(&all);
        let ignoring_case = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&all);
        Gate {
            literals: in_lowered
                .ok()
                .zip(ignoring_case.ok())
                .map(|(in_lowered, ignoring_case)| Literals {
                    all,
                    in_lowered,
                    ignoring_case,
                }),
        }
    }

    /// The literals one of which every match holds (ASCII-lower-cased, sorted); `None` when
    /// some pattern has none, and every text may match.
    pub fn literal_strings(&self) -> Option<&[Vec<u8>]> {
        self.literals.as_ref().map(|l| l.all.as_slice())
    }

    /// Whether a pattern may match `text`. `lower` is [`super::text::lower`]`(text)` when the
    /// caller has it (long text), or `None` (short text, searched ignoring ASCII case).
    pub fn may_match(&self, text: &str, lower: Option<&[u8]>) -> bool {
        let Some(literals) = &self.literals else {
            return true;
        };
        if !text.is_ascii() {
            return true;
        }
        match lower {
            Some(lower) => literals.in_lowered.is_match(lower),
            None => literals.ignoring_case.is_match(text),
        }
    }
}

/// The literals of several gates, searched for once in a whole message's lower-cased copy.
///
/// Per-line and per-value gates each read their line again (an automaton that ignores ASCII
/// case reads every byte); one overlapping search of the message finds every literal of every
/// gate once, and a gate's answer for any part of the message is then a look-up in the hits.
#[derive(Debug, Clone)]
pub struct GateIndex {
    /// `None` when no gate has literals (or the automaton could not be built): every part of
    /// the text may match.
    searcher: Option<aho_corasick::dfa::DFA>,
    /// For each literal of `searcher`, the gates (bits) it belongs to.
    owners: Vec<u64>,
    /// Gates without literals: any text may match them.
    open: u64,
    gates: usize,
}

impl GateIndex {
    /// At most 64 gates.
    pub fn new(gates: &[&Gate]) -> GateIndex {
        let sets: Vec<Option<&[Vec<u8>]>> = gates.iter().map(|g| g.literal_strings()).collect();
        GateIndex::of_sets(&sets)
    }

    /// The index of several sets of literals (ASCII-lower-cased): the literals of gates
    /// ([`Gate::literal_strings`]), or trigger words whose places are wanted ([`Hits::spans`]).
    /// `None` is a gate without literals, which any text may match. At most 64 sets.
    pub fn of_sets(sets: &[Option<&[Vec<u8>]>]) -> GateIndex {
        assert!(sets.len() <= 64, "a GateIndex holds at most 64 gates");
        let mut literals: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut open = 0u64;
        for (i, set) in sets.iter().enumerate() {
            match set {
                Some(all) => {
                    for lit in *all {
                        match literals.iter_mut().find(|(x, _)| x == lit) {
                            Some((_, bits)) => *bits |= 1 << i,
                            None => literals.push((lit.clone(), 1 << i)),
                        }
                    }
                }
                None => open |= 1 << i,
            }
        }
        // A DFA, walked by `hits` itself: a byte is one table look-up, inlined (through
        // `AhoCorasick` every byte is a dynamic call, ≈ 21 instructions). No prefilter: with
        // this many literals it would stop on nearly every byte.
        let searcher = aho_corasick::dfa::DFA::builder()
            .prefilter(false)
            .build(literals.iter().map(|(l, _)| l))
            .ok();
        if searcher.is_none() {
            open = u64::MAX;
        }
        GateIndex {
            searcher,
            owners: literals.into_iter().map(|(_, bits)| bits).collect(),
            open,
            gates: sets.len(),
        }
    }

    /// Every occurrence of every literal in `lower` (an overlapping search), pushed to the
    /// spans of the gates that hold it.
    fn walk(&self, dfa: &aho_corasick::dfa::DFA, lower: &[u8], spans: &mut [Vec<(usize, usize)>]) {
        use aho_corasick::automaton::Automaton;
        use aho_corasick::Anchored;
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return;
        };
        let mut from = 0;
        while let Some((at, special)) = to_special_state(dfa, &lower[from..], sid) {
            sid = special;
            // Without a prefilter only dead and match states are special, and an unanchored
            // automaton has no way into its dead state.
            if dfa.is_dead(sid) {
                return;
            }
            let end = from + at + 1;
            for i in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, i);
                let start = end - dfa.pattern_len(pattern);
                let mut bits = self.owners[pattern.as_usize()];
                while bits != 0 {
                    let gate = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    spans[gate].push((start, end));
                }
            }
            from = end;
        }
    }

    /// Every literal of every gate in `text`; `lower` is [`super::text::lower`]`(text)`.
    pub fn hits(&self, text: &str, lower: &[u8]) -> Hits {
        debug_assert_eq!(text.len(), lower.len());
        let mut spans = vec![Vec::new(); self.gates];
        if let Some(dfa) = &self.searcher {
            self.walk(dfa, lower, &mut spans);
        }
        // Overlapping matches come in order of their ends; look-ups go by starts.
        for s in &mut spans {
            s.sort_unstable();
        }
        Hits {
            base: text.as_ptr() as usize,
            len: text.len(),
            ascii: text.is_ascii(),
            open: self.open,
            spans,
        }
    }
}

/// Runs `dfa` from state `sid` over `bytes` up to the first special state (a match): the
/// index of the byte that led to it, and the state; `None` when the bytes end first. A loop of
/// its own, so that its few values stay in registers (≈ 8 instructions a byte, against ≈ 19
/// with the match handling in the same loop).
#[inline(never)]
fn to_special_state(
    dfa: &aho_corasick::dfa::DFA,
    bytes: &[u8],
    mut sid: aho_corasick::automaton::StateID,
) -> Option<(usize, aho_corasick::automaton::StateID)> {
    use aho_corasick::automaton::Automaton;
    for (at, &byte) in bytes.iter().enumerate() {
        sid = dfa.next_state(aho_corasick::Anchored::No, sid, byte);
        if dfa.is_special(sid) {
            return Some((at, sid));
        }
    }
    None
}

/// Where each gate's literals are in one text ([`GateIndex::hits`]).
#[derive(Debug, Clone, Default)]
pub struct Hits {
    /// The text's address and length: a part of it is recognised by its address, so that
    /// callers pass the same `&str` slices as before.
    base: usize,
    len: usize,
    ascii: bool,
    open: u64,
    /// For each gate, the `(start, end)` of its literals, by start.
    spans: Vec<Vec<(usize, usize)>>,
}

impl Hits {
    /// The `(start, end)` of every literal of set `gate` in the indexed text, by start
    /// (overlapping ones included); empty for a gate without literals.
    pub fn spans(&self, gate: usize) -> &[(usize, usize)] {
        self.spans.get(gate).map_or(&[], Vec::as_slice)
    }

    /// Whether gate `gate` may match `part`, answered from the hits when `part` is a slice of
    /// the indexed text; `None` when it is not (a string made from it, say), and the caller
    /// asks the gate itself. The same answer as [`Gate::may_match`] on `part`.
    pub fn may_match(&self, gate: usize, part: &str) -> Option<bool> {
        let at = (part.as_ptr() as usize).checked_sub(self.base)?;
        if self.spans.is_empty() || at + part.len() > self.len {
            return None;
        }
        if self.open & (1 << gate) != 0 || (!self.ascii && !part.is_ascii()) {
            return Some(true);
        }
        let end = at + part.len();
        let spans = self.spans.get(gate)?;
        let first = spans.partition_point(|&(s, _)| s < at);
        Some(
            spans[first..]
                .iter()
                .take_while(|&&(s, _)| s < end)
                .any(|&(_, e)| e <= end),
        )
    }
}

/// A regex with the gate of its required literals in front: the same answers, without reading
/// most text with the regex.
#[derive(Debug, Clone)]
pub struct GatedRegex {
    pub regex: Regex,
    gate: Gate,
}

impl GatedRegex {
    pub fn new(regex: Regex) -> GatedRegex {
        let gate = Gate::new([regex.as_str()]);
        GatedRegex { regex, gate }
    }

    /// [`Regex::is_match`].
    pub fn is_match(&self, text: &str) -> bool {
        self.gate.may_match(text, None) && self.regex.is_match(text)
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// [`Regex::is_match`], with the gate answered from `hits` (this regex's gate is number
    /// `gate` of their index) when `text` is part of the text indexed.
    pub fn is_match_in(&self, text: &str, hits: &Hits, gate: usize) -> bool {
        match hits.may_match(gate, text) {
            Some(may) => may && self.regex.is_match(text),
            None => self.is_match(text),
        }
    }
}

#[cfg(test)]
mod tests;
