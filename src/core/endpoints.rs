//! IMAP and SMTP server settings, in the ways members actually write them: `host:port`,
//! "server X port Y", "IMAP: X (993)", incoming/outgoing labels, markdown and pasted tables,
//! config and env lines, `imaps://` URLs, upper case, and spread over several messages.
//!
//! The scan reads a message's zones ([`super::zones`]) line by line. Service labels ("IMAP",
//! "incoming", "SMTP", "outgoing") split a line into segments; each segment's hosts and ports go
//! to its service. A line without a label inherits the last label seen (so "Incoming server: x"
//! followed by "Port: 993" works), and when there is none, the port or the host name decides
//! (993 is IMAP, `smtp.` is SMTP).
//!
//! Every value found is a candidate with a strength: a correction ("I meant port 465") beats a
//! plain statement, which beats a log line. Among equals the latest wins, as members correct
//! themselves. Stack frames and signatures give nothing; negated and hypothetical mentions ("it's
//! not smtp.gmail.com", "should I use 587?") are not settings.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::report::{Endpoint, Evidence};
use super::service::Service;
use super::zones::{Line, ZoneKind};

/// What a label, a URL scheme, a port or a host name says a value is for: one of the two
/// services, or POP3, whose settings are read so that they are not taken for IMAP or SMTP, then
/// dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Imap,
    Smtp,
    Pop,
}

/// How much a candidate value is believed. Higher wins; among equals, the later one.
type Strength = u8;
const FROM_LOG: Strength = 1;
const STATED: Strength = 2;
const CORRECTED: Strength = 3;

/// One candidate value and where it came from.
#[derive(Debug, Clone)]
struct Slot<T> {
    value: T,
    strength: Strength,
    evidence: Pending,
}

/// The makings of an [`Evidence`], built only for the value chosen: redacting a line costs more
/// than finding a host in it, and a long post names the same server hundreds of times.
#[derive(Debug, Clone)]
struct Pending {
    message: usize,
    zone: ZoneKind,
    line: String,
    focus: String,
}

impl Pending {
    fn build(&self) -> Evidence {
        Evidence::new(self.message, self.zone, &self.line, Some(&self.focus))
    }
}

/// Where the scan is: the message, the zone and line being read, and how strong what it finds is.
#[derive(Debug, Clone, Default)]
struct At {
    message: usize,
    zone: Option<ZoneKind>,
    line: String,
    strength: Strength,
}

/// Everything found so far.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    imap_host: Option<Slot<String>>,
    imap_port: Option<Slot<u16>>,
    smtp_host: Option<Slot<String>>,
    smtp_port: Option<Slot<u16>>,
    /// A server named without a service ("server: mail.acme.com"), used for either side that
    /// has a port but no host of its own.
    shared_host: Option<Slot<String>>,
    /// The member said outgoing uses the same server as incoming (or the reverse).
    same_server: bool,
    context: Option<Label>,
    /// The line being read labels both services ("server x, 993 for IMAP and 465 for SMTP"):
    /// a server named there without a port of its own serves both.
    line_names_both: bool,
    at: At,
    /// Every server named as a setting or in a log, in order: the provider may be known from a
    /// host even when its port is not.
    mentioned: Vec<String>,
    /// Hosts with non-ASCII characters: flagged, never used as a server.
    pub suspicious: Vec<String>,
}

impl Settings {
    pub fn imap(&self) -> Option<Endpoint> {
        self.resolved(Service::Imap).map(|(e, _)| e)
    }
    pub fn smtp(&self) -> Option<Endpoint> {
        self.resolved(Service::Smtp).map(|(e, _)| e)
    }

    /// The endpoint of `service` with the evidence of its host (or of its port, when the host
    /// was shared).
    pub fn resolved(&self, service: Service) -> Option<(Endpoint, Evidence)> {
        let (own_host, port, other_host) = match service {
            Service::Imap => (&self.imap_host, &self.imap_port, &self.smtp_host),
            Service::Smtp => (&self.smtp_host, &self.smtp_port, &self.imap_host),
        };
        let port = port.as_ref()?;
        let host = own_host
            .as_ref()
            .or(self.shared_host.as_ref())
            .or(other_host.as_ref().filter(|_| self.same_server))?;
        let evidence = if own_host.is_some() {
            host.evidence.build()
        } else {
            port.evidence.build()
        };
        Some((
            Endpoint {
                host: host.value.clone(),
                port: port.value,
            },
            evidence,
        ))
    }

    /// Every host named, as a setting or in a log, in order.
    pub fn mentioned_hosts(&self) -> impl Iterator<Item = &str> {
        self.mentioned.iter().map(String::as_str)
    }

    /// A host given for a service but no port (the bot asks for it).
    pub fn host_without_port(&self, service: Service) -> Option<&str> {
        match service {
            Service::Imap if self.imap_port.is_none() => {
                self.imap_host.as_ref().map(|s| s.value.as_str())
            }
            Service::Smtp if self.smtp_port.is_none() => {
                self.smtp_host.as_ref().map(|s| s.value.as_str())
            }
            _ => None,
        }
    }

    /// Scans one message of its own (message index 0): for tests and single texts.
    pub fn scan(&mut self, text: &str, zones: &super::zones::ZonePatterns) {
        self.scan_lines(0, &super::zones::lines(text, zones));
    }

    /// Scans the zoned lines of message `message`.
    pub fn scan_lines(&mut self, message: usize, lines: &[Line<'_>]) {
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            if !line.kind.gives_settings() || line.text.trim().is_empty() {
                continue;
            }
            self.enter(message, line);
            if SAME_SERVER.is_match(line.text) {
                self.same_server = true;
            }
            if is_table_row(line.text) {
                let mut table = vec![line.text];
                while i < lines.len() && is_table_row(lines[i].text) {
                    table.push(lines[i].text);
                    i += 1;
                }
                self.scan_table(&table);
            } else if is_tab_row(line.text) {
                self.scan_line(&line.text.replace('\t', " | "));
            } else if let Some((service, value)) = config_key_service(line.text) {
                self.scan_segment(value, Some(service));
            } else {
                self.scan_line(line.text);
            }
        }
    }

    fn enter(&mut self, message: usize, line: Line<'_>) {
        let strength = if CORRECTION.is_match(line.text) {
            CORRECTED
        } else if line.kind == ZoneKind::Log {
            FROM_LOG
        } else {
            STATED
        };
        self.at = At {
            message,
            zone: Some(line.kind),
            line: line.text.to_string(),
            strength,
        };
    }

