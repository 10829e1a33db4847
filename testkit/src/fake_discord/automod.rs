//! The fake's AutoMod: `GET|POST /guilds/{id}/auto-moderation/rules` and
//! `GET|PATCH|DELETE /guilds/{id}/auto-moderation/rules/{rule}`, with the limits Discord
//! enforces on a rule (checked here as Discord would refuse them, so that a test sees a 400
//! where Discord would answer one), and the rule objects serenity reads back.

use serde_json::{json, Map, Value};

use super::{id_of, lock, snowflake, State, BOT};

/// Discord's limits for one rule, and for KEYWORD rules in one server.
const MAX_REGEX_PATTERNS: usize = 10;
const MAX_REGEX_CHARS: usize = 260;
const MAX_KEYWORDS: usize = 1000;
const MAX_KEYWORD_CHARS: usize = 60;
const MAX_ALLOW_LIST: usize = 100;
const MAX_CUSTOM_MESSAGE_CHARS: usize = 150;
const MAX_EXEMPT_ROLES: usize = 20;
const MAX_EXEMPT_CHANNELS: usize = 50;
const MAX_KEYWORD_RULES: usize = 6;
const KEYWORD: u64 = 1;

/// Discord's "Invalid Form Body" for one field, in its nested `errors` shape.
fn invalid(path: &[&str], message: &str) -> (u16, Value) {
    let mut errors = json!({"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]});
    for key in path.iter().rev() {
        errors = json!({ *key: errors });
    }
    (
        400,
        json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}),
    )
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"message": "Unknown Auto Moderation Rule", "code": 10066}),
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The rule as Discord returns it: every field serenity requires, ids as strings.
pub fn rule(
    id: u64,
    guild: u64,
    name: &str,
    trigger_type: u64,
    regex_patterns: &[&str],
    actions: Value,
) -> Value {
    json!({
        "id": id.to_string(),
        "guild_id": guild.to_string(),
        "name": name,
        "creator_id": BOT.to_string(),
        "event_type": 1,
        "trigger_type": trigger_type,
        "trigger_metadata": if trigger_type == KEYWORD {
            json!({"keyword_filter": [], "regex_patterns": regex_patterns, "allow_list": []})
        } else {
            json!({})
        },
        "actions": actions,
        "enabled": true,
        "exempt_roles": [],
        "exempt_channels": [],
    })
}

/// Checks a rule (after a create or an edit) the way Discord would; the first problem found.
fn check(rule: &Value) -> Result<(), (u16, Value)> {
    let name = rule["name"].as_str().unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(&["name"], "Must be between 1 and 100 in length."));
    }
    if rule["event_type"].as_u64() != Some(1) {
        return Err(invalid(&["event_type"], "Value must be one of {1}."));
    }
    if rule["trigger_type"].as_u64() == Some(KEYWORD) {
        let metadata = &rule["trigger_metadata"];
        let patterns = strings(&metadata["regex_patterns"]);
        if patterns.len() > MAX_REGEX_PATTERNS {
            return Err(invalid(
                &["trigger_metadata", "regex_patterns"],
                "Must be 10 or fewer in length.",
            ));
        }
        for (i, pattern) in patterns.iter().enumerate() {
            let at = i.to_string();
            let path = ["trigger_metadata", "regex_patterns", at.as_str()];
            if pattern.is_empty() || pattern.chars().count() > MAX_REGEX_CHARS {
                return Err(invalid(&path, "Must be between 1 and 260 in length."));
            }
            if regex::Regex::new(pattern).is_err() {
                return Err(invalid(&path, "Invalid regex"));
            }
        }
        let keywords = strings(&metadata["keyword_filter"]);
        if keywords.len() > MAX_KEYWORDS
            || keywords
                .iter()
                .any(|k| k.chars().count() > MAX_KEYWORD_CHARS)
        {
            return Err(invalid(
                &["trigger_metadata", "keyword_filter"],
                "Too many or too long.",
            ));
        }
        if strings(&metadata["allow_list"]).len() > MAX_ALLOW_LIST {
            return Err(invalid(
                &["trigger_metadata", "allow_list"],
                "Must be 100 or fewer in length.",
            ));
        }
        if patterns.is_empty() && keywords.is_empty() {
            return Err(invalid(
                &["trigger_metadata"],
                "A keyword rule needs keywords or patterns.",
            ));
        }
    }
    let actions = rule["actions"].as_array().cloned().unwrap_or_default();
    if actions.is_empty() {
        return Err(invalid(&["actions"], "This field is required"));
    }
    for action in &actions {
        if action["type"].as_u64() == Some(1) {
            let message = action["metadata"]["custom_message"].as_str().unwrap_or("");
            if message.chars().count() > MAX_CUSTOM_MESSAGE_CHARS {
                return Err(invalid(
                    &["actions", "0", "metadata", "custom_message"],
                    "Must be 150 or fewer in length.",
                ));
            }
        }
    }
    if rule["exempt_roles"].as_array().map_or(0, Vec::len) > MAX_EXEMPT_ROLES {
        return Err(invalid(&["exempt_roles"], "Must be 20 or fewer in length."));
    }
    if rule["exempt_channels"].as_array().map_or(0, Vec::len) > MAX_EXEMPT_CHANNELS {
        return Err(invalid(
            &["exempt_channels"],
            "Must be 50 or fewer in length.",
        ));
    }
    Ok(())
}

