//! Recognising the error and the provider.

use super::report::{Endpoint, ErrorFound, MismatchSource, SettingMismatch};
use super::rules::{Provider, Rules, ServerSetting};
use super::secrets;
use super::text::{neutralize_mentions, truncate};
use super::zones::{Line, ZoneKind};

use std::sync::LazyLock;

use regex::Regex;

/// The longest error text kept in a report.
const ERROR_TEXT_MAX: usize = 200;

/// The error of one message: the first rule (in file order, so specific before generic) that
/// matches, with the error phrase it matched in. Secrets in it are redacted.
pub fn error_in(rules: &Rules, text: &str) -> Option<ErrorFound> {
    error_among(rules, text, &rules.errors_matching(text)).map(|(e, _)| e)
}

/// How many matches of one pattern are weighed in one message.
const MATCHES_PER_PATTERN: usize = 16;

/// How strong the evidence for an error is, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorEvidence {
    /// The first line of a longer first message: the thread's title, the member's summary.
    Title,
    /// The member's own words about the error.
    Paraphrase,
    /// Machine text: a log, transcript, trace, config dump, quoted or code-formatted message.
    Machine,
    /// The vendor's own error message.
    Vendor,
}

/// [`error_in`] with the matching rules already known ([`Rules::errors_matching`]), and the
/// byte range of the match.
pub fn error_among(
    rules: &Rules,
    text: &str,
    matching: &[usize],
) -> Option<(ErrorFound, std::ops::Range<usize>)> {
    let lines = super::zones::lines(text, &rules.reading.zones);
    let secrets = secrets::find_with(&rules.reading.secrets, text);
    best_error(rules, text, matching, None, &lines, false, &secrets).map(|(e, r, _)| (e, r))
}

/// The error of one message, chosen by evidence: every match of every matching rule is a
/// candidate; the strongest evidence wins ([`ErrorEvidence`]), then the rule's place in the
/// file (specific before generic). A setting such as `timeout=300` is not an error. When the
/// chosen wording names no service, the nearest mention of one picks IMAP or SMTP.
///
/// `patterns`, when known, holds for each rule of `matching` the positions of its patterns that
/// match somewhere in `text` ([`super::rules::TextMatches::error_patterns`]); only those are searched.
pub fn best_error(
    rules: &Rules,
    text: &str,
    matching: &[usize],
    patterns: Option<&[Vec<usize>]>,
    lines: &[Line<'_>],
    first_message: bool,
    secrets: &[(super::report::SecretKind, std::ops::Range<usize>)],
) -> Option<(ErrorFound, std::ops::Range<usize>, ErrorEvidence)> {
    // Only a prose first line is a title; a log line up top is evidence like any other.
    let title_end = (first_message && lines.len() > 1 && lines[0].kind == ZoneKind::Prose)
        .then(|| text.find('\n'))
        .flatten();
    type Key = (
        bool,
        std::cmp::Reverse<usize>,
        ErrorEvidence,
        std::ops::Range<usize>,
    );
    let mut best: Option<Key> = None;
    for (k, &index) in matching.iter().enumerate() {
        let Some(rule) = rules.errors.get(index) else {
            continue;
        };
        let matched = patterns.and_then(|p| p.get(k));
        for (i, re) in rule.patterns.iter().enumerate() {
            // A pattern that matches nowhere in the text has no evidence to give.
            if matched.is_some_and(|m| !m.contains(&i)) {
                continue;
            }
            // Enough matches to meet every kind of evidence; a long post repeats itself.
            for m in re.find_iter(text).take(MATCHES_PER_PATTERN) {
                let zone = line_of(lines, m.start()).map_or(ZoneKind::Prose, |l| l.kind);
                // A setting's name quoted in prose is the message the member saw: it shows the
                // error "mail_max_userip_connections=40".
                // Only when the setting ends the message: in "opening to ssl://host:465,
                // timeout=60, options=array (...)" it is one option among others.
                let quoted_message = zone == ZoneKind::Prose
                    && quoted_in_prose(text, m.range())
                    && setting_ends_line(text, m.end());
                if (is_setting_key(text, m.range()) && !quoted_message)
                    || negated_error(text, m.start())
                {
                    continue;
                }
                let line = line_text(text, m.range());
                let evidence = if rule.vendor_wording.iter().any(|v| v.is_match(line)) {
                    ErrorEvidence::Vendor
                } else if title_end.is_some_and(|end| m.start() < end) {
                    ErrorEvidence::Title
                } else if zone != ZoneKind::Prose || quoted_in_prose(text, m.range()) {
                    ErrorEvidence::Machine
                } else {
                    ErrorEvidence::Paraphrase
                };
                // Machine text and the vendor's wording outrank the member's summary; among
                // those, the file's order decides (a Courier banner explains a settings error).
                // An unrecognised exception in a log does not outrank the member's own words
                // for an error we know ("I get an authentication error"); a server's reply
                // ("500 5.5.1 Command unrecognized") still does.
                let strong = evidence >= ErrorEvidence::Machine
                    && (rule.id != "unknown" || SERVER_REPLY.is_match(m.as_str()));
                let key = (strong, std::cmp::Reverse(index), evidence, m.range());
                if best
                    .as_ref()
                    .is_none_or(|b| (key.0, key.1, key.2) > (b.0, b.1, b.2))
                {
                    best = Some(key);
                }
            }
        }
    }
    let (_, std::cmp::Reverse(index), evidence, range) = best?;
    let mut rule = rules.errors.get(index)?;
    if let Some(other) = rule.other_service.as_deref().and_then(|id| rules.error(id)) {
        if !names_a_service(&text[range.clone()])
            && only_service_named(text, range.clone()) == Some(service_of_rule(other))
        {
            rule = other;
        }
    }
    // Redacted with the whole message as context: a value may sit after a label on another line.
    let redacted = secrets::redact_span_among(text, error_phrase(text, range.clone()), secrets);
    Some((
        ErrorFound {
            code: rule.id.clone(),
            text: truncate(&neutralize_mentions(&redacted), ERROR_TEXT_MAX),
        },
        range,
        evidence,
    ))
}

/// A server's reply code in a matched error: `500 5.5.1`, `* BYE`, `a1 NO`.
static SERVER_REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[45]\d\d[ -][245]\.\d|\b(?:NO|BAD|BYE)\b").expect("static regex")
});

