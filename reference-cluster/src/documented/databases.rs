//! Databases of the documented Management API: list, create, update, delete.

use axum::body::Body;
use axum::response::Response;
use serde_json::Value;

use super::fields::{
    check_database_name, database_not_found, database_settings, partition_template,
};
use super::{MAX_BODY, view};
use crate::error::{ApiError, json_ok, no_content, read_object};
use crate::request::DocumentedCall;
use crate::store::DatabaseRecord;
use crate::token;

/// Default `maxTables` of a new database.
pub const DEFAULT_MAX_TABLES: i64 = 500;
/// Default `maxColumnsPerTable` of a new database.
pub const DEFAULT_MAX_COLUMNS_PER_TABLE: i64 = 200;

pub(crate) async fn list(call: DocumentedCall) -> Result<Response, ApiError> {
    let records = (call.state)
        .db("listing databases", |s| s.list_databases())
        .await?;
    json_ok(&view(&records, |r| call.scoped(r)))
}

pub(crate) async fn create(call: DocumentedCall, body: Body) -> Result<Response, ApiError> {
    let obj = read_object(body, MAX_BODY).await?;
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
        None => return Err(ApiError::bad_request("name is required")),
    };
    check_database_name(&name).map_err(ApiError::bad_request)?;
    let settings = database_settings(&obj)?;
    let record = DatabaseRecord {
        name,
        max_tables: settings.max_tables.unwrap_or(DEFAULT_MAX_TABLES),
        max_columns_per_table: settings
            .max_columns_per_table
            .unwrap_or(DEFAULT_MAX_COLUMNS_PER_TABLE),
        retention_period: settings.retention_period.unwrap_or(0),
        partition_template: partition_template(&obj)?,
        created_at: token::now_micros(),
    };
    let rec = record.clone();
    let created = (call.state)
        .db("storing the database", move |s| s.insert_database(&rec))
        .await?;
    if !created {
        return Err(ApiError::conflict(format!(
            "database {:?} already exists",
            record.name
        )));
    }
    tracing::info!(name = %record.name, by = %call.who(), "database created");
    json_ok(&call.scoped(&record))
}

pub(crate) async fn update(call: DocumentedCall, body: Body) -> Result<Response, ApiError> {
    let name = call.param("name");
    let obj = read_object(body, MAX_BODY).await?;
    for fixed in ["name", "partitionTemplate"] {
        if obj.contains_key(fixed) {
            return Err(ApiError::bad_request(format!(
                "{fixed} of a database cannot be changed"
            )));
        }
    }
    let settings = database_settings(&obj)?;
    if settings.max_tables.is_none()
        && settings.max_columns_per_table.is_none()
        && settings.retention_period.is_none()
    {
        return Err(ApiError::bad_request(
            "give at least one of maxTables, maxColumnsPerTable, retentionPeriod",
        ));
    }
    let record = (call.state)
        .found(
            "updating the database",
            &name,
            database_not_found,
            move |s, name| {
                s.update_database(
                    name,
                    settings.max_tables,
                    settings.max_columns_per_table,
                    settings.retention_period,
                )
            },
        )
        .await?;
    tracing::info!(name = %record.name, by = %call.who(), "database updated");
    json_ok(&call.scoped(&record))
}

