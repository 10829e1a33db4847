//! SASL exchanges in transcripts (base64 `AUTH PLAIN`, `AUTH LOGIN`, `XOAUTH2`) and IMAP
//! `LOGIN` commands, quoted login commands and login calls in code.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::regex;
use crate::core::report::SecretKind;

/// An IMAP `LOGIN` command line: `a1 LOGIN bob "x"`, `A001 login bob@x.com x`, MailKit's
/// `A00000002 LOGIN ...`. The tag must hold a digit, or the command be upper-case, so that "my
/// login is ..." is prose.
pub(super) static IMAP_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?m)(?:^|[ \t>:])(?:[A-Za-z]{0,6}[0-9][A-Za-z0-9]{0,10}[ \t]+(?i:login)|(?:[A-Za-z]{1,6}|[0-9]{1,6}|\*|\.)[ \t]+LOGIN)[ \t]+(?:"(?:[^"\\\r\n]|\\.)*"|[^\s"]+)[ \t]+(?:"(?P<dq>(?:[^"\\\r\n]|\\.){1,128})"|(?P<value>[^\s"]{1,128}))[ \t\r]*$"#,
    )
});

/// `imap.login('bob', 'x')`, `isAuthenticated('bob', 'x', ...)` in a stack trace,
/// `transport.connect("smtp.x.com", "bob", "x")`: a literal password as the second argument of
/// a login call, or the last of a three- or four-argument connect.
pub(super) static CODE_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:(?:\.|->|::|\b)(?:login|log_in|signin|sign_in|auth[a-z_]*|isauthenticated)\(\s*[^,()\n]{1,128},|\.connect\((?:[^,()\n]{1,128},){2,3})\s*(?:"(?P<dq>[^"\n]{1,128})"|'(?P<sq>[^'\n]{1,128})')"#,
    )
});

/// A login command quoted in an error or a trace: `Command "login bob@x.com x" failed`,
/// `_imap_command_do(..., 'LOGIN bob carr/ot')`.
pub(super) static QUOTED_LOGIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:"(?:[a-z0-9]{1,8}[ \t]+)?login[ \t]+[^\s"]{1,128}[ \t]+(?P<dq>[^\s"]{1,128})"|'(?:[a-z0-9]{1,8}[ \t]+)?login[ \t]+[^\s']{1,128}[ \t]+"?(?P<sq>[^\s'"]{1,128})"?')"#,
    )
});

/// SASL in transcripts: base64 `AUTH PLAIN` that decodes to `[authzid]\0user\0pass`, the
/// password step of `AUTH LOGIN`, `XOAUTH2` (a bearer token inside).
pub(super) fn sasl(
    offset: usize,
    window: &str,
    wl: &[u8],
    found: &mut Vec<(SecretKind, Range<usize>)>,
) {
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

fn printable(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_control()))
}

/// `[authzid]\0authcid\0passwd` (RFC 4616), every part printable, the password not empty.
pub(super) fn is_sasl_plain(bytes: &[u8]) -> bool {
    let parts: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts.last().is_some_and(|p| !p.is_empty())
        && parts[parts.len() - 2..]
            .iter()
            .all(|p| p.is_empty() || printable(p))
        && parts.iter().all(|p| p.is_empty() || printable(p))
}

/// Standard or URL-safe base64, padded or not.
pub(super) fn b64_decode(s: &str) -> Option<Vec<u8>> {
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
