//! Values after a label (`password: x`, `pwd=x`, `Passwort: x`), a quoted password near a
//! password word, command-line flags, URL userinfo and OAuth tokens: the words and patterns.

use crate::core::words::SecretWords;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::app::{four_groups_at, masked_groups};
use super::regex;
use super::values::{
    is_a_value, is_identifier_argument, password_shaped, raw_ends_with_colon, strong, trim_value,
    value_of,
};
use crate::core::report::SecretKind;

/// Password labels that need a separator (`password expires soon` is prose), in English,
/// German, French, Spanish, Portuguese and Dutch. An optional "app" or "app-specific" before.
const LONG_LABELS: &str = r"(?:app[\s_-]*(?:specific[\s_-]*)?)?(?:password|passwort|passwd|passcode|passphrase|kennwort|wachtwoord|mot[\s_-]+de[\s_-]+passe|contrase(?:ñ|n)a|senha)s?";

/// Short labels that may stand alone: `user bob pass Summer2024`, `pw=x`, `SMTP_PASS=x`.
const SHORT_LABELS: &str = r"pass|pwd|pw";

/// What may stand between a long label and its separator: "password for bob@x.com:",
/// "contraseña de aplicación:", "the password I'm using is x".
const LABEL_MIDDLE: &str = r"(?:\s+(?:de|da|do|del|für|fuer|pour|for|of|to)\s+[^\s:=]{1,40})?(?:\s+(?:i'?m|i\s+am|i\s+was|we'?re|we\s+are)\s+using|\s+(?:i|we)\s+(?:use|used|tried|entered|typed))?";

/// Separators after a label: prose verbs in five languages, assignment, a table cell, an XML
/// tag's end.
const SEPARATORS: &str =
    r"(?:is\b|was\b|ist\b|war\b|lautet\b|es\b|era\b|est\b|était\b|é\b|=>|->|:=|[=:\-–|>])";

/// A value: quoted (may hold spaces; the quotes are not part of it) or a run of non-space,
/// perhaps after a quote that is never closed (a line cut short).
const VALUE: &str = r#"(?:"(?P<dq>[^"\n]{1,128})"|'(?P<sq>[^'\n]{1,128})'|“(?P<cq>[^”\n]{1,128})”|‘(?P<rq>[^’\n]{1,128})’|`(?P<bq>[^`\n]{1,128})`|["'`“‘]?(?P<value>[^\s"'`“”‘’]{1,128}))"#;

/// A quoted value only (for forms that are prose otherwise).
const QUOTED: &str = r#"(?:"(?P<dq>[^"\n]{1,128})"|'(?P<sq>[^'\n]{1,128})'|“(?P<cq>[^”\n]{1,128})”|‘(?P<rq>[^’\n]{1,128})’|`(?P<bq>[^`\n]{1,128})`)"#;

/// A label followed by a value.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}])(?:(?P<long>{LONG_LABELS})["'\]]?{LABEL_MIDDLE}\s*(?P<sep>{SEPARATORS})|(?P<short>{SHORT_LABELS})\b["'\]]?\s*(?P<ssep>is\b|was\b|=>|:=|[=:\-])?)\s*{VALUE}"#
    ))
});

/// "the current one is 'x'": a quoted value only.
pub(super) static CURRENT_ONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:current|new|old|actual|real|latest|correct|right)\s+(?:one|password|pw|pass)\s+(?:is|was)\s*:?\s*{QUOTED}"
    ))
});

/// `--password x`, `--smtp-pass=x`, `-p x`.
pub(super) static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)(?:^|\s)(?P<flag>--?(?:[a-z0-9]+-)*(?:password|passwd|pass|pwd|pw)[12]?|-p)(?:[ \t]*=[ \t]*|[ \t]+){VALUE}"
    ))
});

/// `-u user:x`, `--user user:x` (curl).
pub(super) static USER_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?:^|\s)(?:-u|--user)[ \t]+["']?[^\s:"']+:(?P<value>[^\s"']{1,128})"#)
});

