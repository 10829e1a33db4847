//! Port numbers in text: never a date, a line number, a reply code or a client's ephemeral
//! port.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::*;

/// "port 993", "port: 993", "ports 993 and 587", "(993)", or a bare well-known mail port.
pub(super) static PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<kw>\bports?\b\s*(?:number\s*)?(?:is|=|:|\#|-)?\s*)?(?P<open>\()?\b(?P<port>\d{1,5})\b").expect("static regex")
});

pub(super) const WELL_KNOWN_PORTS: &[u16] = &[25, 110, 143, 465, 587, 993, 995, 1025, 1143, 2525];

/// One match of [`PORT`]: the digits, and whether the `kw` and `open` groups took part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PortMatch {
    pub(super) digits: Range<usize>,
    pub(super) keyword: bool,
    pub(super) open: bool,
}

pub(super) fn port_matches(text: &str) -> Vec<PortMatch> {
    if text.is_ascii() {
        return ascii_port_matches(text);
    }
    regex_port_matches(text)
}

/// [`PORT`] run as a regex: the path for non-ASCII text, and the oracle the ASCII scanner is
/// tested against.
pub(super) fn regex_port_matches(text: &str) -> Vec<PortMatch> {
    PORT.captures_iter(text)
        .filter_map(|caps| {
            Some(PortMatch {
                digits: caps.name("port")?.range(),
                keyword: caps.name("kw").is_some(),
                open: caps.name("open").is_some(),
            })
        })
        .collect()
}

/// `\s` on ASCII (`u8::is_ascii_whitespace` leaves out the vertical tab).
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// The matches of [`PORT`] in ASCII text, without the regex. A match is a whole-word run of one
/// to five digits (`\b\d{1,5}\b`); an optional `(` right before it belongs to the match; and the
/// `kw` group is there when `port[s] [number] [is|=|:|#|-] [(]` leads right up to it. Every
/// optional part of the pattern is a fixed word or sign, so no choice ever needs undoing: the
/// forward reading below is the regex's. `port_scan_agrees_with_the_regex` checks it.
pub(super) fn ascii_port_matches(text: &str) -> Vec<PortMatch> {
    let b = text.as_bytes();
    let word_at = |i: usize| b.get(i).is_some_and(|&c| is_word_byte(c));
    let starts_ci = |i: usize, w: &str| {
        b.get(i..i + w.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
    };
    let skip_spaces = |mut i: usize| {
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        i
    };
    // Where the keyword reading starting at `p` ("port...") expects the digits.
    let keyword_lands = |p: usize| -> Option<usize> {
        let mut i = p + 4;
        if b.get(i).is_some_and(|c| c.eq_ignore_ascii_case(&b's')) && !word_at(i + 1) {
            i += 1;
        } else if word_at(i) {
            return None;
        }
        i = skip_spaces(i);
        if starts_ci(i, "number") {
            i = skip_spaces(i + 6);
        }
        if starts_ci(i, "is") {
            i += 2;
        } else if matches!(b.get(i), Some(b'=' | b':' | b'#' | b'-')) {
            i += 1;
        }
        i = skip_spaces(i);
        if b.get(i) == Some(&b'(') {
            i += 1;
        }
        (b.get(i).is_some_and(u8::is_ascii_digit) && !word_at(i - 1)).then_some(i)
    };
    let mut out = Vec::new();
    let mut keyword_digits = None;
    let mut i = 0;
    while i < b.len() {
        // Only digits and the `p` of "port" start anything: skip to the next one, eight bytes
        // at a time while none of them is one.
        i = next_digit_or_p(b, i);
        let Some(&c) = b.get(i) else { break };
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if (start == 0 || !is_word_byte(b[start - 1])) && i - start <= 5 && !word_at(i) {
                out.push(PortMatch {
                    digits: start..i,
                    keyword: keyword_digits == Some(start),
                    open: start > 0 && b[start - 1] == b'(',
                });
            }
            continue;
        }
        if c.eq_ignore_ascii_case(&b'p')
            && (i == 0 || !is_word_byte(b[i - 1]))
            && starts_ci(i, "port")
        {
            if let Some(at) = keyword_lands(i) {
                keyword_digits = Some(at);
            }
        }
        i += 1;
    }
    out
}

/// The first byte at or after `from` that is an ASCII digit or a `p`/`P` (`b.len()` if none).
/// Eight bytes are tested at once: a byte `x` is a digit when `x - b'0'` is below 10, and a
/// `p` when `(x | 0x20) ^ b'p'` is 0. Both tests are done on all eight bytes of a word with
/// carries kept inside each byte (every byte is ASCII here, below 0x80); a word with neither
/// is skipped whole, and the byte-by-byte loop finds the exact position in the others.
pub(super) fn next_digit_or_p(b: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let is_candidate = |c: u8| c.is_ascii_digit() || c | 0x20 == b'p';
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        if x & HIGH == 0 {
            // Per byte, with x < 0x80: (x + 0x80 - 0x30) has its high bit set when x >= 0x30,
            // and (x + 0x80 - 0x3A) when x >= 0x3A; a digit is the first and not the second.
            let ge_0 = (x + HIGH - 0x30 * ONES) & HIGH;
            let ge_colon = (x + HIGH - 0x3A * ONES) & HIGH;
            let digit = ge_0 & !ge_colon;
            // A zero byte of y = (x | 0x20) ^ b'p' (y < 0x80): (y + 0x7F) has no high bit.
            let y = (x | (0x20 * ONES)) ^ (u64::from(b'p') * ONES);
            let p = !(y + 0x7F * ONES) & HIGH;
            if digit | p == 0 {
                i += 8;
                continue;
            }
        }
        return i + chunk.iter().position(|&c| is_candidate(c)).unwrap_or(8);
    }
    i + b[i.min(b.len())..]
        .iter()
        .position(|&c| is_candidate(c))
        .unwrap_or(b.len().saturating_sub(i))
}

