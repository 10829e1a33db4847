//! A member's answers to the moderator's checklist questions just before them: "1 yes 2 yes 3 no",
//! "yep, typed by hand", "typed them manually yes. haven't asked godaddy yet".
//!
//! Which point a question asks about is read with the checklist's own patterns ("did you type
//! your email and password by hand?" is a sentence that would confirm `typed_credentials`), then
//! with the points' `answer_patterns` ("did you confirm the servers with Zoho?"). The answer
//! then confirms or denies only the points asked.

use std::sync::LazyLock;

use regex::Regex;

use super::classify;
use super::confirmations::negated;
use super::report::{Checklist, ErrorFound};
use super::rules::{self, Provider, Rules};
use super::text::sentences;

/// `reading.toml`'s `[answers]`: the questions beyond the checklist a member's short answer
/// settles. Each is `None` (or empty) when the rules leave it out.
#[derive(Debug, Clone, Default)]
pub struct AnswerPatterns {
    /// A question whether the member is on one provider, with that provider's names taken out.
    pub provider_question: Option<Regex>,
    /// The answers picking the first, second, ... of the options offered.
    pub choice: Vec<Regex>,
    /// The answers picking the last option.
    pub last_choice: Option<Regex>,
    /// Where an answer by position splits into clauses ("oui pour ..., non pour ...").
    pub clause_break: Option<Regex>,
    /// A clause naming the first questions: the first entry the first two, the next three, ...
    pub first_questions: Vec<Regex>,
    /// A clause naming the last question.
    pub last_question: Option<Regex>,
    /// A clause naming every question no earlier clause named ("the rest").
    pub rest_questions: Option<Regex>,
}

/// Answers to the numbered questions by position, clause by clause: "oui pour les trois
/// premiers, non pour le dernier", "yes to the first two, no to the rest". Returns whether any
/// point was set.
fn by_position(
    rules: &rules::Checklist,
    positions: &AnswerPatterns,
    asked: &[Question],
    answer: &str,
    yes_or_no: &dyn Fn(&str) -> Option<bool>,
    checklist: &mut Checklist,
) -> bool {
    let Some(breaks) = positions.clause_break.as_ref() else {
        return false;
    };
    let mut named = vec![false; asked.len()];
    let mut any = false;
    for clause in breaks.split(answer) {
        let Some(value) = yes_or_no(clause) else {
            continue;
        };
        let which: Vec<usize> = if let Some(k) = positions
            .first_questions
            .iter()
            .position(|re| re.is_match(clause))
        {
            (0..(k + 2).min(asked.len())).collect()
        } else if positions
            .last_question
            .as_ref()
            .is_some_and(|re| re.is_match(clause))
        {
            vec![asked.len() - 1]
        } else if positions
            .rest_questions
            .as_ref()
            .is_some_and(|re| re.is_match(clause))
        {
            (0..asked.len()).filter(|&i| !named[i]).collect()
        } else {
            continue;
        };
        for i in which {
            named[i] = true;
            for &point in &asked[i].points {
                if let Some(item) = rules.items.get(point) {
                    checklist.set(&item.id, value);
                }
            }
            any = true;
        }
    }
    any
}

/// The moderator's last question: the `?`-ended sentence nearest the end of the message.
fn last_question(moderator: &str) -> Option<&str> {
    let end = moderator.rfind('?')?;
    let start = moderator[..end]
        .rfind(['.', '!', '?', '\n'])
        .map_or(0, |i| i + 1);
    Some(&moderator[start..=end])
}

/// The member's first sentence, when it is a leading "yes".
fn says_yes<'a>(rules: &Rules, answer: &'a str) -> Option<&'a str> {
    let first = sentences(answer).next()?;
    rules
        .checklist
        .answer_yes
        .as_ref()
        .is_some_and(|re| re.is_match(first))
        .then_some(first)
}

/// The provider a member's leading "yes" names: the moderator's last question asks whether they
/// are on one provider ("Gmail?", "Are you using Gmail / Google Workspace?"), which the
/// `provider_question` pattern reads with that provider's names taken out.
pub fn provider_confirmed<'r>(
    rules: &'r Rules,
    moderator: &str,
    answer: &str,
) -> Option<&'r Provider> {
    let pattern = rules.reading.answers.provider_question.as_ref()?;
    says_yes(rules, answer)?;
    let question = last_question(moderator)?;
    let names = rules.provider_names_if(question, rules.may_name_a_provider(question));
    let provider = names.first()?.0;
    if names.iter().any(|(p, _)| p.id != provider.id) {
        return None;
    }
    let mut rest = String::with_capacity(question.len());
    let mut kept = 0;
    let mut ranges: Vec<std::ops::Range<usize>> = names.iter().map(|(_, r)| r.clone()).collect();
    ranges.sort_by_key(|r| r.start);
    for r in ranges {
        if r.start < kept {
            kept = kept.max(r.end);
            continue;
        }
        rest.push_str(&question[kept..r.start]);
        rest.push(' ');
        kept = r.end;
    }
    rest.push_str(&question[kept..]);
    pattern.is_match(&rest).then_some(provider)
}

