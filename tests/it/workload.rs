//! Workload login (issue 20): `mint`, `rotate` and `login` as an OAuth
//! client (the client credentials grant, RFC 6749 §4.4) against the real
//! providers: oidc-provider with a client secret, `private_key_jwt` (RS256
//! and ES256) and a platform-written assertion file; django-oauth-toolkit
//! and Authlib with a client secret. The reference cluster takes the
//! client's token when its subject is an admin and refuses it otherwise.

use crate::support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use support::cluster::Cluster;
use support::steps::doctor_check;
use support::{Idp, Output, ProfileToml, TestEnv};
use test_support::pyidp::{Provider, PyIdp};

/// Write `contents` to `name` in the test's home with `mode`.
fn write_file(env: &TestEnv, name: &str, contents: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.home().join(name);
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A profile for `client_id` at `idp` (and `cluster`), logging in with the
/// client credentials grant and the `[profile.auth.oauth2]` lines `extra`.
fn workload_profile(idp: &Idp, cluster: Option<&Cluster>, client_id: &str, extra: &str) -> String {
    let mut p = ProfileToml::new(idp).client_id(client_id);
    if let Some(c) = cluster {
        p = p.cluster(c);
    }
    // The oauth2 table is the last one in the block: these keys land in it.
    format!("{}grant = \"client_credentials\"\n{extra}", p.build())
}

fn toml_path(key: &str, path: &Path) -> String {
    format!(
        "{key} = {}\n",
        toml::Value::String(path.display().to_string())
    )
}

/// Writes `contents` to `name` (mode `mode`) and a profile for `client_id`
/// naming that file under `key`.
fn credential_file_profile(
    env: &TestEnv,
    idp: &Idp,
    cluster: Option<&Cluster>,
    client_id: &str,
    (name, key): (&str, &str),
    contents: &str,
    mode: u32,
) {
    let file = write_file(env, name, contents, mode);
    env.write_config(&workload_profile(
        idp,
        cluster,
        client_id,
        &toml_path(key, &file),
    ));
}

/// `workload-secret` with its secret in `client.secret` (`contents`, mode
/// `mode`).
fn secret_client(env: &TestEnv, idp: &Idp, cluster: Option<&Cluster>, contents: &str, mode: u32) {
    let file = ("client.secret", "client_secret_file");
    credential_file_profile(env, idp, cluster, "workload-secret", file, contents, mode)
}

/// `workload-jwt` with its private key `pem` in `client.key` (mode 0600).
fn key_client(env: &TestEnv, idp: &Idp, cluster: Option<&Cluster>, pem: &str) {
    let file = ("client.key", "private_key_file");
    credential_file_profile(env, idp, cluster, "workload-jwt", file, pem, 0o600)
}

/// A cluster whose admins are the person `admin` and the clients `admins`.
fn cluster_with_admins(idp: &Idp, admins: &[&str]) -> Cluster {
    Cluster::builder(idp)
        .configure(|c| {
            for id in admins {
                c.admin.users.push(reference_cluster::config::AdminUser {
                    id: id.to_string(),
                    first_name: None,
                    last_name: None,
                    email: None,
                });
            }
        })
        .start()
}

/// The provider, a cluster whose admins include the clients `admins`, and an
/// empty environment.
fn workload_stack(admins: &[&str]) -> (Idp, Cluster, TestEnv) {
    let idp = Idp::start();
    let cluster = cluster_with_admins(&idp, admins);
    (idp, cluster, TestEnv::new())
}

fn login_json(env: &TestEnv) -> Output {
    env.run(["login", "--format", "json"])
}

/// No person was involved and nothing was kept.
fn assert_no_person_no_cache(idp: &Idp, env: &TestEnv) {
    assert_eq!(idp.stat("device_authorization"), 0, "a device flow started");
    assert_eq!(idp.stat("token_device_code"), 0);
    assert_eq!(idp.stat("token_refresh"), 0);
    // (The cache also remembers which documented API paths a cluster
    // serves: not a session.)
    let sessions: Vec<_> = env
        .cache_files()
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("session"))
        .collect();
    assert!(
        sessions.is_empty(),
        "a workload session was cached: {sessions:?}"
    );
}

