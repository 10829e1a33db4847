//! Helpers for the probe's integration tests (and the engine's and discovery's): the real
//! servers' env file, probers configured for the test ports, a listener that counts connection
//! attempts, and small fake servers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use imap_triage::core::diagnose::{Code, EndpointReport, PortConventions, Service, TlsMode};
use imap_triage::core::rules::{FindingTexts, Rules};
use imap_triage::probe::{EndpointRequest, Policy, Probe, ProbeJob, Prober, Progress, TlsSetup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The real Dovecot and exim4 started by `scripts/mail-servers`.
#[derive(Debug, Clone)]
pub struct Servers {
    pub ca: PathBuf,
    pub leaf_cert: PathBuf,
    pub leaf_key: PathBuf,
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
    pub imap_plain: u16,
    pub imap_tls: u16,
    pub smtp_starttls: u16,
    pub smtp_tls: u16,
    /// Courier-IMAP: STARTTLS, implicit TLS, and STARTTLS with a missing certificate.
    pub courier_plain: u16,
    pub courier_tls: u16,
    pub courier_broken: u16,
    /// A leaf for `discover.test` and `*.discover.test` (same CA), for HTTPS autoconfig.
    pub web_cert: PathBuf,
    pub web_key: PathBuf,
}

fn read_env(path: &Path) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The servers, started by the script if its env file is missing. Fails loudly: these tests
/// are the point of the issue and must never pass by skipping.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        // The same override as the script's: MAIL_SERVERS_DIR.
        let dir = std::env::var_os("MAIL_SERVERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::repository().join("target/mail-servers"));
        let env_file = dir.join("env");
        let up = env_file.exists()
            && Command::new(crate::repository().join("scripts/mail-servers"))
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success());
        if !up {
            let status = Command::new(crate::repository().join("scripts/mail-servers")).arg("start").status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "the real mail servers are not running and could not be started: run `scripts/mail-servers start` (as root)"
            );
        }
        let env = read_env(&env_file).unwrap_or_else(|| panic!("cannot read {}: run `scripts/mail-servers start`", env_file.display()));
        let get = |k: &str| env.get(k).cloned().unwrap_or_else(|| panic!("{k} missing from {}", env_file.display()));
        let port = |k: &str| get(k).parse::<u16>().unwrap_or_else(|_| panic!("{k} is not a port"));
        Servers {
            ca: get("CA_FILE").into(),
            leaf_cert: get("LEAF_CERT").into(),
            leaf_key: get("LEAF_KEY").into(),
            expired_cert: get("EXPIRED_CERT").into(),
            expired_key: get("EXPIRED_KEY").into(),
            imap_plain: port("IMAP_PLAIN_PORT"),
            imap_tls: port("IMAP_TLS_PORT"),
            smtp_starttls: port("SMTP_STARTTLS_PORT"),
            smtp_tls: port("SMTP_TLS_PORT"),
            courier_plain: port("COURIER_PLAIN_PORT"),
            courier_tls: port("COURIER_TLS_PORT"),
            courier_broken: port("COURIER_BROKEN_PORT"),
            web_cert: get("WEB_CERT").into(),
            web_key: get("WEB_KEY").into(),
        }
    })
}

/// A policy for loopback tests: private targets allowed, the given ports allowed, short waits
/// so that silent servers do not slow the suite down.
pub fn test_policy(ports: &[u16]) -> Policy {
    let mut policy = Policy {
        allow_private: true,
        budget: Duration::from_secs(4),
        step_timeout: Duration::from_millis(1500),
        stagger: Duration::from_millis(20),
        ..Policy::default()
    };
    policy.allowed_ports.extend(ports.iter().copied());
    policy
}

/// The real servers' ports as the port conventions, so the alternatives logic runs against them.
pub fn server_conventions(s: &Servers) -> PortConventions {
    PortConventions {
        imap_implicit: vec![s.imap_tls],
        imap_starttls: vec![s.imap_plain],
        smtp_implicit: vec![s.smtp_tls],
        smtp_starttls: vec![s.smtp_starttls],
    }
}

pub fn server_ports(s: &Servers) -> Vec<u16> {
    vec![s.imap_plain, s.imap_tls, s.smtp_starttls, s.smtp_tls]
}

