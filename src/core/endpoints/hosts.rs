//! Host names and IP literals in text: under a real public suffix, never a file, a class
//! path, a version, a web URL or a client address.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::*;

pub(super) struct HostToken {
    pub(super) name: String,
    pub(super) port: Option<u16>,
    pub(super) suspicious: bool,
    /// Byte offset of the host in the scanned text.
    pub(super) start: usize,
    /// The service a URL scheme names: `imaps://`, `smtp://`.
    pub(super) scheme: Option<Label>,
    /// An IP literal with nothing around it saying it is a server: it may be a version number.
    pub(super) weak: bool,
}

/// Host names (at least one dot, a letter TLD), IPv4 and bracketed IPv6 literals, each with the
/// port written right after it (`:993`), if any.
pub(super) static HOST: LazyLock<Regex> = LazyLock::new(|| {
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

/// File names and web pages that look like host names. Pure syntax (file extensions), so it
/// stays beside the parser rather than in `rules/`.
pub(super) const NOT_A_TLD: &[&str] = &[
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
/// The entries of [`NOT_A_TLD`] that are also countries' top-level domains: Poland's `.pl`,
/// Serbia's `.rs`, Moldova's `.md`, … A file is named `Mailer.pl` or `deploy.sh`;
/// `imap.wisla-logistics.pl` and `mail.firma.rs` are servers.
const COUNTRY_TLDS_LIKE_EXTENSIONS: &[&str] = &["pl", "rs", "md", "sh", "so", "ps", "py"];

/// A name under one of [`COUNTRY_TLDS_LIKE_EXTENSIONS`] that is a host all the same: three
/// labels or more (`imap.wp.pl`), where a file name has two (`Mailer.pl`) — the pair that
/// stays ambiguous (`wp.pl`, a domain or a script) is still taken as a file.
fn country_host_despite_extension(lower: &str, tld: &str) -> bool {
    COUNTRY_TLDS_LIKE_EXTENSIONS.contains(&tld)
        && lower.split('.').filter(|label| !label.is_empty()).count() >= 3
}

/// [`HOST`] without its port group: the host names alone. The port is read by [`port_suffix`];
/// captures cost several times a plain search.
pub(super) static HOST_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = HOST.as_str();
    let end = pattern
        .rfind("(?::(?P<port>")
        .expect("HOST ends with its port group");
    Regex::new(&pattern[..end]).expect("static regex")
});

/// The `(?::(?P<port>\d{1,5})\b)?` tail of [`HOST`], matched at `at` (the end of a host): the
/// range of the port digits, if the group matches.
pub(super) fn port_suffix(text: &str, at: usize) -> Option<Range<usize>> {
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
pub(super) fn host_matches(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
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
        // The regex reads one character before the word (white space) and the word: on ASCII,
        // a hand-written match (`host_names`) finds the same.
        let ascii = hay.as_bytes()[start..].is_ascii();
        while let Some(m) = if ascii {
            super::host_names::ascii_host_name_at(hay.as_bytes(), from)
        } else {
            HOST_NAME.find_at(hay, from).map(|m| m.range())
        } {
            let port = port_suffix(hay, m.end);
            from = port.as_ref().map_or(m.end, |r| r.end);
            out.push((m, port));
        }
    }
    out
}

/// What a URL scheme right before a host says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// A mail URL (`imaps://`, `smtp://`, `ssl://`, `tls://`), with the service it names.
    Mail(Option<Label>),
    /// A web page or an address: not a server setting.
    Web,
}

/// The URL scheme right before `at` (`imaps://`, `smtp://user@`).
pub(super) fn scheme_before(text: &str, at: usize) -> Option<Scheme> {
    static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(imaps?|smtps?|submissions?|pop3s?|tls|ssl|tcp|mailto|https?)://(?:[^\s/]*@)?$",
        )
        .expect("static regex")
    });
    // A match ends the text searched, with the `/` of `://` or the `@` of a user part (which
    // may hold an address itself: `imaps://me@gmail.com@imap.gmail.com:993`): most hosts have
    // neither right before them.
    if !matches!(
        at.checked_sub(1).map(|i| text.as_bytes()[i]),
        Some(b'/' | b'@')
    ) {
        return None;
    }
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
pub(super) static VERSION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b(?:v|ver|version|versión|release|build|update|firmware|thunderbird|outlook|office|windows|ios|android|macos|php|java|python|node|chrome|firefox)\s*[:#]?\s*|[vV])$")
        .expect("static regex")
});

/// Where operating systems start handing out source ports: no mail server listens up there.
pub(super) const EPHEMERAL_PORTS_START: u16 = 32768;

/// Names of variables and objects that code puts before `.host`, `.server` or `.email`. Pure
/// syntax of the languages members paste, so it stays in code.
pub(super) const CODE_OBJECTS: &[&str] = &[
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
pub(super) fn under_private_suffix(name: &str) -> bool {
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
pub(super) static OWN_IP_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bips?\b|\bip[ -]?(?:address|adresse|adresa)\b|\bfrom\b|\brip=|\blip=|\bclient\b)[^\n.,;]{0,16}$")
        .expect("static regex")
});

/// A name under a real public suffix (the Public Suffix List), with a label of its own.
pub(super) fn under_public_suffix(name: &str) -> bool {
    let Some(suffix) = psl::suffix(name.as_bytes()) else {
        return false;
    };
    suffix.is_known() && name.len() > suffix.as_bytes().len() + 1
}

