//! The data-driven corpus: every `tests/corpus/*.json` is a realistic support thread with the
//! report a careful moderator would expect. Each file looks like
//!
//! ```json
//! {"description": "what this thread tests",
//!  "thread": {"messages": [{"author": "member", "text": "...", "attachments": []}]},
//!  "expect": {"hub_id": "4821937", "error_code": "imap_auth_error", "missing": ["checklist"]}}
//! ```
//!
//! Only the keys present in `expect` are checked. Most compare to the same key of the JSON report;
//! a few are special (see [`check`]). All mismatches of all files are collected and reported
//! together, so one run shows everything the core still gets wrong.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use imap_triage::core::{triage, Report, Rules, Thread};
use serde_json::{Map, Value};

/// At least 300 threads, 150 of them adapted from real public reports (with a `source`).
const MIN_CASES: usize = 300;

/// Keys compared verbatim with the same key of the serialized report.
const REPORT_KEYS: &[&str] = &[
    "hub_id",
    "imap",
    "smtp",
    "email_domain",
    "provider",
    "screenshots",
    "checklist",
    "missing",
    "secrets",
    "suspicious_hosts",
    "escalate",
];

/// Keys with their own comparison.
const SPECIAL_KEYS: &[&str] = &[
    "error_code",
    "mismatch_fields",
    "reply_contains",
    "reply_excludes",
    "known_gaps",
];

/// At least this many threads adapted from real public reports (with a `source` URL).
const MIN_REAL_CASES: usize = 150;

struct Mismatch {
    file: String,
    key: String,
    expected: String,
    got: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn show(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "?".to_string())
}

