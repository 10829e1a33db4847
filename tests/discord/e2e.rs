//! End to end: the real serenity client and the real engine (sled store in a temp dir) against
//! the fake Discord on 127.0.0.1. Every test asserts on the REST calls the bot made.

use imap_triage::store::SledLog;
use serde_json::{json, Value};
use testkit::fake_discord::payloads;
use testkit::fake_discord::{
    id_of, Call, FakeDiscord, BOT, FORUM, MOD_LOG, MOD_ROLE, OTHER_FORUM, OTHER_ROLE, TAGS,
    TEXT_CHANNEL, TOPIC_TAG,
};

use crate::bot::{start, Options};

const MEMBER: u64 = 9_001;
const BYSTANDER: u64 = 9_002;
const MODERATOR: u64 = 9_003;

/// A post that misses most items: no Hub ID, no servers, no error, no checklist.
const VAGUE_POST: &str = "Hi, my inbox won't connect. Can someone help?";

fn posts_to(channel: u64) -> impl Fn(&Call) -> bool {
    move |c: &Call| c.is("POST", &format!("/channels/{channel}/messages"))
}

/// Waits for the bot's status message in `thread`; returns the call.
async fn status_message(fake: &FakeDiscord, thread: u64) -> Call {
    fake.wait_for_call("the status message", |c| posts_to(thread)(c))
        .await
}

/// A complete post: every item support asks for, an error the member can't fix alone (so the
/// bot escalates), and endpoints (not tested: these tests run without the prober).
const COMPLETE_POST: &str = "Hello! I'm trying to connect my inbox (dana@lumen-analytics.io, Google Workspace) and I get \"IMAP authentication error\".\n\nHub ID: 20814377\nIncoming: imap.gmail.com port 993\nOutgoing: smtp.gmail.com port 587\n\n- I manually typed my email address and password (no autofill).\n- I manually entered the server and port information.\n- I confirmed my email and password are correct, I can log in to webmail with them.\n- I confirmed the servers and ports with our IT team.\n";

fn message_calls(calls: &[Call]) -> impl Iterator<Item = &Call> {
    calls.iter().filter(|c| {
        (c.method == "POST" || c.method == "PATCH")
            && (c.path.ends_with("/messages")
                || c.path.contains("/messages/")
                || c.path.starts_with("/webhooks/"))
    })
}

fn edits_of(calls: &[Call], thread: u64, message: u64) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.is("PATCH", &format!("/channels/{thread}/messages/{message}")))
        .cloned()
        .collect()
}

fn callback_of(calls: &[Call], interaction: u64) -> Option<Call> {
    calls
        .iter()
        .find(|c| {
            c.method == "POST"
                && c.path == format!("/interactions/{interaction}/token-{interaction}/callback")
        })
        .cloned()
}

fn followup_of(calls: &[Call], interaction: u64) -> Option<Call> {
    calls
        .iter()
        .find(|c| {
            c.method == "POST"
                && c.path
                    == format!(
                        "/webhooks/{}/token-{interaction}",
                        testkit::fake_discord::APP
                    )
        })
        .cloned()
}

fn original_edit_of(calls: &[Call], interaction: u64) -> Option<Call> {
    calls
        .iter()
        .find(|c| {
            c.method == "PATCH"
                && c.path
                    == format!(
                        "/webhooks/{}/token-{interaction}/messages/@original",
                        testkit::fake_discord::APP
                    )
        })
        .cloned()
}

/// Posts a vague thread and returns (thread, status message id, status message JSON).
async fn vague_thread(fake: &FakeDiscord) -> (u64, u64, Value) {
    let thread = fake.post_thread(FORUM, MEMBER, &[], "IMAP won't connect", VAGUE_POST);
    let status = status_message(fake, thread).await;
    let id = status.response_id();
    (
        thread,
        id,
        fake.message(id).expect("the fake keeps the status message"),
    )
}

