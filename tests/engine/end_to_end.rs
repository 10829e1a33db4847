//! The engine end to end with a real sled store in a temp dir, real rules, and a chat sink that
//! records what the bot would do on the platform (the Discord adapter has its own end-to-end
//! suite against a fake Discord).

use std::sync::{Arc, Mutex};

use imap_triage::core::Attachment;
use imap_triage::engine::chat::{Controls, Mention, MessageId, ThreadId, TicketState};
use imap_triage::engine::{Actor, Command, Engine, Event, Incoming};
use imap_triage::store::{Commit, EventKind, SledLog, TriageLog};
use testkit::chat::{Call, Recorder};

use crate::{message, moderator_command, MEMBER, MODERATOR};

const THREAD: ThreadId = ThreadId(500);
const STRANGER: u64 = 9;

struct Setup {
    engine: Engine,
    chat: Arc<Recorder>,
    store: Arc<SledLog>,
    _dir: tempfile::TempDir,
}

fn setup(deny_delete: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default().deny_delete(deny_delete));
    let rules = imap_triage::rules_dir::embedded().unwrap();
    // No prober: these scenarios post no server, or test the probe elsewhere.
    let engine = Engine::new(rules, store.clone(), chat.clone(), None);
    Setup {
        engine,
        chat,
        store,
        _dir: dir,
    }
}

fn screenshot(id: u64) -> Incoming {
    let mut m = message(id, MEMBER, "here is the screen");
    m.attachments.push(Attachment {
        filename: "screen.png".into(),
        content_type: Some("image/png".into()),
        size: Some(1000),
        path: None,
        url: None,
    });
    m
}

async fn open(s: &Setup, text: &str) {
    s.engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "help".into(),
            starter: message(THREAD.get(), MEMBER, text),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn new_post_gets_one_status_message_and_follow_ups_edit_it() {
    let s = setup(false);
    open(&s, "IMAP authentication error, please help").await;
    let posts = s.chat.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].content.contains("Hub ID"));
    assert!(matches!(
        posts[0].controls,
        Controls::Status {
            checked: [false, false, false, false]
        }
    ));
    assert_eq!(posts[0].mention, Mention::Nobody);
    assert!(s
        .chat
        .calls()
        .contains(&Call::State(TicketState::WaitingOnMember)));

    s.chat.clear();
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    let calls = s.chat.calls();
    assert!(
        s.chat.posts().is_empty(),
        "a follow-up adds no message: {calls:?}"
    );
    let edited = calls
        .iter()
        .find_map(|c| {
            if let Call::Edit(_, m) = c {
                Some(m)
            } else {
                None
            }
        })
        .expect("status edited");
    assert!(
        edited.content.contains("✅ Hub ID: 4821937"),
        "{}",
        edited.content
    );
}

#[tokio::test]
async fn replayed_events_do_nothing() {
    let s = setup(false);
    open(&s, "IMAP settings incorrect").await;
    let before = s.chat.calls().len();
    open(&s, "IMAP settings incorrect").await;
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    let after_first = s.chat.calls().len();
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    assert_eq!(
        s.chat.calls().len(),
        after_first,
        "the replayed message changed nothing"
    );
    assert!(after_first > before);
    assert_eq!(s.chat.posts().len(), 1);
}

#[tokio::test]
async fn complete_case_escalates_once_with_a_summary() {
    let s = setup(false);
    open(
        &s,
        "IMAP authentication error. Hub ID 4821937. My email is ann@acme-widgets.com",
    )
    .await;
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: screenshot(501),
        })
        .await
        .unwrap();
    assert!(
        !s.chat.calls().iter().any(|c| matches!(c, Call::ModLog(_))),
        "not complete yet"
    );
    let all = [
        "typed_credentials",
        "typed_servers",
        "verified_credentials",
        "confirmed_with_provider",
    ];
    let response = s
        .engine
        .handle(Event::ChecklistSelected {
            thread: THREAD,
            actor: Actor {
                user: MEMBER,
                is_moderator: false,
                name: None,
            },
            interaction: 77,
            selected: all.iter().map(|s| s.to_string()).collect(),
        })
        .await
        .unwrap();
    assert_eq!(response.private.as_deref(), Some("Checklist saved."));
    let calls = s.chat.calls();
    let pings: Vec<_> = s
        .chat
        .posts()
        .into_iter()
        .filter(|m| m.mention == Mention::Moderators)
        .collect();
    assert_eq!(pings.len(), 1, "{calls:?}");
    let summary = calls
        .iter()
        .find_map(|c| {
            if let Call::ModLog(s) = c {
                Some(s.clone())
            } else {
                None
            }
        })
        .expect("mod log");
    assert_eq!(summary.hub_id.as_deref(), Some("4821937"));
    assert_eq!(summary.error_code.as_deref(), Some("imap_auth_error"));
    assert_eq!(summary.thread, THREAD);
    assert!(calls.contains(&Call::State(TicketState::Escalated)));

    // More talk in the same state: no second ping.
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(502, MEMBER, "any news?"),
        })
        .await
        .unwrap();
    let pings = s
        .chat
        .posts()
        .into_iter()
        .filter(|m| m.mention == Mention::Moderators)
        .count();
    assert_eq!(pings, 1);
    let events = s.store.events(THREAD).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Escalated { .. }))
            .count(),
        1
    );
}

