//! `imap-triage dashboard`: the dashboard over a store, without the bot. When the bot runs it
//! holds the store's lock, so this reads a copy (as `log` does) taken at start; actions are
//! refused (they need the bot's engine and its Discord connection).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use super::{public_url, router, signing_key, Moderator, Web};
use crate::config::Config;

/// The address used when neither `--listen` nor `[web] listen` gives one: loopback.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Whoever started the command on the machine: the standalone dashboard's one moderator.
pub fn operator() -> Moderator {
    Moderator {
        id: 0,
        name: "local operator".to_string(),
    }
}

/// Returns the exit code: 1 for a store or port that can't be used, 2 for bad settings.
pub fn run(config: Option<&Path>, listen: Option<SocketAddr>) -> i32 {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (store, copy) = match crate::log_cli::open_for_reading(&config.store.path) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("imap-triage dashboard: {e}");
            return 1;
        }
    };
    let key = match signing_key(config.web.key.as_ref(), &store) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("imap-triage dashboard: {e}");
            return 1;
        }
    };
    let listen = listen
        .or(config.web.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().unwrap_or_else(|_| unreachable!()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imap-triage dashboard: cannot start: {e}");
            return 1;
        }
    };
    let copied = copy.is_some();
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("imap-triage dashboard: cannot listen on {listen}: {e}");
                return 1;
            }
        };
        let bound = listener.local_addr().unwrap_or(listen);
        let url = public_url(config.web.public_url.as_deref(), bound);
        let (refusal, banner) = if copied {
            (
                "Actions are refused here: this dashboard reads a copy of the store, and the running bot holds the store. Act from Discord, or open the dashboard the bot serves (/triage dashboard).".to_string(),
                Some(format!(
                    "A read-only copy of the store, taken at {} UTC while the bot runs. Restart the command to refresh it.",
                    crate::store::query::rfc3339(super::now()).replace('T', " ").replace('Z', "")
                )),
            )
        } else {
            (
                "Actions are refused here: the standalone dashboard has no Discord connection to carry them out. Act from Discord, or open the dashboard the bot serves (/triage dashboard).".to_string(),
                Some("Read-only: the standalone dashboard shows the store; actions need the bot.".to_string()),
            )
        };
        let store: Arc<dyn crate::store::TriageLog> = Arc::new(store);
        let web = Arc::new(Web::read_only(store, refusal, key, &url, banner));
        println!("Dashboard: {}", web.login_link(operator()));
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        crate::metrics::serve_router(listener, router(web), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        // The copy (a temp dir) is removed when `copy` drops.
        drop(copy);
        0
    })
}
