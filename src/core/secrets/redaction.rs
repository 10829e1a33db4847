//! Redaction: every credential [`super::find`] finds, replaced with `[redacted]`.

use std::ops::Range;

use super::{find, find_with};
use crate::core::words::SecretWords;

/// Replaces every credential value in `text` with `[redacted]`, as [`find`] finds them (the
/// shipped `[secrets]` lists: for callers with no rules at hand).
pub fn redact(text: &str) -> String {
    redact_with(&crate::core::words::shipped().secrets, text)
}

/// [`redact`], with the rules' `[secrets]` lists.
pub fn redact_with(words: &SecretWords, text: &str) -> String {
    let found = find_with(words, text);
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
    redact_span_among(text, span, &find(text))
}

/// [`redact_span`] with the credentials of `text` already found ([`super::find_in`]): a
/// message's excerpts share one search instead of one each.
pub fn redact_span_among(
    text: &str,
    span: Range<usize>,
    found: &[(crate::core::report::SecretKind, Range<usize>)],
) -> String {
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
    for (_, r) in found {
        let r = r.clone();
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
