use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::*;
use crate::probe::policy::DEFAULT_PORTS;
use crate::ticket::TicketState;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources("test.toml", text, env(vars))
}

const FULL: &str = r#"
[discord]
token = "secret-token-value"
api_base = "http://127.0.0.1:4567"
forum_channels = [111]
text_channels = []
moderator_role = 222
mod_log_channel = 333
[store]
path = "data"
[probe]
allow_private = false
"#;

#[test]
fn the_documented_example_loads() {
    let config = load(FULL, &[]).unwrap();
    let discord = config.discord().unwrap();
    assert_eq!(discord.token.expose(), "secret-token-value");
    assert_eq!(discord.api_base.as_deref(), Some("http://127.0.0.1:4567"));
    assert_eq!(discord.forum_channels, BTreeSet::from([111]));
    assert!(discord.text_channels.is_empty());
    assert_eq!(discord.moderator_role, 222);
    assert_eq!(discord.mod_log_channel, 333);
    assert_eq!(discord.tags.name(TicketState::Escalated), "Escalated");
    assert_eq!(config.store.path, PathBuf::from("data"));
    assert!(!config.probe.allow_private);
    assert_eq!(config.lifecycle, LifecycleConfig::default());
}

#[test]
fn store_only_is_valid_but_run_names_the_missing_key() {
    let config = load("[store]\npath = \"/var/lib/triage\"\n", &[]).unwrap();
    assert_eq!(config.store.path, PathBuf::from("/var/lib/triage"));
    let err = config.discord().unwrap_err().to_string();
    assert!(err.starts_with("config: discord.token: missing"), "{err}");
    assert!(err.contains("IMAP_TRIAGE_DISCORD__TOKEN"), "{err}");

    let partial = "[discord]\ntoken = \"t\"\nforum_channels = [1]\nmoderator_role = 2\n";
    let err = load(partial, &[])
        .unwrap()
        .discord()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("config: discord.mod_log_channel: missing"),
        "{err}"
    );
}

#[test]
fn defaults_when_nothing_is_given() {
    let config = load("", &[]).unwrap();
    assert!(config.discord.is_none());
    assert_eq!(config.store.path, PathBuf::from("data"));
    assert_eq!(config.probe, ProbeConfig::default());
    assert_eq!(
        config.probe.policy().allowed_ports,
        DEFAULT_PORTS.into_iter().collect()
    );
}

#[test]
fn env_overrides_parse_as_toml_values() {
    let config = load(
        FULL,
        &[
            ("IMAP_TRIAGE_DISCORD__TOKEN", "from.env.token"),
            ("IMAP_TRIAGE_DISCORD__FORUM_CHANNELS", "[444, 555]"),
            ("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", "666"),
            ("IMAP_TRIAGE_STORE__PATH", "/tmp/x"),
            ("IMAP_TRIAGE_PROBE__ALLOW_PRIVATE", "true"),
            ("IMAP_TRIAGE_DISCORD__TAGS__ESCALATED", "Needs staff"),
            ("UNRELATED", "ignored"),
        ],
    )
    .unwrap();
    let discord = config.discord().unwrap();
    assert_eq!(discord.token.expose(), "from.env.token");
    assert_eq!(discord.forum_channels, BTreeSet::from([444, 555]));
    assert_eq!(discord.moderator_role, 666);
    assert_eq!(discord.tags.escalated, "Needs staff");
    assert_eq!(config.store.path, PathBuf::from("/tmp/x"));
    assert!(config.probe.allow_private);
    assert!(config.probe.policy().allow_private);
}

