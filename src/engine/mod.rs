//! The engine: the bot's behaviour, independent of Discord. Adapters (the Discord client, the
//! console, tests) feed it [`Event`]s; it triages with the pure core, probes, escalates, and acts
//! through the [`Chat`] trait; every ticket and action is kept in the [`TriageLog`].
//!
//! Events of one thread are handled one at a time (a per-thread lock); threads run in
//! parallel. Every handled message or interaction id is recorded, so a replayed event is a
//! no-op.

pub mod chat;
mod commands;
pub mod event;
mod lifecycle;
pub mod render;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chat::{Chat, ChatError, Controls, EscalationSummary, Mention, OutMessage};
pub use event::{Actor, Command, Event, Incoming, Response};
use lifecycle::member_spoke;

use crate::core::diagnose::{ProbeReport, Service, Verdict};
use crate::core::report::Item;
use crate::core::{self, secrets, Report, Rules};
use crate::metrics::{self, METRICS};
use crate::probe::{EndpointRequest, Probe, Progress};
use crate::store::records::{StoredAttachment, StoredMessage, StoredRole};
use crate::store::{EventKind, StoreError, TicketRecord, TriageLog};
use crate::ticket::{ThreadId, TicketState, UserId};

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
    events: Vec<EventKind>,
    now: u64,
    /// The event opened the ticket: it was not in the store.
    opened: bool,
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

    /// Reads members' screenshots with `ocr` (when it is on).
    pub fn with_ocr(mut self, ocr: Arc<crate::ocr::Ocr>) -> Self {
        self.ocr = Some(ocr);
        self
    }

    /// Why the engine stopped acting, if a store write failed.
    pub fn store_failure(&self) -> Option<String> {
        lock(&self.store_failure).clone()
    }

    fn commit(
        &self,
        ticket: &TicketRecord,
        events: &[EventKind],
        seen: &[String],
        now: u64,
    ) -> Result<(), EngineError> {
        self.store.commit(ticket, events, seen, now).map_err(|e| {
            tracing::error!(error = %e, "the triage log can't be written; refusing further events until restart");
            *lock(&self.store_failure) = Some(e.to_string());
            EngineError::Store(e)
        })
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
        change: impl AsyncFnOnce(&mut Change) -> Result<R, Response>,
    ) -> Result<Outcome<R>, EngineError> {
        if let Some(key) = &key {
            if self.store.seen(key)? {
                return Ok(Outcome::Replayed);
            }
        }
        let now = self.now();
        let mut work = match (self.store.ticket(thread)?, open) {
            (Some(ticket), _) => Change {
                ticket,
                events: Vec::new(),
                now,
                opened: false,
            },
            (None, Some(new)) => Change {
                ticket: TicketRecord::new(thread, new.title, new.member, now),
                events: vec![EventKind::Opened { member: new.member }],
                now,
                opened: true,
            },
            (None, None) => return Ok(Outcome::Unknown),
        };
        let result = match change(&mut work).await {
            Ok(result) => result,
            Err(refusal) => return Ok(Outcome::Refused(refusal)),
        };
        if key.is_some() || !work.events.is_empty() {
            work.ticket.updated_at = now;
            self.commit(&work.ticket, &work.events, key.as_slice(), now)?;
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
            | Event::Command { actor, .. } => Some(*actor),
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
                let rules = self.rules();
                let lines: Vec<String> = rules
                    .checklist
                    .items
                    .iter()
                    .map(|item| {
                        let mark = if selected.iter().any(|s| s == &item.id) {
                            "x"
                        } else {
                            " "
                        };
                        format!("- [{mark}] {}", item.label)
                    })
                    .collect();
                self.on_component(
                    thread,
                    actor,
                    interaction,
                    lines.join("\n"),
                    "Checklist saved.",
                )
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
                let mut lines = Vec::new();
                for (label, value) in [
                    ("Hub ID", &hub_id),
                    ("IMAP server", &imap),
                    ("SMTP server", &smtp),
                    ("Error", &error),
                ] {
                    let value = value.trim();
                    if !value.is_empty() {
                        lines.push(format!("{label}: {value}"));
                    }
                }
                if lines.is_empty() {
                    return Ok(Response::private("Nothing to add: all fields were empty."));
                }
                self.on_component(
                    thread,
                    actor,
                    interaction,
                    lines.join("\n"),
                    "Details saved.",
                )
                .await
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

    async fn on_message(
        &self,
        thread: ThreadId,
        title: Option<String>,
        message: Incoming,
    ) -> Result<Response, EngineError> {
        if message.author_is_bot {
            return Ok(Response::none());
        }
        // A credential in the post's title: kept redacted, and the thread renamed.
        let title_secrets = title.as_deref().map(secrets::find).unwrap_or_default();
        let open = title.map(|title| NewTicket {
            title: if title_secrets.is_empty() {
                title
            } else {
                secrets::redact(&title)
            },
            member: message.author,
        });
        let key = format!("m:{}", message.id);
        // A message in a thread the bot never saw open is not one of ours: `Unknown`, ignored.
        self.with_ticket(thread, Some(key), open, async |change: &mut Change| {
            let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
            let role = if message.author == ticket.member {
                StoredRole::Member
            } else if message.author_is_moderator {
                StoredRole::Moderator
            } else {
                StoredRole::Member
            };
            let mut found = secrets::find(&message.text);
            let text = stored_text(&message.text, !found.is_empty());
            ticket.messages.push(StoredMessage {
                id: message.id,
                author: message.author,
                role,
                text,
                attachments: message
                    .attachments
                    .iter()
                    .map(|a| StoredAttachment {
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        read: None,
                    })
                    .collect(),
            });
            if message.author == ticket.member {
                member_spoke(ticket, now);
            }
            if change.opened && !title_secrets.is_empty() {
                self.shield_title(ticket, &title_secrets, events).await;
            }
            if self.read_screenshots(ticket, &message, events).await {
                // A password in clear on a screenshot is a posted password: same shield.
                found.push((core::SecretKind::Password, 0..0));
            }
            if !found.is_empty() {
                self.shield(thread, &message, &found, events).await;
            }
            if !matches!(ticket.status, TicketState::Resolved | TicketState::Closed) {
                self.refresh(ticket, events, now, false).await;
            }
            Ok(Response::none())
        })
        .await
        .map(|outcome| outcome.answer(Response::none()))
    }

    /// Reads the message's image attachments (the last stored message) when OCR is on: the
    /// status message says "reading your screenshot…" first, the reads are stored with the
    /// attachments (redacted; never the image), and `refresh` then shows the result. Returns
    /// whether a screenshot shows a password in clear.
    async fn read_screenshots(
        &self,
        ticket: &mut TicketRecord,
        message: &Incoming,
        events: &mut Vec<EventKind>,
    ) -> bool {
        let Some(ocr) = self.ocr.as_ref().filter(|o| o.is_on()) else {
            return false;
        };
        let images: Vec<usize> = message
            .attachments
            .iter()
            .enumerate()
            .filter(|(_, a)| core::items::is_screenshot(a) && (a.url.is_some() || a.path.is_some()))
            .map(|(i, _)| i)
            .collect();
        if images.is_empty() {
            return false;
        }
        let reading = OutMessage {
            content: render::reading_screenshot(images.len()),
            mention: Mention::Nobody,
            controls: Controls::None,
        };
        match ticket.status_message {
            None => {
                if let Ok(id) = self.post(ticket.thread, reading).await {
                    ticket.status_message = Some(id);
                    events.push(EventKind::ReplyPosted {
                        message: id,
                        what: "status".into(),
                    });
                }
            }
            Some(id) => {
                if let Err(e) = self.chat.edit(ticket.thread, id, reading).await {
                    tracing::warn!(thread = ticket.thread, error = %e, "could not edit the status message");
                }
            }
        }
        let rules = self.rules();
        let mut password_visible = false;
        for i in images {
            let attachment = &message.attachments[i];
            let read = match (&attachment.url, &attachment.path) {
                (Some(url), _) => ocr.read_url(&rules, url).await,
                (None, Some(path)) => ocr.read_path(&rules, Path::new(path)).await,
                (None, None) => None,
            };
            let Some(read) = read else { continue };
            tracing::info!(
                thread = ticket.thread,
                kind = ?read.kind,
                ms = read.ms,
                reason = read.reason.as_deref().unwrap_or(""),
                "screenshot read"
            );
            password_visible |= read.password_visible;
            if let Some(stored) = ticket
                .messages
                .last_mut()
                .and_then(|m| m.attachments.get_mut(i))
            {
                stored.read = Some(read);
            }
        }
        password_visible
    }

    /// Deletes a message holding a credential (or says it can't) and warns its author.
    async fn shield(
        &self,
        thread: ThreadId,
        message: &Incoming,
        found: &[(core::SecretKind, std::ops::Range<usize>)],
        events: &mut Vec<EventKind>,
    ) {
        let mut kinds: Vec<&str> = found.iter().map(|(k, _)| k.describe()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let deleted = match self.chat.delete(thread, message.id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread, message = message.id, error = %e, "could not delete a message holding a credential");
                false
            }
        };
        let warning = OutMessage {
            content: render::secret_warning(&kinds.join(" and "), deleted),
            mention: Mention::User(message.author),
            controls: Controls::None,
        };
        if let Ok(id) = self.post(thread, warning).await {
            events.push(EventKind::ReplyPosted {
                message: id,
                what: "secret_warning".into(),
            });
        }
        for (kind, _) in found {
            events.push(EventKind::SecretRedacted {
                kind: secret_kind_name(*kind),
                deleted,
            });
        }
    }

    /// A post whose title held a credential: the bot renames the thread to the redacted title
    /// when it may, and asks the member to do it otherwise. The title is already stored
    /// redacted.
    async fn shield_title(
        &self,
        ticket: &TicketRecord,
        found: &[(core::SecretKind, std::ops::Range<usize>)],
        events: &mut Vec<EventKind>,
    ) {
        let mut kinds: Vec<&str> = found.iter().map(|(k, _)| k.describe()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let name = core::text::truncate(&ticket.title, 100);
        let renamed = match self.chat.rename(ticket.thread, &name).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread = ticket.thread, error = %e, "could not rename a thread whose title holds a credential");
                false
            }
        };
        let warning = OutMessage {
            content: render::title_secret_warning(&kinds.join(" and "), renamed),
            mention: Mention::User(ticket.member),
            controls: Controls::None,
        };
        if let Ok(id) = self.post(ticket.thread, warning).await {
            events.push(EventKind::ReplyPosted {
                message: id,
                what: "title_secret_warning".into(),
            });
        }
        let mut seen = Vec::new();
        for (kind, _) in found {
            if !seen.contains(kind) {
                seen.push(*kind);
                events.push(EventKind::TitleRedacted {
                    kind: secret_kind_name(*kind),
                    renamed,
                });
            }
        }
    }

    async fn on_component(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        text: String,
        done: &str,
    ) -> Result<Response, EngineError> {
        let key = format!("i:{interaction}");
        self.with_ticket(thread, Some(key), None, async |change: &mut Change| {
            may_use_controls(&change.ticket, actor)?;
            let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
            let found = secrets::find(&text);
            let mut reply = done.to_string();
            if !found.is_empty() {
                reply.push_str(" Your entry looked like it contained a password: I did not keep it. Change that password if it was real.");
                for (kind, _) in &found {
                    events.push(EventKind::SecretRedacted {
                        kind: secret_kind_name(*kind),
                        deleted: true,
                    });
                }
            }
            // Component input is stored as a message of the member's, in words the core reads,
            // so the same extraction serves typed and clicked answers.
            ticket.messages.push(StoredMessage {
                id: interaction,
                author: ticket.member,
                role: StoredRole::Member,
                text: stored_text(&text, !found.is_empty()),
                attachments: Vec::new(),
            });
            if actor.user == ticket.member {
                member_spoke(ticket, now);
            }
            if !matches!(ticket.status, TicketState::Resolved | TicketState::Closed) {
                self.refresh(ticket, events, now, false).await;
            }
            Ok(Response::private(reply))
        })
        .await
        .map(|outcome| outcome.answer(Response::private(UNKNOWN_THREAD)))
    }

    async fn on_run_probe(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
    ) -> Result<Response, EngineError> {
        let key = format!("i:{interaction}");
        self.with_ticket(thread, Some(key), None, async |change: &mut Change| {
            may_use_controls(&change.ticket, actor)?;
            let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
            let report = triage(&self.rules(), ticket);
            let reply = if report.imap.is_none() && report.smtp.is_none() {
                "There is no server to test yet: add your IMAP and SMTP server and port (\"Add details\")."
            } else if self.prober.is_none() {
                "The connection test is switched off here."
            } else {
                ticket.probed = None;
                self.refresh(ticket, events, now, true).await;
                "Test finished: see the report in the thread."
            };
            Ok(Response::private(reply))
        })
        .await
        .map(|outcome| outcome.answer(Response::private(UNKNOWN_THREAD)))
    }

    /// Re-triages the ticket and brings the thread up to date: the status message, the probe
    /// (once per distinct endpoint set, or now when `force_probe`), escalation, the state tag.
    async fn refresh(
        &self,
        ticket: &mut TicketRecord,
        events: &mut Vec<EventKind>,
        now: u64,
        force_probe: bool,
    ) {
        let rules = self.rules();
        let report = triage(&rules, ticket);
        let previously_missing = ticket.missing.clone();
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

        let status = OutMessage {
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
        };
        match ticket.status_message {
            None => {
                if let Ok(id) = self.post(ticket.thread, status).await {
                    ticket.status_message = Some(id);
                    ticket.first_reply_at.get_or_insert(now);
                    events.push(EventKind::ReplyPosted {
                        message: id,
                        what: "status".into(),
                    });
                }
            }
            Some(id) => match self.chat.edit(ticket.thread, id, status).await {
                Ok(()) => {
                    metrics::inc(&METRICS.replies_edited);
                    events.push(EventKind::ReplyEdited { message: id })
                }
                Err(e) => {
                    tracing::warn!(thread = ticket.thread, message = id, error = %e, "could not edit the status message")
                }
            },
        }

        let probe_key = probe_key(&report);
        let want_probe = probe_key.is_some() && (force_probe || probe_key != ticket.probed);
        if let (true, Some(prober)) = (want_probe, self.prober.clone()) {
            let probe = self.run_probe(ticket, &report, prober.as_ref()).await;
            ticket.probed = probe_key;
            ticket.probe_verdicts = render::verdict_lines(&probe);
            ticket.probe_member_fix = member_can_fix(&probe);
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

        let escalate = report.escalate && !ticket.probe_member_fix && report.mismatches.is_empty();
        if escalate {
            self.escalate(
                ticket,
                &report,
                "every item support needs is in, and the bot has no fix to offer",
                events,
                now,
            )
            .await;
        }
        let state = if !report.missing.is_empty() {
            TicketState::WaitingOnMember
        } else if ticket.escalated.is_some() {
            TicketState::Escalated
        } else if ticket.probed.is_some() {
            TicketState::Tested
        } else {
            TicketState::WaitingOnModerator
        };
        self.set_state(ticket, state, events).await;
    }

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
        let probes = async {
            let mut out = ProbeReport::default();
            let runs = requests
                .iter()
                .map(|r| prober.probe_report(&requester, r, &progress));
            let results = futures_join_all(runs).await;
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
        let final_text = OutMessage::text(render::probe_report(&self.rules(), report, &probe));
        match testing {
            Some(id) => {
                if let Err(e) = self.chat.edit(ticket.thread, id, final_text).await {
                    tracing::warn!(thread = ticket.thread, error = %e, "could not post the probe report");
                }
            }
            None => {
                let _ = self.post(ticket.thread, final_text).await;
            }
        }
        probe
    }

    /// Pings the moderator role once per case state and posts the summary to the mod log.
    async fn escalate(
        &self,
        ticket: &mut TicketRecord,
        report: &Report,
        reason: &str,
        events: &mut Vec<EventKind>,
        now: u64,
    ) {
        let fingerprint = format!(
            "{:?}|{:?}|{:?}|{:?}|{}",
            report.hub_id,
            ticket.imap,
            ticket.smtp,
            ticket.error_code,
            ticket.probe_verdicts.join(";")
        );
        if ticket.escalated.as_deref() == Some(fingerprint.as_str()) {
            return;
        }
        let notice = OutMessage {
            content: render::escalation_notice(reason),
            mention: Mention::Moderators,
            controls: Controls::None,
        };
        if let Ok(id) = self.post(ticket.thread, notice).await {
            events.push(EventKind::ReplyPosted {
                message: id,
                what: "escalation".into(),
            });
        }
        let rules = self.rules();
        let likely_cause = report
            .error
            .as_ref()
            .and_then(|e| rules.error(&e.code))
            .map(|rule| rule.diagnosis.clone())
            .unwrap_or_else(|| "No recognised error; see the thread.".to_string());
        let summary = EscalationSummary {
            thread: ticket.thread,
            // Stored redacted; records from before the title shield are redacted here.
            title: secrets::redact(&ticket.title),
            hub_id: ticket.hub_id.clone(),
            provider: ticket.provider.clone(),
            imap: ticket.imap.clone(),
            smtp: ticket.smtp.clone(),
            error_code: ticket.error_code.clone(),
            probe_verdicts: ticket.probe_verdicts.clone(),
            evidence: ticket.evidence.clone(),
            likely_cause,
            reason: reason.to_string(),
        };
        if let Err(e) = self.chat.mod_log(&summary).await {
            tracing::warn!(thread = ticket.thread, error = %e, "could not post to the mod log");
        }
        metrics::inc(&METRICS.escalations);
        ticket.escalated = Some(fingerprint);
        ticket.escalated_at = Some(now);
        events.push(EventKind::Escalated {
            reason: reason.to_string(),
        });
    }

    async fn set_state(
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
            tracing::warn!(thread = ticket.thread, state = state.as_str(), error = %e, "could not set the state tag");
        }
    }

    async fn post(&self, thread: ThreadId, message: OutMessage) -> Result<u64, ChatError> {
        let posted = self.chat.post(thread, message).await;
        if posted.is_ok() {
            metrics::inc(&METRICS.replies_posted);
        }
        posted.inspect_err(|e| {
            tracing::warn!(thread, error = %e, "could not post a message");
        })
    }
}

