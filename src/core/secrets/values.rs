//! What a captured value is: not a placeholder, a mask, a reference to where the value lives
//! or a word of an ordinary sentence; and the shape of a password.

use std::ops::Range;

use regex::Captures;

use crate::core::report::SecretKind;

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
    "back",
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
    "fake",
    "dummy",
    "bogus",
    "placeholder",
    // The tag at the end of every reply from Google's SMTP servers ("... - gsmtp").
    "gsmtp",
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
    // When it happened, not what it is: "my app password was last used on July 1st".
    "last",
    "recently",
    "never",
    "always",
    "first",
    "previously",
    "earlier",
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

/// The value a pattern captured, and whether it was quoted.
pub(super) fn value_of<'t>(caps: &Captures<'t>) -> Option<(regex::Match<'t>, bool)> {
    for name in ["dq", "sq", "cq", "rq", "bq"] {
        if let Some(m) = caps.name(name) {
            return Some((m, true));
        }
    }
    caps.name("value").map(|m| (m, false))
}

/// Pushes the captured value when it is one (not a placeholder), `min` characters or more.
pub(super) fn push_value(
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
pub(super) fn raw_ends_with_colon(rest: &str) -> bool {
    let line = rest.split('\n').next().unwrap_or("");
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|w| w.ends_with(':'))
}

/// A lower-case name followed by `,` or `)`: an argument that is a variable (`password=pword,`).
pub(super) fn is_identifier_argument(raw: &str) -> bool {
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
pub(super) fn trim_value(v: &str) -> &str {
    let v = v.split("</").next().unwrap_or(v);
    v.trim_end_matches(['.', ',', ')', ']', '}', ';', ':', '>'])
}

/// Not a placeholder, a masked value, a reference to where the value lives, or a word of an
/// ordinary sentence.
pub(super) fn is_a_value(v: &str) -> bool {
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
        && (NOT_A_VALUE.contains(&letters.as_str())
            || PLACEHOLDERS.contains(&letters.as_str())
            // "**organizationemailpassword**": letters only, between marks, naming the field.
            || letters.chars().all(char::is_alphabetic)
                && ["password", "passwort", "passwd", "contraseña", "senha"]
                    .iter()
                    .any(|w| letters.contains(w)))
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
    // "my_pass", "smtp-pwd": words joined by `_` or `-`, one of them a label word.
    if lower.contains(['_', '-'])
        && lower
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '_'))
        && lower
            .split(['_', '-'])
            .any(|w| matches!(w, "pass" | "pwd" | "passwd" | "pw" | "secret"))
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
    // A `$` before a word that goes on with characters no variable name has (`$Fjord#88vik`)
    // starts a password, not a reference.
    let dollar_value = v.starts_with('$')
        && v[1..].starts_with(|c: char| c.is_ascii_alphabetic())
        && v.contains(['#', '!', '@', '^', '&', '*', '+', '~', '?', ',']);
    if v.starts_with(['<', '[', '{', '$', '%', '(']) && !dollar_value {
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
pub(super) fn password_shaped(v: &str) -> bool {
    if v.contains("://") || v.contains('/') || v.contains('\\') {
        return false;
    }
    // Hosts and addresses: letters, digits, dots and hyphens, with a dot; or an email address.
    let hostish = v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'@');
    if hostish || is_code_call(v) {
        return false;
    }
    strong(v)
}

/// A call in code: `client.mailboxOpen("INBOX")`, `getenv('SMTP_PASS')`.
fn is_code_call(v: &str) -> bool {
    let Some((callee, _)) = v.split_once('(') else {
        return false;
    };
    v.ends_with(')')
        && callee.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && callee
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
}

/// Several kinds of character: three of lower, upper, digit and symbol; or eight characters or
/// more with a letter and a digit.
pub(super) fn strong(v: &str) -> bool {
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
