//! Credentials posted in public. Finds their kind and position so that adapters can delete the
//! message and redact text; the value itself is never copied into any output.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::report::SecretKind;
use super::text::Triggers;

/// A label followed by a value: `password: x`, `my password is x`, `pwd=x`, `pass x`.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        (?:
            # Long labels need a separator: "password expires soon" is prose.
            \b(?:app[\s-]*specific[\s-]*password|app[\s-]*password|password|passwort|passwd|passcode
               |mot\s+de\s+passe|contrase(?:ñ|n)a|senha)
            # "the password I'm using is x", "password we use: x"
            (?:\s+(?:i'?m|i\s+am|i\s+was|we'?re|we\s+are)\s+using|\s+(?:i|we)\s+(?:use|used|tried|entered|typed))?
            # A markdown table cell boundary counts: "| Password | x |".
            \s*(?:is\b|was\b|=>|->|[=:\-–|])
          |
            # Short labels may stand alone: "user bob pass Summer2024".
            \b(?:pass|pwd|pw)\b\s*(?:is\b|was\b|[=:\-])?
        )
        \s*["'`“‘]?(?P<value>[^\s"'`”’]{4,128})"#,
    )
    .expect("static regex")
});

static APP_PASSWORD_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)app(lication)?[\s-]*(specific[\s-]*)?password|2fa|two[- ]factor|2-step")
        .expect("static regex")
});

/// Words that follow "password" in ordinary sentences and are not a password.
const NOT_A_VALUE: &[&str] = &[
    "is",
    "was",
    "are",
    "and",
    "the",
    "for",
    "with",
    "that",
    "this",
    "then",
    "than",
    "when",
    "which",
    "field",
    "fields",
    "correct",
    "incorrect",
    "wrong",
    "right",
    "fine",
    "valid",
    "invalid",
    "ok",
    "okay",
    "okey",
    "good",
    "manually",
    "manual",
    "again",
    "twice",
    "already",
    "also",
    "still",
    "just",
    "only",
    "not",
    "isn't",
    "wasn't",
    "definitely",
    "100%",
    "working",
    "works",
    "work",
    "changed",
    "reset",
    "updated",
    "same",
    "there",
    "here",
    "hidden",
    "redacted",
    "removed",
    "omitted",
    "censored",
    "blank",
    "empty",
    "missing",
    "required",
    "needed",
    "expired",
    "entered",
    "typed",
    "verified",
    "confirmed",
    "checked",
    "accepted",
    "rejected",
    "error",
    "errors",
    "authentication",
    "login",
    "(hidden)",
    "[hidden]",
    "[redacted]",
    "(redacted)",
    "<redacted>",
    "<password>",
    "[password]",
    "your_password",
    "yourpassword",
    "set",
    "saved",
    "stored",
    "used",
    "using",
    "user",
    "username",
    "email",
    "both",
    "from",
    "into",
    "into",
    "through",
    "because",
    "but",
    "since",
    "should",
    "would",
    "could",
    "will",
    "must",
    "might",
    "have",
    "has",
    "had",
    "been",
    "being",
    "does",
    "did",
    "doesn't",
    "didn't",
    "do",
    "over",
    "after",
    "before",
    "without",
    "multiple",
    "several",
    "many",
    "few",
    "some",
    "again.",
    "correct.",
    "correct,",
    "manager",
    "protected",
    "policy",
    "requirements",
    "screen",
    "prompt",
    "box",
    "option",
    "options",
    "setting",
    "settings",
    "page",
    "reset.",
    "twice.",
    "change",
    "update",
    "generated",
    "created",
    "generator",
    "specific",
    "instead",
    "anymore",
    "before.",
    "though",
    "through.",
    "(app",
    "app",
    "on",
    "in",
    "of",
    "to",
    "it",
    "my",
    "our",
    "their",
    "his",
    "her",
    "new",
    "old",
    "right.",
    "again,",
    "etc",
    "etc.",
    "too",
    "well",
    "either",
    "neither",
    "yes",
    "no",
];

/// Common four-letter words: text like "what does this mean" is prose, not an app password.
const COMMON_WORDS: &[&str] = &[
    "what", "does", "this", "that", "have", "with", "from", "they", "will", "been", "when", "your",
    "more", "some", "then", "them", "were", "said", "each", "like", "into", "time", "just", "know",
    "take", "than", "only", "come", "over", "also", "back", "work", "used", "good", "well", "even",
    "want", "here", "most", "need", "help", "mail", "sent", "send", "port", "same", "tried",
    "make", "very", "much", "both", "must", "done", "data", "user", "code", "fail", "fine", "sure",
    "able", "once", "many", "still", "mean", "keep", "didn", "dont", "cant", "wont", "isnt",
    "these", "left", "into", "open", "call", "case", "days", "hour", "week", "past", "last",
    "next", "long", "made", "name", "page", "show", "shows", "seem", "seen", "told", "asks",
    "says", "same", "where", "there", "test", "tell", "read", "went", "gets", "gave", "give",
    "feel", "hope", "please", "thank", "hubs",
];

