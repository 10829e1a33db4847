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
fn finding_messages_are_checked_like_the_replies() {
    let findings = std::fs::read_to_string(shipped().join("findings.toml")).unwrap();
    let broken = findings.replace("(null MX).", "(null MX, {mx}).") + "\nno_such_finding = \"x\"\n";
    let line = broken
        .lines()
        .position(|l| l.starts_with("null_mx ="))
        .map(|i| i + 1)
        .expect("null_mx line");
    let dir = pack_with("findings.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains(&format!(
            "findings.toml:{line}: rule `null_mx`: unknown placeholder {{mx}}; allowed: {{domain}}"
        )),
        "{out}"
    );
    assert!(
        out.contains("rule `no_such_finding`: unknown finding message"),
        "{out}"
    );

    let without: String = findings
        .lines()
        .filter(|l| !l.starts_with("no_mx ="))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = pack_with("findings.toml", &without);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains("findings.toml: rule `no_mx`: finding message is missing"),
        "{out}"
    );
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

#[test]
fn reading_rules_are_validated_by_line_and_key() {
    let reading = std::fs::read_to_string(shipped().join("reading.toml")).unwrap();
    // A label with no fixed word to search for first, a broken zone regex, a URL without `id`.
    let mut broken = reading.clone();
    for (from, to) in [
        ("  'hubid',\n", "  '\\d+ hubid',\n"),
        ("'(?i)cheers[,!.]?", "'(?i)cheers[,!.?"),
        ("(?P<id>\\d{4,10})(?:[/?#", "(\\d{4,10})(?:[/?#"),
    ] {
        assert!(broken.contains(from), "{from} is in the shipped file");
        broken = broken.replace(from, to);
    }
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let dir = pack_with("reading.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    for (needle, key, why) in [
        (
            "'\\d+ hubid'",
            "hub_id.labels",
            "must begin with a fixed word",
        ),
        ("cheers[,!.?", "zones.signature_start", "invalid regex"),
        (
            "(\\d{4,10})(?:[/?#",
            "hub_id.app_urls",
            "needs a group named `id`",
        ),
    ] {
        let at = format!("reading.toml:{}: rule `{key}`", line_of(needle));
        assert!(
            out.contains(&at) && out.contains(why),
            "{at} / {why}:\n{out}"
        );
    }
}

/// The email-domain word lists are data too: an entry that can never match (upper case, a
/// space, listed twice) names its file, key and line.
#[test]
fn email_domain_words_are_validated_by_line_and_key() {
    let reading = std::fs::read_to_string(shipped().join("reading.toml")).unwrap();
    let mut broken = reading.clone();
    for (from, to) in [
        ("\"yourname\", ", "\"Your Name\", "),
        ("\"hs-inbox.com\"", "\"hs inbox.com\""),
        ("\"googlemail.com\", ", "\"gmail.com\", "),
    ] {
        assert!(broken.contains(from), "{from} is in the shipped file");
        broken = broken.replacen(from, to, 1);
    }
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let dir = pack_with("reading.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    for (needle, key, why) in [
        (
            "\"Your Name\"",
            "email_domain.placeholder_local_parts",
            "must be lower case",
        ),
        (
            "\"hs inbox.com\"",
            "email_domain.vendor_domains",
            "holds a character",
        ),
        (
            "example_domains = [",
            "email_domain.example_domains",
            "is listed twice",
        ),
    ] {
        let line = if key == "email_domain.example_domains" {
            line_of(needle) + 1
        } else {
            line_of(needle)
        };
        let at = format!("reading.toml:{line}: rule `{key}`");
        assert!(
            out.contains(&at) && out.contains(why),
            "{at} / {why}:\n{out}"
        );
    }
}

/// Hub ID labels are data: a label added to `reading.toml` is read by the next run, without
/// recompiling, and the search words are derived from it.
#[test]
fn an_operator_added_hub_id_label_is_read() {
    let reading = std::fs::read_to_string(shipped().join("reading.toml")).unwrap();
    let post = "Kundennummer: 48213377\nIMAP fails with a timeout";
    let hub = |dir: &Path| {
        triage_with_rules(dir, post)["hub_id"]
            .as_str()
            .map(str::to_string)
    };
    let shipped_pack = pack_with("reading.toml", &reading);
    assert_eq!(hub(shipped_pack.path()), None);
    let added = reading.replace("  'hubid',\n", "  'hubid',\n  'kundennummer',\n");
    let edited_pack = pack_with("reading.toml", &added);
    assert_eq!(hub(edited_pack.path()).as_deref(), Some("48213377"));
}

