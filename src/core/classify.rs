//! Recognising the error and the provider.

use super::report::{Endpoint, ErrorFound, SettingMismatch};
use super::rules::{Provider, Rules, ServerSetting};
use super::secrets;
use super::text::{neutralize_mentions, truncate};

/// The longest error text kept in a report.
const ERROR_TEXT_MAX: usize = 200;

/// The error of one message: the first rule (in file order, so specific before generic) that
/// matches, with the error phrase it matched in. Secrets in it are redacted.
pub fn error_in(rules: &Rules, text: &str) -> Option<ErrorFound> {
    error_among(rules, text, &rules.errors_matching(text)).map(|(e, _)| e)
}

/// [`error_in`] with the matching rules already known ([`Rules::errors_matching`]), and the
/// byte range of the match.
pub fn error_among(
    rules: &Rules,
    text: &str,
    matching: &[usize],
) -> Option<(ErrorFound, std::ops::Range<usize>)> {
    matching.iter().find_map(|&index| {
        let rule = rules.errors.get(index)?;
        let m = rule.patterns.iter().find_map(|re| re.find(text))?;
        let phrase = error_phrase(text, m.range());
        Some((
            ErrorFound {
                code: rule.id.clone(),
                text: truncate(
                    &neutralize_mentions(&secrets::redact(phrase)),
                    ERROR_TEXT_MAX,
                ),
            },
            m.range(),
        ))
    })
}

/// The error phrase around a match: its line, narrowed to the sentence that holds the match
/// when the line is long, so the text is the error itself and not the message around it.
fn error_phrase(text: &str, m: std::ops::Range<usize>) -> &str {
    let mut start = text[..m.start].rfind('\n').map_or(0, |i| i + 1);
    let mut end = text[m.end..].find('\n').map_or(text.len(), |i| m.end + i);
    if text[start..end].chars().count() > ERROR_TEXT_MAX {
        let before = &text[start..m.start];
        if let Some(i) = sentence_ends(before).last() {
            start += i + 1;
        }
        let after = &text[m.end..end];
        if let Some(i) = sentence_ends(after).next() {
            end = m.end + i + 1;
        }
    }
    text[start..end]
        .trim()
        .trim_matches(['`', '"', '>', '*', '_'])
        .trim()
}

/// Offsets of `.`, `!` and `?` that end a sentence (followed by white space or the end).
fn sentence_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    s.match_indices(['.', '!', '?'])
        .map(|(i, _)| i)
        .filter(move |&i| s[i + 1..].chars().next().is_none_or(char::is_whitespace))
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
                });
            }
        };
    compare("imap", imap, provider.imap.as_ref());
    compare("smtp", smtp, provider.smtp.as_ref());
    out
}
