//! Settings: a TOML file overridden by `IMAP_TRIAGE_<SECTION>__<KEY>` environment variables,
//! layered by figment.
//!
//! Purpose: parse once, at the edge, into checked types. Unknown keys are errors (from the file
//! and from the environment alike), every error is one line naming the key, and the bot token is
//! never printed. `[discord]` is optional at load time so that `console` and `log` work with a
//! config holding only `[store]`; `run` asks for [`Config::discord`], which checks that every
//! key the bot needs is there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::error::{Actual, Kind};
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use serde::Deserialize;

use crate::probe::policy::{Policy, RateLimit, DEFAULT_PORTS};
use crate::ticket::TicketState;

/// The prefix of every settings variable; `__` separates the nesting levels.
pub const ENV_PREFIX: &str = "IMAP_TRIAGE_";

/// A setting that could not be used. `Display` is one line naming the key; the CLI prints it and
/// exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config: cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config: {path}: line {line}: {reason}")]
    Syntax {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("config: {var}: {reason}")]
    Env { var: String, reason: String },
    /// A key with a bad or missing value. `key` is dotted (`discord.moderator_role`); `from_env`
    /// names the variable when the value came from the environment.
    #[error("config: {key}{}: {reason}", source_suffix(.from_env))]
    Key {
        key: String,
        from_env: Option<String>,
        reason: String,
    },
}

fn source_suffix(source: &Option<String>) -> String {
    match source {
        Some(var) => format!(" (from {var})"),
        None => String::new(),
    }
}

impl ConfigError {
    fn key(key: &str, reason: impl Into<String>) -> Self {
        ConfigError::Key {
            key: key.to_string(),
            from_env: None,
            reason: reason.into(),
        }
    }
}

/// The bot token. Never printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that sends it (the HTTP client).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything in the settings file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Optional at load time: only `run` needs it (see [`Config::discord`]).
    pub discord: Option<DiscordSection>,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub probe: ProbeConfig,
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub ocr: OcrConfig,
}

/// `[ocr]`: reading screenshots with Tesseract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrConfig {
    pub enabled: bool,
    /// Worker threads, one Tesseract engine each (about 55 ms to start, tens of MB each).
    pub workers: usize,
    /// The longest the bot waits for one image, download and reading included.
    pub budget_secs: u64,
    /// Hosts attachments may be downloaded from (Discord's CDN).
    pub cdn_hosts: Vec<String>,
    /// Accept plain http attachment URLs: tests against a fake Discord only.
    pub allow_http: bool,
}

impl Default for OcrConfig {
    fn default() -> Self {
        let fetch = crate::ocr::FetchPolicy::default();
        OcrConfig {
            enabled: true,
            workers: 1,
            budget_secs: 20,
            cdn_hosts: fetch.hosts,
            allow_http: false,
        }
    }
}

impl OcrConfig {
    pub fn settings(&self) -> crate::ocr::OcrSettings {
        let budget = Duration::from_secs(self.budget_secs.max(1));
        crate::ocr::OcrSettings {
            enabled: self.enabled,
            workers: self.workers.clamp(1, 8),
            queue: 8,
            budget,
            fetch: crate::ocr::FetchPolicy {
                hosts: self
                    .cdn_hosts
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                allow_http: self.allow_http,
                timeout: budget,
            },
        }
    }
}

/// `[discord]` as written. Required keys are checked by [`Config::discord`], not here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSection {
    pub token: Option<Secret>,
    /// Another base URL for REST and the gateway (tests: the fake Discord on 127.0.0.1).
    pub api_base: Option<String>,
    pub forum_channels: Option<Vec<u64>>,
    #[serde(default)]
    pub text_channels: Vec<u64>,
    pub moderator_role: Option<u64>,
    pub mod_log_channel: Option<u64>,
    #[serde(default)]
    pub tags: TagNames,
    /// Register the `/triage` slash command on start.
    #[serde(default = "yes")]
    pub register_commands: bool,
}

fn yes() -> bool {
    true
}