    fn evidence(&self, focus: &str) -> Pending {
        Pending {
            message: self.at.message,
            zone: self.at.zone.unwrap_or(ZoneKind::Prose),
            line: self.at.line.clone(),
            focus: focus.to_string(),
        }
    }

    fn scan_line(&mut self, line: &str) {
        // Fast path: most lines hold no service label, and then the whole line is one segment.
        self.line_names_both = false;
        if line.is_ascii() && !ascii_labels(line).any(|_| true) {
            self.scan_segment(line, self.context);
            return;
        }
        let segments = segments(line);
        self.line_names_both = segments.iter().any(|s| s.service == Some(Label::Imap))
            && segments.iter().any(|s| s.service == Some(Label::Smtp));
        for segment in segments {
            if let Some(service) = segment.service {
                self.context = Some(service);
            }
            // "In Outlook I use POP3: pop.x.com 995. In HubSpot I entered ...": the POP3 label
            // ends with its sentence.
            if segment.service.or(self.context) == Some(Label::Pop) {
                if let Some(end) = segment.text.find(". ") {
                    self.scan_segment(&segment.text[..end + 1], Some(Label::Pop));
                    self.context = None;
                    self.scan_segment(&segment.text[end + 1..], None);
                    continue;
                }
            }
            self.scan_segment(segment.text, segment.service.or(self.context));
        }
    }

    fn scan_segment(&mut self, text: &str, service: Option<Label>) {
        if !text
            .bytes()
            .any(|b| b.is_ascii_digit() || b == b'.' || b >= 0x80)
        {
            return;
        }
        let hosts = hosts(text);
        let mut attached = false;
        for host in &hosts {
            if host.suspicious {
                if !self.suspicious.contains(&host.name) {
                    self.suspicious.push(host.name.clone());
                }
                continue;
            }
            if not_a_setting(text, host.start) {
                continue;
            }
            if !self.mentioned.contains(&host.name) {
                self.mentioned.push(host.name.clone());
            }
            let by_scheme = host.scheme;
            let by_name = service_of_host(&host.name);
            let by_port = host.port.and_then(service_of_port);
            // A URL scheme or a name made for one service ("smtp.") outweighs a label: "IMAP
            // error with imap.x.com:993 and smtp.x.com:587" lists both servers on one line.
            let which = if host.weak {
                by_scheme.or(by_port).or(service)
            } else {
                by_scheme.or(by_name).or(service).or(by_port)
            };
            // An address is weaker than a name: "connect ECONNREFUSED 198.51.100.23:993" is the
            // name the member typed, resolved.
            let weak = host.weak;
            match which {
                Some(s) => {
                    self.set_host(s, &host.name, weak);
                    if self.line_names_both
                        && by_name.is_none()
                        && by_scheme.is_none()
                        && host.port.is_none()
                    {
                        self.set_shared_host(&host.name, weak);
                    }
                    if let Some(port) = host.port {
                        self.set_port(s, port, weak);
                        attached = true;
                    }
                }
                None => self.set_shared_host(&host.name, weak),
            }
        }
        if attached {
            return;
        }
        for (port, at) in ports(text) {
            if not_a_setting(text, at) {
                continue;
            }
            // "imap.x.com 993 and smtp.x.com 587": a port follows the server it belongs to.
            let after_named_host = hosts
                .iter()
                .rev()
                .find(|h| h.start < at && !h.suspicious)
                .and_then(|h| h.scheme.or_else(|| service_of_host(&h.name)));
            let which = after_named_host
                .or(service)
                .or_else(|| service_of_port(port));
            if let Some(s) = which {
                self.set_port(s, port, false);
            }
        }
    }

    fn scan_table(&mut self, rows: &[&str]) {
        let rows: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| cells(r))
            .filter(|cells| {
                !cells
                    .iter()
                    .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
            })
            .collect();
        let Some(header) = rows.first() else { return };
        let column_services: Vec<Option<Label>> = header.iter().map(|c| label_service(c)).collect();
        let has_imap = column_services.contains(&Some(Label::Imap));
        let has_smtp = column_services.contains(&Some(Label::Smtp));
        if has_imap && has_smtp {
            // Services are columns: | | Incoming | Outgoing |, then | Server | a | b |, | Port | 993 | 587 |.
            for row in &rows[1..] {
                for (i, cell) in row.iter().enumerate() {
                    if let Some(Some(service)) = column_services.get(i) {
                        self.scan_segment(cell, Some(*service));
                    }
                }
            }
            return;
        }
        // Services are rows: | IMAP | imap.acme.com | 993 |.
        for row in &rows {
            self.scan_line(&row.join(" | "));
        }
    }

    fn slot<T>(&self, value: T, weak: bool, focus: &str) -> Slot<T> {
        Slot {
            value,
            strength: if weak { FROM_LOG } else { self.at.strength },
            evidence: self.evidence(focus),
        }
    }

    fn set_host(&mut self, service: Label, host: &str, weak: bool) {
        let slot = self.slot(host.to_string(), weak, host);
        match service {
            Label::Imap => keep_stronger(&mut self.imap_host, slot),
            Label::Smtp => keep_stronger(&mut self.smtp_host, slot),
            Label::Pop => {}
        }
    }

    fn set_shared_host(&mut self, host: &str, weak: bool) {
        let slot = self.slot(host.to_string(), weak, host);
        keep_stronger(&mut self.shared_host, slot);
    }

    fn set_port(&mut self, service: Label, port: u16, weak: bool) {
        let slot = self.slot(port, weak, &port.to_string());
        match service {
            Label::Imap => keep_stronger(&mut self.imap_port, slot),
            Label::Smtp => keep_stronger(&mut self.smtp_port, slot),
            Label::Pop => {}
        }
    }
}

