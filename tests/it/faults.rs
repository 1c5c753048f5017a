//! Fault injection: each case asserts the outcome and that nothing was lost
//! or leaked. Deterministic: waits are on events (a line, a file, a log
//! message), never fixed sleeps.

use crate::support;

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::canned::{Canned, Reply};
use support::cluster::Cluster;
use support::{
    DEFAULT_TIMEOUT, Idp, ProfileToml, Running, Stack, StoreGate, TestEnv, login, session_jwt,
};

fn no_files_but(dir: &Path, allowed: &[&str]) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            allowed.contains(&name.as_str()),
            "unexpected file {name} in {}",
            dir.display()
        );
    }
}

// --- identity provider -----------------------------------------------------

#[test]
fn idp_outage_while_polling_is_survived() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    let mut run = env.spawn(["login", "--format", "json", "--browser", "never"]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    // The provider stops listening for 2.5 s (connection refused), then comes
    // back with its state; this call returns when it is back.
    let r = idp
        .http()
        .post(idp.url("/__test/outage"))
        .json(&json!({"ms": 2500}))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    let mut events = vec![];
    loop {
        let e = run.next_stdout_json(DEFAULT_TIMEOUT);
        let done = e["event"] == "authorized";
        events.push(e);
        if done {
            break;
        }
    }
    run.wait_output().assert_success();
    assert!(
        events.iter().any(|e| e["event"] == "unreachable"),
        "the outage was noticed and waited out: {events:?}"
    );
}

#[test]
fn slow_down_storm_keeps_growing_the_interval() {
    let c = Canned::start_with_base(move |base, r, n| match r.path.as_str() {
        "/.well-known/openid-configuration" => Reply::json(
            200,
            json!({
                "issuer": base, "device_authorization_endpoint": format!("{base}/device"),
                "token_endpoint": format!("{base}/token"),
            }),
        ),
        "/device" => Reply::json(
            200,
            json!({
                "device_code": "d", "user_code": "SLOW-DOWN", "verification_uri": "https://x/d",
                "expires_in": 120, "interval": 1,
            }),
        ),
        "/token" if n < 2 => Reply::json(400, json!({"error": "slow_down"})),
        "/token" => Reply::json(200, json!({"access_token": "a", "token_type": "Bearer"})),
        _ => Reply::json(404, json!({})),
    });
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    let out = env.run(["login", "--format", "json", "--browser", "never"]);
    out.assert_success();
    let slow: Vec<u64> = out
        .stdout_json_lines()
        .iter()
        .filter(|e| e["event"] == "slow_down")
        .map(|e| e["interval"].as_u64().unwrap())
        .collect();
    assert_eq!(slow, vec![6, 11], "+5 s per slow_down, cumulative");
    assert_eq!(
        c.count("/token"),
        3,
        "one request per interval, no extra polls"
    );
}

// --- cluster ----------------------------------------------------------------

#[test]
fn server_error_on_create_touches_no_store() {
    let (_idp, cluster, env) = Stack::start().parts();
    // The first 500 goes to the pre-flight probe (which goes on: the
    // cluster is there), the second to the create.
    cluster.faults(json!({"fail_next": 2, "fail_status": 500}));
    let file = env.home().join("secrets/token");
    let out = env.run([
        "mint",
        "--description",
        "x",
        "--store",
        &format!("file:{}", file.display()),
    ]);
    out.assert_code(9);
    assert!(out.stderr.contains("HTTP 500"), "{}", out.stderr);
    assert!(
        !file.exists() && !file.parent().unwrap().exists(),
        "no store touched"
    );
    assert_eq!(
        cluster.requests("POST /api/v0/management/tokens"),
        1,
        "a 500 on POST is not retried"
    );
    assert_eq!(cluster.token_count(), 0);
}

#[test]
fn cluster_restart_between_create_and_verify() {
    let (_idp, mut cluster, env) = Stack::start().parts();
    // The store runs between create and verify: hold it there while the
    // cluster goes down. `--no-wait`: without it the verify takes what the
    // readiness check read before the stores (issue 21) and asks nothing.
    let gate = StoreGate::new(env.home(), "restart", 0);
    let run = env.spawn([
        "mint",
        "--description",
        "restart",
        "--no-wait",
        "--store",
        &gate.spec,
        "--format",
        "json",
    ]);
    gate.wait_until_storing(&run);
    cluster.stop();
    gate.open();
    // A retry of the verify.
    run.wait_for_stderr("retrying");
    cluster.restart();
    let out = run.wait_output();
    out.assert_success();
    let s = out.stdout_json();
    assert_eq!(s["verified"], true);
    assert_eq!(cluster.token_count(), 1);
}

