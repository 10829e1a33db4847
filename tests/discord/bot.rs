//! The real bot (serenity client, engine, sled store in a temp dir) against a fresh fake
//! Discord, started the way each test of this binary needs it.

use std::path::PathBuf;
use std::sync::Arc;

use imap_triage::config::Config;
use imap_triage::discord::{checklist_of, Bot};
use imap_triage::engine::Engine;
use imap_triage::ocr::Ocr;
use imap_triage::probe::engine::Prober;
use imap_triage::probe::tls::TlsSetup;
use imap_triage::store::SledLog;
use testkit::fake_discord::{FakeDiscord, FORUM, MOD_LOG, MOD_ROLE, TEXT_CHANNEL, WAIT};
use tokio::sync::oneshot;

/// What a test adds to the bot everyone gets (no prober, no OCR, the embedded rules).
#[derive(Default)]
pub struct Options {
    /// Settings appended to the file, right after `[probe]`'s `allow_private`: keys without a
    /// section header of their own are probe settings.
    pub settings: String,
    /// Probe the servers members post, under the file's `[probe]` policy.
    pub prober: bool,
    /// Read screenshots, under the file's `[ocr]` settings.
    pub ocr: bool,
    /// The rules directory `reload` reads.
    pub rules_dir: Option<PathBuf>,
}

pub struct RunningBot {
    pub fake: FakeDiscord,
    /// Holds the store (`store/`).
    pub dir: tempfile::TempDir,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

/// The settings file the tests use, as an operator would write it.
fn config_text(api_base: &str, store: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[discord]
token = "fake-token"
api_base = "{api_base}"
forum_channels = [{FORUM}]
text_channels = [{TEXT_CHANNEL}]
moderator_role = {MOD_ROLE}
mod_log_channel = {MOD_LOG}

[store]
path = "{}"

[probe]
allow_private = true
{extra}
"#,
        store.display()
    )
}

/// Starts the fake, then the bot, and waits until it is READY.
pub async fn start(options: Options) -> RunningBot {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, bot) = connect(&fake, dir.path(), &options.settings).await;
    let bot = bot.with_rules_dir(options.rules_dir);
    let rules = imap_triage::rules_dir::embedded().expect("rules");
    let store = SledLog::open(&config.store.path).expect("store");
    let prober = options.prober.then(|| {
        let anchors: Vec<&std::path::Path> =
            config.probe.ca_files.iter().map(|p| p.as_path()).collect();
        Arc::new(Prober::new(
            config.probe.policy(),
            TlsSetup::new(&anchors).expect("tls"),
        )) as Arc<dyn imap_triage::probe::Probe>
    });
    let chat = bot.chat(checklist_of(&rules));
    let mut engine = Engine::new(rules, Arc::new(store), chat, prober);
    if options.ocr {
        let mut settings = config.ocr.settings();
        // The tests run from target/.../deps, not beside the worker binary.
        settings
            .worker
            .get_or_insert_with(|| env!("CARGO_BIN_EXE_imap-triage-ocr").into());
        let ocr = Ocr::start(&settings);
        assert!(ocr.is_on(), "{:?}", ocr.status().err());
        engine = engine.with_ocr(Arc::new(ocr));
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bot.run(Arc::new(engine), async move {
        let _ = stopped.await;
    }));
    fake.wait_ready().await;
    RunningBot {
        fake,
        dir,
        stop,
        task,
    }
}

impl RunningBot {
    /// Asks the bot to stop and checks that it did, cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(WAIT, self.task).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "the bot did not stop cleanly: {result:?}"
        );
    }
}

/// The settings a test's bot reads (its store under `dir`), and the bot connected to `fake`'s
/// REST API (the gateway starts with `run`).
async fn connect(fake: &FakeDiscord, dir: &std::path::Path, settings: &str) -> (Config, Bot) {
    let text = config_text(&fake.api_base, &dir.join("store"), settings);
    let config = Config::from_sources("test.toml", &text, std::iter::empty()).expect("config");
    let bot = Bot::connect(config.discord().expect("discord settings"))
        .await
        .expect("connect");
    (config, bot)
}

/// The bot's `Chat` against `fake`, without the gateway: for tests of the REST calls alone.
pub async fn chat_against(fake: &FakeDiscord) -> Arc<imap_triage::discord::chat::DiscordChat> {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = imap_triage::rules_dir::embedded().expect("rules");
    connect(fake, dir.path(), "")
        .await
        .1
        .chat(checklist_of(&rules))
}

/// Copies the shipped rules pack into `to`, for a test that edits it and reloads.
pub fn copy_shipped_rules(to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for entry in std::fs::read_dir(from).expect("rules/") {
        let entry = entry.expect("entry");
        if entry.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}
