//! The engine: the bot's behaviour, independent of Discord. Adapters (the Discord client, the
//! console, tests) feed it [`Event`]s; it triages with the pure core, probes, escalates, and acts
//! through the [`Chat`] trait; every ticket and action is kept in the [`TriageLog`].
//!
//! Events of one thread are handled one at a time (a per-thread lock); threads run in
//! parallel. Every handled message or interaction id is recorded, so a replayed event is a
//! no-op.
//!
//! # Layout
//! - [`event`]: what adapters feed in; [`chat`]: the [`Chat`] trait they implement.
//! - here: the [`Engine`], its settings, and `with_ticket`, the one path from the store through
//!   a change to a commit (a message's event is on disk, begun, before anything is done for
//!   it; `Engine::resume_pending` finishes those a crash cut short).
//! - `intake`: members' messages and controls; `commands`: moderators' commands; `lifecycle`:
//!   reminders, close warning, archive.
//! - [`automod`]: the AutoMod pre-block (who may manage it, the rule, create or update, texts),
//!   carried out by an adapter that has AutoMod.
//! - [`plan`]: what to do, decided from the ticket and its one triage per event (pure);
//!   `execute`: carrying it out; [`render`]: the texts.

pub mod automod;
pub mod chat;
mod commands;
pub mod event;
mod execute;
mod intake;
mod lifecycle;
pub mod plan;
pub mod render;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chat::Chat;
pub use event::{Actor, Command, Event, Incoming, Response};

use crate::core::{self, Report, Rules};
use crate::discover::Discover;
use crate::metrics::{self, METRICS};
use crate::probe::Probe;
use crate::store::query::{self, Stats};
use crate::store::records::StoredRole;
use crate::store::{
    Commit, EventKind, EventRecord, PendingEvent, StoreError, TicketRecord, TriageLog,
};
use crate::ticket::{ThreadId, UserId};

/// Unix seconds; injected so that tests can move time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// Lifecycle timings, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Without the missing items for this long, the member gets one reminder per period.
    pub reminder_after: u64,
    /// After this long without an answer, the bot warns, then closes `close_grace` later.
    pub close_after: u64,
    pub close_grace: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            reminder_after: 48 * 3600,
            close_after: 7 * 24 * 3600,
            close_grace: 24 * 3600,
        }
    }
}

pub struct Engine {
    rules: RwLock<Arc<Rules>>,
    store: Arc<dyn TriageLog>,
    chat: Arc<dyn Chat>,
    prober: Option<Arc<dyn Probe>>,
    /// Looks up members' email domains; `None` never does.
    discoverer: Option<Arc<dyn Discover>>,
    clock: Clock,
    timings: Timings,
    limits: Limits,
    thread_locks: Mutex<HashMap<ThreadId, Arc<tokio::sync::Mutex<()>>>>,
    /// Caps probes running at once across all threads; more wait their turn.
    probe_slots: Arc<tokio::sync::Semaphore>,
    /// Recent clicks and commands per user (unix seconds), for the per-user limit.
    recent_actions: Mutex<HashMap<u64, std::collections::VecDeque<u64>>>,
    /// Set when a write to the store failed (disk full, read-only): from then on the engine
    /// refuses events instead of acting without remembering.
    store_failure: Mutex<Option<String>>,
    /// Reads image attachments; `None` (or OCR off) counts them as before.
    ocr: Option<Arc<crate::ocr::Ocr>>,
}

/// A ticket being changed by one event: the ticket, the events the change records, and the
/// event's time.
struct Change {
    ticket: TicketRecord,
    events: Journal,
    now: u64,
    /// The event opened the ticket: it was not in the store.
    opened: bool,
}

/// What one change records, and how it names what it posts: the events for the store, and the
/// trigger (the handled event's idempotency key, or for a timer the ticket's last update) with
/// a count of posts, from which each post's dedup key is derived. Handled again after a crash
/// (nothing was committed), the same event posts under the same keys, and the platform returns
/// the messages it already has instead of posting twice (Discord: `enforce_nonce`).
struct Journal {
    events: Vec<EventKind>,
    trigger: String,
    posts: u32,
}

impl Journal {
    fn new(trigger: String, events: Vec<EventKind>) -> Self {
        Journal {
            events,
            trigger,
            posts: 0,
        }
    }

    /// The dedup key of this change's next post in `thread`.
    fn next_post_key(&mut self, thread: ThreadId) -> String {
        self.posts += 1;
        format!("{thread}/{}/{}", self.trigger, self.posts)
    }
}

