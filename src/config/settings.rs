//! The settings types, as the file and the variables spell them (unknown keys rejected), their
//! defaults, and what the rest of the bot reads from them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::probe::policy::{Policy, RateLimit, DEFAULT_PORTS};
use crate::ticket::TicketState;

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
    #[serde(default)]
    pub web: WebConfig,
}

/// `[web]`: the moderators' dashboard. `listen` unset: `run` serves no dashboard (the
/// standalone `dashboard` command and the console pick a loopback port themselves).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// `host:port`, e.g. `127.0.0.1:8080`. Keep it on loopback behind a reverse proxy.
    pub listen: Option<std::net::SocketAddr>,
    /// The address moderators open (`https://triage.example.org`): login links start with it,
    /// and an `https` one makes the session cookie `Secure`. Default: `http://` + `listen`.
    pub public_url: Option<String>,
    /// The key that signs login links (`IMAP_TRIAGE_WEB__KEY`). Unset: one is generated once
    /// and kept in the store.
    pub key: Option<Secret>,
}

/// `[ocr]`: reading screenshots with Tesseract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrConfig {
    pub enabled: bool,
    /// Worker processes at most, one Tesseract engine each (about 55 ms to start, tens of MB
    /// each); they start with the first image.
    pub workers: usize,
    /// The longest the bot waits for one image, download and reading included.
    pub budget_secs: u64,
    /// Hosts attachments may be downloaded from (Discord's CDN).
    pub cdn_hosts: Vec<String>,
    /// Accept plain http attachment URLs: tests against a fake Discord only.
    pub allow_http: bool,
    /// The OCR worker binary. Default: `imap-triage-ocr` next to the bot's own.
    pub worker: Option<std::path::PathBuf>,
    /// An OCR worker idle this long exits, so the bot returns to its idle size.
    pub idle_secs: u64,
    /// OCR switched off because a worker could not start is tried again after this long.
    pub retry_secs: u64,
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
            worker: None,
            idle_secs: 300,
            retry_secs: 600,
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
            worker: self.worker.clone(),
            idle: Duration::from_secs(self.idle_secs.max(1)),
            retry_off: Duration::from_secs(self.retry_secs.max(1)),
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
    /// `[discord.automod]`: what the AutoMod rule (`/triage automod install`) leaves alone.
    #[serde(default)]
    pub automod: AutoModConfig,
}

/// `[discord.automod]`. An AutoMod rule applies to the whole server; these are its exemptions
/// (Discord allows at most [`AutoModConfig::MAX_EXEMPT_CHANNELS`] and
/// [`AutoModConfig::MAX_EXEMPT_ROLES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoModConfig {
    /// Channels where credentials are not blocked (a private staff channel, say).
    pub exempt_channels: Vec<u64>,
    /// Roles whose messages are not blocked (moderators quoting an example, say).
    pub exempt_roles: Vec<u64>,
}

impl AutoModConfig {
    pub const MAX_EXEMPT_CHANNELS: usize = 50;
    pub const MAX_EXEMPT_ROLES: usize = 20;
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
    /// Look the member's email domain up (MX, SRV, autoconfig) beside the probe, and compare
    /// what it publishes with what the member entered.
    pub discover: bool,
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
            discover: true,
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
    pub automod: AutoModConfig,
}
