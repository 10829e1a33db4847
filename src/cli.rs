//! The command line: parses arguments, calls an adapter, turns errors into one-line messages and
//! exit codes. Exit code 2 always means "bad input or arguments".

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::core::{self, Thread};
use crate::probe::cli::ProbeArgs;
use crate::rules_dir;

#[derive(Debug, Parser)]
#[command(
    name = "imap-triage",
    version,
    about = "Support triage for failed IMAP/SMTP inbox connections"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Triage one support thread (JSON or plain text) and print the report.
    Triage {
        /// Rules directory; defaults to the rules embedded in the binary.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Print one JSON object instead of a readable report.
        #[arg(long, conflicts_with = "explain")]
        json: bool,
        /// Say, for each field found, which message, zone and words it was taken from.
        #[arg(long)]
        explain: bool,
        /// Thread file: JSON `{"messages":[...]}` or plain text; `-` reads stdin.
        file: String,
    },
    /// Read screenshots of the connection screen (OCR) and print what they show.
    ReadScreenshot {
        /// Rules directory; defaults to the rules embedded in the binary.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Print a JSON array, one object per file, in order.
        #[arg(long)]
        json: bool,
        /// Image files (PNG, JPEG, WebP, GIF).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Work with the rules pack.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Sanitized connectivity test of an IMAP and/or SMTP endpoint (no credentials, ever).
    Probe(ProbeArgs),
    /// Where a domain's mail lives: MX, SRV records, autoconfig (domain or ISPDB), suggestion.
    Discover(crate::discover::cli::DiscoverArgs),
    /// Try the whole bot in the terminal, without Discord: you type as the member.
    Console {
        /// Settings file (TOML); only `[store]` and `[probe]` matter here.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Continue the thread with this id (e.g. after a crash) instead of opening a new one.
        #[arg(long, value_name = "ID")]
        thread: Option<u64>,
    },
    /// Review the triage log (works with the bot stopped or running).
    Log {
        /// Settings file (TOML); only `[store]` and `[lifecycle]` matter here.
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: crate::log_cli::LogCommand,
    },
    /// The moderators' web dashboard over the store (read-only; a copy while the bot runs).
    /// Prints a one-time login link on stdout.
    Dashboard {
        /// Settings file (TOML); `[store]` and `[web]` matter here.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on (default: `[web] listen`, else 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Health check for container orchestrators: exit 0 when healthy.
    Health {
        /// Settings file (TOML); `IMAP_TRIAGE_...` environment variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Start the Discord bot.
    Run {
        /// Settings file (TOML); `IMAP_TRIAGE_...` environment variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Validate a rules directory (default: ./rules). Exit 0 when valid.
    Check { dir: Option<PathBuf> },
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Triage {
            rules,
            json,
            explain,
            file,
        } => triage(rules.as_deref(), json, explain, &file),
        Command::ReadScreenshot { rules, json, files } => {
            read_screenshot(rules.as_deref(), json, &files)
        }
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => rules_check(dir.as_deref().unwrap_or(Path::new("rules"))),
        Command::Probe(args) => crate::probe::cli::run(args),
        Command::Discover(args) => crate::discover::cli::run(args),
        Command::Run { config } => crate::discord::run(config.as_deref()),
        Command::Dashboard { config, listen } => {
            crate::web::standalone::run(config.as_deref(), listen)
        }
        Command::Health { config } => crate::health::run(config.as_deref()),
        Command::Log { config, command } => crate::log_cli::run(config.as_deref(), command),
        Command::Console { config, thread } => match console_settings(config.as_deref()) {
            Ok(settings) => {
                crate::console::run(crate::console::ConsoleSettings { thread, ..settings })
            }
            Err(e) => {
                eprintln!("imap-triage: {e}");
                2
            }
        },
    }
}

fn load_rules(rules: Option<&Path>) -> Result<core::Rules, i32> {
    rules_dir::for_command("imap-triage", rules)
}

/// OCR for one command: a worker started at once (so an OCR that can't run is known before
/// the first file), and a small runtime to talk to it.
fn ocr_runtime() -> Result<(crate::ocr::Ocr, tokio::runtime::Runtime), i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("imap-triage: cannot start: {e}");
            2
        })?;
    // One person waits at a terminal: a slow machine gets more time than the bot's budget.
    let ocr = crate::ocr::Ocr::start(&crate::ocr::OcrSettings {
        budget: std::time::Duration::from_secs(120),
        ..crate::ocr::OcrSettings::default()
    });
    runtime.block_on(ocr.warm());
    Ok((ocr, runtime))
}

fn read_screenshot(rules: Option<&Path>, json: bool, files: &[PathBuf]) -> i32 {
    let rules = match load_rules(rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    let (ocr, runtime) = match ocr_runtime() {
        Ok(pair) => pair,
        Err(code) => return code,
    };
    if let Err(off) = ocr.status() {
        eprintln!("imap-triage: {off}");
    }
    let reads: Vec<core::ScreenshotRead> = files
        .iter()
        .map(|file| {
            runtime
                .block_on(ocr.read_path(&rules, file))
                .unwrap_or_else(|| {
                    let reason = ocr.status().err().map(|off| off.to_string());
                    core::ScreenshotRead::unreadable(reason.unwrap_or_default(), 0)
                })
        })
        .collect();
    if json {
        match serde_json::to_string_pretty(&reads) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("imap-triage: cannot encode the reads: {e}");
                return 2;
            }
        }
    } else {
        for (file, read) in files.iter().zip(&reads) {
            print!("{}", read_to_text(&file.display().to_string(), read));
        }
    }
    let unreadable = reads
        .iter()
        .any(|r| r.kind == core::ScreenshotKind::Unreadable);
    i32::from(unreadable)
}