impl std::ops::Deref for Journal {
    type Target = Vec<EventKind>;
    fn deref(&self) -> &Vec<EventKind> {
        &self.events
    }
}

impl std::ops::DerefMut for Journal {
    fn deref_mut(&mut self) -> &mut Vec<EventKind> {
        &mut self.events
    }
}

/// The ticket a new post opens when the store has none for its thread.
struct NewTicket {
    /// Already redacted: titles are stored without credentials.
    title: String,
    member: UserId,
}

/// What came of an event that acts on a ticket.
enum Outcome<R> {
    /// The change was made and committed.
    Done(R),
    /// The change refused the event; nothing was committed.
    Refused(Response),
    /// The event's key was handled before: a replay, a no-op.
    Replayed,
    /// The store has no ticket for the thread.
    Unknown,
}

impl Outcome<Response> {
    /// The answer to the actor; `unknown` when the thread has no ticket.
    fn answer(self, unknown: Response) -> Response {
        match self {
            Outcome::Done(answer) | Outcome::Refused(answer) => answer,
            Outcome::Replayed => Response::none(),
            Outcome::Unknown => unknown,
        }
    }
}

/// Abuse limits. The probe's own policy adds per-requester and per-target rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Commands, clicks and modal submissions one user may make per minute.
    pub actions_per_minute: usize,
    /// Probe runs at once, whole process.
    pub max_concurrent_probes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            actions_per_minute: 10,
            max_concurrent_probes: 4,
        }
    }
}

/// Why an event could not be handled. The store failing is the one thing the engine refuses to
/// work around: acting without remembering would repeat replies after a restart.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// An earlier write failed; nothing is done until the store is fixed and the bot restarted.
    #[error("not acting: the triage log could not be written earlier ({0})")]
    StoreUnavailable(String),
}

impl Engine {
    pub fn new(
        rules: Rules,
        store: Arc<dyn TriageLog>,
        chat: Arc<dyn Chat>,
        prober: Option<Arc<dyn Probe>>,
    ) -> Self {
        Engine {
            rules: RwLock::new(Arc::new(rules)),
            store,
            chat,
            prober,
            discoverer: None,
            clock: system_clock(),
            timings: Timings::default(),
            limits: Limits::default(),
            thread_locks: Mutex::new(HashMap::new()),
            probe_slots: Arc::new(tokio::sync::Semaphore::new(
                Limits::default().max_concurrent_probes,
            )),
            recent_actions: Mutex::new(HashMap::new()),
            store_failure: Mutex::new(None),
            ocr: None,
        }
    }

    /// Looks members' email domains up with `discoverer`, beside the probe.
    pub fn with_discoverer(mut self, discoverer: Arc<dyn Discover>) -> Self {
        self.discoverer = Some(discoverer);
        self
    }

    /// Reads members' screenshots with `ocr` (when it is on).
    pub fn with_ocr(mut self, ocr: Arc<crate::ocr::Ocr>) -> Self {
        self.ocr = Some(ocr);
        self
    }

    /// Why the engine stopped acting, if a store write failed.
    pub fn store_failure(&self) -> Option<String> {
        lock(&self.store_failure).clone()
    }

    fn commit(&self, commit: Commit<'_>) -> Result<(), EngineError> {
        self.store.commit(commit).map_err(|e| self.store_failed(e))
    }

    /// Puts `event` on disk (flushed) before anything is done for it. The flush runs off the
    /// async workers: on a multi-thread runtime a blocked worker would stall every other
    /// thread's event for the fsync (and with the group flush, both workers of a 2-core
    /// machine wait on it at once).
    async fn begin(&self, event: PendingEvent) -> Result<(), EngineError> {
        let store = Arc::clone(&self.store);
        let begun = tokio::task::spawn_blocking(move || store.begin(&event)).await;
        let result = begun.unwrap_or_else(|e| {
            Err(StoreError::Other(format!(
                "the begun event's write did not finish: {e}"
            )))
        });
        result.map_err(|e| self.store_failed(e))
    }

    /// A write to the store failed: no more acting until it is fixed and the bot restarted.
    fn store_failed(&self, e: StoreError) -> EngineError {
        tracing::error!(error = %e, "the triage log can't be written; refusing further events until restart");
        *lock(&self.store_failure) = Some(e.to_string());
        EngineError::Store(e)
    }

