//! How the reads of a thread's attachments join the report of what the member wrote: fields
//! missing from the text come from the screenshots, each disagreement becomes a `mismatches`
//! entry, a visible password counts as a posted secret, and the screenshot stays missing until
//! one shows the connection screen with its advanced options open.

use serde::Serialize;

use super::{ScreenshotKind, ScreenshotRead};
use crate::core::report::{
    Endpoint, ErrorFound, Item, MismatchSource, Report, SecretFound, SecretKind,
};
use crate::core::rules::Rules;
use crate::core::thread::{Role, Thread};
use crate::core::{classify, items};

/// A read tied to the attachment it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentRead {
    /// Index of the message in the thread.
    pub message: usize,
    /// Index of the attachment in that message.
    pub attachment: usize,
    #[serde(flatten)]
    pub read: ScreenshotRead,
}

/// [`crate::core::triage`], with what the thread's screenshots say merged in.
///
/// Reads of messages by anyone but the thread's member supply nothing (as with text), except
/// that a visible password is a posted secret whoever posted it.
pub fn triage_with_reads(rules: &Rules, thread: &Thread, reads: &[AttachmentRead]) -> Report {
    let mut report = crate::core::triage(rules, thread);
    if reads.is_empty() {
        return report;
    }
    let members: Vec<usize> = thread.member_messages().map(|(i, _)| i).collect();
    let own: Vec<&ScreenshotRead> = reads
        .iter()
        .filter(|r| members.contains(&r.message))
        .map(|r| &r.read)
        .collect();

    for r in reads {
        let is_bot = thread
            .messages
            .get(r.message)
            .is_none_or(|m| m.role == Role::Bot);
        if r.read.password_visible
            && !is_bot
            && !report
                .secrets
                .iter()
                .any(|s| s.message == r.message && s.kind == SecretKind::Password)
        {
            report.secrets.push(SecretFound {
                kind: SecretKind::Password,
                message: r.message,
            });
        }
    }

    // The screenshot's servers: the latest complete screen wins, as later text does.
    let mut mismatches = Vec::new();
    for (service, text_side) in [("imap", report.imap.clone()), ("smtp", report.smtp.clone())] {
        let shown = own.iter().rev().find_map(|r| {
            let s = if service == "imap" { &r.imap } else { &r.smtp };
            s.as_ref().filter(|s| s.host.is_some() || s.port.is_some())
        });
        let Some(shown) = shown else { continue };
        match &text_side {
            Some(written) => {
                if let Some(host) = &shown.host {
                    if !host.eq_ignore_ascii_case(&written.host) {
                        mismatches.push(screenshot_mismatch(service, "host", &written.host, host));
                    }
                }
                if let Some(port) = shown.port {
                    if port != written.port {
                        mismatches.push(screenshot_mismatch(
                            service,
                            "port",
                            &written.port.to_string(),
                            &port.to_string(),
                        ));
                    }
                }
            }
            None => {
                if let (Some(host), Some(port)) = (&shown.host, shown.port) {
                    let endpoint = Endpoint {
                        host: host.clone(),
                        port,
                    };
                    if service == "imap" {
                        report.imap = Some(endpoint);
                    } else {
                        report.smtp = Some(endpoint);
                    }
                }
            }
        }
    }
    if let Some(shown) = own.iter().rev().find_map(|r| r.email_domain.as_ref()) {
        match &report.email_domain {
            Some(written) if !written.eq_ignore_ascii_case(shown) => {
                mismatches.push(screenshot_mismatch("email", "domain", written, shown));
            }
            Some(_) => {}
            None => report.email_domain = Some(shown.clone()),
        }
    }
    if report.error.is_none() {
        report.error = own
            .iter()
            .rev()
            .filter_map(|r| r.error_text.as_deref())
            .find_map(|t| classify::error_in(rules, t))
            .or_else(|| {
                own.iter()
                    .rev()
                    .find_map(|r| r.error_text.as_ref())
                    .map(|t| ErrorFound {
                        code: "unknown".to_string(),
                        text: t.clone(),
                    })
            });
    }

    // Provider and its mismatches follow the merged settings.
    let hosts: Vec<&str> = report
        .imap
        .iter()
        .chain(report.smtp.iter())
        .map(|e| e.host.as_str())
        .collect();
    let provider = classify::provider(rules, &hosts, report.email_domain.as_deref());
    report.provider = provider.map(|p| p.id.clone());
    report.mismatches = provider
        .map(|p| classify::mismatches(p, report.imap.as_ref(), report.smtp.as_ref()))
        .unwrap_or_default();
    report.mismatches.extend(mismatches);

    // Images without a read are counted as before; read ones must show what support needs.
    let read_here = |m: usize| own_reads_in(reads, &members, m);
    let unread_images: usize = thread
        .member_messages()
        .map(|(i, m)| {
            m.attachments
                .iter()
                .filter(|a| items::is_screenshot(a))
                .count()
                .saturating_sub(read_here(i))
        })
        .sum();
    let complete = own.iter().any(|r| r.is_complete()) || unread_images > 0;
    let mut missing: Vec<Item> = report
        .missing
        .iter()
        .copied()
        .filter(|i| !matches!(i, Item::Screenshot | Item::Error))
        .collect();
    if !complete {
        missing.push(Item::Screenshot);
    }
    if report.error.is_none() && unread_images < 2 {
        missing.push(Item::Error);
    }
    missing.sort();
    report.missing = missing;

    let error_rule = report.error.as_ref().and_then(|e| rules.error(&e.code));
    report.escalate = report.missing.is_empty()
        || (error_rule.is_some_and(|r| r.escalate) && report.hub_id.is_some());
    report.screenshot_reads = reads.to_vec();
    report.reply = crate::core::reply::render(
        rules,
        &crate::core::reply::ReplyInput {
            report: &report,
            error_rule,
            provider,
        },
    );
    report
}

fn own_reads_in(reads: &[AttachmentRead], members: &[usize], message: usize) -> usize {
    if !members.contains(&message) {
        return 0;
    }
    reads.iter().filter(|r| r.message == message).count()
}

fn screenshot_mismatch(
    service: &'static str,
    field: &'static str,
    written: &str,
    shown: &str,
) -> crate::core::report::SettingMismatch {
    crate::core::report::SettingMismatch {
        service,
        field,
        entered: written.to_string(),
        expected: shown.to_string(),
        source: MismatchSource::Screenshot,
    }
}

/// What the member's screenshots lack, when none is complete: the reply's specific ask.
/// `None` when there are no reads (the generic ask stands) or one is complete.
pub fn lacking(reads: &[AttachmentRead]) -> Option<&'static str> {
    if reads.is_empty() || reads.iter().any(|r| r.read.is_complete()) {
        return None;
    }
    let any = |k: ScreenshotKind| reads.iter().any(|r| r.read.kind == k);
    Some(if any(ScreenshotKind::ConnectionScreen) {
        "screenshot_closed"
    } else if any(ScreenshotKind::ErrorBanner) {
        "screenshot_error_only"
    } else if any(ScreenshotKind::Other) {
        "screenshot_other"
    } else {
        "screenshot_unreadable"
    })
}
