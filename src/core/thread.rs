//! The input of the core: a support thread as plain data, whatever adapter it came from.

use serde::{Deserialize, Serialize};

/// Who wrote a message, as far as triage is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A community member. Only the thread's own member supplies items; another member (a
    /// bystander, also accepted under that name) supplies nothing.
    #[serde(alias = "bystander")]
    Member,
    Moderator,
    Bot,
}

/// File metadata only: the core never sees file contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub filename: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Where the file is, for adapters that can read it (`triage --json`: relative to the
    /// thread file's directory). The core never opens it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Where the platform serves the file (Discord's CDN), for the OCR edge to download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    #[serde(rename = "author")]
    pub role: Role,
    #[serde(default)]
    pub author_id: Option<String>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

impl Message {
    pub fn member(text: impl Into<String>) -> Self {
        Message {
            role: Role::Member,
            author_id: None,
            text: text.into(),
            attachments: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    pub messages: Vec<Message>,
}

impl Thread {
    /// The author id of the thread's member: the first `member` message's author.
    pub fn member_id(&self) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.role == Role::Member)
            .and_then(|m| m.author_id.as_deref())
    }

    /// Messages written by the thread's own member, with their index in the thread.
    ///
    /// A `member` message by another author (a helpful bystander) supplies nothing: the items
    /// support needs are about the member's own account.
    pub fn member_messages(&self) -> impl Iterator<Item = (usize, &Message)> {
        let owner = self.member_id();
        self.messages.iter().enumerate().filter(move |(_, m)| {
            m.role == Role::Member
                && match (owner, m.author_id.as_deref()) {
                    (Some(owner), Some(id)) => owner == id,
                    _ => true,
                }
        })
    }
}

/// Every attachment of `messages`, numbered as `(message, attachment)` in post order: the index
/// pair that [`crate::core::AttachmentRead`] and the adapters' file lists are keyed by.
pub fn numbered_attachments<'a, M, A: 'a>(
    messages: &'a [M],
    attachments_of: impl Fn(&'a M) -> &'a [A] + Copy + 'a,
) -> impl Iterator<Item = (usize, usize, &'a A)> + 'a {
    messages.iter().enumerate().flat_map(move |(m, message)| {
        attachments_of(message)
            .iter()
            .enumerate()
            .map(move |(a, attachment)| (m, a, attachment))
    })
}
