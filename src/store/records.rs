//! Stored record types, versioned independently of the core's types.

use serde::{Deserialize, Serialize};

use crate::ticket::{MessageId, ThreadId, TicketState};

/// The current record version. Bump it when a field changes meaning, and teach
/// [`TicketRecord::from_json`] to read the old shape.
pub const TICKET_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredRole {
    Member,
    Moderator,
    Bot,
}

/// An event the engine has begun to act on (the transactional outbox's intent): written and
/// flushed before the first call to the chat platform, and removed by the commit that records
/// what came of it, in the same transaction. One still here at start-up was cut short (a crash,
/// a kill): the engine handles it again, and its posts carry the same dedup keys (from thread,
/// event and post number), so the platform returns what it already posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    /// The event's idempotency key (`m:<message id>`).
    pub key: String,
    pub thread: ThreadId,
    /// The post's title, redacted, when the event opens the thread.
    #[serde(default)]
    pub title: Option<String>,
    pub message: PendingMessage,
    /// The kinds of credential found in the text and the title before they were redacted, so
    /// that the message is still deleted and its author warned when handled again.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub title_secrets: Vec<String>,
}

/// The message of a [`PendingEvent`]: text redacted, attachments without their link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMessage {
    pub id: MessageId,
    pub author: u64,
    pub author_is_moderator: bool,
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<crate::core::Attachment>,
}

/// A thread message as stored: credentials already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: MessageId,
    pub author: u64,
    pub role: StoredRole,
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<StoredAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    /// The file's name, type and size. Flattened, so a stored attachment keeps the shape it had
    /// when these were fields of their own; `path` and `url` are never stored (a CDN link
    /// expires, and the image is never kept).
    #[serde(flatten)]
    pub file: crate::core::Attachment,
    /// What OCR read from it (redacted text, email domain only); never the image itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<crate::core::ScreenshotRead>,
}

/// A look-up of the member's email domain (MX, SRV, autoconfig), as moderators read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainLookup {
    pub domain: String,
    /// `core::diagnose::discovery::summary_line`: provider, published servers, or the problem.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub version: u32,
    pub thread: ThreadId,
    pub title: String,
    pub member: u64,
    pub status: TicketState,
    pub messages: Vec<StoredMessage>,
    /// The bot's one status message, edited as the case evolves.
    pub status_message: Option<MessageId>,
    /// The endpoint set last probed ("imap=host:port smtp=host:port"), so each set runs once.
    pub probed: Option<String>,
    /// What the case was last escalated for (the engine's key of its needs), so that the same
    /// need never escalates twice.
    pub escalated: Option<String>,
    /// The last probe's verdict lines, for the escalation summary.
    #[serde(default)]
    pub probe_verdicts: Vec<String>,
    /// The probe found something the member can fix (wrong port, wrong protocol...).
    #[serde(default)]
    pub probe_member_fix: bool,
    /// The last probe's outcome per service, without the endpoint ("IMAP Failed (timeout)"):
    /// part of what an escalation is for, so that a corrected port alone is no new need.
    #[serde(default)]
    pub probe_outcome: Vec<String>,
    /// Where the member's email domain says its mail lives, once per domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DomainLookup>,
    // Summary fields, for the log's filters and stats (derived from the last triage).
    pub hub_id: Option<crate::core::HubId>,
    pub provider: Option<String>,
    pub error_code: Option<String>,
    pub imap: Option<String>,
    pub smtp: Option<String>,
    pub email_domain: Option<String>,
    pub missing: Vec<String>,
    /// Where each field came from, one line each ("hub_id ← msg 0 prose: \"...\""): built from
    /// redacted excerpts only.
    #[serde(default)]
    pub evidence: Vec<String>,
    // Times, in unix seconds.
    pub created_at: u64,
    pub updated_at: u64,
    pub first_reply_at: Option<u64>,
    pub escalated_at: Option<u64>,
    pub resolved_at: Option<u64>,
    pub closed_at: Option<u64>,
    /// When the member last wrote: the reminder and auto-close clocks start here.
    pub last_member_at: u64,
    pub reminders_sent: u32,
    pub close_warned_at: Option<u64>,
    pub exempt: bool,
}

impl TicketRecord {
    pub fn new(thread: ThreadId, title: String, member: u64, now: u64) -> Self {
        TicketRecord {
            version: TICKET_VERSION,
            thread,
            title,
            member,
            status: TicketState::WaitingOnMember,
            messages: Vec::new(),
            status_message: None,
            probed: None,
            escalated: None,
            probe_verdicts: Vec::new(),
            probe_member_fix: false,
            probe_outcome: Vec::new(),
            discovery: None,
            hub_id: None,
            provider: None,
            error_code: None,
            imap: None,
            smtp: None,
            email_domain: None,
            missing: Vec::new(),
            evidence: Vec::new(),
            created_at: now,
            updated_at: now,
            first_reply_at: None,
            escalated_at: None,
            resolved_at: None,
            closed_at: None,
            last_member_at: now,
            reminders_sent: 0,
            close_warned_at: None,
            exempt: false,
        }
    }

