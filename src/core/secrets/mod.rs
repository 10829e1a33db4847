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
//! - a password column of a pasted table: `email,server,port,password` over `a@b.no,...,x`;
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
//!
//! # Layout
//! - this file: the search ([`find`], [`find_in`]): trigger words, one window of lines per
//!   trigger, each form's pattern run on it, and overlapping finds merged;
//! - `labels`: values after a label, flags, URL userinfo and tokens;
//! - `app`: app passwords by shape, and the four-letter word list that tells them from prose;
//! - `sasl`: SASL exchanges (base64) and IMAP `LOGIN` commands and login calls;
//! - `values`: what is a value and what is a placeholder, a mask or an ordinary word;
//! - `redaction`: [`redact`] and [`redact_span`];
//! - [`automod`]: the forms as Discord AutoMod regexes, which block a message before it is seen.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::report::SecretKind;
use super::text::Triggers;

mod app;
pub mod automod;
mod labels;
mod redaction;
mod sasl;
mod values;

pub use redaction::{redact, redact_span, redact_span_among, redact_with};

use app::{app_passwords, sixteen_letters};
use labels::{
    csv_column, labelled, quoted_near_label, CURRENT_ONE, FLAG, TOKENS, TOKEN_SHAPES, URL_USERINFO,
    USER_FLAG,
};
use sasl::{sasl, CODE_LOGIN, IMAP_LOGIN, QUOTED_LOGIN};
use values::{is_a_value, push_value, value_of};

use crate::core::words::SecretWords;

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
// Patterns: each form's file compiles its own with this.

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

// ---------------------------------------------------------------------------------------------
// The search.

/// Where a credential appears in `text`, and of what kind. Ranges cover the value only, do
/// not overlap, and are in order. Reads with the shipped `[secrets]` lists
/// ([`crate::core::words::shipped`]): for callers with no rules at hand; the triage uses
/// [`find_at`] with the rules' own.
pub fn find(text: &str) -> Vec<(SecretKind, Range<usize>)> {
    find_with(&crate::core::words::shipped().secrets, text)
}

/// [`find`], with the rules' `[secrets]` lists.
pub fn find_with(words: &SecretWords, text: &str) -> Vec<(SecretKind, Range<usize>)> {
    find_in(words, text, &super::text::lower(text))
}

/// [`find_with`], with `lower` = [`super::text::lower`]`(text)` made by the caller.
pub fn find_in(words: &SecretWords, text: &str, lower: &[u8]) -> Vec<(SecretKind, Range<usize>)> {
    let mut found: Vec<(SecretKind, Range<usize>)> = Vec::new();
    app_passwords(text, lower, &mut found);
    // A value may follow its label on the next line ("password:\nhunter2"), and an AUTH LOGIN
    // password two lines after the command.
    for (offset, window) in super::text::windows(text, lower, &TRIGGERS, 2) {
        let wl = &lower[offset..offset + window.len()];
        scan_window(words, text, offset, window, wl, &mut found);
    }
    // A SASL exchange spreads further: capability line, command, "+" or "334", response.
    for (offset, window) in super::text::windows(text, lower, &SASL_TRIGGERS, 4) {
        let wl = &lower[offset..offset + window.len()];
        sasl(offset, window, wl, &mut found);
    }
    merge(found)
}

/// The shield's trigger words, and those of a SASL exchange, lower-cased: for the index that
/// finds every literal of a message in one pass ([`crate::core::message_literals`]).
pub fn trigger_words() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    (TRIGGERS.words(), SASL_TRIGGERS.words())
}

/// [`find_in`], with the places of the trigger words ([`trigger_words`]) found beforehand:
/// `triggers` and `sasl_triggers` are the `(start, end)` of each in `lower`, by start.
pub fn find_at(
    words: &SecretWords,
    text: &str,
    lower: &[u8],
    triggers: &[(usize, usize)],
    sasl_triggers: &[(usize, usize)],
) -> Vec<(SecretKind, Range<usize>)> {
    let mut found: Vec<(SecretKind, Range<usize>)> = Vec::new();
    app_passwords(text, lower, &mut found);
    for (offset, window) in super::text::windows_at(text, lower, triggers, 2) {
        let wl = &lower[offset..offset + window.len()];
        scan_window(words, text, offset, window, wl, &mut found);
    }
    for (offset, window) in super::text::windows_at(text, lower, sasl_triggers, 4) {
        let wl = &lower[offset..offset + window.len()];
        sasl(offset, window, wl, &mut found);
    }
    merge(found)
}

/// Every form but the four-group scan, on one window of trigger lines.
fn scan_window(
    words: &SecretWords,
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
        labelled(words, text, offset, window, found);
        csv_column(words, offset, window, found);
        sixteen_letters(offset, window, wl, found);
        quoted_near_label(words, text, offset, window, found);
    }
    if has("one is") || has("one was") {
        for caps in CURRENT_ONE.captures_iter(window) {
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
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
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("-u ") || has("--user") {
        for caps in USER_FLAG.captures_iter(window) {
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("://") {
        for caps in URL_USERINFO.captures_iter(window) {
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("bearer") || has("token") || has("secret") {
        for caps in TOKENS.captures_iter(window) {
            if let Some(m) = caps.name("bearer").or_else(|| caps.name("kv")) {
                if is_a_value(words, m.as_str()) {
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
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("login") {
        for caps in QUOTED_LOGIN.captures_iter(window) {
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
    if has("login") || has("auth") || has(".connect(") {
        for caps in CODE_LOGIN.captures_iter(window) {
            push_value(words, found, SecretKind::Password, offset, &caps, 1);
        }
    }
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
