//! `imap-triage health`: the container health check.
//!
//! Purpose: tell an orchestrator, in one line and an exit code, whether the bot as configured
//! here can work: the settings load (file and `IMAP_TRIAGE_...` variables, as `run` reads them)
//! and name everything `run` needs, the rules pack loads, the probe's extra CA files load, and
//! the store directory exists and takes a write.
//!
//! The running bot holds sled's exclusive lock, so the store is never opened here: the check
//! writes, syncs and removes a small file beside sled's. When `[metrics] listen` is set, the
//! running bot itself is asked too (`GET /health` on that endpoint).
//!
//! Exit codes: 0 healthy; 1 unhealthy, with one line on stderr naming what failed. (Docker
//! reserves 2, so a bad configuration is 1 here, unlike in the other commands.)

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use crate::config::Config;

/// The most any one step of asking the running bot may take.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(3);

/// What a healthy check found, for the one line printed on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthy {
    pub rules: String,
    pub store: String,
    /// "on", or "off (why)": OCR being off never makes the bot unhealthy.
    pub ocr: String,
}

/// Runs every check; the first failure is the one-line reason.
pub fn check(config: &Config) -> Result<Healthy, String> {
    config.discord().map_err(|e| e.to_string())?;
    let rules = rules(config)?;
    ca_files(config)?;
    store_writable(&config.store.path)?;
    endpoint(config)?;
    let ocr = if !config.ocr.enabled {
        "off (switched off in the settings)".to_string()
    } else {
        let program = crate::ocr::pool::worker_program(config.ocr.worker.as_deref());
        match crate::ocr::pool::check_worker(&program) {
            Ok(()) => "on".to_string(),
            Err(off) => format!("off ({})", off.0),
        }
    };
    Ok(Healthy {
        rules,
        store: config.store.path.display().to_string(),
        ocr,
    })
}

/// Returns the process exit code: 0 when healthy.
pub fn run(config: Option<&Path>) -> i32 {
    let result = Config::load(config)
        .map_err(|e| e.to_string())
        .and_then(|config| check(&config));
    match result {
        Ok(healthy) => {
            println!(
                "imap-triage health: ok (rules: {}; store: {} writable; OCR {})",
                healthy.rules, healthy.store, healthy.ocr
            );
            0
        }
        Err(reason) => {
            eprintln!("imap-triage health: {}", one_line(&reason));
            1
        }
    }
}

fn rules(config: &Config) -> Result<String, String> {
    let (loaded, source) = match &config.rules.path {
        Some(dir) => (crate::rules_dir::load(dir), dir.display().to_string()),
        None => (crate::rules_dir::embedded(), "embedded".to_string()),
    };
    match loaded {
        Ok(_) => Ok(source),
        Err(errors) => {
            let count = errors.0.len();
            let first = errors
                .0
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            let more = if count > 1 {
                format!(" (and {} more)", count - 1)
            } else {
                String::new()
            };
            Err(format!("rules: {first}{more}"))
        }
    }
}

fn ca_files(config: &Config) -> Result<(), String> {
    let anchors: Vec<&Path> = config.probe.ca_files.iter().map(|p| p.as_path()).collect();
    crate::probe::tls::TlsSetup::new(&anchors)
        .map(|_| ())
        .map_err(|e| format!("config: probe.ca_files: {e}"))
}

/// The store directory exists and a file in it can be created, written, synced and removed:
/// this catches a missing or wrongly mounted volume, a read-only one, and a full disk.
fn store_writable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!(
                "store: {shown} does not exist (is the data volume mounted? has the bot started?)"
            )
        }
        _ => format!("store: cannot read {shown}: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(format!("store: {shown} is not a directory"));
    }
    let unwritable = |e: std::io::Error| format!("store: {shown} is not writable: {e}");
    let mut probe = tempfile::Builder::new()
        .prefix(".health-")
        .tempfile_in(path)
        .map_err(unwritable)?;
    probe.write_all(b"ok\n").map_err(unwritable)?;
    probe.as_file().sync_all().map_err(unwritable)?;
    probe.close().map_err(unwritable)
}

/// When `[metrics] listen` is set, the running bot serves `GET /health`: ask it, so that a bot
/// whose process is up but not serving is reported too, not only a broken configuration. A
/// wildcard listen address is asked on loopback. Every step is bounded (the orchestrator's
/// own timeout is longer).
fn endpoint(config: &Config) -> Result<(), String> {
    let Some(listen) = config.metrics.listen else {
        return Ok(());
    };
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    let fail = |why: String| format!("metrics endpoint {addr}: {why}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    // reqwest (already in the tree through serenity): one GET, every step bounded.
    let client = reqwest::Client::builder()
        .connect_timeout(ENDPOINT_TIMEOUT)
        .timeout(ENDPOINT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let url = format!("http://{addr}/health");
    let status = runtime.block_on(async {
        client
            .get(&url)
            .send()
            .await
            .map(|response| response.status())
    });
    match status {
        Ok(status) if status.is_success() => Ok(()),
        Ok(status) => Err(fail(format!("GET /health answered {status}"))),
        Err(e) if e.is_connect() || e.is_timeout() => Err(fail(error_chain(&e))),
        Err(e) => Err(fail(format!(
            "no answer to GET /health ({})",
            error_chain(&e)
        ))),
    }
}

/// reqwest's error and its causes, in one line (the cause says "connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    // Bounded: error chains are short, and this stops a cyclic one.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
