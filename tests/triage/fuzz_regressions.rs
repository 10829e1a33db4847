//! Inputs the fuzz targets found (or that pin down a path worth keeping), replayed through the
//! very checks the targets run: `fuzz/src/checks.rs` is included here by path, so no fuzzing
//! toolchain is needed. Each file under `tests/fuzz_regressions/<target>/` is one raw input,
//! named after what it broke or covers.

#[path = "../../fuzz/src/checks.rs"]
pub(crate) mod checks;

use std::path::PathBuf;

/// Replays every input of `target`; `decodes` says whether an input is a real case (and not
/// skipped by the check), so that a kept input can't pass by testing nothing.
fn replay(target: &str, check: fn(&[u8]), decodes: fn(&[u8]) -> bool) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    for input in inputs {
        let data = std::fs::read(&input).expect("read input");
        let name = input.display().to_string();
        assert!(decodes(&data), "{name} decodes to no case");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{name} fails its check (see the panic above)"
        );
    }
}

#[test]
fn triage_inputs_never_panic_nor_echo_the_planted_secret() {
    replay("triage", checks::check_triage, |d| {
        checks::triage_case(d).is_some()
    });
}

#[test]
fn rules_inputs_load_or_fail_cleanly() {
    replay("rules", checks::check_rules, |d| !d.is_empty());
}

#[test]
fn probe_reply_inputs_end_in_budget_and_stay_printable() {
    replay("probe_reply", checks::check_probe_reply, |d| {
        checks::probe_case(d).is_some()
    });
}
