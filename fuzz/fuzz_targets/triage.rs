//! `cargo fuzz run triage`: see `imap_triage_fuzz::checks::check_triage` for the input layout and
//! the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imap_triage_fuzz::checks::check_triage(data));
