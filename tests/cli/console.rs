//! `imap-triage console` driven through stdin, checking the transcript: the README's "run it"
//! command, with the default store and the shipped rules, and no token.

use std::process::Command;

use testkit::run_with_input;

fn console(dir: &std::path::Path, input: &str) -> (i32, String) {
    let out = run_with_input(
        testkit::without_domain_lookups(&mut Command::new(env!("CARGO_BIN_EXE_imap-triage")))
            .arg("console")
            .current_dir(dir)
            .env_remove("IMAP_TRIAGE_DISCORD__TOKEN"),
        input.as_bytes(),
    );
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_whole_case_in_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let input = "\
I keep getting IMAP authentication error. My email is ann@acme-widgets.com
/attach screenshot.png
my password is Tr0ub4dor&3xyz
Hub ID: 4821937
/check typed_credentials typed_servers verified_credentials confirmed_with_provider
/mod status
/mod resolve the member created an app password
/quit
this line is after quit
";
    let (code, out) = console(dir.path(), input);
    assert_eq!(code, 0, "{out}");
    // One status message, then edits of it.
    let status_id = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("── bot posts message ")
                .and_then(|rest| rest.strip_suffix(" ──"))
        })
        .expect("a status message")
        .to_string();
    assert_eq!(
        out.matches("── bot posts message ").count(),
        4,
        "status, password warning, escalation, resolution: {out}"
    );
    assert!(
        out.matches(&format!("── bot edits message {status_id} ──"))
            .count()
            >= 3,
        "{out}"
    );
    assert!(out.contains("[menu] ☐ typed_credentials"), "{out}");
    assert!(out.contains("☑ confirmed_with_provider"), "{out}");
    // The password: deleted, warned about, never echoed.
    assert!(out.contains("── bot deletes message"), "{out}");
    assert!(out.contains("@member 🔒"), "{out}");
    assert!(!out.contains("Tr0ub4dor"), "{out}");
    // Complete: escalated once, with the summary in the mod log.
    assert_eq!(out.matches("@moderators").count(), 1, "{out}");
    assert!(out.contains("── mod log ──"), "{out}");
    assert!(
        out.contains("Hub ID: 4821937 · provider: - · error: imap_auth_error"),
        "{out}"
    );
    assert!(out.contains("── tag: escalated ──"), "{out}");
    // Moderator commands.
    assert!(
        out.contains("(only you see this) State: escalated"),
        "{out}"
    );
    assert!(
        out.contains("✅ Marked as resolved by a moderator: the member created an app password"),
        "{out}"
    );
    assert!(out.contains("── tag: resolved ──"), "{out}");
    // The store was created in the working directory.
    assert!(dir.path().join("data").is_dir());
}

#[test]
fn end_of_input_exits_zero_and_bad_commands_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = console(dir.path(), "/frobnicate\n/mod\n/attach\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unknown command /frobnicate"), "{out}");
    assert!(out.contains("What should I do?"), "{out}");
    assert!(out.contains("usage: /attach FILE"), "{out}");
}

#[test]
fn a_locked_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = imap_triage::store::SledLog::open(&dir.path().join("data")).unwrap();
    let (code, out) = console(dir.path(), "hello\n");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("locked"), "{out}");
}