fn line_of<'a>(lines: &'a [Line<'a>], at: usize) -> Option<&'a Line<'a>> {
    let i = lines.partition_point(|l| l.start <= at);
    lines.get(i.checked_sub(1)?)
}

fn line_text(text: &str, m: std::ops::Range<usize>) -> &str {
    let start = text[..m.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[m.end..].find('\n').map_or(text.len(), |i| m.end + i);
    &text[start..end]
}

/// `timeout=300`, `timeout: 0:00:20`, `"connTimeout": 100000`: a setting's name, not an error.
fn is_setting_key(text: &str, m: std::ops::Range<usize>) -> bool {
    let after = &text[m.end..];
    let after = after
        .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '"' || c == '\'');
    let after = after.trim_start_matches([' ', '\t']);
    (after.starts_with('=') || after.starts_with(':') || after.starts_with("=>"))
        && after
            .trim_start_matches(['=', ':', '>', ' ', '\t', '"', '\''])
            .starts_with(|c: char| c.is_ascii_digit() || c == '-')
}

/// Whether the value of the setting named just before `end` ends the quoted message or its line:
/// "(mail_max_userip_connections=3)", `the error "mail_max_userip_connections=40".`
fn setting_ends_line(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let after = line
        .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '"' || c == '\'')
        .trim_start_matches(['=', ':', '>', ' ', '\t', '"', '\''])
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '.' || c == ':')
        .trim_start();
    after.is_empty()
        || after.starts_with([')', ']', '"', '\'', '`', '”', '»'])
        || after.trim_end_matches(['.', ';']).is_empty()
}

/// "no timeout", "not a timeout", "without any error": the member says it did not happen;
/// "how can I set a timeout": the member asks about a setting.
fn negated_error(text: &str, at: usize) -> bool {
    static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
        // Lower case only: "NO" in a transcript is the server refusing, not a negation.
        Regex::new(r"\b(?:[Nn]o|[Nn]ot\s+an?|[Ww]ithout(?:\s+an?y?)?|[Nn]ever\s+an?y?|(?:[Ss]et|[Ii]ncrease|[Cc]hange|[Cc]onfigure|[Aa]djust)\s+(?:a|an|the|my))\s*$")
            .expect("static regex")
    });
    let from = (at.saturating_sub(20)..=at)
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(at);
    NEGATED.is_match(&text[from..at])
}

/// A message the member quotes or formats as code inside a prose line: `"..."`, `` `...` ``.
fn quoted_in_prose(text: &str, m: std::ops::Range<usize>) -> bool {
    let line_start = text[..m.start].rfind('\n').map_or(0, |i| i + 1);
    let paragraph_start = text[..m.start].rfind("\n\n").map_or(0, |i| i + 2);
    let before = &text[paragraph_start..m.start];
    let line_before = &text[line_start..m.start];
    let quotes = |s: &str| {
        s.chars()
            .filter(|c| matches!(c, '"' | '`' | '“' | '”' | '«' | '»'))
            .count()
    };
    // After "Error:" or "it says:", the rest of the line is the message itself.
    quotes(before) % 2 == 1 || line_before.contains(": ") || line_before.trim_end().ends_with(':')
}

