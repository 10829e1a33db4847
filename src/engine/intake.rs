//! Purpose: what members post and click. A message or a control's input is stored redacted
//! (credentials, email local parts), a posted credential is deleted and its author warned, a
//! screenshot is read, and then the thread is refreshed from one triage of the ticket.

use std::path::Path;

use super::chat::OutMessage;
use super::lifecycle::member_spoke;
use super::plan::Cause;
use super::{
    may_use_controls, render, triage, Actor, Change, Engine, EngineError, Incoming, Journal,
    NewTicket, Response,
};
use crate::core::{self, secrets};
use crate::store::records::{StoredAttachment, StoredMessage, StoredRole};
use crate::store::{EventKind, PendingEvent, PendingMessage, TicketRecord};
use crate::ticket::{MessageId, ThreadId, TicketState};

impl Engine {
    pub(super) async fn on_message(
        &self,
        thread: ThreadId,
        title: Option<String>,
        message: Incoming,
    ) -> Result<Response, EngineError> {
        if message.author_is_bot {
            return Ok(Response::none());
        }
        // The rules' `[secrets]` lists, so an operator's placeholders are read as the triage reads them.
        let rules = self.rules();
        let words = &rules.reading.secrets;
        let found = secrets::find_with(words, &message.text);
        let title_secrets = title
            .as_deref()
            .map(|t| secrets::find_with(words, t))
            .unwrap_or_default();
        self.on_read_message(thread, title, message, found, title_secrets)
            .await
    }

    /// Finishes the events a crash cut short (begun, never committed), oldest first, each under
    /// its thread's lock: handled again from what was recorded (text redacted, the credentials
    /// found by kind), so its posts carry the same dedup keys and the platform returns the
    /// messages already posted. Run before new events are taken. Returns how many there were.
    pub async fn resume_pending(&self) -> Result<usize, EngineError> {
        let pending = self.store.pending()?;
        for event in &pending {
            let lock = self.thread_lock(event.thread);
            let _guard = lock.lock().await;
            let kinds = |names: &[String]| -> Vec<(core::SecretKind, std::ops::Range<usize>)> {
                names
                    .iter()
                    .filter_map(|n| secret_kind_of(n))
                    .map(|k| (k, 0..0))
                    .collect()
            };
            let message = Incoming {
                id: event.message.id,
                author: event.message.author,
                author_is_bot: false,
                author_is_moderator: event.message.author_is_moderator,
                text: event.message.text.clone(),
                attachments: event.message.attachments.clone(),
            };
            let (found, title_found) = (kinds(&event.secrets), kinds(&event.title_secrets));
            self.on_read_message(
                event.thread,
                event.title.clone(),
                message,
                found,
                title_found,
            )
            .await?;
        }
        Ok(pending.len())
    }

    /// A message whose text (and title) were searched for credentials: `found`, `title_secrets`.
    async fn on_read_message(
        &self,
        thread: ThreadId,
        title: Option<String>,
        message: Incoming,
        found: Vec<(core::SecretKind, std::ops::Range<usize>)>,
        title_secrets: Vec<(core::SecretKind, std::ops::Range<usize>)>,
    ) -> Result<Response, EngineError> {
        // A credential in the post's title: kept redacted, and the thread renamed.
        let open = title.map(|title| NewTicket {
            title: if title_secrets.is_empty() {
                title
            } else {
                secrets::redact_with(&self.rules().reading.secrets, &title)
            },
            member: message.author,
        });
        let key = format!("m:{}", message.id);
        let begun = PendingEvent {
            key: key.clone(),
            thread,
            title: open.as_ref().map(|o| o.title.clone()),
            message: PendingMessage {
                id: message.id,
                author: message.author,
                author_is_moderator: message.author_is_moderator,
                text: stored_text(
                    &self.rules().reading.secrets,
                    &message.text,
                    !found.is_empty(),
                ),
                // A CDN link expires and is never stored: a resumed message's screenshots are
                // counted, not read.
                attachments: message
                    .attachments
                    .iter()
                    .map(|a| core::Attachment {
                        path: None,
                        url: None,
                        ..a.clone()
                    })
                    .collect(),
            },
            secrets: found.iter().map(|(k, _)| secret_kind_name(*k)).collect(),
            title_secrets: title_secrets
                .iter()
                .map(|(k, _)| secret_kind_name(*k))
                .collect(),
        };
        // A message in a thread the bot never saw open is not one of ours: `Unknown`, ignored.
        self.with_ticket(
            thread,
            Some(key),
            open,
            Some(begun),
            async |change: &mut Change| {
                let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
                let role = if message.author == ticket.member {
                    StoredRole::Member
                } else if message.author_is_moderator {
                    StoredRole::Moderator
                } else {
                    StoredRole::Member
                };
                let mut found = found;
                let text = stored_text(
                    &self.rules().reading.secrets,
                    &message.text,
                    !found.is_empty(),
                );
                ticket.messages.push(StoredMessage {
                    id: message.id,
                    author: message.author,
                    role,
                    text,
                    attachments: message
                        .attachments
                        .iter()
                        .map(|a| StoredAttachment {
                            file: core::Attachment {
                                path: None,
                                url: None,
                                ..a.clone()
                            },
                            read: None,
                        })
                        .collect(),
                });
                if message.author == ticket.member {
                    member_spoke(ticket, now);
                }
                if change.opened && !title_secrets.is_empty() {
                    self.shield_title(ticket, &title_secrets, events).await;
                }
                if self.read_screenshots(ticket, &message, events).await {
                    // A password in clear on a screenshot is a posted password: same shield.
                    found.push((core::SecretKind::Password, 0..0));
                }
                if !found.is_empty() {
                    self.shield(thread, &message, &found, events).await;
                }
                if !matches!(ticket.status, TicketState::Resolved | TicketState::Closed) {
                    let report = triage(&self.rules(), ticket);
                    self.refresh(change, &report, false, Cause::Thread).await;
                }
                Ok(Response::none())
            },
        )
        .await
        .map(|outcome| outcome.answer(Response::none()))
    }

