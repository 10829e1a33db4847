//! [`TriageLog`] on sled 0.34.

use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::group_flush::GroupFlush;
use super::records::{EventRecord, PendingEvent, TicketRecord};
use super::{Commit, StoreError, TriageLog};
use crate::ticket::{ThreadId, TicketState};

pub struct SledLog {
    db: sled::Db,
    group: GroupFlush,
    tickets: sled::Tree,
    events: sled::Tree,
    seen: sled::Tree,
    /// Process settings kept with the data (the dashboard's signing key).
    meta: sled::Tree,
    /// Events begun and not yet committed, by idempotency key ([`PendingEvent`]).
    pending: sled::Tree,
    path: PathBuf,
}

/// sled's page cache. sled's own default, 1 GiB, is sized for servers; 8 MiB holds ~10 MiB
/// less at 10,000 tickets and commits as fast (BENCHMARKS.md, "Start-up and idle memory").
pub const DEFAULT_CACHE_BYTES: u64 = 8 << 20;

impl SledLog {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<SledLog, StoreError> {
        SledLog::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store at `path`, sled's page cache bounded at `cache_bytes` (the
    /// RSS bench compares sizes with it).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<SledLog, StoreError> {
        let shown = path.display().to_string();
        // sled releases its file lock only when its background flusher ends, a moment after
        // the last handle is dropped: a reopen right after a close (a restart in the same
        // process) can see its own lock. Retry briefly before calling the store locked.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let db = loop {
            match sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                // sled's default, said here because `commit_begun` leans on it: what is
                // written reaches the disk within this, even when no event flushes.
                .flush_every_ms(Some(500))
                .open()
                .map_err(|e| open_error(&shown, e))
            {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other?,
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(&shown, e));
        let log = SledLog {
            tickets: tree("tickets")?,
            events: tree("events")?,
            seen: tree("seen")?,
            meta: tree("meta")?,
            pending: tree("pending")?,
            db,
            group: GroupFlush::default(),
            path: path.to_path_buf(),
        };
        // Read every ticket once, so a corrupt or unknown-version record is reported at start
        // rather than in the middle of a conversation.
        log.tickets()?;
        Ok(log)
    }

    /// Opens a copy of the store at `path`, so that it can be read while the bot holds the
    /// original's lock. Changes to the copy are discarded.
    pub fn open_snapshot(path: &Path) -> Result<(SledLog, tempfile::TempDir), StoreError> {
        let shown = path.display().to_string();
        if !path.is_dir() {
            return Err(StoreError::Other(format!("no store at {shown}")));
        }
        let dir = tempfile::tempdir().map_err(|e| StoreError::Other(format!("temp dir: {e}")))?;
        copy_dir(path, dir.path())
            .map_err(|e| StoreError::Other(format!("cannot copy {shown}: {e}")))?;
        let log = SledLog::open(dir.path()).map_err(|e| match e {
            StoreError::Locked { .. } => StoreError::Other(format!("cannot snapshot {shown}")),
            other => other,
        })?;
        Ok((log, dir))
    }

    /// A stored setting, or `make`'s value stored (and flushed) when there is none yet.
    pub fn meta_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(v) = self.meta.get(key).map_err(|e| self.err(e))? {
            return Ok(v.to_vec());
        }
        let value = make();
        self.meta
            .insert(key, value.as_slice())
            .map_err(|e| self.err(e))?;
        self.meta.flush().map_err(|e| self.err(e))?;
        Ok(value)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: sled::Error) -> StoreError {
        write_error(&self.path.display().to_string(), e)
    }

    /// Flushes everything to disk (also done after every commit).
    /// Flushes (fsyncs) done by commits since the store was opened: fewer than the commits
    /// when they arrive together.
    pub fn commit_flushes(&self) -> u64 {
        self.group.flushes()
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    /// The commit's transaction (the ticket, its events, the seen keys, the begun event
    /// removed), applied in memory; sled writes it to disk at the next flush.
    fn write_commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let Commit {
            ticket,
            events,
            seen,
            at: now,
        } = commit;
        let mut sequenced = Vec::with_capacity(events.len());
        for kind in events {
            let seq = self.db.generate_id().map_err(|e| self.err(e))?;
            let record = EventRecord {
                at: now,
                kind: kind.clone(),
            };
            sequenced.push((
                event_key(ticket.thread, seq),
                serde_json::to_vec(&record).unwrap_or_default(),
            ));
        }
        let ticket_bytes = ticket.to_json();
        let trees = (&self.tickets, &self.events, &self.seen, &self.pending);
        let result: Result<(), TransactionError<()>> = trees.transaction(|(t, e, s, p)| {
            t.insert(&ticket.thread.get().to_be_bytes(), ticket_bytes.as_slice())?;
            for (key, value) in &sequenced {
                e.insert(key, value.as_slice())?;
            }
            for key in seen {
                s.insert(key.as_bytes(), &[] as &[u8])?;
                p.remove(key.as_bytes())?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(e)) => Err(self.err(e)),
            Err(TransactionError::Abort(())) => {
                Err(StoreError::Other("transaction aborted".into()))
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn open_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
        {
            StoreError::Locked {
                path: path.to_string(),
            }
        }
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            path: path.to_string(),
            detail: e.to_string(),
        },
        other => write_error(path, other),
    }
}

fn write_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem
                    | std::io::ErrorKind::StorageFull
            ) || io.raw_os_error() == Some(28) =>
        {
            StoreError::Unwritable {
                path: path.to_string(),
                detail: io.to_string(),
            }
        }
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            path: path.to_string(),
            detail: e.to_string(),
        },
        other => StoreError::Other(format!("{path}: {other}")),
    }
}

