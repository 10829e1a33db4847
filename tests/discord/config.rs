//! `imap-triage run` and its settings, through the real binary: a bad or missing setting is one
//! line naming the key, exit code 2, and the token is never printed.

use std::process::{Command, Output};

fn run(config: Option<&str>, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    command.arg("run");
    if let Some(text) = config {
        let path = dir.path().join("imap-triage.toml");
        std::fs::write(&path, text).expect("write config");
        command.arg("--config").arg(path);
    }
    // Only the variables this test sets: none inherited from the developer's shell.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("IMAP_TRIAGE_")) {
        command.env_remove(key);
    }
    command.envs(env.iter().copied());
    command.output().expect("run imap-triage")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const TOKEN: &str = "MTIzNDU2Nzg5.secret-token-value";

#[test]
fn a_bad_setting_is_one_line_naming_the_key_with_exit_code_2() {
    // (file text, environment, the error's start)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            "[discord]\ntoken = \"x\"\nforum_channels = [111]\nmoderator_role = \"mods\"\nmod_log_channel = 333\n",
            &[],
            "config: discord.moderator_role: expected an integer",
        ),
        ("[store]\npath = \"data\"\n", &[], "config: discord.token: missing"),
        (
            "[discord]\ntoken = \"x\"\nforum_channels = [111]\nmoderator_role = 222\n",
            &[],
            "config: discord.mod_log_channel: missing",
        ),
        ("[discord]\ntokn = \"x\"\n", &[], "config: discord.tokn: unknown key"),
        (
            "[store]\npath = \"data\"\n",
            &[("IMAP_TRIAGE_DISCORD__FORUM_CHANNELS", "111")],
            "config: discord.forum_channels (from IMAP_TRIAGE_DISCORD__FORUM_CHANNELS): expected an array",
        ),
        (
            "[discord]\ntoken = \"x\"\nforum_channels = [111]\nmoderator_role = 222\nmod_log_channel = 333\n",
            &[(
                "IMAP_TRIAGE_DISCORD__AUTOMOD__EXEMPT_ROLES",
                "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]",
            )],
            "config: discord.automod.exempt_roles: Discord allows at most 20",
        ),
    ];
    for (text, env, expected) in cases {
        let output = run(Some(text), env);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{text:?}: {err}");
        assert!(
            err.starts_with(expected),
            "{text:?}: got {err:?}, expected {expected:?}"
        );
    }
}

#[test]
fn a_missing_config_file_is_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(["run", "--config", "/nonexistent/imap-triage.toml"])
        .output()
        .expect("run imap-triage");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("config: cannot read /nonexistent/imap-triage.toml"));
}

#[test]
fn the_token_is_never_printed() {
    // From the file, then from the environment; each run fails on another key.
    let file =
        format!("[discord]\ntoken = \"{TOKEN}\"\nforum_channels = [111]\nmoderator_role = 222\n");
    let output = run(Some(&file), &[]);
    assert_eq!(output.status.code(), Some(2));
    let env = [
        ("IMAP_TRIAGE_DISCORD__TOKEN", TOKEN),
        ("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", TOKEN),
    ];
    let output2 = run(None, &env);
    assert_eq!(output2.status.code(), Some(2));
    for output in [output, output2] {
        let all = format!(
            "{}{}",
            stderr(&output),
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            !all.contains(TOKEN) && !all.contains("secret-token"),
            "{all}"
        );
        assert!(all.starts_with("config: discord."), "{all}");
    }
}

/// A config with only `[store]` is a valid config (for `console` and `log`); only `run` needs
/// `[discord]`.
#[test]
fn store_only_config_loads() {
    let config = imap_triage::config::Config::from_sources(
        "t.toml",
        "[store]\npath = \"/srv/triage\"\n",
        std::iter::empty(),
    )
    .expect("valid");
    assert_eq!(config.store.path, std::path::PathBuf::from("/srv/triage"));
    assert!(config.discord().is_err());
}
