//! `imap-triage log list|show|export|stats|purge`: the triage log from the command line, with
//! the bot stopped or running (a running bot holds the store's lock, so reads then use a copy).

use std::io::Write;
use std::path::Path;

use clap::Subcommand;

use crate::config::Config;
use crate::store::query::{self, Filter};
use crate::store::{SledLog, StoreError, TicketRecord, TriageLog};
use crate::ticket::{ThreadId, TicketState};

#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only tickets in this state (waiting_on_member, waiting_on_moderator, tested, escalated,
    /// resolved, closed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only tickets created since this date (YYYY-MM-DD, RFC 3339, or unix seconds).
    #[arg(long)]
    pub since: Option<String>,
    /// Only tickets with this Hub ID.
    #[arg(long = "hub-id")]
    pub hub_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// One line per ticket (tab-separated, with a header).
    List(FilterArgs),
    /// The timeline of one case.
    Show { thread: u64 },
    /// Every matching ticket as JSON lines or CSV.
    Export {
        #[arg(long, value_enum)]
        format: Format,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Counts by status, error code and provider; median time to first reply and escalation.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Delete closed and resolved tickets older than the retention period now.
    Purge {
        /// Overrides `lifecycle.retention_days`.
        #[arg(long)]
        older_than_days: Option<u64>,
    },
}

fn filter(args: &FilterArgs) -> Result<Filter, String> {
    let status = match &args.status {
        Some(s) => Some(TicketState::parse(s).ok_or_else(|| format!("unknown status `{s}`"))?),
        None => None,
    };
    let since = args.since.as_deref().map(query::parse_since).transpose()?;
    let hub_id = args
        .hub_id
        .as_deref()
        .map(query::parse_hub_id)
        .transpose()?;
    Ok(Filter {
        status,
        since,
        hub_id,
        ..Filter::default()
    })
}

/// Opens the store for reading: directly, or a copy when the running bot holds it.
pub fn open_for_reading(path: &Path) -> Result<(SledLog, Option<tempfile::TempDir>), StoreError> {
    if !path.exists() {
        return Err(StoreError::Other(format!("no store at {}", path.display())));
    }
    match SledLog::open(path) {
        Ok(log) => Ok((log, None)),
        Err(StoreError::Locked { .. }) => {
            SledLog::open_snapshot(path).map(|(log, dir)| (log, Some(dir)))
        }
        Err(e) => Err(e),
    }
}

pub fn run(config: Option<&Path>, command: LogCommand) -> i32 {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Bad filter values are bad arguments (exit 2), like clap's own errors.
    let filter_error = match &command {
        LogCommand::List(args) | LogCommand::Export { filter: args, .. } => filter(args).err(),
        _ => None,
    };
    if let Some(e) = filter_error {
        eprintln!("imap-triage log: {e}");
        return 2;
    }
    match execute(&config, command, &mut out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("imap-triage log: {e}");
            1
        }
    }
}

