//! The engine's view of the chat platform: what it can ask the adapter to do. The Discord
//! adapter implements [`Chat`] with serenity; the console prints; tests record.

use async_trait::async_trait;

// The Chat API speaks of threads, messages and states; adapters and tests name them from here.
pub use crate::ticket::{MessageId, ThreadId, TicketState, UserId};

/// Who a message may ping. The engine never writes mention syntax into `content`: the adapter
/// prepends the mention (`<@user>` or `<@&moderator_role>`) and enforces it (Discord:
/// `allowed_mentions`), whatever the content says. Nothing else is ever pinged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mention {
    Nobody,
    /// The thread's member (reminders, redaction warnings).
    User(UserId),
    /// The moderator role, on escalation only.
    Moderators,
}

/// Which interactive controls a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controls {
    None,
    /// The status message: checklist multi-select (with the current ticks), "Add details"
    /// button, "Run connection test" button.
    Status {
        checked: [bool; 4],
    },
}

/// A message for the adapter to post or edit. `content` is Markdown and already fits the
/// platform's limit ([`MESSAGE_LIMIT`](crate::core::text::MESSAGE_LIMIT)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    pub content: String,
    pub mention: Mention,
    pub controls: Controls,
    /// Detail blocks shown beside the text (Discord: one embed's fields), for what a reader may
    /// skip: a probe's stages and certificate. Names fit 256 characters and values 1024, at
    /// most [`MAX_DETAILS`] of them.
    pub details: Vec<Detail>,
    /// Set by the engine on posts: the same key posted again in the same thread (the same
    /// change, made again after a crash) is the same message. Discord: the post's `nonce`,
    /// with `enforce_nonce`.
    pub dedup_key: Option<String>,
}

/// One titled detail block of an [`OutMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub name: String,
    pub value: String,
}

/// At most this many detail blocks per message (well under Discord's 25 embed fields and 6000
/// characters: 4 × (256 + 1024)).
pub const MAX_DETAILS: usize = 4;

impl OutMessage {
    pub fn text(content: impl Into<String>) -> Self {
        OutMessage {
            content: content.into(),
            mention: Mention::Nobody,
            controls: Controls::None,
            details: Vec::new(),
            dedup_key: None,
        }
    }

    /// A notice that pings `user` (reminders, warnings about a posted credential).
    pub fn to_user(user: UserId, content: impl Into<String>) -> Self {
        OutMessage {
            content: content.into(),
            mention: Mention::User(user),
            controls: Controls::None,
            details: Vec::new(),
            dedup_key: None,
        }
    }
}

/// The case summary posted to the moderators' log channel on escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationSummary {
    pub thread: ThreadId,
    pub title: String,
    pub hub_id: Option<crate::core::HubId>,
    pub provider: Option<String>,
    pub imap: Option<String>,
    pub smtp: Option<String>,
    pub error_code: Option<String>,
    /// e.g. "IMAP imap.acme.com:993: ok", "SMTP smtp.acme.com:587: failed (timeout)".
    pub probe_verdicts: Vec<String>,
    /// What the member's email domain publishes (`DomainLookup::summary`), if it was looked up.
    pub domain: Option<String>,
    /// Where each field came from (redacted excerpts), one line each.
    pub evidence: Vec<String>,
    pub likely_cause: String,
    pub reason: String,
    /// As [`OutMessage::dedup_key`]: the same escalation made again after a crash is the same
    /// mod-log post.
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The bot lacks a permission (Discord 403).
    #[error("missing permission: {0}")]
    MissingPermission(String),
    /// The thread or message is gone (Discord 404).
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// Effects on the chat platform. Every call is one platform request; errors are returned,
/// never panicked, and the engine logs them with context and carries on.
#[async_trait]
pub trait Chat: Send + Sync {
    async fn post(&self, thread: ThreadId, message: OutMessage) -> Result<MessageId, ChatError>;
    async fn edit(
        &self,
        thread: ThreadId,
        message: MessageId,
        new: OutMessage,
    ) -> Result<(), ChatError>;
    async fn delete(&self, thread: ThreadId, message: MessageId) -> Result<(), ChatError>;
    /// Mirror the state as the thread's forum tag (no-op where there are no tags).
    async fn set_state(&self, thread: ThreadId, state: TicketState) -> Result<(), ChatError>;
    async fn mod_log(&self, summary: &EscalationSummary) -> Result<(), ChatError>;
    /// Archive and lock the thread.
    async fn close(&self, thread: ThreadId) -> Result<(), ChatError>;
    /// Give the thread a new name (its title held a credential). Platforms without thread
    /// names, and adapters without the permission (Discord: Manage Threads), can't.
    async fn rename(&self, thread: ThreadId, name: &str) -> Result<(), ChatError> {
        let _ = (thread, name);
        Err(ChatError::MissingPermission("rename thread".into()))
    }
}
