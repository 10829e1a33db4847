//! The moderators' dashboard: a thin axum adapter over the store's query API and the engine.
//!
//! Pages are rendered on the server (`pages`, `trends`), work without JavaScript and load
//! nothing from elsewhere. Every page needs a session (`auth`): a 401 page says how to get a
//! login link otherwise. Actions go through the engine's own commands, as from Discord; a
//! dashboard without an engine (the standalone one, reading a copy of the store) refuses them
//! with the reason. Texts come from the store, where they are already redacted; the pages add
//! the title redaction the log rows use.

pub mod auth;
mod pages;
pub mod standalone;
mod trends;

use std::sync::Arc;

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::engine::{Actor, Engine, Event};
use crate::store::query::{self, ExportFormat, Filter};
use crate::store::{TicketRecord, TriageLog};
use crate::ticket::{ThreadId, TicketState};
pub use auth::{Auth, Moderator, Session};

const COOKIE: &str = "imap_triage_session";

/// The dashboard's shared state.
pub struct Web {
    store: Arc<dyn TriageLog>,
    /// The engine that runs actions; `None` refuses them with `refusal`.
    engine: Option<Arc<Engine>>,
    refusal: String,
    auth: Auth,
    /// `public_url` without a trailing slash; login links start with it.
    public_url: String,
    /// Set when `public_url` is https.
    secure_cookie: bool,
    /// Said on every page (e.g. "a copy of the store taken at ...").
    banner: Option<String>,
}

impl Web {
    /// A dashboard that acts through `engine`.
    pub fn with_engine(
        store: Arc<dyn TriageLog>,
        engine: Arc<Engine>,
        key: Vec<u8>,
        public_url: &str,
    ) -> Self {
        Self::build(store, Some(engine), String::new(), key, public_url, None)
    }

    /// A read-only dashboard: actions are refused with `refusal`.
    pub fn read_only(
        store: Arc<dyn TriageLog>,
        refusal: String,
        key: Vec<u8>,
        public_url: &str,
        banner: Option<String>,
    ) -> Self {
        Self::build(store, None, refusal, key, public_url, banner)
    }

    fn build(
        store: Arc<dyn TriageLog>,
        engine: Option<Arc<Engine>>,
        refusal: String,
        key: Vec<u8>,
        public_url: &str,
        banner: Option<String>,
    ) -> Self {
        let public_url = public_url.trim_end_matches('/').to_string();
        Web {
            store,
            engine,
            refusal,
            auth: Auth::new(key),
            secure_cookie: public_url.starts_with("https://"),
            public_url,
            banner,
        }
    }

    /// A one-time login link for `moderator`, valid for 10 minutes.
    pub fn login_link(&self, moderator: Moderator) -> String {
        let token = self.auth.issue(moderator, now());
        format!("{}/login?token={token}", self.public_url)
    }
}

/// The signing key: from the settings when given, else generated once and kept in the store.
pub fn signing_key(
    configured: Option<&crate::config::Secret>,
    store: &crate::store::SledLog,
) -> Result<Vec<u8>, crate::store::StoreError> {
    match configured {
        Some(key) if !key.expose().is_empty() => Ok(key.expose().as_bytes().to_vec()),
        _ => store.meta_or_insert("web_signing_key", || auth::random_bytes(32)),
    }
}

/// The public URL for a listener: `public_url` when set, else `http://` and the bound address
/// (a wildcard address is shown as loopback).
pub fn public_url(configured: Option<&str>, bound: std::net::SocketAddr) -> String {
    match configured {
        Some(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ => {
            let mut addr = bound;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            }
            format!("http://{addr}")
        }
    }
}

