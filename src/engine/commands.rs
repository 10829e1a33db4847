//! Purpose: the moderators' commands (`status`, `retest`, `escalate`, `resolve`, `reopen`,
//! `exempt`), whether typed as a mention or sent as the slash command.

use super::chat::OutMessage;
use super::plan::{self, Cause};
use super::{render, triage, Actor, Change, Command, Engine, EngineError, Response};
use crate::core::secrets;
use crate::store::EventKind;
use crate::ticket::{ThreadId, TicketState};

impl Engine {
    pub(super) async fn on_command(
        &self,
        thread: ThreadId,
        actor: Actor,
        key: u64,
        command: Command,
    ) -> Result<Response, EngineError> {
        if !actor.is_moderator {
            return Ok(Response::private(
                "Only moderators can use triage commands.",
            ));
        }
        let key = format!("c:{key}");
        self.with_ticket(
            thread,
            Some(key),
            None,
            None,
            async |change: &mut Change| {
                let now = change.now;
                let reply = match command {
                    Command::Status => {
                        let report = triage(&self.rules(), &change.ticket);
                        render::status_summary(&change.ticket, &report)
                    }
                    Command::Retest => {
                        if self.prober.is_none() {
                            "The connection test is switched off here.".to_string()
                        } else {
                            let report = triage(&self.rules(), &change.ticket);
                            change.ticket.probed = None;
                            self.refresh(change, &report, true, Cause::Moderator).await;
                            "Re-tested: see the report in the thread.".to_string()
                        }
                    }
                    Command::Escalate => {
                        let report = triage(&self.rules(), &change.ticket);
                        match plan::escalate_command(&change.ticket, &report) {
                            Ok(actions) => {
                                for action in actions {
                                    // Escalation leads to nothing further.
                                    let _ = self.execute(change, &report, action).await;
                                }
                                "Escalated.".to_string()
                            }
                            Err(already) => already.to_string(),
                        }
                    }
                    Command::Resolve { reason } => {
                        let reason = secrets::redact_with(&self.rules().reading.secrets, &reason);
                        change.ticket.resolved_at = Some(now);
                        change.events.push(EventKind::Resolved {
                            by: actor.user,
                            by_name: actor.name.clone(),
                            reason: reason.clone(),
                        });
                        self.set_state(
                            &mut change.ticket,
                            TicketState::Resolved,
                            &mut change.events,
                        )
                        .await;
                        let notice = OutMessage::text(render::resolved_notice(&reason));
                        self.post_reply(thread, notice, "resolved", &mut change.events)
                            .await;
                        "Resolved.".to_string()
                    }
                    Command::Reopen => {
                        // What the case was escalated for stays: the moderators have seen it, and
                        // only a new need pings them again.
                        let ticket = &mut change.ticket;
                        ticket.resolved_at = None;
                        ticket.closed_at = None;
                        ticket.status = TicketState::WaitingOnMember;
                        change.events.push(EventKind::Reopened {
                            by: actor.user,
                            by_name: actor.name.clone(),
                        });
                        let report = triage(&self.rules(), &change.ticket);
                        self.refresh(change, &report, false, Cause::Moderator).await;
                        "Reopened.".to_string()
                    }
                    Command::Exempt => {
                        change.ticket.exempt = true;
                        change.events.push(EventKind::Exempted {
                            by: actor.user,
                            by_name: actor.name.clone(),
                        });
                        "This thread is exempt from reminders and auto-close.".to_string()
                    }
                };
                Ok(Response::private(reply))
            },
        )
        .await
        .map(|outcome| outcome.answer(Response::private("This thread has no triage case.")))
    }
}
