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

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::literals::Hits;
use super::report::{Endpoint, Evidence};
use super::service::Service;
use super::words::{HostWords, SecretWords, WordLists};
use super::zones::{Line, ZoneKind};

mod host_names;
mod hosts;
mod labels;
mod ports;
mod wording;

use hosts::*;
use labels::*;
use ports::*;
use wording::*;

pub use wording::wording_gates;

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
/// A server naming itself in its greeting or EHLO reply (`SERVER -> CLIENT: 220-ns17.host.net`),
/// or a client in its `EHLO`: a shared host's name, an intercepting relay's or the member's own
/// machine, weaker than anything the member set.
const SERVER_REPLY: Strength = 0;
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
    /// Shared by every value found on the line: a line naming a host and a port is copied once.
    line: Arc<str>,
    focus: Focus,
}

/// The text an [`Evidence`] points at: a port is written out only for the value chosen.
#[derive(Debug, Clone)]
enum Focus {
    Text(String),
    Port(u16),
}

impl Pending {
    fn build(&self, words: &SecretWords) -> Evidence {
        let port;
        let focus = match &self.focus {
            Focus::Text(text) => text.as_str(),
            Focus::Port(p) => {
                port = p.to_string();
                port.as_str()
            }
        };
        Evidence::new_with(words, self.message, self.zone, &self.line, Some(focus))
    }
}

/// Where the scan is: the message, the zone and line being read, and how strong what it finds is.
#[derive(Debug, Clone, Default)]
struct At {
    message: usize,
    zone: Option<ZoneKind>,
    /// The line being read. Its buffer is kept from line to line: most lines give no value,
    /// and a copy of their own for each was most of what reading them allocated.
    line: String,
    /// [`Self::line`] shared with the values found on it, made for the first of them.
    shared: Option<Arc<str>>,
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
    /// The wording gates' hits in the message being scanned ([`WORDING_GATES`]); empty
    /// between scans, so that no other text is ever taken for part of it.
    hits: Hits,
    /// The rules' word lists the scan reads hosts (and redacts its evidence) with.
    words: WordLists,
}

