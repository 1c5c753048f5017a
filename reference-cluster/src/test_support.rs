//! Helpers for the unit tests: an app driven with `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::app::app;
use crate::config::Config;
use crate::state::AppState;

/// An issuer nobody listens on: a JWT would get 503 (JWKS unavailable).
pub const ISSUER: &str = "http://127.0.0.1:9";

pub fn config() -> Config {
    Config::minimal(ISSUER, "https://cluster.example.test", &["admin"])
}

/// The placeholder ids InfluxData's own clients send to Clustered.
pub const ONES: &str = "11111111-1111-1111-1111-111111111111";

pub fn long(path: &str) -> String {
    format!("/api/v0/accounts/{ONES}/clusters/{ONES}{path}")
}

pub struct TestApp {
    pub state: Arc<AppState>,
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    pub fn new(config: Config) -> TestApp {
        let state = AppState::new(config).expect("state");
        TestApp {
            router: app(state.clone()),
            state,
        }
    }

    /// A management token (issued directly, whatever the switch says).
    pub async fn management_token(&self) -> String {
        self.state
            .issue_management_token("test admin".into(), None, "test".into())
            .await
            .expect("management token")
            .1
    }

    /// Sends a request; `auth` is the whole `Authorization` value.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        auth: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends with `Authorization: Bearer TOKEN` and a JSON body.
    pub async fn call(&self, method: &str, uri: &str, token: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.send(
            method,
            uri,
            Some(&format!("Bearer {token}")),
            body.as_deref(),
        )
        .await
    }
}

impl TestApp {
    /// An app for `config` and a management token for it.
    pub async fn with_admin(config: Config) -> (TestApp, String) {
        let app = TestApp::new(config);
        let token = app.management_token().await;
        (app, token)
    }

    /// `PATCH` with `Authorization: Bearer TOKEN` and a JSON body.
    pub async fn patch(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call("PATCH", uri, token, Some(body)).await
    }

    /// `POST` of a JSON text without a credential (the test-control routes).
    pub async fn post_text(&self, uri: &str, body: &str) -> Reply {
        self.send("POST", uri, None, Some(body)).await
    }

    /// `POST` with `Authorization: Bearer TOKEN` and a JSON body.
    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call("POST", uri, token, Some(body)).await
    }

    /// Creates a database token described `description` with `permissions`
    /// (documented API, short path form) as the holder of the management
    /// token `mgmt`; panics unless that succeeds.
    pub async fn database_token(&self, mgmt: &str, description: &str, permissions: Value) -> Reply {
        let body = serde_json::json!({"description": description, "permissions": permissions});
        let r = self.post("/api/v0/tokens", mgmt, body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r
    }
}

impl Reply {
    /// The string member `key` of the body (panics if there is none).
    pub fn str(&self, key: &str) -> String {
        match self.body[key].as_str() {
            Some(s) => s.to_string(),
            None => panic!("no string {key:?} in {}", self.text),
        }
    }
}

/// `path` in the long form (`long_form`) or the short one (`/api/v0…`).
pub fn form(long_form: bool, path: &str) -> String {
    if long_form {
        long(path)
    } else {
        format!("/api/v0{path}")
    }
}

/// Asserts an error reply: `{code: <status>, message: "..."}`.
pub fn assert_error(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
    assert_eq!(r.body["code"], status, "{what}: {}", r.text);
    assert!(
        r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        r.text
    );
}

/// Whether `v` is an RFC 3339 date-time string.
pub fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .and_then(crate::token::parse_rfc3339_micros)
        .is_some()
}
