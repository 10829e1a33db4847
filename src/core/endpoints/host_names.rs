//! [`super::hosts::HOST_NAME`] on ASCII text, without the regex.
//!
//! The endpoint scan searches every dotted word with the host regex: Unicode classes, a
//! forward then a reverse lazy-DFA search, ≈ 6 K instructions a word (BENCHMARKS.md, "The
//! fifth cuts"). On ASCII text its three alternatives are simple enough to follow by hand, with
//! the regex's own leftmost-first choice: the first position where one matches, and there the
//! first alternative that does, each repetition as long as the rest still matches.

use std::ops::Range;

fn is_word(b: Option<&u8>) -> bool {
    b.is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The length of the run of bytes from `at` that `class` accepts.
fn run(b: &[u8], at: usize, class: impl Fn(u8) -> bool) -> usize {
    b.get(at..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| class(c)).count())
}

/// `\[[0-9A-Fa-f:.]{2,45}\]` at `p`: the class holds no `]`, so its run is the whole run.
fn bracketed(b: &[u8], p: usize) -> Option<usize> {
    if b[p] != b'[' {
        return None;
    }
    let n = b[p + 1..]
        .iter()
        .take(46)
        .take_while(|&&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        .count();
    ((2..=45).contains(&n) && b.get(p + 1 + n) == Some(&b']')).then_some(p + n + 2)
}

/// `\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b` at `p`: each group is a whole run of digits (a
/// shorter one is followed by a digit, not a dot or a boundary).
fn ipv4(b: &[u8], p: usize) -> Option<usize> {
    if !b[p].is_ascii_digit() || p > 0 && is_word(b.get(p - 1)) {
        return None;
    }
    let mut at = p;
    for group in 0..4 {
        let n = run(b, at, |c| c.is_ascii_digit());
        if !(1..=3).contains(&n) {
            return None;
        }
        at += n;
        if group < 3 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    (!is_word(b.get(at))).then_some(at)
}

/// `(?:[\p{L}\p{N}][\p{L}\p{N}\-]*\.)+\p{L}{2}\p{L}*\b` at `p`, on ASCII: the labels run as
/// far as they go, then give back one at a time until a run of two letters or more, followed
/// by no word character, can end the name: the last dot where one can. `Err` holds where the
/// labels stopped: whether a dot can end a name doesn't depend on where the labels began, so
/// no name begins before there either.
fn dotted_name(b: &[u8], p: usize) -> Result<usize, usize> {
    let mut at = p;
    let mut name_end = None;
    while b.get(at).is_some_and(u8::is_ascii_alphanumeric) {
        at += run(b, at, |c| c.is_ascii_alphanumeric() || c == b'-');
        if b.get(at) != Some(&b'.') {
            break;
        }
        at += 1;
        let n = run(b, at, |c| c.is_ascii_alphabetic());
        if n >= 2 && !is_word(b.get(at + n)) {
            name_end = Some(at + n);
        }
    }
    name_end.ok_or(at)
}

/// The first match of [`super::hosts::HOST_NAME`] in `b` at or after `from`, as
/// `HOST_NAME.find_at` finds it, when `b[from - 1..]` is ASCII (the caller checks). Linear:
/// the labels after a start that ends no name are not read again.
pub(super) fn ascii_host_name_at(b: &[u8], from: usize) -> Option<Range<usize>> {
    let mut no_name_before = from;
    for p in from..b.len() {
        let c = b[p];
        let end = if c == b'[' {
            bracketed(b, p)
        } else if c.is_ascii_alphanumeric() {
            let ip = if c.is_ascii_digit() { ipv4(b, p) } else { None };
            ip.or_else(|| {
                if p < no_name_before {
                    return None;
                }
                dotted_name(b, p)
                    .map_err(|stopped| no_name_before = stopped)
                    .ok()
            })
        } else {
            None
        };
        if let Some(end) = end {
            return Some(p..end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoints::hosts::HOST_NAME;

    fn check(text: &str) {
        for from in 0..=text.len() {
            assert_eq!(
                ascii_host_name_at(text.as_bytes(), from),
                HOST_NAME.find_at(text, from).map(|m| m.range()),
                "{text:?} from {from}"
            );
        }
    }

    #[test]
    fn names_addresses_and_near_misses() {
        for text in [
            "mail.example-host.net,",
            "imap.gmail.com:993 ",
            "mail.example.c0m",
            "mail.ex-ample.c0m",
            "e.g. ",
            "1.2.3.4",
            "1234.5.6.7",
            "1.2.3.4567",
            "x-1.2.3.4a",
            "[2001:db8::1]:993",
            "[ab]",
            "[a]",
            "a.b_c.de",
            "mx.acme.com_",
            "-mail.com",
            "a..bc",
            "javax.mail.MessagingException",
            "v1.2.3.4",
            "_1.2.3.4",
            "192.168.0.1.example.com",
        ] {
            check(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_scan_finds_what_the_regex_finds_in_ascii_text(
            text in "([a-zA-Z0-9._:\\[\\]-]|com|net|mail\\.|1\\.2\\.|999\\.|\\.io|[0-9]{4}){0,24}",
        ) {
            check(&text);
        }
    }
}
