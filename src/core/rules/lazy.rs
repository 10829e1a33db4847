//! A rule's own regex, checked when the pack loads but kept compiled only once it is used.
//!
//! The pack's [`super::patterns::PatternSet`]s answer "which rules match this text" for every
//! message; a rule's own regex is needed only after its set said it matched (to find where, for
//! the evidence), and most rules never match in a given run. Holding every one compiled beside
//! its set cost 12.8 MiB of an idle bot's 73 (BENCHMARKS.md, "Start-up and idle memory").

use std::ops::Deref;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::load::REGEX_SIZE_LIMIT;

#[derive(Debug, Clone)]
pub struct RuleRegex {
    pattern: String,
    compiled: OnceLock<Regex>,
}

impl RuleRegex {
    /// Compiles `pattern` once to check it (the error names the problem), then drops the
    /// compiled form until it is needed.
    pub(super) fn checked(pattern: &str) -> Result<RuleRegex, regex::Error> {
        build(pattern)?;
        Ok(RuleRegex {
            pattern: pattern.to_string(),
            compiled: OnceLock::new(),
        })
    }

    /// The pattern as written in the rules file, without compiling it.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

impl Deref for RuleRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            // The same pattern with the same limits compiled when the pack loaded, and
            // compiling is deterministic, so this cannot fail.
            build(&self.pattern).expect("a rule's regex compiled when the pack was loaded")
        })
    }
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_regex_matches_as_the_compiled_one_and_compiles_on_first_use() {
        let lazy = RuleRegex::checked(r"(?i)authentication\s+failed").unwrap();
        assert!(
            lazy.compiled.get().is_none(),
            "compiled before its first use"
        );
        assert_eq!(lazy.as_str(), r"(?i)authentication\s+failed");
        assert!(lazy.compiled.get().is_none(), "as_str compiled it");
        assert!(lazy.is_match("IMAP: Authentication  FAILED"));
        assert!(lazy.compiled.get().is_some());
        assert!(!lazy.is_match("authenticated"));
    }

    #[test]
    fn a_bad_pattern_is_refused_when_checked() {
        assert!(RuleRegex::checked("(unclosed").is_err());
        assert!(RuleRegex::checked(&format!("a{{{}}}", 1_000_000)).is_err());
    }
}
