//! Credentials posted in public. Finds their kind and position so that adapters can delete the
//! message and redact text; the value itself is never copied into any output.
//!
//! # What is found
//! - a value after a label, in prose or config, in five languages: `password: x`,
//!   `my password is x`, `pwd=x`, `pass x`, `Passwort: x`, `contraseña es x`,
//!   `mot de passe : x`, `senha é x`, `MAIL_PASSWORD=x`, `SMTP_PASS=x`, `"password": "x"`,
//!   `password: 'x'`, `<password>x</password>`;
//! - a quoted value after "current one is", and a quoted password-shaped token near a password
//!   word (a rant: `I typed "Tr0ub4dor&3" ten times, wrong password`);
//! - app passwords: Google's sixteen letters in four groups (with spaces or none, in any
//!   language's sentence), Apple's `xxxx-xxxx-xxxx-xxxx`, sixteen letters after "app pass";
//! - command-line flags: `--password x`, `--password=x`, `-p x`, `-u user:x`;
//! - URL userinfo: `imaps://user:x@host`;
//! - SASL: base64 `AUTH PLAIN` (decoded: it must hold `user\0pass`), the password step of
//!   `AUTH LOGIN`, `XOAUTH2`; IMAP `a1 LOGIN user "x"` lines and `.login('user', 'x')` calls;
//! - OAuth and bearer tokens: `Authorization: Bearer x`, `access_token`, `refresh_token`,
//!   `client_secret`, Google's `ya29.` and `1//0` tokens, JWTs.
//!
//! Placeholders and masked values are not secrets: `********`, `•••`, `<password>`,
//! `$PASSWORD`, `${SMTP_PASS}`, `xxx`, `your_password`, "the correct password", and ordinary
//! words of an app password's shape ("when imap sync runs", told apart by a word list).
//!
//! # Speed
//! Every message is read once per trigger word with a SIMD substring finder
//! ([`super::text::windows`]); the patterns only run on the lines around a trigger. The
//! four-group scan is hand-written and starts only at separators.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::report::SecretKind;
use super::text::Triggers;

// ---------------------------------------------------------------------------------------------
// Data: the words of each form.

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

/// Words that follow a label in ordinary sentences and are not a password, in the five
/// languages. Compared lower-cased, after trailing punctuation is cut.
const NOT_A_VALUE: &[&str] = &[
    // English
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
    "change",
    "update",
    "generated",
    "created",
    "generator",
    "specific",
    "instead",
    "anymore",
    "though",
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
    "etc",
    "too",
    "well",
    "either",
    "neither",
    "yes",
    "no",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "undefined",
    "unknown",
    "same.",
    "different",
    "incorrectly",
    "correctly",
    "supplied",
    "provided",
    "sent",
    "stuff",
    "issue",
    "problem",
    "reset",
    "recovery",
    "length",
    "strength",
    "hint",
    "hash",
    "hashed",
    "encrypted",
    "plain",
    "plaintext",
    "cleartext",
    "auth",
    "authentication.",
    "secure",
    "securely",
    "once",
    "expires",
    "expiry",
    "expiration",
    "less",
    "free",
    // German
    "ist",
    "war",
    "korrekt",
    "richtig",
    "falsch",
    "das",
    "der",
    "die",
    "mein",
    "meine",
    "gleich",
    "geändert",
    "stimmt",
    "nicht",
    "auch",
    "noch",
    "schon",
    "leer",
    "ungültig",
    "eingegeben",
    // French
    "est",
    "bon",
    "bonne",
    "mauvais",
    "faux",
    "juste",
    "le",
    "la",
    "les",
    "mon",
    "ma",
    "bien",
    "incorrecte",
    "correcte",
    "identique",
    "pas",
    "aussi",
    "encore",
    "vide",
    "changé",
    "modifié",
    // Spanish
    "es",
    "era",
    "correcta",
    "correcto",
    "incorrecta",
    "incorrecto",
    "válida",
    "valida",
    "válido",
    "el",
    "mi",
    "muy",
    "nueva",
    "nuevo",
    "igual",
    "misma",
    "mismo",
    "también",
    "ya",
    "vacía",
    "cambiada",
    "cambié",
    // Portuguese
    "é",
    "correta",
    "errada",
    "errado",
    "minha",
    "meu",
    "mesma",
    "mesmo",
    "também",
    "vazia",
    "alterada",
    "nova",
];