#[test]
fn mint_and_rotate_as_a_workload_with_a_client_secret() {
    let (idp, cluster, env) = workload_stack(&["workload-secret"]);
    let secret = idp.workload()["secret"].as_str().unwrap().to_owned();
    secret_client(&env, &idp, Some(&cluster), &format!("{secret}\n"), 0o600);

    let out = env.run([
        "-v",
        "mint",
        "--description",
        "nightly",
        "--expires-in",
        "30d",
        "--store",
        "file:token",
        "--format",
        "json",
    ]);
    out.assert_success();
    assert!(
        out.stderr.contains("Signed in as workload workload-secret"),
        "{out}"
    );
    // The -v log names the client, and never the secret.
    assert!(out.stderr.contains("client_id=workload-secret"), "{out}");
    assert!(!out.stderr.contains(&secret), "secret on stderr: {out}");
    let minted = out.stdout_json();
    assert_eq!(minted["event"], "minted");
    assert_eq!(minted["verified"], true);
    // The summary names the client that made the token.
    assert_eq!(minted["created_by"], "workload-secret");
    let token = std::fs::read_to_string(env.home().join("token")).unwrap();
    let listed = cluster.list_with(token.trim());
    let t = listed.iter().find(|t| t["id"] == minted["id"]).unwrap();
    // The audit trail names the client, not a person.
    assert_eq!(t["createdBy"], "workload-secret");
    assert_eq!(idp.stat("token_client_credentials"), 1);

    let out = env.run(["rotate", "--store", "file:token", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["event"], "rotated");
    let new = std::fs::read_to_string(env.home().join("token")).unwrap();
    assert_ne!(new, token);
    assert_no_person_no_cache(&idp, &env);

    // `status` says a workload is in use, with no network and no session.
    let status = env.run(["status", "--format", "json"]);
    status.assert_success();
    let v = status.stdout_json();
    assert_eq!(v["identity_kind"], "workload");
    assert_eq!(v["client_id"], "workload-secret");
    assert_eq!(v["client_auth"], "client_secret_basic");
    assert_eq!(v["cached"], false);
}

/// A database token needs the management credential for `rotate` too: the
/// workload logs in afresh for each command, on a stock cluster (only the
/// documented API).
#[test]
fn mint_and_rotate_a_database_token_as_a_workload() {
    use reference_cluster::config::DocumentedPaths;
    use support::stock::{query, write};
    let idp = Idp::start();
    let cluster = Cluster::builder(&idp)
        .configure(|c| {
            c.management_tokens = false;
            c.documented_paths = DocumentedPaths::Both;
            c.admin.users.push(reference_cluster::config::AdminUser {
                id: "workload-jwt".into(),
                first_name: None,
                last_name: None,
                email: None,
            });
        })
        .start();
    let env = TestEnv::new();
    let key = idp.workload()["ec_pem"].as_str().unwrap().to_owned();
    key_client(&env, &idp, Some(&cluster), &key);
    let out = env.run([
        "mint",
        "--description",
        "telegraf",
        "--write-database",
        "sensors",
        "--create-database",
        "--expires-in",
        "30d",
        "--store",
        "file:telegraf.token",
    ]);
    out.assert_success();
    let old = std::fs::read_to_string(env.home().join("telegraf.token")).unwrap();
    let out = env.run(["rotate", "--store", "file:telegraf.token"]);
    out.assert_success();
    let new = std::fs::read_to_string(env.home().join("telegraf.token")).unwrap();
    assert_ne!(old, new);
    assert_eq!(write(&cluster, new.trim(), "sensors"), 204);
    assert_eq!(query(&cluster, old.trim(), "sensors"), 401);
    assert_eq!(idp.stat("token_client_credentials"), 2);
    assert_no_person_no_cache(&idp, &env);
}

#[test]
fn the_cluster_refuses_a_client_that_is_not_an_admin() {
    let (idp, cluster, env) = workload_stack(&[]);
    let secret = idp.workload()["secret"].as_str().unwrap().to_owned();
    secret_client(&env, &idp, Some(&cluster), &secret, 0o600);
    let out = env.run(support::mint_into("x", "file:token"));
    out.assert_fails(8, &["workload-secret"]);
    assert!(!env.home().join("token").exists());
    assert_no_person_no_cache(&idp, &env);
}

#[test]
fn private_key_jwt_with_rsa_and_ec_keys() {
    let idp = Idp::start();
    let keys = idp.workload();
    for (pem, alg) in [("rsa_pem", "RS256"), ("ec_pem", "ES256")] {
        let env = TestEnv::new();
        key_client(&env, &idp, None, keys[pem].as_str().unwrap());
        let before = idp.stat("token_client_credentials");
        let out = login_json(&env);
        out.assert_success();
        let v = out.stdout_json();
        assert_eq!(v["session"], "client_credentials", "{alg}");
        assert_eq!(v["subject"], "workload-jwt", "{alg}");
        assert_eq!(v["refreshable"], false);
        assert_eq!(idp.stat("token_client_credentials"), before + 1);
        assert_no_person_no_cache(&idp, &env);

        // The key says what it is; insisting on the other algorithm fails
        // before anything is sent.
        let other = if alg == "RS256" { "ES256" } else { "RS256" };
        let out = env
            .cmd(["login"])
            .env("INFLUX_BOOTSTRAP_PRIVATE_KEY_ALG", other)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{alg} key as {other}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a usable private key"));
        assert_eq!(idp.stat("token_client_credentials"), before + 1);
    }
}

#[test]
fn an_assertion_file_is_read_again_on_every_use() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let path = env.home().join("token.jwt");
    env.write_config(&workload_profile(
        &idp,
        None,
        "workload-platform",
        &toml_path("client_assertion_file", &path),
    ));
    let platform = |body: Value| idp.platform_token(body);

    // The platform writes a token; later it rewrites it (each is for one use
    // at oidc-provider, which rejects a replayed `jti`).
    let first = platform(json!({}));
    write_file(&env, "token.jwt", &first, 0o600);
    login_json(&env).assert_success();
    write_file(&env, "token.jwt", &platform(json!({})), 0o600);
    let out = login_json(&env);
    out.assert_success();
    assert_eq!(out.stdout_json()["subject"], "workload-platform");
    assert_eq!(idp.stat("token_client_credentials"), 2);

    // A stale file (the first token again) is refused by the provider: it
    // was read again, not remembered.
    write_file(&env, "token.jwt", &first, 0o600);
    let out = env.run(["login"]);
    out.assert_fails(2, &["invalid_client", "hint:"]);

    // The wrong audience: the hint shows what the assertion says.
    let wrong = platform(json!({ "aud": "https://elsewhere.example" }));
    write_file(&env, "token.jwt", &wrong, 0o600);
    let out = env.run(["login"]);
    out.assert_fails(2, &["aud https://elsewhere.example"]);

    // Expired: caught here, nothing sent.
    let sent = idp.stat("token_client_credentials");
    let expired = platform(json!({ "exp_in": -30, "iat_offset": -600 }));
    write_file(&env, "token.jwt", &expired, 0o600);
    let out = env.run(["login"]);
    out.assert_fails(6, &["expired at"]);
    // Issued an hour ahead of this machine's clock: a clock problem.
    let ahead = platform(json!({ "iat_offset": 3600 }));
    write_file(&env, "token.jwt", &ahead, 0o600);
    let out = env.run(["login"]);
    out.assert_fails(6, &["clocks is wrong"]);
    assert_eq!(idp.stat("token_client_credentials"), sent);
    assert_no_person_no_cache(&idp, &env);
}

