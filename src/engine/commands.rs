//! Purpose: the moderators' commands (`status`, `retest`, `escalate`, `resolve`, `reopen`,
//! `exempt`), whether typed as a mention or sent as the slash command.

use super::chat::OutMessage;
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
        self.with_ticket(thread, Some(key), None, async |change: &mut Change| {
            let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
            let reply = match command {
                Command::Status => {
                    let report = triage(&self.rules(), ticket);
                    render::status_summary(ticket, &report)
                }
                Command::Retest => {
                    if self.prober.is_none() {
                        "The connection test is switched off here.".to_string()
                    } else {
                        ticket.probed = None;
                        self.refresh(ticket, events, now, true).await;
                        "Re-tested: see the report in the thread.".to_string()
                    }
                }
                Command::Escalate => {
                    let report = triage(&self.rules(), ticket);
                    self.escalate(ticket, &report, "a moderator escalated it", events, now)
                        .await;
                    self.set_state(ticket, TicketState::Escalated, events).await;
                    "Escalated.".to_string()
                }
                Command::Resolve { reason } => {
                    let reason = secrets::redact(&reason);
                    ticket.resolved_at = Some(now);
                    events.push(EventKind::Resolved {
                        by: actor.user,
                        reason: reason.clone(),
                    });
                    self.set_state(ticket, TicketState::Resolved, events).await;
                    let notice = OutMessage::text(render::resolved_notice(&reason));
                    if let Ok(id) = self.post(thread, notice).await {
                        events.push(EventKind::ReplyPosted {
                            message: id,
                            what: "resolved".into(),
                        });
                    }
                    "Resolved.".to_string()
                }
                Command::Reopen => {
                    ticket.resolved_at = None;
                    ticket.closed_at = None;
                    ticket.escalated = None;
                    ticket.status = TicketState::WaitingOnMember;
                    events.push(EventKind::Reopened { by: actor.user });
                    self.refresh(ticket, events, now, false).await;
                    "Reopened.".to_string()
                }
                Command::Exempt => {
                    ticket.exempt = true;
                    events.push(EventKind::Exempted { by: actor.user });
                    "This thread is exempt from reminders and auto-close.".to_string()
                }
            };
            Ok(Response::private(reply))
        })
        .await
        .map(|outcome| outcome.answer(Response::private("This thread has no triage case.")))
    }
}
