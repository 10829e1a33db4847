//! The words around a value that make it more or less than a setting: corrections, "same
//! server", negations, hypotheticals, the old value in "changed X to Y".
//!
//! These run on every line or on the clause before every value, and almost never match: each
//! is gated by its required words ([`GatedRegex`]), so most text is never read by the regex.

use std::sync::LazyLock;

use regex::Regex;

use crate::core::literals::{Gate, GateIndex, GatedRegex, Hits};

/// A line that corrects what was said before.
pub(super) static CORRECTION: LazyLock<GatedRegex> = LazyLock::new(|| {
    GatedRegex::new(Regex::new(
        r"(?ix)\b(?:i\s+meant|sorry|edit\s*:|correction|correct(?:ed)?\s+(?:one|server|port|host|setting)s?\s+(?:is|are)|should\s+have\s+(?:said|written)|typo|actually|my\s+bad|oops|update\s*:|je\s+voulais\s+dire|pardon|perd[oó]n|quise\s+decir|quis\s+dizer|queria\s+dizer|desculp[ae]|ich\s+meinte|entschuldigung|korrektur)",
    )
    .expect("static regex"))
});

/// "same server for outgoing", "outgoing is the same", "SMTP uses the same host".
pub(super) static SAME_SERVER: LazyLock<GatedRegex> = LazyLock::new(|| {
    GatedRegex::new(Regex::new(
        r"(?ix)
        \bsame\s+(?:server|host|hostname|name|address)\b.{0,30}\b(?:outgoing|incoming|smtp|imap|both|sending|receiving)\b
      | \b(?:outgoing|incoming|smtp|imap)\b.{0,30}\b(?:is|are|uses?|has)\s+(?:the\s+)?same\b
      | \bsame\s+(?:server|host)\s+for\s+both\b
      | \b(?:m[êe]me\s+serveur|mismo\s+servidor|mesmo\s+servidor|(?:gleiche|selbe)n?\s+server|(?:de)?zelfde\s+server|stesso\s+server)\b
      | \bboth\b.{0,20}\b(?:use|on)\s+(?:the\s+)?same\s+(?:server|host)",
    )
    .expect("static regex"))
});

