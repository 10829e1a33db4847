//! Purpose: what the engine does about a ticket, decided without I/O. The handlers triage the
//! ticket once, ask these functions what follows, and carry the [`Action`]s out (`execute`).
//! Everything here is plain data in, plain data out, and is tested without a runtime.

use super::chat::{Controls, EscalationSummary, Mention, OutMessage};
use super::render;
use crate::core::diagnose::discovery::{DiscoveryReport, ServerSettings};
use crate::core::diagnose::{Code, ProbeReport, Service, Severity};
use crate::core::report::Item;
use crate::core::{secrets, Endpoint, Report, Rules};
use crate::probe::EndpointRequest;
use crate::store::{EventKind, TicketRecord};
use crate::ticket::TicketState;

/// One thing to do on the chat platform (or the network) for a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Post the status message, or edit the one the ticket has.
    ShowStatus(OutMessage),
    /// Look up where the member's email domain says its mail lives (once per domain).
    Discover { domain: String },
    /// Test `endpoints`; `key` names the set, so that each set runs once.
    Probe {
        key: String,
        endpoints: Vec<EndpointRequest>,
    },
    /// Ping the moderator role and post the case to the mod log. `needs` is what the case
    /// needs a moderator for (its error and what the probe found), so that the same need never
    /// pings twice.
    Escalate { reason: &'static str, needs: String },
    /// Mirror the state as the thread's tag.
    SetState(TicketState),
}

/// Why a case escalates by itself.
pub const READY_FOR_MODERATORS: &str =
    "every item support needs is in, and the bot has no fix to offer";
/// Why a case escalates on a moderator's command.
pub const ESCALATED_BY_MODERATOR: &str = "a moderator escalated it";
/// A moderator's `escalate` on a case the moderators have.
pub const ALREADY_ESCALATED: &str = "This case is already with the moderators.";

/// Who set a refresh off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A message or a control in the thread.
    Thread,
    /// A moderator's own command (`reopen`, `retest`): the moderators are the ones acting, so
    /// it never pings them.
    Moderator,
}

/// Keeps what the report found on the ticket (the summary fields the log filters on, the
/// evidence lines) and records each item that arrived since the last report.
pub fn record_report(ticket: &mut TicketRecord, report: &Report, events: &mut Vec<EventKind>) {
    let previously_missing = std::mem::take(&mut ticket.missing);
    ticket.hub_id = report.hub_id.clone();
    ticket.provider = report.provider.clone();
    ticket.error_code = report.error.as_ref().map(|e| e.code.clone());
    ticket.imap = report.imap.as_ref().map(ToString::to_string);
    ticket.smtp = report.smtp.as_ref().map(ToString::to_string);
    ticket.email_domain = report.email_domain.clone();
    ticket.evidence = report
        .evidence
        .entries()
        .iter()
        .map(|(field, e)| {
            format!(
                "{field} ← message {} ({}): \"{}\"",
                e.message, e.zone, e.excerpt
            )
        })
        .collect();
    ticket.missing = report
        .missing
        .iter()
        .map(|i| item_id(*i).to_string())
        .collect();
    let first_time = ticket.status_message.is_none();
    for item in Item::ALL {
        let id = item_id(item);
        if !report.missing.contains(&item)
            && (first_time || previously_missing.iter().any(|m| m == id))
        {
            events.push(EventKind::ItemCollected {
                item: id.to_string(),
            });
        }
    }
}

/// What the engine has besides the chat: a probe, a domain look-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Abilities {
    pub probe: bool,
    pub discover: bool,
}