fn read_to_text(file: &str, read: &core::ScreenshotRead) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let kind = serde_json::to_value(read.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(out, "{file}: {kind} ({} ms)", read.ms);
    if let Some(reason) = &read.reason {
        let _ = writeln!(out, "  reason:           {reason}");
    }
    if read.kind == core::ScreenshotKind::Unreadable {
        return out;
    }
    let _ = writeln!(out, "  advanced options: {}", yes_no(read.advanced_options));
    for (name, server) in [("imap", &read.imap), ("smtp", &read.smtp)] {
        if let Some(s) = server {
            let security = s
                .security
                .and_then(|v| serde_json::to_value(v).ok())
                .and_then(|v| v.as_str().map(str::to_string));
            let _ = writeln!(
                out,
                "  {name}:             {} port {} security {}",
                s.host.as_deref().unwrap_or("-"),
                s.port.map_or("-".to_string(), |p| p.to_string()),
                security.as_deref().unwrap_or("-")
            );
        }
    }
    if let Some(domain) = &read.email_domain {
        let _ = writeln!(out, "  email domain:     {domain}");
    }
    if let Some(error) = &read.error_text {
        let _ = writeln!(out, "  error:            {error}");
    }
    let _ = writeln!(out, "  password visible: {}", yes_no(read.password_visible));
    out
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Reads every attachment that has a `path`, relative to `base`, in attachment order.
fn read_attachments(
    rules: &core::Rules,
    thread: &Thread,
    base: &Path,
) -> Result<Vec<core::AttachmentRead>, i32> {
    let wanted: Vec<(usize, usize, PathBuf)> =
        core::thread::numbered_attachments(&thread.messages, |m| &m.attachments)
            .filter_map(|(m, a, att)| att.path.as_ref().map(|p| (m, a, base.join(p))))
            .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let (ocr, runtime) = ocr_runtime()?;
    if let Err(off) = ocr.status() {
        eprintln!("imap-triage: {off}; images are counted, not read");
        return Ok(Vec::new());
    }
    Ok(wanted
        .into_iter()
        .filter_map(|(message, attachment, path)| {
            let read = runtime.block_on(ocr.read_path(rules, &path))?;
            Some(core::AttachmentRead {
                message,
                attachment,
                read,
            })
        })
        .collect())
}

fn triage(rules: Option<&Path>, json: bool, explain: bool, file: &str) -> i32 {
    let rules = match load_rules(rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    let input = match read_input(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("imap-triage: cannot read {file}: {e}");
            return 2;
        }
    };
    let thread = match parse_thread(&input) {
        Ok(thread) => thread,
        Err(e) => {
            eprintln!("imap-triage: {file}: {}", one_line(&e));
            return 2;
        }
    };
    let base = match file {
        "-" => PathBuf::from("."),
        _ => Path::new(file)
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    let reads = match read_attachments(&rules, &thread, &base) {
        Ok(reads) => reads,
        Err(code) => return code,
    };
    let report = core::triage_with_reads(&rules, &thread, &reads);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("imap-triage: cannot encode the report: {e}");
                return 2;
            }
        }
    } else if explain {
        print!("{}", report.explain());
    } else {
        print!("{}", report.to_text());
    }
    0
}

fn read_input(file: &str) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    if file == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(file)?;
    }
    // Members paste from everywhere; a stray invalid byte should not lose the whole post.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A thread file is JSON when it starts with `{`; anything else is one member message.
pub fn parse_thread(input: &str) -> Result<Thread, String> {
    let trimmed = input.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        serde_json::from_str::<Thread>(trimmed).map_err(|e| format!("invalid thread JSON: {e}"))
    } else {
        Ok(Thread {
            messages: vec![core::Message::member(input)],
        })
    }
}

fn rules_check(dir: &Path) -> i32 {
    match rules_dir::load(dir) {
        Ok(rules) => {
            println!(
                "{}: ok ({} errors, {} providers, {} checklist items)",
                dir.display(),
                rules.errors.len(),
                rules.providers.len(),
                rules.checklist.items.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn console_settings(config: Option<&Path>) -> Result<crate::console::ConsoleSettings, String> {
    let config = crate::config::Config::load(config).map_err(|e| e.to_string())?;
    Ok(crate::console::ConsoleSettings {
        thread: None,
        store_path: config.store.path.clone(),
        rules_dir: config.rules.path.clone(),
        policy: config.probe.policy(),
        extra_ca: config.probe.ca_files.clone(),
        ocr: config.ocr.settings(),
        discover: config.probe.discover,
        web: config.web.clone(),
    })
}
