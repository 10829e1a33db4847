//! Fault tests and the moderators' review commands, end to end: the real serenity client and
//! engine against the fake Discord. Gateway disconnect + RESUME, INVALID_SESSION, REST 429 and
//! 500: the bot recovers and every member message gets its status reply exactly once.

use std::time::Duration;

use serde_json::json;
use testkit::fake_discord::payloads;
use testkit::fake_discord::{Call, FakeDiscord, APP, FORUM, MOD_LOG, MOD_ROLE};

use imap_triage::engine::chat::{Chat, OutMessage, ThreadId};

use crate::bot::{copy_shipped_rules, start, Options};

const MEMBER: u64 = 9_001;
const MODERATOR: u64 = 9_003;
const VAGUE_POST: &str = "Hi, my inbox won't connect. Can someone help?";
/// An overall bound per test: a hung test must fail, not block CI.
const TEST_BOUND: Duration = Duration::from_secs(90);

fn status_posts(calls: &[Call], thread: u64) -> usize {
    calls
        .iter()
        .filter(|c| {
            c.is("POST", &format!("/channels/{thread}/messages"))
                && c.status == 200
                && c.content().contains("Hub ID")
        })
        .count()
}

/// Posts a thread and waits for its (successful) status message; returns the thread.
async fn thread_with_status(fake: &FakeDiscord, title: &str) -> u64 {
    let thread = fake.post_thread(FORUM, MEMBER, &[], title, VAGUE_POST);
    fake.wait_for("the status message", |calls| {
        (status_posts(calls, thread) > 0).then_some(())
    })
    .await;
    thread
}

/// Every thread got exactly one status message (counting the messages the fake holds, since
/// a deduplicated retry returns the first one).
fn assert_one_status_each(fake: &FakeDiscord, threads: &[u64]) {
    let calls = fake.calls();
    for &thread in threads {
        let ids: std::collections::BTreeSet<u64> = calls
            .iter()
            .filter(|c| {
                c.is("POST", &format!("/channels/{thread}/messages"))
                    && c.status == 200
                    && c.content().contains("Hub ID")
            })
            .map(Call::response_id)
            .collect();
        assert_eq!(ids.len(), 1, "thread {thread}: status messages {ids:?}");
    }
}

