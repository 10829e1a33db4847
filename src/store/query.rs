//! Moderators' review of the triage log: filters, CSV/JSONL rows and statistics over stored
//! records. Plain functions over data; the CLI and the Discord commands print the results.

use std::collections::BTreeMap;

use serde::Serialize;

use super::records::TicketRecord;
use crate::ticket::{ThreadId, TicketState};

/// Which tickets to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<TicketState>,
    /// Unix seconds: tickets created at or after.
    pub since: Option<u64>,
    pub hub_id: Option<crate::core::HubId>,
    /// Unix seconds: tickets created before.
    pub until: Option<u64>,
    /// The error code as stored (`none` matches tickets without one).
    pub error_code: Option<String>,
    /// The provider as stored (`unknown` matches tickets without one).
    pub provider: Option<String>,
}

/// A Hub ID filter as typed by a moderator; `Err` says what one looks like.
pub fn parse_hub_id(text: &str) -> Result<crate::core::HubId, String> {
    crate::core::HubId::parse(text)
        .ok_or_else(|| "a Hub ID is 4 to 10 digits, like `4821937`".to_string())
}

impl Filter {
    pub fn accepts(&self, t: &TicketRecord) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.since.is_none_or(|since| t.created_at >= since)
            && self
                .hub_id
                .as_ref()
                .is_none_or(|h| t.hub_id.as_ref() == Some(h))
            && self.until.is_none_or(|until| t.created_at < until)
            && self
                .error_code
                .as_deref()
                .is_none_or(|c| t.error_code.as_deref().unwrap_or("none") == c)
            && self
                .provider
                .as_deref()
                .is_none_or(|p| t.provider.as_deref().unwrap_or("unknown") == p)
    }
}

/// The export formats: one CSV row, or one JSON object per line, per ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// Writes every ticket `filter` accepts, oldest first: the one export, shared by
/// `log export` and the dashboard's downloads.
pub fn export(
    tickets: &[TicketRecord],
    filter: &Filter,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut chosen: Vec<&TicketRecord> = tickets.iter().filter(|t| filter.accepts(t)).collect();
    chosen.sort_by_key(|t| (t.created_at, t.thread));
    if format == ExportFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    for t in chosen {
        let row = row(t);
        match format {
            ExportFormat::Csv => writeln!(out, "{}", csv_line(&row))?,
            ExportFormat::Jsonl => writeln!(
                out,
                "{}",
                serde_json::to_string(&row).map_err(std::io::Error::other)?
            )?,
        }
    }
    Ok(())
}

/// One exported row: stable field names and order (documented in the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub thread: ThreadId,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub hub_id: String,
    pub provider: String,
    pub error_code: String,
    pub imap: String,
    pub smtp: String,
    pub email_domain: String,
    pub missing: String,
    pub probe: String,
    pub title: String,
}

pub const CSV_HEADER: &str = "thread,status,created_at,updated_at,hub_id,provider,error_code,imap,smtp,email_domain,missing,probe,title";

pub fn row(t: &TicketRecord) -> Row {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    Row {
        thread: t.thread,
        status: t.status.as_str(),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        hub_id: t.hub_id.as_ref().map(|h| h.to_string()).unwrap_or_default(),
        provider: opt(&t.provider),
        error_code: opt(&t.error_code),
        imap: opt(&t.imap),
        smtp: opt(&t.smtp),
        email_domain: opt(&t.email_domain),
        missing: t.missing.join(" "),
        probe: t.probe_verdicts.join("; "),
        // Stored redacted since the shield covered titles; older records are redacted here.
        title: crate::core::secrets::redact(&t.title),
    }
}

/// RFC 4180 CSV: fields with a comma, quote or line break are quoted.
pub fn csv_line(r: &Row) -> String {
    let fields = [
        r.thread.to_string(),
        r.status.to_string(),
        r.created_at.clone(),
        r.updated_at.clone(),
        r.hub_id.clone(),
        r.provider.clone(),
        r.error_code.clone(),
        r.imap.clone(),
        r.smtp.clone(),
        r.email_domain.clone(),
        r.missing.clone(),
        r.probe.clone(),
        r.title.clone(),
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv_field(f: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet: prefix it so it stays text.
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Stats {
    pub tickets: usize,
    pub by_status: BTreeMap<String, usize>,
    pub by_error_code: BTreeMap<String, usize>,
    pub by_provider: BTreeMap<String, usize>,
    /// Seconds from the post to the bot's first reply.
    pub median_first_reply_secs: Option<u64>,
    /// Seconds from the post to escalation.
    pub median_escalation_secs: Option<u64>,
}

pub fn stats<'a>(tickets: impl Iterator<Item = &'a TicketRecord>) -> Stats {
    let mut s = Stats::default();
    let mut first = Vec::new();
    let mut escalation = Vec::new();
    for t in tickets {
        s.tickets += 1;
        *s.by_status
            .entry(t.status.as_str().to_string())
            .or_default() += 1;
        *s.by_error_code
            .entry(t.error_code.clone().unwrap_or_else(|| "none".into()))
            .or_default() += 1;
        *s.by_provider
            .entry(t.provider.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
        if let Some(at) = t.first_reply_at {
            first.push(at.saturating_sub(t.created_at));
        }
        if let Some(at) = t.escalated_at {
            escalation.push(at.saturating_sub(t.created_at));
        }
    }
    s.median_first_reply_secs = median(&mut first);
    s.median_escalation_secs = median(&mut escalation);
    s
}

pub fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    })
}

/// `2026-11-26T06:14:00Z` from unix seconds.
pub fn rfc3339(secs: u64) -> String {
    crate::timestamp::rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}

pub use crate::timestamp::parse_since;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let secs = parse_since("2026-11-26").unwrap();
        assert_eq!(rfc3339(secs), "2026-11-26T00:00:00Z");
        assert_eq!(
            parse_since("2026-11-26T06:14:05Z").unwrap(),
            secs + 6 * 3600 + 14 * 60 + 5
        );
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}
