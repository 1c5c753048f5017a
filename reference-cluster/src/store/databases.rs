//! The databases of the documented Management API.

use rusqlite::{OptionalExtension, params};

use super::{DatabaseRecord, Store, StoreResult};

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

impl Store {
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
        let sql = format!("SELECT {DATABASE_COLUMNS} FROM cluster_databases ORDER BY name");
        self.rows(&sql, [], row_to_database)
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
        self.count_of("cluster_databases", [])
    }
}
