//! What the probe saw, as plain data: produced by the network adapter ([`crate::probe`]),
//! judged by `super::findings`. Nothing here decides anything but what the bytes were.

use serde::{Deserialize, Serialize};

use crate::core::service::{Service, TlsMode};

/// Why the encryption mode of a probe was chosen; it decides which mix-ups are the member's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeSource {
    /// The port's convention (993 and 465 implicit; 143, 587, 25 and 2525 STARTTLS).
    Port,
    /// Asked for explicitly.
    Override,
    /// A port without a convention: implicit TLS was tried, then STARTTLS.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageName {
    Dns,
    Tcp,
    Tls,
    Greeting,
    Capabilities,
    Starttls,
}

impl StageName {
    pub fn describe(self) -> &'static str {
        match self {
            StageName::Dns => "looking up the name",
            StageName::Tcp => "connecting",
            StageName::Tls => "the TLS handshake",
            StageName::Greeting => "waiting for the greeting",
            StageName::Capabilities => "asking for capabilities",
            StageName::Starttls => "STARTTLS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub name: StageName,
    pub ok: bool,
    /// Milliseconds the stage took.
    pub ms: f64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub sans: Vec<String>,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_after: String,
    /// The chain validates against the trust store (webpki roots plus `--ca` anchors), now.
    pub trusted: bool,
    /// The certificate is valid for the host the member typed.
    pub name_matches: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub cert: CertInfo,
}

/// What the certificate check found beyond the two booleans of [`CertInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertProblems {
    pub expired: bool,
    pub not_yet_valid: bool,
    /// Why the chain did not validate, as the TLS library put it.
    pub chain_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusedReason {
    PrivateAddress,
    PortNotAllowed,
    InvalidHost,
    RateLimited,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: RefusedReason,
    pub detail: String,
}

/// What a server spoke instead of what was expected, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerProtocol {
    Imap,
    Smtp,
    Pop3,
    Tls,
    Http,
    Ssh,
    Unknown,
}

impl PeerProtocol {
    /// Classifies the first bytes a server sent.
    pub fn sniff(bytes: &[u8]) -> PeerProtocol {
        let starts = |p: &[u8]| bytes.len() >= p.len() && bytes[..p.len()].eq_ignore_ascii_case(p);
        // A TLS record: content type 20..=24, then major version 3.
        if bytes.len() >= 2 && (20..=24).contains(&bytes[0]) && bytes[1] == 3 {
            return PeerProtocol::Tls;
        }
        if starts(b"* OK") || starts(b"* BYE") || starts(b"* PREAUTH") {
            return PeerProtocol::Imap;
        }
        if starts(b"+OK") || starts(b"-ERR") {
            return PeerProtocol::Pop3;
        }
        if starts(b"HTTP/") {
            return PeerProtocol::Http;
        }
        if starts(b"SSH-") {
            return PeerProtocol::Ssh;
        }
        if bytes.len() >= 4
            && bytes[..3].iter().all(u8::is_ascii_digit)
            && matches!(bytes[3], b' ' | b'-' | b'\r')
        {
            return PeerProtocol::Smtp;
        }
        PeerProtocol::Unknown
    }

    pub fn describe(self) -> &'static str {
        match self {
            PeerProtocol::Imap => "an IMAP server",
            PeerProtocol::Smtp => "an SMTP server",
            PeerProtocol::Pop3 => "a POP3 server",
            PeerProtocol::Tls => "a TLS server",
            PeerProtocol::Http => "a web server",
            PeerProtocol::Ssh => "an SSH server",
            PeerProtocol::Unknown => "something that is not a mail server",
        }
    }

    pub(super) fn is_plain_mail(self) -> bool {
        matches!(
            self,
            PeerProtocol::Imap | PeerProtocol::Smtp | PeerProtocol::Pop3
        )
    }

    pub(super) fn speaks(self, service: Service) -> bool {
        matches!(
            (self, service),
            (PeerProtocol::Imap, Service::Imap) | (PeerProtocol::Smtp, Service::Smtp)
        )
    }
}

