//! Purpose: what the adapter remembers about channels, so that each message costs no REST call:
//! which threads are watched (and where their starter message lives), and which channels are not.
//! Bounded: past `MAX_ENTRIES` the memory is cleared and refilled from Discord on demand.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

const MAX_ENTRIES: usize = 100_000;

/// Where a watched thread lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadKind {
    /// A post in a watched forum: the starter message is in the thread itself.
    Forum,
    /// A thread the bot opened on a message in a watched text channel: the starter message
    /// (same id as the thread) is in the parent channel.
    FromTextChannel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    pub kind: ThreadKind,
    pub parent: u64,
    pub guild: Option<u64>,
    pub title: String,
    /// The member who opened the post, when known.
    pub member: Option<u64>,
    /// The forum tags the thread carries, as the gateway or the bot's last edit left them;
    /// `None` when not known (then asked of Discord).
    pub tags: Option<Vec<u64>>,
}

#[derive(Debug, Default)]
pub struct Threads {
    inner: Mutex<Inner>,
    /// Woken whenever a channel is filed (watched or not), for [`Threads::wait_filed`].
    filed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Inner {
    watched: HashMap<u64, ThreadInfo>,
    unwatched: HashSet<u64>,
}

impl Threads {
    pub fn new() -> Self {
        Threads::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, thread: u64) -> Option<ThreadInfo> {
        self.lock().watched.get(&thread).cloned()
    }

    pub fn is_unwatched(&self, channel: u64) -> bool {
        self.lock().unwatched.contains(&channel)
    }

    /// Remembers a watched thread, keeping a known member when the new info has none.
    pub fn insert(&self, thread: u64, mut info: ThreadInfo) {
        let mut inner = self.lock();
        if inner.watched.len() >= MAX_ENTRIES {
            inner.watched.clear();
        }
        if let Some(old) = inner.watched.get(&thread) {
            info.member = info.member.or(old.member);
            info.guild = info.guild.or(old.guild);
            info.tags = info.tags.or(old.tags.clone());
        }
        inner.unwatched.remove(&thread);
        inner.watched.insert(thread, info);
        drop(inner);
        self.filed.notify_waiters();
    }

    /// Waits, up to `limit`, until `channel` is filed as watched or not; true when it is.
    /// A forum post's THREAD_CREATE comes before its first message, but serenity runs each
    /// event in a task of its own and the message's may run first: waiting a moment for the
    /// THREAD_CREATE's task spares a `GET /channels/{id}` per new post.
    pub async fn wait_filed(&self, channel: u64, limit: std::time::Duration) -> bool {
        let filed = || {
            let inner = self.lock();
            inner.watched.contains_key(&channel) || inner.unwatched.contains(&channel)
        };
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.filed.notified();
            tokio::pin!(notified);
            // Registered before the check, so that a filing between the two is not missed.
            notified.as_mut().enable();
            if filed() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return filed();
            }
        }
    }

    pub fn set_member(&self, thread: u64, member: u64) {
        if let Some(info) = self.lock().watched.get_mut(&thread) {
            info.member.get_or_insert(member);
        }
    }

    /// The tags a watched thread now carries (THREAD_UPDATE, or the bot's own edit).
    pub fn set_tags(&self, thread: u64, tags: Vec<u64>) {
        if let Some(info) = self.lock().watched.get_mut(&thread) {
            info.tags = Some(tags);
        }
    }

    pub fn insert_unwatched(&self, channel: u64) {
        let mut inner = self.lock();
        if inner.unwatched.len() >= MAX_ENTRIES {
            inner.unwatched.clear();
        }
        inner.unwatched.insert(channel);
        drop(inner);
        self.filed.notify_waiters();
    }
}

/// Ids handled recently by the adapter itself (not by the engine), so that a replayed event
/// doesn't open a second thread or repeat an adapter-made reply. Bounded, oldest forgotten first.
#[derive(Debug, Default)]
pub struct Recent {
    inner: Mutex<(HashSet<u64>, std::collections::VecDeque<u64>)>,
}

const RECENT_CAP: usize = 10_000;

impl Recent {
    /// True the first time `id` is seen.
    pub fn first(&self, id: u64) -> bool {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (set, order) = &mut *guard;
        if !set.insert(id) {
            return false;
        }
        order.push_back(id);
        if order.len() > RECENT_CAP {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }
}

/// Keeps a new thread's first message ahead of the rest. serenity runs each gateway event in its
/// own task, so a follow-up sent right after a post can reach the engine before the post (which
/// the engine would then ignore, not knowing the thread yet). A message in a thread younger than
/// [`YOUNG_MS`] waits (bounded) until the starter has been handled.
#[derive(Debug, Default)]
pub struct StarterGate {
    inner: Mutex<HashMap<u64, tokio::sync::watch::Sender<bool>>>,
}

/// A message this soon after its thread was created may overtake the starter.
pub const YOUNG_MS: u64 = 60_000;

impl StarterGate {
    fn sender(&self, thread: u64) -> tokio::sync::watch::Sender<bool> {
        let mut map = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > RECENT_CAP {
            map.retain(|_, tx| !*tx.borrow());
        }
        map.entry(thread)
            .or_insert_with(|| tokio::sync::watch::channel(false).0)
            .clone()
    }

