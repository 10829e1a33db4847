//! The bot's reply: what was found, what is missing, and what to do next. Markdown.
//!
//! Member text is never quoted here, only values the extractors validated (Hub ID digits, host
//! names, ports). Mentions are neutralized on the way out all the same.

use std::fmt::Write as _;

use super::report::{Item, MismatchSource, Report};
use super::rules::{ErrorRule, Provider, Rules, ServerSetting};
use super::text::{neutralize_mentions, MESSAGE_LIMIT};

pub struct ReplyInput<'a> {
    pub report: &'a Report,
    pub error_rule: Option<&'a ErrorRule>,
    pub provider: Option<&'a Provider>,
}

/// The most a reply may hold: one message, with room for the zero-width spaces that mention
/// neutralizing may add.
pub const REPLY_LIMIT: usize = MESSAGE_LIMIT - 100;

/// A part of the reply, and how readily it is left out when the whole would not fit.
struct Section {
    /// 0: always kept; higher numbers go first.
    drop_order: u8,
    text: String,
}

pub fn render(rules: &Rules, input: &ReplyInput) -> String {
    let sections = sections(rules, input);
    let mut keep: Vec<&Section> = sections.iter().collect();
    let length = |parts: &[&Section]| {
        parts
            .iter()
            .map(|s| s.text.chars().count() + 1)
            .sum::<usize>()
    };
    for order in (1..=u8::MAX).rev() {
        if length(&keep) <= REPLY_LIMIT {
            break;
        }
        keep.retain(|s| s.drop_order != order);
    }
    let joined: Vec<&str> = keep.iter().map(|s| s.text.trim_end()).collect();
    let text = neutralize_mentions(&joined.join("\n"));
    super::text::truncate(&text, REPLY_LIMIT)
}

