//! When a case pings the moderators, and when it doesn't: the engine end to end with a real
//! sled store, the shipped rules, a chat sink that records pings and mod-log posts, and a
//! canned probe whose outcome the test sets per port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use imap_triage::core::diagnose::{Code, EndpointReport, Finding, Severity, Verdict};
use imap_triage::core::rules::FindingTexts;
use imap_triage::core::Attachment;
use imap_triage::engine::chat::{Mention, MessageId, ThreadId, TicketState};
use imap_triage::engine::{Actor, Command, Engine, Event, Incoming, Response};
use imap_triage::probe::{Probe, ProbeJob};
use imap_triage::store::{SledLog, TriageLog};
use testkit::chat::{Call, Recorder};

const THREAD: ThreadId = ThreadId(500);
use crate::{MEMBER, MODERATOR};

/// Pings of the moderator role among the recorded posts.
fn pings(chat: &Recorder) -> usize {
    chat.posts()
        .iter()
        .filter(|m| m.mention == Mention::Moderators)
        .count()
}

/// Mod-log posts among the recorded calls.
fn mod_logs(chat: &Recorder) -> usize {
    chat.calls()
        .iter()
        .filter(|c| matches!(c, Call::ModLog(_)))
        .count()
}

/// A probe that answers from a table: a port listed with a finding fails with it, any other
/// port answers. It records which ports it was asked to test.
#[derive(Default)]
struct CannedProbe {
    failing: HashMap<u16, Code>,
    tested: Mutex<Vec<u16>>,
}

#[async_trait]
impl Probe for CannedProbe {
    async fn probe_report(&self, _texts: &FindingTexts, job: ProbeJob<'_>) -> EndpointReport {
        let request = job.request;
        self.tested.lock().unwrap().push(request.port);
        let finding = self.failing.get(&request.port).map(|code| Finding {
            code: *code,
            severity: Severity::Error,
            message: "canned".into(),
        });
        EndpointReport {
            host: request.host.clone(),
            port: request.port,
            verdict: if finding.is_some() {
                Verdict::Failed
            } else {
                Verdict::Ok
            },
            refused_reason: None,
            stages: Vec::new(),
            tls: None,
            banner: String::new(),
            capabilities: Vec::new(),
            findings: finding.into_iter().collect(),
        }
    }
}

struct Setup {
    engine: Engine,
    chat: Arc<Recorder>,
    store: Arc<SledLog>,
    _dir: tempfile::TempDir,
}

fn setup(probe: Option<Arc<dyn Probe>>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let engine = Engine::new(rules, store.clone(), chat.clone(), probe);
    Setup {
        engine,
        chat,
        store,
        _dir: dir,
    }
}

const MEMBER_ACTOR: Actor = Actor {
    user: MEMBER,
    is_moderator: false,
    name: None,
};
const MODERATOR_ACTOR: Actor = Actor {
    user: MODERATOR,
    is_moderator: true,
    name: None,
};

fn message(id: u64, text: &str) -> Incoming {
    Incoming {
        id: MessageId(id),
        author: MEMBER,
        author_is_bot: false,
        author_is_moderator: false,
        text: text.into(),
        attachments: Vec::new(),
    }
}

impl Setup {
    async fn handle(&self, event: Event) -> Response {
        self.engine.handle(event).await.unwrap()
    }

    async fn say(&self, id: u64, text: &str) {
        self.handle(Event::Message {
            thread: THREAD,
            message: message(id, text),
        })
        .await;
    }

    async fn command(&self, key: u64, command: Command) -> String {
        self.handle(Event::Command {
            thread: THREAD,
            actor: MODERATOR_ACTOR,
            key,
            command,
        })
        .await
        .private
        .unwrap_or_default()
    }

    async fn imap_details(&self, interaction: u64, imap: &str) {
        self.handle(Event::DetailsSubmitted {
            thread: THREAD,
            actor: MEMBER_ACTOR,
            interaction,
            hub_id: String::new(),
            imap: imap.into(),
            smtp: String::new(),
            error: String::new(),
        })
        .await;
    }