/// Sends `text` as the member in `thread`, then waits for the status to be edited after it.
async fn say_and_wait_for_edit(
    fake: &FakeDiscord,
    thread: u64,
    status: u64,
    author: u64,
    roles: &[u64],
    text: &str,
) -> Call {
    let before = fake.call_count();
    fake.say(thread, author, roles, text);
    fake.wait_for("the status message to be edited", |_| {
        edits_of(&fake.calls_since(before), thread, status).pop()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_post_gets_one_status_message_with_controls() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let thread = fake.post_thread(FORUM, MEMBER, &[], "IMAP won't connect", VAGUE_POST);
    let status = status_message(fake, thread).await;
    let body = &status.body;
    // What it found (the four items, ✅/❌) and the asks for what's missing.
    assert!(
        status.content().contains("❌ Hub ID"),
        "{}",
        status.content()
    );
    assert!(
        status.content().contains("What's still needed"),
        "{}",
        status.content()
    );
    // The controls: the checklist select and the two buttons, with the thread in their ids.
    let select = &body["components"][0]["components"][0];
    assert_eq!(select["custom_id"], format!("triage:checklist:{thread}"));
    assert_eq!(select["options"].as_array().map(Vec::len), Some(4));
    let buttons = &body["components"][1]["components"];
    assert_eq!(buttons[0]["custom_id"], format!("triage:details:{thread}"));
    assert_eq!(buttons[0]["label"], "Add details");
    assert_eq!(buttons[1]["custom_id"], format!("triage:probe:{thread}"));
    assert_eq!(buttons[1]["label"], "Run connection test");
    // It pings no one.
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": [], "replied_user": false})
    );
    // The state tag is set; the forum's other tag is kept.
    let tagged = fake
        .wait_for_call("the state tag", |c| {
            c.is("PATCH", &format!("/channels/{thread}")) && c.body.get("applied_tags").is_some()
        })
        .await;
    let applied: Vec<u64> = tagged.body["applied_tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(applied, [TOPIC_TAG, TAGS[0].0]);
    assert_eq!(
        fake.calls().iter().filter(|c| posts_to(thread)(c)).count(),
        1
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_edit_the_status_message_instead_of_posting() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, _) = vague_thread(fake).await;
    // (who writes, what, words the edited status then shows, or must not show)
    let follow_ups = [
        (MEMBER, "Hub ID: 20814377", "✅ Hub ID", true),
        (
            MEMBER,
            "The error says \"IMAP authentication error\"",
            "✅ The error message",
            true,
        ),
        // A bystander's message doesn't fill the member's items.
        (BYSTANDER, "My Hub ID is 55555555", "55555555", false),
    ];
    for (author, text, words, shown) in follow_ups {
        let edit = say_and_wait_for_edit(fake, thread, status, author, &[], text).await;
        assert_eq!(
            edit.content().contains(words),
            shown,
            "{text}: {}",
            edit.content()
        );
        assert_eq!(edit.body["allowed_mentions"]["parse"], json!([]), "{text}");
        // Still the controls, with nothing ticked yet.
        assert_eq!(
            edit.body["components"][0]["components"][0]["custom_id"],
            format!("triage:checklist:{thread}"),
            "{text}"
        );
    }
    // One bot message in the thread: the status.
    assert_eq!(
        fake.calls().iter().filter(|c| posts_to(thread)(c)).count(),
        1
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checklist_select_and_the_details_modal() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, status_json) = vague_thread(fake).await;

    // The member ticks all four items.
    let before = fake.call_count();
    let select = fake.snowflake();
    let all = [
        "typed_credentials",
        "typed_servers",
        "verified_credentials",
        "confirmed_with_provider",
    ];
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::select(
            select,
            thread,
            MEMBER,
            &[],
            &format!("triage:checklist:{thread}"),
            &all,
            status_json.clone(),
        ),
    );
    let ack = fake
        .wait_for("the select to be acknowledged", |calls| {
            callback_of(calls, select)
        })
        .await;
    assert_eq!(ack.body["type"], 6);
    let edit = fake
        .wait_for("the status after the select", |_| {
            edits_of(&fake.calls_since(before), thread, status).pop()
        })
        .await;
    let options = edit.body["components"][0]["components"][0]["options"]
        .as_array()
        .unwrap()
        .clone();
    assert!(options.iter().all(|o| o["default"] == true), "{options:?}");
    assert!(
        edit.content().contains("Checklist confirmed (4 of 4)")
            || edit.content().contains("✅ Checklist"),
        "{}",
        edit.content()
    );
    let answer = fake
        .wait_for("the private confirmation", |calls| {
            followup_of(calls, select)
        })
        .await;
    assert_eq!(answer.body["flags"], 64, "ephemeral");
    assert_eq!(answer.content(), "Checklist saved.");

    // "Add details" opens the modal.
    let click = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::button(
            click,
            thread,
            MEMBER,
            &[],
            &format!("triage:details:{thread}"),
            status_json.clone(),
        ),
    );
    let modal = fake
        .wait_for("the modal", |calls| callback_of(calls, click))
        .await;
    assert_eq!(modal.body["type"], 9);
    assert_eq!(
        modal.body["data"]["custom_id"],
        format!("triage:details:{thread}")
    );
    let inputs: Vec<&str> = modal.body["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["components"][0]["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["hub_id", "imap", "smtp", "error"]);

    // The submitted modal fills the items.
    let before = fake.call_count();
    let submit = fake.snowflake();
    let fields = [
        ("hub_id", "20814377"),
        ("imap", ""),
        ("smtp", ""),
        ("error", "IMAP authentication error"),
    ];
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::modal_submit(
            submit,
            thread,
            MEMBER,
            &[],
            &format!("triage:details:{thread}"),
            &fields,
            status_json,
        ),
    );
    let ack = fake
        .wait_for("the modal to be acknowledged", |calls| {
            callback_of(calls, submit)
        })
        .await;
    assert_eq!(ack.body["type"], 6);
    let edit = fake
        .wait_for("the status after the details", |_| {
            edits_of(&fake.calls_since(before), thread, status).pop()
        })
        .await;
    assert!(edit.content().contains("✅ Hub ID"), "{}", edit.content());
    assert!(
        edit.content().contains("✅ The error message"),
        "{}",
        edit.content()
    );
    let answer = fake
        .wait_for("the private confirmation", |calls| {
            followup_of(calls, submit)
        })
        .await;
    assert_eq!(answer.content(), "Details saved.");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_member_or_a_moderator_can_use_the_controls() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, status_json) = vague_thread(fake).await;

    let click = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::button(
            click,
            thread,
            BYSTANDER,
            &[OTHER_ROLE],
            &format!("triage:details:{thread}"),
            status_json.clone(),
        ),
    );
    let refusal = fake
        .wait_for("the refusal", |calls| callback_of(calls, click))
        .await;
    assert_eq!(refusal.body["type"], 4);
    assert_eq!(refusal.body["data"]["flags"], 64, "ephemeral");
    assert!(refusal.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("Only the member"));

    let select = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::select(
            select,
            thread,
            BYSTANDER,
            &[],
            &format!("triage:checklist:{thread}"),
            &["typed_servers"],
            status_json.clone(),
        ),
    );
    let refusal = fake
        .wait_for("the engine's refusal", |calls| followup_of(calls, select))
        .await;
    assert_eq!(refusal.body["flags"], 64);
    assert!(
        refusal.content().contains("Only the member"),
        "{}",
        refusal.content()
    );

    // A moderator may: the modal opens.
    let click = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::button(
            click,
            thread,
            MODERATOR,
            &[MOD_ROLE],
            &format!("triage:details:{thread}"),
            status_json,
        ),
    );
    let modal = fake
        .wait_for("the modal for the moderator", |calls| {
            callback_of(calls, click)
        })
        .await;
    assert_eq!(modal.body["type"], 9);
    assert!(
        edits_of(&fake.calls(), thread, status).is_empty(),
        "the bystander changed the status"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_pings_the_moderators_once_and_logs_the_case() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let thread = fake.post_thread_with(
        FORUM,
        MEMBER,
        "Workspace inbox: IMAP authentication error",
        |thread| {
            payloads::message_with_attachment(
                thread,
                thread,
                MEMBER,
                COMPLETE_POST,
                "connection-screen.png",
                "image/png",
            )
        },
    );
    let role_mention = format!("<@&{MOD_ROLE}>");
    let ping = fake
        .wait_for_call("the escalation ping", |c| {
            posts_to(thread)(c) && c.content().contains(&role_mention)
        })
        .await;
    assert_eq!(
        ping.body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": [MOD_ROLE.to_string()], "replied_user": false})
    );
    let log = fake
        .wait_for_call("the mod-log embed", |c| posts_to(MOD_LOG)(c))
        .await;
    let embed = &log.body["embeds"][0];
    let field = |name: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(field("Hub ID").as_deref(), Some("20814377"));
    assert_eq!(field("IMAP").as_deref(), Some("imap.gmail.com:993"));
    assert_eq!(field("SMTP").as_deref(), Some("smtp.gmail.com:587"));
    assert!(
        field("Error code").is_some_and(|c| c.contains("imap_auth")),
        "{embed}"
    );
    assert!(field("Provider").is_some_and(|p| p != "—"), "{embed}");
    assert!(embed["description"]
        .as_str()
        .unwrap()
        .contains(&format!("<#{thread}>")));
    assert_eq!(
        embed["url"],
        format!(
            "https://discord.com/channels/{}/{thread}",
            testkit::fake_discord::GUILD
        )
    );
    assert_eq!(log.body["allowed_mentions"]["roles"], json!([]));
    fake.wait_for_call("the Escalated tag", |c| {
        c.is("PATCH", &format!("/channels/{thread}"))
            && c.body["applied_tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| id_of(t) == TAGS[3].0))
    })
    .await;

    // The member says more; the state is the same: no second ping.
    let status = status_message(fake, thread).await.response_id();
    say_and_wait_for_edit(
        fake,
        thread,
        status,
        MEMBER,
        &[],
        "Thanks, waiting for you!",
    )
    .await;
    say_and_wait_for_edit(fake, thread, status, MEMBER, &[], "Any news?").await;
    let calls = fake.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| posts_to(thread)(c) && c.content().contains(&role_mention))
            .count(),
        1
    );
    assert_eq!(calls.iter().filter(|c| posts_to(MOD_LOG)(c)).count(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_password_is_deleted_and_the_member_warned() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, _, _) = vague_thread(fake).await;
    let secret = "Tr0ub4dor&3xyz";
    let message = fake.say(
        thread,
        MEMBER,
        &[],
        &format!("my login is dana@lumen-analytics.io and password: {secret}"),
    );
    fake.wait_for_call("the delete", |c| {
        c.is("DELETE", &format!("/channels/{thread}/messages/{message}"))
    })
    .await;
    let warning = fake
        .wait_for_call("the warning", |c| {
            posts_to(thread)(c) && c.content().contains("Change that password")
        })
        .await;
    assert!(
        warning.content().starts_with(&format!("<@{MEMBER}>")),
        "{}",
        warning.content()
    );
    assert!(
        warning.content().contains("I deleted your message"),
        "{}",
        warning.content()
    );
    assert_eq!(
        warning.body["allowed_mentions"],
        json!({"parse": [], "users": [MEMBER.to_string()], "roles": [], "replied_user": false})
    );
    // The value never goes back to Discord.
    assert!(fake
        .calls()
        .iter()
        .all(|c| !c.body.to_string().contains(secret)));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_on_delete_is_reported_and_the_bot_carries_on() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, _) = vague_thread(fake).await;
    let secret = "hunter2hunter2";
    let before = fake.call_count();
    let message = fake.snowflake();
    fake.fail(
        "DELETE",
        &format!("/channels/{thread}/messages/{message}"),
        403,
        1,
    );
    fake.say_id(message, thread, MEMBER, &[], &format!("password: {secret}"));
    let denied = fake
        .wait_for("the refused delete", |_| {
            fake.calls_since(before)
                .into_iter()
                .find(|c| c.method == "DELETE" && c.status == 403)
        })
        .await;
    assert_eq!(
        denied.path,
        format!("/channels/{thread}/messages/{message}")
    );
    let warning = fake
        .wait_for_call("the warning", |c| {
            posts_to(thread)(c) && c.content().contains("Change that password")
        })
        .await;
    assert!(
        warning.content().contains("could not delete"),
        "{}",
        warning.content()
    );
    assert!(
        warning.content().contains("permission"),
        "{}",
        warning.content()
    );
    assert!(!warning.content().contains(secret));
    // The bot carries on: the status follows this message, then the next.
    fake.wait_for("the status edit", |_| {
        edits_of(&fake.calls_since(before), thread, status).pop()
    })
    .await;
    let edit = say_and_wait_for_edit(fake, thread, status, MEMBER, &[], "Hub ID: 20814377").await;
    assert!(edit.content().contains("✅ Hub ID"), "{}", edit.content());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_commands_by_mention_and_slash() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, _) = vague_thread(fake).await;
    let replies = |fake: &FakeDiscord, to: u64| {
        fake.calls().into_iter().find(|c| {
            posts_to(thread)(c) && id_of(&c.body["message_reference"]["message_id"]) == to
        })
    };

    // A member can't.
    let refused = fake.say(
        thread,
        MEMBER,
        &[],
        &format!("<@{BOT}> resolve it works now"),
    );
    let reply = fake
        .wait_for("the refusal", |_| replies(fake, refused))
        .await;
    assert!(
        reply.content().contains("Only moderators"),
        "{}",
        reply.content()
    );
    assert_eq!(reply.body["allowed_mentions"]["parse"], json!([]));
    assert_eq!(reply.body["allowed_mentions"]["replied_user"], false);

    // A moderator gets the status.
    let asked = fake.say(thread, MODERATOR, &[MOD_ROLE], &format!("<@{BOT}> status"));
    let reply = fake
        .wait_for("the status reply", |_| replies(fake, asked))
        .await;
    assert!(!reply.content().is_empty());

    // `resolve` needs a reason.
    let bare = fake.say(thread, MODERATOR, &[MOD_ROLE], &format!("<@{BOT}> resolve"));
    let reply = fake.wait_for("the usage", |_| replies(fake, bare)).await;
    assert!(
        reply.content().contains("needs a reason"),
        "{}",
        reply.content()
    );

    // A command inside a code block is an example, not a command: treated as a message.
    let before = fake.call_count();
    let example = fake.say(
        thread,
        MODERATOR,
        &[MOD_ROLE],
        &format!("Try this:\n```\n<@{BOT}> resolve done\n```"),
    );
    fake.wait_for("the example to be read as a message", |_| {
        edits_of(&fake.calls_since(before), thread, status).pop()
    })
    .await;
    assert!(replies(fake, example).is_none());

    // Resolve with a reason: tag and notice.
    let resolve = fake.say(
        thread,
        MODERATOR,
        &[MOD_ROLE],
        &format!("<@{BOT}> resolve app password fixed it"),
    );
    let reply = fake
        .wait_for("the resolve reply", |_| replies(fake, resolve))
        .await;
    assert_eq!(reply.content(), "Resolved.");
    fake.wait_for_call("the Resolved tag", |c| {
        c.is("PATCH", &format!("/channels/{thread}"))
            && c.body["applied_tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| id_of(t) == TAGS[4].0))
    })
    .await;

    // The slash command: deferred privately, then answered.
    let slash = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash(slash, thread, MODERATOR, &[MOD_ROLE], "reopen", None),
    );
    let defer = fake
        .wait_for("the deferral", |calls| callback_of(calls, slash))
        .await;
    assert_eq!(defer.body["type"], 5);
    assert_eq!(defer.body["data"]["flags"], 64);
    let answer = fake
        .wait_for("the answer", |calls| original_edit_of(calls, slash))
        .await;
    assert_eq!(answer.content(), "Reopened.");

    let slash = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash(slash, thread, MEMBER, &[], "escalate", None),
    );
    let answer = fake
        .wait_for("the slash refusal", |calls| original_edit_of(calls, slash))
        .await;
    assert!(
        answer.content().contains("Only moderators"),
        "{}",
        answer.content()
    );

    let slash = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash(
            slash,
            thread,
            MODERATOR,
            &[MOD_ROLE],
            "resolve",
            Some("IT opened the firewall"),
        ),
    );
    let answer = fake
        .wait_for("the slash resolve", |calls| original_edit_of(calls, slash))
        .await;
    assert_eq!(answer.content(), "Resolved.");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_member_text_pings_no_one() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let loud = format!("@everyone @here <@&{OTHER_ROLE}> <@{BYSTANDER}> my IMAP fails with \"IMAP authentication error\"");
    let thread = fake.post_thread(FORUM, MEMBER, &[], "@everyone help", &loud);
    let status = status_message(fake, thread).await.response_id();
    say_and_wait_for_edit(
        fake,
        thread,
        status,
        MEMBER,
        &[],
        &format!("@everyone <@&{MOD_ROLE}> Hub ID 20814377"),
    )
    .await;
    let secret_post = fake.say(thread, MEMBER, &[], "@here password: s3cretValue!!");
    fake.wait_for_call("the warning", |c| {
        posts_to(thread)(c) && c.content().contains("Change that password")
    })
    .await;
    let _ = secret_post;
    let calls = fake.calls();
    let sent: Vec<&Call> = message_calls(&calls).collect();
    assert!(sent.len() >= 3, "{sent:?}");
    for call in sent {
        let allowed = &call.body["allowed_mentions"];
        assert_eq!(
            allowed["parse"],
            json!([]),
            "{} {}: {allowed}",
            call.method,
            call.path
        );
        let users: Vec<u64> = allowed["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        let roles: Vec<u64> = allowed["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert!(
            users.iter().all(|u| *u == MEMBER),
            "{} {}: {allowed}",
            call.method,
            call.path
        );
        assert!(
            roles.iter().all(|r| *r == MOD_ROLE),
            "{} {}: {allowed}",
            call.method,
            call.path
        );
        // Whoever a message pings, the member's @everyone and @here stay neutralized.
        for mention in ["@everyone", "@here"] {
            assert!(
                !call.content().contains(mention),
                "{} {}: {}",
                call.method,
                call.path,
                call.content()
            );
        }
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_dispatch_gives_one_reply() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let (thread, status, _) = vague_thread(fake).await;
    // The post replayed (THREAD_CREATE and the starter), and a follow-up delivered twice.
    let channel = fake.channel(thread).unwrap();
    fake.dispatch("THREAD_CREATE", channel);
    fake.dispatch("MESSAGE_CREATE", fake.message(thread).unwrap());
    let before = fake.call_count();
    let follow_up = fake.say(thread, MEMBER, &[], "Hub ID: 20814377");
    fake.wait_for("the edit", |_| {
        edits_of(&fake.calls_since(before), thread, status).pop()
    })
    .await;
    fake.dispatch("MESSAGE_CREATE", fake.message(follow_up).unwrap());
    // Two later messages, each waited for, so the replays above have long been handled.
    say_and_wait_for_edit(
        fake,
        thread,
        status,
        MEMBER,
        &[],
        "The error is \"IMAP authentication error\"",
    )
    .await;
    say_and_wait_for_edit(fake, thread, status, MEMBER, &[], "Thanks").await;
    let calls = fake.calls();
    assert_eq!(
        calls.iter().filter(|c| posts_to(thread)(c)).count(),
        1,
        "one status message"
    );
    assert_eq!(
        edits_of(&calls, thread, status).len(),
        3,
        "one edit per distinct message"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_channel_post_gets_a_thread_and_other_channels_are_ignored() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    // A post in a forum the bot doesn't watch: its THREAD_CREATE says so, and it is not
    // answered (checked at the end, after the text channel's round trips below).
    let ignored = fake.post_thread(OTHER_FORUM, MEMBER, &[], "Off topic", VAGUE_POST);

    let post = fake.say(
        TEXT_CHANNEL,
        MEMBER,
        &[],
        "**IMAP problem**\nMy inbox won't connect.",
    );
    let opened = fake
        .wait_for_call("the thread", |c| {
            c.is(
                "POST",
                &format!("/channels/{TEXT_CHANNEL}/messages/{post}/threads"),
            )
        })
        .await;
    assert_eq!(opened.body["name"], "IMAP problem");
    let status = status_message(fake, post).await;
    assert!(
        status.content().contains("❌ Hub ID"),
        "{}",
        status.content()
    );
    assert_eq!(
        status.body["components"][1]["components"][1]["custom_id"],
        format!("triage:probe:{post}")
    );
    // A replay doesn't open a second thread.
    fake.dispatch("MESSAGE_CREATE", fake.message(post).unwrap());
    say_and_wait_for_edit(
        fake,
        post,
        status.response_id(),
        MEMBER,
        &[],
        "Hub ID: 20814377",
    )
    .await;
    let calls = fake.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.path.ends_with("/threads"))
            .count(),
        1
    );
    assert!(
        !calls.iter().any(|c| posts_to(ignored)(c)),
        "answered in an unwatched forum"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.is("GET", &format!("/channels/{ignored}"))),
        "looked up a thread whose THREAD_CREATE named an unwatched forum"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_probe_edits_one_testing_message_against_the_local_servers() {
    let servers = testkit::probe::servers();
    let (imap, smtp) = (servers.imap_tls, servers.smtp_starttls);
    let probe = format!(
        "allowed_ports = [{}, {}, {}, {}]\nca_files = [\"{}\"]\nbudget_secs = 8\nstep_timeout_secs = 3\n",
        servers.imap_plain,
        imap,
        smtp,
        servers.smtp_tls,
        servers.ca.display()
    );
    let bot = start(Options {
        settings: probe,
        prober: true,
        ..Options::default()
    })
    .await;
    let fake = &bot.fake;
    let post = format!("My inbox won't connect: \"IMAP authentication error\".\nIncoming: 127.0.0.1 port {imap}\nOutgoing: 127.0.0.1:{smtp}");
    let thread = fake.post_thread(FORUM, MEMBER, &[], "Self-hosted mail", &post);
    let status = status_message(fake, thread).await;
    assert!(
        status.content().contains(&format!("127.0.0.1:{imap}")),
        "{}",
        status.content()
    );

    let testing = fake
        .wait_for_call("the Testing… message", |c| {
            posts_to(thread)(c) && c.content().contains("Testing the connection")
        })
        .await;
    assert_eq!(testing.body["allowed_mentions"]["parse"], json!([]));
    let testing_id = testing.response_id();
    let report = fake
        .wait_for("the final report", |calls| {
            edits_of(calls, thread, testing_id)
                .into_iter()
                .find(|c| c.content().starts_with("🔎 **Connection test**"))
        })
        .await;
    // Progress: the same message edited stage by stage before the report.
    let edits = edits_of(&fake.calls(), thread, testing_id);
    let progress: Vec<&Call> = edits
        .iter()
        .take_while(|c| !c.content().starts_with("🔎 **Connection test**"))
        .collect();
    assert!(!progress.is_empty(), "no progress edit before the report");
    assert!(
        progress
            .iter()
            .any(|c| c.content().contains(&format!("✅ IMAP `127.0.0.1:{imap}`"))),
        "{progress:?}"
    );
    // The report: both endpoints, with what answered.
    assert!(
        report.content().contains(&format!("127.0.0.1:{imap}")),
        "{}",
        report.content()
    );
    assert!(
        report.content().contains(&format!("127.0.0.1:{smtp}")),
        "{}",
        report.content()
    );
    // The stages beside it, in an embed: one field per endpoint.
    let fields = &report.body["embeds"][0]["fields"];
    assert_eq!(
        fields[0]["name"],
        json!(format!("IMAP 127.0.0.1:{imap}")),
        "{}",
        report.body
    );
    assert!(
        fields[0]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("tcp ✓"),
        "{}",
        report.body
    );

    // Once per distinct endpoint set: another message doesn't probe again.
    say_and_wait_for_edit(
        fake,
        thread,
        status.response_id(),
        MEMBER,
        &[],
        "Hub ID: 20814377",
    )
    .await;
    let tests = fake
        .calls()
        .iter()
        .filter(|c| posts_to(thread)(c) && c.content().contains("Testing the connection"))
        .count();
    assert_eq!(tests, 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_5xx_and_404_errors_do_not_stop_the_bot() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    // The forum's tags can't be read once (5xx), and a thread vanished (404 on its reply).
    fake.fail("GET", &format!("/channels/{FORUM}"), 500, 1);
    let gone = fake.snowflake() + 1_000_000;
    fake.fail("POST", &format!("/channels/{gone}/messages"), 404, 1);
    let (thread, status, _) = vague_thread(fake).await;
    fake.wait_for_call("the failed tag lookup", |c| {
        c.is("GET", &format!("/channels/{FORUM}")) && c.status == 500
    })
    .await;
    let channel = payloads::thread_channel(gone, FORUM, MEMBER, "Deleted meanwhile");
    fake.put_channel(channel.clone());
    fake.dispatch("THREAD_CREATE", channel);
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message(gone, gone, MEMBER, &[], VAGUE_POST),
    );
    fake.wait_for_call("the refused reply", |c| {
        posts_to(gone)(c) && c.status == 404
    })
    .await;
    // Other threads go on.
    let edit = say_and_wait_for_edit(fake, thread, status, MEMBER, &[], "Hub ID: 20814377").await;
    assert!(edit.content().contains("✅ Hub ID"), "{}", edit.content());
    let other = fake.post_thread(FORUM, BYSTANDER, &[], "Another one", VAGUE_POST);
    status_message(fake, other).await;
    bot.stop().await;
}

/// A forum post whose title holds a password (issue 9): the title is stored and shown redacted,
/// the member is told, and the bot renames the post itself when it has Manage Threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_a_forum_title_is_renamed_away_and_never_shown() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let secret = "Ttl!Secret55";
    let thread = fake.post_thread(
        FORUM,
        MEMBER,
        &[],
        &format!("IMAP fails - password: {secret}"),
        "Outlook says IMAP authentication error since yesterday",
    );
    let rename = fake
        .wait_for_call("the rename", |c| {
            c.is("PATCH", &format!("/channels/{thread}")) && c.body.get("name").is_some()
        })
        .await;
    assert_eq!(rename.body["name"], "IMAP fails - password: [redacted]");
    assert_eq!(
        fake.channel(thread).unwrap()["name"],
        "IMAP fails - password: [redacted]"
    );
    let warning = fake
        .wait_for_call("the warning", |c| {
            posts_to(thread)(c) && c.content().contains("renamed the post")
        })
        .await;
    assert!(
        warning.content().starts_with(&format!("<@{MEMBER}>")),
        "{}",
        warning.content()
    );
    // The starter message held nothing: it stays.
    assert!(!fake.calls().iter().any(|c| c.method == "DELETE"));

    // The stored title, and the mod log's, are redacted.
    use imap_triage::store::TriageLog as _;
    let mut stored = None;
    for _ in 0..100 {
        let (store, _copy) = SledLog::open_snapshot(&bot.dir.path().join("store")).unwrap();
        stored = store.ticket(imap_triage::ticket::ThreadId(thread)).unwrap();
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        stored.expect("the ticket is committed").title,
        "IMAP fails - password: [redacted]"
    );
    fake.say(
        thread,
        MODERATOR,
        &[MOD_ROLE],
        &format!("<@{BOT}> escalate"),
    );
    let log = fake
        .wait_for_call("the mod log", |c| posts_to(MOD_LOG)(c))
        .await;
    assert_eq!(
        log.body["embeds"][0]["title"],
        "Escalated: IMAP fails - password: [redacted]"
    );
    // The value never goes back to Discord.
    assert!(fake
        .calls()
        .iter()
        .all(|c| !c.body.to_string().contains(secret)));
    bot.stop().await;
}