/// The finding texts are data for `probe` and `discover` too: `--rules DIR` words their findings
/// (the policy refusal needs no network), and a broken pack is refused before anything runs.
#[test]
fn probe_and_discover_take_the_operators_rules() {
    let findings = std::fs::read_to_string(shipped().join("findings.toml")).unwrap();
    let reworded = findings.replace(
        "it points to a private or internal address, which the bot never connects to",
        "it is an internal address (operator wording)",
    );
    assert_ne!(
        reworded, findings,
        "the shipped wording changed; update this test"
    );
    let pack = pack_with("findings.toml", &reworded);
    let probe = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .args(["probe", "--imap", "10.0.0.1:993", "--rules"])
            .arg(dir)
            .output()
            .expect("run imap-triage probe");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let said = probe(pack.path());
    assert!(said.contains("(operator wording)"), "{said}");
    let said = probe(&shipped());
    assert!(
        !said.contains("(operator wording)") && said.contains("never connects to"),
        "{said}"
    );

    let broken = pack_with("findings.toml", "timeout = \"unclosed {placeholder\"\n");
    for command in [
        vec!["probe", "--imap", "10.0.0.1:993", "--rules"],
        vec!["discover", "example.com", "--rules"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .args(&command)
            .arg(broken.path())
            .output()
            .expect("run imap-triage");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("findings.toml"), "{command:?}: {stderr}");
    }
}

#[test]
fn host_and_secret_words_are_validated_by_line_and_key() {
    let reading = std::fs::read_to_string(shipped().join("reading.toml")).unwrap();
    let mut broken = reading.clone();
    for (from, to) in [
        (
            "webmail_domains = [\n  \"outlook.com\"",
            "webmail_domains = [\n  \"outlook com\"",
        ),
        ("\"hubspot.net\"", "\"HubSpot.net\""),
        ("\"changeme\"", "\"change me\""),
        ("\"okey\"", "\"okey.\""),
        ("\"hint\", ", "\"hash\", "),
    ] {
        assert!(broken.contains(from), "{from} is in the shipped file");
        broken = broken.replacen(from, to, 1);
    }
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let dir = pack_with("reading.toml", &broken);
    let (code, out) = check(dir.path());
    assert_ne!(code, 0);
    for (needle, key, why) in [
        (
            "\"outlook com\"",
            "hosts.webmail_domains",
            "holds a character",
        ),
        (
            "\"HubSpot.net\"",
            "hosts.not_a_server",
            "must be lower case",
        ),
        ("\"change me\"", "secrets.placeholders", "holds a character"),
        ("\"okey.\"", "secrets.not_a_value", "would never match"),
        (
            "\"length\", \"strength\", \"hash\"",
            "secrets.not_a_value",
            "is listed twice",
        ),
    ] {
        let at = format!("reading.toml:{}: rule `{key}`", line_of(needle));
        assert!(
            out.contains(&at) && out.contains(why),
            "{at} / {why}:\n{out}"
        );
    }
}

/// The host and secret word lists are data: an operator's entry is read by the next run.
#[test]
fn an_operators_host_and_secret_words_are_read() {
    let reading = std::fs::read_to_string(shipped().join("reading.toml")).unwrap();
    let post = "IMAP settings incorrect, imap.kanzlei-roth.de:993, password: Hunter2x";
    let read = |dir: &Path| {
        let report = triage_with_rules(dir, post);
        (
            report["imap"]["host"].as_str().map(str::to_string),
            report["secrets"].as_array().map_or(0, Vec::len),
        )
    };
    let shipped_pack = pack_with("reading.toml", &reading);
    assert_eq!(
        read(shipped_pack.path()),
        (Some("imap.kanzlei-roth.de".to_string()), 1)
    );
    let added = reading
        .replacen(
            "\"discord.com\", ",
            "\"discord.com\", \"kanzlei-roth.de\", ",
            1,
        )
        .replacen("\"changeme\", ", "\"changeme\", \"hunter2x\", ", 1);
    assert_ne!(added, reading);
    let edited_pack = pack_with("reading.toml", &added);
    assert_eq!(read(edited_pack.path()), (None, 0));
}

/// `imap-triage triage --json --rules DIR -` on `post`: the report the operator's rules give.
fn triage_with_rules(dir: &Path, post: &str) -> serde_json::Value {
    let out = testkit::run_with_input(
        Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .args(["triage", "--json", "--rules"])
            .arg(dir)
            .arg("-"),
        post.as_bytes(),
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}