async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_BOUND, test)
        .await
        .expect("the test finished within its bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_connection_resumes_and_replies_once() {
    bounded(async {
        let bot = start(Options::default()).await;
        let fake = &bot.fake;
        let before = thread_with_status(fake, "Before the drop").await;
        let resumed = fake.resume_count();
        fake.disconnect();
        fake.wait_resumed(resumed).await;
        let after = thread_with_status(fake, "After the drop").await;
        assert_eq!(fake.identify_count(), 1, "resumed, not re-identified");
        assert_one_status_each(fake, &[before, after]);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_session_re_identifies_and_replies_once() {
    bounded(async {
        let bot = start(Options::default()).await;
        let fake = &bot.fake;
        let before = thread_with_status(fake, "Before").await;
        let identified = fake.identify_count();
        fake.invalidate_session();
        fake.wait_identified(identified).await;
        let after = thread_with_status(fake, "After").await;
        // A replayed dispatch of the first post after the new session changes nothing.
        fake.dispatch(
            "MESSAGE_CREATE",
            payloads::message(before, before, MEMBER, &[], VAGUE_POST),
        );
        let marker = thread_with_status(fake, "Marker").await;
        assert_one_status_each(fake, &[before, after, marker]);
        bot.stop().await;
    })
    .await;
}

/// Posts a thread whose status post fails once with `status`, and waits for the retried one.
async fn thread_whose_status_post_fails_once(fake: &FakeDiscord, status: u16, title: &str) -> u64 {
    // The thread's id is taken first, so that its post can be made to fail. (Predicting the
    // next id was flaky: ids follow the clock, and a millisecond may pass in between.)
    let thread = fake.snowflake();
    fake.fail("POST", &format!("/channels/{thread}/messages"), status, 1);
    fake.post_thread_as(thread, FORUM, MEMBER, title, |thread| {
        payloads::message(thread, thread, MEMBER, &[], VAGUE_POST)
    });
    fake.wait_for("the retried status message", |calls| {
        (status_posts(calls, thread) > 0).then_some(())
    })
    .await;
    thread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_the_status_post_is_retried_once() {
    bounded(async {
        let bot = start(Options::default()).await;
        let fake = &bot.fake;
        let thread = thread_whose_status_post_fails_once(fake, 429, "Rate limited").await;
        let calls = fake.calls();
        let refused = calls
            .iter()
            .filter(|c| c.is("POST", &format!("/channels/{thread}/messages")) && c.status == 429)
            .count();
        assert_eq!(refused, 1);
        // The edit after a member reply is retried too.
        let status = calls
            .iter()
            .find(|c| c.is("POST", &format!("/channels/{thread}/messages")) && c.status == 200)
            .map(Call::response_id)
            .expect("status message");
        let edit_path = format!("/channels/{thread}/messages/{status}");
        fake.fail("PATCH", &edit_path, 429, 1);
        fake.say(thread, MEMBER, &[], "Hub ID: 20814377");
        let edit = fake
            .wait_for_call("the retried edit", |c| {
                c.is("PATCH", &edit_path) && c.status == 200
            })
            .await;
        assert!(edit.content().contains("20814377"), "{}", edit.content());
        assert_one_status_each(fake, &[thread]);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_the_status_post_is_retried_once_and_not_duplicated() {
    bounded(async {
        let bot = start(Options::default()).await;
        let fake = &bot.fake;
        let thread = thread_whose_status_post_fails_once(fake, 500, "Server error").await;
        // The retry carries the first attempt's nonce, enforced: Discord would return the
        // message if the failed attempt had in fact created it.
        let attempts: Vec<Call> = fake
            .calls()
            .into_iter()
            .filter(|c| c.is("POST", &format!("/channels/{thread}/messages")))
            .collect();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].status, 500);
        assert_eq!(attempts[0].body["nonce"], attempts[1].body["nonce"]);
        assert_eq!(attempts[1].body["enforce_nonce"], json!(true));
        // Others go on.
        let other = thread_with_status(fake, "Another").await;
        assert_one_status_each(fake, &[thread, other]);
        bot.stop().await;
    })
    .await;
}

/// Sends `/triage <sub>` and returns the deferred answer's text.
async fn review(
    fake: &FakeDiscord,
    channel: u64,
    user: u64,
    roles: &[u64],
    sub: &str,
    options: Vec<serde_json::Value>,
) -> String {
    let id = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash_with(id, channel, user, roles, sub, options),
    );
    let path = format!("/webhooks/{APP}/token-{id}/messages/@original");
    let answer = fake
        .wait_for_call("the review answer", |c| c.is("PATCH", &path))
        .await;
    let defer = fake
        .calls()
        .into_iter()
        .find(|c| c.is("POST", &format!("/interactions/{id}/token-{id}/callback")))
        .expect("deferred first");
    assert_eq!(defer.body["data"]["flags"], 64, "ephemeral");
    assert_eq!(answer.body["allowed_mentions"]["parse"], json!([]));
    assert!(answer.content().chars().count() <= imap_triage::core::text::MESSAGE_LIMIT);
    answer.content().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_review_the_log_in_discord() {
    bounded(async {
        let rules = tempfile::tempdir().expect("rules dir");
        copy_shipped_rules(rules.path());
        let bot = start(Options {
            rules_dir: Some(rules.path().to_path_buf()),
            ..Options::default()
        })
        .await;
        let fake = &bot.fake;
        let mut threads = Vec::new();
        for n in 0..12 {
            threads.push(thread_with_status(fake, &format!("Case {n}")).await);
        }
        let anywhere = MOD_LOG;
        // A ticket is committed after its status post returns (the begun event is what is on
        // disk first), so the last case may reach the log a moment after its status message.
        for _ in 0..100 {
            let stats = review(fake, anywhere, MODERATOR, &[MOD_ROLE], "stats", vec![]).await;
            if stats.contains("(12 cases)") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let refused = review(fake, anywhere, MEMBER, &[], "log", vec![]).await;
        assert_eq!(refused, "Only moderators can use this command.");

        let page1 = review(fake, anywhere, MODERATOR, &[MOD_ROLE], "log", vec![]).await;
        assert!(
            page1.contains("12 matching") && page1.contains("page 1/2"),
            "{page1}"
        );
        assert!(page1.contains(&format!("<#{}>", threads[11])), "{page1}");
        assert!(page1.contains("page:2"), "{page1}");
        let page2 = review(
            fake,
            anywhere,
            MODERATOR,
            &[MOD_ROLE],
            "log",
            vec![json!({"name": "page", "type": 4, "value": 2})],
        )
        .await;
        assert!(
            page2.contains("page 2/2") && page2.contains(&format!("<#{}>", threads[0])),
            "{page2}"
        );
        let none = review(
            fake,
            anywhere,
            MODERATOR,
            &[MOD_ROLE],
            "log",
            vec![json!({"name": "status", "type": 3, "value": "escalated"})],
        )
        .await;
        assert_eq!(none, "No cases match.");

        let shown = review(
            fake,
            anywhere,
            MODERATOR,
            &[MOD_ROLE],
            "show",
            vec![json!({"name": "thread", "type": 7, "value": threads[3].to_string()})],
        )
        .await;
        assert!(shown.contains(&format!("<#{}>", threads[3])), "{shown}");
        assert!(shown.contains("reply posted"), "{shown}");

        let stats = review(fake, anywhere, MODERATOR, &[MOD_ROLE], "stats", vec![]).await;
        assert!(
            stats.contains("(12 cases)") && stats.contains("waiting on member 12"),
            "{stats}"
        );

        let ok = review(
            fake,
            anywhere,
            MODERATOR,
            &[MOD_ROLE],
            "reload-rules",
            vec![],
        )
        .await;
        assert_eq!(ok, "Rules reloaded.");
        // A broken edit is rejected with the file and line, and the bot keeps working.
        let errors = rules.path().join("errors.toml");
        let text = std::fs::read_to_string(&errors).expect("errors.toml");
        std::fs::write(&errors, format!("{text}\n[[bogus\n")).expect("break the rules");
        let rejected = review(
            fake,
            anywhere,
            MODERATOR,
            &[MOD_ROLE],
            "reload-rules",
            vec![],
        )
        .await;
        assert!(rejected.contains("not reloaded"), "{rejected}");
        assert!(rejected.contains("errors.toml"), "{rejected}");
        let after = thread_with_status(fake, "After the broken reload").await;
        threads.push(after);
        assert_one_status_each(fake, &threads);
        bot.stop().await;
    })
    .await;
}

/// The same post made again by a restarted bot (the same dedup key: the same change, which the
/// store never recorded) is the message Discord already has, through `enforce_nonce`; and a
/// message deleted before is "already gone", not a failure to report to the member.
#[tokio::test]
async fn a_repeated_post_is_one_message_and_a_repeated_delete_is_no_error() {
    bounded(async {
        let bot = start(Options::default()).await;
        let fake = &bot.fake;
        let thread = thread_with_status(fake, "IMAP help").await;
        let chat = crate::bot::chat_against(fake).await;
        let thread_id = ThreadId(thread);
        let message = |text: &str, key: &str| OutMessage {
            dedup_key: Some(key.to_string()),
            ..OutMessage::text(text)
        };
        let first = chat
            .post(thread_id, message("Please post the error.", "k/m:1/1"))
            .await
            .expect("post");
        // A fresh chat, as in the next process: the nonce comes from the key alone.
        let restarted = crate::bot::chat_against(fake).await;
        let again = restarted
            .post(thread_id, message("Please post the error.", "k/m:1/1"))
            .await
            .expect("post again");
        assert_eq!(again, first);
        let other = restarted
            .post(thread_id, message("Please post the error.", "k/m:1/2"))
            .await
            .expect("another post");
        assert_ne!(other, first);
        let created: std::collections::BTreeSet<u64> = fake
            .calls()
            .iter()
            .filter(|c| {
                c.is("POST", &format!("/channels/{thread}/messages"))
                    && c.status == 200
                    && c.content() == "Please post the error."
            })
            .map(Call::response_id)
            .collect();
        assert_eq!(created.len(), 2, "{created:?}");

        chat.delete(thread_id, first).await.expect("delete");
        restarted
            .delete(thread_id, first)
            .await
            .expect("deleting it again is no error");
        bot.stop().await;
    })
    .await;
}