/// The key of a config or env line names the service: `IMAP_HOST=`, `SMTP__HOST=`,
/// `smtp.host:`, `$config['imap_host'] =`, `MAIL_PORT=` (Laravel's and Django's mail settings
/// are for sending). Returns the service and the value.
fn config_key_service(line: &str) -> Option<(Label, &str)> {
    static KEY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\s*(?:export\s+|set\s+|-\s+|\$\w+\[|\$)?["']?(?P<key>[A-Za-z_][\w.\-]*(?:->[A-Za-z_]\w*)?)["']?\]?\s*(?:=>|=|:)\s*"#)
            .expect("static regex")
    });
    let caps = KEY.captures(line)?;
    let key = caps.name("key")?.as_str().to_ascii_lowercase();
    // `smtp.gmail.com:465` is a server and its port, not a key and its value.
    if !hosts(&key).is_empty() {
        return None;
    }
    let value = &line[caps.get(0)?.end()..];
    let service = if ["imap", "incoming", "inbound", "receiv", "fetch"]
        .iter()
        .any(|w| key.contains(w))
    {
        Label::Imap
    } else if key.contains("pop") {
        Label::Pop
    } else if [
        "smtp",
        "outgoing",
        "outbound",
        "mail",
        "send",
        "relay",
        "submission",
    ]
    .iter()
    .any(|w| key.contains(w))
    {
        Label::Smtp
    } else {
        return None;
    };
    Some((service, value))
}

/// A later candidate replaces an earlier one unless the earlier one is stronger.
fn keep_stronger<T>(current: &mut Option<Slot<T>>, new: Slot<T>) {
    if current.as_ref().is_none_or(|c| new.strength >= c.strength) {
        *current = Some(new);
    }
}

/// A line that corrects what was said before.
static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:i\s+meant|sorry|edit\s*:|correction|correct(?:ed)?\s+(?:one|server|port|host|setting)s?\s+(?:is|are)|should\s+have\s+(?:said|written)|typo|actually|my\s+bad|oops|update\s*:)",
    )
    .expect("static regex")
});

/// "same server for outgoing", "outgoing is the same", "SMTP uses the same host".
static SAME_SERVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \bsame\s+(?:server|host|hostname|name|address)\b.{0,30}\b(?:outgoing|incoming|smtp|imap|both|sending|receiving)\b
      | \b(?:outgoing|incoming|smtp|imap)\b.{0,30}\b(?:is|are|uses?|has)\s+(?:the\s+)?same\b
      | \bsame\s+(?:server|host)\s+for\s+both\b
      | \b(?:m[êe]me\s+serveur|mismo\s+servidor|mesmo\s+servidor|(?:gleiche|selbe)n?\s+server)\b
      | \bboth\b.{0,20}\b(?:use|on)\s+(?:the\s+)?same\s+(?:server|host)",
    )
    .expect("static regex")
});

/// A negation or a question right before a value: "it's not smtp.gmail.com", "I don't use
/// 587", "there's no setting like imap.outlook.com", "instead of X".
static NEGATED_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        (?:
            \b(?:not|isn'?t|aren'?t|wasn'?t|weren'?t|never|nor)
          | \b(?:instead\s+of|rather\s+than|other\s+than|nothing\s+like|except)
          | \bno\s+(?:setting|option|field|server|host|such|mention)s?\b[^,.;:]{0,20}
          | \bthere'?s\s+no\b[^,.;:]{0,25}
          | \b(?:don'?t|doesn'?t|didn'?t|do\s+not|does\s+not|did\s+not)\s+(?:use|have|see|want|need|mean)
          | \b(?:says?|said|suggests?|suggested|recommends?|recommended|told\s+(?:me|us))\s+(?:to\s+)?(?:use|try|enter|set|put)
        )
        (?:\s+(?:even|the|a|an|any|using|use|used|set\s+to|called|named|like|to|be|as|on|port|server|host|with|anything))*
        \s*[`'"“(*]*\s*$"#,
    )
    .expect("static regex")
});

/// A value the member has moved on from: "587 was what I tried yesterday".
static OLD_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\S*\s+(?:was|were)\s+(?:what\s+(?:i|we)\s+(?:tried|used|had)|the\s+old|wrong|before|yesterday|my\s+first\s+try)",
    )
    .expect("static regex")
});

/// A question about a value rather than a statement of it: "should I use 587?".
static HYPOTHETICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:should|shall|must|do|does|would|could|can)\s+(?:i|we|you|it)\b|\b(?:is\s+it|what\s+about|how\s+about|maybe|perhaps|try(?:ing)?|suggest(?:ed|s)?|recommend(?:ed|s)?)\b|\bor\s*$",
    )
    .expect("static regex")
});

/// Whether the value at `at` in `text` is negated or asked about rather than stated.
fn not_a_setting(text: &str, at: usize) -> bool {
    // The clause before the value: back to the last comma, semicolon or sentence end.
    let before = &text[..at];
    let clause_start = [before.rfind([',', ';', '!', '?', ':']), before.rfind(". ")]
        .into_iter()
        .flatten()
        .max()
        .map_or(0, |i| i + 1);
    let clause = &before[clause_start..];
    if NEGATED_BEFORE.is_match(clause) {
        return true;
    }
    if OLD_AFTER.is_match(&text[at..]) {
        return true;
    }
    // A question: the sentence that holds the value ends with '?'.
    let after = &text[at..];
    let sentence_end = [after.find(['?', '!', '\n']), after.find(". ")]
        .into_iter()
        .flatten()
        .min();
    let is_question = sentence_end.is_some_and(|i| after[i..].starts_with('?'));
    let sentence_start = before
        .rfind(['.', '!', '?', '\n'])
        .filter(|&i| before[i..].starts_with(['!', '?', '\n']) || before[i + 1..].starts_with(' '))
        .map_or(0, |i| i + 1);
    is_question && HYPOTHETICAL.is_match(&before[sentence_start..])
}

/// A row of tab-separated cells, pasted from a PDF or a spreadsheet.
fn is_tab_row(line: &str) -> bool {
    line.split('\t').filter(|c| !c.trim().is_empty()).count() >= 2
}

fn is_table_row(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.len() > 1 && t[1..].contains('|')
}

fn cells(row: &str) -> Vec<&str> {
    let t = row.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(str::trim).collect()
}

static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(imaps?|incoming|inbound|receiving|smtps?|outgoing|outbound|sending|submission|pop3s?|entrante|saliente|entrant|sortant|eingehend|ausgehend|posteingangsserver|postausgangsserver|posteingang|postausgang|sa[ií]da|env[ií]o|envoi)\b",
    )
    .expect("static regex")
});

fn label_service(word: &str) -> Option<Label> {
    let m = LABEL.find(word)?;
    if part_of_host(word, m.start(), m.end()) {
        return None;
    }
    let word = m.as_str().to_lowercase();
    LABEL_WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, s)| *s)
}

/// "imap" in `imap.gmail.com` is part of a host name, not a label; "for IMAP." is a label.
fn part_of_host(text: &str, start: usize, end: usize) -> bool {
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    let (b1, b2) = (before.next(), before.next());
    let (a1, a2) = (after.next(), after.next());
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    // "SMTP-Server" and "IMAP-Port" are labels; `smtp-mail.outlook.com` is a host: a hyphen
    // joins a label to a host name only in a word with a dot.
    // White space may be wider than a byte (a no-break space): step over the whole character.
    let token_start = text[..start]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token_end = text[end..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| end + i);
    let dotted = text[token_start..token_end]
        .trim_end_matches(['.', ',', ':', ';', ')'])
        .contains('.');
    // `imaps://host` is a URL's scheme, read with its host.
    text[end..].starts_with("://")
        || matches!(b1, Some('@') | Some('/'))
        || (b1 == Some('.') || b1 == Some('-') && dotted) && alnum(b2)
        || matches!(a1, Some('@'))
        || (a1 == Some('.') || a1 == Some('-') && dotted) && alnum(a2)
        || alnum(a1)
}

/// The words of the label alternation, lower case, with their service.
const LABEL_WORDS: &[(&str, Label)] = &[
    ("imap", Label::Imap),
    ("imaps", Label::Imap),
    ("incoming", Label::Imap),
    ("inbound", Label::Imap),
    ("receiving", Label::Imap),
    ("smtp", Label::Smtp),
    ("smtps", Label::Smtp),
    ("outgoing", Label::Smtp),
    ("outbound", Label::Smtp),
    ("sending", Label::Smtp),
    ("submission", Label::Smtp),
    ("pop3", Label::Pop),
    ("pop3s", Label::Pop),
    ("entrante", Label::Imap),
    ("saliente", Label::Smtp),
    ("entrant", Label::Imap),
    ("sortant", Label::Smtp),
    ("eingehend", Label::Imap),
    ("ausgehend", Label::Smtp),
    ("posteingangsserver", Label::Imap),
    ("postausgangsserver", Label::Smtp),
    ("posteingang", Label::Imap),
    ("postausgang", Label::Smtp),
    ("saida", Label::Smtp),
    ("saída", Label::Smtp),
    ("envio", Label::Smtp),
    ("envoi", Label::Smtp),
    ("envío", Label::Smtp),
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The matches of [`LABEL`] in ASCII text, without the regex: every alternative is letters
/// between `\b`s, so a match is exactly a whole word (a maximal run of `[A-Za-z0-9_]`) equal to
/// a label, ignoring case. Non-ASCII text goes to the regex (Unicode case folding and word
/// characters); `label_scan_agrees_with_the_regex` checks the two agree.
fn ascii_labels(line: &str) -> impl Iterator<Item = (usize, usize, Label)> + '_ {
    let b = line.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if !is_word_byte(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            let word = &b[start..i];
            // Every label has four to eighteen letters.
            if (4..=18).contains(&word.len()) {
                if let Some((_, service)) = LABEL_WORDS
                    .iter()
                    .find(|(w, _)| w.as_bytes().eq_ignore_ascii_case(word))
                {
                    return Some((start, i, *service));
                }
            }
        }
        None
    })
}

