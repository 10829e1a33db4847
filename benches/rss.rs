//! Memory of the engine with many open tickets: resident set size before and after opening
//! 10,000 tickets through the engine, with a real sled store in a temp dir.
//! Run: `cargo bench --bench rss` (`RSS_SLED_CACHE_MIB=N` for another sled page cache). Prints
//! the figures; nothing is asserted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use imap_triage::engine::chat::{
    Chat, ChatError, EscalationSummary, MessageId, OutMessage, ThreadId, TicketState,
};
use imap_triage::engine::{Engine, Event, Incoming};
use imap_triage::store::SledLog;

/// A platform that accepts everything and keeps nothing.
#[derive(Default)]
struct Sink(AtomicU64);

#[async_trait]
impl Chat for Sink {
    async fn post(&self, _: ThreadId, _: OutMessage) -> Result<MessageId, ChatError> {
        Ok(MessageId(self.0.fetch_add(1, Ordering::Relaxed)))
    }
    async fn edit(&self, _: ThreadId, _: MessageId, _: OutMessage) -> Result<(), ChatError> {
        Ok(())
    }
    async fn delete(&self, _: ThreadId, _: MessageId) -> Result<(), ChatError> {
        Ok(())
    }
    async fn set_state(&self, _: ThreadId, _: TicketState) -> Result<(), ChatError> {
        Ok(())
    }
    async fn mod_log(&self, _: &EscalationSummary) -> Result<(), ChatError> {
        Ok(())
    }
    async fn close(&self, _: ThreadId) -> Result<(), ChatError> {
        Ok(())
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const TICKETS: u64 = 10_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let before = rss_kib();
    // `RSS_SLED_CACHE_MIB`: sled's page cache for this run (default: the bot's).
    let cache = std::env::var("RSS_SLED_CACHE_MIB")
        .ok()
        .and_then(|mib| mib.parse::<u64>().ok())
        .map_or(imap_triage::store::sled_store::DEFAULT_CACHE_BYTES, |mib| {
            mib << 20
        });
    println!("sled page cache: {} MiB", cache >> 20);
    let store = Arc::new(SledLog::open_with_cache(&dir.path().join("db"), cache).expect("store"));
    let opened = rss_kib();
    let rules = imap_triage::rules_dir::embedded().expect("rules");
    let compiled = rss_kib();
    // As the bot does once it has started.
    imap_triage::memory::release_freed();
    let idle = rss_kib();
    println!("RSS before the store: {before} KiB");
    println!(
        "  after opening the store: {opened} KiB (+{} KiB)",
        opened.saturating_sub(before)
    );
    println!(
        "  after compiling the rules pack: {compiled} KiB (+{} KiB)",
        compiled.saturating_sub(opened)
    );
    println!("  after memory::release_freed: {idle} KiB");
    let engine = Engine::new(rules, store, Arc::new(Sink::default()), None);
    let started = std::time::Instant::now();
    runtime.block_on(async {
        for thread in 1..=TICKETS {
            let starter = Incoming {
                id: MessageId(thread),
                author: 1_000_000 + thread,
                author_is_bot: false,
                author_is_moderator: false,
                text: format!(
                    "IMAP authentication error on mail.customer{thread}.com:993, Hub ID {}",
                    4_000_000 + thread
                ),
                attachments: Vec::new(),
            };
            engine
                .handle(Event::NewThread {
                    thread: ThreadId(thread),
                    title: format!("case {thread}"),
                    starter,
                })
                .await
                .expect("handled");
        }
        engine.tick().await.expect("tick");
    });
    let elapsed = started.elapsed();
    let full = rss_kib();
    imap_triage::memory::release_freed();
    let trimmed = rss_kib();
    println!("engine idle RSS: {} KiB", idle);
    println!(
        "engine RSS with {TICKETS} open tickets: {} KiB (+{} KiB)",
        full,
        full.saturating_sub(idle)
    );
    println!("  after memory::release_freed: {trimmed} KiB");
    println!(
        "opened {TICKETS} tickets in {:.1} s ({:.0} per second, one flush each: the begun event's)",
        elapsed.as_secs_f64(),
        TICKETS as f64 / elapsed.as_secs_f64()
    );
}