/// The quoted options of a question: "Is it \"X\" or “Y”?", «X» ou «Y», **X** or **Y**.
static QUOTED_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""([^"\n]+)"|“([^”\n]+)”|«([^»\n]+)»|\*\*([^*\n]+)\*\*"#).expect("static regex")
});

/// The error a member picks by position among the quoted options of the moderator's last
/// question ("Is it \"IMAP settings incorrect\" or \"IMAP authentication error\"?" - "the
/// first one"), read from the option's own words.
pub fn option_chosen(rules: &Rules, moderator: &str, answer: &str) -> Option<ErrorFound> {
    let patterns = &rules.reading.answers;
    let first = sentences(answer).next()?;
    let question = last_question(moderator)?;
    let options: Vec<&str> = QUOTED_OPTION
        .captures_iter(question)
        .filter_map(|c| c.iter().skip(1).flatten().next().map(|m| m.as_str()))
        .collect();
    if options.len() < 2 {
        return None;
    }
    let pick = if patterns
        .last_choice
        .as_ref()
        .is_some_and(|re| re.is_match(first))
    {
        options.len() - 1
    } else {
        patterns.choice.iter().position(|re| re.is_match(first))?
    };
    classify::error_in(rules, options.get(pick)?)
}

/// How close before an echo a negation must be to deny it ("didn't ask them").
const NEGATION_REACH: usize = 20;

/// A numbered answer line: "1 yes", "2. yep", "3) no", "4 - not yet".
static NUMBERED_ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?P<n>\d{1,2})[ \t]*[.):\-]?[ \t]*(?P<answer>\S[^\n]*)$")
        .expect("static regex")
});

/// A question's own number: "1. Did you type ...".
static QUESTION_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?P<n>\d{1,2})[.)]\s").expect("static regex"));

/// One question of the moderator's: its number and the checklist points (indices) it asks about.
struct Question {
    number: usize,
    points: Vec<usize>,
}

/// The checklist questions in a moderator's message, in order: each line or `?`-ended sentence
/// that asks about at least one point.
fn questions(rules: &rules::Checklist, moderator: &str) -> Vec<Question> {
    let mut out: Vec<Question> = Vec::new();
    for segment in moderator.split_inclusive(['?', '\n']) {
        let asks = |patterns: fn(&rules::ChecklistItem) -> &[rules::RuleRegex]| -> Vec<usize> {
            rules
                .items
                .iter()
                .enumerate()
                .filter(|(_, item)| patterns(item).iter().any(|re| re.is_match(segment)))
                .map(|(i, _)| i)
                .collect()
        };
        let mut points = asks(|item| &item.patterns);
        if points.is_empty() {
            points = asks(|item| &item.answer_patterns);
        }
        if points.is_empty() {
            continue;
        }
        let number = QUESTION_NUMBER
            .captures(segment)
            .and_then(|c| c.name("n"))
            .and_then(|n| n.as_str().parse().ok())
            .unwrap_or(out.len() + 1);
        out.push(Question { number, points });
    }
    out
}