#[tokio::test]
async fn posted_password_is_deleted_and_never_stored() {
    let s = setup(false);
    open(&s, "IMAP settings incorrect").await;
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "my password is Tr0ub4dor&3xyz"),
        })
        .await
        .unwrap();
    let calls = s.chat.calls();
    assert!(calls.contains(&Call::Delete(MessageId(501))), "{calls:?}");
    let warning = s
        .chat
        .posts()
        .into_iter()
        .find(|m| m.content.contains("Change that password"))
        .expect("warning");
    assert_eq!(warning.mention, Mention::User(MEMBER));
    assert!(warning.content.contains("deleted"));
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    let stored =
        serde_json::to_string(&ticket).unwrap() + &format!("{:?}", s.store.events(THREAD).unwrap());
    assert!(!stored.contains("Tr0ub4dor&3xyz"));
    assert!(format!("{calls:?}").matches("Tr0ub4dor").count() == 0);
}

#[tokio::test]
async fn missing_delete_permission_is_said_plainly() {
    let s = setup(true);
    open(&s, "IMAP settings incorrect").await;
    s.engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "password: Tr0ub4dor&3xyz"),
        })
        .await
        .unwrap();
    let warning = s
        .chat
        .posts()
        .into_iter()
        .find(|m| m.content.contains("Change that password"))
        .expect("warning");
    assert!(
        warning.content.contains("could not delete"),
        "{}",
        warning.content
    );
    let events = s.store.events(THREAD).unwrap();
    assert!(events.iter().any(|e| e.kind
        == EventKind::SecretRedacted {
            kind: "password".into(),
            deleted: false
        }));
}

