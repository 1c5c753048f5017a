//! SQLite storage of management tokens, databases and database tokens. Only a
//! hash of a token is stored (SHA-256 for management tokens, SHA-512 for
//! database tokens), next to its metadata; revocations therefore survive a
//! restart. Both kinds of token live in one table (`tokens.rs`).

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

mod databases;
mod records;
mod tokens;

pub use records::*;
pub use tokens::TokenKind;

pub type StoreResult<T> = Result<T, rusqlite::Error>;

/// A single SQLite connection behind a mutex. Call it from blocking threads
/// (see [`Store::run`]).
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('management', 'database')),
    description  TEXT NOT NULL,
    token_prefix TEXT,                   -- management tokens: the start shown
    permissions  TEXT,                   -- database tokens: JSON array of {action, resource}
    token_hash   BLOB NOT NULL UNIQUE,   -- SHA-256 (management) or SHA-512 (database) of the token
    created_at   INTEGER NOT NULL,       -- microseconds since the Unix epoch (UTC)
    created_by   TEXT NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_created ON tokens (kind, created_at, id);
CREATE TABLE IF NOT EXISTS cluster_databases (
    name                  TEXT PRIMARY KEY NOT NULL,
    max_tables            INTEGER NOT NULL,
    max_columns_per_table INTEGER NOT NULL,
    retention_period      INTEGER NOT NULL,  -- nanoseconds, 0 = infinite
    partition_template    TEXT,              -- JSON as given at creation
    created_at            INTEGER NOT NULL
);
";

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
        tokens::migrate(&conn)?;
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

    /// The rows of `sql` (with `params`) as records.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(sql)?;
        stmt.query_map(params, row)?.collect()
    }

    /// `SELECT COUNT(*)` of `table` (with an optional `WHERE`).
    fn count_of(&self, from: &str, params: impl rusqlite::Params) -> StoreResult<u64> {
        let n: i64 =
            self.lock()
                .query_row(&format!("SELECT COUNT(*) FROM {from}"), params, |r| {
                    r.get(0)
                })?;
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
            store.count::<TokenRecord>().unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let f = format!("{}{suffix}", path.display());
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
    }
}
