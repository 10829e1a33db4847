//! Checklist confirmations from plain sentences and markdown check boxes.

use std::sync::LazyLock;

use regex::Regex;

use super::report::Checklist;
use super::rules;
use super::text::sentences;

/// `- [x] text`, `* [ ] text`, `1. [X] text`, `[x] text`.
static CHECKBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*+•]|\d+[.)])?\s*\[(?P<mark>[ xX✓✔])\]\s*(?P<text>.*)$")
        .expect("static regex")
});

/// How close before a confirmation a negation must be to deny it ("I did not confirm ...").
const NEGATION_REACH: usize = 30;

/// Applies the confirmations in `text` on top of `checklist` (later statements win).
pub fn scan(all_rules: &rules::Rules, text: &str, checklist: &mut Checklist) {
    // One pass over the whole text first: most text confirms nothing, and then no sentence needs
    // a closer look. Otherwise only the patterns that matched somewhere are tried per sentence.
    scan_among(
        all_rules,
        text,
        &all_rules.checklist_matching(text),
        checklist,
    );
}

/// [`scan`] with the matching items already known ([`rules::Rules::checklist_matching`]).
pub fn scan_among(
    all_rules: &rules::Rules,
    text: &str,
    matching: &[usize],
    checklist: &mut Checklist,
) {
    if matching.is_empty() {
        return;
    }
    let rules = &all_rules.checklist;
    let all_matched = matching.contains(&rules.items.len());
    let items: Vec<(usize, &rules::ChecklistItem)> = matching
        .iter()
        .filter_map(|&i| rules.items.get(i).map(|item| (i, item)))
        .collect();
    let all = rules.items.len();
    for sentence in sentences(text) {
        // Every check box has a `[`: the captures are for the few sentences with one.
        let checkbox = memchr::memchr(b'[', sentence.as_bytes())
            .and_then(|_| CHECKBOX.captures(sentence.trim_end_matches(['\n', '\r'])));
        if let Some(caps) = checkbox {
            let checked = caps.name("mark").is_some_and(|m| m.as_str() != " ");
            let body = caps.name("text").map_or("", |m| m.as_str());
            // One set search says which patterns match, instead of one search per pattern.
            let first = all_rules.checklist_first_patterns(body);
            if all_matched && first[all].is_some() {
                for item in &rules.items {
                    checklist.set(&item.id, checked);
                }
                continue;
            }
            for &(index, item) in &items {
                if first[index].is_some() {
                    checklist.set(&item.id, checked);
                }
            }
            continue;
        }
        let first = all_rules.checklist_first_patterns(sentence);
        if let Some(m) = first[all]
            .filter(|_| all_matched)
            .and_then(|k| rules.all_patterns.get(k))
            .and_then(|re| re.find(sentence))
        {
            let confirmed = !negated(rules, sentence, m.start(), NEGATION_REACH);
            for item in &rules.items {
                checklist.set(&item.id, confirmed);
            }
            continue;
        }
        for &(index, item) in &items {
            let Some(k) = first[index] else { continue };
            // The point is confirmed when one of its patterns matches without a negation before
            // it: "conferi a senha no webmail e funciona" is not denied by the preposition "no"
            // before "webmail" while another pattern confirms it.
            let mut matched = false;
            let mut confirmed = false;
            for re in item.patterns.iter().skip(k) {
                if let Some(m) = re.find(sentence) {
                    matched = true;
                    if !negated(rules, sentence, m.start(), NEGATION_REACH) {
                        confirmed = true;
                        break;
                    }
                }
            }
            if matched {
                checklist.set(&item.id, confirmed);
            }
        }
    }
}

/// Whether a negation stands in the `reach` bytes of `sentence` before `at`.
pub(super) fn negated(rules: &rules::Checklist, sentence: &str, at: usize, reach: usize) -> bool {
    let mut from = at.saturating_sub(reach);
    while !sentence.is_char_boundary(from) {
        from -= 1;
    }
    // The negation may sit just before the match or inside it ("typed it, not auto-filled" is
    // handled by the patterns themselves, so only look at the lead-in). A new clause ends its
    // reach: "the default doesn't work, so I typed the servers by hand" confirms the typing.
    let lead_in = &sentence[from..at];
    let lead_in = CLAUSE_BREAK
        .find_iter(lead_in)
        .last()
        .map_or(lead_in, |m| &lead_in[m.end()..]);
    rules.negation.is_match(lead_in)
}

/// A comma or semicolon and a conjunction that starts a new clause.
static CLAUSE_BREAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[,;]\s*(?:so|but|then|however|and then|aber|also|deshalb|pero|entonces|así que|mais|donc|alors|mas|então|ma|quindi|maar|dus)\b",
    )
    .expect("static regex")
});

/// Where `text` confirms the checklist point `id` (its own patterns, or a sentence confirming all
/// four): the evidence a moderator is shown.
pub fn first_match(rules: &rules::Rules, id: &str, text: &str) -> Option<std::ops::Range<usize>> {
    let item = rules.checklist.items.iter().find(|i| i.id == id)?;
    item.patterns
        .iter()
        .chain(rules.checklist.all_patterns.iter())
        .filter_map(|re| re.find(text))
        .map(|m| m.range())
        .min_by_key(|r| r.start)
        .or_else(|| {
            // A check box whose text names the point.
            CHECKBOX_ANYWHERE.find(text).map(|m| m.range())
        })
}

static CHECKBOX_ANYWHERE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:[-*+•]|\d+[.)])?\s*\[[xX✓✔]\].*$").expect("static regex")
});