/// What a click or modal on a thread nobody opened gets.
const UNKNOWN_THREAD: &str = "I don't know this thread.";

/// Only the thread's member and moderators may use its controls; anyone else gets this refusal.
pub fn controls_refusal(member: UserId, actor: Actor) -> Option<&'static str> {
    (actor.user != member && !actor.is_moderator).then_some(
        "Only the member who opened this thread, or a moderator, can use these controls.",
    )
}

fn may_use_controls(ticket: &TicketRecord, actor: Actor) -> Result<(), Response> {
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

/// Runs futures concurrently and returns their outputs in order (without a futures dependency).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let futures: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(futures.len());
    // Two endpoints at most: join them pairwise.
    let mut iter = futures.into_iter();
    match (iter.next(), iter.next()) {
        (Some(a), Some(b)) => {
            let (a, b) = tokio::join!(a, b);
            outputs.push(a);
            outputs.push(b);
        }
        (Some(a), None) => outputs.push(a.await),
        _ => {}
    }
    for rest in iter {
        outputs.push(rest.await);
    }
    outputs
}

/// The kind's name as the event log and the JSON report spell it.
fn secret_kind_name(kind: core::SecretKind) -> String {
    match kind {
        core::SecretKind::Password => "password",
        core::SecretKind::AppPassword => "app_password",
        core::SecretKind::Token => "token",
    }
    .to_string()
}

