//! Purpose: `/triage automod install|status|remove` over Discord's REST API, and the follow-up
//! to a message the rule blocked. [`crate::engine::automod`] decides (who may, create or update,
//! the texts); this carries it out and turns Discord's refusals into words a moderator can act
//! on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serenity::all::{
    Action, ActionExecution, ActionType, ChannelId, Context, CreateMessage, EditAutoModRule,
    GuildId, Http, HttpError, Rule, RuleId, Trigger, TriggerType,
};

use super::render;
use crate::engine::chat::Mention;

use crate::config::AutoModConfig;
use crate::engine::automod::{self, AutoModCommand, ExistingRule, InstallPlan, Refused, RuleSpec};

/// One follow-up per member and channel in this long: a member who tries again and again is
/// told once.
const FOLLOW_UP_EVERY: Duration = Duration::from_secs(60);

/// Remembered rule ids and follow-ups, bounded.
const REMEMBERED: usize = 1024;

/// Which rules are the bot's (an execution names only the rule's id), and the follow-ups sent
/// lately.
#[derive(Default)]
pub struct AutoModState {
    rules: Mutex<HashMap<u64, bool>>,
    follow_ups: Mutex<HashMap<(u64, u64), Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AutoModState {
    fn remember(&self, rule: u64, ours: bool) {
        let mut rules = lock(&self.rules);
        if rules.len() >= REMEMBERED {
            rules.clear();
        }
        rules.insert(rule, ours);
    }

    /// Whether `rule` is the bot's: from memory, else asked of Discord (and remembered).
    pub async fn is_ours(&self, http: &Http, guild: GuildId, rule: RuleId) -> bool {
        if let Some(ours) = lock(&self.rules).get(&rule.get()).copied() {
            return ours;
        }
        match guild.automod_rule(http, rule).await {
            Ok(found) => {
                let ours = existing(&found).name == automod::RULE_NAME;
                self.remember(rule.get(), ours);
                ours
            }
            Err(e) => {
                super::chat::chat_error("get automod rule", 0, e);
                false
            }
        }
    }

    /// True for the first follow-up to `member` in `channel` within [`FOLLOW_UP_EVERY`].
    pub fn first_follow_up(&self, member: u64, channel: u64) -> bool {
        let now = Instant::now();
        let mut sent = lock(&self.follow_ups);
        sent.retain(|_, at| now.duration_since(*at) < FOLLOW_UP_EVERY);
        if sent.contains_key(&(member, channel)) || sent.len() >= REMEMBERED {
            return false;
        }
        sent.insert((member, channel), now);
        true
    }
}

/// A rule as the engine's decisions see it.
fn existing(rule: &Rule) -> ExistingRule {
    let regex_patterns = match &rule.trigger {
        Trigger::Keyword { regex_patterns, .. } => regex_patterns.len(),
        _ => 0,
    };
    ExistingRule {
        id: rule.id.get(),
        name: rule.name.clone(),
        keyword: rule.trigger.kind() == TriggerType::Keyword,
        enabled: rule.enabled,
        regex_patterns,
    }
}

/// The create or edit request for `spec`: one KEYWORD rule whose only action blocks the message.
pub fn builder(spec: &RuleSpec) -> EditAutoModRule<'static> {
    EditAutoModRule::new()
        .name(spec.name)
        .trigger(Trigger::Keyword {
            strings: Vec::new(),
            regex_patterns: spec.regex_patterns.clone(),
            allow_list: Vec::new(),
        })
        .actions(vec![Action::BlockMessage {
            custom_message: Some(spec.custom_message.to_string()),
        }])
        .enabled(true)
        .exempt_channels(
            spec.exempt_channels
                .iter()
                .map(|&c| serenity::all::ChannelId::new(c)),
        )
        .exempt_roles(
            spec.exempt_roles
                .iter()
                .map(|&r| serenity::all::RoleId::new(r)),
        )
        .audit_log_reason("imap-triage: /triage automod install")
}

/// Discord's refusal, logged (ids and codes only), as the moderator should hear it.
fn refused(op: &'static str, error: serenity::Error) -> Refused {
    let detail = match &error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            match response.status_code.as_u16() {
                403 => Some(Refused::MissingPermission),
                400 => {
                    // Discord's words about our own request (never member text).
                    let first = response.error.errors.first().map_or_else(
                        || response.error.message.clone(),
                        |e| format!("{} ({})", e.message, e.path),
                    );
                    Some(Refused::Invalid(format!(
                        "{first} (code {})",
                        response.error.code
                    )))
                }
                _ => None,
            }
        }
        _ => None,
    };
    super::chat::chat_error(op, 0, error);
    detail.unwrap_or(Refused::Failed)
}

