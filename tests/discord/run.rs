//! The real binary, `imap-triage run`, against the fake Discord: JSON logs, the metrics
//! endpoint, SIGHUP with a broken rules edit (rejected, logged with the file, old rules kept),
//! the dashboard served in-process (`[web] listen`): `/triage dashboard` hands a moderator a
//! one-time link, and resolving from the dashboard goes through the engine; and a graceful
//! SIGTERM (exit 0, the last handled message in the store).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use imap_triage::store::{SledLog, TriageLog};
use imap_triage::ticket::{MessageId, ThreadId};
use testkit::fake_discord::{payloads, FakeDiscord, APP, FORUM, MOD_LOG, MOD_ROLE, TEXT_CHANNEL};

const MEMBER: u64 = 9_001;
const MODERATOR: u64 = 9_002;
const TEST_BOUND: Duration = Duration::from_secs(120);
/// How long the bot may take to exit after SIGTERM (its own bound is 10 s for handlers).
const EXIT_BOUND: Duration = Duration::from_secs(30);

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` every 100 ms until it holds, at most `bound`.
async fn eventually(what: &str, bound: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + bound;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn status_post(fake: &FakeDiscord, thread: u64) -> Option<u64> {
    fake.calls()
        .iter()
        .find(|c| c.is("POST", &format!("/channels/{thread}/messages")) && c.status == 200)
        .map(|c| c.response_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reloads_on_sighup_and_stops_gracefully_on_sigterm() {
    tokio::time::timeout(TEST_BOUND, scenario())
        .await
        .expect("the test finished within its bound");
}

async fn scenario() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("rules dir");
    crate::bot::copy_shipped_rules(&rules);
    let store = dir.path().join("store");
    let port = free_port();
    let web_port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\ntoken = \"fake-token\"\napi_base = \"{}\"\nforum_channels = [{FORUM}]\ntext_channels = [{TEXT_CHANNEL}]\nmoderator_role = {MOD_ROLE}\nmod_log_channel = {MOD_LOG}\n\n[store]\npath = \"{}\"\n\n[rules]\npath = \"{}\"\n\n[lifecycle]\ntick_secs = 1\n\n[log]\nformat = \"json\"\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n[web]\nlisten = \"127.0.0.1:{web_port}\"\n",
            fake.api_base,
            store.display(),
            rules.display()
        ),
    )
    .expect("write config");
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child =
        testkit::without_domain_lookups(&mut Command::new(env!("CARGO_BIN_EXE_imap-triage")))
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start the bot");
    let pid = child.id();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    fake.wait_ready().await;
    let first = fake.post_thread(FORUM, MEMBER, &[], "IMAP fails", "My inbox won't connect.");
    fake.wait_for("the first status message", |_| status_post(&fake, first))
        .await;

    dashboard(&fake, first, web_port).await;

    // A broken rules edit, then SIGHUP: rejected with the file named, and the bot goes on.
    let errors = rules.join("errors.toml");
    let text = std::fs::read_to_string(&errors).expect("errors.toml");
    std::fs::write(&errors, format!("{text}\n[[bogus\n")).expect("break the rules");
    signal(pid, "HUP");
    eventually(
        "the rejected reload in the log",
        Duration::from_secs(20),
        || {
            log()
                .lines()
                .any(|l| l.contains("rules reload rejected") && l.contains("errors.toml"))
        },
    )
    .await;
    let second = fake.post_thread(FORUM, MEMBER, &[], "Still broken", "Hello again.");
    let status = fake
        .wait_for("the second status message", |_| status_post(&fake, second))
        .await;

    // The metrics endpoint answers.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("request");
    let mut body = String::new();
    let _ = socket.read_to_string(&mut body);
    assert!(body.contains("imap_triage_events_handled_total"), "{body}");

    // A member message handled just before SIGTERM is in the store after the exit.
    let before = fake.call_count();
    let said = fake.say(second, MEMBER, &[], "Hub ID: 20814377");
    fake.wait_for("the status edit", |_| {
        fake.calls_since(before)
            .iter()
            .find(|c| c.is("PATCH", &format!("/channels/{second}/messages/{status}")))
            .map(|_| ())
    })
    .await;
    signal(pid, "TERM");
    let deadline = tokio::time::Instant::now() + EXIT_BOUND;
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the bot did not exit after SIGTERM; log:\n{}", log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = log();
    assert!(exit.success(), "exit {exit:?}; log:\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    // JSON logs: one object per line.
    assert!(
        log.lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{log}"
    );

    let store = SledLog::open(&store).expect("the store opens (the lock was released)");
    let ticket = store
        .ticket(ThreadId(second))
        .expect("read")
        .expect("the ticket");
    assert!(
        ticket.messages.iter().any(|m| m.id == MessageId(said)),
        "the last message is stored"
    );
    assert!(store.ticket(ThreadId(first)).expect("read").is_some());
    // The dashboard's resolve is recorded like Discord's, with the moderator and their name.
    let events = store.events(ThreadId(first)).expect("events");
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            imap_triage::store::EventKind::Resolved { by, by_name: Some(name), reason }
                if *by == MODERATOR && !name.is_empty() && reason == "fixed from the dashboard")),
        "{events:?}"
    );
}

/// `/triage dashboard` as `user`: the ephemeral answer's text.
async fn ask_for_link(fake: &FakeDiscord, channel: u64, user: u64, roles: &[u64]) -> String {
    let id = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        payloads::slash(id, channel, user, roles, "dashboard", None),
    );
    let path = format!("/webhooks/{APP}/token-{id}/messages/@original");
    let answer = fake
        .wait_for_call("the dashboard answer", |c| c.is("PATCH", &path))
        .await;
    let defer = fake
        .calls()
        .into_iter()
        .find(|c| c.is("POST", &format!("/interactions/{id}/token-{id}/callback")))
        .expect("deferred first");
    assert_eq!(defer.body["data"]["flags"], 64, "ephemeral");
    answer.content().to_string()
}

/// A moderator gets a link, logs in, and resolves `thread` from the dashboard; a member gets
/// no link.
async fn dashboard(fake: &FakeDiscord, thread: u64, web_port: u16) {
    let refused = ask_for_link(fake, thread, MEMBER, &[]).await;
    assert!(!refused.contains("/login?token="), "{refused}");
    let answer = ask_for_link(fake, thread, MODERATOR, &[MOD_ROLE]).await;
    let link = answer
        .split_whitespace()
        .find(|w| w.contains("/login?token="))
        .unwrap_or_else(|| panic!("a link in {answer:?}"));
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{web_port}/login?token=")),
        "{link}"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let login = client.get(link).send().await.expect("login");
    assert_eq!(login.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = login.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let base = format!("http://127.0.0.1:{web_port}");
    let case = client
        .get(format!("{base}/case/{thread}"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("case page")
        .text()
        .await
        .unwrap();
    let at = case.find("name=\"csrf\" value=\"").expect("a CSRF token") + 19;
    let csrf = case[at..].split('"').next().unwrap().to_string();
    let before = fake.call_count();
    let resolved = client
        .post(format!("{base}/case/{thread}/action"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "resolve"),
            ("reason", "fixed from the dashboard"),
        ])
        .send()
        .await
        .expect("resolve");
    assert_eq!(resolved.status(), reqwest::StatusCode::SEE_OTHER);
    // The engine acted in Discord (the forum tag), and the timeline shows it.
    fake.wait_for("the resolved state in Discord", |calls| {
        calls[before..]
            .iter()
            .find(|c| c.is("PATCH", &format!("/channels/{thread}")))
            .map(|_| ())
    })
    .await;
    let after = client
        .get(format!("{base}/case/{thread}"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("case page")
        .text()
        .await
        .unwrap();
    assert!(
        after.contains(&format!(
            "Resolved by member{MODERATOR} (moderator {MODERATOR}): fixed from the dashboard"
        )),
        "{after}"
    );
}

/// The gateway connects while the rules pack compiles (start-up is not held up by it), but a
/// pack that doesn't validate still stops the bot: its errors on stderr, naming the file, exit
/// code 2, and nothing posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_a_broken_rules_pack_stops_with_its_errors_and_exit_code_2() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("rules dir");
    crate::bot::copy_shipped_rules(&rules);
    let errors = rules.join("errors.toml");
    let text = std::fs::read_to_string(&errors).expect("errors.toml");
    std::fs::write(&errors, format!("{text}\n[[bogus\n")).expect("break the rules");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\ntoken = \"fake-token\"\napi_base = \"{}\"\nforum_channels = [{FORUM}]\nmoderator_role = {MOD_ROLE}\nmod_log_channel = {MOD_LOG}\n\n[store]\npath = \"{}\"\n\n[rules]\npath = \"{}\"\n",
            fake.api_base,
            dir.path().join("store").display(),
            rules.display()
        ),
    )
    .expect("write config");
    let mut child =
        testkit::without_domain_lookups(&mut Command::new(env!("CARGO_BIN_EXE_imap-triage")))
            .args(["run", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bot");
    let deadline = std::time::Instant::now() + TEST_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the bot") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the bot did not stop on a broken rules pack");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&errors.display().to_string()),
        "the error names the file: {stderr}"
    );
    assert!(
        !fake.calls().iter().any(|c| c.method == "POST"),
        "nothing was posted: {:?}",
        fake.calls()
    );
}