/// Applies the member's `answer` to the checklist questions of the `moderator`'s message before
/// it. Returns whether any point was set.
pub fn apply(
    rules: &rules::Checklist,
    positions: &AnswerPatterns,
    moderator: &str,
    answer: &str,
    checklist: &mut Checklist,
) -> bool {
    let asked = questions(rules, moderator);
    if asked.is_empty() {
        return false;
    }
    let yes_or_no = |text: &str| -> Option<bool> {
        if rules
            .answer_yes
            .as_ref()
            .is_some_and(|re| re.is_match(text))
        {
            Some(true)
        } else if rules.answer_no.as_ref().is_some_and(|re| re.is_match(text)) {
            Some(false)
        } else {
            None
        }
    };
    let set = |points: &[usize], value: bool, checklist: &mut Checklist| {
        for &i in points {
            if let Some(item) = rules.items.get(i) {
                checklist.set(&item.id, value);
            }
        }
    };
    let mut any = false;
    // "1 yes / 2 yes / 3 no": each number answers the question with that number.
    if asked.len() > 1 {
        for caps in NUMBERED_ANSWER.captures_iter(answer) {
            let (Some(n), Some(text)) = (caps.name("n"), caps.name("answer")) else {
                continue;
            };
            let Ok(n) = n.as_str().parse::<usize>() else {
                continue;
            };
            if let (Some(q), Some(value)) = (
                asked.iter().find(|q| q.number == n),
                yes_or_no(text.as_str()),
            ) {
                set(&q.points, value, checklist);
                any = true;
            }
        }
        if any {
            return true;
        }
        if by_position(rules, positions, &asked, answer, &yes_or_no, checklist) {
            return true;
        }
    }
    let asked_points: Vec<usize> = asked.iter().flat_map(|q| q.points.clone()).collect();
    for (k, sentence) in sentences(answer).enumerate() {
        // A leading "yes" / "no" answers the first question.
        if k == 0 {
            if let Some(value) = yes_or_no(sentence) {
                set(&asked[0].points, value, checklist);
                any = true;
            }
        }
        // A short echo of a point asked: "typed them manually", "haven't asked them yet".
        for &i in &asked_points {
            let Some(item) = rules.items.get(i) else {
                continue;
            };
            // A negation just before it denies it: "haven't asked them yet".
            if let Some(m) = item.answer_patterns.iter().find_map(|re| re.find(sentence)) {
                checklist.set(
                    &item.id,
                    !negated(rules, sentence, m.start(), NEGATION_REACH),
                );
                any = true;
            }
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTIONS: &str = "Before we dig in, can you confirm:\n1. Did you type your email address and password by hand?\n2. Did you type the servers and ports by hand?\n3. Have you checked that the email address and password are correct?\n4. Have you confirmed the servers and ports with your email provider?";

    fn answered(moderator: &str, answer: &str) -> [bool; 4] {
        let rules = crate::core::rules::shipped().expect("shipped rules are valid");
        let mut checklist = Checklist::default();
        apply(
            &rules.checklist,
            &rules.reading.answers,
            moderator,
            answer,
            &mut checklist,
        );
        [
            checklist.get("typed_credentials"),
            checklist.get("typed_servers"),
            checklist.get("verified_credentials"),
            checklist.get("confirmed_with_provider"),
        ]
    }

    #[test]
    fn numbered_answers_go_to_the_numbered_questions() {
        for (answer, want) in [
            ("1 yes\n2 yes\n3 yes\n4 no", [true, true, true, false]),
            (
                "1. yep\n2) no\n3 - yes\n4: not yet",
                [true, false, true, false],
            ),
            ("4 yes", [false, false, false, true]),
            // By position, clause by clause.
            (
                "oui pour les trois premiers, non pour le dernier",
                [true, true, true, false],
            ),
            (
                "yes to the first two, no to the rest",
                [true, true, false, false],
            ),
            (
                "sí a las dos primeras pero no a la última",
                [true, true, false, false],
            ),
            ("yes for the last one", [false, false, false, true]),
        ] {
            assert_eq!(answered(QUESTIONS, answer), want, "{answer:?}");
        }
    }

    #[test]
    fn a_yes_to_whether_they_are_on_one_provider_names_it() {
        let rules = crate::core::rules::shipped_for_tests();
        let on = |moderator: &str, answer: &str| {
            provider_confirmed(rules, moderator, answer).map(|p| p.id.as_str())
        };
        assert_eq!(on("Gmail?", "Yes."), Some("gmail"));
        assert_eq!(
            on("Thanks. Are you using Gmail / Google Workspace?", "yep"),
            Some("gmail")
        );
        assert_eq!(
            on("Is this an Outlook account?", "yes it is"),
            Some("office365")
        );
        assert_eq!(on("Gmail?", "No, our own server."), None);
        assert_eq!(on("Is it Gmail or Outlook?", "yes"), None);
        assert_eq!(
            on("Have you tried the native Gmail integration?", "yes"),
            None
        );
        assert_eq!(on("Did you confirm the servers with Zoho?", "yes"), None);
    }

    #[test]
    fn a_position_picks_one_of_the_quoted_errors_offered() {
        let rules = crate::core::rules::shipped_for_tests();
        let two =
            "Which error do you see: \"IMAP authentication error\" or \"IMAP settings incorrect\"?";
        let picked =
            |moderator: &str, answer: &str| option_chosen(rules, moderator, answer).map(|e| e.code);
        assert_eq!(
            picked(two, "the first one").as_deref(),
            Some("imap_auth_error")
        );
        assert_eq!(
            picked(two, "second").as_deref(),
            Some("imap_settings_incorrect")
        );
        assert_eq!(
            picked(two, "the last one I think").as_deref(),
            Some("imap_settings_incorrect")
        );
        assert_eq!(
            picked(two, "la première").as_deref(),
            Some("imap_auth_error")
        );
        // No position, or nothing offered: nothing picked.
        assert_eq!(picked(two, "I'm not sure"), None);
        assert_eq!(picked("What error do you see?", "the first one"), None);
    }

    #[test]
    fn a_leading_yes_answers_the_first_question_and_echoes_answer_the_points_asked() {
        let two = "Thanks! Did you type the email address and password by hand (no autofill)? And did you confirm the servers with Zoho?";
        for (moderator, answer, want) in [
            (two, "yes typed by hand. servers are from zoho's help page, didn't ask them", [true, false, false, false]),
            (two, "no, autofill did it", [false, false, false, false]),
            ("Did you type your email and password manually, and did you confirm the servers and ports with GoDaddy?", "typed them manually yes. haven't asked godaddy yet", [true, false, false, false]),
            ("Did you type the servers and ports by hand?", "yep", [false, true, false, false]),
            // A question about something else: the "yes" confirms nothing.
            ("Is this a Google Workspace account?", "yes", [false, false, false, false]),
        ] {
            assert_eq!(answered(moderator, answer), want, "{moderator:?} / {answer:?}");
        }
    }
}
