//! SQLite storage of management tokens. Only the SHA-256 hash of a token is
//! stored, next to its metadata; revocations therefore survive a restart.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::ser::SerializeStruct;

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

impl Store {
    /// Opens (creating if needed) the database at `path`; `":memory:"` is a
    /// private in-memory database.
    pub fn open(path: &str) -> StoreResult<Store> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
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
}