/// The forum tag name for each ticket state (matched case-insensitively against the forum's
/// available tags; a forum has at most 20 tags of at most 20 characters).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagNames {
    pub waiting_on_member: String,
    pub waiting_on_moderator: String,
    pub tested: String,
    pub escalated: String,
    pub resolved: String,
    pub closed: String,
}

impl Default for TagNames {
    fn default() -> Self {
        TagNames {
            waiting_on_member: "Waiting on member".into(),
            waiting_on_moderator: "Waiting on moderator".into(),
            tested: "Tested".into(),
            escalated: "Escalated".into(),
            resolved: "Resolved".into(),
            closed: "Closed".into(),
        }
    }
}

impl TagNames {
    pub fn name(&self, state: TicketState) -> &str {
        match state {
            TicketState::WaitingOnMember => &self.waiting_on_member,
            TicketState::WaitingOnModerator => &self.waiting_on_moderator,
            TicketState::Tested => &self.tested,
            TicketState::Escalated => &self.escalated,
            TicketState::Resolved => &self.resolved,
            TicketState::Closed => &self.closed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The sled directory.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("data"),
        }
    }
}

/// The probe policy. Only this file (or the environment) sets it: never Discord.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Permit loopback and private targets. Tests only.
    pub allow_private: bool,
    pub allowed_ports: Vec<u16>,
    /// Total seconds for one probe request, alternatives included.
    pub budget_secs: u64,
    /// Longest wait for any one step.
    pub step_timeout_secs: u64,
    /// Probe requests one member may start per minute.
    pub per_user_per_minute: usize,
    /// Connections to one host per minute.
    pub per_target_per_minute: usize,
    /// Extra trust anchors (PEM), e.g. a test CA. The system's web roots are always trusted.
    pub ca_files: Vec<PathBuf>,
    /// DNS server (`IP:PORT`) for the probe and discovery; the system's resolver when unset.
    pub resolver: Option<std::net::SocketAddr>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        let policy = Policy::default();
        ProbeConfig {
            allow_private: false,
            allowed_ports: DEFAULT_PORTS.to_vec(),
            budget_secs: policy.budget.as_secs(),
            step_timeout_secs: policy.step_timeout.as_secs(),
            per_user_per_minute: policy.per_requester.max,
            per_target_per_minute: policy.per_target.max,
            ca_files: Vec::new(),
            resolver: None,
        }
    }
}

impl ProbeConfig {
    /// The probe's policy from these settings (the rest keeps the probe's defaults).
    pub fn policy(&self) -> Policy {
        let minute = Duration::from_secs(60);
        Policy {
            allowed_ports: self.allowed_ports.iter().copied().collect(),
            allow_private: self.allow_private,
            budget: Duration::from_secs(self.budget_secs),
            step_timeout: Duration::from_secs(self.step_timeout_secs),
            per_requester: RateLimit {
                max: self.per_user_per_minute,
                window: minute,
            },
            per_target: RateLimit {
                max: self.per_target_per_minute,
                window: minute,
            },
            resolver: self.resolver,
            ..Policy::default()
        }
    }
}

/// Reminders, auto-close and how long the triage log keeps closed cases.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Remind the member after this long without an answer to the bot's asks.
    pub reminder_after_hours: u64,
    /// Close a thread that stays waiting on the member this long.
    pub close_after_hours: u64,
    /// Forget closed cases after this many days.
    pub retention_days: u64,
    /// How often `run` checks the lifecycle timers (reminders, close warning, close).
    pub tick_secs: u64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            reminder_after_hours: 48,
            close_after_hours: 168,
            retention_days: 90,
            tick_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// A rules directory; unset means the rules embedded in the binary.
    pub path: Option<PathBuf>,
}

/// `[log]`: how `run` writes its logs (stderr). `RUST_LOG` filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[metrics]`: the optional Prometheus endpoint (`GET /metrics`, `GET /health`). Unset `listen`
/// means no endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `host:port`, e.g. `127.0.0.1:9464`.
    pub listen: Option<std::net::SocketAddr>,
}

