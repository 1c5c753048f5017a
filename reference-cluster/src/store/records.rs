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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub account_id: &'a str,
    pub cluster_id: &'a str,
}

fn serialize_scope<S: SerializeStruct>(
    st: &mut S,
    scope: Option<Scope<'_>>,
) -> Result<(), S::Error> {
    if let Some(scope) = scope {
        st.serialize_field("accountId", scope.account_id)?;
        st.serialize_field("clusterId", scope.cluster_id)?;
    }
    Ok(())
}

/// One database of the documented Management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRecord {
    pub name: String,
    pub max_tables: i64,
    pub max_columns_per_table: i64,
    /// Nanoseconds; 0 = infinite.
    pub retention_period: i64,
    /// The `partitionTemplate` given at creation (JSON text), if any.
    pub partition_template: Option<String>,
    /// Microseconds since the Unix epoch (not served; it orders nothing).
    pub created_at: i64,
}

/// The database JSON object (`accountId`/`clusterId` only with a scope).
#[derive(Debug, Clone, Copy)]
pub struct DatabaseView<'a> {
    pub scope: Option<Scope<'a>>,
    pub record: &'a DatabaseRecord,
}

impl Serialize for DatabaseView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut st = s.serialize_struct("ClusterDatabase", 7)?;
        serialize_scope(&mut st, self.scope)?;
        st.serialize_field("name", &r.name)?;
        st.serialize_field("maxTables", &r.max_tables)?;
        st.serialize_field("maxColumnsPerTable", &r.max_columns_per_table)?;
        st.serialize_field("retentionPeriod", &r.retention_period)?;
        if let Some(t) = &r.partition_template {
            let v: serde_json::Value =
                serde_json::from_str(t).map_err(serde::ser::Error::custom)?;
            st.serialize_field("partitionTemplate", &v)?;
        }
        st.end()
    }
}

/// One permission of a database token: `action` is `read` or `write`,
/// `resource` a database name or `*` (every database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

/// Metadata of one database token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseTokenRecord {
    pub id: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    /// Who created it (for the log; not served).
    pub created_by: String,
    pub expires_at: Option<i64>,
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

/// The database token JSON object; `accessToken` only in the create response,
/// `expiresAt`/`revokedAt` only when set.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseTokenView<'a> {
    pub scope: Option<Scope<'a>>,
    pub record: &'a DatabaseTokenRecord,
    pub access_token: Option<&'a str>,
}

impl Serialize for DatabaseTokenView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut st = s.serialize_struct("DatabaseToken", 9)?;
        serialize_scope(&mut st, self.scope)?;
        st.serialize_field("id", &r.id)?;
        st.serialize_field("description", &r.description)?;
        st.serialize_field("permissions", &r.permissions)?;
        st.serialize_field("createdAt", &format_micros(r.created_at))?;
        if let Some(e) = r.expires_at {
            st.serialize_field("expiresAt", &format_micros(e))?;
        }
        if let Some(e) = r.revoked_at {
            st.serialize_field("revokedAt", &format_micros(e))?;
        }
        if let Some(t) = self.access_token {
            st.serialize_field("accessToken", t)?;
        }
        st.end()
    }
}
