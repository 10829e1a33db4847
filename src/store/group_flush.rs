//! Group commit: the commits that arrive while a flush runs share the next one. Each caller
//! still returns only once a flush that began after its own write has ended, so a commit is as
//! durable as with one fsync each; a burst of N concurrent commits costs about two flushes
//! instead of N.

use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct GroupFlush {
    state: Mutex<FlushState>,
    flushed: Condvar,
}

#[derive(Default)]
struct FlushState {
    /// Writes applied so far, numbered in order.
    written: u64,
    /// Every write up to this number is on disk.
    durable: u64,
    /// A flush is running; it covers the writes numbered up to the value it started with.
    flushing: bool,
    /// Flushes done, for the benchmark's figures.
    flushes: u64,
}

impl GroupFlush {
    /// Numbers a write the caller has just applied (in memory), for [`Self::wait_durable`].
    pub(super) fn written(&self) -> u64 {
        let mut state = self.lock();
        state.written += 1;
        state.written
    }

    /// Returns once write `ticket` is on disk: flushing itself (with `flush`), or waiting for
    /// a flush that another caller began after the write.
    pub(super) fn wait_durable<E>(
        &self,
        ticket: u64,
        flush: impl Fn() -> Result<(), E>,
    ) -> Result<(), E> {
        let mut state = self.lock();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Everything written so far goes into this flush: its writes were applied before
            // it starts.
            let covers = state.written;
            state.flushing = true;
            drop(state);
            let result = flush();
            state = self.lock();
            state.flushing = false;
            if result.is_ok() {
                state.durable = state.durable.max(covers);
                state.flushes += 1;
            }
            self.flushed.notify_all();
            result?;
        }
    }

    /// Flushes done since the store was opened.
    pub(super) fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    fn lock(&self) -> MutexGuard<'_, FlushState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::GroupFlush;

    /// Every write is covered by a flush that began after it, whatever the interleaving: the
    /// "disk" here records how many writes existed when each flush began.
    #[test]
    fn every_write_waits_for_a_flush_that_covers_it() {
        let group = Arc::new(GroupFlush::default());
        let applied = Arc::new(AtomicU64::new(0));
        let on_disk = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (group, applied, on_disk) = (group.clone(), applied.clone(), on_disk.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mine = {
                            // The write and its number, in the order the store does them.
                            applied.fetch_add(1, Ordering::SeqCst);
                            group.written()
                        };
                        group
                            .wait_durable(mine, || {
                                let now = applied.load(Ordering::SeqCst);
                                on_disk.fetch_max(now, Ordering::SeqCst);
                                Ok::<(), ()>(())
                            })
                            .unwrap();
                        assert!(
                            on_disk.load(Ordering::SeqCst) >= mine,
                            "write {mine} returned before it was on disk"
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(group.flushes() >= 1 && group.flushes() <= 1600);
    }

    #[test]
    fn a_failed_flush_is_the_callers_error_and_the_next_one_retries() {
        let group = GroupFlush::default();
        let ticket = group.written();
        assert_eq!(
            group.wait_durable(ticket, || Err("disk full")),
            Err("disk full")
        );
        assert_eq!(group.wait_durable(ticket, || Ok::<(), &str>(())), Ok(()));
        assert_eq!(group.flushes(), 1);
    }
}