#[tokio::test]
async fn only_the_member_or_a_moderator_can_use_the_controls() {
    let s = setup(false);
    open(&s, "IMAP settings incorrect").await;
    let response = s
        .engine
        .handle(Event::ChecklistSelected {
            thread: THREAD,
            actor: Actor {
                user: STRANGER,
                is_moderator: false,
                name: None,
            },
            interaction: 90,
            selected: vec!["typed_credentials".into()],
        })
        .await
        .unwrap();
    assert!(response.private.unwrap().contains("Only the member"));
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    assert_eq!(ticket.messages.len(), 1, "the refused click stored nothing");

    let response = s
        .engine
        .handle(Event::DetailsSubmitted {
            thread: THREAD,
            actor: Actor {
                user: MODERATOR,
                is_moderator: true,
                name: None,
            },
            interaction: 91,
            hub_id: "4821937".into(),
            imap: "imap.acme-widgets.com:993".into(),
            smtp: String::new(),
            error: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(response.private.as_deref(), Some("Details saved."));
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    assert_eq!(ticket.hub_id.as_deref(), Some("4821937"));
    assert_eq!(ticket.imap.as_deref(), Some("imap.acme-widgets.com:993"));
}

#[tokio::test]
async fn moderator_commands_check_the_role_and_need_a_reason() {
    let s = setup(false);
    open(&s, "IMAP settings incorrect").await;
    let refused = s
        .engine
        .handle(Event::Command {
            thread: THREAD,
            actor: Actor {
                user: STRANGER,
                is_moderator: false,
                name: None,
            },
            key: 1,
            command: Command::Resolve { reason: "x".into() },
        })
        .await
        .unwrap();
    assert!(refused.private.unwrap().contains("Only moderators"));
    assert_eq!(
        s.store.ticket(THREAD).unwrap().unwrap().status,
        TicketState::WaitingOnMember
    );

    let status = moderator_command(&s.engine, THREAD, 2, Command::Status).await;
    assert!(status.contains("waiting_on_member"));
    let moderator = Actor {
        user: MODERATOR,
        is_moderator: true,
        name: Some("Alice".into()),
    };

    s.engine
        .handle(Event::Command {
            thread: THREAD,
            actor: moderator.clone(),
            key: 3,
            command: Command::Resolve {
                reason: "new app password".into(),
            },
        })
        .await
        .unwrap();
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    assert_eq!(ticket.status, TicketState::Resolved);
    assert!(s.chat.calls().contains(&Call::State(TicketState::Resolved)));
    let events = s.store.events(THREAD).unwrap();
    assert!(events.iter().any(|e| e.kind
        == EventKind::Resolved {
            by: MODERATOR,
            by_name: Some("Alice".into()),
            reason: "new app password".into()
        }));

    s.engine
        .handle(Event::Command {
            thread: THREAD,
            actor: moderator.clone(),
            key: 4,
            command: Command::Reopen,
        })
        .await
        .unwrap();
    assert_eq!(
        s.store.ticket(THREAD).unwrap().unwrap().status,
        TicketState::WaitingOnMember
    );
}

#[tokio::test]
async fn member_text_cannot_ping_anyone() {
    let s = setup(false);
    open(&s, "@everyone @here <@&123> HELP IMAP settings incorrect").await;
    for call in s.chat.calls() {
        if let Call::Post(_, m) | Call::Edit(_, m) = call {
            assert!(
                !m.content.contains("@everyone")
                    && !m.content.contains("@here")
                    && !m.content.contains("<@&"),
                "{}",
                m.content
            );
            assert_ne!(m.mention, Mention::Moderators);
        }
    }
}

#[tokio::test]
async fn tickets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Arc::new(SledLog::open(&path).unwrap());
        let chat = Arc::new(Recorder::default());
        let engine = Engine::new(
            imap_triage::rules_dir::embedded().unwrap(),
            store,
            chat,
            None,
        );
        engine
            .handle(Event::NewThread {
                thread: THREAD,
                title: "t".into(),
                starter: message(THREAD.get(), MEMBER, "Hub ID 4821937"),
            })
            .await
            .unwrap();
    }
    let store = Arc::new(SledLog::open(&path).unwrap());
    let chat = Arc::new(Recorder::default());
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store.clone(),
        chat.clone(),
        None,
    );
    // The replayed starter after a restart: no second status message.
    engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "t".into(),
            starter: message(THREAD.get(), MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    assert!(chat.calls().is_empty(), "{:?}", chat.calls());
    engine
        .handle(Event::Message {
            thread: THREAD,
            message: screenshot(501),
        })
        .await
        .unwrap();
    assert!(
        chat.posts().is_empty(),
        "the status message from before the restart is edited"
    );
    assert!(chat.calls().iter().any(|c| matches!(c, Call::Edit(..))));
    assert_eq!(
        store.ticket(THREAD).unwrap().unwrap().hub_id.as_deref(),
        Some("4821937")
    );
}

/// An engine with short lifecycle timings, a clock the test moves, and one open thread.
struct TimedSetup {
    engine: Engine,
    chat: Arc<Recorder>,
    store: Arc<SledLog>,
    now: Arc<std::sync::atomic::AtomicU64>,
    _dir: tempfile::TempDir,
}

async fn timed_setup() -> TimedSetup {
    use imap_triage::engine::Timings;
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock_now = now.clone();
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store.clone(),
        chat.clone(),
        None,
    )
    .with_clock(Arc::new(move || clock_now.load(Ordering::SeqCst)))
    .with_timings(Timings {
        reminder_after: 100,
        close_after: 350,
        close_grace: 50,
    });
    engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "t".into(),
            starter: message(THREAD.get(), MEMBER, "IMAP settings incorrect"),
        })
        .await
        .unwrap();
    TimedSetup {
        engine,
        chat,
        store,
        now,
        _dir: dir,
    }
}

