//! `imap-triage probe`.

/// Arguments of `imap-triage probe`, as parsed by clap in [`crate::cli`].
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Print one JSON object instead of a readable report.
    #[arg(long)]
    pub json: bool,
    /// Permit loopback and private targets (tests only).
    #[arg(long)]
    pub allow_private: bool,
    /// Add a trust anchor (PEM), e.g. the test servers' throwaway CA.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// IMAP endpoint to probe.
    #[arg(long, value_name = "HOST:PORT")]
    pub imap: Option<String>,
    /// SMTP endpoint to probe.
    #[arg(long, value_name = "HOST:PORT")]
    pub smtp: Option<String>,
}

/// Runs the probe command and returns the process exit code.
pub fn run(_args: ProbeArgs) -> i32 {
    eprintln!("imap-triage probe: not built yet");
    2
}
