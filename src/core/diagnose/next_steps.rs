//! What the member should do next: the probe's findings combined with the triage report.

use super::findings::{Code, EndpointReport, ProbeReport, Severity, Verdict};
use crate::core::report::endpoint_text;
use crate::core::report::Report;
use crate::core::rules::Rules;
use crate::core::service::Service;

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
