//! The engine's integration tests, in one binary, each against a real sled store and the
//! recording chat of `testkit`:
//! - `discovery`: the member's email domain looked up, compared and tested (canned answers);
//! - `end_to_end`: events, commands, controls, lifecycle timers and a failing store;
//! - `escalation`: when a case pings the moderators, and when it does not (a canned probe);
//! - `probe`: the automatic probe against the real Dovecot and exim4 on loopback;
//! - `shield`: the eight credential forms members post, searched for in every output.

mod discovery;
mod end_to_end;
mod escalation;
mod probe;
mod shield;

use imap_triage::engine::chat::{MessageId, ThreadId};
use imap_triage::engine::{Actor, Command, Engine, Event, Incoming};

/// The thread's member and a moderator, as the tests' messages name them.
const MEMBER: u64 = 7;
const MODERATOR: u64 = 8;

/// A message in a thread, by `author` (a moderator when it is [`MODERATOR`]).
fn message(id: u64, author: u64, text: &str) -> Incoming {
    Incoming {
        id: MessageId(id),
        author,
        author_is_bot: false,
        author_is_moderator: author == MODERATOR,
        text: text.into(),
        attachments: Vec::new(),
    }
}

/// A moderator's command in `thread`; returns the private answer.
async fn moderator_command(
    engine: &Engine,
    thread: ThreadId,
    key: u64,
    command: Command,
) -> String {
    let moderator = Actor {
        user: MODERATOR,
        is_moderator: true,
        name: None,
    };
    engine
        .handle(Event::Command {
            thread,
            actor: moderator.clone(),
            key,
            command,
        })
        .await
        .unwrap()
        .private
        .unwrap_or_default()
}