fn event_key(thread: ThreadId, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&thread.get().to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

impl TriageLog for SledLog {
    fn ticket(&self, thread: ThreadId) -> Result<Option<TicketRecord>, StoreError> {
        let Some(bytes) = self
            .tickets
            .get(thread.get().to_be_bytes())
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        TicketRecord::from_json(&bytes)
            .map(Some)
            .map_err(|detail| StoreError::Corrupt {
                path: self.path.display().to_string(),
                detail: format!("ticket {thread}: {detail}"),
            })
    }

    fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        self.write_commit(commit)?;
        // Durable before the engine reports the action as done; concurrent commits share
        // a flush.
        let written = self.group.written();
        self.group.wait_durable(written, || self.flush())
    }

    fn commit_begun(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        // The begun event on disk stands for it until the next flush (see the trait).
        self.write_commit(commit)
    }

    fn seen(&self, key: &str) -> Result<bool, StoreError> {
        self.seen
            .contains_key(key.as_bytes())
            .map_err(|e| self.err(e))
    }

    fn begin(&self, event: &PendingEvent) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(event).unwrap_or_default();
        self.pending
            .insert(event.key.as_bytes(), bytes)
            .map_err(|e| self.err(e))?;
        // Durable before the first call to the platform; begun events share flushes with
        // commits.
        let written = self.group.written();
        self.group.wait_durable(written, || self.flush())
    }

    fn pending(&self) -> Result<Vec<PendingEvent>, StoreError> {
        let mut out = Vec::new();
        for item in self.pending.iter() {
            let (key, value) = item.map_err(|e| self.err(e))?;
            let event = serde_json::from_slice::<PendingEvent>(&value).map_err(|e| {
                StoreError::Corrupt {
                    path: self.path.display().to_string(),
                    detail: format!("pending event {}: {e}", String::from_utf8_lossy(&key)),
                }
            })?;
            out.push(event);
        }
        out.sort_by_key(|e| (e.thread, e.message.id));
        Ok(out)
    }

    fn events(&self, thread: ThreadId) -> Result<Vec<EventRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.events.scan_prefix(thread.get().to_be_bytes()) {
            let (_, value) = item.map_err(|e| self.err(e))?;
            match serde_json::from_slice::<EventRecord>(&value) {
                Ok(record) => out.push(record),
                Err(e) => {
                    return Err(StoreError::Corrupt {
                        path: self.path.display().to_string(),
                        detail: format!("event of thread {thread}: {e}"),
                    })
                }
            }
        }
        Ok(out)
    }

    fn for_each_ticket(&self, visit: &mut dyn FnMut(TicketRecord)) -> Result<(), StoreError> {
        for item in self.tickets.iter() {
            let (key, value) = item.map_err(|e| self.err(e))?;
            let ticket = TicketRecord::from_json(&value).map_err(|detail| StoreError::Corrupt {
                path: self.path.display().to_string(),
                detail: format!("ticket {:?}: {detail}", key.as_ref()),
            })?;
            visit(ticket);
        }
        Ok(())
    }

    fn purge_closed_before(&self, before: u64) -> Result<usize, StoreError> {
        let mut purged = 0;
        // The ids first, then the removals: sled's iterator is not held across them.
        let mut expired = Vec::new();
        self.for_each_ticket(&mut |ticket| {
            let finished = matches!(ticket.status, TicketState::Closed | TicketState::Resolved);
            if finished && ticket.updated_at < before {
                expired.push(ticket.thread);
            }
        })?;
        for thread in expired {
            for item in self.events.scan_prefix(thread.get().to_be_bytes()).keys() {
                let key = item.map_err(|e| self.err(e))?;
                self.events.remove(key).map_err(|e| self.err(e))?;
            }
            self.tickets
                .remove(thread.get().to_be_bytes())
                .map_err(|e| self.err(e))?;
            purged += 1;
        }
        self.flush()?;
        Ok(purged)
    }
}