/// Without Manage Threads, the member is asked to retitle the post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_a_forum_title_the_bot_cannot_rename_is_left_to_the_member() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let secret = "Ttl!Secret55";
    let thread = fake.snowflake();
    fake.fail("PATCH", &format!("/channels/{thread}"), 403, 1);
    fake.post_thread_as(
        thread,
        FORUM,
        MEMBER,
        &format!("pwd={secret} not working"),
        |thread| payloads::message(thread, thread, MEMBER, &[], "IMAP authentication error"),
    );
    let warning = fake
        .wait_for_call("the warning", |c| {
            posts_to(thread)(c) && c.content().contains("edit the post's title")
        })
        .await;
    assert!(
        warning.content().contains("Change that password"),
        "{}",
        warning.content()
    );
    assert!(fake
        .calls()
        .iter()
        .any(|c| c.method == "PATCH" && c.status == 403 && c.body.get("name").is_some()));
    assert!(fake
        .calls()
        .iter()
        .all(|c| !c.body.to_string().contains(secret)));
    bot.stop().await;
}

/// A text-channel post's first line becomes the thread's name: never a line with a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_opened_on_a_post_is_not_named_after_a_password() {
    let bot = start(Options::default()).await;
    let fake = &bot.fake;
    let secret = "Pw1-FirstLine!x";
    let post = fake.say(
        TEXT_CHANNEL,
        MEMBER,
        &[],
        &format!("password: {secret}\nGmail IMAP fails with IMAP authentication error"),
    );
    let created = fake
        .wait_for_call("the thread", |c| {
            c.is(
                "POST",
                &format!("/channels/{TEXT_CHANNEL}/messages/{post}/threads"),
            )
        })
        .await;
    assert_eq!(
        created.body["name"],
        "Gmail IMAP fails with IMAP authentication error"
    );
    fake.wait_for_call("the delete", |c| {
        c.method == "DELETE" && c.path.ends_with(&format!("/messages/{post}"))
    })
    .await;
    assert!(fake
        .calls()
        .iter()
        .all(|c| !c.body.to_string().contains(secret)));
    bot.stop().await;
}
