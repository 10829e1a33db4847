//! Crash safety: SIGKILL the bot in the middle of a burst of messages, restart it on the same
//! store with the same (replayed) input, and check that nothing was lost or repeated.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use imap_triage::store::{EventKind, SledLog, TriageLog};
use imap_triage::ticket::ThreadId;

const THREAD: u64 = 4242;
const MESSAGES: u64 = 40;

fn input() -> String {
    let mut text = String::from("IMAP settings incorrect, please help\n");
    for n in 2..=MESSAGES {
        text.push_str(&format!("follow-up number {n}\n"));
    }
    text
}

fn console(dir: &std::path::Path) -> std::process::Child {
    testkit::without_domain_lookups(&mut Command::new(env!("CARGO_BIN_EXE_imap-triage")))
        .args(["console", "--thread", &THREAD.to_string()])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the console")
}

#[test]
fn sigkill_mid_burst_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();

    // First run: the whole burst at once, killed after some replies.
    let mut first = console(dir.path());
    first
        .stdin
        .take()
        .unwrap()
        .write_all(input().as_bytes())
        .unwrap();
    let stdout = first.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("── bot edits message") && tx.send(()).is_err() {
                break;
            }
        }
    });
    for _ in 0..10 {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the bot replies within a minute");
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    drop(rx);
    reader.join().unwrap();

    let handled_before = {
        let store = SledLog::open(&dir.path().join("data")).expect("the store opens after a crash");
        let ticket = store
            .ticket(ThreadId(THREAD))
            .unwrap()
            .expect("the ticket survived");
        ticket.messages.len() as u64
    };
    assert!(
        handled_before >= 10,
        "the first run handled {handled_before}"
    );

    // Second run: the same input replayed (as Discord replays events after a reconnect).
    let mut second = console(dir.path());
    second
        .stdin
        .take()
        .unwrap()
        .write_all(input().as_bytes())
        .unwrap();
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success());
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        transcript.matches("── bot posts message").count(),
        0,
        "no second status message: {transcript}"
    );
    let edits = transcript.matches("── bot edits message").count() as u64;
    // At most the one message that was mid-flight at the kill is redone.
    assert!(
        edits <= MESSAGES - handled_before + 1,
        "{edits} edits after {handled_before} handled"
    );

    let store = SledLog::open(&dir.path().join("data")).unwrap();
    let ticket = store.ticket(ThreadId(THREAD)).unwrap().unwrap();
    let ids: Vec<u64> = ticket.messages.iter().map(|m| m.id.get()).collect();
    let expected: Vec<u64> = (1..=MESSAGES).map(|n| THREAD * 100_000 + n).collect();
    assert_eq!(ids, expected, "every message exactly once, in order");
    let events = store.events(ThreadId(THREAD)).unwrap();
    let posted = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::ReplyPosted { what, .. } if what == "status"))
        .count();
    assert_eq!(posted, 1);
    let edited = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ReplyEdited { .. }))
        .count() as u64;
    assert_eq!(edited, MESSAGES - 1, "one recorded edit per follow-up");
}
