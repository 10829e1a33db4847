use super::patterns::PatternSet;

fn plain(set: &PatternSet, text: &str) -> Vec<usize> {
    let mut groups: Vec<usize> = set
        .set
        .matches(text.as_bytes())
        .iter()
        .map(|i| set.owner[i])
        .collect();
    groups.dedup();
    groups
}

/// The provider sets find the provider the pattern-by-pattern search finds.
#[test]
fn provider_sets_agree_with_plain_searches() {
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    assert!(rules.host_set.is_some() && rules.domain_set.is_some());
    let mut names: Vec<String> = Vec::new();
    for p in &rules.providers {
        for s in p.imap.iter().chain(&p.smtp) {
            names.push(s.host.clone());
            names.extend(s.also_hosts.iter().cloned());
        }
    }
    names.extend(
        [
            "gmail.com",
            "outlook.com",
            "yahoo.co.uk",
            "icloud.com",
            "me.com",
            "acme.com",
            "mail.acme.com",
            "x.gmail.com.evil.net",
            "",
            "secureserver.net",
            "gmx.de",
        ]
        .map(String::from),
    );
    for name in &names {
        let by_host = rules
            .providers
            .iter()
            .find(|p| p.host_patterns.iter().any(|re| re.is_match(name)));
        let by_domain = rules
            .providers
            .iter()
            .find(|p| p.domain_patterns.iter().any(|re| re.is_match(name)));
        assert_eq!(
            rules.provider_by_host(name).map(|p| &p.id),
            by_host.map(|p| &p.id),
            "{name}"
        );
        assert_eq!(
            rules.provider_by_domain(name).map(|p| &p.id),
            by_domain.map(|p| &p.id),
            "{name}"
        );
    }
}

/// The combined set changes nothing: the same rules and items match as with each set; and
/// the first matching pattern of each item is the one a pattern-by-pattern search finds.
#[test]
fn combined_set_and_first_patterns_agree_with_plain_searches() {
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    assert!(rules.both_set.is_some());
    let filler = "We tried again with the hosting panel settings, and it still fails.\n";
    let tails = [
        "",
        "IMAP authentication error. I typed my password manually.",
        "Error: something went wrong\n* NO [AUTHENTICATIONFAILED] Invalid credentials",
        "xerror: \"it broke\" 550 5.7.139 and the checklist is done",
        "I did all four steps. My password is correct, IT team confirmed the settings.",
        "> a1 BAD command\n535 5.7.8 nope, ECONNREFUSED, SocketException",
    ];
    for tail in tails {
        for repeat in [0, 1, 80] {
            for (before, after) in [(filler.repeat(repeat), ""), (String::new(), filler)] {
                let text = format!("{before}{tail}{}", after.repeat(repeat));
                let error_set = rules.error_set().expect("the error set compiles");
                let checklist_set = rules.checklist_set().expect("the checklist set compiles");
                for set in [error_set, checklist_set] {
                    assert_eq!(set.matching_groups(&text), plain(set, &text), "{tail:?}");
                }
                let first = rules.checklist_first_patterns(&text);
                let groups = rules.checklist.items.iter().map(|i| &i.patterns);
                let groups = groups.chain(std::iter::once(&rules.checklist.all_patterns));
                let want: Vec<Option<usize>> = groups
                    .map(|patterns| patterns.iter().position(|re| re.is_match(&text)))
                    .collect();
                assert_eq!(first, want, "{tail:?}");
                let both = rules.matching(&text);
                assert_eq!(both.errors, plain(error_set, &text), "{tail:?}");
                let patterns: Vec<Vec<usize>> = both
                    .errors
                    .iter()
                    .map(|&e| {
                        let patterns = rules.errors[e].patterns.iter().enumerate();
                        patterns
                            .filter(|(_, re)| re.is_match(&text))
                            .map(|(i, _)| i)
                            .collect()
                    })
                    .collect();
                assert_eq!(both.error_patterns, Some(patterns), "{tail:?}");
                assert_eq!(both.checklist, plain(checklist_set, &text), "{tail:?}");
            }
        }
    }
}

/// The name set only picks which providers to look at: the names found are those a search
/// with every pattern finds.
#[test]
fn provider_names_agree_with_plain_searches() {
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    assert!(rules.name_set.is_some());
    for text in [
        "we're on O365 and Gmail, also zoho",
        "nothing named here at all",
        "Fastmail, ionos 1&1, and iCloud Mail; 5.7.139 from x.prod.outlook.com",
        "",
    ] {
        let plain: Vec<(&str, std::ops::Range<usize>)> = {
            let mut v: Vec<_> = rules
                .providers
                .iter()
                .flat_map(|p| {
                    p.name_patterns.iter().flat_map(move |re| {
                        re.find_iter(text).map(move |m| (p.id.as_str(), m.range()))
                    })
                })
                .collect();
            v.sort_by_key(|(_, r)| r.start);
            v
        };
        let found: Vec<(&str, std::ops::Range<usize>)> = rules
            .provider_names_in(text)
            .into_iter()
            .map(|(p, r)| (p.id.as_str(), r))
            .collect();
        assert_eq!(found, plain, "{text:?}");
    }
}