    /// The one path from the store to a committed change: loads the thread's ticket (or opens
    /// `open` when there is none), lets `change` act on it and record events, then commits the
    /// ticket, the events and the event's idempotency key in one transaction. A refusal commits
    /// nothing. Without a key (the timers), a change that recorded no event writes nothing.
    async fn with_ticket<R>(
        &self,
        thread: ThreadId,
        key: Option<String>,
        open: Option<NewTicket>,
        begin: Option<PendingEvent>,
        change: impl AsyncFnOnce(&mut Change) -> Result<R, Response>,
    ) -> Result<Outcome<R>, EngineError> {
        if let Some(key) = &key {
            if self.store.seen(key)? {
                return Ok(Outcome::Replayed);
            }
        }
        let now = self.now();
        // A timer's change has no event id: the ticket as last committed names it instead.
        let trigger = |ticket: &TicketRecord| {
            key.clone()
                .unwrap_or_else(|| format!("tick:{}", ticket.updated_at))
        };
        let mut work = match (self.store.ticket(thread)?, open) {
            (Some(ticket), _) => Change {
                events: Journal::new(trigger(&ticket), Vec::new()),
                ticket,
                now,
                opened: false,
            },
            (None, Some(new)) => {
                let ticket = TicketRecord::new(thread, new.title, new.member, now);
                let opened = vec![EventKind::Opened { member: new.member }];
                Change {
                    events: Journal::new(trigger(&ticket), opened),
                    ticket,
                    now,
                    opened: true,
                }
            }
            (None, None) => return Ok(Outcome::Unknown),
        };
        // The outbox's intent: the event is on disk before anything is done for it, and the
        // commit below removes it. Left behind by a crash, `resume_pending` finishes it.
        let begun = begin.is_some();
        if let Some(event) = begin {
            self.begin(event).await?;
        }
        let result = match change(&mut work).await {
            Ok(result) => result,
            Err(refusal) => return Ok(Outcome::Refused(refusal)),
        };
        if key.is_some() || !work.events.is_empty() {
            work.ticket.updated_at = now;
            let commit = Commit {
                ticket: &work.ticket,
                events: &work.events,
                seen: key.as_slice(),
                at: now,
            };
            if begun {
                // The begun event on disk already stands for this commit: one flush per
                // message, not two (`TriageLog::commit_begun`).
                self.store
                    .commit_begun(commit)
                    .map_err(|e| self.store_failed(e))?;
            } else {
                self.commit(commit)?;
            }
        }
        Ok(Outcome::Done(result))
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.probe_slots = Arc::new(tokio::sync::Semaphore::new(
            limits.max_concurrent_probes.max(1),
        ));
        self.limits = limits;
        self
    }

