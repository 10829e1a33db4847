//! Purpose: the engine's plain messages as Discord payloads (components, mentions, embeds,
//! modal), and the custom ids that carry a thread id through a click. Pure: no I/O, so every
//! limit in REFERENCE.md is checked by unit tests here.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateInputText, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateModal, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption, InputTextStyle,
};

use crate::core::text::neutralize_mentions;
use crate::engine::chat::{Controls, Detail, EscalationSummary, Mention, MAX_DETAILS};

/// A custom_id's limit.
pub const MAX_CUSTOM_ID: usize = 100;

const PREFIX: &str = "triage";

/// What a component or modal on a status message does. Its custom_id is
/// `triage:<action>:<thread id>`: at most 7 + 9 + 20 characters, far below 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The checklist multi-select.
    Checklist,
    /// The "Add details" button, and the modal it opens.
    Details,
    /// The "Run connection test" button.
    Probe,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Checklist => "checklist",
            Action::Details => "details",
            Action::Probe => "probe",
        }
    }
}

pub fn custom_id(action: Action, thread: u64) -> String {
    format!("{PREFIX}:{}:{thread}", action.as_str())
}

/// The action and thread of one of our custom ids; `None` for anything else.
pub fn parse_custom_id(id: &str) -> Option<(Action, u64)> {
    let mut parts = id.split(':');
    if parts.next()? != PREFIX {
        return None;
    }
    let action = match parts.next()? {
        "checklist" => Action::Checklist,
        "details" => Action::Details,
        "probe" => Action::Probe,
        _ => return None,
    };
    let thread: u64 = parts.next()?.parse().ok().filter(|&t| t != 0)?;
    if parts.next().is_some() {
        return None;
    }
    Some((action, thread))
}

/// The modal's text inputs: custom_id, label, style, placeholder, max length.
pub const DETAIL_FIELDS: [(&str, &str, InputTextStyle, &str, u16); 4] = [
    (
        "hub_id",
        "Hub ID",
        InputTextStyle::Short,
        "e.g. 12345678",
        40,
    ),
    (
        "imap",
        "IMAP server:port",
        InputTextStyle::Short,
        "e.g. imap.example.com:993",
        200,
    ),
    (
        "smtp",
        "SMTP server:port",
        InputTextStyle::Short,
        "e.g. smtp.example.com:587",
        200,
    ),
    (
        "error",
        "Error text (no passwords)",
        InputTextStyle::Paragraph,
        "The exact error message you see",
        1000,
    ),
];

/// Who may be pinged, whatever the content says: never @everyone/@here, never another role or
/// user, and not the author of a replied-to message.
pub fn allowed_mentions(mention: Mention, moderator_role: u64) -> CreateAllowedMentions {
    let none = CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .replied_user(false);
    match mention {
        Mention::Nobody => none,
        Mention::User(user) if user != 0 => none.users([user]),
        Mention::Moderators if moderator_role != 0 => none.roles([moderator_role]),
        Mention::User(_) | Mention::Moderators => none,
    }
}

/// The content as sent: the intended mention written first when the engine didn't write it, and
/// the whole cut to Discord's limit on a character boundary.
/// A private answer to an interaction, pinging nobody.
pub fn ephemeral(text: &str) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(truncate(text, MESSAGE_LIMIT))
        .ephemeral(true)
        .allowed_mentions(allowed_mentions(Mention::Nobody, 0))
}

/// A private follow-up to an interaction that was acknowledged first, pinging nobody.
pub fn ephemeral_followup(text: &str, moderator_role: u64) -> CreateInteractionResponseFollowup {
    CreateInteractionResponseFollowup::new()
        .content(truncate(text, MESSAGE_LIMIT))
        .ephemeral(true)
        .allowed_mentions(allowed_mentions(Mention::Nobody, moderator_role))
}

pub fn content(text: &str, mention: Mention, moderator_role: u64) -> String {
    let lead = match mention {
        Mention::User(user)
            if user != 0
                && !text.contains(&format!("<@{user}>"))
                && !text.contains(&format!("<@!{user}>")) =>
        {
            format!("<@{user}> ")
        }
        Mention::Moderators
            if moderator_role != 0 && !text.contains(&format!("<@&{moderator_role}>")) =>
        {
            format!("<@&{moderator_role}> ")
        }
        _ => String::new(),
    };
    let mut out = lead;
    out.push_str(text);
    truncate(&out, MESSAGE_LIMIT)
}