/// A server name with a suffix that doesn't exist, which the member still typed as their server:
/// `imap.secureserver.con:993`. It is kept, because the typo is the diagnosis; a class path or
/// a file name never has this shape (a mail-like first label or a port, a short lower-case
/// suffix).
pub(super) fn mistyped_server(name: &str, raw: &str, has_port: bool) -> bool {
    let first = name.split('.').next().unwrap_or("");
    let suffix = name.rsplit('.').next().unwrap_or("");
    let mail_like = matches!(
        first,
        "imap" | "imaps" | "smtp" | "smtps" | "mail" | "mx" | "pop" | "pop3" | "email" | "webmail"
    );
    // `smtp.xxx.xx`: a name masked with x's, not one typed wrong.
    let masked = name
        .split('.')
        .skip(1)
        .any(|label| label.bytes().all(|b| b == b'x'));
    (mail_like || has_port)
        && !masked
        && (2..=4).contains(&suffix.len())
        && suffix.bytes().all(|b| b.is_ascii_lowercase())
        && !raw.bytes().any(|b| b.is_ascii_uppercase())
        && name.split('.').count() >= 3
}

/// Whether `word` is one of `list`. The lengths and first bytes are compared before the
/// rest: `<[&str]>::contains` called `memcmp` for every word of the same length (two dozen
/// three-letter extensions for every `.net` or `.com`).
pub(super) fn listed(list: &[&str], word: &str) -> bool {
    let w = word.as_bytes();
    list.iter().any(|entry| {
        let e = entry.as_bytes();
        e.len() == w.len() && e.first() == w.first() && e == w
    })
}

/// What the host checks ask of a name's dot-separated labels, read in one pass: the
/// `split('.')`s they made (three or four a name) each read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Labels<'a> {
    /// `name.split('.').count()`.
    pub(super) count: usize,
    /// `name.split('.').next()`.
    pub(super) first: &'a str,
    /// `name.rsplit('.').next()`.
    pub(super) last: &'a str,
    /// Whether some label holds more than 63 characters.
    pub(super) longer_than_63: bool,
}

impl<'a> Labels<'a> {
    pub(super) fn of(name: &'a str) -> Labels<'a> {
        let b = name.as_bytes();
        let mut count = 1;
        let mut first_end = None;
        let mut last_start = 0;
        for dot in memchr::memchr_iter(b'.', b) {
            count += 1;
            first_end.get_or_insert(dot);
            last_start = dot + 1;
        }
        // A label has no more characters than bytes: only a long name needs counting.
        let longer_than_63 = b.len() > 63
            && name
                .split('.')
                .any(|label| label.len() > 63 && label.chars().count() > 63);
        Labels {
            count,
            first: &name[..first_end.unwrap_or(b.len())],
            last: &name[last_start..],
            longer_than_63,
        }
    }
}

/// The hosts in `text`; `words` are the rules' names that are never a server (`[hosts]`).
pub(super) fn hosts(text: &str, words: &HostWords) -> Vec<HostToken> {
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
        // `mismatch(handshake.cc:359)`, `error(ssl_lib.c:1234)`: a source file and line inside a
        // call's parentheses, glued to the word before.
        if prev == Some('(')
            && text[..host.start - 1]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            && port_digits.is_some()
            && raw.split('.').count() == 2
        {
            continue;
        }
        // A certificate's names (`DNS:botden.cf`, `CN=*.hostgator.com`), not a setting.
        {
            let lead = text[..host.start].trim_end_matches([' ', '`', '\'', '*', '.']);
            if lead.ends_with("DNS:") || lead.ends_with("CN=") || lead.ends_with("CN =") {
                continue;
            }
            // "the certificate is for durian-labs.com instead of mail.durian-labs.com". Only
            // the last bytes can end with a phrase: the line before them isn't copied.
            let lead = lead.as_bytes();
            if [
                "certificate is for",
                "cert is for",
                "is valid for",
                "issued for",
                "issued to",
            ]
            .iter()
            .any(|w| {
                lead.len() >= w.len()
                    && lead[lead.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes())
            }) {
                continue;
            }
        }
        let lower = raw.to_lowercase();
        // A provider's own bare domain ("log in to outlook.com") is its web site or the
        // mailbox's domain, never the server entered.
        if words.webmail_domains.contains(&lower) && port_digits.is_none() {
            continue;
        }
        let labels = Labels::of(&lower);
        if lower.len() > 253 || labels.longer_than_63 {
            continue;
        }
        let tld = labels.last;
        if listed(NOT_A_TLD, tld) && !country_host_despite_extension(&lower, tld) {
            continue;
        }
        let first_label = labels.first;
        // A web site, a variable's field (`args.host`, `config.smtp`), or a reply code glued to
        // the server's greeting (`250-mx.acme.com`).
        if first_label == "www"
            || labels.count == 2 && listed(CODE_OBJECTS, first_label)
            || first_label.len() > 4
                && first_label.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && first_label.as_bytes()[3] == b'-'
        {
            continue;
        }
        if words.never_a_server(&lower) {
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
            .clone()
            .and_then(|r| text[r].parse::<u16>().ok())
            .filter(|p| *p > 0);
        // A c-client mailbox string names its service after the port: `{host:993/imap/ssl}`.
        let tail = port_digits.as_ref().map_or(after, |r| &text[r.end..]);
        let flagged = if tail.starts_with("/imap") {
            Some(Label::Imap)
        } else if tail.starts_with("/pop3") {
            Some(Label::Pop)
        } else {
            None
        };
        out.push(HostToken {
            suspicious: !name.is_ascii(),
            name,
            port,
            start: host.start,
            scheme: match scheme {
                Some(Scheme::Mail(service)) => service,
                _ => flagged,
            },
            weak,
        });
    }
    out
}