/// Words in every label [`LABELLED`] knows; lines without one hold no labelled secret. With
/// Unicode case folding an `s` may be written as a long s (`ſ`, "paſſword"), so a line with
/// one is looked at too. ("pwd" needs no word of its own: it holds "pw".)
static LABEL_TRIGGERS: LazyLock<Triggers> =
    LazyLock::new(|| Triggers::new(&["pass", "pw", "senha", "contrase", "\u{17F}"]));

/// Where a credential appears in `text`, and of what kind. Ranges cover the value only.
pub fn find(text: &str) -> Vec<(SecretKind, Range<usize>)> {
    find_in(text, &super::text::lower(text))
}

/// [`find`], with `lower` = [`super::text::lower`]`(text)` made by the caller.
pub fn find_in(text: &str, lower: &[u8]) -> Vec<(SecretKind, Range<usize>)> {
    let mut found: Vec<(SecretKind, Range<usize>)> = Vec::new();
    let groups = four_groups(text);
    // The context search reads the whole text: only worth it when there is a candidate.
    let app_context = !groups.is_empty() && APP_PASSWORD_CONTEXT.is_match(text);
    for (value, hyphenated) in groups {
        let candidate = &text[value.clone()];
        let common = candidate
            .split([' ', '-'])
            .filter(|w| COMMON_WORDS.contains(w))
            .count();
        let line_alone = line_of(text, value.start).trim().len() <= candidate.len() + 24;
        if common < 2 && (app_context || hyphenated || line_alone) {
            found.push((SecretKind::AppPassword, value));
        }
    }
    // A value may follow its label on the next line ("password:\nhunter2").
    for (offset, window) in super::text::windows(text, lower, &LABEL_TRIGGERS, 1) {
        for caps in LABELLED.captures_iter(window) {
            let Some(value) = caps.name("value") else {
                continue;
            };
            let v = value
                .as_str()
                .trim_end_matches(['.', ',', ')', '!', '?', ';']);
            if v.chars().count() < 4 || !looks_like_a_value(v) {
                continue;
            }
            let range = offset + value.start()..offset + value.start() + v.len();
            // "app password: abcd efgh ijkl mnop" is already an app password; the first group
            // alone is not a second secret.
            if found
                .iter()
                .any(|(_, r)| r.start < range.end && range.start < r.end)
            {
                continue;
            }
            found.push((SecretKind::Password, range));
        }
    }
    found.sort_by_key(|(_, r)| r.start);
    found
}

/// Sixteen lower-case letters in four groups of four (`abcd efgh ijkl mnop`,
/// `abcd-efgh-ijkl-mnop`), as whole words. A hand-written scan: it runs over every message, and
/// is many times faster than the equivalent regex. Returns each value and whether its first
/// separator is a hyphen (Apple's format).
fn four_groups(text: &str) -> Vec<(Range<usize>, bool)> {
    const LEN: usize = 19;
    let b = text.as_bytes();
    let lower = |i: usize| b[i].is_ascii_lowercase();
    let sep = |i: usize| b[i] == b' ' || b[i] == b'-';
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = Vec::new();
    // A value's first separator sits four bytes in: only those starts are worth a look.
    let mut next_free = 0;
    for first_sep in memchr::memchr2_iter(b' ', b'-', b) {
        let Some(i) = first_sep.checked_sub(4) else {
            continue;
        };
        if i < next_free || i + LEN > b.len() {
            continue;
        }
        let shape =
            sep(i + 9) && sep(i + 14) && (0..4).all(|g| (0..4).all(|k| lower(i + g * 5 + k)));
        if shape && text.is_char_boundary(i) && text.is_char_boundary(i + LEN) {
            let before = text[..i].chars().next_back();
            let after = text[i + LEN..].chars().next();
            if !word_char(before) && !word_char(after) {
                out.push((i..i + LEN, b[i + 4] == b'-'));
                next_free = i + LEN;
            }
        }
    }
    out
}

