//! Purpose: gateway events and interactions in, engine [`Event`]s out. Thin on purpose: it
//! decides only what Discord-specific facts mean (is this channel watched, does the member hold
//! the moderator role, which button was clicked) and leaves every decision to the engine.

use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serenity::all::{
    ActionRowComponent, Channel, ChannelId, ChannelType, CommandDataOptionValue,
    CommandInteraction, CommandOptionType, ComponentInteraction, ComponentInteractionDataKind,
    Context, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateThread, EditInteractionResponse, EventHandler, GuildChannel, Interaction, Member,
    Message, MessageType, ModalInteraction, PartialMember, Ready, RoleId,
};

use super::render::{self, Action};
use super::threads::{Recent, StarterGate, ThreadInfo, ThreadKind, Threads};
use super::{review, InFlight};
use crate::config::DiscordSettings;
use crate::core::commands::{parse_mention, parse_words};
use crate::core::Attachment;
use crate::engine::chat::Mention;
use crate::engine::{Actor, Engine, Event, Incoming, Response};

/// How long a follow-up waits for its thread's first message to be handled (a first message
/// may run a probe, so this is the probe budget and some).
const STARTER_WAIT: Duration = Duration::from_secs(30);
/// The same, when the thread was not seen opening in this process.
const STARTER_WAIT_UNKNOWN: Duration = Duration::from_secs(2);

/// The slash command's name.
pub const COMMAND: &str = "triage";

pub struct Handler {
    pub(crate) settings: Arc<DiscordSettings>,
    pub(crate) threads: Arc<Threads>,
    pub(crate) engine: Arc<OnceLock<Arc<Engine>>>,
    pub(crate) bot_id: OnceLock<u64>,
    pub(crate) recent: Recent,
    pub(crate) gate: StarterGate,
    /// Engine handlers running now (a shutdown lets them finish).
    pub(crate) inflight: Arc<InFlight>,
    /// Where `/triage reload-rules` reads the rules (unset: embedded).
    pub(crate) rules_dir: Arc<Mutex<Option<PathBuf>>>,
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
            },
        );
    }

    async fn message(&self, ctx: Context, msg: Message) {
        self.on_message(&ctx, msg).await;
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

/// The moderators' review sub-commands, answered by the adapter from the store (not per thread).
pub const REVIEW_COMMANDS: [&str; 4] = ["log", "show", "stats", "reload-rules"];

/// `/triage status|retest|escalate|resolve <reason>|reopen|exempt`, and the review commands
/// `log [status] [since] [hub_id] [page]`, `show [thread]`, `stats`, `reload-rules`.
pub fn slash_command() -> CreateCommand {
    let sub = |name: &str, description: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
    };
    CreateCommand::new(COMMAND)
        .description("Support triage commands (moderators)")
        .dm_permission(false)
        .add_option(sub("status", "Show this case's status"))
        .add_option(sub("retest", "Run the connection test again"))
        .add_option(sub("escalate", "Hand this case to the moderators"))
        .add_option(
            sub("resolve", "Mark this case resolved").add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "reason", "What fixed it")
                    .required(true)
                    .max_length(500),
            ),
        )
        .add_option(sub("reopen", "Reopen this case"))
        .add_option(sub(
            "exempt",
            "Exempt this thread from reminders and auto-close",
        ))
        .add_option({
            let mut status =
                CreateCommandOption::new(CommandOptionType::String, "status", "Only this status");
            for state in crate::ticket::TicketState::ALL {
                status = status.add_string_choice(state.as_str(), state.as_str());
            }
            sub("log", "List cases (moderators)")
                .add_sub_option(status)
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "since",
                        "Opened on or after (YYYY-MM-DD)",
                    )
                    .max_length(40),
                )
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "hub_id",
                        "Only this Hub ID",
                    )
                    .max_length(40),
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Integer, "page", "Page number")
                        .min_int_value(1)
                        .max_int_value(10_000),
                )
        })
        .add_option(
            sub("show", "The timeline of one case (moderators)").add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::Channel,
                    "thread",
                    "The case's thread (default: this one)",
                ),
            ),
        )
        .add_option(sub(
            "stats",
            "Counts and median response times (moderators)",
        ))
        .add_option(sub(
            "reload-rules",
            "Reload the rules pack; a broken pack is rejected (moderators)",
        ))
}

fn has_role(roles: &[RoleId], role: u64) -> bool {
    roles.iter().any(|r| r.get() == role)
}

