//! Database tokens of the documented Management API: list, create, get,
//! update (description and permissions) and revoke.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;

use super::fields::{
    description_field, expires_at_field, permissions_field, token_id, token_not_found,
};
use super::{MAX_BODY, view};
use crate::error::{ApiError, json_ok, no_content, read_object};
use crate::request::DocumentedCall;
use crate::store::{DatabaseTokenRecord, DatabaseTokenView};
use crate::token;

/// The token object as served (never with the secret).
fn shown<'a>(call: &'a DocumentedCall, record: &'a DatabaseTokenRecord) -> DatabaseTokenView<'a> {
    DatabaseTokenView {
        token: call.scoped(record),
        access_token: None,
    }
}

pub(crate) async fn list(call: DocumentedCall) -> Result<Response, ApiError> {
    let records = (call.state)
        .db("listing database tokens", |s| {
            s.list::<DatabaseTokenRecord>()
        })
        .await?;
    json_ok(&view(&records, |r| shown(&call, r)))
}

pub(crate) async fn create(call: DocumentedCall, body: Body) -> Result<Response, ApiError> {
    let obj = read_object(body, MAX_BODY).await?;
    let description =
        description_field(&obj)?.ok_or_else(|| ApiError::bad_request("description is required"))?;
    let permissions = permissions_field(&obj)?.unwrap_or_default();
    let now = token::now_micros();
    let expires_at = expires_at_field(&obj, now)?;
    let access_token = token::generate_database_token();
    let record = DatabaseTokenRecord {
        id: token::new_uuid_v4(),
        description,
        permissions,
        created_at: now,
        created_by: call.principal.created_by(),
        expires_at,
        revoked_at: None,
    };
    let hash = token::hash_database_token(&access_token);
    let rec = record.clone();
    (call.state)
        .db("storing the database token", move |s| s.insert(&rec, &hash))
        .await?;
    tracing::info!(id = %record.id, created_by = %record.created_by, "database token created");
    if let Some(dropped) = call.drop_after_create(StatusCode::OK).await {
        return Ok(dropped);
    }
    json_ok(&DatabaseTokenView {
        access_token: Some(&access_token),
        ..shown(&call, &record)
    })
}

pub(crate) async fn get(call: DocumentedCall) -> Result<Response, ApiError> {
    let id = token_id(call.param("id"))?;
    let record = (call.state)
        .found(
            "reading the database token",
            &id,
            token_not_found,
            |s, id| s.get::<DatabaseTokenRecord>(id),
        )
        .await?;
    json_ok(&shown(&call, &record))
}

pub(crate) async fn update(call: DocumentedCall, body: Body) -> Result<Response, ApiError> {
    let id = token_id(call.param("id"))?;
    let obj = read_object(body, MAX_BODY).await?;
    if obj.contains_key("expiresAt") {
        return Err(ApiError::bad_request(
            "expiresAt of a database token cannot be changed",
        ));
    }
    let description = description_field(&obj)?;
    let permissions = permissions_field(&obj)?;
    if description.is_none() && permissions.is_none() {
        return Err(ApiError::bad_request("give description and/or permissions"));
    }
    let record = (call.state)
        .found(
            "updating the database token",
            &id,
            token_not_found,
            move |s, id| {
                s.update_database_token(id, description.as_deref(), permissions.as_deref())
            },
        )
        .await?;
    if record.revoked_at.is_some() {
        return Err(ApiError::conflict(format!(
            "database token {id:?} has been revoked"
        )));
    }
    tracing::info!(id = %record.id, by = %call.who(), "database token updated");
    json_ok(&shown(&call, &record))
}

