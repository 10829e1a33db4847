//! End to end with OCR: the fake Discord serves a screenshot attachment from its "CDN", the real
//! serenity client and engine read it, and the status message goes from "reading your
//! screenshot…" to what the screenshot shows.

use testkit::fake_discord::{payloads, Call, FORUM};

use crate::bot::{start, Options};

const MEMBER: u64 = 9_001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_attachment_is_downloaded_read_and_shown_in_the_status() {
    let bot = start(Options {
        settings: "[ocr]\ncdn_hosts = [\"127.0.0.1\"]\nallow_http = true\nbudget_secs = 120\n"
            .into(),
        ocr: true,
        ..Options::default()
    })
    .await;
    let fake = &bot.fake;

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
    let status = fake.wait_for_call("the status message", |c| posts(c)).await;
    assert!(
        status.content().contains("Reading your screenshot"),
        "{}",
        status.content()
    );
    let id = status.response_id();
    let edited = fake
        .wait_for_call("the status with the read settings", |c| {
            c.is("PATCH", &format!("/channels/{thread}/messages/{id}"))
                && c.content().contains("imap.acme-mail.com:993")
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

    bot.stop().await;
}
