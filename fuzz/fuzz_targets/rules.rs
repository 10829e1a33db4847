//! `cargo fuzz run rules`: see `imap_triage_fuzz::checks::check_rules` for the input layout and
//! the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imap_triage_fuzz::checks::check_rules(data));
