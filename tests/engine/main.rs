//! The engine's integration tests, in one binary, each against a real sled store and the
//! recording chat of `testkit`:
//! - `end_to_end`: events, commands, controls, lifecycle timers and a failing store;
//! - `probe`: the automatic probe against the real Dovecot and exim4 on loopback;
//! - `shield`: the eight credential forms members post, searched for in every output.

mod end_to_end;
mod probe;
mod shield;
