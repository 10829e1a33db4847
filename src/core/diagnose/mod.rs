//! Pure decision logic for the connectivity probe (issue 3): what the probe saw, as plain data
//! ([`Observation`]), becomes findings with stable codes, a verdict, and the JSON object of the
//! `probe` command ([`EndpointReport`]). The network part lives in [`crate::probe`]; nothing here
//! waits, fails or touches the network, so every rule below is unit-tested without a socket.
//!
//! Also pure and here: which ports are the standard alternatives of a posted one, which servers
//! to try when the member posted none, how to rank what answered, and how probe findings combine
//! with the triage report into next steps.

pub mod discovery;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::report::Report;
use super::rules::{Provider, Rules, Security};

// ---------------------------------------------------------------------------------------------
// The vocabulary
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Imap,
    Smtp,
}

impl Service {
    pub fn label(self) -> &'static str {
        match self {
            Service::Imap => "IMAP",
            Service::Smtp => "SMTP",
        }
    }
}

/// How a connection is encrypted: TLS from the first byte, or a plain start upgraded with
/// STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Implicit,
    Starttls,
}

impl TlsMode {
    pub fn other(self) -> TlsMode {
        match self {
            TlsMode::Implicit => TlsMode::Starttls,
            TlsMode::Starttls => TlsMode::Implicit,
        }
    }

    /// The words a member sees in the vendor's form.
    pub fn describe(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit TLS (SSL)",
            TlsMode::Starttls => "STARTTLS",
        }
    }
}

impl From<Security> for TlsMode {
    fn from(security: Security) -> Self {
        match security {
            Security::Tls => TlsMode::Implicit,
            Security::Starttls => TlsMode::Starttls,
        }
    }
}

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

    fn is_plain_mail(self) -> bool {
        matches!(
            self,
            PeerProtocol::Imap | PeerProtocol::Smtp | PeerProtocol::Pop3
        )
    }

    fn speaks(self, service: Service) -> bool {
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

    fn endpoint(&self) -> String {
        endpoint_text(&self.host, self.port)
    }
}

fn endpoint_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Stable finding codes: the bot, the tests and other tools match on these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Ok,
    DnsNotFound,
    ConnectionRefused,
    Unreachable,
    Timeout,
    ConnectionClosed,
    ResponseTooLarge,
    WrongProtocol,
    TlsOnPlainPort,
    PlainOnTlsPort,
    NoTls,
    TlsHandshakeFailed,
    CertUntrusted,
    CertNameMismatch,
    CertExpired,
    CourierImapUnsupported,
    GreetingRejected,
    ProtocolError,
    SmtpAuthNotOffered,
    RelayPort,
    AlternativeAvailable,
    RefusedByPolicy,
    ProbeError,
    /// The resolver failed (timeout, SERVFAIL): our side, not the member's name.
    DnsUnavailable,
    DnsNoAddress,
    // Discovery (see [`discovery`]).
    DomainNotFound,
    NoMx,
    MailHostedBy,
    NativeIntegration,
    SrvPublished,
    AutoconfigFound,
    AutoconfigUnusable,
    NothingPublished,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::DnsNotFound => "dns_not_found",
            Code::ConnectionRefused => "connection_refused",
            Code::Unreachable => "unreachable",
            Code::Timeout => "timeout",
            Code::ConnectionClosed => "connection_closed",
            Code::ResponseTooLarge => "response_too_large",
            Code::WrongProtocol => "wrong_protocol",
            Code::TlsOnPlainPort => "tls_on_plain_port",
            Code::PlainOnTlsPort => "plain_on_tls_port",
            Code::NoTls => "no_tls",
            Code::TlsHandshakeFailed => "tls_handshake_failed",
            Code::CertUntrusted => "cert_untrusted",
            Code::CertNameMismatch => "cert_name_mismatch",
            Code::CertExpired => "cert_expired",
            Code::CourierImapUnsupported => "courier_imap_unsupported",
            Code::GreetingRejected => "greeting_rejected",
            Code::ProtocolError => "protocol_error",
            Code::SmtpAuthNotOffered => "smtp_auth_not_offered",
            Code::RelayPort => "relay_port",
            Code::AlternativeAvailable => "alternative_available",
            Code::RefusedByPolicy => "refused_by_policy",
            Code::ProbeError => "probe_error",
            Code::DnsUnavailable => "dns_unavailable",
            Code::DnsNoAddress => "dns_no_address",
            Code::DomainNotFound => "domain_not_found",
            Code::NoMx => "no_mx",
            Code::MailHostedBy => "mail_hosted_by",
            Code::NativeIntegration => "native_integration",
            Code::SrvPublished => "srv_published",
            Code::AutoconfigFound => "autoconfig_found",
            Code::AutoconfigUnusable => "autoconfig_unusable",
            Code::NothingPublished => "nothing_published",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// What was found and what the member should do, in plain words.
    pub message: String,
}

impl Finding {
    fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Failed,
    Refused,
}

/// The JSON object of one endpoint, as the `probe --json` contract fixes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointReport {
    pub host: String,
    pub port: u16,
    pub verdict: Verdict,
    pub refused_reason: Option<RefusedReason>,
    pub stages: Vec<Stage>,
    pub tls: Option<TlsInfo>,
    pub banner: String,
    pub capabilities: Vec<String>,
    pub findings: Vec<Finding>,
}

/// The JSON object of the `probe` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProbeReport {
    pub imap: Option<EndpointReport>,
    pub smtp: Option<EndpointReport>,
}

