//! `database list|create|delete` and `token create|list|get|revoke` end to
//! end: the real binary, the real OpenID provider (tests/idp) and the
//! reference cluster playing a **stock** cluster (our management-token routes
//! off), in both path forms of InfluxData's documented Management API, and as
//! Cloud Dedicated behind `management_url`. Database tokens are then used on
//! the cluster's data path to prove their permissions.

use crate::support;

use reference_cluster::config::DocumentedPaths;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::cluster::Cluster;
use support::stock::{
    LONG, assert_no_secret_on_stderr, dedicated_behind_management_url, logged_in, query, requests,
    stock, write,
};
use support::{Idp, Output, ProfileToml, TestEnv};

const ONES: &str = "11111111-1111-1111-1111-111111111111";
const DAY_NS: u64 = 86_400_000_000_000;

/// Runs the CLI and parses its stdout as one JSON document.
#[track_caller]
fn json(env: &TestEnv, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let out = env.run(a);
    out.assert_success();
    out.stdout_json()
}

#[track_caller]
fn fails(env: &TestEnv, args: &[&str], code: i32, stderr: &str) -> Output {
    let out = env.run(args);
    out.assert_code(code);
    assert!(out.stderr.contains(stderr), "want {stderr:?}\n{out}");
    out
}
fn memory_file(env: &TestEnv) -> PathBuf {
    env.cache_dir().join("documented-api-paths.json")
}

/// The path form remembered for `cluster`, if any.
fn remembered(env: &TestEnv, cluster: &Cluster) -> Option<String> {
    let text = std::fs::read_to_string(memory_file(env)).ok()?;
    let v: Value = serde_json::from_str(&text).unwrap();
    v["forms"][format!("{}/", cluster.url())]
        .as_str()
        .map(str::to_string)
}
#[test]
fn databases_on_a_stock_cluster() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = logged_in(&idp, &cluster);

    assert_eq!(json(&env, &["database", "list"]), json!([]));
    let out = env.run(["database", "list"]);
    out.assert_success();
    assert!(out.stderr.contains("No databases"), "{out}");

    let db = json(
        &env,
        &[
            "database",
            "create",
            "telegraf",
            "--retention-period",
            "30d",
            "--max-tables",
            "10",
            "--max-columns",
            "50",
        ],
    );
    assert_eq!(
        db,
        json!({"name": "telegraf", "max_tables": 10, "max_columns_per_table": 50,
               "retention_period": 30 * DAY_NS})
    );
    let out = env.run([
        "database",
        "create",
        "metrics",
        "--retention-period",
        "infinite",
    ]);
    out.assert_success();
    for want in ["metrics", "500", "200", "infinite"] {
        assert!(out.stdout.contains(want), "{want}\n{out}");
    }
    // 409 reads as "already exists", exit 1.
    let out = fails(
        &env,
        &["database", "create", "telegraf"],
        1,
        "database `telegraf` already exists",
    );
    assert!(out.stderr.contains("database list"), "{out}");

    let all = json(&env, &["database", "list"]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["metrics", "telegraf"]);
    let out = env.run(["database", "list"]);
    out.assert_success();
    assert!(
        out.stdout.contains("RETENTION") && out.stdout.contains("30days"),
        "{out}"
    );

    // Bad input is refused before any request.
    let posts = requests(&cluster, "POST", "/api/v0/databases");
    assert_eq!(posts, 3);
    let long_name = "x".repeat(65);
    for (args, want) in [
        (vec!["database", "create", ""], "1 to 64 characters"),
        (vec!["database", "create", long_name.as_str()], "has 65"),
        (
            vec!["database", "create", "d", "--retention-period", "forever"],
            "--retention-period",
        ),
        (
            vec!["database", "create", "d", "--max-tables", "0"],
            "--max-tables",
        ),
        (vec!["database", "delete", ""], "1 to 64 characters"),
    ] {
        fails(&env, &args, 2, want);
    }
    assert_eq!(requests(&cluster, "POST", "/api/v0/databases"), posts);

    // Delete asks first; without a terminal it needs --force.
    fails(
        &env,
        &["database", "delete", "metrics"],
        2,
        "refusing to delete without confirmation",
    );
    assert_eq!(
        json(&env, &["database", "list"]).as_array().unwrap().len(),
        2
    );
    let out = env.run(["database", "delete", "metrics", "--force"]);
    out.assert_success();
    assert!(out.stderr.contains("Deleted database metrics"), "{out}");
    fails(
        &env,
        &["database", "delete", "metrics", "--force"],
        1,
        "no database `metrics` on this cluster (HTTP 404)",
    );
    assert_eq!(
        json(&env, &["database", "list"]).as_array().unwrap().len(),
        1
    );

    // A stock cluster's short form answered; nothing went to the long form.
    assert!(requests(&cluster, "GET", "/api/v0/databases") >= 4);
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/databases")), 0);
    assert_eq!(remembered(&env, &cluster).as_deref(), Some("short"));
}

