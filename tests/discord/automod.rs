//! The AutoMod pre-block end to end: `/triage automod install|status|remove` from the real
//! serenity client to the fake's AutoMod endpoints (which refuse what Discord refuses), and the
//! follow-up in the member's thread when the rule blocks a message.

use imap_triage::core::secrets::automod as patterns;
use imap_triage::engine::automod::{CUSTOM_MESSAGE, RULE_NAME};
use serde_json::{json, Value};
use testkit::fake_discord::automod::rule as automod_rule;
use testkit::fake_discord::{
    id_of, payloads, Call, FakeDiscord, APP, FORUM, GUILD, MOD_LOG, MOD_ROLE, OTHER_ROLE,
};

use crate::bot::{start, Options};

const MEMBER: u64 = 9_101;
const BYSTANDER: u64 = 9_102;
const MODERATOR: u64 = 9_103;

/// The fake guild's AutoMod rules, as a REST path.
fn rules_path() -> String {
    format!("/guilds/{GUILD}/auto-moderation/rules")
}

/// Runs `/triage automod <sub>` as `user` and returns the private answer.
async fn automod(fake: &FakeDiscord, user: u64, roles: &[u64], sub: &str) -> String {
    let interaction = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash_group(interaction, MOD_LOG, user, roles, "automod", sub),
    );
    let answer = fake
        .wait_for_call(&format!("the answer to /triage automod {sub}"), |c| {
            c.is(
                "PATCH",
                &format!("/webhooks/{APP}/token-{interaction}/messages/@original"),
            )
        })
        .await;
    // Deferred privately first (the REST work may take longer than Discord's 3 s).
    let deferred = fake
        .calls()
        .into_iter()
        .find(|c| c.path == format!("/interactions/{interaction}/token-{interaction}/callback"))
        .expect("the interaction was acknowledged");
    assert_eq!(deferred.body["data"]["flags"], 64, "ephemeral");
    assert_eq!(answer.body["allowed_mentions"]["parse"], json!([]));
    answer.content().to_string()
}

fn automod_calls(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.path.starts_with(&rules_path()))
        .collect()
}