/// Every match of [`LABEL`] in `line` with its service (before the `part_of_host` filter).
fn label_spans(line: &str) -> Vec<(usize, usize, Label)> {
    if line.is_ascii() {
        return ascii_labels(line).collect();
    }
    LABEL
        .find_iter(line)
        .filter_map(|m| label_service(m.as_str()).map(|s| (m.start(), m.end(), s)))
        .collect()
}

struct Segment<'a> {
    text: &'a str,
    service: Option<Label>,
}

/// Splits a line at its service labels. "993 for IMAP" labels the text before it.
fn segments(line: &str) -> Vec<Segment<'_>> {
    let labels: Vec<(usize, usize, Label)> = label_spans(line)
        .into_iter()
        .filter(|&(start, end, _)| !part_of_host(line, start, end))
        .collect();
    if labels.is_empty() {
        return vec![Segment {
            text: line,
            service: None,
        }];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<Label> = None;
    for (i, &(lstart, lend, service)) in labels.iter().enumerate() {
        let before = &line[start..lstart];
        let lead = line[..lstart].trim_end().to_ascii_lowercase();
        // "993 for IMAP", "993 (IMAP)", "x.com 993 incoming, y.com 465 outgoing": a label that
        // ends its clause names what came before it.
        let ends_clause = line[lend..]
            .trim_start()
            .chars()
            .next()
            .is_none_or(|c| matches!(c, ',' | ';' | '.' | ')' | '/'));
        let backward = ([" for", " pour", " para", " für", " as"]
            .iter()
            .any(|w| lead.ends_with(w))
            || lead.ends_with('(')
            || ends_clause)
            && has_host_or_port(before)
            && current.is_none();
        if backward {
            out.push(Segment {
                text: before,
                service: Some(service),
            });
            current = None;
        } else {
            out.push(Segment {
                text: before,
                service: current,
            });
            current = Some(service);
        }
        start = lend;
        if i + 1 == labels.len() {
            out.push(Segment {
                text: &line[start..],
                service: current,
            });
        }
    }
    out
}

fn has_host_or_port(text: &str) -> bool {
    !hosts(text).is_empty() || !ports(text).is_empty()
}

fn service_of_port(port: u16) -> Option<Label> {
    match port {
        993 | 143 | 1143 => Some(Label::Imap),
        465 | 587 | 25 | 2525 | 1025 => Some(Label::Smtp),
        110 | 995 => Some(Label::Pop),
        _ => None,
    }
}

fn service_of_host(host: &str) -> Option<Label> {
    let first = host.split('.').next().unwrap_or("");
    match first {
        "imap" | "imaps" | "imap-mail" | "imappro" | "imap4" | "export" => Some(Label::Imap),
        "smtp" | "smtps" | "smtpout" | "smtp-mail" | "smtppro" | "relay" | "submission" => {
            Some(Label::Smtp)
        }
        "pop" | "pop3" | "pop3s" => Some(Label::Pop),
        _ => None,
    }
}

struct HostToken {
    name: String,
    port: Option<u16>,
    suspicious: bool,
    /// Byte offset of the host in the scanned text.
    start: usize,
    /// The service a URL scheme names: `imaps://`, `smtp://`.
    scheme: Option<Label>,
    /// An IP literal with nothing around it saying it is a server: it may be a version number.
    weak: bool,
}

