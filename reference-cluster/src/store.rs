//! SQLite storage of management tokens, databases and database tokens. Only a
//! hash of a token is stored (SHA-256 for management tokens, SHA-512 for
//! database tokens), next to its metadata; revocations therefore survive a
//! restart.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
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

impl TokenRecord {
    /// Whether the token may still authenticate at `now` (µs).
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// The `ManagementToken` JSON object.
impl Serialize for TokenRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ManagementToken", 7)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("description", &self.description)?;
        st.serialize_field("tokenPrefix", &self.token_prefix)?;
        st.serialize_field("createdAt", &format_micros(self.created_at))?;
        st.serialize_field("createdBy", &self.created_by)?;
        st.serialize_field("expiresAt", &self.expires_at.map(format_micros))?;
        st.serialize_field("revokedAt", &self.revoked_at.map(format_micros))?;
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
        let r = self.record;
        let mut st = s.serialize_struct("CreatedManagementToken", 8)?;
        st.serialize_field("id", &r.id)?;
        st.serialize_field("description", &r.description)?;
        st.serialize_field("tokenPrefix", &r.token_prefix)?;
        st.serialize_field("createdAt", &format_micros(r.created_at))?;
        st.serialize_field("createdBy", &r.created_by)?;
        st.serialize_field("expiresAt", &r.expires_at.map(format_micros))?;
        st.serialize_field("revokedAt", &r.revoked_at.map(format_micros))?;
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
    /// Whether the token may still authenticate at `now` (µs).
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

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

pub type StoreResult<T> = Result<T, rusqlite::Error>;

/// A single SQLite connection behind a mutex. Call it from blocking threads
/// (see [`Store::run`]).
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS management_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    description  TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,   -- SHA-256 of the whole token string
    created_at   INTEGER NOT NULL,       -- microseconds since the Unix epoch (UTC)
    created_by   TEXT NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX IF NOT EXISTS management_tokens_created ON management_tokens (created_at, id);
CREATE TABLE IF NOT EXISTS cluster_databases (
    name                  TEXT PRIMARY KEY NOT NULL,
    max_tables            INTEGER NOT NULL,
    max_columns_per_table INTEGER NOT NULL,
    retention_period      INTEGER NOT NULL,  -- nanoseconds, 0 = infinite
    partition_template    TEXT,              -- JSON as given at creation
    created_at            INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS database_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    description  TEXT NOT NULL,
    permissions  TEXT NOT NULL,          -- JSON array of {action, resource}
    token_hash   BLOB NOT NULL UNIQUE,   -- SHA-512 of the whole token string
    created_at   INTEGER NOT NULL,       -- microseconds since the Unix epoch (UTC)
    created_by   TEXT NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX IF NOT EXISTS database_tokens_created ON database_tokens (created_at, id);
";

const COLUMNS: &str =
    "id, description, token_prefix, created_at, created_by, expires_at, revoked_at";

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        description: row.get(1)?,
        token_prefix: row.get(2)?,
        created_at: row.get(3)?,
        created_by: row.get(4)?,
        expires_at: row.get(5)?,
        revoked_at: row.get(6)?,
    })
}

const DATABASE_COLUMNS: &str =
    "name, max_tables, max_columns_per_table, retention_period, partition_template, created_at";

fn row_to_database(row: &rusqlite::Row<'_>) -> rusqlite::Result<DatabaseRecord> {
    Ok(DatabaseRecord {
        name: row.get(0)?,
        max_tables: row.get(1)?,
        max_columns_per_table: row.get(2)?,
        retention_period: row.get(3)?,
        partition_template: row.get(4)?,
        created_at: row.get(5)?,
    })
}

const DATABASE_TOKEN_COLUMNS: &str =
    "id, description, permissions, created_at, created_by, expires_at, revoked_at";

fn row_to_database_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<DatabaseTokenRecord> {
    let permissions: String = row.get(2)?;
    Ok(DatabaseTokenRecord {
        id: row.get(0)?,
        description: row.get(1)?,
        permissions: serde_json::from_str(&permissions).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: row.get(3)?,
        created_by: row.get(4)?,
        expires_at: row.get(5)?,
        revoked_at: row.get(6)?,
    })
}