impl ProbeReport {
    /// Every probed endpoint answered without an error finding.
    pub fn all_ok(&self) -> bool {
        let endpoints: Vec<&EndpointReport> = self.imap.iter().chain(self.smtp.iter()).collect();
        !endpoints.is_empty() && endpoints.iter().all(|e| e.verdict == Verdict::Ok)
    }
}

/// Judges one observation: findings (most severe first), verdict, and the contract object.
pub fn report(observation: &Observation) -> EndpointReport {
    let findings = diagnose(observation);
    let verdict = verdict(observation, &findings);
    EndpointReport {
        host: observation.host.clone(),
        port: observation.port,
        verdict,
        refused_reason: observation.refused.as_ref().map(|r| r.reason),
        stages: observation.stages.clone(),
        tls: observation.tls.clone(),
        banner: observation.banner.clone(),
        capabilities: observation.capabilities.clone(),
        findings,
    }
}

/// `refused` only when the policy stopped the probe before any connection; `failed` when any
/// finding is an error; `ok` otherwise.
pub fn verdict(observation: &Observation, findings: &[Finding]) -> Verdict {
    if observation.refused.is_some() {
        Verdict::Refused
    } else if findings.iter().any(|f| f.severity == Severity::Error) {
        Verdict::Failed
    } else {
        Verdict::Ok
    }
}

