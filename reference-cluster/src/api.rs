//! The HTTP API: routes, handlers, errors, idempotency and fault injection.
//!
//! Our management-token routes ([`ROUTES`], `docs/management-api.yaml`) are
//! served here; InfluxData's documented Management API ([`DOCUMENTED_ROUTES`])
//! is in [`crate::documented`] and the minimal data path ([`DATA_ROUTES`]) in
//! [`crate::data`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, on};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{self, JwtError, JwtVerifier, Principal};
use crate::config::{Config, Faults};
use crate::store::{CreatedToken, Store, TokenRecord};
use crate::token;

/// Path prefix of the API on InfluxDB Clustered.
pub const CLUSTERED_PREFIX: &str = "/api/v0";
/// Path prefix of the API on InfluxDB Cloud Dedicated.
pub const DEDICATED_PREFIX: &str = "/api/v0/accounts/{account_id}/clusters/{cluster_id}";
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(600);
/// How often a timer drops expired idempotency records (they hold raw
/// tokens: they must not outlive their TTL by waiting for the next create).
pub const IDEMPOTENCY_SWEEP: Duration = Duration::from_secs(30);
/// At most this many idempotency records are kept; past it the oldest is
/// dropped (its key then no longer replays: a retry of that create would
/// make a second token). 10,000 is 16 keyed creates a second for the whole
/// TTL, far beyond any real use, and bounds the raw tokens held in memory.
pub const MAX_IDEMPOTENCY_RECORDS: usize = 10_000;
/// Maximum length of `description` in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 255;
/// Maximum length of an `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// `Retry-After` sent when the identity provider's JWKS cannot be fetched.
pub const JWKS_UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// What an API route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    // Our management-token routes.
    Create,
    List,
    Get,
    Revoke,
    // The documented Management API: databases.
    DatabaseList,
    DatabaseCreate,
    DatabaseUpdate,
    DatabaseDelete,
    // The documented Management API: database tokens.
    DatabaseTokenList,
    DatabaseTokenCreate,
    DatabaseTokenGet,
    DatabaseTokenUpdate,
    DatabaseTokenRevoke,
    // The data path.
    Query,
    WriteV2,
    WriteV1,
}

/// One (method, path template) served by the API. Path templates use the
/// `{name}` syntax of both OpenAPI and axum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
}

const fn route(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route {
        method,
        path,
        operation,
    }
}

/// Every API route; the router is built from this list and the spec test
/// compares it with `docs/management-api.yaml`.
pub const ROUTES: &[Route] = &[
    route("POST", "/api/v0/management/tokens", Operation::Create),
    route("GET", "/api/v0/management/tokens", Operation::List),
    route("GET", "/api/v0/management/tokens/{id}", Operation::Get),
    route(
        "DELETE",
        "/api/v0/management/tokens/{id}",
        Operation::Revoke,
    ),
    route(
        "POST",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens",
        Operation::Create,
    ),
    route(
        "GET",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens",
        Operation::List,
    ),
    route(
        "GET",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens/{id}",
        Operation::Get,
    ),
    route(
        "DELETE",
        "/api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens/{id}",
        Operation::Revoke,
    ),
];

macro_rules! documented {
    ($($method:literal $path:literal $op:ident,)*) => {
        &[
            $(route($method, concat!("/api/v0", $path), Operation::$op),)*
            $(route($method, concat!("/api/v0/accounts/{account_id}/clusters/{cluster_id}", $path), Operation::$op),)*
        ]
    };
}

/// InfluxData's documented Management API for databases and database tokens
/// (OpenAPI specs of InfluxDB Clustered and Cloud Dedicated), in the short
/// form `/api/v0/...` and the long form [`DEDICATED_PREFIX`]`/...` (which
/// Clustered accepts too).
/// Kept apart from [`ROUTES`], which the spec test compares with
/// `docs/management-api.yaml`.
pub const DOCUMENTED_ROUTES: &[Route] = documented![
    "GET" "/databases" DatabaseList,
    "POST" "/databases" DatabaseCreate,
    "PATCH" "/databases/{name}" DatabaseUpdate,
    "DELETE" "/databases/{name}" DatabaseDelete,
    "GET" "/tokens" DatabaseTokenList,
    "POST" "/tokens" DatabaseTokenCreate,
    "GET" "/tokens/{id}" DatabaseTokenGet,
    "PATCH" "/tokens/{id}" DatabaseTokenUpdate,
    "DELETE" "/tokens/{id}" DatabaseTokenRevoke,
];

