//! Messages the engine posts, other than the core's reply: probe progress and report,
//! escalation notice, secret warnings, reminders and close notices, command answers.
//! Everything passes through `neutralize_mentions` and is cut to the platform limit.

use std::fmt::Write as _;

use super::chat::{Detail, OutMessage, MAX_DETAILS};
use super::plan::item_id;
use crate::core::diagnose::{self, EndpointReport, ProbeReport, Severity, Verdict};
use crate::core::text::{neutralize_mentions, truncate, MESSAGE_LIMIT};
use crate::core::{Report, Rules};
use crate::store::TicketRecord;

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

fn stage_short(name: diagnose::StageName) -> &'static str {
    use diagnose::StageName as S;
    match name {
        S::Dns => "dns",
        S::Tcp => "tcp",
        S::Tls => "tls",
        S::Greeting => "greeting",
        S::Capabilities => "caps",
        S::Starttls => "starttls",
    }
}

/// An endpoint's verdict with its finding codes, one line: what the member reads first. The
/// advice is not here: it is in the next steps.
fn verdict_line(label: &str, e: &EndpointReport) -> String {
    let codes: Vec<&str> = e
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| f.code.as_str())
        .collect();
    let codes = if codes.is_empty() {
        String::new()
    } else {
        format!(" ({})", codes.join(", "))
    };
    format!(
        "**{label} `{}:{}`**: {}{codes}",
        e.host,
        e.port,
        verdict_mark(e.verdict)
    )
}

