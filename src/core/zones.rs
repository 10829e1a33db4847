//! Splitting a message into zones before any field is read, the way a moderator's eye does:
//! prose, quoted text, code, log and transcript lines, stack traces, config, tables, and the
//! signature. Each extractor then weighs what it finds by the zone it is in: a host in a stack
//! frame is a class path, a number in a log line is a reply code, a phone number in a signature
//! is nobody's Hub ID.
//!
//! Zones are whole lines. Lines inside a code fence are classified by what they hold (a YAML
//! config pasted in a fence is config), and plain ones stay `code`.

use regex::Regex;
use serde::Serialize;

use super::ascii::AsciiTwin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    Prose,
    Quote,
    Code,
    Log,
    Trace,
    Config,
    Table,
    Signature,
    /// Text read from a screenshot by OCR.
    Screenshot,
}

impl ZoneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Prose => "prose",
            ZoneKind::Quote => "quote",
            ZoneKind::Code => "code",
            ZoneKind::Log => "log",
            ZoneKind::Trace => "trace",
            ZoneKind::Config => "config",
            ZoneKind::Table => "table",
            ZoneKind::Signature => "signature",
            ZoneKind::Screenshot => "screenshot",
        }
    }

    /// Whether a server name or port may come from this zone at all.
    pub fn gives_settings(self) -> bool {
        !matches!(self, ZoneKind::Trace | ZoneKind::Signature)
    }
}

/// One line of a message and its zone. `start..end` is the line in the message, without its
/// line break; `text` is the line with any quote marker (`> `) removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub kind: ZoneKind,
    pub start: usize,
    pub text: &'a str,
}

/// The zone patterns of the rules pack (`reading.toml`, `[zones]`), each list joined into one
/// regex matched at the start of a line, with its ASCII twin ([`AsciiTwin`]): these run on
/// every line.
#[derive(Debug, Clone)]
pub struct ZonePatterns {
    /// Stack frames and the lines around them.
    pub trace: AsciiTwin,
    /// Log and protocol transcript lines.
    pub log: AsciiTwin,
    /// `key: value`, `KEY=VALUE`, `[section]` and the like (then checked by [`is_config_line`]).
    pub config: AsciiTwin,
    /// What starts a signature.
    pub signature_start: AsciiTwin,
}

/// A signature is the short tail of a message: longer tails after "Thanks," are more text.
const SIGNATURE_MAX_LINES: usize = 8;

/// `text.split_inclusive('\n')`, with the `memchr` crate's search: the standard library's
/// reads a word at a time, and this runs over every message.
pub(crate) fn split_lines_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = ends.next().map_or(text.len(), |i| i + 1);
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

/// Splits `text` into lines, each with its zone.
pub fn lines<'a>(text: &'a str, patterns: &ZonePatterns) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut start = 0;
    for raw in split_lines_inclusive(text) {
        let line_start = start;
        start += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        // "```smtp://user@host:587/```": a code span opened and closed on one line, not a fence.
        if !in_fence {
            if let Some(inner) = trimmed
                .strip_prefix("```")
                .and_then(|rest| rest.find("```").map(|end| &rest[..end]))
                .filter(|inner| !inner.trim().is_empty())
            {
                let inner_start = line_start + (line.len() - trimmed.len()) + 3;
                out.push(Line {
                    kind: classify(inner, true, patterns),
                    start: inner_start,
                    text: inner,
                });
                continue;
            }
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            // The fence line itself ("```yaml") holds nothing to read.
            out.push(Line {
                kind: ZoneKind::Code,
                start: line_start,
                text: "",
            });
            continue;
        }
        let (quoted, body, body_start) = unquote(line, line_start);
        let kind = if quoted {
            ZoneKind::Quote
        } else {
            classify(body, in_fence, patterns)
        };
        out.push(Line {
            kind,
            start: body_start,
            text: body,
        });
    }
    mark_signature(&mut out, &patterns.signature_start);
    out
}

