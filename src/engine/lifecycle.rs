//! Purpose: the timers of open tickets: one reminder per period while items are missing, then
//! a warning, then archive-and-lock. The clocks are stored on the ticket, so they survive
//! restarts; a member's message restarts them ([`member_spoke`]).

use super::chat::OutMessage;
use super::{render, triage, Change, Engine, EngineError, Outcome};
use crate::store::{EventKind, TicketRecord};
use crate::ticket::TicketState;

impl Engine {
    /// Runs the lifecycle timers of every open ticket. Returns how many tickets were acted on.
    pub async fn tick(&self) -> Result<usize, EngineError> {
        self.prune_thread_locks();
        let mut acted = 0;
        for stale in self.store.tickets()? {
            if stale.exempt || stale.status != TicketState::WaitingOnMember {
                continue;
            }
            let lock = self.thread_lock(stale.thread);
            let _guard = lock.lock().await;
            // `with_ticket` reads the ticket again under the lock: an event may have just
            // changed it.
            let outcome = self
                .with_ticket(stale.thread, None, None, async |change: &mut Change| {
                    self.tick_ticket(change).await;
                    Ok(!change.events.is_empty())
                })
                .await?;
            if matches!(outcome, Outcome::Done(true)) {
                acted += 1;
            }
        }
        Ok(acted)
    }

    async fn tick_ticket(&self, change: &mut Change) {
        let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
        let t = self.timings;
        let idle = now.saturating_sub(ticket.last_member_at);
        if let Some(warned) = ticket.close_warned_at {
            if now.saturating_sub(warned) >= t.close_grace {
                let _ = self
                    .post(ticket.thread, OutMessage::text(render::closing_notice()))
                    .await;
                if let Err(e) = self.chat.close(ticket.thread).await {
                    tracing::warn!(thread = ticket.thread, error = %e, "could not archive and lock the thread");
                }
                ticket.closed_at = Some(now);
                events.push(EventKind::AutoClosed);
                self.set_state(ticket, TicketState::Closed, events).await;
            }
        } else if idle >= t.close_after {
            let notice = OutMessage::to_user(ticket.member, render::close_warning(t.close_grace));
            let _ = self.post(ticket.thread, notice).await;
            ticket.close_warned_at = Some(now);
            events.push(EventKind::CloseWarned);
        } else if t.reminder_after > 0
            && idle >= t.reminder_after * (u64::from(ticket.reminders_sent) + 1)
        {
            let missing = ticket.missing.clone();
            let report = triage(&self.rules(), ticket);
            let asks: Vec<&str> = report.missing.iter().map(|i| i.label()).collect();
            let _ = self
                .post(
                    ticket.thread,
                    OutMessage::to_user(ticket.member, render::reminder(&asks)),
                )
                .await;
            ticket.reminders_sent += 1;
            events.push(EventKind::ReminderSent { missing });
        }
    }
}

/// The clocks of reminders and auto-close restart when the member writes.
pub(super) fn member_spoke(ticket: &mut TicketRecord, now: u64) {
    ticket.last_member_at = now;
    ticket.reminders_sent = 0;
    ticket.close_warned_at = None;
}