/// An endpoint's stages and certificate, for the details beside the report.
fn endpoint_detail(label: &str, e: &EndpointReport) -> Option<Detail> {
    let mut lines = Vec::new();
    let stages: Vec<String> = e
        .stages
        .iter()
        .map(|s| {
            format!(
                "{} {} {:.0}ms",
                stage_short(s.name),
                if s.ok { "✓" } else { "✗" },
                s.ms
            )
        })
        .collect();
    if !stages.is_empty() {
        lines.push(format!("`{}`", stages.join(" · ")));
    }
    if let Some(tls) = &e.tls {
        let cert = &tls.cert;
        lines.push(format!(
            "TLS {} · certificate `{}` · trusted {} · name {}",
            tls.version,
            clip(
                &cert.sans.first().unwrap_or(&cert.subject).replace('`', "'"),
                80
            ),
            if cert.trusted { "✓" } else { "✗" },
            if cert.name_matches { "✓" } else { "✗" }
        ));
    }
    if lines.is_empty() {
        return None;
    }
    Some(Detail {
        name: truncate(&format!("{label} {}:{}", e.host, e.port), 256),
        value: truncate(&neutralize_mentions(&lines.join("\n")), 1024),
    })
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The probe report, fitted to one Discord message by design: the text holds each endpoint's
/// verdict line and the next steps (every finding's advice, and what the error code adds),
/// always whole; the stage and certificate details go beside it (Discord: an embed), where
/// they take no room from the advice.
pub fn probe_report(rules: &Rules, report: &Report, probe: &ProbeReport) -> OutMessage {
    let header = "🔎 **Connection test** (no password used)\n";
    let endpoints = [("IMAP", &probe.imap), ("SMTP", &probe.smtp)];
    let verdicts: String = endpoints
        .iter()
        .filter_map(|(label, e)| e.as_ref().map(|e| verdict_line(label, e) + "\n"))
        .collect();
    let steps = diagnose::next_steps(rules, report, probe);
    let count = |s: &str| s.chars().count();
    // Steps are never cut inside: in the extreme case where they cannot all fit, the last
    // whole ones are left out and the message says so.
    let mut advice = String::new();
    if !steps.is_empty() {
        advice.push_str("\n**Next steps**\n");
        let budget = MESSAGE_LIMIT.saturating_sub(count(header) + count(&verdicts) + 120);
        for (n, step) in steps.iter().enumerate() {
            let line = format!("{}. {step}\n", n + 1);
            if count(&neutralize_mentions(&(advice.clone() + &line))) > budget {
                let _ = writeln!(
                    advice,
                    "({} more steps did not fit here; a moderator will go through them.)",
                    steps.len() - n
                );
                break;
            }
            advice.push_str(&line);
        }
    }
    OutMessage {
        details: endpoints
            .iter()
            .filter_map(|(label, e)| e.as_ref().and_then(|e| endpoint_detail(label, e)))
            .take(MAX_DETAILS)
            .collect(),
        ..OutMessage::text(finish(&format!("{header}{verdicts}{advice}")))
    }
}

/// What the member's email domain says, when it changes their next step: one line each.
pub fn domain_advice(domain: &str, advice: &[String]) -> String {
    let mut out =
        format!("📮 **Your email domain `{domain}`** (looked up in DNS, no password used)\n");
    for line in advice {
        let _ = writeln!(out, "- {line}");
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

/// A moderator's `status`: the case on one line.
pub fn status_summary(ticket: &TicketRecord, report: &Report) -> String {
    let missing = if report.missing.is_empty() {
        "nothing".to_string()
    } else {
        report
            .missing
            .iter()
            .map(|i| item_id(*i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let domain = match &ticket.discovery {
        Some(lookup) => format!(" · domain: {}", lookup.summary),
        None => String::new(),
    };
    finish(&format!(
        "State: {} · Hub ID: {} · provider: {} · error: {} · IMAP: {} · SMTP: {} · missing: {} · probe: {}{domain}",
        ticket.status.as_str(),
        report.hub_id.as_deref().unwrap_or("-"),
        report.provider.as_deref().unwrap_or("-"),
        report.error.as_ref().map_or("-", |e| e.code.as_str()),
        ticket.imap.as_deref().unwrap_or("-"),
        ticket.smtp.as_deref().unwrap_or("-"),
        missing,
        if ticket.probe_verdicts.is_empty() { "not run".to_string() } else { ticket.probe_verdicts.join("; ") }
    ))
}

pub fn resolved_notice(reason: &str) -> String {
    finish(&format!("✅ Marked as resolved by a moderator: {reason}"))
}

/// The member is reminded of what support still needs (the items' labels).
pub fn reminder(missing: &[&str]) -> String {
    finish(&format!(
        "👋 Friendly reminder: support still needs {} before anyone can help. The status message above says how.",
        missing.join(", ")
    ))
}

/// The warning before auto-close; `grace` is how long the member still has, in seconds.
pub fn close_warning(grace: u64) -> String {
    let hours = grace.div_ceil(3600);
    finish(&format!(
        "⏳ This thread will be closed in about {hours} h unless you reply. Anything you post keeps it open."
    ))
}

pub fn closing_notice() -> String {
    finish("🗂️ Closing this thread for now, since the details support needs didn't arrive. Open a new post any time.")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diagnose::{
        report, Failure, ModeSource, Observation, Service, Stage, StageName, TlsMode,
    };

    /// Regression: the 2000-character cut used to fall on the last next step.
    #[test]
    fn a_long_report_keeps_every_next_step_whole() {
        let rules = crate::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
        let thread = crate::core::Thread {
            messages: vec![crate::core::Message::member(
                "IMAP settings incorrect. server imap.gmial.com port 993 and smtp.gmial.com port 465, email bob@gmail.com",
            )],
        };
        let triaged = crate::core::triage(&rules, &thread);
        let failing = |service: Service, host: &str, port: u16| {
            let mut o = Observation::new(service, host, port, TlsMode::Implicit, ModeSource::Port);
            for _ in 0..12 {
                o.stages.push(Stage {
                    name: StageName::Dns,
                    ok: false,
                    ms: 1234.5,
                    detail: "x".repeat(200),
                });
            }
            o.failure = Some(Failure::Timeout {
                stage: StageName::Greeting,
            });
            report(&rules.findings, &o)
        };
        let probe = ProbeReport {
            imap: Some(failing(
                Service::Imap,
                &format!("imap.{}.gmial.com", "a".repeat(40)),
                993,
            )),
            smtp: Some(failing(
                Service::Smtp,
                &format!("smtp.{}.gmial.com", "b".repeat(40)),
                465,
            )),
        };
        let message = probe_report(&rules, &triaged, &probe);
        let text = &message.content;
        assert!(
            text.chars().count() <= MESSAGE_LIMIT,
            "{}",
            text.chars().count()
        );
        let steps = diagnose::next_steps(&rules, &triaged, &probe);
        assert!(steps.len() >= 3, "{steps:#?}");
        let last = steps.last().map(String::as_str).unwrap_or_default();
        assert!(text.trim_end().ends_with(last), "{text}");
        assert!(!text.contains('…'), "nothing was cut: {text}");
        assert!(text.contains("**IMAP `"), "{text}");
        // The stages are beside the text, each block within an embed field's limits.
        assert_eq!(message.details.len(), 2, "{:#?}", message.details);
        for d in &message.details {
            assert!(d.name.chars().count() <= 256 && d.value.chars().count() <= 1024);
            assert!(d.value.contains("dns ✗"), "{}", d.value);
        }
    }
}