/// The bot's posts in `channel`, after the first `from` calls.
fn posts_in(fake: &FakeDiscord, channel: u64, from: usize) -> Vec<Call> {
    fake.calls_since(from)
        .into_iter()
        .filter(|c| c.is("POST", &format!("/channels/{channel}/messages")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_status_reinstall_and_remove_one_keyword_rule() {
    let bot = start(Options {
        settings: format!(
            "[discord.automod]\nexempt_channels = [{MOD_LOG}]\nexempt_roles = [{MOD_ROLE}]\n"
        ),
        ..Options::default()
    })
    .await;
    let fake = &bot.fake;
    let rules = rules_path();

    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "status").await;
    assert!(answer.contains("not installed"), "{answer}");

    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(answer.starts_with("Installed the AutoMod rule"), "{answer}");
    let created = fake
        .wait_for_call("the rule's creation", |c| c.is("POST", &rules))
        .await;
    assert_eq!(created.status, 200, "{}", created.response);
    let body = &created.body;
    // One KEYWORD rule on message send, that blocks the message with a short explanation.
    assert_eq!(body["name"], RULE_NAME);
    assert_eq!(body["trigger_type"], 1);
    assert_eq!(body["event_type"], 1);
    assert_eq!(body["enabled"], true);
    let sent: Vec<&str> = body["trigger_metadata"]["regex_patterns"]
        .as_array()
        .expect("regex_patterns")
        .iter()
        .map(|p| p.as_str().expect("a pattern"))
        .collect();
    assert_eq!(sent, patterns::patterns());
    assert!(!sent.is_empty() && sent.len() <= 10);
    for pattern in &sent {
        assert!(pattern.chars().count() <= 260, "{pattern}");
    }
    assert_eq!(body["trigger_metadata"]["keyword_filter"], json!([]));
    let actions = body["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["type"], 1, "BLOCK_MESSAGE");
    let message = actions[0]["metadata"]["custom_message"]
        .as_str()
        .expect("custom_message");
    assert_eq!(message, CUSTOM_MESSAGE);
    assert!(message.chars().count() <= 150);
    assert_eq!(body["exempt_channels"], json!([MOD_LOG.to_string()]));
    assert_eq!(body["exempt_roles"], json!([MOD_ROLE.to_string()]));
    let id = created.response_id();

    // Again: the same rule is updated, not a second one created.
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(answer.starts_with("Updated the AutoMod rule"), "{answer}");
    let edited = fake
        .wait_for_call("the rule's update", |c| {
            c.is("PATCH", &format!("{rules}/{id}"))
        })
        .await;
    assert_eq!(edited.status, 200, "{}", edited.response);
    assert_eq!(
        edited.body["trigger_metadata"]["regex_patterns"],
        body["trigger_metadata"]["regex_patterns"]
    );
    let calls = fake.calls();
    assert_eq!(
        automod_calls(&calls)
            .iter()
            .filter(|c| c.method == "POST")
            .count(),
        1
    );
    assert_eq!(fake.automod_rules().len(), 1);

    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "status").await;
    assert!(answer.contains("installed and enabled"), "{answer}");
    assert!(
        answer.contains(&format!("{} patterns", sent.len())),
        "{answer}"
    );

    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "remove").await;
    assert!(answer.starts_with("Removed the AutoMod rule"), "{answer}");
    let deleted = fake
        .wait_for_call("the rule's deletion", |c| {
            c.is("DELETE", &format!("{rules}/{id}"))
        })
        .await;
    assert_eq!(deleted.status, 204);
    assert!(fake.automod_rules().is_empty());
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "remove").await;
    assert!(answer.contains("was not installed"), "{answer}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_moderators_manage_the_rule() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    for sub in ["install", "status", "remove"] {
        let answer = automod(fake, MEMBER, &[OTHER_ROLE], sub).await;
        assert!(answer.contains("Only moderators"), "{sub}: {answer}");
    }
    // Refused before Discord is asked anything.
    assert!(automod_calls(&fake.calls()).is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_manage_server_the_moderator_is_told_which_permission() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let rules = rules_path();
    // Listing the rules needs Manage Server too.
    fake.fail("GET", &rules, 403, 1);
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(answer.contains("Manage Server"), "{answer}");
    // Listing allowed, creating refused.
    fake.fail("POST", &rules, 403, 1);
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(answer.contains("Manage Server"), "{answer}");
    assert!(fake.automod_rules().is_empty());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_six_keyword_rules_gets_no_seventh() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let block = json!([{"type": 1, "metadata": {}}]);
    for i in 0..6 {
        fake.put_automod_rule(automod_rule(
            70 + i,
            GUILD,
            &format!("words {i}"),
            1,
            &["badword"],
            block.clone(),
        ));
    }
    // A spam rule is not a keyword rule: it doesn't count.
    fake.put_automod_rule(automod_rule(80, GUILD, "spam", 3, &[], block.clone()));
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(
        answer.contains("already has 6 keyword AutoMod rules"),
        "{answer}"
    );
    assert!(!fake.calls().iter().any(|c| c.is("POST", &rules_path())));
    assert_eq!(fake.automod_rules().len(), 7);
    bot.stop().await;
}

/// Waits for the rule the bot installed, and returns its id.
async fn installed_rule(fake: &FakeDiscord) -> u64 {
    let answer = automod(fake, MODERATOR, &[MOD_ROLE], "install").await;
    assert!(answer.starts_with("Installed"), "{answer}");
    let rule = fake
        .automod_rules()
        .into_iter()
        .find(|r| r["name"] == RULE_NAME)
        .expect("the installed rule");
    id_of(&rule["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_message_gets_a_follow_up_in_the_members_thread() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let rule = installed_rule(fake).await;
    let thread = fake.post_thread(
        FORUM,
        MEMBER,
        &[],
        "IMAP won't connect",
        "Hi, my inbox won't connect.",
    );
    fake.wait_for_call("the status message", |c| {
        c.is("POST", &format!("/channels/{thread}/messages"))
    })
    .await;

    // Another rule's block (the server's own word filter) is not the bot's to answer.
    let block = json!([{"type": 1, "metadata": {}}]);
    fake.put_automod_rule(automod_rule(90, GUILD, "words", 1, &["badword"], block));
    let before = fake.call_count();
    fake.automod_block(90, BYSTANDER, thread, "badword");
    fake.wait_for_call("the bot to look the other rule up", |c| {
        c.is("GET", &format!("{}/90", rules_path()))
    })
    .await;

    let secret = "Hunter2-Blocked!77";
    fake.automod_block(rule, MEMBER, thread, &format!("password: {secret}"));
    let follow_up = fake
        .wait_for("the follow-up", |_| posts_in(fake, thread, before).pop())
        .await;
    let text = follow_up.content();
    assert!(text.starts_with(&format!("<@{MEMBER}> ")), "{text}");
    for words in [
        "blocked because it looked like it held a password",
        "the error text",
        "server and port",
        "screenshot",
        "password field hidden",
        "change it",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }
    // Never what was blocked; pings only the member.
    assert!(!text.contains(secret), "{text}");
    assert_eq!(
        follow_up.body["allowed_mentions"],
        json!({"parse": [], "users": [MEMBER.to_string()], "roles": [], "replied_user": false})
    );
    assert_eq!(posts_in(fake, thread, before).len(), 1, "one follow-up");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_outside_the_support_channels_gets_no_follow_up() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let rule = installed_rule(fake).await;
    let before = fake.call_count();
    // The mod-log is a text channel the bot doesn't watch: Discord's notice is the answer.
    fake.automod_block(rule, MEMBER, MOD_LOG, "password: Hunter2-Blocked!77");
    // It looked the channel up, and then said nothing there.
    fake.wait_for_call("the channel look-up", |c| {
        c.is("GET", &format!("/channels/{MOD_LOG}"))
    })
    .await;
    let thread = fake.post_thread(FORUM, MEMBER, &[], "IMAP", "Hi, my inbox won't connect.");
    fake.automod_block(rule, MEMBER, thread, "password: Hunter2-Blocked!77");
    fake.wait_for("the follow-up in the thread", |_| {
        posts_in(fake, thread, before)
            .into_iter()
            .find(|c| c.content().contains("blocked"))
    })
    .await;
    assert!(posts_in(fake, MOD_LOG, before).is_empty());
    bot.stop().await;
}

/// The fake itself refuses what Discord refuses, so that the tests above mean something.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_rules_beyond_discords_limits() {
    let fake = FakeDiscord::start().await;
    let client = RawClient(fake.api_base.clone());
    let rule = |patterns: Vec<String>, message: &str| {
        json!({
            "name": "t", "event_type": 1, "trigger_type": 1,
            "trigger_metadata": {"regex_patterns": patterns},
            "actions": [{"type": 1, "metadata": {"custom_message": message}}],
        })
    };
    let ok = client.post(rule(vec!["a+b".into()], "ok")).await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    for (body, field) in [
        (rule(vec!["a".into(); 11], "ok"), "regex_patterns"),
        (rule(vec!["a".repeat(261)], "ok"), "regex_patterns"),
        (rule(vec!["(".into()], "ok"), "regex_patterns"),
        (rule(vec!["a".into()], &"m".repeat(151)), "custom_message"),
    ] {
        let (status, response) = client.post(body).await;
        assert_eq!(status, 400, "{response}");
        assert_eq!(response["code"], 50035);
        assert!(response["errors"].to_string().contains(field), "{response}");
    }
}

/// Plain HTTP/1.1 requests to the fake, without serenity (which would refuse to send some).
struct RawClient(String);

impl RawClient {
    async fn post(&self, body: Value) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.0.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let body = body.to_string();
        let request = format!(
            "POST /api/v10{} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            rules_path(),
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let json = response
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }
}