/// A negation or a question right before a value: "it's not smtp.gmail.com", "I don't use
/// 587", "there's no setting like imap.outlook.com", "instead of X".
pub(super) static NEGATED_BEFORE: LazyLock<GatedRegex> = LazyLock::new(|| {
    GatedRegex::new(Regex::new(
        r#"(?ix)
        (?:
            \b(?:not|isn'?t|aren'?t|wasn'?t|weren'?t|never|nor)
          | \b(?:instead\s+of|rather\s+than|other\s+than|nothing\s+like|except)
          | \b(?:não|nao)\s+(?:é|e|era|uso|usamos)|\bno\s+(?:es|era|uso|usamos)\b|\bn[’']?est\s+pas|\bpas\b|\b(?:ist|sind|war)\s+nicht|\bnicht\b
          | \bno\s+(?:setting|option|field|server|host|such|mention)s?\b[^,.;:]{0,20}
          | \bthere'?s\s+no\b[^,.;:]{0,25}
          | \b(?:don'?t|doesn'?t|didn'?t|do\s+not|does\s+not|did\s+not)\s+(?:use|have|see|want|need|mean)
          | \b(?:says?|said|suggests?|suggested|recommends?|recommended|told\s+(?:me|us))\s+(?:to\s+)?(?:use|try|enter|set|put)
        )
        (?:\s+(?:even|the|a|an|any|using|use|used|set\s+to|called|named|like|to|be|as|on|port|server|host|with|anything|o|el|la|le|les|los|um|uma|un|une|una|der|die|das|mehr))*
        \s*[`'"“(*]*\s*$"#,
    )
    .expect("static regex"))
});

/// The numbers of the gates in [`WORDING_GATES`].
pub(super) const CORRECTION_GATE: usize = 0;
pub(super) const SAME_SERVER_GATE: usize = 1;
pub(super) const NEGATED_GATE: usize = 2;
pub(super) const LABEL_GATE: usize = 3;

/// The gates asked about every line (corrections, "same server", label words) and about the
/// clause before every value (negations), searched once per message: see [`GateIndex`].
pub(super) static WORDING_GATES: LazyLock<GateIndex> =
    LazyLock::new(|| GateIndex::new(&wording_gates()));

/// The gates of [`WORDING_GATES`], in their order: an index that holds them as its first sets
/// answers for them as [`WORDING_GATES`] does.
pub fn wording_gates() -> [&'static Gate; 4] {
    [
        CORRECTION.gate(),
        SAME_SERVER.gate(),
        NEGATED_BEFORE.gate(),
        &super::labels::LABEL_WORDS_GATE,
    ]
}

/// A value the member has moved on from: "587 was what I tried yesterday".
pub(super) static OLD_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\S*\s+(?:was|were)\s+(?:what\s+(?:i|we)\s+(?:tried|used|had)|the\s+old|wrong|before|yesterday|my\s+first\s+try)",
    )
    .expect("static regex")
});

/// A question about a value rather than a statement of it: "should I use 587?".
pub(super) static HYPOTHETICAL: LazyLock<GatedRegex> = LazyLock::new(|| {
    GatedRegex::new(Regex::new(
        r"(?ix)\b(?:should|shall|must|do|does|would|could|can)\s+(?:i|we|you|it)\b|\b(?:is\s+it|what\s+about|how\s+about|maybe|perhaps|try(?:ing)?|suggest(?:ed|s)?|recommend(?:ed|s)?)\b|\bor\s*$",
    )
    .expect("static regex"))
});

/// Whether the value at `at` in `text` is negated or asked about rather than stated.
/// `hits` are the message's [`WORDING_GATES`] hits.
pub(super) fn not_a_setting(text: &str, at: usize, hits: &Hits) -> bool {
    // Every sign looked for is ASCII: byte searches find the same positions as `str`'s.
    let b = text.as_bytes();
    // The clause before the value: back to the last comma, semicolon or sentence end.
    let before = &b[..at];
    let clause = &text[clause_start(before)..at];
    if NEGATED_BEFORE.is_match_in(clause, hits, NEGATED_GATE) {
        return true;
    }
    if may_be_old_after(&b[at..]) && OLD_AFTER.is_match(&text[at..]) {
        return true;
    }
    // A question: the sentence that holds the value ends with '?'.
    let after = &b[at..];
    let is_question = sentence_end(after).is_some_and(|i| after[i] == b'?');
    if !is_question {
        return false;
    }
    let sentence_start = memchr::memrchr3(b'.', b'!', b'?', before)
        .into_iter()
        .chain(memchr::memrchr(b'\n', before))
        .max()
        .filter(|&i| before[i] != b'.' || before.get(i + 1) == Some(&b' '))
        .map_or(0, |i| i + 1);
    HYPOTHETICAL.is_match(&text[sentence_start..at])
}

/// Where the clause ending `before` starts: after its last comma, semicolon, `!`, `?`, `:` or
/// ". ". One backward walk that stops at the nearest of them: the five `memrchr` searches it
/// replaced each read on to the start for the signs the line doesn't hold.
pub(super) fn clause_start(before: &[u8]) -> usize {
    let mut i = before.len();
    while i > 0 {
        i -= 1;
        match before[i] {
            b',' | b';' | b'!' | b'?' | b':' => return i + 1,
            b'.' if before.get(i + 1) == Some(&b' ') => return i + 1,
            _ => {}
        }
    }
    0
}

/// Where the sentence starting `after` ends: its first `?`, `!`, line break or ". ". Byte
/// searches (the sentence runs on for a hundred bytes or so; a byte-by-byte walk cost more),
/// the dot's only up to the first of the others.
pub(super) fn sentence_end(after: &[u8]) -> Option<usize> {
    let sign = memchr::memchr3(b'?', b'!', b'\n', after);
    let upto = &after[..sign.unwrap_or(after.len())];
    memchr::memchr_iter(b'.', upto)
        .find(|&i| after.get(i + 1) == Some(&b' '))
        .or(sign)
}

/// Whether [`OLD_AFTER`] may match `after`: its `^\S*\s+(?:was|were)` reads the value's word,
/// the white space after it, then a `w` or `W` (no other character folds to `w`). On ASCII
/// bytes that is decided here; a non-ASCII character where it matters (Unicode white space)
/// leaves it to the regex.
pub(super) fn may_be_old_after(after: &[u8]) -> bool {
    let Some(space) = after
        .iter()
        .position(|&c| super::ports::is_space(c) || c >= 0x80)
    else {
        return false;
    };
    if after[space] >= 0x80 {
        return true;
    }
    match after[space..].iter().find(|&&c| !super::ports::is_space(c)) {
        None => false,
        Some(&c) => c >= 0x80 || c | 0x20 == b'w',
    }
}
