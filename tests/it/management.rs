//! `management create|list|revoke` end to end: the real binary, the real
//! OpenID provider (tests/idp) and the reference cluster.

use crate::support;

use serde_json::{Value, json};
use support::cluster::Cluster;
use support::{DEFAULT_TIMEOUT, Idp, Output, ProfileToml, TestEnv};

/// A logged-in environment for `user` against `cluster`.
fn logged_in(idp: &Idp, cluster: &Cluster, user: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(idp).cluster(cluster).build());
    support::login(&env, idp, user);
    env
}

/// A provider, the reference cluster trusting it, and `user` logged in.
fn stack(user: &str) -> (Idp, Cluster, TestEnv) {
    support::Stack::with(Idp::builder().interval(1).start(), user).parts()
}

fn create(env: &TestEnv, description: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "management",
        "create",
        "--description",
        description,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = env.run(args);
    let v = if out.success() {
        out.stdout_json()
    } else {
        Value::Null
    };
    (out, v)
}

fn list(env: &TestEnv) -> Vec<Value> {
    let out = env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    out.stdout_json().as_array().unwrap().clone()
}

#[test]
fn admin_creates_lists_and_revokes() {
    let (_idp, cluster, env) = stack("admin");

    let (out, t) = create(&env, "ci pipeline", &["--expires-in", "30d", "-vv"]);
    out.assert_success();
    let token = t["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("M.V1."), "{t}");
    assert!(token.starts_with(t["token_prefix"].as_str().unwrap()));
    assert_eq!(support::described(&t["description"]), "ci pipeline");
    assert_eq!(t["created_by"], "admin");
    assert!(t["revoked_at"].is_null());
    let exp = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap()).unwrap();
    let days = (exp.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "{days}");
    assert!(
        out.stderr.contains("only time the token is shown"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&token[5..]), "token on stderr");

    // Table form of create shows the token once, on stdout.
    let out = env.run(["management", "create", "--description", "second"]);
    out.assert_success();
    assert!(
        out.stdout.contains("TOKEN") && out.stdout.contains("M.V1."),
        "{}",
        out.stdout
    );

    let all = list(&env);
    assert_eq!(all.len(), 2);
    let listed = all.iter().find(|x| x["id"] == t["id"]).unwrap();
    assert!(listed.get("access_token").is_none(), "{listed}");
    let table = env.run(["-vv", "management", "list"]);
    table.assert_success();
    for col in influx_bootstrap::commands::management::FULL_COLUMNS {
        assert!(table.stdout.contains(col), "{col}: {}", table.stdout);
    }
    for text in [&table.stdout, &table.stderr] {
        assert!(!text.contains(&token[5..]), "token string in list output");
    }
    // Sorting by description puts "ci pipeline" before "second".
    let out = env.run([
        "management",
        "list",
        "--sort",
        "description",
        "--format",
        "json",
    ]);
    let sorted = out.stdout_json();
    assert_eq!(support::described(&sorted[0]["description"]), "ci pipeline");

    // The new token works, until revoked.
    cluster.assert_works(&token, &t["id"]);
    let out = env.run(["management", "revoke", t["id"].as_str().unwrap(), "--force"]);
    out.assert_success();
    assert!(out.stderr.contains("Revoked"), "{}", out.stderr);
    let after = list(&env);
    let revoked = after.iter().find(|x| x["id"] == t["id"]).unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let r = cluster.get_with(&token, t["id"].as_str().unwrap());
    assert_eq!(r.status(), 401, "a revoked token no longer authenticates");
    // Revoking twice is fine.
    env.run(["management", "revoke", t["id"].as_str().unwrap(), "--force"])
        .assert_success();
}

