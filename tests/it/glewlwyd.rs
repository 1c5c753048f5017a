//! End to end through the real binary against Glewlwyd 2.7 (C, Debian's
//! package; issue 22), a fourth independent provider, run per test by
//! `test_support::glewlwyd` with a throwaway SQLite database and configured
//! through its admin REST API. A missing package fails these tests; it never
//! skips them.
//!
//! What Glewlwyd does differently, met as it is: `token_type` "bearer" in
//! lower case and an extra `iat` in token responses; a refused refresh token
//! answered with a bare HTTP 400 (no body, not RFC 6749 §5.2's
//! `invalid_grant`); revocation only for authenticated clients (its discovery
//! document says `client_secret_basic`), so a public client's logout cannot
//! revoke; scopes it does not know silently dropped.
//!
//! Client credentials (workload login) with the confidential client and
//! `client_secret_basic` works; a wrong secret gets a bare 403 from Glewlwyd,
//! still reported without the client-secret hint (see the last test).

use crate::support;

use serde_json::Value;
use support::cluster::Cluster;
use support::{DEFAULT_TIMEOUT, Idp, ProfileToml, Running, TestEnv};
use test_support::glewlwyd::{self, Glewlwyd, Signing};

const WIDE: &[&str] = &["openid", glewlwyd::INFLUX_SCOPE];

/// A profile `name` for `g` by issuer, asking for `scopes`.
fn profile(g: &Glewlwyd, name: &str, scopes: &[&str]) -> ProfileToml {
    ProfileToml::for_issuer(&g.issuer(), None)
        .name(name)
        .scopes(scopes)
}

/// `[--profile NAME] login --format json`, approved at Glewlwyd; returns the
/// `authorized` event.
fn login(env: &TestEnv, g: &Glewlwyd, profile: &str) -> Value {
    let mut run = env.spawn([
        "--profile",
        profile,
        "login",
        "--format",
        "json",
        "--browser",
        "never",
    ]);
    approve_next(&mut run, g);
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();
    assert_eq!(done["event"], "authorized", "{done}");
    done
}

/// Glewlwyd signing with `signing`, a profile on it logged in, and a
/// reference cluster (it trusts the Node provider) there only so that the
/// pre-flight probe of `token list` passes: a refused session is seen before
/// any cluster call.
fn logged_in_beside_a_cluster(signing: Signing) -> (Glewlwyd, Idp, Cluster, TestEnv) {
    let g = Glewlwyd::start(signing);
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::start(&idp);
    let env = TestEnv::new();
    env.write_config(&profile(&g, "default", WIDE).cluster(&cluster).build());
    login(&env, &g, "default");
    (g, idp, cluster, env)
}

/// The next JSON event must be a device code: approve it, granting both scopes.
fn approve_next(run: &mut Running, g: &Glewlwyd) {
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    g.approve(ev["user_code"].as_str().unwrap(), &WIDE.join(" "));
}

fn refresh_token(env: &TestEnv) -> String {
    support::cached_session(env)["refresh_token"]
        .as_str()
        .expect("refresh_token in the session")
        .to_owned()
}

/// The refresh token, used directly at Glewlwyd's token endpoint.
fn use_refresh_token(g: &Glewlwyd, rt: &str) -> (u16, String) {
    g.post_form(
        "/api/oidc/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", glewlwyd::PUBLIC_CLIENT),
        ],
    )
}

#[test]
fn device_login_with_rs256_and_es256_id_tokens_and_refresh() {
    for signing in [Signing::Rs256, Signing::Es256] {
        let g = Glewlwyd::start(signing);
        let env = TestEnv::new();
        env.write_config(&profile(&g, "default", WIDE).build());
        let done = login(&env, &g, "default");
        // The ID token's signature was checked against Glewlwyd's JWKS.
        assert_eq!(done["issuer"], g.issuer(), "{signing:?}: {done}");
        assert_eq!(done["identity_verified"], true, "{signing:?}: {done}");
        assert!(done["subject"].is_string(), "{signing:?}: {done}");
        assert_eq!(done["refreshable"], true, "{signing:?}: {done}");
        let header = support::cached_session(&env)["id_token"]
            .as_str()
            .and_then(|t| t.split('.').next())
            .map(|h| {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h)
                    .unwrap()
            })
            .expect("an ID token");
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], signing.alg(), "{header}");

        // Refresh ("bearer" in lower case, an extra `iat`): a new ID token,
        // verified again.
        support::expire_cached_session(&env);
        let out = env.run(["login", "--format", "json"]);
        out.assert_success();
        let r = out.stdout_json();
        assert_eq!(r["session"], "refreshed", "{signing:?}: {r}");
        assert_eq!(r["identity_verified"], true, "{signing:?}: {r}");
        let s = env.run(["status", "--format", "json"]);
        s.assert_success();
        assert!(s.stdout_json()["refreshed_at"].is_string());
    }
}

