//! The records of the store and the JSON objects served from them.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::token::format_micros;

/// Metadata of one management token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub description: String,
    pub token_prefix: String,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The fields of the `ManagementToken` JSON object.
fn management_fields<S: SerializeStruct>(st: &mut S, r: &TokenRecord) -> Result<(), S::Error> {
    st.serialize_field("id", &r.id)?;
    st.serialize_field("description", &r.description)?;
    st.serialize_field("tokenPrefix", &r.token_prefix)?;
    st.serialize_field("createdAt", &format_micros(r.created_at))?;
    st.serialize_field("createdBy", &r.created_by)?;
    st.serialize_field("expiresAt", &r.expires_at.map(format_micros))?;
    st.serialize_field("revokedAt", &r.revoked_at.map(format_micros))
}

/// The `ManagementToken` JSON object.
impl Serialize for TokenRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ManagementToken", 7)?;
        management_fields(&mut st, self)?;
        st.end()
    }
}

/// The `CreatedManagementToken` JSON object: the token object plus `accessToken`.
#[derive(Debug, Clone)]
pub struct CreatedToken<'a> {
    pub record: &'a TokenRecord,
    pub access_token: &'a str,
}

impl Serialize for CreatedToken<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CreatedManagementToken", 8)?;
        management_fields(&mut st, self.record)?;
        st.serialize_field("accessToken", self.access_token)?;
        st.end()
    }
}

/// `accountId` and `clusterId` of a request made through the long path form
/// (`/api/v0/accounts/{accountId}/clusters/{clusterId}/...`); objects served
/// through it carry them, as on Cloud Dedicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope<'a> {
    pub account_id: &'a str,
    pub cluster_id: &'a str,
}

/// The JSON objects of the documented API as a request sees them: the
/// record's fields, after `accountId`/`clusterId` where the request came
/// through the long path form.
#[derive(Debug, Serialize)]
pub struct Scoped<'a, R> {
    #[serde(flatten)]
    pub scope: Option<Scope<'a>>,
    #[serde(flatten)]
    pub record: &'a R,
}

// By hand: a derive would ask `R: Copy`, and only the reference is copied.
impl<R> Clone for Scoped<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Scoped<'_, R> {}

/// One database of the documented Management API; serialized, the
/// `ClusterDatabase` JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseRecord {
    pub name: String,
    pub max_tables: i64,
    pub max_columns_per_table: i64,
    /// Nanoseconds; 0 = infinite.
    pub retention_period: i64,
    /// The `partitionTemplate` given at creation (JSON text), if any.
    #[serde(serialize_with = "json_text", skip_serializing_if = "Option::is_none")]
    pub partition_template: Option<String>,
    /// Microseconds since the Unix epoch (not served; it orders nothing).
    #[serde(skip)]
    pub created_at: i64,
}

/// The database JSON object (`accountId`/`clusterId` only with a scope).
pub type DatabaseView<'a> = Scoped<'a, DatabaseRecord>;

/// JSON text kept as given, served as the JSON it is.
fn json_text<S: serde::Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    let v: Option<serde_json::Value> = text
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(serde::ser::Error::custom)?;
    v.serialize(s)
}

/// Microseconds since the Unix epoch as RFC 3339 text.
fn micros<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_micros(*t))
}

/// [`micros`] of a time that may be unset.
fn opt_micros<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    t.map(format_micros).serialize(s)
}

/// One permission of a database token: `action` is `read` or `write`,
/// `resource` a database name or `*` (every database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

/// Metadata of one database token (never the token itself); serialized,
/// the `DatabaseToken` JSON object, `expiresAt`/`revokedAt` only when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseTokenRecord {
    pub id: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Microseconds since the Unix epoch.
    #[serde(serialize_with = "micros")]
    pub created_at: i64,
    /// Who created it (for the log; not served).
    #[serde(skip)]
    pub created_by: String,
    #[serde(serialize_with = "opt_micros", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(serialize_with = "opt_micros", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl DatabaseTokenRecord {
    /// Whether one of the permissions grants `action` on `database`.
    pub fn allows(&self, action: &str, database: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.action == action && (p.resource == "*" || p.resource == database))
    }
}

/// The database token JSON object (`accountId`/`clusterId` only with a
/// scope); `accessToken` only in the create response.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DatabaseTokenView<'a> {
    #[serde(flatten)]
    pub token: Scoped<'a, DatabaseTokenRecord>,
    #[serde(rename = "accessToken", skip_serializing_if = "Option::is_none")]
    pub access_token: Option<&'a str>,
}