    /// The starter of `thread` has been handled.
    pub fn done(&self, thread: u64) {
        self.sender(thread).send_replace(true);
    }

    /// A new thread was seen (THREAD_CREATE, or the bot opened it): its starter is expected.
    pub fn expect(&self, thread: u64) {
        drop(self.sender(thread));
    }

    /// Waits until the starter of `thread` is handled, when `message` is young enough to have
    /// overtaken it: up to `expected` for a thread announced by [`Self::expect`], up to `unknown`
    /// otherwise (say, the starter was handled before a restart).
    pub async fn wait(
        &self,
        thread: u64,
        message: u64,
        expected: std::time::Duration,
        unknown: std::time::Duration,
    ) {
        // Snowflakes carry their creation time (ms) above bit 22.
        let age = (message >> 22).saturating_sub(thread >> 22);
        if message == thread || age > YOUNG_MS {
            return;
        }
        let known = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains_key(&thread);
        let mut rx = self.sender(thread).subscribe();
        let limit = if known { expected } else { unknown };
        if tokio::time::timeout(limit, rx.wait_for(|done| *done))
            .await
            .is_err()
        {
            tracing::debug!(
                thread,
                message,
                "the thread's first message was not seen in time"
            );
        }
    }
}

/// Keeps each thread's messages handled in the order Discord sent them. serenity runs every
/// gateway event in its own task, so a burst's tasks start in any order (the newest often
/// first); but it files each message in its cache *before* spawning the task, in gateway order.
/// So when a message's task runs, every message sent before it in the same channel (and still
/// cached: [`MESSAGES_CACHED`] per channel) is in the cache, and the task waits until those are
/// done. Messages from before this process are not cached and not waited for.
#[derive(Debug, Default)]
pub struct Arrivals {
    inner: Mutex<HashMap<u64, Channel>>,
}

/// Messages serenity keeps per channel: the ordering reaches back this far in a burst.
pub const MESSAGES_CACHED: usize = 32;
/// Done ids kept per channel: more than the cache holds, so that a cached id is never forgotten.
const DONE_KEPT: usize = 2 * MESSAGES_CACHED;
/// Channels remembered; past this, the least useful (nothing waiting) are forgotten.
const CHANNELS_KEPT: usize = 10_000;

#[derive(Debug, Default)]
struct Channel {
    done: std::collections::BTreeSet<u64>,
    changed: std::sync::Arc<tokio::sync::Notify>,
}

/// Marks its message done when dropped, however its handling ended.
pub struct Arrival<'a> {
    arrivals: &'a Arrivals,
    channel: u64,
    message: u64,
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.arrivals.done(self.channel, self.message);
    }
}

impl Arrivals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Channel>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A message's task has begun; the returned guard marks it done when the task ends.
    pub fn arrived(&self, channel: u64, message: u64) -> Arrival<'_> {
        Arrival {
            arrivals: self,
            channel,
            message,
        }
    }

    fn done(&self, channel: u64, message: u64) {
        let mut channels = self.lock();
        if channels.len() >= CHANNELS_KEPT && !channels.contains_key(&channel) {
            channels.retain(|_, c| std::sync::Arc::strong_count(&c.changed) > 1);
        }
        let entry = channels.entry(channel).or_default();
        entry.done.insert(message);
        while entry.done.len() > DONE_KEPT {
            entry.done.pop_first();
        }
        entry.changed.notify_waiters();
    }

    /// Waits until every id in `earlier` (messages of `channel` sent before this one) is done,
    /// at most `bound`; `earlier` is asked again after each change.
    pub async fn wait_for(
        &self,
        channel: u64,
        earlier: impl Fn() -> Vec<u64>,
        bound: std::time::Duration,
    ) {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let changed = std::sync::Arc::clone(&self.lock().entry(channel).or_default().changed);
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let earlier = earlier();
            let pending = {
                let channels = self.lock();
                let done = channels.get(&channel).map(|c| &c.done);
                earlier
                    .into_iter()
                    .any(|id| !done.is_some_and(|d| d.contains(&id)))
            };
            if !pending {
                return;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                tracing::debug!(channel, "an earlier message was not done in time");
                return;
            }
            // Re-checked now and then too: a forgotten channel gets a new notifier.
            let step = (deadline - now).min(std::time::Duration::from_millis(200));
            let _ = tokio::time::timeout(step, notified).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A message waits while an earlier one of its channel runs, and goes once it is done; one
    /// already done holds nothing.
    #[tokio::test]
    async fn a_message_waits_for_the_earlier_ones_of_its_channel_only() {
        let arrivals = Arc::new(Arrivals::default());
        let first = arrivals.arrived(7, 100);
        let waiter = {
            let arrivals = Arc::clone(&arrivals);
            tokio::spawn(async move {
                arrivals
                    .wait_for(7, || vec![100], Duration::from_secs(60))
                    .await
            })
        };
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished(), "message 100 is still running");
        drop(first);
        tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("released when message 100 is done")
            .expect("the waiter ran");
        // Done already: no wait at all.
        tokio::time::timeout(
            Duration::from_secs(30),
            arrivals.wait_for(7, || vec![100], Duration::from_secs(60)),
        )
        .await
        .expect("no wait for a done message");
    }
}
