//! Purpose: the moderators' review commands (`/triage log|show|stats`) as ephemeral Discord
//! text: [`answer`] asks the engine (and reloads the rules), the rest are pure functions over
//! stored records; the handler sends the result.
//! Every answer fits one message ([`render::MESSAGE_LIMIT`]); threads are linked as `<#id>`, and
//! member-written titles are neutralized (no markup, no mentions).

use crate::store::query::{self, Filter, Stats};
use crate::store::{EventKind, EventRecord, TicketRecord};
use crate::ticket::TicketState;

use super::render;

/// `/triage log|show|stats|reload-rules`, asked by a moderator: the engine answers from the
/// triage log; `reload-rules` reads `rules_dir` (unset: the embedded rules).
pub(super) fn answer(
    engine: &crate::engine::Engine,
    rules_dir: Option<&std::path::Path>,
    question: super::commands::Review<'_>,
) -> String {
    use super::commands::Review;
    let unreadable = |e: crate::store::StoreError| {
        tracing::error!(error = %e, "review: the triage log could not be read");
        "The triage log could not be read; see the bot's logs.".to_string()
    };
    match question {
        Review::Log {
            status,
            since,
            hub_id,
            page,
        } => {
            let filter = match filter(status, since, hub_id) {
                Ok(filter) => filter,
                Err(why) => return why,
            };
            match engine.cases() {
                Ok(cases) => log_page(&cases, &filter, page),
                Err(e) => unreadable(e),
            }
        }
        Review::Show { thread } => match engine.case(crate::ticket::ThreadId(thread)) {
            Ok(Some((ticket, events))) => show(&ticket, &events),
            Ok(None) => format!("No case is recorded for <#{thread}>."),
            Err(e) => unreadable(e),
        },
        Review::Stats => match engine.stats() {
            Ok(stats) => self::stats(&stats),
            Err(e) => unreadable(e),
        },
        // Answered in the handler, which knows who asked.
        Review::Dashboard => String::new(),
        Review::ReloadRules => match super::reload_rules(engine, rules_dir) {
            Ok(()) => "Rules reloaded.".to_string(),
            Err(errors) => format!(
                "The rules were not reloaded (the old rules stay active):\n```\n{}\n```",
                render::truncate(&errors.replace('`', "'"), render::MESSAGE_LIMIT - 200)
            ),
        },
    }
}

/// Cases per page of `/triage log`.
pub const PAGE_SIZE: usize = 10;
/// Timeline entries `/triage show` lists (the most recent ones when there are more).
pub const MAX_EVENTS: usize = 25;

/// The filter from the command's options; `Err` is the text to answer.
pub fn filter(
    status: Option<&str>,
    since: Option<&str>,
    hub_id: Option<&str>,
) -> Result<Filter, String> {
    let status = match status {
        Some(s) => Some(TicketState::parse(s).ok_or_else(|| {
            let known: Vec<&str> = TicketState::ALL.iter().map(|s| s.as_str()).collect();
            format!(
                "Unknown status `{}`; use one of: {}.",
                plain(s, 30),
                known.join(", ")
            )
        })?),
        None => None,
    };
    let since = match since {
        Some(s) => Some(query::parse_since(s).map_err(|e| plain(&e, 100))?),
        None => None,
    };
    let hub_id = match hub_id {
        Some(h) => Some(
            query::parse_hub_id(h)
                .map_err(|e| format!("`{}` is not a Hub ID: {e}.", plain(h, 30)))?,
        ),
        None => None,
    };
    Ok(Filter {
        status,
        since,
        hub_id,
        ..Filter::default()
    })
}

/// Page `page` (1-based) of the matching cases, newest first.
pub fn log_page(tickets: &[TicketRecord], filter: &Filter, page: usize) -> String {
    let mut matching: Vec<&TicketRecord> = tickets.iter().filter(|t| filter.accepts(t)).collect();
    if matching.is_empty() {
        return "No cases match.".to_string();
    }
    matching.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.thread.cmp(&a.thread))
    });
    let pages = matching.len().div_ceil(PAGE_SIZE);
    let page = page.clamp(1, pages);
    let mut out = format!(
        "**Cases** ({} matching) · page {page}/{pages}\n",
        matching.len()
    );
    for t in matching.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let r = query::row(t);
        let mut line = format!(
            "• <#{}> · {} · {}",
            t.thread,
            r.status,
            &r.created_at[..r.created_at.len().min(10)]
        );
        if !r.hub_id.is_empty() {
            line.push_str(&format!(" · Hub {}", plain(&r.hub_id, 20)));
        }
        if !r.error_code.is_empty() {
            line.push_str(&format!(" · {}", plain(&r.error_code, 30)));
        }
        line.push_str(&format!(" · {}\n", plain(&r.title, 50)));
        out.push_str(&line);
    }
    if page < pages {
        out.push_str(&format!(
            "More: `/triage log page:{}` (same filters).",
            page + 1
        ));
    }
    render::truncate(&out, render::MESSAGE_LIMIT)
}

