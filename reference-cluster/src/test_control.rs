//! Test-control routes, served only with `faults.test_control = true`; not
//! part of the published API: set faults, read counters, issue a management
//! token without a credential, and the private routes of [`crate::private`].

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::config::Faults;
use crate::error::{ApiError, json_ok, json_with, method_not_allowed, read_object};
use crate::management::parse_create;
use crate::state::AppState;
use crate::store::{CreatedToken, DatabaseTokenRecord, TokenRecord};

/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// The test-control routes (see [`crate::routes::TEST_ROUTES`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/__test/faults",
            post(set_faults).fallback(method_not_allowed),
        )
        .route("/__test/stats", get(stats).fallback(method_not_allowed))
        .route(
            "/__test/management-tokens",
            post(issue_management_token).fallback(method_not_allowed),
        )
        .merge(crate::private::routes())
        .merge(crate::activation::routes())
}

/// Body of `POST /__test/faults`; omitted fields are left unchanged.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsUpdate {
    fail_next: Option<u64>,
    fail_status: Option<u16>,
    retry_after: Option<u64>,
    drop_after_create: Option<u64>,
}

#[derive(Serialize)]
struct FaultsView {
    fail_next: u64,
    fail_status: u16,
    retry_after: u64,
    drop_after_create: u64,
}

impl From<Faults> for FaultsView {
    fn from(f: Faults) -> Self {
        FaultsView {
            fail_next: f.fail_next,
            fail_status: f.fail_status,
            retry_after: f.retry_after,
            drop_after_create: f.drop_after_create,
        }
    }
}

async fn set_faults(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let update: FaultsUpdate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("bad faults body: {e}")))?;
    if let Some(s) = update.fail_status
        && !matches!(s, 429 | 500 | 502 | 503 | 504)
    {
        return Err(ApiError::bad_request(
            "fail_status must be 429, 500, 502, 503 or 504",
        ));
    }
    let faults = state.update_faults(|f| {
        let fields = [
            (&mut f.fail_next, update.fail_next),
            (&mut f.retry_after, update.retry_after),
            (&mut f.drop_after_create, update.drop_after_create),
        ];
        for (field, value) in fields {
            if let Some(v) = value {
                *field = v;
            }
        }
        if let Some(v) = update.fail_status {
            f.fail_status = v;
        }
    });
    json_ok(&FaultsView::from(faults))
}

/// `POST /__test/management-tokens` `{"description", "expiresAt"?}`: issues a
/// management token without any credential, even with `management_tokens =
/// false` (how a test gives a "stock" cluster an admin's management token).
/// Answers 201 with the management-token object plus `accessToken`.
async fn issue_management_token(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Response, ApiError> {
    let request = parse_create(&read_object(body, MAX_BODY).await?)?;
    request.check_future()?;
    let (record, access_token) = state
        .issue_management_token(request.description, request.expires_at, "test".into())
        .await
        .map_err(|e| ApiError::internal("storing the token", e))?;
    let created = CreatedToken {
        record: &record,
        access_token: &access_token,
    };
    json_with(StatusCode::CREATED, &created)
}

async fn stats(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let (tokens, databases, database_tokens) = state
        .db("counting tokens", |s| {
            let tokens = s.count::<TokenRecord>()?;
            Ok((
                tokens,
                s.count_databases()?,
                s.count::<DatabaseTokenRecord>()?,
            ))
        })
        .await?;
    json_ok(&serde_json::json!({
        "requests": state.request_counts(),
        "tokens": tokens,
        "databases": databases,
        "database_tokens": database_tokens,
        "idempotency_records": state.idempotency.live(),
        "jwks_fetches": state.verifier.jwks_fetches(),
        "faults": FaultsView::from(state.faults()),
    }))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{TestApp, assert_error, config};
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn faults_apply_to_the_token_create_route() {
        let mut c = config();
        c.faults.test_control = true;
        let (app, m) = TestApp::with_admin(c).await;
        let create = json!({"description": "d"});

        // fail_next: 503 + Retry-After before anything happens.
        let r = app
            .post_text("/__test/faults", r#"{"fail_next": 1, "retry_after": 7}"#)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app.post("/api/v0/tokens", &m, create.clone()).await;
        assert_error(&r, 503, "fail_next");
        assert_eq!(r.headers["retry-after"], "7");

        // drop_after_create: committed, but the response body fails.
        app.post_text("/__test/faults", r#"{"drop_after_create": 1}"#)
            .await;
        let req = axum::http::Request::post("/api/v0/tokens")
            .header("authorization", format!("Bearer {m}"))
            .body(axum::body::Body::from(create.to_string()))
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .is_err()
        );

        let r = app.post("/api/v0/tokens", &m, create.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "the fault was used up");

        let r = app.send("GET", "/__test/stats", None, None).await;
        assert_eq!(r.body["requests"]["POST /api/v0/tokens"], 3, "{}", r.text);
        assert_eq!(r.body["database_tokens"], 2, "{}", r.text);
        assert_eq!(r.body["databases"], 0);
        assert_eq!(r.body["faults"]["drop_after_create"], 0);
        assert_eq!(r.body["faults"]["fail_next"], 0);
    }

    #[tokio::test]
    async fn test_route_issues_management_tokens_with_the_switch_off() {
        let mut c = config();
        c.management_tokens = false;
        c.faults.test_control = true;
        let app = TestApp::new(c);
        let r = app
            .post_text("/__test/management-tokens", r#"{"description": "ci"}"#)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let m = r.str("accessToken");
        assert!(m.starts_with("M.V1."));
        assert_eq!(
            app.call("GET", "/api/v0/tokens", &m, None).await.status,
            StatusCode::OK
        );
        assert_error(
            &app.call("GET", "/api/v0/management/tokens", &m, None).await,
            404,
            "switched off",
        );
        let r = app
            .post_text("/__test/management-tokens", r#"{"description": ""}"#)
            .await;
        assert_error(&r, 400, "empty description");
    }
}