/// Placeholder values members paste from documentation: not secrets.
const PLACEHOLDERS: &[&str] = &[
    "password",
    "passwort",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "secret",
    "contraseña",
    "senha",
    "your_password",
    "yourpassword",
    "your-password",
    "your_pass",
    "yourpass",
    "your_app_password",
    "my_password",
    "mypassword",
    "app_password",
    "app-password",
    "app-specific",
    "app-specific-password",
    "apppassword",
    "changeme",
    "example",
    "token",
    "access_token",
    "refresh_token",
    "your_token",
    "user:pass",
    "username:password",
    "user:password",
];

/// Trigger words: a line holds a secret of some form only if it holds one of these (compared
/// ASCII-lower-cased). With Unicode case folding an `s` may be written as a long s (`ſ`,
/// "paſſword"), so a line with one is looked at too. ("pwd" needs no word of its own: it holds
/// "pw"; "mot de passe" holds "pass".)
static TRIGGERS: LazyLock<Triggers> = LazyLock::new(|| {
    Triggers::new(&[
        "pass",
        "pw",
        "senha",
        "contrase",
        "kennwort",
        "wachtwoord",
        "\u{17F}",
        "one is",
        "one was",
        "-p",
        "-u ",
        "--user",
        "://",
        "bearer",
        "token",
        "secret",
        "ya29.",
        "1//0",
        "eyj",
        "auth",
        "login",
        ".connect(",
    ])
});

/// Trigger words of a SASL exchange (base64 `Password:` is `UGFzc3dvcmQ6`).
static SASL_TRIGGERS: LazyLock<Triggers> =
    LazyLock::new(|| Triggers::new(&["auth", "334", "ugfzc3dvcmq6"]));

// ---------------------------------------------------------------------------------------------
// Patterns.

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

/// A label followed by a value.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}])(?:(?P<long>{LONG_LABELS})["'\]]?{LABEL_MIDDLE}\s*(?P<sep>{SEPARATORS})|(?P<short>{SHORT_LABELS})\b["'\]]?\s*(?P<ssep>is\b|was\b|=>|:=|[=:\-])?)\s*{VALUE}"#
    ))
});

/// "the current one is 'x'": a quoted value only.
static CURRENT_ONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:current|new|old|actual|real|latest|correct|right)\s+(?:one|password|pw|pass)\s+(?:is|was)\s*:?\s*{QUOTED}"
    ))
});

/// `--password x`, `--smtp-pass=x`, `-p x`.
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)(?:^|\s)(?P<flag>--?(?:[a-z0-9]+-)*(?:password|passwd|pass|pwd|pw)[12]?|-p)(?:[ \t]*=[ \t]*|[ \t]+){VALUE}"
    ))
});

/// `-u user:x`, `--user user:x` (curl).
static USER_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?:^|\s)(?:-u|--user)[ \t]+["']?[^\s:"']+:(?P<value>[^\s"']{1,128})"#)
});

/// `scheme://user:x@host`: the password runs to the last `@` before the host.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/?#]*:(?P<value>[^\s/?#]{1,128})@[^\s@/?#:]")
});

/// OAuth and bearer tokens.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:\bbearer[ \t]+(?P<bearer>[a-z0-9\-._~+/]{12,}=*)|(?:^|[^\p{L}\p{N}])(?:(?:access|refresh|id|oauth|auth|session)[_\- ]?token|client[_\- ]?secret)["']?\s*(?:=>|:=|[=:])\s*["']?(?P<kv>[a-z0-9\-._~+/]{8,}=*))"#,
    )
});

