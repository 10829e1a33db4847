//! Small text helpers shared by the extractors.

/// Splits text into sentences: at line breaks, and at `.`, `!`, `?`, `;` followed by whitespace.
/// A dot inside a host name (`imap.gmail.com`) is not followed by whitespace, so hosts survive.
pub fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes[i];
            let end_here = b == b'\n'
                || (matches!(b, b'.' | b'!' | b'?' | b';')
                    && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()));
            i += 1;
            if end_here {
                let s = &text[start..i];
                start = i;
                if !s.trim().is_empty() {
                    return Some(s);
                }
            }
        }
        if start < bytes.len() {
            let s = &text[start..];
            start = bytes.len();
            if !s.trim().is_empty() {
                return Some(s);
            }
        }
        None
    })
}

/// The parts of `text` worth a closer look: every line holding a match of `triggers`, plus
/// `following` lines after it (a value may sit on the next line), merged where they touch.
/// Returns `(byte offset, window)` pairs in order.
///
/// Extractors run their regexes on these windows only. The trigger search is one SIMD pass;
/// without it, a megabyte of text would be read once per regex.
pub fn windows<'a>(
    text: &'a str,
    triggers: &aho_corasick::AhoCorasick,
    following: usize,
) -> Vec<(usize, &'a str)> {
    let bytes = text.as_bytes();
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while from < bytes.len() {
        let Some(m) = triggers.find(aho_corasick::Input::new(text).span(from..text.len())) else {
            break;
        };
        let start = memchr::memrchr(b'\n', &bytes[..m.start()]).map_or(0, |i| i + 1);
        let mut end = m.end();
        for _ in 0..=following {
            end = match memchr::memchr(b'\n', &bytes[end.min(bytes.len())..]) {
                Some(i) => end + i + 1,
                None => bytes.len(),
            };
            if end >= bytes.len() {
                break;
            }
        }
        let end = end.min(bytes.len());
        match out.last_mut() {
            Some(last) if last.1 >= start => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
        from = end.max(m.end());
    }
    out.into_iter().map(|(s, e)| (s, &text[s..e])).collect()
}

/// Makes mention syntax inert, whatever the text says: `@everyone`, `@here`, `<@123>`,
/// `<@&123>`, `<@!123>`. A zero-width space breaks them for Discord while reading the same.
/// The Discord adapter also sets `allowed_mentions`; this is the second wall.
pub fn neutralize_mentions(text: &str) -> String {
    const ZWSP: &str = "\u{200B}";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('@') {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        let lower_after = after[1..]
            .get(..8)
            .unwrap_or(&after[1..])
            .to_ascii_lowercase();
        let is_mass = lower_after.starts_with("everyone") || lower_after.starts_with("here");
        let is_tag = before.ends_with('<');
        out.push('@');
        if is_mass || is_tag {
            out.push_str(ZWSP);
        }
        rest = &after[1..];
    }
    out.push_str(rest);
    out
}

/// Cuts text to at most `max` characters, on a char boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_host_names_whole() {
        let got: Vec<&str> = sentences("Server is imap.gmail.com. Port 993!\nDone")
            .map(str::trim)
            .collect();
        assert_eq!(got, ["Server is imap.gmail.com.", "Port 993!", "Done"]);
    }

    #[test]
    fn windows_cover_trigger_lines_and_merge() {
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["pass"])
            .unwrap();
        let text = "a\nmy PASSword:\nhunter2\nb\nc\npass x\nd";
        let got: Vec<&str> = windows(text, &ac, 1).into_iter().map(|(_, w)| w).collect();
        assert_eq!(got, ["my PASSword:\nhunter2\n", "pass x\nd"]);
        let got: Vec<(usize, &str)> = windows("x pass", &ac, 0);
        assert_eq!(got, [(0, "x pass")]);
        assert!(windows("nothing here", &ac, 3).is_empty());
    }

    #[test]
    fn mentions_are_broken() {
        let out = neutralize_mentions("hi @everyone and @HERE <@&42> <@7> mail@x.com");
        assert!(!out.contains("@everyone"));
        assert!(!out.contains("@HERE"));
        assert!(!out.contains("<@&"));
        assert!(!out.contains("<@7"));
        assert!(out.contains("mail@x.com"));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo wörld", 5), "héll…");
        assert_eq!(truncate("short", 10), "short");
    }
}
