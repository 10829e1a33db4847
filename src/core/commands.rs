//! Moderator commands written as a mention: `@bot status`, `@bot resolve fixed by IT`.
//! Commands inside code blocks or quotes are examples, not commands.

/// Moderator commands, from a mention or a slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    Retest,
    Escalate,
    Resolve {
        reason: String,
    },
    Reopen,
    /// Exempt the thread from reminders and auto-close.
    Exempt,
}

/// Why a command could not be understood; shown to the moderator.
pub type CommandError = String;

pub const USAGE: &str =
    "Commands: `status`, `retest`, `escalate`, `resolve <reason>`, `reopen`, `exempt`.";

/// Parses the text after the bot's mention. `None` when the message doesn't mention the bot
/// outside code and quotes.
pub fn parse_mention(text: &str, bot_id: u64) -> Option<Result<Command, CommandError>> {
    let mention = format!("<@{bot_id}>");
    let mention_nick = format!("<@!{bot_id}>");
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || trimmed.starts_with('>') {
            continue;
        }
        let line = strip_inline_code(line);
        let Some(at) = line
            .find(&mention)
            .map(|i| (i, mention.len()))
            .or_else(|| line.find(&mention_nick).map(|i| (i, mention_nick.len())))
        else {
            continue;
        };
        let rest = line[at.0 + at.1..].trim();
        return Some(parse_words(rest));
    }
    None
}

/// Parses `status`, `resolve <reason>`, ... (also the slash command's sub-command and option).
pub fn parse_words(text: &str) -> Result<Command, CommandError> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    match word.to_ascii_lowercase().as_str() {
        "status" => Ok(Command::Status),
        "retest" | "recheck" => Ok(Command::Retest),
        "escalate" => Ok(Command::Escalate),
        "reopen" => Ok(Command::Reopen),
        "exempt" => Ok(Command::Exempt),
        "resolve" | "resolved" => {
            if rest.is_empty() {
                Err("`resolve` needs a reason, e.g. `resolve app password fixed it`.".to_string())
            } else {
                Ok(Command::Resolve {
                    reason: rest.chars().take(500).collect(),
                })
            }
        }
        "" => Err(format!("What should I do? {USAGE}")),
        other => Err(format!(
            "Unknown command `{}`. {USAGE}",
            other.chars().take(30).collect::<String>().replace('`', "")
        )),
    }
}

/// Removes `inline code` spans, so "`@bot resolve`" in an explanation is not a command.
fn strip_inline_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_after_the_mention() {
        assert_eq!(parse_mention("<@42> status", 42), Some(Ok(Command::Status)));
        assert_eq!(
            parse_mention("hey <@!42> retest please", 42),
            Some(Ok(Command::Retest))
        );
        assert_eq!(
            parse_mention("<@42> resolve app password fixed it", 42),
            Some(Ok(Command::Resolve {
                reason: "app password fixed it".into()
            }))
        );
        assert!(matches!(parse_mention("<@42> resolve", 42), Some(Err(_))));
        assert!(matches!(parse_mention("<@42> dance", 42), Some(Err(_))));
        assert_eq!(parse_mention("no mention here", 42), None);
        assert_eq!(parse_mention("<@43> status", 42), None);
    }

    #[test]
    fn code_and_quotes_are_not_commands() {
        assert_eq!(parse_mention("```\n<@42> resolve done\n```", 42), None);
        assert_eq!(parse_mention("> <@42> escalate", 42), None);
        assert_eq!(
            parse_mention("type `<@42> resolve reason` to close", 42),
            None
        );
        assert_eq!(
            parse_mention("```\nx\n```\n<@42> reopen", 42),
            Some(Ok(Command::Reopen))
        );
    }
}
