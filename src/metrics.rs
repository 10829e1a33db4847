//! Process metrics (the official `prometheus-client` crate), and the operator's endpoint that
//! serves them with axum: `GET /metrics` and `GET /health`.
//!
//! Counters live in one process-wide registry: the engine and the adapters bump them;
//! `GET /metrics` encodes them (OpenMetrics text); `GET /health` answers `ok` while the process
//! serves. The dashboard, when served, is merged into the same router (`crate::web`).

use std::sync::LazyLock;
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Upper bounds of the probe latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0];

/// The counters, each already registered; `probes_*` are the three members of one labelled
/// family (`imap_triage_probes_total{verdict=...}`).
pub struct Metrics {
    pub events_handled: Counter,
    pub replies_posted: Counter,
    pub replies_edited: Counter,
    pub probes_ok: Counter,
    pub probes_failed: Counter,
    pub probes_refused: Counter,
    pub escalations: Counter,
    pub discord_api_errors: Counter,
    pub rate_limit_hits: Counter,
    probe_latency: Histogram,
    registry: Registry,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

pub fn inc(counter: &Counter) {
    counter.inc();
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        // prometheus-client appends `_total` to a counter's name, and a full stop to help.
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let events_handled = counter("imap_triage_events_handled", "Events handled by the engine");
        let replies_posted = counter("imap_triage_replies_posted", "Messages the bot posted");
        let replies_edited = counter("imap_triage_replies_edited", "Messages the bot edited");
        let escalations = counter("imap_triage_escalations", "Cases escalated to moderators");
        let discord_api_errors = counter(
            "imap_triage_discord_api_errors",
            "Discord API calls that failed",
        );
        let rate_limit_hits = counter(
            "imap_triage_rate_limit_hits",
            "Requests refused or delayed by a rate limit",
        );
        let probes = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "imap_triage_probes",
            "Endpoint probes by verdict",
            probes.clone(),
        );
        // A family member shares its atomic with the clone kept here.
        let verdict = |v: &str| {
            probes
                .get_or_create(&vec![("verdict".to_string(), v.to_string())])
                .clone()
        };
        let (probes_ok, probes_failed, probes_refused) =
            (verdict("ok"), verdict("failed"), verdict("refused"));
        let probe_latency = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "imap_triage_probe_duration_seconds",
            "Time of a whole probe run",
            probe_latency.clone(),
        );
        Metrics {
            events_handled,
            replies_posted,
            replies_edited,
            probes_ok,
            probes_failed,
            probes_refused,
            escalations,
            discord_api_errors,
            rate_limit_hits,
            probe_latency,
            registry,
        }
    }
}

impl Metrics {
    pub fn observe_probe_latency(&self, elapsed: Duration) {
        self.probe_latency.observe(elapsed.as_secs_f64());
    }

    /// The OpenMetrics text exposition format (which Prometheus reads).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// `GET /metrics` and `GET /health`: the operator's routes, also part of the dashboard's
/// router when the dashboard is served.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    METRICS.render(),
                )
                    .into_response()
            }),
        )
        .route("/health", get(|| async { "ok\n" }))
}

/// Serves `GET /metrics` and `GET /health` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    serve_router(listener, routes(), shutdown).await;
}

/// Serves `router` on `listener` until `shutdown` resolves; a failing accept is logged, not
/// fatal (axum retries it).
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(error = %e, "the HTTP endpoint stopped");
    }
}

/// Sets up `tracing` output on stderr: readable text, or one JSON object per line.
/// `RUST_LOG` filters (default `info`).
pub fn init_logging(json: bool) {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
}

/// The log filter: `RUST_LOG` (default `info`), except that serenity's gateway socket logs
/// at most errors. On a payload it can't parse it logs the whole payload, at `warn`: a member's
/// message, with whatever credential it holds, would land in the logs.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let filter = rust_log
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    match "serenity::gateway::ws=error".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gateway payloads never reach the logs, whatever `RUST_LOG` asks for.
    #[test]
    fn the_gateway_socket_logs_no_payloads() {
        #[derive(Clone, Default)]
        struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        for spec in [None, Some("trace"), Some("debug,serenity=trace")] {
            let buf = Buf::default();
            let writer = buf.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(log_filter(spec))
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                tracing::warn!(target: "serenity::gateway::ws", "text: password: Hunter2Hunter2");
                tracing::warn!(target: "imap_triage::engine", "still logged");
            });
            let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
            assert!(!out.contains("Hunter2Hunter2"), "{spec:?}: {out}");
            assert!(out.contains("still logged"), "{spec:?}: {out}");
        }
    }

    #[test]
    fn renders_the_exposition_format() {
        let m = Metrics::default();
        inc(&m.probes_ok);
        inc(&m.events_handled);
        inc(&m.probes_failed);
        m.observe_probe_latency(Duration::from_millis(300));
        let text = m.render();
        assert!(text.contains("imap_triage_events_handled_total 1"));
        assert!(text.contains("imap_triage_probes_total{verdict=\"failed\"} 1"));
        assert!(text.contains("imap_triage_probe_duration_seconds_bucket{le=\"0.25\"} 0"));
        assert!(text.contains("imap_triage_probe_duration_seconds_bucket{le=\"0.5\"} 1"));
        assert!(text.contains("imap_triage_probe_duration_seconds_count 1"));
    }

    #[tokio::test]
    async fn the_endpoint_answers() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, async {
            let _ = stopped.await;
        }));
        for (path, expect) in [
            ("/metrics", "imap_triage_events_handled_total"),
            ("/health", "ok"),
            ("/nope", "404 Not Found"),
        ] {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).await.unwrap();
            assert!(body.contains(expect), "{path}: {body}");
        }
        let _ = stop.send(());
        server.await.unwrap();
    }
}