/// `[discord]` checked for `run`: every required key present, ids non-zero.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token: Secret,
    pub api_base: Option<String>,
    pub forum_channels: BTreeSet<u64>,
    pub text_channels: BTreeSet<u64>,
    pub moderator_role: u64,
    pub mod_log_channel: u64,
    pub tags: TagNames,
    pub register_commands: bool,
}

impl Config {
    /// Reads `path` (when given) and applies the `IMAP_TRIAGE_...` variables of this process.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (name, text) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                (path.display().to_string(), text)
            }
            None => ("<none>".to_string(), String::new()),
        };
        Config::from_sources(&name, &text, std::env::vars())
    }

    /// The loader proper: `file_text` (named `file_name` in errors) overridden by `env`. Variables
    /// without the `IMAP_TRIAGE_` prefix are ignored.
    pub fn from_sources(
        file_name: &str,
        file_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // toml's own error names the line; through figment the same error comes as several
        // lines of text.
        toml::from_str::<toml::Table>(file_text).map_err(|e| ConfigError::Syntax {
            path: file_name.to_string(),
            line: e.span().map_or(1, |span| line_of(file_text, span.start)),
            reason: one_line(e.message()),
        })?;
        // Sorted, so that the result (and the first error) doesn't depend on the order of the
        // process environment.
        let vars: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let mut figment = Figment::from(Toml::string(file_text));
        for (var, value) in vars {
            figment = figment.merge(SettingVar::new(var, value)?);
        }
        let config: Config = figment.extract().map_err(key_error)?;
        config.check()?;
        Ok(config)
    }

    /// Checks that need more than one field's type.
    fn check(&self) -> Result<(), ConfigError> {
        if self.probe.allowed_ports.contains(&0) {
            return Err(ConfigError::key("probe.allowed_ports", "0 is not a port"));
        }
        if self.probe.budget_secs == 0 {
            return Err(ConfigError::key("probe.budget_secs", "must be at least 1"));
        }
        if self.lifecycle.tick_secs == 0 {
            return Err(ConfigError::key(
                "lifecycle.tick_secs",
                "must be at least 1",
            ));
        }
        if self.probe.step_timeout_secs == 0 {
            return Err(ConfigError::key(
                "probe.step_timeout_secs",
                "must be at least 1",
            ));
        }
        if let Some(discord) = &self.discord {
            check_ids(
                "discord.forum_channels",
                discord.forum_channels.iter().flatten(),
            )?;
            check_ids("discord.text_channels", discord.text_channels.iter())?;
            check_ids("discord.moderator_role", discord.moderator_role.iter())?;
            check_ids("discord.mod_log_channel", discord.mod_log_channel.iter())?;
            if let Some(base) = &discord.api_base {
                if !(base.starts_with("http://") || base.starts_with("https://")) {
                    return Err(ConfigError::key(
                        "discord.api_base",
                        "expected a URL starting with http:// or https://",
                    ));
                }
            }
            if let Some(token) = &discord.token {
                if token.expose().trim().is_empty() {
                    return Err(ConfigError::key("discord.token", "is empty"));
                }
            }
            for state in TicketState::ALL {
                let name = discord.tags.name(state);
                if name.trim().is_empty() || name.chars().count() > 20 {
                    return Err(ConfigError::key(
                        &format!("discord.tags.{}", state.as_str()),
                        "a forum tag name has 1 to 20 characters",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `[discord]` settings `run` needs, or the first missing key.
    pub fn discord(&self) -> Result<DiscordSettings, ConfigError> {
        let missing = |key: &str| {
            ConfigError::key(
                &format!("discord.{key}"),
                format!(
                    "missing (set it in the config file or in {ENV_PREFIX}DISCORD__{})",
                    key.to_uppercase()
                ),
            )
        };
        let section = self.discord.as_ref().ok_or_else(|| missing("token"))?;
        let token = section.token.clone().ok_or_else(|| missing("token"))?;
        let forum_channels: BTreeSet<u64> = section
            .forum_channels
            .as_ref()
            .ok_or_else(|| missing("forum_channels"))?
            .iter()
            .copied()
            .collect();
        let moderator_role = section
            .moderator_role
            .ok_or_else(|| missing("moderator_role"))?;
        let mod_log_channel = section
            .mod_log_channel
            .ok_or_else(|| missing("mod_log_channel"))?;
        let text_channels: BTreeSet<u64> = section.text_channels.iter().copied().collect();
        if forum_channels.is_empty() && text_channels.is_empty() {
            return Err(ConfigError::key(
                "discord.forum_channels",
                "no channel to watch (and discord.text_channels is empty)",
            ));
        }
        Ok(DiscordSettings {
            token,
            api_base: section
                .api_base
                .as_ref()
                .map(|b| b.trim_end_matches('/').to_string()),
            forum_channels,
            text_channels,
            moderator_role,
            mod_log_channel,
            tags: section.tags.clone(),
            register_commands: section.register_commands,
        })
    }
}

fn check_ids<'a>(key: &str, ids: impl Iterator<Item = &'a u64>) -> Result<(), ConfigError> {
    for &id in ids {
        if id == 0 || id > i64::MAX as u64 {
            return Err(ConfigError::key(
                key,
                "expected a Discord id (a positive integer)",
            ));
        }
    }
    Ok(())
}

/// One `IMAP_TRIAGE_A__B` variable as a figment provider of the value at `a.b`, read as figment
/// reads environment values (`[111]`, `42`, `true`, `"text"`, and plain text when it is none of
/// these). figment's own `Env` reads only this process's environment and drops a name with an
/// empty segment without a word; the loader takes the variables it is given (tests and the
/// Dockerfile check pass theirs) and refuses such a name.
struct SettingVar {
    var: String,
    key: String,
    value: String,
}

impl SettingVar {
    fn new(var: String, value: String) -> Result<Self, ConfigError> {
        let segments: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        // A dot would nest one level more than the name says.
        if segments.iter().any(|s| s.is_empty() || s.contains('.')) {
            return Err(ConfigError::Env {
                var,
                reason: "expected IMAP_TRIAGE_<SECTION>__<KEY> (sections and keys joined by two underscores)".into(),
            });
        }
        Ok(SettingVar {
            key: segments.join("."),
            var,
            value,
        })
    }
}

impl Provider for SettingVar {
    /// The variable's name travels as the source, so that an error can name it.
    fn metadata(&self) -> Metadata {
        Metadata::from("environment variable", Source::Custom(self.var.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let Ok(value) = self.value.parse::<Value>();
        let dict = figment::util::nest(&self.key, value)
            .into_dict()
            .expect("a key with segments nests into a dict");
        Ok(Profile::Default.collect(dict))
    }
}

/// A figment error as one line naming the key, without quoting the offending value (it might be
/// the token in the wrong place).
fn key_error(e: figment::Error) -> ConfigError {
    let mut key = e.path.join(".");
    let reason = match &e.kind {
        // The path ends with the unknown key itself.
        Kind::UnknownField(_, []) => "unknown key".to_string(),
        Kind::UnknownField(_, known) => format!("unknown key (known here: {})", known.join(", ")),
        Kind::MissingField(field) => {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            "missing".to_string()
        }
        Kind::InvalidType(Actual::Map, _) => "is a value, not a section".to_string(),
        Kind::InvalidType(_, expected)
        | Kind::InvalidValue(_, expected)
        | Kind::InvalidLength(_, expected) => format!("expected {}", in_toml_terms(expected)),
        Kind::UnknownVariant(_, known) => format!("expected one of: {}", known.join(", ")),
        Kind::Message(message) => one_line(message),
        Kind::DuplicateField(_) => "set twice".to_string(),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "out of range".to_string(),
        Kind::Unsupported(_) | Kind::UnsupportedKey(..) => "unsupported value".to_string(),
    };
    let from_env = e
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(Source::custom)
        .map(str::to_string);
    ConfigError::Key {
        key,
        from_env,
        reason,
    }
}

/// serde names the Rust type a setting expects (`u64`, `a sequence`, `struct ProbeConfig`); the
/// person editing the file thinks in TOML's terms.
fn in_toml_terms(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => "an integer".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        table if table.starts_with("struct ") => "a table".to_string(),
        other => one_line(other),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
