//! Messages the engine posts, other than the core's reply: probe progress and report,
//! escalation notice, secret warnings. Everything passes through `neutralize_mentions` and is
//! cut to the platform limit.

use std::fmt::Write as _;

use crate::core::diagnose::{self, EndpointReport, ProbeReport, Severity, Verdict};
use crate::core::text::{neutralize_mentions, truncate};
use crate::core::{Report, Rules};

/// Discord's limit for a message's content.
pub const MESSAGE_LIMIT: usize = 2000;

pub fn finish(text: &str) -> String {
    truncate(&neutralize_mentions(text.trim_end()), MESSAGE_LIMIT)
}

pub fn probe_started(targets: &[String]) -> String {
    finish(&format!(
        "🔎 **Testing the connection** to {} (no password is used, nothing is sent)…",
        targets
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" and ")
    ))
}

/// One line per finished stage, appended to the "Testing…" message as the probe runs.
pub fn progress_line(event: &crate::probe::engine::ProgressEvent) -> Option<String> {
    let stage = event.finished.as_ref()?;
    let mark = if stage.ok { "✅" } else { "❌" };
    let alt = if event.primary { "" } else { " (alternative)" };
    Some(format!(
        "{mark} {} `{}:{}`{alt}: {} ({:.0} ms)",
        event.service.label(),
        event.host,
        event.port,
        event.stage.describe(),
        stage.ms
    ))
}

pub fn probe_progress(targets: &[String], lines: &[String]) -> String {
    let mut text = probe_started(targets);
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    finish(&text)
}

fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "✅ answers",
        Verdict::Failed => "❌ failed",
        Verdict::Refused => "⛔ not tested",
    }
}

/// One verdict line per endpoint, for the ticket and the escalation summary.
pub fn verdict_lines(probe: &ProbeReport) -> Vec<String> {
    let mut out = Vec::new();
    for (label, endpoint) in [("IMAP", &probe.imap), ("SMTP", &probe.smtp)] {
        if let Some(e) = endpoint {
            let worst = e
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.code.as_str())
                .collect::<Vec<_>>();
            let verdict = serde_json::to_value(e.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            if worst.is_empty() {
                out.push(format!("{label} {}:{}: {verdict}", e.host, e.port));
            } else {
                out.push(format!(
                    "{label} {}:{}: {verdict} ({})",
                    e.host,
                    e.port,
                    worst.join(", ")
                ));
            }
        }
    }
    out
}

fn endpoint_section(out: &mut String, label: &str, e: &EndpointReport) {
    let _ = writeln!(
        out,
        "**{label} `{}:{}`**: {}",
        e.host,
        e.port,
        verdict_mark(e.verdict)
    );
    let stages: Vec<String> = e
        .stages
        .iter()
        .map(|s| {
            format!(
                "{} {} {:.0}ms",
                s.name.describe(),
                if s.ok { "✓" } else { "✗" },
                s.ms
            )
        })
        .collect();
    if !stages.is_empty() {
        let _ = writeln!(out, "`{}`", stages.join(" · ").replace('`', "'"));
    }
    if let Some(tls) = &e.tls {
        let cert = &tls.cert;
        let _ = writeln!(
            out,
            "TLS {} · certificate for `{}` · trusted: {} · name matches: {}",
            tls.version,
            cert.sans.first().unwrap_or(&cert.subject).replace('`', "'"),
            if cert.trusted { "yes" } else { "no" },
            if cert.name_matches { "yes" } else { "no" }
        );
    }
    for f in e
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
    {
        let mark = if f.severity == Severity::Error {
            "❗"
        } else {
            "⚠️"
        };
        let _ = writeln!(out, "{mark} {}", f.message);
    }
}

/// The compact probe report: stages, findings, next steps (the alternatives that answered
/// are findings too).
pub fn probe_report(rules: &Rules, report: &Report, probe: &ProbeReport) -> String {
    let mut out = String::from("🔎 **Connection test** (no password used)\n");
    for (label, endpoint) in [("IMAP", &probe.imap), ("SMTP", &probe.smtp)] {
        if let Some(e) = endpoint {
            endpoint_section(&mut out, label, e);
        }
    }
    let steps = diagnose::next_steps(rules, report, probe);
    if !steps.is_empty() {
        out.push_str("\n**Next steps**\n");
        for (n, step) in steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {step}", n + 1);
        }
    }
    finish(&out)
}

pub fn escalation_notice(reason: &str) -> String {
    finish(&format!(
        "📣 Moderators, this case is ready for you: {reason}. The summary is in the moderators' log."
    ))
}

/// The member's post title held a credential. The title is public (and in notifications): the
/// bot renamed it when it could, and asks the member to retitle the post otherwise.
pub fn title_secret_warning(kinds: &str, renamed: bool) -> String {
    let action = if renamed {
        format!("Your post's title contained {kinds}, so I renamed the post to hide it.")
    } else {
        format!(
            "Your post's title contains {kinds}. Please edit the post's title now and remove it (I lack the permission to rename it)."
        )
    };
    finish(&format!(
        "🔒 {action} **Change that password now**: titles are public and appear in notifications. Nobody here ever needs your password."
    ))
}

/// The status message while OCR reads the member's images.
pub fn reading_screenshot(count: usize) -> String {
    finish(if count == 1 {
        "🔎 Reading your screenshot…"
    } else {
        "🔎 Reading your screenshots…"
    })
}

pub fn secret_warning(kinds: &str, deleted: bool) -> String {
    let action = if deleted {
        "I deleted your message because it contained".to_string()
    } else {
        "I could not delete your message (I lack the permission to manage messages here), and it contains".to_string()
    };
    let extra = if deleted {
        ""
    } else {
        " Please delete it yourself now."
    };
    finish(&format!(
        "🔒 {action} {kinds}. **Change that password now**: anything posted here is public.{extra} Nobody here ever needs your password."
    ))
}
