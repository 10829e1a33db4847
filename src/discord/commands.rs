//! Purpose: the `/triage` slash command as Discord shows it (sub-commands and options, with
//! their help text), and an invocation read back: the words of a case command, which the core's
//! command parser reads like a typed mention, or one of the moderators' review questions.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use crate::engine::automod::AutoModCommand;
use crate::ticket::TicketState;

/// The slash command's name.
pub const COMMAND: &str = "triage";

/// `/triage status|retest|escalate|resolve <reason>|reopen|exempt`, the review commands
/// `log [status] [since] [hub_id] [page]`, `show [thread]`, `stats`, `reload-rules`, and the
/// AutoMod group `automod install|status|remove`.
pub fn slash_command() -> CreateCommand {
    let sub = |name: &str, description: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
    };
    CreateCommand::new(COMMAND)
        .description("Support triage commands (moderators)")
        .dm_permission(false)
        .add_option(sub("status", "Show this case's status"))
        .add_option(sub("retest", "Run the connection test again"))
        .add_option(sub("escalate", "Hand this case to the moderators"))
        .add_option(
            sub("resolve", "Mark this case resolved").add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "reason", "What fixed it")
                    .required(true)
                    .max_length(500),
            ),
        )
        .add_option(sub("reopen", "Reopen this case"))
        .add_option(sub(
            "exempt",
            "Exempt this thread from reminders and auto-close",
        ))
        .add_option({
            let mut status =
                CreateCommandOption::new(CommandOptionType::String, "status", "Only this status");
            for state in TicketState::ALL {
                status = status.add_string_choice(state.as_str(), state.as_str());
            }
            sub("log", "List cases (moderators)")
                .add_sub_option(status)
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "since",
                        "Opened on or after (YYYY-MM-DD)",
                    )
                    .max_length(40),
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "hub_id",
                        "Only this Hub ID",
                    )
                    .max_length(40),
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Integer, "page", "Page number")
                        .min_int_value(1)
                        .max_int_value(10_000),
                )
        })
        .add_option(
            sub("show", "The timeline of one case (moderators)").add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::Channel,
                    "thread",
                    "The case's thread (default: this one)",
                ),
            ),
        )
        .add_option(sub(
            "stats",
            "Counts and median response times (moderators)",
        ))
        .add_option(sub(
            "reload-rules",
            "Reload the rules pack; a broken pack is rejected (moderators)",
        ))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommandGroup,
                "automod",
                "The AutoMod rule that blocks posted passwords (moderators)",
            )
            .add_sub_option(sub(
                "install",
                "Install or update the rule (the bot needs Manage Server)",
            ))
            .add_sub_option(sub("status", "Whether the rule is installed and enabled"))
            .add_sub_option(sub("remove", "Remove the rule")),
        )
        .add_option(sub(
            "dashboard",
            "A one-time login link to the web dashboard, visible only to you (moderators)",
        ))
}

/// `/triage automod <install|status|remove>`, or `None` for any other command.
pub fn automod_command(command: &CommandInteraction) -> Option<AutoModCommand> {
    let group = command.data.options.first()?;
    match (&*group.name, &group.value) {
        ("automod", CommandDataOptionValue::SubCommandGroup(subs)) => {
            AutoModCommand::parse(&subs.first()?.name)
        }
        _ => None,
    }
}

/// `status`, `resolve <reason>`, ... from the slash command's sub-command and option.
pub fn command_text(command: &CommandInteraction) -> String {
    let Some(sub) = command.data.options.first() else {
        return String::new();
    };
    let mut text = sub.name.clone();
    if let CommandDataOptionValue::SubCommand(options) = &sub.value {
        for option in options {
            if let CommandDataOptionValue::String(value) = &option.value {
                text.push(' ');
                text.push_str(value);
            }
        }
    }
    text
}

/// A moderator's review question: about the cases, not the thread it is asked in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review<'a> {
    Log {
        status: Option<&'a str>,
        since: Option<&'a str>,
        hub_id: Option<&'a str>,
        /// 1-based.
        page: usize,
    },
    /// The case of `thread` (the channel asked in, unless one is named).
    Show {
        thread: u64,
    },
    Stats,
    ReloadRules,
    /// A one-time login link to the dashboard.
    Dashboard,
}

/// The review question `command` asks, or `None` for a command on the thread's case.
pub fn review(command: &CommandInteraction) -> Option<Review<'_>> {
    let sub = command.data.options.first()?;
    let options = match &sub.value {
        CommandDataOptionValue::SubCommand(options) => options.as_slice(),
        _ => &[],
    };
    let text = |name: &str| {
        options
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                CommandDataOptionValue::String(v) => Some(v.as_str()),
                _ => None,
            })
    };
    Some(match sub.name.as_str() {
        "log" => Review::Log {
            status: text("status"),
            since: text("since"),
            hub_id: text("hub_id"),
            page: options
                .iter()
                .find(|o| o.name == "page")
                .and_then(|o| o.value.as_i64())
                .map_or(1, |p| usize::try_from(p.max(1)).unwrap_or(1)),
        },
        "show" => Review::Show {
            thread: options
                .iter()
                .find_map(|o| match &o.value {
                    CommandDataOptionValue::Channel(id) => Some(id.get()),
                    _ => None,
                })
                .unwrap_or(command.channel_id.get()),
        },
        "stats" => Review::Stats,
        "reload-rules" => Review::ReloadRules,
        "dashboard" => Review::Dashboard,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slash_command_has_every_subcommand() {
        let json = serde_json::to_value(slash_command()).unwrap();
        let names: Vec<&str> = json["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "status",
                "retest",
                "escalate",
                "resolve",
                "reopen",
                "exempt",
                "log",
                "show",
                "stats",
                "reload-rules",
                "automod",
                "dashboard"
            ]
        );
        assert_eq!(json["options"][3]["options"][0]["required"], true);
        let automod = &json["options"][10];
        assert_eq!(automod["type"], 2, "a sub-command group");
        let subs: Vec<&str> = automod["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(subs, ["install", "status", "remove"]);
    }
}
