//! One connection attempt, shared by the engine and the protocol sessions: the observation being
//! filled ([`Run`]), stage timing and progress events, the TCP connect and the TLS handshake,
//! and how an I/O error or a failure reads in a stage's detail.
//!
//! The engine ([`super::engine`]) starts a [`Run`] and hands it to `imap` or `smtp`; they only
//! use what is here, so neither imports the engine.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::core::diagnose::{
    Failure, Observation, PeerProtocol, Service, Stage, StageName, TlsInfo, TlsMode,
};

use super::target::Host;
use super::tls::{cipher_text, version_text, CertCheck, TlsSetup};
use super::wire::{Conn, Counted, Meter};

/// One stage starting or finishing, for a live "Testing…" message.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    pub service: Service,
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    /// False for the standard alternatives and discovery candidates.
    pub primary: bool,
    pub stage: StageName,
    /// `None` when the stage starts; the finished stage otherwise.
    pub finished: Option<Stage>,
}

type ProgressSink = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where stage events go. Cheap to clone; the default drops them.
#[derive(Clone, Default)]
pub struct Progress(Option<ProgressSink>);

impl Progress {
    pub fn new(sink: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(sink)))
    }

    pub fn none() -> Self {
        Progress(None)
    }

    fn emit(&self, event: ProgressEvent) {
        if let Some(sink) = &self.0 {
            sink(&event);
        }
    }
}

/// The name the certificate is checked against: the host the member typed.
pub(crate) fn server_name(host: &Host) -> ServerName<'static> {
    match host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(IpAddr::from([0u8, 0, 0, 0]).into())),
    }
}

/// Times one stage and reports it.
pub(crate) struct StageClock {
    name: StageName,
    started: std::time::Instant,
    primary: bool,
}

impl StageClock {
    pub(crate) fn start(
        obs: &Observation,
        name: StageName,
        progress: &Progress,
        primary: bool,
    ) -> Self {
        progress.emit(ProgressEvent {
            service: obs.service,
            host: obs.host.clone(),
            port: obs.port,
            mode: obs.mode,
            primary,
            stage: name,
            finished: None,
        });
        StageClock {
            name,
            started: std::time::Instant::now(),
            primary,
        }
    }

    pub(crate) fn finish(
        self,
        obs: &mut Observation,
        progress: &Progress,
        ok: bool,
        detail: impl Into<String>,
    ) {
        self.finish_at(obs, progress, ok, detail, std::time::Instant::now());
    }

    pub(crate) fn finish_at(
        self,
        obs: &mut Observation,
        progress: &Progress,
        ok: bool,
        detail: impl Into<String>,
        at: std::time::Instant,
    ) {
        let ms = at.saturating_duration_since(self.started).as_secs_f64() * 1000.0;
        let stage = Stage {
            name: self.name,
            ok,
            ms: (ms * 1000.0).round() / 1000.0,
            detail: detail.into(),
        };
        progress.emit(ProgressEvent {
            service: obs.service,
            host: obs.host.clone(),
            port: obs.port,
            mode: obs.mode,
            primary: self.primary,
            stage: self.name,
            finished: Some(stage.clone()),
        });
        obs.stages.push(stage);
    }
}

/// One connection attempt in progress: the observation being filled, and what the protocol
/// sessions need (deadlines, TLS setup, the name to verify).
pub(crate) struct Run {
    pub(crate) obs: Observation,
    pub(crate) deadline: Instant,
    pub(crate) step: Duration,
    pub(crate) tls: Arc<TlsSetup>,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) progress: Progress,
    pub(crate) primary: bool,
}

/// Why a bounded step did not finish.
pub(crate) struct Elapsed;

impl Run {
    pub(crate) fn clock(&self, name: StageName) -> StageClock {
        StageClock::start(&self.obs, name, &self.progress, self.primary)
    }

    /// A stage that began earlier than now, e.g. EHLO, which lettre sends right after the
    /// greeting arrived.
    pub(crate) fn clock_from(&self, name: StageName, started: std::time::Instant) -> StageClock {
        let mut clock = self.clock(name);
        clock.started = started;
        clock
    }

    pub(crate) fn finish(&mut self, clock: StageClock, ok: bool, detail: impl Into<String>) {
        clock.finish(&mut self.obs, &self.progress, ok, detail);
    }

    pub(crate) fn fail(&mut self, clock: StageClock, failure: Failure) {
        let detail = describe_failure(&failure);
        self.finish(clock, false, detail);
        self.obs.failure = Some(failure);
    }

