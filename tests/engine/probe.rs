//! The engine's automatic probe against the real Dovecot and exim4 on loopback: one "Testing…"
//! message edited stage by stage into the report, once per distinct endpoint set.

use std::sync::Arc;

use imap_triage::engine::chat::ThreadId;
use imap_triage::engine::{Actor, Engine, Event};
use imap_triage::probe::Prober;
use imap_triage::store::{EventKind, SledLog, TriageLog};
use testkit::chat::{Call, Recorder};
use testkit::probe::{server_conventions, server_ports, servers, test_policy, tls_with_ca};

use crate::{message, MEMBER};

/// Posts and edits as (kind, message id, content), in order.
fn entries(chat: &Recorder) -> Vec<(&'static str, u64, String)> {
    chat.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Post(id, m) => Some(("post", id.get(), m.content)),
            Call::Edit(id, m) => Some(("edit", id.get(), m.content)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_probe_runs_once_per_endpoint_set_with_progress() {
    let s = servers();
    let mut policy = test_policy(&server_ports(s));
    policy.ports = server_conventions(s);
    let prober = Arc::new(Prober::new(policy, tls_with_ca()));
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store.clone(),
        chat.clone(),
        Some(prober),
    );

    let text = format!(
        "IMAP settings incorrect. IMAP: 127.0.0.1:{} SMTP: 127.0.0.1:{}",
        s.imap_tls, s.smtp_starttls
    );
    engine
        .handle(Event::NewThread {
            thread: ThreadId(1),
            title: "t".into(),
            starter: message(1, MEMBER, &text),
        })
        .await
        .unwrap();

    let entries = entries(&chat);
    let (_, testing_id, started) = entries
        .iter()
        .find(|(kind, _, c)| *kind == "post" && c.contains("Testing the connection"))
        .unwrap_or_else(|| panic!("a Testing… message: {entries:#?}"));
    assert!(started.contains(&format!("127.0.0.1:{}", s.imap_tls)));
    let edits: Vec<&String> = entries
        .iter()
        .filter(|(kind, id, _)| *kind == "edit" && id == testing_id)
        .map(|(_, _, c)| c)
        .collect();
    assert!(
        edits.len() >= 2,
        "progress edits and the report: {edits:#?}"
    );
    assert!(
        edits.iter().any(|c| c.contains("✅ IMAP")),
        "a stage line: {edits:#?}"
    );
    let report = edits.last().unwrap();
    assert!(report.contains("**Connection test**"), "{report}");
    assert!(
        report.contains(&format!("**IMAP `127.0.0.1:{}`**: ✅ answers", s.imap_tls)),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "**SMTP `127.0.0.1:{}`**: ✅ answers",
            s.smtp_starttls
        )),
        "{report}"
    );
    // The stages and the certificate are beside the text (Discord: an embed), per endpoint.
    let details = chat
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Edit(id, m) if id.get() == *testing_id => Some(m.details),
            _ => None,
        })
        .next_back()
        .unwrap_or_default();
    assert_eq!(details.len(), 2, "{details:#?}");
    assert!(
        details[0].name == format!("IMAP 127.0.0.1:{}", s.imap_tls)
            && details[0].value.contains("TLS TLSv1.")
            && details[0].value.contains("tcp ✓"),
        "{details:#?}"
    );
    assert!(!report.contains("TLS TLSv1."), "{report}");

    let runs = |store: &SledLog| {
        store
            .events(ThreadId(1))
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::ProbeRun { .. }))
            .count()
    };
    assert_eq!(runs(&store), 1);
    let ticket = store.ticket(ThreadId(1)).unwrap().unwrap();
    assert!(
        ticket.probe_verdicts.iter().all(|v| v.ends_with(": ok")),
        "{:?}",
        ticket.probe_verdicts
    );

    // The same endpoints again: no second probe.
    engine
        .handle(Event::Message {
            thread: ThreadId(1),
            message: message(2, MEMBER, "Hub ID 4821937"),
        })
        .await
        .unwrap();
    assert_eq!(runs(&store), 1);
    // The button runs it again on request.
    let response = engine
        .handle(Event::RunProbe {
            thread: ThreadId(1),
            actor: Actor {
                user: 7,
                is_moderator: false,
                name: None,
            },
            interaction: 3,
        })
        .await
        .unwrap();
    assert!(response.private.unwrap().contains("Test finished"));
    assert_eq!(runs(&store), 2);
    // A new endpoint set runs it again by itself.
    engine
        .handle(Event::Message {
            thread: ThreadId(1),
            message: message(
                4,
                MEMBER,
                &format!("sorry, the IMAP port is {}", s.imap_plain),
            ),
        })
        .await
        .unwrap();
    assert_eq!(runs(&store), 3);
}

#[tokio::test]
async fn private_targets_are_refused_without_the_test_flag() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    // The production policy: loopback is not allowed.
    let prober = Arc::new(Prober::new(
        imap_triage::probe::Policy::default(),
        imap_triage::probe::TlsSetup::new(&[]).unwrap(),
    ));
    let engine = Engine::new(
        imap_triage::rules_dir::embedded().unwrap(),
        store.clone(),
        chat.clone(),
        Some(prober),
    );
    engine
        .handle(Event::NewThread {
            thread: ThreadId(1),
            title: "t".into(),
            starter: message(1, MEMBER, "IMAP settings incorrect: 127.0.0.1:993"),
        })
        .await
        .unwrap();
    let report = entries(&chat)
        .into_iter()
        .rev()
        .find(|(_, _, c)| c.contains("Connection test"))
        .expect("a report")
        .2;
    assert!(report.contains("⛔ not tested"), "{report}");
}