/// Turns what the probe saw into findings, most severe first.
pub fn diagnose(o: &Observation) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(refusal) = &o.refused {
        out.push(refused_finding(o, refusal));
        return out;
    }
    let endpoint = o.endpoint();
    let service = o.service.label();
    // Which alternative explains the failure, so that it is not reported twice.
    let mut explained_alternative: Option<&AlternativeResult> = None;
    let same_port = |mode: TlsMode| {
        o.alternatives
            .iter()
            .find(|a| a.port == o.port && a.mode == mode && a.answered)
    };

    if let Some(failure) = &o.failure {
        let finding = match failure {
            Failure::DnsNotFound => Finding::new(
                Code::DnsNotFound,
                Severity::Error,
                format!("`{}` does not exist in DNS. Check the spelling of the server name; the provider's help pages give the exact one.", o.host),
            ),
            Failure::DnsNoAddress => Finding::new(
                Code::DnsNoAddress,
                Severity::Error,
                format!("`{}` exists in DNS but has no address, so nothing can connect to it. Check the server name; the provider's help pages give the exact one.", o.host),
            ),
            Failure::DnsError { detail } => Finding::new(
                Code::DnsUnavailable,
                Severity::Error,
                format!("The test could not look `{}` up: the DNS resolver failed ({}). That is on our side and says nothing about whether the name is right; try the test again in a few minutes.", o.host, clip(detail, 160)),
            ),
            Failure::ConnectionRefused => Finding::new(
                Code::ConnectionRefused,
                Severity::Error,
                format!("`{endpoint}` refused the connection: nothing listens on port {} there. Check the port; {service} is usually {}.", o.port, usual_ports(o.service)),
            ),
            Failure::Unreachable { detail } => Finding::new(
                Code::Unreachable,
                Severity::Error,
                format!("`{endpoint}` could not be reached ({detail}). Check the server name; if it is right, the server is down or a firewall blocks it."),
            ),
            Failure::Timeout { stage } => match (o.mode, stage, same_port(TlsMode::Implicit)) {
                (TlsMode::Starttls, StageName::Greeting, Some(alt)) if o.mode_source != ModeSource::Auto => {
                    explained_alternative = Some(alt);
                    let advice = if is_courier(&alt.banner) {
                        "; it is Courier-IMAP, which the vendor does not support".to_string()
                    } else {
                        format!(": choose SSL/TLS for port {}, not STARTTLS or no encryption", o.port)
                    };
                    Finding::new(
                        Code::PlainOnTlsPort,
                        Severity::Error,
                        format!("`{endpoint}` answers with implicit TLS (SSL), not with a plain greeting{advice}."),
                    )
                }
                _ => Finding::new(
                    Code::Timeout,
                    Severity::Error,
                    format!(
                        "`{endpoint}` did not answer while {} (the probe gives up after {:.0} s). A firewall may be dropping the connection, or the server is overloaded; if IT allows only certain IP addresses, they must add the vendor's.",
                        stage.describe(),
                        o.budget_ms as f64 / 1000.0
                    ),
                ),
            },
            Failure::TooMuchData { stage } => Finding::new(
                Code::ResponseTooLarge,
                Severity::Error,
                format!("`{endpoint}` sent far more data than a mail server does while {}; this is not a working {service} server.", stage.describe()),
            ),
            Failure::Closed { stage } => Finding::new(
                Code::ConnectionClosed,
                Severity::Error,
                format!("`{endpoint}` closed the connection while {}. The server may be blocking this address, or limiting connections.", stage.describe()),
            ),
            Failure::WrongProtocol { peer, .. } => Finding::new(
                Code::WrongProtocol,
                Severity::Error,
                wrong_protocol_message(o.service, &endpoint, *peer),
            ),
            Failure::TlsFailed { detail, peer } => match peer {
                Some(peer) if peer.is_plain_mail() => {
                    explained_alternative = same_port(TlsMode::Starttls);
                    let mut message = format!("`{endpoint}` speaks plain text ({}), not implicit TLS.", peer.describe());
                    if !peer.speaks(o.service) {
                        message.push_str(&format!(" It is not even {service}."));
                    } else if is_courier(&o.banner) || explained_alternative.is_some_and(|a| is_courier(&a.banner)) {
                        message.push_str(&format!(" It offers STARTTLS on port {}, but it is Courier-IMAP, which the vendor does not support.", o.port));
                    } else if explained_alternative.is_some() {
                        message.push_str(&format!(" It offers STARTTLS: choose STARTTLS for port {}, not SSL/TLS.", o.port));
                    } else {
                        message.push_str(" Choose the port the provider documents for SSL/TLS.");
                    }
                    Finding::new(Code::TlsOnPlainPort, Severity::Error, message)
                }
                Some(peer) if *peer != PeerProtocol::Tls => Finding::new(
                    Code::WrongProtocol,
                    Severity::Error,
                    wrong_protocol_message(o.service, &endpoint, *peer),
                ),
                _ => Finding::new(
                    Code::TlsHandshakeFailed,
                    Severity::Error,
                    format!("The TLS handshake with `{endpoint}` failed ({detail}). The server's TLS setup is broken or too old; its administrator must fix it."),
                ),
            },
            Failure::GreetingRejected { text } => Finding::new(
                Code::GreetingRejected,
                Severity::Error,
                format!("`{endpoint}` refused the session in its greeting: \"{}\". The server may block this address or limit connections; ask the provider or IT.", clip(text, 200)),
            ),
            Failure::StarttlsNotOffered => Finding::new(
                Code::NoTls,
                Severity::Error,
                format!("`{endpoint}` offers no encryption: no STARTTLS, and it is not an implicit TLS port. The vendor requires TLS; ask the provider for the encrypted port (usually {}).", tls_port(o.service)),
            ),
            Failure::StarttlsRejected { text } => Finding::new(
                Code::TlsHandshakeFailed,
                Severity::Error,
                format!("`{endpoint}` announced STARTTLS but refused it: \"{}\". Its administrator must fix the TLS setup.", clip(text, 200)),
            ),
            Failure::Protocol { stage, detail } => Finding::new(
                Code::ProtocolError,
                Severity::Error,
                format!("`{endpoint}` answered wrongly while {} ({}).", stage.describe(), clip(detail, 200)),
            ),
            Failure::Internal { detail } => Finding::new(
                Code::ProbeError,
                Severity::Error,
                format!("The probe of `{endpoint}` stopped on an internal error ({}); a moderator should look.", clip(detail, 200)),
            ),
        };
        out.push(finding);
    }

    if let Some(tls) = &o.tls {
        let cert = &tls.cert;
        if o.cert_problems.expired {
            out.push(Finding::new(
                Code::CertExpired,
                Severity::Error,
                format!("The certificate of `{endpoint}` expired on {}. The server's administrator must renew it.", cert.not_after),
            ));
        } else if !cert.trusted {
            let why = match (&o.cert_problems.chain_error, o.cert_problems.not_yet_valid) {
                (_, true) => " (it is not valid yet)".to_string(),
                (Some(e), _) => format!(" ({e})"),
                (None, _) => String::new(),
            };
            out.push(Finding::new(
                Code::CertUntrusted,
                Severity::Error,
                format!("The certificate of `{endpoint}` is not signed by a trusted authority{why}. Either the administrator installs a CA-signed certificate, or an admin ticks \"Allow non-secure certificate\" in the inbox's IMAP/SMTP settings."),
            ));
        }
        if !cert.name_matches {
            let names = if cert.sans.is_empty() {
                cert.subject.clone()
            } else {
                cert.sans.join(", ")
            };
            out.push(Finding::new(
                Code::CertNameMismatch,
                Severity::Error,
                format!("The certificate of `{endpoint}` is for {}, not for `{}`. Use the server name the certificate names (or the provider documents); the vendor requires the name to match.", clip(&names, 300), o.host),
            ));
        }
    }

    // Courier is named whichever attempt saw it: the posted one, an alternative, a mix-up.
    let courier_port = if is_courier(&o.banner) {
        Some(o.port)
    } else {
        o.alternatives
            .iter()
            .find(|a| is_courier(&a.banner))
            .map(|a| a.port)
    };
    if let (Service::Imap, Some(port)) = (o.service, courier_port) {
        out.push(Finding::new(
            Code::CourierImapUnsupported,
            Severity::Error,
            format!("`{}` is a Courier-IMAP server (its greeting says so). The vendor does not support Courier-IMAP; use another mail server or the native Gmail/Office 365 integrations.", endpoint_text(&o.host, port)),
        ));
    }

    if o.service == Service::Smtp && o.answered() {
        if !o
            .capabilities
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("AUTH"))
        {
            out.push(Finding::new(
                Code::SmtpAuthNotOffered,
                Severity::Warning,
                format!("`{endpoint}` offers no login (no AUTH in its EHLO reply). The vendor logs in to send; this server may accept mail only from its own network."),
            ));
        }
        if o.port == 25 {
            out.push(Finding::new(
                Code::RelayPort,
                Severity::Warning,
                "Port 25 is for server-to-server relay and is often blocked; sending from an app normally uses 587 (STARTTLS) or 465 (SSL/TLS).",
            ));
        }
    }

    if !out.iter().any(|f| f.severity == Severity::Error) {
        let tls = o
            .tls
            .as_ref()
            .map(|t| format!("{} with {}", o.mode.describe(), t.version))
            .unwrap_or_else(|| "no encryption".to_string());
        out.insert(
            0,
            Finding::new(
                Code::Ok,
                Severity::Info,
                format!("`{endpoint}` answers as {service} over {tls}, with a valid certificate."),
            ),
        );
    } else if let Some(alt) = best_alternative(o, explained_alternative) {
        out.push(Finding::new(
            Code::AlternativeAvailable,
            Severity::Info,
            format!(
                "`{}` answers with {}; you entered {}.{}",
                endpoint_text(&o.host, alt.port),
                alt.mode.describe(),
                if alt.port == o.port {
                    o.mode.describe().to_string()
                } else {
                    o.port.to_string()
                },
                if is_courier(&alt.banner) {
                    " It is Courier-IMAP, which the vendor does not support."
                } else {
                    ""
                }
            ),
        ));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn refused_finding(o: &Observation, refusal: &Refusal) -> Finding {
    let why = match refusal.reason {
        RefusedReason::PrivateAddress => {
            "it points to a private or internal address, which the bot never connects to"
        }
        RefusedReason::PortNotAllowed => "that port is not a mail port the bot tests",
        RefusedReason::InvalidHost => "that is not a valid server name",
        RefusedReason::RateLimited => {
            "too many tests were asked for in a short time; try again in a minute"
        }
    };
    let detail = if refusal.detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", clip(&refusal.detail, 200))
    };
    Finding::new(
        Code::RefusedByPolicy,
        Severity::Error,
        format!(
            "`{}` was not tested: {why}{detail}.",
            clip(&o.endpoint(), 300)
        ),
    )
}