/// The timeline of one case.
pub fn show(ticket: &TicketRecord, events: &[EventRecord]) -> String {
    let r = query::row(ticket);
    let mut out = format!(
        "**Case** <#{}> · {}\nOpened {} by <@{}> · Hub ID {} · provider {} · error {}\n",
        ticket.thread,
        r.status,
        r.created_at,
        ticket.member,
        or_dash(&plain(&r.hub_id, 20)),
        or_dash(&plain(&r.provider, 40)),
        or_dash(&plain(&r.error_code, 40)),
    );
    if !r.missing.is_empty() {
        out.push_str(&format!("Missing: {}\n", plain(&r.missing, 200)));
    }
    for line in &ticket.evidence {
        out.push_str(&format!("Evidence: {}\n", plain(line, 200)));
    }
    if let Some(lookup) = &ticket.discovery {
        out.push_str(&format!("Domain: {}\n", plain(&lookup.summary, 300)));
    }
    let skip = events.len().saturating_sub(MAX_EVENTS);
    if skip > 0 {
        out.push_str(&format!("… {skip} earlier events not shown\n"));
    }
    for e in &events[skip..] {
        out.push_str(&format!(
            "`{}` {}\n",
            query::rfc3339(e.at),
            describe(&e.kind)
        ));
    }
    render::truncate(&out, render::MESSAGE_LIMIT)
}

fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Opened { member } => format!("opened by <@{member}>"),
        EventKind::ItemCollected { item } => format!("item collected: {}", plain(item, 40)),
        EventKind::ProbeRun { verdicts, findings } => format!(
            "probe: {} ({} findings)",
            plain(&verdicts.join("; "), 300),
            findings.len()
        ),
        EventKind::DomainLookedUp { domain, findings } => format!(
            "email domain looked up: {} ({})",
            plain(domain, 100),
            plain(&findings.join(", "), 200)
        ),
        EventKind::ReplyPosted { what, .. } => format!("reply posted ({})", plain(what, 40)),
        EventKind::ReplyEdited { .. } => "status message edited".to_string(),
        EventKind::Escalated { reason } => format!("escalated: {}", plain(reason, 200)),
        EventKind::Resolved { by, reason, .. } => {
            format!("resolved by <@{by}>: {}", plain(reason, 200))
        }
        EventKind::Reopened { by, .. } => format!("reopened by <@{by}>"),
        EventKind::SecretRedacted { kind, deleted } => format!(
            "secret redacted ({}){}",
            plain(kind, 40),
            if *deleted { ", message deleted" } else { "" }
        ),
        EventKind::TitleRedacted { kind, renamed } => format!(
            "secret redacted from the title ({}){}",
            plain(kind, 40),
            if *renamed {
                ", thread renamed"
            } else {
                ", member asked to rename"
            }
        ),
        EventKind::ReminderSent { missing } => {
            format!(
                "reminder sent (missing {})",
                plain(&missing.join(", "), 200)
            )
        }
        EventKind::CloseWarned => "close warning sent".to_string(),
        EventKind::AutoClosed => "auto-closed".to_string(),
        EventKind::Exempted { by, .. } => format!("exempted by <@{by}>"),
        EventKind::StateChanged { to } => format!("state → {}", to.as_str()),
    }
}

/// Counts and medians, as from `imap-triage log stats`.
pub fn stats(s: &Stats) -> String {
    let mut out = format!("**Triage stats** ({} cases)\n", s.tickets);
    for (name, counts) in [
        ("By status", &s.by_status),
        ("By error code", &s.by_error_code),
        ("By provider", &s.by_provider),
    ] {
        let mut counts: Vec<(&String, &usize)> = counts.iter().collect();
        counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let listed: Vec<String> = counts
            .iter()
            .take(15)
            .map(|(k, v)| format!("{} {v}", plain(k, 40)))
            .collect();
        let more = if counts.len() > 15 { ", …" } else { "" };
        out.push_str(&format!("{name}: {}{more}\n", or_dash(&listed.join(", "))));
    }
    out.push_str(&format!(
        "Median time to first reply: {}\nMedian time to escalation: {}\n",
        duration(s.median_first_reply_secs),
        duration(s.median_escalation_secs)
    ));
    render::truncate(&out, render::MESSAGE_LIMIT)
}

