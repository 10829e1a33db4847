//! IMAP and SMTP server settings, in the ways members actually write them: `host:port`,
//! "server X port Y", "IMAP: X (993)", incoming/outgoing labels, markdown tables, upper case,
//! and spread over several messages.
//!
//! The scan works line by line. Service labels ("IMAP", "incoming", "SMTP", "outgoing") split a
//! line into segments; each segment's hosts and ports go to its service. A line without a label
//! inherits the last label seen (so "Incoming server: x" followed by "Port: 993" works), and when
//! there is none, the port or the host name decides (993 is IMAP, `smtp.` is SMTP).

use std::sync::LazyLock;

use regex::Regex;

use super::report::Endpoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Imap,
    Smtp,
}

/// Everything found so far; later values overwrite earlier ones (members correct themselves).
#[derive(Debug, Default, Clone)]
pub struct Settings {
    imap_host: Option<String>,
    imap_port: Option<u16>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    /// A server named without a service ("server: mail.acme.com"), used for either side that
    /// has a port but no host of its own.
    shared_host: Option<String>,
    context: Option<Service>,
    /// Hosts with non-ASCII characters: flagged, never used as a server.
    pub suspicious: Vec<String>,
}

impl Settings {
    pub fn imap(&self) -> Option<Endpoint> {
        endpoint(
            self.imap_host.as_ref().or(self.shared_host.as_ref()),
            self.imap_port,
        )
    }
    pub fn smtp(&self) -> Option<Endpoint> {
        endpoint(
            self.smtp_host.as_ref().or(self.shared_host.as_ref()),
            self.smtp_port,
        )
    }

    /// A host given for a service but no port (the bot asks for it).
    pub fn host_without_port(&self, service: Service) -> Option<&str> {
        match service {
            Service::Imap if self.imap_port.is_none() => self.imap_host.as_deref(),
            Service::Smtp if self.smtp_port.is_none() => self.smtp_host.as_deref(),
            _ => None,
        }
    }

    /// Scans one message.
    pub fn scan(&mut self, text: &str) {
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if is_table_row(line) {
                let mut table = vec![line];
                while let Some(next) = lines.next_if(|l| is_table_row(l)) {
                    table.push(next);
                }
                self.scan_table(&table);
            } else {
                self.scan_line(line);
            }
        }
    }

    fn scan_line(&mut self, line: &str) {
        // Fast path: lines with no digit and no dot can't hold a host or a port, only a label.
        for segment in segments(line) {
            if let Some(service) = segment.service {
                self.context = Some(service);
            }
            self.scan_segment(segment.text, segment.service.or(self.context));
        }
    }

    fn scan_segment(&mut self, text: &str, service: Option<Service>) {
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
            let by_name = service_of_host(&host.name);
            let by_port = host.port.and_then(service_of_port);
            // A name made for one service ("smtp.") outweighs a label: "IMAP error with
            // imap.x.com:993 and smtp.x.com:587" lists both servers on one labelled line.
            let which = by_name.or(service).or(by_port);
            match which {
                Some(s) => {
                    self.set_host(s, &host.name);
                    // "mail.acme.com" serves both sides more often than not; a name made for one
                    // service ("imap.") does not.
                    if by_name.is_none() {
                        self.shared_host = Some(host.name.clone());
                    }
                    if let Some(port) = host.port {
                        self.set_port(s, port);
                        attached = true;
                    }
                }
                None => self.shared_host = Some(host.name.clone()),
            }
        }
        if attached {
            return;
        }
        for port in ports(text) {
            let which = service.or_else(|| service_of_port(port));
            if let Some(s) = which {
                self.set_port(s, port);
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
        let column_services: Vec<Option<Service>> =
            header.iter().map(|c| label_service(c)).collect();
        let has_imap = column_services.contains(&Some(Service::Imap));
        let has_smtp = column_services.contains(&Some(Service::Smtp));
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

    fn set_host(&mut self, service: Service, host: &str) {
        match service {
            Service::Imap => self.imap_host = Some(host.to_string()),
            Service::Smtp => self.smtp_host = Some(host.to_string()),
        }
    }

    fn set_port(&mut self, service: Service, port: u16) {
        match service {
            Service::Imap => self.imap_port = Some(port),
            Service::Smtp => self.smtp_port = Some(port),
        }
    }
}

fn endpoint(host: Option<&String>, port: Option<u16>) -> Option<Endpoint> {
    Some(Endpoint {
        host: host?.clone(),
        port: port?,
    })
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
        r"(?i)\b(imaps?|incoming|inbound|receiving|smtps?|outgoing|outbound|sending|submission)\b",
    )
    .expect("static regex")
});

fn label_service(word: &str) -> Option<Service> {
    let m = LABEL.find(word)?;
    if part_of_host(word, m.start(), m.end()) {
        return None;
    }
    Some(match m.as_str().to_ascii_lowercase().as_str() {
        "imap" | "imaps" | "incoming" | "inbound" | "receiving" => Service::Imap,
        _ => Service::Smtp,
    })
}

/// "imap" in `imap.gmail.com` is part of a host name, not a label; "for IMAP." is a label.
fn part_of_host(text: &str, start: usize, end: usize) -> bool {
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    let (b1, b2) = (before.next(), before.next());
    let (a1, a2) = (after.next(), after.next());
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    matches!(b1, Some('@') | Some('/'))
        || (matches!(b1, Some('.') | Some('-')) && alnum(b2))
        || matches!(a1, Some('@'))
        || (matches!(a1, Some('.') | Some('-')) && alnum(a2))
        || alnum(a1)
}

