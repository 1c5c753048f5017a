//! InfluxData's documented Management API for databases and database tokens,
//! as described by the public OpenAPI specs of InfluxDB Clustered and Cloud
//! Dedicated (`api-docs/influxdb3/{clustered,cloud-dedicated}/management/` in
//! `influxdata/docs-v2`). See `docs/documented-api.md` for what is served.
//!
//! Both path forms are routed to these handlers: the short form
//! `/api/v0/...` and the long form
//! `/api/v0/accounts/{accountId}/clusters/{clusterId}/...`. Through the long
//! form, objects carry `accountId` and `clusterId`. With `[dedicated]`
//! configured only its ids are accepted (404 otherwise, before the
//! credential); without it any ids are (Clustered with InfluxData's
//! placeholder ids).
//!
//! There is no idempotency here (the documented API has none): an
//! `Idempotency-Key` header is ignored.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::api::{ApiError, AppState, LogSlot, Params, json_response, params, slot_of};
use crate::auth::Principal;
use crate::store::{
    DatabaseRecord, DatabaseTokenRecord, DatabaseTokenView, DatabaseView, Permission, Scope,
};
use crate::token;

/// Default `maxTables` of a new database.
pub const DEFAULT_MAX_TABLES: i64 = 500;
/// Default `maxColumnsPerTable` of a new database.
pub const DEFAULT_MAX_COLUMNS_PER_TABLE: i64 = 200;
/// Longest database name, in characters.
pub const MAX_DATABASE_NAME_CHARS: usize = 64;
/// Most parts of a `partitionTemplate`.
pub const MAX_PARTITION_TEMPLATE_PARTS: usize = 8;
/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// An authenticated request and the path form it came through.
struct Caller {
    principal: Principal,
    /// `(accountId, clusterId)` of the long form.
    ids: Option<(String, String)>,
}

impl Caller {
    fn scope(&self) -> Option<Scope<'_>> {
        self.ids.as_ref().map(|(a, c)| Scope {
            account_id: a,
            cluster_id: c,
        })
    }
}

/// Authenticates exactly as our management routes do, then checks the ids
/// of a long-form path against `[dedicated]` (when set): in that order, so
/// that an unauthenticated caller cannot tell valid ids (404) from invalid
/// ones (401).
async fn begin(
    state: &AppState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    slot: &LogSlot,
) -> Result<Caller, ApiError> {
    let principal = state.authenticate(headers).await?;
    slot.set(principal.describe());
    let ids = match (params.get("account_id"), params.get("cluster_id")) {
        (Some(a), Some(c)) => Some((a.clone(), c.clone())),
        _ => None,
    };
    if let (Some((account, cluster)), Some(d)) = (&ids, &state.config.dedicated)
        && (d.account_id != *account || d.cluster_id != *cluster)
    {
        return Err(ApiError::not_found(format!(
            "cluster {cluster:?} of account {account:?} not found"
        )));
    }
    Ok(Caller { principal, ids })
}

async fn read_object(body: axum::body::Body) -> Result<Map<String, Value>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read request body: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

fn json_ok(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body =
        serde_json::to_vec(value).map_err(|e| ApiError::internal("serialising the response", e))?;
    Ok(json_response(StatusCode::OK, body))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn path_param(params: &HashMap<String, String>, name: &str) -> String {
    params.get(name).cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Validation

/// Checks a database name: 1 to 64 characters, ASCII letters, digits, `_`,
/// `-` and `/` (InfluxData's naming restrictions for Clustered/Dedicated).
pub fn check_database_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > MAX_DATABASE_NAME_CHARS {
        return Err(format!(
            "database name must be 1 to {MAX_DATABASE_NAME_CHARS} characters long, not {n}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/')))
    {
        return Err(format!(
            "database name {name:?} contains {c:?}; only letters, digits, '_', '-' and '/' are allowed"
        ));
    }
    Ok(())
}

/// An optional integer field within `min..=max` (`null` counts as absent).
fn int_field(
    obj: &Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::bad_request(format!(
                "{key} must be an integer from {min} to {max}, not {n}"
            ))),
        },
        Some(_) => Err(ApiError::bad_request(format!(
            "{key} must be an integer from {min} to {max}"
        ))),
    }
}

struct DatabaseSettings {
    max_tables: Option<i64>,
    max_columns_per_table: Option<i64>,
    retention_period: Option<i64>,
}

fn database_settings(obj: &Map<String, Value>) -> Result<DatabaseSettings, ApiError> {
    let int32 = i64::from(i32::MAX);
    Ok(DatabaseSettings {
        max_tables: int_field(obj, "maxTables", 1, int32)?,
        max_columns_per_table: int_field(obj, "maxColumnsPerTable", 1, int32)?,
        retention_period: int_field(obj, "retentionPeriod", 0, i64::MAX)?,
    })
}

/// Checks a `partitionTemplate` loosely (1 to 8 parts, each an object whose
/// `type` is `tag`, `time` or `bucket`) and returns it as JSON text.
fn partition_template(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let parts = match obj.get("partitionTemplate") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(parts)) => parts,
        Some(_) => {
            return Err(ApiError::bad_request(
                "partitionTemplate must be an array of template parts",
            ));
        }
    };
    if parts.is_empty() || parts.len() > MAX_PARTITION_TEMPLATE_PARTS {
        return Err(ApiError::bad_request(format!(
            "partitionTemplate must have 1 to {MAX_PARTITION_TEMPLATE_PARTS} parts"
        )));
    }
    for part in parts {
        let kind = part.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("tag" | "time" | "bucket")) || part.get("value").is_none() {
            return Err(ApiError::bad_request(
                "each partitionTemplate part needs a type (tag, time or bucket) and a value",
            ));
        }
    }
    Ok(Some(Value::Array(parts.clone()).to_string()))
}

