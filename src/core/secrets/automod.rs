//! The shield's forms as Discord AutoMod can run them: regexes that block a message before anyone
//! sees it, where [`super::find`] can only have it deleted afterwards.
//!
//! Discord runs these with the `regex` crate, case-insensitively, and nothing more: no word list,
//! no placeholder check, no decoding. So each form here is narrower than the shield's own:
//! - a value must mix letters and digits and begin with one of them, which is how the shield's
//!   placeholders fail (`********`, `<password>`, `$PASSWORD`, `${SMTP_PASS}`, `[hidden]`,
//!   `your_password`, "my password", "the correct password");
//! - an app password needs a word that says so right before it (four groups of letters are also
//!   "when imap sync runs"), or Apple's hyphens; `xxxx` first is a mask, not a value;
//! - a label's value stays on the label's line (`DB_PASSWORD=` then `REDIS_HOST=127.0.0.1` on the
//!   next line is an empty setting);
//! - no `(?m)` (Discord's multi-line mode differs from the crate's) and ASCII classes for the
//!   long repetitions, which keeps each compiled pattern small.
//!
//! What the shield finds and these miss is still deleted after the fact. The figures (caught
//! and false positives, against the shield's corpus) are in BENCHMARKS.md, measured by
//! `tests/triage/automod.rs`.

use std::sync::LazyLock;

/// Discord's limits for a KEYWORD rule's `regex_patterns`.
pub const MAX_PATTERNS: usize = 10;
pub const MAX_PATTERN_CHARS: usize = 260;

/// A value's character: printable ASCII but space and quotes.
const VALUE_CHAR: &str = r#"[!#-&(-_a-~]"#;

/// Any printable ASCII character but space (a user name, an argument).
const WORD_CHAR: &str = "[!-~]";

