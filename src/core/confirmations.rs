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
    let matching = all_rules.checklist_matching(text);
    if matching.is_empty() {
        return;
    }
    let rules = &all_rules.checklist;
    let all_matched = matching.contains(&rules.items.len());
    let items: Vec<&rules::ChecklistItem> = matching
        .iter()
        .filter_map(|&i| rules.items.get(i))
        .collect();
    for sentence in sentences(text) {
        if let Some(caps) = CHECKBOX.captures(sentence.trim_end_matches(['\n', '\r'])) {
            let checked = caps.name("mark").is_some_and(|m| m.as_str() != " ");
            let body = caps.name("text").map_or("", |m| m.as_str());
            if all_matched && rules.all_patterns.iter().any(|re| re.is_match(body)) {
                for item in &rules.items {
                    checklist.set(&item.id, checked);
                }
                continue;
            }
            for item in &items {
                if item.patterns.iter().any(|re| re.is_match(body)) {
                    checklist.set(&item.id, checked);
                }
            }
            continue;
        }
        if let Some(m) = rules
            .all_patterns
            .iter()
            .filter(|_| all_matched)
            .find_map(|re| re.find(sentence))
        {
            let confirmed = !negated(rules, sentence, m.start());
            for item in &rules.items {
                checklist.set(&item.id, confirmed);
            }
            continue;
        }
        for item in &items {
            if let Some(m) = item.patterns.iter().find_map(|re| re.find(sentence)) {
                checklist.set(&item.id, !negated(rules, sentence, m.start()));
            }
        }
    }
}

fn negated(rules: &rules::Checklist, sentence: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(NEGATION_REACH);
    while !sentence.is_char_boundary(from) {
        from -= 1;
    }
    // The negation may sit just before the match or inside it ("typed it, not auto-filled" is
    // handled by the patterns themselves, so only look at the lead-in).
    rules.negation.is_match(&sentence[from..at])
}
