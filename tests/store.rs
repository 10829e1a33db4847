//! The sled triage log on disk: corrupt records and a held lock give clear errors; a snapshot
//! can be read while the original is locked.

use imap_triage::engine::chat::{ThreadId, TicketState};
use imap_triage::store::{Commit, EventKind, SledLog, StoreError, TicketRecord, TriageLog};

#[test]
fn a_corrupt_ticket_is_reported_at_open_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    {
        // Write a record this build can't read, as a bad disk or a foreign writer would.
        let db = sled::open(&path).unwrap();
        let tickets = db.open_tree("tickets").unwrap();
        tickets
            .insert(7u64.to_be_bytes(), &b"{not json"[..])
            .unwrap();
        db.flush().unwrap();
    }
    match SledLog::open(&path) {
        Err(StoreError::Corrupt {
            path: shown,
            detail,
        }) => {
            assert!(shown.contains("data"), "{shown}");
            assert!(!detail.is_empty());
        }
        Err(other) => panic!("expected a corrupt-store error, got {other}"),
        Ok(_) => panic!("a corrupt store opened"),
    }
}

#[test]
fn a_held_store_is_locked_and_a_snapshot_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let held = SledLog::open(&path).unwrap();
    let mut ticket = TicketRecord::new(ThreadId(1), "case".into(), 9, 100);
    ticket.status = TicketState::Escalated;
    held.commit(Commit {
        ticket: &ticket,
        events: &[EventKind::Opened { member: 9 }],
        seen: &["m:1".into()],
        at: 100,
    })
    .unwrap();

    // Another process can't open it: sled's lock is per process, so ask a child.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(["log", "purge"])
        .env("IMAP_TRIAGE_STORE__PATH", &path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("locked"), "{err}");

    // Reading works through a copy.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(["log", "list"])
        .env("IMAP_TRIAGE_STORE__PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1\tescalated\t"));
    assert!(held.seen("m:1").unwrap());
}

#[test]
fn purge_removes_only_old_finished_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledLog::open(&dir.path().join("data")).unwrap();
    for (thread, status, updated) in [
        (1, TicketState::Closed, 100),
        (2, TicketState::Resolved, 5_000),
        (3, TicketState::WaitingOnMember, 100),
    ] {
        let mut t = TicketRecord::new(ThreadId(thread), "t".into(), 9, 50);
        t.status = status;
        t.updated_at = updated;
        store
            .commit(Commit {
                ticket: &t,
                events: &[EventKind::Opened { member: 9 }],
                seen: &[],
                at: updated,
            })
            .unwrap();
    }
    assert_eq!(store.purge_closed_before(1_000).unwrap(), 1);
    let left: Vec<u64> = store
        .tickets()
        .unwrap()
        .into_iter()
        .map(|t| t.thread.get())
        .collect();
    assert_eq!(left, [2, 3]);
    assert!(
        store.events(ThreadId(1)).unwrap().is_empty(),
        "the purged ticket's events went too"
    );
}

/// Commits from many threads at once share flushes (group commit), and every one of them is
/// in the store when it is opened again.
#[test]
fn concurrent_commits_share_flushes_and_all_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let store = std::sync::Arc::new(SledLog::open(&path).unwrap());
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..25u64 {
                    let thread = ThreadId(1 + w * 100 + n);
                    let ticket = TicketRecord::new(thread, "t".into(), 9, 100);
                    store
                        .commit(Commit {
                            ticket: &ticket,
                            events: &[EventKind::Opened { member: 9 }],
                            seen: &[format!("m:{}", thread.get())],
                            at: 100,
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let flushes = store.commit_flushes();
    assert!((1..=200).contains(&flushes), "{flushes} flushes");
    drop(store);
    let reopened = SledLog::open(&path).unwrap();
    assert_eq!(reopened.tickets().unwrap().len(), 200);
    assert!(reopened.seen("m:725").unwrap());
}
