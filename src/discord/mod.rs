//! The Discord adapter (serenity): gateway events -> engine events, engine effects -> REST.
//!
//! # Layout
//! - [`handler`]: the gateway side. Messages, new forum threads and interactions become
//!   [`crate::engine::Event`]s; interactions are answered (acknowledged first, the engine's
//!   private text as an ephemeral follow-up).
//! - [`chat`]: [`chat::DiscordChat`], the engine's [`crate::engine::chat::Chat`] over REST.
//! - [`render`]: pure payload building (components, modal, mentions, embed) and custom ids.
//! - [`threads`]: what the adapter remembers about channels, bounded.
//!
//! [`Bot::connect`] builds the client (and so the `Http` the engine's chat uses);
//! [`Bot::run`] attaches the engine and runs until the shutdown future completes.

pub mod chat;
pub mod handler;
pub mod render;
pub mod threads;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serenity::all::{Client, GatewayIntents, HttpBuilder};

use crate::config::{Config, DiscordSettings};
use crate::engine::Engine;
use chat::DiscordChat;
use handler::Handler;
use threads::{Recent, StarterGate, Threads};

/// What the bot subscribes to. MESSAGE_CONTENT is privileged: switch it on in the developer
/// portal.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// serenity's HTTP client for these settings. With `api_base` (tests), REST goes there and the
/// rate limiter is off, because serenity ignores the proxy otherwise; in production it stays on.
pub fn http(settings: &DiscordSettings) -> serenity::all::Http {
    let builder = HttpBuilder::new(settings.token.expose());
    match &settings.api_base {
        Some(base) => builder
            .proxy(base.clone())
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    }
}

/// A connected-but-not-started bot: the client and the chat the engine should use.
pub struct Bot {
    client: Client,
    chat: Arc<DiscordChat>,
    engine: Arc<OnceLock<Arc<Engine>>>,
}

impl Bot {
    /// Builds the client (this asks Discord for the gateway URL). `checklist` is (id, label) per
    /// checklist item, in the rules' order, for the status message's select.
    pub async fn connect(
        settings: DiscordSettings,
        checklist: Vec<(String, String)>,
    ) -> Result<Bot, serenity::Error> {
        let settings = Arc::new(settings);
        let threads = Arc::new(Threads::new());
        let engine = Arc::new(OnceLock::new());
        let handler = Handler {
            settings: Arc::clone(&settings),
            threads: Arc::clone(&threads),
            engine: Arc::clone(&engine),
            bot_id: OnceLock::new(),
            recent: Recent::default(),
            gate: StarterGate::default(),
        };
        let client = serenity::all::ClientBuilder::new_with_http(http(&settings), intents())
            .event_handler(handler)
            .await?;
        let chat = Arc::new(DiscordChat::new(
            Arc::clone(&client.http),
            &settings,
            checklist,
            threads,
        ));
        Ok(Bot {
            client,
            chat,
            engine,
        })
    }

    /// The [`crate::engine::chat::Chat`] to build the engine with.
    pub fn chat(&self) -> Arc<DiscordChat> {
        Arc::clone(&self.chat)
    }

    /// Runs until the gateway gives up or `shutdown` completes.
    pub async fn run(
        mut self,
        engine: Arc<Engine>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), serenity::Error> {
        if self.engine.set(engine).is_err() {
            tracing::warn!("the engine was already attached");
        }
        let shards = Arc::clone(&self.client.shard_manager);
        tokio::select! {
            result = self.client.start() => result,
            () = shutdown => {
                shards.shutdown_all().await;
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
    let rules = match &config.rules.path {
        Some(dir) => crate::rules_dir::load(dir),
        None => crate::rules_dir::embedded(),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            return 2;
        }
    };
    let anchors: Vec<&Path> = config.probe.ca_files.iter().map(|p| p.as_path()).collect();
    let tls = match crate::probe::tls::TlsSetup::new(&anchors) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("config: probe.ca_files: {e}");
            return 2;
        }
    };
    init_logging();
    let store = match crate::store::SledLog::open(&config.store.path) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("imap-triage run: {e}");
            return 1;
        }
    };
    let prober = crate::probe::engine::Prober::new(config.probe.policy(), tls);
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
    runtime.block_on(async move {
        let bot = match Bot::connect(settings, checklist_of(&rules)).await {
            Ok(bot) => bot,
            Err(e) => {
                eprintln!("imap-triage run: cannot connect to Discord: {e}");
                return 1;
            }
        };
        let timings = crate::engine::Timings {
            reminder_after: config.lifecycle.reminder_after_hours.saturating_mul(3600),
            close_after: config.lifecycle.close_after_hours.saturating_mul(3600),
            ..crate::engine::Timings::default()
        };
        let engine = Engine::new(rules, Arc::new(store), bot.chat(), Some(Arc::new(prober)))
            .with_timings(timings);
        let engine = Arc::new(engine);
        let shutdown = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("shutting down");
        };
        match bot.run(engine, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("imap-triage run: {e}");
                1
            }
        }
    })
}

/// Logs to stderr; `RUST_LOG` overrides the default (`info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,serenity=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