fn wrong_protocol_message(service: Service, endpoint: &str, peer: PeerProtocol) -> String {
    let hint = match (service, peer) {
        (Service::Imap, PeerProtocol::Smtp) => {
            " That is the outgoing (SMTP) server's port: the IMAP port is usually 993."
        }
        (Service::Smtp, PeerProtocol::Imap) => {
            " That is the incoming (IMAP) server's port: the SMTP port is usually 587 or 465."
        }
        (_, PeerProtocol::Pop3) => {
            " POP3 (ports 995 and 110) is not IMAP: the IMAP port is usually 993."
        }
        _ => "",
    };
    format!(
        "`{endpoint}` is {}, not an {} server.{hint}",
        peer.describe(),
        service.label()
    )
}

/// The alternative to mention: the one that explains the failure, else the best that answered.
fn best_alternative<'a>(
    o: &'a Observation,
    explained: Option<&'a AlternativeResult>,
) -> Option<&'a AlternativeResult> {
    if explained.is_some() {
        return None;
    }
    o.alternatives
        .iter()
        .filter(|a| a.answered)
        .max_by_key(|a| (a.cert_ok, a.mode == TlsMode::Implicit))
}

fn usual_ports(service: Service) -> &'static str {
    match service {
        Service::Imap => "993 (SSL/TLS) or 143 (STARTTLS)",
        Service::Smtp => "587 (STARTTLS) or 465 (SSL/TLS)",
    }
}

fn tls_port(service: Service) -> &'static str {
    match service {
        Service::Imap => "993",
        Service::Smtp => "465 or 587",
    }
}

fn clip(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}

// ---------------------------------------------------------------------------------------------
// Ports: conventions and alternatives
// ---------------------------------------------------------------------------------------------

/// Which ports mean what. The defaults are the standard ones; tests use their own high ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConventions {
    pub imap_implicit: Vec<u16>,
    pub imap_starttls: Vec<u16>,
    pub smtp_implicit: Vec<u16>,
    /// In order of preference for a client: submission first, relay last.
    pub smtp_starttls: Vec<u16>,
}

impl Default for PortConventions {
    fn default() -> Self {
        PortConventions {
            imap_implicit: vec![993],
            imap_starttls: vec![143],
            smtp_implicit: vec![465],
            smtp_starttls: vec![587, 25, 2525],
        }
    }
}

impl PortConventions {
    fn lists(&self, service: Service) -> (&[u16], &[u16]) {
        match service {
            Service::Imap => (&self.imap_implicit, &self.imap_starttls),
            Service::Smtp => (&self.smtp_implicit, &self.smtp_starttls),
        }
    }

    /// The mode a port conventionally uses, if it has a convention.
    pub fn mode_for(&self, service: Service, port: u16) -> Option<TlsMode> {
        let (implicit, starttls) = self.lists(service);
        if implicit.contains(&port) {
            Some(TlsMode::Implicit)
        } else if starttls.contains(&port) {
            Some(TlsMode::Starttls)
        } else {
            None
        }
    }

    /// What to try when `port` fails with `mode`: the same port in the other mode (unless the
    /// port is closed), then the standard ports of the service, implicit TLS first. 993↔143 for
    /// IMAP; 465↔587 (and 25) for SMTP.
    pub fn alternatives(
        &self,
        service: Service,
        port: u16,
        mode: TlsMode,
        port_open: bool,
    ) -> Vec<(u16, TlsMode)> {
        let (implicit, starttls) = self.lists(service);
        let mut out = Vec::new();
        if port_open {
            out.push((port, mode.other()));
        }
        let standard = implicit
            .iter()
            .map(|p| (*p, TlsMode::Implicit))
            .chain(starttls.iter().take(2).map(|p| (*p, TlsMode::Starttls)));
        for candidate in standard {
            if candidate.0 != port && !out.contains(&candidate) {
                out.push(candidate);
            }
        }
        out
    }
}

/// Whether a failure is worth trying the alternatives for: the endpoint itself does not work,
/// but the server may on another port or mode. Name, policy and certificate problems are not.
pub fn wants_alternatives(failure: &Failure) -> bool {
    !matches!(
        failure,
        Failure::DnsNotFound
            | Failure::DnsNoAddress
            | Failure::DnsError { .. }
            | Failure::Unreachable { .. }
            | Failure::Internal { .. }
    )
}

