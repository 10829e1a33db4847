//! Service labels ("IMAP", "incoming", "Postausgang", `SMTP_HOST=`), tables, and the segments
//! a line splits into at its labels.

use std::sync::LazyLock;

use regex::Regex;

use super::*;

/// A row of tab-separated cells, pasted from a PDF or a spreadsheet.
pub(super) fn is_tab_row(line: &str) -> bool {
    // Most lines hold no tab, and then they are one cell.
    memchr::memchr(b'\t', line.as_bytes()).is_some()
        && line.split('\t').filter(|c| !c.trim().is_empty()).count() >= 2
}

pub(super) fn is_table_row(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.len() > 1 && t[1..].contains('|')
}

pub(super) fn cells(row: &str) -> Vec<&str> {
    let t = row.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(str::trim).collect()
}

pub(super) static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(imaps?|incoming|inbound|receiving|smtps?|outgoing|outbound|sending|submission|pop3s?|entrante|saliente|entrant|sortant|eingehend|ausgehend|posteingangsserver|postausgangsserver|posteingang|postausgang|sa[ií]da|env[ií]o|envoi|entrada|salida|r[ée]ception|recepci[oó]n|inkomende?|uitgaande?|entrata|uscita|ricezione|invio)\b",
    )
    .expect("static regex")
});

pub(super) fn label_service(word: &str) -> Option<Label> {
    let m = LABEL.find(word)?;
    if part_of_host(word, m.start(), m.end()) {
        return None;
    }
    let word = m.as_str().to_lowercase();
    LABEL_WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, s)| *s)
}

/// "imap" in `imap.gmail.com` is part of a host name, not a label; "for IMAP." is a label.
pub(super) fn part_of_host(text: &str, start: usize, end: usize) -> bool {
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    let (b1, b2) = (before.next(), before.next());
    let (a1, a2) = (after.next(), after.next());
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    // "SMTP-Server" and "IMAP-Port" are labels; `smtp-mail.outlook.com` is a host: a hyphen
    // joins a label to a host name only in a word with a dot.
    // White space may be wider than a byte (a no-break space): step over the whole character.
    let token_start = text[..start]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token_end = text[end..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| end + i);
    let dotted = text[token_start..token_end]
        .trim_end_matches(['.', ',', ':', ';', ')'])
        .contains('.');
    // `imaps://host` is a URL's scheme, read with its host.
    text[end..].starts_with("://")
        || matches!(b1, Some('@') | Some('/'))
        || (b1 == Some('.') || b1 == Some('-') && dotted) && alnum(b2)
        || matches!(a1, Some('@'))
        || (a1 == Some('.') || a1 == Some('-') && dotted) && alnum(a2)
        || alnum(a1)
}

/// The words of the label alternation, lower case, with their service.
pub(super) const LABEL_WORDS: &[(&str, Label)] = &[
    ("imap", Label::Imap),
    ("imaps", Label::Imap),
    ("incoming", Label::Imap),
    ("inbound", Label::Imap),
    ("receiving", Label::Imap),
    ("smtp", Label::Smtp),
    ("smtps", Label::Smtp),
    ("outgoing", Label::Smtp),
    ("outbound", Label::Smtp),
    ("sending", Label::Smtp),
    ("submission", Label::Smtp),
    ("pop3", Label::Pop),
    ("pop3s", Label::Pop),
    ("entrante", Label::Imap),
    ("saliente", Label::Smtp),
    ("entrant", Label::Imap),
    ("sortant", Label::Smtp),
    ("eingehend", Label::Imap),
    ("ausgehend", Label::Smtp),
    ("posteingangsserver", Label::Imap),
    ("postausgangsserver", Label::Smtp),
    ("posteingang", Label::Imap),
    ("postausgang", Label::Smtp),
    ("saida", Label::Smtp),
    ("saída", Label::Smtp),
    ("envio", Label::Smtp),
    ("envoi", Label::Smtp),
    ("envío", Label::Smtp),
    ("entrada", Label::Imap),
    ("salida", Label::Smtp),
    ("reception", Label::Imap),
    ("réception", Label::Imap),
    ("recepcion", Label::Imap),
    ("recepción", Label::Imap),
    ("inkomend", Label::Imap),
    ("inkomende", Label::Imap),
    ("uitgaand", Label::Smtp),
    ("uitgaande", Label::Smtp),
    ("entrata", Label::Imap),
    ("uscita", Label::Smtp),
    ("ricezione", Label::Imap),
    ("invio", Label::Smtp),
];

/// For each lower-case first byte, a bit per length (below 32) of the label words that begin
/// with it.
const LABEL_SHAPES: [u32; 256] = {
    let mut shapes = [0u32; 256];
    let mut i = 0;
    while i < LABEL_WORDS.len() {
        let word = LABEL_WORDS[i].0.as_bytes();
        assert!(word.len() < 32);
        shapes[word[0] as usize] |= 1 << word.len();
        i += 1;
    }
    shapes
};

