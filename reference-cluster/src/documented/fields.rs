//! The fields of request bodies and paths of the documented Management API,
//! checked: each a clear 400 naming the field.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::Permission;
use crate::token;

/// Longest database name, in characters.
pub const MAX_DATABASE_NAME_CHARS: usize = 64;
/// Most parts of a `partitionTemplate`.
pub const MAX_PARTITION_TEMPLATE_PARTS: usize = 8;

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

pub(super) struct DatabaseSettings {
    pub max_tables: Option<i64>,
    pub max_columns_per_table: Option<i64>,
    pub retention_period: Option<i64>,
}

pub(super) fn database_settings(obj: &Map<String, Value>) -> Result<DatabaseSettings, ApiError> {
    let int32 = i64::from(i32::MAX);
    Ok(DatabaseSettings {
        max_tables: int_field(obj, "maxTables", 1, int32)?,
        max_columns_per_table: int_field(obj, "maxColumnsPerTable", 1, int32)?,
        retention_period: int_field(obj, "retentionPeriod", 0, i64::MAX)?,
    })
}

/// Checks a `partitionTemplate` loosely (1 to 8 parts, each an object whose
/// `type` is `tag`, `time` or `bucket`) and returns it as JSON text.
pub(super) fn partition_template(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
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

pub(super) fn description_field(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match obj.get("description") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request("description must be a string")),
    }
}

/// `permissions`: an array of `{action: "read"|"write", resource: NAME|"*"}`.
pub(super) fn permissions_field(
    obj: &Map<String, Value>,
) -> Result<Option<Vec<Permission>>, ApiError> {
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

/// The `{id}` of a database-token path: a UUID.
pub(super) fn token_id(id: String) -> Result<String, ApiError> {
    if !token::is_uuid(&id) {
        return Err(ApiError::bad_request(format!(
            "token id {id:?} is not a UUID"
        )));
    }
    Ok(id)
}

pub(super) fn token_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("database token {id:?} not found"))
}

pub(super) fn database_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("database {name:?} not found"))
}

/// `expiresAt` of a new database token: absent, null, or an RFC 3339
/// date-time after `now`.
pub(super) fn expires_at_field(
    obj: &Map<String, Value>,
    now: i64,
) -> Result<Option<i64>, ApiError> {
    match obj.get("expiresAt") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let e = token::parse_rfc3339_micros(s).ok_or_else(|| {
                ApiError::bad_request(format!("expiresAt {s:?} is not an RFC 3339 date-time"))
            })?;
            if e <= now {
                return Err(ApiError::bad_request("expiresAt must be in the future"));
            }
            Ok(Some(e))
        }
        Some(_) => Err(ApiError::bad_request(
            "expiresAt must be an RFC 3339 date-time string",
        )),
    }
}