/// The dashboard's routes and the operator's `/health` and `/metrics`.
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/case/{thread}", get(case))
        .route("/case/{thread}/action", post(action))
        .route("/trends", get(trends_page))
        .route("/export.csv", get(export_csv))
        .route("/export.jsonl", get(export_jsonl))
        .with_state(web)
        .merge(crate::metrics::routes())
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The answer for every dashboard page: HTML, never cached, never framed, no scripts, and no
/// referrer (a login link's token stays out of other sites' logs).
fn html(status: StatusCode, body: maud::Markup) -> Response {
    let mut response = (status, body.into_string()).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// A page answered instead of the one asked for (401, store error), boxed: a `Response` is
/// large.
type Refusal = Box<Response>;

/// The caller's session (and its id), taken before anything else of the request: a request
/// without one gets the 401 page.
struct SignedIn {
    id: String,
    session: Session,
}

impl FromRequestParts<Arc<Web>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Self, Response> {
        session_id(&parts.headers)
            .and_then(|id| {
                web.auth
                    .session(&id, now())
                    .map(|session| SignedIn { id, session })
            })
            .ok_or_else(|| html(StatusCode::UNAUTHORIZED, pages::unauthorized(None)))
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

async fn login(State(web): State<Arc<Web>>, Query(q): Query<LoginQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    match web.auth.redeem(&token, now()) {
        Ok((id, _)) => {
            let secure = if web.secure_cookie { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                auth::SESSION_TTL_SECS
            );
            let mut response = Redirect::to("/queue").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(refused) => html(
            StatusCode::UNAUTHORIZED,
            pages::unauthorized(Some(&refused.to_string())),
        ),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(web): State<Arc<Web>>,
    SignedIn { id, session }: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !auth::same_secret(&form.csrf, &session.csrf) {
        return csrf_refused();
    }
    web.auth.logout(&id);
    let secure = if web.secure_cookie { "; Secure" } else { "" };
    let mut response = html(StatusCode::OK, pages::logged_out());
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn csrf_refused() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "Refused",
            "This form's security token is missing or stale. Go back, reload the page and try again.",
        ),
    )
}

/// The queue's filters, sort and page, as the query string carries them (empty means any).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    pub status: String,
    pub error: String,
    pub provider: String,
    pub hub: String,
    pub since: String,
    pub until: String,
    pub sort: String,
    pub page: usize,
}

impl QueueQuery {
    /// The store's filter, or what is wrong with a value.
    fn filter(&self) -> Result<Filter, String> {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let status = match some(&self.status) {
            Some(s) => Some(TicketState::parse(&s).ok_or_else(|| format!("unknown status `{s}`"))?),
            None => None,
        };
        let date = |s: &str| some(s).map(|s| query::parse_since(&s)).transpose();
        Ok(Filter {
            status,
            since: date(&self.since)?,
            // "until 2026-11-26" includes that day.
            until: date(&self.until)?.map(|d| {
                if self.until.trim().len() == 10 {
                    d + 86_400
                } else {
                    d
                }
            }),
            hub_id: some(&self.hub)
                .map(|h| query::parse_hub_id(&h))
                .transpose()?,
            error_code: some(&self.error),
            provider: some(&self.provider),
        })
    }

    /// The query string for these filters (and sort), without the page.
    fn to_query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("error", &self.error),
            ("provider", &self.provider),
            ("hub", &self.hub),
            ("since", &self.since),
            ("until", &self.until),
            ("sort", &self.sort),
        ] {
            if !v.trim().is_empty() {
                out.append_pair(k, v.trim());
            }
        }
        out.finish()
    }
}

fn load_tickets(web: &Web) -> Result<Vec<TicketRecord>, Refusal> {
    web.store.tickets().map_err(|e| {
        tracing::warn!(error = %e, "the dashboard could not read the store");
        Box::new(html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message(
                "Store error",
                "The store could not be read; see the process log.",
            ),
        ))
    })
}

