//! The rules' patterns read line by line, each only on the lines that hold all its required
//! literals.
//!
//! One set of every pattern reads every byte of a long message (an overlapping lazy DFA, ≈ 27
//! instructions a byte), though most lines can't match most patterns: every line of a support
//! message names a server, but few hold "basic" and "auth" both. Nearly every pattern keeps its
//! match inside one line (`[ \t]`, not `\s`), so its answer on the whole text is whether some
//! line matches it; and every match holds one literal of each of a few sets
//! ([`literals::required_sets`]: a conjunction). Those literals are found by the message's one
//! literal pass ([`crate::core::message_literals`]); a pattern runs, alone, only on a line where
//! each of its sets has a literal, and no more once it matched. The few patterns that may cross
//! a line, or have no literals, read the whole text alone, and only when each of their sets has
//! a literal somewhere in it.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::load::REGEX_SIZE_LIMIT;
use crate::core::literals;

/// What a pattern set needs to be read line by line.
#[derive(Debug)]
pub(super) struct ByLine {
    /// Every literal of every conjunction, once: the labelled set of the one literal pass.
    literals: Vec<Vec<u8>>,
    /// For each pattern, its conjunction (indices into `literals`); `None` when it has no
    /// required literal.
    conjunctions: Vec<Option<Vec<Vec<u32>>>>,
    /// For each literal, the patterns read by line whose first (best) set holds it: a line is
    /// checked only for the patterns one of its hits leads to.
    led_to: Vec<Vec<u32>>,
    /// The patterns that may cross a line (or look at the text's ends), read over the whole
    /// text when each of their sets has a literal somewhere in it, in order.
    whole: Vec<usize>,
    /// Each pattern alone, compiled the first time a text or line holds its literals.
    alone: Vec<OnceLock<Option<Regex>>>,
}

impl Clone for ByLine {
    fn clone(&self) -> ByLine {
        ByLine {
            literals: self.literals.clone(),
            conjunctions: self.conjunctions.clone(),
            led_to: self.led_to.clone(),
            whole: self.whole.clone(),
            alone: self.alone.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

impl ByLine {
    pub(super) fn new(patterns: &[String]) -> ByLine {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut id = |lit: &Vec<u8>| match literals.iter().position(|l| l == lit) {
            Some(at) => at as u32,
            None => {
                literals.push(lit.clone());
                (literals.len() - 1) as u32
            }
        };
        let mut conjunctions: Vec<Option<Vec<Vec<u32>>>> = Vec::with_capacity(patterns.len());
        let mut whole = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let sets = literals::required_sets(pattern);
            if sets.is_none() || !literals::within_lines(pattern) {
                whole.push(i);
            }
            conjunctions.push(sets.map(|sets| {
                sets.iter()
                    .map(|set| set.iter().map(&mut id).collect())
                    .collect()
            }));
        }
        let mut led_to = vec![Vec::new(); literals.len()];
        for (p, conjunction) in conjunctions.iter().enumerate() {
            if whole.contains(&p) {
                continue;
            }
            if let Some(first) = conjunction.as_ref().and_then(|c| c.first()) {
                for &lit in first {
                    led_to[lit as usize].push(p as u32);
                }
            }
        }
        ByLine {
            literals,
            conjunctions,
            led_to,
            whole,
            alone: patterns.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// Pattern `p` alone; `None` if it would not compile (it did when the pack loaded, with
    /// the same limits), and the caller reads the text as before.
    fn alone(&self, patterns: &[String], p: usize) -> Option<&Regex> {
        self.alone[p]
            .get_or_init(|| {
                RegexBuilder::new(&patterns[p])
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// The literals the one pass is to find, labelled by their index here.
    pub(super) fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// The patterns read by line, and those read whole.
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize) {
        (self.conjunctions.len() - self.whole.len(), self.whole.len())
    }

    /// The index of every pattern matching somewhere in `text`, in order; `hits` are the one
    /// pass's hits of [`Self::literals`] in `text` (in order of their ends). `None` when this
    /// can't answer (text not ASCII: `(?i)` matches `ſ` and the Kelvin sign, which a search for
    /// lower-cased literals misses) and the caller reads the text as before.
    pub(super) fn matches(
        &self,
        patterns: &[String],
        text: &str,
        hits: &[(usize, usize, u32)],
    ) -> Option<Vec<usize>> {
        if !text.is_ascii() {
            return None;
        }
        let mut found = vec![false; self.conjunctions.len()];
        let mut anywhere = vec![false; self.literals.len()];
        for &(_, _, lit) in hits {
            anywhere[lit as usize] = true;
        }
        for &p in &self.whole {
            let may_match = self.conjunctions[p].as_ref().is_none_or(|sets| {
                sets.iter()
                    .all(|set| set.iter().any(|&l| anywhere[l as usize]))
            });
            if may_match && self.alone(patterns, p)?.is_match(text) {
                found[p] = true;
            }
        }
        let bytes = text.as_bytes();
        let mut left = self.conjunctions.len() - self.whole.len();
        // For each literal, the number of the last line it was found on; for each pattern,
        // the last line it was checked on. Lines are numbered from 1.
        let mut seen_on = vec![0u32; self.literals.len()];
        let mut checked_on = vec![0u32; self.conjunctions.len()];
        let mut line_number = 0u32;
        let mut i = 0;
        while i < hits.len() && left > 0 {
            // A literal holds no line feed (the patterns read by line match none), so a hit
            // lies inside one line, and the hits of a line come together (in order of ends).
            let (start, end, _) = hits[i];
            let line_end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |n| end + n);
            let mut next = i;
            while next < hits.len() && hits[next].1 <= line_end {
                next += 1;
            }
            line_number += 1;
            for &(_, _, lit) in &hits[i..next] {
                seen_on[lit as usize] = line_number;
            }
            let mut line: Option<&str> = None;
            for &(_, _, lit) in &hits[i..next] {
                for &p in &self.led_to[lit as usize] {
                    let p = p as usize;
                    if found[p] || checked_on[p] == line_number {
                        continue;
                    }
                    checked_on[p] = line_number;
                    let all_found = self.conjunctions[p].as_ref().is_some_and(|sets| {
                        sets.iter()
                            .all(|set| set.iter().any(|&l| seen_on[l as usize] == line_number))
                    });
                    if !all_found {
                        continue;
                    }
                    let line = *line.get_or_insert_with(|| {
                        let line_start =
                            memchr::memrchr(b'\n', &bytes[..start]).map_or(0, |n| n + 1);
                        &text[line_start..line_end]
                    });
                    let regex = self.alone(patterns, p)?;
                    if regex.is_match(line) {
                        found[p] = true;
                        left -= 1;
                    }
                }
            }
            i = next;
        }
        Some(
            found
                .iter()
                .enumerate()
                .filter_map(|(i, &f)| f.then_some(i))
                .collect(),
        )
    }
}
