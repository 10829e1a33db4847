use super::patterns::PatternSet;

fn plain(set: &PatternSet, text: &str) -> Vec<usize> {
    let mut groups: Vec<usize> = set.set.matches(text).iter().map(|i| set.owner[i]).collect();
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
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("tests/corpus")
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    files.sort();
    let mut all = String::new();
    for file in files {
        all.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
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
            let expected: Vec<usize> = set.set.matches(text).into_iter().collect();
            assert_eq!(set.matches_in_parts(text), expected);
            if let Some(found) = set.whole_set_matches(text) {
                assert_eq!(found, expected);
            }
            assert_eq!(set.matches(text), expected);
        }
    }
}