/// The first half of a refresh: show the report in the status message, look the member's email
/// domain up when it is new, then test the endpoints when they are new (or when asked to,
/// `force`).
pub fn show(ticket: &TicketRecord, report: &Report, can: Abilities, force: bool) -> Vec<Action> {
    let mut actions = vec![Action::ShowStatus(status_message(report))];
    if let (true, Some(domain)) = (can.discover, &report.email_domain) {
        let known = ticket.discovery.as_ref().map(|d| d.domain.as_str());
        if force || known != Some(domain.as_str()) {
            actions.push(Action::Discover {
                domain: domain.clone(),
            });
        }
    }
    if let (true, Some(key)) = (can.probe, probe_key(report)) {
        if force || ticket.probed.as_deref() != Some(key.as_str()) {
            let endpoints = [(Service::Imap, &report.imap), (Service::Smtp, &report.smtp)]
                .into_iter()
                .filter_map(|(service, e)| {
                    e.as_ref().map(|e| EndpointRequest {
                        service,
                        host: e.host.clone(),
                        port: e.port,
                        mode: None,
                    })
                })
                .collect();
            actions.push(Action::Probe { key, endpoints });
        }
    }
    actions
}

/// After a domain look-up: when the member posted no server at all, test the ones the domain
/// publishes (not when the provider needs the vendor's native integration: IMAP is not the way
/// there). Each published set runs once, like a posted one.
pub fn after_discovery(
    ticket: &TicketRecord,
    report: &Report,
    found: &DiscoveryReport,
    can: Abilities,
) -> Option<Action> {
    let native = found
        .findings
        .iter()
        .any(|f| f.code == Code::NativeIntegration);
    if !can.probe || native || report.imap.is_some() || report.smtp.is_some() {
        return None;
    }
    let published = [
        (Service::Imap, &found.suggested.imap),
        (Service::Smtp, &found.suggested.smtp),
    ];
    let endpoints: Vec<EndpointRequest> = published
        .into_iter()
        .filter_map(|(service, s)| s.as_ref().map(|s| request_for(service, s)))
        .collect();
    if endpoints.is_empty() {
        return None;
    }
    let show = |s: &Option<ServerSettings>| s.as_ref().map(|s| s.endpoint()).unwrap_or_default();
    let key = format!(
        "published imap={} smtp={}",
        show(&found.suggested.imap),
        show(&found.suggested.smtp)
    );
    (ticket.probed.as_deref() != Some(key.as_str())).then_some(Action::Probe { key, endpoints })
}

/// A published server as a probe request, in the security it is published with.
fn request_for(service: Service, s: &ServerSettings) -> EndpointRequest {
    EndpointRequest {
        service,
        host: s.host.clone(),
        port: s.port,
        mode: Some(s.security),
    }
}

/// The second half, once the probe's outcome is on the ticket: escalation, then the state.
pub fn settle(ticket: &TicketRecord, report: &Report, cause: Cause) -> Vec<Action> {
    let mut actions = Vec::new();
    let ready = report.escalate && !ticket.probe_member_fix && report.mismatches.is_empty();
    if ready && cause == Cause::Thread {
        actions.extend(escalation(ticket, report, READY_FOR_MODERATORS));
    }
    let escalated = ticket.escalated.is_some() || !actions.is_empty();
    let state = if !report.missing.is_empty() {
        TicketState::WaitingOnMember
    } else if escalated {
        TicketState::Escalated
    } else if ticket.probed.is_some() {
        TicketState::Tested
    } else {
        TicketState::WaitingOnModerator
    };
    actions.push(Action::SetState(state));
    actions
}

/// A moderator's `escalate`: the actions, or the answer when the moderators already have the
/// case.
pub fn escalate_command(
    ticket: &TicketRecord,
    report: &Report,
) -> Result<Vec<Action>, &'static str> {
    if ticket.status == TicketState::Escalated {
        return Err(ALREADY_ESCALATED);
    }
    let mut actions: Vec<Action> = escalation(ticket, report, ESCALATED_BY_MODERATOR)
        .into_iter()
        .collect();
    actions.push(Action::SetState(TicketState::Escalated));
    Ok(actions)
}

/// Escalates the case, unless it was escalated before for the same need.
pub fn escalation(ticket: &TicketRecord, report: &Report, reason: &'static str) -> Option<Action> {
    let needs = needs_key(ticket, report);
    let known = match ticket.escalated.as_deref() {
        None => false,
        // Escalated by a version that kept the whole case state: the moderators have the case,
        // and what it needed them for then is unknown, so only a moderator re-escalates it.
        Some(old) if !old.starts_with(NEEDS_PREFIX) => true,
        Some(old) => old == needs,
    };
    (!known).then_some(Action::Escalate { reason, needs })
}

