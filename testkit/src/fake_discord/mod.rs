//! A fake Discord for end-to-end tests: REST (`/api/v10/...`) and a ws:// gateway on 127.0.0.1.
//!
//! - REST: the endpoints the bot uses, backed by a small channel/message store; every call is
//!   recorded (method, path, JSON body, with multipart `payload_json` parsed) for assertions.
//!   Failures can be injected per method and path.
//! - Gateway: HELLO, IDENTIFY -> READY, RESUME -> RESUMED, heartbeat ACKs, dispatch of any
//!   event, and faults: a dropped connection ([`FakeDiscord::disconnect`]) and INVALID_SESSION
//!   ([`FakeDiscord::invalidate_session`]).
//! - REST faults: [`FakeDiscord::fail`] with any status; a 429 carries Discord's rate-limit
//!   body (`retry_after`) and headers. Posts honour `enforce_nonce` as Discord documents it:
//!   the same author and nonce within [`NONCE_WINDOW`] returns the message already created.
//! - AutoMod: the guild's rules over REST, refused as Discord refuses them ([`automod`]), and
//!   [`FakeDiscord::automod_block`] for the gateway event of a blocked message.
//!
//! serenity silently drops a dispatch whose payload doesn't deserialize, so every payload built
//! here is complete, and tests assert that the bot *reacted* (a recorded call).

pub mod automod;
pub mod payloads;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const GUILD: u64 = 1_000;
pub const BOT: u64 = 2_000;
pub const APP: u64 = 2_001;
pub const FORUM: u64 = 3_000;
pub const TEXT_CHANNEL: u64 = 3_001;
pub const MOD_LOG: u64 = 3_002;
pub const OTHER_FORUM: u64 = 3_003;
pub const MOD_ROLE: u64 = 4_000;
pub const OTHER_ROLE: u64 = 4_001;
/// Tag ids in the forum, in `TicketState::ALL` order.
pub const TAGS: [(u64, &str); 6] = [
    (5_001, "Waiting on member"),
    (5_002, "Waiting on moderator"),
    (5_003, "Tested"),
    (5_004, "Escalated"),
    (5_005, "Resolved"),
    (5_006, "Closed"),
];
/// A tag that isn't a state (must survive state changes).
pub const TOPIC_TAG: u64 = 5_100;

/// How long a test waits for the bot to react before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Without `/api/v10` and without the query string.
    pub path: String,
    pub query: String,
    /// The JSON body, or the `payload_json` part of a multipart body; `Null` when empty.
    pub body: Value,
    /// The status the fake answered, and its body (`Null` for 204).
    pub status: u16,
    pub response: Value,
}

impl Call {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
    pub fn content(&self) -> &str {
        self.body["content"].as_str().unwrap_or("")
    }
    /// The id of the object the fake created or returned (a posted message's id).
    pub fn response_id(&self) -> u64 {
        id_of(&self.response["id"])
    }
}

struct Failure {
    method: String,
    path: String,
    status: u16,
    remaining: usize,
}

#[derive(Default)]
struct State {
    calls: Mutex<Vec<Call>>,
    changed: Notify,
    channels: Mutex<HashMap<u64, Value>>,
    messages: Mutex<HashMap<u64, Value>>,
    failures: Mutex<Vec<Failure>>,
    gateway: Mutex<Option<mpsc::UnboundedSender<String>>>,
    seq: AtomicU64,
    last_id: AtomicU64,
    identified: AtomicU64,
    resumed: AtomicU64,
    ws_url: Mutex<String>,
    /// (author, nonce) -> (message id, when created), for `enforce_nonce` posts.
    nonces: Mutex<HashMap<(u64, String), (u64, Instant)>>,
    /// Every message the bot created, by id, as created (deleted ones too): the record that
    /// `enforce_nonce` answers from and that tests count duplicates in.
    created: Mutex<HashMap<u64, Value>>,
    /// AutoMod rules by id, every guild's.
    automod_rules: Mutex<HashMap<u64, Value>>,
}