impl Handler {
    fn engine(&self) -> Option<&Arc<Engine>> {
        let engine = self.engine.get();
        if engine.is_none() {
            tracing::warn!("an event arrived before the engine was attached; ignored");
        }
        engine
    }

    fn is_moderator(&self, member: Option<&PartialMember>) -> bool {
        member.is_some_and(|m| has_role(&m.roles, self.settings.moderator_role))
    }

    fn actor(&self, user: u64, member: Option<&Member>) -> Actor {
        Actor {
            user,
            is_moderator: member.is_some_and(|m| has_role(&m.roles, self.settings.moderator_role)),
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
                tracing::error!(thread, error = %e, "the engine could not handle an event");
                Response::private(
                    "Sorry, something went wrong on my side. Please try again in a minute.",
                )
            }
        }
    }

    /// Whether `channel` is a thread the bot watches: from memory, else from Discord.
    async fn classify(&self, ctx: &Context, channel: u64) -> Option<ThreadInfo> {
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
        };
        self.threads.insert(channel, info.clone());
        Some(info)
    }

    fn incoming(&self, msg: &Message) -> Incoming {
        Incoming {
            id: msg.id.get(),
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
        let own = self.bot_id.get().copied();
        if Some(msg.author.id.get()) == own
            || !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply)
        {
            return;
        }
        let Some(engine) = self.engine() else { return };
        let channel = msg.channel_id.get();
        if self.settings.text_channels.contains(&channel) {
            if !msg.author.bot && msg.webhook_id.is_none() {
                self.open_thread(ctx, engine, &msg).await;
            }
            return;
        }
        let Some(info) = self.classify(ctx, channel).await else {
            return;
        };
        let incoming = self.incoming(&msg);
        if info.kind == ThreadKind::Forum && msg.id.get() == channel {
            self.threads.set_member(channel, incoming.author);
            let event = Event::NewThread {
                thread: channel,
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
        };
        let event = match own.and_then(|bot| parse_mention(&msg.content, bot)) {
            Some(Ok(command)) if !incoming.author_is_bot => Event::Command {
                thread: channel,
                actor,
                key: incoming.id,
                command,
            },
            // A moderator's mistyped command gets the usage; a member who mentions the bot in
            // their description is just writing to the thread.
            Some(Err(why)) if actor.is_moderator => {
                if self.recent.first(incoming.id) {
                    self.reply(ctx, &msg, &why).await;
                }
                return;
            }
            _ => Event::Message {
                thread: channel,
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
            .content(render::truncate(text, render::MAX_CONTENT))
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
        let title = thread_title(&msg.content);
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
            },
        );
        self.handle(
            engine,
            Event::NewThread {
                thread,
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
        let Some(engine) = self.engine() else { return };
        let actor = self.actor(component.user.id.get(), component.member.as_ref());
        let interaction = component.id.get();
        let event = match (action, &component.data.kind) {
            (Action::Checklist, ComponentInteractionDataKind::StringSelect { values }) => {
                Event::ChecklistSelected {
                    thread,
                    actor,
                    interaction,
                    selected: values.clone(),
                }
            }
            (Action::Probe, ComponentInteractionDataKind::Button) => Event::RunProbe {
                thread,
                actor,
                interaction,
            },
            (Action::Details, ComponentInteractionDataKind::Button) => {
                let member = self.threads.get(thread).and_then(|i| i.member);
                let response = match member {
                    Some(member) if member != actor.user && !actor.is_moderator => {
                        CreateInteractionResponse::Message(ephemeral(
                            "Only the member who opened this thread, or a moderator, can use these controls.",
                        ))
                    }
                    _ => CreateInteractionResponse::Modal(render::details_modal(thread)),
                };
                if let Err(e) = component.create_response(&ctx.http, response).await {
                    super::chat::chat_error("open details form", thread, e);
                }
                return;
            }
            _ => return,
        };
        // Acknowledge first: the engine may edit messages or run a probe, longer than the 3 s
        // Discord allows for the first answer.
        if let Err(e) = component
            .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
            .await
        {
            super::chat::chat_error("acknowledge", thread, e);
            return;
        }
        let response = self.handle(engine, event).await;
        if let Some(text) = response.private {
            let followup = followup(&text, self.settings.moderator_role);
            if let Err(e) = component.create_followup(&ctx.http, followup).await {
                super::chat::chat_error("answer privately", thread, e);
            }
        }
    }

    async fn on_modal(&self, ctx: &Context, modal: ModalInteraction) {
        let Some((Action::Details, thread)) = render::parse_custom_id(&modal.data.custom_id) else {
            return;
        };
        let Some(engine) = self.engine() else { return };
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
            thread,
            actor: self.actor(modal.user.id.get(), modal.member.as_ref()),
            interaction: modal.id.get(),
            hub_id: field("hub_id"),
            imap: field("imap"),
            smtp: field("smtp"),
            error: field("error"),
        };
        if let Err(e) = modal
            .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
            .await
        {
            super::chat::chat_error("acknowledge details", thread, e);
            return;
        }
        let response = self.handle(engine, event).await;
        if let Some(text) = response.private {
            if let Err(e) = modal
                .create_followup(&ctx.http, followup(&text, self.settings.moderator_role))
                .await
            {
                super::chat::chat_error("answer privately", thread, e);
            }
        }
    }

    async fn on_command(&self, ctx: &Context, command: CommandInteraction) {
        let Some(engine) = self.engine() else { return };
        if let Some(sub) = command.data.options.first() {
            if REVIEW_COMMANDS.contains(&sub.name.as_str()) {
                let engine = Arc::clone(engine);
                return self.on_review(ctx, &engine, &command).await;
            }
        }
        let thread = command.channel_id.get();
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        if let Err(e) = command.create_response(&ctx.http, defer).await {
            super::chat::chat_error("defer command", thread, e);
            return;
        }
        let answer = match (self.classify(ctx, thread).await, command_text(&command)) {
            (None, _) => "Use this command inside a support thread.".to_string(),
            (Some(_), text) => match parse_words(&text) {
                Err(why) => why,
                Ok(parsed) => {
                    let actor = self.actor(command.user.id.get(), command.member.as_deref());
                    let event = Event::Command {
                        thread,
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
        };
        let edit = EditInteractionResponse::new()
            .content(render::truncate(&answer, render::MAX_CONTENT))
            .allowed_mentions(render::allowed_mentions(
                Mention::Nobody,
                self.settings.moderator_role,
            ));
        if let Err(e) = command.edit_response(&ctx.http, edit).await {
            super::chat::chat_error("answer command", thread, e);
        }
    }
}

impl Handler {
    /// `/triage log|show|stats|reload-rules`: moderators only, answered ephemerally.
    async fn on_review(&self, ctx: &Context, engine: &Engine, command: &CommandInteraction) {
        let channel = command.channel_id.get();
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        if let Err(e) = command.create_response(&ctx.http, defer).await {
            super::chat::chat_error("defer command", channel, e);
            return;
        }
        let answer = if !self
            .actor(command.user.id.get(), command.member.as_deref())
            .is_moderator
        {
            "Only moderators can use this command.".to_string()
        } else {
            self.review_answer(engine, command)
        };
        let edit = EditInteractionResponse::new()
            .content(render::truncate(&answer, render::MAX_CONTENT))
            .allowed_mentions(render::allowed_mentions(
                Mention::Nobody,
                self.settings.moderator_role,
            ));
        if let Err(e) = command.edit_response(&ctx.http, edit).await {
            super::chat::chat_error("answer command", channel, e);
        }
    }

    fn review_answer(&self, engine: &Engine, command: &CommandInteraction) -> String {
        let Some(sub) = command.data.options.first() else {
            return String::new();
        };
        let options = match &sub.value {
            CommandDataOptionValue::SubCommand(options) => options.as_slice(),
            _ => &[],
        };
        let text = |name: &str| {
            options
                .iter()
                .find(|o| o.name == name)
                .and_then(|o| match &o.value {
                    CommandDataOptionValue::String(v) => Some(v.as_str()),
                    _ => None,
                })
        };
        let store = engine.store();
        let unreadable = |e: crate::store::StoreError| {
            tracing::error!(error = %e, "review: the triage log could not be read");
            "The triage log could not be read; see the bot's logs.".to_string()
        };
        match sub.name.as_str() {
            "log" => {
                let filter = match review::filter(text("status"), text("since"), text("hub_id")) {
                    Ok(filter) => filter,
                    Err(why) => return why,
                };
                let page = options
                    .iter()
                    .find(|o| o.name == "page")
                    .and_then(|o| o.value.as_i64())
                    .map_or(1, |p| usize::try_from(p.max(1)).unwrap_or(1));
                match store.tickets() {
                    Ok(tickets) => review::log_page(&tickets, &filter, page),
                    Err(e) => unreadable(e),
                }
            }
            "show" => {
                let thread = options
                    .iter()
                    .find_map(|o| match &o.value {
                        CommandDataOptionValue::Channel(id) => Some(id.get()),
                        _ => None,
                    })
                    .unwrap_or(command.channel_id.get());
                match (store.ticket(thread), store.events(thread)) {
                    (Ok(Some(ticket)), Ok(events)) => review::show(&ticket, &events),
                    (Ok(None), _) => format!("No case is recorded for <#{thread}>."),
                    (Err(e), _) | (_, Err(e)) => unreadable(e),
                }
            }
            "stats" => match store.tickets() {
                Ok(tickets) => review::stats(&crate::store::query::stats(tickets.iter())),
                Err(e) => unreadable(e),
            },
            "reload-rules" => {
                let dir = self
                    .rules_dir
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                match super::reload_rules(engine, dir.as_deref()) {
                    Ok(()) => "Rules reloaded.".to_string(),
                    Err(errors) => format!(
                        "The rules were not reloaded (the old rules stay active):\n```\n{}\n```",
                        render::truncate(&errors.replace('`', "'"), 1800)
                    ),
                }
            }
            _ => String::new(),
        }
    }
}

/// `status`, `resolve <reason>`, ... from the slash command's sub-command and option.
fn command_text(command: &CommandInteraction) -> String {
    let Some(sub) = command.data.options.first() else {
        return String::new();
    };
    let mut text = sub.name.clone();
    if let CommandDataOptionValue::SubCommand(options) = &sub.value {
        for option in options {
            if let CommandDataOptionValue::String(value) = &option.value {
                text.push(' ');
                text.push_str(value);
            }
        }
    }
    text
}

fn ephemeral(text: &str) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(render::truncate(text, render::MAX_CONTENT))
        .ephemeral(true)
        .allowed_mentions(render::allowed_mentions(Mention::Nobody, 0))
}

fn followup(text: &str, moderator_role: u64) -> CreateInteractionResponseFollowup {
    CreateInteractionResponseFollowup::new()
        .content(render::truncate(text, render::MAX_CONTENT))
        .ephemeral(true)
        .allowed_mentions(render::allowed_mentions(Mention::Nobody, moderator_role))
}

/// A thread name from a post: its first non-empty line that holds no credential (the name is
/// public, and shows in notifications), plain, at most 100 characters.
pub fn thread_title(text: &str) -> String {
    // Found in the whole text: a value below its label ("password:\nhunter2") is known only
    // with the line before it.
    let found = crate::core::secrets::find(text);
    let mut start = 0;
    let line = text
        .split_inclusive('\n')
        .map(|l| {
            let at = start;
            start += l.len();
            (at..start, l)
        })
        .filter(|(range, _)| {
            !found
                .iter()
                .any(|(_, r)| r.start < range.end && range.start < r.end)
        })
        .map(|(_, l)| l.trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let plain: String = line
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '~' | '#' | '>' | '|'))
        .collect();
    // A second wall: the line alone, redacted.
    let plain = crate::core::secrets::redact(plain.trim());
    let plain = plain.trim();
    if plain.is_empty() {
        "Support request".to_string()
    } else {
        render::truncate(plain, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_titles_are_plain_and_short() {
        assert_eq!(thread_title("\n\n**IMAP** fails\nmore"), "IMAP fails");
        assert_eq!(thread_title("   "), "Support request");
        assert_eq!(thread_title(&"a".repeat(300)).chars().count(), 100);
    }

    /// A text-channel post's first line becomes the public thread name: never a line that
    /// holds a credential.
    #[test]
    fn thread_titles_never_take_a_line_holding_a_secret() {
        assert_eq!(
            thread_title("password: Hunter2Hunter2\nGmail IMAP fails"),
            "Gmail IMAP fails"
        );
        assert_eq!(
            thread_title("password:\nHunter2Hunter2\nGmail IMAP fails"),
            "password:"
        );
        assert_eq!(
            thread_title("my app password qwrt zxvb nmkl pfds fails\n"),
            "Support request"
        );
        assert_eq!(
            thread_title("imaps://bob:Hunter2Hunter2@imap.x.com"),
            "Support request"
        );
    }

    #[test]
    fn the_slash_command_has_every_subcommand() {
        let json = serde_json::to_value(slash_command()).unwrap();
        let names: Vec<&str> = json["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "status",
                "retest",
                "escalate",
                "resolve",
                "reopen",
                "exempt",
                "log",
                "show",
                "stats",
                "reload-rules"
            ]
        );
        assert_eq!(json["options"][3]["options"][0]["required"], true);
    }
}