/// Month names around a number make it a date: "25 March", "Mar 25".
pub(super) static MONTH_NEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:st|nd|rd|th)?\s*(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|février|fevereiro|märz|marzo|mars|março|mai|mayo|juni|junio|juin|juli|julio|juillet|dezember|diciembre|décembre|dezembro|enero|janvier|janeiro)")
        .expect("static regex")
});
pub(super) static MONTH_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s*$")
        .expect("static regex")
});

/// Whether [`MONTH_NEAR`] may match `after`: past any ASCII white space, its first character is
/// one that starts "st", "nd", "rd", "th", "of" or a month, or is not ASCII (Unicode white space,
/// `ſ`). The regex answers when this does; most numbers are followed by a comma or a word.
pub(super) fn may_start_with_a_month(after: &[u8]) -> bool {
    after
        .iter()
        .find(|&&c| !is_space(c))
        .is_some_and(|&c| c >= 0x80 || b"jfmasondert".contains(&(c | 0x20)))
}

/// Whether [`MONTH_BEFORE`] may match `before`: it ends (before any white space and a dot) with
/// a run of letters that starts a word and with a month's first three letters. Anything not
/// ASCII where it matters leaves it to the regex.
pub(super) fn may_end_with_a_month(before: &[u8]) -> bool {
    let mut end = before.len();
    while end > 0 && is_space(before[end - 1]) {
        end -= 1;
    }
    if end > 0 && before[end - 1] == b'.' {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && before[start - 1].is_ascii_alphabetic() {
        start -= 1;
    }
    if end > 0 && before[end - 1] >= 0x80 || start > 0 && before[start - 1] >= 0x80 {
        return true;
    }
    if start > 0 && is_word_byte(before[start - 1]) {
        return false;
    }
    before[start..end].get(..3).is_some_and(|first| {
        [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ]
        .iter()
        .any(|m| first.eq_ignore_ascii_case(m.as_bytes()))
    })
}

/// Ports in `text`, each with the byte offset of its digits.
pub(super) fn ports(text: &str, words: &HostWords) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    let mut after_keyword = false;
    for m in port_matches(text) {
        // Digits inside a host name, an IP address or a longer number are not a port.
        let prev = text[..m.digits.start].chars().next_back();
        let next = text[m.digits.end..].chars().next();
        // A colon after a quote ends a JSON key (`"imapPort":993`); after a name or a number it
        // joins a host or a time to what follows.
        let json_value = prev == Some(':') && text[..m.digits.start - 1].ends_with(['"', '\'']);
        if !json_value && matches!(prev, Some('.') | Some(':') | Some('-') | Some('/'))
            || matches!(next, Some('.') | Some('-') | Some('/'))
                && text[m.digits.end..]
                    .chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_digit())
        {
            continue;
        }
        // "#110" (an errno, a ticket), "Sonnenblume!7", "****12": a reference or the end of
        // another value.
        if !m.keyword
            && matches!(
                prev,
                Some('#' | '!' | '*' | '$' | '%' | '&' | '@' | '~' | '^' | '+' | '\\')
            )
        {
            continue;
        }
        // `connectionType: 4`, `timeout=30`: a number after another setting's name is that
        // setting's, and "port" no longer carries over to it.
        if !m.keyword && after_another_key(&text[..m.digits.start]) {
            after_keyword = false;
        }
        let Ok(port) = text[m.digits.clone()].parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        // "ports 993 and 587": the keyword carries over to the numbers that follow it.
        after_keyword |= m.keyword;
        // "(118)" after a file or a call is a line number; after a host it is a port.
        let open_after_host = m.open && {
            let lead = text[..m.digits.start - 1].trim_end();
            lead.rsplit(|c: char| c.is_whitespace())
                .next()
                .is_some_and(|word| !hosts(word, words).is_empty() || label_service(word).is_some())
        };
        let (before, after) = (&text[..m.digits.start], &text[m.digits.end..]);
        let date = may_start_with_a_month(after.as_bytes()) && MONTH_NEAR.is_match(after)
            || may_end_with_a_month(before.as_bytes()) && MONTH_BEFORE.is_match(before);
        if !date && (after_keyword || open_after_host || WELL_KNOWN_PORTS.contains(&port)) {
            out.push((port, m.digits.start));
        }
    }
    out
}

/// Whether `before` ends with `name:` or `name=` (quotes and spaces allowed), for a name that is
/// not a port's.
fn after_another_key(before: &str) -> bool {
    let before = before.trim_end_matches([' ', '\t', '"', '\'']);
    let Some(rest) = before.strip_suffix([':', '=']) else {
        return false;
    };
    let key = rest
        .trim_end_matches([' ', '\t', '"', '\''])
        .rsplit(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .next()
        .unwrap_or("");
    !key.is_empty() && !key.to_ascii_lowercase().contains("port")
}