fn duration(secs: Option<u64>) -> String {
    match secs {
        None => "—".to_string(),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) if s < 7200 => format!("{} min", s / 60),
        Some(s) => format!("{:.1} h", s as f64 / 3600.0),
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "—"
    } else {
        text
    }
}

/// Stored text as inert Discord text: no markup or mention syntax, one line, at most `max`
/// characters.
fn plain(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '*' | '_' | '`' | '~' | '|' | '<' | '>' | '#' | '[' | ']' => ' ',
            '@' => '＠',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    render::truncate(&cleaned, max)
}

/// `/triage dashboard`: a one-time login link for the moderator who asked, or why there is
/// none. Sent only as an ephemeral answer; never logged.
pub fn dashboard_link(web: Option<&crate::web::Web>, user: &serenity::all::User) -> String {
    match web {
        Some(web) => {
            let name = user.global_name.clone().unwrap_or_else(|| user.name.clone());
            let link = web.login_link(crate::web::Moderator {
                id: user.id.get(),
                name: crate::core::secrets::redact(&name).chars().take(64).collect(),
            });
            format!(
                "Your dashboard link (one use, valid 10 minutes, signs in as you; don't share it):\n{link}"
            )
        }
        None => "The dashboard is off: set `[web] listen` (and `public_url`) in the bot's settings and restart it.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ThreadId;

    fn ticket(thread: u64, created: u64, status: TicketState) -> TicketRecord {
        let mut t = TicketRecord::new(
            ThreadId(thread),
            format!("**Case** @everyone {thread}"),
            9,
            created,
        );
        t.status = status;
        t.hub_id = crate::core::HubId::parse("20814377");
        t
    }

    #[test]
    fn a_hub_id_filter_is_digits_or_a_reason() {
        let ok = filter(None, None, Some(" 4821937 ")).map(|f| f.hub_id);
        assert_eq!(ok, Ok(crate::core::HubId::parse("4821937")));
        let refused = filter(None, None, Some("@everyone 12")).unwrap_err();
        assert!(
            refused.contains("is not a Hub ID: a Hub ID is 4 to 10 digits"),
            "{refused}"
        );
    }

    #[test]
    fn log_pages_fit_and_link() {
        let tickets: Vec<TicketRecord> = (1..=25)
            .map(|n| ticket(n, 1_700_000_000 + n, TicketState::WaitingOnMember))
            .collect();
        let f = filter(
            Some(TicketState::WaitingOnMember.as_str()),
            None,
            Some("20814377"),
        )
        .unwrap();
        let first = log_page(&tickets, &f, 1);
        assert!(first.contains("page 1/3"), "{first}");
        assert!(
            first.contains("<#25>") && !first.contains("<#15>"),
            "{first}"
        );
        assert!(first.contains("page:2"));
        assert!(!first.contains("@everyone") && !first.contains("**Case** ＠"));
        let last = log_page(&tickets, &f, 99);
        assert!(last.contains("page 3/3") && last.contains("<#1>"), "{last}");
        assert!(!last.contains("page:4"));
        let long: Vec<TicketRecord> = (1..=10)
            .map(|n| {
                let mut t = ticket(n, n, TicketState::Escalated);
                t.title = "x".repeat(5000);
                t
            })
            .collect();
        assert!(log_page(&long, &Filter::default(), 1).chars().count() <= render::MESSAGE_LIMIT);
        assert_eq!(
            log_page(&tickets, &filter(Some("closed"), None, None).unwrap(), 1),
            "No cases match."
        );
        assert!(filter(Some("bogus"), None, None)
            .unwrap_err()
            .contains("escalated"));
        assert!(filter(None, Some("yesterday"), None).is_err());
    }

    #[test]
    fn show_and_stats_read_well() {
        let t = ticket(7, 1_700_000_000, TicketState::Escalated);
        let events: Vec<EventRecord> = (0..40)
            .map(|n| EventRecord {
                at: 1_700_000_000 + n,
                kind: EventKind::Escalated {
                    reason: format!("reason {n}"),
                },
            })
            .collect();
        let text = show(&t, &events);
        assert!(
            text.contains("<#7>") && text.contains("escalated: reason 39"),
            "{text}"
        );
        assert!(text.contains("15 earlier events"), "{text}");
        assert!(text.chars().count() <= render::MESSAGE_LIMIT);
        let s = query::stats([t.clone()].iter());
        let text = stats(&s);
        assert!(
            text.contains("(1 cases)") && text.contains("escalated 1"),
            "{text}"
        );
        assert!(text.contains("Median time to first reply: —"), "{text}");
    }
}
