//! `imap-triage console`: the whole bot in a terminal, without Discord. The same engine, probe
//! and store; you type as the member, `/mod ...` acts as a moderator, `/attach FILE` adds an
//! attachment. It prints exactly what the bot would post, edit, tag and log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::core::commands;
use crate::core::Attachment;
use crate::discover::Discoverer;
use crate::engine::chat::{
    Chat, ChatError, Controls, EscalationSummary, Mention, MessageId, OutMessage, ThreadId,
    TicketState,
};
use crate::engine::{Actor, Engine, Event, Incoming};
use crate::probe::engine::Prober;
use crate::probe::policy::Policy;
use crate::probe::tls::TlsSetup;
use crate::store::SledLog;

/// The member and the moderator, as the console plays them.
pub const MEMBER: u64 = 1;
pub const MODERATOR: u64 = 2;
/// The name the console's moderator acts under (the log and the dashboard show it).
const MODERATOR_NAME: &str = "console moderator";

pub struct ConsoleSettings {
    /// Continue this thread (e.g. after a crash) instead of opening a new one.
    pub thread: Option<u64>,
    pub store_path: PathBuf,
    pub rules_dir: Option<PathBuf>,
    pub policy: Policy,
    pub extra_ca: Vec<PathBuf>,
    /// `[ocr]`: screenshots given with `/attach` are read like Discord attachments.
    pub ocr: crate::ocr::OcrSettings,
    /// `[probe] discover`: look the member's email domain up, as the bot does.
    pub discover: bool,
    /// `[web]`: where `/mod dashboard` serves the dashboard (default: a free loopback port).
    pub web: crate::config::WebConfig,
}

/// The moderator the console plays, as the dashboard names them.
fn console_moderator() -> crate::web::Moderator {
    crate::web::Moderator {
        id: MODERATOR,
        name: MODERATOR_NAME.to_string(),
    }
}

/// Prints what the bot does. Message ids are handed out in order.
pub struct ConsoleChat {
    out: Arc<Mutex<dyn Write + Send>>,
    next_id: Arc<AtomicU64>,
    checklist_labels: Vec<String>,
}

impl ConsoleChat {
    fn print(&self, text: &str) {
        let mut out = match self.out.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn render(&self, message: &OutMessage) -> String {
        let mut text = String::new();
        match message.mention {
            Mention::Nobody => {}
            Mention::User(_) => text.push_str("@member "),
            Mention::Moderators => text.push_str("@moderators "),
        }
        text.push_str(&message.content);
        for detail in &message.details {
            text.push_str(&format!(
                "\n  [details] {}: {}",
                detail.name,
                detail.value.replace('\n', " · ")
            ));
        }
        if let Controls::Status { checked } = message.controls {
            text.push_str("\n  [menu] ");
            let boxes: Vec<String> = self
                .checklist_labels
                .iter()
                .zip(checked)
                .map(|(label, on)| format!("{} {label}", if on { "☑" } else { "☐" }))
                .collect();
            text.push_str(&boxes.join(" | "));
            text.push_str("\n  [button] Add details   [button] Run connection test");
        }
        text
    }
}

#[async_trait]
impl Chat for ConsoleChat {
    async fn post(&self, _thread: ThreadId, message: OutMessage) -> Result<MessageId, ChatError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.print(&format!(
            "\n── bot posts message {id} ──\n{}",
            self.render(&message)
        ));
        Ok(MessageId(id))
    }
    async fn edit(
        &self,
        _thread: ThreadId,
        message: MessageId,
        new: OutMessage,
    ) -> Result<(), ChatError> {
        self.print(&format!(
            "\n── bot edits message {message} ──\n{}",
            self.render(&new)
        ));
        Ok(())
    }
    async fn delete(&self, _thread: ThreadId, message: MessageId) -> Result<(), ChatError> {
        self.print(&format!("\n── bot deletes message {message} ──"));
        Ok(())
    }
    async fn set_state(&self, _thread: ThreadId, state: TicketState) -> Result<(), ChatError> {
        self.print(&format!("── tag: {} ──", state.as_str()));
        Ok(())
    }
    async fn mod_log(&self, s: &EscalationSummary) -> Result<(), ChatError> {
        let or = |v: Option<&str>| v.unwrap_or("-").to_string();
        self.print(&format!(
            "\n── mod log ──\nCase: {} (thread {})\nHub ID: {} · provider: {} · error: {}\nIMAP: {} · SMTP: {}\nProbe: {}\nDomain: {}\nEvidence: {}\nLikely cause: {}\nWhy: {}",
            s.title,
            s.thread,
            or(s.hub_id.as_deref()),
            or(s.provider.as_deref()),
            or(s.error_code.as_deref()),
            or(s.imap.as_deref()),
            or(s.smtp.as_deref()),
            if s.probe_verdicts.is_empty() { "not run".to_string() } else { s.probe_verdicts.join("; ") },
            or(s.domain.as_deref()),
            if s.evidence.is_empty() { "-".to_string() } else { s.evidence.join("; ") },
            s.likely_cause,
            s.reason
        ));
        Ok(())
    }
    async fn close(&self, _thread: ThreadId) -> Result<(), ChatError> {
        self.print("── thread archived and locked ──");
        Ok(())
    }
    async fn rename(&self, _thread: ThreadId, name: &str) -> Result<(), ChatError> {
        self.print(&format!("── thread renamed: {name} ──"));
        Ok(())
    }
}