/// `text` cut to at most `max` characters, ending with "…" when cut (the core's helper).
pub use crate::core::text::{truncate, MESSAGE_LIMIT};

/// The status message's controls: the checklist select (ticks as given) on the first row, the two
/// buttons on the second. `checklist` is (id, label) per item, in the rules' order.
pub fn components(
    controls: Controls,
    thread: u64,
    checklist: &[(String, String)],
) -> Vec<CreateActionRow> {
    let Controls::Status { checked } = controls else {
        return Vec::new();
    };
    let options: Vec<CreateSelectMenuOption> = checklist
        .iter()
        .take(25)
        .enumerate()
        .map(|(i, (id, label))| {
            CreateSelectMenuOption::new(truncate(label, 100), truncate(id, 100))
                .default_selection(checked.get(i).copied().unwrap_or(false))
        })
        .collect();
    let count = u8::try_from(options.len()).unwrap_or(25);
    let mut rows = Vec::with_capacity(2);
    if count > 0 {
        rows.push(CreateActionRow::SelectMenu(
            CreateSelectMenu::new(
                custom_id(Action::Checklist, thread),
                CreateSelectMenuKind::String { options },
            )
            .placeholder("Tick what you have done")
            .min_values(0)
            .max_values(count),
        ));
    }
    rows.push(CreateActionRow::Buttons(vec![
        CreateButton::new(custom_id(Action::Details, thread))
            .label("Add details")
            .style(ButtonStyle::Primary),
        CreateButton::new(custom_id(Action::Probe, thread))
            .label("Run connection test")
            .style(ButtonStyle::Secondary),
    ]));
    rows
}

/// The "Add details" modal.
pub fn details_modal(thread: u64) -> CreateModal {
    let rows = DETAIL_FIELDS
        .iter()
        .map(|(id, label, style, placeholder, max)| {
            CreateActionRow::InputText(
                CreateInputText::new(*style, *label, *id)
                    .placeholder(*placeholder)
                    .required(false)
                    .max_length(*max),
            )
        })
        .collect();
    CreateModal::new(custom_id(Action::Details, thread), "Connection details").components(rows)
}

const FIELD_SHORT: usize = 256;
const FIELD_LONG: usize = 1024;

/// The details beside a message (a probe's stages and certificates) as one embed of fields;
/// `None` when there are none. The engine keeps each within the field limits; cut again here.
pub fn details_embed(details: &[Detail]) -> Option<CreateEmbed> {
    if details.is_empty() {
        return None;
    }
    let fields = details.iter().take(MAX_DETAILS).map(|d| {
        (
            truncate(&neutralize_mentions(&d.name), FIELD_SHORT),
            truncate(non_empty(&neutralize_mentions(&d.value)), FIELD_LONG),
            false,
        )
    });
    Some(CreateEmbed::new().fields(fields))
}

/// The mod-log embed. Every part is cut to its limit, and the total stays under 6000 characters
/// (title 256 + description ~300 + 6 short fields of 256 + probe, evidence and cause of 1024 +
/// reason of 512).
pub fn escalation_embed(summary: &EscalationSummary, guild: Option<u64>) -> CreateEmbed {
    let or_dash = |v: Option<&str>| match v.map(str::trim) {
        Some(v) if !v.is_empty() => truncate(v, FIELD_SHORT),
        _ => "—".to_string(),
    };
    let verdicts = if summary.probe_verdicts.is_empty() {
        "not tested".to_string()
    } else {
        summary.probe_verdicts.join("\n")
    };
    let mut embed = CreateEmbed::new()
        // The title is stored redacted; redacting again covers records from before that.
        .title(truncate(
            &format!(
                "Escalated: {}",
                crate::core::secrets::redact(&summary.title)
            ),
            256,
        ))
        .description(format!("Thread: <#{}>", summary.thread))
        .field("Hub ID", or_dash(summary.hub_id.as_deref()), true)
        .field("Provider", or_dash(summary.provider.as_deref()), true)
        .field("Error code", or_dash(summary.error_code.as_deref()), true)
        .field("IMAP", or_dash(summary.imap.as_deref()), true)
        .field("SMTP", or_dash(summary.smtp.as_deref()), true)
        .field("Probe", truncate(&verdicts, FIELD_LONG), false)
        .field("Domain", or_dash(summary.domain.as_deref()), false)
        .field(
            "Evidence",
            truncate(
                non_empty(&neutralize_mentions(&summary.evidence.join("\n"))),
                FIELD_LONG,
            ),
            false,
        )
        .field(
            "Likely cause",
            truncate(non_empty(&summary.likely_cause), FIELD_LONG).to_string(),
            false,
        )
        .field(
            "Reason",
            truncate(non_empty(&summary.reason), FIELD_LONG / 2),
            false,
        );
    if let Some(guild) = guild {
        embed = embed.url(format!(
            "https://discord.com/channels/{guild}/{}",
            summary.thread
        ));
    }
    embed
}

