//! Purpose: gateway events and interactions in, engine [`Event`]s out. Thin on purpose: it
//! decides only what Discord-specific facts mean (is this channel watched, does the member hold
//! the moderator role, which button was clicked) and leaves every decision to the engine.

use std::future::Future;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serenity::all::{
    ActionExecution, ActionRowComponent, Builder, Channel, ChannelId, ChannelType,
    CommandInteraction, ComponentInteraction, ComponentInteractionDataKind, Context,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, CreateThread,
    EditInteractionResponse, EventHandler, GuildChannel, Interaction, InteractionId, Member,
    Message, MessageType, ModalInteraction, PartialMember, Ready, RoleId, User,
};

use super::automod::AutoModState;
use super::commands::{self, command_text, slash_command, Review, COMMAND};
use super::render::{self, Action};
use super::threads::{Arrivals, Recent, StarterGate, ThreadInfo, ThreadKind, Threads};
use super::{review, EngineSlot, InFlight};
use crate::config::DiscordSettings;
use crate::core::commands::{parse_mention, parse_words};
use crate::core::Attachment;
use crate::engine::automod;
use crate::engine::chat::Mention;
use crate::engine::{controls_refusal, review_refusal, Actor, Engine, Event, Incoming, Response};
use crate::ticket::{MessageId, ThreadId};

/// How long a follow-up waits for its thread's first message to be handled (a first message
/// may run a probe, so this is the probe budget and some).
const STARTER_WAIT: Duration = Duration::from_secs(30);
/// The same, when the thread was not seen opening in this process.
const STARTER_WAIT_UNKNOWN: Duration = Duration::from_secs(2);
/// How long a message waits for the messages sent before it in its thread (each may run a
/// probe); past this it goes ahead rather than hold the thread forever.
const ORDER_WAIT: Duration = Duration::from_secs(30);
/// How long a forum post's first message waits for its THREAD_CREATE (sent before it, but
/// handled in a task of its own) before asking Discord about the channel.
const THREAD_CREATE_WAIT: Duration = Duration::from_millis(250);

pub struct Handler {
    pub(crate) settings: Arc<DiscordSettings>,
    pub(crate) threads: Arc<Threads>,
    /// The engine, attached once the rules pack is compiled (after the gateway connects).
    pub(crate) engine: Arc<EngineSlot>,
    pub(crate) bot_id: OnceLock<u64>,
    pub(crate) recent: Recent,
    pub(crate) gate: StarterGate,
    /// Which messages are done, so that each thread's are handled in the order sent.
    pub(crate) arrivals: Arrivals,
    /// Engine handlers running now (a shutdown lets them finish).
    pub(crate) inflight: Arc<InFlight>,
    /// Where `/triage reload-rules` reads the rules (unset: embedded).
    pub(crate) rules_dir: Arc<Mutex<Option<PathBuf>>>,
    /// Which AutoMod rules are the bot's, and the follow-ups sent lately.
    pub(crate) automod: AutoModState,
    /// The dashboard served in-process (`[web] listen`), for `/triage dashboard`.
    pub(crate) dashboard: Arc<OnceLock<Arc<crate::web::Web>>>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot_id.set(ready.user.id.get());
        tracing::info!(user = %ready.user.name, id = ready.user.id.get(), guilds = ready.guilds.len(), "connected to Discord");
        if self.settings.register_commands {
            match serenity::all::Command::set_global_commands(&ctx.http, vec![slash_command()])
                .await
            {
                Ok(_) => tracing::info!("registered /{COMMAND}"),
                Err(e) => {
                    super::chat::chat_error("register slash command", 0, e);
                }
            }
        }
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        let Some(parent) = thread.parent_id.map(ChannelId::get) else {
            return;
        };
        if !self.settings.forum_channels.contains(&parent) {
            // Outside every watched channel: filed as not watched, so that its first message
            // neither waits nor asks. (A thread in a watched text channel is looked up.)
            let watched = self.settings.text_channels.contains(&parent);
            if !watched && self.threads.get(thread.id.get()).is_none() {
                self.threads.insert_unwatched(thread.id.get());
            }
            return;
        }
        self.gate.expect(thread.id.get());
        self.threads.insert(
            thread.id.get(),
            ThreadInfo {
                kind: ThreadKind::Forum,
                parent,
                guild: Some(thread.guild_id.get()),
                title: thread.name.clone(),
                member: thread.owner_id.map(|u| u.get()),
                tags: Some(thread.applied_tags.iter().map(|t| t.get()).collect()),
            },
        );
    }

    /// A thread changed (a moderator retagged it, say): its tags are remembered, so that a
    /// state change needs no GET.
    async fn thread_update(&self, _ctx: Context, _old: Option<GuildChannel>, new: GuildChannel) {
        let tags = new.applied_tags.iter().map(|t| t.get()).collect();
        self.threads.set_tags(new.id.get(), tags);
    }

    async fn message(&self, ctx: Context, msg: Message) {
        self.on_message(&ctx, msg).await;
    }

    async fn auto_moderation_action_execution(&self, ctx: Context, execution: ActionExecution) {
        self.on_automod_block(&ctx, execution).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Component(component) => self.on_component(&ctx, component).await,
            Interaction::Modal(modal) => self.on_modal(&ctx, modal).await,
            Interaction::Command(command) if command.data.name == COMMAND => {
                self.on_command(&ctx, command).await
            }
            _ => {}
        }
    }
}

