//! Every literal a message is searched for before any regex reads it, found in one pass over
//! its lower-cased copy: the wording gates of the endpoint scan, the secret shield's trigger
//! words (and a SASL exchange's), the Hub ID's label and URL trigger words, and the
//! provider-name gate.
//!
//! Each was a pass of its own over the whole message (an automaton for the gates, one `memmem`
//! finder per trigger word, a case-ignoring automaton for the provider names); one overlapping
//! automaton over all their literals reads each byte once (BENCHMARKS.md, "The fifth cuts").
//! The searches then read the places found: a gate's answer for a part of the message, the
//! windows around trigger lines ([`super::text::windows_at`]).

use super::endpoints::wording_gates;
use super::literals::{GateIndex, Hits};
use super::rules::Rules;

/// The sets of [`MessageLiterals`], after the four wording gates (sets 0 to 3, in the order of
/// [`wording_gates`], so that the endpoint scan asks them by their own numbers).
const SECRET_TRIGGERS: usize = 4;
const SASL_TRIGGERS: usize = 5;
const HUB_ID_LABELS: usize = 6;
const HUB_ID_URLS: usize = 7;
const PROVIDER_NAMES: usize = 8;

/// The literals of one rules pack and of the core's own searches, in one index.
#[derive(Debug, Clone)]
pub struct MessageLiterals {
    index: GateIndex,
}

impl MessageLiterals {
    pub fn new(rules: &Rules) -> MessageLiterals {
        let (secret, sasl) = super::secrets::trigger_words();
        let hub_labels = rules.reading.hub_id.label_triggers.words();
        let hub_urls = rules.reading.hub_id.url_triggers.words();
        let mut sets: Vec<Option<&[Vec<u8>]>> = wording_gates()
            .into_iter()
            .map(|g| g.literal_strings())
            .collect();
        sets.extend([
            Some(secret.as_slice()),
            Some(sasl.as_slice()),
            Some(hub_labels.as_slice()),
            Some(hub_urls.as_slice()),
            rules.provider_name_literals(),
        ]);
        debug_assert_eq!(sets.len(), PROVIDER_NAMES + 1);
        MessageLiterals {
            index: GateIndex::of_sets(&sets),
        }
    }

    /// Where every literal is in `text`; `lower` is [`super::text::lower`]`(text)`.
    pub fn find(&self, text: &str, lower: &[u8]) -> Found {
        Found {
            hits: self.index.hits(text, lower),
        }
    }
}

/// The places of one set's literals in a message: `(start, end)` of each, by start.
pub type Places<'a> = &'a [(usize, usize)];

/// The literals found in one message ([`MessageLiterals::find`]).
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Sets 0 to 3 are the wording gates: the endpoint scan borrows these hits.
    pub hits: Hits,
}

impl Found {
    /// The shield's trigger words, then a SASL exchange's ([`super::secrets::find_at`]).
    pub fn secret_triggers(&self) -> (Places<'_>, Places<'_>) {
        (
            self.hits.spans(SECRET_TRIGGERS),
            self.hits.spans(SASL_TRIGGERS),
        )
    }

    /// The Hub ID's label, then URL trigger words ([`super::items::hub_id_span_at`]).
    pub fn hub_id_triggers(&self) -> (Places<'_>, Places<'_>) {
        (self.hits.spans(HUB_ID_LABELS), self.hits.spans(HUB_ID_URLS))
    }

    /// Whether the provider-name gate may match `text`, the message indexed.
    pub fn may_name_a_provider(&self, text: &str) -> bool {
        self.hits.may_match(PROVIDER_NAMES, text).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::literals::Gate;

    proptest::proptest! {
        /// The one pass answers as each search it replaces: the shield's windows, the
        /// provider-name gate, and each wording gate on every part of the text.
        #[test]
        fn one_pass_answers_as_each_search(
            text in "(password: |Pass |AUTH LOGIN|334 |UGFzc3dvcmQ6|hunter2|token=|imaps://u:p@h|ſ|\u{212A}|é|gmail|Office 365|GoDaddy|outlook|1&1|zoho|sorry|same server|not |no setting|IMAP|smtp|x|[0-9]{1,4}|[ :.,\n-]){0,16}",
        ) {
            let rules = crate::core::rules::shipped_for_tests();
            let lower = crate::core::text::lower(&text);
            let found = rules.message_literals().find(&text, &lower);
            let (triggers, sasl) = found.secret_triggers();
            proptest::prop_assert_eq!(
                crate::core::secrets::find_at(&rules.reading.secrets, &text, &lower, triggers, sasl),
                crate::core::secrets::find_in(&rules.reading.secrets, &text, &lower)
            );
            let ids = |named: Vec<(&crate::core::rules::Provider, std::ops::Range<usize>)>| {
                named.into_iter().map(|(p, r)| (p.id.clone(), r)).collect::<Vec<_>>()
            };
            proptest::prop_assert_eq!(
                ids(rules.provider_names_if(&text, found.may_name_a_provider(&text))),
                ids(rules.provider_names_in(&text))
            );
            let gates: [&Gate; 4] = wording_gates();
            let bounds: Vec<usize> =
                (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            for (i, &start) in bounds.iter().enumerate() {
                for &end in &bounds[i..] {
                    let part = &text[start..end];
                    for (g, gate) in gates.iter().enumerate() {
                        proptest::prop_assert_eq!(
                            found.hits.may_match(g, part),
                            Some(gate.may_match(part, None)),
                            "gate {} on {:?}", g, part
                        );
                    }
                }
            }
        }
    }
}
