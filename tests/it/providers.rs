//! End to end through the real binary against two more independent RFC 8628
//! servers (issue 13), run from `tests/providers` in a Python venv the test
//! support creates: django-oauth-toolkit 3.4.1 (Django, OpenID Connect on)
//! and Authlib 1.9 (Flask, plain OAuth 2.0 with RFC 8414 metadata).
//!
//! Each server's quirks are met as they are, not patched: DOT lists no
//! `device_authorization_endpoint` (so `device_url` is set), names its
//! revocation endpoint only in its RFC 8414 document, never answers
//! `expired_token`, answers 404 `device_not_found`, compares user codes
//! literally and issues an ID token only on refresh; Authlib answers
//! `slow_down`. A missing python3 fails these tests; it never skips them.
//! The last test serves split metadata documents from the canned fixture, for
//! the issuer check a real server will not get wrong.

use crate::support;

use serde_json::Value;
use support::{DEFAULT_TIMEOUT, ProfileToml, Running, TestEnv, start_login};
use test_support::pyidp::{Provider, PyIdp};

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A profile for `idp` by issuer (discovery), plus `extra` lines for
/// `[profile.auth.oauth2]` (the last table, so appending is enough).
fn issuer_profile(idp: &PyIdp, extra: &str) -> String {
    format!(
        "{}{extra}",
        ProfileToml::for_issuer(idp.issuer(), None).build()
    )
}

/// DOT with explicit endpoints only (no issuer, so no keys to verify with).
fn dot_explicit_profile(idp: &PyIdp) -> String {
    format!(
        "[[profile]]\nname = \"default\"\nproduct = \"clustered\"\nhost = \"127.0.0.1\"\nport = \"8086\"\n\
         [profile.auth.oauth2]\nclient_id = \"influx-bootstrap\"\n\
         scopes = [\"openid\", \"profile\", \"email\"]\n\
         device_url = {}\ntoken_url = {}\nrevocation_url = {}\n",
        q(&idp.url("/o/device-authorization/")),
        q(&idp.url("/o/token/")),
        q(&idp.url("/o/revoke_token/")),
    )
}

fn dot_device_url(idp: &PyIdp) -> String {
    format!("device_url = {}\n", q(&idp.url("/o/device-authorization/")))
}

/// The user code as a person reads it in the box of the human prompt
/// (`║   CODE   ║`), to be typed as shown.
fn code_in_the_box(run: &Running) -> String {
    run.wait_for_stderr("   ║");
    let stderr = run.stderr_so_far();
    let line = stderr
        .lines()
        .find(|l| l.trim_end().ends_with('║') && !l.contains('═'))
        .unwrap_or_else(|| panic!("no code box on stderr:\n{stderr}"));
    line.trim().trim_matches('║').trim().to_owned()
}

/// Logs in, approving the code exactly as the human prompt shows it.
fn login_typing_the_shown_code(env: &TestEnv, idp: &PyIdp, user: &str) -> Value {
    let (mut run, ev) = start_login(env, &[]);
    let shown = code_in_the_box(&run);
    assert_eq!(shown, ev["user_code"], "the box shows the code as issued");
    idp.approve(&shown, user);
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();
    assert_eq!(done["event"], "authorized", "{done}");
    done
}

fn refresh_token(env: &TestEnv) -> String {
    support::cached_session(env)["refresh_token"]
        .as_str()
        .expect("refresh_token in the session")
        .to_owned()
}

/// `logout` revokes the refresh token (RFC 7009) and leaves no session;
/// returns the answer of the token endpoint at `token_path` to the old
/// refresh token.
fn logout_revokes(env: &TestEnv, idp: &PyIdp, token_path: &str) -> (u16, Value) {
    let rt = refresh_token(env);
    let out = env.run(["logout"]);
    out.assert_success();
    assert!(
        out.stderr.contains("refresh token revoked"),
        "{}",
        out.stderr
    );
    assert_cache_empty(env);
    idp.post_form(
        &idp.url(token_path),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "influx-bootstrap"),
        ],
    )
}