/// The minimal data path that checks a database token's permissions (and
/// stores nothing).
pub const DATA_ROUTES: &[Route] = &[
    route("GET", "/query", Operation::Query),
    route("POST", "/api/v2/write", Operation::WriteV2),
    route("POST", "/write", Operation::WriteV1),
];

/// Test-control routes, served only with `faults.test_control = true`; not
/// part of the published API.
pub const TEST_ROUTES: &[(&str, &str)] = &[
    ("POST", "/__test/faults"),
    ("GET", "/__test/stats"),
    ("POST", "/__test/activation"),
    ("GET", "/__test/activation"),
    ("POST", "/__test/management-tokens"),
    ("POST", crate::private::PREFIX),
    ("GET", crate::private::PREFIX),
    ("DELETE", "/__test/private/management/tokens/{id}"),
];

// ---------------------------------------------------------------------------
// Errors

/// An error response: `{"code": <status>, "message": "..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub www_authenticate: Option<&'static str>,
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            www_authenticate: Some(r#"Bearer error="invalid_token""#),
            ..ApiError::new(StatusCode::UNAUTHORIZED, message)
        }
    }
    pub(crate) fn internal(what: &str, err: impl std::fmt::Display) -> ApiError {
        tracing::error!("{what}: {err}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: self.status.as_u16(),
            message: &self.message,
        })
        .unwrap_or_default();
        let mut resp = (self.status, json_headers(), body).into_response();
        if let Some(v) = self.www_authenticate {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

fn json_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )]
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (status, json_headers(), body.into()).into_response()
}

// ---------------------------------------------------------------------------
// State

#[derive(Debug, Clone)]
struct Idempotent {
    request_hash: [u8; 32],
    /// `None` while the first request is still being processed.
    response: Option<(Bytes, String)>,
    expires: Instant,
}

type IdemKey = (Principal, String);

/// Idempotency records plus their expiry order, so expiring them costs
/// amortised O(1) per request instead of a scan of every record under the
/// lock (which halved create throughput once a few minutes of records had
/// piled up: bench/RESULTS.md, "reference cluster under load").
#[derive(Default)]
struct IdempotencyRecords {
    map: HashMap<IdemKey, Idempotent>,
    /// (expiry, key) in the order they were set; entries whose record was
    /// since removed or given a later expiry are skipped when popped.
    order: std::collections::VecDeque<(Instant, IdemKey)>,
}

impl IdempotencyRecords {
    fn expire(&mut self, now: Instant) {
        while let Some((t, _)) = self.order.front() {
            if *t > now {
                break;
            }
            let Some((_, k)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|r| r.expires <= now) {
                self.map.remove(&k);
            }
        }
    }

    fn insert(&mut self, k: IdemKey, rec: Idempotent) {
        while self.map.len() >= MAX_IDEMPOTENCY_RECORDS {
            self.evict_oldest();
        }
        self.order.push_back((rec.expires, k.clone()));
        self.map.insert(k, rec);
    }

    /// Drops the record that expires first (skipping queue entries whose
    /// record was since removed or extended).
    fn evict_oldest(&mut self) {
        while let Some((t, k)) = self.order.pop_front() {
            if self.map.get(&k).is_some_and(|r| r.expires == t) {
                self.map.remove(&k);
                return;
            }
        }
        // The queue always holds an entry for each record; be safe anyway.
        self.map.clear();
    }

    fn complete(&mut self, k: &IdemKey, response: (Bytes, String), expires: Instant) {
        if let Some(rec) = self.map.get_mut(k) {
            rec.response = Some(response);
            rec.expires = expires;
            self.order.push_back((expires, k.clone()));
        }
    }
}

#[derive(Default)]
struct Stats {
    requests: BTreeMap<String, u64>,
}