fn short(text: &str) -> String {
    const MAX: usize = 160;
    let flat = text.replace('\n', "⏎");
    if flat.chars().count() <= MAX {
        flat
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Checks one corpus file; pushes every difference onto `out`.
///
/// `"known_gaps": {"field": "why the core still gets it wrong"}` in `expect` names a label the
/// core does not meet yet, kept honest both ways: that field must still differ (a gap that is
/// fixed must be removed from the file), and every other field must match.
fn check(rules: &Rules, file: &str, case: &Value, out: &mut Vec<Mismatch>) {
    let mut found = Vec::new();
    check_fields(rules, file, case, &mut found);
    let gaps: Vec<String> = case
        .get("expect")
        .and_then(|e| e.get("known_gaps"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for gap in &gaps {
        if !found.iter().any(|m| &m.key == gap) {
            out.push(Mismatch {
                file: file.to_string(),
                key: "known_gaps".into(),
                expected: format!("{gap} still wrong"),
                got: format!("{gap} is right now: remove it from known_gaps"),
            });
        }
    }
    out.extend(found.into_iter().filter(|m| !gaps.contains(&m.key)));
}

fn check_fields(rules: &Rules, file: &str, case: &Value, out: &mut Vec<Mismatch>) {
    let mut fail = |key: &str, expected: String, got: String| {
        out.push(Mismatch {
            file: file.to_string(),
            key: key.to_string(),
            expected,
            got,
        })
    };

    let Some(case) = case.as_object() else {
        return fail("(file)", "a JSON object".into(), "something else".into());
    };
    for key in case.keys() {
        if !["description", "source", "thread", "expect"].contains(&key.as_str()) {
            fail(
                "(file)",
                "description, source, thread, expect".into(),
                format!("unknown key {key:?}"),
            );
        }
    }
    if case
        .get("description")
        .and_then(Value::as_str)
        .is_none_or(|d| d.trim().is_empty())
    {
        fail(
            "description",
            "a one-line description".into(),
            "missing".into(),
        );
    }
    let thread: Thread = match case.get("thread").cloned().map(serde_json::from_value) {
        Some(Ok(thread)) => thread,
        Some(Err(e)) => return fail("thread", "a valid thread".into(), e.to_string()),
        None => return fail("thread", "a thread".into(), "missing".into()),
    };
    let empty = Map::new();
    let expect = match case.get("expect") {
        Some(Value::Object(map)) => map,
        Some(_) => return fail("expect", "an object".into(), "something else".into()),
        None => &empty,
    };

    let report: Report = triage(rules, &thread);
    let json = serde_json::to_value(&report).expect("a report serializes");
    let json_text = json.to_string();
    let text = report.to_text();

    for (key, expected) in expect {
        let key = key.as_str();
        if REPORT_KEYS.contains(&key) {
            let got = json.get(key).cloned().unwrap_or(Value::Null);
            if &got != expected {
                fail(key, show(expected), show(&got));
            }
            continue;
        }
        match key {
            "error_code" => {
                let got = report
                    .error
                    .as_ref()
                    .map_or(Value::Null, |e| Value::String(e.code.clone()));
                if &got != expected {
                    let detail = report
                        .error
                        .as_ref()
                        .map_or(String::new(), |e| format!(" (text {:?})", short(&e.text)));
                    fail(key, show(expected), format!("{}{detail}", show(&got)));
                }
            }
            // ["imap.port", "smtp.host"]: which settings differ from the provider's, in any order.
            "mismatch_fields" => {
                let mut got: Vec<String> = report
                    .mismatches
                    .iter()
                    .map(|m| format!("{}.{}", m.service, m.field))
                    .collect();
                got.sort();
                let mut want: Vec<String> = expected
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                want.sort();
                if got != want {
                    fail(key, format!("{want:?}"), format!("{got:?}"));
                }
            }
            "reply_contains" => {
                for needle in expected
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !report.reply.contains(needle) {
                        fail(
                            key,
                            format!("reply contains {needle:?}"),
                            format!("reply: {:?}", short(&report.reply)),
                        );
                    }
                }
            }
            "known_gaps" => {}
            "reply_excludes" => {
                for needle in expected
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    for (place, haystack) in [
                        ("reply", report.reply.as_str()),
                        ("JSON report", json_text.as_str()),
                        ("text report", text.as_str()),
                    ] {
                        if haystack.contains(needle) {
                            fail(
                                key,
                                format!("{place} without {needle:?}"),
                                format!("{place} contains it"),
                            );
                        }
                    }
                }
            }
            _ => {
                let known: Vec<&str> = REPORT_KEYS.iter().chain(SPECIAL_KEYS).copied().collect();
                fail(
                    key,
                    format!("one of {}", known.join(", ")),
                    "unknown expect key".into(),
                );
            }
        }
    }
}

#[test]
fn corpus_threads_give_the_expected_reports() {
    let rules = imap_triage::rules_dir::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .unwrap_or_else(|e| panic!("the shipped rules must load:\n{e}"));
    let files = corpus_files();
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let case = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        match case {
            Ok(case) => check(&rules, &name, &case, &mut mismatches),
            Err(e) => mismatches.push(Mismatch {
                file: name,
                key: "(file)".into(),
                expected: "readable JSON".into(),
                got: e,
            }),
        }
    }

    let failed_files: std::collections::BTreeSet<&str> =
        mismatches.iter().map(|m| m.file.as_str()).collect();
    let mut summary = format!(
        "corpus: {} files, {} pass, {} fail ({} mismatches)\n",
        files.len(),
        files.len() - failed_files.len(),
        failed_files.len(),
        mismatches.len()
    );
    for m in &mismatches {
        let _ = writeln!(
            summary,
            "  {}: {}: expected {}, got {}",
            m.file, m.key, m.expected, m.got
        );
    }
    assert!(
        files.len() >= MIN_CASES,
        "the corpus needs at least {MIN_CASES} threads, found {}",
        files.len()
    );
    let real = files
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|c| {
                    c.get("source")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.starts_with("https://"))
                })
        })
        .count();
    assert!(
        real >= MIN_REAL_CASES,
        "the corpus needs at least {MIN_REAL_CASES} threads adapted from real reports (with a source URL), found {real}"
    );
    assert!(mismatches.is_empty(), "{summary}");
}