/// Only the directory itself may be left after logout: no session, no lock.
fn assert_cache_empty(env: &TestEnv) {
    let left: Vec<_> = env
        .cache_files()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("session-"))
        })
        .collect();
    assert!(left.is_empty(), "left behind after logout: {left:?}");
}

#[test]
fn dot_login_refresh_logout() {
    let idp = PyIdp::start(Provider::Dot);
    let env = TestEnv::new();
    env.write_config(&issuer_profile(&idp, &dot_device_url(&idp)));

    // DOT compares user codes literally: a lower-cased code is refused, the
    // code typed exactly as the box shows it is taken.
    let (mut run, ev) = start_login(&env, &[]);
    let shown = code_in_the_box(&run);
    let lower = shown.to_lowercase();
    if lower != shown {
        assert!(idp.try_approve(&lower, "admin").is_err(), "{lower}");
    }
    idp.approve(&shown, "admin");
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();
    assert_eq!(done["issuer"], idp.issuer());
    assert_eq!(ev["user_code"], shown);
    // No ID token from DOT's device grant, and its access tokens are opaque.
    assert!(done["subject"].is_null(), "{done}");
    assert_eq!(done["refreshable"], true);

    let logged_in_at = env.run(["status", "--format", "json"]).stdout_json()["obtained_at"].clone();
    assert!(logged_in_at.is_string(), "{logged_in_at}");

    // Refresh: DOT issues an ID token now, verified with its keys.
    support::expire_cached_session(&env);
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    let r = out.stdout_json();
    assert_eq!(r["session"], "refreshed", "{r}");
    assert_eq!(r["email"], "ada@example.test", "{r}");
    assert_eq!(r["identity_verified"], true, "{r}");
    let status = env.run(["status", "--format", "json"]);
    status.assert_success();
    let s = status.stdout_json();
    assert_eq!(s["email"], "ada@example.test", "{s}");
    assert_eq!(s["identity_verified"], true, "{s}");
    // "Logged in at" stays the login; the refresh has its own field.
    assert_eq!(s["obtained_at"], logged_in_at, "{s}");
    assert!(s["refreshed_at"].is_string(), "{s}");

    // The revocation endpoint came from the RFC 8414 document (the OpenID
    // one has none). A session saved without one (by an older version) is
    // revoked too: logout then asks discovery itself.
    let mut saved = support::cached_session(&env);
    assert_eq!(saved["revocation_endpoint"], idp.url("/o/revoke_token/"));
    saved["revocation_endpoint"] = Value::Null;
    std::fs::write(
        support::session_file(&env),
        serde_json::to_vec(&saved).unwrap(),
    )
    .unwrap();
    let (status, body) = logout_revokes(&env, &idp, "/o/token/");
    assert!(idp.stat("revocation") >= 1);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn dot_explicit_endpoints_identity_after_refresh_is_unverified() {
    let idp = PyIdp::start(Provider::Dot);
    let env = TestEnv::new();
    env.write_config(&dot_explicit_profile(&idp));
    let done = login_typing_the_shown_code(&env, &idp, "viewer");
    // No issuer configured: the JSON has none (never the token URL).
    assert!(done.get("issuer").is_none(), "{done}");

    support::expire_cached_session(&env);
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    let r = out.stdout_json();
    assert_eq!(r["session"], "refreshed", "{r}");
    assert_eq!(
        r["email"], "vic@example.test",
        "identity from the new ID token: {r}"
    );
    assert_eq!(r["identity_verified"], false, "no keys to verify with: {r}");
    assert!(r.get("issuer").is_none(), "{r}");
    let human = env.run(["status"]);
    human.assert_success();
    assert!(human.stdout.contains("unverified"), "{}", human.stdout);
    assert!(human.stdout.contains("Last refreshed"), "{}", human.stdout);

    // `revocation_url` is used by logout.
    let (status, _) = logout_revokes(&env, &idp, "/o/token/");
    assert_eq!(status, 400);
}

#[test]
fn dot_expired_code_is_ended_by_our_clock() {
    // DOT never answers expired_token: the code's expires_in (3 s) is all
    // that ends the wait.
    let idp = PyIdp::builder(Provider::Dot).code_ttl(3).start();
    let env = TestEnv::new();
    env.write_config(&issuer_profile(&idp, &dot_device_url(&idp)));
    let (run, _) = start_login(&env, &[]);
    let out = run.wait_output();
    out.assert_fails(4, &["expired"]);
    assert!(idp.stat("token") >= 1, "it polled");
}

#[test]
fn dot_configuration_errors_exit_2_naming_the_setting() {
    let idp = PyIdp::start(Provider::Dot);
    // An unknown client: DOT answers invalid_request.
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}{}",
        ProfileToml::for_issuer(idp.issuer(), None)
            .client_id("no-such-client")
            .build(),
        dot_device_url(&idp)
    ));
    let out = env.run(["login", "--browser", "never"]);
    out.assert_fails(2, &["client_id"])
        .assert_stderr_lacks(&["unreachable"]);

    // Device codes from one server polled at another: DOT's 404
    // device_not_found.
    let other = PyIdp::start(Provider::Dot);
    let env = TestEnv::new();
    env.write_config(&issuer_profile(
        &idp,
        &format!(
            "device_url = {}\n",
            q(&other.url("/o/device-authorization/"))
        ),
    ));
    let out = env.run(["login", "--browser", "never"]);
    out.assert_fails(2, &["device_not_found", "device_url"]);
}