/// Shared server state.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub verifier: JwtVerifier,
    faults: Mutex<Faults>,
    stats: Mutex<Stats>,
    /// Idempotency records, keyed by (principal, key). Kept in memory only: the
    /// stored response holds the raw token, which thus never reaches the disk
    /// and is forgotten after [`IDEMPOTENCY_TTL`] (or a restart).
    idempotency: Mutex<IdempotencyRecords>,
    /// When new tokens start to work (`crate::activation`).
    pub activation: crate::activation::Activation,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The credential of `Authorization: SCHEME credential` for one of
/// `schemes` (case-insensitive); a missing header is answered with
/// `WWW-Authenticate: challenge`.
pub(crate) fn credential_of<'h>(
    headers: &'h HeaderMap,
    schemes: &[&str],
    challenge: &'static str,
) -> Result<&'h str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError {
            www_authenticate: Some(challenge),
            ..ApiError::new(StatusCode::UNAUTHORIZED, "missing Authorization header")
        });
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            schemes
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
                .then(|| rest.trim())
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(format!(
                "Authorization header is not a {} credential",
                schemes.join(" or ")
            ))
        })
}

/// The clock of idempotency records: tokio's, so tests can move it
/// (`tokio::time::pause`); the real monotonic clock otherwise.
fn idem_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Drops expired idempotency records every [`IDEMPOTENCY_SWEEP`] until the
/// state is gone.
async fn sweep_idempotency(state: std::sync::Weak<AppState>) {
    let mut tick = tokio::time::interval(IDEMPOTENCY_SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        lock(&state.idempotency).expire(idem_now());
    }
}

impl AppState {
    /// Opens the database and prepares the verifier; inside a tokio runtime
    /// also starts the timer that expires idempotency records.
    pub fn new(config: Config) -> Result<Arc<AppState>, rusqlite::Error> {
        let store = Store::open(&config.database)?;
        let state = Arc::new(AppState {
            verifier: JwtVerifier::new(config.identity.clone()),
            faults: Mutex::new(config.faults),
            activation: crate::activation::Activation::new(config.activation),
            config: Arc::new(config),
            store,
            stats: Mutex::default(),
            idempotency: Mutex::default(),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(sweep_idempotency(Arc::downgrade(&state)));
        }
        Ok(state)
    }

    /// Current fault settings.
    pub fn faults(&self) -> Faults {
        *lock(&self.faults)
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Request counts per route (`"METHOD /path/template"`).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.stats).requests.clone()
    }

    /// Creates and stores a management token, whatever the
    /// `management_tokens` switch says (tests use this to hand a "stock"
    /// cluster a management token). Returns the record and the token.
    pub async fn issue_management_token(
        &self,
        description: String,
        expires_at: Option<i64>,
        created_by: String,
    ) -> Result<(TokenRecord, String), rusqlite::Error> {
        let access_token = token::generate_token();
        let record = TokenRecord {
            id: token::new_uuid_v4(),
            description,
            token_prefix: token::display_prefix(&access_token),
            created_at: token::now_micros(),
            created_by,
            expires_at,
            revoked_at: None,
        };
        let hash = token::hash_token(&access_token);
        let rec = record.clone();
        self.store.run(move |s| s.insert(&rec, &hash)).await?;
        Ok((record, access_token))
    }

    /// Applies the `drop_after_create` fault to a create that has been
    /// committed: closes the request's connection without a response (never
    /// returns), or without a connection to close (in-process use) returns a
    /// `status` head whose body fails at once. `None` when the fault is not
    /// armed.
    pub(crate) async fn drop_after_create(
        &self,
        parts: &axum::http::request::Parts,
        status: StatusCode,
    ) -> Option<Response> {
        if !self.take_fault(|f| &mut f.drop_after_create) {
            return None;
        }
        if let Some(abort) = parts.extensions.get::<ConnectionAbort>() {
            tracing::warn!(
                "fault: dropping the connection of {} {} after commit",
                parts.method,
                parts.uri.path()
            );
            abort.0.notify_one();
            std::future::pending::<()>().await;
        }
        Some(
            Response::builder()
                .status(status)
                .body(Body::new(FailingBody))
                .unwrap_or_default(),
        )
    }

