//! Purpose: carrying out what [`super::plan`] decided, through the [`Chat`] and the probe.
//! Chat errors are logged and absorbed here (the engine carries on); what happened is recorded
//! as events on the ticket being changed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::chat::{EscalationSummary, Mention, OutMessage};
use super::plan::{self, Action, Cause};
use super::{render, Change, Engine, Journal};
use crate::core::diagnose::discovery::{self, DiscoveryReport};
use crate::core::diagnose::{ProbeReport, Service, Verdict};
use crate::core::Report;
use crate::metrics::{self, METRICS};
use crate::probe::{EndpointRequest, Probe, ProbeJob, Progress};
use crate::store::{DomainLookup, EventKind, TicketRecord};
use crate::ticket::{MessageId, ThreadId, TicketState};

use super::chat::ChatError;

/// The longest a domain look-up may hold the thread (DNS and the autoconfig fetch each keep to
/// their own, shorter limits).
const DOMAIN_LOOKUP_BUDGET: Duration = Duration::from_secs(8);

impl Engine {
    /// Brings the thread up to date with `report` (the ticket's triage, made once per event):
    /// the summary fields, the status message, the probe when the endpoints are new (or now,
    /// with `force_probe`), escalation (never on a moderator's own command) and the state tag.
    pub(super) async fn refresh(
        &self,
        change: &mut Change,
        report: &Report,
        force_probe: bool,
        cause: Cause,
    ) {
        plan::record_report(&mut change.ticket, report, &mut change.events);
        let mut queue: VecDeque<Action> =
            plan::show(&change.ticket, report, self.abilities(), force_probe).into();
        while let Some(action) = queue.pop_front() {
            // What an action leads to runs next, before the rest of the plan.
            if let Some(next) = self.execute(change, report, action).await {
                queue.push_front(next);
            }
        }
        for action in plan::settle(&change.ticket, report, cause) {
            self.execute(change, report, action).await;
        }
    }

    pub(super) fn abilities(&self) -> plan::Abilities {
        plan::Abilities {
            probe: self.prober.is_some(),
            discover: self.discoverer.is_some(),
        }
    }

    /// Carries out one action on the ticket being changed; returns what it leads to, as
    /// [`plan::after_discovery`] decides.
    pub(super) async fn execute(
        &self,
        change: &mut Change,
        report: &Report,
        action: Action,
    ) -> Option<Action> {
        let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
        match action {
            Action::ShowStatus(status) => match ticket.status_message {
                None => {
                    let posted = self.post_reply(ticket.thread, status, "status", events);
                    if let Some(id) = posted.await {
                        ticket.status_message = Some(id);
                        ticket.first_reply_at.get_or_insert(now);
                    }
                }
                Some(id) => match self.chat.edit(ticket.thread, id, status).await {
                    Ok(()) => {
                        metrics::inc(&METRICS.replies_edited);
                        events.push(EventKind::ReplyEdited { message: id })
                    }
                    Err(e) => {
                        tracing::warn!(thread = ticket.thread.get(), message = id.get(), error = %e, "could not edit the status message")
                    }
                },
            },
            Action::Discover { domain } => {
                let found = self.look_up_domain(ticket, report, &domain, events).await?;
                return plan::after_discovery(ticket, report, &found, self.abilities());
            }
            Action::Probe { key, endpoints } => {
                let prober = self.prober.clone()?;
                let probe = self
                    .run_probe(ticket, report, &endpoints, prober.as_ref(), events)
                    .await;
                ticket.probed = Some(key);
                ticket.probe_verdicts = render::verdict_lines(&probe);
                ticket.probe_member_fix = plan::member_can_fix(&probe);
                ticket.probe_outcome = plan::probe_outcome(&probe);
                let findings = probe
                    .imap
                    .iter()
                    .chain(probe.smtp.iter())
                    .flat_map(|e| e.findings.iter().map(|f| f.code.as_str().to_string()))
                    .collect();
                events.push(EventKind::ProbeRun {
                    verdicts: ticket.probe_verdicts.clone(),
                    findings,
                });
            }
            Action::Escalate { reason, needs } => {
                let notice = OutMessage {
                    mention: Mention::Moderators,
                    ..OutMessage::text(render::escalation_notice(reason))
                };
                self.post_reply(ticket.thread, notice, "escalation", events)
                    .await;
                let summary = EscalationSummary {
                    dedup_key: Some(events.next_post_key(ticket.thread)),
                    ..plan::summary(&self.rules(), ticket, report, reason)
                };
                if let Err(e) = self.chat.mod_log(&summary).await {
                    tracing::warn!(thread = ticket.thread.get(), error = %e, "could not post to the mod log");
                }
                metrics::inc(&METRICS.escalations);
                ticket.escalated = Some(needs);
                ticket.escalated_at = Some(now);
                events.push(EventKind::Escalated {
                    reason: reason.to_string(),
                });
            }
            Action::SetState(state) => self.set_state(ticket, state, events).await,
        }
        None
    }