/// The words that name a step, in the five languages members write in: "envio de mensagens",
/// "serveur sortant", "Posteingang".
static SERVICE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<smtp>smtps?|outgoing|outbound|sending|mailer|submission|sendmail|phpmailer|nodemailer|swift_?mailer|ehlo|helo|535|534|530|5\.7\.\d+|envio|envío|envoi|sortant|salida|sa[íi]da|postausgang\w*|ausgangs\w*)\b|\b(?P<imap>imaps?|incoming|inbound|receiving|receive|fetch(?:ing|mail)?|imap4(?:rev1)?|sync(?:ing|hroni[sz]e)?|idle|mailbox|authenticationfailed|entrant|entrada|r[ée]ception|recepci[óo]n|recebimento|posteingang\w*|eingangs\w*)\b")
        .expect("static regex")
});

fn names_a_service(matched: &str) -> bool {
    SERVICE_WORDS.is_match(matched)
}

/// A service word that is part of a host name (`smtp-mail.outlook.com`) names a server, not
/// the step that failed.
fn in_host_name(hay: &str, word: std::ops::Range<usize>) -> bool {
    let before = hay[..word.start].chars().next_back();
    let mut after = hay[word.end..].chars();
    matches!(before, Some('.' | '-' | '@' | '/'))
        || (matches!(after.next(), Some('.' | '-'))
            && after.next().is_some_and(char::is_alphanumeric))
}

fn service_of_rule(rule: &super::rules::ErrorRule) -> &'static str {
    if rule.id.starts_with("smtp") {
        "smtp"
    } else {
        "imap"
    }
}

/// The one service named around the match: on its line, else in the whole message. `None` when both are named there, or neither.
fn only_service_named(text: &str, m: std::ops::Range<usize>) -> Option<&'static str> {
    let named = |hay: &str| {
        let (mut smtp, mut imap) = (false, false);
        for c in SERVICE_WORDS.captures_iter(hay) {
            let Some(word) = c.get(0) else { continue };
            if in_host_name(hay, word.range()) {
                continue;
            }
            smtp |= c.name("smtp").is_some();
            imap |= c.name("imap").is_some();
        }
        match (smtp, imap) {
            (true, false) => Some(Some("smtp")),
            (false, true) => Some(Some("imap")),
            (true, true) => Some(None),
            (false, false) => None,
        }
    };
    // The nearest context that names a service decides: the sentence of the match ("incoming
    // connected ok. On the smtp part it gives authentication error"), then its line, then the
    // whole message.
    named(sentence_text(text, m.clone()))
        .or_else(|| named(line_text(text, m)))
        .or_else(|| named(text))
        .flatten()
}

/// The sentence around a match, within its line: a stop counts only before white space, so
/// the dots of a host name do not end it.
fn sentence_text(text: &str, m: std::ops::Range<usize>) -> &str {
    let before = &text[..m.start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let start = sentence_ends(&text[line_start..m.start])
        .last()
        .map_or(line_start, |i| line_start + i + 1);
    let after = &text[m.end..];
    let line_end = after.find('\n').unwrap_or(after.len());
    let end = sentence_ends(&after[..line_end])
        .next()
        .map_or(m.end + line_end, |i| m.end + i + 1);
    &text[start..end]
}

/// The error phrase around a match: its line, narrowed to the sentence that holds the match
/// when the line is long, so the text is the error itself and not the message around it.
fn error_phrase(text: &str, m: std::ops::Range<usize>) -> std::ops::Range<usize> {
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
    let junk = |c: char| c.is_whitespace() || matches!(c, '`' | '"' | '>' | '*' | '_');
    let lead = text[start..end].len() - text[start..end].trim_start_matches(junk).len();
    let tail = text[start..end].len() - text[start..end].trim_end_matches(junk).len();
    // Never trim into the match itself.
    (start + lead).min(m.start)..(end - tail).max(m.end)
}

/// Offsets of `.`, `!` and `?` that end a sentence (followed by white space or the end).
fn sentence_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    s.match_indices(['.', '!', '?'])
        .map(|(i, _)| i)
        .filter(move |&i| s[i + 1..].chars().next().is_none_or(char::is_whitespace))
}

/// A provider named in a sentence that is about something else: a comparison ("it works with
/// Gmail"), the past ("we had Gmail years ago"), a negation ("it's NOT Outlook"), or another
/// account ("my other servers, iCloud, work").
static NAMED_ASIDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:works?|working|worked|fine|other|not\s+sure|instead|years?\s+ago|(?:i|we|they|it)\s+used\s+to|previously|formerly|before|than|vs\.?|versus|compared|unlike|migrat\w*|moved?\s+from|switch\w*\s+from|support|help\s*desk|article|guide|docs?)\b",
    )
    .expect("static regex")
});

