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
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
