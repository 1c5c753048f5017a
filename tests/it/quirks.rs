//! Provider quirks a real provider will not produce, served by a hand-written
//! fixture (tests/it/support/canned.rs), through the real binary.

use crate::support;

use serde_json::{Value, json};
use support::canned::{Canned, Reply, Request, provider};
use support::{ProfileToml, TestEnv};

fn device_ok(extra: Value) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |_| {
        let mut v = json!({
            "device_code": "dc-secret-device-code",
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://idp.example.test/device",
            "expires_in": 60,
            "interval": 1,
        });
        for (k, val) in extra.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        Reply::json(200, v)
    }
}

/// An unsigned JWT-shaped access token carrying a subject (display only).
fn fake_jwt(sub: &str) -> String {
    use base64::Engine as _;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        e.encode(r#"{"alg":"RS256"}"#),
        e.encode(json!({"sub": sub, "email": "g@example.test"}).to_string())
    )
}

fn tokens() -> Reply {
    Reply::json(
        200,
        json!({"access_token": fake_jwt("google-user"), "token_type": "Bearer", "expires_in": 3600}),
    )
}

fn env_for(c: &Canned) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    env
}

fn login(env: &TestEnv) -> support::Output {
    env.run(["login", "--format", "json", "--browser", "never"])
}

#[test]
fn google_verification_url_and_no_complete_uri() {
    let c = provider(
        device_ok(
            json!({"verification_url": "https://www.google.com/device", "verification_uri": null, "interval": null}),
        ),
        |_, n| {
            if n == 0 {
                Reply::json(428, json!({"error": "authorization_pending"}))
            } else {
                tokens()
            }
        },
    );
    let env = env_for(&c);
    // interval absent: the RFC default of 5 s applies, so this takes ~10 s.
    let out = login(&env);
    out.assert_success();
    let ev = &out.stdout_json_lines()[0];
    assert_eq!(ev["verification_uri"], "https://www.google.com/device");
    assert!(ev["verification_uri_complete"].is_null());
    assert_eq!(ev["interval"], 5);
    // No ID token: identity from the access token, marked unverified.
    let s = env.run(["status", "--format", "json"]);
    assert_eq!(s.stdout_json()["subject"], "google-user");
    assert_eq!(s.stdout_json()["identity_verified"], false);
    // The client sends client_id and the device grant, form-encoded.
    let polls: Vec<Request> = c
        .requests()
        .into_iter()
        .filter(|r| r.path == "/token")
        .collect();
    assert_eq!(polls.len(), 2);
    assert_eq!(
        polls[0].form("grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert_eq!(
        polls[0].form("client_id").as_deref(),
        Some("influx-bootstrap")
    );
}

#[test]
fn github_style_errors_inside_http_200() {
    let c = provider(device_ok(json!({})), |_, n| match n {
        0 => Reply::json(200, json!({"error": "authorization_pending"})),
        1 => Reply::json(200, json!({"error": "slow_down", "interval": 6})),
        _ => tokens(),
    });
    let env = env_for(&c);
    let out = login(&env);
    out.assert_success();
    let lines = out.stdout_json_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "slow_down" && l["interval"] == 6),
        "{}",
        out.stdout
    );
}

#[test]
fn proxy_html_502_is_a_clear_error_without_the_body() {
    let c = provider(device_ok(json!({})), |_, _| {
        Reply::html(
            502,
            "<html><body><h1>502 Bad Gateway</h1>nginx internal-hostname-7</body></html>",
        )
    });
    let env = env_for(&c);
    let out = login(&env);
    out.assert_fails(5, &[&format!("{}/token", c.base()), "502"]);
    assert!(
        !out.stderr.contains("internal-hostname"),
        "body leaked: {}",
        out.stderr
    );
    assert_eq!(c.count("/token"), 1, "stopped at the first HTML page");
}

#[test]
fn retry_after_on_503_and_429_is_waited_out() {
    let c = provider(device_ok(json!({})), |_, n| match n {
        0 => Reply::html(503, "busy").header("Retry-After", "2"),
        1 => Reply::json(429, json!({"error": "too_many_requests"})).header("Retry-After", "1"),
        _ => tokens(),
    });
    let env = env_for(&c);
    let out = login(&env);
    out.assert_success();
    let retries: Vec<Value> = out
        .stdout_json_lines()
        .into_iter()
        .filter(|l| l["event"] == "retry")
        .collect();
    assert_eq!(retries.len(), 2, "{}", out.stdout);
    assert_eq!(
        (&retries[0]["status"], &retries[0]["wait"]),
        (&json!(503), &json!(2))
    );
    // Retry-After: 1 is shorter than the interval (1 s): the interval wins.
    assert_eq!(
        (&retries[1]["status"], &retries[1]["wait"]),
        (&json!(429), &json!(1))
    );
    assert_eq!(c.count("/token"), 3);
}