const NEEDS_PREFIX: &str = "needs:";

/// What the case needs a moderator for: its error, and what the connection test found per
/// service (without the endpoint). The member correcting a host or a port re-tests, but it is no
/// new need unless the test now finds something else.
fn needs_key(ticket: &TicketRecord, report: &Report) -> String {
    format!(
        "{NEEDS_PREFIX} error={} probe={}",
        report.error.as_ref().map_or("-", |e| e.code.as_str()),
        ticket.probe_outcome.join("; ")
    )
}

/// The connection test's outcome per service, without the endpoint: "IMAP failed (timeout)".
pub fn probe_outcome(probe: &ProbeReport) -> Vec<String> {
    [("IMAP", &probe.imap), ("SMTP", &probe.smtp)]
        .into_iter()
        .filter_map(|(label, endpoint)| {
            let e = endpoint.as_ref()?;
            let mut codes: Vec<&str> = e
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.code.as_str())
                .collect();
            codes.sort_unstable();
            Some(format!("{label} {:?} ({})", e.verdict, codes.join(", ")))
        })
        .collect()
}

/// The status message: the core's reply, with the checklist as it stands.
pub fn status_message(report: &Report) -> OutMessage {
    OutMessage {
        content: render::finish(&report.reply),
        mention: Mention::Nobody,
        controls: Controls::Status {
            checked: [
                report.checklist.typed_credentials,
                report.checklist.typed_servers,
                report.checklist.verified_credentials,
                report.checklist.confirmed_with_provider,
            ],
        },
        details: Vec::new(),
        dedup_key: None,
    }
}

/// The case as the moderators' log shows it.
pub fn summary(
    rules: &Rules,
    ticket: &TicketRecord,
    report: &Report,
    reason: &str,
) -> EscalationSummary {
    let likely_cause = report
        .error
        .as_ref()
        .and_then(|e| rules.error(&e.code))
        .map(|rule| rule.diagnosis.clone())
        .unwrap_or_else(|| "No recognised error; see the thread.".to_string());
    EscalationSummary {
        thread: ticket.thread,
        // Stored redacted; records from before the title shield are redacted here.
        title: secrets::redact(&ticket.title),
        hub_id: ticket.hub_id.clone(),
        provider: ticket.provider.clone(),
        imap: ticket.imap.clone(),
        smtp: ticket.smtp.clone(),
        error_code: ticket.error_code.clone(),
        probe_verdicts: ticket.probe_verdicts.clone(),
        domain: ticket.discovery.as_ref().map(|d| d.summary.clone()),
        evidence: ticket.evidence.clone(),
        likely_cause,
        reason: reason.to_string(),
        dedup_key: None,
    }
}

/// The endpoint set a probe would test ("imap=host:port smtp=host:port"), if there is one.
pub fn probe_key(report: &Report) -> Option<String> {
    if report.imap.is_none() && report.smtp.is_none() {
        return None;
    }
    let show = |e: &Option<Endpoint>| e.as_ref().map(ToString::to_string).unwrap_or_default();
    Some(format!(
        "imap={} smtp={}",
        show(&report.imap),
        show(&report.smtp)
    ))
}

/// Findings that mean the member typed something wrong: fix that before a moderator looks.
pub fn member_can_fix(probe: &ProbeReport) -> bool {
    probe.imap.iter().chain(probe.smtp.iter()).any(|e| {
        e.findings.iter().any(|f| {
            matches!(
                f.code,
                Code::WrongProtocol
                    | Code::TlsOnPlainPort
                    | Code::PlainOnTlsPort
                    | Code::DnsNotFound
                    | Code::DnsNoAddress
                    | Code::AlternativeAvailable
            )
        })
    })
}