/// How long Discord keeps a nonce for `enforce_nonce` ("the past few minutes"; the exact span is
/// not documented, so the fake takes the short end).
pub const NONCE_WINDOW: Duration = Duration::from_secs(120);

/// A frame on a session's outgoing queue that closes the connection instead (with this code).
const CLOSE_FRAME: &str = "\u{0}close";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct FakeDiscord {
    pub api_base: String,
    state: Arc<State>,
}

impl FakeDiscord {
    /// Starts REST and the gateway on 127.0.0.1, with the guild's forum, text and mod-log
    /// channels.
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(State::default());
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let ws = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let rest_addr = rest.local_addr().expect("REST address");
        let ws_addr = ws.local_addr().expect("gateway address");
        *lock(&state.ws_url) = format!("ws://{ws_addr}");
        {
            let mut channels = lock(&state.channels);
            channels.insert(FORUM, payloads::forum_channel(FORUM, "imap-setup"));
            channels.insert(
                OTHER_FORUM,
                payloads::forum_channel(OTHER_FORUM, "off-topic"),
            );
            channels.insert(
                TEXT_CHANNEL,
                payloads::text_channel(TEXT_CHANNEL, "imap-help"),
            );
            channels.insert(MOD_LOG, payloads::text_channel(MOD_LOG, "mod-log"));
        }
        tokio::spawn(serve_rest(rest, Arc::clone(&state)));
        tokio::spawn(serve_gateway(ws, Arc::clone(&state)));
        FakeDiscord {
            api_base: format!("http://{rest_addr}"),
            state,
        }
    }

    pub fn rest_addr(&self) -> SocketAddr {
        self.api_base
            .trim_start_matches("http://")
            .parse()
            .expect("REST address")
    }

    /// A fresh snowflake: the current time in its top bits, increasing.
    pub fn snowflake(&self) -> u64 {
        snowflake(&self.state)
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state.calls).clone()
    }

    /// Calls recorded after the first `from`.
    pub fn calls_since(&self, from: usize) -> Vec<Call> {
        lock(&self.state.calls)[from..].to_vec()
    }

    pub fn call_count(&self) -> usize {
        lock(&self.state.calls).len()
    }

    /// Waits until `check` finds something in the calls; panics with `what` and the calls
    /// seen when it doesn't within [`WAIT`].
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&[Call]) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let changed = self.state.changed.notified();
            // A snapshot: `check` may itself look at the calls.
            let calls = self.calls();
            if let Some(found) = check(&calls) {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| format!("{} {} {} {}", c.status, c.method, c.path, c.body))
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", calls.join("\n"));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), changed).await;
        }
    }

    /// Waits until the bot has made a call that `matches`, and returns the first such call.
    pub async fn wait_for_call(&self, what: &str, matches: impl Fn(&Call) -> bool) -> Call {
        self.wait_for(what, |calls| calls.iter().find(|c| matches(c)).cloned())
            .await
    }

    /// Waits until the bot has identified on the gateway and registered its commands (the
    /// first thing it does on READY): from then on, dispatched events reach the handler.
    pub async fn wait_ready(&self) {
        self.wait_for(
            "the bot to register its slash command after READY",
            |calls| {
                calls
                    .iter()
                    .find(|c| {
                        c.method == "PUT" && c.path == format!("/applications/{APP}/commands")
                    })
                    .map(|_| ())
            },
        )
        .await;
    }

    /// Answers the next `times` requests of `method` on `path` with `status`.
    pub fn fail(&self, method: &str, path: &str, status: u16, times: usize) {
        lock(&self.state.failures).push(Failure {
            method: method.into(),
            path: path.into(),
            status,
            remaining: times,
        });
    }

    pub fn channel(&self, id: u64) -> Option<Value> {
        lock(&self.state.channels).get(&id).cloned()
    }

    /// Every message the bot created (each `enforce_nonce` repeat returned instead), in id
    /// order, deleted ones included.
    pub fn created_messages(&self) -> Vec<Value> {
        let mut messages: Vec<Value> = lock(&self.state.created).values().cloned().collect();
        messages.sort_by_key(|m| id_of(&m["id"]));
        messages
    }

    pub fn message(&self, id: u64) -> Option<Value> {
        lock(&self.state.messages).get(&id).cloned()
    }

    pub fn put_channel(&self, channel: Value) {
        let id = id_of(&channel["id"]);
        lock(&self.state.channels).insert(id, channel);
    }

    pub fn put_message(&self, message: Value) {
        let id = id_of(&message["id"]);
        lock(&self.state.messages).insert(id, message);
    }

    /// The guild's AutoMod rules, as the bot left them, by id.
    pub fn automod_rules(&self) -> Vec<Value> {
        let mut rules: Vec<Value> = lock(&self.state.automod_rules).values().cloned().collect();
        rules.sort_by_key(|r| id_of(&r["id"]));
        rules
    }

    /// Adds an AutoMod rule (see [`automod::rule`]), as a server's own rules would be there.
    pub fn put_automod_rule(&self, rule: Value) {
        let id = id_of(&rule["id"]);
        lock(&self.state.automod_rules).insert(id, rule);
    }

    /// AUTO_MODERATION_ACTION_EXECUTION: `rule` blocked `author`'s message in `channel`.
    pub fn automod_block(&self, rule: u64, author: u64, channel: u64, content: &str) {
        self.dispatch(
            "AUTO_MODERATION_ACTION_EXECUTION",
            payloads::automod_block(rule, author, channel, content),
        );
    }

    /// Sends a dispatch (op 0) to the connected bot.
    pub fn dispatch(&self, event: &str, data: Value) {
        let seq = self.state.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = json!({"op": 0, "s": seq, "t": event, "d": data}).to_string();
        let sender = lock(&self.state.gateway)
            .clone()
            .expect("no bot connected to the gateway");
        sender.send(frame).expect("gateway session closed");
    }

    /// Sends any gateway frame (a JSON text) to the connected bot.
    pub fn send_raw(&self, frame: Value) {
        let sender = lock(&self.state.gateway)
            .clone()
            .expect("no bot connected to the gateway");
        sender
            .send(frame.to_string())
            .expect("gateway session closed");
    }

    /// Drops the bot's gateway connection (close code 4000, "unknown error"): a resumable
    /// disconnect. Dispatches wait for [`Self::wait_resumed`] or [`Self::wait_identified`].
    pub fn disconnect(&self) {
        let sender = lock(&self.state.gateway).take();
        if let Some(sender) = sender {
            let _ = sender.send(CLOSE_FRAME.to_string());
        }
    }

    /// INVALID_SESSION (op 9, not resumable): the bot must identify again.
    pub fn invalidate_session(&self) {
        let sender = lock(&self.state.gateway).take();
        if let Some(sender) = sender {
            let _ = sender.send(json!({"op": 9, "d": false}).to_string());
        }
    }

    /// How many times the bot sent IDENTIFY.
    pub fn identify_count(&self) -> u64 {
        self.state.identified.load(Ordering::SeqCst)
    }

    /// How many times the bot sent RESUME (and was answered RESUMED).
    pub fn resume_count(&self) -> u64 {
        self.state.resumed.load(Ordering::SeqCst)
    }

    /// Waits until `check` holds (re-checked on every call and gateway change, and every
    /// 200 ms); panics with `what` after [`WAIT`].
    pub async fn wait_until(&self, what: &str, check: impl Fn(&FakeDiscord) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let changed = self.state.changed.notified();
            if check(self) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), changed).await;
        }
    }

    /// Waits until the bot has resumed its session more than `before` times.
    pub async fn wait_resumed(&self, before: u64) {
        self.wait_until("the bot to RESUME", |f| f.resume_count() > before)
            .await;
    }

    /// Waits until the bot has identified more than `before` times.
    pub async fn wait_identified(&self, before: u64) {
        self.wait_until("the bot to IDENTIFY again", |f| f.identify_count() > before)
            .await;
    }

    /// A new forum post: THREAD_CREATE, then the starter MESSAGE_CREATE (id = thread id).
    /// Returns the thread id.
    pub fn post_thread(
        &self,
        forum: u64,
        author: u64,
        roles: &[u64],
        title: &str,
        text: &str,
    ) -> u64 {
        self.post_thread_with(forum, author, title, |thread| {
            payloads::message(thread, thread, author, roles, text)
        })
    }

    /// A new forum post whose starter message `starter(thread id)` builds (say, with an
    /// attachment). Returns the thread id.
    pub fn post_thread_with(
        &self,
        forum: u64,
        author: u64,
        title: &str,
        starter: impl FnOnce(u64) -> Value,
    ) -> u64 {
        let thread = self.snowflake();
        self.post_thread_as(thread, forum, author, title, starter);
        thread
    }

    /// [`Self::post_thread_with`] under a given thread id (from [`Self::snowflake`]), so that a
    /// test can set up failures on the thread's paths first.
    pub fn post_thread_as(
        &self,
        thread: u64,
        forum: u64,
        author: u64,
        title: &str,
        starter: impl FnOnce(u64) -> Value,
    ) {
        let channel = payloads::thread_channel(thread, forum, author, title);
        self.put_channel(channel.clone());
        let mut created = channel;
        created["newly_created"] = json!(true);
        self.dispatch("THREAD_CREATE", created);
        let message = starter(thread);
        self.put_message(message.clone());
        self.dispatch("MESSAGE_CREATE", message);
    }

    /// A member's message in a channel; returns its id.
    pub fn say(&self, channel: u64, author: u64, roles: &[u64], text: &str) -> u64 {
        let id = self.snowflake();
        self.say_id(id, channel, author, roles, text);
        id
    }

    /// [`Self::say`] with a given message id (from [`Self::snowflake`]).
    pub fn say_id(&self, id: u64, channel: u64, author: u64, roles: &[u64], text: &str) {
        let message = payloads::message(id, channel, author, roles, text);
        self.put_message(message.clone());
        self.dispatch("MESSAGE_CREATE", message);
    }
}

