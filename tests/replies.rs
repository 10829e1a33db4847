//! Snapshot tests of the bot's replies, one per corpus thread. Review changes with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test replies` and `git diff`).

use imap_triage::core::{triage, Thread};

#[test]
fn replies_match_their_snapshots() {
    let rules = imap_triage::rules_dir::embedded().expect("shipped rules are valid");
    insta::glob!("corpus/*.json", |path| {
        let text = std::fs::read_to_string(path).expect("corpus file");
        let case: serde_json::Value = serde_json::from_str(&text).expect("corpus JSON");
        let thread: Thread = serde_json::from_value(case["thread"].clone()).expect("thread");
        let report = triage(&rules, &thread);
        insta::assert_snapshot!(report.reply);
    });
}
