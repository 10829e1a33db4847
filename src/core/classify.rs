//! Recognising the error and the provider.

use super::report::{Endpoint, ErrorFound, MismatchSource, SettingMismatch};
use super::rules::{Provider, Rules, ServerSetting};
use super::secrets;
use super::text::{neutralize_mentions, truncate};

/// The longest error text kept in a report.
const ERROR_TEXT_MAX: usize = 300;

/// The error of one message: the first rule (in file order, so specific before generic) that
/// matches, with the line it matched on. Secrets in that line are redacted.
pub fn error_in(rules: &Rules, text: &str) -> Option<ErrorFound> {
    error_among(rules, text, &rules.errors_matching(text))
}

/// [`error_in`] with the matching rules already known ([`Rules::errors_matching`]).
pub fn error_among(rules: &Rules, text: &str, matching: &[usize]) -> Option<ErrorFound> {
    matching.iter().find_map(|&index| {
        let rule = rules.errors.get(index)?;
        let m = rule.patterns.iter().find_map(|re| re.find(text))?;
        let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[m.end()..]
            .find('\n')
            .map_or(text.len(), |i| m.end() + i);
        let line = text[start..end]
            .trim()
            .trim_matches(['`', '"', '>', '*', '_'])
            .trim();
        Some(ErrorFound {
            code: rule.id.clone(),
            text: truncate(&neutralize_mentions(&secrets::redact(line)), ERROR_TEXT_MAX),
        })
    })
}

/// The provider: from the server the member typed first, else from the email domain.
pub fn provider<'r>(
    rules: &'r Rules,
    hosts: &[&str],
    domain: Option<&str>,
) -> Option<&'r Provider> {
    for host in hosts {
        if let Some(p) = rules.provider_by_host(host) {
            return Some(p);
        }
    }
    rules.provider_by_domain(domain?)
}

/// Where the member's settings differ from the provider's documented ones.
pub fn mismatches(
    provider: &Provider,
    imap: Option<&Endpoint>,
    smtp: Option<&Endpoint>,
) -> Vec<SettingMismatch> {
    let mut out = Vec::new();
    let mut compare =
        |service: &'static str, entered: Option<&Endpoint>, known: Option<&ServerSetting>| {
            let (Some(entered), Some(known)) = (entered, known) else {
                return;
            };
            if !known.accepts_host(&entered.host) {
                out.push(SettingMismatch {
                    service,
                    field: "host",
                    entered: entered.host.clone(),
                    expected: known.host.clone(),
                    source: MismatchSource::Provider,
                });
            }
            if !known.accepts_port(entered.port) {
                let mut expected = vec![known.port.to_string()];
                expected.extend(known.also_ports.iter().map(u16::to_string));
                out.push(SettingMismatch {
                    service,
                    field: "port",
                    entered: entered.port.to_string(),
                    expected: expected.join(" or "),
                    source: MismatchSource::Provider,
                });
            }
        };
    compare("imap", imap, provider.imap.as_ref());
    compare("smtp", smtp, provider.smtp.as_ref());
    out
}
