//! Purpose: the AutoMod pre-block, decided here and carried out by the adapter that has AutoMod
//! (Discord): who may manage it, the rule to install, whether an install creates or updates,
//! and every text the moderator and the member read. The shield deletes a password after it
//! was public for a moment; the rule blocks the message before anyone sees it.

use super::Actor;
use crate::core::secrets::automod;
use crate::ticket::UserId;

/// How the bot finds its own rule again: an install updates the rule of this name.
pub const RULE_NAME: &str = "imap-triage: posted passwords";

/// Discord's limit of KEYWORD rules in one server.
pub const MAX_KEYWORD_RULES: usize = 6;

/// Discord's limit for the message shown to a member whose message was blocked.
pub const MAX_CUSTOM_MESSAGE_CHARS: usize = 150;

/// What Discord shows the member in place of their message.
pub const CUSTOM_MESSAGE: &str = "This looks like a password. Post the error, the server and port, and a screenshot with the password hidden instead.";

/// `/triage automod install|status|remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoModCommand {
    Install,
    Status,
    Remove,
}

impl AutoModCommand {
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "install" => Some(AutoModCommand::Install),
            "status" => Some(AutoModCommand::Status),
            "remove" => Some(AutoModCommand::Remove),
            _ => None,
        }
    }
}

/// Only moderators manage the rule (status included: it names the server's exemptions).
pub fn refusal(actor: &Actor) -> Option<&'static str> {
    (!actor.is_moderator).then_some("Only moderators can manage the AutoMod rule.")
}

/// The rule as the bot installs it: one server-wide KEYWORD rule that blocks the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: &'static str,
    pub regex_patterns: Vec<String>,
    pub custom_message: &'static str,
    pub exempt_channels: Vec<u64>,
    pub exempt_roles: Vec<u64>,
}

/// The rule, with the exemptions from the settings (checked against Discord's limits there).
pub fn rule_spec(exempt_channels: &[u64], exempt_roles: &[u64]) -> RuleSpec {
    RuleSpec {
        name: RULE_NAME,
        regex_patterns: automod::patterns().to_vec(),
        custom_message: CUSTOM_MESSAGE,
        exempt_channels: dedup(exempt_channels),
        exempt_roles: dedup(exempt_roles),
    }
}

fn dedup(ids: &[u64]) -> Vec<u64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A rule the server has, as far as the decisions here need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingRule {
    pub id: u64,
    pub name: String,
    /// A KEYWORD rule (the kind Discord allows six of).
    pub keyword: bool,
    pub enabled: bool,
    pub regex_patterns: usize,
}

/// The bot's own rule among the server's.
pub fn ours(rules: &[ExistingRule]) -> Option<&ExistingRule> {
    rules.iter().find(|r| r.keyword && r.name == RULE_NAME)
}

/// What an install does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallPlan {
    Create,
    /// The rule exists: its patterns, message and exemptions are replaced, not doubled.
    Update {
        rule: u64,
    },
    /// Discord's limit of KEYWORD rules is reached by rules that aren't ours.
    ServerFull {
        keyword_rules: usize,
    },
}

pub fn plan_install(rules: &[ExistingRule]) -> InstallPlan {
    if let Some(rule) = ours(rules) {
        return InstallPlan::Update { rule: rule.id };
    }
    let keyword_rules = rules.iter().filter(|r| r.keyword).count();
    if keyword_rules >= MAX_KEYWORD_RULES {
        InstallPlan::ServerFull { keyword_rules }
    } else {
        InstallPlan::Create
    }
}

/// Why Discord refused a request, as the moderator needs to hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// 403: the bot's role lacks Manage Server.
    MissingPermission,
    /// Discord rejected the rule itself (its own words, about our request).
    Invalid(String),
    /// Anything else: Discord down, rate limited.
    Failed,
}

// ---------------------------------------------------------------------------------------------
// Texts.

pub fn installed(plan: InstallPlan, spec: &RuleSpec) -> String {
    let done = match plan {
        InstallPlan::Update { .. } => "Updated the AutoMod rule",
        _ => "Installed the AutoMod rule",
    };
    format!(
        "{done} \"{}\": {} patterns now block messages that look like they hold a password, \
         server-wide{}. Members see: \"{}\"",
        spec.name,
        spec.regex_patterns.len(),
        exemptions(spec.exempt_channels.len(), spec.exempt_roles.len()),
        spec.custom_message
    )
}

