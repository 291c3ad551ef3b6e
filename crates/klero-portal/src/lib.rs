//! # klero-portal: Kleroterion's HTTP API and its pages
//!
//! One JSON API under `/api/v1` for the four roles of a court system (clerk, judge, court
//! administrator, system administrator) and for the public, which needs no account to read and
//! audit the log. The crate keeps to HTTP: every outcome is decided by `klero-core` (through
//! `klero_store::Store::submit`, which applies an event to the core state and appends it durably)
//! and every byte of storage is `klero-store`'s. A handler here parses the request at the edge
//! (identifiers and dates are `klero-core` newtypes, unknown JSON fields are refused), checks the
//! caller's role and court, builds one event, and shapes the answer.
//!
//! ## Choices written down
//!
//! - **Errors are RFC 9457 problems** with a stable `type` per kind ([`error::Kind`]), served at
//!   `/api/v1/problems/{slug}`. A rejection by the core is a client error whose `detail` is the
//!   core's plain sentence; internal failures are logged in full and sent as one generic sentence.
//! - **Nothing is written unless everything is allowed.** Role and court checks happen before the
//!   store is called, and the core checks the event itself under the store's writer lock, so a
//!   refused request leaves the log exactly as it was.
//! - **Case numbers** are `{COURT}-{YEAR}-{seq:06}` with a per-court sequence, assigned inside the
//!   store's writer closure from the state it holds, so concurrent filings never collide.
//! - **Party identifiers never leave the request.** Each is turned into a salted commitment with the
//!   store's pepper ([`klero_core::hash::party_commitment`]) before the event is built; responses and
//!   the log only ever carry the commitments.
//! - **The log export format is JSON lines** (`application/jsonl`, one [`klero_core::LogEntry`] per
//!   line, exactly `LogEntry::to_json_line`), so pages of `/api/v1/log/entries` concatenate into the
//!   file `klero export` writes and `klero verify` reads.
//! - **Credentials are log entries** (SPEC §7.9). A request is recognized by its credential's
//!   fingerprint in the published state (no cache, no separate token table), so a revocation takes
//!   effect at the next request, and every entry names the person whose credential caused it.
//! - **Every phase of a connection has a deadline** and the number of connections is bounded
//!   ([`server`]); even the answers hyper writes by itself are problem documents.
#![deny(missing_docs)]

pub mod auth;
pub mod error;
mod extract;
mod openapi;
pub mod pages;
mod routes;
pub mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request};
use axum::response::IntoResponse;
use klero_core::CourtId;
use klero_store::Store;
use tokio::task::JoinHandle;

pub use server::Limits;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::{ApiError, Kind, Problem};
pub use openapi::openapi_json;
pub use routes::admin::RoleName;
/// The portal's JavaScript asset at `path` below `assets/js/` (the in-browser verifier, its page
/// script, the vendored libraries), as text.
pub fn js_asset(path: &str) -> Option<&'static str> {
    pages::asset_bytes(&format!("js/{path}")).and_then(|b| std::str::from_utf8(b).ok())
}

/// The largest request body accepted, in bytes; larger bodies get a 413 problem.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The largest page of `/api/v1/log/entries`.
pub const MAX_PAGE: u64 = 1000;

/// How the portal is set up beyond its store.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where judges' enrollment codes are delivered (SPEC §7.9): one file per judge,
    /// `{judge}.code`, mode 0600, for a delivery service (a registry's printer, a mail gateway) that
    /// the administrators who open enrollments cannot read. The code is never sent over the API.
    pub enrollment_outbox: std::path::PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enrollment_outbox: "klero-enrollments".into(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    /// The last sequence number handed out per court (a cache; the state is checked every time).
    case_seq: Arc<Mutex<HashMap<(CourtId, i32), u64>>>,
    config: Arc<Config>,
    /// Audits computed, until the log grows.
    audits: routes::audit::AuditCache,
    /// The pages' keys (CSRF).
    pages: Arc<pages::PageKeys>,
}

impl AppState {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// The whole API as a router, ready to serve.
pub async fn router(store: Store, config: Config) -> Router {
    let app = AppState {
        store,
        case_seq: Arc::default(),
        config: Arc::new(config),
        audits: Arc::default(),
        pages: Arc::new(pages::PageKeys::new()),
    };
    routes::routes()
        .merge(pages::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            refuse_unverified,
        ))
        .with_state(app)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            // One span per request with the method and the path only: never headers (the
            // Authorization header holds a token) and never the query.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                    )
                })
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
}

/// Once a check found that the stored log does not verify, every request but the static API
/// documentation is answered 503 (problem type `log-does-not-verify`, naming the entry): the
/// server serves nothing from a state it cannot vouch for, and accepts no change.
async fn refuse_unverified(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let docs = path.starts_with("/api/v1/problems")
        || path == "/api/v1/openapi.json"
        || path.starts_with("/api/v1/docs");
    match app.store.refusal() {
        Some(f) if !docs => ApiError::log_does_not_verify(&f).into_response(),
        _ => next.run(req).await,
    }
}

async fn fallback(
    method: Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    ctx: pages::Ctx,
) -> axum::response::Response {
    // A browser asking for a page that does not exist gets a page; everything else a problem.
    let browser = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if method == Method::GET && browser && !uri.path().starts_with("/api/") {
        return ctx.message_page(axum::http::StatusCode::NOT_FOUND, "page-not-found");
    }
    api_fallback(method).await.into_response()
}

async fn api_fallback(method: Method) -> impl IntoResponse {
    if matches!(
        method,
        Method::GET | Method::POST | Method::PUT | Method::DELETE
    ) {
        ApiError::new(
            Kind::NoSuchRoute,
            "there is no such route; see /api/v1/openapi.json",
        )
    } else {
        ApiError::new(
            Kind::MethodNotAllowed,
            format!("method {method} is not used by this API"),
        )
    }
}

async fn method_not_allowed(method: Method) -> impl IntoResponse {
    ApiError::new(
        Kind::MethodNotAllowed,
        format!("this route does not accept {method}; see /api/v1/openapi.json"),
    )
}

/// Binds `addr` (port 0 picks a free port) and serves the API in a background task with the
/// default [`Limits`]. Returns the address bound and the task; the server stops accepting when the
/// task is aborted.
pub async fn serve(
    store: Store,
    addr: SocketAddr,
    config: Config,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(store, addr, config, Limits::default()).await
}

/// [`serve`] under explicit [`Limits`].
pub async fn serve_with(
    store: Store,
    addr: SocketAddr,
    config: Config,
    limits: Limits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = server::with_limits(router(store, config).await, limits);
    let handle = tokio::spawn(async move {
        if let Err(e) = server::run(listener, app, limits, std::future::pending()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok((local, handle))
}

/// Serves on `listener` with the default [`Limits`] until `shutdown` completes, then lets open
/// requests finish.
pub async fn serve_until(
    store: Store,
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Limits::default();
    let app = server::with_limits(router(store, config).await, limits);
    server::run(listener, app, limits, shutdown).await
}