/// `scheme://user:x@host`: the password runs to the last `@` before the host.
pub(super) static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/?#]*:(?P<value>[^\s/?#]{1,128})@[^\s@/?#:]")
});

/// OAuth and bearer tokens.
pub(super) static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:\bbearer[ \t]+(?P<bearer>[a-z0-9\-._~+/]{12,}=*)|(?:^|[^\p{L}\p{N}])(?:(?:access|refresh|id|oauth|auth|session)[_\- ]?token|client[_\- ]?secret|(?:token|jwt|app|api|session|secret)[_\-]?(?:secret|key))["']?\s*(?:=>|:=|[=:])\s*["']?(?P<kv>[a-z0-9\-._~+/]{8,}=*))"#,
    )
});

/// Tokens recognisable by their shape alone: Google's `ya29.` access and `1//0` refresh
/// tokens, JWTs.
pub(super) static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:\bya29\.[A-Za-z0-9_\-]{20,}|(?:^|[^A-Za-z0-9/])(?P<refresh>1//0[A-Za-z0-9_\-]{20,})|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
    )
});

/// Values after labels.
pub(super) fn labelled(
    words: &SecretWords,
    text: &str,
    offset: usize,
    window: &str,
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
    for caps in LABELLED.captures_iter(window) {
        let Some((value, quoted)) = value_of(&caps) else {
            continue;
        };
        let mut range = offset + value.start()..offset + value.end();
        if !quoted {
            let v = trim_value(value.as_str());
            range.end = range.start + v.len();
        }
        let v = &text[range.clone()];
        let short = caps.name("short").is_some();
        let sep = caps.name("sep").or_else(|| caps.name("ssep"));
        let separated = sep.is_some() || quoted;
        // A value on the next line: "password:\nhunter2" is one, but "DB_PASSWORD=\n" is an
        // empty setting and the next line another ("REDIS_HOST=127.0.0.1").
        let gap_end = value.start().saturating_sub(usize::from(quoted));
        let gap_start = sep.map_or(gap_end, |m| m.end()).min(gap_end);
        if window[gap_start..gap_end].contains('\n')
            && (v.contains('=')
                || v.ends_with(':')
                || raw_ends_with_colon(&window[value.start()..]))
        {
            continue;
        }
        // The label's own line already holds its value, masked ("Password":"*******" or
        // "password: ****"): what the next line says is something else.
        if let Some(nl) = window[gap_start..gap_end].find('\n') {
            let rest = &window[gap_start..gap_start + nl];
            if rest
                .chars()
                .any(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '`'))
            {
                continue;
            }
        }
        // `password=pword,` in a call: a variable, not a value.
        if !quoted && is_identifier_argument(value.as_str()) {
            continue;
        }
        // "app password: abcd efgh ijkl mnop": the whole four groups, whatever the words.
        if let Some(end) = four_groups_at(text, range.start) {
            if !masked_groups(&text[range.start..end]) {
                found.push((SecretKind::AppPassword, range.start..end));
            }
            continue;
        }
        let min = if quoted { 1 } else { 4 };
        if v.chars().count() < min || !is_a_value(words, v) {
            continue;
        }
        // "the password is transmitted insecurely": after a prose verb, a lower-case participle
        // or adverb is the sentence going on, not a value.
        if !quoted
            && sep.is_some_and(|s| s.as_str().chars().all(char::is_alphabetic))
            && prose_word(v)
        {
            continue;
        }
        // "pass the test": a short label without a separator needs a password-shaped value.
        if short && !separated && !strong(v) {
            continue;
        }
        let app = caps
            .name("long")
            .is_some_and(|l| l.as_str().to_ascii_lowercase().starts_with("app"));
        let kind = if app && v.len() == 16 && v.bytes().all(|b| b.is_ascii_lowercase()) {
            SecretKind::AppPassword
        } else {
            SecretKind::Password
        };
        found.push((kind, range));
    }
}

/// A lower-case English participle, adverb or adjective ("transmitted", "expiring",
/// "correctly", "acceptable"): the words a sentence about a password goes on with.
fn prose_word(v: &str) -> bool {
    v.len() >= 5
        && v.bytes().all(|b| b.is_ascii_lowercase())
        && ["ed", "ing", "ly", "able", "ible"]
            .iter()
            .any(|end| v.ends_with(end))
}

