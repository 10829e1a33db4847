//! App passwords by shape: Google's sixteen letters (in four groups or as one word), Apple's
//! `xxxx-xxxx-xxxx-xxxx`, and the four-letter word list that tells them from prose.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{line_of, regex};
use crate::core::report::SecretKind;

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

/// Sixteen lower-case letters in a window with a password word: an app password when the
/// window speaks of an app password, or the letters look random (few vowels).
pub(super) fn sixteen_letters(
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

/// Four groups of four letters anywhere, and their context.
pub(super) fn app_passwords(text: &str, lower: &[u8], found: &mut Vec<(SecretKind, Range<usize>)>) {
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
pub(super) fn masked_groups(candidate: &str) -> bool {
    candidate
        .split([' ', '-'])
        .filter(|g| !g.is_empty() && g.bytes().all(|b| b == g.as_bytes()[0]))
        .count()
        >= 2
}

/// The end of four groups of four lower-case letters starting at `at`, if there are.
pub(super) fn four_groups_at(text: &str, at: usize) -> Option<usize> {
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
pub(super) fn four_groups(text: &str) -> Vec<(Range<usize>, bool)> {
    const LEN: usize = 19;
    let b = text.as_bytes();
    let lower = |i: usize| b[i].is_ascii_lowercase();
    let sep = |i: usize| b[i] == b' ' || b[i] == b'-';
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = Vec::new();
    // A value's separators sit four, nine and fourteen bytes in: only the starts with all three
    // are worth a look, and a word-at-a-time scan finds them (a space every few bytes made a
    // byte search stop too often).
    let mut next_free = 0;
    for first_sep in separator_triples(b) {
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

/// The high bit of each byte of `w` that is a space or a hyphen. Exact per byte: no carry
/// crosses a byte (`(v & 0x7f) + 0x7f` stays below 0x100).
fn separators(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| !(((v & LOW7) + LOW7) | v) & HIGH;
    zero(w ^ (u64::from(b' ') * ONES)) | zero(w ^ (u64::from(b'-') * ONES))
}

/// The positions `p`, in order, with a space or a hyphen at `p`, `p + 5` and `p + 10`.
pub(super) fn separator_triples(b: &[u8]) -> Vec<usize> {
    let word = |k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[8 * k..8 * k + 8]);
        u64::from_le_bytes(w)
    };
    let words = b.len() / 8;
    let mut out = Vec::new();
    let mut k = 0;
    if words >= 3 {
        // Byte j of a mask is position 8k + j; `>> 40` and `<< 24` bring position + 5 there,
        // `>> 16` and `<< 48` position + 10.
        let (mut s0, mut s1) = (separators(word(0)), separators(word(1)));
        while k + 2 < words {
            let s2 = separators(word(k + 2));
            let mut m = s0 & (s0 >> 40 | s1 << 24) & (s1 >> 16 | s2 << 48);
            while m != 0 {
                out.push(8 * k + m.trailing_zeros() as usize / 8);
                m &= m - 1;
            }
            (s0, s1) = (s1, s2);
            k += 1;
        }
    }
    let sep = |i: usize| b.get(i).is_some_and(|&c| c == b' ' || c == b'-');
    out.extend((8 * k..b.len()).filter(|&p| sep(p) && sep(p + 5) && sep(p + 10)));
    out
}

/// Every four-letter word of the English, French, German, Portuguese and Spanish word lists
/// (`scripts/gen-words4`), as a bit set over the 26^4 possible groups.
static WORDS4: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut bits = vec![0u64; 26usize.pow(4).div_ceil(64)];
    for word in include_str!("../words4.txt").lines() {
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

pub(super) fn is_word(w: &[u8]) -> bool {
    word_index(w).is_some_and(|i| WORDS4[i / 64] & (1 << (i % 64)) != 0)
}