pub(super) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The matches of [`LABEL`] in ASCII text, without the regex: every alternative is letters
/// between `\b`s, so a match is exactly a whole word (a maximal run of `[A-Za-z0-9_]`) equal to
/// a label, ignoring case. Non-ASCII text goes to the regex (Unicode case folding and word
/// characters); `label_scan_agrees_with_the_regex` checks the two agree.
pub(super) fn ascii_labels(line: &str) -> impl Iterator<Item = (usize, usize, Label)> + '_ {
    let b = line.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if !is_word_byte(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            let word = &b[start..i];
            // Most words can't be a label by their first letter and length: only those that
            // can are compared with the list.
            if LABEL_SHAPES[usize::from(word[0].to_ascii_lowercase())] & (1 << word.len().min(31))
                != 0
            {
                if let Some((_, service)) = LABEL_WORDS
                    .iter()
                    .find(|(w, _)| w.as_bytes().eq_ignore_ascii_case(word))
                {
                    return Some((start, i, *service));
                }
            }
        }
        None
    })
}

/// The ASCII label words, one of which an ASCII line holding a label holds.
pub(super) static LABEL_WORDS_GATE: LazyLock<crate::core::literals::Gate> = LazyLock::new(|| {
    crate::core::literals::Gate::new(LABEL_WORDS.iter().map(|(w, _)| *w).filter(|w| w.is_ascii()))
});

/// Whether an ASCII `line` may hold a label: one search for the label words anywhere in it,
/// ignoring case, proves most lines hold none, before any word is compared. The search is
/// answered from the message's `hits` when `line` is part of the message.
pub(super) fn may_hold_label(line: &str, hits: &Hits) -> bool {
    hits.may_match(LABEL_GATE, line)
        .unwrap_or_else(|| LABEL_WORDS_GATE.may_match(line, None))
        && ascii_labels(line).any(|_| true)
}

/// Every match of [`LABEL`] in `line` with its service (before the `part_of_host` filter).
pub(super) fn label_spans(line: &str) -> Vec<(usize, usize, Label)> {
    if line.is_ascii() {
        return ascii_labels(line).collect();
    }
    LABEL
        .find_iter(line)
        .filter_map(|m| label_service(m.as_str()).map(|s| (m.start(), m.end(), s)))
        .collect()
}

pub(super) struct Segment<'a> {
    pub(super) text: &'a str,
    pub(super) service: Option<Label>,
}

/// Splits a line at its service labels. "993 for IMAP" labels the text before it.
pub(super) fn segments<'a>(line: &'a str, words: &HostWords) -> Vec<Segment<'a>> {
    let labels: Vec<(usize, usize, Label)> = label_spans(line)
        .into_iter()
        .filter(|&(start, end, _)| !part_of_host(line, start, end))
        .collect();
    if labels.is_empty() {
        return vec![Segment {
            text: line,
            service: None,
        }];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<Label> = None;
    for (i, &(lstart, lend, service)) in labels.iter().enumerate() {
        let before = &line[start..lstart];
        let lead = line[..lstart].trim_end().to_ascii_lowercase();
        // "993 for IMAP", "993 (IMAP)", "x.com 993 incoming, y.com 465 outgoing": a label that
        // ends its clause names what came before it.
        let ends_clause = line[lend..]
            .trim_start()
            .chars()
            .next()
            .is_none_or(|c| matches!(c, ',' | ';' | '.' | ')' | '/'));
        // "for IMAP", "for the outgoing", "pour la réception", "pour l'envoi", "para a saída".
        let lead_word = lead
            .strip_suffix("l'")
            .or_else(|| lead.strip_suffix("l’"))
            .map(str::trim_end)
            .unwrap_or_else(|| {
                [
                    " the", " la", " le", " el", " o", " a", " den", " die", " das",
                ]
                .iter()
                .find_map(|a| lead.strip_suffix(a))
                .unwrap_or(&lead)
            });
        // "993 for IMAP" names the value right before "for"; in "..., and for SMTP the same
        // server with port 465" a word comes between, and the label names what follows.
        let backward = ([" for", " pour", " para", " für", " as"]
            .iter()
            .filter_map(|w| lead_word.strip_suffix(w))
            .any(|pre| {
                pre.split_whitespace().next_back().is_some_and(|word| {
                    word.ends_with(|c: char| c.is_ascii_digit()) || has_host_or_port(word, words)
                })
            })
            || lead.ends_with('(')
            || ends_clause)
            && has_host_or_port(before, words)
            && current.is_none();
        if backward {
            out.push(Segment {
                text: before,
                service: Some(service),
            });
            current = None;
        } else {
            out.push(Segment {
                text: before,
                service: current,
            });
            current = Some(service);
        }
        start = lend;
        if i + 1 == labels.len() {
            out.push(Segment {
                text: &line[start..],
                service: current,
            });
        }
    }
    out
}

pub(super) fn has_host_or_port(text: &str, words: &HostWords) -> bool {
    !hosts(text, words).is_empty() || !ports(text, words).is_empty()
}

pub(super) fn service_of_port(port: u16) -> Option<Label> {
    match port {
        993 | 143 | 1143 => Some(Label::Imap),
        465 | 587 | 25 | 2525 | 1025 => Some(Label::Smtp),
        110 | 995 => Some(Label::Pop),
        _ => None,
    }
}

pub(super) fn service_of_host(host: &str) -> Option<Label> {
    let first = &host[..memchr::memchr(b'.', host.as_bytes()).unwrap_or(host.len())];
    match first {
        "imap" | "imaps" | "imap-mail" | "imappro" | "imap4" | "export" => Some(Label::Imap),
        "smtp" | "smtps" | "smtpout" | "smtp-mail" | "smtppro" | "relay" | "submission" => {
            Some(Label::Smtp)
        }
        "pop" | "pop3" | "pop3s" => Some(Label::Pop),
        _ => None,
    }
}
