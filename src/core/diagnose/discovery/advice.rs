//! What a domain look-up means for the people in the thread: the member's next step (what to
//! fix, what to use) and the moderators' one-line summary. Pure: words from the rules pack.

use super::{normalize, DiscoveryReport};
use crate::core::diagnose::findings::{Code, Severity};
use crate::core::report::{endpoint_text, Endpoint};
use crate::core::rules::{FindingTexts, Rules};
use crate::core::service::Service;

/// What the member entered against what the domain publishes: one sentence per service that
/// differs, worded by `texts` (`entered_differs`). Empty when nothing is suggested or everything
/// agrees.
pub fn compare_entered(
    texts: &FindingTexts,
    report: &DiscoveryReport,
    entered_imap: Option<&Endpoint>,
    entered_smtp: Option<&Endpoint>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (service, entered, suggested) in [
        (Service::Imap, entered_imap, &report.suggested.imap),
        (Service::Smtp, entered_smtp, &report.suggested.smtp),
    ] {
        let (Some(Endpoint { host, port }), Some(s)) = (entered, suggested) else {
            continue;
        };
        if normalize(host) == normalize(&s.host) && *port == s.port {
            continue;
        }
        out.push(texts.render(
            "entered_differs",
            &[
                ("service", service.label()),
                ("entered", &endpoint_text(&normalize(host), *port)),
                ("published", &s.endpoint()),
                ("security", &s.security.to_string()),
            ],
        ));
    }
    out
}

/// What the bot tells the member about their email domain, in order: what is wrong with the
/// domain itself (it does not exist, takes no mail, or its provider needs the vendor's native
/// integration), then where their servers differ from the published ones, then, for a service
/// they gave no server for, the published one. A resolver failure is ours and is not said;
/// neither is what only confirms the member's settings. Empty: nothing worth a message.
pub fn advice(
    texts: &FindingTexts,
    report: &DiscoveryReport,
    entered_imap: Option<&Endpoint>,
    entered_smtp: Option<&Endpoint>,
) -> Vec<String> {
    let mut out: Vec<String> = report
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.code,
                Code::DomainNotFound | Code::NoMx | Code::NativeIntegration
            )
        })
        .map(|f| f.message.clone())
        .collect();
    if report
        .findings
        .iter()
        .any(|f| f.code == Code::NativeIntegration)
    {
        // IMAP is the wrong way for this provider: no server, published or entered, helps.
        return out;
    }
    out.extend(compare_entered(texts, report, entered_imap, entered_smtp));
    for (service, entered, suggested) in [
        (Service::Imap, entered_imap, &report.suggested.imap),
        (Service::Smtp, entered_smtp, &report.suggested.smtp),
    ] {
        if let (None, Some(s)) = (entered, suggested) {
            out.push(texts.render(
                "published_settings",
                &[
                    ("service", service.label()),
                    ("published", &s.endpoint()),
                    ("security", &s.security.to_string()),
                ],
            ));
        }
    }
    out
}

/// One line for moderators (the mod log, `/triage show`): the domain, who hosts its mail, what
/// it publishes and where that came from, or why nothing is known.
pub fn summary_line(rules: &Rules, report: &DiscoveryReport) -> String {
    let mut parts = vec![format!("`{}`", report.domain)];
    if let Some(name) = report
        .mx_provider
        .as_deref()
        .and_then(|id| rules.provider(id))
        .map(|p| p.name.as_str())
    {
        parts.push(format!("mail hosted by {name}"));
    }
    let published: Vec<String> = [
        ("IMAP", &report.suggested.imap),
        ("SMTP", &report.suggested.smtp),
    ]
    .into_iter()
    .filter_map(|(label, s)| {
        s.as_ref()
            .map(|s| format!("{label} `{}` ({})", s.endpoint(), s.security))
    })
    .collect();
    if !published.is_empty() {
        let from = match report.suggested.source {
            Some(source) => format!(" (from {})", source.describe()),
            None => String::new(),
        };
        parts.push(format!("publishes {}{from}", published.join(", ")));
    }
    if let Some(problem) = report
        .findings
        .iter()
        .find(|f| f.severity >= Severity::Warning)
    {
        parts.push(problem.code.as_str().to_string());
    }
    parts.join(" · ")
}
