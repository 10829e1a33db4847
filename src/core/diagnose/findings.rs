//! Findings: what an observation means, with stable codes, and the verdict of an endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::observation::{
    endpoint_text, is_courier, AlternativeResult, Failure, ModeSource, Observation, PeerProtocol,
    Refusal, RefusedReason, Stage, StageName, TlsInfo,
};
use crate::core::rules::FindingTexts;
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

/// Judges one observation: findings (most severe first), verdict, and the contract object. The
/// messages are the pack's (`findings.toml`).
pub fn report(texts: &FindingTexts, observation: &Observation) -> EndpointReport {
    let findings = diagnose(texts, observation);
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

/// Turns what the probe saw into findings, most severe first, worded by `texts`.
pub fn diagnose(texts: &FindingTexts, o: &Observation) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(refusal) = &o.refused {
        out.push(refused_finding(texts, o, refusal));
        return out;
    }
    let endpoint = o.endpoint();
    let endpoint = endpoint.as_str();
    let service = o.service.label();
    let port = o.port.to_string();
    let port = port.as_str();
    let error = |code: Code, key: &str, values: &[(&str, &str)]| {
        Finding::new(code, Severity::Error, texts.render(key, values))
    };
    // Which alternative explains the failure, so that it is not reported twice.
    let mut explained_alternative: Option<&AlternativeResult> = None;
    let same_port = |mode: TlsMode| {
        o.alternatives
            .iter()
            .find(|a| a.port == o.port && a.mode == mode && a.answered)
    };
    // The same port over implicit TLS answered a ClientHello, if only with a TLS alert: it is a
    // TLS port, whose TLS may be broken besides.
    let same_port_tls = o.alternatives.iter().find(|a| {
        a.port == o.port && a.mode == TlsMode::Implicit && (a.answered || a.tls_alert.is_some())
    });
    // A second finding for that broken TLS, after the mix-up.
    let mut broken_tls: Option<Finding> = None;

    if let Some(failure) = &o.failure {
        let finding = match failure {
            Failure::DnsNotFound => error(Code::DnsNotFound, "dns_not_found", &[("host", &o.host)]),
            Failure::DnsNoAddress => {
                error(Code::DnsNoAddress, "dns_no_address", &[("host", &o.host)])
            }
            Failure::DnsError { detail } => error(
                Code::DnsUnavailable,
                "dns_unavailable",
                &[("host", &o.host), ("detail", &excerpt(detail, 160))],
            ),
            Failure::ConnectionRefused => error(
                Code::ConnectionRefused,
                "connection_refused",
                &[
                    ("endpoint", endpoint),
                    ("port", port),
                    ("service", service),
                    ("usual_ports", usual_ports(o.service)),
                ],
            ),
            Failure::Unreachable { detail } => error(
                Code::Unreachable,
                "unreachable",
                &[("endpoint", endpoint), ("detail", detail)],
            ),
            Failure::Timeout { stage } => match (o.mode, stage, same_port_tls) {
                (TlsMode::Starttls, StageName::Greeting, Some(alt))
                    if o.mode_source != ModeSource::Auto =>
                {
                    explained_alternative = Some(alt);
                    broken_tls = alt.tls_alert.as_ref().map(|detail| {
                        error(
                            Code::TlsHandshakeFailed,
                            "tls_handshake_failed",
                            &[("endpoint", endpoint), ("detail", detail)],
                        )
                    });
                    let key = if is_courier(&alt.banner) {
                        "plain_on_tls_port_courier"
                    } else {
                        "plain_on_tls_port"
                    };
                    error(
                        Code::PlainOnTlsPort,
                        key,
                        &[("endpoint", endpoint), ("port", port)],
                    )
                }
                _ => error(
                    Code::Timeout,
                    "timeout",
                    &[
                        ("endpoint", endpoint),
                        ("stage", stage.describe()),
                        ("seconds", &format!("{:.0}", o.budget_ms as f64 / 1000.0)),
                    ],
                ),
            },
            Failure::TooMuchData { stage } => error(
                Code::ResponseTooLarge,
                "response_too_large",
                &[
                    ("endpoint", endpoint),
                    ("stage", stage.describe()),
                    ("service", service),
                ],
            ),
            Failure::Closed { stage } => error(
                Code::ConnectionClosed,
                "connection_closed",
                &[("endpoint", endpoint), ("stage", stage.describe())],
            ),
            Failure::WrongProtocol { peer, .. } => {
                wrong_protocol_finding(texts, o.service, endpoint, *peer)
            }
            Failure::TlsFailed { detail, peer } => match peer {
                Some(peer) if peer.is_plain_mail() => {
                    explained_alternative = same_port(TlsMode::Starttls);
                    let key = if !peer.speaks(o.service) {
                        "tls_on_plain_port_other_service"
                    } else if is_courier(&o.banner)
                        || explained_alternative.is_some_and(|a| is_courier(&a.banner))
                    {
                        "tls_on_plain_port_courier"
                    } else if explained_alternative.is_some() {
                        "tls_on_plain_port_starttls"
                    } else {
                        "tls_on_plain_port"
                    };
                    error(
                        Code::TlsOnPlainPort,
                        key,
                        &[
                            ("endpoint", endpoint),
                            ("peer", peer.describe()),
                            ("port", port),
                            ("service", service),
                        ],
                    )
                }
                Some(peer) if *peer != PeerProtocol::Tls => {
                    wrong_protocol_finding(texts, o.service, endpoint, *peer)
                }
                _ => error(
                    Code::TlsHandshakeFailed,
                    "tls_handshake_failed",
                    &[("endpoint", endpoint), ("detail", detail)],
                ),
            },
            Failure::GreetingRejected { text } => error(
                Code::GreetingRejected,
                "greeting_rejected",
                &[("endpoint", endpoint), ("text", &excerpt(text, 200))],
            ),
            Failure::StarttlsNotOffered => error(
                Code::NoTls,
                "no_tls",
                &[("endpoint", endpoint), ("tls_port", tls_port(o.service))],
            ),
            Failure::StarttlsRejected { text } => error(
                Code::TlsHandshakeFailed,
                "starttls_rejected",
                &[("endpoint", endpoint), ("text", &excerpt(text, 200))],
            ),
            Failure::Protocol { stage, detail } => error(
                Code::ProtocolError,
                "protocol_error",
                &[
                    ("endpoint", endpoint),
                    ("stage", stage.describe()),
                    ("detail", &excerpt(detail, 200)),
                ],
            ),
            Failure::Internal { detail } => error(
                Code::ProbeError,
                "probe_error",
                &[("endpoint", endpoint), ("detail", &excerpt(detail, 200))],
            ),
        };
        out.push(finding);
        out.extend(broken_tls);
    }

    if let Some(tls) = &o.tls {
        let cert = &tls.cert;
        if o.cert_problems.expired {
            out.push(error(
                Code::CertExpired,
                "cert_expired",
                &[("endpoint", endpoint), ("date", &cert.not_after)],
            ));
        } else if !cert.trusted {
            let finding = match (&o.cert_problems.chain_error, o.cert_problems.not_yet_valid) {
                (_, true) => error(
                    Code::CertUntrusted,
                    "cert_not_yet_valid",
                    &[("endpoint", endpoint)],
                ),
                (Some(e), _) => error(
                    Code::CertUntrusted,
                    "cert_untrusted_because",
                    &[("endpoint", endpoint), ("reason", e)],
                ),
                (None, _) => error(
                    Code::CertUntrusted,
                    "cert_untrusted",
                    &[("endpoint", endpoint)],
                ),
            };
            out.push(finding);
        }
        if !cert.name_matches {
            let names = if cert.sans.is_empty() {
                cert.subject.clone()
            } else {
                cert.sans.join(", ")
            };
            out.push(error(
                Code::CertNameMismatch,
                "cert_name_mismatch",
                &[
                    ("endpoint", endpoint),
                    ("names", &excerpt(&names, 300)),
                    ("host", &o.host),
                ],
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
        out.push(error(
            Code::CourierImapUnsupported,
            "courier_imap_unsupported",
            &[("endpoint", &endpoint_text(&o.host, port))],
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
                texts.render("smtp_auth_not_offered", &[("endpoint", endpoint)]),
            ));
        }
        if o.port == 25 {
            out.push(Finding::new(
                Code::RelayPort,
                Severity::Warning,
                texts.render("relay_port", &[]),
            ));
        }
    }

    if !out.iter().any(|f| f.severity == Severity::Error) {
        let message = match &o.tls {
            Some(t) => texts.render(
                "ok_tls",
                &[
                    ("endpoint", endpoint),
                    ("service", service),
                    ("mode", o.mode.describe()),
                    ("version", &t.version),
                ],
            ),
            None => texts.render("ok_plain", &[("endpoint", endpoint), ("service", service)]),
        };
        out.insert(0, Finding::new(Code::Ok, Severity::Info, message));
    } else if let Some(alt) = best_alternative(o, explained_alternative) {
        let entered = if alt.port == o.port {
            o.mode.describe().to_string()
        } else {
            o.port.to_string()
        };
        let key = if is_courier(&alt.banner) {
            "alternative_available_courier"
        } else {
            "alternative_available"
        };
        out.push(Finding::new(
            Code::AlternativeAvailable,
            Severity::Info,
            texts.render(
                key,
                &[
                    ("endpoint", &endpoint_text(&o.host, alt.port)),
                    ("mode", alt.mode.describe()),
                    ("entered", &entered),
                ],
            ),
        ));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn refused_finding(texts: &FindingTexts, o: &Observation, refusal: &Refusal) -> Finding {
    let key = match refusal.reason {
        RefusedReason::PrivateAddress => "refused_private_address",
        RefusedReason::PortNotAllowed => "refused_port_not_allowed",
        RefusedReason::InvalidHost => "refused_invalid_host",
        RefusedReason::RateLimited => "refused_rate_limited",
    };
    let detail = if refusal.detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", excerpt(&refusal.detail, 200))
    };
    Finding::new(
        Code::RefusedByPolicy,
        Severity::Error,
        texts.render(
            key,
            &[
                ("endpoint", &excerpt(&o.endpoint(), 300)),
                ("detail", &detail),
            ],
        ),
    )
}

fn wrong_protocol_finding(
    texts: &FindingTexts,
    service: Service,
    endpoint: &str,
    peer: PeerProtocol,
) -> Finding {
    let key = match (service, peer) {
        (Service::Imap, PeerProtocol::Smtp) => "wrong_protocol_smtp_port",
        (Service::Smtp, PeerProtocol::Imap) => "wrong_protocol_imap_port",
        (_, PeerProtocol::Pop3) => "wrong_protocol_pop3",
        _ => "wrong_protocol",
    };
    Finding::new(
        Code::WrongProtocol,
        Severity::Error,
        texts.render(
            key,
            &[
                ("endpoint", endpoint),
                ("peer", peer.describe()),
                ("service", service.label()),
            ],
        ),
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
