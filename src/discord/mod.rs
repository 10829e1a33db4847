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
pub mod threads;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serenity::all::{Client, GatewayIntents, HttpBuilder};
use tokio::sync::Notify;

use crate::config::{Config, DiscordSettings, LogFormat};
use crate::engine::Engine;
use crate::metrics::{self, METRICS};
use crate::store::TriageLog;
use chat::DiscordChat;
use handler::Handler;
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

/// `imap-triage run [--config FILE]`; returns the process exit code: 2 for a bad setting or rules,
/// 1 when the bot cannot start or stops on an error.
///
/// The gateway connects (IDENTIFY) while the rules pack compiles on its own thread: compiling it
/// is most of the start-up time (BENCHMARKS.md, "Start-up"). Events wait for the engine, which
/// is attached once the pack is compiled and the events a crash cut short are finished. A pack
/// that doesn't validate still stops the bot with its errors and exit code 2, before any event
/// is handled.
pub fn run(config: Option<&Path>) -> i32 {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let settings = match config.discord() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let rules = compile_rules_in_background(config.rules.path.clone());
    let anchors: Vec<&Path> = config.probe.ca_files.iter().map(|p| p.as_path()).collect();
    let tls = match crate::probe::tls::TlsSetup::new(&anchors) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("config: probe.ca_files: {e}");
            return 2;
        }
    };
    metrics::init_logging(config.log.format == LogFormat::Json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("imap-triage run: cannot start the async runtime: {e}");
            return 1;
        }
    };
    // The store is opened once the gateway connects (opening it is not needed for that), and
    // flushed at the end.
    let mut opened: Option<Arc<crate::store::SledLog>> = None;
    let code = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let metrics_task = match config.metrics.listen {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!(%addr, "serving metrics");
                    let stopped = stopped(stop_rx.clone());
                    Some(tokio::spawn(metrics::serve(listener, stopped)))
                }
                Err(e) => {
                    eprintln!("imap-triage run: metrics.listen {addr}: {e}");
                    return 1;
                }
            },
            None => None,
        };
        let bot = match Bot::connect(settings).await {
            Ok(bot) => bot.with_rules_dir(config.rules.path.clone()),
            Err(e) => {
                eprintln!("imap-triage run: cannot connect to Discord: {e}");
                return 1;
            }
        };
        let attach = bot.attach();
        let gateway = {
            let stop = stopped(stop_rx.clone());
            tokio::spawn(bot.serve(async move {
                tokio::select! {
                    () = shutdown_signal() => {}
                    () = stop => {}
                }
            }))
        };
        let store = match crate::store::SledLog::open(&config.store.path) {
            Ok(store) => Arc::new(store),
            Err(e) => {
                eprintln!("imap-triage run: {e}");
                let _ = stop_tx.send(true);
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, gateway).await;
                return 1;
            }
        };
        opened = Some(Arc::clone(&store));
        let engine = match rules.await {
            Ok(Ok(rules)) => start_engine(&config, rules, &store, tls, &attach, &stop_rx).await,
            Ok(Err(errors)) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                Err(2)
            }
            Err(_) => {
                eprintln!("imap-triage run: the rules pack was not compiled (its thread stopped)");
                Err(1)
            }
        };
        let (engine, web_task) = match engine {
            Ok(started) => started,
            Err(code) => {
                let _ = stop_tx.send(true);
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, gateway).await;
                return code;
            }
        };
        // Compiling the rules pack and starting OCR leave freed pages behind.
        crate::memory::release_freed();
        let timers = tokio::spawn(timers(
            Arc::clone(&engine),
            Duration::from_secs(config.lifecycle.tick_secs),
            config.lifecycle.retention_days,
            stop_rx.clone(),
        ));
        let reloads = tokio::spawn(reload_on_sighup(
            Arc::clone(&engine),
            config.rules.path.clone(),
            stop_rx.clone(),
        ));
        let result = gateway.await;
        let _ = stop_tx.send(true);
        // Each stops at the next await on the stop signal; bounded all the same.
        for task in [timers, reloads] {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("a background task did not stop in time");
            }
        }
        for task in [metrics_task, web_task].into_iter().flatten() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        match result {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => {
                eprintln!("imap-triage run: {e}");
                1
            }
            Err(e) => {
                eprintln!("imap-triage run: the gateway task failed: {e}");
                1
            }
        }
    });
    // Nothing may be left in memory only: the engine flushes every commit, and this is the
    // last word.
    let code = match opened.map(|store| store.flush()) {
        None | Some(Ok(())) => code,
        Some(Err(e)) => {
            eprintln!("imap-triage run: flushing the store: {e}");
            1
        }
    };
    // Tasks still blocked (a probe past its budget) don't hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(2));
    if code == 0 {
        tracing::info!("stopped");
    }
    code
}

/// Loads, validates and compiles the rules pack (`dir`, else the embedded one) on a thread of
/// its own, so that connecting to Discord doesn't wait for it.
fn compile_rules_in_background(
    dir: Option<PathBuf>,
) -> tokio::sync::oneshot::Receiver<Result<crate::core::Rules, crate::core::rules::RulesErrors>> {
    let (done, compiled) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("rules".to_string())
        .spawn(move || {
            let rules = match &dir {
                Some(dir) => crate::rules_dir::load(dir),
                None => crate::rules_dir::embedded(),
            };
            let _ = done.send(rules);
        });
    if let Err(e) = spawned {
        // The closure (and so `done`) is dropped: the receiver reports it.
        eprintln!("imap-triage run: cannot start the rules thread: {e}");
    }
    compiled
}