/// Host names (at least one dot, a letter TLD), IPv4 and bracketed IPv6 literals, each with the
/// port written right after it (`:993`), if any.
static HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<host>
            \[[0-9A-Fa-f:.]{2,45}\]
          | \b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b
          # Unbounded repeats on purpose: `{0,62}` of a Unicode class blows up the automaton.
          # Label and TLD lengths are checked after the match.
          | (?:[\p{L}\p{N}][\p{L}\p{N}\-]*\.)+\p{L}{2}\p{L}*\b
        )
        (?::(?P<port>\d{1,5})\b)?",
    )
    .expect("static regex")
});

/// File names and web pages that look like host names.
const NOT_A_TLD: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "bmp",
    "pdf",
    "txt",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "csv",
    "zip",
    "html",
    "htm",
    "php",
    "exe",
    "msg",
    "eml",
    "log",
    "heic",
    "mov",
    "mp4",
    "js",
    "json",
    "toml",
    "md",
    "py",
    "rs",
    "sh",
    "pl",
    "ps",
    "ts",
    "go",
    "rb",
    "cs",
    "java",
    "kt",
    "swift",
    "yaml",
    "yml",
    "ini",
    "cfg",
    "conf",
    "config",
    "xml",
    "jar",
    "dll",
    "so",
    "properties",
    "env",
    "lock",
    "bat",
    "cmd",
    "ps1",
    "css",
    "scss",
    "jsx",
    "tsx",
    "vue",
    "mjs",
    "cjs",
    "gz",
    "tgz",
];
const NOT_A_SERVER: &[&str] = &[
    "hubspot.com",
    "hubspot.net",
    "discord.com",
    "discord.gg",
    "hubspotemail.net",
];

/// [`HOST`] without its port group: the host names alone. The port is read by [`port_suffix`];
/// captures cost several times a plain search.
static HOST_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = HOST.as_str();
    let end = pattern
        .rfind("(?::(?P<port>")
        .expect("HOST ends with its port group");
    Regex::new(&pattern[..end]).expect("static regex")
});

/// The `(?::(?P<port>\d{1,5})\b)?` tail of [`HOST`], matched at `at` (the end of a host): the
/// range of the port digits, if the group matches.
fn port_suffix(text: &str, at: usize) -> Option<Range<usize>> {
    static SUFFIX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\A:\d{1,5}\b").expect("static regex"));
    let b = text.as_bytes();
    if b.get(at) != Some(&b':') {
        return None;
    }
    let digits = at + 1;
    let mut i = digits;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    match b.get(i) {
        // Unicode digits and word characters: leave them to the regex.
        Some(&c) if !c.is_ascii() => SUFFIX.find(&text[at..]).map(|m| digits..at + m.end()),
        next => {
            let run = i - digits;
            ((1..=5).contains(&run) && !next.is_some_and(|&c| is_word_byte(c))).then_some(digits..i)
        }
    }
}

/// Every match of [`HOST`]: the host, and the port digits when the port group matched.
///
/// No match holds white space, and every one holds a `[`, or a `.` followed by a letter or a
/// digit. So only the words with one are searched, each as the text up to the white space
/// after it: the regex sees the same characters on either side of a match as in the whole
/// text, and stops at the end of the word instead of reading on to the end of the line.
fn host_matches(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // The end of the last word searched: a word is searched once, whatever it holds.
    let mut done = 0;
    for at in memchr::memchr2_iter(b'.', b'[', b) {
        if at < done
            || b[at] == b'.'
                && !b
                    .get(at + 1)
                    .is_some_and(|&n| n.is_ascii_alphanumeric() || n >= 0x80)
        {
            continue;
        }
        let start = b[..at]
            .iter()
            .rposition(|&c| is_space(c))
            .map_or(0, |i| i + 1);
        let end = b[at..]
            .iter()
            .position(|&c| is_space(c))
            .map_or(b.len(), |i| at + i);
        done = end;
        // The word and the one white-space byte after it.
        let hay = &text[..(end + 1).min(b.len())];
        let mut from = start;
        while let Some(m) = HOST_NAME.find_at(hay, from) {
            let port = port_suffix(hay, m.end());
            from = port.as_ref().map_or(m.end(), |r| r.end);
            out.push((m.range(), port));
        }
    }
    out
}

/// What a URL scheme right before a host says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// A mail URL (`imaps://`, `smtp://`, `ssl://`, `tls://`), with the service it names.
    Mail(Option<Label>),
    /// A web page or an address: not a server setting.
    Web,
}

/// The URL scheme right before `at` (`imaps://`, `smtp://user@`).
fn scheme_before(text: &str, at: usize) -> Option<Scheme> {
    static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(imaps?|smtps?|submissions?|pop3s?|tls|ssl|tcp|mailto|https?)://(?:[^\s/@]*@)?$")
            .expect("static regex")
    });
    let from = at.saturating_sub(80);
    let from = (from..=at)
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(at);
    let caps = SCHEME.captures(&text[from..at])?;
    let scheme = caps.get(1)?.as_str().to_ascii_lowercase();
    Some(match scheme.as_str() {
        "imap" | "imaps" => Scheme::Mail(Some(Label::Imap)),
        "smtp" | "smtps" | "submission" | "submissions" => Scheme::Mail(Some(Label::Smtp)),
        "pop3" | "pop3s" => Scheme::Mail(Some(Label::Pop)),
        "http" | "https" | "mailto" => Scheme::Web,
        _ => Scheme::Mail(None),
    })
}

/// Words before an IP literal that make it a version: "version 3.14.0.2", "v1.2.3.4".
static VERSION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b(?:v|ver|version|versión|release|build|update|firmware|thunderbird|outlook|office|windows|ios|android|macos|php|java|python|node|chrome|firefox)\s*[:#]?\s*|[vV])$")
        .expect("static regex")
});

/// Where operating systems start handing out source ports: no mail server listens up there.
const EPHEMERAL_PORTS_START: u16 = 32768;

/// Names of variables and objects that code puts before `.host`, `.server` or `.email`.
const CODE_OBJECTS: &[&str] = &[
    "args",
    "self",
    "this",
    "config",
    "conf",
    "cfg",
    "settings",
    "options",
    "opts",
    "params",
    "env",
    "process",
    "app",
    "req",
    "res",
    "ctx",
    "data",
    "obj",
    "mail",
    "smtp",
    "imap",
    "user",
    "account",
    "server",
    "client",
    "transport",
    "message",
    "msg",
    "form",
    "request",
    "response",
];