    /// Runs one network step with the step timeout, within the deadline.
    pub(crate) async fn bounded<T>(&self, future: impl Future<Output = T>) -> Result<T, Elapsed> {
        let until = self.deadline.min(Instant::now() + self.step);
        timeout_at(until, future).await.map_err(|_| Elapsed)
    }

    /// A short, best-effort step (LOGOUT, QUIT): never more than a second, never past the
    /// deadline.
    pub(crate) async fn courtesy<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        let until = self.deadline.min(Instant::now() + Duration::from_secs(1));
        timeout_at(until, future).await.ok()
    }

    pub(crate) async fn connect(
        &mut self,
        addrs: &[SocketAddr],
    ) -> Option<(TcpStream, SocketAddr)> {
        let clock = self.clock(StageName::Tcp);
        let mut last = Failure::Unreachable {
            detail: "no address to connect to".into(),
        };
        for addr in addrs {
            match self.bounded(TcpStream::connect(*addr)).await {
                Ok(Ok(stream)) => {
                    // Small request/reply exchanges: send each command at once.
                    let _ = stream.set_nodelay(true);
                    self.finish(clock, true, format!("connected to {addr}"));
                    return Some((stream, *addr));
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Failure::ConnectionRefused
                }
                Ok(Err(e)) => {
                    last = Failure::Unreachable {
                        detail: format!("{addr}: {e}"),
                    }
                }
                Err(Elapsed) => {
                    last = Failure::Timeout {
                        stage: StageName::Tcp,
                    }
                }
            }
            if Instant::now() >= self.deadline {
                break;
            }
        }
        self.fail(clock, last);
        None
    }

    /// The TLS handshake, implicit or after STARTTLS. Records version, cipher and certificate.
    pub(crate) async fn handshake(
        &mut self,
        counted: Counted,
        meter: &Meter,
    ) -> Option<TlsStream<Counted>> {
        let clock = self.clock(StageName::Tls);
        let slot: Arc<Mutex<Option<CertCheck>>> = Arc::default();
        let config = match self.tls.client_config(Arc::clone(&slot)) {
            Ok(config) => config,
            Err(e) => {
                self.fail(
                    clock,
                    Failure::Internal {
                        detail: format!("TLS setup: {e}"),
                    },
                );
                return None;
            }
        };
        meter.capture();
        let connector = TlsConnector::from(config);
        let result = self
            .bounded(connector.connect(self.server_name.clone(), counted))
            .await;
        let stream = match result {
            Ok(Ok(stream)) => stream,
            Err(Elapsed) => {
                self.fail(
                    clock,
                    Failure::Timeout {
                        stage: StageName::Tls,
                    },
                );
                return None;
            }
            Ok(Err(e)) => {
                let captured = meter.captured();
                let answer = captured.as_slice();
                let after_records = plain_after_records(answer);
                let failure = if meter.exceeded() {
                    Failure::TooMuchData {
                        stage: StageName::Tls,
                    }
                } else if answer.is_empty() && is_closed(&e) {
                    Failure::Closed {
                        stage: StageName::Tls,
                    }
                } else if self.obs.mode == TlsMode::Starttls && !after_records.is_empty() {
                    // STARTTLS was accepted, then the server said in plain text why TLS could
                    // not start after all ("NO STARTTLS failed"; Courier sends it after an
                    // alert): quote it rather than the TLS library's complaint.
                    Failure::StarttlsRejected {
                        text: strip_tag(&first_line(after_records)),
                    }
                } else {
                    let peer = (!answer.is_empty()).then(|| PeerProtocol::sniff(answer));
                    if peer.is_some_and(|p| p != PeerProtocol::Tls) && self.obs.banner.is_empty() {
                        // A plain-text answer to a ClientHello: its first line says who is
                        // there (e.g. a Courier greeting).
                        self.obs.banner = first_line(answer);
                    }
                    Failure::TlsFailed {
                        detail: tls_error_text(&e),
                        peer,
                    }
                };
                self.fail(clock, failure);
                return None;
            }
        };
        let (_, connection) = stream.get_ref();
        let version = connection
            .protocol_version()
            .map(version_text)
            .unwrap_or_default();
        let cipher = connection
            .negotiated_cipher_suite()
            .map(cipher_text)
            .unwrap_or_default();
        let check = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(check) = check else {
            self.fail(
                clock,
                Failure::Internal {
                    detail: "no certificate was checked".into(),
                },
            );
            return None;
        };
        let cert = &check.info;
        let detail = format!(
            "{version} {cipher}; certificate {} ({}, {})",
            cert.subject,
            if cert.trusted {
                "trusted"
            } else {
                "not trusted"
            },
            if cert.name_matches {
                "name matches"
            } else {
                "name does not match"
            }
        );
        self.obs.tls = Some(TlsInfo {
            version,
            cipher,
            cert: check.info,
        });
        self.obs.cert_problems = check.problems;
        self.finish(clock, true, detail);
        Some(stream)
    }

    /// STARTTLS's second half: the handshake on the socket under `conn`.
    pub(crate) async fn upgrade(&mut self, conn: &Conn) -> bool {
        let Some(counted) = conn.detach_plain() else {
            let clock = self.clock(StageName::Tls);
            self.fail(
                clock,
                Failure::Internal {
                    detail: "the connection was not plain".into(),
                },
            );
            return false;
        };
        let meter = Arc::clone(conn.meter());
        match self.handshake(counted, &meter).await {
            Some(stream) => {
                conn.install_tls(stream);
                conn.reset_text();
                true
            }
            None => false,
        }
    }

    /// What an I/O error at a stage means, given what the server sent.
    pub(crate) fn io_failure(
        &self,
        stage: StageName,
        conn: &Conn,
        error: &dyn std::fmt::Display,
        closed: bool,
    ) -> Failure {
        let meter = conn.meter();
        let text = meter.text();
        let peer = PeerProtocol::sniff(&text);
        if meter.exceeded() {
            Failure::TooMuchData { stage }
        } else if text.is_empty() && closed {
            Failure::Closed { stage }
        } else if !text.is_empty()
            && stage == StageName::Greeting
            && !expected_peer(self.obs.service, peer)
        {
            Failure::WrongProtocol { stage, peer }
        } else if closed {
            Failure::Closed { stage }
        } else {
            Failure::Protocol {
                stage,
                detail: error.to_string(),
            }
        }
    }
}