/// The name Discord shows for a user in the guild: the nickname, else the global or user name.
fn shown_name(user: &User, nick: Option<&str>) -> Option<String> {
    Some(nick.unwrap_or(user.display_name()).to_string())
}

fn has_role(roles: &[RoleId], role: u64) -> bool {
    roles.iter().any(|r| r.get() == role)
}

impl Handler {
    /// The engine; an event that arrives before it is attached (the rules pack is still
    /// compiling at start) waits for it.
    async fn engine(&self) -> &Arc<Engine> {
        self.engine.attached().await
    }

    fn is_moderator(&self, member: Option<&PartialMember>) -> bool {
        member.is_some_and(|m| has_role(&m.roles, self.settings.moderator_role))
    }

    fn actor(&self, user: &User, member: Option<&Member>) -> Actor {
        Actor {
            user: user.id.get(),
            is_moderator: member.is_some_and(|m| has_role(&m.roles, self.settings.moderator_role)),
            name: shown_name(user, member.and_then(|m| m.nick.as_deref())),
        }
    }

    /// Hands an event to the engine; a store failure is logged, and the actor hears that it
    /// didn't work.
    async fn handle(&self, engine: &Engine, event: Event) -> Response {
        let thread = event.thread();
        let _running = self.inflight.enter();
        match engine.handle(event).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(thread = thread.get(), error = %e, "the engine could not handle an event");
                Response::private(
                    "Sorry, something went wrong on my side. Please try again in a minute.",
                )
            }
        }
    }

    /// Whether `channel` is a thread the bot watches: from memory, else from Discord.
    pub(super) async fn classify(&self, ctx: &Context, channel: u64) -> Option<ThreadInfo> {
        if let Some(info) = self.threads.get(channel) {
            return Some(info);
        }
        if self.threads.is_unwatched(channel) {
            return None;
        }
        let id = ChannelId::from(NonZeroU64::new(channel)?);
        let fetched = match ctx.http.get_channel(id).await {
            Ok(Channel::Guild(c)) => c,
            Ok(_) => {
                self.threads.insert_unwatched(channel);
                return None;
            }
            Err(e) => {
                super::chat::chat_error("get channel", channel, e);
                return None;
            }
        };
        let is_thread = matches!(
            fetched.kind,
            ChannelType::PublicThread | ChannelType::PrivateThread
        );
        let parent = fetched.parent_id.map(ChannelId::get);
        let kind = match parent {
            Some(p) if is_thread && self.settings.forum_channels.contains(&p) => ThreadKind::Forum,
            Some(p) if is_thread && self.settings.text_channels.contains(&p) => {
                ThreadKind::FromTextChannel
            }
            _ => {
                self.threads.insert_unwatched(channel);
                return None;
            }
        };
        let info = ThreadInfo {
            kind,
            parent: parent.unwrap_or(0),
            guild: Some(fetched.guild_id.get()),
            title: fetched.name.clone(),
            member: if kind == ThreadKind::Forum {
                fetched.owner_id.map(|u| u.get())
            } else {
                None
            },
            tags: Some(fetched.applied_tags.iter().map(|t| t.get()).collect()),
        };
        self.threads.insert(channel, info.clone());
        Some(info)
    }

    fn incoming(&self, msg: &Message) -> Incoming {
        Incoming {
            id: MessageId(msg.id.get()),
            author: msg.author.id.get(),
            author_is_bot: msg.author.bot || msg.webhook_id.is_some(),
            author_is_moderator: self.is_moderator(msg.member.as_deref()),
            text: msg.content.clone(),
            attachments: msg
                .attachments
                .iter()
                .map(|a| Attachment {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: Some(u64::from(a.size)),
                    path: None,
                    url: Some(a.url.clone()),
                })
                .collect(),
        }
    }

    async fn on_message(&self, ctx: &Context, msg: Message) {
        let channel = msg.channel_id.get();
        let _arrival = self.arrivals.arrived(channel, msg.id.get());
        let own = self.bot_id.get().copied();
        if Some(msg.author.id.get()) == own
            || !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply)
        {
            return;
        }
        let engine = self.engine().await;
        if self.settings.text_channels.contains(&channel) {
            if !msg.author.bot && msg.webhook_id.is_none() {
                self.open_thread(ctx, engine, &msg).await;
            }
            return;
        }
        // The messages sent before this one in its channel go first (and the first of a thread
        // the bot doesn't know yet looks the thread up once for all of them).
        let id = msg.id.get();
        let earlier = || {
            ctx.cache
                .channel_messages(msg.channel_id)
                .map(|cached| cached.keys().map(|m| m.get()).filter(|m| *m < id).collect())
                .unwrap_or_default()
        };
        self.arrivals.wait_for(channel, earlier, ORDER_WAIT).await;
        // A forum post's first message has the thread's id: its THREAD_CREATE may still be
        // on its way through its own task.
        if id == channel {
            self.threads.wait_filed(channel, THREAD_CREATE_WAIT).await;
        }
        let Some(info) = self.classify(ctx, channel).await else {
            return;
        };
        let incoming = self.incoming(&msg);
        if info.kind == ThreadKind::Forum && msg.id.get() == channel {
            self.threads.set_member(channel, incoming.author);
            let event = Event::NewThread {
                thread: ThreadId(channel),
                title: info.title,
                starter: incoming,
            };
            self.handle(engine, event).await;
            self.gate.done(channel);
            return;
        }
        self.gate
            .wait(channel, msg.id.get(), STARTER_WAIT, STARTER_WAIT_UNKNOWN)
            .await;
        let actor = Actor {
            user: incoming.author,
            is_moderator: incoming.author_is_moderator,
            name: shown_name(
                &msg.author,
                msg.member.as_ref().and_then(|m| m.nick.as_deref()),
            ),
        };
        let event = match own.and_then(|bot| parse_mention(&msg.content, bot)) {
            Some(Ok(command)) if !incoming.author_is_bot => Event::Command {
                thread: ThreadId(channel),
                actor,
                key: incoming.id.get(),
                command,
            },
            // A moderator's mistyped command gets the usage; a member who mentions the bot in
            // their description is just writing to the thread.
            Some(Err(why)) if actor.is_moderator => {
                if self.recent.first(incoming.id.get()) {
                    self.reply(ctx, &msg, &why).await;
                }
                return;
            }
            _ => Event::Message {
                thread: ThreadId(channel),
                message: incoming,
            },
        };
        let is_command = matches!(event, Event::Command { .. });
        let response = self.handle(engine, event).await;
        if let (true, Some(text)) = (is_command, response.private) {
            self.reply(ctx, &msg, &text).await;
        }
    }

    /// A short answer to a command typed as a mention, pinging no one.
    async fn reply(&self, ctx: &Context, msg: &Message, text: &str) {
        let builder = CreateMessage::new()
            .content(render::truncate(text, render::MESSAGE_LIMIT))
            .allowed_mentions(render::allowed_mentions(
                Mention::Nobody,
                self.settings.moderator_role,
            ))
            .reference_message(msg);
        if let Err(e) = msg.channel_id.send_message(&ctx.http, builder).await {
            super::chat::chat_error("reply to command", msg.channel_id.get(), e);
        }
    }

    /// A new message in a watched text channel: open a thread on it and treat it as a new post.
    async fn open_thread(&self, ctx: &Context, engine: &Engine, msg: &Message) {
        if !self.recent.first(msg.id.get()) {
            return; // A replay: the thread is already open.
        }
        let title = render::thread_title(&msg.content);
        // A thread opened on a message takes the message's id.
        let thread = msg.id.get();
        self.gate.expect(thread);
        let created = msg
            .channel_id
            .create_thread_from_message(&ctx.http, msg.id, CreateThread::new(title.clone()))
            .await;
        let guild = match created {
            Ok(channel) => Some(channel.guild_id.get()),
            Err(e) => {
                // Perhaps opened before a restart; then it exists and the engine knows it.
                let error = super::chat::chat_error("open thread", thread, e);
                match ctx.http.get_channel(msg.id.get().into()).await {
                    Ok(Channel::Guild(existing)) => Some(existing.guild_id.get()),
                    _ => {
                        tracing::warn!(channel = msg.channel_id.get(), message = thread, error = %error, "no thread for a new post");
                        self.gate.done(thread);
                        return;
                    }
                }
            }
        };
        let incoming = self.incoming(msg);
        self.threads.insert(
            thread,
            ThreadInfo {
                kind: ThreadKind::FromTextChannel,
                parent: msg.channel_id.get(),
                guild: guild.or(msg.guild_id.map(|g| g.get())),
                title: title.clone(),
                member: Some(incoming.author),
                tags: None,
            },
        );
        self.handle(
            engine,
            Event::NewThread {
                thread: ThreadId(thread),
                title,
                starter: incoming,
            },
        )
        .await;
        self.gate.done(thread);
    }

    async fn on_component(&self, ctx: &Context, component: ComponentInteraction) {
        let Some((action, thread)) = render::parse_custom_id(&component.data.custom_id) else {
            return;
        };
        let engine = self.engine().await;
        let actor = self.actor(&component.user, component.member.as_ref());
        let interaction = component.id.get();
        let event = match (action, &component.data.kind) {
            (Action::Checklist, ComponentInteractionDataKind::StringSelect { values }) => {
                Event::ChecklistSelected {
                    thread: ThreadId(thread),
                    actor,
                    interaction,
                    selected: values.clone(),
                }
            }
            (Action::Probe, ComponentInteractionDataKind::Button) => Event::RunProbe {
                thread: ThreadId(thread),
                actor,
                interaction,
            },
            (Action::Details, ComponentInteractionDataKind::Button) => {
                // The form opens at once (Discord shows a modal only as the first answer), so
                // the engine's rule is asked here, with the member the adapter knows.
                let refusal = self
                    .threads
                    .get(thread)
                    .and_then(|i| i.member)
                    .and_then(|member| controls_refusal(member, &actor));
                let response = match refusal {
                    Some(refusal) => CreateInteractionResponse::Message(render::ephemeral(refusal)),
                    None => CreateInteractionResponse::Modal(render::details_modal(thread)),
                };
                if let Err(e) = component.create_response(&ctx.http, response).await {
                    super::chat::chat_error("open details form", thread, e);
                }
                return;
            }
            _ => return,
        };
        let token = (component.id, component.token.as_str());
        self.answer(ctx, token, thread, Answer::FollowUp, async {
            self.handle(engine, event).await.private
        })
        .await;
    }

    async fn on_modal(&self, ctx: &Context, modal: ModalInteraction) {
        let Some((Action::Details, thread)) = render::parse_custom_id(&modal.data.custom_id) else {
            return;
        };
        let engine = self.engine().await;
        let field = |name: &str| {
            modal
                .data
                .components
                .iter()
                .flat_map(|row| row.components.iter())
                .find_map(|c| match c {
                    ActionRowComponent::InputText(input) if input.custom_id == name => {
                        input.value.clone()
                    }
                    _ => None,
                })
                .unwrap_or_default()
        };
        let event = Event::DetailsSubmitted {
            thread: ThreadId(thread),
            actor: self.actor(&modal.user, modal.member.as_ref()),
            interaction: modal.id.get(),
            hub_id: field("hub_id"),
            imap: field("imap"),
            smtp: field("smtp"),
            error: field("error"),
        };
        let token = (modal.id, modal.token.as_str());
        self.answer(ctx, token, thread, Answer::FollowUp, async {
            self.handle(engine, event).await.private
        })
        .await;
    }

    async fn on_command(&self, ctx: &Context, command: CommandInteraction) {
        let engine = self.engine().await;
        let thread = command.channel_id.get();
        let token = (command.id, command.token.as_str());
        let actor = self.actor(&command.user, command.member.as_deref());
        if let Some(op) = commands::automod_command(&command) {
            let answer = async {
                Some(match (automod::refusal(&actor), command.guild_id) {
                    (Some(refusal), _) => refusal.to_string(),
                    (None, None) => "Use this command in the server.".to_string(),
                    (None, Some(guild)) => {
                        super::automod::run(
                            &ctx.http,
                            &self.automod,
                            guild,
                            op,
                            &self.settings.automod,
                        )
                        .await
                    }
                })
            };
            return self
                .answer(ctx, token, thread, Answer::Deferred, answer)
                .await;
        }
        if let Some(question) = commands::review(&command) {
            let answer = async {
                Some(match (review_refusal(&actor), question) {
                    (Some(refusal), _) => refusal.to_string(),
                    (None, Review::Dashboard) => super::review::dashboard_link(
                        self.dashboard.get().map(Arc::as_ref),
                        &command.user,
                    ),
                    (None, question) => self.review_answer(engine, question),
                })
            };
            return self
                .answer(ctx, token, thread, Answer::Deferred, answer)
                .await;
        }
        let answer = async {
            Some(
                match (self.classify(ctx, thread).await, command_text(&command)) {
                    (None, _) => "Use this command inside a support thread.".to_string(),
                    (Some(_), text) => match parse_words(&text) {
                        Err(why) => why,
                        Ok(parsed) => {
                            let event = Event::Command {
                                thread: ThreadId(thread),
                                actor,
                                key: command.id.get(),
                                command: parsed,
                            };
                            self.handle(engine, event)
                                .await
                                .private
                                .unwrap_or_else(|| "Done.".to_string())
                        }
                    },
                },
            )
        };
        self.answer(ctx, token, thread, Answer::Deferred, answer)
            .await;
    }

    /// Answers an interaction: acknowledged first, because the work (the engine may edit
    /// messages or run a probe) can take longer than the 3 s Discord allows for the first
    /// answer; then the work's text, privately.
    async fn answer(
        &self,
        ctx: &Context,
        (id, token): (InteractionId, &str),
        thread: u64,
        how: Answer,
        work: impl Future<Output = Option<String>>,
    ) {
        let first = match how {
            Answer::FollowUp => CreateInteractionResponse::Acknowledge,
            Answer::Deferred => CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ),
        };
        if let Err(e) = first.execute(&ctx.http, (id, token)).await {
            super::chat::chat_error("acknowledge", thread, e);
            return;
        }
        let Some(text) = work.await else { return };
        let role = self.settings.moderator_role;
        let sent = match how {
            Answer::FollowUp => render::ephemeral_followup(&text, role)
                .execute(&ctx.http, (None, token))
                .await
                .map(drop),
            Answer::Deferred => EditInteractionResponse::new()
                .content(render::truncate(&text, render::MESSAGE_LIMIT))
                .allowed_mentions(render::allowed_mentions(Mention::Nobody, role))
                .execute(&ctx.http, token)
                .await
                .map(drop),
        };
        if let Err(e) = sent {
            super::chat::chat_error("answer privately", thread, e);
        }
    }

    /// `/triage log|show|stats|reload-rules`, asked by a moderator: the engine answers from the
    /// triage log.
    fn review_answer(&self, engine: &Engine, question: Review<'_>) -> String {
        let dir = self
            .rules_dir
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        review::answer(engine, dir.as_deref(), question)
    }
}

/// How an interaction's private answer is sent.
#[derive(Clone, Copy)]
enum Answer {
    /// Components and modals: acknowledged without a message; the answer, if any, follows as
    /// an ephemeral message.
    FollowUp,
    /// Slash commands: deferred as an ephemeral "thinking…", which the answer replaces.
    Deferred,
}
