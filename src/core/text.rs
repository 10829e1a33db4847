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

/// Words whose presence makes a line worth a regex, found ignoring ASCII case.
///
/// Each word is searched for with its own SIMD substring finder in an ASCII-lower-cased copy of
/// the text ([`lower`], made once per message and shared by the extractors): on long text that
/// is several times faster than one automaton for all the words (measured again with
/// aho-corasick over the lower-cased copy: the trigger search went from a few percent of the
/// core's instructions to a fifth), and each finder's next hit is kept, so every word still
/// reads the text once.
#[derive(Debug, Clone)]
pub struct Triggers {
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Triggers {
    pub fn new(words: &[&str]) -> Triggers {
        Triggers::from_words(words.iter().map(|w| w.as_bytes().to_vec()).collect())
    }

    /// Triggers from raw words (lower-cased here), such as the prefixes derived from a rule's
    /// regex, which may hold part of a multi-byte character.
    pub fn from_words(words: Vec<Vec<u8>>) -> Triggers {
        Triggers {
            finders: words
                .iter()
                .map(|w| memchr::memmem::Finder::new(&w.to_ascii_lowercase()).into_owned())
                .collect(),
        }
    }

    /// The words, lower-cased: for a [`super::literals::GateIndex`] that finds them together
    /// with other literals, in one pass ([`windows_at`]).
    pub fn words(&self) -> Vec<Vec<u8>> {
        self.finders.iter().map(|f| f.needle().to_vec()).collect()
    }
}

/// `text` with ASCII letters lower-cased: the same bytes at the same offsets otherwise.
pub fn lower(text: &str) -> Vec<u8> {
    text.as_bytes().to_ascii_lowercase()
}

/// The parts of `text` worth a closer look: every line holding one of the `triggers`, plus
/// `following` lines after it (a value may sit on the next line), merged where they touch.
/// Returns `(byte offset, window)` pairs in order. `lower` is [`lower`]`(text)`.
///
/// Extractors run their regexes on these windows only; without them, a megabyte of text would
/// be read once per regex. Linear: each word's finder reads the text once.
pub fn windows<'a>(
    text: &'a str,
    lower: &[u8],
    triggers: &Triggers,
    following: usize,
) -> Vec<(usize, &'a str)> {
    debug_assert_eq!(text.len(), lower.len());
    let len = lower.len();
    // The next occurrence of each word at or after `from` (`len` when there is none).
    let mut next: Vec<Option<usize>> = vec![None; triggers.finders.len()];
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while from < len {
        let mut hit = len;
        for (finder, cached) in triggers.finders.iter().zip(next.iter_mut()) {
            let at = match *cached {
                Some(at) if at >= from => at,
                _ => {
                    let at = finder.find(&lower[from..]).map_or(len, |i| from + i);
                    *cached = Some(at);
                    at
                }
            };
            hit = hit.min(at);
        }
        if hit == len {
            break;
        }
        from = add_window(&mut out, lower, hit, following);
    }
    out.into_iter().map(|(s, e)| (s, &text[s..e])).collect()
}

/// Adds to `out` the window of a trigger found at `hit`: its line and `following` lines after
/// it, merged with the window before where they touch. Returns the end of the trigger's own
/// line, where the search goes on: a trigger on a following line extends the window
/// ("password stuff\npassword:\nhunter2").
fn add_window(out: &mut Vec<(usize, usize)>, lower: &[u8], hit: usize, following: usize) -> usize {
    let len = lower.len();
    let start = memchr::memrchr(b'\n', &lower[..hit]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &lower[hit..]).map_or(len, |i| hit + i + 1);
    let mut end = line_end;
    for _ in 0..following {
        if end >= len {
            break;
        }
        end = memchr::memchr(b'\n', &lower[end..]).map_or(len, |i| end + i + 1);
    }
    match out.last_mut() {
        Some(last) if last.1 >= start => last.1 = last.1.max(end),
        _ => out.push((start, end)),
    }
    line_end
}