/// An intranet name (`relay.corp.local`): not under a public suffix, and still the server a
/// member typed. The probe refuses it; triage still reports it.
fn under_private_suffix(name: &str) -> bool {
    const PRIVATE: &[&str] = &[
        "local",
        "lan",
        "internal",
        "intranet",
        "corp",
        "home",
        "localdomain",
        "private",
    ];
    let mut labels = name.rsplit('.');
    labels.next().is_some_and(|tld| PRIVATE.contains(&tld)) && name.split('.').count() >= 2
}

/// "IP", "IP address", "from" before an address: the member's or a client's address.
static OWN_IP_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bips?\b|\bip[ -]?(?:address|adresse|adresa)\b|\bfrom\b|\brip=|\blip=|\bclient\b)[^\n.,;]{0,16}$")
        .expect("static regex")
});

/// A name under a real public suffix (the Public Suffix List), with a label of its own.
fn under_public_suffix(name: &str) -> bool {
    let Some(suffix) = psl::suffix(name.as_bytes()) else {
        return false;
    };
    suffix.is_known() && name.len() > suffix.as_bytes().len() + 1
}

/// A server name with a suffix that doesn't exist, which the member still typed as their server:
/// `imap.secureserver.con:993`. It is kept, because the typo is the diagnosis; a class path or
/// a file name never has this shape (a mail-like first label or a port, a short lower-case
/// suffix).
fn mistyped_server(name: &str, raw: &str, has_port: bool) -> bool {
    let first = name.split('.').next().unwrap_or("");
    let suffix = name.rsplit('.').next().unwrap_or("");
    let mail_like = matches!(
        first,
        "imap" | "imaps" | "smtp" | "smtps" | "mail" | "mx" | "pop" | "pop3" | "email" | "webmail"
    );
    (mail_like || has_port)
        && (2..=4).contains(&suffix.len())
        && suffix.bytes().all(|b| b.is_ascii_lowercase())
        && !raw.bytes().any(|b| b.is_ascii_uppercase())
        && name.split('.').count() >= 3
}

fn hosts(text: &str) -> Vec<HostToken> {
    let mut out = Vec::new();
    for (host, port_digits) in host_matches(text) {
        let raw = &text[host.clone()];
        let prev = text[..host.start].chars().next_back();
        let scheme = scheme_before(text, host.start);
        // Part of an email address or of a URL path: not a server. A mail URL's host is.
        if scheme.is_none() && matches!(prev, Some('@') | Some('/') | Some('.')) {
            continue;
        }
        if scheme == Some(Scheme::Web) {
            continue;
        }
        let after = &text[host.end..];
        if after.starts_with('@')
            || after.starts_with('/') && !after.starts_with("//") && raw.contains("hubspot")
        {
            continue;
        }
        // A dotted name right before `(` or `::` is a call or a class path: `Service.connect(`.
        // One in brackets is a server's own name quoted in its reply:
        // `[BN8PR04CA0012.namprd04.prod.outlook.com]`.
        if after.starts_with('(')
            || after.starts_with("::")
            || prev == Some('[') && after.starts_with(']')
        {
            continue;
        }
        let lower = raw.to_lowercase();
        if lower.len() > 253 || lower.split('.').any(|label| label.chars().count() > 63) {
            continue;
        }
        let tld = lower.rsplit('.').next().unwrap_or("");
        if NOT_A_TLD.contains(&tld) {
            continue;
        }
        let first_label = lower.split('.').next().unwrap_or("");
        // A web site, a variable's field (`args.host`, `config.smtp`), or a reply code glued to
        // the server's greeting (`250-mx.acme.com`).
        if first_label == "www"
            || lower.split('.').count() == 2 && CODE_OBJECTS.contains(&first_label)
            || first_label.len() > 4
                && first_label.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && first_label.as_bytes()[3] == b'-'
        {
            continue;
        }
        if NOT_A_SERVER.iter().any(|d| {
            lower == *d
                || lower
                    .strip_suffix(d)
                    .is_some_and(|rest| rest.ends_with('.'))
        }) {
            continue;
        }
        let is_ip = raw.starts_with('[') || raw.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let name = if is_ip {
            raw.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        } else {
            lower
        };
        let mut weak = false;
        if is_ip {
            if name.contains(':') {
                if name.parse::<std::net::Ipv6Addr>().is_err() {
                    continue;
                }
            } else {
                if name.parse::<std::net::Ipv4Addr>().is_err() {
                    continue;
                }
                // "3.14.0.2" after "version", or followed by more dotted numbers, is a version.
                if VERSION_BEFORE.is_match(&text[..host.start])
                    || after.starts_with(['-', '.'])
                        && after[1..].starts_with(|c: char| c.is_ascii_alphanumeric())
                {
                    continue;
                }
                weak = scheme.is_none();
                // The member's own address ("our fixed IP is 192.0.2.1"), or a client's address
                // and ephemeral source port in a log line (`198.51.100.87:39078`), is not a
                // server.
                if OWN_IP_BEFORE.is_match(&text[..host.start])
                    || port_digits.as_ref().is_some_and(|r| {
                        text[r.clone()]
                            .parse::<u16>()
                            .is_ok_and(|p| p >= EPHEMERAL_PORTS_START)
                    })
                {
                    continue;
                }
            }
        } else if name.is_ascii()
            && !under_public_suffix(&name)
            && !under_private_suffix(&name)
            && !mistyped_server(&name, raw, port_digits.is_some())
        {
            // File names, class paths and made-up words: `settings.yaml`,
            // `javax.mail.MessagingException`, `imaplib.IMAP4.error`.
            continue;
        }
        let port = port_digits
            .and_then(|r| text[r].parse::<u16>().ok())
            .filter(|p| *p > 0);
        out.push(HostToken {
            suspicious: !name.is_ascii(),
            name,
            port,
            start: host.start,
            scheme: match scheme {
                Some(Scheme::Mail(service)) => service,
                _ => None,
            },
            weak,
        });
    }
    out
}

/// "port 993", "port: 993", "ports 993 and 587", "(993)", or a bare well-known mail port.
static PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<kw>\bports?\b\s*(?:number\s*)?(?:is|=|:|\#|-)?\s*)?(?P<open>\()?\b(?P<port>\d{1,5})\b").expect("static regex")
});

const WELL_KNOWN_PORTS: &[u16] = &[25, 110, 143, 465, 587, 993, 995, 1025, 1143, 2525];

