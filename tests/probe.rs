//! Integration tests of the connectivity probe (issue 3), in one binary:
//! - `servers`: every stage and finding against real Dovecot and exim4 on loopback
//!   (`scripts/mail-servers`), through the library;
//! - `hostile`: fake servers written here (silent, slow drip, 1 MB banner, garbage, TLS alert,
//!   and more), each of which must end within the budget with the right finding;
//! - `policy`: refused targets cause zero connection attempts, counted by a listener;
//! - `cli`: the `imap-triage probe` command line and JSON contract, end to end;
//! - `courier`: real Courier-IMAP (extracted Debian packages), posted right and mixed up.

#[path = "probe_support/mod.rs"]
mod support;

#[path = "probe_support/cli.rs"]
mod cli;
#[path = "probe_support/courier.rs"]
mod courier;
#[path = "probe_support/hostile.rs"]
mod hostile;
#[path = "probe_support/policy.rs"]
mod policy;
#[path = "probe_support/servers.rs"]
mod servers;
