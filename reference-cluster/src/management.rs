//! Our management-token routes (`docs/management-api.yaml`): create (with
//! `Idempotency-Key`), list, get and revoke. The private routes of the
//! influxctl stand-in ([`crate::private`]) serve the same handlers.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::error::{ApiError, json_ok, json_response, read_object};
use crate::idempotency::{self, Begun};
use crate::request::ManagementCall;
use crate::routes::CLUSTERED_PREFIX;
use crate::store::{CreatedToken, TokenRecord};
use crate::token;

/// Maximum length of `description` in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 255;
/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// The body of a create: what the token will be.
pub(crate) struct CreateRequest {
    pub description: String,
    pub expires_at: Option<i64>,
}

impl CreateRequest {
    /// Idempotency compares the meaning of the request (description and the
    /// instant of `expiresAt`), not its bytes.
    fn hash(&self) -> [u8; 32] {
        let mut canon = self.description.clone().into_bytes();
        canon.push(0);
        let expires = self
            .expires_at
            .map_or_else(|| "null".into(), |e| e.to_string());
        canon.extend_from_slice(expires.as_bytes());
        token::sha256(&canon)
    }

    /// 400 unless `expiresAt` is absent or in the future.
    pub(crate) fn check_future(&self) -> Result<(), ApiError> {
        match self.expires_at {
            Some(e) if e <= token::now_micros() => {
                Err(ApiError::bad_request("expiresAt must be in the future"))
            }
            _ => Ok(()),
        }
    }
}

/// `{"description", "expiresAt"?}` checked: a description of 1 to 255
/// characters, an RFC 3339 `expiresAt` or null.
pub(crate) fn parse_create(obj: &Map<String, Value>) -> Result<CreateRequest, ApiError> {
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

/// Where a created token lives, in the path form it was created through.
fn token_path(call: &ManagementCall, id: &str) -> String {
    match &call.ids {
        Some((a, c)) => {
            format!("{CLUSTERED_PREFIX}/accounts/{a}/clusters/{c}/management/tokens/{id}")
        }
        None => format!("{CLUSTERED_PREFIX}/management/tokens/{id}"),
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
    call: ManagementCall,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let key = idempotency::key_of(&headers)?;
    let request = parse_create(&read_object(body, MAX_BODY).await?)?;
    let state = call.state.clone();
    let in_flight = match state
        .idempotency
        .begin(&call.principal, key, request.hash())?
    {
        Begun::Replay { body, location } => return Ok(created_response(body, &location, true)),
        Begun::Fresh(in_flight) => in_flight,
    };
    request.check_future()?;
    let (record, access_token) = state
        .issue_management_token(
            request.description,
            request.expires_at,
            call.principal.created_by(),
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
    let location = token_path(&call, &record.id);
    in_flight.complete(body.clone(), location.clone());
    tracing::info!(id = %record.id, created_by = %record.created_by, "management token created");
    if let Some(dropped) = call.drop_after_create(StatusCode::CREATED).await {
        return Ok(dropped);
    }
    Ok(created_response(body, &location, false))
}

pub(crate) async fn list_tokens(call: ManagementCall) -> Result<Response, ApiError> {
    let body = call
        .state
        .db("listing tokens", |s| s.list_json::<TokenRecord>())
        .await?;
    Ok(json_response(StatusCode::OK, body))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("management token {id:?} not found"))
}

pub(crate) async fn get_token(call: ManagementCall) -> Result<Response, ApiError> {
    let record = (call.state)
        .found(
            "reading the token",
            &call.param("id"),
            not_found,
            |s, id| s.get::<TokenRecord>(id),
        )
        .await?;
    json_ok(&record)
}

pub(crate) async fn revoke_token(call: ManagementCall) -> Result<Response, ApiError> {
    let now = token::now_micros();
    let record = (call.state)
        .found(
            "revoking the token",
            &call.param("id"),
            not_found,
            move |s, id| s.revoke::<TokenRecord>(id, now),
        )
        .await?;
    tracing::info!(id = %record.id, by = %call.who(), "management token revoked");
    json_ok(&record)
}