/// One match of [`PORT`]: the digits, and whether the `kw` and `open` groups took part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortMatch {
    digits: Range<usize>,
    keyword: bool,
    open: bool,
}

fn port_matches(text: &str) -> Vec<PortMatch> {
    if text.is_ascii() {
        return ascii_port_matches(text);
    }
    PORT.captures_iter(text)
        .filter_map(|caps| {
            Some(PortMatch {
                digits: caps.name("port")?.range(),
                keyword: caps.name("kw").is_some(),
                open: caps.name("open").is_some(),
            })
        })
        .collect()
}

/// `\s` on ASCII (`u8::is_ascii_whitespace` leaves out the vertical tab).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// The matches of [`PORT`] in ASCII text, without the regex. A match is a whole-word run of one
/// to five digits (`\b\d{1,5}\b`); an optional `(` right before it belongs to the match; and the
/// `kw` group is there when `port[s] [number] [is|=|:|#|-] [(]` leads right up to it. Every
/// optional part of the pattern is a fixed word or sign, so no choice ever needs undoing: the
/// forward reading below is the regex's. `port_scan_agrees_with_the_regex` checks it.
fn ascii_port_matches(text: &str) -> Vec<PortMatch> {
    let b = text.as_bytes();
    let word_at = |i: usize| b.get(i).is_some_and(|&c| is_word_byte(c));
    let starts_ci = |i: usize, w: &str| {
        b.get(i..i + w.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
    };
    let skip_spaces = |mut i: usize| {
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        i
    };
    // Where the keyword reading starting at `p` ("port...") expects the digits.
    let keyword_lands = |p: usize| -> Option<usize> {
        let mut i = p + 4;
        if b.get(i).is_some_and(|c| c.eq_ignore_ascii_case(&b's')) && !word_at(i + 1) {
            i += 1;
        } else if word_at(i) {
            return None;
        }
        i = skip_spaces(i);
        if starts_ci(i, "number") {
            i = skip_spaces(i + 6);
        }
        if starts_ci(i, "is") {
            i += 2;
        } else if matches!(b.get(i), Some(b'=' | b':' | b'#' | b'-')) {
            i += 1;
        }
        i = skip_spaces(i);
        if b.get(i) == Some(&b'(') {
            i += 1;
        }
        (b.get(i).is_some_and(u8::is_ascii_digit) && !word_at(i - 1)).then_some(i)
    };
    let mut out = Vec::new();
    let mut keyword_digits = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // Only digits and the `p` of "port" start anything.
        if !c.is_ascii_digit() && c | 0x20 != b'p' {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if (start == 0 || !is_word_byte(b[start - 1])) && i - start <= 5 && !word_at(i) {
                out.push(PortMatch {
                    digits: start..i,
                    keyword: keyword_digits == Some(start),
                    open: start > 0 && b[start - 1] == b'(',
                });
            }
            continue;
        }
        if c.eq_ignore_ascii_case(&b'p')
            && (i == 0 || !is_word_byte(b[i - 1]))
            && starts_ci(i, "port")
        {
            if let Some(at) = keyword_lands(i) {
                keyword_digits = Some(at);
            }
        }
        i += 1;
    }
    out
}

/// Month names around a number make it a date: "25 March", "Mar 25".
static MONTH_NEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:st|nd|rd|th)?\s*(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|février|fevereiro|märz|marzo|mars|março|mai|mayo|juni|junio|juin|juli|julio|juillet|dezember|diciembre|décembre|dezembro|enero|janvier|janeiro)")
        .expect("static regex")
});
static MONTH_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s*$")
        .expect("static regex")
});

