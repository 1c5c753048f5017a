//! The reference cluster's SQLite database (`reference-cluster/src/store/`),
//! edited behind the running server's back.
//!
//! The server reads a token's row on every request, so a changed row takes
//! effect at once. This is how tests reach states that would otherwise take
//! waiting for the wall clock (a token that has expired, one revoked at a
//! known time) without depending on how fast the machine is.
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

/// Microseconds since the Unix epoch, as the cluster stores times.
pub fn now_micros() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_micros()).expect("time fits in i64 µs")
}

/// The database file of a running (or stopped) reference cluster.
#[derive(Debug, Clone)]
pub struct ClusterDb {
    path: PathBuf,
}

impl ClusterDb {
    /// `path` is the cluster's `database` setting (a file, not `:memory:`).
    pub fn new(path: impl AsRef<Path>) -> ClusterDb {
        let path = path.as_ref().to_path_buf();
        assert!(
            path.is_file(),
            "{} is not a database file (an in-memory cluster cannot be edited from outside)",
            path.display()
        );
        ClusterDb { path }
    }

    /// Sets `column` of the token `id` (of either kind: both live in the
    /// one `tokens` table).
    fn update(&self, column: &str, id: &str, value: i64) {
        let sql = &format!("UPDATE tokens SET {column} = ?2 WHERE id = ?1");
        let conn = Connection::open(&self.path)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.path.display()));
        // The server holds the file open in WAL mode; wait for its writes.
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        let rows = conn
            .execute(sql, params![id, value])
            .unwrap_or_else(|e| panic!("{sql} in {}: {e}", self.path.display()));
        assert_eq!(rows, 1, "no token {id:?} in {}", self.path.display());
    }

    /// Sets the token's `expires_at` (µs since the epoch).
    pub fn set_expires_at(&self, id: &str, micros: i64) {
        self.update("expires_at", id, micros);
    }

    /// Makes the token expired: its expiry becomes one second ago.
    pub fn expire(&self, id: &str) {
        self.set_expires_at(id, now_micros() - 1_000_000);
    }

    /// Sets the token's `revoked_at` (µs since the epoch).
    pub fn set_revoked_at(&self, id: &str, micros: i64) {
        self.update("revoked_at", id, micros);
    }
}