/// Builds the engine on `rules` (OCR, the prober, discovery), finishes the events a crash cut
/// short, serves the dashboard when `[web] listen` says so, and attaches the engine to the
/// running gateway. `Err` is the exit code, after saying why.
async fn start_engine(
    config: &Config,
    rules: crate::core::Rules,
    store: &Arc<crate::store::SledLog>,
    tls: crate::probe::tls::TlsSetup,
    attach: &Attach,
    stop_rx: &tokio::sync::watch::Receiver<bool>,
) -> Result<(Arc<Engine>, Option<tokio::task::JoinHandle<()>>), i32> {
    let timings = crate::engine::Timings {
        reminder_after: config.lifecycle.reminder_after_hours.saturating_mul(3600),
        close_after: config.lifecycle.close_after_hours.saturating_mul(3600),
        ..crate::engine::Timings::default()
    };
    let log: Arc<dyn TriageLog> = Arc::clone(store) as Arc<dyn TriageLog>;
    let ocr = crate::ocr::Ocr::start(&config.ocr.settings());
    match ocr.status() {
        Ok(workers) => tracing::info!(workers, "OCR is on"),
        Err(off) => tracing::warn!("{off}; images are counted, not read"),
    }
    let prober = crate::probe::engine::Prober::new(config.probe.policy(), tls.clone());
    let chat = attach.chat(checklist_of(&rules));
    let mut engine = Engine::new(rules, log, chat, Some(Arc::new(prober)))
        .with_timings(timings)
        .with_ocr(Arc::new(ocr));
    if config.probe.discover {
        let p = &config.probe;
        match crate::discover::Discoverer::configured(p.resolver, p.allow_private, tls) {
            Ok(discoverer) => engine = engine.with_discoverer(Arc::new(discoverer)),
            Err(e) => tracing::warn!("email domains are not looked up: {e}"),
        }
    }
    let engine = Arc::new(engine);
    // The events a crash cut short are finished before any new one is taken (the gateway's
    // events wait for the engine, attached below), so each thread's stay in order.
    match engine.resume_pending().await {
        Ok(0) => {}
        Ok(events) => tracing::warn!(events, "finished the events a crash cut short"),
        Err(e) => tracing::error!(error = %e, "could not finish the events a crash cut short"),
    }
    // `[web] listen`: the dashboard, in-process, acting through this engine.
    let web_task = match config.web.listen {
        None => None,
        Some(addr) => {
            let key = match crate::web::signing_key(config.web.key.as_ref(), store) {
                Ok(key) => key,
                Err(e) => {
                    eprintln!("imap-triage run: the dashboard's key: {e}");
                    return Err(1);
                }
            };
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => listener,
                Err(e) => {
                    eprintln!("imap-triage run: web.listen {addr}: {e}");
                    return Err(1);
                }
            };
            let bound = listener.local_addr().unwrap_or(addr);
            let url = crate::web::public_url(config.web.public_url.as_deref(), bound);
            let web = Arc::new(crate::web::Web::with_engine(
                Arc::clone(store) as Arc<dyn TriageLog>,
                Arc::clone(&engine),
                key,
                &url,
            ));
            tracing::info!(%bound, "serving the dashboard");
            let task = tokio::spawn(metrics::serve_router(
                listener,
                crate::web::router(Arc::clone(&web)),
                stopped(stop_rx.clone()),
            ));
            attach.dashboard(web);
            Some(task)
        }
    };
    attach.engine(Arc::clone(&engine));
    Ok((engine, web_task))
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                    r = tokio::signal::ctrl_c() => match r {
                        Ok(()) => tracing::info!("SIGINT: shutting down"),
                        Err(_) => { term.recv().await; }
                    },
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGTERM"),
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    tracing::info!("SIGINT: shutting down");
}

/// The lifecycle timers every `tick`, and the purge of closed cases older than
/// `retention_days` at start and every [`PURGE_EVERY`], until `stop`.
async fn timers(
    engine: Arc<Engine>,
    tick: Duration,
    retention_days: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purges = tokio::time::interval(PURGE_EVERY);
    purges.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopped = stopped(stop);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            _ = purges.tick() => purge(engine.store().as_ref(), retention_days),
            _ = ticks.tick() => match engine.tick().await {
                Ok(0) => {}
                Ok(acted) => tracing::info!(acted, "lifecycle: reminders, warnings and closes sent"),
                Err(e) => tracing::error!(error = %e, "lifecycle tick failed"),
            },
        }
    }
}

/// Purges closed and resolved cases last updated more than `retention_days` ago.
pub fn purge(store: &dyn TriageLog, retention_days: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let before = now.saturating_sub(retention_days.saturating_mul(24 * 3600));
    match store.purge_closed_before(before) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, retention_days, "purged closed cases"),
        Err(e) => tracing::error!(error = %e, "purging closed cases failed"),
    }
}

/// SIGHUP reloads the rules, until `stop`.
async fn reload_on_sighup(
    engine: Arc<Engine>,
    dir: Option<PathBuf>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(hup) => hup,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with /triage reload-rules");
                return stopped(stop).await;
            }
        };
        let stopped = stopped(stop);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                () = &mut stopped => return,
                received = hup.recv() => {
                    if received.is_none() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading the rules");
                    let _ = reload_rules(&engine, dir.as_deref());
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (engine, dir);
        stopped(stop).await
    }
}
