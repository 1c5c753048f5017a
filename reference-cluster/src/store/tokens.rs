//! The one token table: management tokens ([`TokenRecord`]) and database
//! tokens ([`DatabaseTokenRecord`]) in the rows of `tokens`, told apart by
//! `kind`, with one set of queries for both.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{DatabaseTokenRecord, Permission, Store, StoreResult, TokenRecord};

/// Every column, in the order [`TokenKind::from_row`] reads them.
const COLUMNS: &str =
    "id, description, token_prefix, permissions, created_at, created_by, expires_at, revoked_at";

/// What the two kinds of token share.
pub struct Common<'a> {
    pub id: &'a str,
    pub description: &'a str,
    pub created_at: i64,
    pub created_by: &'a str,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The [`Common`] of a record: both kinds name these fields alike.
macro_rules! common {
    ($r:expr) => {
        Common {
            id: &$r.id,
            description: &$r.description,
            created_at: $r.created_at,
            created_by: &$r.created_by,
            expires_at: $r.expires_at,
            revoked_at: $r.revoked_at,
        }
    };
}

/// A kind of token kept in the token table.
pub trait TokenKind: Sized + Send + 'static {
    /// Its `kind` column.
    const KIND: &'static str;
    /// The columns both kinds have.
    fn common(&self) -> Common<'_>;
    /// The columns only this kind fills: (`token_prefix`, `permissions`).
    fn own_columns(&self) -> StoreResult<(Option<&str>, Option<String>)>;
    /// A record from a row of `COLUMNS`.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;

    /// Whether the token may still authenticate at `now` (µs).
    fn is_usable(&self, now: i64) -> bool {
        let c = self.common();
        c.revoked_at.is_none() && c.expires_at.is_none_or(|e| now < e)
    }
}

impl TokenKind for TokenRecord {
    const KIND: &'static str = "management";
    fn common(&self) -> Common<'_> {
        common!(self)
    }
    fn own_columns(&self) -> StoreResult<(Option<&str>, Option<String>)> {
        Ok((Some(&self.token_prefix), None))
    }
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(TokenRecord {
            id: row.get(0)?,
            description: row.get(1)?,
            token_prefix: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            created_at: row.get(4)?,
            created_by: row.get(5)?,
            expires_at: row.get(6)?,
            revoked_at: row.get(7)?,
        })
    }
}

impl TokenKind for DatabaseTokenRecord {
    const KIND: &'static str = "database";
    fn common(&self) -> Common<'_> {
        common!(self)
    }
    fn own_columns(&self) -> StoreResult<(Option<&str>, Option<String>)> {
        let permissions = serde_json::to_string(&self.permissions).map_err(to_sql_error)?;
        Ok((None, Some(permissions)))
    }
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let permissions: Option<String> = row.get(3)?;
        Ok(DatabaseTokenRecord {
            id: row.get(0)?,
            description: row.get(1)?,
            permissions: serde_json::from_str(permissions.as_deref().unwrap_or("[]")).map_err(
                |e| {
                    let text = rusqlite::types::Type::Text;
                    rusqlite::Error::FromSqlConversionFailure(3, text, Box::new(e))
                },
            )?,
            created_at: row.get(4)?,
            created_by: row.get(5)?,
            expires_at: row.get(6)?,
            revoked_at: row.get(7)?,
        })
    }
}

fn to_sql_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Moves the rows of the two tables of earlier versions
/// (`management_tokens`, `database_tokens`) into `tokens`, once.
pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    for (table, kind, prefix, permissions) in [
        ("management_tokens", "management", "token_prefix", "NULL"),
        ("database_tokens", "database", "NULL", "permissions"),
    ] {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |r| r.get(0),
        )?;
        if exists {
            conn.execute_batch(&format!(
                "BEGIN;
                 INSERT OR IGNORE INTO tokens ({COLUMNS}, kind, token_hash)
                 SELECT id, description, {prefix}, {permissions}, created_at, created_by,
                        expires_at, revoked_at, '{kind}', token_hash FROM {table};
                 DROP TABLE {table};
                 COMMIT;"
            ))?;
        }
    }
    Ok(())
}