fn description_field(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match obj.get("description") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request("description must be a string")),
    }
}

/// `permissions`: an array of `{action: "read"|"write", resource: NAME|"*"}`.
fn permissions_field(obj: &Map<String, Value>) -> Result<Option<Vec<Permission>>, ApiError> {
    let items = match obj.get("permissions") {
        None => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::bad_request(
                "permissions must be an array of {action, resource}",
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let action = item.get("action").and_then(Value::as_str);
        let resource = item.get("resource").and_then(Value::as_str);
        let (Some(action), Some(resource)) = (action, resource) else {
            return Err(ApiError::bad_request(
                "each permission needs a string action and resource",
            ));
        };
        if !matches!(action, "read" | "write") {
            return Err(ApiError::bad_request(format!(
                "permission action {action:?} is not read or write"
            )));
        }
        if resource != "*" {
            check_database_name(resource).map_err(|m| {
                ApiError::bad_request(format!(
                    "permission resource must be a database name or \"*\": {m}"
                ))
            })?;
        }
        out.push(Permission {
            action: action.to_string(),
            resource: resource.to_string(),
        });
    }
    Ok(Some(out))
}

fn token_id(params: &HashMap<String, String>) -> Result<String, ApiError> {
    let id = path_param(params, "id");
    if !token::is_uuid(&id) {
        return Err(ApiError::bad_request(format!(
            "token id {id:?} is not a UUID"
        )));
    }
    Ok(id)
}

fn token_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("database token {id:?} not found"))
}

fn database_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("database {name:?} not found"))
}

// ---------------------------------------------------------------------------
// Databases

pub(crate) async fn list_databases(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let params = params(p)?;
    let caller = begin(&state, &params, req.headers(), &slot_of(req.extensions())).await?;
    let records = state
        .store
        .run(|s| s.list_databases())
        .await
        .map_err(|e| ApiError::internal("listing databases", e))?;
    let views: Vec<DatabaseView<'_>> = records
        .iter()
        .map(|record| DatabaseView {
            scope: caller.scope(),
            record,
        })
        .collect();
    json_ok(&views)
}

pub(crate) async fn create_database(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let params = params(p)?;
    let caller = begin(&state, &params, &parts.headers, &slot_of(&parts.extensions)).await?;
    let obj = read_object(body).await?;
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
        None => return Err(ApiError::bad_request("name is required")),
    };
    check_database_name(&name).map_err(ApiError::bad_request)?;
    let settings = database_settings(&obj)?;
    let record = DatabaseRecord {
        name,
        max_tables: settings.max_tables.unwrap_or(DEFAULT_MAX_TABLES),
        max_columns_per_table: settings
            .max_columns_per_table
            .unwrap_or(DEFAULT_MAX_COLUMNS_PER_TABLE),
        retention_period: settings.retention_period.unwrap_or(0),
        partition_template: partition_template(&obj)?,
        created_at: token::now_micros(),
    };
    let rec = record.clone();
    let created = state
        .store
        .run(move |s| s.insert_database(&rec))
        .await
        .map_err(|e| ApiError::internal("storing the database", e))?;
    if !created {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("database {:?} already exists", record.name),
        ));
    }
    tracing::info!(name = %record.name, by = %caller.principal.describe(), "database created");
    json_ok(&DatabaseView {
        scope: caller.scope(),
        record: &record,
    })
}

pub(crate) async fn update_database(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let params = params(p)?;
    let caller = begin(&state, &params, &parts.headers, &slot_of(&parts.extensions)).await?;
    let name = path_param(&params, "name");
    let obj = read_object(body).await?;
    for fixed in ["name", "partitionTemplate"] {
        if obj.contains_key(fixed) {
            return Err(ApiError::bad_request(format!(
                "{fixed} of a database cannot be changed"
            )));
        }
    }
    let settings = database_settings(&obj)?;
    if settings.max_tables.is_none()
        && settings.max_columns_per_table.is_none()
        && settings.retention_period.is_none()
    {
        return Err(ApiError::bad_request(
            "give at least one of maxTables, maxColumnsPerTable, retentionPeriod",
        ));
    }
    let lookup = name.clone();
    let record = state
        .store
        .run(move |s| {
            s.update_database(
                &lookup,
                settings.max_tables,
                settings.max_columns_per_table,
                settings.retention_period,
            )
        })
        .await
        .map_err(|e| ApiError::internal("updating the database", e))?
        .ok_or_else(|| database_not_found(&name))?;
    tracing::info!(name = %record.name, by = %caller.principal.describe(), "database updated");
    json_ok(&DatabaseView {
        scope: caller.scope(),
        record: &record,
    })
}