#[test]
fn authlib_login_refresh_logout() {
    // No OpenID document: everything comes from RFC 8414 metadata.
    let idp = PyIdp::start(Provider::Authlib);
    let env = TestEnv::new();
    env.write_config(&issuer_profile(&idp, ""));
    let done = login_typing_the_shown_code(&env, &idp, "admin");
    assert_eq!(done["issuer"], idp.issuer());
    assert_eq!(done["refreshable"], true);

    support::expire_cached_session(&env);
    let before = refresh_token(&env);
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["session"], "refreshed");
    assert_ne!(before, refresh_token(&env), "rotated and saved");
    assert_eq!(idp.stat("token_refresh"), 1);

    let (status, body) = logout_revokes(&env, &idp, "/token");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn authlib_slow_down_adds_five_seconds() {
    // The first poll is answered slow_down whenever it comes (a knob, no race
    // with the clock); after that Authlib wants 5 s between polls. Had the
    // client kept its 1 s interval, the next poll would be slow_down again.
    let idp = PyIdp::builder(Provider::Authlib)
        .interval(1)
        .enforce_interval(5)
        .start();
    idp.force_slow_down(1);
    let env = TestEnv::new();
    env.write_config(&issuer_profile(&idp, ""));
    let (run, ev) = start_login(&env, &[]);
    support::follow_slow_down(run, &ev, |code| idp.approve(code, "admin"));
    assert_eq!(idp.stat("slow_down"), 1);
}

#[test]
fn authlib_configuration_errors_exit_2_naming_the_setting() {
    let idp = PyIdp::start(Provider::Authlib);
    let env = TestEnv::new();
    env.write_config(
        &issuer_profile(&idp, "").replace("scopes = [", "scopes = [\"no-such-scope\", "),
    );
    let out = env.run(["login", "--browser", "never"]);
    out.assert_fails(2, &["invalid_scope", "scopes"]);

    // A client without the device grant: unauthorized_client at the first poll.
    let idp = PyIdp::builder(Provider::Authlib)
        .arg("--no-device-grant")
        .start();
    let env = TestEnv::new();
    env.write_config(&issuer_profile(&idp, ""));
    let out = env.run(["login", "--browser", "never"]);
    out.assert_fails(2, &["unauthorized_client", "device authorization grant"]);
}