    pub(crate) fn take_fault(&self, which: fn(&mut Faults) -> &mut u64) -> bool {
        let mut f = lock(&self.faults);
        let n = which(&mut f);
        if *n > 0 {
            *n -= 1;
            true
        } else {
            false
        }
    }

    /// Checks the account/cluster of a dedicated path, then authenticates.
    async fn begin(
        &self,
        params: &HashMap<String, String>,
        headers: &HeaderMap,
        slot: &LogSlot,
    ) -> Result<Principal, ApiError> {
        // Authenticate first: a 404 before the 401 would tell anyone which
        // account and cluster ids exist.
        let principal = self.authenticate(headers).await?;
        slot.set(principal.describe());
        if let Some(account) = params.get("account_id") {
            let cluster = params.get("cluster_id").map(String::as_str).unwrap_or("");
            let known = self
                .config
                .dedicated
                .as_ref()
                .is_some_and(|d| d.account_id == *account && d.cluster_id == cluster);
            if !known {
                return Err(ApiError::not_found(format!(
                    "cluster {cluster:?} of account {account:?} not found"
                )));
            }
        }
        Ok(principal)
    }

    /// Authenticates a request from its `Authorization` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let credential = credential_of(headers, &["Bearer"], "Bearer")?;

        if credential.starts_with(token::DATABASE_TOKEN_PREFIX) {
            // Never looked up: a database token is for the data path only.
            return Err(ApiError::unauthorized(
                "a database token cannot call the Management API",
            ));
        }
        if credential.starts_with(token::TOKEN_PREFIX) {
            let hash = token::hash_token(credential);
            let record = self
                .store
                .run(move |s| s.get_by_hash(&hash))
                .await
                .map_err(|e| ApiError::internal("token lookup", e))?
                .ok_or_else(|| ApiError::unauthorized("unknown management token"))?;
            if record.revoked_at.is_some() {
                return Err(ApiError::unauthorized("management token has been revoked"));
            }
            if !record.is_usable(token::now_micros()) {
                return Err(ApiError::unauthorized("management token has expired"));
            }
            self.activation.check(
                crate::activation::Kind::Management,
                record.created_at,
                token::now_micros(),
            )?;
            return Ok(Principal::Token(record.id));
        }

        let claims = self
            .verifier
            .verify(credential)
            .await
            .map_err(|e| match e {
                JwtError::Invalid(m) => ApiError::unauthorized(m),
                JwtError::Unavailable(m) => {
                    tracing::warn!("identity provider unavailable: {m}");
                    ApiError {
                        retry_after: Some(JWKS_UNAVAILABLE_RETRY_AFTER),
                        ..ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "cannot verify the token: the identity provider's keys are unavailable",
                        )
                    }
                }
            })?;
        let claim = &self.config.identity.user_id_claim;
        let Some(user) = auth::user_id(&claims, claim) else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("token has no {claim:?} claim to identify the user"),
            ));
        };
        if !self.config.is_admin(&user) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("user {user:?} (claim {claim}) is not an admin of this cluster"),
            ));
        }
        Ok(Principal::User(user))
    }
}

// ---------------------------------------------------------------------------
// Per-request plumbing

/// Lets a handler tell the access log who the caller was.
#[derive(Clone, Default)]
pub struct LogSlot(Arc<Mutex<Option<String>>>);

impl LogSlot {
    pub(crate) fn set(&self, who: String) {
        *lock(&self.0) = Some(who);
    }
    fn get(&self) -> String {
        lock(&self.0).clone().unwrap_or_else(|| "-".to_string())
    }
}

/// Inserted by the server into each request: closes the connection it came
/// on, without a response (used by the `drop_after_create` fault).
#[derive(Clone)]
pub struct ConnectionAbort(pub Arc<tokio::sync::Notify>);

pub(crate) type Params =
    Result<Path<HashMap<String, String>>, axum::extract::rejection::PathRejection>;

pub(crate) fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    p.map(|Path(m)| m)
        .map_err(|e| ApiError::bad_request(format!("invalid path: {}", e.body_text())))
}