/// A value that mixes letters and digits, perhaps quoted, beginning with a letter or a digit.
fn value() -> String {
    format!(r#"["'`]?(?:[a-z]{VALUE_CHAR}{{0,40}}?\d|\d{VALUE_CHAR}{{0,40}}?[a-z])"#)
}

/// The patterns, in the order Discord is given them.
static PATTERNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let value = value();
    vec![
        // `password: x`, `pwd=x`, `"password": "x"`, `:password => 'x'`, `| Password | x |`,
        // "my password is x", "password for bob@x.com: x", "the password I'm using is x".
        format!(
            r#"(?:^|[^a-z])(?:pass(?:word|wd|phrase|code)?|pwd|pw)s?["']?(?:[ \t]+(?:for|of)[ \t]+{WORD_CHAR}{{1,40}}|[ \t]+i'?m using)?[ \t]*(?:=>|[:=|>–-]|is\b|was\b)[ \t]*{value}"#
        ),
        // The same in German, Dutch, Portuguese, Spanish and French.
        format!(
            r#"(?:passwort|kennwort|wachtwoord|senha|contrase[ñn]a|mot de passe)s?["']?(?:[ \t]+(?:de|für|da|do)[ \t]+{WORD_CHAR}{{1,40}}|[ \t]+atual)?[ \t]*(?:=>|[:=|>–-]|ist\b|es\b|est\b|é|lautet\b)[ \t]*{value}"#
        ),
        // `user bob pass Summer2024`; "the current one is 'Winter#2024'".
        format!(
            r#"(?:^|[^a-z])pass[ \t]+[a-z]{VALUE_CHAR}{{5,40}}\d|\b(?:current|new|old|real|correct)[ \t]+(?:one|password|pw)[ \t]+(?:is|was)[ \t]*:?[ \t]*["'`“‘]{VALUE_CHAR}{{0,64}}\d{VALUE_CHAR}{{0,64}}["'`”’]"#
        ),
        // URL userinfo: `imaps://bob:x@host`.
        r"[a-z][a-z0-9+.-]{1,15}://[!-.0-9;-?A-~]{1,64}:[!-.0-?A-~]{0,64}\d[!-.0-?A-~]{0,64}@[a-z0-9]"
            .to_string(),
        // Command lines: `--password x`, `--smtp-pass=x`, `-u bob -p x`, `curl -u bob:x`.
        format!(
            r#"(?:^|\s)(?:--[a-z0-9-]{{0,20}}pass(?:word|wd)?[12]?(?:[ \t]+|=)|-u[ \t]+{WORD_CHAR}{{1,64}}[ \t]+-p[ \t]+|(?:-u|--user)[ \t]+["']?[^\s:"']{{1,64}}:)["']?[a-z0-9!#&+.=?@^_~]{VALUE_CHAR}{{0,40}}\d"#
        ),
        // An IMAP `LOGIN` line: a tag with a digit, the user, the password, the line's end. A
        // value that starts with `x` is a mask (`"xxxxx"`), as for app passwords below.
        format!(
            r#"\b[a-z]{{0,6}}\d[a-z0-9]{{0,10}}[ \t]+login[ \t]+{WORD_CHAR}{{1,64}}[ \t]+(?:"[ !#-')+-WY-wy-~][ !#-')+-~]{{3,63}}"|[!#-')+-WYZ\\-wyz|-~][!#-')+-Z\\-z|-~]{{3,63}})[ \t'"]*(?:\r?\n|$)"#
        ),
        // A login command quoted in an error (not `LOGIN <user> <pass>`), and a literal password in
        // a login call.
        format!(
            r#"["']login[ \t]+{WORD_CHAR}{{1,64}}[ \t]+[!#-&()+-;=-~][!#-&()+-~]{{3,63}}["']|(?:\.|->)(?:login|isauthenticated)\([ -'*+\--~]{{1,60}},[ \t]*["'][ !#-&(-~]{{0,64}}\d[ !#-&(-~]{{0,64}}["']"#
        ),
        // OAuth and bearer tokens.
        r#"bearer\s+[a-z0-9.~+/-]{20,}|\bya29\.[a-z0-9_-]{20,}|\b1//0[a-z0-9_-]{20,}|\beyj[a-z0-9_-]{8,}\.eyj[a-z0-9_-]{8,}\.|(?:(?:access|refresh|id|oauth|auth|session)[_ -]?token|client[_ -]?secret)["']?[ \t]*[:=][ \t]*["']?[a-z0-9_.~+/-]{6,}\d[a-z0-9_.~+/-]{4,}"#
            .to_string(),
        // App passwords: sixteen letters (in four groups or one word) right after a word that
        // says "app password", and Apple's `xxxx-xxxx-xxxx-xxxx` anywhere.
        r#"(?:app[\s-]*(?:specific[\s-]*)?pass(?:word|wort)?s?|de aplicaci[oó]n|para apps)(?:[\s:=(,"'-]|\bis\b|\bes\b|\bist\b|lautet|it'?s)*[a-wyz](?:[a-z]{3}(?:[ -][a-z]{4}){3}|[a-z]{15})\b|(?:^|[^\w-])[a-z]{4}(?:-[a-z]{4}){3}(?:[^\w-]|$)"#
            .to_string(),
        // SASL: base64 after `AUTH PLAIN` or `XOAUTH2`, the answer to `334 UGFzc3dvcmQ6`
        // ("Password:"), an XOAUTH2 response (`user=...`), a response after a bare `+`.
        r#"auth(?:enticate)?\s+(?:plain|xoauth2)[\s\\rn"+<>:0-9]*[a-z0-9+/]{20,}|ugfzc3dvcmq6[\s\\rn"<>:c]*[a-z0-9+/]{4,}|\bdxnlcj[a-z0-9+/]{20,}|(?:^|\n)(?:s:[ \t]*)?\+[ \t]*\r?\n(?:c:[ \t]*)?[a-z0-9+/]{20,}"#
            .to_string(),
    ]
});

/// The regex patterns for a Discord AutoMod KEYWORD rule that blocks credentials.
pub fn patterns() -> &'static [String] {
    &PATTERNS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discord takes at most 10 patterns of at most 260 characters, runs them case-insensitively
    /// and refuses what doesn't compile; `(?m)` means something else there.
    #[test]
    fn the_patterns_fit_discords_limits() {
        let patterns = patterns();
        assert!(!patterns.is_empty() && patterns.len() <= MAX_PATTERNS);
        for p in patterns {
            assert!(
                p.chars().count() <= MAX_PATTERN_CHARS,
                "{} chars: {p}",
                p.chars().count()
            );
            assert!(!p.contains("(?m") && !p.contains("(?s"), "{p}");
            // Small when compiled: Discord refuses patterns too complex to validate.
            let re = match regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .size_limit(256 * 1024)
                .build()
            {
                Ok(re) => re,
                Err(e) => panic!("{p}: {e}"),
            };
            // Never the empty match, which would block every message.
            assert!(!re.is_match(""), "{p}");
        }
    }
}