#[test]
fn logout_all_uses_each_sessions_own_profile() {
    // Profile `default` on Authlib by issuer, profile `dot` on DOT with
    // explicit endpoints. The `dot` session is saved without its revocation
    // endpoint (as an older version saved it): `logout --all`, run with the
    // `default` profile active, must read `revocation_url` from `dot`'s own
    // profile (issue 11 item 17: each session with its own profile's
    // settings, TLS included).
    let authlib = PyIdp::start(Provider::Authlib);
    let dot = PyIdp::start(Provider::Dot);
    let env = TestEnv::new();
    let a = issuer_profile(&authlib, "");
    let b = dot_explicit_profile(&dot).replace("name = \"default\"", "name = \"dot\"");
    env.write_config(&format!("{a}\n{b}"));
    login_typing_the_shown_code(&env, &authlib, "admin");
    let mut run = env.spawn([
        "--profile",
        "dot",
        "login",
        "--format",
        "json",
        "--browser",
        "never",
    ]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    dot.approve(ev["user_code"].as_str().unwrap(), "viewer");
    run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();

    let dot_file = env
        .cache_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| env.cache_dir().join(p))
        .find(|p| {
            let s: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap_or_default();
            s["profile"] == "dot"
        })
        .expect("the dot session");
    let mut saved: Value = serde_json::from_slice(&std::fs::read(&dot_file).unwrap()).unwrap();
    saved["revocation_endpoint"] = Value::Null;
    std::fs::write(&dot_file, serde_json::to_vec(&saved).unwrap()).unwrap();

    let out = env.run(["logout", "--all"]);
    out.assert_success();
    assert_eq!(
        out.stderr.matches("refresh token revoked").count(),
        2,
        "{}",
        out.stderr
    );
    assert!(dot.stat("revocation") >= 1);
    assert!(authlib.stat("revocation") >= 1);
    assert_cache_empty(&env);
}

/// A provider whose OpenID document lacks the device authorization endpoint
/// and whose RFC 8414 document has it, naming `rfc8414_issuer` as its issuer
/// (`None`: the real one).
fn split_metadata(rfc8414_issuer: Option<&'static str>) -> support::canned::Canned {
    use serde_json::json;
    use support::canned::{Canned, Reply};
    Canned::start_with_base(move |base, r, _| match r.path.as_str() {
        "/.well-known/openid-configuration" => Reply::json(
            200,
            json!({ "issuer": base, "token_endpoint": format!("{base}/token") }),
        ),
        "/.well-known/oauth-authorization-server" => Reply::json(
            200,
            json!({
                "issuer": rfc8414_issuer.map(str::to_owned).unwrap_or_else(|| base.to_owned()),
                "token_endpoint": format!("{base}/token"),
                "device_authorization_endpoint": format!("{base}/device"),
            }),
        ),
        "/device" => Reply::json(
            200,
            json!({
                "device_code": "dc", "user_code": "ABCD-EFGH", "interval": 1,
                "verification_uri": "https://idp.example.test/device", "expires_in": 60,
            }),
        ),
        "/token" => Reply::json(
            200,
            json!({ "access_token": "opaque", "token_type": "Bearer", "expires_in": 3600 }),
        ),
        _ => Reply::json(404, json!({ "error": "not_found" })),
    })
}

#[test]
fn an_endpoint_missing_from_one_metadata_document_is_taken_from_the_other() {
    let c = split_metadata(None);
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    env.run(["login", "--format", "json", "--browser", "never"])
        .assert_success();
    assert_eq!(c.count("/device"), 1);

    // A second document for another issuer is not trusted (RFC 8414 §3.3).
    let c = split_metadata(Some("https://elsewhere.example.test"));
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    let out = env.run(["login", "--format", "json", "--browser", "never"]);
    out.assert_fails(5, &["device_authorization_endpoint"]);
    assert_eq!(c.count("/device"), 0);
}