pub(crate) fn slot_of(req_ext: &axum::http::Extensions) -> LogSlot {
    req_ext.get::<LogSlot>().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Handlers

struct CreateRequest {
    description: String,
    expires_at: Option<i64>,
}

fn parse_create(body: &[u8]) -> Result<CreateRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    let description = match obj.get("description") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::bad_request("description must be a string")),
        None => return Err(ApiError::bad_request("description is required")),
    };
    if description.trim().is_empty() {
        return Err(ApiError::bad_request("description must not be empty"));
    }
    let n = description.chars().count();
    if n > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::bad_request(format!(
            "description is {n} characters long; at most {MAX_DESCRIPTION_CHARS} are allowed"
        )));
    }
    let expires_at = match obj.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(token::parse_rfc3339_micros(s).ok_or_else(|| {
            ApiError::bad_request(format!("expiresAt {s:?} is not an RFC 3339 date-time"))
        })?),
        Some(_) => {
            return Err(ApiError::bad_request(
                "expiresAt must be an RFC 3339 date-time string or null",
            ));
        }
    };
    Ok(CreateRequest {
        description,
        expires_at,
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        ))
    };
    let s = v.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY_LEN || !s.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

/// Removes an in-flight idempotency record unless disarmed (so that a failed
/// or cancelled create does not block its key).
struct InFlightGuard<'a> {
    state: &'a AppState,
    key: Option<(Principal, String)>,
}

impl InFlightGuard<'_> {
    fn complete(mut self, body: Bytes, location: String) {
        if let Some(k) = self.key.take() {
            lock(&self.state.idempotency).complete(
                &k,
                (body, location),
                idem_now() + IDEMPOTENCY_TTL,
            );
        }
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.state.idempotency).map.remove(&k);
        }
    }
}

fn token_path(params: &HashMap<String, String>, id: &str) -> String {
    match (params.get("account_id"), params.get("cluster_id")) {
        (Some(a), Some(c)) => {
            format!("{CLUSTERED_PREFIX}/accounts/{a}/clusters/{c}/management/tokens/{id}")
        }
        _ => format!("{CLUSTERED_PREFIX}/management/tokens/{id}"),
    }
}

fn created_response(body: Bytes, location: &str, replayed: bool) -> Response {
    let mut resp = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let slot = slot_of(&parts.extensions);
    let params = params(p)?;
    let principal = state.begin(&params, &parts.headers, &slot).await?;
    let key = idempotency_key(&parts.headers)?;
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read request body: {e}")))?;
    let request = parse_create(&body)?;

    // Idempotency: compare the meaning of the request (description and the
    // instant of expiresAt), not its bytes.
    let mut guard = InFlightGuard {
        state: &state,
        key: None,
    };
    if let Some(key) = key {
        let mut canon = request.description.clone().into_bytes();
        canon.push(0);
        canon.extend_from_slice(
            request
                .expires_at
                .map(|e| e.to_string())
                .unwrap_or_else(|| "null".into())
                .as_bytes(),
        );
        let request_hash = token::sha256(&canon);
        let now = idem_now();
        let mut records = lock(&state.idempotency);
        records.expire(now);
        let k = (principal.clone(), key);
        if let Some(rec) = records.map.get(&k) {
            if rec.request_hash != request_hash {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "Idempotency-Key was already used with a different request body",
                ));
            }
            return match &rec.response {
                Some((body, location)) => Ok(created_response(body.clone(), location, true)),
                None => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "a request with this Idempotency-Key is still being processed",
                )),
            };
        }
        records.insert(
            k.clone(),
            Idempotent {
                request_hash,
                response: None,
                expires: now + IDEMPOTENCY_TTL,
            },
        );
        guard.key = Some(k);
    }

    if let Some(e) = request.expires_at
        && e <= token::now_micros()
    {
        return Err(ApiError::bad_request("expiresAt must be in the future"));
    }
    let (record, access_token) = state
        .issue_management_token(
            request.description,
            request.expires_at,
            principal.created_by(),
        )
        .await
        .map_err(|e| ApiError::internal("storing the token", e))?;
    let body = Bytes::from(
        serde_json::to_vec(&CreatedToken {
            record: &record,
            access_token: &access_token,
        })
        .map_err(|e| ApiError::internal("serialising the token", e))?,
    );
    let location = token_path(&params, &record.id);
    guard.complete(body.clone(), location.clone());
    tracing::info!(id = %record.id, created_by = %record.created_by, "management token created");

    if let Some(dropped) = state.drop_after_create(&parts, StatusCode::CREATED).await {
        return Ok(dropped);
    }
    Ok(created_response(body, &location, false))
}