#[test]
fn a_secret_file_others_can_read_is_refused() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let secret = idp.workload()["secret"].as_str().unwrap().to_owned();
    secret_client(&env, &idp, None, &secret, 0o644);
    let out = env.run(["login"]);
    out.assert_fails(7, &["refusing to use", "chmod 600"]);
    // No message: it would print the secret.
    assert!(!out.stderr.contains(&secret));
    assert_eq!(idp.stat("token_client_credentials"), 0);
}

#[test]
fn a_client_without_the_grant_gets_a_hint() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let secret = idp.workload()["secret"].as_str().unwrap().to_owned();
    let out = env
        .cmd(["login"])
        .env_remove("INFLUX_BOOTSTRAP_CONFIG")
        .env("INFLUX_BOOTSTRAP_CLIENT_SECRET", &secret)
        .env("INFLUX_BOOTSTRAP_CLIENT_ID", "workload-device")
        .env("INFLUX_BOOTSTRAP_GRANT", "client_credentials")
        .env("INFLUX_BOOTSTRAP_ISSUER", idp.issuer())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("enable the client credentials grant for client `workload-device`"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret));
}

#[test]
fn the_secret_from_the_environment_never_reaches_a_store_command() {
    let (idp, cluster, env) = workload_stack(&["workload-secret"]);
    let secret = idp.workload()["secret"].as_str().unwrap().to_owned();
    env.write_config(&workload_profile(
        &idp,
        Some(&cluster),
        "workload-secret",
        "",
    ));
    let dump = env.home().join("child.env");
    let store = format!("exec:env > {} && cat > /dev/null", dump.display());
    let out = env
        .cmd(support::mint_into("x", &store))
        .env("INFLUX_BOOTSTRAP_CLIENT_SECRET", &secret)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let child = std::fs::read_to_string(&dump).unwrap();
    assert!(!child.contains(&secret), "the child saw the client secret");
    assert!(!child.contains("INFLUX_BOOTSTRAP_CLIENT_SECRET"));
    assert!(!stderr.contains(&secret));
    assert_no_person_no_cache(&idp, &env);
}