impl Store {
    /// Stores a new token of kind `K` by its hash.
    pub fn insert<K: TokenKind>(&self, record: &K, token_hash: &[u8]) -> StoreResult<()> {
        let c = record.common();
        let (prefix, permissions) = record.own_columns()?;
        self.lock().execute(
            &format!(
                "INSERT INTO tokens ({COLUMNS}, kind, token_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                c.id,
                c.description,
                prefix,
                permissions,
                c.created_at,
                c.created_by,
                c.expires_at,
                c.revoked_at,
                K::KIND,
                token_hash,
            ],
        )?;
        Ok(())
    }

    /// The one token of kind `K` where `column` is `value`.
    fn one<K: TokenKind>(
        &self,
        column: &str,
        value: &dyn rusqlite::ToSql,
    ) -> StoreResult<Option<K>> {
        self.lock()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tokens WHERE {column} = ?1 AND kind = ?2"
            ))?
            .query_row(params![value, K::KIND], K::from_row)
            .optional()
    }

    pub fn get<K: TokenKind>(&self, id: &str) -> StoreResult<Option<K>> {
        self.one("id", &id)
    }

    pub fn get_by_hash<K: TokenKind>(&self, token_hash: &[u8]) -> StoreResult<Option<K>> {
        self.one("token_hash", &token_hash)
    }

    /// Runs `change` (an `UPDATE tokens … WHERE id = ?1 AND kind = ?2 …`)
    /// and reads the record back, in one transaction; `None` if there is no
    /// such token.
    fn change<K: TokenKind>(
        &self,
        id: &str,
        change: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Option<K>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&id, &K::KIND];
        all.extend_from_slice(values);
        tx.execute(change, all.as_slice())?;
        let record = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1 AND kind = ?2"),
                params![id, K::KIND],
                K::from_row,
            )
            .optional()?;
        tx.commit()?;
        Ok(record)
    }

    /// Sets `revoked_at` unless already set; returns the (possibly already
    /// revoked) record, or `None` if there is no such token.
    pub fn revoke<K: TokenKind>(&self, id: &str, now: i64) -> StoreResult<Option<K>> {
        self.change(
            id,
            "UPDATE tokens SET revoked_at = ?3 WHERE id = ?1 AND kind = ?2 AND revoked_at IS NULL",
            &[&now],
        )
    }

    /// Changes the description and/or permissions of a database token that
    /// is not revoked. Returns the record as it now is (unchanged, with
    /// `revoked_at` set, if it was revoked), or `None` if there is no such
    /// token.
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
        self.change(
            id,
            "UPDATE tokens SET
                 description = COALESCE(?3, description),
                 permissions = COALESCE(?4, permissions)
             WHERE id = ?1 AND kind = ?2 AND revoked_at IS NULL",
            &[&description, &permissions],
        )
    }

    pub fn count<K: TokenKind>(&self) -> StoreResult<u64> {
        self.count_of("tokens WHERE kind = ?1", [K::KIND])
    }

    /// Every token of kind `K` (revoked ones included) ordered by
    /// `created_at`, then `id`.
    pub fn list<K: TokenKind>(&self) -> StoreResult<Vec<K>> {
        self.rows(&list_sql(), [K::KIND], K::from_row)
    }

    /// Serialises the list response (a JSON array) straight from the rows into
    /// one buffer, without building intermediate values.
    pub fn list_json<K: TokenKind + serde::Serialize>(&self) -> StoreResult<Vec<u8>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&list_sql())?;
        let mut rows = stmt.query([K::KIND])?;
        let mut out = Vec::with_capacity(64 * 1024);
        out.push(b'[');
        let mut first = true;
        while let Some(row) = rows.next()? {
            if !first {
                out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut out, &K::from_row(row)?).map_err(to_sql_error)?;
        }
        out.push(b']');
        Ok(out)
    }
}

