//! Process metrics in the Prometheus text format, and the optional endpoint that serves them.
//!
//! Counters are plain atomics in one process-wide registry: the engine and the adapters bump
//! them; `GET /metrics` renders them; `GET /health` answers `ok` while the process serves.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Upper bounds of the probe latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0];

#[derive(Default)]
pub struct Metrics {
    pub events_handled: AtomicU64,
    pub replies_posted: AtomicU64,
    pub replies_edited: AtomicU64,
    pub probes_ok: AtomicU64,
    pub probes_failed: AtomicU64,
    pub probes_refused: AtomicU64,
    pub escalations: AtomicU64,
    pub discord_api_errors: AtomicU64,
    pub rate_limit_hits: AtomicU64,
    probe_latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    probe_latency_count: AtomicU64,
    /// Sum in microseconds (atomics hold integers).
    probe_latency_sum_us: AtomicU64,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn observe_probe_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.probe_latency_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.probe_latency_count.fetch_add(1, Ordering::Relaxed);
        self.probe_latency_sum_us.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "imap_triage_events_handled_total",
            "Events handled by the engine.",
            get(&self.events_handled),
        );
        counter(
            "imap_triage_replies_posted_total",
            "Messages the bot posted.",
            get(&self.replies_posted),
        );
        counter(
            "imap_triage_replies_edited_total",
            "Messages the bot edited.",
            get(&self.replies_edited),
        );
        counter(
            "imap_triage_escalations_total",
            "Cases escalated to moderators.",
            get(&self.escalations),
        );
        counter(
            "imap_triage_discord_api_errors_total",
            "Discord API calls that failed.",
            get(&self.discord_api_errors),
        );
        counter(
            "imap_triage_rate_limit_hits_total",
            "Requests refused or delayed by a rate limit.",
            get(&self.rate_limit_hits),
        );
        let _ = writeln!(out, "# HELP imap_triage_probes_total Endpoint probes by verdict.\n# TYPE imap_triage_probes_total counter");
        for (verdict, c) in [
            ("ok", &self.probes_ok),
            ("failed", &self.probes_failed),
            ("refused", &self.probes_refused),
        ] {
            let _ = writeln!(
                out,
                "imap_triage_probes_total{{verdict=\"{verdict}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP imap_triage_probe_duration_seconds Time of a whole probe run.\n# TYPE imap_triage_probe_duration_seconds histogram"
        );
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.probe_latency_buckets) {
            let _ = writeln!(
                out,
                "imap_triage_probe_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(bucket)
            );
        }
        let count = get(&self.probe_latency_count);
        let _ = writeln!(
            out,
            "imap_triage_probe_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "imap_triage_probe_duration_seconds_sum {}",
            get(&self.probe_latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "imap_triage_probe_duration_seconds_count {count}");
        out
    }
}

/// Serves `GET /metrics` and `GET /health` until `shutdown` resolves. One small request per
/// connection, read with a size cap and a timeout: it is an operator's endpoint, not a web
/// server.
pub async fn serve(listener: TcpListener, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut socket, _)) = accepted else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await;
            let Ok(Ok(n)) = read else { return };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match path {
                "/metrics" => ("200 OK", METRICS.render()),
                "/health" => ("200 OK", "ok\n".to_string()),
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
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
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, async {
            let _ = stopped.await;
        }));
        for (path, expect) in [
            ("/metrics", "imap_triage_events_handled_total"),
            ("/health", "ok"),
            ("/nope", "not found"),
        ] {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
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
