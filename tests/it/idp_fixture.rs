//! Smoke tests of the IdP fixture (tests/idp) over plain HTTP, independent of
//! the CLI: a device authorization grant end to end, approved and denied.
//! The fixture is started with `enforce_interval(0)`, so each poll may come
//! at once: the tests decide, then poll, and never wait for the clock.

use serde_json::Value;

use crate::support::{DEFAULT_AUDIENCE, Idp};

fn idp() -> Idp {
    Idp::builder().interval(1).enforce_interval(0).start()
}

/// Starts a device authorization (checking discovery on the way).
fn start_device_flow(idp: &Idp) -> Value {
    let discovery = idp.discovery();
    assert_eq!(discovery["issuer"], idp.issuer());
    assert!(
        discovery["device_authorization_endpoint"].is_string(),
        "{discovery}"
    );
    assert_eq!(idp.audience(), DEFAULT_AUDIENCE);
    idp.device_authorization("openid offline_access")
}

#[test]
fn approved_device_flow_issues_tokens() {
    let idp = idp();
    let device = start_device_flow(&idp);
    let user_code = device["user_code"].as_str().unwrap();
    assert_eq!(device["interval"], 1);
    assert!(
        idp.pending_user_codes().iter().any(|c| c == user_code),
        "user code not pending: {}",
        idp.stats()
    );
    let (status, pending) = idp.poll_token(&device);
    assert_eq!(status, 400, "{pending}");
    assert_eq!(pending["error"], "authorization_pending", "{pending}");

    idp.approve(user_code, "admin");
    let (status, tokens) = idp.poll_token(&device);

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
    assert_eq!(stats["token_device_code"], 2, "stats: {stats}");
    assert_eq!(stats["slow_down"], 0, "stats: {stats}");

    idp.reset_stats();
    assert_eq!(idp.stat("device_authorization"), 0);
}

#[test]
fn denied_device_flow_returns_access_denied() {
    let idp = idp();
    let device = start_device_flow(&idp);
    idp.deny(device["user_code"].as_str().unwrap(), "admin");

    let (status, body) = idp.poll_token(&device);
    assert_eq!(status, 400, "token response: {body}");
    assert_eq!(body["error"], "access_denied", "token response: {body}");
}

#[test]
fn forced_slow_down_answers_the_next_polls() {
    let idp = idp();
    let device = start_device_flow(&idp);
    idp.force_slow_down(2);
    for _ in 0..2 {
        let (status, body) = idp.poll_token(&device);
        assert_eq!(
            (status, &body["error"]),
            (400, &"slow_down".into()),
            "{body}"
        );
    }
    let (_, body) = idp.poll_token(&device);
    assert_eq!(body["error"], "authorization_pending", "{body}");
    assert_eq!(idp.stat("slow_down"), 2);
}

#[test]
fn approving_an_unknown_user_code_fails() {
    let idp = Idp::start();
    let err = idp.try_approve("NOPE-NOPE", "admin").unwrap_err();
    assert!(err.contains("500"), "unexpected error: {err}");
}
