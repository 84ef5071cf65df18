//! The admin endpoints under `/api/v0/admin/…`: invites (with their link and QR code), users,
//! devices and the audit log, for a device token's user. The rules and the audit entries are
//! those of `contactpoint admin …` ([`crate::admin::Actor`]); only the way in differs.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use contactpoint_directory::Area;

use crate::admin::{self, ActionError, Actor, AuditQuery};
use crate::auth::{self, Identity, InviteSpec, Role};
use crate::http::AppError;
use crate::relay::Relay;
use crate::storage;

/// The routes, to be merged into the relay's router.
pub fn routes() -> axum::Router<Arc<Relay>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v0/admin/invites", post(create_invite))
        .route("/api/v0/admin/users", get(users))
        .route("/api/v0/admin/users/{id}/disable", post(disable_user))
        .route("/api/v0/admin/devices", get(devices))
        .route("/api/v0/admin/devices/{id}/revoke", post(revoke_device))
        .route("/api/v0/admin/audit", get(audit))
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Forbidden(f) => AppError::new(StatusCode::FORBIDDEN, "forbidden", f.to_string()),
            ActionError::Invalid(i) => i.into(),
        }
    }
}

/// The identity behind `Authorization: Bearer …`, or 401 as for every other endpoint.
async fn identity(relay: &Relay, headers: &HeaderMap) -> Result<Identity, AppError> {
    let hash = auth::hash_secret(&crate::http::bearer(headers)?);
    relay.db().call(move |c| storage::identity_by_token_hash(c, &hash)).await?.ok_or_else(crate::http::invalid_token)
}

/// Runs an administrative action of `identity` on the database, as the command line does. A
/// refusal is audited too (`admin.refused`, with what was asked and why), so that a stolen
/// token trying what its user may not do leaves a trace.
async fn act<T: Send + 'static>(
    relay: &Relay,
    identity: Identity,
    what: String,
    f: impl FnOnce(&mut crate::sql::Conn, Actor<'_>) -> Result<T, ActionError> + Send + 'static,
) -> Result<T, AppError> {
    let done = relay
        .db()
        .call(move |c| {
            let done = f(c, Actor::User(&identity));
            if let Err(ActionError::Forbidden(why)) = &done {
                storage::insert_audit(c, &identity.audit(None, "admin.refused", format!("{what}: {why}")))?;
            }
            Ok(done)
        })
        .await?;
    Ok(done?)
}

fn no_store<T: Serialize>(body: T) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[derive(Deserialize)]
struct InviteRequest {
    role: String,
    #[serde(default)]
    areas: Vec<String>,
    name: Option<String>,
    #[serde(default = "one")]
    uses: i64,
    #[serde(default = "default_days")]
    days: i64,
}

fn one() -> i64 {
    1
}

fn default_days() -> i64 {
    admin::DEFAULT_INVITE_DAYS
}

#[derive(Serialize)]
struct InviteResponse {
    code: String,
    link: String,
    /// The link as a QR code, an SVG image.
    qr_svg: String,
    role: &'static str,
    areas: Vec<String>,
    uses: i64,
    /// Expiry, RFC 3339 UTC.
    expires_at: String,
}

/// Where the app is reached, for the invite link: the page's own origin (which a browser sends
/// with every POST), else the `Host` the request came to.
fn public_address(headers: &HeaderMap) -> String {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| {
        (o.starts_with("https://") || o.starts_with("http://"))
            && !o.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>'))
            && o.splitn(4, '/').nth(3).is_none()
    });
    match origin {
        Some(o) => o.to_owned(),
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

/// The link as an SVG QR code, black on white with a quiet zone, readable from paper.
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).map_err(|e| {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", format!("the link does not fit in a QR code: {e}"))
    })?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