fn execute(config: &Config, command: LogCommand, out: &mut dyn Write) -> Result<(), String> {
    let path = &config.store.path;
    let e = |e: std::io::Error| e.to_string();
    match command {
        LogCommand::List(args) => {
            let filter = filter(&args)?;
            let (store, _copy) = open_for_reading(path).map_err(|e| e.to_string())?;
            let mut tickets = store.tickets().map_err(|e| e.to_string())?;
            tickets.sort_by_key(|t| (t.created_at, t.thread));
            writeln!(
                out,
                "thread\tstatus\tcreated_at\thub_id\tprovider\terror_code\tmissing\ttitle"
            )
            .map_err(e)?;
            for t in tickets.iter().filter(|t| filter.accepts(t)) {
                let r = query::row(t);
                let title: String = r.title.replace(['\t', '\n', '\r'], " ");
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.thread,
                    r.status,
                    r.created_at,
                    r.hub_id,
                    r.provider,
                    r.error_code,
                    r.missing,
                    title
                )
                .map_err(e)?;
            }
        }
        LogCommand::Show { thread } => {
            let (store, _copy) = open_for_reading(path).map_err(|e| e.to_string())?;
            let ticket = store
                .ticket(ThreadId(thread))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no ticket for thread {thread}"))?;
            show(&ticket, &store, out).map_err(e)?;
        }
        LogCommand::Export {
            format,
            filter: args,
        } => {
            let filter = filter(&args)?;
            let (store, _copy) = open_for_reading(path).map_err(|e| e.to_string())?;
            let tickets = store.tickets().map_err(|e| e.to_string())?;
            let format = match format {
                Format::Csv => query::ExportFormat::Csv,
                Format::Jsonl => query::ExportFormat::Jsonl,
            };
            query::export(&tickets, &filter, format, out).map_err(e)?;
        }
        LogCommand::Stats { json } => {
            let (store, _copy) = open_for_reading(path).map_err(|e| e.to_string())?;
            let tickets = store.tickets().map_err(|e| e.to_string())?;
            let stats = query::stats(tickets.iter());
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&stats).unwrap_or_default()
                )
                .map_err(e)?;
            } else {
                writeln!(out, "tickets\t{}", stats.tickets).map_err(e)?;
                for (group, map) in [
                    ("status", &stats.by_status),
                    ("error_code", &stats.by_error_code),
                    ("provider", &stats.by_provider),
                ] {
                    for (key, count) in map {
                        writeln!(out, "{group}\t{key}\t{count}").map_err(e)?;
                    }
                }
                let secs = |v: Option<u64>| v.map_or("-".to_string(), |s| s.to_string());
                writeln!(
                    out,
                    "median_first_reply_secs\t{}",
                    secs(stats.median_first_reply_secs)
                )
                .map_err(e)?;
                writeln!(
                    out,
                    "median_escalation_secs\t{}",
                    secs(stats.median_escalation_secs)
                )
                .map_err(e)?;
            }
        }
        LogCommand::Purge { older_than_days } => {
            let days = older_than_days.unwrap_or(config.lifecycle.retention_days);
            let store = SledLog::open(path).map_err(|e| match e {
                StoreError::Locked { .. } => {
                    format!("{e}; stop the bot first, or let it purge on its own schedule")
                }
                other => other.to_string(),
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let purged = store
                .purge_closed_before(now.saturating_sub(days * 86_400))
                .map_err(|e| e.to_string())?;
            writeln!(out, "purged\t{purged}").map_err(e)?;
        }
    }
    Ok(())
}

fn show(t: &TicketRecord, store: &SledLog, out: &mut dyn Write) -> std::io::Result<()> {
    let r = query::row(t);
    writeln!(out, "thread:       {}", r.thread)?;
    writeln!(out, "title:        {}", r.title)?;
    writeln!(out, "status:       {}", r.status)?;
    writeln!(out, "created_at:   {}", r.created_at)?;
    writeln!(out, "hub_id:       {}", r.hub_id)?;
    writeln!(out, "provider:     {}", r.provider)?;
    writeln!(out, "error_code:   {}", r.error_code)?;
    writeln!(out, "imap:         {}", r.imap)?;
    writeln!(out, "smtp:         {}", r.smtp)?;
    writeln!(out, "email_domain: {}", r.email_domain)?;
    writeln!(out, "missing:      {}", r.missing)?;
    writeln!(out, "probe:        {}", r.probe)?;
    for line in &t.evidence {
        writeln!(out, "evidence:     {line}")?;
    }
    if let Some(lookup) = &t.discovery {
        writeln!(out, "domain:       {}", lookup.summary)?;
    }
    writeln!(out, "timeline:")?;
    let events = store
        .events(t.thread)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    for event in events {
        let detail = serde_json::to_value(&event.kind)
            .map(|v| v.to_string())
            .unwrap_or_default();
        writeln!(out, "  {}  {}", query::rfc3339(event.at), detail)?;
    }
    Ok(())
}
