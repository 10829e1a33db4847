//! The helpers that several of imap-triage's integration-test binaries share, built once:
//! - [`fake_discord`]: REST and gateway on 127.0.0.1, recording every call, with faults;
//! - [`probe`]: the real mail servers of `scripts/mail-servers`, probers set up for them, a
//!   listener that counts connections, and small fake servers;
//! - [`chat`]: a `Chat` that records what the engine would do on the platform.

pub mod chat;
pub mod fake_discord;
pub mod probe;

use std::path::{Path, PathBuf};

/// The repository's root: this crate lives in its `testkit/`.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ has a parent")
        .to_path_buf()
}
