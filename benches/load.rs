//! Load generator on the fake Discord (`testkit::fake_discord`): the real `imap-triage run` binary
//! against it, next to a bare serenity ping→pong client measured in the same run.
//!
//! Run: `cargo bench --bench load` (release). Prints the figures; nothing is asserted.
//!
//! What it does, in order:
//! 1. **Start to IDENTIFY**: spawns `imap-triage run --config FILE` (pointed at a fresh fake)
//!    `LOAD_IDENTIFY_RUNS` times (20) and times spawn → the IDENTIFY frame at the fake gateway
//!    (seen as the fake's gateway session becoming available), and spawn → READY handled (the
//!    bot's `PUT /applications/{app}/commands`, its first act on READY), and spawn → its first
//!    REST call (`GET /gateway`: settings, rules, TLS roots and sled are ready). The bot's idle RSS is
//!    read from `/proc/<pid>/status` one second after READY.
//! 2. **Load**, `LOAD_ROUNDS` rounds (3), each with two concurrency levels (`LOAD_THREADS`, 100,
//!    and 1): the bot (child process) and the baseline (a child process too: this bench binary
//!    re-executed as a minimal serenity client, `EventHandler::message` answering "ping" with a
//!    channel message "pong") each get `LOAD_THREADS` new forum threads × `LOAD_MESSAGES` (5)
//!    messages: THREAD_CREATE + the starter MESSAGE_CREATE, then 4 follow-ups, each sent when the
//!    previous one was answered (closed loop per thread; the threads run concurrently).
//!    Latency = the fake dispatching the MESSAGE_CREATE → the fake receiving the reply: for the
//!    bot, the status message `POST /channels/{thread}/messages` (starter) and its
//!    `PATCH /channels/{thread}/messages/{id}` (follow-ups); for the baseline, the `POST` of
//!    "pong". Replies are timestamped by a thread polling the fake's call log every ~50 µs, so
//!    figures carry up to ~0.1 ms of polling delay (the same for both).
//!    Peak RSS = the child's VmHWM after the load. CPU = the on-CPU time of the child's threads
//!    during the load (`/proc/<pid>/task/*/schedstat`), per message: unlike the latencies, other
//!    processes on the machine barely change it.
//! 3. **sled flush cost**: the engine flushes sled once per handled message; the time of one
//!    insert + `flush()` in a temp dir on this disk, for scale.
//!
//! The texts carry no server names, so no probe runs. Bounded: fixed counts, a 20 s wait per
//! reply, and a watchdog that kills the children and exits after `LOAD_TIMEOUT_SECS` (600).
//! `LOAD_OCR=off` starts the bot with `[ocr] enabled = false`. `LOAD_SMAPS=path` writes the idle
//! bot's `/proc/<pid>/smaps` (the last start-up run's) to `path`. `LOAD_BOT=path` runs another
//! build of the bot (e.g. `target/release-lto/imap-triage`). `LOAD_IDLE_SECS` (1): how long after
//! READY the idle RSS is read.

use std::collections::HashMap;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::fake_discord::{self, payloads, FakeDiscord, APP, FORUM, MOD_LOG, MOD_ROLE};
use tokio::sync::{mpsc, Semaphore};

/// The env var that turns this binary into the baseline client (its value: the fake's REST base).
const BASELINE_ENV: &str = "LOAD_BASELINE_API_BASE";
const MEMBER: u64 = 9_001;
/// Longest wait for one reply.
const REPLY_WAIT: Duration = Duration::from_secs(20);

const STARTER: &str = "Hi, my inbox won't connect to the app. Can someone help?";
const FOLLOW_UPS: [&str; 4] = [
    "I tried again this morning and it still fails.",
    "It worked last week, nothing changed on my side as far as I know.",
    "My colleague has the same problem on her account.",
    "Is there anything else I can try?",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------

/// Pids of the children alive, for the watchdog.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A child process killed (by its pid) when dropped.
struct Guard {
    child: Child,
}

impl Guard {
    fn spawn(mut command: Command) -> Guard {
        let child = command.spawn().expect("spawn child");
        CHILDREN
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child.id());
        Guard { child }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let pid = self.child.id();
        CHILDREN
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p| *p != pid);
    }
}