/// [`windows`], from the places of the trigger words found beforehand: `hits` are the
/// `(start, end)` of every occurrence of every word in `lower`, by start (as
/// [`super::literals::Hits::spans`] gives them). The same windows as [`windows`] with the same
/// words.
pub fn windows_at<'a>(
    text: &'a str,
    lower: &[u8],
    hits: &[(usize, usize)],
    following: usize,
) -> Vec<(usize, &'a str)> {
    debug_assert_eq!(text.len(), lower.len());
    let len = lower.len();
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    let mut next = 0;
    while from < len {
        // The first occurrence at or after `from`, as the finders would find it.
        next += hits[next..].partition_point(|&(s, _)| s < from);
        let Some(&(hit, _)) = hits.get(next) else {
            break;
        };
        from = add_window(&mut out, lower, hit, following);
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

/// The most characters one chat message may hold: Discord's limit for a message's content. Every
/// text the bot posts is cut to it (or, like the reply, fitted within it).
pub const MESSAGE_LIMIT: usize = 2000;

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

    fn windows_of<'a>(text: &'a str, words: &[&str], following: usize) -> Vec<(usize, &'a str)> {
        windows(text, &lower(text), &Triggers::new(words), following)
    }

    #[test]
    fn windows_cover_trigger_lines_and_merge() {
        let text = "a\nmy PASSword:\nhunter2\nb\nc\npass x\nd";
        let got: Vec<&str> = windows_of(text, &["pass"], 1)
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(got, ["my PASSword:\nhunter2\n", "pass x\nd"]);
        assert_eq!(windows_of("x pass", &["pass"], 0), [(0, "x pass")]);
        assert!(windows_of("nothing here", &["pass"], 3).is_empty());
        assert_eq!(
            windows_of("é\nb HUB c\nportal\nx\ny", &["hub", "portal"], 0),
            [(3, "b HUB c\nportal\n")]
        );
    }

    /// A trigger on a window's following line extends the window: the value after it is read.
    #[test]
    fn windows_follow_triggers_on_following_lines() {
        let text = "password stuff\npassword:\nhunter2\nz";
        assert_eq!(
            windows_of(text, &["pass"], 1),
            [(0, "password stuff\npassword:\nhunter2\n")]
        );
    }

    /// The finders agree with a case-insensitive automaton over the same words.
    #[test]
    fn windows_match_an_automaton_search() {
        let words = ["pass", "pw", "senha", "\u{17F}"];
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap();
        for text in [
            "PW\nx\nsenhA y\n\nz paſs\n",
            "no\nmatch\n",
            "xpassx\nPASS\npasS\n\n\npw",
        ] {
            let lines: Vec<usize> = text
                .split_inclusive('\n')
                .enumerate()
                .filter(|(_, l)| ac.is_match(*l))
                .map(|(i, _)| i)
                .collect();
            let got: Vec<&str> = windows_of(text, &words, 0)
                .into_iter()
                .map(|(_, w)| w)
                .collect();
            let want: Vec<&str> = text
                .split_inclusive('\n')
                .enumerate()
                .filter(|(i, _)| lines.contains(i))
                .map(|(_, l)| l)
                .collect();
            assert_eq!(got.concat(), want.concat(), "{text:?}");
        }
    }

    proptest::proptest! {
        /// Windows from the places an index found ([`windows_at`]) are the windows the
        /// finders give ([`windows`]), for any text, words and number of following lines.
        #[test]
        fn windows_at_the_index_hits_are_the_finders_windows(
            text in "([a-zA-Z :\n-]|PASS|pass|pw|sſ|ſ|é|auth|334|\n\n|one is){0,24}",
            following in 0usize..5,
        ) {
            let words: [&[&str]; 3] = [
                &["pass", "pw", "\u{17F}", "one is", "-p"],
                &["auth", "334", "ugfzc3dvcmq6"],
                &["a", "as", "ss"],
            ];
            let lowered = lower(&text);
            let sets: Vec<Vec<Vec<u8>>> = words
                .iter()
                .map(|w| Triggers::new(w).words())
                .collect();
            let refs: Vec<Option<&[Vec<u8>]>> = sets.iter().map(|s| Some(s.as_slice())).collect();
            let index = crate::core::literals::GateIndex::of_sets(&refs);
            let hits = index.hits(&text, &lowered);
            for (i, w) in words.iter().enumerate() {
                proptest::prop_assert_eq!(
                    windows_at(&text, &lowered, hits.spans(i), following),
                    windows(&text, &lowered, &Triggers::new(w), following),
                    "words {:?}", w
                );
            }
        }
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
