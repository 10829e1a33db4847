//! End to end with OCR: the fake Discord serves a screenshot attachment from its "CDN", the real
//! serenity client and engine read it, and the status message goes from "reading your
//! screenshot…" to what the screenshot shows.

mod fake_discord;

use std::sync::Arc;

use fake_discord::{payloads, Call, FakeDiscord, FORUM};
use imap_triage::config::Config;
use imap_triage::discord::{checklist_of, Bot};
use imap_triage::engine::Engine;
use imap_triage::ocr::Ocr;
use imap_triage::store::SledLog;
use tokio::sync::oneshot;

const MEMBER: u64 = 9_001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_attachment_is_downloaded_read_and_shown_in_the_status() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[discord]
token = "fake-token"
api_base = "{api}"
forum_channels = [{FORUM}]
moderator_role = {role}
mod_log_channel = {log}

[store]
path = "{store}"

[ocr]
cdn_hosts = ["127.0.0.1"]
allow_http = true
budget_secs = 120
"#,
        api = fake.api_base,
        role = fake_discord::MOD_ROLE,
        log = fake_discord::MOD_LOG,
        store = dir.path().join("store").display(),
    );
    let config = Config::from_sources("test.toml", &text, std::iter::empty()).expect("config");
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let bot = Bot::connect(config.discord().unwrap(), checklist_of(&rules))
        .await
        .unwrap();
    let ocr = Ocr::start(&config.ocr.settings());
    assert!(ocr.is_on(), "{:?}", ocr.status().err());
    let store = SledLog::open(&config.store.path).unwrap();
    let engine =
        Arc::new(Engine::new(rules, Arc::new(store), bot.chat(), None).with_ocr(Arc::new(ocr)));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bot.run(engine, async move {
        let _ = stopped.await;
    }));
    fake.wait_ready().await;

    let url = format!("{}/attachments/a-error.png", fake.api_base);
    let thread = fake.post_thread_with(FORUM, MEMBER, "IMAP won't connect", |thread| {
        let mut m = payloads::message_with_attachment(
            thread,
            thread,
            MEMBER,
            "My inbox won't connect, screenshot attached.",
            "a-error.png",
            "image/png",
        );
        m["attachments"][0]["url"] = url.clone().into();
        m
    });
    let posts = |c: &Call| c.is("POST", &format!("/channels/{thread}/messages"));
    let status = fake
        .wait_for("the status message", |calls| {
            calls.iter().find(|c| posts(c)).cloned()
        })
        .await;
    assert!(
        status.content().contains("Reading your screenshot"),
        "{}",
        status.content()
    );
    let id = status.response_id();
    let edited = fake
        .wait_for("the status with the read settings", |calls| {
            calls
                .iter()
                .find(|c| {
                    c.is("PATCH", &format!("/channels/{thread}/messages/{id}"))
                        && c.content().contains("imap.acme-mail.com:993")
                })
                .cloned()
        })
        .await;
    let content = edited.content();
    assert!(content.contains("smtp.acme-mail.com:587"), "{content}");
    assert!(content.contains("Connection timed out"), "{content}");
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.is("GET", "/attachments/a-error.png") && c.status == 200),
        "the bot downloaded the attachment from the fake CDN"
    );

    let _ = stop.send(());
    let _ = tokio::time::timeout(fake_discord::WAIT, task).await;
}