/// Replaces every credential value in `text` with `[redacted]`.
pub fn redact(text: &str) -> String {
    let found = find(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (_, range) in found {
        if range.start < last {
            continue;
        }
        out.push_str(&text[last..range.start]);
        out.push_str("[redacted]");
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

fn line_of(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

fn looks_like_a_value(v: &str) -> bool {
    let lower = v.to_lowercase();
    if NOT_A_VALUE.contains(&lower.as_str()) {
        return false;
    }
    // Masked values are not secrets: "********", "xxxxxx", "•••••".
    if v.chars()
        .all(|c| matches!(c, '*' | 'x' | 'X' | '•' | '.' | '#' | '-' | '_'))
    {
        return false;
    }
    // A placeholder like <your password> or a field name, not a value.
    if v.starts_with('<') || v.starts_with('[') || v.starts_with('{') {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SecretKind> {
        find(text).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn labelled_passwords_are_found() {
        for text in [
            "password: hunter2!",
            "my password is Tr0ub4dor&3",
            "pwd=s3cretvalue",
            "user bob@acme.com pass Summer2024",
            "Password - qwerty123",
            "| Password | Ember#2291 |",
            "the password I'm using is Lemon!Tree5 and it works",
        ] {
            assert_eq!(kinds(text), [SecretKind::Password], "{text}");
            assert!(!redact(text).contains("hunter2") || !text.contains("hunter2"));
        }
    }

    /// Found wherever the regex alone would find them: after a label on a following line, and
    /// in a label spelt with a long s.
    #[test]
    fn labels_on_following_lines_and_long_s() {
        for text in [
            "password stuff\npassword:\nhunter2xyz",
            "paſſword: hunter2xyz",
            "contraſeña: hunter2xyz",
        ] {
            assert_eq!(kinds(text), [SecretKind::Password], "{text}");
            assert!(!redact(text).contains("hunter2xyz"), "{text}");
        }
    }

    #[test]
    fn ordinary_sentences_are_not_passwords() {
        for text in [
            "my password is correct",
            "I typed the password manually",
            "password: ********",
            "the password field is empty",
            "what does this mean",
            "I use an app password for gmail",
        ] {
            assert!(find(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn app_passwords_in_four_groups() {
        assert_eq!(
            kinds("here is my app password abcd efgh ijkl mnop"),
            [SecretKind::AppPassword]
        );
        assert_eq!(kinds("qwer-tyui-opas-dfgh"), [SecretKind::AppPassword]);
        assert!(find("what does this mean for mail").is_empty());
    }

    /// The hand-written scan finds what the plain regex finds.
    #[test]
    fn four_group_scan_agrees_with_the_regex() {
        let oracle = Regex::new(r"\b[a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}\b").unwrap();
        let samples = [
            "abcd efgh ijkl mnop",
            "xabcd efgh ijkl mnop",
            "abcd efgh ijkl mnopq",
            "“abcd-efgh-ijkl-mnop”",
            "été abcd efgh ijkl mnop é",
            "abcd efgh ijkl mnop abcd efgh ijkl mnop",
            "abcd  efgh ijkl mnop",
            "_abcd efgh ijkl mnop",
            "ab1d efgh ijkl mnop",
            "abcd-efgh-ijkl-mnop-qrst-uvwx-yzab-cdef",
            "abcd efgh ijkl mnop-abcd efgh ijkl mnop",
            "- abcd efgh ijkl mnop",
            "abc efgh ijkl mnop qrst",
        ];
        for text in samples {
            let ours: Vec<&str> = four_groups(text)
                .into_iter()
                .map(|(r, _)| &text[r])
                .collect();
            let theirs: Vec<&str> = oracle.find_iter(text).map(|m| m.as_str()).collect();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    proptest::proptest! {
        /// The scan agrees with the regex on text made of its own pieces.
        #[test]
        fn four_group_scan_agrees_with_the_regex_on_any_text(
            text in "([a-c]{4}|[ -]|[a-cA_1é]|abcd efgh ijkl mnop){0,30}"
        ) {
            let oracle =
                Regex::new(r"\b[a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}[ \-][a-z]{4}\b").unwrap();
            let ours: Vec<&str> = four_groups(&text).into_iter().map(|(r, _)| &text[r]).collect();
            let theirs: Vec<&str> = oracle.find_iter(&text).map(|m| m.as_str()).collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn redaction_removes_the_value() {
        let text =
            "Login: me@acme.com, password: Hunter2Hunter2 and app password wxyz abcd qrst uvwx";
        let out = redact(text);
        assert!(!out.contains("Hunter2Hunter2"));
        assert!(!out.contains("wxyz abcd qrst uvwx"));
        assert!(out.contains("me@acme.com"));
    }
}
