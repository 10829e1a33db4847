//! Properties of the core for arbitrary input: it never panics, and no output ever contains a
//! planted secret.

use imap_triage::core::{triage, Attachment, Message, Role, Thread};
use proptest::prelude::*;

fn rules() -> &'static imap_triage::core::Rules {
    static RULES: std::sync::OnceLock<imap_triage::core::Rules> = std::sync::OnceLock::new();
    RULES.get_or_init(|| imap_triage::rules_dir::embedded().expect("shipped rules are valid"))
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Member), Just(Role::Moderator), Just(Role::Bot)]
}

/// Text that looks like support posts: fragments of real phrasing mixed with noise.
fn post_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("IMAP settings incorrect".to_string()),
        Just("Hub ID: ".to_string()),
        Just("imap.gmail.com:993 ".to_string()),
        Just("| IMAP | mail.acme.com | 993 |\n".to_string()),
        Just("- [x] I typed my email and password manually\n".to_string()),
        Just("@everyone ".to_string()),
        Just("<@&123> ".to_string()),
        Just("app.hubspot.com/contacts/".to_string()),
        Just("port ".to_string()),
        Just(". ".to_string()),
        Just("\n".to_string()),
        "[0-9]{1,12}",
        "\\PC{0,40}",
        any::<String>(),
    ];
    proptest::collection::vec(fragment, 0..20).prop_map(|parts| parts.concat())
}

fn thread() -> impl Strategy<Value = Thread> {
    let attachment = (
        "\\PC{0,20}",
        proptest::option::of("[a-z]{1,8}/[a-z]{1,8}"),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(filename, content_type, size)| Attachment {
            filename,
            content_type,
            size,
            path: None,
            url: None,
        });
    let message = (
        role(),
        proptest::option::of("[0-9]{1,3}"),
        post_text(),
        proptest::collection::vec(attachment, 0..3),
    )
        .prop_map(|(role, author_id, text, attachments)| Message {
            role,
            author_id,
            text,
            attachments,
        });
    proptest::collection::vec(message, 0..6).prop_map(|messages| Thread { messages })
}

/// Ways members post a credential, each with the secret in it.
const LEAKS: &[&str] = &[
    "password: {}",
    "my password is {}",
    "pwd={}",
    "user me@acme.com pass {}",
    "Password = \"{}\"",
    "PASSWORD - {}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn triage_never_panics(thread in thread()) {
        let report = triage(rules(), &thread);
        // Invariants of every report.
        prop_assert!(report.missing.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(!report.reply.contains("@everyone") && !report.reply.contains("@here"));
        prop_assert!(!report.reply.contains("<@&") && !report.reply.contains("<@1"));
    }

    #[test]
    fn no_output_contains_a_planted_secret(
        before in post_text(),
        after in post_text(),
        secret in "[A-Za-z][A-Za-z0-9!#%&*+]{9,20}[0-9]",
        template in proptest::sample::select(LEAKS),
        index in 0usize..3,
    ) {
        let leak = template.replace("{}", &secret);
        let mut messages = vec![Message::member("Hub ID 4821937, IMAP settings incorrect")];
        messages.push(Message::member(format!("{before} {leak}\n{after}")));
        messages.insert(index.min(messages.len()), Message::member("imap.acme.com:993"));
        let report = triage(rules(), &Thread { messages });
        let json = serde_json::to_string(&report).unwrap();
        prop_assert!(!json.contains(&secret), "secret in JSON: {}", json);
        prop_assert!(!report.to_text().contains(&secret));
        prop_assert!(!report.secrets.is_empty(), "the leak was not found: {}", leak);
    }

    /// The core reads only the lines around its trigger words; a value on the line after a
    /// label is found even when the line before the label holds a trigger word too.
    #[test]
    fn a_value_below_its_label_is_found_after_another_trigger_line(
        before in post_text(),
        secret in "[A-Za-z][A-Za-z0-9!#%&*+]{9,20}[0-9]",
        label in proptest::sample::select(&["password:", "Passwort:", "pwd:", "PW ="][..]),
    ) {
        let text = format!("{before}\nmy password stuff again\n{label}\n{secret}\n");
        let report = triage(rules(), &Thread { messages: vec![Message::member(text)] });
        prop_assert!(!report.secrets.is_empty(), "not found below {}", label);
        let json = serde_json::to_string(&report).unwrap();
        prop_assert!(!json.contains(&secret), "secret in JSON: {}", json);
    }
}