/// Creates an invite for a new user: administrators any, editors reader invites for their own
/// areas ([`Actor::may_invite`]); answers its code, link and QR code.
async fn create_invite(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    body: Result<Json<InviteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    let Json(req) = body.map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected JSON {{role, areas, name, uses, days}}: {e}"),
        )
    })?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| AppError::new(StatusCode::BAD_REQUEST, "bad_request", "role must be reader, editor or admin"))?;
    let areas: Vec<Area> = req
        .areas
        .iter()
        .map(|a| a.parse::<Area>().map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string())))
        .collect::<Result<_, _>>()?;
    let user_name = req.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if user_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(AppError::new(StatusCode::BAD_REQUEST, "bad_request", auth::InviteError::UserName.to_string()));
    }
    let valid_for_ms = req.days.saturating_mul(crate::calendar::MS_PER_DAY);
    let spec = InviteSpec { role, areas: areas.clone(), user_name, valid_for_ms, uses: req.uses };
    let what = format!("invite role={} areas=[{}]", role.as_str(), auth::area_keys(&areas).join(" "));
    let code = act(&relay, identity, what, move |c, actor| admin::invite(c, actor, &spec)).await?;
    let link = admin::invite_link(&public_address(&headers), &code);
    Ok(no_store(InviteResponse {
        qr_svg: qr_svg(&link)?,
        code,
        link,
        role: role.as_str(),
        areas: auth::area_keys(&areas),
        uses: req.uses,
        expires_at: crate::calendar::rfc3339_utc(storage::now_ms().saturating_add(valid_for_ms) / 1000),
    }))
}

async fn users(State(relay): State<Arc<Relay>>, headers: HeaderMap) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    let rows = act(&relay, identity, "list users".into(), |c, actor| {
        actor.may_administer()?;
        Ok(admin::users(c)?)
    })
    .await?;
    Ok(no_store(serde_json::json!({ "users": rows })))
}

async fn devices(State(relay): State<Arc<Relay>>, headers: HeaderMap) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    let rows = act(&relay, identity, "list devices".into(), |c, actor| {
        actor.may_administer()?;
        Ok(admin::devices(c)?)
    })
    .await?;
    Ok(no_store(serde_json::json!({ "devices": rows })))
}

/// Revokes a device and closes its open connections at once.
async fn revoke_device(
    State(relay): State<Arc<Relay>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    if !act(&relay, identity, format!("revoke device {id}"), move |c, actor| admin::revoke(c, actor, id)).await? {
        return Err(AppError::new(StatusCode::NOT_FOUND, "not_found", format!("there is no active device {id}")));
    }
    let closed = relay.kick_device(id, "this device has been signed out by an administrator");
    Ok(no_store(serde_json::json!({ "revoked": id, "connections_closed": closed })))
}

/// Disables a user and closes their devices' open connections at once.
async fn disable_user(
    State(relay): State<Arc<Relay>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    if !act(&relay, identity, format!("disable user {id}"), move |c, actor| admin::disable(c, actor, id)).await? {
        return Err(AppError::new(StatusCode::NOT_FOUND, "not_found", format!("there is no active user {id}")));
    }
    let closed = relay.kick_user(id, "this account has been disabled by an administrator");
    Ok(no_store(serde_json::json!({ "disabled": id, "connections_closed": closed })))
}

#[derive(Deserialize)]
struct AuditParams {
    user: Option<i64>,
    action: Option<String>,
    area: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
}

/// The audit log, newest first: by user (about them or done by them), action (or its family),
/// area, and days (`since` inclusive, `until` exclusive, `YYYY-MM-DD` UTC); at most 500 rows.
async fn audit(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let identity = identity(&relay, &headers).await?;
    let Query(p) = params.map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
    let bad = |m: String| AppError::new(StatusCode::BAD_REQUEST, "bad_request", m);
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let day = |s: Option<String>| nonempty(s).map(|d| crate::calendar::day_start_ms(&d)).transpose().map_err(bad);
    let area = nonempty(p.area).map(|a| a.parse::<Area>().map(|a| a.to_string())).transpose();
    let q = AuditQuery {
        user_id: p.user,
        area: area.map_err(|e| bad(e.to_string()))?,
        action: nonempty(p.action),
        since: day(p.since)?,
        until: day(p.until)?,
        limit: p.limit.unwrap_or(100).clamp(1, 500),
    };
    let rows = act(&relay, identity, "read the audit log".into(), move |c, actor| {
        actor.may_administer()?;
        Ok(admin::audit(c, &q)?)
    })
    .await?;
    let rows: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "at": crate::calendar::rfc3339_utc(r.at / 1000),
                "user_id": r.user_id,
                "user_name": r.user_name,
                "device_id": r.device_id,
                "doc_id": r.doc_id,
                "action": r.action,
                "detail": r.detail,
            })
        })
        .collect();
    Ok(no_store(serde_json::json!({ "entries": rows })))
}
