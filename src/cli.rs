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
        #[arg(long)]
        json: bool,
        /// Thread file: JSON `{"messages":[...]}` or plain text; `-` reads stdin.
        file: String,
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
        Command::Triage { rules, json, file } => triage(rules.as_deref(), json, &file),
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => rules_check(dir.as_deref().unwrap_or(Path::new("rules"))),
        Command::Probe(args) => crate::probe::cli::run(args),
        Command::Discover(args) => crate::discover::cli::run(args),
        Command::Run { config } => crate::discord::run(config.as_deref()),
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

fn triage(rules: Option<&Path>, json: bool, file: &str) -> i32 {
    let rules = match rules {
        Some(dir) => rules_dir::load(dir),
        None => rules_dir::embedded(),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(e) => {
            eprintln!("imap-triage: {}", one_line(&e.to_string()));
            return 2;
        }
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
    let report = core::triage(&rules, &thread);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("imap-triage: cannot encode the report: {e}");
                return 2;
            }
        }
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
    })
}
