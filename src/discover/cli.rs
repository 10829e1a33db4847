//! `imap-triage discover [--json] [--resolver IP:PORT] [--allow-private] DOMAIN|EMAIL`.
//!
//! Exit codes: 0 when something was found (MX, SRV, autoconfig or a suggestion), 1 when nothing
//! was, 2 for bad arguments or settings.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::core::diagnose::discovery::{DiscoveryReport, ServerSettings};

use super::{Discover, Discoverer};
use crate::probe::TlsSetup;

#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Print one JSON object instead of a readable report.
    #[arg(long)]
    pub json: bool,
    /// DNS server to ask, instead of `[probe] resolver` or the system's.
    #[arg(long, value_name = "IP:PORT")]
    pub resolver: Option<SocketAddr>,
    /// Permit loopback and private addresses for the autoconfig fetch (tests only).
    #[arg(long)]
    pub allow_private: bool,
    /// Rules directory (providers and finding texts); defaults to the embedded rules.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<std::path::PathBuf>,
    /// The email domain, or an email address (only its domain is used).
    #[arg(value_name = "DOMAIN|EMAIL")]
    pub target: String,
}

pub fn run(args: DiscoverArgs) -> i32 {
    let domain = match Discoverer::domain(&args.target) {
        Ok(domain) => domain,
        Err(e) => {
            eprintln!("imap-triage discover: {e}");
            return 2;
        }
    };
    // Only the environment (IMAP_TRIAGE_PROBE__*) can add settings here: resolver, CA files.
    let config = match crate::config::Config::load(None) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("imap-triage discover: {e}");
            return 2;
        }
    };
    let rules = match crate::rules_dir::for_command("imap-triage discover", args.rules.as_deref()) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    let anchors: Vec<&std::path::Path> =
        config.probe.ca_files.iter().map(|p| p.as_path()).collect();
    let tls = match TlsSetup::new(&anchors) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("imap-triage discover: probe.ca_files: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("imap-triage discover: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let resolver = args.resolver.or(config.probe.resolver);
    let report = runtime.block_on(async {
        let allow_private = args.allow_private || config.probe.allow_private;
        let discoverer = Discoverer::configured(resolver, allow_private, tls)?;
        Ok::<_, String>(discoverer.discover(&rules, &domain).await)
    });
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("imap-triage discover: {e}");
            return 2;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("imap-triage discover: cannot encode the report: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", to_text(&report));
    }
    if report.found_anything() {
        0
    } else {
        1
    }
}

fn setting(s: &Option<ServerSettings>) -> String {
    match s {
        Some(s) => format!("{} ({})", s.endpoint(), s.security),
        None => "-".into(),
    }
}

/// The readable report.
pub fn to_text(r: &DiscoveryReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "domain        {}", r.domain);
    if r.mx.is_empty() {
        let _ = writeln!(out, "mx            -");
    }
    for mx in &r.mx {
        let _ = writeln!(out, "mx            {:>5}  {}", mx.preference, mx.host);
    }
    let _ = writeln!(
        out,
        "mx provider   {}",
        r.mx_provider.as_deref().unwrap_or("-")
    );
    for (name, t) in [
        ("_imaps", &r.srv.imaps),
        ("_imap", &r.srv.imap),
        ("_submissions", &r.srv.submissions),
        ("_submission", &r.srv.submission),
    ] {
        if let Some(t) = t {
            let _ = writeln!(out, "srv           {name:<13} {}:{}", t.host, t.port);
        }
    }
    if let Some(a) = &r.autoconfig {
        let source = match a.source {
            crate::core::diagnose::discovery::AutoconfigSource::Domain => "domain",
            crate::core::diagnose::discovery::AutoconfigSource::Ispdb => "ispdb",
        };
        let _ = writeln!(
            out,
            "autoconfig    {source}: IMAP {}, SMTP {}",
            setting(&a.imap),
            setting(&a.smtp)
        );
    }
    let source = r
        .suggested
        .source
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "suggested     IMAP {}, SMTP {} (from {source})",
        setting(&r.suggested.imap),
        setting(&r.suggested.smtp)
    );
    for f in &r.findings {
        let severity = serde_json::to_value(f.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "[{severity}] {}: {}", f.code, f.message);
    }
    out
}