/// A field of `/proc/<pid>/status`: in KiB for VmRSS, VmHWM, RssAnon, RssFile; a count for
/// Threads.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (ns) the threads of process `pid` ("self" for this one) have run so far, from each
/// thread's `/proc/<pid>/task/<tid>/schedstat` (threads that ended are not counted).
fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn bot_binary() -> PathBuf {
    // `LOAD_BOT=path`: another build of the bot (another profile's, to compare).
    std::env::var_os("LOAD_BOT").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_imap-triage")),
        PathBuf::from,
    )
}

/// Writes the bot's settings for `fake` into `dir`; returns the file.
fn write_config(fake: &FakeDiscord, dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        r#"[discord]
token = "fake-token"
api_base = "{}"
forum_channels = [{FORUM}]
moderator_role = {MOD_ROLE}
mod_log_channel = {MOD_LOG}

[store]
path = "{}"

[ocr]
enabled = {}
"#,
        fake.api_base,
        dir.join("store").display(),
        // `LOAD_OCR=off`: the bot without Tesseract, to measure OCR's share of the start and
        // the idle memory.
        std::env::var("LOAD_OCR").map_or(true, |v| v != "off"),
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// `imap-triage run --config FILE` against `fake`, its log in `dir/bot.log`.
fn bot_command(fake: &FakeDiscord, dir: &Path) -> Command {
    let config = write_config(fake, dir);
    let log = std::fs::File::create(dir.join("bot.log")).expect("log file");
    let mut command = Command::new(bot_binary());
    command
        .arg("run")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info,serenity=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    for (key, _) in std::env::vars() {
        if key.starts_with("IMAP_TRIAGE_") {
            command.env_remove(key);
        }
    }
    command
}

/// This binary as the baseline client against `fake`.
fn baseline_command(fake: &FakeDiscord) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("current exe"));
    command
        .env(BASELINE_ENV, &fake.api_base)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

// ---------------------------------------------------------------------------------------------
// The baseline: a bare serenity client
// ---------------------------------------------------------------------------------------------

struct Pong;

#[serenity::async_trait]
impl serenity::all::EventHandler for Pong {
    async fn message(&self, ctx: serenity::all::Context, msg: serenity::all::Message) {
        if msg.content == "ping" {
            let _ = msg.channel_id.say(&ctx.http, "pong").await;
        }
    }
}

/// Runs the bare client (same runtime kind, intents, HTTP settings and serenity features as the
/// bot) until killed.
fn baseline_child(api_base: String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let http = serenity::all::HttpBuilder::new("fake-token")
            .proxy(api_base)
            .ratelimiter_disabled(true)
            .build();
        let mut client =
            serenity::all::ClientBuilder::new_with_http(http, imap_triage::discord::intents())
                .event_handler(Pong)
                .await
                .expect("baseline client");
        if let Err(e) = client.start().await {
            eprintln!("baseline: {e}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Observing the fake
// ---------------------------------------------------------------------------------------------

/// True once a bot has identified on the fake's gateway (the fake keeps the session's sender
/// from IDENTIFY on; before that, `dispatch` panics). The probe frame is an event type serenity
/// doesn't know, which it drops.
fn identified(fake: &FakeDiscord) -> bool {
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        fake.dispatch("LOAD_GENERATOR_PROBE", json!({}))
    }))
    .is_ok()
}

/// Polls `check` every ~50 µs on this thread until it holds or `limit` passes; returns when.
fn poll_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return Some(Instant::now());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// `POST /channels/{channel}/messages`
    Post,
    /// `PATCH /channels/{channel}/messages/{id}`
    Edit,
}

type Routes = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<(Reply, Instant)>>>>;