    /// Looks the member's email domain up, keeps the summary for moderators, and tells the
    /// member what changes their next step (nothing when nothing does). `None` when there is no
    /// look-up or it ran out of time: the next event tries again.
    async fn look_up_domain(
        &self,
        ticket: &mut TicketRecord,
        report: &Report,
        domain: &str,
        events: &mut Journal,
    ) -> Option<DiscoveryReport> {
        let discoverer = self.discoverer.clone()?;
        let rules = self.rules();
        let looked_up = discoverer.discover(&rules, domain);
        let Ok(found) = tokio::time::timeout(DOMAIN_LOOKUP_BUDGET, looked_up).await else {
            tracing::warn!(
                thread = ticket.thread.get(),
                "the email domain's look-up did not finish in time"
            );
            return None;
        };
        ticket.discovery = Some(DomainLookup {
            domain: domain.to_string(),
            summary: discovery::summary_line(&rules, &found),
        });
        events.push(EventKind::DomainLookedUp {
            domain: domain.to_string(),
            findings: found
                .findings
                .iter()
                .map(|f| f.code.as_str().to_string())
                .collect(),
        });
        let advice = discovery::advice(
            &rules.findings,
            &found,
            report.imap.as_ref(),
            report.smtp.as_ref(),
        );
        if !advice.is_empty() {
            let message = OutMessage::text(render::domain_advice(&found.domain, &advice));
            self.post_reply(ticket.thread, message, "domain", events)
                .await;
        }
        Some(found)
    }

    /// Tests `requests` (the report's endpoints, or the ones the domain publishes), showing
    /// progress in a "Testing…" message that becomes the probe's report.
    async fn run_probe(
        &self,
        ticket: &TicketRecord,
        report: &Report,
        requests: &[EndpointRequest],
        prober: &dyn Probe,
        events: &mut Journal,
    ) -> ProbeReport {
        let targets: Vec<String> = requests
            .iter()
            .map(|r| format!("{}:{}", r.host, r.port))
            .collect();
        let testing = self
            .post(
                ticket.thread,
                OutMessage::text(render::probe_started(&targets)),
                events,
            )
            .await
            .ok();

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let progress = Progress::new(move |event| {
            if let Some(line) = render::progress_line(event) {
                let _ = tx.send(line);
            }
        });
        let requester = ticket.member.to_string();
        // One snapshot of the rules words both the findings and the report.
        let rules = self.rules();
        let probes = async {
            let mut out = ProbeReport::default();
            let runs = requests.iter().map(|request| {
                let job = ProbeJob {
                    requester: &requester,
                    request,
                    progress: &progress,
                };
                prober.probe_report(&rules.findings, job)
            });
            let results = futures_util::future::join_all(runs).await;
            for (request, result) in requests.iter().zip(results) {
                match request.service {
                    Service::Imap => out.imap = Some(result),
                    Service::Smtp => out.smtp = Some(result),
                }
            }
            drop(progress);
            out
        };
        let updates = async {
            let mut lines = Vec::new();
            while let Some(line) = rx.recv().await {
                lines.push(line);
                // Coalesce what arrived meanwhile: one edit per batch, not per stage.
                while let Ok(more) = rx.try_recv() {
                    lines.push(more);
                }
                if let Some(id) = testing {
                    let _ = self
                        .chat
                        .edit(
                            ticket.thread,
                            id,
                            OutMessage::text(render::probe_progress(&targets, &lines)),
                        )
                        .await;
                }
            }
        };
        // The permit is held for the whole run; a closed semaphore can't happen (never closed).
        let _slot = Arc::clone(&self.probe_slots).acquire_owned().await.ok();
        let started = std::time::Instant::now();
        let (probe, ()) = tokio::join!(probes, updates);
        METRICS.observe_probe_latency(started.elapsed());
        for endpoint in probe.imap.iter().chain(probe.smtp.iter()) {
            metrics::inc(match endpoint.verdict {
                Verdict::Ok => &METRICS.probes_ok,
                Verdict::Failed => &METRICS.probes_failed,
                Verdict::Refused => &METRICS.probes_refused,
            });
        }
        let final_text = render::probe_report(&rules, report, &probe);
        match testing {
            Some(id) => {
                if let Err(e) = self.chat.edit(ticket.thread, id, final_text).await {
                    tracing::warn!(thread = ticket.thread.get(), error = %e, "could not post the probe report");
                }
            }
            None => {
                let _ = self.post(ticket.thread, final_text, events).await;
            }
        }
        probe
    }

    pub(super) async fn set_state(
        &self,
        ticket: &mut TicketRecord,
        state: TicketState,
        events: &mut Journal,
    ) {
        if ticket.status == state && !events.iter().any(|e| matches!(e, EventKind::Opened { .. })) {
            return;
        }
        ticket.status = state;
        events.push(EventKind::StateChanged { to: state });
        if let Err(e) = self.chat.set_state(ticket.thread, state).await {
            tracing::warn!(thread = ticket.thread.get(), state = state.as_str(), error = %e, "could not set the state tag");
        }
    }

    /// Posts `message` and records it as a reply of kind `what` (the event log's name).
    pub(super) async fn post_reply(
        &self,
        thread: ThreadId,
        message: OutMessage,
        what: &str,
        events: &mut Journal,
    ) -> Option<MessageId> {
        let id = self.post(thread, message, events).await.ok()?;
        events.push(EventKind::ReplyPosted {
            message: id,
            what: what.to_string(),
        });
        Some(id)
    }

    /// Posts `message` under the next dedup key of the change (`journal`), so that the same
    /// change made again after a crash returns this message instead of posting it twice.
    pub(super) async fn post(
        &self,
        thread: ThreadId,
        message: OutMessage,
        journal: &mut Journal,
    ) -> Result<MessageId, ChatError> {
        let message = OutMessage {
            dedup_key: Some(journal.next_post_key(thread)),
            ..message
        };
        let posted = self.chat.post(thread, message).await;
        if posted.is_ok() {
            metrics::inc(&METRICS.replies_posted);
        }
        posted.inspect_err(|e| {
            tracing::warn!(thread = thread.get(), error = %e, "could not post a message");
        })
    }
}
