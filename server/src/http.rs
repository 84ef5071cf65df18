//! HTTP routes: WebSocket sync, invite redemption, token rotation, the session check, change
//! authors, health and readiness; the admin endpoints are in `admin_http.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use contactpoint_protocol::{Access, DocumentId};

use crate::auth::{self, InviteError, RedeemLimiter, TokenStatus};
use crate::relay::{self, Relay};
use crate::storage::{self, StorageError};

/// An error as an HTTP client sees it: a status and a message written for a person. Details of
/// internal failures go to the log, not to the client.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    /// A stable code for the app to show the message in the person's language.
    code: &'static str,
    message: String,
}

impl AppError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError { status, code, message: message.into() }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        tracing::error!("storage error: {e}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the relay had an internal problem; try again later",
        )
    }
}

impl From<InviteError> for AppError {
    fn from(e: InviteError) -> Self {
        match e {
            InviteError::Storage(s) => s.into(),
            InviteError::Unknown | InviteError::UsedUp | InviteError::Expired | InviteError::Withdrawn => {
                AppError::new(StatusCode::FORBIDDEN, e.code(), e.to_string())
            }
            other => AppError::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message, "code": self.code }))).into_response()
    }
}

/// The router. Kept separate from the listener so tests can drive it in-process. With `web`, the
/// built web app in that directory is served for every other path.
pub fn app(relay: Arc<Relay>, web: Option<std::path::PathBuf>) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v0/redeem", post(redeem))
        .route("/api/v0/rotate", post(rotate))
        .route("/api/v0/session", get(session))
        .route("/api/v0/authors/{doc_id}", get(authors))
        .route("/api/v0/about", get(about))
        .route("/sync", get(sync))
        .merge(crate::admin_http::routes())
        .with_state(relay);
    match web {
        Some(dir) => router.fallback(move |req: axum::extract::Request| crate::web::serve_file(dir.clone(), req)),
        None => router,
    }
}

/// What anyone may know about this service before signing in: where to send feedback on
/// accessibility (the operator's `--feedback-contact`, `null` when not set).
#[derive(Serialize)]
struct About {
    feedback: Option<String>,
}

async fn about(State(relay): State<Arc<Relay>>) -> Json<About> {
    Json(About { feedback: relay.feedback_contact().map(str::to_owned) })
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    connections: usize,
    loaded_documents: usize,
    writes: u64,
    refused: u64,
}

async fn healthz(State(relay): State<Arc<Relay>>) -> Result<Json<Health>, AppError> {
    // A health check that does not touch the database would report a relay that cannot store.
    relay.db().call(|c| storage::ping(c)).await?;
    Ok(Json(Health {
        status: "ok",
        connections: relay.stats.connections.load(Ordering::Relaxed),
        loaded_documents: relay.stats.loaded_docs.load(Ordering::Relaxed),
        writes: relay.stats.writes.load(Ordering::Relaxed),
        refused: relay.stats.refused.load(Ordering::Relaxed),
    }))
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
}

/// Whether the relay should be sent traffic: 200 once the database answers with the current
/// schema, 503 when it does not and from the moment shutdown begins (before any socket closes),
/// so that a load balancer stops sending new clients first.
async fn readyz(State(relay): State<Arc<Relay>>) -> (StatusCode, Json<Readiness>) {
    let unready = |status| (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status }));
    if relay.is_shutting_down() {
        return unready("shutting down");
    }
    match relay.db().call(|c| storage::schema_current(c)).await {
        Ok(true) if !relay.is_shutting_down() => (StatusCode::OK, Json(Readiness { status: "ready" })),
        Ok(true) => unready("shutting down"),
        Ok(false) => unready("database schema is not current"),
        Err(e) => {
            tracing::warn!("readiness check: {e}");
            unready("database unavailable")
        }
    }
}

#[derive(Deserialize)]
struct RedeemRequest {
    code: String,
    device_name: String,
}

#[derive(Serialize)]
struct RedeemResponse {
    token: String,
    user_name: String,
    role: &'static str,
    areas: Vec<String>,
    /// Where the catalogue of documents is, once the relay has one.
    index_document_id: Option<String>,
    relay_storage_id: String,
}