/// The fields of a create or edit body laid over `rule`.
fn apply(rule: &mut Value, body: &Value) {
    let (Some(rule), Some(body)) = (rule.as_object_mut(), body.as_object()) else {
        return;
    };
    for key in [
        "name",
        "event_type",
        "trigger_type",
        "actions",
        "enabled",
        "exempt_roles",
        "exempt_channels",
    ] {
        if let Some(v) = body.get(key) {
            rule.insert(key.to_string(), v.clone());
        }
    }
    if let Some(metadata) = body.get("trigger_metadata").and_then(Value::as_object) {
        let merged = rule
            .entry("trigger_metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(merged) = merged.as_object_mut() {
            for (k, v) in metadata {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The REST routes under `/guilds/{guild}/auto-moderation/rules`.
pub(super) fn route(
    state: &State,
    method: &str,
    guild: u64,
    rule_id: Option<u64>,
    body: &Value,
) -> (u16, Value) {
    let mut rules = lock(&state.automod_rules);
    let in_guild = |r: &Value| id_of(&r["guild_id"]) == guild;
    match (method, rule_id) {
        ("GET", None) => {
            let mut list: Vec<Value> = rules.values().filter(|r| in_guild(r)).cloned().collect();
            list.sort_by_key(|r| id_of(&r["id"]));
            (200, Value::Array(list))
        }
        ("GET", Some(id)) => match rules.get(&id).filter(|r| in_guild(r)) {
            Some(rule) => (200, rule.clone()),
            None => not_found(),
        },
        ("POST", None) => {
            let mut rule = json!({
                "id": snowflake(state).to_string(),
                "guild_id": guild.to_string(),
                "creator_id": BOT.to_string(),
                "enabled": false,
                "exempt_roles": [],
                "exempt_channels": [],
                "trigger_metadata": {},
            });
            apply(&mut rule, body);
            if rule["trigger_type"].as_u64() == Some(KEYWORD) {
                // Discord fills in the metadata lists a keyword rule was created without.
                for list in ["keyword_filter", "regex_patterns", "allow_list"] {
                    if rule["trigger_metadata"][list].is_null() {
                        rule["trigger_metadata"][list] = json!([]);
                    }
                }
                let keyword_rules = rules
                    .values()
                    .filter(|r| in_guild(r) && r["trigger_type"].as_u64() == Some(KEYWORD))
                    .count();
                if keyword_rules >= MAX_KEYWORD_RULES {
                    return (
                        400,
                        json!({"code": 30035, "message": "Maximum number of rules of this type reached"}),
                    );
                }
            }
            if let Err(refused) = check(&rule) {
                return refused;
            }
            rules.insert(id_of(&rule["id"]), rule.clone());
            (200, rule)
        }
        ("PATCH", Some(id)) => {
            let Some(existing) = rules.get(&id).filter(|r| in_guild(r)).cloned() else {
                return not_found();
            };
            let mut rule = existing.clone();
            apply(&mut rule, body);
            if rule["trigger_type"] != existing["trigger_type"] {
                return invalid(&["trigger_type"], "A rule's trigger type can't change.");
            }
            if let Err(refused) = check(&rule) {
                return refused;
            }
            rules.insert(id, rule.clone());
            (200, rule)
        }
        ("DELETE", Some(id)) => match rules.get(&id).filter(|r| in_guild(r)) {
            Some(_) => {
                rules.remove(&id);
                (204, Value::Null)
            }
            None => not_found(),
        },
        _ => (
            405,
            json!({"message": "405: Method Not Allowed", "code": 0}),
        ),
    }
}