/// A response body that fails at once (in-process fallback of `drop_after_create`).
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped (fault)",
        ))))
    }
}

pub(crate) async fn list_tokens(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let slot = slot_of(req.extensions());
    let params = params(p)?;
    state.begin(&params, req.headers(), &slot).await?;
    let body = state
        .store
        .run(|s| s.list_json())
        .await
        .map_err(|e| ApiError::internal("listing tokens", e))?;
    Ok(json_response(StatusCode::OK, body))
}

fn token_id(params: &HashMap<String, String>) -> String {
    params.get("id").cloned().unwrap_or_default()
}

async fn get_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let slot = slot_of(req.extensions());
    let params = params(p)?;
    state.begin(&params, req.headers(), &slot).await?;
    let id = token_id(&params);
    let lookup = id.clone();
    let record = state
        .store
        .run(move |s| s.get(&lookup))
        .await
        .map_err(|e| ApiError::internal("reading the token", e))?
        .ok_or_else(|| ApiError::not_found(format!("management token {id:?} not found")))?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_vec(&record).unwrap_or_default(),
    ))
}

pub(crate) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let slot = slot_of(req.extensions());
    let params = params(p)?;
    let principal = state.begin(&params, req.headers(), &slot).await?;
    let id = token_id(&params);
    let lookup = id.clone();
    let now = token::now_micros();
    let record = state
        .store
        .run(move |s| s.revoke(&lookup, now))
        .await
        .map_err(|e| ApiError::internal("revoking the token", e))?
        .ok_or_else(|| ApiError::not_found(format!("management token {id:?} not found")))?;
    tracing::info!(id = %record.id, by = %principal.describe(), "management token revoked");
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_vec(&record).unwrap_or_default(),
    ))
}

// ---------------------------------------------------------------------------
// Test control

/// Body of `POST /__test/faults`; omitted fields are left unchanged.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsUpdate {
    fail_next: Option<u64>,
    fail_status: Option<u16>,
    retry_after: Option<u64>,
    drop_after_create: Option<u64>,
}

#[derive(Serialize)]
struct FaultsView {
    fail_next: u64,
    fail_status: u16,
    retry_after: u64,
    drop_after_create: u64,
}

impl From<Faults> for FaultsView {
    fn from(f: Faults) -> Self {
        FaultsView {
            fail_next: f.fail_next,
            fail_status: f.fail_status,
            retry_after: f.retry_after,
            drop_after_create: f.drop_after_create,
        }
    }
}

async fn test_set_faults(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let update: FaultsUpdate = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return ApiError::bad_request(format!("bad faults body: {e}")).into_response(),
    };
    if let Some(s) = update.fail_status
        && !matches!(s, 429 | 500 | 502 | 503 | 504)
    {
        return ApiError::bad_request("fail_status must be 429, 500, 502, 503 or 504")
            .into_response();
    }
    let mut f = lock(&state.faults);
    if let Some(v) = update.fail_next {
        f.fail_next = v;
    }
    if let Some(v) = update.fail_status {
        f.fail_status = v;
    }
    if let Some(v) = update.retry_after {
        f.retry_after = v;
    }
    if let Some(v) = update.drop_after_create {
        f.drop_after_create = v;
    }
    let view = FaultsView::from(*f);
    drop(f);
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&view).unwrap_or_default(),
    )
}

/// `POST /__test/management-tokens` `{"description", "expiresAt"?}`: issues a
/// management token without any credential, even with `management_tokens =
/// false` (how a test gives a "stock" cluster an admin's management token).
/// Answers 201 with the management-token object plus `accessToken`.
async fn test_issue_management_token(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = parse_create(&body)?;
    if let Some(e) = request.expires_at
        && e <= token::now_micros()
    {
        return Err(ApiError::bad_request("expiresAt must be in the future"));
    }
    let (record, access_token) = state
        .issue_management_token(request.description, request.expires_at, "test".into())
        .await
        .map_err(|e| ApiError::internal("storing the token", e))?;
    let body = serde_json::to_vec(&CreatedToken {
        record: &record,
        access_token: &access_token,
    })
    .map_err(|e| ApiError::internal("serialising the token", e))?;
    Ok(json_response(StatusCode::CREATED, body))
}