struct Segment<'a> {
    text: &'a str,
    service: Option<Service>,
}

/// Splits a line at its service labels. "993 for IMAP" labels the text before it.
fn segments(line: &str) -> Vec<Segment<'_>> {
    let labels: Vec<(usize, usize, Service)> = LABEL
        .find_iter(line)
        .filter(|m| !part_of_host(line, m.start(), m.end()))
        .filter_map(|m| label_service(m.as_str()).map(|s| (m.start(), m.end(), s)))
        .collect();
    if labels.is_empty() {
        return vec![Segment {
            text: line,
            service: None,
        }];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<Service> = None;
    for (i, &(lstart, lend, service)) in labels.iter().enumerate() {
        let before = &line[start..lstart];
        let lead = line[..lstart].trim_end().to_ascii_lowercase();
        let backward = (lead.ends_with(" for") || lead.ends_with('(') || lead.ends_with(" as"))
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

fn service_of_port(port: u16) -> Option<Service> {
    match port {
        993 | 143 | 1143 => Some(Service::Imap),
        465 | 587 | 25 | 2525 | 1025 => Some(Service::Smtp),
        _ => None,
    }
}

fn service_of_host(host: &str) -> Option<Service> {
    let first = host.split('.').next().unwrap_or("");
    match first {
        "imap" | "imaps" | "imap-mail" | "imappro" | "imap4" | "export" => Some(Service::Imap),
        "smtp" | "smtps" | "smtpout" | "smtp-mail" | "smtppro" | "relay" | "submission" => {
            Some(Service::Smtp)
        }
        _ => None,
    }
}

struct HostToken {
    name: String,
    port: Option<u16>,
    suspicious: bool,
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
    "png", "jpg", "jpeg", "gif", "webp", "bmp", "pdf", "txt", "doc", "docx", "xls", "xlsx", "csv",
    "zip", "html", "htm", "php", "exe", "msg", "eml", "log", "heic", "mov", "mp4", "js", "json",
    "toml", "md",
];
const NOT_A_SERVER: &[&str] = &[
    "hubspot.com",
    "hubspot.net",
    "discord.com",
    "discord.gg",
    "hubspotemail.net",
];

fn hosts(text: &str) -> Vec<HostToken> {
    let mut out = Vec::new();
    for caps in HOST.captures_iter(text) {
        let Some(m) = caps.name("host") else { continue };
        let raw = m.as_str();
        let prev = text[..m.start()].chars().next_back();
        // Part of an email address or of a URL path: not a server.
        if matches!(prev, Some('@') | Some('/') | Some('.')) {
            continue;
        }
        let after = &text[m.end()..];
        if after.starts_with('@')
            || after.starts_with('/') && !after.starts_with("//") && raw.contains("hubspot")
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
        if NOT_A_SERVER
            .iter()
            .any(|d| lower == *d || lower.ends_with(&format!(".{d}")))
        {
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
        if name.contains(':') && name.parse::<std::net::Ipv6Addr>().is_err() {
            continue;
        }
        let port = caps
            .name("port")
            .and_then(|p| p.as_str().parse::<u16>().ok())
            .filter(|p| *p > 0);
        out.push(HostToken {
            suspicious: !name.is_ascii(),
            name,
            port,
        });
    }
    out
}

/// "port 993", "port: 993", "ports 993 and 587", "(993)", or a bare well-known mail port.
static PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<kw>\bports?\b\s*(?:number\s*)?(?:is|=|:|\#|-)?\s*)?(?P<open>\()?\b(?P<port>\d{1,5})\b").expect("static regex")
});

const WELL_KNOWN_PORTS: &[u16] = &[25, 110, 143, 465, 587, 993, 995, 1025, 1143, 2525];

fn ports(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let mut after_keyword = false;
    for caps in PORT.captures_iter(text) {
        let Some(m) = caps.name("port") else { continue };
        // Digits inside a host name, an IP address or a longer number are not a port.
        let prev = text[..m.start()].chars().next_back();
        let next = text[m.end()..].chars().next();
        if matches!(prev, Some('.') | Some(':') | Some('-') | Some('/'))
            || matches!(next, Some('.') | Some('-') | Some('/'))
                && text[m.end()..]
                    .chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_digit())
        {
            continue;
        }
        let Ok(port) = m.as_str().parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        // "ports 993 and 587": the keyword carries over to the numbers that follow it.
        after_keyword |= caps.name("kw").is_some();
        if after_keyword || caps.name("open").is_some() || WELL_KNOWN_PORTS.contains(&port) {
            out.push(port);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Settings {
        let mut s = Settings::default();
        s.scan(text);
        s
    }

    fn ep(host: &str, port: u16) -> Option<Endpoint> {
        Some(Endpoint {
            host: host.into(),
            port,
        })
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
        let s = scan("secure.emailsrv.com port 993 for IMAP, secure.emailsrv.com 465 for SMTP. It timed out.");
        assert_eq!(s.imap(), ep("secure.emailsrv.com", 993));
        assert_eq!(s.smtp(), ep("secure.emailsrv.com", 465));
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
        s.scan("imap server imap.acme.com port 143");
        s.scan("sorry, the IMAP port is 993");
        assert_eq!(s.imap(), ep("imap.acme.com", 993));
    }
}
