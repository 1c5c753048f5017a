//! Per-request plumbing: the one extractor of the Management API handlers
//! (`Call`: path parameters plus the authenticated caller), the access
//! log's slot for who called, and the connection abort of the
//! `drop_after_create` fault.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, StatusCode};
use axum::response::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::{AppState, lock};
use crate::store::{Scope, Scoped};

/// Lets a handler tell the access log who the caller was.
#[derive(Clone, Default)]
pub struct LogSlot(Arc<Mutex<Option<String>>>);

impl LogSlot {
    pub(crate) fn set(&self, who: String) {
        *lock(&self.0) = Some(who);
    }
    pub(crate) fn get(&self) -> String {
        lock(&self.0).clone().unwrap_or_else(|| "-".to_string())
    }
    /// The slot the access log put into a request (a detached one without it).
    pub(crate) fn of(extensions: &Extensions) -> LogSlot {
        extensions.get::<LogSlot>().cloned().unwrap_or_default()
    }
}

/// Inserted by the server into each request: closes the connection it came
/// on, without a response (used by the `drop_after_create` fault).
#[derive(Clone)]
pub struct ConnectionAbort(pub Arc<tokio::sync::Notify>);

/// An authenticated Management API request: the state, who is calling, the
/// path parameters, and the `(accountId, clusterId)` of a long-form path.
///
/// `ANY_IDS` says what a long-form path may name when `[dedicated]` is not
/// configured: any ids on the documented API (Clustered, whose own clients
/// send InfluxData's placeholder ids), none on ours (our long form is Cloud
/// Dedicated's). With `[dedicated]` only its ids are accepted either way.
pub(crate) struct Call<const ANY_IDS: bool> {
    pub state: Arc<AppState>,
    pub principal: Principal,
    pub params: HashMap<String, String>,
    pub ids: Option<(String, String)>,
    method: Method,
    path: String,
    abort: Option<ConnectionAbort>,
}

/// A request to our management-token routes.
pub(crate) type ManagementCall = Call<false>;
/// A request to InfluxData's documented Management API.
pub(crate) type DocumentedCall = Call<true>;

impl<const ANY_IDS: bool> FromRequestParts<Arc<AppState>> for Call<ANY_IDS> {
    type Rejection = ApiError;

    /// Path parameters (400), then the credential (401/403/503), then the
    /// ids of a long-form path (404): in that order, so that an
    /// unauthenticated caller cannot tell valid ids from invalid ones.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(m)| m)
            .map_err(|e| ApiError::bad_request(format!("invalid path: {}", e.body_text())))?;
        let principal = state.authority().principal(&parts.headers).await?;
        LogSlot::of(&parts.extensions).set(principal.describe());
        let ids = match (params.get("account_id"), params.get("cluster_id")) {
            (Some(a), Some(c)) => Some((a.clone(), c.clone())),
            _ => None,
        };
        if let Some((account, cluster)) = &ids {
            let known = match &state.config.dedicated {
                Some(d) => d.account_id == *account && d.cluster_id == *cluster,
                None => ANY_IDS,
            };
            if !known {
                return Err(ApiError::not_found(format!(
                    "cluster {cluster:?} of account {account:?} not found"
                )));
            }
        }
        Ok(Call {
            state: state.clone(),
            principal,
            params,
            ids,
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            abort: parts.extensions.get::<ConnectionAbort>().cloned(),
        })
    }
}

impl<const ANY_IDS: bool> Call<ANY_IDS> {
    /// The path parameter `name` ("" when the route has none).
    pub(crate) fn param(&self, name: &str) -> String {
        self.params.get(name).cloned().unwrap_or_default()
    }

    /// `record` as served to this call: with the scope objects carry when
    /// served through the long form.
    pub(crate) fn scoped<'a, R>(&'a self, record: &'a R) -> Scoped<'a, R> {
        let scope = self.ids.as_ref().map(|(a, c)| Scope {
            account_id: a,
            cluster_id: c,
        });
        Scoped { scope, record }
    }

    /// The caller, for logs.
    pub(crate) fn who(&self) -> String {
        self.principal.describe()
    }

    /// Applies the `drop_after_create` fault to a create that has been
    /// committed: closes the request's connection without a response (never
    /// returns), or without a connection to close (in-process use) returns a
    /// `status` head whose body fails at once. `None` when the fault is not
    /// armed.
    pub(crate) async fn drop_after_create(&self, status: StatusCode) -> Option<Response> {
        if !self.state.take_fault(|f| &mut f.drop_after_create) {
            return None;
        }
        if let Some(abort) = &self.abort {
            tracing::warn!(
                "fault: dropping the connection of {} {} after commit",
                self.method,
                self.path
            );
            abort.0.notify_one();
            std::future::pending::<()>().await;
        }
        Some(
            Response::builder()
                .status(status)
                .body(Body::new(FailingBody))
                .unwrap_or_default(),
        )
    }
}

