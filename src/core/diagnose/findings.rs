//! Findings: what an observation means, with stable codes, and the verdict of an endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::observation::{
    endpoint_text, is_courier, AlternativeResult, Failure, ModeSource, Observation, PeerProtocol,
    Refusal, RefusedReason, Stage, StageName, TlsInfo,
};
use crate::core::service::{Service, TlsMode};
use crate::core::text::truncate;

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
    pub(super) fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
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
                format!("The test could not look `{}` up: the DNS resolver failed ({}). That is on our side and says nothing about whether the name is right; try the test again in a few minutes.", o.host, excerpt(detail, 160)),
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
                format!("`{endpoint}` refused the session in its greeting: \"{}\". The server may block this address or limit connections; ask the provider or IT.", excerpt(text, 200)),
            ),
            Failure::StarttlsNotOffered => Finding::new(
                Code::NoTls,
                Severity::Error,
                format!("`{endpoint}` offers no encryption: no STARTTLS, and it is not an implicit TLS port. The vendor requires TLS; ask the provider for the encrypted port (usually {}).", tls_port(o.service)),
            ),
            Failure::StarttlsRejected { text } => Finding::new(
                Code::TlsHandshakeFailed,
                Severity::Error,
                format!("`{endpoint}` announced STARTTLS but refused it: \"{}\". Its administrator must fix the TLS setup.", excerpt(text, 200)),
            ),
            Failure::Protocol { stage, detail } => Finding::new(
                Code::ProtocolError,
                Severity::Error,
                format!("`{endpoint}` answered wrongly while {} ({}).", stage.describe(), excerpt(detail, 200)),
            ),
            Failure::Internal { detail } => Finding::new(
                Code::ProbeError,
                Severity::Error,
                format!("The probe of `{endpoint}` stopped on an internal error ({}); a moderator should look.", excerpt(detail, 200)),
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
                format!("The certificate of `{endpoint}` is for {}, not for `{}`. Use the server name the certificate names (or the provider documents); the vendor requires the name to match.", excerpt(&names, 300), o.host),
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
        format!(" ({})", excerpt(&refusal.detail, 200))
    };
    Finding::new(
        Code::RefusedByPolicy,
        Severity::Error,
        format!(
            "`{}` was not tested: {why}{detail}.",
            excerpt(&o.endpoint(), 300)
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

/// Server or resolver text quoted in a finding: on one line, and at most `max` characters
/// before the ellipsis.
pub(super) fn excerpt(text: &str, max: usize) -> String {
    truncate(&text.replace(|c: char| c.is_control(), " "), max + 1)
}