pub(crate) async fn delete(call: DocumentedCall) -> Result<Response, ApiError> {
    let name = call.param("name");
    let lookup = name.clone();
    let deleted = (call.state)
        .db("deleting the database", move |s| s.delete_database(&lookup))
        .await?;
    if !deleted {
        return Err(database_not_found(&name));
    }
    tracing::info!(name = %name, by = %call.who(), "database deleted");
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use crate::test_support::{ONES, TestApp, assert_error, config, form};
    use axum::http::StatusCode;
    use serde_json::{Value, json};

    #[tokio::test]
    async fn database_lifecycle_in_both_path_forms() {
        for long_form in [false, true] {
            let (app, m) = TestApp::with_admin(config()).await;
            let p = |path: &str| form(long_form, path);
            let scoped = |mut v: Value| {
                if long_form {
                    v["accountId"] = json!(ONES);
                    v["clusterId"] = json!(ONES);
                }
                v
            };

            let r = app
                .post(&p("/databases"), &m, json!({"name": "metrics"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let defaults = scoped(json!({
                "name": "metrics", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0
            }));
            assert_eq!(r.body, defaults);

            let all = json!({
                "name": "a/b-c_1", "maxTables": 3, "maxColumnsPerTable": 4,
                "retentionPeriod": 2_592_000_000_000_000_i64,
                "partitionTemplate": [{"type": "time", "value": "%Y"}]
            });
            let r = app.post(&p("/databases"), &m, all.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body, scoped(all.clone()));

            let r = app
                .post(&p("/databases"), &m, json!({"name": "metrics"}))
                .await;
            assert_error(&r, 409, "create twice");

            let r = app.call("GET", &p("/databases"), &m, None).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.body, json!([scoped(all.clone()), defaults.clone()]));

            // PATCH changes only what it names; '/' in a name is percent-encoded.
            let r = app
                .patch(
                    &p("/databases/a%2Fb-c_1"),
                    &m,
                    json!({"retentionPeriod": 0}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let mut patched = scoped(all.clone());
            patched["retentionPeriod"] = json!(0);
            assert_eq!(r.body, patched);
            let r = app
                .patch(
                    &p("/databases/metrics"),
                    &m,
                    json!({"maxTables": 7, "maxColumnsPerTable": 8, "retentionPeriod": 9}),
                )
                .await;
            assert_eq!(
                r.body,
                scoped(
                    json!({"name": "metrics", "maxTables": 7, "maxColumnsPerTable": 8, "retentionPeriod": 9})
                )
            );
            let r = app
                .patch(&p("/databases/nothing"), &m, json!({"maxTables": 1}))
                .await;
            assert_error(&r, 404, "PATCH unknown");

            let r = app.call("DELETE", &p("/databases/metrics"), &m, None).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            assert!(r.text.is_empty());
            let r = app.call("DELETE", &p("/databases/metrics"), &m, None).await;
            assert_error(&r, 404, "DELETE twice");
            let r = app.call("GET", &p("/databases"), &m, None).await;
            assert_eq!(r.body, json!([patched]));
            // The name is free again.
            let r = app
                .post(&p("/databases"), &m, json!({"name": "metrics"}))
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }

    #[tokio::test]
    async fn bad_database_requests_are_400() {
        let (app, m) = TestApp::with_admin(config()).await;
        app.post("/api/v0/databases", &m, json!({"name": "db"}))
            .await;
        let name65 = "x".repeat(65);
        let cases: Vec<(&str, &str, String)> = vec![
            ("POST", "/api/v0/databases", "{}".into()),
            ("POST", "/api/v0/databases", "not json".into()),
            ("POST", "/api/v0/databases", "[]".into()),
            ("POST", "/api/v0/databases", json!({"name": 5}).to_string()),
            ("POST", "/api/v0/databases", json!({"name": ""}).to_string()),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": name65}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "a b"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "a.b"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": 0}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": "5"}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxTables": 1.5}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "maxColumnsPerTable": 2_147_483_648_i64}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "retentionPeriod": -1}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "partitionTemplate": []}).to_string(),
            ),
            (
                "POST",
                "/api/v0/databases",
                json!({"name": "n", "partitionTemplate": [{"type": "month", "value": "x"}]})
                    .to_string(),
            ),
            ("PATCH", "/api/v0/databases/db", "{}".into()),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"maxTables": 0}).to_string(),
            ),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"name": "other"}).to_string(),
            ),
            (
                "PATCH",
                "/api/v0/databases/db",
                json!({"partitionTemplate": [{"type": "time", "value": "%Y"}]}).to_string(),
            ),
        ];
        for (method, uri, body) in &cases {
            let r = app
                .send(method, uri, Some(&format!("Bearer {m}")), Some(body))
                .await;
            assert_error(&r, 400, &format!("{method} {uri} {body}"));
        }
        // Nothing was created or changed.
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(
            r.body,
            json!([{"name": "db", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0}])
        );
        // The longest name is fine.
        let r = app
            .post("/api/v0/databases", &m, json!({"name": "y".repeat(64)}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}