/// What follows the TLS records at the start of `bytes` (an alert, say), when it is text.
fn plain_after_records(mut bytes: &[u8]) -> &[u8] {
    while bytes.len() >= 5 && PeerProtocol::sniff(bytes) == PeerProtocol::Tls {
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        bytes = bytes.get(5 + len..).unwrap_or_default();
    }
    let text = bytes
        .iter()
        .take(64)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if bytes.is_empty() || PeerProtocol::sniff(bytes) == PeerProtocol::Tls || !text {
        return &[];
    }
    bytes
}

/// A server line without the probe's own IMAP tag (`p12 `) or `* `, for quoting.
fn strip_tag(line: &str) -> String {
    let line = line.trim();
    match line.split_once(' ') {
        Some((tag, rest))
            if tag == "*"
                || tag
                    .strip_prefix('p')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest.trim().to_string()
        }
        _ => line.to_string(),
    }
}

fn expected_peer(service: Service, peer: PeerProtocol) -> bool {
    matches!(
        (service, peer),
        (Service::Imap, PeerProtocol::Imap) | (Service::Smtp, PeerProtocol::Smtp)
    )
}

fn is_closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

fn tls_error_text(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server sent the TLS alert {alert:?}")
        }
        Some(rustls::Error::InvalidMessage(m)) => format!("the server's reply is not TLS ({m:?})"),
        Some(rustls::Error::PeerIncompatible(p)) => {
            format!("no TLS version or cipher in common ({p:?})")
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

/// A stage's detail when it failed.
pub(crate) fn describe_failure(failure: &Failure) -> String {
    match failure {
        Failure::DnsNotFound => "no such name".into(),
        Failure::DnsNoAddress => "the name has no address".into(),
        Failure::DnsError { detail }
        | Failure::Unreachable { detail }
        | Failure::Internal { detail } => detail.clone(),
        Failure::ConnectionRefused => "connection refused".into(),
        Failure::Timeout { .. } => "no answer in time".into(),
        Failure::TooMuchData { .. } => "the server sent more than the probe reads".into(),
        Failure::Closed { .. } => "the server closed the connection".into(),
        Failure::WrongProtocol { peer, .. } => format!("the server is {}", peer.describe()),
        Failure::TlsFailed { detail, .. } => detail.clone(),
        Failure::GreetingRejected { text } | Failure::StarttlsRejected { text } => text.clone(),
        Failure::StarttlsNotOffered => "STARTTLS is not offered".into(),
        Failure::Protocol { detail, .. } => detail.clone(),
    }
}

/// The first line of what the server sent, printable and bounded.
pub(crate) fn first_line(text: &[u8]) -> String {
    let end = text.iter().position(|b| *b == b'\n').unwrap_or(text.len());
    let line = String::from_utf8_lossy(&text[..end.min(512)]);
    line.trim_end_matches('\r')
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