/// A response body that fails at once (in-process fallback of `drop_after_create`).
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped (fault)",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Dedicated;
    use crate::test_support::{TestApp, assert_error, config, long};
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn management_api_credentials() {
        let (app, m) = TestApp::with_admin(config()).await;
        let read_all = json!([{"action": "read", "resource": "*"}]);
        let r = app.database_token(&m, "d", read_all).await;
        let database_token = r.str("accessToken");
        let (revoked_record, revoked) = app
            .state
            .issue_management_token("old".into(), None, "test".into())
            .await
            .unwrap();
        let id = revoked_record.id.clone();
        app.state
            .store
            .run(move |s| s.revoke::<crate::store::TokenRecord>(&id, 1))
            .await
            .unwrap();

        // (Authorization, status, words of the message).
        let cases = [
            (None, 401, "missing"),
            (Some("Basic YWRtaW46YWRtaW4=".to_string()), 401, "Bearer"),
            (Some(format!("Token {m}")), 401, "Bearer"),
            (
                Some(format!("Bearer {database_token}")),
                401,
                "database token",
            ),
            (Some(format!("Bearer {revoked}")), 401, "revoked"),
            (Some("Bearer M.V1.unknown".to_string()), 401, "unknown"),
            (Some(format!("Bearer {m}")), 200, ""),
            (Some(format!("bearer {m}")), 200, ""),
        ];
        for uri in [
            "/api/v0/databases",
            "/api/v0/tokens",
            &long("/tokens"),
            "/api/v0/management/tokens",
        ] {
            for (auth, status, needle) in &cases {
                let r = app.send("GET", uri, auth.as_deref(), None).await;
                assert_eq!(r.status.as_u16(), *status, "{uri} {auth:?}: {}", r.text);
                if *status == 401 {
                    assert_error(&r, 401, uri);
                    assert!(r.text.contains(needle), "{uri} {auth:?}: {}", r.text);
                    assert!(r.headers.contains_key("www-authenticate"), "{uri} {auth:?}");
                }
            }
        }
        // Anything else that looks like a JWT goes to the identity provider
        // (unreachable here: 503), unlike the database token above.
        // (Header `{"alg":"ES256","typ":"at+jwt"}`: an access token's type.)
        let jwt = "Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln";
        let r = app.send("GET", "/api/v0/tokens", Some(jwt), None).await;
        assert_error(&r, 503, "JWT with the IdP down");
    }

    #[tokio::test]
    async fn the_credential_is_checked_before_the_dedicated_ids() {
        let mut c = config();
        c.dedicated = Some(Dedicated {
            account_id: "acc".into(),
            cluster_id: "clu".into(),
        });
        let (app, m) = TestApp::with_admin(c).await;
        let r = app
            .post(
                "/api/v0/accounts/acc/clusters/clu/databases",
                &m,
                json!({"name": "db"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            (&r.body["accountId"], &r.body["clusterId"]),
            (&json!("acc"), &json!("clu"))
        );
        for (uri, auth, status) in [
            (
                "/api/v0/accounts/acc/clusters/clu/tokens",
                Some(m.as_str()),
                200,
            ),
            (
                "/api/v0/accounts/acc/clusters/other/tokens",
                Some(m.as_str()),
                404,
            ),
            (
                "/api/v0/accounts/other/clusters/clu/databases",
                Some(m.as_str()),
                404,
            ),
            // Without a credential, known and unknown ids look the same.
            ("/api/v0/accounts/other/clusters/clu/databases", None, 401),
            ("/api/v0/accounts/acc/clusters/clu/databases", None, 401),
            ("/api/v0/databases", Some(m.as_str()), 200),
        ] {
            let auth = auth.map(|t| format!("Bearer {t}"));
            let r = app.send("GET", uri, auth.as_deref(), None).await;
            assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.text);
        }
        // Same store through both forms; only the long form carries the ids.
        let r = app.call("GET", "/api/v0/databases", &m, None).await;
        assert_eq!(
            r.body,
            json!([{"name": "db", "maxTables": 500, "maxColumnsPerTable": 200, "retentionPeriod": 0}])
        );
    }
}
