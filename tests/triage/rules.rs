//! The rules pack: the shipped one is valid; broken ones are rejected with file, line and rule.

use std::path::{Path, PathBuf};
use std::process::Command;

use imap_triage::core::rules::{self, REQUIRED_ERROR_CODES, REQUIRED_PROVIDERS};
use imap_triage::rules_dir;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// A temp copy of the shipped rules with one file replaced.
fn pack_with(file: &str, contents: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in rules::FILES {
        let text = std::fs::read_to_string(shipped().join(name)).expect("shipped rule file");
        std::fs::write(dir.path().join(name), text).expect("write rule file");
    }
    std::fs::write(dir.path().join(file), contents).expect("write broken file");
    dir
}

fn check(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(["rules", "check"])
        .arg(dir)
        .output()
        .expect("run imap-triage");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn shipped_rules_load_and_define_every_required_id() {
    let rules = rules_dir::load(&shipped()).expect("shipped rules are valid");
    for code in REQUIRED_ERROR_CODES {
        let rule = rules
            .error(code)
            .unwrap_or_else(|| panic!("missing error {code}"));
        assert!(
            !rule.next_steps.is_empty() && !rule.diagnosis.is_empty(),
            "{code}"
        );
        assert!(
            code == "unknown" || !rule.patterns.is_empty(),
            "{code} has patterns"
        );
    }
    for id in REQUIRED_PROVIDERS {
        assert!(rules.provider(id).is_some(), "missing provider {id}");
    }
    assert_eq!(rules.checklist.items.len(), 4);
    // The embedded copy is the same pack.
    let embedded = rules_dir::embedded().expect("embedded rules are valid");
    assert_eq!(embedded.errors.len(), rules.errors.len());
    assert_eq!(embedded.providers.len(), rules.providers.len());
}

#[test]
fn rules_check_accepts_the_shipped_pack() {
    let (code, out) = check(&shipped());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn bad_regex_names_file_line_and_rule() {
    let errors = std::fs::read_to_string(shipped().join("errors.toml")).unwrap();
    // Break the first pattern of the `timeout` rule.
    let at = errors.find("id = \"timeout\"").expect("timeout rule");
    let patterns = at + errors[at..].find("patterns = [").unwrap();
    let first_quote = patterns + errors[patterns..].find('\'').unwrap();
    let mut broken = errors.clone();
    broken.insert_str(first_quote + 1, "(unclosed");
    let expected_line =
        broken[..first_quote].lines().count() + usize::from(broken[..first_quote].ends_with('\n'));
    let dir = pack_with("errors.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("errors.toml"), "{out}");
    assert!(out.contains("rule `timeout`"), "{out}");
    assert!(
        out.contains(&format!("errors.toml:{expected_line}:")),
        "line {expected_line}: {out}"
    );
    assert!(out.contains("invalid regex"), "{out}");
}

#[test]
fn unknown_keys_and_toml_syntax_are_rejected() {
    let dir = pack_with("checklist.toml", "negation = 'no'\ncolour = 'red'\n");
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("checklist.toml:2"), "{out}");
    assert!(out.contains("colour"), "{out}");

    let dir = pack_with("providers.toml", "[[provider]\nid = 'x'\n");
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("providers.toml:1"), "{out}");
}

#[test]
fn missing_required_ids_and_references_are_reported() {
    let errors = std::fs::read_to_string(shipped().join("errors.toml")).unwrap();
    let renamed = errors.replace("id = \"too_many_connections\"", "id = \"too_many\"");
    let dir = pack_with("errors.toml", &renamed);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains("rule `too_many_connections`: required error code is not defined"),
        "{out}"
    );
}

#[test]
fn unknown_template_placeholder_is_rejected() {
    let replies = std::fs::read_to_string(shipped().join("replies.toml")).unwrap();
    let broken = replies.replace("{provider}'s documented", "{providr}'s documented");
    let dir = pack_with("replies.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("rule `suggest_settings`"), "{out}");
    assert!(out.contains("{providr}"), "{out}");
}

#[test]
fn missing_file_and_missing_dir_are_clear() {
    let dir = pack_with("errors.toml", "");
    std::fs::remove_file(dir.path().join("replies.toml")).unwrap();
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains("replies.toml") && out.contains("cannot read"),
        "{out}"
    );

    let (code, out) = check(Path::new("/nonexistent/rules"));
    assert_ne!(code, 0);
    assert!(out.contains("not a directory"), "{out}");
}