pub(crate) async fn delete_database(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let params = params(p)?;
    let caller = begin(&state, &params, req.headers(), &slot_of(req.extensions())).await?;
    let name = path_param(&params, "name");
    let lookup = name.clone();
    let deleted = state
        .store
        .run(move |s| s.delete_database(&lookup))
        .await
        .map_err(|e| ApiError::internal("deleting the database", e))?;
    if !deleted {
        return Err(database_not_found(&name));
    }
    tracing::info!(name = %name, by = %caller.principal.describe(), "database deleted");
    Ok(no_content())
}

// ---------------------------------------------------------------------------
// Database tokens

pub(crate) async fn list_tokens(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let params = params(p)?;
    let caller = begin(&state, &params, req.headers(), &slot_of(req.extensions())).await?;
    let records = state
        .store
        .run(|s| s.list_database_tokens())
        .await
        .map_err(|e| ApiError::internal("listing database tokens", e))?;
    let views: Vec<DatabaseTokenView<'_>> = records
        .iter()
        .map(|record| DatabaseTokenView {
            scope: caller.scope(),
            record,
            access_token: None,
        })
        .collect();
    json_ok(&views)
}

pub(crate) async fn create_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let params = params(p)?;
    let caller = begin(&state, &params, &parts.headers, &slot_of(&parts.extensions)).await?;
    let obj = read_object(body).await?;
    let description =
        description_field(&obj)?.ok_or_else(|| ApiError::bad_request("description is required"))?;
    let permissions = permissions_field(&obj)?.unwrap_or_default();
    let now = token::now_micros();
    let expires_at = match obj.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let e = token::parse_rfc3339_micros(s).ok_or_else(|| {
                ApiError::bad_request(format!("expiresAt {s:?} is not an RFC 3339 date-time"))
            })?;
            if e <= now {
                return Err(ApiError::bad_request("expiresAt must be in the future"));
            }
            Some(e)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "expiresAt must be an RFC 3339 date-time string",
            ));
        }
    };
    let access_token = token::generate_database_token();
    let record = DatabaseTokenRecord {
        id: token::new_uuid_v4(),
        description,
        permissions,
        created_at: now,
        created_by: caller.principal.created_by(),
        expires_at,
        revoked_at: None,
    };
    let hash = token::hash_database_token(&access_token);
    let rec = record.clone();
    state
        .store
        .run(move |s| s.insert_database_token(&rec, &hash))
        .await
        .map_err(|e| ApiError::internal("storing the database token", e))?;
    tracing::info!(id = %record.id, created_by = %record.created_by, "database token created");
    if let Some(dropped) = state.drop_after_create(&parts, StatusCode::OK).await {
        return Ok(dropped);
    }
    json_ok(&DatabaseTokenView {
        scope: caller.scope(),
        record: &record,
        access_token: Some(&access_token),
    })
}

pub(crate) async fn get_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let params = params(p)?;
    let caller = begin(&state, &params, req.headers(), &slot_of(req.extensions())).await?;
    let id = token_id(&params)?;
    let lookup = id.clone();
    let record = state
        .store
        .run(move |s| s.get_database_token(&lookup))
        .await
        .map_err(|e| ApiError::internal("reading the database token", e))?
        .ok_or_else(|| token_not_found(&id))?;
    json_ok(&DatabaseTokenView {
        scope: caller.scope(),
        record: &record,
        access_token: None,
    })
}

pub(crate) async fn update_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let params = params(p)?;
    let caller = begin(&state, &params, &parts.headers, &slot_of(&parts.extensions)).await?;
    let id = token_id(&params)?;
    let obj = read_object(body).await?;
    if obj.contains_key("expiresAt") {
        return Err(ApiError::bad_request(
            "expiresAt of a database token cannot be changed",
        ));
    }
    let description = description_field(&obj)?;
    let permissions = permissions_field(&obj)?;
    if description.is_none() && permissions.is_none() {
        return Err(ApiError::bad_request("give description and/or permissions"));
    }
    let lookup = id.clone();
    let record = state
        .store
        .run(move |s| {
            s.update_database_token(&lookup, description.as_deref(), permissions.as_deref())
        })
        .await
        .map_err(|e| ApiError::internal("updating the database token", e))?
        .ok_or_else(|| token_not_found(&id))?;
    if record.revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("database token {id:?} has been revoked"),
        ));
    }
    tracing::info!(id = %record.id, by = %caller.principal.describe(), "database token updated");
    json_ok(&DatabaseTokenView {
        scope: caller.scope(),
        record: &record,
        access_token: None,
    })
}