fn sections(rules: &Rules, input: &ReplyInput) -> Vec<Section> {
    let r = input.report;
    let t = &rules.replies;
    let mut sections = Vec::new();
    let mut push = |drop_order: u8, text: String| {
        if !text.trim().is_empty() {
            sections.push(Section { drop_order, text });
        }
    };
    push(4, format!("{}\n", t.render("intro", &[])));

    let mut out = String::new();
    let _ = writeln!(out, "{}", t.render("found_header", &[]));
    for item in Item::ALL {
        let have = !r.missing.contains(&item);
        let mark = if have { "✅" } else { "❌" };
        let detail = match item {
            Item::Screenshot if r.screenshots > 0 => format!(" ({} attached)", r.screenshots),
            Item::Error => match (&r.error, input.error_rule) {
                (Some(_), Some(rule)) => format!(": {}", rule.title),
                _ if have => " (screenshot)".to_string(),
                _ => String::new(),
            },
            Item::HubId => r
                .hub_id
                .as_ref()
                .map(|id| format!(": {id}"))
                .unwrap_or_default(),
            Item::Checklist => {
                let done = rules
                    .checklist
                    .items
                    .iter()
                    .filter(|i| r.checklist.get(&i.id))
                    .count();
                format!(" ({done} of {})", rules.checklist.items.len())
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "{mark} {}{detail}", item.label());
    }
    let mut settings = Vec::new();
    if let Some(imap) = &r.imap {
        settings.push(format!("IMAP `{imap}`"));
    }
    if let Some(smtp) = &r.smtp {
        settings.push(format!("SMTP `{smtp}`"));
    }
    if let Some(p) = input.provider {
        settings.push(format!("provider: {}", p.name));
    } else if let Some(domain) = &r.email_domain {
        settings.push(format!("email domain: {domain}"));
    }
    if !settings.is_empty() {
        let _ = writeln!(out, "{}", settings.join(" · "));
    }
    push(0, std::mem::take(&mut out));

    if !r.missing.is_empty() {
        let _ = writeln!(out, "\n{}", t.render("missing_header", &[]));
        for (n, item) in r.missing.iter().enumerate() {
            let ask = match item {
                Item::Screenshot => match super::screenshot::lacking(&r.screenshot_reads) {
                    Some(key) => t.render(key, &[]),
                    None => t.render("ask_screenshot", &[]),
                },
                Item::Error => t.render("ask_error", &[]),
                Item::HubId => t.render("ask_hub_id", &[]),
                Item::Checklist => {
                    let points: Vec<String> = rules
                        .checklist
                        .items
                        .iter()
                        .filter(|i| !r.checklist.get(&i.id))
                        .map(|i| format!("   - {}", i.label))
                        .collect();
                    t.render("ask_checklist", &[("points", &points.join("\n"))])
                }
            };
            let _ = writeln!(out, "{}. {ask}", n + 1);
        }
    }

    push(0, std::mem::take(&mut out));

    if let Some(rule) = input
        .error_rule
        .filter(|rule| rule.id != "unknown" || r.missing.is_empty())
    {
        let header = t.render(
            "error_header",
            &[("title", &rule.title), ("step", rule.step.describe())],
        );
        push(0, format!("\n{header}"));
        push(2, rule.diagnosis.trim().to_string());
        for (n, step) in rule.next_steps.iter().enumerate() {
            // The first steps are the likeliest fixes; later ones give way when space is short.
            push(if n < 3 { 0 } else { 3 }, format!("{}. {step}", n + 1));
        }
    }

    if let Some(p) = input.provider {
        let _ = writeln!(
            out,
            "\n{}",
            t.render("provider_header", &[("provider", &p.name)])
        );
        for m in r
            .mismatches
            .iter()
            .filter(|m| m.source == MismatchSource::Provider)
        {
            let kind = format!("{} {}", m.service.to_uppercase(), m.field);
            let _ = writeln!(
                out,
                "- {}",
                t.render(
                    "provider_mismatch",
                    &[
                        ("kind", &kind),
                        ("entered", &m.entered),
                        ("expected", &m.expected)
                    ]
                )
            );
        }
        if r.imap.is_none() && r.smtp.is_none() && !p.local_bridge_only {
            let _ = writeln!(
                out,
                "{}",
                t.render("suggest_settings", &[("provider", &p.name)])
            );
            for (label, setting) in [("IMAP", &p.imap), ("SMTP", &p.smtp)] {
                if let Some(s) = setting {
                    let _ = writeln!(out, "- {label}: {}", describe_setting(s));
                }
            }
        }
        push(0, std::mem::take(&mut out));
        let notes: Vec<String> = p.notes.iter().map(|note| format!("- {note}")).collect();
        // Provider notes carry the decisive advice ("use the native integration"): kept long.
        push(1, notes.join("\n"));
    }

    // What the member wrote against what their screenshot shows: values are validated host
    // names, ports and domains, so they may be quoted.
    for m in r
        .mismatches
        .iter()
        .filter(|m| m.source == MismatchSource::Screenshot)
    {
        let kind = match (m.service, m.field) {
            ("email", _) => "email domain".to_string(),
            (service, field) => format!("{} {field}", service.to_uppercase()),
        };
        let _ = writeln!(
            out,
            "\n{}",
            t.render(
                "screenshot_mismatch",
                &[
                    ("kind", &kind),
                    ("written", &m.entered),
                    ("shown", &m.expected)
                ]
            )
        );
    }
    if r.screenshot_reads.iter().any(|s| s.read.password_visible) {
        let _ = writeln!(out, "\n{}", t.render("screenshot_password", &[]));
    }
    for host in &r.suspicious_hosts {
        let _ = writeln!(out, "\n{}", t.render("lookalike_host", &[("host", host)]));
    }
    if !r.secrets.is_empty() {
        let mut kinds: Vec<&str> = r.secrets.iter().map(|s| s.kind.describe()).collect();
        kinds.dedup();
        kinds.sort_unstable();
        kinds.dedup();
        let _ = writeln!(
            out,
            "\n{}",
            t.render("secret_warning", &[("kinds", &kinds.join(" and "))])
        );
    }
    if r.missing.is_empty() {
        let _ = writeln!(out, "\n{}", t.render("complete", &[]));
    }
    push(0, out);
    sections
}

fn describe_setting(s: &ServerSetting) -> String {
    let mut ports = vec![s.port.to_string()];
    ports.extend(s.also_ports.iter().map(u16::to_string));
    format!("`{}` port {} ({})", s.host, ports.join(" or "), s.security)
}