/// Long texts are read by the whole set's lazy DFA (which may give up) or by sets of a few
/// patterns; both find exactly the patterns the one `RegexSet` finds. The texts: the corpus's
/// files run together, in pieces of 20 – 60 KB (ASCII and not), and the same pieces with their
/// lines shuffled so that nothing repeats.
#[test]
fn long_texts_find_the_patterns_the_regex_set_finds() {
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    let all = corpus_texts().concat();
    let lines: Vec<&str> = all.lines().collect();
    let mut texts = Vec::new();
    // Four pieces from each end of the corpus (its newest threads hold the other languages):
    // the `RegexSet` this is checked against reads slowly in a debug build.
    let pieces: Vec<&[&str]> = lines.chunks(700).filter(|p| p.len() == 700).collect();
    let chosen = pieces.iter().take(2).chain(pieces.iter().rev().take(2));
    for (n, piece) in chosen.enumerate() {
        texts.push(piece.join("\n"));
        // A fixed shuffle (a step coprime with most piece lengths), no randomness.
        let shuffled: Vec<&str> = (0..piece.len())
            .map(|i| piece[(i * 389 + n) % piece.len()])
            .collect();
        texts.push(shuffled.join("\n"));
    }
    assert!(texts.iter().any(|t| t.is_ascii()) && texts.iter().any(|t| !t.is_ascii()));
    // The combined set: the errors' and the checklist's sets hold parts of its patterns.
    {
        let set = rules.both_set.as_ref().expect("both");
        for text in &texts {
            assert!(text.len() >= 16 << 10, "{}", text.len());
            let expected: Vec<usize> = set.set.matches(text.as_bytes()).into_iter().collect();
            assert_eq!(set.matches_in_parts(text), expected);
            if let Some(found) = set.whole_set_matches(text) {
                assert_eq!(found, expected);
            }
            assert_eq!(set.matches(text), expected);
        }
    }
}