/// An item's id as the ticket's `missing` list and the event log spell it.
pub fn item_id(item: Item) -> &'static str {
    match item {
        Item::Screenshot => "screenshot",
        Item::Error => "error",
        Item::HubId => "hub_id",
        Item::Checklist => "checklist",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ThreadId;

    /// A report in which the core says the case is ready for a moderator.
    fn ready() -> Report {
        let rules = crate::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
        let thread = crate::core::Thread {
            messages: vec![crate::core::Message::member(
                "IMAP authentication error. Hub ID 4821937",
            )],
        };
        let mut report = crate::core::triage(&rules, &thread);
        report.missing.clear();
        report.escalate = true;
        report
    }

    fn not_ready() -> Report {
        let mut report = ready();
        report.escalate = false;
        report
    }

    fn ticket() -> TicketRecord {
        TicketRecord::new(ThreadId(1), "t".into(), 7, 0)
    }

    fn escalates(actions: &[Action]) -> bool {
        actions.iter().any(|a| matches!(a, Action::Escalate { .. }))
    }

    fn state(actions: &[Action]) -> Option<TicketState> {
        actions.iter().find_map(|a| match a {
            Action::SetState(state) => Some(*state),
            _ => None,
        })
    }

    #[test]
    fn the_state_follows_the_case() {
        let mut waiting = not_ready();
        waiting.missing = vec![Item::HubId];
        let mut probed = ticket();
        probed.probed = Some("imap=imap.x.com:993 smtp=".into());
        for (ticket, report, expected) in [
            (ticket(), waiting, TicketState::WaitingOnMember),
            (ticket(), ready(), TicketState::Escalated),
            (probed, not_ready(), TicketState::Tested),
            (ticket(), not_ready(), TicketState::WaitingOnModerator),
        ] {
            let actions = settle(&ticket, &report, Cause::Thread);
            assert_eq!(state(&actions), Some(expected), "{actions:?}");
        }
    }

    #[test]
    fn a_moderators_own_command_never_pings_the_moderators() {
        let actions = settle(&ticket(), &ready(), Cause::Moderator);
        assert!(!escalates(&actions), "{actions:?}");
        assert_eq!(state(&actions), Some(TicketState::WaitingOnModerator));
    }

    #[test]
    fn a_need_escalates_once_and_a_corrected_port_is_no_new_need() {
        let report = ready();
        let mut t = ticket();
        t.imap = Some("imap.x.com:993".into());
        t.probe_outcome = vec!["IMAP Ok ()".into()];
        let Some(Action::Escalate { needs, .. }) = escalation(&t, &report, READY_FOR_MODERATORS)
        else {
            panic!("a new case escalates");
        };
        t.escalated = Some(needs);
        assert_eq!(escalation(&t, &report, READY_FOR_MODERATORS), None);

        t.imap = Some("imap.x.com:143".into());
        assert_eq!(
            escalation(&t, &report, READY_FOR_MODERATORS),
            None,
            "another port, the same outcome"
        );

        t.probe_outcome = vec!["IMAP Failed (timeout)".into()];
        assert!(
            escalation(&t, &report, READY_FOR_MODERATORS).is_some(),
            "a new finding is a new need"
        );
    }

    /// Regression guard for records escalated before needs were kept: they held the whole
    /// case state, which would never match a need and so re-pinged on the next message.
    #[test]
    fn a_case_escalated_by_an_older_version_stays_escalated() {
        let mut t = ticket();
        t.escalated = Some(r#"Some("4821937")|None|None|Some("imap_auth_error")|"#.into());
        assert_eq!(escalation(&t, &ready(), READY_FOR_MODERATORS), None);
    }

    #[test]
    fn an_explicit_escalate_of_an_escalated_case_is_answered_not_repeated() {
        let mut t = ticket();
        t.status = TicketState::Escalated;
        assert_eq!(escalate_command(&t, &ready()), Err(ALREADY_ESCALATED));

        t.status = TicketState::WaitingOnMember;
        let actions = escalate_command(&t, &not_ready()).unwrap_or_default();
        assert!(escalates(&actions), "{actions:?}");
        assert_eq!(state(&actions), Some(TicketState::Escalated));
    }
}