pub fn id_of(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn snowflake(state: &State) -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let candidate = (ms.saturating_sub(1_420_070_400_000)) << 22;
    let mut last = state.last_id.load(Ordering::SeqCst);
    loop {
        let next = candidate.max(last + 1);
        match state
            .last_id
            .compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

async fn serve_gateway(listener: TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(gateway_session(stream, Arc::clone(&state)));
    }
}

async fn gateway_session(stream: tokio::net::TcpStream, state: Arc<State>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41_250}}).to_string();
    if sink.send(WsMessage::Text(hello)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            outgoing = rx.recv() => {
                let Some(frame) = outgoing else { return };
                if frame == CLOSE_FRAME {
                    let close = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::from(4000),
                        reason: "fake: disconnect".into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(close))).await;
                    return;
                }
                if sink.send(WsMessage::Text(frame)).await.is_err() {
                    return;
                }
            }
            incoming = source.next() => {
                let frame = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                    Some(Ok(_)) => continue,
                    _ => return,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&frame) else { continue };
                match payload["op"].as_u64() {
                    Some(1) => {
                        let _ = tx.send(json!({"op": 11}).to_string());
                    }
                    Some(2) => {
                        state.seq.store(1, Ordering::SeqCst);
                        let ready = json!({"op": 0, "s": 1, "t": "READY", "d": payloads::ready(&lock(&state.ws_url))});
                        let _ = tx.send(ready.to_string());
                        *lock(&state.gateway) = Some(tx.clone());
                        state.identified.fetch_add(1, Ordering::SeqCst);
                        state.changed.notify_waiters();
                    }
                    Some(6) => {
                        let seq = state.seq.load(Ordering::SeqCst);
                        let resumed = json!({"op": 0, "s": seq, "t": "RESUMED", "d": {}});
                        let _ = tx.send(resumed.to_string());
                        *lock(&state.gateway) = Some(tx.clone());
                        state.resumed.fetch_add(1, Ordering::SeqCst);
                        state.changed.notify_waiters();
                    }
                    _ => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

/// An attachment download, recorded as a call like any other.
fn attachment(state: &State, name: &str) -> Response<Full<Bytes>> {
    let dir = crate::repository().join("tests/fixtures/ocr");
    let file = (!name.contains('/') && !name.contains(".."))
        .then(|| std::fs::read(dir.join(name)).ok())
        .flatten();
    let status = if file.is_some() { 200 } else { 404 };
    lock(&state.calls).push(Call {
        method: "GET".into(),
        path: format!("/attachments/{name}"),
        query: String::new(),
        body: Value::Null,
        status,
        response: Value::Null,
    });
    state.changed.notify_waiters();
    let mut response = Response::new(Full::new(Bytes::from(file.unwrap_or_default())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

async fn serve_rest(listener: TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle_rest(state, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle_rest(state: Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let uri = req.uri().clone();
    // The CDN: `/attachments/NAME` serves the OCR fixture of that name.
    if let Some(name) = uri.path().strip_prefix("/attachments/") {
        return attachment(&state, name);
    }
    let path = uri.path().trim_start_matches("/api/v10").to_string();
    let query = uri.query().unwrap_or("").to_string();
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = parse_body(&content_type, &bytes);

    let injected = {
        let mut failures = lock(&state.failures);
        failures
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && f.path == path)
            .map(|f| {
                f.remaining -= 1;
                f.status
            })
    };
    let (status, reply) = match injected {
        Some(status) => (status, error_body(status)),
        None => route(&state, &method, &path, &body),
    };
    let bytes = if status == 204 {
        Bytes::new()
    } else {
        Bytes::from(reply.to_string())
    };
    lock(&state.calls).push(Call {
        method,
        path,
        query,
        body,
        status,
        response: reply,
    });
    state.changed.notify_waiters();

    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == 429 {
        for (name, value) in [
            ("retry-after", "1"),
            ("x-ratelimit-scope", "user"),
            ("x-ratelimit-global", "false"),
        ] {
            response.headers_mut().insert(
                hyper::header::HeaderName::from_static(name),
                hyper::header::HeaderValue::from_static(value),
            );
        }
    }
    if status != 204 {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    response
}

fn error_body(status: u16) -> Value {
    match status {
        403 => json!({"message": "Missing Permissions", "code": 50013}),
        404 => json!({"message": "Unknown Channel", "code": 10003}),
        429 => {
            json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": false, "code": 0})
        }
        _ => json!({"message": "Internal Server Error", "code": 0}),
    }
}

fn parse_body(content_type: &str, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Some(boundary) = content_type.split("boundary=").nth(1) {
        return parse_multipart(boundary.trim_matches('"'), bytes);
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The `payload_json` part of a multipart body, with the names of any files under `"_files"`.
fn parse_multipart(boundary: &str, bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let delimiter = format!("--{boundary}");
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in text.split(delimiter.as_str()) {
        let Some((headers, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        if headers.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content).unwrap_or(Value::Null);
        } else if let Some(name) = headers
            .split("filename=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        {
            files.push(Value::String(name.to_string()));
        }
    }
    if !files.is_empty() {
        if let Value::Object(map) = &mut payload {
            map.insert("_files".into(), Value::Array(files));
        }
    }
    payload
}

fn route(state: &State, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match (method, segments.as_slice()) {
        (_, ["guilds", guild, "auto-moderation", "rules", rest @ ..]) if rest.len() <= 1 => {
            let Some(guild) = num(guild) else {
                return (404, error_body(404));
            };
            let rule = match rest.first() {
                Some(id) => match num(id) {
                    Some(id) => Some(id),
                    None => return (404, error_body(404)),
                },
                None => None,
            };
            automod::route(state, method, guild, rule, body)
        }
        ("GET", ["gateway"]) => (200, json!({"url": *lock(&state.ws_url)})),
        ("GET", ["gateway", "bot"]) => (
            200,
            json!({"url": *lock(&state.ws_url), "shards": 1,
                   "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}),
        ),
        ("GET", ["users", "@me"]) => (200, payloads::bot_user()),
        ("PUT", ["applications", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(snowflake(state).to_string());
                    c["application_id"] = json!(APP.to_string());
                    c["version"] = json!("1");
                    c["type"] = c.get("type").cloned().unwrap_or(json!(1));
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            (200, Value::Array(commands))
        }
        ("GET", ["channels", id]) => {
            match num(id).and_then(|id| lock(&state.channels).get(&id).cloned()) {
                Some(channel) => (200, channel),
                None => (404, error_body(404)),
            }
        }
        ("PATCH", ["channels", id]) => {
            let Some(id) = num(id) else {
                return (404, error_body(404));
            };
            let mut channels = lock(&state.channels);
            let Some(channel) = channels.get_mut(&id) else {
                return (404, error_body(404));
            };
            if let Some(tags) = body.get("applied_tags") {
                channel["applied_tags"] = tags.clone();
            }
            if let Some(name) = body.get("name") {
                channel["name"] = name.clone();
            }
            for flag in ["archived", "locked"] {
                if let Some(v) = body.get(flag) {
                    channel["thread_metadata"][flag] = v.clone();
                }
            }
            (200, channel.clone())
        }
        ("POST", ["channels", channel, "messages"]) => {
            let Some(channel) = num(channel) else {
                return (404, error_body(404));
            };
            if !lock(&state.channels).contains_key(&channel) {
                return (404, error_body(404));
            }
            // `enforce_nonce`, as Discord documents it: a message created by the same author
            // (every post here is the bot's) with the same nonce within the last few minutes is
            // returned instead of created, whichever channel it was posted in.
            let nonce = match &body["nonce"] {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
            .filter(|_| body["enforce_nonce"] == json!(true));
            if let Some(nonce) = &nonce {
                let known = lock(&state.nonces)
                    .get(&(BOT, nonce.clone()))
                    .filter(|(_, at)| at.elapsed() < NONCE_WINDOW)
                    .map(|(id, _)| *id);
                if let Some(message) = known.and_then(|id| lock(&state.created).get(&id).cloned()) {
                    return (200, message);
                }
            }
            let id = snowflake(state);
            let message =
                payloads::bot_message(id, channel, body["content"].as_str().unwrap_or(""));
            lock(&state.messages).insert(id, message.clone());
            lock(&state.created).insert(id, message.clone());
            if let Some(nonce) = nonce {
                lock(&state.nonces).insert((BOT, nonce), (id, Instant::now()));
            }
            (200, message)
        }
        ("PATCH", ["channels", channel, "messages", id]) => {
            let (Some(_), Some(id)) = (num(channel), num(id)) else {
                return (404, error_body(404));
            };
            let mut messages = lock(&state.messages);
            let Some(message) = messages.get_mut(&id) else {
                return (404, error_body(404));
            };
            if let Some(content) = body.get("content") {
                message["content"] = content.clone();
            }
            message["edited_timestamp"] = json!(payloads::TIMESTAMP);
            (200, message.clone())
        }
        ("DELETE", ["channels", _, "messages", id]) => {
            match num(id).and_then(|id| lock(&state.messages).remove(&id)) {
                Some(_) => (204, Value::Null),
                None => (404, json!({"message": "Unknown Message", "code": 10008})),
            }
        }
        ("POST", ["channels", channel, "messages", message, "threads"]) => {
            let (Some(channel), Some(message)) = (num(channel), num(message)) else {
                return (404, error_body(404));
            };
            let mut channels = lock(&state.channels);
            if channels.contains_key(&message) {
                return (
                    400,
                    json!({"message": "A thread has already been created for this message", "code": 160004}),
                );
            }
            let owner = BOT;
            let thread = payloads::thread_channel(
                message,
                channel,
                owner,
                body["name"].as_str().unwrap_or("thread"),
            );
            channels.insert(message, thread.clone());
            (201, thread)
        }
        ("POST", ["interactions", _, _, "callback"]) => (204, Value::Null),
        ("POST", ["webhooks", _, _]) => {
            let id = snowflake(state);
            (
                200,
                payloads::interaction_message(id, body["content"].as_str().unwrap_or("")),
            )
        }
        ("PATCH", ["webhooks", _, _, "messages", _]) => {
            let id = snowflake(state);
            (
                200,
                payloads::interaction_message(id, body["content"].as_str().unwrap_or("")),
            )
        }
        _ => (404, json!({"message": "404: Not Found", "code": 0})),
    }
}
