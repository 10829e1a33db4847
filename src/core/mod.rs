//! The pure triage core: `triage(&Rules, &Thread) -> Report`.
//!
//! Invariants: no I/O, no async, no clock, no randomness, and it cannot fail: every input,
//! however hostile, yields a report. Secrets found in the thread are reported by kind and
//! message index only; their values never reach any output.

pub mod answers;
pub mod ascii;
pub mod classify;
pub mod commands;
pub mod confirmations;
pub mod diagnose;
pub mod endpoints;
pub mod items;
pub mod literals;
pub mod message_literals;
pub mod reply;
pub mod report;
pub mod rules;
pub mod screenshot;
pub mod secrets;
pub mod service;
pub mod text;
pub mod thread;
pub mod words;
pub mod zones;

pub use report::{
    Checklist, Endpoint, ErrorFound, Evidence, EvidenceMap, HubId, Item, MismatchSource, Report,
    SecretFound, SecretKind, SettingMismatch,
};
pub use rules::Rules;
pub use screenshot::{triage_with_reads, AttachmentRead, ScreenshotKind, ScreenshotRead};
pub use service::{Service, TlsMode};
pub use thread::{Attachment, Message, Role, Thread};

use thread::Role as R;

/// The zoned line of `lines` that holds byte `at` of the message.
fn line_at<'a>(lines: &'a [zones::Line<'a>], text: &str, at: usize) -> Option<&'a zones::Line<'a>> {
    let i = lines.partition_point(|l| l.start <= at);
    let line = lines.get(i.checked_sub(1)?)?;
    // `at` falls in the line's text or in its quote marker.
    let line_end = text[line.start..]
        .find('\n')
        .map_or(text.len(), |e| line.start + e);
    (at <= line_end).then_some(line)
}