    /// A case with every item in (error, Hub ID, screenshot, checklist), and `imap` as its
    /// IMAP server when given: it escalates by itself.
    async fn complete_case(&self, imap: Option<&str>) {
        self.handle(Event::NewThread {
            thread: THREAD,
            title: "help".into(),
            starter: message(
                THREAD.get(),
                "IMAP authentication error. Hub ID 4821937. My email is ann@acme-widgets.com",
            ),
        })
        .await;
        if let Some(imap) = imap {
            self.imap_details(60, imap).await;
        }
        let mut screenshot = message(501, "here is the screen");
        screenshot.attachments.push(Attachment {
            filename: "screen.png".into(),
            content_type: Some("image/png".into()),
            size: Some(1000),
            path: None,
            url: None,
        });
        self.handle(Event::Message {
            thread: THREAD,
            message: screenshot,
        })
        .await;
        let all = [
            "typed_credentials",
            "typed_servers",
            "verified_credentials",
            "confirmed_with_provider",
        ];
        self.handle(Event::ChecklistSelected {
            thread: THREAD,
            actor: MEMBER_ACTOR,
            interaction: 77,
            selected: all.iter().map(|s| s.to_string()).collect(),
        })
        .await;
        assert_eq!(pings(&self.chat), 1, "the complete case escalated once");
        assert_eq!(mod_logs(&self.chat), 1);
    }

    fn state(&self) -> TicketState {
        self.store.ticket(THREAD).unwrap().unwrap().status
    }
}

#[tokio::test]
async fn a_moderators_own_reopen_does_not_ping_the_moderators_again() {
    let s = setup(None);
    s.complete_case(None).await;
    let resolved = s
        .command(
            1,
            Command::Resolve {
                reason: "new app password".into(),
            },
        )
        .await;
    assert_eq!(resolved, "Resolved.");

    assert_eq!(s.command(2, Command::Reopen).await, "Reopened.");
    assert_eq!(pings(&s.chat), 1, "no ping for the moderator's own reopen");
    assert_eq!(mod_logs(&s.chat), 1);
    assert_eq!(s.state(), TicketState::Escalated, "the case is with them");

    // The member writing again, for the same need, pings no one either.
    s.say(502, "it still fails").await;
    assert_eq!(pings(&s.chat), 1);
    assert_eq!(mod_logs(&s.chat), 1);
}

#[tokio::test]
async fn a_new_port_re_tests_but_escalates_only_for_a_new_need() {
    let probe = Arc::new(CannedProbe {
        failing: HashMap::from([(2525, Code::Timeout)]),
        ..CannedProbe::default()
    });
    let s = setup(Some(probe.clone()));
    s.complete_case(Some("imap.acme-widgets.com:993")).await;
    assert_eq!(*probe.tested.lock().unwrap(), [993]);

    // Only the port changes, and the test finds the same: re-tested, not re-escalated.
    s.imap_details(61, "imap.acme-widgets.com:143").await;
    assert_eq!(
        s.store.ticket(THREAD).unwrap().unwrap().imap.as_deref(),
        Some("imap.acme-widgets.com:143")
    );
    assert_eq!(*probe.tested.lock().unwrap(), [993, 143], "re-tested");
    assert_eq!(pings(&s.chat), 1, "the same need does not ping again");
    assert_eq!(mod_logs(&s.chat), 1);

    // A port on which the test now times out: a new need, so the moderators hear of it.
    s.imap_details(62, "imap.acme-widgets.com:2525").await;
    assert_eq!(*probe.tested.lock().unwrap(), [993, 143, 2525]);
    assert_eq!(pings(&s.chat), 2, "a new finding is a new need");
    assert_eq!(mod_logs(&s.chat), 2);
}

#[tokio::test]
async fn an_explicit_escalate_after_an_automatic_one_says_the_moderators_have_it() {
    let s = setup(None);
    s.complete_case(None).await;
    assert_eq!(
        s.command(1, Command::Escalate).await,
        "This case is already with the moderators."
    );
    assert_eq!(pings(&s.chat), 1);
    assert_eq!(mod_logs(&s.chat), 1);
    assert_eq!(s.state(), TicketState::Escalated);
}

#[tokio::test]
async fn an_explicit_escalate_of_a_case_still_waiting_pings_the_moderators() {
    let s = setup(None);
    s.handle(Event::NewThread {
        thread: THREAD,
        title: "help".into(),
        starter: message(THREAD.get(), "IMAP settings incorrect"),
    })
    .await;
    assert_eq!(pings(&s.chat), 0);
    assert_eq!(s.command(1, Command::Escalate).await, "Escalated.");
    assert_eq!(pings(&s.chat), 1);
    assert_eq!(mod_logs(&s.chat), 1);
    assert_eq!(s.state(), TicketState::Escalated);
}