async fn test_stats(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let (tokens, databases, database_tokens) = state
        .store
        .run(|s| Ok((s.count()?, s.count_databases()?, s.count_database_tokens()?)))
        .await
        .map_err(|e| ApiError::internal("counting tokens", e))?;
    let idempotency_records = {
        let now = idem_now();
        lock(&state.idempotency)
            .map
            .values()
            .filter(|r| r.expires > now)
            .count()
    };
    let body = serde_json::json!({
        "requests": state.request_counts(),
        "tokens": tokens,
        "databases": databases,
        "database_tokens": database_tokens,
        "idempotency_records": idempotency_records,
        "jwks_fetches": state.verifier.jwks_fetches(),
        "faults": FaultsView::from(state.faults()),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

// ---------------------------------------------------------------------------
// Middleware and router

/// Counts API requests per route and applies `fail_next`.
async fn faults_and_stats(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    *lock(&state.stats)
        .requests
        .entry(format!("{} {route}", req.method()))
        .or_default() += 1;
    if state.take_fault(|f| &mut f.fail_next) {
        let f = state.faults();
        let status = StatusCode::from_u16(f.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return ApiError {
            retry_after: Some(f.retry_after),
            ..ApiError::new(status, "injected fault: try again later")
        }
        .into_response();
    }
    next.run(req).await
}

/// One access-log line per request: method, path, status, principal. Never
/// headers or bodies (which may hold credentials).
async fn access_log(mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        "{method} {path} {} principal={} {}ms",
        resp.status().as_u16(),
        slot.get(),
        started.elapsed().as_millis()
    );
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed for this resource",
    )
}

fn method_router(route: &Route) -> MethodRouter<Arc<AppState>> {
    use crate::{data, documented as doc};
    let filter = axum::routing::MethodFilter::try_from(
        Method::from_bytes(route.method.as_bytes()).expect("valid method"),
    )
    .expect("supported method");
    match route.operation {
        Operation::Create => on(filter, create_token),
        Operation::List => on(filter, list_tokens),
        Operation::Get => on(filter, get_token),
        Operation::Revoke => on(filter, revoke_token),
        Operation::DatabaseList => on(filter, doc::list_databases),
        Operation::DatabaseCreate => on(filter, doc::create_database),
        Operation::DatabaseUpdate => on(filter, doc::update_database),
        Operation::DatabaseDelete => on(filter, doc::delete_database),
        Operation::DatabaseTokenList => on(filter, doc::list_tokens),
        Operation::DatabaseTokenCreate => on(filter, doc::create_token),
        Operation::DatabaseTokenGet => on(filter, doc::get_token),
        Operation::DatabaseTokenUpdate => on(filter, doc::update_token),
        Operation::DatabaseTokenRevoke => on(filter, doc::revoke_token),
        Operation::Query => on(filter, data::query),
        Operation::WriteV2 => on(filter, data::write_v2),
        Operation::WriteV1 => on(filter, data::write_v1),
    }
}

/// Every route `config` serves: [`ROUTES`] unless `management_tokens` is
/// off, the path forms of [`DOCUMENTED_ROUTES`] chosen by
/// `documented_paths`, and [`DATA_ROUTES`].
pub fn served_routes(config: &Config) -> Vec<Route> {
    let management = ROUTES.iter().filter(|_| config.management_tokens);
    let documented = DOCUMENTED_ROUTES.iter().filter(|r| {
        if r.path.starts_with("/api/v0/accounts/") {
            config.documented_paths.serves_long()
        } else {
            config.documented_paths.serves_short()
        }
    });
    management
        .chain(documented)
        .chain(DATA_ROUTES)
        .copied()
        .collect()
}

/// The application router for `state` (without the connection layer; see
/// [`crate::server`] for a listening server).
pub fn app(state: Arc<AppState>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<Arc<AppState>>> = BTreeMap::new();
    for r in &served_routes(&state.config) {
        let mr = method_router(r);
        let entry = by_path.remove(r.path);
        by_path.insert(r.path, entry.map_or(mr.clone(), |e| e.merge(mr)));
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(path, mr.fallback(method_not_allowed));
    }
    router = router.route_layer(middleware::from_fn_with_state(
        state.clone(),
        faults_and_stats,
    ));
    if state.config.faults.test_control {
        router = router
            .route(
                "/__test/faults",
                axum::routing::post(test_set_faults).fallback(method_not_allowed),
            )
            .route(
                "/__test/stats",
                axum::routing::get(test_stats).fallback(method_not_allowed),
            )
            .route(
                "/__test/management-tokens",
                axum::routing::post(test_issue_management_token).fallback(method_not_allowed),
            )
            .merge(crate::private::routes())
            .merge(crate::activation::routes());
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rec(expires: Instant) -> Idempotent {
        Idempotent {
            request_hash: [0; 32],
            response: None,
            expires,
        }
    }

    #[test]
    fn idempotency_records_expire_in_order_and_completion_extends() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let key = |n: &str| (Principal::User("admin".into()), n.to_string());
        let mut r = IdempotencyRecords::default();
        r.insert(key("a"), rec(t0 + s));
        r.insert(key("b"), rec(t0 + 2 * s));
        r.insert(key("c"), rec(t0 + 3 * s));
        // Completing `a` pushes its expiry out; the old queue entry is skipped.
        r.complete(&key("a"), (Bytes::new(), String::new()), t0 + 10 * s);
        // `b` removed by a failed create, then reused later. (Expiries are
        // always now + TTL with a monotonic clock, so the queue stays sorted.)
        r.map.remove(&key("b"));
        r.insert(key("b"), rec(t0 + 11 * s));

        let cases = [
            (t0, vec!["a", "b", "c"]),
            (t0 + 2 * s, vec!["a", "b", "c"]),
            (t0 + 3 * s, vec!["a", "b"]),
            (t0 + 10 * s, vec!["b"]),
            (t0 + 11 * s, vec![]),
        ];
        for (now, want) in cases {
            r.expire(now);
            let mut have: Vec<&str> = r.map.keys().map(|(_, k)| k.as_str()).collect();
            have.sort();
            assert_eq!(have, want, "at +{:?}", now - t0);
        }
        assert!(r.order.is_empty(), "nothing left to expire");
    }

    #[test]
    fn idempotency_records_are_capped_oldest_first() {
        let t0 = Instant::now();
        let key = |n: usize| (Principal::User("admin".into()), n.to_string());
        let mut r = IdempotencyRecords::default();
        for n in 0..MAX_IDEMPOTENCY_RECORDS + 3 {
            r.insert(key(n), rec(t0 + Duration::from_millis(n as u64)));
        }
        assert_eq!(r.map.len(), MAX_IDEMPOTENCY_RECORDS);
        for n in 0..3 {
            assert!(!r.map.contains_key(&key(n)), "{n} kept");
        }
        assert!(r.map.contains_key(&key(3)));
        assert!(r.map.contains_key(&key(MAX_IDEMPOTENCY_RECORDS + 2)));
    }

    /// The records (raw tokens inside) go on a timer, with no create coming
    /// along to expire them.
    #[tokio::test(start_paused = true)]
    async fn idempotency_records_expire_on_a_timer() {
        let app = crate::test_support::TestApp::new(crate::test_support::config());
        let m = app.management_token().await;
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v0/management/tokens")
            .header("authorization", format!("Bearer {m}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "k-1")
            .body(axum::body::Body::from(r#"{"description":"x"}"#))
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(lock(&app.state.idempotency).map.len(), 1);
        // Paused clock: this moves time, it does not wait. The sweeper's tick
        // at TTL + one period runs before the clock reaches our wake-up.
        tokio::time::sleep(IDEMPOTENCY_TTL + 2 * IDEMPOTENCY_SWEEP).await;
        assert_eq!(lock(&app.state.idempotency).map.len(), 0);
    }
}