#[tokio::test]
async fn reminders_then_warning_then_close_and_a_reply_cancels() {
    use std::sync::atomic::Ordering;
    let TimedSetup {
        engine,
        chat,
        store,
        now,
        _dir,
    } = timed_setup().await;
    let reminders = |chat: &Recorder| {
        chat.posts()
            .iter()
            .filter(|m| m.content.contains("Friendly reminder"))
            .count()
    };

    assert_eq!(engine.tick().await.unwrap(), 0, "too early");
    now.fetch_add(100, Ordering::SeqCst);
    assert_eq!(engine.tick().await.unwrap(), 1);
    assert_eq!(reminders(&chat), 1);
    let reminder = chat
        .posts()
        .into_iter()
        .find(|m| m.content.contains("Friendly reminder"))
        .unwrap();
    assert!(
        reminder.content.contains("Hub ID") && reminder.content.contains("Screenshot"),
        "{}",
        reminder.content
    );
    assert_eq!(reminder.mention, Mention::User(MEMBER));
    engine.tick().await.unwrap();
    assert_eq!(reminders(&chat), 1, "one reminder per period");

    // A member reply resets the clock.
    engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    now.fetch_add(99, Ordering::SeqCst);
    engine.tick().await.unwrap();
    assert_eq!(reminders(&chat), 1);

    now.fetch_add(400, Ordering::SeqCst);
    engine.tick().await.unwrap();
    assert!(
        chat.posts()
            .iter()
            .any(|m| m.content.contains("will be closed")),
        "warned"
    );
    assert!(!chat.calls().contains(&Call::Close));
    now.fetch_add(50, Ordering::SeqCst);
    engine.tick().await.unwrap();
    assert!(chat.calls().contains(&Call::Close));
    assert_eq!(
        store.ticket(THREAD).unwrap().unwrap().status,
        TicketState::Closed
    );
    let events = store.events(THREAD).unwrap();
    assert!(events.iter().any(|e| e.kind == EventKind::AutoClosed));
}

#[tokio::test]
async fn exempt_threads_are_left_alone() {
    use std::sync::atomic::Ordering;
    let TimedSetup {
        engine, chat, now, ..
    } = timed_setup().await;
    let moderator = Actor {
        user: MODERATOR,
        is_moderator: true,
        name: None,
    };
    engine
        .handle(Event::Command {
            thread: THREAD,
            actor: moderator.clone(),
            key: 5,
            command: Command::Exempt,
        })
        .await
        .unwrap();
    now.fetch_add(10_000, Ordering::SeqCst);
    chat.clear();
    assert_eq!(engine.tick().await.unwrap(), 0);
    assert!(chat.calls().is_empty());
}

#[tokio::test]
async fn the_store_keeps_only_the_email_domain() {
    let s = setup(false);
    open(
        &s,
        "IMAP settings incorrect, my address is ann.lee@acme-widgets.com",
    )
    .await;
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    let stored = serde_json::to_string(&ticket).unwrap();
    assert!(!stored.contains("ann.lee"), "{stored}");
    assert_eq!(ticket.email_domain.as_deref(), Some("acme-widgets.com"));
}

#[tokio::test]
async fn clicks_and_commands_are_rate_limited_per_user() {
    use imap_triage::engine::Limits;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store,
        chat,
        None,
    )
    .with_limits(Limits {
        actions_per_minute: 3,
        max_concurrent_probes: 1,
    });
    engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "t".into(),
            starter: message(THREAD.get(), MEMBER, "IMAP settings incorrect"),
        })
        .await
        .unwrap();
    let member = Actor {
        user: MEMBER,
        is_moderator: false,
        name: None,
    };
    let mut answers = Vec::new();
    for n in 0..5 {
        let r = engine
            .handle(Event::ChecklistSelected {
                thread: THREAD,
                actor: member.clone(),
                interaction: 100 + n,
                selected: vec![],
            })
            .await
            .unwrap();
        answers.push(r.private.unwrap_or_default());
    }
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.starts_with("Checklist saved"))
            .count(),
        3,
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.starts_with("Too many requests"))
            .count(),
        2,
        "{answers:?}"
    );
    // Moderators are not limited.
    let moderator = Actor {
        user: MODERATOR,
        is_moderator: true,
        name: None,
    };
    for n in 0..5 {
        let r = engine
            .handle(Event::Command {
                thread: THREAD,
                actor: moderator.clone(),
                key: 200 + n,
                command: Command::Status,
            })
            .await
            .unwrap();
        assert!(r.private.unwrap().starts_with("State:"));
    }
}