async fn redeem(
    State(relay): State<Arc<Relay>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    body: Result<Json<RedeemRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<RedeemResponse>, AppError> {
    let ip = peer.map(|p| p.0.0.ip());
    let Json(req) = body.map_err(|e| {
        relay.metrics.redeem_failed("bad_request");
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", format!("expected JSON {{code, device_name}}: {e}"))
    })?;
    // Taking an attempt, looking at the code and giving the attempt back if the code was not
    // wrong all happen under one hold of the database, so simultaneous wrong codes from one
    // address are counted one by one.
    let outcome = relay
        .db()
        .call(move |c| {
            if let Some(ip) = ip
                && !RedeemLimiter::take(c, ip)?
            {
                return Ok(None);
            }
            let r = auth::redeem(c, &req.code, &req.device_name);
            if let Some(ip) = ip
                && !r.as_ref().is_err_and(InviteError::is_refused_code)
            {
                RedeemLimiter::give_back(c, ip)?;
            }
            let index = storage::meta_get(c, "index_document_id")?;
            Ok(Some((r, index)))
        })
        .await?;
    let Some((r, index)) = outcome else {
        relay.metrics.redeem_failed("rate_limited");
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many invalid invite codes from this address; wait a minute and check the code",
        ));
    };
    let r = r.inspect_err(|e| relay.metrics.redeem_failed(crate::metrics::invite_failure(e)))?;
    Ok(Json(RedeemResponse {
        token: r.token,
        user_name: r.identity.user_name,
        role: r.identity.role.as_str(),
        areas: r.identity.areas,
        index_document_id: index,
        relay_storage_id: relay.storage_id().to_owned(),
    }))
}

#[derive(Serialize)]
struct RotateResponse {
    token: String,
}

/// The device token sent as `Authorization: Bearer …`.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<String, AppError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::new(StatusCode::UNAUTHORIZED, "token_missing", "send the device token as Authorization: Bearer …")
        })
}

pub(crate) fn invalid_token() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "token_invalid",
        "this device token is not valid (unknown, revoked or its account disabled)",
    )
}

/// Replaces the device token given as `Authorization: Bearer …` with a new one.
async fn rotate(
    State(relay): State<Arc<Relay>>,
    headers: axum::http::HeaderMap,
) -> Result<Json<RotateResponse>, AppError> {
    let old = bearer(&headers)?;
    match relay.db().call(move |c| auth::rotate_token(c, &old)).await? {
        Some(rotated) => {
            // Whoever holds the old token must not keep a session it opened.
            let n =
                relay.kick_device(rotated.identity.device_id, "this device's token has been replaced; connect again");
            if n > 0 {
                tracing::info!(
                    device = rotated.identity.device_id,
                    connections = n,
                    "closed connections after rotation"
                );
            }
            Ok(Json(RotateResponse { token: rotated.token }))
        }
        None => Err(invalid_token()),
    }
}

#[derive(Serialize)]
struct SessionResponse {
    user_name: String,
    role: &'static str,
    areas: Vec<String>,
    /// The areas' members-only documents this user may read, which the catalogue does not list.
    members_only_documents: Vec<auth::MembersOnlyDocument>,
}

