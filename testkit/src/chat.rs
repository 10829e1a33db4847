//! A [`Chat`] that records every effect the engine has on the platform, in order, for tests to
//! assert on (the Discord adapter is tested against the fake Discord instead).

use std::sync::Mutex;

use async_trait::async_trait;
use imap_triage::engine::chat::{
    Chat, ChatError, EscalationSummary, MessageId, OutMessage, ThreadId, TicketState,
};

/// One effect, as the engine asked for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// The message and the id the recorder gave it.
    Post(MessageId, OutMessage),
    Edit(MessageId, OutMessage),
    Delete(MessageId),
    State(TicketState),
    ModLog(Box<EscalationSummary>),
    Rename(ThreadId, String),
    Close,
}

/// Records every call; posted messages get ids from 9001 on. By default it may delete messages
/// (Manage Messages) and may not rename threads (Manage Threads), as the bot's usual role.
#[derive(Default)]
pub struct Recorder {
    calls: Mutex<Vec<Call>>,
    posted: Mutex<u64>,
    deny_delete: bool,
    may_rename: bool,
}

impl Recorder {
    /// Refuses deletions when `deny`, as without Manage Messages.
    pub fn deny_delete(mut self, deny: bool) -> Self {
        self.deny_delete = deny;
        self
    }

    /// Renames threads, as with Manage Threads.
    pub fn may_rename(mut self) -> Self {
        self.may_rename = true;
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The posted messages, in order.
    pub fn posts(&self) -> Vec<OutMessage> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Post(_, m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Every text the bot sent, in order: posts, edits, and the mod-log summaries (as `Debug`,
    /// every field).
    pub fn texts(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Post(_, m) | Call::Edit(_, m) => Some(m.content),
                Call::ModLog(summary) => Some(format!("{summary:?}")),
                _ => None,
            })
            .collect()
    }

    pub fn renames(&self) -> Vec<(ThreadId, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Rename(thread, name) => Some((thread, name)),
                _ => None,
            })
            .collect()
    }

    pub fn deleted(&self) -> Vec<MessageId> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Delete(id) => Some(id),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        // A test that panicked while holding the lock has failed already; its record is still
        // worth reading.
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, call: Call) {
        self.lock().push(call);
    }
}

#[async_trait]
impl Chat for Recorder {
    async fn post(&self, _thread: ThreadId, message: OutMessage) -> Result<MessageId, ChatError> {
        let id = {
            let mut posted = self.posted.lock().unwrap_or_else(|e| e.into_inner());
            *posted += 1;
            MessageId(9_000 + *posted)
        };
        self.record(Call::Post(id, message));
        Ok(id)
    }

    async fn edit(
        &self,
        _thread: ThreadId,
        message: MessageId,
        new: OutMessage,
    ) -> Result<(), ChatError> {
        self.record(Call::Edit(message, new));
        Ok(())
    }

    async fn delete(&self, _thread: ThreadId, message: MessageId) -> Result<(), ChatError> {
        if self.deny_delete {
            return Err(ChatError::MissingPermission("MANAGE_MESSAGES".into()));
        }
        self.record(Call::Delete(message));
        Ok(())
    }

    async fn set_state(&self, _thread: ThreadId, state: TicketState) -> Result<(), ChatError> {
        self.record(Call::State(state));
        Ok(())
    }

    async fn mod_log(&self, summary: &EscalationSummary) -> Result<(), ChatError> {
        self.record(Call::ModLog(Box::new(summary.clone())));
        Ok(())
    }

    async fn close(&self, _thread: ThreadId) -> Result<(), ChatError> {
        self.record(Call::Close);
        Ok(())
    }

    async fn rename(&self, thread: ThreadId, name: &str) -> Result<(), ChatError> {
        if !self.may_rename {
            return Err(ChatError::MissingPermission("MANAGE_THREADS".into()));
        }
        self.record(Call::Rename(thread, name.to_string()));
        Ok(())
    }
}