    /// Reads the message's image attachments (the last stored message) when OCR is on: the
    /// status message says "reading your screenshot…" first, the reads are stored with the
    /// attachments (redacted; never the image), and `refresh` then shows the result. Returns
    /// whether a screenshot shows a password in clear.
    async fn read_screenshots(
        &self,
        ticket: &mut TicketRecord,
        message: &Incoming,
        events: &mut Journal,
    ) -> bool {
        let Some(ocr) = self.ocr.as_ref().filter(|o| o.is_on()) else {
            return false;
        };
        let images: Vec<usize> = message
            .attachments
            .iter()
            .enumerate()
            .filter(|(_, a)| core::items::is_screenshot(a) && (a.url.is_some() || a.path.is_some()))
            .map(|(i, _)| i)
            .collect();
        if images.is_empty() {
            return false;
        }
        let reading = OutMessage::text(render::reading_screenshot(images.len()));
        match ticket.status_message {
            None => {
                ticket.status_message = self
                    .post_reply(ticket.thread, reading, "status", events)
                    .await;
            }
            Some(id) => {
                if let Err(e) = self.chat.edit(ticket.thread, id, reading).await {
                    tracing::warn!(thread = ticket.thread.get(), error = %e, "could not edit the status message");
                }
            }
        }
        let rules = self.rules();
        let mut password_visible = false;
        for i in images {
            let attachment = &message.attachments[i];
            let read = match (&attachment.url, &attachment.path) {
                (Some(url), _) => ocr.read_url(&rules, url).await,
                (None, Some(path)) => ocr.read_path(&rules, Path::new(path)).await,
                (None, None) => None,
            };
            let Some(read) = read else { continue };
            tracing::info!(
                thread = ticket.thread.get(),
                kind = ?read.kind,
                ms = read.ms,
                reason = read.reason.as_deref().unwrap_or(""),
                "screenshot read"
            );
            password_visible |= read.password_visible;
            if let Some(stored) = ticket
                .messages
                .last_mut()
                .and_then(|m| m.attachments.get_mut(i))
            {
                stored.read = Some(read);
            }
        }
        password_visible
    }

