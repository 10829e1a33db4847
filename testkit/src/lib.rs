//! The helpers that several of imap-triage's integration-test binaries share, built once:
//! - [`fake_discord`]: REST and gateway on 127.0.0.1, recording every call, with faults;
//! - [`probe`]: the real mail servers of `scripts/mail-servers`, probers set up for them, a
//!   listener that counts connections, and small fake servers;
//! - [`chat`]: a `Chat` that records what the engine would do on the platform;
//! - [`run_with_input`]: a command run with something on its standard input.

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

/// `command` (the bot's binary) as a test that is not about domain look-ups runs it: tests
/// talk only to loopback, and the bot would ask the system's resolver about the email domains
/// of the posts (`[probe] discover`). The tests of discovery run it against dnsmasq on loopback.
pub fn without_domain_lookups(command: &mut std::process::Command) -> &mut std::process::Command {
    command.env("IMAP_TRIAGE_PROBE__DISCOVER", "false")
}

/// Runs `command` with `input` on its standard input and returns what it printed and how it
/// exited. A command that exits before reading its input (a missing file) is fine: the broken
/// pipe is not an error.
pub fn run_with_input(command: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    if let Err(e) = stdin.write_all(input) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write to {command:?}: {e}"
        );
    }
    drop(stdin);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {command:?}: {e}"))
}
