//! Purpose: the engine's [`Chat`] effects as Discord REST calls. Every message carries
//! `allowed_mentions` naming only the intended target; 403 and 404 become typed errors, and every
//! failure is logged with the operation and the thread.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serenity::all::{
    Channel, ChannelId, CreateMessage, EditMessage, EditThread, ForumTag, ForumTagId, GuildChannel,
    Http, HttpError, MessageId, Nonce,
};

use super::render;
use super::threads::{ThreadInfo, ThreadKind, Threads};
use crate::config::{DiscordSettings, TagNames};
use crate::engine::chat::{
    Chat, ChatError, EscalationSummary, MessageId as TicketMessageId, OutMessage, ThreadId,
    TicketState,
};
use crate::metrics::{self, METRICS};

/// How long the status post/edit waits before its one retry after a 429 or a 5xx. serenity
/// drops the body's `retry_after` from the error it returns, so this is a fixed, bounded wait.
/// In production serenity's rate limiter is on: it waits out 429s itself (and they count in
/// `METRICS.rate_limit_hits` through its callback), so this retry only matters when the limiter
/// is off (`api_base` set) or for a 5xx.
pub const RETRY_AFTER: Duration = Duration::from_millis(1000);

/// Whether a failed request is worth one retry: rate limited, or Discord's side failed.
fn retryable(error: &serenity::Error) -> bool {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            status == 429 || status >= 500
        }
        _ => false,
    }
}

/// The post nonce of an engine dedup key: FNV-1a, because it must be the same in the next
/// process (std's `DefaultHasher` promises no stable output), and a nonce is at most 64 bits.
fn nonce_of(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Discord's "Unknown Message": what was to be deleted is already gone.
fn already_gone(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() == 404
    )
}

/// [`Chat`] over serenity's `Http`.
pub struct DiscordChat {
    http: Arc<Http>,
    moderator_role: u64,
    mod_log_channel: u64,
    tags: TagNames,
    /// (id, label) of the checklist items, in the rules' order.
    checklist: Vec<(String, String)>,
    threads: Arc<Threads>,
    /// Each forum's available tags, fetched once.
    forum_tags: Mutex<HashMap<u64, Vec<ForumTag>>>,
    /// Source of the nonces that make a retried post safe (`enforce_nonce`: Discord returns
    /// the message already created with the same nonce instead of posting it twice).
    nonces: AtomicU64,
}

