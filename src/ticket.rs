//! The ticket's shared vocabulary: its ids and its state. The engine, the store, the
//! configuration, the log command and the Discord review all speak of tickets, so these types
//! live here rather than in any one of them.

use serde::{Deserialize, Serialize};

/// A support thread (Discord: the thread channel's id; a forum post's starter message has the
/// same id).
pub type ThreadId = u64;
pub type UserId = u64;
pub type MessageId = u64;

/// A ticket's state, mirrored as a forum tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    WaitingOnMember,
    WaitingOnModerator,
    Tested,
    Escalated,
    Resolved,
    Closed,
}

impl TicketState {
    pub const ALL: [TicketState; 6] = [
        TicketState::WaitingOnMember,
        TicketState::WaitingOnModerator,
        TicketState::Tested,
        TicketState::Escalated,
        TicketState::Resolved,
        TicketState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::WaitingOnMember => "waiting_on_member",
            TicketState::WaitingOnModerator => "waiting_on_moderator",
            TicketState::Tested => "tested",
            TicketState::Escalated => "escalated",
            TicketState::Resolved => "resolved",
            TicketState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<TicketState> {
        TicketState::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim().replace(['-', ' '], "_"))
    }
}