/// Ports in `text`, each with the byte offset of its digits.
fn ports(text: &str) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    let mut after_keyword = false;
    for m in port_matches(text) {
        // Digits inside a host name, an IP address or a longer number are not a port.
        let prev = text[..m.digits.start].chars().next_back();
        let next = text[m.digits.end..].chars().next();
        if matches!(prev, Some('.') | Some(':') | Some('-') | Some('/'))
            || matches!(next, Some('.') | Some('-') | Some('/'))
                && text[m.digits.end..]
                    .chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_digit())
        {
            continue;
        }
        let Ok(port) = text[m.digits.clone()].parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        // "ports 993 and 587": the keyword carries over to the numbers that follow it.
        after_keyword |= m.keyword;
        // "(118)" after a file or a call is a line number; after a host it is a port.
        let open_after_host = m.open && {
            let lead = text[..m.digits.start - 1].trim_end();
            lead.rsplit(|c: char| c.is_whitespace())
                .next()
                .is_some_and(|word| !hosts(word).is_empty() || label_service(word).is_some())
        };
        let date = MONTH_NEAR.is_match(&text[m.digits.end..])
            || MONTH_BEFORE.is_match(&text[..m.digits.start]);
        if !date && (after_keyword || open_after_host || WELL_KNOWN_PORTS.contains(&port)) {
            out.push((port, m.digits.start));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones() -> &'static crate::core::zones::ZonePatterns {
        &crate::core::rules::shipped_for_tests().reading.zones
    }

    fn scan(text: &str) -> Settings {
        let mut s = Settings::default();
        s.scan(text, zones());
        s
    }

    fn ep(host: &str, port: u16) -> Option<Endpoint> {
        Some(Endpoint {
            host: host.into(),
            port,
        })
    }

    /// Texts for the scanner-against-regex tests: the shapes members write, and the edges.
    const SAMPLES: &[&str] = &[
        "imap.gmail.com:993 and smtp.gmail.com:587",
        "IMAP: mail.acme.com (993)\nSMTP: mail.acme.com (465)",
        "for imap I use server mail.acme.com port 993, for smtp server mail.acme.com port 2525",
        "server mail.acme.com, 993 for IMAP and 465 for SMTP",
        "ports 993 and 587; port number is 143; Port#25 port=(465) port -2525 PORTS: 1025",
        "portnumber 993 port is993 port number: 993 port numbers 993 port island 5 ports(587)",
        "a.com:993.b.com x.1.2.3.4 1234.5.6.7 1.2.3.4.5 [::1]:993 [2001:db8::1] [zz]",
        "mail.ex-ample.c1 host_name.com foo-.bar.com -a.com a..b.com a.b-.com a.bc_d x.co9",
        "imap.acme.com:99999 smtp.acme.com:0 a.com:12 a.com:123456 a.com:99x a.com: 993",
        "993px 99999 123456 (993) x(993 993(587) 5.7.1 443/tcp 587-line 1-2 10.0.0.1/24",
        "IMAPS smtps Incoming OUTGOING inbound outbound receiving sending submission imap_x",
        "imap.gmail.com smtp-mail.outlook.com imap4 x.imap.y @imap /smtp imap@ 2imap imap2",
        "| IMAP | imap.acme.com | 993 |\n| SMTP | smtp.acme.com | 587 |",
        "port\x0b993 port\t\t: 993 port\r\n993 hub.hubspot.com/x app.hubspot.com/1/2 a.png",
        "a.com\u{a0}b.com x\x0ba.com:993\x0cb.org\rc.net [::1]\u{2003}d.io é.fr a.é x.\u{e9}t",
    ];

    fn oracle_labels(text: &str) -> Vec<(usize, usize, Label)> {
        LABEL
            .find_iter(text)
            .filter_map(|m| label_service(m.as_str()).map(|s| (m.start(), m.end(), s)))
            .collect()
    }

    fn oracle_ports(text: &str) -> Vec<PortMatch> {
        PORT.captures_iter(text)
            .filter_map(|caps| {
                Some(PortMatch {
                    digits: caps.name("port")?.range(),
                    keyword: caps.name("kw").is_some(),
                    open: caps.name("open").is_some(),
                })
            })
            .collect()
    }

    /// (host, port digits) of every [`HOST`] match, with the regex.
    fn oracle_hosts(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
        HOST.captures_iter(text)
            .map(|c| {
                (
                    c.name("host").unwrap().range(),
                    c.name("port").map(|p| p.range()),
                )
            })
            .collect()
    }

    fn scanned_hosts(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
        host_matches(text)
    }

    fn check_scanners(text: &str) {
        let labels: Vec<_> = ascii_labels(text).collect();
        if text.is_ascii() {
            assert_eq!(labels, oracle_labels(text), "labels in {text:?}");
            assert_eq!(
                ascii_port_matches(text),
                oracle_ports(text),
                "ports in {text:?}"
            );
        }
        assert_eq!(label_spans(text), oracle_labels(text), "labels in {text:?}");
        assert_eq!(port_matches(text), oracle_ports(text), "ports in {text:?}");
        assert_eq!(scanned_hosts(text), oracle_hosts(text), "hosts in {text:?}");
    }

    /// The hand-written label, port and host-port scans find what the regexes they replaced find.
    #[test]
    fn scanners_agree_with_the_regexes() {
        for text in SAMPLES {
            check_scanners(text);
            for line in text.lines() {
                check_scanners(line);
            }
        }
        check_scanners("port ٩٩٣ a.com:٩٩٣ a.com:993é port 993é ſmtp imap");
    }

    proptest::proptest! {
        #[test]
        fn scanners_agree_with_the_regexes_on_any_text(
            text in "([a-zA-Z0-9 .:()#=_@/\\[\\]\t-]|port|PORTS|number|is|imap|smtp|993|\\.com|é){0,40}"
        ) {
            check_scanners(&text);
        }
    }

    #[test]
    fn host_colon_port() {
        let s = scan("imap.gmail.com:993 and smtp.gmail.com:587");
        assert_eq!(s.imap(), ep("imap.gmail.com", 993));
        assert_eq!(s.smtp(), ep("smtp.gmail.com", 587));
    }

    #[test]
    fn labels_and_parentheses() {
        let s = scan("IMAP: mail.acme.com (993)\nSMTP: mail.acme.com (465)");
        assert_eq!(s.imap(), ep("mail.acme.com", 993));
        assert_eq!(s.smtp(), ep("mail.acme.com", 465));
    }

    #[test]
    fn incoming_outgoing_over_lines() {
        let s = scan("Incoming mail server: MAIL.ACME.COM\nPort: 143\nOutgoing server: smtp.acme.com\nPort: 587");
        assert_eq!(s.imap(), ep("mail.acme.com", 143));
        assert_eq!(s.smtp(), ep("smtp.acme.com", 587));
    }

    #[test]
    fn server_x_port_y() {
        let s = scan(
            "for imap I use server mail.acme.com port 993, for smtp server mail.acme.com port 2525",
        );
        assert_eq!(s.imap(), ep("mail.acme.com", 993));
        assert_eq!(s.smtp(), ep("mail.acme.com", 2525));
    }

    #[test]
    fn port_before_label() {
        let s = scan("server mail.acme.com, 993 for IMAP and 465 for SMTP");
        assert_eq!(s.imap(), ep("mail.acme.com", 993));
        assert_eq!(s.smtp(), ep("mail.acme.com", 465));
    }

    #[test]
    fn label_at_the_end_of_a_sentence() {
        let s = scan("secure.emailsrvr.com port 993 for IMAP, secure.emailsrvr.com 465 for SMTP. It timed out.");
        assert_eq!(s.imap(), ep("secure.emailsrvr.com", 993));
        assert_eq!(s.smtp(), ep("secure.emailsrvr.com", 465));
    }

    #[test]
    fn tables_by_row_and_by_column() {
        let s = scan("| Type | Server | Port |\n|---|---|---|\n| IMAP | imap.acme.com | 993 |\n| SMTP | smtp.acme.com | 587 |");
        assert_eq!(s.imap(), ep("imap.acme.com", 993));
        assert_eq!(s.smtp(), ep("smtp.acme.com", 587));
        let s = scan("| | Incoming | Outgoing |\n|-|-|-|\n| Server | in.acme.com | out.acme.com |\n| Port | 993 | 465 |");
        assert_eq!(s.imap(), ep("in.acme.com", 993));
        assert_eq!(s.smtp(), ep("out.acme.com", 465));
    }

    #[test]
    fn ip_literals_kept_and_emails_ignored() {
        let s = scan("IMAP 203.0.113.7:993, my login is bob@mail.acme.com");
        assert_eq!(s.imap(), ep("203.0.113.7", 993));
        assert_eq!(s.smtp(), None);
    }

    #[test]
    fn look_alike_hosts_are_flagged() {
        let s = scan("IMAP: imap.gmаil.com:993");
        assert_eq!(s.imap(), None);
        assert_eq!(s.suspicious, ["imap.gmаil.com"]);
    }

    #[test]
    fn later_messages_correct_earlier() {
        let mut s = Settings::default();
        s.scan("imap server imap.acme.com port 143", zones());
        s.scan("sorry, the IMAP port is 993", zones());
        assert_eq!(s.imap(), ep("imap.acme.com", 993));
    }
}
