//! The pure triage core: `triage(&Rules, &Thread) -> Report`.
//!
//! Invariants: no I/O, no async, no clock, no randomness, and it cannot fail: every input,
//! however hostile, yields a report. Secrets found in the thread are reported by kind and
//! message index only; their values never reach any output.

pub mod classify;
pub mod commands;
pub mod confirmations;
pub mod diagnose;
pub mod endpoints;
pub mod items;
pub mod reply;
pub mod report;
pub mod rules;
pub mod screenshot;
pub mod secrets;
pub mod text;
pub mod thread;

pub use report::{
    Checklist, Endpoint, ErrorFound, Item, MismatchSource, Report, SecretFound, SecretKind,
    SettingMismatch,
};
pub use rules::Rules;
pub use screenshot::{triage_with_reads, AttachmentRead, ScreenshotKind, ScreenshotRead};
pub use thread::{Attachment, Message, Role, Thread};

use thread::Role as R;

/// Reads a thread and decides what the bot should say.
pub fn triage(rules: &Rules, thread: &Thread) -> Report {
    let mut hub_id = None;
    let mut settings = endpoints::Settings::default();
    let mut email_domain: Option<String> = None;
    let mut error: Option<report::ErrorFound> = None;
    let mut screenshots = 0;
    let mut checklist = Checklist::default();

    // The lower-cased copy each message's trigger search reads, made once per message.
    let lowered: Vec<Vec<u8>> = thread
        .messages
        .iter()
        .map(|m| match m.role {
            R::Bot => Vec::new(),
            _ => text::lower(&m.text),
        })
        .collect();

    for (index, message) in thread.member_messages() {
        let text = message.text.as_str();
        if let Some(id) = items::hub_id_in(text, &lowered[index]) {
            hub_id = Some(id);
        }
        settings.scan(text);
        if email_domain.is_none() {
            email_domain = items::email_domain(text);
        }
        // The latest specific error wins; "unknown" only fills a gap.
        // One pass of the rules' patterns serves both the error and the checklist.
        let matches = rules.matching(text);
        if let Some(found) = classify::error_among(rules, text, &matches.errors) {
            if found.code != "unknown" || error.as_ref().is_none_or(|e| e.code == "unknown") {
                error = Some(found);
            }
        }
        screenshots += message
            .attachments
            .iter()
            .filter(|a| items::is_screenshot(a))
            .count();
        confirmations::scan_among(rules, text, &matches.checklist, &mut checklist);
    }

    // Anyone but the bot can leak a credential in public, bystanders included.
    let mut secrets_found = Vec::new();
    for (index, message) in thread.messages.iter().enumerate() {
        if message.role == R::Bot {
            continue;
        }
        let mut kinds: Vec<SecretKind> = secrets::find_in(&message.text, &lowered[index])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        kinds.dedup();
        for kind in kinds {
            if !secrets_found
                .iter()
                .any(|s: &SecretFound| s.message == index && s.kind == kind)
            {
                secrets_found.push(SecretFound {
                    kind,
                    message: index,
                });
            }
        }
    }

    let imap = settings.imap();
    let smtp = settings.smtp();
    let hosts: Vec<&str> = imap
        .iter()
        .chain(smtp.iter())
        .map(|e| e.host.as_str())
        .collect();
    let provider = classify::provider(rules, &hosts, email_domain.as_deref());
    let mismatches = provider
        .map(|p| classify::mismatches(p, imap.as_ref(), smtp.as_ref()))
        .unwrap_or_default();

    let mut missing = Vec::new();
    if screenshots == 0 {
        missing.push(Item::Screenshot);
    }
    // A second screenshot is taken to be the error's.
    if error.is_none() && screenshots < 2 {
        missing.push(Item::Error);
    }
    if hub_id.is_none() {
        missing.push(Item::HubId);
    }
    if !checklist.complete() {
        missing.push(Item::Checklist);
    }

    let error_rule = error.as_ref().and_then(|e| rules.error(&e.code));
    let escalate =
        missing.is_empty() || (error_rule.is_some_and(|r| r.escalate) && hub_id.is_some());

    let mut report = Report {
        hub_id,
        imap,
        smtp,
        email_domain,
        provider: provider.map(|p| p.id.clone()),
        error,
        screenshots,
        checklist,
        missing,
        secrets: secrets_found,
        suspicious_hosts: settings.suspicious.clone(),
        mismatches,
        escalate,
        reply: String::new(),
        screenshot_reads: Vec::new(),
    };
    report.reply = reply::render(
        rules,
        &reply::ReplyInput {
            report: &report,
            error_rule,
            provider,
        },
    );
    report
}
