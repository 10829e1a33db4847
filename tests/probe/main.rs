//! Integration tests of the connectivity probe (issue 3) and of discovery (issue 11), in one
//! binary:
//! - `servers`: every stage and finding against real Dovecot and exim4 on loopback
//!   (`scripts/mail-servers`), through the library;
//! - `hostile`: fake servers written here (silent, slow drip, 1 MB banner, garbage, TLS alert,
//!   and more), each of which must end within the budget with the right finding;
//! - `policy`: refused targets cause zero connection attempts, counted by a listener;
//! - `cli`: the `imap-triage probe` command line and JSON contract, end to end;
//! - `courier`: real Courier-IMAP (extracted Debian packages), posted right and mixed up;
//! - `discover`: MX, SRV and autoconfig against a real DNS server and HTTPS on loopback.
//!
//! The shared helpers are `testkit::probe`.

mod cli;
mod courier;
mod discover;
mod hostile;
mod policy;
mod servers;
