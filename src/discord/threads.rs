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
}

#[derive(Debug, Default)]
pub struct Threads {
    inner: Mutex<Inner>,
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
        }
        inner.unwatched.remove(&thread);
        inner.watched.insert(thread, info);
    }

    pub fn set_member(&self, thread: u64, member: u64) {
        if let Some(info) = self.lock().watched.get_mut(&thread) {
            info.member.get_or_insert(member);
        }
    }

    pub fn insert_unwatched(&self, channel: u64) {
        let mut inner = self.lock();
        if inner.unwatched.len() >= MAX_ENTRIES {
            inner.unwatched.clear();
        }
        inner.unwatched.insert(channel);
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