#[test]
fn revoked_management_token_mid_run() {
    let (_idp, cluster, env) = Stack::start().parts();
    let out = env.run([
        "management",
        "create",
        "--description",
        "automation",
        "--format",
        "json",
    ]);
    let t = out.stdout_json();
    env.run(["management", "revoke", t["id"].as_str().unwrap(), "--force"])
        .assert_success();
    let file = env.home().join("token");
    let store = format!("file:{}", file.display());
    let args = ["mint", "--description", "y", "--store", &store];
    let o = env.run_with_mgmt_token(args, t["access_token"].as_str().unwrap());
    let stderr = support::assert_rejected_management_token(&o);
    assert!(!stderr.contains(t["access_token"].as_str().unwrap()));
    assert!(!file.exists());
    assert_eq!(cluster.token_count(), 1);
}

// --- local state -------------------------------------------------------------

#[test]
fn unusable_cache_dir_fails_before_any_request() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    let out = env
        .cmd(["login", "--browser", "never"])
        .env("INFLUX_BOOTSTRAP_CACHE_DIR", "/dev/null/cache")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFLUX_BOOTSTRAP_CACHE_DIR"), "{stderr}");
    assert_eq!(idp.stat("device_authorization"), 0);
}

/// Runs the CLI with a full 64 KiB tmpfs mounted at `mnt` (in a private
/// mount namespace, via `unshare`), and records what is left on it in `ls`.
fn run_on_full_disk(env: &TestEnv, mnt: &Path, ls: &Path, args: &[&str]) -> support::Output {
    const SCRIPT: &str = r#"mnt=$1; ls_out=$2; shift 2
mount -t tmpfs -o size=64k tmpfs "$mnt" || exit 97
dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
"$@"; rc=$?
ls -A "$mnt" > "$ls_out"
exit $rc"#;
    std::fs::create_dir_all(mnt).unwrap();
    let base = env.cmd(args);
    let mut c = std::process::Command::new("unshare");
    c.args([
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        SCRIPT,
        "sh",
    ])
    .arg(mnt)
    .arg(ls)
    .arg(base.get_program())
    .args(args)
    .env_clear()
    .current_dir(base.get_current_dir().unwrap_or(env.home()));
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let o = c.output().expect("run unshare (util-linux)");
    let out = support::Output {
        status: o.status,
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert_ne!(
        out.code,
        Some(97),
        "this test mounts a tiny tmpfs in a private mount namespace (`unshare --user --map-root-user --mount`); the machine must allow that: {out}"
    );
    out
}

#[test]
fn disk_full_while_storing_revokes_and_leaves_no_partial_file() {
    let (_idp, cluster, env) = Stack::start().parts();
    let mnt = env.home().join("small-disk");
    let ls = env.home().join("left-on-disk");
    for policy in ["revoke", "print"] {
        let store = format!("file:{}/secrets/token", mnt.display());
        let out = run_on_full_disk(
            &env,
            &mnt,
            &ls,
            &[
                "mint",
                "--description",
                "full disk",
                "--store",
                &store,
                "--on-store-failure",
                policy,
            ],
        );
        out.assert_code(11);
        assert!(
            out.stderr.to_lowercase().contains("no space"),
            "{policy}: {out}"
        );
        assert!(
            out.stderr.contains("revoked"),
            "{policy}: without a terminal, print falls back to revoke: {out}"
        );
        assert_eq!(
            std::fs::read_to_string(&ls).unwrap(),
            "fill\n",
            "{policy}: no partial file"
        );
    }
    let all = cluster.list_with(&session_jwt(&env));
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|t| t["revokedAt"].is_string()), "{all:?}");
}

#[test]
fn two_mints_at_once_share_the_session_safely() {
    // Access tokens live 20 s, inside the client's 30 s expiry margin: both
    // mints refresh (one after the other, under the session lock), however
    // fast or slow the machine is; the cluster accepts the tokens.
    let Stack { idp, cluster, env } = Stack::with(
        Idp::builder().interval(1).access_token_ttl(20).start(),
        "admin",
    );
    let dir = env.home().to_path_buf();
    let runs: Vec<Running> = (0..2)
        .map(|i| {
            env.spawn([
                "mint",
                "--description",
                &format!("parallel {i}"),
                "--store",
                &format!("file:{}/token-{i}", dir.display()),
            ])
        })
        .collect();
    for r in runs {
        r.wait_output().assert_success();
    }
    assert_eq!(cluster.token_count(), 2);
    assert_eq!(idp.stat("device_authorization"), 1, "no second device flow");
    // The rotated refresh token survived both: a later refresh still works.
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["session"], "refreshed");
    no_files_but(
        &dir,
        &[
            "token-0",
            "token-1",
            // ~/.local/state/influx-bootstrap: the records of what mint stored.
            ".local",
            "config",
            "cache",
            "xdg-config",
            "xdg-cache",
        ],
    );
}

