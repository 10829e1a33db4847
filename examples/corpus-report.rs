//! Per-field accuracy of the triage core on `tests/corpus` (or the folders given), split into
//! threads adapted from real public reports (those with a `source`) and member-style ones.
//!
//! ```sh
//! cargo run --release --example corpus-report [--failures] [DIR...]
//! ```
//!
//! A field is right when the report's value equals the label exactly. `cargo test` checks every
//! case exactly; this report says how close the core is on a set, such as held-out threads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imap_triage::core::{triage, Thread};
use serde_json::Value;

/// The fields scored, as in the corpus `expect` objects.
const FIELDS: &[&str] = &[
    "hub_id",
    "imap",
    "smtp",
    "email_domain",
    "provider",
    "error_code",
    "screenshots",
    "checklist",
    "missing",
    "secrets",
];

#[derive(Default)]
struct Score {
    right: usize,
    total: usize,
}

fn main() {
    let mut show_failures = false;
    let mut dirs: Vec<PathBuf> = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--failures" {
            show_failures = true;
        } else {
            dirs.push(arg.into());
        }
    }
    if dirs.is_empty() {
        dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"));
    }
    let rules =
        match imap_triage::rules_dir::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")) {
            Ok(rules) => rules,
            Err(e) => {
                eprintln!("the rules do not load:\n{e}");
                std::process::exit(2);
            }
        };
    // origin → field → score
    let mut scores: BTreeMap<&str, BTreeMap<&str, Score>> = BTreeMap::new();
    let mut files = 0;
    for dir in &dirs {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                eprintln!("{}: {e}", dir.display());
                std::process::exit(2);
            }
        };
        paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
        paths.sort();
        for path in paths {
            let Some(case) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            else {
                eprintln!("{}: not a readable case", path.display());
                continue;
            };
            let Some(thread) = case
                .get("thread")
                .cloned()
                .and_then(|t| serde_json::from_value::<Thread>(t).ok())
            else {
                eprintln!("{}: no valid thread", path.display());
                continue;
            };
            files += 1;
            let origin = if case.get("source").is_some() {
                "real"
            } else {
                "member"
            };
            let report = triage(&rules, &thread);
            let mut json = serde_json::to_value(&report).unwrap_or(Value::Null);
            json["error_code"] = report
                .error
                .as_ref()
                .map_or(Value::Null, |e| Value::String(e.code.clone()));
            let expect = case.get("expect").cloned().unwrap_or(Value::Null);
            for field in FIELDS {
                let Some(want) = expect.get(*field) else {
                    continue;
                };
                let got = json.get(*field).cloned().unwrap_or(Value::Null);
                let score = scores.entry(origin).or_default().entry(field).or_default();
                score.total += 1;
                if &got == want {
                    score.right += 1;
                } else if show_failures {
                    println!(
                        "{}: {field}: expected {want}, got {got}",
                        path.file_name().unwrap_or_default().to_string_lossy()
                    );
                }
            }
        }
    }
    println!("{files} threads");
    for (origin, fields) in &scores {
        let (right, total) = fields
            .values()
            .fold((0, 0), |(r, t), s| (r + s.right, t + s.total));
        println!(
            "{origin}: {:.1}% of fields right ({right}/{total})",
            percent(right, total)
        );
        for (field, s) in fields {
            println!(
                "  {field:<13} {:>5.1}%  ({}/{})",
                percent(s.right, s.total),
                s.right,
                s.total
            );
        }
    }
}

fn percent(right: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * right as f64 / total as f64
    }
}
