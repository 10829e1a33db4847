//! The AutoMod patterns (`core::secrets::automod`) measured against the shield's corpus, compiled
//! as Discord runs them (the `regex` crate, case-insensitive). The shield decides what is a
//! credential; the patterns must block none of what it calls clean, and most of what it finds.
//!
//! The corpus, three parts:
//! - every message of `tests/corpus/` (threads adapted from real reports and member-style ones);
//! - the texts of the shield's unit tests (`tests/fixtures/secrets/shield-cases.json`), each
//!   checked against the shield first;
//! - the fuzz target's planted credentials (`fuzz/src/checks.rs`: eight ways members post one,
//!   with its random values), from a fixed seed.
//!
//! `cargo test --test triage automod -- --nocapture` prints the figures kept in BENCHMARKS.md.

use std::path::Path;

use imap_triage::core::secrets::{self, automod};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::fuzz_regressions::checks;

/// A text, where it comes from, and whether the shield finds a credential in it.
struct Case {
    source: &'static str,
    name: String,
    text: String,
    credential: bool,
}

fn compiled() -> Vec<Regex> {
    automod::patterns()
        .iter()
        .map(
            |p| match RegexBuilder::new(p).case_insensitive(true).build() {
                Ok(re) => re,
                Err(e) => panic!("an AutoMod pattern does not compile: {p}: {e}"),
            },
        )
        .collect()
}

fn shielded(text: &str) -> bool {
    !secrets::find(text).is_empty()
}

fn corpus_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let messages = json["thread"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, message) in messages.iter().enumerate() {
            let text = message["text"].as_str().unwrap_or("").to_string();
            cases.push(Case {
                source: "tests/corpus",
                name: format!("{stem} message {i}"),
                credential: shielded(&text),
                text,
            });
        }
    }
    cases
}

fn shield_test_cases() -> Vec<Case> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets/shield-cases.json");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut cases = Vec::new();
    for (key, credential) in [("credentials", true), ("not_credentials", false)] {
        for text in json[key].as_array().expect(key) {
            let text = text.as_str().expect("a string").to_string();
            assert_eq!(
                shielded(&text),
                credential,
                "the shield no longer agrees with shield-cases.json ({key}): {text:?}"
            );
            cases.push(Case {
                source: "shield unit tests",
                name: format!("{key}: {text:?}"),
                text,
                credential,
            });
        }
    }
    cases
}

/// The fuzz target's cases from a fixed seed: its header bytes choose the form, the value and
/// the line; the thread around is one ordinary message.
fn fuzz_cases(count: usize) -> Vec<Case> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: any fixed sequence will do, this one is short.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    };
    let mut cases = Vec::new();
    while cases.len() < count {
        let mut data: Vec<u8> = (0..14).map(|_| next()).collect();
        data.push(0); // a member's message
        data.extend_from_slice(b"Hi, my inbox won't connect.\nIt says IMAP authentication error.");
        let Some(case) = checks::triage_case(&data) else {
            continue;
        };
        let text = case.thread.messages[case.planted_in].text.clone();
        assert!(
            shielded(&text),
            "the shield misses a planted credential: {text:?}"
        );
        cases.push(Case {
            source: "fuzz target's planted credentials",
            name: format!("planted case {}", cases.len()),
            text,
            credential: true,
        });
    }
    cases
}

/// Caught and missed credentials, and texts blocked without one, for one source.
#[derive(Default)]
struct Tally {
    credentials: usize,
    caught: usize,
    clean: usize,
    blocked: Vec<String>,
}

#[test]
fn automod_patterns_block_most_credentials_and_nothing_clean() {
    let patterns = compiled();
    let sources = [corpus_cases(), shield_test_cases(), fuzz_cases(200)];
    let mut total = Tally::default();
    let mut per_pattern = vec![0usize; patterns.len()];
    println!(
        "AutoMod patterns against the shield's corpus ({} patterns):",
        patterns.len()
    );
    for cases in &sources {
        let mut tally = Tally::default();
        for case in cases {
            let hits: Vec<usize> = (0..patterns.len())
                .filter(|&i| patterns[i].is_match(&case.text))
                .collect();
            if case.credential {
                tally.credentials += 1;
                if !hits.is_empty() {
                    tally.caught += 1;
                }
                for i in &hits {
                    per_pattern[*i] += 1;
                }
            } else {
                tally.clean += 1;
                if !hits.is_empty() {
                    // Named by where it is, never quoted: it may be a member's real text.
                    tally
                        .blocked
                        .push(format!("{} (patterns {hits:?})", case.name));
                }
            }
        }
        let source = cases.first().map_or("?", |c| c.source);
        println!(
            "  {source}: caught {} of {} credentials; false positives {} of {} clean texts",
            tally.caught,
            tally.credentials,
            tally.blocked.len(),
            tally.clean
        );
        // A source without credentials would say nothing about catching them.
        assert!(tally.credentials > 0, "{source}: no credentials");
        assert!(
            tally.caught * 2 > tally.credentials,
            "{source}: most credentials must be caught"
        );
        total.credentials += tally.credentials;
        total.caught += tally.caught;
        total.clean += tally.clean;
        total.blocked.extend(tally.blocked);
    }
    println!(
        "  all: caught {} of {} ({}%); false positives {} of {}",
        total.caught,
        total.credentials,
        total.caught * 100 / total.credentials,
        total.blocked.len(),
        total.clean
    );
    println!("  credentials caught per pattern: {per_pattern:?}");
    assert!(total.clean >= 300, "too few clean texts to mean anything");
    assert!(
        total.blocked.is_empty(),
        "AutoMod would block clean messages:\n{}",
        total.blocked.join("\n")
    );
    assert!(
        total.caught * 10 >= total.credentials * 9,
        "caught {} of {}: below 90%",
        total.caught,
        total.credentials
    );
    // Each pattern earns its place.
    for (i, hits) in per_pattern.iter().enumerate() {
        assert!(*hits > 0, "pattern {i} catches nothing in the corpus");
    }
}
