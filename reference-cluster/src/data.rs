//! The minimal data path: proves a database token's permissions and stores
//! nothing.
//!
//! * `GET /query?db=DB` needs `read` on `DB` (or `*`) and answers 200 with an
//!   empty InfluxQL result, `{"results":[{"statement_id":0}]}`.
//! * `POST /api/v2/write?bucket=DB` and `POST /write?db=DB` need `write` and
//!   answer 204; the body is read and discarded.
//!
//! The credential is `Authorization: Bearer apiv1_…` or `Authorization:
//! Token apiv1_…`. Checks, in order: a usable database token (401 when
//! missing, unknown, revoked or expired; management tokens and JWTs are
//! unknown here), the database parameter (400), the permission (403), the
//! database's existence (404).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::error::{ApiError, json_response};
use crate::request::LogSlot;
use crate::state::AppState;

/// Body of a successful query: one statement, no series.
pub const EMPTY_QUERY_RESULT: &str = r#"{"results":[{"statement_id":0}]}"#;
/// Largest write body read (and discarded).
const MAX_WRITE_BODY: usize = 16 * 1024 * 1024;

/// The value of query parameter `name`, percent-decoded (`+` is a space).
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Authenticates, then checks that the token may do `action` on the database
/// named by query parameter `param`, and that the database exists.
async fn authorize(
    state: &AppState,
    req: &Parts,
    action: &str,
    param: &str,
) -> Result<(), ApiError> {
    let slot = LogSlot::of(&req.extensions);
    let record = auth::database_token(&state.store, &req.headers, |id| {
        slot.set(format!("database-token:{id}"))
    })
    .await?;
    state.activation.check(
        crate::activation::Kind::Database,
        record.created_at,
        crate::token::now_micros(),
    )?;
    let database = query_param(&req.uri, param)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("query parameter {param} is required")))?;
    if !record.allows(action, &database) {
        return Err(ApiError::forbidden(format!(
            "token has no {action} permission on database {database:?}"
        )));
    }
    let lookup = database.clone();
    let exists = state
        .db("database lookup", move |s| s.get_database(&lookup))
        .await?
        .is_some();
    if !exists {
        return Err(ApiError::not_found(format!(
            "database {database:?} not found"
        )));
    }
    Ok(())
}

pub(crate) async fn query(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    authorize(&state, &parts, "read", "db").await?;
    Ok(json_response(StatusCode::OK, EMPTY_QUERY_RESULT))
}

async fn write(state: &AppState, req: Request, param: &str) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    authorize(state, &parts, "write", param).await?;
    axum::body::to_bytes(body, MAX_WRITE_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read request body: {e}")))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn write_v2(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    write(&state, req, "bucket").await
}