/// "my " or "our " right before a provider's name, and "account" or "mailbox" right after it.
static OWN_BEFORE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:my|our)\s+$").expect("static regex"));
static ACCOUNT_AFTER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s+(?:mail\s+)?(?:account|mailbox|e-?mail\s+account)\b")
        .expect("static regex")
});

/// A negation says the member is not on the provider only when it comes before the name: "it's
/// not gmail", "we aren't on Office 365"; "Outlook emails are not being synced" is on Outlook.
static NEGATED_BEFORE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:not|isn'?t|aren'?t|never|no\s+longer)\b").expect("static regex")
});

/// A question whether to use a provider is not a statement of which one the member is on: "Do
/// I need to use gmail when using SMTP?".
static ASKING_WHETHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:do|does|should|can|could|must|would|will|shall)\s+(?:i|we|you)\b")
        .expect("static regex")
});

/// "Outlook" used as the desktop program: "in Outlook", "my outlook", "logging into Outlook",
/// "143 as Outlook has it".
static OUTLOOK_THE_CLIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:in|into|my|configure|configured|desktop|the|with|via|using|from|as|like)\s+(?:ms\s+|microsoft\s+)?$")
        .expect("static regex")
});

/// The provider the member says they are on, from their own words: the latest mention that is
/// not part of a host or an address, not an aside, and not Outlook the program.
pub fn provider_named<'r>(
    rules: &'r Rules,
    text: &str,
) -> Option<(&'r Provider, std::ops::Range<usize>)> {
    provider_named_if(rules, text, rules.may_name_a_provider(text))
}

/// [`provider_named`], with the answer of the provider-name gate on `text` known already
/// (`may_name`, see [`Rules::provider_names_if`]).
pub fn provider_named_if<'r>(
    rules: &'r Rules,
    text: &str,
    may_name: bool,
) -> Option<(&'r Provider, std::ops::Range<usize>)> {
    rules
        .provider_names_if(text, may_name)
        .into_iter()
        .rev()
        .find(|(_, r)| {
            let before = text[..r.start].chars().next_back();
            let mut after = text[r.end..].chars();
            let in_host = matches!(before, Some('.' | '@' | '-' | '/' | '_'))
                || matches!(after.next(), Some('.' | '@' | '-' | '_'))
                    && after.next().is_some_and(char::is_alphanumeric);
            if in_host {
                return false;
            }
            let sentence_start = text[..r.start]
                .rfind(['.', '!', '?', '\n', ';'])
                .map_or(0, |i| i + 1);
            // The nearer of a hard stop and a full stop: "provider: fastmail. Set up per
            // their docs" is two sentences.
            let rest = &text[r.end..];
            let sentence_end = [rest.find(['!', '?', '\n', ';']), rest.find(". ")]
                .into_iter()
                .flatten()
                .min()
                .map_or(text.len(), |i| r.end + i);
            let sentence = &text[sentence_start..sentence_end];
            // A parenthesis that does not hold the name is an aside of its own: "a yandex
            // mailbox (before that it worked fine)" is on Yandex.
            let outside = outside_other_parentheses(sentence, r.start - sentence_start);
            // "my yahoo account worked fine": the member's own account, whatever else the
            // sentence says about it.
            let own_account = OWN_BEFORE_NAME.is_match(&text[sentence_start..r.start])
                && ACCOUNT_AFTER_NAME.is_match(&text[r.end..]);
            if NAMED_ASIDE.is_match(&outside) && !own_account
                || NEGATED_BEFORE_NAME.is_match(&text[sentence_start..r.start])
                || (text[sentence_end..].starts_with('?') && ASKING_WHETHER.is_match(sentence))
            {
                return false;
            }
            let word = text[r.clone()].to_ascii_lowercase();
            !(word == "outlook" && OUTLOOK_THE_CLIENT.is_match(&text[sentence_start..r.start]))
        })
}

/// `sentence` with every parenthesised part that does not contain byte `at` blanked out.
fn outside_other_parentheses(sentence: &str, at: usize) -> std::borrow::Cow<'_, str> {
    if !sentence.contains('(') {
        return std::borrow::Cow::Borrowed(sentence);
    }
    let mut out = String::with_capacity(sentence.len());
    let mut open: Option<usize> = None;
    let mut kept = 0;
    for (i, c) in sentence.char_indices() {
        match c {
            '(' if open.is_none() => open = Some(i),
            ')' => {
                if let Some(start) = open.take() {
                    if !(start..=i).contains(&at) {
                        out.push_str(&sentence[kept..start]);
                        out.push(' ');
                        kept = i + 1;
                    }
                }
            }
            _ => {}
        }
    }
    out.push_str(&sentence[kept..]);
    std::borrow::Cow::Owned(out)
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