/// `> text` (any depth) is quoted; returns the text without the markers.
fn unquote(line: &str, line_start: usize) -> (bool, &str, usize) {
    let mut rest = line;
    let mut quoted = false;
    loop {
        let t = rest.trim_start();
        match t.strip_prefix('>') {
            // `>>` and `> 250 OK` in a transcript are arrows, not quotes: a quote marker is
            // followed by a space or nothing.
            Some(after) if after.is_empty() || after.starts_with(' ') || after.starts_with('>') => {
                quoted = true;
                rest = after.strip_prefix(' ').unwrap_or(after);
            }
            _ => break,
        }
        if !quoted {
            break;
        }
    }
    let offset = line.len() - rest.len();
    (quoted, rest, line_start + offset)
}

fn classify(line: &str, in_fence: bool, patterns: &ZonePatterns) -> ZoneKind {
    let t = line.trim();
    if t.is_empty() {
        return if in_fence {
            ZoneKind::Code
        } else {
            ZoneKind::Prose
        };
    }
    if patterns.trace.for_text(line).is_match(line) {
        return ZoneKind::Trace;
    }
    if is_table_line(t) {
        return ZoneKind::Table;
    }
    if patterns.log.for_text(line).is_match(line) {
        return ZoneKind::Log;
    }
    if is_config_line(t, patterns.config.for_text(t)) {
        return ZoneKind::Config;
    }
    if in_fence {
        ZoneKind::Code
    } else {
        ZoneKind::Prose
    }
}

/// A markdown table row, or a row of tab-separated cells pasted from a PDF or a spreadsheet.
fn is_table_line(t: &str) -> bool {
    (t.starts_with('|') && t.len() > 1 && t[1..].contains('|'))
        // Most lines hold no tab, and then they are one cell.
        || memchr::memchr(b'\t', t.as_bytes()).is_some()
            && t.split('\t').filter(|c| !c.trim().is_empty()).count() >= 2
}

/// A config line: a short key without spaces, then `=` or `:` and a value. Prose such as
/// "Note: it fails" also has this shape; what matters is that a key names one setting.
fn is_config_line(t: &str, config: &Regex) -> bool {
    if !config.is_match(t) {
        return false;
    }
    // "Error: ..." and "Note: ..." read as prose: config keys are lower_snake, UPPER_SNAKE,
    // camelCase, dotted, or quoted, or the value is a bare token.
    let key_end = t.find([':', '=']).unwrap_or(t.len());
    let key = t[..key_end].trim().trim_matches(['"', '\'']);
    let key = key
        .trim_start_matches("export ")
        .trim_start_matches("set ")
        .trim_start_matches("- ");
    let value = t[key_end..].trim_start_matches([':', '=']).trim();
    let structured_key = key.contains(['_', '.', '-'])
        || key.chars().any(|c| c.is_ascii_uppercase())
            && key.chars().any(|c| c.is_ascii_lowercase())
            && !key.starts_with(|c: char| c.is_ascii_uppercase())
        || key.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        || t.starts_with('"')
        || t.starts_with('\'');
    let token_value = !value.contains(' ') || value.starts_with(['"', '\'', '[', '{']);
    structured_key || token_value || t.starts_with("--") || t.starts_with('[') || t.len() <= 2
}