/// `text` with everything but the member's own words (prose, quotes, tables, signature) blanked
/// out, offsets unchanged: a checklist point is confirmed in a sentence, never in a log line or a
/// config dump that happens to say "checked" and "server".
fn spoken_only(text: &str, lines: &[zones::Line<'_>]) -> String {
    use zones::ZoneKind as Z;
    if lines
        .iter()
        .all(|l| matches!(l.kind, Z::Prose | Z::Quote | Z::Table | Z::Signature))
    {
        return text.to_string();
    }
    let mut bytes = text.as_bytes().to_vec();
    for line in lines {
        if matches!(
            line.kind,
            Z::Log | Z::Trace | Z::Code | Z::Config | Z::Screenshot
        ) {
            for b in &mut bytes[line.start..line.start + line.text.len()] {
                *b = b' ';
            }
        }
    }
    // Only whole lines were blanked, each with ASCII spaces: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

/// Evidence for the value at `range` of message `message`.
fn evidence_at(
    message: usize,
    text: &str,
    lines: &[zones::Line<'_>],
    secrets: &[(SecretKind, std::ops::Range<usize>)],
    range: std::ops::Range<usize>,
) -> Evidence {
    match line_at(lines, text, range.start) {
        Some(line) => Evidence::in_message(
            message,
            line.kind,
            text,
            line.start..line.start + line.text.len(),
            text.get(range),
            secrets,
        ),
        None => Evidence::in_message(
            message,
            zones::ZoneKind::Prose,
            text,
            0..text.len(),
            text.get(range),
            secrets,
        ),
    }
}

/// Reads a thread and decides what the bot should say.
pub fn triage(rules: &Rules, thread: &Thread) -> Report {
    let mut hub_id = None;
    let mut settings = endpoints::Settings::with_words(rules.reading.words());
    let mut email_domain: Option<String> = None;
    let mut error: Option<report::ErrorFound> = None;
    let mut screenshots = 0;
    let mut checklist = Checklist::default();
    let mut evidence = EvidenceMap::default();
    let mut named_provider: Option<(&rules::Provider, Evidence)> = None;

    // The lower-cased copy each message's trigger search reads, made once per message.
    let lowered: Vec<Vec<u8>> = thread
        .messages
        .iter()
        .map(|m| match m.role {
            R::Bot => Vec::new(),
            _ => text::lower(&m.text),
        })
        .collect();

    // Every literal the searches below start from, found in one pass over each message.
    let literals = rules.message_literals();
    let mut found: Vec<message_literals::Found> = thread
        .messages
        .iter()
        .zip(&lowered)
        .map(|(m, lower)| match m.role {
            R::Bot => message_literals::Found::default(),
            _ => literals.find(&m.text, lower),
        })
        .collect();

    // The credentials in each message, found once: the shield reports them, and every excerpt
    // of the message is redacted with them.
    let found_secrets: Vec<Vec<(SecretKind, std::ops::Range<usize>)>> = thread
        .messages
        .iter()
        .enumerate()
        .map(|(index, m)| match m.role {
            R::Bot => Vec::new(),
            _ => {
                let (triggers, sasl) = found[index].secret_triggers();
                secrets::find_at(
                    &rules.reading.secrets,
                    &m.text,
                    &lowered[index],
                    triggers,
                    sasl,
                )
            }
        })
        .collect();

    let first_member_message = thread.member_messages().next().map_or(0, |(i, _)| i);
    for (index, message) in thread.member_messages() {
        let text = message.text.as_str();
        let lines = zones::lines(text, &rules.reading.zones);
        let here = found_secrets[index].as_slice();
        let (labels, urls) = found[index].hub_id_triggers();
        if let Some(span) =
            items::hub_id_span_at(text, &lowered[index], &rules.reading.hub_id, labels, urls)
        {
            let zone = line_at(&lines, text, span.start).map(|l| l.kind);
            if zone != Some(zones::ZoneKind::Trace) {
                evidence.hub_id = Some(evidence_at(index, text, &lines, here, span.clone()));
                hub_id = HubId::parse(&text[span]);
            }
        }
        settings.scan_lines_with(index, &lines, &mut found[index].hits);
        if email_domain.is_none() {
            if let Some((domain, span)) =
                items::email_domain_span(text, &rules.reading.email_domain)
            {
                evidence.email_domain = Some(evidence_at(index, text, &lines, here, span));
                email_domain = Some(domain);
            }
        }
        let may_name = found[index].may_name_a_provider(text);
        if let Some((provider, span)) = classify::provider_named_if(rules, text, may_name) {
            named_provider = Some((provider, evidence_at(index, text, &lines, here, span)));
        }
        // The latest specific error wins; "unknown" only fills a gap.
        // One pass of the rules' patterns serves both the error and the checklist.
        let matches = rules.matching(text);
        let first_message = index == first_member_message;
        if let Some((found, span, _)) = classify::best_error(
            rules,
            text,
            &matches.errors,
            matches.error_patterns.as_deref(),
            &lines,
            first_message,
            here,
        ) {
            if found.code != "unknown" || error.as_ref().is_none_or(|e| e.code == "unknown") {
                evidence.error = Some(evidence_at(index, text, &lines, here, span));
                error = Some(found);
            }
        }
        let spoken = spoken_only(text, &lines);
        let moderator_before = index
            .checked_sub(1)
            .and_then(|i| thread.messages.get(i))
            .filter(|m| m.role == R::Moderator);
        // Answers to the moderator's question just before that name no field themselves:
        // "the first one" of the errors offered, "Yes." to "Gmail?".
        if let Some(question) = moderator_before {
            let first_line = 0..text.find('\n').unwrap_or(text.len());
            if let Some(found) = answers::option_chosen(rules, &question.text, &spoken) {
                evidence.error = Some(evidence_at(index, text, &lines, here, first_line.clone()));
                error = Some(found);
            }
            if let Some(provider) = answers::provider_confirmed(rules, &question.text, &spoken) {
                named_provider =
                    Some((provider, evidence_at(index, text, &lines, here, first_line)));
            }
        }
        screenshots += message
            .attachments
            .iter()
            .filter(|a| items::is_screenshot(a))
            .count();
        let before = checklist;
        // An answer to the moderator's checklist question just before it ("1 yes 2 yes 3 no");
        // the member's own sentences below still win.
        if let Some(question) = moderator_before {
            if answers::apply(
                &rules.checklist,
                &rules.reading.answers,
                &question.text,
                &spoken,
                &mut checklist,
            ) {
                for item in &rules.checklist.items {
                    if checklist.get(&item.id) && !before.get(&item.id) {
                        let span = 0..text.find('\n').unwrap_or(text.len());
                        evidence.checklist.insert(
                            item.id.clone(),
                            evidence_at(index, text, &lines, here, span),
                        );
                    }
                }
            }
        }
        confirmations::scan_among(rules, &spoken, &matches.checklist, &mut checklist);
        for item in &rules.checklist.items {
            if checklist.get(&item.id) && !before.get(&item.id) {
                if let Some(span) = confirmations::first_match(rules, &item.id, &spoken) {
                    evidence.checklist.insert(
                        item.id.clone(),
                        evidence_at(index, text, &lines, here, span),
                    );
                }
            } else if !checklist.get(&item.id) {
                evidence.checklist.remove(&item.id);
            }
        }
    }

    // Anyone but the bot can leak a credential in public, bystanders included.
    let mut secrets_found = Vec::new();
    for (index, message) in thread.messages.iter().enumerate() {
        if message.role == R::Bot {
            continue;
        }
        let mut kinds: Vec<SecretKind> = found_secrets[index].iter().map(|(k, _)| *k).collect();
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

    // The settings' evidence is one line, redacted on its own: a value whose label is on
    // another line (a table's header) is taken out with what the whole message showed.
    let scrub = |mut ev: Evidence| {
        if let Some(message) = thread.messages.get(ev.message) {
            for (_, range) in &found_secrets[ev.message] {
                if let Some(value) = message.text.get(range.clone()).filter(|v| v.len() >= 4) {
                    ev.excerpt = ev.excerpt.replace(value, "[redacted]");
                }
            }
        }
        ev
    };
    let imap = settings.resolved(Service::Imap).map(|(e, ev)| {
        evidence.imap = Some(scrub(ev));
        e
    });
    let smtp = settings.resolved(Service::Smtp).map(|(e, ev)| {
        evidence.smtp = Some(scrub(ev));
        e
    });
    let hosts: Vec<&str> = imap
        .iter()
        .chain(smtp.iter())
        .map(|e| e.host.as_str())
        .collect();
    let mentioned: Vec<&str> = settings.mentioned_hosts().collect();
    let by_settings = classify::provider(rules, &hosts, email_domain.as_deref()).or_else(|| {
        mentioned
            .iter()
            .find_map(|h| rules.provider_by_host(h))
            .filter(|_| named_provider.is_none())
    });
    let provider = match (by_settings, named_provider) {
        (Some(p), _) => {
            evidence.provider = hosts
                .iter()
                .position(|h| rules.provider_by_host(h).is_some_and(|q| q.id == p.id))
                .and_then(|i| {
                    if i == 0 && imap.is_some() {
                        evidence.imap.clone()
                    } else {
                        evidence.smtp.clone()
                    }
                })
                .or_else(|| evidence.email_domain.clone());
            Some(p)
        }
        (None, Some((p, ev))) => {
            evidence.provider = Some(ev);
            Some(p)
        }
        (None, None) => None,
    };
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
        evidence,
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