fn to_sql_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Creates the database file with mode 0600, or narrows an existing one to
/// it: it holds token hashes, descriptions and who created what, and SQLite
/// would create it with the umask's 0644. SQLite gives its `-wal` and `-shm`
/// files the database file's mode.
fn private_file(path: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let mode = f.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!("{path} was readable by others (mode {mode:o}); narrowing it to 0600");
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path`; `":memory:"` is a
    /// private in-memory database.
    pub fn open(path: &str) -> StoreResult<Store> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            private_file(path).map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot create {path} with mode 0600: {e}")),
                )
            })?;
            let conn = Connection::open(path)?;
            // WAL + NORMAL: a committed transaction survives a crash or kill of
            // the process (what a restart test needs); only an OS crash or power
            // loss can lose the last commits.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        let store = self.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    pub fn insert(&self, record: &TokenRecord, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO management_tokens
             (id, description, token_prefix, token_hash, created_at, created_by, expires_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.id,
                record.description,
                record.token_prefix,
                &token_hash[..],
                record.created_at,
                record.created_by,
                record.expires_at,
                record.revoked_at,
            ],
        )?;
        Ok(())
    }

    pub fn get(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM management_tokens WHERE id = ?1"
            ))?
            .query_row([id], row_to_record)
            .optional()
    }

    pub fn get_by_hash(&self, token_hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM management_tokens WHERE token_hash = ?1"
            ))?
            .query_row([&token_hash[..]], row_to_record)
            .optional()
    }

    /// Sets `revoked_at` unless already set; returns the (possibly already
    /// revoked) record, or `None` if there is no such token.
    pub fn revoke(&self, id: &str, now: i64) -> StoreResult<Option<TokenRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE management_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        let record = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM management_tokens WHERE id = ?1"),
                [id],
                row_to_record,
            )
            .optional()?;
        tx.commit()?;
        Ok(record)
    }

    pub fn count(&self) -> StoreResult<u64> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM management_tokens", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// All tokens (revoked ones included) ordered by `created_at`, then `id`.
    pub fn list(&self) -> StoreResult<Vec<TokenRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM management_tokens ORDER BY created_at, id"
        ))?;
        stmt.query_map([], row_to_record)?.collect()
    }

    /// Serialises the list response (a JSON array) straight from the rows into
    /// one buffer, without building intermediate values.
    pub fn list_json(&self) -> StoreResult<Vec<u8>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM management_tokens ORDER BY created_at, id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::with_capacity(64 * 1024);
        out.push(b'[');
        let mut first = true;
        while let Some(row) = rows.next()? {
            if !first {
                out.push(b',');
            }
            first = false;
            let record = row_to_record(row)?;
            serde_json::to_writer(&mut out, &record)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        }
        out.push(b']');
        Ok(out)
    }

    // -- databases ----------------------------------------------------------

    /// Inserts `db`; `false` (and nothing changed) if the name is taken.
    pub fn insert_database(&self, db: &DatabaseRecord) -> StoreResult<bool> {
        let n = self.lock().execute(
            &format!(
                "INSERT INTO cluster_databases ({DATABASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO NOTHING"
            ),
            params![
                db.name,
                db.max_tables,
                db.max_columns_per_table,
                db.retention_period,
                db.partition_template,
                db.created_at,
            ],
        )?;
        Ok(n == 1)
    }

    pub fn get_database(&self, name: &str) -> StoreResult<Option<DatabaseRecord>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {DATABASE_COLUMNS} FROM cluster_databases WHERE name = ?1"
            ))?
            .query_row([name], row_to_database)
            .optional()
    }

    /// Every database, ordered by name.
    pub fn list_databases(&self) -> StoreResult<Vec<DatabaseRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DATABASE_COLUMNS} FROM cluster_databases ORDER BY name"
        ))?;
        stmt.query_map([], row_to_database)?.collect()
    }

    /// Changes the given settings; `None` if there is no such database.
    pub fn update_database(
        &self,
        name: &str,
        max_tables: Option<i64>,
        max_columns_per_table: Option<i64>,
        retention_period: Option<i64>,
    ) -> StoreResult<Option<DatabaseRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE cluster_databases SET
                 max_tables = COALESCE(?2, max_tables),
                 max_columns_per_table = COALESCE(?3, max_columns_per_table),
                 retention_period = COALESCE(?4, retention_period)
             WHERE name = ?1",
            params![name, max_tables, max_columns_per_table, retention_period],
        )?;
        let record = tx
            .query_row(
                &format!("SELECT {DATABASE_COLUMNS} FROM cluster_databases WHERE name = ?1"),
                [name],
                row_to_database,
            )
            .optional()?;
        tx.commit()?;
        Ok(record)
    }

    /// Deletes the database; `false` if there was none.
    pub fn delete_database(&self, name: &str) -> StoreResult<bool> {
        let n = self
            .lock()
            .execute("DELETE FROM cluster_databases WHERE name = ?1", [name])?;
        Ok(n == 1)
    }

    pub fn count_databases(&self) -> StoreResult<u64> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM cluster_databases", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    // -- database tokens ----------------------------------------------------

    pub fn insert_database_token(
        &self,
        record: &DatabaseTokenRecord,
        token_hash: &[u8; 64],
    ) -> StoreResult<()> {
        let permissions = serde_json::to_string(&record.permissions).map_err(to_sql_error)?;
        self.lock().execute(
            "INSERT INTO database_tokens
             (id, description, permissions, token_hash, created_at, created_by, expires_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.id,
                record.description,
                permissions,
                &token_hash[..],
                record.created_at,
                record.created_by,
                record.expires_at,
                record.revoked_at,
            ],
        )?;
        Ok(())
    }

    pub fn get_database_token(&self, id: &str) -> StoreResult<Option<DatabaseTokenRecord>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {DATABASE_TOKEN_COLUMNS} FROM database_tokens WHERE id = ?1"
            ))?
            .query_row([id], row_to_database_token)
            .optional()
    }

    pub fn get_database_token_by_hash(
        &self,
        token_hash: &[u8; 64],
    ) -> StoreResult<Option<DatabaseTokenRecord>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {DATABASE_TOKEN_COLUMNS} FROM database_tokens WHERE token_hash = ?1"
            ))?
            .query_row([&token_hash[..]], row_to_database_token)
            .optional()
    }

    /// Every database token (revoked ones included), by `created_at`, then `id`.
    pub fn list_database_tokens(&self) -> StoreResult<Vec<DatabaseTokenRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DATABASE_TOKEN_COLUMNS} FROM database_tokens ORDER BY created_at, id"
        ))?;
        stmt.query_map([], row_to_database_token)?.collect()
    }

    /// Changes the description and/or permissions of a token that is not
    /// revoked. Returns the record as it now is (unchanged, with `revoked_at`
    /// set, if it was revoked), or `None` if there is no such token.
    pub fn update_database_token(
        &self,
        id: &str,
        description: Option<&str>,
        permissions: Option<&[Permission]>,
    ) -> StoreResult<Option<DatabaseTokenRecord>> {
        let permissions = permissions
            .map(serde_json::to_string)
            .transpose()
            .map_err(to_sql_error)?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE database_tokens SET
                 description = COALESCE(?2, description),
                 permissions = COALESCE(?3, permissions)
             WHERE id = ?1 AND revoked_at IS NULL",
            params![id, description, permissions],
        )?;
        let record = tx
            .query_row(
                &format!("SELECT {DATABASE_TOKEN_COLUMNS} FROM database_tokens WHERE id = ?1"),
                [id],
                row_to_database_token,
            )
            .optional()?;
        tx.commit()?;
        Ok(record)
    }

    /// Sets `revoked_at` unless already set; returns the (possibly already
    /// revoked) record, or `None` if there is no such token.
    pub fn revoke_database_token(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<DatabaseTokenRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE database_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        let record = tx
            .query_row(
                &format!("SELECT {DATABASE_TOKEN_COLUMNS} FROM database_tokens WHERE id = ?1"),
                [id],
                row_to_database_token,
            )
            .optional()?;
        tx.commit()?;
        Ok(record)
    }

    pub fn count_database_tokens(&self) -> StoreResult<u64> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM database_tokens", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(all(test, unix))]
mod private_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn database_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.sqlite");
        let wide = dir.path().join("wide.sqlite");
        std::fs::write(&wide, b"").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
        for path in [&fresh, &wide] {
            let store = Store::open(path.to_str().unwrap()).unwrap();
            // A write makes SQLite create the -wal and -shm files.
            store.count().unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let f = format!("{}{suffix}", path.display());
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
    }
}