fn non_empty(text: &str) -> &str {
    if text.trim().is_empty() {
        "—"
    } else {
        text
    }
}

/// A thread name from a post: its first non-empty line that holds no credential (the name is
/// public, and shows in notifications), plain, at most 100 characters.
pub fn thread_title(text: &str) -> String {
    // Found in the whole text: a value below its label ("password:\nhunter2") is known only
    // with the line before it.
    let found = crate::core::secrets::find(text);
    let mut start = 0;
    let line = text
        .split_inclusive('\n')
        .map(|l| {
            let at = start;
            start += l.len();
            (at..start, l)
        })
        .filter(|(range, _)| {
            !found
                .iter()
                .any(|(_, r)| r.start < range.end && range.start < r.end)
        })
        .map(|(_, l)| l.trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let plain: String = line
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '~' | '#' | '>' | '|'))
        .collect();
    // A second wall: the line alone, redacted.
    let plain = crate::core::secrets::redact(plain.trim());
    let plain = plain.trim();
    if plain.is_empty() {
        "Support request".to_string()
    } else {
        truncate(plain, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ThreadId;
    use serde_json::{json, Value};

    fn to_json<T: serde::Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap()
    }

    fn checklist() -> Vec<(String, String)> {
        crate::rules_dir::embedded()
            .unwrap()
            .checklist
            .items
            .iter()
            .map(|i| (i.id.clone(), i.label.clone()))
            .collect()
    }

    #[test]
    fn custom_ids_round_trip_and_fit() {
        for action in [Action::Checklist, Action::Details, Action::Probe] {
            let id = custom_id(action, u64::MAX);
            assert!(id.len() <= MAX_CUSTOM_ID);
            assert_eq!(parse_custom_id(&id), Some((action, u64::MAX)));
        }
        for bad in [
            "",
            "triage",
            "triage:probe",
            "triage:probe:0",
            "triage:dance:1",
            "other:probe:1",
            "triage:probe:1:2",
            "triage:probe:x",
        ] {
            assert_eq!(parse_custom_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn allowed_mentions_only_ever_name_the_intended_target() {
        assert_eq!(
            to_json(&allowed_mentions(Mention::Nobody, 222)),
            json!({"parse": [], "users": [], "roles": [], "replied_user": false})
        );
        assert_eq!(
            to_json(&allowed_mentions(Mention::User(7), 222)),
            json!({"parse": [], "users": ["7"], "roles": [], "replied_user": false})
        );
        assert_eq!(
            to_json(&allowed_mentions(Mention::Moderators, 222)),
            json!({"parse": [], "users": [], "roles": ["222"], "replied_user": false})
        );
    }

    #[test]
    fn content_leads_with_the_mention_once_and_fits() {
        assert_eq!(content("hi", Mention::User(7), 222), "<@7> hi");
        assert_eq!(content("<@7> hi", Mention::User(7), 222), "<@7> hi");
        assert_eq!(content("case", Mention::Moderators, 222), "<@&222> case");
        assert_eq!(content("@everyone", Mention::Nobody, 222), "@everyone");
        let long = "é".repeat(5000);
        let out = content(&long, Mention::Moderators, 222);
        assert_eq!(out.chars().count(), MESSAGE_LIMIT);
        assert!(out.starts_with("<@&222> ") && out.ends_with('…'));
    }

    #[test]
    fn status_components_have_the_four_items_and_two_buttons() {
        let rows = to_json(&components(
            Controls::Status {
                checked: [true, false, true, false],
            },
            42,
            &checklist(),
        ));
        let select = &rows[0]["components"][0];
        assert_eq!(select["type"], 3);
        assert_eq!(select["custom_id"], "triage:checklist:42");
        assert_eq!(select["min_values"], 0);
        assert_eq!(select["max_values"], 4);
        let values: Vec<&str> = select["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "typed_credentials",
                "typed_servers",
                "verified_credentials",
                "confirmed_with_provider"
            ]
        );
        let defaults: Vec<bool> = select["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["default"] == true)
            .collect();
        assert_eq!(defaults, [true, false, true, false]);
        for option in select["options"].as_array().unwrap() {
            assert!(option["label"].as_str().unwrap().chars().count() <= 100);
        }
        let buttons = rows[1]["components"].as_array().unwrap();
        assert_eq!(buttons[0]["custom_id"], "triage:details:42");
        assert_eq!(buttons[0]["label"], "Add details");
        assert_eq!(buttons[1]["custom_id"], "triage:probe:42");
        assert_eq!(buttons[1]["label"], "Run connection test");
        assert!(components(Controls::None, 42, &checklist()).is_empty());
    }

    #[test]
    fn the_modal_has_four_optional_inputs() {
        let modal = to_json(&details_modal(42));
        assert_eq!(modal["custom_id"], "triage:details:42");
        let inputs: Vec<&Value> = modal["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["components"][0])
            .collect();
        assert_eq!(inputs.len(), 4);
        let ids: Vec<&str> = inputs
            .iter()
            .map(|i| i["custom_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["hub_id", "imap", "smtp", "error"]);
        assert!(inputs
            .iter()
            .all(|i| i["required"] == false && i["max_length"].as_u64().unwrap() <= 4000));
    }

    #[test]
    fn the_escalation_embed_respects_every_limit() {
        let huge = "x".repeat(10_000);
        let summary = EscalationSummary {
            thread: ThreadId(9),
            title: huge.clone(),
            // The one field a newtype keeps short: a Hub ID is at most 10 digits.
            hub_id: crate::core::HubId::parse("4821937"),
            provider: None,
            imap: Some(huge.clone()),
            smtp: Some(huge.clone()),
            error_code: Some(huge.clone()),
            probe_verdicts: vec![huge.clone(); 5],
            domain: Some(huge.clone()),
            evidence: vec![huge.clone(); 5],
            likely_cause: huge.clone(),
            reason: huge,
            dedup_key: None,
        };
        let embed = to_json(&escalation_embed(&summary, Some(5)));
        assert!(embed["title"].as_str().unwrap().chars().count() <= 256);
        assert_eq!(embed["url"], "https://discord.com/channels/5/9");
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= 25);
        let mut total = embed["title"].as_str().unwrap().chars().count()
            + embed["description"].as_str().unwrap().chars().count();
        for field in fields {
            let (name, value) = (
                field["name"].as_str().unwrap(),
                field["value"].as_str().unwrap(),
            );
            assert!(
                name.chars().count() <= 256 && value.chars().count() <= 1024 && !value.is_empty()
            );
            total += name.chars().count() + value.chars().count();
        }
        assert!(total <= 6000, "{total}");
        assert_eq!(fields[1]["value"], "—");
    }

    #[test]
    fn thread_titles_are_plain_and_short() {
        assert_eq!(thread_title("\n\n**IMAP** fails\nmore"), "IMAP fails");
        assert_eq!(thread_title("   "), "Support request");
        assert_eq!(thread_title(&"a".repeat(300)).chars().count(), 100);
    }

    /// A text-channel post's first line becomes the public thread name: never a line that
    /// holds a credential.
    #[test]
    fn thread_titles_never_take_a_line_holding_a_secret() {
        assert_eq!(
            thread_title("password: Hunter2Hunter2\nGmail IMAP fails"),
            "Gmail IMAP fails"
        );
        assert_eq!(
            thread_title("password:\nHunter2Hunter2\nGmail IMAP fails"),
            "password:"
        );
        assert_eq!(
            thread_title("my app password qwrt zxvb nmkl pfds fails\n"),
            "Support request"
        );
        assert_eq!(
            thread_title("imaps://bob:Hunter2Hunter2@imap.x.com"),
            "Support request"
        );
    }
}
