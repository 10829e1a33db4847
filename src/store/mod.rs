//! The triage log: tickets, an append-only event log, and idempotency keys.
//!
//! The engine talks to the [`TriageLog`] trait; [`sled_store::SledLog`] is the real thing.
//! Records are their own versioned serde types (not the core's), stored as JSON so that an
//! older database opens and migrates ([`records`]). Nothing here ever holds a credential: the
//! engine redacts message text before it reaches a record, and email addresses are reduced to
//! their domain.

mod group_flush;
pub mod query;
pub mod records;
pub mod sled_store;

pub use records::{
    DomainLookup, EventKind, EventRecord, PendingEvent, PendingMessage, StoredMessage, TicketRecord,
};
pub use sled_store::SledLog;

use crate::ticket::ThreadId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database (sled takes an exclusive lock).
    #[error("the store at {path} is locked by another process (is the bot already running?)")]
    Locked { path: String },
    #[error("the store at {path} is corrupt or unreadable: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("the store at {path} is read-only or full: {detail}")]
    Unwritable { path: String, detail: String },
    #[error("store error: {0}")]
    Other(String),
}

/// One atomic write: a ticket as it now is, the events that made it so, and the idempotency
/// keys of what was handled (a Discord message or interaction id), all stamped `at`. A
/// [`PendingEvent`] under one of those keys is removed in the same transaction.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    pub ticket: &'a TicketRecord,
    pub events: &'a [EventKind],
    pub seen: &'a [String],
    pub at: u64,
}

/// What the engine needs from storage. Every write is durable when the call returns.
pub trait TriageLog: Send + Sync {
    fn ticket(&self, thread: ThreadId) -> Result<Option<TicketRecord>, StoreError>;
    /// Saves the ticket, appends the events, and records the idempotency keys, atomically.
    fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError>;
    /// [`Self::commit`] for an event [`Self::begin`] put on disk: written atomically, but not
    /// waited for. The begun event already makes it durable: until the next flush (the next
    /// event's, or the store's own within half a second) a crash leaves the begun event, which
    /// `Engine::resume_pending` finishes under the same dedup keys. One flush per message
    /// instead of two.
    fn commit_begun(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        self.commit(commit)
    }
    /// True when `key` (a Discord message or interaction id) was already handled.
    fn seen(&self, key: &str) -> Result<bool, StoreError>;
    /// Records, durably, that `event` is being acted on, before anything is done for it.
    fn begin(&self, event: &PendingEvent) -> Result<(), StoreError>;
    /// The events begun and never committed (cut short), in message order.
    fn pending(&self) -> Result<Vec<PendingEvent>, StoreError>;
    fn events(&self, thread: ThreadId) -> Result<Vec<EventRecord>, StoreError>;
    /// Calls `visit` with each ticket in turn, without holding them all at once: the
    /// lifecycle tick walks every ticket, and 10,000 of them in one `Vec` cost ~15 MiB
    /// (BENCHMARKS.md, "Start-up and idle memory").
    fn for_each_ticket(&self, visit: &mut dyn FnMut(TicketRecord)) -> Result<(), StoreError>;
    fn tickets(&self) -> Result<Vec<TicketRecord>, StoreError> {
        let mut out = Vec::new();
        self.for_each_ticket(&mut |ticket| out.push(ticket))?;
        Ok(out)
    }
    /// Deletes closed or resolved tickets (and their events) last updated before `before`.
    /// Returns how many were purged.
    fn purge_closed_before(&self, before: u64) -> Result<usize, StoreError>;
}