#[test]
fn database_tokens_and_the_data_path() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = logged_in(&idp, &cluster);
    for db in ["sensors", "other"] {
        env.run(["database", "create", db]).assert_success();
    }

    // Bad input is refused before any request.
    for (args, want) in [
        (
            vec!["token", "create", "--description", "x"],
            "at least one permission",
        ),
        (
            vec![
                "token",
                "create",
                "--description",
                "x",
                "--read-database",
                "a",
                "--expires-at",
                "2001-01-01T00:00:00Z",
            ],
            "in the past",
        ),
        (
            vec![
                "token",
                "create",
                "--description",
                " ",
                "--read-database",
                "a",
            ],
            "description is empty",
        ),
    ] {
        fails(&env, &args, 2, want);
    }
    assert_eq!(requests(&cluster, "POST", "/api/v0/tokens"), 0);

    // A writer for `sensors`, JSON, at -vv.
    let flags = ["--expires-in", "90d", "--format", "json"];
    let out = env.run(support::stock::telegraf_sensors(
        &["-vv", "token", "create"],
        &flags,
    ));
    out.assert_success();
    let created = out.stdout_json();
    let writer = created["access_token"].as_str().unwrap().to_string();
    assert!(
        writer.starts_with("apiv1_") && writer.len() >= 64,
        "{created}"
    );
    assert_eq!(
        created["permissions"],
        json!([{"action": "read", "resource": "sensors"}, {"action": "write", "resource": "sensors"}])
    );
    assert_eq!(
        support::described(&created["description"]),
        "telegraf on host-1"
    );
    assert!(created["revoked_at"].is_null());
    let exp =
        chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap()).unwrap();
    let days = (exp.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "{days}");
    assert!(
        out.stderr.contains("only time the database token is shown"),
        "{out}"
    );
    assert_no_secret_on_stderr(&out, &writer);
    // The documented API has no idempotency: the create went out once.
    assert_eq!(requests(&cluster, "POST", "/api/v0/tokens"), 1);

    // Its permissions, on the data path.
    assert_eq!(query(&cluster, &writer, "sensors"), 200);
    assert_eq!(write(&cluster, &writer, "sensors"), 204);
    assert_eq!(query(&cluster, &writer, "other"), 403);
    assert_eq!(write(&cluster, &writer, "other"), 403);

    // A reader of every database, as a table (the token on stdout, once).
    let out = env.run([
        "-vv",
        "token",
        "create",
        "--description",
        "grafana",
        "--read-database",
        "*",
    ]);
    out.assert_success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("TOKEN"))
        .unwrap_or_else(|| panic!("no TOKEN row\n{out}"));
    let reader = line.split_whitespace().nth(1).unwrap().to_string();
    assert!(reader.starts_with("apiv1_"), "{out}");
    assert_eq!(out.stdout.matches(&reader).count(), 1);
    assert!(out.stdout.contains("read:*"), "{out}");
    assert_no_secret_on_stderr(&out, &reader);
    assert_eq!(query(&cluster, &reader, "other"), 200);
    assert_eq!(query(&cluster, &reader, "sensors"), 200);
    assert_eq!(write(&cluster, &reader, "sensors"), 403);

    // list and get never show a token.
    let out = env.run(["-vv", "token", "list", "--format", "json"]);
    out.assert_success();
    let list = out.stdout_json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], created["id"]);
    assert_eq!(support::described(&list[1]["description"]), "grafana");
    assert!(list.iter().all(|t| t.get("access_token").is_none()));
    assert!(!out.stdout.contains("apiv1_"), "{out}");
    assert_no_secret_on_stderr(&out, &writer);
    let out = env.run(["token", "list"]);
    out.assert_success();
    assert!(out.stdout.contains("read:sensors write:sensors"), "{out}");
    assert!(!out.stdout.contains("apiv1_"), "{out}");

    let id = created["id"].as_str().unwrap();
    let got = json(&env, &["token", "get", id]);
    let mut want = created.clone();
    want.as_object_mut().unwrap().remove("access_token");
    assert_eq!(got, want);
    let out = env.run(["token", "get", id]);
    out.assert_success();
    assert!(out.stdout.contains("telegraf on host-1") && !out.stdout.contains("apiv1_"));
    let unknown = "00000000-0000-4000-8000-000000000000";
    fails(
        &env,
        &["token", "get", unknown],
        1,
        &format!("no database token with id `{unknown}`"),
    );

    // Revoke: asks first; then the token stops working, and stays listed.
    fails(
        &env,
        &["token", "revoke", id],
        2,
        "refusing to revoke without confirmation",
    );
    assert_eq!(write(&cluster, &writer, "sensors"), 204);
    let out = env.run(["token", "revoke", id, "--force"]);
    out.assert_success();
    assert!(
        out.stderr.contains(&format!("Revoked database token {id}")),
        "{out}"
    );
    assert_eq!(write(&cluster, &writer, "sensors"), 401);
    assert_eq!(query(&cluster, &writer, "sensors"), 401);
    let got = json(&env, &["token", "get", id]);
    assert!(got["revoked_at"].is_string(), "{got}");
    assert_eq!(json(&env, &["token", "list"]).as_array().unwrap().len(), 2);
    // Past failures it goes on, and says how many failed.
    let reader_id = list[1]["id"].as_str().unwrap();
    let out = fails(
        &env,
        &["token", "revoke", unknown, reader_id, "--force"],
        1,
        "1 of 2 revocations failed",
    );
    assert!(out.stderr.contains("no database token with id"), "{out}");
    assert_eq!(query(&cluster, &reader, "other"), 401);
    assert_eq!(remembered(&env, &cluster).as_deref(), Some("short"));
}

