//! The ticket's shared vocabulary: its ids and its state. The engine, the store, the
//! configuration, the log command and the Discord review all speak of tickets, so these types
//! live here rather than in any one of them.

use serde::{Deserialize, Serialize};

/// A support thread (Discord: the thread channel's id; a forum post's starter message has the
/// same id).
///
/// A newtype, so a thread id can't be passed where a message id is meant. Serialized as the
/// bare number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ThreadId(pub u64);

/// A Discord message. Serialized as the bare number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MessageId(pub u64);

pub type UserId = u64;

macro_rules! id_newtype {
    ($name:ident) => {
        impl $name {
            /// The bare number.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

id_newtype!(ThreadId);
id_newtype!(MessageId);

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
