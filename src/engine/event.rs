//! What adapters feed the engine, already translated from the platform's shapes.

pub use crate::core::commands::Command;
use crate::core::Attachment;
use crate::ticket::{MessageId, ThreadId, UserId};

/// A message as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub id: MessageId,
    pub author: UserId,
    pub author_is_bot: bool,
    /// The author holds the moderator role (the adapter checks the role).
    pub author_is_moderator: bool,
    pub text: String,
    pub attachments: Vec<Attachment>,
}

/// Who clicked or typed, for components and commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: UserId,
    pub is_moderator: bool,
    /// The name the platform shows for them, when the adapter knows it: a moderator's action
    /// is recorded with it, so the log reads "resolved by Alice", not by a number.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new post: a forum thread and its starter message (whose id is the thread id), or a
    /// thread the adapter opened for a new message in a watched text channel.
    NewThread {
        thread: ThreadId,
        title: String,
        starter: Incoming,
    },
    /// A later message in a known thread.
    Message { thread: ThreadId, message: Incoming },
    /// The checklist multi-select on the status message: the ids now ticked.
    ChecklistSelected {
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        selected: Vec<String>,
    },
    /// The "Add details" modal. Empty fields mean "not given".
    DetailsSubmitted {
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        hub_id: String,
        imap: String,
        smtp: String,
        error: String,
    },
    /// The "Run connection test" button.
    RunProbe {
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
    },
    /// A moderator command. `key` is the message or interaction id (for idempotency).
    Command {
        thread: ThreadId,
        actor: Actor,
        key: u64,
        command: Command,
    },
}

impl Event {
    pub fn thread(&self) -> ThreadId {
        match self {
            Event::NewThread { thread, .. }
            | Event::Message { thread, .. }
            | Event::ChecklistSelected { thread, .. }
            | Event::DetailsSubmitted { thread, .. }
            | Event::RunProbe { thread, .. }
            | Event::Command { thread, .. } => *thread,
        }
    }
}

/// The engine's answer to the one who acted: for interactions, what to show them privately
/// (refusals, confirmations); for messages, usually nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// Shown only to the actor (an ephemeral interaction reply, or a short reply to a command).
    pub private: Option<String>,
}

impl Response {
    pub fn none() -> Self {
        Response::default()
    }
    pub fn private(text: impl Into<String>) -> Self {
        Response {
            private: Some(text.into()),
        }
    }
}