fn list_sql() -> String {
    format!("SELECT {COLUMNS} FROM tokens WHERE kind = ?1 ORDER BY created_at, id")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn management(id: &str) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            description: "m".into(),
            token_prefix: "M.V1.abcdef".into(),
            created_at: 1,
            created_by: "admin".into(),
            expires_at: None,
            revoked_at: None,
        }
    }

    fn database(id: &str) -> DatabaseTokenRecord {
        DatabaseTokenRecord {
            id: id.into(),
            description: "d".into(),
            permissions: vec![Permission {
                action: "read".into(),
                resource: "*".into(),
            }],
            created_at: 2,
            created_by: "admin".into(),
            expires_at: Some(3),
            revoked_at: None,
        }
    }

    /// One table, two kinds: neither is ever read as the other.
    #[test]
    fn the_kinds_share_the_table_and_stay_apart() {
        let s = Store::open(":memory:").unwrap();
        s.insert(&management("m1"), &[1; 32]).unwrap();
        s.insert(&database("d1"), &[2; 64]).unwrap();
        assert_eq!(s.get::<TokenRecord>("m1").unwrap(), Some(management("m1")));
        assert_eq!(s.get::<DatabaseTokenRecord>("m1").unwrap(), None);
        assert_eq!(s.get::<TokenRecord>("d1").unwrap(), None);
        assert_eq!(
            s.get_by_hash::<DatabaseTokenRecord>(&[2; 64]).unwrap(),
            Some(database("d1"))
        );
        assert_eq!(s.get_by_hash::<TokenRecord>(&[2; 64]).unwrap(), None);
        assert_eq!(s.revoke::<DatabaseTokenRecord>("m1", 9).unwrap(), None);
        assert_eq!(
            s.get::<TokenRecord>("m1").unwrap().unwrap().revoked_at,
            None
        );
        assert_eq!(
            (
                s.count::<TokenRecord>().unwrap(),
                s.count::<DatabaseTokenRecord>().unwrap()
            ),
            (1, 1)
        );
        assert_eq!(s.list::<TokenRecord>().unwrap(), vec![management("m1")]);
        let json: serde_json::Value =
            serde_json::from_slice(&s.list_json::<TokenRecord>().unwrap()).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
        assert!(
            s.update_database_token("m1", Some("x"), None)
                .unwrap()
                .is_none()
        );
    }

    /// A database file of an earlier version, with one table per kind, is
    /// moved into the token table when opened.
    #[test]
    fn tables_of_earlier_versions_are_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE management_tokens (id TEXT PRIMARY KEY NOT NULL, description TEXT NOT NULL,
                 token_prefix TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL,
                 created_by TEXT NOT NULL, expires_at INTEGER, revoked_at INTEGER);
             CREATE TABLE database_tokens (id TEXT PRIMARY KEY NOT NULL, description TEXT NOT NULL,
                 permissions TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL,
                 created_by TEXT NOT NULL, expires_at INTEGER, revoked_at INTEGER);
             INSERT INTO management_tokens VALUES ('m1', 'm', 'M.V1.abcdef', x'01', 1, 'admin', NULL, NULL);
             INSERT INTO database_tokens VALUES ('d1', 'd', '[{\"action\":\"read\",\"resource\":\"*\"}]',
                 x'02', 2, 'admin', 3, NULL);",
        )
        .unwrap();
        drop(old);
        for _ in 0..2 {
            // Twice: the second open finds nothing left to move.
            let s = Store::open(path.to_str().unwrap()).unwrap();
            assert_eq!(
                s.get_by_hash::<TokenRecord>(&[1]).unwrap(),
                Some(management("m1"))
            );
            assert_eq!(
                s.get_by_hash::<DatabaseTokenRecord>(&[2]).unwrap(),
                Some(database("d1"))
            );
            let tables: i64 = s
                .lock()
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%\\_tokens' ESCAPE '\\'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 0, "the old tables are gone");
        }
    }
}
