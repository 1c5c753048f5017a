//! A test-only stand-in for the **private** management-token API of a stock
//! cluster (InfluxData serves it over gRPC; its one public client is
//! `influxctl`). The stand-in `influxctl` of the tests
//! (`tests/idp/influxctl-standin.mjs`) talks to these routes; influx-bootstrap
//! never does. They are served only with `faults.test_control = true`, and
//! also when `management_tokens = false` (that is their point: a cluster whose
//! management tokens exist only behind "influxctl").
//!
//! The tokens live in the same store as the ones our API issues, so they are
//! `M.V1.` tokens the documented Management API accepts as management tokens.
//! Authentication is the same as our API's (a person's OAuth access token
//! with admin rights, or a management token).
use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, post};

use crate::error::method_not_allowed;
use crate::management;
pub use crate::routes::PRIVATE_PREFIX as PREFIX;
use crate::state::AppState;

/// The private routes: create (`POST`), list (`GET`), revoke (`DELETE …/{id}`),
/// with the request and response bodies of our management-token API.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            PREFIX,
            post(management::create_token)
                .get(management::list_tokens)
                .fallback(method_not_allowed),
        )
        .route(
            "/__test/private/management/tokens/{id}",
            delete(management::revoke_token).fallback(method_not_allowed),
        )
}

#[cfg(test)]
mod tests {
    use crate::test_support::{TestApp, config};
    use axum::http::StatusCode;

    #[tokio::test]
    async fn private_routes_play_influxctl_s_api_only_under_test_control() {
        // (test_control, status of an unauthenticated list)
        for (test_control, want) in [
            (true, StatusCode::UNAUTHORIZED),
            (false, StatusCode::NOT_FOUND),
        ] {
            let mut c = config();
            c.management_tokens = false;
            c.faults.test_control = test_control;
            let app = TestApp::new(c);
            let r = app.send("GET", super::PREFIX, None, None).await;
            assert_eq!(r.status, want, "test_control={test_control}: {}", r.text);
        }

        let mut c = config();
        c.management_tokens = false;
        c.faults.test_control = true;
        let (app, admin) = TestApp::with_admin(c).await;
        let r = app
            .post(
                super::PREFIX,
                &admin,
                serde_json::json!({"description": "ci"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let (id, m) = (r.str("id"), r.str("accessToken"));
        assert!(m.starts_with("M.V1.") && m.len() > 40, "{m}");
        // The documented API takes it as a management token.
        assert_eq!(
            app.call("GET", "/api/v0/databases", &m, None).await.status,
            StatusCode::OK
        );
        let list = app.call("GET", super::PREFIX, &m, None).await;
        assert!(list.text.contains(&id), "{}", list.text);
        let path = format!("{}/{id}", super::PREFIX);
        let r = app.call("DELETE", &path, &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.body["revokedAt"].is_string(), "{}", r.text);
        assert_eq!(
            app.call("GET", "/api/v0/databases", &m, None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}