/// A thread that timestamps the fake's new REST calls (every ~50 µs) and routes message posts and
/// edits to the channel's registered receiver.
struct Watcher {
    routes: Routes,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(fake: Arc<FakeDiscord>) -> Watcher {
        let routes: Routes = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let routes = Arc::clone(&routes);
            let stop = Arc::clone(&stop);
            // Counted here, not in the thread: it may start after the first reply.
            let mut seen = fake.call_count();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if fake.call_count() == seen {
                        std::thread::sleep(Duration::from_micros(50));
                        continue;
                    }
                    let now = Instant::now();
                    let calls = fake.calls_since(seen);
                    seen += calls.len();
                    let routes = routes.lock().unwrap_or_else(|p| p.into_inner());
                    for call in calls {
                        let parts: Vec<&str> = call.path.trim_matches('/').split('/').collect();
                        let (channel, kind) = match (call.method.as_str(), parts.as_slice()) {
                            ("POST", ["channels", c, "messages"]) => (c, Reply::Post),
                            ("PATCH", ["channels", c, "messages", _]) => (c, Reply::Edit),
                            _ => continue,
                        };
                        if let Some(tx) = channel.parse().ok().and_then(|c: u64| routes.get(&c)) {
                            let _ = tx.send((kind, now));
                        }
                    }
                }
            })
        };
        Watcher {
            routes,
            stop,
            thread: Some(thread),
        }
    }

    fn register(&self, channel: u64) -> mpsc::UnboundedReceiver<(Reply, Instant)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel, tx);
        rx
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The load
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Bot,
    Baseline,
}

#[derive(Default)]
struct Samples {
    /// Dispatch → reply to the starter (µs).
    first: Vec<u64>,
    /// Dispatch → reply to a follow-up (µs).
    follow: Vec<u64>,
    missing: usize,
    wall: Duration,
}

/// Waits for a reply of `kind` on `rx` (others are skipped); the time it was seen.
async fn reply(rx: &mut mpsc::UnboundedReceiver<(Reply, Instant)>, kind: Reply) -> Option<Instant> {
    let deadline = tokio::time::Instant::now() + REPLY_WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((k, at))) if k == kind => return Some(at),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

/// One thread: the starter then the follow-ups, each after the previous reply.
async fn one_thread(
    fake: Arc<FakeDiscord>,
    watcher: Arc<Watcher>,
    target: Target,
    messages: usize,
) -> (Vec<u64>, Vec<u64>, usize) {
    let thread = fake.snowflake();
    let mut rx = watcher.register(thread);
    let (mut first, mut follow, mut missing) = (Vec::new(), Vec::new(), 0);
    let channel = payloads::thread_channel(thread, FORUM, MEMBER, "Inbox won't connect");
    fake.put_channel(channel.clone());
    let mut created = channel;
    created["newly_created"] = json!(true);
    fake.dispatch("THREAD_CREATE", created);
    for i in 0..messages {
        let (id, text) = match (target, i) {
            (Target::Baseline, 0) => (thread, "ping"),
            (Target::Baseline, _) => (fake.snowflake(), "ping"),
            (Target::Bot, 0) => (thread, STARTER),
            (Target::Bot, i) => (fake.snowflake(), FOLLOW_UPS[(i - 1) % FOLLOW_UPS.len()]),
        };
        let message: Value = payloads::message(id, thread, MEMBER, &[], text);
        fake.put_message(message.clone());
        let kind = if target == Target::Bot && i > 0 {
            Reply::Edit
        } else {
            Reply::Post
        };
        let sent = Instant::now();
        fake.dispatch("MESSAGE_CREATE", message);
        match reply(&mut rx, kind).await {
            Some(at) => {
                let micros = at.saturating_duration_since(sent).as_micros() as u64;
                if i == 0 {
                    first.push(micros);
                } else {
                    follow.push(micros);
                }
            }
            None => {
                let path = format!("/channels/{thread}/messages");
                let at_fake = fake
                    .calls()
                    .iter()
                    .filter(|c| c.path.starts_with(&path))
                    .count();
                println!(
                    "  no reply to message {i} of thread {thread} within {REPLY_WAIT:?} ({at_fake} message calls on it at the fake)"
                );
                missing += messages - i;
                break;
            }
        }
    }
    watcher
        .routes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&thread);
    (first, follow, missing)
}

