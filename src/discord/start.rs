//! `imap-triage run`: settings, the gateway, then the engine. The gateway connects while the
//! rules pack compiles on its own thread; the store, OCR, the prober, discovery, the dashboard and
//! the crash-leftover resume follow, and the engine is attached last ([`super::Attach`]). Also the
//! bot's timers (lifecycle tick, retention purge), the rules reload on SIGHUP and the shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{checklist_of, reload_rules, Attach, Bot, PURGE_EVERY, SHUTDOWN_GRACE};
use crate::config::{Config, LogFormat};
use crate::engine::Engine;
use crate::metrics;
use crate::store::TriageLog;

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
                stop_gateway(&stop_tx, gateway).await;
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
                stop_gateway(&stop_tx, gateway).await;
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

/// Start-up failed after the gateway began serving: stops it and waits for it, bounded.
async fn stop_gateway<T>(
    stop: &tokio::sync::watch::Sender<bool>,
    gateway: tokio::task::JoinHandle<T>,
) {
    let _ = stop.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, gateway).await;
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
        Ok(workers) => tracing::info!(workers, "OCR is on (workers start with the first image)"),
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
