//! Complete Discord JSON objects, as serenity 0.12 deserializes them. Every required field is
//! here: a missing one makes serenity drop the whole event without a word.

use serde_json::{json, Value};

use super::{APP, BOT, GUILD, TAGS, TOPIC_TAG};

pub const TIMESTAMP: &str = "2024-05-01T12:00:00.000000+00:00";

pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "global_name": null,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

pub fn bot_user() -> Value {
    user(BOT, "triage-bot", true)
}

pub fn ready(ws_url: &str) -> Value {
    json!({
        "v": 10,
        "user": bot_user(),
        "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
        "session_id": "fake-session",
        "resume_gateway_url": ws_url,
        "shard": [0, 1],
        "application": {"id": APP.to_string(), "flags": 0},
    })
}

/// A member as in interactions (a full member, with the user inside).
pub fn member(user_id: u64, roles: &[u64]) -> Value {
    json!({
        "user": user(user_id, &format!("member{user_id}"), false),
        "nick": null,
        "avatar": null,
        "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": TIMESTAMP,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": "0",
        "communication_disabled_until": null,
    })
}

/// A member's message as MESSAGE_CREATE carries it (partial member with roles, guild id).
pub fn message(id: u64, channel: u64, author: u64, roles: &[u64], content: &str) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "guild_id": GUILD.to_string(),
        "author": user(author, &format!("member{author}"), false),
        "member": {
            "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "joined_at": TIMESTAMP,
            "deaf": false,
            "mute": false,
            "flags": 0,
        },
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

/// A message with one attachment.
pub fn message_with_attachment(
    id: u64,
    channel: u64,
    author: u64,
    content: &str,
    filename: &str,
    content_type: &str,
) -> Value {
    let mut m = message(id, channel, author, &[], content);
    m["attachments"] = json!([{
        "id": (id + 1).to_string(),
        "filename": filename,
        "size": 1234,
        "url": format!("https://cdn.example/{filename}"),
        "proxy_url": format!("https://media.example/{filename}"),
        "content_type": content_type,
        "width": 800,
        "height": 600,
    }]);
    m
}

/// What REST returns for a message the bot posted.
pub fn bot_message(id: u64, channel: u64, content: &str) -> Value {
    let mut m = message(id, channel, BOT, &[], content);
    m["author"] = bot_user();
    m.as_object_mut().map(|o| o.remove("member"));
    m
}

/// What REST returns for an interaction response or follow-up: it carries
/// `interaction_metadata`, or serenity fails to read it.
pub fn interaction_message(id: u64, content: &str) -> Value {
    let mut m = bot_message(id, 0, content);
    m["channel_id"] = json!("1");
    m["webhook_id"] = json!(APP.to_string());
    m["application_id"] = json!(APP.to_string());
    m["flags"] = json!(64);
    m["interaction_metadata"] = json!({
        "id": (id + 1).to_string(),
        "type": 2,
        "user": user(1, "someone", false),
        "authorizing_integration_owners": {"0": GUILD.to_string()},
    });
    m
}

pub fn forum_channel(id: u64, name: &str) -> Value {
    let mut tags: Vec<Value> = TAGS
        .iter()
        .map(|(id, name)| json!({"id": id.to_string(), "name": name, "moderated": false, "emoji_id": null, "emoji_name": "🏷️"}))
        .collect();
    tags.push(json!({"id": TOPIC_TAG.to_string(), "name": "Gmail", "moderated": false, "emoji_id": null, "emoji_name": "📧"}));
    json!({
        "id": id.to_string(),
        "guild_id": GUILD.to_string(),
        "type": 15,
        "name": name,
        "position": 1,
        "permission_overwrites": [],
        "parent_id": null,
        "nsfw": false,
        "flags": 0,
        "available_tags": tags,
        "default_reaction_emoji": null,
        "default_sort_order": null,
        "default_forum_layout": 0,
        "topic": null,
        "rate_limit_per_user": 0,
    })
}

pub fn text_channel(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "guild_id": GUILD.to_string(),
        "type": 0,
        "name": name,
        "position": 2,
        "permission_overwrites": [],
        "parent_id": null,
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
    })
}