/// The whole set's own DFA loop finds the patterns the library's overlapping search finds, and
/// gives up (or quits on a byte) where it does: every corpus file and line, the same lines
/// joined and shuffled, texts made of the patterns' own words, and short edge cases.
#[test]
fn the_whole_set_walk_finds_what_the_overlapping_search_finds() {
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    let set = rules.both_set.as_ref().expect("both");
    let mut texts = corpus_texts();
    let lines: Vec<String> = texts
        .iter()
        .flat_map(|t| t.lines().map(str::to_string))
        .collect();
    let ascii: Vec<&String> = lines.iter().filter(|l| l.is_ascii()).collect();
    for n in 0..4 {
        let shuffled: Vec<&str> = (0..ascii.len())
            .map(|i| ascii[(i * 389 + n) % ascii.len()].as_str())
            .take(600)
            .collect();
        texts.push(shuffled.join("\n"));
    }
    // The lines in runs of 25 (a debug build reads slowly).
    for run in lines.chunks(25) {
        texts.push(run.join("\n"));
    }
    // The patterns' own words, one after another: texts where many patterns match, some only
    // at the very end (the match found on the end-of-text transition).
    let words: Vec<String> = set
        .set
        .patterns()
        .iter()
        .flat_map(|p| {
            p.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.len() > 2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for n in 0..40 {
        let text: Vec<&str> = (0..30)
            .map(|i| words[(i * 131 + n * 17) % words.len()].as_str())
            .collect();
        texts.push(text.join(" "));
        texts.push(text.join("."));
    }
    texts.extend(
        [
            "",
            "x",
            "checklist done",
            "checklist done.",
            "the checklist is completed",
            "Checkliste erledigt, alle vier Punkte geprüft",
            "j'ai vérifié les quatre points de la checklist",
            "connection refused",
            "authentication failed\n",
        ]
        .map(str::to_string),
    );
    let (mut answered, mut answered_by_library) = (0, 0);
    // One cache each, fed the same texts. They may give up at different places (the library's
    // search counts the bytes read per state built a little differently: it leaves out the byte
    // of each match it returns), and then their caches differ; a text either gives up on goes
    // to the sets in parts, with the same answer.
    let (mut walk_cache, mut library_cache) = (None, None);
    for text in &texts {
        let expected: Vec<usize> = set.set.matches(text.as_bytes()).into_iter().collect();
        let walked = set.whole_set_matches_with(&mut walk_cache, text, false);
        let by_library = set.whole_set_matches_with(&mut library_cache, text, true);
        if let Some(found) = walked {
            answered += 1;
            assert_eq!(found, expected, "{text:?}");
        }
        if let Some(found) = by_library {
            answered_by_library += 1;
            assert_eq!(found, expected, "{text:?}");
        }
    }
    // Most corpus texts hold a byte that is not ASCII, which the DFA quits on (Unicode `\b`).
    assert!(
        answered >= 40 && answered_by_library >= 40,
        "{answered} and {answered_by_library} of {}",
        texts.len()
    );
}

/// The sets' patterns with compact gaps ([`super::patterns::compact_gaps`]) find the matches
/// the patterns as written find, at the same places: every error and checklist pattern on every
/// corpus file and line, and German, French and Portuguese texts whose gaps hold accented
/// letters (two bytes each) and curly quotes (three), right up to each gap's length and past it.
#[test]
fn compact_gaps_match_as_the_patterns_do() {
    use super::patterns::compact_gaps;
    let rules = crate::core::rules::shipped().expect("shipped rules are valid");
    let patterns: Vec<&str> = super::typed::error_groups(&rules.errors)
        .into_iter()
        .chain(super::typed::checklist_groups(&rules.checklist))
        .flatten()
        .map(|re| re.as_str())
        .collect();
    let rewritten: Vec<String> = patterns.iter().map(|p| compact_gaps(p)).collect();
    let changed = patterns
        .iter()
        .zip(&rewritten)
        .filter(|(p, r)| **p != r.as_str())
        .count();
    assert!(changed > 60, "{changed} patterns with compact gaps");
    // The set holds the rewritten patterns.
    let both = rules.both_set.as_ref().expect("both");
    assert_eq!(both.set.patterns(), rewritten.as_slice());

    let mut texts = corpus_texts();
    // A gap of N characters that are letters of two bytes, or curly quotes of three, is 2N or
    // 3N bytes: the byte pieces must still count characters.
    for n in [
        4, 9, 10, 11, 19, 20, 21, 29, 30, 31, 39, 40, 41, 49, 50, 51, 59, 60, 61, 79, 80, 81,
    ] {
        for unit in ["é", "ü", "ç", "ã", "’", "a", " ", "ß"] {
            let gap = unit.repeat(n);
            texts.push(format!("done {gap} all {gap} four"));
            texts.push(format!("checklist {gap} done"));
            texts.push(format!("all {gap} four {gap} steps {gap} done"));
            texts.push(format!("I typed {gap} password {gap} manually"));
            texts.push(format!(
                "Checkliste {gap} erledigt, alle vier {gap} Punkte geprüft"
            ));
            texts.push(format!(
                "j'ai vérifié {gap} les quatre points {gap} de la checklist"
            ));
            texts.push(format!("já verifiquei {gap} todos os quatro {gap} pontos"));
        }
    }
    texts.extend(
        [
            "Ich habe die Checkliste durchgearbeitet, alle vier Punkte sind erledigt.",
            "Ich habe das Passwort von Hand eingegeben, nicht kopiert.",
            "J’ai tapé le mot de passe à la main, manuellement, et vérifié les quatre points.",
            "Já verifiquei os quatro pontos da checklist, está tudo concluído.",
            "Eu digitei a senha manualmente, não colei, e o erro de autenticação continua.",
            "I’ve checked all four points — done ✅ — still “authentication failed”.",
            "I did all 4 of the checklist items ✓ and typed the password by hand 👍",
        ]
        .map(str::to_string),
    );
    let lines: Vec<String> = texts
        .iter()
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    texts.extend(lines);
    for (pattern, compact) in patterns.iter().zip(&rewritten) {
        if *pattern == compact.as_str() {
            continue;
        }
        let written = regex::Regex::new(pattern).expect("pattern");
        let compact = regex::bytes::Regex::new(compact).expect("compact pattern");
        for text in &texts {
            let expected: Vec<_> = written.find_iter(text).map(|m| m.range()).collect();
            let found: Vec<_> = compact
                .find_iter(text.as_bytes())
                .map(|m| m.range())
                .collect();
            assert_eq!(found, expected, "{pattern} on {text:?}");
        }
    }
}

/// A gap is rewritten only where it can be: not at the end of a pattern, not under a flag that
/// changes `.`, and not where nothing after it must take a character.
#[test]
fn compact_gaps_leave_what_they_cannot_prove() {
    use super::patterns::compact_gaps;
    let piece = r"(?-u:[^\n\x80-\xBF][\x80-\xBF]*)";
    assert_eq!(
        compact_gaps(r"(?i)\bdone\b.{0,40}\ball\b"),
        format!(r"(?i)\bdone\b{piece}{{0,40}}\ball\b")
    );
    assert_eq!(
        compact_gaps(r"a.{0,5}(b|c).{2,9}d"),
        format!(r"a{piece}{{0,5}}(b|c){piece}{{2,9}}d")
    );
    for kept in [
        r"done.{0,40}",
        r"done.{0,40}\b",
        r"done.{0,40}(x)?",
        r"(?s)done.{0,40}all",
        r"(?-u)done.{0,40}all",
        r"(?R)done.{0,40}all",
        r"done.*all",
        r"done\.{0,4}all",
        r"(unclosed.{0,4}x",
    ] {
        assert_eq!(compact_gaps(kept), kept);
    }
}

/// Every file of tests/corpus, in name order, as text.
fn corpus_texts() -> Vec<String> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("tests/corpus")
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| std::fs::read_to_string(file).unwrap_or_default())
        .collect()
}