pub(crate) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let params = params(p)?;
    let caller = begin(&state, &params, req.headers(), &slot_of(req.extensions())).await?;
    let id = token_id(&params)?;
    let lookup = id.clone();
    let now = token::now_micros();
    let record = state
        .store
        .run(move |s| s.revoke_database_token(&lookup, now))
        .await
        .map_err(|e| ApiError::internal("revoking the database token", e))?
        .ok_or_else(|| token_not_found(&id))?;
    tracing::info!(id = %record.id, by = %caller.principal.describe(), "database token revoked");
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DATA_ROUTES, DOCUMENTED_ROUTES, ROUTES, served_routes};
    use crate::config::{Dedicated, DocumentedPaths};
    use crate::test_support::{ONES, TestApp, assert_error, config, long};
    use serde_json::json;

    fn is_rfc3339(v: &Value) -> bool {
        v.as_str().and_then(token::parse_rfc3339_micros).is_some()
    }

    #[test]
    fn documented_routes_are_kept_apart_from_ours() {
        assert_eq!(ROUTES.len(), 8, "docs/management-api.yaml has 8 operations");
        assert_eq!(DOCUMENTED_ROUTES.len(), 18, "9 operations in 2 path forms");
        for r in DOCUMENTED_ROUTES.iter().chain(DATA_ROUTES) {
            assert!(
                !ROUTES.iter().any(|o| o.path == r.path),
                "{} {} must not be in ROUTES",
                r.method,
                r.path
            );
        }
        let (short, long): (Vec<&crate::api::Route>, Vec<_>) = DOCUMENTED_ROUTES
            .iter()
            .partition(|r| !r.path.starts_with("/api/v0/accounts/"));
        for (s, l) in short.iter().zip(&long) {
            assert_eq!(s.method, l.method);
            assert_eq!(s.operation, l.operation);
            assert_eq!(
                l.path,
                s.path
                    .replace("/api/v0", crate::api::DEDICATED_PREFIX)
                    .as_str()
            );
        }
    }

    #[tokio::test]
    async fn every_documented_and_data_route_is_served_and_asks_for_a_credential() {
        let app = TestApp::new(config());
        for r in DOCUMENTED_ROUTES.iter().chain(DATA_ROUTES) {
            let uri = r
                .path
                .replace("{account_id}", ONES)
                .replace("{cluster_id}", ONES)
                .replace("{name}", "db")
                .replace("{id}", ONES);
            let reply = app.send(r.method, &uri, None, None).await;
            assert_error(&reply, 401, &format!("{} {uri}", r.method));
        }
    }

    #[tokio::test]
    async fn switches_choose_the_routes() {
        // (management_tokens, documented_paths, ours, short, long)
        let cases = [
            (true, DocumentedPaths::Both, 200, 200, 200),
            (false, DocumentedPaths::Both, 404, 200, 200),
            (true, DocumentedPaths::Short, 200, 200, 404),
            (false, DocumentedPaths::Long, 404, 404, 200),
        ];
        for (management_tokens, paths, ours, short, long_status) in cases {
            let mut c = config();
            c.management_tokens = management_tokens;
            c.documented_paths = paths;
            let served = served_routes(&c);
            let want = if management_tokens { 8 } else { 0 }
                + match paths {
                    DocumentedPaths::Both => 18,
                    _ => 9,
                }
                + DATA_ROUTES.len();
            assert_eq!(served.len(), want, "{management_tokens} {paths:?}");
            let app = TestApp::new(c);
            // A management token authenticates either way.
            let mgmt = app.management_token().await;
            let what = format!("management_tokens={management_tokens} {paths:?}");
            for (uri, status) in [
                ("/api/v0/management/tokens".to_string(), ours),
                (
                    format!("/api/v0/accounts/{ONES}/clusters/{ONES}/management/tokens"),
                    404,
                ),
                ("/api/v0/databases".to_string(), short),
                ("/api/v0/tokens".to_string(), short),
                (long("/databases"), long_status),
                (long("/tokens"), long_status),
            ] {
                let r = app.call("GET", &uri, &mgmt, None).await;
                assert_eq!(r.status.as_u16(), status, "{what}: GET {uri}: {}", r.text);
                if status == 404 {
                    assert_error(&r, 404, &uri);
                }
            }
        }
    }

    #[tokio::test]
    async fn database_lifecycle_in_both_path_forms() {
        for long_form in [false, true] {
            let app = TestApp::new(config());
            let m = app.management_token().await;
            let p = |path: &str| {
                if long_form {
                    long(path)
                } else {
                    format!("/api/v0{path}")
                }
            };
            let scoped = |mut v: Value| {
                if long_form {
                    v["accountId"] = json!(ONES);
                    v["clusterId"] = json!(ONES);
                }
                v
            };

            let r = app
                .call(
                    "POST",
                    &p("/databases"),
                    &m,
                    Some(json!({"name": "metrics"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let defaults = scoped(json!({
                "name": "metrics", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0
            }));
            assert_eq!(r.body, defaults);

            let all = json!({
                "name": "a/b-c_1", "maxTables": 3, "maxColumnsPerTable": 4,
                "retentionPeriod": 2_592_000_000_000_000_i64,
                "partitionTemplate": [{"type": "time", "value": "%Y"}]
            });
            let r = app
                .call("POST", &p("/databases"), &m, Some(all.clone()))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body, scoped(all.clone()));

            let r = app
                .call(
                    "POST",
                    &p("/databases"),
                    &m,
                    Some(json!({"name": "metrics"})),
                )
                .await;
            assert_error(&r, 409, "create twice");

            let r = app.call("GET", &p("/databases"), &m, None).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.body, json!([scoped(all.clone()), defaults.clone()]));

            // PATCH changes only what it names; '/' in a name is percent-encoded.
            let r = app
                .call(
                    "PATCH",
                    &p("/databases/a%2Fb-c_1"),
                    &m,
                    Some(json!({"retentionPeriod": 0})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let mut patched = scoped(all.clone());
            patched["retentionPeriod"] = json!(0);
            assert_eq!(r.body, patched);
            let r = app
                .call(
                    "PATCH",
                    &p("/databases/metrics"),
                    &m,
                    Some(json!({"maxTables": 7, "maxColumnsPerTable": 8, "retentionPeriod": 9})),
                )
                .await;
            assert_eq!(
                r.body,
                scoped(
                    json!({"name": "metrics", "maxTables": 7, "maxColumnsPerTable": 8, "retentionPeriod": 9})
                )
            );
            let r = app
                .call(
                    "PATCH",
                    &p("/databases/nothing"),
                    &m,
                    Some(json!({"maxTables": 1})),
                )
                .await;
            assert_error(&r, 404, "PATCH unknown");

            let r = app.call("DELETE", &p("/databases/metrics"), &m, None).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            assert!(r.text.is_empty());
            let r = app.call("DELETE", &p("/databases/metrics"), &m, None).await;
            assert_error(&r, 404, "DELETE twice");
            let r = app.call("GET", &p("/databases"), &m, None).await;
            assert_eq!(r.body, json!([patched]));
            // The name is free again.
            let r = app
                .call(
                    "POST",
                    &p("/databases"),
                    &m,
                    Some(json!({"name": "metrics"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }

    #[tokio::test]
    async fn bad_database_requests_are_400() {
        let app = TestApp::new(config());
        let m = app.management_token().await;
        app.call("POST", "/api/v0/databases", &m, Some(json!({"name": "db"})))
            .await;
        let name65 = "x".repeat(65);
        let cases: Vec<(&str, &str, String)> = vec![
            ("POST", "/api/v0/databases", "{}".into()),
            ("POST", "/api/v0/databases", "not json".into()),
            ("POST", "/api/v0/databases", "[]".into()),
            ("POST", "/api/v0/databases", json!({"name": 5}).to_string()),
            ("POST", "/api/v0/databases", json!({"name": ""}).to_string()),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": name65}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "a b"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "a.b"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": 0}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": "5"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": 1.5}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxColumnsPerTable": 2_147_483_648_i64}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "retentionPeriod": -1}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "partitionTemplate": []}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "partitionTemplate": [{"type": "month", "value": "x"}]})
                    .to_string(),
            ),
            ("PATCH", "/api/v0/databases/db", "{}".into()),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"maxTables": 0}).to_string(),
            ),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"name": "other"}).to_string(),
            ),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"partitionTemplate": [{"type": "time", "value": "%Y"}]}).to_string(),
            ),
        ];
        for (method, uri, body) in &cases {
            let r = app
                .send(method, uri, Some(&format!("Bearer {m}")), Some(body))
                .await;
            assert_error(&r, 400, &format!("{method} {uri} {body}"));
        }
        // Nothing was created or changed.
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(
            r.body,
            json!([{"name": "db", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0}])
        );
        // The longest name is fine.
        let r = app
            .call(
                "POST",
                "/api/v0/databases",
                &m,
                Some(json!({"name": "y".repeat(64)})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    #[tokio::test]
    async fn database_token_lifecycle_in_both_path_forms() {
        for long_form in [false, true] {
            let app = TestApp::new(config());
            let m = app.management_token().await;
            let p = |path: &str| {
                if long_form {
                    long(path)
                } else {
                    format!("/api/v0{path}")
                }
            };
            let perms = json!([
                {"action": "read", "resource": "db1"},
                {"action": "write", "resource": "*"}
            ]);

            let r = app
                .call(
                    "POST",
                    &p("/tokens"),
                    &m,
                    Some(json!({"description": "telegraf", "permissions": perms})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let created = r.body.clone();
            let id = created["id"].as_str().unwrap().to_string();
            assert!(token::is_uuid(&id));
            assert_eq!(created["description"], "telegraf");
            assert_eq!(created["permissions"], perms);
            assert!(is_rfc3339(&created["createdAt"]));
            assert!(created.get("expiresAt").is_none() && created.get("revokedAt").is_none());
            let secret = created["accessToken"].as_str().unwrap().to_string();
            assert!(
                secret.starts_with("apiv1_") && secret.len() >= 64,
                "{secret}"
            );
            if long_form {
                assert_eq!(
                    (&created["accountId"], &created["clusterId"]),
                    (&json!(ONES), &json!(ONES))
                );
            } else {
                assert!(created.get("accountId").is_none() && created.get("clusterId").is_none());
            }
            let mut listed = created.clone();
            listed.as_object_mut().unwrap().remove("accessToken");

            // Stored only as SHA-512.
            let hash = token::hash_database_token(&secret);
            let found = app
                .state
                .store
                .run(move |s| s.get_database_token_by_hash(&hash))
                .await
                .unwrap();
            assert_eq!(found.map(|t| t.id), Some(id.clone()));

            // A token without permissions, expiring.
            let r = app
                .call(
                    "POST",
                    &p("/tokens"),
                    &m,
                    Some(json!({"description": "", "expiresAt": "2999-01-02T03:04:05+01:00"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["permissions"], json!([]));
            assert_eq!(r.body["expiresAt"], "2999-01-02T02:04:05Z");
            let second = r.body["id"].as_str().unwrap().to_string();

            let r = app.call("GET", &p("/tokens"), &m, None).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.body.as_array().unwrap().len(), 2);
            assert_eq!(r.body[0], listed);
            assert!(!r.text.contains("apiv1_"), "list never shows a secret");

            let r = app
                .call("GET", &p(&format!("/tokens/{id}")), &m, None)
                .await;
            assert_eq!((r.status, &r.body), (StatusCode::OK, &listed));

            // PATCH description and/or permissions.
            let r = app
                .call(
                    "PATCH",
                    &p(&format!("/tokens/{id}")),
                    &m,
                    Some(json!({"description": "grafana"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            listed["description"] = json!("grafana");
            assert_eq!(r.body, listed);
            let r = app
                .call(
                    "PATCH",
                    &p(&format!("/tokens/{id}")),
                    &m,
                    Some(json!({"permissions": []})),
                )
                .await;
            listed["permissions"] = json!([]);
            assert_eq!(r.body, listed);
            let r = app
                .call(
                    "PATCH",
                    &p(&format!("/tokens/{second}")),
                    &m,
                    Some(json!({"expiresAt": "2999-01-01T00:00:00Z"})),
                )
                .await;
            assert_error(&r, 400, "expiresAt cannot change");

            // Revoke: 204, twice too; the token stays listed with revokedAt.
            for _ in 0..2 {
                let r = app
                    .call("DELETE", &p(&format!("/tokens/{id}")), &m, None)
                    .await;
                assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
                assert!(r.text.is_empty());
            }
            let r = app
                .call("GET", &p(&format!("/tokens/{id}")), &m, None)
                .await;
            assert!(is_rfc3339(&r.body["revokedAt"]), "{}", r.text);
            let revoked_at = r.body["revokedAt"].clone();
            let r = app.call("GET", &p("/tokens"), &m, None).await;
            assert_eq!(
                r.body[0]["revokedAt"], revoked_at,
                "revoking twice keeps the first time"
            );
            let r = app
                .call(
                    "PATCH",
                    &p(&format!("/tokens/{id}")),
                    &m,
                    Some(json!({"description": "x"})),
                )
                .await;
            assert_error(&r, 409, "PATCH revoked");

            let unknown = "00000000-0000-4000-8000-000000000000";
            for (method, body) in [
                ("GET", None),
                ("DELETE", None),
                ("PATCH", Some(json!({"description": "x"}))),
            ] {
                let r = app
                    .call(method, &p(&format!("/tokens/{unknown}")), &m, body)
                    .await;
                assert_error(&r, 404, method);
                let r = app.call(method, &p("/tokens/not-a-uuid"), &m, None).await;
                assert_error(&r, 400, method);
            }
        }
    }

    #[tokio::test]
    async fn bad_database_token_requests_are_400() {
        let app = TestApp::new(config());
        let m = app.management_token().await;
        let cases = [
            json!({}),
            json!({"description": 5}),
            json!({"description": "d", "permissions": {"action": "read", "resource": "db"}}),
            json!({"description": "d", "permissions": [{"action": "admin", "resource": "db"}]}),
            json!({"description": "d", "permissions": [{"action": "Read", "resource": "db"}]}),
            json!({"description": "d", "permissions": [{"action": "read"}]}),
            json!({"description": "d", "permissions": [{"action": "read", "resource": ""}]}),
            json!({"description": "d", "permissions": [{"action": "read", "resource": "a b"}]}),
            json!({"description": "d", "permissions": ["read:db"]}),
            json!({"description": "d", "expiresAt": "2000-01-01T00:00:00Z"}),
            json!({"description": "d", "expiresAt": "tomorrow"}),
            json!({"description": "d", "expiresAt": 4_102_444_800_i64}),
        ];
        for body in cases {
            let r = app
                .call("POST", "/api/v0/tokens", &m, Some(body.clone()))
                .await;
            assert_error(&r, 400, &body.to_string());
        }
        let r = app.call("GET", "/api/v0/tokens", &m, None).await;
        assert_eq!(r.body, json!([]), "nothing was created");

        let r = app
            .call(
                "POST",
                "/api/v0/tokens",
                &m,
                Some(json!({"description": "d"})),
            )
            .await;
        let id = r.body["id"].as_str().unwrap().to_string();
        for body in [
            json!({}),
            json!({"unknown": 1}),
            json!({"description": 1}),
            json!({"permissions": [{"action": "delete", "resource": "*"}]}),
            json!({"description": "x", "expiresAt": null}),
        ] {
            let r = app
                .call(
                    "PATCH",
                    &format!("/api/v0/tokens/{id}"),
                    &m,
                    Some(body.clone()),
                )
                .await;
            assert_error(&r, 400, &body.to_string());
        }
    }

    #[tokio::test]
    async fn management_api_credentials() {
        let app = TestApp::new(config());
        let m = app.management_token().await;
        let r = app
            .call("POST", "/api/v0/tokens", &m, Some(json!({"description": "d", "permissions": [{"action": "read", "resource": "*"}]})))
            .await;
        let database_token = r.body["accessToken"].as_str().unwrap().to_string();
        let (revoked_record, revoked) = app
            .state
            .issue_management_token("old".into(), None, "test".into())
            .await
            .unwrap();
        let id = revoked_record.id.clone();
        app.state
            .store
            .run(move |s| s.revoke(&id, 1))
            .await
            .unwrap();

        // (Authorization, status, words of the message).
        let cases = [
            (None, 401, "missing"),
            (Some("Basic YWRtaW46YWRtaW4=".to_string()), 401, "Bearer"),
            (Some(format!("Token {m}")), 401, "Bearer"),
            (
                Some(format!("Bearer {database_token}")),
                401,
                "database token",
            ),
            (Some(format!("Bearer {revoked}")), 401, "revoked"),
            (Some("Bearer M.V1.unknown".to_string()), 401, "unknown"),
            (Some(format!("Bearer {m}")), 200, ""),
            (Some(format!("bearer {m}")), 200, ""),
        ];
        for uri in [
            "/api/v0/databases",
            "/api/v0/tokens",
            &long("/tokens"),
            "/api/v0/management/tokens",
        ] {
            for (auth, status, needle) in &cases {
                let r = app.send("GET", uri, auth.as_deref(), None).await;
                assert_eq!(r.status.as_u16(), *status, "{uri} {auth:?}: {}", r.text);
                if *status == 401 {
                    assert_error(&r, 401, uri);
                    assert!(r.text.contains(needle), "{uri} {auth:?}: {}", r.text);
                    assert!(r.headers.contains_key("www-authenticate"), "{uri} {auth:?}");
                }
            }
        }
        // Anything else that looks like a JWT goes to the identity provider
        // (unreachable here: 503), unlike the database token above.
        // (Header `{"alg":"ES256","typ":"at+jwt"}`: an access token's type.)
        let jwt = "Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln";
        let r = app.send("GET", "/api/v0/tokens", Some(jwt), None).await;
        assert_error(&r, 503, "JWT with the IdP down");
    }

    #[tokio::test]
    async fn the_credential_is_checked_before_the_dedicated_ids() {
        let mut c = config();
        c.dedicated = Some(Dedicated {
            account_id: "acc".into(),
            cluster_id: "clu".into(),
        });
        let app = TestApp::new(c);
        let m = app.management_token().await;
        let r = app
            .call(
                "POST",
                "/api/v0/accounts/acc/clusters/clu/databases",
                &m,
                Some(json!({"name": "db"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            (&r.body["accountId"], &r.body["clusterId"]),
            (&json!("acc"), &json!("clu"))
        );
        for (uri, auth, status) in [
            (
                "/api/v0/accounts/acc/clusters/clu/tokens",
                Some(m.as_str()),
                200,
            ),
            (
                "/api/v0/accounts/acc/clusters/other/tokens",
                Some(m.as_str()),
                404,
            ),
            (
                "/api/v0/accounts/other/clusters/clu/databases",
                Some(m.as_str()),
                404,
            ),
            // Without a credential, known and unknown ids look the same.
            ("/api/v0/accounts/other/clusters/clu/databases", None, 401),
            ("/api/v0/accounts/acc/clusters/clu/databases", None, 401),
            ("/api/v0/databases", Some(m.as_str()), 200),
        ] {
            let auth = auth.map(|t| format!("Bearer {t}"));
            let r = app.send("GET", uri, auth.as_deref(), None).await;
            assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.text);
        }
        // Same store through both forms; only the long form carries the ids.
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(
            r.body,
            json!([{"name": "db", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0}])
        );
    }

    #[tokio::test]
    async fn faults_apply_to_the_token_create_route() {
        let mut c = config();
        c.faults.test_control = true;
        let app = TestApp::new(c);
        let m = app.management_token().await;
        let create = json!({"description": "d"});

        // fail_next: 503 + Retry-After before anything happens.
        let r = app
            .send(
                "POST",
                "/__test/faults",
                None,
                Some(r#"{"fail_next": 1, "retry_after": 7}"#),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app
            .call("POST", "/api/v0/tokens", &m, Some(create.clone()))
            .await;
        assert_error(&r, 503, "fail_next");
        assert_eq!(r.headers["retry-after"], "7");

        // drop_after_create: committed, but the response body fails.
        app.send(
            "POST",
            "/__test/faults",
            None,
            Some(r#"{"drop_after_create": 1}"#),
        )
        .await;
        let req = axum::http::Request::post("/api/v0/tokens")
            .header("authorization", format!("Bearer {m}"))
            .body(axum::body::Body::from(create.to_string()))
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .is_err()
        );

        let r = app
            .call("POST", "/api/v0/tokens", &m, Some(create.clone()))
            .await;
        assert_eq!(r.status, StatusCode::OK, "the fault was used up");

        let r = app.send("GET", "/__test/stats", None, None).await;
        assert_eq!(r.body["requests"]["POST /api/v0/tokens"], 3, "{}", r.text);
        assert_eq!(r.body["database_tokens"], 2, "{}", r.text);
        assert_eq!(r.body["databases"], 0);
        assert_eq!(r.body["faults"]["drop_after_create"], 0);
        assert_eq!(r.body["faults"]["fail_next"], 0);
    }

    #[tokio::test]
    async fn dropped_create_closes_the_connection_and_the_token_exists() {
        let mut c = config();
        c.faults.drop_after_create = 1;
        c.management_tokens = false;
        let server = crate::start(c).await.unwrap();
        let (_, m) = server
            .state()
            .issue_management_token("admin".into(), None, "test".into())
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let url = format!(
            "{}/api/v0/accounts/{ONES}/clusters/{ONES}/tokens",
            server.url()
        );
        let err = http
            .post(&url)
            .bearer_auth(&m)
            .json(&json!({"description": "lost"}))
            .send()
            .await
            .expect_err("no response");
        assert!(
            err.is_request() || err.is_connect() || err.is_body(),
            "{err:?}"
        );
        let list: Value = http
            .get(&url)
            .bearer_auth(&m)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["description"], "lost");
        assert!(list[0].get("revokedAt").is_none());
        server.shutdown().await;
    }

    #[tokio::test]
    async fn test_route_issues_management_tokens_with_the_switch_off() {
        let mut c = config();
        c.management_tokens = false;
        c.faults.test_control = true;
        let app = TestApp::new(c);
        let r = app
            .send(
                "POST",
                "/__test/management-tokens",
                None,
                Some(r#"{"description": "ci"}"#),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let m = r.body["accessToken"].as_str().unwrap().to_string();
        assert!(m.starts_with("M.V1."));
        assert_eq!(
            app.call("GET", "/api/v0/tokens", &m, None).await.status,
            StatusCode::OK
        );
        assert_error(
            &app.call("GET", "/api/v0/management/tokens", &m, None).await,
            404,
            "switched off",
        );
        let r = app
            .send(
                "POST",
                "/__test/management-tokens",
                None,
                Some(r#"{"description": ""}"#),
            )
            .await;
        assert_error(&r, 400, "empty description");
    }

    #[tokio::test]
    async fn databases_and_tokens_survive_a_restart_and_secrets_never_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.sqlite");
        let mut c = config();
        c.database = path.to_str().unwrap().to_string();
        let (secret, id) = {
            let app = TestApp::new(c.clone());
            let m = app.management_token().await;
            app.call("POST", "/api/v0/databases", &m, Some(json!({"name": "db"})))
                .await;
            let r = app
                .call(
                    "POST",
                    "/api/v0/tokens",
                    &m,
                    Some(json!({"description": "d"})),
                )
                .await;
            let id = r.body["id"].as_str().unwrap().to_string();
            app.call("DELETE", &format!("/api/v0/tokens/{id}"), &m, None)
                .await;
            (r.body["accessToken"].as_str().unwrap().to_string(), id)
        };
        let app = TestApp::new(c);
        let m = app.management_token().await;
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(r.body[0]["name"], "db");
        let r = app
            .call("GET", &format!("/api/v0/tokens/{id}"), &m, None)
            .await;
        assert!(is_rfc3339(&r.body["revokedAt"]), "{}", r.text);
        drop(app);
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let random_part = &secret.as_bytes()["apiv1_".len()..];
        assert!(
            !bytes.windows(random_part.len()).any(|w| w == random_part),
            "the database token is on disk"
        );
        let hash = token::hash_database_token(&secret);
        assert!(
            bytes.windows(hash.len()).any(|w| w == hash),
            "its SHA-512 is"
        );
    }
}