pub fn thread_channel(id: u64, parent: u64, owner: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "guild_id": GUILD.to_string(),
        "parent_id": parent.to_string(),
        "owner_id": owner.to_string(),
        "type": 11,
        "name": name,
        "last_message_id": id.to_string(),
        "message_count": 0,
        "member_count": 1,
        "rate_limit_per_user": 0,
        "thread_metadata": {
            "archived": false,
            "auto_archive_duration": 4320,
            "archive_timestamp": TIMESTAMP,
            "locked": false,
            "create_timestamp": TIMESTAMP,
        },
        "total_message_sent": 0,
        "applied_tags": [TOPIC_TAG.to_string()],
        "flags": 0,
    })
}

fn interaction_base(id: u64, kind: u8, channel: u64, user_id: u64, roles: &[u64]) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APP.to_string(),
        "type": kind,
        "guild_id": GUILD.to_string(),
        "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": 11, "name": "thread", "parent_id": super::FORUM.to_string()},
        "member": member(user_id, roles),
        "token": format!("token-{id}"),
        "version": 1,
        "app_permissions": "0",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD.to_string()},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    })
}

/// A click on a button of `message` (a component interaction carries its message).
pub fn button(
    id: u64,
    thread: u64,
    user_id: u64,
    roles: &[u64],
    custom_id: &str,
    message: Value,
) -> Value {
    let mut i = interaction_base(id, 3, thread, user_id, roles);
    i["data"] = json!({"custom_id": custom_id, "component_type": 2});
    i["message"] = message;
    i
}

/// A choice in the string select of `message`.
pub fn select(
    id: u64,
    thread: u64,
    user_id: u64,
    roles: &[u64],
    custom_id: &str,
    values: &[&str],
    message: Value,
) -> Value {
    let mut i = interaction_base(id, 3, thread, user_id, roles);
    i["data"] = json!({"custom_id": custom_id, "component_type": 3, "values": values});
    i["message"] = message;
    i
}

/// A submitted modal: (input custom_id, value) pairs.
pub fn modal_submit(
    id: u64,
    thread: u64,
    user_id: u64,
    roles: &[u64],
    custom_id: &str,
    fields: &[(&str, &str)],
    message: Value,
) -> Value {
    let mut i = interaction_base(id, 5, thread, user_id, roles);
    let rows: Vec<Value> = fields
        .iter()
        .map(|(field, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": field, "value": value}]}))
        .collect();
    i["data"] = json!({"custom_id": custom_id, "components": rows});
    i["message"] = message;
    i
}

/// `/triage <sub> [reason]`.
pub fn slash(
    id: u64,
    channel: u64,
    user_id: u64,
    roles: &[u64],
    sub: &str,
    reason: Option<&str>,
) -> Value {
    let mut i = interaction_base(id, 2, channel, user_id, roles);
    let options: Vec<Value> = reason
        .map(|r| json!({"name": "reason", "type": 3, "value": r}))
        .into_iter()
        .collect();
    i["data"] = json!({
        "id": "7000",
        "name": "triage",
        "type": 1,
        "guild_id": GUILD.to_string(),
        "options": [{"name": sub, "type": 1, "options": options}],
    });
    i
}

/// `/triage <sub>` with any options (each `{"name", "type", "value"}`).
pub fn slash_with(
    id: u64,
    channel: u64,
    user_id: u64,
    roles: &[u64],
    sub: &str,
    options: Vec<Value>,
) -> Value {
    let mut i = slash(id, channel, user_id, roles, sub, None);
    i["data"]["options"][0]["options"] = Value::Array(options);
    i
}

/// AUTO_MODERATION_ACTION_EXECUTION for a BLOCK_MESSAGE action of a KEYWORD rule. A blocked
/// message has no id; Discord sends its content (with MESSAGE_CONTENT) and what matched.
pub fn automod_block(rule: u64, author: u64, channel: u64, content: &str) -> Value {
    json!({
        "guild_id": GUILD.to_string(),
        "action": {"type": 1, "metadata": {"custom_message": "blocked"}},
        "rule_id": rule.to_string(),
        "rule_trigger_type": 1,
        "user_id": author.to_string(),
        "channel_id": channel.to_string(),
        "message_id": null,
        "alert_system_message_id": null,
        "content": content,
        "matched_keyword": null,
        "matched_content": content,
    })
}

/// `/triage <group> <sub>`: a sub-command of a sub-command group (`/triage automod install`).
pub fn slash_group(
    id: u64,
    channel: u64,
    user_id: u64,
    roles: &[u64],
    group: &str,
    sub: &str,
) -> Value {
    let mut i = slash(id, channel, user_id, roles, group, None);
    i["data"]["options"] = json!([{
        "name": group,
        "type": 2,
        "options": [{"name": sub, "type": 1, "options": []}],
    }]);
    i
}