#[test]
fn falls_back_to_the_long_form_and_remembers_it() {
    let idp = Idp::builder().interval(1).start();
    let mut cluster = stock(&idp, DocumentedPaths::Long, None);
    let env = logged_in(&idp, &cluster);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", cluster.port()).parse().unwrap();

    // First command: the short form answers 404, the long one (placeholder
    // ids) works, and is remembered for this cluster.
    let out = env.run(["-v", "database", "list", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json(), json!([]));
    assert!(out.stderr.contains("answered 404"), "{out}");
    // The pre-flight finds the form before the login (issue 23, A8b): the
    // short form's 404 and the long form's 401, both without a credential;
    // then the list goes straight to the long form. Three requests, as
    // before (`GET /`, then the list's 404 and its fallback).
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/databases")), 2);
    assert_eq!(remembered(&env, &cluster).as_deref(), Some("long"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(memory_file(&env))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Later commands go straight to the long form.
    let out = env.run(["-vv", "database", "create", "db"]);
    out.assert_success();
    assert!(
        out.stderr.contains(&format!(
            "/api/v0/accounts/{ONES}/clusters/{ONES}/databases"
        )),
        "{out}"
    );
    assert!(!out.stderr.contains("answered 404"), "{out}");
    let t = json(
        &env,
        &[
            "token",
            "create",
            "--description",
            "w",
            "--write-database",
            "db",
        ],
    );
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(write(&cluster, token, "db"), 204);
    assert_eq!(t["account_id"], ONES, "long-form objects carry the ids");
    assert_eq!(requests(&cluster, "POST", &format!("{LONG}/tokens")), 1);
    let id = t["id"].as_str().unwrap().to_string();

    // An item route with no form known yet needs the form found first (a
    // 404 on the item itself could mean "no such token"): the pre-flight's
    // `/databases` finds it, so no collection route is read for it.
    std::fs::remove_file(memory_file(&env)).unwrap();
    let probes = requests(&cluster, "GET", &format!("{LONG}/databases"));
    let got = json(&env, &["token", "get", &id]);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(
        requests(&cluster, "GET", &format!("{LONG}/databases")),
        probes + 1
    );
    // None: `token create` no longer lists before it creates (the run's
    // marker finds a lost create), and `token get` no longer lists the
    // tokens to find the form (the pre-flight found it).
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/tokens")), 0);
    // Two: `token create` reads the new token back, and `token get`.
    assert_eq!(
        requests(&cluster, "GET", &format!("{LONG}/tokens/{{id}}")),
        2
    );
    assert_eq!(remembered(&env, &cluster).as_deref(), Some("long"));

    // The same address now serves both forms: the remembered long form is
    // used, the short one is never tried.
    cluster.stop();
    let mut cluster = stock(&idp, DocumentedPaths::Both, Some(addr));
    assert_eq!(json(&env, &["token", "list"]), json!([]));
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/tokens")), 1);
    assert_eq!(requests(&cluster, "GET", "/api/v0/tokens"), 0);

    // And when only the short form is left, the pre-flight's 404 on the
    // remembered long form sends us back to it (its 401, then the list:
    // two), and that is remembered instead.
    cluster.stop();
    let cluster = stock(&idp, DocumentedPaths::Short, Some(addr));
    assert_eq!(json(&env, &["database", "list"]), json!([]));
    assert_eq!(requests(&cluster, "GET", "/api/v0/databases"), 2);
    assert_eq!(remembered(&env, &cluster).as_deref(), Some("short"));
    json(&env, &["token", "list"]);
    assert_eq!(requests(&cluster, "GET", "/api/v0/tokens"), 1);
}

#[test]
fn clustered_long_form_with_the_profile_ids() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::builder(&idp)
        .dedicated("acc-7", "clu-7")
        .configure(|c| {
            c.management_tokens = false;
            c.documented_paths = DocumentedPaths::Long;
        })
        .start();
    let env = TestEnv::new();
    let profile = ProfileToml::new(&idp).cluster(&cluster).build().replacen(
        "[profile.tls]",
        "account_id = \"acc-7\"\ncluster_id = \"clu-7\"\n[profile.tls]",
        1,
    );
    env.write_config(&profile);
    support::login(&env, &idp, "admin");
    let db = json(&env, &["database", "create", "db"]);
    assert_eq!(db["cluster_id"], "clu-7");
    assert_eq!(requests(&cluster, "POST", &format!("{LONG}/databases")), 1);
}

#[test]
fn dedicated_behind_management_url_with_a_management_token() {
    let idp = Idp::builder().interval(1).start();
    let (cluster, mgmt, profile) = dedicated_behind_management_url(&idp);
    let env = TestEnv::new();
    let profile = profile.mgmt_token(Some(&mgmt)).build();
    env.write_config(&profile);

    let show = json(&env, &["config", "show"]);
    let row = support::config_row(&show, "management_url");
    assert_eq!(row["value"], format!("{}/", cluster.url()));
    assert!(
        row["source"].as_str().unwrap().starts_with("file "),
        "{row}"
    );

    let db = json(
        &env,
        &["database", "create", "sensors", "--retention-period", "1y"],
    );
    assert_eq!(db["account_id"], "acc-1");
    assert_eq!(db["cluster_id"], "clu-1");
    assert_eq!(json(&env, &["database", "list"])[0]["name"], "sensors");
    let t = json(
        &env,
        &[
            "token",
            "create",
            "--description",
            "telegraf",
            "--write-database",
            "sensors",
        ],
    );
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(t["cluster_id"], "clu-1");
    assert_eq!(write(&cluster, token, "sensors"), 204);
    assert_eq!(query(&cluster, token, "sensors"), 403);
    let id = t["id"].as_str().unwrap();
    assert_eq!(json(&env, &["token", "get", id])["id"], id);
    assert_eq!(json(&env, &["token", "list"]).as_array().unwrap().len(), 1);
    env.run(["token", "revoke", id, "--force"]).assert_success();
    assert_eq!(write(&cluster, token, "sensors"), 401);
    env.run(["database", "delete", "sensors", "--force"])
        .assert_success();

    // Dedicated is always the long form: the short one was never tried,
    // nothing is remembered, and no person was asked to log in.
    for (m, p) in [("POST", "/databases"), ("POST", "/tokens")] {
        assert_eq!(requests(&cluster, m, &format!("{LONG}{p}")), 1, "{m} {p}");
        assert_eq!(requests(&cluster, m, &format!("/api/v0{p}")), 0, "{m} {p}");
    }
    // `database list` once, and the pre-flight of 6 of the 7 database and
    // token commands (without a credential, where it used to ask `/`):
    // `token list`'s own read stands in for its pre-flight (issue 21).
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/databases")), 7);
    assert_eq!(requests(&cluster, "GET", "/api/v0/databases"), 0);
    // `token list`, on the long form (`token create` no longer lists
    // before it creates: the run's marker finds a lost create).
    assert_eq!(requests(&cluster, "GET", &format!("{LONG}/tokens")), 1);
    assert_eq!(requests(&cluster, "GET", "/api/v0/tokens"), 0);
    assert!(!memory_file(&env).exists());
    assert_eq!(idp.stat("device_authorization"), 0);

    // Other ids: the cluster's 404 is an error, not a fallback.
    let out = env
        .cmd(["database", "list"])
        .env("INFLUX_BOOTSTRAP_CLUSTER_ID", "clu-other")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 404") && stderr.contains("clu-other"),
        "{stderr}"
    );

    // Without management_url, Dedicated looks at console.influxdata.com.
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).dedicated("a", "c").build());
    let show = json(&env, &["config", "show"]);
    let row = support::config_row(&show, "management_url");
    assert_eq!(
        row,
        json!({"key": "management_url", "value": "https://console.influxdata.com/", "source": "default"})
    );
}