/// What stopped a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Failure {
    /// NXDOMAIN: the name does not exist.
    DnsNotFound,
    /// The name exists but has no address (no A or AAAA record).
    DnsNoAddress,
    /// The resolver failed (timeout, SERVFAIL, refused): nothing is known about the name.
    DnsError {
        detail: String,
    },
    ConnectionRefused,
    Unreachable {
        detail: String,
    },
    /// No answer within the time budget.
    Timeout {
        stage: StageName,
    },
    /// The server sent more than the probe reads.
    TooMuchData {
        stage: StageName,
    },
    /// The server closed the connection.
    Closed {
        stage: StageName,
    },
    /// The server spoke another protocol.
    WrongProtocol {
        stage: StageName,
        peer: PeerProtocol,
    },
    /// The TLS handshake failed; `peer` says what the server spoke when it was not TLS.
    TlsFailed {
        detail: String,
        peer: Option<PeerProtocol>,
    },
    /// The greeting was a refusal (`* BYE`, SMTP 4xx/5xx).
    GreetingRejected {
        text: String,
    },
    /// A plain connection whose server does not offer STARTTLS.
    StarttlsNotOffered,
    StarttlsRejected {
        text: String,
    },
    /// A malformed or negative reply to a command.
    Protocol {
        stage: StageName,
        detail: String,
    },
    /// The probe itself failed (e.g. a library panicked on the server's input).
    Internal {
        detail: String,
    },
}

/// One of the standard alternatives, tried because the posted endpoint failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlternativeResult {
    pub port: u16,
    pub mode: TlsMode,
    /// It greeted as the expected protocol, encrypted.
    pub answered: bool,
    /// Its certificate validates and matches the name.
    pub cert_ok: bool,
    /// The first line it sent (its greeting), so that a Courier server is never recommended
    /// without saying so.
    #[serde(default)]
    pub banner: String,
    /// The TLS alert it got, when it answered a ClientHello with one: the port speaks TLS, but
    /// its TLS is broken (OpenSMTPD on Debian 12, for one).
    #[serde(default)]
    pub tls_alert: Option<String>,
}

/// Whether a greeting is Courier-IMAP's.
pub fn is_courier(banner: &str) -> bool {
    banner.to_ascii_lowercase().contains("courier-imap")
}

/// Whether the failure is the server's TLS alert: the port speaks TLS.
pub fn tls_alert(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::TlsFailed {
            peer: Some(PeerProtocol::Tls),
            ..
        }
    )
}

/// Everything one probe of one endpoint saw. Produced by the network adapter; judged here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub service: Service,
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    pub mode_source: ModeSource,
    /// Set when the target policy refused the probe: no packet was sent.
    pub refused: Option<Refusal>,
    pub stages: Vec<Stage>,
    pub tls: Option<TlsInfo>,
    pub cert_problems: CertProblems,
    pub banner: String,
    /// Capabilities (IMAP) or EHLO extensions (SMTP) before STARTTLS.
    pub capabilities_plain: Vec<String>,
    /// Capabilities (IMAP) or EHLO extensions (SMTP) on the encrypted connection, or the plain
    /// ones when it never got encrypted.
    pub capabilities: Vec<String>,
    pub failure: Option<Failure>,
    pub alternatives: Vec<AlternativeResult>,
    /// The budget the probe ran under, for messages.
    pub budget_ms: u64,
}

impl Observation {
    pub fn new(
        service: Service,
        host: impl Into<String>,
        port: u16,
        mode: TlsMode,
        mode_source: ModeSource,
    ) -> Self {
        Observation {
            service,
            host: host.into(),
            port,
            mode,
            mode_source,
            refused: None,
            stages: Vec::new(),
            tls: None,
            cert_problems: CertProblems::default(),
            banner: String::new(),
            capabilities_plain: Vec::new(),
            capabilities: Vec::new(),
            failure: None,
            alternatives: Vec::new(),
            budget_ms: 0,
        }
    }

    /// The greeting and the encryption both worked: the vendor could start a session.
    pub fn answered(&self) -> bool {
        self.refused.is_none() && self.failure.is_none() && self.tls.is_some()
    }

    pub(super) fn endpoint(&self) -> String {
        endpoint_text(&self.host, self.port)
    }
}

/// `host:port`, with an IPv6 address in brackets.
pub(super) use crate::core::report::endpoint_text;
