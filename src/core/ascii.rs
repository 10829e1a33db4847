//! A regex's ASCII twin: the same pattern with everything that can only match non-ASCII text
//! taken out, for ASCII haystacks.
//!
//! Unicode classes make automata large: `\w` alone is hundreds of UTF-8 states, and `.{0,30}`
//! or `[\w.\-]{0,40}` repeats them, so the lazy DFA spends its time building states or gives up
//! to the PikeVM (a zone pattern cost 250 – 600 ns per line, its twin 14 ns). On ASCII text a
//! match can only take the ASCII part of each class, so the twin (every class cut to its ASCII
//! part, every non-ASCII literal made unmatchable, Unicode word boundaries made ASCII ones)
//! finds exactly the same matches, groups included, with an automaton of a few states.
//! Text with any other byte goes to the regex itself.
//!
//! A twin is not always faster: a smaller pattern may give the regex crate a literal prefilter
//! that stops on nearly every byte (the "same server" wording regex went from 1.5 to 4.5 µs a
//! line), and the rules' `RegexSet` and the Hub ID label read no faster. So only the zone
//! patterns, run at the start of every line, use one (BENCHMARKS.md, "The fourth cuts").

use regex::Regex;
use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind,
    Look, Repetition,
};

/// A regex and its ASCII twin; [`AsciiTwin::for_text`] picks the one to run on a haystack.
#[derive(Debug, Clone)]
pub struct AsciiTwin {
    full: Regex,
    ascii: Regex,
}

impl AsciiTwin {
    /// The twin of `full`; when it can't be built, `full` serves for both.
    pub fn new(full: Regex) -> AsciiTwin {
        let ascii = twin_pattern(full.as_str())
            .and_then(|p| Regex::new(&p).ok())
            .unwrap_or_else(|| full.clone());
        AsciiTwin { full, ascii }
    }

    /// The regex to run on `haystack` (the whole text searched, look-around context included):
    /// the twin when it is ASCII.
    pub fn for_text(&self, haystack: &str) -> &Regex {
        if haystack.is_ascii() {
            &self.ascii
        } else {
            &self.full
        }
    }

    /// The regex as written.
    pub fn full(&self) -> &Regex {
        &self.full
    }

    pub fn as_str(&self) -> &str {
        self.full.as_str()
    }
}

/// The ASCII twin of `pattern` as a pattern, or `None` if it doesn't parse.
pub fn twin_pattern(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    Some(ascii_only(&hir).to_string())
}

/// `hir` matching only what it matches within ASCII text.
fn ascii_only(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => {
            if lit.0.is_ascii() {
                hir.clone()
            } else {
                Hir::fail()
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut ascii = ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7F')]);
            ascii.intersect(class);
            Hir::class(Class::Unicode(ascii))
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut ascii = ClassBytes::new([ClassBytesRange::new(0, 0x7F)]);
            ascii.intersect(class);
            Hir::class(Class::Bytes(ascii))
        }
        // Between two ASCII characters (or an end), a Unicode word boundary is an ASCII one.
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => *other,
        }),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(ascii_only(&r.sub)),
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(ascii_only(&c.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_only).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(ascii_only).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patterns run through their twins: the zones'. The Hub ID label, a heavy user of
    /// Unicode classes, is checked as well.
    fn patterns() -> Vec<String> {
        let rules = crate::core::rules::shipped_for_tests();
        let z = &rules.reading.zones;
        let mut out: Vec<String> = [&z.trace, &z.log, &z.config, &z.signature_start]
            .iter()
            .map(|re| re.as_str().to_string())
            .collect();
        out.push(rules.reading.hub_id.label.as_str().to_string());
        out
    }

    /// ASCII texts with the shapes the patterns look for: the test corpus's ASCII lines, and
    /// made-up ones around the edges (word boundaries, case, digits, punctuation).
    fn texts() -> Vec<String> {
        let mut out = vec![
            String::new(),
            " ".into(),
            "at Socket.onTimeout (net.js:512:8)".into(),
            "2019-03-12 10:22:01 ERROR connect failed".into(),
            "SMTP__HOST=mail.x.com:465".into(),
            "  host: 'smtp.x.com'".into(),
            "Thanks,".into(),
            "Kind regards".into(),
            "Hub ID: 4821937 and hub#123456 portal 2024-05-01 account number 555-123-4567".into(),
            "server mail.example-host.net port 993, and it's not smtp.gmail.com:587?".into(),
            "I meant port 465. Sorry, edit: same server for outgoing, SMTP uses the same host"
                .into(),
            "535 5.7.8 Username and Password not accepted; 5.7.139 basic auth is disabled".into(),
            "certificate verify failed: self signed certificate in chain (x509: unknown authority)"
                .into(),
            "CONNECTION REFUSED ECONNREFUSED 198.51.100.23:993 ETIMEDOUT getaddrinfo ENOTFOUND"
                .into(),
            "I confirmed the password is correct and checked the ports with my provider".into(),
            "_a_ k K s S kelvin x9_ 9x __init__ -- --flag=1 [section] {}".into(),
        ];
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut stack = vec![corpus];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    // Thread files hold their text JSON-escaped; the escapes are ASCII too.
                    out.extend(text.lines().filter(|l| l.is_ascii()).map(String::from));
                    let ascii: String = text.chars().filter(char::is_ascii).collect();
                    out.push(ascii.replace("\\n", "\n"));
                }
            }
        }
        out
    }

    #[test]
    fn twins_find_the_same_matches_in_ascii_text() {
        let texts = texts();
        assert!(texts.len() > 100, "the test corpus was not found");
        for pattern in patterns() {
            let full = Regex::new(&pattern).expect("pattern compiles");
            let twin = AsciiTwin::new(full.clone());
            assert_ne!(
                twin.for_text("ascii").as_str(),
                pattern,
                "no twin was built for {pattern}"
            );
            for text in &texts {
                let ascii = twin.for_text(text);
                let a: Vec<_> = full.captures_iter(text).map(|c| spans(&c)).collect();
                let b: Vec<_> = ascii.captures_iter(text).map(|c| spans(&c)).collect();
                assert_eq!(a, b, "{pattern} on {text:?}");
                // A search that starts inside the text sees the same context.
                for at in [1, text.len() / 2] {
                    if text.is_char_boundary(at) {
                        assert_eq!(
                            full.find_at(text, at).map(|m| m.range()),
                            ascii.find_at(text, at).map(|m| m.range()),
                            "{pattern} at {at} on {text:?}"
                        );
                    }
                }
            }
        }
    }

    fn spans(c: &regex::Captures<'_>) -> Vec<Option<std::ops::Range<usize>>> {
        c.iter().map(|m| m.map(|m| m.range())).collect()
    }

    #[test]
    fn text_with_other_bytes_goes_to_the_regex() {
        let twin = AsciiTwin::new(Regex::new(r"(?i)\bgr[üu]ße\b|\w+").unwrap());
        assert_eq!(twin.for_text("grüße").as_str(), twin.full().as_str());
        assert_ne!(twin.for_text("grusse").as_str(), twin.full().as_str());
        assert_eq!(
            twin.for_text("grüße").find("grüße").map(|m| m.as_str()),
            Some("grüße")
        );
        // The twin of a non-ASCII literal matches nothing; its ASCII branch still works.
        let t = twin.for_text("x");
        assert_eq!(t.find("gruße x").map(|m| m.as_str()), Some("gru"));
    }
}