#[test]
fn a_token_create_is_never_repeated_blindly() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = logged_in(&idp, &cluster);
    let create = [
        "token",
        "create",
        "--description",
        "lost",
        "--write-database",
        "db",
        "--format",
        "json",
    ];
    // The response to a create is lost: the token exists but we never got
    // its secret. The documented API has no idempotency, so the create is
    // not simply sent again: the tokens are listed, the lost one revoked,
    // and only then is one more created. Exactly one live token remains,
    // and it is the one shown.
    cluster.faults(json!({"drop_after_create": 1}));
    let out = env.run(create);
    out.assert_success();
    assert!(out.stderr.contains("answer was lost"), "{out}");
    let shown = out.stdout_json();
    assert_eq!(requests(&cluster, "POST", "/api/v0/tokens"), 2);
    let listed = json(&env, &["token", "list"]);
    let live: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["revoked_at"].is_null())
        .collect();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(live.len(), 1, "{listed}");
    assert_eq!(live[0]["id"], shown["id"]);
    assert_no_secret_on_stderr(&out, shown["access_token"].as_str().unwrap());

    // A 503 on a read is retried as any read is. Two: the pre-flight's
    // `GET /api/v0/databases` takes the first (busy but there: it goes on,
    // never retried), the list the second.
    cluster.faults(json!({"fail_next": 2, "fail_status": 503, "retry_after": 1}));
    let before = requests(&cluster, "GET", "/api/v0/tokens");
    assert_eq!(json(&env, &["token", "list"]).as_array().unwrap().len(), 2);
    assert_eq!(requests(&cluster, "GET", "/api/v0/tokens"), before + 2);
}