/// Glewlwyd answers a disabled refresh token with a bare 400. In a script
/// that means: the session is dropped, exit 6, and the hint names the exact
/// command; `login` itself starts a new device flow at once.
#[test]
fn a_refresh_token_refused_with_a_bare_400_ends_the_session() {
    let (g, _idp, _cluster, env) = logged_in_beside_a_cluster(Signing::Rs256);
    let rt = refresh_token(&env);
    assert_eq!(g.disable_refresh_tokens(), 1);
    assert_eq!(
        use_refresh_token(&g, &rt),
        (400, String::new()),
        "Glewlwyd's bare 400"
    );

    // A script: no device flow nobody would approve.
    support::expire_cached_session(&env);
    let out = env.run(["token", "list"]);
    out.assert_code(6);
    assert!(
        out.stderr
            .contains("the saved session of profile `default` is over")
            && out.stderr.contains("HTTP 400 with an empty body"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "run `influx-bootstrap --profile default login` where a person can approve it"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("answered HTTP 400"), "{}", out.stderr);
    assert!(
        support::session_files(&env).is_empty(),
        "the refused session is deleted"
    );

    // `login`: one line, then a new device flow.
    login(&env, &g, "default");
    assert_eq!(g.disable_refresh_tokens(), 1);
    support::expire_cached_session(&env);
    let mut run = env.spawn(["login", "--format", "json", "--browser", "never"]);
    approve_next(&mut run, &g);
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    let out = run.wait_output();
    out.assert_success();
    assert_eq!(done["session"], "device_flow", "{done}");
    assert_eq!(
        out.stderr.matches("is over").count(),
        1,
        "one line: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("starting a new login"),
        "{}",
        out.stderr
    );
}

/// Where a person is at the terminal, any command that needs the session
/// starts the new device flow itself.
#[test]
fn a_refused_session_starts_a_device_flow_where_a_person_is_present() {
    let (g, _idp, _cluster, env) = logged_in_beside_a_cluster(Signing::Es256);
    assert_eq!(g.disable_refresh_tokens(), 1);
    support::expire_cached_session(&env);
    let mut run =
        support::pty::in_pty(&env, 100, 40, "token list --browser never", &[("CI", None)]);
    let mut seen = Vec::new();
    let code = loop {
        let line = run.next_stdout_line(DEFAULT_TIMEOUT);
        let t = line.trim();
        if t.starts_with('║') && t.ends_with('║') && !t.contains('═') {
            let code = t.trim_matches('║').trim().to_owned();
            if !code.is_empty() {
                break code;
            }
        }
        seen.push(line);
    };
    let before = seen.join("\n");
    assert!(before.contains("is over"), "{before}");
    assert!(before.contains("starting a new login"), "{before}");
    g.approve(&code, &WIDE.join(" "));
    // Approved and signed in; then the reference cluster refuses the token
    // (it trusts only the Node provider), which is not this test's business.
    let out = run.wait_output();
    assert!(out.stdout.contains("Signed in as"), "{}", out.stdout);
    out.assert_code(8);
}

/// Same issuer, client and cluster, different scopes: two sessions. The
/// narrow one is never handed to the profile that asks for more, and logging
/// out of one leaves the other.
#[test]
fn two_profiles_with_different_scopes_keep_separate_sessions() {
    let g = Glewlwyd::start(Signing::Rs256);
    let env = TestEnv::with_profiles(&[
        profile(&g, "narrow", &["openid"]),
        profile(&g, "wide", WIDE),
    ]);
    login(&env, &g, "narrow");
    // Before the fix this said "Already logged in" with the narrow token.
    let done = login(&env, &g, "wide");
    assert_eq!(done["session"], "device_flow", "{done}");
    let files = support::session_files(&env);
    assert_eq!(files.len(), 2, "{files:?}");
    let scopes: Vec<String> = files
        .iter()
        .map(|p| {
            let s: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            format!(
                "{}={}",
                s["profile"].as_str().unwrap(),
                s["scope"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(scopes.contains(&"narrow=openid".to_string()), "{scopes:?}");
    assert!(
        scopes.contains(&"wide=openid influxdb".to_string()),
        "{scopes:?}"
    );
    // Both reused as they are.
    for p in ["narrow", "wide"] {
        let out = env.run(["--profile", p, "login", "--format", "json"]);
        out.assert_success();
        assert_eq!(out.stdout_json()["session"], "cached", "{p}");
    }

    let out = env.run(["--profile", "narrow", "logout"]);
    out.assert_success();
    assert!(out.stderr.contains("(profile narrow)"), "{}", out.stderr);
    env.run(["--profile", "narrow", "status"]).assert_code(6);
    env.run(["--profile", "wide", "status"]).assert_success();
    assert_eq!(support::session_files(&env).len(), 1);
}

/// Glewlwyd's revocation endpoint takes authenticated clients only
/// (`client_secret_basic`): `doctor` says so before anyone logs in.
#[test]
fn doctor_warns_when_revocation_excludes_public_clients() {
    let g = Glewlwyd::start(Signing::Rs256);
    assert_eq!(
        g.discovery()["revocation_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic"])
    );
    let env = TestEnv::new();
    env.write_config(&profile(&g, "default", WIDE).build());
    let doctor = env.run(["doctor", "--format", "json"]);
    let report = doctor.stdout_json();
    let check = support::steps::doctor_check(&report, "token revocation");
    assert_eq!(check["status"], "warn", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("client_secret_basic"), "{detail}");
    assert!(detail.contains("stays valid"), "{detail}");
}

/// A public client's revocation is refused (401): `logout` says plainly that
/// the refresh token stays valid at the provider, which it does.
#[test]
fn logout_without_revocation_says_the_refresh_token_stays_valid() {
    let g = Glewlwyd::start(Signing::Rs256);
    let env = TestEnv::new();
    env.write_config(&profile(&g, "default", WIDE).build());
    login(&env, &g, "default");
    let rt = refresh_token(&env);
    let out = env.run(["logout"]);
    out.assert_success();
    assert!(
        out.stderr.contains("revoking the refresh token failed (")
            && out.stderr.contains(
                "it stays valid at the identity provider until it expires (the identity provider did not say when)"
            ),
        "{}",
        out.stderr
    );
    assert!(support::session_files(&env).is_empty());
    // Which is true: the refresh token still works.
    let (status, body) = use_refresh_token(&g, &rt);
    assert_eq!(status, 200, "{body}");
}

/// Workload login (client credentials, RFC 6749 §4.4) with the confidential
/// client and `client_secret_basic`: a token, no device flow, nothing cached.
#[test]
fn client_credentials_with_the_confidential_client() {
    let g = Glewlwyd::start(Signing::Es256);
    let env = TestEnv::new();
    let secret = env.home().join("client.secret");
    std::fs::write(&secret, glewlwyd::CONFIDENTIAL_SECRET).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let p = ProfileToml::for_issuer(&g.issuer(), None)
        .client_id(glewlwyd::CONFIDENTIAL_CLIENT)
        .scopes(&[glewlwyd::INFLUX_SCOPE])
        .build();
    env.write_config(&format!(
        "{p}grant = \"client_credentials\"\nclient_secret_file = {}\n",
        toml::Value::String(secret.display().to_string())
    ));
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    let v = out.stdout_json();
    assert_eq!(v["session"], "client_credentials", "{v}");
    assert_eq!(v["refreshable"], false, "{v}");
    assert!(support::session_files(&env).is_empty());

    // A wrong secret is refused. Glewlwyd answers it with a bare 403 (not
    // RFC 6749 §5.2's 401 `invalid_client`), which today ends in exit 5
    // without the client-secret hint: left for the workload-login owner.
    std::fs::write(&secret, "wrong").unwrap();
    let out = env.run(["login"]);
    assert!(!out.success(), "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 403"), "{}", out.stderr);
}