    /// Counts an action of `user`; false when they are over the per-minute limit.
    fn admit_action(&self, user: u64) -> bool {
        let now = self.now();
        let mut recent = lock(&self.recent_actions);
        let times = recent.entry(user).or_default();
        while times.front().is_some_and(|t| now.saturating_sub(*t) >= 60) {
            times.pop_front();
        }
        if times.len() >= self.limits.actions_per_minute {
            metrics::inc(&METRICS.rate_limit_hits);
            return false;
        }
        times.push_back(now);
        true
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    pub fn rules(&self) -> Arc<Rules> {
        Arc::clone(&self.rules.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Swaps in new rules; tickets are re-triaged with them on their next event.
    pub fn reload_rules(&self, rules: Rules) {
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
    }

    pub fn store(&self) -> &Arc<dyn TriageLog> {
        &self.store
    }

    /// Every case, for the moderators' review (`log`).
    pub fn cases(&self) -> Result<Vec<TicketRecord>, StoreError> {
        self.store.tickets()
    }

    /// A case and its timeline (`show`); `None` for a thread with no case.
    pub fn case(
        &self,
        thread: ThreadId,
    ) -> Result<Option<(TicketRecord, Vec<EventRecord>)>, StoreError> {
        let Some(ticket) = self.store.ticket(thread)? else {
            return Ok(None);
        };
        Ok(Some((ticket, self.store.events(thread)?)))
    }

    /// Counts and median response times over every case (`stats`).
    pub fn stats(&self) -> Result<Stats, StoreError> {
        Ok(query::stats(self.store.tickets()?.iter()))
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    fn thread_lock(&self, thread: ThreadId) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.thread_locks).entry(thread).or_default())
    }

    /// Forgets the locks no event holds, so that memory follows the active threads, not every
    /// thread ever seen.
    fn prune_thread_locks(&self) {
        lock(&self.thread_locks).retain(|_, held| Arc::strong_count(held) > 1);
    }

    /// Handles one event. Errors of the chat platform are logged and absorbed; a store error
    /// is returned, because the engine won't act on what it can't remember.
    pub async fn handle(&self, event: Event) -> Result<Response, EngineError> {
        metrics::inc(&METRICS.events_handled);
        if let Some(failure) = self.store_failure() {
            return Err(EngineError::StoreUnavailable(failure));
        }
        let actor = match &event {
            Event::ChecklistSelected { actor, .. }
            | Event::DetailsSubmitted { actor, .. }
            | Event::RunProbe { actor, .. }
            | Event::Command { actor, .. } => Some(actor.clone()),
            Event::NewThread { .. } | Event::Message { .. } => None,
        };
        if let Some(actor) = actor {
            if !actor.is_moderator && !self.admit_action(actor.user) {
                return Ok(Response::private(
                    "Too many requests: please wait a minute and try again.",
                ));
            }
        }
        let lock = self.thread_lock(event.thread());
        let _guard = lock.lock().await;
        match event {
            Event::NewThread {
                thread,
                title,
                starter,
            } => self.on_message(thread, Some(title), starter).await,
            Event::Message { thread, message } => self.on_message(thread, None, message).await,
            Event::ChecklistSelected {
                thread,
                actor,
                interaction,
                selected,
            } => {
                self.on_checklist(thread, actor, interaction, &selected)
                    .await
            }
            Event::DetailsSubmitted {
                thread,
                actor,
                interaction,
                hub_id,
                imap,
                smtp,
                error,
            } => {
                let fields = [
                    ("Hub ID", hub_id),
                    ("IMAP server", imap),
                    ("SMTP server", smtp),
                    ("Error", error),
                ];
                self.on_details(thread, actor, interaction, fields).await
            }
            Event::RunProbe {
                thread,
                actor,
                interaction,
            } => self.on_run_probe(thread, actor, interaction).await,
            Event::Command {
                thread,
                actor,
                key,
                command,
            } => self.on_command(thread, actor, key, command).await,
        }
    }
}

/// Only the thread's member and moderators may use its controls; anyone else gets this refusal.
pub fn controls_refusal(member: UserId, actor: &Actor) -> Option<&'static str> {
    (actor.user != member && !actor.is_moderator).then_some(
        "Only the member who opened this thread, or a moderator, can use these controls.",
    )
}

/// The review commands (`log`, `show`, `stats`, `reload-rules`) are the moderators'; anyone
/// else gets this refusal.
pub fn review_refusal(actor: &Actor) -> Option<&'static str> {
    (!actor.is_moderator).then_some("Only moderators can use this command.")
}

fn may_use_controls(ticket: &TicketRecord, actor: &Actor) -> Result<(), Response> {
    match controls_refusal(ticket.member, actor) {
        Some(refusal) => Err(Response::private(refusal)),
        None => Ok(()),
    }
}

/// Locks `mutex`, also after a panic elsewhere poisoned it: every value the engine guards (locks
/// per thread, recent actions, the store failure) stays valid whatever panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Triage of a stored ticket, with what its screenshots said.
pub fn triage(rules: &Rules, ticket: &TicketRecord) -> Report {
    core::triage_with_reads(rules, &ticket_thread(ticket), &ticket_reads(ticket))
}

/// The stored OCR reads of a ticket's attachments, in attachment order.
pub fn ticket_reads(ticket: &TicketRecord) -> Vec<core::AttachmentRead> {
    core::thread::numbered_attachments(&ticket.messages, |m| &m.attachments)
        .filter_map(|(message, attachment, stored)| {
            stored.read.clone().map(|read| core::AttachmentRead {
                message,
                attachment,
                read,
            })
        })
        .collect()
}

/// The core's view of a stored ticket.
pub fn ticket_thread(ticket: &TicketRecord) -> core::Thread {
    core::Thread {
        messages: ticket
            .messages
            .iter()
            .map(|m| core::Message {
                role: match m.role {
                    StoredRole::Member => core::Role::Member,
                    StoredRole::Moderator => core::Role::Moderator,
                    StoredRole::Bot => core::Role::Bot,
                },
                author_id: Some(m.author.to_string()),
                text: m.text.clone(),
                attachments: m.attachments.iter().map(|a| a.file.clone()).collect(),
            })
            .collect(),
    }
}