pub fn tls_with_ca() -> TlsSetup {
    TlsSetup::new(&[servers().ca.as_path()]).unwrap_or_else(|e| panic!("test CA: {e}"))
}

pub fn request(service: Service, target: &str, mode: Option<TlsMode>) -> EndpointRequest {
    EndpointRequest::parse(service, target, mode).unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped pack's finding messages, parsed once: the words every probe in the tests uses.
pub fn finding_texts() -> &'static FindingTexts {
    static RULES: OnceLock<Rules> = OnceLock::new();
    &RULES
        .get_or_init(|| imap_triage::core::rules::shipped().unwrap_or_else(|e| panic!("{e}")))
        .findings
}

/// Probes and returns the report; a probe that outlives five budgets is a hang, not a result.
pub async fn probe(prober: &Prober, request: &EndpointRequest) -> EndpointReport {
    let limit = prober.policy().budget * 5;
    tokio::time::timeout(
        limit,
        prober.probe_report(
            finding_texts(),
            ProbeJob {
                requester: "test",
                request,
                progress: &Progress::none(),
            },
        ),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the probe of {}:{} did not end within five budgets",
            request.host, request.port
        )
    })
}

pub fn codes(report: &EndpointReport) -> Vec<Code> {
    report.findings.iter().map(|f| f.code).collect()
}

pub fn stage_names(report: &EndpointReport) -> Vec<String> {
    report
        .stages
        .iter()
        .map(|s| {
            serde_json::to_value(s.name)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect()
}

/// A listener on a free port of 127.0.0.1, and the port.
pub async fn loopback_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    (listener, port)
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub async fn closed_port() -> u16 {
    let (listener, port) = loopback_listener().await;
    drop(listener);
    port
}

/// A listener that counts every connection it accepts. [`CountingListener::attempts`] is exact:
/// it makes one marker connection of its own and waits until it is accepted, so every earlier
/// connection (the accept queue is first in, first out) has been counted.
pub struct CountingListener {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    markers: AtomicUsize,
}

impl CountingListener {
    pub async fn start() -> Self {
        let (listener, port) = loopback_listener().await;
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            // Bounded: a test makes a handful of connections at most.
            for _ in 0..1000 {
                let Ok((mut stream, _)) = listener.accept().await else {
                    break;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                // Say something that is not a mail protocol and hang up.
                let _ = stream.write_all(b"counting listener\r\n").await;
            }
        });
        CountingListener {
            port,
            accepted,
            markers: AtomicUsize::new(0),
        }
    }

    /// Connection attempts so far, not counting the markers.
    pub async fn attempts(&self) -> usize {
        let markers = self.markers.fetch_add(1, Ordering::SeqCst) + 1;
        let before_marker = self.accepted.load(Ordering::SeqCst);
        let _marker = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap_or_else(|e| panic!("marker: {e}"));
        for _ in 0..500 {
            let now = self.accepted.load(Ordering::SeqCst);
            if now > before_marker {
                return now - markers;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the counting listener did not accept the marker connection");
    }
}

/// What a fake server does with each connection.
pub type Behaviour = Arc<
    dyn Fn(TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A fake server on 127.0.0.1:0 that handles up to 16 connections, each with `behaviour`.
pub async fn fake_server(behaviour: Behaviour) -> u16 {
    let (listener, port) = loopback_listener().await;
    tokio::spawn(async move {
        for _ in 0..16 {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let behaviour = Arc::clone(&behaviour);
            tokio::spawn(async move {
                // Every fake connection ends on its own, whatever the client does.
                let _ = tokio::time::timeout(Duration::from_secs(30), behaviour(stream)).await;
            });
        }
    });
    port
}

/// Reads one line (bounded), for fake servers that answer commands.
pub async fn read_line<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        match stream.read(&mut byte).await {
            Ok(1) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
            }
            _ => return None,
        }
    }
    None
}

/// A rustls server config from PEM files, for fake TLS servers.
pub fn server_tls(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("{}: {e}", cert.display()));
    let key =
        PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
    .unwrap_or_else(|e| panic!("server TLS config: {e}"));
    Arc::new(config)
}
