//! Purpose: the timers of open tickets: one reminder per period while items are missing, then
//! a warning, then archive-and-lock. The clocks are stored on the ticket, so they survive
//! restarts; a member's message restarts them ([`member_spoke`]).

use super::chat::OutMessage;
use super::{render, triage, Change, Engine, EngineError, Outcome, Timings};
use crate::store::{EventKind, TicketRecord};
use crate::ticket::TicketState;

impl Engine {
    /// Runs the lifecycle timers of every open ticket. Returns how many tickets were acted on.
    pub async fn tick(&self) -> Result<usize, EngineError> {
        self.prune_thread_locks();
        let mut acted = 0;
        // Only the ids are kept: the store is walked one ticket at a time.
        let mut waiting = Vec::new();
        self.store.for_each_ticket(&mut |ticket| {
            if !ticket.exempt && ticket.status == TicketState::WaitingOnMember {
                waiting.push(ticket.thread);
            }
        })?;
        for thread in waiting {
            let lock = self.thread_lock(thread);
            let _guard = lock.lock().await;
            // `with_ticket` reads the ticket again under the lock: an event may have just
            // changed it.
            let outcome = self
                .with_ticket(thread, None, None, None, async |change: &mut Change| {
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
        match due(ticket, self.timings, now) {
            None => {}
            Some(Due::Close) => {
                let _ = self
                    .post(
                        ticket.thread,
                        OutMessage::text(render::closing_notice()),
                        events,
                    )
                    .await;
                if let Err(e) = self.chat.close(ticket.thread).await {
                    tracing::warn!(thread = ticket.thread.get(), error = %e, "could not archive and lock the thread");
                }
                ticket.closed_at = Some(now);
                events.push(EventKind::AutoClosed);
                self.set_state(ticket, TicketState::Closed, events).await;
            }
            Some(Due::CloseWarning) => {
                let warning = render::close_warning(self.timings.close_grace);
                let _ = self
                    .post(
                        ticket.thread,
                        OutMessage::to_user(ticket.member, warning),
                        events,
                    )
                    .await;
                ticket.close_warned_at = Some(now);
                events.push(EventKind::CloseWarned);
            }
            Some(Due::Reminder) => {
                let missing = ticket.missing.clone();
                let report = triage(&self.rules(), ticket);
                let asks: Vec<&str> = report.missing.iter().map(|i| i.label()).collect();
                let reminder = render::reminder(&asks);
                let _ = self
                    .post(
                        ticket.thread,
                        OutMessage::to_user(ticket.member, reminder),
                        events,
                    )
                    .await;
                ticket.reminders_sent += 1;
                events.push(EventKind::ReminderSent { missing });
            }
        }
    }
}

/// What a ticket's timers call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// The grace after the warning is over: archive and lock.
    Close,
    /// Idle for `close_after`: warn that the thread will close.
    CloseWarning,
    /// Another reminder period passed with items missing.
    Reminder,
}

/// The timer due on `ticket` at `now`, if any: decided from the clocks stored on the ticket.
fn due(ticket: &TicketRecord, t: Timings, now: u64) -> Option<Due> {
    let idle = now.saturating_sub(ticket.last_member_at);
    let reminders = u64::from(ticket.reminders_sent) + 1;
    match ticket.close_warned_at {
        Some(warned) => (now.saturating_sub(warned) >= t.close_grace).then_some(Due::Close),
        None if idle >= t.close_after => Some(Due::CloseWarning),
        None if t.reminder_after > 0 && idle >= t.reminder_after * reminders => Some(Due::Reminder),
        None => None,
    }
}

/// The clocks of reminders and auto-close restart when the member writes.
pub(super) fn member_spoke(ticket: &mut TicketRecord, now: u64) {
    ticket.last_member_at = now;
    ticket.reminders_sent = 0;
    ticket.close_warned_at = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ThreadId;

    #[test]
    fn the_timers_follow_the_stored_clocks() {
        let t = Timings {
            reminder_after: 100,
            close_after: 350,
            close_grace: 50,
        };
        let ticket = |reminders_sent: u32, close_warned_at: Option<u64>| {
            let mut ticket = TicketRecord::new(ThreadId(1), "t".into(), 7, 1_000);
            ticket.reminders_sent = reminders_sent;
            ticket.close_warned_at = close_warned_at;
            ticket
        };
        for (ticket, now, expected) in [
            (ticket(0, None), 1_099, None),
            (ticket(0, None), 1_100, Some(Due::Reminder)),
            (ticket(1, None), 1_199, None),
            (ticket(1, None), 1_200, Some(Due::Reminder)),
            (ticket(3, None), 1_350, Some(Due::CloseWarning)),
            (ticket(3, Some(1_350)), 1_399, None),
            (ticket(3, Some(1_350)), 1_400, Some(Due::Close)),
        ] {
            assert_eq!(due(&ticket, t, now), expected, "at {now}");
        }
        let no_reminders = Timings {
            reminder_after: 0,
            ..t
        };
        assert_eq!(due(&ticket(0, None), no_reminders, 1_200), None);
    }
}