/// Tokens recognisable by their shape alone: Google's `ya29.` access and `1//0` refresh
/// tokens, JWTs.
static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:\bya29\.[A-Za-z0-9_\-]{20,}|(?:^|[^A-Za-z0-9/])(?P<refresh>1//0[A-Za-z0-9_\-]{20,})|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
    )
});

/// An IMAP `LOGIN` command line: `a1 LOGIN bob "x"`, `A001 login bob@x.com x`. The tag must
/// hold a digit, or the command be upper-case, so that "my login is ..." is prose.
static IMAP_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?m)(?:^|[ \t>:])(?:[A-Za-z]{0,6}[0-9][A-Za-z0-9]{0,6}[ \t]+(?i:login)|(?:[A-Za-z]{1,6}|[0-9]{1,6}|\*|\.)[ \t]+LOGIN)[ \t]+(?:"(?:[^"\\\r\n]|\\.)*"|[^\s"]+)[ \t]+(?:"(?P<dq>(?:[^"\\\r\n]|\\.){1,128})"|(?P<value>[^\s"]{1,128}))[ \t\r]*$"#,
    )
});

/// `imap.login('bob', 'x')`, `isAuthenticated('bob', 'x', ...)` in a stack trace,
/// `transport.connect("smtp.x.com", "bob", "x")`: a literal password as the second argument of
/// a login call, or the last of a three- or four-argument connect.
static CODE_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:(?:\.|->|::|\b)(?:login|log_in|signin|sign_in|auth[a-z_]*|isauthenticated)\(\s*[^,()\n]{1,128},|\.connect\((?:[^,()\n]{1,128},){2,3})\s*(?:"(?P<dq>[^"\n]{1,128})"|'(?P<sq>[^'\n]{1,128})')"#,
    )
});

/// A login command quoted in an error or a trace: `Command "login bob@x.com x" failed`,
/// `_imap_command_do(..., 'LOGIN bob carr/ot')`.
static QUOTED_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:"(?:[a-z0-9]{1,8}[ \t]+)?login[ \t]+[^\s"]{1,128}[ \t]+(?P<dq>[^\s"]{1,128})"|'(?:[a-z0-9]{1,8}[ \t]+)?login[ \t]+[^\s']{1,128}[ \t]+"?(?P<sq>[^\s'"]{1,128})"?')"#,
    )
});

/// Sixteen lower-case letters as one word: an app password without its spaces.
static SIXTEEN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[a-z]{16}\b"));

/// Words that make sixteen letters an app password, in five languages.
const APP_WORDS: &[&[u8]] = &[
    b"app pass",
    b"app-pass",
    b"apppass",
    b"app specific",
    b"app-specific",
    b"application",
    b"aplicaci",
    b"aplicativo",
    b"anwendung",
    b"app-passwort",
    b"app passwort",
    b"2fa",
    b"two-factor",
    b"two factor",
    b"2-step",
];

/// Words that make four groups of letters with a dictionary word among them an app password.
const APP_CONTEXT: &[&[u8]] = &[
    b"app",
    b"2fa",
    b"two-factor",
    b"two factor",
    b"2-step",
    b"password",
    b"passwort",
    b"contrase",
    b"mot de passe",
    b"senha",
    b"kennwort",
    b"pwd",
];

// ---------------------------------------------------------------------------------------------
// The search.

/// Where a credential appears in `text`, and of what kind. Ranges cover the value only, do
/// not overlap, and are in order.
pub fn find(text: &str) -> Vec<(SecretKind, Range<usize>)> {
    find_in(text, &super::text::lower(text))
}