#[test]
fn the_resolver_reaches_the_probe_policy() {
    let config = load("[probe]\nresolver = \"127.0.0.1:5353\"\n", &[]).unwrap();
    assert_eq!(
        config.probe.policy().resolver,
        Some(std::net::SocketAddr::from(([127, 0, 0, 1], 5353)))
    );
    let config = load("", &[("IMAP_TRIAGE_PROBE__RESOLVER", "\"[::1]:53\"")]).unwrap();
    assert!(config.probe.resolver.is_some_and(|a| a.is_ipv6()));
    let err = load("[probe]\nresolver = \"not an address\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("probe.resolver"), "{err}");
    assert_eq!(load("", &[]).unwrap().probe.policy().resolver, None);
}

#[test]
fn env_alone_makes_a_complete_discord_section() {
    let config = load(
        "",
        &[
            ("IMAP_TRIAGE_DISCORD__TOKEN", "t0k"),
            ("IMAP_TRIAGE_DISCORD__FORUM_CHANNELS", "[111]"),
            ("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", "222"),
            ("IMAP_TRIAGE_DISCORD__MOD_LOG_CHANNEL", "333"),
        ],
    )
    .unwrap();
    assert_eq!(config.discord().unwrap().mod_log_channel, 333);
}

#[test]
fn errors_are_one_line_and_name_the_key() {
    // (file text, environment, the error's start)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("[discord]\nmoderator_role = \"abc\"\n", &[], "config: discord.moderator_role: expected an integer"),
        ("[discord]\nforum_channels = 111\n", &[], "config: discord.forum_channels: expected an array"),
        ("[probe]\nallow_private = \"yes\"\n", &[], "config: probe.allow_private: expected a boolean"),
        ("[discord]\ncolour = 1\n", &[], "config: discord.colour: unknown key"),
        ("[storage]\npath = \"x\"\n", &[], "config: storage: unknown key"),
        ("[discord.tags]\nescalated = \"\"\n", &[], "config: discord.tags.escalated: a forum tag name"),
        ("[discord]\nmoderator_role = 0\n", &[], "config: discord.moderator_role: expected a Discord id"),
        ("[discord]\napi_base = \"127.0.0.1:1\"\n", &[], "config: discord.api_base: expected a URL"),
        ("[probe]\nallowed_ports = [993, 0]\n", &[], "config: probe.allowed_ports: 0 is not a port"),
        (
            "",
            &[("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", "mods")],
            "config: discord.moderator_role (from IMAP_TRIAGE_DISCORD__MODERATOR_ROLE): expected an integer",
        ),
        (
            "",
            &[("IMAP_TRIAGE_DISCORD__TOKN", "x")],
            "config: discord.tokn (from IMAP_TRIAGE_DISCORD__TOKN): unknown key",
        ),
        ("", &[("IMAP_TRIAGE_VERBOSE", "1")], "config: verbose (from IMAP_TRIAGE_VERBOSE): unknown key"),
        ("", &[("IMAP_TRIAGE_STORE____PATH", "x")], "config: IMAP_TRIAGE_STORE____PATH: expected"),
        ("[store]\npath = \"x\"\n", &[("IMAP_TRIAGE_STORE__PATH__DEEP", "x")], "config: store.path (from IMAP_TRIAGE_STORE__PATH__DEEP): is a value"),
        ("[discord\n", &[], "config: test.toml: line 1:"),
        ("[discord.automod]\nexempt_roles = [0]\n", &[], "config: discord.automod.exempt_roles: expected a Discord id"),
        ("[discord.automod]\nexempt_channel = [1]\n", &[], "config: discord.automod.exempt_channel: unknown key"),
    ];
    for (text, vars, expected) in cases {
        let err = load(text, vars).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "for {text:?} {vars:?}: got {err:?}, expected {expected:?}"
        );
        assert!(!err.contains('\n'), "multi-line error: {err:?}");
    }
}

#[test]
fn automod_exemptions_are_read_and_bounded_by_discords_limits() {
    let config = load(
        &format!("{FULL}[discord.automod]\nexempt_channels = [333, 444]\n"),
        &[("IMAP_TRIAGE_DISCORD__AUTOMOD__EXEMPT_ROLES", "[222]")],
    )
    .unwrap();
    let automod = config.discord().unwrap().automod;
    assert_eq!(automod.exempt_channels, [333, 444]);
    assert_eq!(automod.exempt_roles, [222]);
    assert_eq!(
        load(FULL, &[]).unwrap().discord().unwrap().automod,
        AutoModConfig::default()
    );

    let ids = |n: u64| {
        format!(
            "[{}]",
            (1..=n)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    // (key, the most Discord allows)
    for (key, max) in [
        ("exempt_channels", AutoModConfig::MAX_EXEMPT_CHANNELS),
        ("exempt_roles", AutoModConfig::MAX_EXEMPT_ROLES),
    ] {
        let at_limit = format!("[discord.automod]\n{key} = {}\n", ids(max as u64));
        assert!(load(&at_limit, &[]).is_ok(), "{key}: {max} is allowed");
        let over = format!("[discord.automod]\n{key} = {}\n", ids(max as u64 + 1));
        let err = load(&over, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "config: discord.automod.{key}: Discord allows at most {max}"
            )),
            "{err}"
        );
        let var = format!("IMAP_TRIAGE_DISCORD__AUTOMOD__{}", key.to_uppercase());
        let err = load("", &[(var.as_str(), ids(max as u64 + 1).as_str())])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("config: discord.automod.{key}")),
            "{err}"
        );
    }
}

#[test]
fn the_token_is_never_printed() {
    let config = load(FULL, &[]).unwrap();
    let printed = format!("{config:?} {:?}", config.discord().unwrap());
    assert!(!printed.contains("secret-token-value"), "{printed}");
    assert!(printed.contains("<redacted>"));
    // A token-like string in a wrong place is not quoted back either.
    let err = load("[discord]\nmoderator_role = \"secret-token-value\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("secret-token-value"), "{err}");
}

#[test]
fn log_metrics_and_tick_settings() {
    let config = load("", &[]).unwrap();
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.metrics.listen, None);
    assert_eq!(config.lifecycle.tick_secs, 60);
    let config = load(
        "[log]\nformat = \"json\"\n[metrics]\nlisten = \"127.0.0.1:9464\"\n[lifecycle]\ntick_secs = 5\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(
        config.metrics.listen,
        Some("127.0.0.1:9464".parse().unwrap())
    );
    assert_eq!(config.lifecycle.tick_secs, 5);
    let config = load("", &[("IMAP_TRIAGE_LOG__FORMAT", "json")]).unwrap();
    assert_eq!(config.log.format, LogFormat::Json);
    for (text, key) in [
        ("[log]\nformat = \"xml\"\n", "config: log.format"),
        (
            "[metrics]\nlisten = \"nowhere\"\n",
            "config: metrics.listen",
        ),
        (
            "[lifecycle]\ntick_secs = 0\n",
            "config: lifecycle.tick_secs",
        ),
    ] {
        let err = load(text, &[]).unwrap_err().to_string();
        assert!(err.starts_with(key), "{text:?}: {err}");
    }
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Config::load(Some(Path::new("/nonexistent/imap-triage.toml")))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("config: cannot read /nonexistent/imap-triage.toml"),
        "{err}"
    );
}
