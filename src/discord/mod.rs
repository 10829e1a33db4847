//! The Discord adapter (serenity): gateway events -> engine events, engine effects -> REST.

/// `imap-triage run [--config FILE]`; returns the process exit code.
pub fn run(_config: Option<&std::path::Path>) -> i32 {
    eprintln!("imap-triage run: the Discord adapter is not built yet");
    2
}
