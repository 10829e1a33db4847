//! The Discord adapter (serenity): gateway events -> engine events, engine effects -> REST.
//!
//! # Layout
//! - [`handler`]: the gateway side. Messages, new forum threads and interactions become
//!   [`crate::engine::Event`]s; interactions are answered (acknowledged first, the engine's
//!   private text as an ephemeral follow-up).
//! - [`commands`]: the `/triage` slash command's definition, and an invocation read back.
//! - [`automod`]: `/triage automod install|status|remove` over REST, and which AutoMod rule is
//!   the bot's (for the follow-up to a blocked message).
//! - [`chat`]: [`chat::DiscordChat`], the engine's [`crate::engine::chat::Chat`] over REST.
//! - [`render`]: pure payload building (components, modal, mentions, embed) and custom ids.
//! - [`threads`]: what the adapter remembers about channels, bounded.
//! - `start`: `imap-triage run` ([`run`]): settings, the gateway, then the engine; the timers,
//!   the rules reload on SIGHUP and the shutdown.
//!
//! [`Bot::connect`] builds the client (and so the `Http` the engine's chat uses);
//! [`Bot::run`] attaches the engine and runs until the shutdown future completes;
//! [`Bot::serve`] runs the gateway before the engine exists (`imap-triage run` connects while
//! the rules pack compiles), and [`Attach`] attaches it later: events wait for it.

pub mod automod;
pub mod chat;
pub mod commands;
pub mod handler;
pub mod render;
pub mod review;
mod start;
pub mod threads;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serenity::all::{Client, GatewayIntents, HttpBuilder};
use tokio::sync::Notify;

use crate::config::DiscordSettings;
use crate::engine::Engine;
use crate::metrics::{self, METRICS};
use chat::DiscordChat;
use handler::Handler;
pub use start::{purge, run};
use threads::{Recent, StarterGate, Threads};

/// How long a shutdown waits for the engine handlers already running to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often closed cases past the retention period are purged (and once at start).
pub const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// What the adapter subscribes to. MESSAGE_CONTENT is privileged: switch it on in the developer
/// portal. AUTO_MODERATION_EXECUTION brings the blocks of the AutoMod rule (to follow up on).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::AUTO_MODERATION_EXECUTION
}

/// serenity's HTTP client for these settings. With `api_base` (tests), REST goes there and the
/// rate limiter is off, because serenity ignores the proxy otherwise; in production it stays on,
/// and every wait or 429 it sees counts in `METRICS.rate_limit_hits`. With the limiter off,
/// serenity returns a 429 as an ordinary failed request: [`chat::DiscordChat`] counts it and
/// retries the status post/edit once (see there).
pub fn http(settings: &DiscordSettings) -> serenity::all::Http {
    let builder = HttpBuilder::new(settings.token.expose());
    match &settings.api_base {
        Some(base) => builder
            .proxy(base.clone())
            .ratelimiter_disabled(true)
            .build(),
        None => {
            let mut http = builder.build();
            if let Some(limiter) = http.ratelimiter.as_mut() {
                limiter.set_ratelimit_callback(Box::new(|info| {
                    metrics::inc(&METRICS.rate_limit_hits);
                    tracing::debug!(path = %info.path, global = info.global, timeout_ms = info.timeout.as_millis() as u64, "discord: rate limited");
                }));
            }
            http
        }
    }
}