/// Carries out an AutoMod command in `guild`; the text answers the moderator.
pub async fn run(
    http: &Http,
    state: &AutoModState,
    guild: GuildId,
    command: AutoModCommand,
    settings: &AutoModConfig,
) -> String {
    let rules = match guild.automod_rules(http).await {
        Ok(rules) => rules,
        Err(e) => return automod::refused(&refused("list automod rules", e)),
    };
    let existing: Vec<ExistingRule> = rules.iter().map(existing).collect();
    for rule in &existing {
        state.remember(rule.id, rule.name == automod::RULE_NAME && rule.keyword);
    }
    match command {
        AutoModCommand::Status => automod::status(automod::ours(&existing)),
        AutoModCommand::Install => {
            let spec = automod::rule_spec(&settings.exempt_channels, &settings.exempt_roles);
            let plan = automod::plan_install(&existing);
            let done = match plan {
                InstallPlan::ServerFull { keyword_rules } => {
                    return automod::server_full(keyword_rules)
                }
                InstallPlan::Create => guild
                    .create_automod_rule(http, builder(&spec))
                    .await
                    .map_err(|e| refused("create automod rule", e)),
                InstallPlan::Update { rule } => guild
                    .edit_automod_rule(http, RuleId::new(rule), builder(&spec))
                    .await
                    .map_err(|e| refused("edit automod rule", e)),
            };
            match done {
                Ok(rule) => {
                    state.remember(rule.id.get(), true);
                    tracing::info!(
                        guild = guild.get(),
                        rule = rule.id.get(),
                        patterns = spec.regex_patterns.len(),
                        "automod rule installed"
                    );
                    automod::installed(plan, &spec)
                }
                Err(why) => automod::refused(&why),
            }
        }
        AutoModCommand::Remove => {
            let Some(rule) = automod::ours(&existing) else {
                return automod::removed(false);
            };
            match guild.delete_automod_rule(http, RuleId::new(rule.id)).await {
                Ok(()) => {
                    state.remember(rule.id, false);
                    tracing::info!(guild = guild.get(), rule = rule.id, "automod rule removed");
                    automod::removed(true)
                }
                Err(e) => automod::refused(&refused("delete automod rule", e)),
            }
        }
    }
}

impl super::handler::Handler {
    /// The AutoMod rule blocked a member's message: in a thread (or text channel) the bot
    /// watches, and for the bot's own rule only, the member hears why and what to post instead.
    /// Elsewhere Discord's notice is the whole answer. What was blocked is never quoted or
    /// logged.
    pub(super) async fn on_automod_block(&self, ctx: &Context, execution: ActionExecution) {
        if execution.action.kind() != ActionType::BlockMessage {
            return;
        }
        let Some(channel) = execution.channel_id.map(ChannelId::get) else {
            return;
        };
        let member = execution.user_id.get();
        if !self
            .automod
            .is_ours(&ctx.http, execution.guild_id, execution.rule_id)
            .await
        {
            return;
        }
        let watched = self.settings.text_channels.contains(&channel)
            || self.classify(ctx, channel).await.is_some();
        if !watched || !self.automod.first_follow_up(member, channel) {
            return;
        }
        tracing::info!(
            rule = execution.rule_id.get(),
            channel,
            member,
            "automod blocked a message; following up"
        );
        let builder = CreateMessage::new()
            .content(render::truncate(
                &automod::blocked_follow_up(member),
                render::MESSAGE_LIMIT,
            ))
            .allowed_mentions(render::allowed_mentions(
                Mention::User(member),
                self.settings.moderator_role,
            ));
        if let Err(e) = ChannelId::new(channel)
            .send_message(&ctx.http, builder)
            .await
        {
            super::chat::chat_error("automod follow-up", channel, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request Discord receives: a KEYWORD rule (type 1) with the patterns, one
    /// BLOCK_MESSAGE action (type 1) with the custom message, and the exemptions.
    #[test]
    fn the_request_is_a_keyword_rule_that_blocks() {
        let spec = automod::rule_spec(&[10], &[20, 30]);
        let json = serde_json::to_value(builder(&spec)).unwrap();
        assert_eq!(json["trigger_type"], 1);
        assert_eq!(json["event_type"], 1);
        assert_eq!(json["name"], automod::RULE_NAME);
        assert_eq!(
            json["trigger_metadata"]["regex_patterns"]
                .as_array()
                .map(Vec::len),
            Some(spec.regex_patterns.len())
        );
        assert_eq!(json["actions"][0]["type"], 1);
        assert_eq!(
            json["actions"][0]["metadata"]["custom_message"],
            automod::CUSTOM_MESSAGE
        );
        assert_eq!(json["exempt_channels"], serde_json::json!(["10"]));
        assert_eq!(json["exempt_roles"], serde_json::json!(["20", "30"]));
        assert_eq!(json["enabled"], true);
    }

    #[test]
    fn one_follow_up_per_member_and_channel_a_minute() {
        let state = AutoModState::default();
        assert!(state.first_follow_up(1, 2));
        assert!(!state.first_follow_up(1, 2));
        assert!(state.first_follow_up(1, 3));
        assert!(state.first_follow_up(4, 2));
    }
}