const HELP: &str = "Type as the member; each line is one message. Commands:
  /attach FILE        attach a file (e.g. a screenshot) as a message of its own
  /check ID...        tick checklist items in the menu: typed_credentials typed_servers verified_credentials confirmed_with_provider
  /test               press \"Run connection test\"
  /mod TEXT           write as a moderator; /mod status|retest|escalate|resolve REASON|reopen|exempt is a command
  /mod dashboard      a one-time login link to the web dashboard (served by this console)
  /help, /quit";

/// Runs the console on `input`, printing to `out`. Returns when `/quit` or the input ends.
pub async fn run_with(
    settings: ConsoleSettings,
    input: impl AsyncBufRead + Unpin,
    out: Arc<Mutex<dyn Write + Send>>,
) -> Result<(), String> {
    let rules = match &settings.rules_dir {
        Some(dir) => crate::rules_dir::load(dir),
        None => crate::rules_dir::embedded(),
    }
    .map_err(|e| e.to_string())?;
    let store = Arc::new(SledLog::open(&settings.store_path).map_err(|e| e.to_string())?);
    let web_key =
        crate::web::signing_key(settings.web.key.as_ref(), &store).map_err(|e| e.to_string())?;
    let anchors: Vec<&Path> = settings.extra_ca.iter().map(PathBuf::as_path).collect();
    let tls = TlsSetup::new(&anchors).map_err(|e| e.to_string())?;
    let discoverer = if settings.discover {
        let policy = &settings.policy;
        let configured = Discoverer::configured(policy.resolver, policy.allow_private, tls.clone());
        Some(configured?)
    } else {
        None
    };
    let prober = Prober::new(settings.policy, tls);
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1);
    // The bot's message ids only need to be unique; the member's follow the input's line
    // numbers, so that the same input replayed after a crash carries the same ids.
    let chat = ConsoleChat {
        out: Arc::clone(&out),
        next_id: Arc::new(AtomicU64::new(started_ms)),
        checklist_labels: rules.checklist.items.iter().map(|i| i.id.clone()).collect(),
    };
    let ocr = crate::ocr::Ocr::start(&settings.ocr);
    if let Err(off) = ocr.status() {
        let mut o = match out.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = writeln!(o, "── {off}; attached images are counted, not read ──");
    }
    let engine = Engine::new(
        rules,
        Arc::clone(&store) as Arc<dyn crate::store::TriageLog>,
        Arc::new(chat),
        Some(Arc::new(prober)),
    )
    .with_ocr(Arc::new(ocr));
    let engine = Arc::new(match discoverer {
        Some(discoverer) => engine.with_discoverer(Arc::new(discoverer)),
        None => engine,
    });
    // Started by the first `/mod dashboard`; stopped when the console ends.
    let mut dashboard: Option<(Arc<crate::web::Web>, tokio::task::JoinHandle<()>)> = None;
    let say = |text: &str| {
        let mut o = match out.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = writeln!(o, "{text}");
        let _ = o.flush();
    };
    // A fresh thread per session, so earlier sessions in the same store stay separate.
    let thread = ThreadId(settings.thread.unwrap_or(started_ms));
    say(&format!(
        "imap-triage console: thread {thread}. /help lists commands, /quit exits."
    ));
    let member = Actor {
        user: MEMBER,
        is_moderator: false,
        name: Some("member".into()),
    };
    let moderator = Actor {
        user: MODERATOR,
        is_moderator: true,
        name: Some(MODERATOR_NAME.into()),
    };
    let mut opened = false;
    let mut lines = input.lines();
    let mut line_no: u64 = 0;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| format!("reading input: {e}"))?
    {
        line_no += 1;
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        // Unique per thread and line, like Discord's ids, and the same when replayed.
        let id = MessageId(thread.get().wrapping_mul(100_000).wrapping_add(line_no));
        let message = |author: u64, text: &str, attachments: Vec<Attachment>| Incoming {
            id,
            author,
            author_is_bot: false,
            author_is_moderator: author == MODERATOR,
            text: text.to_string(),
            attachments,
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let event = match word {
            "/quit" | "/exit" => break,
            "/help" => {
                say(HELP);
                continue;
            }
            "/attach" => {
                let path = Path::new(rest.trim());
                let filename = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if filename.is_empty() {
                    say("usage: /attach FILE");
                    continue;
                }
                let size = std::fs::metadata(path).ok().map(|m| m.len());
                // A file that exists is read like a Discord attachment; a name alone is
                // counted as an attachment, as it was before OCR.
                let attachment = Attachment {
                    filename,
                    content_type: None,
                    size,
                    path: size.map(|_| path.display().to_string()),
                    url: None,
                };
                member_message(&mut opened, thread, message(MEMBER, "", vec![attachment]))
            }
            "/check" => Event::ChecklistSelected {
                thread,
                actor: member.clone(),
                interaction: id.get(),
                selected: rest
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            "/test" => Event::RunProbe {
                thread,
                actor: member.clone(),
                interaction: id.get(),
            },
            "/mod" if rest.trim() == "dashboard" => {
                if dashboard.is_none() {
                    match serve_dashboard(&settings.web, &store, &engine, web_key.clone()).await {
                        Ok(started) => dashboard = Some(started),
                        Err(e) => {
                            say(&format!("error: {e}"));
                            continue;
                        }
                    }
                }
                if let Some((web, _)) = &dashboard {
                    say(&format!(
                        "(only you see this) Dashboard: {}",
                        web.login_link(console_moderator())
                    ));
                }
                continue;
            }
            "/mod" => match commands::parse_words(rest) {
                Ok(command) => Event::Command {
                    thread,
                    actor: moderator.clone(),
                    key: id.get(),
                    command,
                },
                Err(_) if !rest.trim().is_empty() && opened => Event::Message {
                    thread,
                    message: message(MODERATOR, rest, Vec::new()),
                },
                Err(e) => {
                    say(&e);
                    continue;
                }
            },
            _ if word.starts_with('/') => {
                say(&format!("unknown command {word}; /help lists them"));
                continue;
            }
            _ => member_message(&mut opened, thread, message(MEMBER, line, Vec::new())),
        };
        match engine.handle(event).await {
            Ok(response) => {
                if let Some(private) = response.private {
                    say(&format!("(only you see this) {private}"));
                }
            }
            Err(e) => say(&format!("error: {e}")),
        }
    }
    if let Some((_, server)) = dashboard {
        server.abort();
    }
    Ok(())
}

/// Serves the dashboard over the console's own store and engine: actions work, as in the bot.
async fn serve_dashboard(
    web: &crate::config::WebConfig,
    store: &Arc<SledLog>,
    engine: &Arc<Engine>,
    key: Vec<u8>,
) -> Result<(Arc<crate::web::Web>, tokio::task::JoinHandle<()>), String> {
    let listen = web
        .listen
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let url = crate::web::public_url(web.public_url.as_deref(), bound);
    let shared = Arc::new(crate::web::Web::with_engine(
        Arc::clone(store) as Arc<dyn crate::store::TriageLog>,
        Arc::clone(engine),
        key,
        &url,
    ));
    let router = crate::web::router(Arc::clone(&shared));
    let server = tokio::spawn(crate::metrics::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    Ok((shared, server))
}

fn member_message(opened: &mut bool, thread: ThreadId, message: Incoming) -> Event {
    if *opened {
        Event::Message { thread, message }
    } else {
        *opened = true;
        // Cut after redaction: a cut could split a credential into something unrecognisable.
        let title: String = crate::core::secrets::redact(&message.text)
            .chars()
            .take(80)
            .collect();
        let title = if title.is_empty() {
            "New post".to_string()
        } else {
            title
        };
        Event::NewThread {
            thread,
            title,
            starter: message,
        }
    }
}

/// `imap-triage console [--config FILE]`.
pub fn run(settings: ConsoleSettings) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imap-triage: cannot start: {e}");
            return 1;
        }
    };
    let out: Arc<Mutex<dyn Write + Send>> = Arc::new(Mutex::new(std::io::stdout()));
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    match runtime.block_on(run_with(settings, stdin, out)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("imap-triage: {e}");
            2
        }
    }
}
