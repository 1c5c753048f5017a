//! Smoke tests of the IdP fixture (tests/idp) over plain HTTP, independent of
//! the CLI: a device authorization grant end to end, approved and denied.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::{DEFAULT_AUDIENCE, Idp};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Starts a device authorization; returns (discovery, device authorization response).
fn start_device_flow(idp: &Idp) -> (Value, Value) {
    let discovery = idp.discovery();
    assert_eq!(discovery["issuer"], idp.issuer());
    let endpoint = discovery["device_authorization_endpoint"]
        .as_str()
        .unwrap_or_else(|| panic!("no device_authorization_endpoint: {discovery}"));
    let resp = idp
        .http()
        .post(endpoint)
        .form(&[
            ("client_id", "influx-bootstrap"),
            ("scope", "openid offline_access"),
            ("resource", DEFAULT_AUDIENCE),
        ])
        .send()
        .expect("POST device authorization");
    let status = resp.status();
    let body: Value = resp.json().expect("device authorization JSON");
    assert!(
        status.is_success(),
        "device authorization: HTTP {status}: {body}"
    );
    for field in ["device_code", "user_code", "verification_uri", "expires_in"] {
        assert!(!body[field].is_null(), "missing {field}: {body}");
    }
    (discovery, body)
}

/// Polls the token endpoint (waiting `interval` before each poll, as the
/// protocol requires; the fixture answers `slow_down` to earlier polls) until it
/// answers something other than `authorization_pending` / `slow_down`.
/// Returns (HTTP status, body).
fn poll_token(idp: &Idp, discovery: &Value, device: &Value) -> (u16, Value) {
    let endpoint = discovery["token_endpoint"]
        .as_str()
        .expect("token_endpoint");
    let device_code = device["device_code"].as_str().expect("device_code");
    let mut interval = Duration::from_secs(device["interval"].as_u64().unwrap_or(5));
    for _ in 0..10 {
        std::thread::sleep(interval);
        let resp = idp
            .http()
            .post(endpoint)
            .form(&[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", "influx-bootstrap"),
            ])
            .send()
            .expect("POST token");
        let status = resp.status().as_u16();
        let body: Value = resp.json().expect("token response JSON");
        match body["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += Duration::from_secs(5),
            _ => return (status, body),
        }
    }
    panic!("token endpoint still answers authorization_pending after 10 polls");
}

#[test]
fn approved_device_flow_issues_tokens() {
    let idp = Idp::builder().interval(1).start();
    let (discovery, device) = start_device_flow(&idp);
    let user_code = device["user_code"].as_str().unwrap();
    assert_eq!(device["interval"], 1);
    assert!(
        idp.pending_user_codes().iter().any(|c| c == user_code),
        "user code not pending: {}",
        idp.stats()
    );

    idp.approve(user_code, "admin");
    let (status, tokens) = poll_token(&idp, &discovery, &device);

    assert_eq!(status, 200, "token response: {tokens}");
    for field in ["access_token", "refresh_token", "id_token"] {
        assert!(tokens[field].is_string(), "missing {field}: {tokens}");
    }
    assert_eq!(
        tokens["token_type"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
    let stats = idp.stats();
    assert_eq!(stats["device_authorization"], 1, "stats: {stats}");
    assert!(
        stats["token_device_code"].as_u64() >= Some(1),
        "stats: {stats}"
    );

    idp.reset_stats();
    assert_eq!(idp.stat("device_authorization"), 0);
}

#[test]
fn denied_device_flow_returns_access_denied() {
    let idp = Idp::builder().interval(1).start();
    let (discovery, device) = start_device_flow(&idp);
    idp.deny(device["user_code"].as_str().unwrap(), "admin");

    let (status, body) = poll_token(&idp, &discovery, &device);
    assert_eq!(status, 400, "token response: {body}");
    assert_eq!(body["error"], "access_denied", "token response: {body}");
}

#[test]
fn approving_an_unknown_user_code_fails() {
    let idp = Idp::start();
    let err = idp.try_approve("NOPE-NOPE", "admin").unwrap_err();
    assert!(err.contains("500"), "unexpected error: {err}");
}
