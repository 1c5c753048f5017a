//! `mint` and `rotate` of **database tokens** end to end: the real binary,
//! the real OpenID provider and the reference cluster playing a stock
//! cluster (our management-token routes off), so only InfluxData's documented
//! Management API is there. The minted token is then used on the cluster's
//! data path to prove its permissions; the non-secret state record is read
//! from disk; a dropped create is reconciled. Also the crash-consistent
//! rotation (a `kill -9` half-way) for both kinds of token.

use crate::support;

use reference_cluster::config::DocumentedPaths;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::stock::{
    LONG, SHORT, assert_no_secret_on_stderr, dedicated_behind_management_url, logged_in,
    management_token, query, requests, stock, write,
};
use support::{Idp, ProfileToml, TestEnv};
fn state_dir(env: &TestEnv) -> PathBuf {
    env.home().join(".local/state/influx-bootstrap/tokens")
}

/// The records in the state directory, parsed.
fn records(env: &TestEnv) -> Vec<Value> {
    let Ok(dir) = std::fs::read_dir(state_dir(env)) else {
        return Vec::new();
    };
    let mut out: Vec<Value> = dir
        .map(|e| {
            let p = e.unwrap().path();
            serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
        })
        .collect();
    out.sort_by_key(|r| r["store"].as_str().unwrap().to_string());
    out
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn token_list(env: &TestEnv) -> Vec<Value> {
    let out = env.run(["token", "list", "--format", "json"]);
    out.assert_success();
    out.stdout_json().as_array().unwrap().clone()
}

fn read_file(env: &TestEnv, name: &str) -> String {
    std::fs::read_to_string(env.home().join(name))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn mint_a_database_token_in_both_path_forms() {
    let idp = Idp::builder().interval(1).start();
    for (paths, base) in [
        (DocumentedPaths::Short, SHORT),
        (DocumentedPaths::Long, LONG),
    ] {
        let cluster = stock(&idp, paths, None);
        let env = logged_in(&idp, &cluster);
        env.run(["database", "create", "other"]).assert_success();
        let out = env.run([
            "-vv",
            "mint",
            "--description",
            "telegraf on host-1",
            "--write-database",
            "sensors",
            "--read-database",
            "sensors",
            "--create-database",
            "--expires-in",
            "90d",
            "--store",
            "file:telegraf.token",
            "--format",
            "json",
        ]);
        out.assert_success();
        let token = read_file(&env, "telegraf.token");
        assert!(token.starts_with("apiv1_"), "{paths:?}");
        assert_no_secret_on_stderr(&out, &token);
        assert!(out.stderr.contains("Created database sensors"), "{out}");
        let summary = out.stdout_json();
        assert_eq!(summary["event"], "minted");
        assert_eq!(summary["verified"], true);
        assert_eq!(
            support::described(&summary["description"]),
            "telegraf on host-1"
        );
        assert_eq!(
            summary["permissions"],
            json!(["read:sensors", "write:sensors"])
        );
        assert!(!out.stdout.contains("apiv1_"), "{out}");

        // Its permissions, on the data path.
        assert_eq!(write(&cluster, &token, "sensors"), 204, "{paths:?}");
        assert_eq!(query(&cluster, &token, "sensors"), 200);
        assert_eq!(write(&cluster, &token, "other"), 403);
        assert_eq!(query(&cluster, &token, "other"), 403);

        // One create and one read-back, no listing (issue 21: the run's
        // marker finds a lost create, so nothing is listed before it);
        // every request of the pipeline in the form this cluster serves.
        assert_eq!(requests(&cluster, "POST", &format!("{base}/tokens")), 1);
        assert_eq!(requests(&cluster, "GET", &format!("{base}/tokens")), 0);
        assert_eq!(
            requests(&cluster, "GET", &format!("{base}/tokens/{{id}}")),
            1,
            "{paths:?}"
        );

        // The record: non-secret, private, naming the token.
        let recs = records(&env);
        assert_eq!(recs.len(), 1, "{recs:?}");
        let r = &recs[0];
        assert_eq!(r["kind"], "database");
        assert_eq!(r["token_id"], summary["id"]);
        // Relative store paths are made absolute (issue 23, A16).
        assert_eq!(
            r["store"],
            format!("file:{}", env.home().join("telegraf.token").display())
        );
        assert_eq!(support::described(&r["description"]), "telegraf on host-1");
        assert_eq!(r["cluster"]["api_base"], format!("{}/", cluster.url()));
        assert!(!r.to_string().contains("apiv1_"), "{r}");
        #[cfg(unix)]
        {
            assert_eq!(mode(&state_dir(&env)), 0o700);
            for e in std::fs::read_dir(state_dir(&env)).unwrap() {
                assert_eq!(mode(&e.unwrap().path()), 0o600);
            }
        }

        // --if-missing: the recorded token is still good: nothing is created.
        let mint_if_missing = [
            "mint",
            "--description",
            "telegraf on host-1",
            "--write-database",
            "sensors",
            "--read-database",
            "sensors",
            "--if-missing",
            "--store",
            "file:telegraf.token",
        ];
        let out = env.run(mint_if_missing);
        out.assert_success();
        assert!(out.stderr.contains("nothing to do"), "{out}");
        assert_eq!(requests(&cluster, "POST", &format!("{base}/tokens")), 1);
        assert_eq!(read_file(&env, "telegraf.token"), token);

        // Revoked behind our back: --if-missing replaces it.
        let id = summary["id"].as_str().unwrap();
        env.run(["token", "revoke", id, "--force"]).assert_success();
        let out = env.run(mint_if_missing);
        out.assert_success();
        assert!(out.stderr.contains("which was revoked"), "{out}");
        let replaced = read_file(&env, "telegraf.token");
        assert_ne!(replaced, token);
        assert_eq!(write(&cluster, &replaced, "sensors"), 204);
        let live: Vec<Value> = token_list(&env)
            .into_iter()
            .filter(|t| t["revoked_at"].is_null())
            .collect();
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(records(&env)[0]["token_id"], live[0]["id"]);
    }
}

#[test]
fn a_dropped_create_ends_with_one_live_token_stored_and_the_lost_one_revoked() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = logged_in(&idp, &cluster);
    env.run(["database", "create", "db"]).assert_success();
    // Another token with the same description and permissions, made before:
    // it must survive (it was there before we asked).
    let other = env.run([
        "token",
        "create",
        "--description",
        "telegraf",
        "--write-database",
        "db",
        "--format",
        "json",
    ]);
    other.assert_success();
    let other_id = other.stdout_json()["id"].as_str().unwrap().to_string();

    cluster.faults(json!({"drop_after_create": 1}));
    let out = env.run([
        "-vv",
        "mint",
        "--description",
        "telegraf",
        "--write-database",
        "db",
        "--store",
        "file:db.token",
    ]);
    out.assert_success();
    let token = read_file(&env, "db.token");
    assert_no_secret_on_stderr(&out, &token);
    assert!(out.stderr.contains("outcome is unknown"), "{out}");
    assert!(out.stderr.contains("answer was lost"), "{out}");
    assert_eq!(requests(&cluster, "POST", "/api/v0/tokens"), 3);

    let all = token_list(&env);
    assert_eq!(all.len(), 3, "{all:?}");
    let mine: Vec<&Value> = all.iter().filter(|t| t["id"] != other_id).collect();
    let live: Vec<&&Value> = mine.iter().filter(|t| t["revoked_at"].is_null()).collect();
    let revoked: Vec<&&Value> = mine.iter().filter(|t| !t["revoked_at"].is_null()).collect();
    assert_eq!((live.len(), revoked.len()), (1, 1), "{all:?}");
    assert!(
        out.stderr.contains(&format!(
            "Revoked database token {}",
            revoked[0]["id"].as_str().unwrap()
        )),
        "{out}"
    );
    // The live one is the stored one (the record says so, and it writes).
    assert_eq!(records(&env)[0]["token_id"], live[0]["id"]);
    assert_eq!(write(&cluster, &token, "db"), 204);
    let other = all.iter().find(|t| t["id"] == other_id).unwrap();
    assert!(other["revoked_at"].is_null(), "{other}");
}

#[test]
fn dedicated_mint_and_rotate_from_a_management_token_with_no_person() {
    let idp = Idp::builder().interval(1).start();
    let (cluster, mgmt, profile) = dedicated_behind_management_url(&idp);
    let env = TestEnv::new();
    let profile = profile.build();
    assert!(profile.contains("management_url"), "{profile}");
    env.write_config(&profile);
    let run = |args: &[&str]| env.run_with_mgmt_token(args, &mgmt);
    run(&["database", "create", "anything"]).assert_success();
    let out = run(&[
        "-vv",
        "mint",
        "--description",
        "grafana",
        "--read-database",
        "*",
        "--expires-in",
        "30d",
        "--store",
        "file:grafana.token",
        "--store",
        "env-file:grafana.env#INFLUX_TOKEN",
    ]);
    out.assert_success();
    let old = read_file(&env, "grafana.token");
    assert_no_secret_on_stderr(&out, &old);
    assert_no_secret_on_stderr(&out, &mgmt);
    assert_eq!(query(&cluster, &old, "anything"), 200);
    assert_eq!(write(&cluster, &old, "anything"), 403);
    let recs = records(&env);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["cluster"]["account_id"], "acc-1");
    assert_eq!(recs[0]["cluster"]["cluster_id"], "clu-1");
    assert_eq!(recs[0]["cluster"]["product"], "dedicated");
    let old_id = recs[0]["token_id"].as_str().unwrap().to_string();
    let before = run(&["token", "get", &old_id, "--format", "json"]).stdout_json();

    // From cron: no person, the management token from the environment.
    let out = run(&[
        "-vv",
        "rotate",
        "--store",
        "file:grafana.token",
        "--store",
        "env-file:grafana.env#INFLUX_TOKEN",
        "--format",
        "json",
    ]);
    out.assert_success();
    let new = read_file(&env, "grafana.token");
    assert_ne!(new, old);
    assert!(read_file(&env, "grafana.env").contains(&new));
    assert_no_secret_on_stderr(&out, &new);
    assert_no_secret_on_stderr(&out, &old);
    let summary = out.stdout_json();
    assert_eq!(summary["event"], "rotated");
    assert_eq!(summary["verified"], true);
    assert_eq!(summary["permissions"], json!(["read:*"]));
    assert_eq!(query(&cluster, &new, "anything"), 200);
    assert_eq!(query(&cluster, &old, "anything"), 401);
    let after = run(&[
        "token",
        "get",
        summary["id"].as_str().unwrap(),
        "--format",
        "json",
    ])
    .stdout_json();
    assert_eq!(
        support::described(&after["description"]),
        support::unmarked(&before["description"])
    );
    assert_ne!(
        after["description"], before["description"],
        "a new run marker"
    );
    assert_eq!(after["permissions"], before["permissions"]);
    // The same lifetime (30 days), counted from the rotation.
    let life = |t: &Value| {
        let c = chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).unwrap();
        let e = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap()).unwrap();
        (e - c).num_seconds()
    };
    assert!(
        (life(&after) - life(&before)).abs() <= 2,
        "{before} {after}"
    );
    let recs = records(&env);
    assert!(
        recs.iter().all(|r| r["token_id"] == summary["id"]),
        "{recs:?}"
    );
    assert_eq!(idp.stat("device_authorization"), 0);
    for (m, p) in [("POST", "/tokens"), ("DELETE", "/tokens/{token_id}")] {
        assert_eq!(requests(&cluster, m, &format!("{SHORT}{p}")), 0, "{m} {p}");
    }
    assert_eq!(
        requests(&cluster, "DELETE", &format!("{LONG}/tokens/{{id}}")),
        1
    );

    // Without the record: rotate needs --id, and works with it.
    std::fs::remove_dir_all(state_dir(&env)).unwrap();
    let out = run(&["rotate", "--store", "file:grafana.token"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--id"), "{out}");
    assert_eq!(read_file(&env, "grafana.token"), new);
    let out = run(&[
        "rotate",
        "--id",
        summary["id"].as_str().unwrap(),
        "--store",
        "file:grafana.token",
    ]);
    out.assert_success();
    let newer = read_file(&env, "grafana.token");
    assert_ne!(newer, new);
    assert_eq!(query(&cluster, &new, "anything"), 401);
    assert_eq!(query(&cluster, &newer, "anything"), 200);
    assert_eq!(records(&env).len(), 1);
}

/// `kill -9` in the middle of a rotation (one store switched, one not yet):
/// the next `rotate` with the same stores rolls the first back, revokes the
/// half-made token, then rotates; in the end exactly one live token, in
/// every store (issue 11 item 8).
#[test]
fn a_rotation_killed_half_way_is_rolled_back_by_the_next_one() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let mgmt = management_token(&cluster);
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
    let cmd = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &mgmt);
        c
    };
    let run = |args: &[&str]| support::Running::spawn(cmd(args)).wait_output();
    run(&[
        "mint",
        "--description",
        "telegraf",
        "--write-database",
        "db",
        "--create-database",
        "--store",
        "file:a.token",
        "--store",
        "file:b.token",
    ])
    .assert_success();
    let old = read_file(&env, "a.token");

    let gate = support::StoreGate::new(env.home(), "crash", 0);
    let rotate = [
        "rotate",
        "--store",
        "file:a.token",
        "--store",
        gate.spec.as_str(),
        "--store",
        "file:b.token",
    ];
    let first = support::Running::spawn(cmd(&rotate));
    gate.wait_until_storing(&first);
    first.signal("KILL");
    gate.open(); // the orphaned store process finishes
    let out = first.wait_output();
    assert_eq!(out.code, None, "killed\n{out}");
    let half = read_file(&env, "a.token");
    assert_ne!(half, old, "store a was switched before the kill");
    assert_eq!(read_file(&env, "b.token"), old);
    let journal = env.home().join(".local/state/influx-bootstrap/journal");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 1);
    let live = |env: &TestEnv| -> Vec<Value> {
        token_list(env)
            .into_iter()
            .filter(|t| t["revoked_at"].is_null())
            .collect()
    };
    let env_with_mgmt = support::env_with_mgmt_token(&idp, &cluster, &mgmt);
    assert_eq!(live(&env_with_mgmt).len(), 2, "old and half-made");

    let second = support::Running::spawn(cmd(&rotate));
    gate.wait_until_storing(&second);
    gate.open();
    let out = second.wait_output();
    out.assert_success();
    assert!(out.stderr.contains("was interrupted"), "{out}");
    assert!(out.stderr.contains("rolled back"), "{out}");
    let now = read_file(&env, "a.token");
    assert!(now != old && now != half, "{out}");
    assert_eq!(read_file(&env, "b.token"), now);
    let live = live(&env_with_mgmt);
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(write(&cluster, &now, "db"), 204);
    for t in [&old, &half] {
        assert_eq!(write(&cluster, t, "db"), 401);
    }
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
}

