//! `imap-triage probe`.
//!
//! Exit codes: 0 when every probed endpoint is `ok`, 1 when any failed or was refused, 2 for bad
//! arguments (including an unreadable `--ca` file).

use std::fmt::Write as _;

use crate::core::diagnose::{EndpointReport, ProbeReport, Service, TlsMode};

use super::engine::{EndpointRequest, Prober, Progress};
use super::policy::Policy;
use super::tls::TlsSetup;
use super::{Probe, ProbeJob};

/// Encryption mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// TLS from the first byte ("SSL"), as on 993 and 465.
    Implicit,
    /// Plain first, upgraded with STARTTLS, as on 143, 587 and 25.
    Starttls,
}

impl From<ModeArg> for TlsMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Implicit => TlsMode::Implicit,
            ModeArg::Starttls => TlsMode::Starttls,
        }
    }
}

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
    /// Encryption of the IMAP endpoint, instead of the one its port implies.
    #[arg(long, value_name = "MODE")]
    pub imap_tls: Option<ModeArg>,
    /// Encryption of the SMTP endpoint, instead of the one its port implies.
    #[arg(long, value_name = "MODE")]
    pub smtp_tls: Option<ModeArg>,
    /// Also allow this port (repeatable); the default list is 143, 993, 25, 465, 587, 2525.
    #[arg(long, value_name = "PORT")]
    pub allow_port: Vec<u16>,
    /// Rules directory (its `findings.toml` words the findings); defaults to the embedded rules.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<std::path::PathBuf>,
}

/// Runs the probe command and returns the process exit code.
pub fn run(args: ProbeArgs) -> i32 {
    let mut requests = Vec::new();
    for (service, text, mode) in [
        (Service::Imap, &args.imap, args.imap_tls),
        (Service::Smtp, &args.smtp, args.smtp_tls),
    ] {
        let Some(text) = text else { continue };
        match EndpointRequest::parse(service, text, mode.map(TlsMode::from)) {
            Ok(request) => requests.push(request),
            Err(e) => {
                eprintln!(
                    "imap-triage probe: --{}: {e}",
                    service.label().to_ascii_lowercase()
                );
                return 2;
            }
        }
    }
    if requests.is_empty() {
        eprintln!("imap-triage probe: give --imap HOST:PORT, --smtp HOST:PORT, or both");
        return 2;
    }
    // The findings are worded by the rules pack, as `discover` words its own.
    let texts =
        match crate::rules_dir::findings_for_command("imap-triage probe", args.rules.as_deref()) {
            Ok(texts) => texts,
            Err(code) => return code,
        };
    let anchors: Vec<&std::path::Path> = args.ca.iter().map(|p| p.as_path()).collect();
    let tls = match TlsSetup::new(&anchors) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("imap-triage probe: --ca: {e}");
            return 2;
        }
    };
    let mut policy = Policy {
        allow_private: args.allow_private,
        ..Policy::default()
    };
    policy
        .allowed_ports
        .extend(args.allow_port.iter().copied().filter(|p| *p != 0));
    let prober = Prober::new(policy, tls);
    // One thread is plenty for two endpoints, and starts fastest.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("imap-triage probe: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let report = runtime.block_on(async {
        let progress = Progress::none();
        let probe = |service: Service| {
            let request = requests.iter().find(|r| r.service == service).cloned();
            let prober = &prober;
            let texts = &texts;
            let progress = &progress;
            async move {
                match request {
                    Some(request) => {
                        let job = ProbeJob {
                            requester: "cli",
                            request: &request,
                            progress,
                        };
                        Some(prober.probe_report(texts, job).await)
                    }
                    None => None,
                }
            }
        };
        let (imap, smtp) = tokio::join!(probe(Service::Imap), probe(Service::Smtp));
        ProbeReport { imap, smtp }
    });
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("imap-triage probe: cannot encode the report: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", to_text(&report));
    }
    if report.all_ok() {
        0
    } else {
        1
    }
}

/// The readable report.
pub fn to_text(report: &ProbeReport) -> String {
    let mut out = String::new();
    for (service, endpoint) in [(Service::Imap, &report.imap), (Service::Smtp, &report.smtp)] {
        if let Some(endpoint) = endpoint {
            endpoint_text(&mut out, service, endpoint);
        }
    }
    out
}

fn endpoint_text(out: &mut String, service: Service, e: &EndpointReport) {
    let verdict = serde_json::to_value(e.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}:{}  {}",
        service.label(),
        e.host,
        e.port,
        verdict.to_uppercase()
    );
    for stage in &e.stages {
        let name = serde_json::to_value(stage.name)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<13} {:<4} {:>9.1} ms  {}",
            name,
            if stage.ok { "ok" } else { "FAIL" },
            stage.ms,
            stage.detail
        );
    }
    if let Some(tls) = &e.tls {
        let c = &tls.cert;
        let _ = writeln!(out, "  tls:          {} {}", tls.version, tls.cipher);
        let _ = writeln!(
            out,
            "  certificate:  {} (issuer {}), until {}",
            c.subject, c.issuer, c.not_after
        );
        let _ = writeln!(out, "  names:        {}", c.sans.join(", "));
        let _ = writeln!(
            out,
            "  trusted:      {}; name matches: {}",
            if c.trusted { "yes" } else { "no" },
            if c.name_matches { "yes" } else { "no" }
        );
    }
    if !e.banner.is_empty() {
        let _ = writeln!(
            out,
            "  banner:       {}",
            e.banner.replace('\n', "\n                ")
        );
    }
    if !e.capabilities.is_empty() {
        let _ = writeln!(out, "  capabilities: {}", e.capabilities.join(" | "));
    }
    for f in &e.findings {
        let severity = serde_json::to_value(f.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "  [{severity}] {}: {}", f.code, f.message);
    }
    out.push('\n');
}