/// Whether the port answered at all (so the same port in the other mode is worth a try).
pub fn port_was_open(failure: &Failure) -> bool {
    !matches!(
        failure,
        Failure::ConnectionRefused | Failure::Unreachable { .. }
    )
}

// ---------------------------------------------------------------------------------------------
// No server posted: suggestions from the email domain
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Candidate {
    pub service: Service,
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
}

/// Where a suggestion came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SuggestionSource {
    /// The provider table in `rules/providers.toml`; nothing was probed.
    Provider { id: String, name: String },
    /// An MX or SRV look-up (RFC 6186), through the adapter's look-up seam.
    Lookup,
    /// A conventional name that answered when probed.
    Probed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub candidate: Candidate,
    pub source: SuggestionSource,
    /// Present when the candidate was probed.
    pub report: Option<EndpointReport>,
}

/// The provider whose domain patterns match an email domain.
pub fn provider_for_domain<'r>(rules: &'r Rules, domain: &str) -> Option<&'r Provider> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    rules
        .providers
        .iter()
        .find(|p| p.domain_patterns.iter().any(|re| re.is_match(&domain)))
}

/// The provider's documented settings for a domain, best first; empty when unknown.
pub fn provider_suggestions(rules: &Rules, domain: &str) -> Vec<Suggestion> {
    let Some(provider) = provider_for_domain(rules, domain) else {
        return Vec::new();
    };
    let source = SuggestionSource::Provider {
        id: provider.id.clone(),
        name: provider.name.clone(),
    };
    [
        (Service::Imap, &provider.imap),
        (Service::Smtp, &provider.smtp),
    ]
    .into_iter()
    .filter_map(|(service, setting)| {
        let setting = setting.as_ref()?;
        Some(Suggestion {
            candidate: Candidate {
                service,
                host: setting.host.clone(),
                port: setting.port,
                mode: setting.security.into(),
            },
            source: source.clone(),
            report: None,
        })
    })
    .collect()
}

/// The candidates a mail client tries for a domain, as Thunderbird's account setup does:
/// `imap.`, `mail.` or the bare domain on 993/143; `smtp.` or `mail.` on 465/587. Best first.
pub fn conventional_candidates(
    domain: &str,
    service: Service,
    ports: &PortConventions,
) -> Vec<Candidate> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return Vec::new();
    }
    let prefixes: &[&str] = match service {
        Service::Imap => &["imap.", "mail.", ""],
        Service::Smtp => &["smtp.", "mail."],
    };
    let (implicit, starttls) = ports.lists(service);
    let port_modes: Vec<(u16, TlsMode)> = implicit
        .iter()
        .take(1)
        .map(|p| (*p, TlsMode::Implicit))
        .chain(starttls.iter().take(1).map(|p| (*p, TlsMode::Starttls)))
        .collect();
    let mut out = Vec::new();
    for prefix in prefixes {
        for (port, mode) in &port_modes {
            out.push(Candidate {
                service,
                host: format!("{prefix}{domain}"),
                port: *port,
                mode: *mode,
            });
        }
    }
    out
}

/// Orders probed candidates best first: working before failing, then a valid certificate,
/// then implicit TLS over STARTTLS, then the conventional order (the input order).
pub fn rank_probed(mut suggestions: Vec<Suggestion>) -> Vec<Suggestion> {
    let score = |s: &Suggestion| {
        let Some(report) = &s.report else {
            return (0, 0, 0);
        };
        let works = u8::from(report.verdict == Verdict::Ok);
        let cert = report
            .tls
            .as_ref()
            .map_or(0, |t| u8::from(t.cert.trusted && t.cert.name_matches));
        let implicit = u8::from(s.candidate.mode == TlsMode::Implicit);
        (works, cert, implicit)
    };
    // A stable sort keeps the conventional order among equals.
    suggestions.sort_by_key(|s| std::cmp::Reverse(score(s)));
    suggestions
}

// ---------------------------------------------------------------------------------------------
// Combining with the triage report
// ---------------------------------------------------------------------------------------------

