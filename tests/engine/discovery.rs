//! The member's email domain in the bot: looked up beside the probe, compared with what the
//! member entered, the published servers tested when none was posted, and the summary kept for
//! moderators. The engine end to end (real sled store, shipped rules, the recording chat), with
//! a discoverer whose network answers are canned per domain and judged by the real core, and a
//! probe that records what it was asked to test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use imap_triage::core::diagnose::discovery::{
    discovery_report, Answer, DiscoveryInput, DiscoveryReport, MxHost, SrvRecord,
};
use imap_triage::core::diagnose::{EndpointReport, Verdict};
use imap_triage::core::rules::{FindingTexts, Rules};
use imap_triage::core::TlsMode;
use imap_triage::discover::Discover;
use imap_triage::engine::chat::ThreadId;
use imap_triage::engine::{Command, Engine, Event};
use imap_triage::probe::{EndpointRequest, Probe, ProbeJob};
use imap_triage::store::{EventKind, SledLog, TriageLog};
use testkit::chat::{Call, Recorder};

use crate::{message, moderator_command, MEMBER};

const THREAD: ThreadId = ThreadId(700);

fn srv(host: &str, port: u16) -> Answer<Vec<SrvRecord>> {
    Answer::Found(vec![SrvRecord {
        priority: 0,
        weight: 0,
        host: host.into(),
        port,
    }])
}

fn mx(host: &str) -> Answer<Vec<MxHost>> {
    Answer::Found(vec![MxHost {
        host: host.into(),
        preference: 10,
    }])
}

/// What DNS would say about each domain; the ranking, suggestions and findings are the core's.
#[derive(Default)]
struct CannedDomains {
    inputs: HashMap<String, DiscoveryInput>,
    asked: Mutex<Vec<String>>,
}

impl CannedDomains {
    fn new() -> Self {
        let mut published = DiscoveryInput::new("x-corp.com");
        published.mx = mx("mx.x-corp.com");
        published.srv.imaps = srv("imap.host.net", 993);
        published.srv.submission = srv("smtp.host.net", 587);
        let mut microsoft = DiscoveryInput::new("m365-corp.com");
        microsoft.mx = mx("m365-corp-com.mail.protection.outlook.com");
        let inputs = [published, microsoft]
            .into_iter()
            .map(|input| (input.domain.clone(), input))
            .collect();
        CannedDomains {
            inputs,
            asked: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl Discover for CannedDomains {
    async fn discover(&self, rules: &Rules, domain: &str) -> DiscoveryReport {
        self.asked.lock().unwrap().push(domain.to_string());
        let unknown = DiscoveryInput {
            mx: Answer::NxDomain,
            ..DiscoveryInput::new(domain)
        };
        discovery_report(rules, self.inputs.get(domain).unwrap_or(&unknown))
    }
}

/// Answers every endpoint, and records what it was asked to test.
#[derive(Default)]
struct RecordingProbe {
    asked: Mutex<Vec<EndpointRequest>>,
}

#[async_trait]
impl Probe for RecordingProbe {
    async fn probe_report(&self, _texts: &FindingTexts, job: ProbeJob<'_>) -> EndpointReport {
        self.asked.lock().unwrap().push(job.request.clone());
        EndpointReport {
            host: job.request.host.clone(),
            port: job.request.port,
            verdict: Verdict::Ok,
            refused_reason: None,
            stages: Vec::new(),
            tls: None,
            banner: String::new(),
            capabilities: Vec::new(),
            findings: Vec::new(),
        }
    }
}

struct Setup {
    engine: Engine,
    chat: Arc<Recorder>,
    store: Arc<SledLog>,
    domains: Arc<CannedDomains>,
    probe: Arc<RecordingProbe>,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("db")).unwrap());
    let chat = Arc::new(Recorder::default());
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let probe = Arc::new(RecordingProbe::default());
    let domains = Arc::new(CannedDomains::new());
    let engine = Engine::new(rules, store.clone(), chat.clone(), Some(probe.clone()))
        .with_discoverer(domains.clone());
    Setup {
        engine,
        chat,
        store,
        domains,
        probe,
        _dir: dir,
    }
}

impl Setup {
    async fn say(&self, id: u64, text: &str) {
        let message = message(id, MEMBER, text);
        let event = if id == THREAD.get() {
            Event::NewThread {
                thread: THREAD,
                title: "IMAP help".into(),
                starter: message,
            }
        } else {
            Event::Message {
                thread: THREAD,
                message,
            }
        };
        self.engine.handle(event).await.unwrap();
    }

