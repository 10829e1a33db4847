//! No server posted: the provider's documented settings for the email domain, else the names a
//! mail client would try, and the order in which what answered is suggested.

use serde::{Deserialize, Serialize};

use super::discovery::normalize;
use super::findings::{EndpointReport, Verdict};
use super::ports::PortConventions;
use crate::core::rules::Rules;
use crate::core::service::{Service, TlsMode};

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

/// The provider's documented settings for a domain, best first; empty when unknown.
pub fn provider_suggestions(rules: &Rules, domain: &str) -> Vec<Suggestion> {
    let Some(provider) = rules.provider_by_domain(&normalize(domain)) else {
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
                mode: setting.security,
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
    let domain = normalize(domain);
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