#[test]
fn unknown_oauth_error_stops_with_the_description() {
    let c = provider(device_ok(json!({})), |_, _| {
        Reply::json(
            400,
            json!({"error": "client_quarantined", "error_description": "client is disabled"}),
        )
    });
    let env = env_for(&c);
    let out = login(&env);
    // Not one of the RFC 6749 §5.2 configuration errors (those exit 2).
    out.assert_fails(5, &["client_quarantined", "client is disabled"]);
}

#[test]
fn device_endpoint_error_inside_200() {
    let c = provider(
        |_| {
            Reply::json(
                200,
                json!({"error": "unauthorized_client", "error_description": "device flow not enabled"}),
            )
        },
        |_, _| tokens(),
    );
    let out = login(&env_for(&c));
    // A configuration problem (issue 13): exit 2, naming the setting.
    out.assert_fails(
        2,
        &["device authorization grant", "device flow not enabled"],
    );
    assert_eq!(c.count("/token"), 0);
}

#[test]
fn idp_unreachable_until_expiry_says_unreachable() {
    let mut c = provider(device_ok(json!({"expires_in": 4})), |_, _| tokens());
    let env = env_for(&c);
    let mut run = env.spawn(["login", "--format", "json", "--browser", "never"]);
    let ev = run.next_stdout_json(support::DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code");
    c.stop(); // the provider goes away before the first poll
    let out = run.wait_output();
    out.assert_fails(5, &["unreachable"])
        .assert_stderr_lacks(&["expired before"]);
}

#[test]
fn redirecting_token_endpoint_is_refused() {
    let c = provider(device_ok(json!({})), |_, _| {
        Reply::html(307, "").header("Location", "https://elsewhere.example/token")
    });
    let out = login(&env_for(&c));
    out.assert_fails(5, &["redirect"]);
}

#[test]
fn discovery_problems_have_config_hints() {
    // No device_authorization_endpoint advertised.
    let c = Canned::start_with_base(move |base, r, _| match r.path.as_str() {
        "/.well-known/openid-configuration" => Reply::json(
            200,
            json!({"issuer": base, "token_endpoint": format!("{base}/token")}),
        ),
        _ => Reply::json(404, json!({})),
    });
    let out = login(&env_for(&c));
    out.assert_fails(5, &["device_authorization_endpoint", "device_url"]);

    // Issuer mismatch (e.g. localhost vs 127.0.0.1).
    let c = Canned::start(|r, _| match r.path.as_str() {
        "/.well-known/openid-configuration" => {
            Reply::json(200, json!({"issuer": "http://localhost:1"}))
        }
        _ => Reply::json(404, json!({})),
    });
    let out = login(&env_for(&c));
    out.assert_fails(5, &["issuers must match"]);

    // RFC 8414 fallback when there is no OpenID configuration.
    let c = Canned::start_with_base(move |base, r, n| match r.path.as_str() {
        "/.well-known/oauth-authorization-server" => Reply::json(
            200,
            json!({"issuer": base, "token_endpoint": format!("{base}/token"), "device_authorization_endpoint": format!("{base}/device/code")}),
        ),
        "/device/code" => device_ok(json!({}))(r),
        "/token" if n == 0 => tokens(),
        _ => Reply::json(404, json!({})),
    });
    login(&env_for(&c)).assert_success();
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer("http://idp.example.com", None).build());
    let out = env.run(["login"]);
    out.assert_fails(2, &["refusing plain http://", "hint:"]);
}

/// Issue 11, item 12: a provider's `verification_uri_complete` of
/// `file:///etc/shadow` is never opened (nor shown, nor a QR code): the
/// browser gets the plain `https:` `verification_uri` instead.
#[test]
fn a_file_url_from_the_provider_is_never_opened() {
    let c = provider(
        device_ok(json!({"verification_uri_complete": "file:///etc/shadow"})),
        |_, _| tokens(),
    );
    let env = env_for(&c);
    let browser = support::FifoBrowser::new(&env);
    let mut cmd = env.cmd(["login", "--browser", "always", "--qr", "always"]);
    cmd.env("BROWSER", browser.command());
    let out = support::Running::spawn(cmd).wait_output();
    out.assert_success();
    let opened = browser.opened();
    assert_eq!(opened.trim_end(), "https://idp.example.test/device");
    assert!(!out.stderr.contains("file:"), "{out}");
}