/// A sled store whose commits fail when `fail` says so (it is asked before each commit): a
/// disk that fills up, a process killed between its posts and its commit.
struct FailingStore {
    inner: Arc<SledLog>,
    fail: Mutex<Box<dyn FnMut() -> Option<imap_triage::store::StoreError> + Send>>,
}

impl FailingStore {
    fn new(
        inner: Arc<SledLog>,
        fail: impl FnMut() -> Option<imap_triage::store::StoreError> + Send + 'static,
    ) -> Self {
        FailingStore {
            inner,
            fail: Mutex::new(Box::new(fail)),
        }
    }
}

impl TriageLog for FailingStore {
    fn ticket(
        &self,
        thread: ThreadId,
    ) -> Result<Option<imap_triage::store::TicketRecord>, imap_triage::store::StoreError> {
        self.inner.ticket(thread)
    }
    fn commit(&self, commit: Commit<'_>) -> Result<(), imap_triage::store::StoreError> {
        if let Some(error) = (self.fail.lock().unwrap())() {
            return Err(error);
        }
        self.inner.commit(commit)
    }
    fn seen(&self, key: &str) -> Result<bool, imap_triage::store::StoreError> {
        self.inner.seen(key)
    }
    fn begin(
        &self,
        event: &imap_triage::store::PendingEvent,
    ) -> Result<(), imap_triage::store::StoreError> {
        self.inner.begin(event)
    }
    fn pending(
        &self,
    ) -> Result<Vec<imap_triage::store::PendingEvent>, imap_triage::store::StoreError> {
        self.inner.pending()
    }
    fn events(
        &self,
        thread: ThreadId,
    ) -> Result<Vec<imap_triage::store::EventRecord>, imap_triage::store::StoreError> {
        self.inner.events(thread)
    }
    fn for_each_ticket(
        &self,
        visit: &mut dyn FnMut(imap_triage::store::TicketRecord),
    ) -> Result<(), imap_triage::store::StoreError> {
        self.inner.for_each_ticket(visit)
    }
    fn purge_closed_before(&self, before: u64) -> Result<usize, imap_triage::store::StoreError> {
        self.inner.purge_closed_before(before)
    }
}

#[tokio::test]
async fn a_full_disk_stops_the_engine_from_acting() {
    let dir = tempfile::tempdir().unwrap();
    // The disk fills up after one commit.
    let mut writes_left = 1;
    let sled = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let store = Arc::new(FailingStore::new(sled, move || {
        if writes_left == 0 {
            return Some(imap_triage::store::StoreError::Unwritable {
                path: "data".into(),
                detail: "No space left on device (os error 28)".into(),
            });
        }
        writes_left -= 1;
        None
    }));
    let chat = Arc::new(Recorder::default());
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store,
        chat.clone(),
        None,
    );
    engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "t".into(),
            starter: message(THREAD.get(), MEMBER, "IMAP settings incorrect"),
        })
        .await
        .unwrap();
    let err = engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(501, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    let calls_after_failure = chat.calls().len();
    let err = engine
        .handle(Event::Message {
            thread: THREAD,
            message: message(502, MEMBER, "hello?"),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not acting"), "{err}");
    assert_eq!(
        chat.calls().len(),
        calls_after_failure,
        "nothing done while the store is broken"
    );
    assert!(engine.store_failure().unwrap().contains("No space left"));
}

/// The dedup keys of the posts among `calls`, in order.
fn post_keys(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::Post(_, m) => Some(m.dedup_key.clone().expect("every post has a dedup key")),
            _ => None,
        })
        .collect()
}

/// A bot whose store loses the next commit when `crash_next` is set (a kill between posting and
/// committing), on a real sled store, with one thread opened.
struct CrashRig {
    _dir: tempfile::TempDir,
    sled: Arc<SledLog>,
    crash_next: Arc<std::sync::atomic::AtomicBool>,
    engine: Engine,
    before: Arc<Recorder>,
}

impl CrashRig {
    /// The restart: a new engine on the same store, recording into its own chat.
    fn restart(&self) -> (Engine, Arc<Recorder>) {
        let after = Arc::new(Recorder::default());
        let engine = Engine::new(
            imap_triage::rules_dir::embedded().unwrap(),
            self.sled.clone(),
            after.clone(),
            None,
        );
        (engine, after)
    }
}

