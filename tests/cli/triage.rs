//! The `triage` command-line contract.

use std::process::{Command, Output};

use testkit::run_with_input;

fn triage(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    run_with_input(
        Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .arg("triage")
            .args(args),
        stdin.as_ref(),
    )
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn json_output_has_the_contract_keys() {
    let thread = r#"{"messages":[
        {"author":"member","author_id":"7","text":"IMAP authentication error. imap.gmail.com:993, smtp.gmail.com:587. me@gmail.com. Hub ID 4821937","attachments":[{"filename":"a.png","content_type":"image/png"}]},
        {"author":"moderator","text":"Hub ID 1234567 please"}]}"#;
    let v = json(&triage(&["--json", "-"], thread));
    for key in [
        "hub_id",
        "imap",
        "smtp",
        "email_domain",
        "provider",
        "error",
        "screenshots",
        "checklist",
        "missing",
        "secrets",
        "suspicious_hosts",
        "mismatches",
        "escalate",
        "evidence",
        "reply",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}: {v}");
    }
    assert_eq!(
        v["evidence"]["hub_id"],
        serde_json::json!({"message": 0, "zone": "prose", "excerpt": "… member@gmail.com. Hub ID 4821937"})
    );
    assert_eq!(v["evidence"]["error"]["message"], 0);
    assert_eq!(v["hub_id"], "4821937");
    assert_eq!(
        v["imap"],
        serde_json::json!({"host": "imap.gmail.com", "port": 993})
    );
    assert_eq!(
        v["smtp"],
        serde_json::json!({"host": "smtp.gmail.com", "port": 587})
    );
    assert_eq!(v["email_domain"], "gmail.com");
    assert_eq!(v["provider"], "gmail");
    assert_eq!(v["error"]["code"], "imap_auth_error");
    assert_eq!(v["screenshots"], 1);
    assert_eq!(v["missing"], serde_json::json!(["checklist"]));
    assert_eq!(
        v["checklist"],
        serde_json::json!({"typed_credentials": false, "typed_servers": false, "verified_credentials": false, "confirmed_with_provider": false})
    );
    assert!(v["reply"].as_str().unwrap().contains("Checklist"));
}

#[test]
fn explain_says_where_each_field_came_from() {
    let out = triage(
        &["--explain", "-"],
        "```\nIMAP_HOST=mail.kestrel-labs.io\nIMAP_PORT=993\n```\nHub ID 4821937. password: Gr8-Kestrel!pw",
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imap: mail.kestrel-labs.io:993"), "{text}");
    assert!(
        text.contains("from message 0 (config): \"IMAP_HOST=mail.kestrel-labs.io\""),
        "{text}"
    );
    assert!(text.contains("hub_id: 4821937"), "{text}");
    assert!(text.contains("smtp: not found"), "{text}");
    assert!(text.contains("secret: a password in message 0"), "{text}");
    assert!(!text.contains("Gr8-Kestrel"), "{text}");
}

#[test]
fn plain_text_is_one_member_message() {
    let v = json(&triage(
        &["--json", "-"],
        "my password is Sup3rS3cret99 and hub id 998877",
    ));
    assert_eq!(v["hub_id"], "998877");
    assert_eq!(
        v["secrets"],
        serde_json::json!([{"kind": "password", "message": 0}])
    );
    let all = serde_json::to_string(&v).unwrap();
    assert!(!all.contains("Sup3rS3cret99"));
}

#[test]
fn readable_report_without_json() {
    let out = triage(&["-"], "Hub ID 4821937\npassword: Sup3rS3cret99");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Hub ID:       4821937"), "{text}");
    assert!(text.contains("a password in message 0"), "{text}");
    assert!(!text.contains("Sup3rS3cret99"));
}

#[test]
fn reads_a_file_argument() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thread.txt");
    std::fs::write(&path, "Hub ID 4821937").unwrap();
    let v = json(&triage(&["--json", path.to_str().unwrap()], ""));
    assert_eq!(v["hub_id"], "4821937");
}

#[test]
fn bad_input_is_one_line_on_stderr_with_exit_2() {
    for (args, stdin) in [
        (vec!["--json", "-"], "{\"messages\": [}"),
        (
            vec!["--json", "-"],
            "{\"messages\": [{\"author\": \"alien\", \"text\": \"x\"}]}",
        ),
        (vec!["--json", "/nonexistent/thread.json"], ""),
        (vec!["--rules", "/nonexistent", "-"], "hi"),
    ] {
        let out = triage(&args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn invalid_utf8_is_not_lost() {
    let v = json(&triage(
        &["--json", "-"],
        b"Hub ID 4821937 \xff\xfe imap.acme.com:993",
    ));
    assert_eq!(v["hub_id"], "4821937");
    assert_eq!(v["imap"]["host"], "imap.acme.com");
}