/// What the store keeps of a message: credentials redacted, email addresses reduced to their
/// domain.
fn stored_text(text: &str, has_secret: bool) -> String {
    let text = if has_secret {
        secrets::redact(text)
    } else {
        text.to_string()
    };
    core::items::mask_email_local_parts(&text)
}

/// Triage of a stored ticket, with what its screenshots said.
pub fn triage(rules: &Rules, ticket: &TicketRecord) -> Report {
    core::triage_with_reads(rules, &ticket_thread(ticket), &ticket_reads(ticket))
}

/// The stored OCR reads of a ticket's attachments, in attachment order.
pub fn ticket_reads(ticket: &TicketRecord) -> Vec<core::AttachmentRead> {
    ticket
        .messages
        .iter()
        .enumerate()
        .flat_map(|(m, message)| {
            message
                .attachments
                .iter()
                .enumerate()
                .filter_map(move |(a, att)| {
                    att.read.clone().map(|read| core::AttachmentRead {
                        message: m,
                        attachment: a,
                        read,
                    })
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
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| core::Attachment {
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        path: None,
                        url: None,
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub fn item_id(item: Item) -> &'static str {
    match item {
        Item::Screenshot => "screenshot",
        Item::Error => "error",
        Item::HubId => "hub_id",
        Item::Checklist => "checklist",
    }
}

fn probe_key(report: &Report) -> Option<String> {
    if report.imap.is_none() && report.smtp.is_none() {
        return None;
    }
    let show = |e: &Option<core::Endpoint>| e.as_ref().map(ToString::to_string).unwrap_or_default();
    Some(format!(
        "imap={} smtp={}",
        show(&report.imap),
        show(&report.smtp)
    ))
}

/// Findings that mean the member typed something wrong: fix that before a moderator looks.
fn member_can_fix(probe: &ProbeReport) -> bool {
    use crate::core::diagnose::Code;
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
