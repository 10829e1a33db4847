//! What can be checked of the image without a Docker engine (none runs here or in CI): the
//! commands the Dockerfile runs exist in the binary, the settings it fixes are real settings,
//! the rules and data paths line up, and it runs as a non-root user. hadolint lints the rest
//! (scripts/lint-docker).

use std::path::{Path, PathBuf};
use std::process::Command;

use imap_triage::config::Config;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One instruction of the final stage: the keyword, upper-cased, and its arguments.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// The instructions of the final stage (after the last `FROM`), continuation lines joined and
/// comments dropped.
fn final_stage() -> Vec<Instruction> {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("read Dockerfile");
    let mut logical: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let instructions: Vec<Instruction> = logical
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (keyword, args) = l.trim().split_once(char::is_whitespace).unwrap_or((l, ""));
            Instruction {
                keyword: keyword.to_uppercase(),
                args: args.trim().to_string(),
            }
        })
        .collect();
    let last_from = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("a FROM");
    instructions.into_iter().skip(last_from + 1).collect()
}

fn only(stage: &[Instruction], keyword: &str) -> String {
    let found: Vec<&Instruction> = stage.iter().filter(|i| i.keyword == keyword).collect();
    assert_eq!(found.len(), 1, "expected one {keyword} in the final stage");
    found[0].args.clone()
}

/// An exec-form (JSON array) argument list.
fn exec_form(args: &str, what: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|e| panic!("{what} must be in exec form (a JSON array): {args}: {e}"))
}

/// `KEY=value` pairs of every ENV in the final stage (unquoted values, as this Dockerfile has).
fn env(stage: &[Instruction]) -> Vec<(String, String)> {
    stage
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| {
            i.args
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("ENV in KEY=value form: {pair}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn env_value(stage: &[Instruction], key: &str) -> String {
    env(stage)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("the image sets {key}"))
}

/// Runs the binary with `args`; panics unless it exits 0.
fn run_ok(args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(args)
        .output()
        .expect("run imap-triage");
    assert!(
        out.status.success(),
        "imap-triage {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command line the image runs, checked by running it with `--help` appended: the subcommand
/// exists and takes the arguments given.
fn assert_subcommand_exists(command: &[String], what: &str) {
    assert_eq!(
        command.first().map(String::as_str),
        Some("imap-triage"),
        "{what} runs the binary: {command:?}"
    );
    assert!(command.len() >= 2, "{what} names a subcommand: {command:?}");
    let mut args = command[1..].to_vec();
    args.push("--help".to_string());
    let help = run_ok(&args);
    assert!(help.contains("Usage: imap-triage"), "{what}: {help}");
}

#[test]
fn entrypoint_and_cmd_run_an_existing_subcommand() {
    let stage = final_stage();
    let entrypoint = exec_form(&only(&stage, "ENTRYPOINT"), "ENTRYPOINT");
    let cmd = exec_form(&only(&stage, "CMD"), "CMD");
    assert_eq!(entrypoint, ["imap-triage"]);
    assert_eq!(cmd, ["run"], "the image starts the bot by default");
    let command: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    assert_subcommand_exists(&command, "ENTRYPOINT + CMD");
}

#[test]
fn the_healthcheck_runs_the_health_subcommand() {
    let stage = final_stage();
    let healthcheck = only(&stage, "HEALTHCHECK");
    let (options, command) = healthcheck
        .split_once("CMD ")
        .expect("HEALTHCHECK ... CMD [...]");
    for option in ["--interval=", "--timeout=", "--start-period=", "--retries="] {
        assert!(options.contains(option), "HEALTHCHECK sets {option}");
    }
    let command = exec_form(command.trim(), "HEALTHCHECK CMD");
    assert_eq!(command, ["imap-triage", "health"]);
    assert_subcommand_exists(&command, "HEALTHCHECK");
}

#[test]
fn the_image_settings_are_real_settings() {
    let stage = final_stage();
    let settings: Vec<(String, String)> = env(&stage)
        .into_iter()
        .filter(|(k, _)| k.starts_with("IMAP_TRIAGE_"))
        .collect();
    assert!(!settings.is_empty());
    // A misspelt variable is an "unknown key" error here, as it would be in the container.
    let config = Config::from_sources("Dockerfile", "", settings)
        .unwrap_or_else(|e| panic!("the image's settings: {e}"));
    let store = config.store.path.display().to_string();
    let volumes = exec_form(&only(&stage, "VOLUME"), "VOLUME");
    assert!(
        volumes.contains(&store),
        "the store {store} is a volume: {volumes:?}"
    );
    let rules = config
        .rules
        .path
        .expect("the image names its rules directory");
    let copies_rules = stage.iter().any(|i| {
        i.keyword == "COPY"
            && i.args.split_whitespace().next() == Some("rules/")
            && Path::new(i.args.split_whitespace().last().unwrap_or_default()) == rules
    });
    assert!(copies_rules, "the shipped rules are copied to {rules:?}");
}

#[test]
fn the_image_runs_as_a_non_root_user() {
    let user = only(&final_stage(), "USER");
    let name = user.split(':').next().unwrap_or_default();
    assert!(
        !name.is_empty() && name != "root" && name != "0",
        "USER {user}"
    );
}

#[test]
fn the_image_settings_pass_the_health_check() {
    // The image's settings, with its paths mapped to this checkout, and the Discord settings an
    // operator passes at `docker run`.
    let stage = final_stage();
    let store = tempfile::tempdir().unwrap();
    assert_eq!(env_value(&stage, "IMAP_TRIAGE_STORE__PATH"), "/data");
    assert!(env_value(&stage, "IMAP_TRIAGE_RULES__PATH").starts_with('/'));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    cmd.arg("health");
    for (var, _) in std::env::vars() {
        if var.starts_with("IMAP_TRIAGE_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd
        .env("IMAP_TRIAGE_STORE__PATH", store.path())
        .env("IMAP_TRIAGE_RULES__PATH", root().join("rules"))
        .env("IMAP_TRIAGE_DISCORD__TOKEN", "t0ken")
        .env("IMAP_TRIAGE_DISCORD__FORUM_CHANNELS", "[1]")
        .env("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", "2")
        .env("IMAP_TRIAGE_DISCORD__MOD_LOG_CHANNEL", "3")
        .output()
        .expect("run imap-triage health");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_build_context_keeps_what_the_build_needs() {
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect("read .dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // src/ and rules/ (embedded at build time), the manifest and lock (--locked), benches/ (a
    // declared target that cargo wants to see) and testkit/ (a workspace member).
    for needed in [
        "src",
        "rules",
        "Cargo.toml",
        "Cargo.lock",
        "benches",
        "testkit",
    ] {
        assert!(
            !patterns
                .iter()
                .any(|p| *p == needed || *p == format!("{needed}/") || *p == "*"),
            ".dockerignore drops {needed}"
        );
    }
    for heavy in ["target", ".git", "fuzz"] {
        assert!(patterns.contains(&heavy), ".dockerignore keeps out {heavy}");
    }
}