/// django-oauth-toolkit and Authlib: client credentials with a secret (their
/// access tokens are opaque, so the identity is the client id).
#[test]
fn python_providers_issue_a_workload_token() {
    for (provider, secret) in [
        (Provider::Dot, "dot-workload-secret-for-tests"),
        (Provider::Authlib, "authlib-workload-secret-for-tests"),
    ] {
        let idp = PyIdp::start(provider);
        let env = TestEnv::new();
        let file = write_file(&env, "client.secret", secret, 0o600);
        let profile = ProfileToml::for_issuer(idp.issuer(), None)
            .client_id("workload-secret")
            .build();
        env.write_config(&format!(
            "{profile}grant = \"client_credentials\"\n{}",
            toml_path("client_secret_file", &file)
        ));
        let out = login_json(&env);
        out.assert_success();
        let v = out.stdout_json();
        assert_eq!(v["session"], "client_credentials", "{provider:?}");
        assert_eq!(v["subject"], "workload-secret", "{provider:?}");
        assert!(env.cache_files().is_empty(), "{provider:?}");
        assert_eq!(idp.stat("device_authorization"), 0, "{provider:?}");

        // A wrong secret: the provider's invalid_client, with our hint.
        write_file(&env, "client.secret", "wrong", 0o600);
        let out = env.run(["login"]);
        out.assert_code(2);
        assert!(out.stderr.contains("invalid_client"), "{provider:?}: {out}");
        assert!(
            out.stderr
                .contains("check `client_id` and the client secret"),
            "{out}"
        );
    }
}

#[test]
fn doctor_checks_what_a_workload_needs() {
    let (idp, cluster, env) = workload_stack(&["workload-platform"]);
    let path = env.home().join("token.jwt");
    env.write_config(&workload_profile(
        &idp,
        Some(&cluster),
        "workload-platform",
        &toml_path("client_assertion_file", &path),
    ));
    write_file(&env, "token.jwt", &idp.platform_token(json!({})), 0o600);
    let out = env.run(["doctor", "--format", "json"]);
    out.assert_success();
    let report = out.stdout_json();
    for name in ["workload grant", "client auth method", "client credential"] {
        assert_eq!(
            doctor_check(&report, name)["status"],
            "ok",
            "{name}: {report}"
        );
    }
    assert!(
        doctor_check(&report, "client credential")["detail"]
            .as_str()
            .unwrap()
            .contains("expires in"),
        "{report}"
    );
    // Nothing was sent with the credential.
    assert_eq!(idp.stat("token_client_credentials"), 0);

    // Expired, then readable by others: the credential check fails.
    let expired = idp.platform_token(json!({ "exp_in": -30, "iat_offset": -600 }));
    write_file(&env, "token.jwt", &expired, 0o600);
    let out = env.run(["doctor", "--format", "json"]);
    out.assert_code(1);
    let c = doctor_check(&out.stdout_json(), "client credential").clone();
    assert_eq!(c["status"], "fail");
    assert!(c["detail"].as_str().unwrap().contains("expired"), "{c}");
    write_file(&env, "token.jwt", &idp.platform_token(json!({})), 0o644);
    let out = env.run(["doctor", "--format", "json"]);
    out.assert_code(1);
    let c = doctor_check(&out.stdout_json(), "client credential").clone();
    assert!(c["hint"].as_str().unwrap().contains("chmod 600"), "{c}");
}

#[test]
fn config_init_writes_a_workload_profile() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let key = write_file(
        &env,
        "client.key",
        idp.workload()["ec_pem"].as_str().unwrap(),
        0o600,
    );
    let key_arg = key.display().to_string();
    env.run([
        "config",
        "init",
        "--host",
        "127.0.0.1",
        "--issuer",
        idp.issuer(),
        "--client-id",
        "workload-jwt",
        "--private-key-file",
        &key_arg,
    ])
    .assert_success();
    let show = env.run(["config", "show", "--format", "json"]);
    show.assert_success();
    let v = show.stdout_json();
    let value = |k: &str| support::steps::config_row(&v, k);
    assert_eq!(value("auth.oauth2.grant")["value"], "client_credentials");
    assert_eq!(value("auth.oauth2.private_key_file")["value"], key_arg);
    assert!(
        value("auth.oauth2.private_key_file")["source"]
            .as_str()
            .unwrap()
            .starts_with("file")
    );
    // A client's scopes are not a person's: none written, none sent.
    assert_eq!(value("auth.oauth2.scopes")["source"], "default");
    let out = login_json(&env);
    out.assert_success();
    assert_eq!(out.stdout_json()["subject"], "workload-jwt");
}
