use super::*;

fn req(pattern: &str) -> Option<Vec<String>> {
    required(pattern).map(|r| {
        r.into_iter()
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .collect()
    })
}

#[test]
fn inner_words_are_required() {
    assert_eq!(req(r"(?i)\bi\s+meant\b"), Some(vec!["meant".into()]));
    // "connection" holds a word of nearly every message: "refused" is the better gate.
    assert_eq!(
        req(r"(?i)connection[ \t]+(was[ \t]+)?refused"),
        Some(vec!["refused".into()])
    );
    assert_eq!(
        req(r"(?i)\b(?:gleiche|selbe)n?\s+server\b"),
        Some(vec!["gleiche".into(), "selbe".into()])
    );
    assert_eq!(
        req(r"(?i)\bgo[ \t]?daddy"),
        Some(vec![
            "go\tdaddy".into(),
            "go daddy".into(),
            "godaddy".into()
        ])
    );
    assert_eq!(
        req(r"(?i)e-?mail"),
        Some(vec!["e-mail".into(), "email".into()])
    );
    assert_eq!(req(r"\b5\.7\.139\b"), Some(vec!["5.7.139".into()]));
    assert_eq!(req(r"(?i)(ab|\w)"), None);
    assert_eq!(req(r"(?i)\w+"), None);
    assert_eq!(req(r"x*"), None);
}

#[test]
fn gates_pass_non_ascii_text() {
    let gate = Gate::new([r"(?i)sorry"]);
    assert!(!gate.may_match("all fine", None));
    assert!(gate.may_match("SoRRY", None));
    // `(?i)s` matches the long s too: non-ASCII text always goes to the regex.
    assert!(gate.may_match("ſorry", None));
    assert!(Regex::new(r"(?i)sorry").unwrap().is_match("ſorry"));
}

proptest::proptest! {
    /// The index's answer for every slice of a text is the gate's own answer on the slice,
    /// for each gate of the index; a string that is not a slice of the text gets none.
    #[test]
    fn index_hits_answer_as_each_gate(
        text in "([a-zA-Z .:\n-]|meant|SORRY|Edit|gmail|suite|same server|SMTP|not |é|ſorry|no setting|isn't){0,14}",
    ) {
        let gates = [
            Gate::new([r"(?i)\b(?:i\s+meant|sorry|edit\s*:|typo)"]),
            Gate::new([r"(?i)\bsame\s+server\b.{0,30}\b(?:smtp|imap)\b", r"(?i)g[ \t-]?suite"]),
            Gate::new([r"(?i)\b(?:not|isn'?t)|\bno\s+(?:setting|option)s?\b"]),
            Gate::new([r"(?i)\w+"]),
            Gate::new([r"(?i)gmail|mail|ail"]),
        ];
        let index = GateIndex::new(&gates.iter().collect::<Vec<_>>());
        let hits = index.hits(&text, &crate::core::text::lower(&text));
        let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        for (i, &start) in bounds.iter().enumerate() {
            for &end in &bounds[i..] {
                let part = &text[start..end];
                for (g, gate) in gates.iter().enumerate() {
                    proptest::prop_assert_eq!(
                        hits.may_match(g, part),
                        Some(gate.may_match(part, None)),
                        "gate {} on {:?}", g, part
                    );
                }
            }
        }
        // (Two empty strings may share a dangling address.)
        let copy = text.clone();
        if !copy.is_empty() {
            proptest::prop_assert_eq!(hits.may_match(0, &copy), None);
        }
        proptest::prop_assert_eq!(Hits::default().may_match(0, &text), None);
    }

    /// A gate never turns away a text its regex matches.
    #[test]
    fn a_gate_never_refuses_a_match(
        pattern in proptest::sample::select(vec![
            r"(?i)\b(?:i\s+meant|sorry|edit\s*:|typo|my\s+bad)",
            r"(?i)connection[ \t]+(was[ \t]+)?(refused|reset)",
            r"(?i)\b(g-?mail|google[ \t]*mail|g[ \t-]?suite)\b",
            r"\b5\.7\.139\b|(?i)\bx{2}y",
            r"(?i)\b[a-z0-9-]+\.prod\.outlook\.com\b",
            r"(?i)(^|[^0-9.])535[ -](5\.\d{1,3}|auth)",
            r"(?i)\bno\s+(?:setting|option)s?\b[^,.;:]{0,20}\s*$",
        ]),
        text in "([a-zA-Z0-9 .:\t-]|meant|SORRY|Edit|gmail|G-Mail|suite|5\\.7\\.139|xxy|XXY|refused|connection|prod\\.outlook\\.com|535 |auth|no |setting){0,12}",
    ) {
        let re = Regex::new(pattern).unwrap();
        if re.is_match(&text) {
            proptest::prop_assert!(Gate::new([pattern]).may_match(&text, None), "{pattern} {text:?}");
        }
    }
}
