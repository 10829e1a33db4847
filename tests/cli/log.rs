//! `imap-triage log ...` against a store filled by the console.

use std::process::{Command, Output};

use testkit::run_with_input;

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    testkit::without_domain_lookups(&mut command);
    command
}

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run imap-triage")
}

fn fill(dir: &std::path::Path, thread: &str, input: &str) {
    let out = run_with_input(
        bin().args(["console", "--thread", thread]).current_dir(dir),
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn list_show_export_stats_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), "11", "IMAP authentication error. Hub ID 4821937\n/attach s.png\n/check typed_credentials typed_servers verified_credentials confirmed_with_provider\n");
    fill(dir.path(), "22", "SMTP settings incorrect, my email is bo@yahoo.com\n/mod resolve fixed with the right port\n");

    let list = run(dir.path(), &["log", "list"]);
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "thread\tstatus\tcreated_at\thub_id\tprovider\terror_code\tmissing\ttitle"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("11\tescalated\t") && l.contains("\t4821937\t")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("22\tresolved\t")
                && l.contains("\tyahoo\tsmtp_settings_incorrect\t")),
        "{text}"
    );

    let filtered = run(dir.path(), &["log", "list", "--hub-id", "4821937"]);
    assert_eq!(String::from_utf8_lossy(&filtered.stdout).lines().count(), 2);
    // A Hub ID filter that can't be one is a bad argument, said as such, not "no cases".
    let refused = run(dir.path(), &["log", "list", "--hub-id", "48-21"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("a Hub ID is 4 to 10 digits"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let filtered = run(
        dir.path(),
        &["log", "export", "--format", "jsonl", "--status", "resolved"],
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&filtered.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["thread"], 22);
    assert_eq!(rows[0]["email_domain"], "yahoo.com");
    let csv = run(
        dir.path(),
        &["log", "export", "--format", "csv", "--since", "2000-01-01"],
    );
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("thread,status,created_at,"), "{csv}");
    assert_eq!(csv.lines().count(), 3);
    let future = run(
        dir.path(),
        &["log", "export", "--format", "csv", "--since", "2999-01-01"],
    );
    assert_eq!(
        String::from_utf8_lossy(&future.stdout).lines().count(),
        1,
        "header only"
    );

    let show = run(dir.path(), &["log", "show", "22"]);
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains("status:       resolved"), "{show}");
    assert!(
        show.contains("\"event\":\"resolved\"") && show.contains("fixed with the right port"),
        "{show}"
    );

    let stats = run(dir.path(), &["log", "stats", "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["tickets"], 2);
    assert_eq!(stats["by_status"]["escalated"], 1);
    assert_eq!(stats["by_error_code"]["imap_auth_error"], 1);
    assert_eq!(stats["by_provider"]["yahoo"], 1);
    assert!(stats["median_first_reply_secs"].is_u64());

    let purge = run(dir.path(), &["log", "purge", "--older-than-days", "0"]);
    let purge_out = String::from_utf8_lossy(&purge.stdout);
    assert!(purge.status.success(), "{purge_out}");
    // The resolved case was updated "now", not before now: nothing older than 0 days yet
    // unless the clock moved; either way the escalated (open) case is never purged.
    let list = run(dir.path(), &["log", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("11\tescalated"));
}

#[test]
fn bad_arguments_and_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["log", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
    let out = run(dir.path(), &["log", "list", "--status", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        dir.path(),
        &["log", "export", "--format", "csv", "--since", "yesterday"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a date"));
}

#[test]
fn a_config_with_only_a_store_section_is_enough() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "[store]\npath = \"elsewhere\"\n").unwrap();
    fill(dir.path(), "33", "hello\n");
    // The console wrote to ./data; the config points elsewhere, where there is no store yet.
    let out = run(
        dir.path(),
        &["log", "list", "--config", config.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("elsewhere"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_with_input(
        bin()
            .args(["console", "--config", config.to_str().unwrap()])
            .current_dir(dir.path()),
        b"hello again\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        dir.path(),
        &["log", "list", "--config", config.to_str().unwrap()],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}