pub(crate) async fn write_v1(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    write(&state, req, "db").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DatabaseTokenRecord, Permission};
    use crate::test_support::{TestApp, assert_error, config};
    use crate::token;
    use serde_json::{Value, json};

    #[test]
    fn query_parameters_are_decoded() {
        let cases = [
            ("/query?db=metrics", "db", Some("metrics")),
            ("/query?q=SELECT+1&db=a%2Fb", "db", Some("a/b")),
            ("/query?db=", "db", Some("")),
            ("/query?db", "db", Some("")),
            ("/query?dbx=1&xdb=2", "db", None),
            ("/query", "db", None),
            (
                "/api/v2/write?org=o&bucket=b%5F1&precision=s",
                "bucket",
                Some("b_1"),
            ),
            ("/write?db=%zz%4", "db", Some("%zz%4")),
            ("/write?d%62=x", "db", Some("x")),
        ];
        for (uri, name, want) in cases {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(query_param(&uri, name).as_deref(), want, "{uri} {name}");
        }
    }

    #[tokio::test]
    async fn database_tokens_are_checked_on_the_data_path() {
        let (app, m) = TestApp::with_admin(config()).await;
        for name in ["db1", "db2", "a/b"] {
            let r = app
                .post("/api/v0/databases", &m, json!({"name": name}))
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
        let mut tokens = std::collections::HashMap::new();
        for (label, perms) in [
            ("read-db1", json!([{"action": "read", "resource": "db1"}])),
            ("write-db1", json!([{"action": "write", "resource": "db1"}])),
            ("read-all", json!([{"action": "read", "resource": "*"}])),
            ("write-all", json!([{"action": "write", "resource": "*"}])),
            (
                "rw-ab",
                json!([{"action": "read", "resource": "a/b"}, {"action": "write", "resource": "a/b"}]),
            ),
            ("none", json!([])),
            ("revoked", json!([{"action": "read", "resource": "*"}])),
        ] {
            let r = app.database_token(&m, label, perms).await;
            tokens.insert(label, (r.str("id"), r.str("accessToken")));
        }
        let revoked_id = &tokens["revoked"].0;
        assert_eq!(
            app.call("DELETE", &format!("/api/v0/tokens/{revoked_id}"), &m, None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        // Expired: the API refuses a past expiresAt, so store one directly.
        let expired = token::generate_database_token();
        let record = DatabaseTokenRecord {
            id: token::new_uuid_v4(),
            description: "expired".into(),
            permissions: vec![Permission {
                action: "read".into(),
                resource: "*".into(),
            }],
            created_at: 1,
            created_by: "test".into(),
            expires_at: Some(2),
            revoked_at: None,
        };
        let hash = token::hash_database_token(&expired);
        app.state
            .store
            .run(move |s| s.insert(&record, &hash))
            .await
            .unwrap();

        // The Authorization header values of the cases below.
        let tok = |label: &str| Some(format!("Bearer {}", tokens[label].1));
        let scheme_token = Some(format!("Token {}", tokens["read-db1"].1));
        let v1_scheme_token = Some(format!("Token {}", tokens["rw-ab"].1));
        let expired = Some(format!("Bearer {expired}"));
        let unknown = Some(format!("Bearer apiv1_{}", "x".repeat(86)));
        let basic = Some(format!("Basic {}", tokens["read-db1"].1));
        let jwt_shaped = Some("Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_string());
        let cases: Vec<(&str, &str, Option<String>, u16)> = vec![
            // read
            ("GET", "/query?db=db1&q=SELECT+1", tok("read-db1"), 200),
            ("GET", "/query?db=db1", scheme_token, 200),
            ("GET", "/query?db=db2", tok("read-db1"), 403),
            ("GET", "/query?db=db1", tok("write-db1"), 403),
            ("GET", "/query?db=db2", tok("read-all"), 200),
            ("GET", "/query?db=a%2Fb", tok("rw-ab"), 200),
            ("GET", "/query?db=db1", tok("none"), 403),
            ("GET", "/query?db=missing", tok("read-all"), 404),
            ("GET", "/query?db=missing", tok("read-db1"), 403),
            ("GET", "/query", tok("read-all"), 400),
            ("GET", "/query?db=", tok("read-all"), 400),
            // write, v2 and v1
            (
                "POST",
                "/api/v2/write?org=o&bucket=db1",
                tok("write-db1"),
                204,
            ),
            ("POST", "/api/v2/write?bucket=db2", tok("write-all"), 204),
            ("POST", "/api/v2/write?bucket=db1", tok("read-db1"), 403),
            ("POST", "/api/v2/write?bucket=db2", tok("write-db1"), 403),
            ("POST", "/api/v2/write?db=db1", tok("write-db1"), 400),
            ("POST", "/write?db=db1", tok("write-db1"), 204),
            ("POST", "/write?db=a%2Fb", v1_scheme_token, 204),
            ("POST", "/write?db=db1", tok("read-all"), 403),
            ("POST", "/write?db=missing", tok("write-all"), 404),
            // credentials
            ("GET", "/query?db=db1", None, 401),
            ("GET", "/query?db=db1", tok("revoked"), 401),
            ("GET", "/query?db=db1", expired, 401),
            ("GET", "/query?db=db1", unknown, 401),
            ("GET", "/query?db=db1", Some(format!("Bearer {m}")), 401),
            ("POST", "/write?db=db1", Some(format!("Token {m}")), 401),
            ("GET", "/query?db=db1", basic, 401),
            ("POST", "/write?db=db1", jwt_shaped, 401),
        ];
        for (method, uri, auth, status) in &cases {
            let body = (*method == "POST").then_some("cpu,host=a usage=1 1");
            let r = app.send(method, uri, auth.as_deref(), body).await;
            let what = format!("{method} {uri} {auth:?}");
            match status {
                200 => {
                    assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
                    assert_eq!(r.text, EMPTY_QUERY_RESULT, "{what}");
                }
                204 => {
                    assert_eq!(r.status, StatusCode::NO_CONTENT, "{what}: {}", r.text);
                    assert!(r.text.is_empty(), "{what}");
                }
                s => assert_error(&r, *s, &what),
            }
        }
        // Nothing was stored, and no JWKS was fetched for the JWT-looking one.
        assert_eq!(app.state.verifier.jwks_fetches(), 0);
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(r.body.as_array().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_deleted_database_or_a_patched_token_changes_the_answer() {
        let (app, m) = TestApp::with_admin(config()).await;
        app.post("/api/v0/databases", &m, json!({"name": "db"}))
            .await;
        let write_db = json!([{"action": "write", "resource": "db"}]);
        let r = app.database_token(&m, "d", write_db).await;
        let (id, secret) = (r.str("id"), r.str("accessToken"));
        let auth = format!("Bearer {secret}");
        let token = format!("/api/v0/tokens/{id}");
        let write = || app.send("POST", "/write?db=db", Some(&auth), Some("m f=1"));
        let permit =
            |permissions: Value| app.patch(&token, &m, json!({ "permissions": permissions }));
        assert_eq!(write().await.status, StatusCode::NO_CONTENT);
        permit(json!([{"action": "read", "resource": "db"}])).await;
        assert_eq!(write().await.status, StatusCode::FORBIDDEN);
        permit(json!([{"action": "write", "resource": "*"}])).await;
        assert_eq!(write().await.status, StatusCode::NO_CONTENT);
        app.call("DELETE", "/api/v0/databases/db", &m, None).await;
        assert_eq!(write().await.status, StatusCode::NOT_FOUND);
        app.call("DELETE", &token, &m, None).await;
        assert_eq!(write().await.status, StatusCode::UNAUTHORIZED);
    }
}