/// The engine handlers running now, so that a shutdown can let them finish.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held while one engine handler runs.
pub(crate) struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    pub(crate) fn enter(&self) -> InFlightGuard<'_> {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self)
    }

    pub(crate) fn running(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until nothing runs, at most `bound`; true when drained.
    pub(crate) async fn drained(&self, bound: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let notified = self.idle.notified();
            if self.running() == 0 {
                return true;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            // Re-checked at least every 100 ms, in case a wake-up raced with the check.
            let step = (deadline - now).min(Duration::from_millis(100));
            let _ = tokio::time::timeout(step, notified).await;
        }
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Reloads the rules from `dir` (or the embedded ones) into `engine`. A pack that doesn't
/// validate is rejected: every error is logged (file, line, rule), the old rules stay active,
/// and the errors come back as text. The status message's checklist select keeps the checklist
/// the bot started with until a restart.
pub fn reload_rules(engine: &Engine, dir: Option<&Path>) -> Result<(), String> {
    let loaded = match dir {
        Some(dir) => crate::rules_dir::load(dir),
        None => crate::rules_dir::embedded(),
    };
    match loaded {
        Ok(rules) => {
            engine.reload_rules(rules);
            crate::memory::release_freed();
            tracing::info!(dir = ?dir, "rules reloaded");
            Ok(())
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!(error = %e, "rules reload rejected; the old rules stay active");
            }
            Err(errors.to_string())
        }
    }
}

/// The engine the handler hands events to, attached once. The bot connects before the rules
/// pack is compiled (so IDENTIFY is not held up by it); an event that arrives before the engine
/// is attached waits for it.
#[derive(Default)]
pub(crate) struct EngineSlot {
    engine: OnceLock<Arc<Engine>>,
    attached: Notify,
}

impl EngineSlot {
    /// False when an engine was already attached (the first one stays).
    fn attach(&self, engine: Arc<Engine>) -> bool {
        let first = self.engine.set(engine).is_ok();
        self.attached.notify_waiters();
        first
    }

    /// The engine, once attached.
    pub(crate) async fn attached(&self) -> &Arc<Engine> {
        loop {
            // Created before the check, so an attach between the check and the wait still
            // wakes it (`notify_waiters` reaches every `Notified` already created).
            let notified = self.attached.notified();
            if let Some(engine) = self.engine.get() {
                return engine;
            }
            notified.await;
        }
    }
}

/// A connected-but-not-started bot: the client, and what the engine's chat is built from.
pub struct Bot {
    client: Client,
    parts: Attach,
    inflight: Arc<InFlight>,
    rules_dir: Arc<Mutex<Option<PathBuf>>>,
}

/// What plugs the engine into a bot whose gateway may already run: the engine's chat (built
/// from the bot's HTTP client and channel memory), the dashboard, and the engine itself.
#[derive(Clone)]
pub struct Attach {
    http: Arc<serenity::all::Http>,
    settings: Arc<DiscordSettings>,
    threads: Arc<Threads>,
    engine: Arc<EngineSlot>,
    /// The dashboard served in-process, for `/triage dashboard`'s links (unset: off).
    dashboard: Arc<OnceLock<Arc<crate::web::Web>>>,
}

impl Attach {
    /// The [`crate::engine::chat::Chat`] to build the engine with (make one per engine).
    /// `checklist` is (id, label) per checklist item, in the rules' order, for the status
    /// message's select.
    pub fn chat(&self, checklist: Vec<(String, String)>) -> Arc<DiscordChat> {
        Arc::new(DiscordChat::new(
            Arc::clone(&self.http),
            &self.settings,
            checklist,
            Arc::clone(&self.threads),
        ))
    }

    /// The dashboard `/triage dashboard` hands out links to.
    pub fn dashboard(&self, web: Arc<crate::web::Web>) {
        let _ = self.dashboard.set(web);
    }

    /// Hands the gateway's events to `engine` from now on, the ones waiting for it first.
    pub fn engine(&self, engine: Arc<Engine>) {
        if !self.engine.attach(engine) {
            tracing::warn!("the engine was already attached");
        }
    }
}

impl Bot {
    /// Builds the client; the gateway connects with [`Bot::run`] or [`Bot::serve`].
    pub async fn connect(settings: DiscordSettings) -> Result<Bot, serenity::Error> {
        let settings = Arc::new(settings);
        let threads = Arc::new(Threads::new());
        let engine = Arc::new(EngineSlot::default());
        let inflight = Arc::new(InFlight::default());
        let rules_dir = Arc::new(Mutex::new(None));
        let dashboard = Arc::new(OnceLock::new());
        let handler = Handler {
            inflight: Arc::clone(&inflight),
            rules_dir: Arc::clone(&rules_dir),
            settings: Arc::clone(&settings),
            threads: Arc::clone(&threads),
            engine: Arc::clone(&engine),
            bot_id: OnceLock::new(),
            recent: Recent::default(),
            gate: StarterGate::default(),
            arrivals: threads::Arrivals::default(),
            automod: automod::AutoModState::default(),
            dashboard: Arc::clone(&dashboard),
        };
        // A few messages per channel: the handler orders a thread's messages by what serenity
        // filed before spawning their tasks (`threads::Arrivals`).
        let mut cache = serenity::cache::Settings::default();
        cache.max_messages = threads::MESSAGES_CACHED;
        let client = serenity::all::ClientBuilder::new_with_http(http(&settings), intents())
            .cache_settings(cache)
            .event_handler(handler)
            .await?;
        let parts = Attach {
            http: Arc::clone(&client.http),
            settings,
            threads,
            engine,
            dashboard,
        };
        Ok(Bot {
            client,
            parts,
            inflight,
            rules_dir,
        })
    }

    /// Where `/triage reload-rules` reads the rules from (unset: the embedded rules).
    pub fn with_rules_dir(self, dir: Option<PathBuf>) -> Self {
        *self
            .rules_dir
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = dir;
        self
    }

    /// The dashboard `/triage dashboard` hands out links to.
    pub fn with_dashboard(self, web: Arc<crate::web::Web>) -> Self {
        self.parts.dashboard(web);
        self
    }

    /// The engine's chat (see [`Attach::chat`]).
    pub fn chat(&self, checklist: Vec<(String, String)>) -> Arc<DiscordChat> {
        self.parts.chat(checklist)
    }

    /// What attaches the engine (and the dashboard) once the gateway runs.
    pub fn attach(&self) -> Attach {
        self.parts.clone()
    }

    /// Attaches `engine`, then runs as [`Bot::serve`].
    pub async fn run(
        self,
        engine: Arc<Engine>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), serenity::Error> {
        self.parts.engine(engine);
        self.serve(shutdown).await
    }

    /// Runs until the gateway gives up or `shutdown` completes; events wait for the engine
    /// ([`Attach::engine`]). On shutdown the shards close first (no new events), then the engine
    /// handlers already running get up to [`SHUTDOWN_GRACE`] to finish; the caller flushes the
    /// store.
    pub async fn serve(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), serenity::Error> {
        let shards = Arc::clone(&self.client.shard_manager);
        tokio::select! {
            result = self.client.start() => result,
            () = shutdown => {
                shards.shutdown_all().await;
                let running = self.inflight.running();
                if running > 0 {
                    tracing::info!(running, "waiting for running handlers to finish");
                }
                if !self.inflight.drained(SHUTDOWN_GRACE).await {
                    tracing::warn!(
                        running = self.inflight.running(),
                        "handlers still running after the shutdown grace; stopping anyway"
                    );
                }
                Ok(())
            }
        }
    }
}

/// The checklist's (id, label) pairs from the rules, for the status message's select.
pub fn checklist_of(rules: &crate::core::Rules) -> Vec<(String, String)> {
    rules
        .checklist
        .items
        .iter()
        .map(|i| (i.id.clone(), i.label.clone()))
        .collect()
}