    /// Deletes a message holding a credential (or says it can't) and warns its author.
    async fn shield(
        &self,
        thread: ThreadId,
        message: &Incoming,
        found: &[(core::SecretKind, std::ops::Range<usize>)],
        events: &mut Journal,
    ) {
        let deleted = match self.chat.delete(thread, message.id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread = thread.get(), message = message.id.get(), error = %e, "could not delete a message holding a credential");
                false
            }
        };
        let warning = render::secret_warning(&kinds_text(found), deleted);
        let warning = OutMessage::to_user(message.author, warning);
        self.post_reply(thread, warning, "secret_warning", events)
            .await;
        for (kind, _) in found {
            events.push(EventKind::SecretRedacted {
                kind: secret_kind_name(*kind),
                deleted,
            });
        }
    }

    /// A post whose title held a credential: the bot renames the thread to the redacted title
    /// when it may, and asks the member to do it otherwise. The title is already stored
    /// redacted.
    async fn shield_title(
        &self,
        ticket: &TicketRecord,
        found: &[(core::SecretKind, std::ops::Range<usize>)],
        events: &mut Journal,
    ) {
        let name = core::text::truncate(&ticket.title, 100);
        let renamed = match self.chat.rename(ticket.thread, &name).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread = ticket.thread.get(), error = %e, "could not rename a thread whose title holds a credential");
                false
            }
        };
        let warning = render::title_secret_warning(&kinds_text(found), renamed);
        let warning = OutMessage::to_user(ticket.member, warning);
        self.post_reply(ticket.thread, warning, "title_secret_warning", events)
            .await;
        let mut seen = Vec::new();
        for (kind, _) in found {
            if !seen.contains(kind) {
                seen.push(*kind);
                events.push(EventKind::TitleRedacted {
                    kind: secret_kind_name(*kind),
                    renamed,
                });
            }
        }
    }

    /// The checklist select: the ticked items, stored as a Markdown checklist the core reads.
    pub(super) async fn on_checklist(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        selected: &[String],
    ) -> Result<Response, EngineError> {
        let lines: Vec<String> = self
            .rules()
            .checklist
            .items
            .iter()
            .map(|item| {
                let mark = if selected.iter().any(|s| s == &item.id) {
                    "x"
                } else {
                    " "
                };
                format!("- [{mark}] {}", item.label)
            })
            .collect();
        self.on_component(
            thread,
            actor,
            interaction,
            lines.join("\n"),
            "Checklist saved.",
        )
        .await
    }

    /// The "Add details" form: each filled field as a `label: value` line.
    pub(super) async fn on_details(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        fields: [(&str, String); 4],
    ) -> Result<Response, EngineError> {
        let lines: Vec<String> = fields
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(label, value)| format!("{label}: {}", value.trim()))
            .collect();
        if lines.is_empty() {
            return Ok(Response::private("Nothing to add: all fields were empty."));
        }
        self.on_component(
            thread,
            actor,
            interaction,
            lines.join("\n"),
            "Details saved.",
        )
        .await
    }

    async fn on_component(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
        text: String,
        done: &str,
    ) -> Result<Response, EngineError> {
        let key = format!("i:{interaction}");
        self.with_ticket(thread, Some(key), None, None, async |change: &mut Change| {
            may_use_controls(&change.ticket, &actor)?;
            let (ticket, events, now) = (&mut change.ticket, &mut change.events, change.now);
            let found = secrets::find_with(&self.rules().reading.secrets, &text);
            let mut reply = done.to_string();
            if !found.is_empty() {
                reply.push_str(" Your entry looked like it contained a password: I did not keep it. Change that password if it was real.");
                for (kind, _) in &found {
                    events.push(EventKind::SecretRedacted {
                        kind: secret_kind_name(*kind),
                        deleted: true,
                    });
                }
            }
            // Component input is stored as a message of the member's, in words the core reads,
            // so the same extraction serves typed and clicked answers.
            ticket.messages.push(StoredMessage {
                id: MessageId(interaction),
                author: ticket.member,
                role: StoredRole::Member,
                text: stored_text(&self.rules().reading.secrets, &text, !found.is_empty()),
                attachments: Vec::new(),
            });
            if actor.user == ticket.member {
                member_spoke(ticket, now);
            }
            if !matches!(ticket.status, TicketState::Resolved | TicketState::Closed) {
                let report = triage(&self.rules(), ticket);
                self.refresh(change, &report, false, Cause::Thread).await;
            }
            Ok(Response::private(reply))
        })
        .await
        .map(|outcome| outcome.answer(Response::private(UNKNOWN_THREAD)))
    }

    pub(super) async fn on_run_probe(
        &self,
        thread: ThreadId,
        actor: Actor,
        interaction: u64,
    ) -> Result<Response, EngineError> {
        let key = format!("i:{interaction}");
        self.with_ticket(thread, Some(key), None, None, async |change: &mut Change| {
            may_use_controls(&change.ticket, &actor)?;
            let report = triage(&self.rules(), &change.ticket);
            let reply = if report.imap.is_none() && report.smtp.is_none() {
                "There is no server to test yet: add your IMAP and SMTP server and port (\"Add details\")."
            } else if self.prober.is_none() {
                "The connection test is switched off here."
            } else {
                change.ticket.probed = None;
                self.refresh(change, &report, true, Cause::Thread).await;
                "Test finished: see the report in the thread."
            };
            Ok(Response::private(reply))
        })
        .await
        .map(|outcome| outcome.answer(Response::private(UNKNOWN_THREAD)))
    }
}

/// What a click or modal on a thread nobody opened gets.
const UNKNOWN_THREAD: &str = "I don't know this thread.";

/// The kinds of credential found, for a warning: "a password and an app password".
fn kinds_text(found: &[(core::SecretKind, std::ops::Range<usize>)]) -> String {
    let mut kinds: Vec<&str> = found.iter().map(|(k, _)| k.describe()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.join(" and ")
}

/// The kind [`secret_kind_name`] names.
fn secret_kind_of(name: &str) -> Option<core::SecretKind> {
    [
        core::SecretKind::Password,
        core::SecretKind::AppPassword,
        core::SecretKind::Token,
    ]
    .into_iter()
    .find(|k| secret_kind_name(*k) == name)
}

/// The kind's name as the event log and the JSON report spell it.
fn secret_kind_name(kind: core::SecretKind) -> String {
    match kind {
        core::SecretKind::Password => "password",
        core::SecretKind::AppPassword => "app_password",
        core::SecretKind::Token => "token",
    }
    .to_string()
}

/// What the store keeps of a message: credentials redacted, email addresses reduced to their
/// domain.
fn stored_text(words: &core::words::SecretWords, text: &str, has_secret: bool) -> String {
    let text = if has_secret {
        secrets::redact_with(words, text)
    } else {
        text.to_string()
    };
    core::items::mask_email_local_parts(&text)
}