    /// The bot's posts about the member's domain.
    fn domain_posts(&self) -> Vec<String> {
        self.chat
            .texts()
            .into_iter()
            .filter(|t| t.contains("Your email domain"))
            .collect()
    }

    fn tested(&self) -> Vec<(String, u16, Option<TlsMode>)> {
        let asked = self.probe.asked.lock().unwrap();
        asked
            .iter()
            .map(|r| (r.host.clone(), r.port, r.mode))
            .collect()
    }
}

#[tokio::test]
async fn entered_servers_are_compared_with_the_domains_and_looked_up_once() {
    let s = setup();
    s.say(
        THREAD.get(),
        "IMAP login fails. My email is ann@x-corp.com, server mail.x-corp.com port 993",
    )
    .await;
    let posts = s.domain_posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        posts[0].contains(
            "IMAP: you entered `mail.x-corp.com:993`; your domain publishes `imap.host.net:993` (SSL/TLS)."
        ),
        "{}",
        posts[0]
    );
    assert!(
        posts[0].contains("SMTP: your domain publishes `smtp.host.net:587` (STARTTLS)."),
        "{}",
        posts[0]
    );
    // The member's own server is what the probe tests.
    assert_eq!(s.tested(), [("mail.x-corp.com".to_string(), 993, None)]);

    s.say(800, "still failing, same settings").await;
    assert_eq!(*s.domains.asked.lock().unwrap(), ["x-corp.com"]);
    assert_eq!(s.domain_posts().len(), 1, "nothing new to say");

    // Kept for moderators: the ticket, its timeline, `status` and the mod log.
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    let lookup = ticket.discovery.expect("the look-up is kept");
    assert_eq!(lookup.domain, "x-corp.com");
    assert!(
        lookup
            .summary
            .contains("IMAP `imap.host.net:993` (SSL/TLS)")
            && lookup.summary.contains("from SRV records"),
        "{}",
        lookup.summary
    );
    let events = s.store.events(THREAD).unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::DomainLookedUp { domain, findings }
            if domain == "x-corp.com" && findings.iter().any(|f| f == "srv_published")
    )));
    let status = moderator_command(&s.engine, THREAD, 1, Command::Status).await;
    assert!(status.contains("domain: `x-corp.com`"), "{status}");
    moderator_command(&s.engine, THREAD, 2, Command::Escalate).await;
    let summary = s
        .chat
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::ModLog(summary) => Some(summary),
            _ => None,
        })
        .expect("a mod-log post");
    assert_eq!(summary.domain, Some(lookup.summary));
}

#[tokio::test]
async fn with_no_server_posted_the_published_ones_are_suggested_and_tested() {
    let s = setup();
    s.say(
        THREAD.get(),
        "I can't connect my inbox over IMAP. My email is ann@x-corp.com",
    )
    .await;
    let posts = s.domain_posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        posts[0].contains("IMAP: your domain publishes `imap.host.net:993` (SSL/TLS)."),
        "{}",
        posts[0]
    );
    // Tested in the security they are published with.
    assert_eq!(
        s.tested(),
        [
            ("imap.host.net".to_string(), 993, Some(TlsMode::Implicit)),
            ("smtp.host.net".to_string(), 587, Some(TlsMode::Starttls)),
        ]
    );
    let ticket = s.store.ticket(THREAD).unwrap().unwrap();
    assert_eq!(
        ticket.probed.as_deref(),
        Some("published imap=imap.host.net:993 smtp=smtp.host.net:587")
    );
    // Another message: neither the look-up nor the test runs again.
    s.say(801, "any news?").await;
    assert_eq!(s.tested().len(), 2);
    assert_eq!(s.domains.asked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn microsoft_365_points_to_the_native_integration_and_tests_nothing() {
    let s = setup();
    s.say(
        THREAD.get(),
        "IMAP authentication failed for bob@m365-corp.com, what server do I use?",
    )
    .await;
    let posts = s.domain_posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        posts[0].contains("the vendor's Office 365 integration is the way, not IMAP"),
        "{}",
        posts[0]
    );
    assert!(!posts[0].contains("publishes `"), "{}", posts[0]);
    assert!(s.tested().is_empty(), "{:?}", s.tested());
}

#[tokio::test]
async fn a_domain_that_does_not_exist_is_said_and_nothing_is_tested() {
    let s = setup();
    s.say(
        THREAD.get(),
        "IMAP fails, my address is carol@acmee-widgetz.com",
    )
    .await;
    let posts = s.domain_posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(posts[0].contains("does not exist in DNS"), "{}", posts[0]);
    assert!(s.tested().is_empty());
}