async fn queue(
    State(web): State<Arc<Web>>,
    SignedIn { session, .. }: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Response {
    let tickets = match load_tickets(&web) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let filter = q.filter();
    let body = pages::queue(&web.page(&session), &tickets, &q, filter.as_ref(), now());
    html(
        if filter.is_ok() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        body,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaseQuery {
    note: String,
}

async fn case(
    State(web): State<Arc<Web>>,
    SignedIn { session, .. }: SignedIn,
    Path(thread): Path<u64>,
    Query(q): Query<CaseQuery>,
) -> Response {
    let thread = ThreadId(thread);
    let loaded = web
        .store
        .ticket(thread)
        .and_then(|t| Ok((t, web.store.events(thread)?)));
    match loaded {
        Ok((Some(ticket), events)) => html(
            StatusCode::OK,
            pages::case(&web.page(&session), &ticket, &events, &q.note, now()),
        ),
        Ok((None, _)) => html(
            StatusCode::NOT_FOUND,
            pages::message(
                "Not found",
                &format!("There is no case for thread {thread}."),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the dashboard could not read the store");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message(
                    "Store error",
                    "The store could not be read; see the process log.",
                ),
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActionForm {
    csrf: String,
    action: String,
    reason: String,
}

async fn action(
    State(web): State<Arc<Web>>,
    SignedIn { session, .. }: SignedIn,
    Path(thread): Path<u64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !auth::same_secret(&form.csrf, &session.csrf) {
        return csrf_refused();
    }
    let Some(engine) = &web.engine else {
        return html(
            StatusCode::CONFLICT,
            pages::message("Action refused", &web.refusal),
        );
    };
    let command = match form.action.as_str() {
        "resolve" => crate::core::commands::parse_words(&format!("resolve {}", form.reason)),
        "reopen" => Ok(crate::core::commands::Command::Reopen),
        "escalate" => Ok(crate::core::commands::Command::Escalate),
        _ => Err("Unknown action.".to_string()),
    };
    let note = match command {
        Err(e) => e,
        Ok(command) => {
            // The engine's idempotency key: unique per request (a replayed form acts again only
            // through a new submission, as a second click in Discord does).
            let key = u64::from_le_bytes(
                auth::random_bytes(8)
                    .try_into()
                    .unwrap_or([1, 0, 0, 0, 0, 0, 0, 0]),
            );
            let event = Event::Command {
                thread: ThreadId(thread),
                actor: Actor {
                    user: session.moderator.id,
                    is_moderator: true,
                    name: Some(session.moderator.name.clone()),
                },
                key,
                command,
            };
            match engine.handle(event).await {
                Ok(response) => response.private.unwrap_or_else(|| "Done.".to_string()),
                Err(e) => format!("The engine refused: {e}"),
            }
        }
    };
    tracing::info!(
        thread,
        moderator = session.moderator.id,
        action = form.action.as_str(),
        "dashboard action"
    );
    let note: String = url::form_urlencoded::byte_serialize(note.as_bytes()).collect();
    Redirect::to(&format!("/case/{thread}?note={note}")).into_response()
}

async fn trends_page(
    State(web): State<Arc<Web>>,
    SignedIn { session, .. }: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Response {
    let tickets = match load_tickets(&web) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let filter = q.filter().unwrap_or_default();
    let chosen: Vec<&TicketRecord> = tickets.iter().filter(|t| filter.accepts(t)).collect();
    html(
        StatusCode::OK,
        pages::trends(&web.page(&session), &q, &chosen, now()),
    )
}

async fn export_csv(
    State(web): State<Arc<Web>>,
    _: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Response {
    export(&web, &q, ExportFormat::Csv)
}

async fn export_jsonl(
    State(web): State<Arc<Web>>,
    _: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Response {
    export(&web, &q, ExportFormat::Jsonl)
}

/// The log CLI's export, with the queue's filters, for a signed-in moderator.
fn export(web: &Web, q: &QueueQuery, format: ExportFormat) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return html(StatusCode::BAD_REQUEST, pages::message("Bad filter", &e)),
    };
    let tickets = match load_tickets(web) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut body = Vec::new();
    if query::export(&tickets, &filter, format, &mut body).is_err() {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message("Export failed", "The export could not be written."),
        );
    }
    let (kind, name) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "triage-log.csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "triage-log.jsonl"),
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// What every page's frame needs.
pub(crate) struct PageContext<'a> {
    pub moderator: &'a Moderator,
    pub csrf: &'a str,
    pub banner: Option<&'a str>,
    /// `None` when actions work; else why they are refused.
    pub refusal: Option<&'a str>,
}

impl Web {
    fn page<'a>(&'a self, session: &'a Session) -> PageContext<'a> {
        PageContext {
            moderator: &session.moderator,
            csrf: &session.csrf,
            banner: self.banner.as_deref(),
            refusal: self.engine.is_none().then_some(self.refusal.as_str()),
        }
    }
}