#[test]
fn signals_at_each_stage() {
    // SIGHUP (an SSH session that went away after the approval) and SIGQUIT
    // are handled like SIGINT and SIGTERM; the exit code is 128 + the number.
    for (sig, code) in [("INT", 130), ("TERM", 143), ("HUP", 129), ("QUIT", 131)] {
        let idp = Idp::builder().interval(1).start();
        let cluster = Cluster::start(&idp);
        let env = TestEnv::new();
        env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
        let dir = env.home().to_path_buf();

        // Waiting for approval: nothing created.
        let mut run = env.spawn([
            "mint",
            "--format",
            "json",
            "--description",
            "s",
            "--store",
            &format!("file:{}/t1", dir.display()),
        ]);
        assert_eq!(
            run.next_stdout_json(DEFAULT_TIMEOUT)["event"],
            "device_code"
        );
        run.signal(sig);
        run.wait_output().assert_code(code);
        assert_eq!(cluster.token_count(), 0, "{sig}");

        // While storing (after create): revoked, no partial file.
        login(&env, &idp, "admin");
        let gate = StoreGate::new(&dir, sig, 1);
        let run = env.spawn(["mint", "--description", "s", "--store", &gate.spec]);
        gate.wait_until_storing(&run);
        run.signal(sig);
        gate.open();
        let out = run.wait_output();
        out.assert_code(code);
        assert!(out.stderr.contains("revoked"), "{sig}: {}", out.stderr);
        let jwt = session_jwt(&env);
        let all = cluster.list_with(&jwt);
        assert_eq!(all.len(), 1, "{sig}");
        assert!(all[0]["revokedAt"].is_string(), "{sig}: no orphan");
        assert!(!dir.join("t1").exists());
    }
}

// --- bad input ---------------------------------------------------------------

#[test]
fn bad_flags_are_clear_errors_with_exit_2() {
    // Nothing listens at this issuer: a network call would exit 5, not 2.
    let env = support::unreachable_issuer_env();
    let long = "é".repeat(300);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--timeout", "", "status"], "timeout"),
        (vec!["--timeout", "0s", "status"], "out of range"),
        (vec!["--timeout", "10y", "status"], "out of range"),
        (vec!["--timeout", "fast", "status"], "30s"),
        (
            vec!["--profile", "nope", "status"],
            "profile `nope` not found",
        ),
        (
            vec!["mint", "--description", "x", "--store", "ftp:/x"],
            "file:",
        ),
        (vec!["mint", "--description", "x", "--store", ""], "file:"),
        (
            vec!["mint", "--description", "x", "--store", "file:"],
            "file:",
        ),
        (
            vec![
                "mint",
                "--description",
                "x",
                "--store",
                "stdout",
                "--format",
                "json",
            ],
            "cannot be combined",
        ),
        (
            vec![
                "mint",
                "--description",
                "x",
                "--store",
                "stdout",
                "--min-remaining",
                "later",
            ],
            "7d",
        ),
        (
            vec!["mint", "--description", &long, "--store", "stdout"],
            "300 characters",
        ),
        (
            vec![
                "mint",
                "--description",
                "x",
                "--expires-at",
                "2026-02-30T00:00:00Z",
                "--store",
                "stdout",
            ],
            "RFC 3339",
        ),
        (
            vec![
                "mint",
                "--description",
                "x",
                "--expires-at",
                "1999-12-31T23:59:60Z",
                "--store",
                "stdout",
            ],
            "in the past",
        ),
        (
            vec![
                "management",
                "create",
                "--description",
                "x",
                "--expires-at",
                "2030-01-01T00:00:00+25:00",
            ],
            "RFC 3339",
        ),
        (
            vec!["management", "list", "--sort", "size"],
            "possible values",
        ),
        (
            vec![
                "management",
                "create",
                "--description",
                "x",
                "--expires-at",
                "2030-01-01T00:00:00Z",
                "--expires-in",
                "1d",
            ],
            "cannot be used with",
        ),
    ];
    for (args, want) in cases {
        let out = env.run(args.clone());
        out.assert_code(2);
        assert!(
            out.stderr.contains(want),
            "{args:?}: want {want:?} in {}",
            out.stderr
        );
        assert!(out.stderr.len() < 2000, "{args:?}: short message");
    }
    // Far-future and offset expiries are accepted by the client (the cluster
    // decides); with no cluster reachable that is exit 5 (IdP), not 2.
    let out = env.run([
        "management",
        "create",
        "--description",
        "x",
        "--expires-at",
        "9999-12-31T23:59:59+14:00",
    ]);
    assert_ne!(out.code, Some(2), "{out}");
}
