//! Loading: the file, then each `IMAP_TRIAGE_` variable merged over it by figment, then the
//! checks that need more than one field; and the `[discord]` settings `run` needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};

use super::error::{key_error, line_of, one_line};
use super::{AutoModConfig, Config, ConfigError, DiscordSettings, ENV_PREFIX};
use crate::ticket::TicketState;

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
            let automod = &discord.automod;
            check_ids(
                "discord.automod.exempt_channels",
                automod.exempt_channels.iter(),
            )?;
            check_ids("discord.automod.exempt_roles", automod.exempt_roles.iter())?;
            for (key, ids, max) in [
                (
                    "discord.automod.exempt_channels",
                    &automod.exempt_channels,
                    AutoModConfig::MAX_EXEMPT_CHANNELS,
                ),
                (
                    "discord.automod.exempt_roles",
                    &automod.exempt_roles,
                    AutoModConfig::MAX_EXEMPT_ROLES,
                ),
            ] {
                let distinct: BTreeSet<u64> = ids.iter().copied().collect();
                if distinct.len() > max {
                    return Err(ConfigError::key(
                        key,
                        format!("Discord allows at most {max} (got {})", distinct.len()),
                    ));
                }
            }
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
            automod: section.automod.clone(),
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