/// Whether the device token given as `Authorization: Bearer …` still works, and if not, why:
/// `reason` is `revoked`, `disabled` or `unknown`. A browser cannot read the status of a refused
/// WebSocket upgrade, so the app asks here; it deletes its data for the first two reasons only.
async fn session(State(relay): State<Arc<Relay>>, headers: axum::http::HeaderMap) -> Result<Response, AppError> {
    // The reason doubles as the code by which the app words the message.
    let refused = |reason: &str, message: &str| {
        let body = serde_json::json!({ "error": message, "reason": reason, "code": format!("session_{reason}") });
        (StatusCode::UNAUTHORIZED, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
    };
    let token = match bearer(&headers) {
        Ok(token) => token,
        Err(e) => return Ok(refused("unknown", &e.message)),
    };
    let hash = auth::hash_secret(&token);
    let status = relay
        .db()
        .call(move |c| {
            Ok(match auth::token_status(c, &hash)? {
                TokenStatus::Valid(identity) => {
                    let members_only = auth::members_only_documents(c, &identity)?;
                    (TokenStatus::Valid(identity), members_only)
                }
                other => (other, Vec::new()),
            })
        })
        .await?;
    Ok(match status {
        (TokenStatus::Valid(identity), members_only_documents) => (
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            Json(SessionResponse {
                user_name: identity.user_name,
                role: identity.role.as_str(),
                areas: identity.areas,
                members_only_documents,
            }),
        )
            .into_response(),
        (TokenStatus::Revoked, _) => refused(
            "revoked",
            "this device was removed from Contact Point by an administrator; ask for a new invite to sign in again",
        ),
        (TokenStatus::Disabled, _) => refused(
            "disabled",
            "this account was disabled by an administrator; ask an administrator if you should have access",
        ),
        (TokenStatus::Unknown, _) => {
            refused("unknown", "the relay does not know this device token; sign in with an invite")
        }
    })
}

#[derive(Serialize)]
struct AuthorsResponse {
    changes: Vec<AuthoredChange>,
}

#[derive(Serialize)]
struct AuthoredChange {
    hash: String,
    user: String,
    user_id: i64,
    device: String,
    at: String,
}

/// What the database says about a request for a document's authors.
enum AuthorsLookup {
    BadToken,
    NoDocument,
    NotAllowed,
    Found(Vec<storage::ChangeAuthor>),
}

/// Who delivered each accepted change of a document, oldest first. Only for those who may write
/// the document (its area's editors and admins): the same access decision as for sync.
async fn authors(
    State(relay): State<Arc<Relay>>,
    Path(doc_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Json<AuthorsResponse>, AppError> {
    let hash = auth::hash_secret(&bearer(&headers)?);
    let doc = doc_id.parse::<DocumentId>().ok();
    let lookup = relay
        .db()
        .call(move |c| {
            let Some(identity) = storage::identity_by_token_hash(c, &hash)? else { return Ok(AuthorsLookup::BadToken) };
            let Some(doc) = doc else { return Ok(AuthorsLookup::NoDocument) };
            let scope = match storage::doc_scope(c, &doc)? {
                Some((scope, false)) => scope,
                // Unknown and erased documents alike.
                _ => return Ok(AuthorsLookup::NoDocument),
            };
            if identity.access(&scope) != Access::Write {
                return Ok(AuthorsLookup::NotAllowed);
            }
            Ok(AuthorsLookup::Found(storage::change_authors(c, &doc)?))
        })
        .await?;
    match lookup {
        AuthorsLookup::BadToken => Err(invalid_token()),
        AuthorsLookup::NoDocument => {
            Err(AppError::new(StatusCode::NOT_FOUND, "no_document", format!("the relay has no document {doc_id}")))
        }
        AuthorsLookup::NotAllowed => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "not_an_editor",
            "only the document's editors and administrators may see who changed it",
        )),
        AuthorsLookup::Found(rows) => Ok(Json(AuthorsResponse {
            changes: rows
                .into_iter()
                .map(|r| AuthoredChange {
                    hash: r.hash,
                    user: r.user_name,
                    user_id: r.user_id,
                    device: r.device_name,
                    at: crate::calendar::rfc3339_utc(r.accepted_at),
                })
                .collect(),
        })),
    }
}

#[derive(Deserialize)]
struct SyncQuery {
    token: Option<String>,
}

async fn sync(
    State(relay): State<Arc<Relay>>,
    Query(q): Query<SyncQuery>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    if relay.is_shutting_down() {
        relay.metrics.handshake_failed("shutting_down");
        return Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "restarting",
            "the relay is restarting; connect again in a moment",
        ));
    }
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        relay.metrics.handshake_failed("unauthorized");
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "token_missing",
            "a device token is required: /sync?token=…",
        ));
    };
    let hash = auth::hash_secret(&token);
    let identity = relay.db().call_short(move |c| storage::identity_by_token_hash(c, &hash)).await?;
    let Some(identity) = identity else {
        relay.metrics.handshake_failed("unauthorized");
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "token_invalid",
            "this device token is not valid (unknown, revoked or its account disabled)",
        ));
    };
    let upgrade = crate::ws::Upgrade::from_request(request).map_err(|e| {
        relay.metrics.handshake_failed("not_websocket");
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", format!("expected a WebSocket upgrade: {e}"))
    })?;
    // Our own WebSocket (`ws.rs`) keeps no buffers while a device is idle; a message may still be
    // as large as the limit.
    let max_message = relay.limits().max_frame_bytes;
    // Every line `serve_socket` logs about the connection names it, its user and device (as
    // fields of the line rather than a span, which would cost every idle connection a few hundred
    // bytes); never the token, nor the request's query string that carries it.
    // Shared from here: the task waiting for the upgrade holds a pointer, not a copy.
    let identity = Arc::new(identity);
    Ok(upgrade.on_upgrade(max_message, move |socket| relay::serve_socket(relay, socket, identity)))
}