/// Ctrl-C while the new database token is being stored: it is revoked with
/// the management credential (the token cannot revoke itself), nothing is
/// left behind, exit 130.
#[test]
fn interrupted_while_storing_a_database_token_revokes_it() {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = logged_in(&idp, &cluster);
    let gate = support::StoreGate::new(env.home(), "int", 1);
    let run = env.spawn([
        "mint",
        "--description",
        "interrupted",
        "--write-database",
        "db",
        "--store",
        gate.spec.as_str(),
    ]);
    gate.wait_until_storing(&run);
    run.signal("INT");
    gate.open();
    let out = run.wait_output();
    out.assert_code(130);
    assert!(out.stderr.contains("revoked"), "{out}");
    let all = token_list(&env);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0]["revoked_at"].is_string(), "no orphan: {all:?}");
    assert!(records(&env).is_empty(), "nothing stored, nothing recorded");
}

/// The same for a management token, killed while its last store was being
/// written: no store holds the old token any more, so the next `rotate`
/// finishes forward (the last store gets the new token, the old one is
/// revoked) and stops there.
#[test]
fn a_management_rotation_killed_at_its_last_store_is_finished_by_the_next_one() {
    let stack = support::Stack::start();
    let env = &stack.env;
    env.run(["mint", "--description", "ops", "--store", "file:a.token"])
        .assert_success();
    let old = read_file(env, "a.token");
    let gate = support::StoreGate::new(env.home(), "last", 0);
    let rotate = [
        "rotate",
        "--store",
        "file:a.token",
        "--store",
        gate.spec.as_str(),
    ];
    let first = env.spawn(rotate);
    gate.wait_until_storing(&first);
    first.signal("KILL");
    gate.open();
    assert_eq!(first.wait_output().code, None);
    let new = read_file(env, "a.token");
    assert_ne!(new, old);

    let second = env.spawn(rotate);
    gate.wait_until_storing(&second);
    gate.open();
    let out = second.wait_output();
    out.assert_success();
    assert!(out.stderr.contains("finished: the new token"), "{out}");
    assert!(
        !out.stderr.contains("Created"),
        "no further rotation\n{out}"
    );
    assert_eq!(read_file(env, "a.token"), new);
    let live: Vec<Value> = stack
        .tokens()
        .into_iter()
        .filter(|t| t["revokedAt"].is_null())
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(new.starts_with(live[0]["tokenPrefix"].as_str().unwrap()));
    let recs = records(env);
    let a_store = format!("file:{}", env.home().join("a.token").display());
    let a = recs
        .iter()
        .find(|r| r["store"] == a_store.as_str())
        .unwrap();
    assert_eq!(a["token_id"], live[0]["id"]);
    let journal = env.home().join(".local/state/influx-bootstrap/journal");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
}