/// [`find`], with `lower` = [`super::text::lower`]`(text)` made by the caller.
pub fn find_in(text: &str, lower: &[u8]) -> Vec<(SecretKind, Range<usize>)> {
    let mut found: Vec<(SecretKind, Range<usize>)> = Vec::new();
    app_passwords(text, lower, &mut found);
    // A value may follow its label on the next line ("password:\nhunter2"), and an AUTH LOGIN
    // password two lines after the command.
    for (offset, window) in super::text::windows(text, lower, &TRIGGERS, 2) {
        let wl = &lower[offset..offset + window.len()];
        scan_window(text, offset, window, wl, &mut found);
    }
    // A SASL exchange spreads further: capability line, command, "+" or "334", response.
    for (offset, window) in super::text::windows(text, lower, &SASL_TRIGGERS, 4) {
        let wl = &lower[offset..offset + window.len()];
        sasl(offset, window, wl, &mut found);
    }
    merge(found)
}

/// Every form but the four-group scan, on one window of trigger lines.
fn scan_window(
    text: &str,
    offset: usize,
    window: &str,
    wl: &[u8],
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
    let has = |word: &str| memchr::memmem::find(wl, word.as_bytes()).is_some();
    let labels = has("pass")
        || has("pw")
        || has("senha")
        || has("contrase")
        || has("kennwort")
        || has("wachtwoord")
        || window.contains('\u{17F}');
    if labels {
        labelled(text, offset, window, found);
        sixteen_letters(offset, window, wl, found);
        quoted_near_label(text, offset, window, found);
    }
    if has("one is") || has("one was") {
        for caps in CURRENT_ONE.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("-p") {
        for caps in FLAG.captures_iter(window) {
            let Some((value, quoted)) = value_of(&caps) else {
                continue;
            };
            // `--password -v`: another flag, no value.
            if value.as_str().starts_with('-') {
                continue;
            }
            // `-p` is a port as often as a password: only on a command line (another flag
            // beside it), never digits alone.
            let short = caps
                .name("flag")
                .is_some_and(|f| f.as_str().eq_ignore_ascii_case("-p"));
            if short
                && (value.as_str().bytes().all(|b| b.is_ascii_digit())
                    || !(quoted || flags_on_line(window, value.start()) >= 2))
            {
                continue;
            }
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("-u ") || has("--user") {
        for caps in USER_FLAG.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("://") {
        for caps in URL_USERINFO.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("bearer") || has("token") || has("secret") {
        for caps in TOKENS.captures_iter(window) {
            if let Some(m) = caps.name("bearer").or_else(|| caps.name("kv")) {
                if is_a_value(m.as_str()) {
                    found.push((SecretKind::Token, offset + m.start()..offset + m.end()));
                }
            }
        }
    }
    if has("ya29.") || has("1//0") || has("eyj") {
        for caps in TOKEN_SHAPES.captures_iter(window) {
            let m = caps.name("refresh").or_else(|| caps.get(0));
            if let Some(m) = m {
                found.push((SecretKind::Token, offset + m.start()..offset + m.end()));
            }
        }
    }
    if has("login") {
        for caps in IMAP_LOGIN.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("login") {
        for caps in QUOTED_LOGIN.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("login") || has("auth") || has(".connect(") {
        for caps in CODE_LOGIN.captures_iter(window) {
            push_value(found, SecretKind::Password, offset, &caps, 1);
        }
    }
}

/// Values after labels.
fn labelled(text: &str, offset: usize, window: &str, found: &mut Vec<(SecretKind, Range<usize>)>) {
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
        if v.chars().count() < min || !is_a_value(v) {
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

/// Sixteen lower-case letters in a window with a password word: an app password when the
/// window speaks of an app password, or the letters look random (few vowels).
fn sixteen_letters(
    offset: usize,
    window: &str,
    wl: &[u8],
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
    let app = APP_WORDS
        .iter()
        .any(|w| memchr::memmem::find(wl, w).is_some());
    for m in SIXTEEN.find_iter(window) {
        let vowels = m.as_str().bytes().filter(|b| b"aeiouy".contains(b)).count();
        if app || vowels <= 4 {
            found.push((
                SecretKind::AppPassword,
                offset + m.start()..offset + m.end(),
            ));
        }
    }
}

/// A quoted, password-shaped token on a line with a password word, or the line before it
/// (`I typed "Tr0ub4dor&3" ten times!! wrong password`).
fn quoted_near_label(
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
            if password_shaped(inner) && is_a_value(inner) {
                found.push((SecretKind::Password, start + inner_start..start + inner_end));
            }
        }
    }
}

/// SASL in transcripts: base64 `AUTH PLAIN` that decodes to `[authzid]\0user\0pass`, the
/// password step of `AUTH LOGIN`, `XOAUTH2` (a bearer token inside).
fn sasl(offset: usize, window: &str, wl: &[u8], found: &mut Vec<(SecretKind, Range<usize>)>) {
    // After AUTH LOGIN: how many client tokens were seen (the second is the password), and
    // whether the server just asked for the password.
    let mut login: Option<usize> = None;
    let mut asked_password = false;
    let mut line_start = 0;
    for line in window.split_inclusive('\n') {
        let ll = &wl[line_start..line_start + line.len()];
        let at = offset + line_start;
        line_start += line.len();
        let login_cmd = [&b"auth login"[..], b"authenticate login"]
            .iter()
            .find_map(|w| memchr::memmem::find(ll, w).map(|i| i + w.len()));
        let first_word = line.split_ascii_whitespace().next().unwrap_or("");
        let server = first_word.starts_with("334")
            || first_word.eq_ignore_ascii_case("S:")
            || first_word == "+"
            || first_word.starts_with('<');
        let skip_to = match login_cmd {
            Some(end) => {
                login = Some(0);
                asked_password = false;
                end
            }
            None => 0,
        };
        let tokens: Vec<(usize, &str)> = b64_runs(line).collect();
        for &(start, token) in &tokens {
            if start < skip_to || token.len() < 4 {
                continue;
            }
            let Some(decoded) = b64_decode(token) else {
                continue;
            };
            let range = at + start..at + start + token.len();
            if is_sasl_plain(&decoded) && token.len() >= 8 {
                found.push((SecretKind::Password, range));
                continue;
            }
            if decoded.starts_with(b"user=")
                && memchr::memmem::find(&decoded, b"\x01auth=").is_some()
            {
                found.push((SecretKind::Token, range));
                continue;
            }
            if decoded.eq_ignore_ascii_case(b"password:") {
                asked_password = true;
                continue;
            }
            if decoded.eq_ignore_ascii_case(b"username:") || server {
                continue;
            }
            // A client's AUTH LOGIN step: the token alone on its line (after a "C:" or ">").
            let before = line[..start].trim();
            let after = line[start + token.len()..].trim();
            let alone = (before.is_empty() || before.ends_with(':') || before.ends_with('>'))
                && (after.is_empty() || after == "\\r\\n" || after == "\\r\\n\"");
            let Some(n) = login else { continue };
            if !(alone || start >= skip_to && skip_to > 0) || !printable(&decoded) {
                continue;
            }
            if asked_password || n == 1 {
                found.push((SecretKind::Password, range));
                asked_password = false;
            }
            login = Some(n + 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// App passwords by shape.

/// Four groups of four letters anywhere, and their context.
fn app_passwords(text: &str, lower: &[u8], found: &mut Vec<(SecretKind, Range<usize>)>) {
    let groups = four_groups(text);
    if groups.is_empty() {
        return;
    }
    // The context search reads the whole text: only worth it when there is a candidate.
    let context = APP_CONTEXT
        .iter()
        .any(|w| memchr::memmem::find(lower, w).is_some());
    for (value, hyphenated) in groups {
        // The scan takes the leftmost four groups; the run may go on ("habe qwrt zxvb nmkl
        // pfds": a German word, then the password). Of its four-group spans, the one with the
        // fewest dictionary words is the candidate.
        let starts = group_run(text, value.start);
        let Some((words, start)) = starts
            .windows(4)
            .map(|w| {
                let words = w
                    .iter()
                    .filter(|&&g| is_word(&text.as_bytes()[g..g + 4]))
                    .count();
                (words, w[0])
            })
            .min_by_key(|(words, _)| *words)
        else {
            continue;
        };
        let value = start..start + 19;
        let candidate = &text[value.clone()];
        if masked_groups(candidate) {
            continue;
        }
        let line_alone = line_of(text, value.start).trim().len() <= candidate.len() + 24;
        // No group a word: random letters, in any language's sentence. One word: only with a
        // reason to think so. Two or more: prose ("when imap sync runs").
        if words == 0 || (words == 1 && (context || hyphenated || line_alone)) {
            found.push((SecretKind::AppPassword, value));
        }
    }
}

/// The starts of the groups of four lower-case letters, one separator apart, from `start` (a
/// four-group match) on.
fn group_run(text: &str, start: usize) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = vec![start];
    let mut g = start;
    loop {
        let next = g + 5;
        let shape = next + 4 <= b.len()
            && matches!(b[g + 4], b' ' | b'-')
            && b[next..next + 4].iter().all(u8::is_ascii_lowercase);
        let ends = text.get(next + 4..).is_some_and(|rest| {
            !rest
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if !(shape && ends) {
            break;
        }
        starts.push(next);
        g = next;
    }
    starts
}

/// "xxxx xxxx xxxx xxxx": an app password masked, two groups or more of one letter repeated.
fn masked_groups(candidate: &str) -> bool {
    candidate
        .split([' ', '-'])
        .filter(|g| !g.is_empty() && g.bytes().all(|b| b == g.as_bytes()[0]))
        .count()
        >= 2
}

/// The end of four groups of four lower-case letters starting at `at`, if there are.
fn four_groups_at(text: &str, at: usize) -> Option<usize> {
    let end = at + 19;
    let slice = text.get(at..end)?;
    let (r, _) = four_groups(slice).into_iter().next()?;
    let after = text[end..].chars().next();
    (r.start == 0 && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')).then_some(end)
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

/// Every four-letter word of the English, French, German, Portuguese and Spanish word lists
/// (`scripts/gen-words4`), as a bit set over the 26^4 possible groups.
static WORDS4: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut bits = vec![0u64; 26usize.pow(4).div_ceil(64)];
    for word in include_str!("words4.txt").lines() {
        if let Some(i) = word_index(word.as_bytes()) {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    bits
});

fn word_index(w: &[u8]) -> Option<usize> {
    if w.len() != 4 || !w.iter().all(u8::is_ascii_lowercase) {
        return None;
    }
    Some(w.iter().fold(0, |acc, &c| acc * 26 + usize::from(c - b'a')))
}

fn is_word(w: &[u8]) -> bool {
    word_index(w).is_some_and(|i| WORDS4[i / 64] & (1 << (i % 64)) != 0)
}

// ---------------------------------------------------------------------------------------------
// Values.

/// The value a pattern captured, and whether it was quoted.
fn value_of<'t>(caps: &Captures<'t>) -> Option<(regex::Match<'t>, bool)> {
    for name in ["dq", "sq", "cq", "rq", "bq"] {
        if let Some(m) = caps.name(name) {
            return Some((m, true));
        }
    }
    caps.name("value").map(|m| (m, false))
}

/// Pushes the captured value when it is one (not a placeholder), `min` characters or more.
fn push_value(
    found: &mut Vec<(SecretKind, Range<usize>)>,
    kind: SecretKind,
    offset: usize,
    caps: &Captures<'_>,
    min: usize,
) {
    let Some((value, quoted)) = value_of(caps) else {
        return;
    };
    let v = if quoted {
        value.as_str()
    } else {
        trim_value(value.as_str())
    };
    if v.chars().count() >= min && is_a_value(v) {
        let start = offset + value.start();
        found.push((kind, start..start + v.len()));
    }
}

/// Whether the line at `rest` is a `key:` line.
fn raw_ends_with_colon(rest: &str) -> bool {
    let line = rest.split('\n').next().unwrap_or("");
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|w| w.ends_with(':'))
}

/// A lower-case name followed by `,` or `)`: an argument that is a variable (`password=pword,`).
fn is_identifier_argument(raw: &str) -> bool {
    let Some(name) = raw.strip_suffix([',', ')']) else {
        return false;
    };
    let name = name.trim_end_matches(')');
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
}

/// An unquoted value without the sentence's punctuation after it, or an XML closing tag.
fn trim_value(v: &str) -> &str {
    let v = v.split("</").next().unwrap_or(v);
    v.trim_end_matches(['.', ',', ')', ']', '}', ';', ':', '>'])
}

/// Not a placeholder, a masked value, a reference to where the value lives, or a word of an
/// ordinary sentence.
fn is_a_value(v: &str) -> bool {
    let v = v.trim();
    if v.is_empty() {
        return false;
    }
    let lower = v.to_lowercase();
    let bare = lower.trim_end_matches(['.', ',', '!', '?', ';', ':', ')']);
    if NOT_A_VALUE.contains(&bare) || PLACEHOLDERS.contains(&bare) {
        return false;
    }
    // "--REMOVED--", "(hidden)", "**redacted**": a word between marks.
    let letters: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.len() < lower.chars().count()
        && (NOT_A_VALUE.contains(&letters.as_str()) || PLACEHOLDERS.contains(&letters.as_str()))
    {
        return false;
    }
    // "smtp-password-here", "YOUR_APP_PASSWORD": letters and dashes around a label word.
    if lower
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '-' | '_' | ' '))
        && [
            "password",
            "passwort",
            "contraseña",
            "senha",
            "passwd",
            "secret",
        ]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    // One character repeated: "xxx", "yyy", "0000".
    let mut chars = v.chars();
    if let Some(first) = chars.next() {
        if v.chars().count() >= 3 && chars.all(|c| c == first) {
            return false;
        }
    }
    // Masked: "********", "xxxxxx", "•••••", "hunt****".
    let masked = |c: char| {
        matches!(
            c,
            '*' | 'x' | 'X' | '•' | '●' | '·' | '∙' | '.' | '#' | '-' | '_' | '…'
        )
    };
    if v.chars().all(masked) {
        return false;
    }
    // Partly masked ("hunt****", "••••1234"): a run of three, and half the value.
    let mask_chars = v
        .chars()
        .filter(|c| matches!(c, '*' | '•' | '●' | '·' | '∙' | '…'))
        .count();
    if ["***", "•••", "●●●", "···", "…"]
        .iter()
        .any(|m| v.contains(m))
        && mask_chars * 2 >= v.chars().count()
    {
        return false;
    }
    // Placeholders and references: <password>, [password], {{ pass }}, $PASSWORD,
    // ${SMTP_PASS}, %SMTP_PASS%, process.env.SMTP_PASS, os.environ["PASS"], env('PASS').
    if v.starts_with(['<', '[', '{', '$', '%', '(']) {
        return false;
    }
    for reference in [
        "process.env",
        "os.environ",
        "os.getenv",
        "getenv(",
        "env(",
        "env[",
        "env.",
        "config.",
        "config[",
        "settings.",
        "secrets.",
        "vault:",
        "keyring",
    ] {
        if lower.starts_with(reference) {
            return false;
        }
    }
    // An environment variable's name: SMTP_PASSWORD, MAIL_PASS.
    if v.contains('_')
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    // "your_app_password", "your-password-here", "my password", "the correct password".
    if lower.starts_with("your") || lower.starts_with("<your") {
        return false;
    }
    if lower.contains(' ')
        && [
            "password",
            "passwort",
            "contraseña",
            "senha",
            "mot de passe",
            "one",
        ]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    true
}

/// A password's shape, for a quoted token that has no label of its own: a letter, and a digit
/// or a symbol, and not a host, address, path, URL or version.
fn password_shaped(v: &str) -> bool {
    if v.contains("://") || v.contains('/') || v.contains('\\') {
        return false;
    }
    // Hosts and addresses: letters, digits, dots and hyphens, with a dot; or an email address.
    let hostish = v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'@');
    if hostish {
        return false;
    }
    strong(v)
}

/// Several kinds of character: three of lower, upper, digit and symbol; or eight characters or
/// more with a letter and a digit.
fn strong(v: &str) -> bool {
    let lower = v.chars().any(char::is_lowercase);
    let upper = v.chars().any(char::is_uppercase);
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let symbol = v
        .chars()
        .any(|c| !c.is_alphanumeric() && !matches!(c, '-' | '_' | '.'));
    let letter = lower || upper;
    let classes = [lower, upper, digit, symbol].iter().filter(|b| **b).count();
    letter && (classes >= 3 || (digit && v.chars().count() >= 8))
}

fn printable(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_control()))
}

/// `[authzid]\0authcid\0passwd` (RFC 4616), every part printable, the password not empty.
fn is_sasl_plain(bytes: &[u8]) -> bool {
    let parts: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts.last().is_some_and(|p| !p.is_empty())
        && parts[parts.len() - 2..]
            .iter()
            .all(|p| p.is_empty() || printable(p))
        && parts.iter().all(|p| p.is_empty() || printable(p))
}

/// Standard or URL-safe base64, padded or not.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The maximal runs of base64 characters in a line, with their byte offsets: a token inside
/// `data="AUTH PLAIN dGVzdA==\r\n"` is read without its quotes and escapes.
fn b64_runs(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    line.split(move |c: char| !is_b64(c))
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
}

/// Overlapping finds become one (the redaction covers their union), in order.
fn merge(mut found: Vec<(SecretKind, Range<usize>)>) -> Vec<(SecretKind, Range<usize>)> {
    found.sort_by_key(|(_, r)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(SecretKind, Range<usize>)> = Vec::with_capacity(found.len());
    for (kind, range) in found {
        if range.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((last_kind, last)) if range.start < last.end => {
                if range.end > last.end {
                    last.end = range.end;
                }
                // The more specific kind wins: a token or app password is also "a password".
                if *last_kind == SecretKind::Password {
                    *last_kind = kind;
                }
            }
            _ => out.push((kind, range)),
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
        out.push_str(&text[last..range.start]);
        out.push_str("[redacted]");
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

/// `text[span]` with every credential found in the whole of `text` redacted. For excerpts
/// (error lines, evidence): a value whose label sits outside the span ("password:" on the line
/// before) is still recognised, and a value the span cuts is redacted as far as it reaches.
/// `span` is clamped to `text` and to char boundaries.
pub fn redact_span(text: &str, span: Range<usize>) -> String {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (start, end) = (floor(span.start), floor(span.end));
    if start >= end {
        return String::new();
    }
    let mut out = String::with_capacity(end - start);
    let mut last = start;
    for (_, r) in find(text) {
        if r.end <= start || r.start >= end {
            continue;
        }
        let (s, e) = (r.start.max(start), r.end.min(end));
        if s > last {
            out.push_str(&text[last..s]);
        }
        out.push_str("[redacted]");
        last = e;
    }
    out.push_str(&text[last..end]);
    out
}

/// How many command-line flags (`-x`, `--xy`) the line around `at` holds.
fn flags_on_line(text: &str, at: usize) -> usize {
    line_of(text, at)
        .split_ascii_whitespace()
        .filter(|w| {
            w.starts_with('-')
                && w.trim_start_matches('-')
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
        })
        .count()
}

fn line_of(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

#[cfg(test)]
mod tests;