/// A message that makes the bot post: a password warning (and the status edit).
fn risky_message() -> Event {
    Event::Message {
        thread: THREAD,
        message: message(
            501,
            MEMBER,
            "my password is Tr0ub4dor&3xyz and Hub ID 4821937",
        ),
    }
}

async fn crash_rig() -> CrashRig {
    let dir = tempfile::tempdir().unwrap();
    let sled = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let crash_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let crash = crash_next.clone();
    let crashing = Arc::new(FailingStore::new(sled.clone(), move || {
        crash
            .swap(false, std::sync::atomic::Ordering::SeqCst)
            .then(|| imap_triage::store::StoreError::Other("killed".into()))
    }));
    let before = Arc::new(Recorder::default());
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        crashing,
        before.clone(),
        None,
    );
    engine
        .handle(Event::NewThread {
            thread: THREAD,
            title: "IMAP".into(),
            starter: message(THREAD.get(), MEMBER, "IMAP settings incorrect"),
        })
        .await
        .unwrap();
    CrashRig {
        _dir: dir,
        sled,
        crash_next,
        engine,
        before,
    }
}

/// Killed after posting and before committing, the bot handles the same message again after
/// its restart: its posts carry the same dedup keys as the first time (Discord's
/// `enforce_nonce` then returns the messages it already has), and no key is used twice.
#[tokio::test]
async fn a_message_handled_again_after_a_crash_posts_under_the_same_keys() {
    let rig = crash_rig().await;
    let opened = post_keys(&rig.before.calls());
    rig.crash_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        rig.engine.handle(risky_message()).await.is_err(),
        "the commit was lost"
    );
    let first_time = post_keys(&rig.before.calls())[opened.len()..].to_vec();
    assert!(!first_time.is_empty(), "the message made the bot post");

    // The restart, and the same message delivered again.
    let (restarted, after) = rig.restart();
    restarted.handle(risky_message()).await.unwrap();
    assert_eq!(post_keys(&after.calls()), first_time);
    // Delivered a third time, it is a replay the store knows: nothing is posted.
    restarted.handle(risky_message()).await.unwrap();
    assert_eq!(post_keys(&after.calls()), first_time);

    let mut all = opened.clone();
    all.extend(first_time);
    let unique: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "one key per post: {all:?}");
}

/// The outbox: a message cut short by a crash (posted, not committed) is on disk as begun, and
/// the next start finishes it without any replay from Discord: the same posts under the same
/// keys, the credential still deleted and warned about, the message stored once (redacted),
/// and nothing left begun.
#[tokio::test]
async fn a_message_cut_short_by_a_crash_is_finished_at_the_next_start_without_a_replay() {
    let rig = crash_rig().await;
    let sled = &rig.sled;
    assert!(
        sled.pending().unwrap().is_empty(),
        "a committed event is not pending"
    );
    let opened = post_keys(&rig.before.calls()).len();
    rig.crash_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        rig.engine.handle(risky_message()).await.is_err(),
        "the commit was lost"
    );
    let first_time = post_keys(&rig.before.calls())[opened..].to_vec();
    let begun = sled.pending().unwrap();
    assert_eq!(begun.len(), 1, "{begun:?}");
    assert!(
        !begun[0].message.text.contains("Tr0ub4dor"),
        "stored redacted"
    );
    assert_eq!(begun[0].secrets, ["password"]);

    let (restarted, after) = rig.restart();
    assert_eq!(restarted.resume_pending().await.unwrap(), 1);
    assert_eq!(
        post_keys(&after.calls()),
        first_time,
        "the same posts, same keys"
    );
    assert!(
        after
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Delete(id) if id.get() == 501)),
        "the message is deleted again (gone already is fine): {:?}",
        after.calls()
    );
    assert!(sled.pending().unwrap().is_empty());
    let ticket = sled.ticket(THREAD).unwrap().unwrap();
    let stored: Vec<u64> = ticket.messages.iter().map(|m| m.id.get()).collect();
    assert_eq!(stored, [THREAD.get(), 501]);
    assert!(!ticket.messages[1].text.contains("Tr0ub4dor"));
    // Nothing is left to finish at the start after.
    assert_eq!(restarted.resume_pending().await.unwrap(), 0);
}
