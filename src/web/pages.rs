//! The dashboard's pages (maud): one frame, the queue, a case, trends, and the short answers
//! (401, refused, logged out). Every text shown comes from the store (redacted there); titles
//! and message texts pass through the shield again, as log rows do, for records from before.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{PageContext, QueueQuery};
use crate::core::secrets::redact;
use crate::store::query::{self, Filter};
use crate::store::{EventKind, EventRecord, StoredMessage, TicketRecord};
use crate::ticket::TicketState;

/// Rows per queue page.
pub const PAGE_SIZE: usize = 25;

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 "Liberation Sans",Arial,sans-serif;color:#1d232a;background:#f4f6f8}
header{background:#233044;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header .who{margin-left:auto;font-size:.9rem;opacity:.9}
header form{display:inline}
header button{background:none;border:1px solid #fff8;color:#fff;border-radius:4px;padding:.15rem .5rem;cursor:pointer}
main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.8rem 1rem;margin-bottom:1rem}
.card>h2:first-child{margin-top:0}
.hint{color:#4b5560;font-size:.85rem;margin:.5rem 0 0}
.banner{background:#fff4ce;border:1px solid #e5c65c;border-radius:6px;padding:.5rem .8rem;margin-bottom:1rem}
.note{background:#e6f4ea;border:1px solid #8fc79d;border-radius:6px;padding:.5rem .8rem;margin-bottom:1rem}
.error{background:#fde7e9;border:1px solid #e39aa1;border-radius:6px;padding:.5rem .8rem;margin-bottom:1rem}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.5rem;align-items:end}
label{display:flex;flex-direction:column;font-size:.8rem;color:#4b5560;gap:.15rem}
input,select,button{font:inherit;padding:.3rem .4rem;border:1px solid #b8c1ca;border-radius:4px;background:#fff}
button.primary{background:#2f6fde;color:#fff;border-color:#2f6fde;cursor:pointer}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{font-size:.8rem;color:#4b5560;background:#eef1f4;white-space:nowrap}
td.title{max-width:22rem;overflow-wrap:anywhere}
.status{display:inline-block;padding:.05rem .45rem;border-radius:9px;font-size:.8rem;background:#e3e7eb;white-space:nowrap}
.s-waiting_on_member{background:#fff0c2}.s-waiting_on_moderator{background:#ffd9c2}.s-escalated{background:#ffc9c9}
.s-tested{background:#d9e8ff}.s-resolved{background:#cdeccf}.s-closed{background:#e3e7eb}
.pager{display:flex;gap:1rem;margin:.7rem 0;align-items:center;flex-wrap:wrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .9rem;margin:0}
dt{color:#4b5560;font-size:.85rem}dd{margin:0;overflow-wrap:anywhere}
ul.plain{margin:.2rem 0;padding-left:1.1rem}
.timeline li{margin-bottom:.3rem}
.time{color:#4b5560;font-size:.85rem;font-variant-numeric:tabular-nums;white-space:nowrap}
.actions{display:flex;flex-wrap:wrap;gap:.7rem;align-items:end}
.actions form{display:flex;gap:.4rem;align-items:end;flex-wrap:wrap}
.msg{border-left:3px solid #d8dee4;padding:.2rem .6rem;margin:.4rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.moderator{border-color:#2f6fde}.msg.bot{border-color:#8a94a0;color:#3c4650}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}
.charts svg{width:100%;height:auto}
.figures{display:flex;flex-wrap:wrap;gap:1rem}
.figure{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.6rem .9rem;flex:1 1 10rem}
.figure b{display:block;font-size:1.3rem}
@media (max-width:700px){
 .wide{display:none}
 main{padding:.6rem}
 dl{grid-template-columns:max-content 1fr;gap:.2rem .6rem}
 .charts{grid-template-columns:1fr}
 table.queue,table.queue tbody,table.queue tr,table.queue td{display:block;width:100%}
 table.queue thead{display:none}
 table.queue tr{border-bottom:1px solid #d8dee4;padding:.4rem 0}
 table.queue td{border:none;padding:.1rem .6rem}
 table.queue td[data-label]::before{content:attr(data-label) ": ";color:#4b5560;font-size:.8rem}
 table.queue td.title{max-width:none;font-weight:600}
}
"#;

fn frame(ctx: Option<&PageContext>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · imap-triage" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    span { "imap-triage" }
                    @if let Some(ctx) = ctx {
                        a href="/queue" { "Queue" }
                        a href="/trends" { "Trends" }
                        span.who {
                            "Signed in as " (ctx.moderator.name) " "
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(ctx.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    @if let Some(banner) = ctx.and_then(|c| c.banner) {
                        div.banner { (banner) }
                    }
                    (body)
                }
            }
        }
    }
}

/// The 401 page: why, and how to get in.
pub fn unauthorized(why: Option<&str>) -> Markup {
    frame(
        None,
        "Sign in",
        html! {
            h1 { "Sign in with a login link" }
            @if let Some(why) = why { div.error { (why) "." } }
            div.card {
                p { "Every page of the dashboard needs a session. Get a one-time login link (valid 10 minutes, for you only):" }
                ul.plain {
                    li { "in Discord: " code { "/triage dashboard" } " (moderators only; the answer is visible only to you);" }
                    li { "in the console: " code { "/mod dashboard" } ";" }
                    li { "on the server: " code { "imap-triage dashboard" } " prints one on start." }
                }
                p { "Then open the link in this browser." }
            }
        },
    )
}

pub fn logged_out() -> Markup {
    frame(
        None,
        "Logged out",
        html! { h1 { "Logged out" } p { "Your session has ended. A new login link signs you in again." } },
    )
}

pub fn message(title: &str, text: &str) -> Markup {
    frame(
        None,
        title,
        html! { h1 { (title) } div.card { p { (text) } } },
    )
}

/// Whom a case waits on, and for how long (seconds), while it is open.
pub fn waiting(t: &TicketRecord, now: u64) -> Option<(&'static str, u64)> {
    match t.status {
        TicketState::WaitingOnMember => Some(("member", now.saturating_sub(t.updated_at))),
        TicketState::WaitingOnModerator | TicketState::Escalated | TicketState::Tested => Some((
            "moderators",
            now.saturating_sub(t.escalated_at.unwrap_or(t.updated_at)),
        )),
        TicketState::Resolved | TicketState::Closed => None,
    }
}

/// "3 d 4 h", "2 h 5 min", "40 s".
pub fn age(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

fn when(secs: u64) -> String {
    query::rfc3339(secs).replace('T', " ").replace('Z', "")
}

fn status_badge(s: TicketState) -> Markup {
    html! { span class=(format!("status s-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

fn distinct(tickets: &[TicketRecord], field: impl Fn(&TicketRecord) -> String) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = tickets.iter().map(field).collect();
    set.into_iter().collect()
}

fn select(name: &str, label: &str, current: &str, options: &[String]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "any" }
                @for o in options {
                    option value=(o) selected[o == current] { (o.replace('_', " ")) }
                }
            }
        }
    }
}

pub fn queue(
    ctx: &PageContext,
    tickets: &[TicketRecord],
    q: &QueueQuery,
    filter: Result<&Filter, &String>,
    now: u64,
) -> Markup {
    let statuses: Vec<String> = TicketState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let errors = distinct(tickets, |t| {
        t.error_code.clone().unwrap_or_else(|| "none".into())
    });
    let providers = distinct(tickets, |t| {
        t.provider.clone().unwrap_or_else(|| "unknown".into())
    });
    let mut chosen: Vec<&TicketRecord> = match filter {
        Ok(f) => tickets.iter().filter(|t| f.accepts(t)).collect(),
        Err(_) => Vec::new(),
    };
    match q.sort.as_str() {
        "oldest" => chosen.sort_by_key(|t| (t.created_at, t.thread)),
        "updated" => chosen.sort_by_key(|t| std::cmp::Reverse((t.updated_at, t.thread))),
        "waiting" => chosen
            .sort_by_key(|t| std::cmp::Reverse((waiting(t, now).map_or(0, |(_, s)| s), t.thread))),
        _ => chosen.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.thread))),
    }
    let total = chosen.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = q.page.clamp(1, pages);
    let shown = chosen.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE);
    let query = q.to_query();
    let link = |p: usize| {
        if query.is_empty() {
            format!("/queue?page={p}")
        } else {
            format!("/queue?{query}&page={p}")
        }
    };
    let export = |ext: &str| {
        if query.is_empty() {
            format!("/export.{ext}")
        } else {
            format!("/export.{ext}?{query}")
        }
    };
    frame(
        Some(ctx),
        "Queue",
        html! {
            h1 { "Queue" }
            div.card {
                form.filters method="get" action="/queue" {
                    (select("status", "Status", &q.status, &statuses))
                    (select("error", "Error code", &q.error, &errors))
                    (select("provider", "Provider", &q.provider, &providers))
                    label { "Hub ID" input name="hub" value=(q.hub) inputmode="numeric" placeholder="4821937"; }
                    label { "Created from" input type="date" name="since" value=(q.since); }
                    label { "Created to" input type="date" name="until" value=(q.until); }
                    label { "Sort"
                        select name="sort" {
                            @for (v, l) in [("", "newest first"), ("oldest", "oldest first"), ("updated", "recently updated"), ("waiting", "waiting longest")] {
                                option value=(v) selected[q.sort == v] { (l) }
                            }
                        }
                    }
                    button.primary type="submit" { "Apply" }
                }
            }
            @if let Err(e) = filter { div.error { "Filter: " (e) } }
            div.pager {
                span { (total) " case" @if total != 1 { "s" } " · page " (page) " of " (pages) }
                @if page > 1 { a href=(link(page - 1)) { "← newer page" } }
                @if page < pages { a href=(link(page + 1)) { "next page →" } }
                span { "Export: " a href=(export("csv")) { "CSV" } " · " a href=(export("jsonl")) { "JSONL" } }
            }
            div.scroll {
                table.queue {
                    thead { tr {
                        th { "Case" } th { "Status" } th { "Waiting on" }
                        th { "Hub ID" } th { "Provider" } th { "Error" } th.wide { "Created (UTC)" }
                    } }
                    tbody {
                        @for t in shown {
                            tr {
                                td.title { a href=(format!("/case/{}", t.thread)) { (redact(&t.title)) } }
                                td data-label="Status" { (status_badge(t.status)) }
                                td data-label="Waiting on" { @match waiting(t, now) {
                                    Some((who, secs)) => { (who) " · " (age(secs)) },
                                    None => "—",
                                } }
                                td data-label="Hub ID" { (t.hub_id.as_ref().map(|h| h.to_string()).unwrap_or_default()) }
                                td data-label="Provider" { (t.provider.as_deref().unwrap_or("")) }
                                td data-label="Error" { (t.error_code.as_deref().unwrap_or("")) }
                                td.wide.time { (when(t.created_at)) }
                            }
                        }
                    }
                }
            }
            @if total == 0 { p { "No case matches these filters." } }
        },
    )
}

/// One timeline entry in words.
fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Opened { member } => format!("Opened by member {member}"),
        EventKind::ItemCollected { item } => format!("Collected: {item}"),
        EventKind::ProbeRun { verdicts, .. } => format!("Connection test: {}", verdicts.join("; ")),
        EventKind::DomainLookedUp { domain, findings } => {
            format!("Domain {domain} looked up: {}", findings.join(", "))
        }
        EventKind::ReplyPosted { what, .. } => format!("Bot posted: {what}"),
        EventKind::ReplyEdited { .. } => "Bot edited its status message".to_string(),
        EventKind::Escalated { reason } => format!("Escalated: {reason}"),
        EventKind::Resolved {
            by,
            by_name,
            reason,
        } => format!(
            "Resolved by {}: {}",
            moderator(*by, by_name),
            redact(reason)
        ),
        EventKind::Reopened { by, by_name } => format!("Reopened by {}", moderator(*by, by_name)),
        EventKind::SecretRedacted { kind, deleted } => format!(
            "A {kind} was redacted{}",
            if *deleted {
                " and the message deleted"
            } else {
                ""
            }
        ),
        EventKind::TitleRedacted { kind, renamed } => format!(
            "The title held a {kind}{}",
            if *renamed {
                "; thread renamed"
            } else {
                "; member asked to retitle"
            }
        ),
        EventKind::ReminderSent { missing } => {
            format!("Reminder sent (missing: {})", missing.join(", "))
        }
        EventKind::CloseWarned => "Warned before auto-close".to_string(),
        EventKind::AutoClosed => "Closed for inactivity".to_string(),
        EventKind::Exempted { by, by_name } => {
            format!("Exempted from reminders by {}", moderator(*by, by_name))
        }
        EventKind::StateChanged { to } => format!("State: {}", to.as_str().replace('_', " ")),
    }
}

/// A moderator as the timeline names them: the name they acted under, else their id.
fn moderator(id: u64, name: &Option<String>) -> String {
    match name {
        Some(name) => format!("{} (moderator {id})", redact(name)),
        None => format!("moderator {id}"),
    }
}

fn plain_json(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn screenshot_reads(messages: &[StoredMessage]) -> Markup {
    let reads: Vec<_> = messages
        .iter()
        .flat_map(|m| m.attachments.iter())
        .filter_map(|a| a.read.as_ref().map(|r| (&a.file.filename, r)))
        .collect();
    html! {
        @if reads.is_empty() { p { "No screenshot was read." } }
        @for (file, read) in reads {
            div.card {
                b { (file) } " — " (plain_json(read.kind).replace('_', " ")) " (" (read.ms) " ms)"
                dl {
                    @if let Some(reason) = &read.reason { dt { "Reason" } dd { (reason) } }
                    dt { "Advanced options" } dd { (if read.advanced_options { "shown" } else { "hidden" }) }
                    @for (name, server) in [("IMAP", &read.imap), ("SMTP", &read.smtp)] {
                        @if let Some(s) = server {
                            dt { (name) } dd {
                                (s.host.as_deref().unwrap_or("-")) " port "
                                (s.port.map_or("-".to_string(), |p| p.to_string())) " security "
                                (s.security.map(plain_json).unwrap_or_else(|| "-".into()))
                            }
                        }
                    }
                    @if let Some(d) = &read.email_domain { dt { "Email domain" } dd { (d) } }
                    @if let Some(e) = &read.error_text { dt { "Error shown" } dd { (redact(e)) } }
                    dt { "Password visible" } dd { (if read.password_visible { "yes (redacted)" } else { "no" }) }
                }
            }
        }
    }
}

pub fn case(
    ctx: &PageContext,
    t: &TicketRecord,
    events: &[EventRecord],
    note: &str,
    now: u64,
) -> Markup {
    let r = query::row(t);
    let probes: Vec<(&EventRecord, &Vec<String>, &Vec<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProbeRun { verdicts, findings } => Some((e, verdicts, findings)),
            _ => None,
        })
        .collect();
    let lookups: Vec<(&EventRecord, &String, &Vec<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::DomainLookedUp { domain, findings } => Some((e, domain, findings)),
            _ => None,
        })
        .collect();
    let open = !matches!(t.status, TicketState::Resolved | TicketState::Closed);
    frame(
        Some(ctx),
        &format!("Case {}", t.thread),
        html! {
            p { a href="/queue" { "← Queue" } }
            h1 { (r.title) }
            @if !note.is_empty() { div.note { (redact(note)) } }
            div.card {
                h2 { "Summary" }
                dl {
                    dt { "Thread" } dd { (t.thread) }
                    dt { "Status" } dd { (status_badge(t.status)) }
                    dt { "Waiting on" } dd { @match waiting(t, now) {
                        Some((who, secs)) => { (who) " for " (age(secs)) },
                        None => "nobody (resolved or closed)",
                    } }
                    dt { "Created" } dd.time { (when(t.created_at)) " UTC" }
                    dt { "Updated" } dd.time { (when(t.updated_at)) " UTC" }
                    dt { "Hub ID" } dd { (r.hub_id) }
                    dt { "Provider" } dd { (r.provider) }
                    dt { "Error code" } dd { (r.error_code) }
                    dt { "IMAP" } dd { (r.imap) }
                    dt { "SMTP" } dd { (r.smtp) }
                    dt { "Email domain" } dd { (r.email_domain) }
                    dt { "Missing" } dd { (r.missing) }
                }
            }
            div.card {
                h2 { "Actions" }
                @if let Some(refusal) = ctx.refusal { div.banner { (refusal) } }
                div.actions {
                    form method="post" action=(format!("/case/{}/action", t.thread)) {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        input type="hidden" name="action" value="resolve";
                        label { "Reason" input name="reason" required maxlength="500" placeholder="app password fixed it"; }
                        button.primary type="submit" name="do" value="resolve" disabled[!open || ctx.refusal.is_some()] { "Resolve" }
                    }
                    form method="post" action=(format!("/case/{}/action", t.thread)) {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        input type="hidden" name="action" value="reopen";
                        button type="submit" disabled[open || ctx.refusal.is_some()] { "Reopen" }
                    }
                    form method="post" action=(format!("/case/{}/action", t.thread)) {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        input type="hidden" name="action" value="escalate";
                        button type="submit" disabled[!open || ctx.refusal.is_some()] { "Escalate" }
                    }
                }
                p.hint { "Actions run as " (ctx.moderator.name) " (moderator " (ctx.moderator.id) "), through the same commands as Discord." }
            }
            div.card {
                h2 { "Evidence" }
                @if t.evidence.is_empty() { p { "No field was found yet." } }
                ul.plain { @for line in &t.evidence { li { (redact(line)) } } }
            }
            div.card {
                h2 { "Connection tests" }
                @if probes.is_empty() { p { "No connection test ran." } }
                @for (e, verdicts, findings) in &probes {
                    p.time { (when(e.at)) " UTC" }
                    ul.plain {
                        @for v in *verdicts { li { (v) } }
                        @for f in *findings { li { "finding: " (f) } }
                    }
                }
                @if !t.probe_outcome.is_empty() {
                    p { "Last outcome per service: " (t.probe_outcome.join("; ")) }
                }
            }
            div.card {
                h2 { "Domain discovery" }
                @match &t.discovery {
                    Some(d) => p { b { (d.domain) } ": " (d.summary) },
                    None => p { "The member's email domain was not looked up." },
                }
                @for (e, domain, findings) in &lookups {
                    p.time { (when(e.at)) " UTC · " (domain) ": " (findings.join(", ")) }
                }
            }
            div.card {
                h2 { "Screenshot reads" }
                (screenshot_reads(&t.messages))
            }
            div.card {
                h2 { "Timeline" }
                ol.plain.timeline {
                    @for e in events {
                        li { span.time { (when(e.at)) } " " (describe(&e.kind)) }
                    }
                }
            }
            div.card {
                h2 { "Conversation (redacted)" }
                @for m in &t.messages {
                    @let role = plain_json(&m.role);
                    div class=(format!("msg {role}")) {
                        b { (role) } " " (redact(&m.text))
                        @if !m.attachments.is_empty() { " [" (m.attachments.len()) " attachment(s)]" }
                    }
                }
            }
        },
    )
}

pub fn trends(ctx: &PageContext, q: &QueueQuery, chosen: &[&TicketRecord], now: u64) -> Markup {
    let t = super::trends::Trends::of(chosen, now);
    frame(
        Some(ctx),
        "Trends",
        html! {
            h1 { "Trends" }
            div.card {
                form.filters method="get" action="/trends" {
                    label { "Created from" input type="date" name="since" value=(q.since); }
                    label { "Created to" input type="date" name="until" value=(q.until); }
                    button.primary type="submit" { "Apply" }
                }
                p.hint { "Days with no date given: the last " (super::trends::DEFAULT_DAYS) " days of the data. " (chosen.len()) " cases." }
            }
            div.figures {
                @for (label, v) in [("Median time to first reply", t.median_first_reply), ("Median time to escalation", t.median_escalation), ("Median time to resolution", t.median_resolution)] {
                    div.figure { (label) b { (v.map_or("—".to_string(), age)) } }
                }
            }
            h2 { "Over time" }
            div.charts {
                div.card { h2 { "Cases per day" } (PreEscaped(t.cases_svg())) }
                div.card { h2 { "Error codes per day" } (PreEscaped(t.errors_svg())) }
                div.card { h2 { "Providers per day" } (PreEscaped(t.providers_svg())) }
                div.card { h2 { "Median waits per week (minutes)" } (PreEscaped(t.medians_svg())) }
            }
        },
    )
}