impl DiscordChat {
    pub fn new(
        http: Arc<Http>,
        settings: &DiscordSettings,
        checklist: Vec<(String, String)>,
        threads: Arc<Threads>,
    ) -> Self {
        DiscordChat {
            http,
            moderator_role: settings.moderator_role,
            mod_log_channel: settings.mod_log_channel,
            tags: settings.tags.clone(),
            checklist,
            threads,
            forum_tags: Mutex::new(HashMap::new()),
            nonces: AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_millis() as u64)
                    << 16,
            ),
        }
    }

    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }

    /// The thread's info, from memory or from Discord.
    async fn thread_info(&self, thread: u64) -> Result<ThreadInfo, ChatError> {
        if let Some(info) = self.threads.get(thread) {
            return Ok(info);
        }
        let channel = self.guild_channel(thread, "get thread").await?;
        let info = ThreadInfo {
            kind: ThreadKind::Forum,
            parent: channel.parent_id.map_or(0, ChannelId::get),
            guild: Some(channel.guild_id.get()),
            title: channel.name.clone(),
            member: channel.owner_id.map(|u| u.get()),
            tags: Some(channel.applied_tags.iter().map(|t| t.get()).collect()),
        };
        Ok(info)
    }

    async fn guild_channel(&self, id: u64, op: &'static str) -> Result<GuildChannel, ChatError> {
        match self.http.get_channel(channel_id(id)?).await {
            Ok(Channel::Guild(channel)) => Ok(channel),
            Ok(_) => Err(ChatError::Other(format!(
                "channel {id} is not a guild channel"
            ))),
            Err(e) => Err(chat_error(op, id, e)),
        }
    }

    /// The forum's tag id for `state`, by configured name (case-insensitive).
    async fn tag_for(
        &self,
        forum: u64,
        state: TicketState,
    ) -> Result<(Option<ForumTagId>, Vec<ForumTagId>), ChatError> {
        let cached = self.lock_tags().get(&forum).cloned();
        let tags = match cached {
            Some(tags) => tags,
            None => {
                let channel = self.guild_channel(forum, "get forum tags").await?;
                self.lock_tags()
                    .insert(forum, channel.available_tags.clone());
                channel.available_tags
            }
        };
        let id_of = |name: &str| {
            tags.iter()
                .find(|t| t.name.trim().eq_ignore_ascii_case(name.trim()))
                .map(|t| t.id)
        };
        let all_state_tags: Vec<ForumTagId> = TicketState::ALL
            .iter()
            .filter_map(|s| id_of(self.tags.name(*s)))
            .collect();
        Ok((id_of(self.tags.name(state)), all_state_tags))
    }

    fn lock_tags(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<ForumTag>>> {
        self.forum_tags
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A non-zero channel id (serenity's ids cannot be zero).
fn channel_id(id: u64) -> Result<ChannelId, ChatError> {
    NonZeroU64::new(id)
        .map(ChannelId::from)
        .ok_or_else(|| ChatError::Other("channel id 0".into()))
}

fn message_id(id: u64) -> Result<MessageId, ChatError> {
    NonZeroU64::new(id)
        .map(MessageId::from)
        .ok_or_else(|| ChatError::Other("message id 0".into()))
}

/// Discord's error as the engine's, logged with what was being done.
pub(crate) fn chat_error(op: &'static str, thread: u64, error: serenity::Error) -> ChatError {
    metrics::inc(&METRICS.discord_api_errors);
    if let serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) = &error {
        let status = response.status_code.as_u16();
        let detail = format!(
            "{op}: {} ({} {})",
            response.error.message, status, response.error.code
        );
        match status {
            403 | 404 => {
                let (what, error) = if status == 403 {
                    ("missing permission", ChatError::MissingPermission(detail))
                } else {
                    ("not found", ChatError::NotFound(detail))
                };
                let discord_code = response.error.code;
                tracing::warn!(op, thread, status, discord_code, "discord: {what}");
                return error;
            }
            429 => {
                metrics::inc(&METRICS.rate_limit_hits);
                tracing::warn!(op, thread, status, "discord: rate limited");
                return ChatError::Other(detail);
            }
            _ => {
                tracing::error!(op, thread, status, discord_code = response.error.code, message = %response.error.message, "discord request failed");
                return ChatError::Other(detail);
            }
        }
    }
    tracing::error!(op, thread, error = %error, "discord request failed");
    ChatError::Other(format!("{op}: {error}"))
}

#[async_trait]
impl Chat for DiscordChat {
    async fn post(
        &self,
        thread: ThreadId,
        message: OutMessage,
    ) -> Result<TicketMessageId, ChatError> {
        let thread = thread.get();
        let nonce = match &message.dedup_key {
            Some(key) => nonce_of(key),
            None => self.nonces.fetch_add(1, Ordering::Relaxed),
        } % (i64::MAX as u64);
        let build = || {
            let builder = CreateMessage::new();
            let builder = match render::details_embed(&message.details) {
                Some(embed) => builder.embed(embed),
                None => builder,
            };
            builder
                .content(render::content(
                    &message.content,
                    message.mention,
                    self.moderator_role,
                ))
                .allowed_mentions(render::allowed_mentions(
                    message.mention,
                    self.moderator_role,
                ))
                .components(render::components(
                    message.controls,
                    thread,
                    &self.checklist,
                ))
                .nonce(Nonce::Number(nonce))
                .enforce_nonce(true)
        };
        let channel = channel_id(thread)?;
        match channel.send_message(&*self.http, build()).await {
            Ok(sent) => Ok(TicketMessageId(sent.id.get())),
            Err(e) if retryable(&e) => {
                let _ = chat_error("post (will retry once)", thread, e);
                tokio::time::sleep(RETRY_AFTER).await;
                match channel.send_message(&*self.http, build()).await {
                    Ok(sent) => Ok(TicketMessageId(sent.id.get())),
                    Err(e) => Err(chat_error("post", thread, e)),
                }
            }
            Err(e) => Err(chat_error("post", thread, e)),
        }
    }

    async fn edit(
        &self,
        thread: ThreadId,
        message: TicketMessageId,
        new: OutMessage,
    ) -> Result<(), ChatError> {
        let (thread, message) = (thread.get(), message.get());
        let build = || {
            EditMessage::new()
                // An edit replaces the embeds too: none when the new text has no details.
                .embeds(render::details_embed(&new.details).into_iter().collect())
                .content(render::content(
                    &new.content,
                    new.mention,
                    self.moderator_role,
                ))
                .allowed_mentions(render::allowed_mentions(new.mention, self.moderator_role))
                .components(render::components(new.controls, thread, &self.checklist))
        };
        let (channel, message) = (channel_id(thread)?, message_id(message)?);
        // An edit sets the whole content: repeating it is harmless.
        match channel.edit_message(&*self.http, message, build()).await {
            Ok(_) => Ok(()),
            Err(e) if retryable(&e) => {
                let _ = chat_error("edit (will retry once)", thread, e);
                tokio::time::sleep(RETRY_AFTER).await;
                match channel.edit_message(&*self.http, message, build()).await {
                    Ok(_) => Ok(()),
                    Err(e) => Err(chat_error("edit", thread, e)),
                }
            }
            Err(e) => Err(chat_error("edit", thread, e)),
        }
    }

    async fn delete(&self, thread: ThreadId, message: TicketMessageId) -> Result<(), ChatError> {
        let (thread, message) = (thread.get(), message.get());
        // The starter message of a thread opened from a text channel lives in that channel.
        let channel = match self.threads.get(thread) {
            Some(info) if info.kind == ThreadKind::FromTextChannel && message == thread => {
                info.parent
            }
            _ => thread,
        };
        match channel_id(channel)?
            .delete_message(&*self.http, message_id(message)?)
            .await
        {
            Ok(()) => Ok(()),
            // Deleted before (the same message handled again after a restart), or by a
            // moderator: the goal is met, and the member must not hear that it failed.
            Err(e) if already_gone(&e) => Ok(()),
            Err(e) => Err(chat_error("delete", thread, e)),
        }
    }

    async fn set_state(&self, thread: ThreadId, state: TicketState) -> Result<(), ChatError> {
        let thread = thread.get();
        let info = self.thread_info(thread).await?;
        if info.kind != ThreadKind::Forum || info.parent == 0 {
            return Ok(()); // Threads in text channels have no tags.
        }
        let (wanted, state_tags) = self.tag_for(info.parent, state).await?;
        let Some(wanted) = wanted else {
            tracing::warn!(
                thread,
                forum = info.parent,
                tag = self.tags.name(state),
                "discord: the forum has no tag by this name; state not shown"
            );
            return Ok(());
        };
        // The thread's tags as THREAD_CREATE/THREAD_UPDATE or the last edit left them: no
        // GET per state change.
        let current: Vec<ForumTagId> = match info.tags {
            Some(tags) => tags
                .into_iter()
                .filter_map(NonZeroU64::new)
                .map(ForumTagId::from)
                .collect(),
            None => {
                self.guild_channel(thread, "get thread tags")
                    .await?
                    .applied_tags
            }
        };
        let mut applied: Vec<ForumTagId> = current
            .iter()
            .copied()
            .filter(|t| !state_tags.contains(t))
            .collect();
        applied.truncate(4); // A thread carries at most 5 tags.
        applied.push(wanted);
        if applied.len() == current.len() && applied.iter().all(|t| current.contains(t)) {
            return Ok(());
        }
        match channel_id(thread)?
            .edit_thread(&*self.http, EditThread::new().applied_tags(applied))
            .await
        {
            Ok(edited) => {
                let tags = edited.applied_tags.iter().map(|t| t.get()).collect();
                self.threads.set_tags(thread, tags);
                Ok(())
            }
            Err(e) => Err(chat_error("set state tag", thread, e)),
        }
    }

    async fn mod_log(&self, summary: &EscalationSummary) -> Result<(), ChatError> {
        let guild = self.threads.get(summary.thread.get()).and_then(|i| i.guild);
        let mut builder = CreateMessage::new()
            .embed(render::escalation_embed(summary, guild))
            .allowed_mentions(render::allowed_mentions(
                crate::engine::chat::Mention::Nobody,
                self.moderator_role,
            ));
        if let Some(key) = &summary.dedup_key {
            let nonce = nonce_of(key) % (i64::MAX as u64);
            builder = builder.nonce(Nonce::Number(nonce)).enforce_nonce(true);
        }
        match channel_id(self.mod_log_channel)?
            .send_message(&*self.http, builder)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(chat_error("mod log", summary.thread.get(), e)),
        }
    }

    async fn rename(&self, thread: ThreadId, name: &str) -> Result<(), ChatError> {
        let thread = thread.get();
        // Needs Manage Threads for a thread the bot did not create.
        match channel_id(thread)?
            .edit_thread(&*self.http, EditThread::new().name(name))
            .await
        {
            Ok(_) => {
                if let Some(mut info) = self.threads.get(thread) {
                    info.title = name.to_string();
                    self.threads.insert(thread, info);
                }
                Ok(())
            }
            Err(e) => Err(chat_error("rename thread", thread, e)),
        }
    }

    async fn close(&self, thread: ThreadId) -> Result<(), ChatError> {
        let thread = thread.get();
        match channel_id(thread)?
            .edit_thread(&*self.http, EditThread::new().archived(true).locked(true))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(chat_error("close", thread, e)),
        }
    }
}