/// Marks the signature: from the last sign-off line to the end, when what follows is short and
/// holds no settings table or log.
fn mark_signature(lines: &mut [Line<'_>], signature_start: &AsciiTwin) {
    let Some(at) = lines
        .iter()
        .rposition(|l| signature_start.for_text(l.text).is_match(l.text))
    else {
        return;
    };
    let tail = &lines[at + 1..];
    let content: Vec<&Line> = tail.iter().filter(|l| !l.text.trim().is_empty()).collect();
    if content.len() > SIGNATURE_MAX_LINES
        || content
            .iter()
            .any(|l| matches!(l.kind, ZoneKind::Log | ZoneKind::Trace | ZoneKind::Table))
    {
        return;
    }
    // A sign-off with nothing after it is the end of the prose, not a signature.
    if content.is_empty() {
        return;
    }
    for line in &mut lines[at..] {
        if line.kind != ZoneKind::Quote {
            line.kind = ZoneKind::Signature;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<ZoneKind> {
        lines(text, &crate::core::rules::shipped_for_tests().reading.zones)
            .iter()
            .map(|l| l.kind)
            .collect()
    }

    #[test]
    fn stack_frames_are_traces() {
        for line in [
            "    at Socket.onTimeout (net.js:512:8)",
            "\tat javax.mail.Service.connect(Service.java:388)",
            "  File \"x.py\", line 91, in connect",
            "#0 /var/www/app/Mailer.php(118): PHPMailer->smtpConnect()",
            "    at async ImapFlow.connect (/app/node_modules/imapflow/lib/imap-flow.js:711:13)",
            "Caused by: java.net.SocketTimeoutException: Read timed out",
        ] {
            assert_eq!(kinds(line), vec![ZoneKind::Trace], "{line}");
        }
    }

    #[test]
    fn transcripts_and_timestamps_are_logs() {
        for line in [
            "a1 LOGIN bob secret",
            "S: 535 5.7.8 Username and Password not accepted",
            "2019-03-12 10:22:01 ERROR connect failed",
            "[12:00:01] connecting to imap.x.com:993",
            "* BYE Too many connections",
            "DEBUG: EHLO sent",
        ] {
            assert_eq!(kinds(line), vec![ZoneKind::Log], "{line}");
        }
    }

    #[test]
    fn config_quotes_tables_and_prose() {
        assert_eq!(kinds("SMTP__HOST=mail.x.com:465"), vec![ZoneKind::Config]);
        assert_eq!(kinds("  host: 'smtp.x.com'"), vec![ZoneKind::Config]);
        assert_eq!(kinds("\"port\": 993,"), vec![ZoneKind::Config]);
        assert_eq!(kinds("> SMTP-Server Port: 587"), vec![ZoneKind::Quote]);
        assert_eq!(kinds("| IMAP | a.com | 993 |"), vec![ZoneKind::Table]);
        assert_eq!(kinds("IMAP\tmail.x.com\t993"), vec![ZoneKind::Table]);
        assert_eq!(
            kinds("Error: we could not connect to your inbox"),
            vec![ZoneKind::Prose]
        );
        assert_eq!(kinds("it just spins and fails"), vec![ZoneKind::Prose]);
    }

    #[test]
    fn signature_is_the_short_tail() {
        let k = kinds("server mail.x.com\nThanks,\nJo Smith\n+1 555 123 4567\nwww.acme.com");
        assert_eq!(
            k,
            vec![
                ZoneKind::Prose,
                ZoneKind::Signature,
                ZoneKind::Signature,
                ZoneKind::Signature,
                ZoneKind::Signature
            ]
        );
        // "Thanks!" at the very end closes the prose.
        assert_eq!(
            kinds("it fails\nthanks!"),
            vec![ZoneKind::Prose, ZoneKind::Prose]
        );
    }

    #[test]
    fn fenced_lines_are_classified_by_content() {
        let k = kinds("```\nhost: smtp.x.com\nsome code()\n```");
        assert_eq!(
            k,
            vec![
                ZoneKind::Code,
                ZoneKind::Config,
                ZoneKind::Code,
                ZoneKind::Code
            ]
        );
    }

    proptest::proptest! {
        /// The `memchr` line split gives the standard library's lines.
        #[test]
        fn line_split_agrees_with_split_inclusive(text in "([a-z \t\r|é]|\n){0,40}") {
            let got: Vec<&str> = split_lines_inclusive(&text).collect();
            let want: Vec<&str> = text.split_inclusive('\n').collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
