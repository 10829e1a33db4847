//! Purpose: carrying out what [`super::plan`] decided, through the [`Chat`] and the probe.
//! Chat errors are logged and absorbed here (the engine carries on); what happened is recorded
//! as events on the ticket being changed.

use std::sync::Arc;

use super::chat::{Controls, Mention, OutMessage};
use super::plan::{self, Action, Cause};
use super::{render, Change, Engine};
use crate::core::diagnose::{ProbeReport, Service, Verdict};
use crate::core::Report;
use crate::metrics::{self, METRICS};
use crate::probe::{EndpointRequest, Probe, ProbeJob, Progress};
use crate::store::{EventKind, TicketRecord};
use crate::ticket::{MessageId, ThreadId, TicketState};

use super::chat::ChatError;

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
        for action in plan::show(&change.ticket, report, self.prober.is_some(), force_probe) {
            self.execute(change, report, action).await;
        }
        for action in plan::settle(&change.ticket, report, cause) {
            self.execute(change, report, action).await;
        }
    }

    /// Carries out one action on the ticket being changed.
    pub(super) async fn execute(&self, change: &mut Change, report: &Report, action: Action) {
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
            Action::Probe { key } => {
                let Some(prober) = self.prober.clone() else {
                    return;
                };
                let probe = self.run_probe(ticket, report, prober.as_ref()).await;
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
                    content: render::escalation_notice(reason),
                    mention: Mention::Moderators,
                    controls: Controls::None,
                };
                self.post_reply(ticket.thread, notice, "escalation", events)
                    .await;
                let summary = plan::summary(&self.rules(), ticket, report, reason);
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
    }

    /// Tests the report's endpoints, showing progress in a "Testing…" message that becomes the
    /// probe's report.
    async fn run_probe(
        &self,
        ticket: &TicketRecord,
        report: &Report,
        prober: &dyn Probe,
    ) -> ProbeReport {
        let mut requests = Vec::new();
        if let Some(imap) = &report.imap {
            requests.push(EndpointRequest {
                service: Service::Imap,
                host: imap.host.clone(),
                port: imap.port,
                mode: None,
            });
        }
        if let Some(smtp) = &report.smtp {
            requests.push(EndpointRequest {
                service: Service::Smtp,
                host: smtp.host.clone(),
                port: smtp.port,
                mode: None,
            });
        }
        let targets: Vec<String> = requests
            .iter()
            .map(|r| format!("{}:{}", r.host, r.port))
            .collect();
        let testing = self
            .post(
                ticket.thread,
                OutMessage::text(render::probe_started(&targets)),
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
        let final_text = OutMessage::text(render::probe_report(&rules, report, &probe));
        match testing {
            Some(id) => {
                if let Err(e) = self.chat.edit(ticket.thread, id, final_text).await {
                    tracing::warn!(thread = ticket.thread.get(), error = %e, "could not post the probe report");
                }
            }
            None => {
                let _ = self.post(ticket.thread, final_text).await;
            }
        }
        probe
    }

    pub(super) async fn set_state(
        &self,
        ticket: &mut TicketRecord,
        state: TicketState,
        events: &mut Vec<EventKind>,
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
        events: &mut Vec<EventKind>,
    ) -> Option<MessageId> {
        let id = self.post(thread, message).await.ok()?;
        events.push(EventKind::ReplyPosted {
            message: id,
            what: what.to_string(),
        });
        Some(id)
    }

    pub(super) async fn post(
        &self,
        thread: ThreadId,
        message: OutMessage,
    ) -> Result<MessageId, ChatError> {
        let posted = self.chat.post(thread, message).await;
        if posted.is_ok() {
            metrics::inc(&METRICS.replies_posted);
        }
        posted.inspect_err(|e| {
            tracing::warn!(thread = thread.get(), error = %e, "could not post a message");
        })
    }
}