/// A quoted, password-shaped token on a line with a password word, or the line before it
/// (`I typed "Tr0ub4dor&3" ten times!! wrong password`).
pub(super) fn quoted_near_label(
    words: &SecretWords,
    text: &str,
    offset: usize,
    window: &str,
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
    let start = text[..offset.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1)
        .min(offset);
    let end = offset + window.len();
    let region = &text[start..end];
    for (open, close) in [
        ("\"", "\""),
        ("'", "'"),
        ("`", "`"),
        ("“", "”"),
        ("‘", "’"),
        ("«", "»"),
    ] {
        let mut from = 0;
        while let Some(i) = region[from..].find(open).map(|i| from + i) {
            from = i + open.len();
            let before = region[..i].chars().next_back();
            if before.is_some_and(char::is_alphanumeric) {
                continue;
            }
            // `with message 'AuthError[102]'`, `error: "InvalidGrant1"`: what an exception or
            // an error says, not a value typed in.
            let lead = region[..i].trim_end_matches([' ', '\t', ':', '=']);
            if ["message", "error", "exception", "msg"].iter().any(|w| {
                lead.len() >= w.len()
                    && lead.is_char_boundary(lead.len() - w.len())
                    && lead[lead.len() - w.len()..].eq_ignore_ascii_case(w)
            }) {
                continue;
            }
            let inner_start = i + open.len();
            let Some(len) = region[inner_start..].find(close) else {
                break;
            };
            let inner_end = inner_start + len;
            let after = region[inner_end + close.len()..].chars().next();
            let inner = &region[inner_start..inner_end];
            if after.is_some_and(char::is_alphanumeric)
                || inner.len() < 6
                || inner.len() > 64
                || inner.bytes().any(|b| b.is_ascii_whitespace())
            {
                continue;
            }
            from = inner_end + close.len();
            if password_shaped(inner) && is_a_value(words, inner) {
                found.push((SecretKind::Password, start + inner_start..start + inner_end));
            }
        }
    }
}

/// Column names of a password in a pasted table's header row.
const PASSWORD_COLUMNS: &[&str] = &[
    "password",
    "pass",
    "pwd",
    "passwd",
    "app password",
    "app_password",
    "passwort",
    "kennwort",
    "wachtwoord",
    "contraseña",
    "senha",
    "mot de passe",
];

/// A table pasted from a spreadsheet or a CSV file: a header row naming a password column
/// (`email,imap_server,port,password`), and the rows under it with as many cells.
pub(super) fn csv_column(
    words: &SecretWords,
    offset: usize,
    window: &str,
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
    let mut lines = Vec::new();
    let mut at = 0;
    for line in window.split_inclusive('\n') {
        lines.push((at, line.trim_end_matches(['\n', '\r'])));
        at += line.len();
    }
    for (i, &(_, header)) in lines.iter().enumerate() {
        let Some(sep) = [',', ';', '\t']
            .into_iter()
            .find(|&c| header.matches(c).count() >= 2)
        else {
            continue;
        };
        let names: Vec<String> = header
            .split(sep)
            .map(|c| c.trim().trim_matches(['"', '\'']).to_lowercase())
            .collect();
        let Some(column) = names
            .iter()
            .position(|n| PASSWORD_COLUMNS.contains(&n.as_str()))
        else {
            continue;
        };
        for &(row_at, row) in &lines[i + 1..] {
            if row.split(sep).count() != names.len() {
                break;
            }
            let mut cell_at = 0;
            for (j, cell) in row.split(sep).enumerate() {
                if j == column {
                    let value = cell.trim().trim_matches(['"', '\'']);
                    if !value.is_empty() && is_a_value(words, value) {
                        let start = offset + row_at + cell_at + cell.find(value).unwrap_or(0);
                        found.push((SecretKind::Password, start..start + value.len()));
                    }
                }
                cell_at += cell.len() + sep.len_utf8();
            }
        }
    }
}