    /// Reads a stored ticket of any version this build knows.
    ///
    /// Version 1 (the first store format) kept `state` as a free string and had no `version`,
    /// `email_domain`, probe or lifecycle fields.
    pub fn from_json(bytes: &[u8]) -> Result<TicketRecord, String> {
        let mut value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(1);
        if version > u64::from(TICKET_VERSION) {
            return Err(format!(
                "ticket version {version} is newer than this build understands ({TICKET_VERSION})"
            ));
        }
        if version == 1 {
            migrate_v1(&mut value);
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn migrate_v1(value: &mut serde_json::Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    let state = obj
        .remove("state")
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default();
    let status = TicketState::parse(&state).unwrap_or(TicketState::WaitingOnMember);
    obj.insert(
        "status".into(),
        serde_json::to_value(status).unwrap_or_default(),
    );
    obj.insert("version".into(), TICKET_VERSION.into());
    let created = obj.get("created_at").cloned().unwrap_or(0.into());
    for (key, default) in [
        ("probed", serde_json::Value::Null),
        ("escalated", serde_json::Value::Null),
        ("email_domain", serde_json::Value::Null),
        ("first_reply_at", serde_json::Value::Null),
        ("escalated_at", serde_json::Value::Null),
        ("resolved_at", serde_json::Value::Null),
        ("closed_at", serde_json::Value::Null),
        ("close_warned_at", serde_json::Value::Null),
        ("reminders_sent", 0.into()),
        ("exempt", false.into()),
        ("missing", serde_json::Value::Array(Vec::new())),
        ("updated_at", created.clone()),
        ("last_member_at", created),
    ] {
        obj.entry(key).or_insert(default);
    }
}

/// One line of a ticket's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub at: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Opened {
        member: u64,
    },
    ItemCollected {
        item: String,
    },
    ProbeRun {
        verdicts: Vec<String>,
        findings: Vec<String>,
    },
    /// The member's email domain was looked up; `findings` are the codes.
    DomainLookedUp {
        domain: String,
        findings: Vec<String>,
    },
    ReplyPosted {
        message: MessageId,
        what: String,
    },
    ReplyEdited {
        message: MessageId,
    },
    Escalated {
        reason: String,
    },
    /// `by_name`: the name the moderator went by when acting (absent in older records, and
    /// when the adapter doesn't know it).
    Resolved {
        by: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_name: Option<String>,
        reason: String,
    },
    Reopened {
        by: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_name: Option<String>,
    },
    /// The kind of credential only, never the value.
    SecretRedacted {
        kind: String,
        deleted: bool,
    },
    /// The post's title held a credential: stored redacted; `renamed` when the bot could
    /// rename the thread (else the member was asked to).
    TitleRedacted {
        kind: String,
        renamed: bool,
    },
    ReminderSent {
        missing: Vec<String>,
    },
    CloseWarned,
    AutoClosed,
    Exempted {
        by: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_name: Option<String>,
    },
    StateChanged {
        to: TicketState,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_tickets_migrate() {
        let v1 = br#"{"thread": 7, "title": "help", "member": 9, "state": "escalated",
            "messages": [{"id": 7, "author": 9, "role": "member", "text": "hi"}],
            "status_message": 70, "hub_id": "4821937", "provider": null, "error_code": null,
            "imap": null, "smtp": null, "created_at": 100}"#;
        let t = TicketRecord::from_json(v1).expect("v1 migrates");
        assert_eq!(t.version, TICKET_VERSION);
        assert_eq!(t.status, TicketState::Escalated);
        assert_eq!(t.last_member_at, 100);
        assert_eq!(t.messages[0].text, "hi");
        assert_eq!(TicketRecord::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn a_moderators_action_recorded_before_names_were_kept_still_reads() {
        let old: EventKind =
            serde_json::from_str(r#"{"event": "resolved", "by": 2, "reason": "fixed"}"#).unwrap();
        assert_eq!(
            old,
            EventKind::Resolved {
                by: 2,
                by_name: None,
                reason: "fixed".into()
            }
        );
        let named = EventKind::Reopened {
            by: 2,
            by_name: Some("Alice".into()),
        };
        let json = serde_json::to_string(&named).unwrap();
        assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), named);
    }

    #[test]
    fn newer_versions_are_refused_clearly() {
        let err = TicketRecord::from_json(br#"{"version": 99}"#).unwrap_err();
        assert!(err.contains("newer"), "{err}");
    }
}
