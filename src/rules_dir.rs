//! Loads a rules pack from a directory, or the copy embedded in the binary at build time (so the
//! bot runs on a fresh machine with nothing but the binary).

use std::path::Path;

use crate::core::rules::{
    self, FindingTexts, RuleError, Rules, RulesErrors, FILES, FINDINGS_FILE, SHIPPED,
};

/// The rules shipped with this build. They are validated by a test on every run, so failing
/// here means a broken build; it is still reported, not panicked on.
pub fn embedded() -> Result<Rules, RulesErrors> {
    rules::shipped()
}

/// The rules a command runs with: `dir` when the operator names one (`--rules DIR`), else the
/// embedded pack. `Err` is the exit code (2) after saying why on stderr, on one line, under
/// `command`'s name.
pub fn for_command(command: &str, dir: Option<&Path>) -> Result<Rules, i32> {
    let rules = match dir {
        Some(dir) => load(dir),
        None => embedded(),
    };
    rules.map_err(|e| {
        let said = e.to_string();
        eprintln!(
            "{command}: {}",
            said.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        2
    })
}

/// Reads and validates every rules file in `dir`.
pub fn load(dir: &Path) -> Result<Rules, RulesErrors> {
    let texts = read(dir, &FILES)?;
    let pairs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
    rules::parse(&pairs).map_err(|e| on_disk(dir, e))
}

/// The finding texts a command words its findings with: `dir`'s `findings.toml` when the
/// operator names one, else the embedded one. Only that file is read and checked (the probe
/// needs nothing else). `Err` is the exit code (2), after saying why, as [`for_command`].
pub fn findings_for_command(command: &str, dir: Option<&Path>) -> Result<FindingTexts, i32> {
    let texts = match dir {
        Some(dir) => read(dir, &[FINDINGS_FILE]).and_then(|texts| {
            let pairs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
            rules::parse_findings(&pairs).map_err(|e| on_disk(dir, e))
        }),
        None => rules::parse_findings(&SHIPPED),
    };
    texts.map_err(|e| {
        let said = e.to_string();
        eprintln!(
            "{command}: {}",
            said.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        2
    })
}

/// The contents of each of `names` in `dir`, or every file that can't be read.
fn read<'n>(dir: &Path, names: &[&'n str]) -> Result<Vec<(&'n str, String)>, RulesErrors> {
    if !dir.is_dir() {
        return Err(RulesErrors(vec![RuleError {
            file: dir.display().to_string(),
            line: None,
            rule: None,
            message: "not a directory".to_string(),
        }]));
    }
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((*name, text)),
            Err(e) => errors.push(RuleError {
                file: path.display().to_string(),
                line: None,
                rule: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(texts)
    } else {
        Err(RulesErrors(errors))
    }
}

/// Errors that name files by their path on disk, so the operator can open the right one.
fn on_disk(dir: &Path, RulesErrors(errs): RulesErrors) -> RulesErrors {
    RulesErrors(
        errs.into_iter()
            .map(|e| RuleError {
                file: dir.join(&e.file).display().to_string(),
                ..e
            })
            .collect(),
    )
}