impl Settings {
    /// A scan that reads with the rules' word lists; [`Settings::default`] reads with the
    /// shipped ones ([`crate::core::words::shipped`]).
    pub fn with_words(words: WordLists) -> Settings {
        Settings {
            words,
            ..Settings::default()
        }
    }

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
            host.evidence.build(&self.words.secrets)
        } else {
            port.evidence.build(&self.words.secrets)
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
        let lower = super::text::lower(text);
        self.scan_lines(0, text, &lower, &super::zones::lines(text, zones));
    }

    /// Scans the zoned lines of message `message`, whose text is `text` and lower-cased copy
    /// `lower` ([`super::text::lower`]); `lines` are [`super::zones::lines`]`(text, ..)`.
    pub fn scan_lines(&mut self, message: usize, text: &str, lower: &[u8], lines: &[Line<'_>]) {
        self.hits = WORDING_GATES.hits(text, lower);
        self.scan_zoned(message, lines);
        self.hits = Hits::default();
    }

    /// [`Self::scan_lines`], with the message's wording-gate hits found beforehand: `hits`
    /// index the gates of [`wording_gates`] as its first sets, in that order, over `text`. They
    /// are lent to the scan and handed back.
    pub fn scan_lines_with(&mut self, message: usize, lines: &[Line<'_>], hits: &mut Hits) {
        std::mem::swap(&mut self.hits, hits);
        self.scan_zoned(message, lines);
        std::mem::swap(&mut self.hits, hits);
    }

    fn scan_zoned(&mut self, message: usize, lines: &[Line<'_>]) {
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            if !line.kind.gives_settings() || line.text.trim().is_empty() {
                continue;
            }
            self.enter(message, line);
            if SAME_SERVER.is_match_in(line.text, &self.hits, SAME_SERVER_GATE) {
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
            } else if let Some((service, value)) = config_key_service(line.text, &self.words.hosts)
                // "IMAP: x, port 993. Outgoing: port 587": a line that names the other service
                // too is read by its labels.
                .filter(|(service, value)| {
                    !label_spans(value).into_iter().any(|(start, end, label)| {
                        label != *service && !part_of_host(value, start, end)
                    })
                })
            {
                self.scan_segment(value, Some(service));
            } else {
                self.scan_line(line.text);
            }
        }
    }

    fn enter(&mut self, message: usize, line: Line<'_>) {
        let strength = if CORRECTION.is_match_in(line.text, &self.hits, CORRECTION_GATE) {
            CORRECTED
        } else if names_itself(line.text) {
            SERVER_REPLY
        } else if line.kind == ZoneKind::Log {
            FROM_LOG
        } else {
            STATED
        };
        self.at.message = message;
        self.at.zone = Some(line.kind);
        self.at.line.clear();
        self.at.line.push_str(line.text);
        self.at.shared = None;
        self.at.strength = strength;
    }

    fn evidence(&mut self, focus: Focus) -> Pending {
        let at = &mut self.at;
        let line = at
            .shared
            .get_or_insert_with(|| Arc::from(at.line.as_str()))
            .clone();
        Pending {
            message: at.message,
            zone: at.zone.unwrap_or(ZoneKind::Prose),
            line,
            focus,
        }
    }

    fn scan_line(&mut self, line: &str) {
        // Fast path: most lines hold no service label, and then the whole line is one segment.
        self.line_names_both = false;
        if line.is_ascii() && !may_hold_label(line, &self.hits) {
            self.scan_segment(line, self.context);
            return;
        }
        let segments = segments(line, &self.words.hosts);
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
        let hosts = hosts(text, &self.words.hosts);
        let mut attached = false;
        // A label names the first server after it: in "SMTP: smtp.x.com:587, imap.x.com:993" or
        // "SMTP auth failed. Settings: smtp.x.com:587, outlook.x.com:993" a later host with its
        // own mail port is read by that port.
        let mut label_used = false;
        for host in &hosts {
            if host.suspicious {
                if !self.suspicious.contains(&host.name) {
                    self.suspicious.push(host.name.clone());
                }
                continue;
            }
            if not_a_setting(text, host.start, &self.hits) {
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
            } else if label_used && by_port.is_some() {
                by_scheme.or(by_name).or(by_port)
            } else {
                by_scheme.or(by_name).or(service).or(by_port)
            };
            label_used |= host.port.is_some();
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
        for (port, at) in ports(text, &self.words.hosts) {
            if not_a_setting(text, at, &self.hits) {
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

    fn slot<T>(&mut self, value: T, weak: bool, focus: Focus) -> Slot<T> {
        Slot {
            value,
            strength: if weak { FROM_LOG } else { self.at.strength },
            evidence: self.evidence(focus),
        }
    }

    fn set_host(&mut self, service: Label, host: &str, weak: bool) {
        let slot = self.slot(host.to_string(), weak, Focus::Text(host.to_string()));
        match service {
            Label::Imap => keep_stronger(&mut self.imap_host, slot),
            Label::Smtp => keep_stronger(&mut self.smtp_host, slot),
            Label::Pop => {}
        }
    }

    fn set_shared_host(&mut self, host: &str, weak: bool) {
        let slot = self.slot(host.to_string(), weak, Focus::Text(host.to_string()));
        keep_stronger(&mut self.shared_host, slot);
    }

    fn set_port(&mut self, service: Label, port: u16, weak: bool) {
        let slot = self.slot(port, weak, Focus::Port(port));
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
fn config_key_service<'a>(line: &'a str, words: &HostWords) -> Option<(Label, &'a str)> {
    static KEY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\s*(?:export\s+|set\s+|-\s+|\$\w+\[|\$)?["']?(?P<key>[A-Za-z_][\w.\-]*(?:->[A-Za-z_]\w*)?)["']?\]?\s*(?:=>|=|:)\s*"#)
            .expect("static regex")
    });
    // Every match holds its `=`, `=>` or `:`: a line with neither is no config line.
    memchr::memchr2(b'=', b':', line.as_bytes())?;
    let caps = KEY.captures(line)?;
    let key = caps.name("key")?.as_str().to_ascii_lowercase();
    // `smtp.gmail.com:465` is a server and its port, not a key and its value.
    if !hosts(&key, words).is_empty() {
        return None;
    }
    let value = &line[caps.get(0)?.end()..];
    // `smtp://user@host:587/`: a URL's scheme, not a key.
    if value.starts_with("//") {
        return None;
    }
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

/// A greeting or EHLO reply line (`220 mx.host ESMTP`, `S: 250-mail.host Hello`,
/// `SERVER -> CLIENT: 220-ns17.host.net`) or the client's `EHLO name`.
fn names_itself(line: &str) -> bool {
    static REPLY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:^\s*|\bS\s*:\s*|\bSERVER\s*->\s*CLIENT\s*:\s*|\bINBOUND\s*:\s*\x22?|(?:<<|<-)\s*)(?:220|221|250)[ -][A-Za-z0-9\[]|\b(?:EHLO|HELO)\s+\S")
            .expect("static regex")
    });
    holds_a_reply_literal(line.as_bytes()) && REPLY.is_match(line)
}

/// Whether `b` holds "220", "250", "221" or "HLO", one of which every match of
/// `names_itself`'s regex holds. One `memchr2` pass: four `memmem::find` calls built four
/// searchers for every line (≈ 1.6 K instructions a line).
fn holds_a_reply_literal(b: &[u8]) -> bool {
    memchr::memchr2_iter(b'2', b'H', b)
        .any(|at| matches!(b.get(at..at + 3), Some(b"220" | b"250" | b"221" | b"HLO")))
}

/// A later candidate replaces an earlier one unless the earlier one is stronger.
fn keep_stronger<T>(current: &mut Option<Slot<T>>, new: Slot<T>) {
    if current.as_ref().is_none_or(|c| new.strength >= c.strength) {
        *current = Some(new);
    }
}

#[cfg(test)]
mod tests;