pub(crate) async fn revoke(call: DocumentedCall) -> Result<Response, ApiError> {
    let id = token_id(call.param("id"))?;
    let now = token::now_micros();
    let record = (call.state)
        .found(
            "revoking the database token",
            &id,
            token_not_found,
            move |s, id| s.revoke::<DatabaseTokenRecord>(id, now),
        )
        .await?;
    tracing::info!(id = %record.id, by = %call.who(), "database token revoked");
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use crate::store::DatabaseTokenRecord;
    use crate::test_support::{ONES, TestApp, assert_error, config, form, is_rfc3339};
    use crate::token;
    use axum::http::StatusCode;
    use serde_json::{Value, json};

    #[tokio::test]
    async fn database_token_lifecycle_in_both_path_forms() {
        for long_form in [false, true] {
            let (app, m) = TestApp::with_admin(config()).await;
            let p = |path: &str| form(long_form, path);
            let perms = json!([
                {"action": "read", "resource": "db1"},
                {"action": "write", "resource": "*"}
            ]);

            let r = app
                .post(
                    &p("/tokens"),
                    &m,
                    json!({"description": "telegraf", "permissions": perms}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let created = r.body.clone();
            let id = created["id"].as_str().unwrap().to_string();
            let by_id = p(&format!("/tokens/{id}"));
            assert!(token::is_uuid(&id));
            assert_eq!(created["description"], "telegraf");
            assert_eq!(created["permissions"], perms);
            assert!(is_rfc3339(&created["createdAt"]));
            assert!(created.get("expiresAt").is_none() && created.get("revokedAt").is_none());
            let secret = created["accessToken"].as_str().unwrap().to_string();
            assert!(
                secret.starts_with("apiv1_") && secret.len() >= 64,
                "{secret}"
            );
            if long_form {
                assert_eq!(
                    (&created["accountId"], &created["clusterId"]),
                    (&json!(ONES), &json!(ONES))
                );
            } else {
                assert!(created.get("accountId").is_none() && created.get("clusterId").is_none());
            }
            let mut listed = created.clone();
            listed.as_object_mut().unwrap().remove("accessToken");

            // Stored only as SHA-512.
            let hash = token::hash_database_token(&secret);
            let found = app
                .state
                .store
                .run(move |s| s.get_by_hash::<DatabaseTokenRecord>(&hash))
                .await
                .unwrap();
            assert_eq!(found.map(|t| t.id), Some(id.clone()));

            // A token without permissions, expiring.
            let r = app
                .post(
                    &p("/tokens"),
                    &m,
                    json!({"description": "", "expiresAt": "2999-01-02T03:04:05+01:00"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["permissions"], json!([]));
            assert_eq!(r.body["expiresAt"], "2999-01-02T02:04:05Z");
            let second = r.str("id");

            let r = app.call("GET", &p("/tokens"), &m, None).await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(r.body.as_array().unwrap().len(), 2);
            assert_eq!(r.body[0], listed);
            assert!(!r.text.contains("apiv1_"), "list never shows a secret");

            let r = app.call("GET", &by_id, &m, None).await;
            assert_eq!((r.status, &r.body), (StatusCode::OK, &listed));

            // PATCH description and/or permissions.
            let r = app
                .patch(&by_id, &m, json!({"description": "grafana"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            listed["description"] = json!("grafana");
            assert_eq!(r.body, listed);
            let r = app.patch(&by_id, &m, json!({"permissions": []})).await;
            listed["permissions"] = json!([]);
            assert_eq!(r.body, listed);
            let r = app
                .patch(
                    &p(&format!("/tokens/{second}")),
                    &m,
                    json!({"expiresAt": "2999-01-01T00:00:00Z"}),
                )
                .await;
            assert_error(&r, 400, "expiresAt cannot change");

            // Revoke: 204, twice too; the token stays listed with revokedAt.
            for _ in 0..2 {
                let r = app.call("DELETE", &by_id, &m, None).await;
                assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
                assert!(r.text.is_empty());
            }
            let r = app.call("GET", &by_id, &m, None).await;
            assert!(is_rfc3339(&r.body["revokedAt"]), "{}", r.text);
            let revoked_at = r.body["revokedAt"].clone();
            let r = app.call("GET", &p("/tokens"), &m, None).await;
            assert_eq!(
                r.body[0]["revokedAt"], revoked_at,
                "revoking twice keeps the first time"
            );
            let r = app.patch(&by_id, &m, json!({"description": "x"})).await;
            assert_error(&r, 409, "PATCH revoked");

            let unknown = "00000000-0000-4000-8000-000000000000";
            for (method, body) in [
                ("GET", None),
                ("DELETE", None),
                ("PATCH", Some(json!({"description": "x"}))),
            ] {
                let r = app
                    .call(method, &p(&format!("/tokens/{unknown}")), &m, body)
                    .await;
                assert_error(&r, 404, method);
                let r = app.call(method, &p("/tokens/not-a-uuid"), &m, None).await;
                assert_error(&r, 400, method);
            }
        }
    }

    #[tokio::test]
    async fn bad_database_token_requests_are_400() {
        let (app, m) = TestApp::with_admin(config()).await;
        let cases = [
            json!({}),
            json!({"description": 5}),
            json!({"description": "d", "permissions": {"action": "read", "resource": "db"}}),
            json!({"description": "d", "permissions": [{"action": "admin", "resource": "db"}]}),
            json!({"description": "d", "permissions": [{"action": "Read", "resource": "db"}]}),
            json!({"description": "d", "permissions": [{"action": "read"}]}),
            json!({"description": "d", "permissions": [{"action": "read", "resource": ""}]}),
            json!({"description": "d", "permissions": [{"action": "read", "resource": "a b"}]}),
            json!({"description": "d", "permissions": ["read:db"]}),
            json!({"description": "d", "expiresAt": "2000-01-01T00:00:00Z"}),
            json!({"description": "d", "expiresAt": "tomorrow"}),
            json!({"description": "d", "expiresAt": 4_102_444_800_i64}),
        ];
        for body in cases {
            let r = app.post("/api/v0/tokens", &m, body.clone()).await;
            assert_error(&r, 400, &body.to_string());
        }
        let r = app.call("GET", "/api/v0/tokens", &m, None).await;
        assert_eq!(r.body, json!([]), "nothing was created");

        let r = app
            .post("/api/v0/tokens", &m, json!({"description": "d"}))
            .await;
        let id = r.str("id");
        for body in [
            json!({}),
            json!({"unknown": 1}),
            json!({"description": 1}),
            json!({"permissions": [{"action": "delete", "resource": "*"}]}),
            json!({"description": "x", "expiresAt": null}),
        ] {
            let r = app
                .patch(&format!("/api/v0/tokens/{id}"), &m, body.clone())
                .await;
            assert_error(&r, 400, &body.to_string());
        }
    }

    #[tokio::test]
    async fn dropped_create_closes_the_connection_and_the_token_exists() {
        let mut c = config();
        c.faults.drop_after_create = 1;
        c.management_tokens = false;
        let server = crate::start(c).await.unwrap();
        let (_, m) = server
            .state()
            .issue_management_token("admin".into(), None, "test".into())
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let url = format!(
            "{}/api/v0/accounts/{ONES}/clusters/{ONES}/tokens",
            server.url()
        );
        let err = http
            .post(&url)
            .bearer_auth(&m)
            .json(&json!({"description": "lost"}))
            .send()
            .await
            .expect_err("no response");
        assert!(
            err.is_request() || err.is_connect() || err.is_body(),
            "{err:?}"
        );
        let list: Value = http
            .get(&url)
            .bearer_auth(&m)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["description"], "lost");
        assert!(list[0].get("revokedAt").is_none());
        server.shutdown().await;
    }
}