fn exemptions(channels: usize, roles: usize) -> String {
    let count = |n: usize, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    let parts: Vec<String> = [
        count(channels, "exempt channel", "exempt channels"),
        count(roles, "exempt role", "exempt roles"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        " (no exempt channels or roles; Discord never blocks members with Manage Server)"
            .to_string()
    } else {
        format!(" but for {}", parts.join(" and "))
    }
}

pub fn server_full(keyword_rules: usize) -> String {
    format!(
        "This server already has {keyword_rules} keyword AutoMod rules, Discord's limit is \
         {MAX_KEYWORD_RULES}. Remove one in Server Settings > AutoMod, then run \
         `/triage automod install` again."
    )
}

pub fn status(rule: Option<&ExistingRule>) -> String {
    match rule {
        None => {
            "The AutoMod rule is not installed. `/triage automod install` installs it.".to_string()
        }
        Some(rule) => format!(
            "The AutoMod rule \"{}\" is installed and {}, with {} patterns.",
            rule.name,
            if rule.enabled {
                "enabled"
            } else {
                "disabled (enable it in Server Settings > AutoMod, or run `/triage automod install`)"
            },
            rule.regex_patterns
        ),
    }
}

pub fn removed(was_installed: bool) -> String {
    if was_installed {
        "Removed the AutoMod rule. Passwords are again only deleted after they are posted."
            .to_string()
    } else {
        "The AutoMod rule was not installed; nothing to remove.".to_string()
    }
}

pub fn refused(refused: &Refused) -> String {
    match refused {
        Refused::MissingPermission => "Discord refused: I need the **Manage Server** permission \
             to manage AutoMod rules. Give my role Manage Server, then try again."
            .to_string(),
        Refused::Invalid(detail) => format!("Discord refused the rule: {detail}"),
        Refused::Failed => {
            "Discord didn't answer as expected; see the bot's logs, and try again in a minute."
                .to_string()
        }
    }
}

/// The bot's message in the member's thread after the rule blocked their message. It never
/// quotes what was blocked.
pub fn blocked_follow_up(member: UserId) -> String {
    format!(
        "<@{member}> your message was blocked because it looked like it held a password. \
         Please don't post passwords here. Post instead:\n\
         - the error text, exactly as shown;\n\
         - the incoming and outgoing server and port;\n\
         - a screenshot of the connection screen with the password field hidden.\n\
         If that was a real password, change it now: it reached Discord even though no one saw \
         it."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: u64, name: &str, keyword: bool) -> ExistingRule {
        ExistingRule {
            id,
            name: name.to_string(),
            keyword,
            enabled: true,
            regex_patterns: 1,
        }
    }

    #[test]
    fn an_install_updates_our_rule_and_stops_at_six_keyword_rules() {
        let others: Vec<ExistingRule> = (1..=5).map(|i| rule(i, "words", true)).collect();
        assert_eq!(plan_install(&others), InstallPlan::Create);
        // Rules of other kinds don't count against the limit.
        let mut mixed = others.clone();
        mixed.push(rule(50, "spam", false));
        assert_eq!(plan_install(&mixed), InstallPlan::Create);
        let mut full = others.clone();
        full.push(rule(6, "more words", true));
        assert_eq!(
            plan_install(&full),
            InstallPlan::ServerFull { keyword_rules: 6 }
        );
        // Ours is updated, even in a full server.
        full[2] = rule(77, RULE_NAME, true);
        assert_eq!(plan_install(&full), InstallPlan::Update { rule: 77 });
        // A rule of another kind with our name is not ours.
        assert_eq!(
            plan_install(&[rule(9, RULE_NAME, false)]),
            InstallPlan::Create
        );
    }

    #[test]
    fn the_answer_names_the_exemptions() {
        let text = installed(InstallPlan::Create, &rule_spec(&[1], &[2, 3]));
        assert!(
            text.contains("but for 1 exempt channel and 2 exempt roles"),
            "{text}"
        );
        let text = installed(InstallPlan::Update { rule: 1 }, &rule_spec(&[], &[]));
        assert!(text.starts_with("Updated"), "{text}");
        assert!(text.contains("no exempt channels or roles"), "{text}");
    }

    #[test]
    fn the_rule_fits_discords_limits() {
        let spec = rule_spec(&[3, 1, 3], &[2]);
        assert!(spec.custom_message.chars().count() <= MAX_CUSTOM_MESSAGE_CHARS);
        assert!(!spec.regex_patterns.is_empty());
        assert!(spec.regex_patterns.len() <= automod::MAX_PATTERNS);
        assert_eq!(spec.exempt_channels, [1, 3]);
        assert!(spec.name.chars().count() <= 100);
    }

    #[test]
    fn only_moderators_manage_the_rule() {
        let member = Actor {
            user: 1,
            is_moderator: false,
            name: None,
        };
        assert!(refusal(&member).is_some());
        assert!(refusal(&Actor {
            is_moderator: true,
            ..member
        })
        .is_none());
    }

    #[test]
    fn the_follow_up_says_what_to_post_and_pings_only_the_member() {
        let text = blocked_follow_up(42);
        assert!(text.starts_with("<@42> "));
        for words in [
            "password",
            "error",
            "server and port",
            "screenshot",
            "change it",
        ] {
            assert!(text.contains(words), "{words}: {text}");
        }
        for ping in ["@everyone", "@here", "<@&"] {
            assert!(!text.contains(ping), "{text}");
        }
        assert!(text.chars().count() <= 2000);
    }
}