/// Next steps for the member from the triage report and the probe together. Probe errors come
/// first (they are facts about the server), then what the error code and the provider's known
/// settings add.
pub fn next_steps(rules: &Rules, report: &Report, probe: &ProbeReport) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    fn push(steps: &mut Vec<String>, step: String) {
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    let provider = report.provider.as_deref().and_then(|id| rules.provider(id));
    for (service, endpoint) in [(Service::Imap, &probe.imap), (Service::Smtp, &probe.smtp)] {
        let Some(endpoint) = endpoint else { continue };
        for finding in endpoint
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning || f.code == Code::AlternativeAvailable)
        {
            push(&mut steps, finding.message.clone());
        }
        let known = provider.and_then(|p| match service {
            Service::Imap => p.imap.as_ref(),
            Service::Smtp => p.smtp.as_ref(),
        });
        if let (Some(known), Some(provider)) = (known, provider) {
            let posted_is_known =
                known.accepts_host(&endpoint.host) && known.accepts_port(endpoint.port);
            if endpoint.verdict != Verdict::Ok && !posted_is_known {
                push(
                    &mut steps,
                    format!(
                        "{} documents {} as `{}` ({}); use that instead of `{}`.",
                        provider.name,
                        service.label(),
                        endpoint_text(&known.host, known.port),
                        known.security,
                        endpoint_text(&endpoint.host, endpoint.port)
                    ),
                );
            }
        }
    }
    let Some(error) = &report.error else {
        return steps;
    };
    let login_error = matches!(
        error.code.as_str(),
        "imap_auth_error" | "smtp_auth_error" | "unauthorized" | "basic_auth_disabled"
    );
    let probed_ok =
        |e: &Option<EndpointReport>| e.as_ref().is_some_and(|e| e.verdict == Verdict::Ok);
    let relevant_ok = match error.code.as_str() {
        "smtp_auth_error" | "smtp_settings_incorrect" => probed_ok(&probe.smtp),
        _ => probed_ok(&probe.imap),
    };
    if login_error && relevant_ok {
        push(&mut steps, "The server answers and offers encryption, so the server and port are right: the problem is the login itself.".to_string());
    } else if !login_error && relevant_ok && steps.is_empty() {
        push(&mut steps, "The server answers correctly from here. If the vendor still cannot connect, the server may allow only certain IP addresses: IT must add the vendor's connection IPs to the allowlist.".to_string());
    }
    if let Some(rule) = rules.error(&error.code) {
        if login_error || !relevant_ok {
            for step in &rule.next_steps {
                push(&mut steps, step.clone());
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(trusted: bool, name_matches: bool) -> CertInfo {
        CertInfo {
            subject: "CN=localhost".into(),
            sans: vec!["DNS:localhost".into()],
            issuer: "CN=test CA".into(),
            not_after: "2030-01-01T00:00:00Z".into(),
            trusted,
            name_matches,
        }
    }

    fn ok_observation(service: Service, port: u16, mode: TlsMode) -> Observation {
        let mut o = Observation::new(service, "mail.example.com", port, mode, ModeSource::Port);
        o.tls = Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            cert: cert(true, true),
        });
        o.banner = "* OK Dovecot ready.".into();
        o.capabilities = vec!["IMAP4rev1".into(), "AUTH=PLAIN".into()];
        o
    }

    fn codes(o: &Observation) -> Vec<&'static str> {
        diagnose(o).iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn a_working_endpoint_is_ok_with_one_info_finding() {
        let o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
        let r = report(&o);
        assert_eq!(r.verdict, Verdict::Ok);
        assert_eq!(codes(&o), ["ok"]);
        assert_eq!(r.findings[0].severity, Severity::Info);
    }

    #[test]
    fn certificate_problems_are_errors_and_the_probe_result_keeps_the_tls_data() {
        let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
        if let Some(tls) = o.tls.as_mut() {
            tls.cert = cert(false, false);
        }
        assert_eq!(codes(&o), ["cert_untrusted", "cert_name_mismatch"]);
        assert_eq!(report(&o).verdict, Verdict::Failed);
        o.cert_problems.expired = true;
        assert_eq!(codes(&o), ["cert_expired", "cert_name_mismatch"]);
    }

    #[test]
    fn courier_is_recognised_from_the_banner() {
        let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
        o.banner = "* OK [CAPABILITY IMAP4rev1] Courier-IMAP ready. Copyright 1998-2018".into();
        assert_eq!(codes(&o), ["courier_imap_unsupported"]);
    }

    #[test]
    fn refusal_is_the_only_finding_and_the_verdict_is_refused() {
        let mut o = Observation::new(
            Service::Imap,
            "10.0.0.1",
            993,
            TlsMode::Implicit,
            ModeSource::Port,
        );
        o.refused = Some(Refusal {
            reason: RefusedReason::PrivateAddress,
            detail: "10.0.0.1".into(),
        });
        let r = report(&o);
        assert_eq!(r.verdict, Verdict::Refused);
        assert_eq!(r.refused_reason, Some(RefusedReason::PrivateAddress));
        assert_eq!(codes(&o), ["refused_by_policy"]);
    }

    #[test]
    fn silence_on_a_plain_port_that_answers_tls_is_plain_on_tls_port() {
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            143,
            TlsMode::Starttls,
            ModeSource::Override,
        );
        o.failure = Some(Failure::Timeout {
            stage: StageName::Greeting,
        });
        o.alternatives.push(AlternativeResult {
            port: 143,
            mode: TlsMode::Implicit,
            answered: true,
            cert_ok: true,
            banner: String::new(),
        });
        assert_eq!(codes(&o), ["plain_on_tls_port"]);
        o.alternatives.clear();
        assert_eq!(codes(&o), ["timeout"]);
    }

    #[test]
    fn plain_text_on_a_tls_attempt_is_tls_on_plain_port() {
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            993,
            TlsMode::Implicit,
            ModeSource::Port,
        );
        o.failure = Some(Failure::TlsFailed {
            detail: "corrupt message".into(),
            peer: Some(PeerProtocol::Imap),
        });
        assert_eq!(codes(&o), ["tls_on_plain_port"]);
        o.failure = Some(Failure::TlsFailed {
            detail: "alert".into(),
            peer: Some(PeerProtocol::Tls),
        });
        assert_eq!(codes(&o), ["tls_handshake_failed"]);
        o.failure = Some(Failure::TlsFailed {
            detail: "corrupt".into(),
            peer: Some(PeerProtocol::Unknown),
        });
        assert_eq!(codes(&o), ["wrong_protocol"]);
    }

    #[test]
    fn a_closed_port_names_the_alternative_that_answers() {
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            143,
            TlsMode::Starttls,
            ModeSource::Port,
        );
        o.failure = Some(Failure::ConnectionRefused);
        o.alternatives.push(AlternativeResult {
            port: 993,
            mode: TlsMode::Implicit,
            answered: true,
            cert_ok: true,
            banner: String::new(),
        });
        let findings = diagnose(&o);
        assert_eq!(findings[0].code, Code::ConnectionRefused);
        assert_eq!(findings[1].code, Code::AlternativeAvailable);
        assert_eq!(
            findings[1].message,
            "`mail.example.com:993` answers with implicit TLS (SSL); you entered 143."
        );
    }

    const COURIER: &str =
        "* OK [CAPABILITY IMAP4rev1 STARTTLS] Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.";

    #[test]
    fn courier_seen_by_an_alternative_is_named_and_never_recommended_silently() {
        // Posted 993, Courier answers only on 143.
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            993,
            TlsMode::Implicit,
            ModeSource::Port,
        );
        o.failure = Some(Failure::ConnectionRefused);
        o.alternatives.push(AlternativeResult {
            port: 143,
            mode: TlsMode::Starttls,
            answered: true,
            cert_ok: true,
            banner: COURIER.into(),
        });
        let findings = diagnose(&o);
        let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "connection_refused",
                "courier_imap_unsupported",
                "alternative_available"
            ]
        );
        assert!(findings[1].message.contains("`mail.example.com:143`"));
        assert!(
            findings[2].message.contains("Courier-IMAP"),
            "{}",
            findings[2].message
        );
    }

    #[test]
    fn courier_in_a_mix_up_is_named() {
        // STARTTLS chosen on 993: silent; the implicit attempt read Courier's greeting.
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            993,
            TlsMode::Starttls,
            ModeSource::Override,
        );
        o.failure = Some(Failure::Timeout {
            stage: StageName::Greeting,
        });
        o.alternatives.push(AlternativeResult {
            port: 993,
            mode: TlsMode::Implicit,
            answered: true,
            cert_ok: true,
            banner: COURIER.into(),
        });
        assert_eq!(codes(&o), ["plain_on_tls_port", "courier_imap_unsupported"]);
        assert!(diagnose(&o)[0].message.contains("Courier-IMAP"));
        // Implicit TLS chosen on 143: the plain greeting came back to the ClientHello.
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            143,
            TlsMode::Implicit,
            ModeSource::Override,
        );
        o.banner = COURIER.into();
        o.failure = Some(Failure::TlsFailed {
            detail: "corrupt message".into(),
            peer: Some(PeerProtocol::Imap),
        });
        let findings = diagnose(&o);
        assert_eq!(findings[0].code, Code::TlsOnPlainPort);
        assert!(
            findings[0].message.contains("Courier-IMAP"),
            "{}",
            findings[0].message
        );
        assert!(findings
            .iter()
            .any(|f| f.code == Code::CourierImapUnsupported));
    }

    #[test]
    fn a_failing_resolver_is_not_blamed_on_the_name() {
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            993,
            TlsMode::Implicit,
            ModeSource::Port,
        );
        o.failure = Some(Failure::DnsError {
            detail: "the resolver answered SERVFAIL".into(),
        });
        let findings = diagnose(&o);
        assert_eq!(findings[0].code, Code::DnsUnavailable);
        assert!(findings[0]
            .message
            .contains("could not look `mail.example.com` up"));
        assert!(!findings[0].message.contains("does not exist"));
        o.failure = Some(Failure::DnsNotFound);
        assert_eq!(codes(&o), ["dns_not_found"]);
        o.failure = Some(Failure::DnsNoAddress);
        assert_eq!(codes(&o), ["dns_no_address"]);
    }

    #[test]
    fn a_refusal_after_starttls_is_quoted() {
        let mut o = Observation::new(
            Service::Imap,
            "mail.example.com",
            143,
            TlsMode::Starttls,
            ModeSource::Port,
        );
        o.failure = Some(Failure::StarttlsRejected {
            text: "NO STARTTLS failed".into(),
        });
        let findings = diagnose(&o);
        assert!(
            findings[0].message.contains("\"NO STARTTLS failed\""),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn smtp_without_auth_and_port_25_are_warnings_only() {
        let mut o = ok_observation(Service::Smtp, 25, TlsMode::Starttls);
        o.capabilities = vec!["SIZE 10485760".into(), "PIPELINING".into()];
        let r = report(&o);
        assert_eq!(r.verdict, Verdict::Ok);
        assert_eq!(codes(&o), ["smtp_auth_not_offered", "relay_port", "ok"]);
    }

    #[test]
    fn sniffing_tells_protocols_apart() {
        assert_eq!(
            PeerProtocol::sniff(b"* OK Dovecot ready"),
            PeerProtocol::Imap
        );
        assert_eq!(PeerProtocol::sniff(b"220 mx ESMTP"), PeerProtocol::Smtp);
        assert_eq!(PeerProtocol::sniff(b"220-mx ESMTP"), PeerProtocol::Smtp);
        assert_eq!(PeerProtocol::sniff(b"+OK POP3"), PeerProtocol::Pop3);
        assert_eq!(
            PeerProtocol::sniff(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
            PeerProtocol::Tls
        );
        assert_eq!(PeerProtocol::sniff(b"HTTP/1.1 400"), PeerProtocol::Http);
        assert_eq!(
            PeerProtocol::sniff(&[0xde, 0xad, 0xbe, 0xef]),
            PeerProtocol::Unknown
        );
        assert_eq!(PeerProtocol::sniff(b""), PeerProtocol::Unknown);
    }

    #[test]
    fn alternatives_follow_the_standard_pairs() {
        let p = PortConventions::default();
        assert_eq!(
            p.alternatives(Service::Imap, 143, TlsMode::Starttls, false),
            [(993, TlsMode::Implicit)]
        );
        assert_eq!(
            p.alternatives(Service::Imap, 993, TlsMode::Implicit, true),
            [(993, TlsMode::Starttls), (143, TlsMode::Starttls)]
        );
        assert_eq!(
            p.alternatives(Service::Smtp, 465, TlsMode::Implicit, false),
            [(587, TlsMode::Starttls), (25, TlsMode::Starttls)]
        );
        assert_eq!(
            p.alternatives(Service::Smtp, 587, TlsMode::Starttls, false),
            [(465, TlsMode::Implicit), (25, TlsMode::Starttls)]
        );
        assert_eq!(p.mode_for(Service::Smtp, 2525), Some(TlsMode::Starttls));
        assert_eq!(p.mode_for(Service::Imap, 31993), None);
    }

    #[test]
    fn conventional_candidates_follow_thunderbird_order() {
        let c = conventional_candidates("Example.COM.", Service::Imap, &PortConventions::default());
        let got: Vec<String> = c.iter().map(|c| format!("{}:{}", c.host, c.port)).collect();
        assert_eq!(
            got,
            [
                "imap.example.com:993",
                "imap.example.com:143",
                "mail.example.com:993",
                "mail.example.com:143",
                "example.com:993",
                "example.com:143"
            ]
        );
        let c = conventional_candidates("example.com", Service::Smtp, &PortConventions::default());
        let got: Vec<String> = c.iter().map(|c| format!("{}:{}", c.host, c.port)).collect();
        assert_eq!(
            got,
            [
                "smtp.example.com:465",
                "smtp.example.com:587",
                "mail.example.com:465",
                "mail.example.com:587"
            ]
        );
        assert!(
            conventional_candidates("  ", Service::Imap, &PortConventions::default()).is_empty()
        );
    }

    #[test]
    fn ranking_puts_working_tls_first() {
        let suggestion = |port: u16, mode: TlsMode, ok: bool| {
            let mut o = ok_observation(Service::Imap, port, mode);
            if !ok {
                o.tls = None;
                o.failure = Some(Failure::ConnectionRefused);
            }
            Suggestion {
                candidate: Candidate {
                    service: Service::Imap,
                    host: "mail.example.com".into(),
                    port,
                    mode,
                },
                source: SuggestionSource::Probed,
                report: Some(report(&o)),
            }
        };
        let ranked = rank_probed(vec![
            suggestion(143, TlsMode::Starttls, true),
            suggestion(993, TlsMode::Implicit, false),
            suggestion(993, TlsMode::Implicit, true),
        ]);
        let order: Vec<(u16, bool)> = ranked
            .iter()
            .map(|s| {
                (
                    s.candidate.port,
                    s.report.as_ref().is_some_and(|r| r.verdict == Verdict::Ok),
                )
            })
            .collect();
        assert_eq!(order, [(993, true), (143, true), (993, false)]);
    }

    #[test]
    fn the_report_serialises_to_the_contract_shape() {
        let o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
        let value = serde_json::to_value(ProbeReport {
            imap: Some(report(&o)),
            smtp: None,
        })
        .unwrap_or_default();
        let imap = &value["imap"];
        let mut keys: Vec<&str> = imap
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "banner",
                "capabilities",
                "findings",
                "host",
                "port",
                "refused_reason",
                "stages",
                "tls",
                "verdict"
            ]
        );
        assert_eq!(imap["verdict"], "ok");
        assert!(imap["refused_reason"].is_null());
        assert!(value["smtp"].is_null());
        let mut cert_keys: Vec<&str> = imap["tls"]["cert"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        cert_keys.sort_unstable();
        assert_eq!(
            cert_keys,
            [
                "issuer",
                "name_matches",
                "not_after",
                "sans",
                "subject",
                "trusted"
            ]
        );
    }

    fn triaged(text: &str) -> (Rules, Report) {
        let rules = crate::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
        let thread = crate::core::Thread {
            messages: vec![crate::core::Message::member(text)],
        };
        let report = crate::core::triage(&rules, &thread);
        (rules, report)
    }

    #[test]
    fn a_login_error_with_a_working_server_points_at_the_login() {
        let (rules, report) = triaged(
            "I get IMAP authentication error with imap.gmail.com:993, my email is bob@gmail.com",
        );
        assert_eq!(
            report.error.as_ref().map(|e| e.code.as_str()),
            Some("imap_auth_error")
        );
        let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
        o.host = "imap.gmail.com".into();
        let probe = ProbeReport {
            imap: Some(super::report(&o)),
            smtp: None,
        };
        let steps = next_steps(&rules, &report, &probe);
        assert!(
            steps[0].contains("the problem is the login itself"),
            "{steps:#?}"
        );
        assert!(
            steps.iter().any(|s| s.contains("app password")),
            "{steps:#?}"
        );
    }

    #[test]
    fn a_failing_probe_of_a_known_provider_suggests_its_documented_server() {
        let (rules, report) =
            triaged("IMAP settings incorrect. server imap.gmial.com port 993, email bob@gmail.com");
        let mut o = Observation::new(
            Service::Imap,
            "imap.gmial.com",
            993,
            TlsMode::Implicit,
            ModeSource::Port,
        );
        o.failure = Some(Failure::DnsNotFound);
        let probe = ProbeReport {
            imap: Some(super::report(&o)),
            smtp: None,
        };
        let steps = next_steps(&rules, &report, &probe);
        assert!(steps[0].contains("does not exist in DNS"), "{steps:#?}");
        assert_eq!(report.provider.as_deref(), Some("gmail"));
        assert!(
            steps
                .iter()
                .any(|s| s.contains("`imap.gmail.com:993` (SSL/TLS)")),
            "{steps:#?}"
        );
        // The error rule's own steps follow the probe's facts.
        assert!(steps.iter().any(|s| s.contains("allowlist")), "{steps:#?}");
    }
}