#[test]
fn one_command_logs_in_when_needed() {
    let (idp, _cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    let run = env.spawn([
        "management",
        "list",
        "--format",
        "json",
        "--browser",
        "never",
    ]);
    // The prompt (stderr) comes once the provider issued the code.
    run.wait_for_stderr("enter the code");
    let codes = idp.pending_user_codes();
    assert_eq!(codes.len(), 1, "{codes:?}");
    let code = codes[0].clone();
    idp.approve(&code, "admin");
    let out = run.wait_output();
    out.assert_success();
    assert_eq!(out.stdout_json(), json!([]), "stdout holds only the list");
    // The code in the box exactly as issued (issue 13: nothing inserted).
    assert!(
        out.stderr.contains(&format!("║   {code}   ║")),
        "{}",
        out.stderr
    );
}

#[test]
fn non_admin_gets_a_clear_403() {
    let (_idp, cluster, env) = stack("viewer");
    let (out, _) = create(&env, "nope", &[]);
    out.assert_fails(8, &["viewer", "not an admin", "(claim sub)"]);
    assert_eq!(cluster.token_count(), 0);
}

#[test]
fn management_tokens_authenticate_and_expire() {
    let (_idp, cluster, env) = stack("admin");
    let (_, a) = create(&env, "automation", &[]);
    let (_, short) = create(&env, "short-lived", &["--expires-in", "1h"]);

    // A management token creates another; createdBy names it.
    let args = [
        "management",
        "create",
        "--description",
        "made by a token",
        "--format",
        "json",
    ];
    let out = env.run_with_mgmt_token(args, a["access_token"].as_str().unwrap());
    out.assert_success();
    let b = out.stdout_json();
    assert_eq!(
        b["created_by"],
        format!("token:{}", a["id"].as_str().unwrap())
    );

    // An expired token is refused: its expiry moves into the past on the
    // cluster (no waiting for the clock).
    cluster.db().expire(short["id"].as_str().unwrap());
    let short_token = short["access_token"].as_str().unwrap();
    let o = env.run_with_mgmt_token(["management", "list"], short_token);
    let stderr = support::assert_rejected_management_token(&o);
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_dropped_response_is_retried_without_minting_twice() {
    let (_idp, cluster, env) = stack("admin");
    cluster.faults(json!({"drop_after_create": 1}));
    let (out, t) = create(&env, "exactly once", &[]);
    out.assert_success();
    assert_eq!(
        cluster.token_count(),
        1,
        "the replay returned the first token"
    );
    assert_eq!(cluster.requests("POST /api/v0/management/tokens"), 2);
    assert_eq!(list(&env)[0]["id"], t["id"]);
}

#[test]
fn retry_after_is_waited_out() {
    let (_idp, cluster, env) = stack("admin");
    // The first 503 goes to the pre-flight probe (which goes on: the cluster
    // is there), the next two to the list, which waits them out.
    cluster.faults(json!({"fail_next": 3, "retry_after": 1}));
    let out = env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    assert!(out.stderr.contains("retrying"), "{}", out.stderr);
    assert_eq!(cluster.requests("GET /api/v0/management/tokens"), 4);
    // A 500 on create is not retried (the POST may have done something), and
    // nothing is created.
    cluster.faults(json!({"fail_next": 2, "fail_status": 429, "retry_after": 1}));
    let (out, _) = create(&env, "after 429", &[]);
    out.assert_success();
}

#[test]
fn https_with_the_test_ca_and_without_it() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::builder(&idp).tls().start();
    let env = logged_in(&idp, &cluster, "admin");
    assert_eq!(list(&env).len(), 0);

    // Same profile without the CA: the TLS error names the host and cause.
    env.write_config(
        &ProfileToml::new(&idp)
            .host("127.0.0.1")
            .port(cluster.port())
            .build(),
    );
    let out = env.run(["management", "list"]);
    out.assert_fails(9, &[&format!("127.0.0.1:{}", cluster.port())]);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ca ="), "{}", out.stderr);
}

#[test]
fn unauthorized_session_is_dropped_with_a_hint() {
    let idp = Idp::builder().interval(1).start();
    // The cluster expects another audience, so the session's JWT is refused.
    let cluster = Cluster::builder(&idp)
        .audience("https://other.example.test")
        .start();
    let env = logged_in(&idp, &cluster, "admin");
    let out = env.run(["management", "list"]);
    out.assert_fails(8, &["login --force"]);
    env.run(["status"]).assert_code(6);
}

#[test]
fn bad_input_is_refused_before_any_network_call() {
    // Nothing listens at this issuer: a network call would exit 5, not 2.
    let env = support::unreachable_issuer_env();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--description", "x", "--expires-at", "2020-01-01T00:00:00Z"],
            "in the past",
        ),
        (
            vec!["--description", "x", "--expires-at", "next week"],
            "2027-03-01T00:00:00Z",
        ),
        (vec!["--description", "   "], "empty"),
        (vec!["--description", "x", "--expires-in", "forever"], "90d"),
    ];
    for (args, want) in cases {
        let mut a = vec!["management", "create"];
        a.extend(args.iter());
        let out = env.run(a);
        out.assert_code(2);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
    let long = "x".repeat(10 * 1024);
    let out = env.run(["management", "create", "--description", &long]);
    out.assert_code(2);
    assert!(
        out.stderr.len() < 1000,
        "the 10 KiB description is not echoed back"
    );
}

#[test]
fn revoke_needs_confirmation_and_continues_past_failures() {
    let (_idp, _cluster, env) = stack("admin");
    let (_, t) = create(&env, "to revoke", &[]);
    let id = t["id"].as_str().unwrap();
    // No terminal and no --force: refused, nothing revoked.
    let out = env.run(["management", "revoke", id]);
    out.assert_fails(2, &["--force"]);
    assert!(list(&env)[0]["revoked_at"].is_null());
    // One unknown id among several: the others are still revoked.
    let out = env.run([
        "management",
        "revoke",
        "00000000-0000-4000-8000-000000000000",
        id,
        "--force",
    ]);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("1 of 2 revocations failed"),
        "{}",
        out.stderr
    );
    assert!(list(&env)[0]["revoked_at"].is_string());
}

#[test]
fn dedicated_prefix() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::builder(&idp).dedicated("acc-1", "clu-1").start();
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::new(&idp)
            .cluster(&cluster)
            .dedicated("acc-1", "clu-1")
            .build(),
    );
    let mut run = env.spawn(["login", "--format", "json", "--browser", "never"]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    run.wait_output().assert_success();
    let (out, _) = create(&env, "dedicated", &[]);
    out.assert_success();
    assert_eq!(
        cluster
            .requests("POST /api/v0/accounts/{account_id}/clusters/{cluster_id}/management/tokens"),
        1,
        "{}",
        cluster.stats()
    );
}