async fn load(
    fake: &Arc<FakeDiscord>,
    target: Target,
    threads: usize,
    messages: usize,
    concurrency: usize,
) -> Samples {
    let watcher = Arc::new(Watcher::start(Arc::clone(fake)));
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("semaphore");
        let (fake, watcher) = (Arc::clone(fake), Arc::clone(&watcher));
        tasks.push(tokio::spawn(async move {
            let result = one_thread(fake, watcher, target, messages).await;
            drop(permit);
            result
        }));
    }
    let mut samples = Samples::default();
    for task in tasks {
        let (first, follow, missing) = task.await.expect("load task");
        samples.first.extend(first);
        samples.follow.extend(follow);
        samples.missing += missing;
    }
    samples.wall = start.elapsed();
    samples
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// "p50 / p99 / max" in ms.
fn summary(samples: &[u64]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    format!(
        "p50 {:>6.2}  p99 {:>6.2}  max {:>6.2} ms (n={})",
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0),
        percentile(&sorted, 100.0),
        sorted.len()
    )
}

fn p50(samples: &[u64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    percentile(&sorted, 50.0)
}

/// Starts `target` against a fresh fake, runs the load, prints, returns (all latencies, peak RSS).
async fn measure(
    target: Target,
    threads: usize,
    messages: usize,
    concurrency: usize,
) -> (Vec<u64>, Samples) {
    let fake = Arc::new(FakeDiscord::start().await);
    let dir = tempfile::tempdir().expect("temp dir");
    let command = match target {
        Target::Bot => bot_command(&fake, dir.path()),
        Target::Baseline => baseline_command(&fake),
    };
    let child = Guard::spawn(command);
    {
        let fake = Arc::clone(&fake);
        let up = tokio::task::spawn_blocking(move || {
            poll_until(Duration::from_secs(30), || identified(&fake))
        })
        .await
        .expect("poll");
        assert!(up.is_some(), "the client did not identify");
    }
    if target == Target::Bot {
        fake.wait_ready().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One thread answered before the clock starts, on both sides: the bot compiles its rules
    // pack after connecting, so its first event waits for the pack. The burst measures a running
    // bot; its start is the spawn → IDENTIFY figure.
    let warm_up = load(&fake, target, 1, 1, 1).await;
    assert_eq!(warm_up.missing, 0, "the warm-up thread got no answer");
    let calls_before_load = fake.calls().len();
    let child_pid = child.pid().to_string();
    let cpu_before = (cpu_ns(&child_pid), cpu_ns("self"));
    let samples = load(&fake, target, threads, messages, concurrency).await;
    let cpu_after = (cpu_ns(&child_pid), cpu_ns("self"));
    let hwm = status_kib(child.pid(), "VmHWM:");
    let rss = status_kib(child.pid(), "VmRSS:");
    let name = match target {
        Target::Bot => "bot     ",
        Target::Baseline => "baseline",
    };
    let total = samples.first.len() + samples.follow.len();
    println!(
        "  {name} c={concurrency:<3} starter  {}",
        summary(&samples.first)
    );
    println!(
        "  {name} c={concurrency:<3} follow   {}",
        summary(&samples.follow)
    );
    let mut all = samples.first.clone();
    all.extend(&samples.follow);
    println!(
        "  {name} c={concurrency:<3} all      {}  | {:.0} msg/s ({total} in {:.2} s), missing {}, peak RSS (VmHWM) {} KiB, RSS now {} KiB",
        summary(&all),
        total as f64 / samples.wall.as_secs_f64(),
        samples.wall.as_secs_f64(),
        samples.missing,
        hwm,
        rss,
    );
    // On-CPU time, which the other processes on the machine do not inflate the way they do
    // the latencies: the client's per message, and this process's (the fake and the load).
    let client_cpu = cpu_after.0.saturating_sub(cpu_before.0) as f64 / 1e6;
    let bench_cpu = cpu_after.1.saturating_sub(cpu_before.1) as f64 / 1e6;
    println!(
        "  {name} c={concurrency:<3} CPU      {client_cpu:.0} ms ({:.3} ms per message); the fake and the load generator {bench_cpu:.0} ms",
        client_cpu / total.max(1) as f64,
    );
    if target == Target::Bot {
        // The load's calls only: not the start-up's gateway and command registration, nor
        // the warm-up thread's.
        let calls = fake.calls().split_off(calls_before_load);
        println!("  bot REST calls: {}", call_breakdown(&calls));
        // Per triaged post, over the posts and over every message handled.
        let for_threads = calls
            .iter()
            .filter(|c| c.path.starts_with("/channels/"))
            .count();
        let gets = calls
            .iter()
            .filter(|c| c.method == "GET" && c.path.starts_with("/channels/"))
            .count();
        let posts = samples.first.len().max(1);
        println!(
            "  bot REST calls per post: {:.2} ({:.2} per message; GET /channels/{{id}} {:.2} per post)",
            for_threads as f64 / posts as f64,
            for_threads as f64 / total.max(1) as f64,
            gets as f64 / posts as f64,
        );
    }
    if samples.missing > 0 && target == Target::Bot {
        let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        println!(
            "  bot log (last lines, newest first):\n    {}",
            tail.join("\n    ")
        );
    }
    drop(child);
    let _ = std::io::stdout().flush();
    (all, samples)
}

/// The bot's REST calls by method and path shape (ids replaced by `{id}`), with counts.
fn call_breakdown(calls: &[fake_discord::Call]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for call in calls {
        let shape: Vec<&str> = call
            .path
            .split('/')
            .map(|s| {
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        *counts
            .entry(format!("{} {}", call.method, shape.join("/")))
            .or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    parts.join(", ")
}

/// Spawn → IDENTIFY and spawn → READY handled, and the idle RSS one second after READY.
async fn startup(runs: usize) {
    println!("start to IDENTIFY: `imap-triage run` (release), {runs} runs");
    let (mut identify, mut ready, mut idle_rss, mut idle_hwm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // What the idle RSS is: anonymous memory (heap, stacks) against file pages (the binary
    // and libraries), and the threads.
    let (mut idle_anon, mut idle_file, mut idle_threads) = (Vec::new(), Vec::new(), Vec::new());
    let mut rest = Vec::new();
    for _ in 0..runs {
        let fake = Arc::new(FakeDiscord::start().await);
        let dir = tempfile::tempdir().expect("temp dir");
        let command = bot_command(&fake, dir.path());
        let (child, identified_at, spawned, first_call) = {
            let fake = Arc::clone(&fake);
            tokio::task::spawn_blocking(move || {
                let spawned = Instant::now();
                let child = Guard::spawn(command);
                let first = poll_until(Duration::from_secs(30), || fake.call_count() > 0);
                let at = poll_until(Duration::from_secs(30), || identified(&fake));
                (child, at, spawned, first)
            })
            .await
            .expect("spawn")
        };
        if let Some(first) = first_call {
            rest.push(first.duration_since(spawned).as_micros() as u64);
        }
        let Some(identified_at) = identified_at else {
            println!("  the bot did not identify within 30 s");
            continue;
        };
        identify.push(identified_at.duration_since(spawned).as_micros() as u64);
        let ready_at = {
            let fake = Arc::clone(&fake);
            let app = format!("/applications/{APP}/commands");
            tokio::task::spawn_blocking(move || {
                poll_until(Duration::from_secs(30), || {
                    fake.calls().iter().any(|c| c.is("PUT", &app))
                })
            })
            .await
            .expect("poll")
        };
        if let Some(at) = ready_at {
            ready.push(at.duration_since(spawned).as_micros() as u64);
        }
        // `LOAD_IDLE_SECS` (1): on a loaded machine the rules pack may still be compiling 1 s
        // after READY, and the figure is then the bot without its pack.
        tokio::time::sleep(Duration::from_secs(env_usize("LOAD_IDLE_SECS", 1) as u64)).await;
        idle_rss.push(status_kib(child.pid(), "VmRSS:") * 1000);
        idle_hwm.push(status_kib(child.pid(), "VmHWM:") * 1000);
        idle_anon.push(status_kib(child.pid(), "RssAnon:") * 1000);
        idle_file.push(status_kib(child.pid(), "RssFile:") * 1000);
        idle_threads.push(status_kib(child.pid(), "Threads:"));
        // `LOAD_SMAPS=path`: the idle bot's `/proc/<pid>/smaps` (the last run's), to see which
        // mappings hold the anonymous and file pages.
        if let Ok(path) = std::env::var("LOAD_SMAPS") {
            let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", child.pid()));
            if let Err(e) = smaps.and_then(|text| std::fs::write(&path, text)) {
                println!("  could not copy smaps to {path}: {e}");
            }
        }
        drop(child);
    }
    println!("  spawn -> first REST call   {}", summary(&rest));
    println!("  spawn -> IDENTIFY          {}", summary(&identify));
    println!("  spawn -> READY (PUT cmds)  {}", summary(&ready));
    let mib = |v: &[u64]| {
        let mut v: Vec<f64> = v.iter().map(|k| *k as f64 / 1000.0 / 1024.0).collect();
        v.sort_by(f64::total_cmp);
        (
            v.first().copied().unwrap_or(0.0),
            v.get(v.len() / 2).copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
        )
    };
    let (lo, mid, hi) = mib(&idle_rss);
    println!("  idle RSS after READY       median {mid:.1} MiB (min {lo:.1}, max {hi:.1})");
    let (lo, mid, hi) = mib(&idle_hwm);
    println!("  idle VmHWM                 median {mid:.1} MiB (min {lo:.1}, max {hi:.1})");
    let (lo, mid, hi) = mib(&idle_anon);
    println!("    of the idle RSS, anonymous  median {mid:.1} MiB (min {lo:.1}, max {hi:.1})");
    let (lo, mid, hi) = mib(&idle_file);
    println!("    of the idle RSS, file pages median {mid:.1} MiB (min {lo:.1}, max {hi:.1})");
    idle_threads.sort_unstable();
    println!(
        "  idle threads               median {}",
        idle_threads
            .get(idle_threads.len() / 2)
            .copied()
            .unwrap_or(0)
    );
}

/// One insert + flush in a sled tree on this disk, as the engine does per handled message.
fn sled_flush(n: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::open(dir.path().join("db")).expect("sled");
    let mut times = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        db.insert(format!("k{i}"), vec![0u8; 2048]).expect("insert");
        db.flush().expect("flush");
        times.push(start.elapsed().as_micros() as u64);
    }
    println!(
        "sled insert + flush (2 KiB value), {n} sequential: {}",
        summary(&times)
    );
}

fn main() {
    if let Ok(api_base) = std::env::var(BASELINE_ENV) {
        baseline_child(api_base);
        return;
    }
    let threads = env_usize("LOAD_THREADS", 100);
    let messages = env_usize("LOAD_MESSAGES", 5).max(1);
    let rounds = env_usize("LOAD_ROUNDS", 3);
    let identify_runs = env_usize("LOAD_IDENTIFY_RUNS", 20);
    let timeout = Duration::from_secs(env_usize("LOAD_TIMEOUT_SECS", 600) as u64);

    // Silence the fake's "no bot connected" panics while polling for IDENTIFY.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let quiet = info
            .payload()
            .downcast_ref::<String>()
            .map(|s| s.contains("no bot connected"))
            .or_else(|| {
                info.payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.contains("no bot connected"))
            })
            .unwrap_or(false);
        if !quiet {
            default_hook(info);
        }
    }));
    std::thread::spawn(move || {
        std::thread::sleep(timeout);
        eprintln!("load: overall timeout ({timeout:?}); killing the children");
        for pid in CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        std::process::exit(1);
    });

    println!(
        "load: {} cores, bot {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bot_binary().display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        startup(identify_runs).await;
        println!(
            "load: {threads} threads x {messages} messages (starter + {} follow-ups), {rounds} rounds",
            messages - 1
        );
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            println!("round {round}");
            for concurrency in [threads, 1] {
                let (baseline, _) = measure(Target::Baseline, threads, messages, concurrency).await;
                let (bot, _) = measure(Target::Bot, threads, messages, concurrency).await;
                let ratio = p50(&bot) / p50(&baseline);
                println!("  c={concurrency}: p50 bot / baseline = {ratio:.2}x");
                ratios.push((concurrency, ratio));
            }
        }
        let line: Vec<String> = ratios
            .iter()
            .map(|(c, r)| format!("c={c}: {r:.2}x"))
            .collect();
        println!("p50 ratios bot/baseline: {}", line.join(", "));
    });
    sled_flush(200);
}
