//! `management_backend = "influxctl"` (issue 9) end to end: the real binary
//! drives the stand-in `influxctl` (`tests/idp/influxctl-standin.mjs`: a real
//! device flow against the test provider, tokens kept in the reference
//! cluster behind its test-only private routes) on a cluster whose
//! management-token routes are switched off (`management_tokens = false`).
use crate::support::cluster::Cluster;
use crate::support::{Idp, ProfileToml, Running, TestEnv};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) const STANDIN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/idp/influxctl-standin.mjs"
);

pub(crate) struct Setup {
    pub(crate) idp: Idp,
    pub(crate) cluster: Cluster,
    pub(crate) env: TestEnv,
}

pub(crate) fn setup() -> Setup {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::builder(&idp)
        .configure(|c| c.management_tokens = false)
        .start();
    let env = TestEnv::new();
    let profile = ProfileToml::new(&idp).cluster(&cluster).build().replacen(
        "name = \"default\"\n",
        &format!(
            "name = \"default\"\nmanagement_backend = \"influxctl\"\ninfluxctl = {}\n",
            toml::Value::String(STANDIN.into())
        ),
        1,
    );
    env.write_config(&profile);
    Setup { idp, cluster, env }
}

pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// `GET /api/v0/databases` of the documented API with `token`.
pub(crate) fn documented_status(cluster: &Cluster, token: &str) -> u16 {
    http()
        .get(format!("{}/api/v0/databases", cluster.url()))
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// An admin's management token, issued by the test route.
pub(crate) fn admin_token(cluster: &Cluster) -> String {
    crate::support::stock::issued_management_token(cluster, "admin automation")
}

/// Every token on the cluster, through the private routes.
pub(crate) fn private_list(cluster: &Cluster, bearer: &str) -> Vec<Value> {
    http()
        .get(format!(
            "{}/__test/private/management/tokens",
            cluster.url()
        ))
        .bearer_auth(bearer)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The tokens on the cluster described `description` (the marker the CLI
/// adds taken off), through the private routes.
pub(crate) fn private_described(cluster: &Cluster, bearer: &str, description: &str) -> Vec<Value> {
    private_list(cluster, bearer)
        .into_iter()
        .filter(|t| crate::support::unmarked(&t["description"]) == description)
        .collect()
}

pub(crate) fn standin_dir(env: &TestEnv) -> PathBuf {
    env.xdg_cache_home().join("influxctl-standin")
}

/// The temporary configs influxctl was given (the stand-in logs each path).
pub(crate) fn configs_given(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_to_string(standin_dir(env).join("configs.log"))
        .unwrap_or_default()
        .lines()
        .map(PathBuf::from)
        .collect()
}

pub(crate) fn assert_no_config_left(env: &TestEnv) {
    let given = configs_given(env);
    assert!(!given.is_empty(), "influxctl was never run");
    for p in given {
        assert!(!p.exists(), "{} outlived the run", p.display());
        assert!(
            !p.parent().unwrap().exists(),
            "{} outlived the run",
            p.parent().unwrap().display()
        );
    }
}

/// Nothing token-shaped on a stream meant for people.
pub(crate) fn assert_no_token_shaped(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a token reached stderr:\n{text}");
    }
    for (i, _) in text.match_indices("M.V1.") {
        let tail = &text[i + 5..];
        let n = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(tail.len());
        assert!(n < 8, "token-shaped text on stderr:\n{text}");
    }
    assert!(
        !text.contains("eyJ"),
        "a JWT-shaped string on stderr:\n{text}"
    );
}

/// Approve influxctl's own device login, whose code it printed (relayed to
/// our stderr).
fn approve_influxctl_login(run: &Running, idp: &Idp) {
    run.wait_for_stderr("enter the code: ");
    let err = run.stderr_so_far();
    let code = err
        .split("enter the code: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("user code");
    idp.approve(code, "admin");
}

pub(crate) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap().trim().to_string()
}

#[test]
fn mint_list_rotate_and_revoke_through_influxctl() {
    let s = setup();
    let file = s.env.home().join("mgmt-token");
    let store = format!("file:{}", file.display());

    // mint: influxctl logs the person in itself; its prompt reaches us.
    let run = s
        .env
        .spawn(["mint", "--description", "ci bot", "--store", &store]);
    approve_influxctl_login(&run, &s.idp);
    let out = run.wait_output();
    out.assert_success();
    assert!(
        out.stderr.contains("Please visit"),
        "influxctl's stdout prompt line is relayed:\n{}",
        out.stderr
    );
    let token = read(&file);
    assert!(token.starts_with("M.V1."), "stored a management token");
    assert_eq!(documented_status(&s.cluster, &token), 200);
    // The stand-in logs the token on purpose: the relay redacts it.
    assert!(out.stderr.contains("M.V1.[redacted]"), "{}", out.stderr);
    assert_no_token_shaped(&out.stderr, &[&token]);
    assert_no_token_shaped(&out.stdout, &[&token]);
    assert_no_config_left(&s.env);

    // management list: our table and JSON from influxctl's output (its
    // login is cached, as influxctl's is: nobody is asked again).
    let out = s.env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    let list = out.stdout_json();
    let mine: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| crate::support::unmarked(&t["description"]) == "ci bot")
        .collect();
    assert_eq!(mine.len(), 1, "{list}");
    let id = mine[0]["id"].as_str().unwrap().to_string();
    assert!(mine[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(mine[0]["revoked_at"].is_null());
    let out = s.env.run(["management", "list"]);
    out.assert_success();
    assert!(out.stdout.contains(&id) && out.stdout.contains("PREFIX"));

    // rotate from the stored token, with no person: influxctl's cached
    // login is removed, so a device login would show.
    for e in std::fs::read_dir(standin_dir(&s.env)).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("login-")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = s.env.run(["rotate", "--store", &store]);
    out.assert_success();
    assert!(!out.stderr.contains("enter the code"), "{}", out.stderr);
    let new = read(&file);
    assert_ne!(new, token);
    assert_eq!(documented_status(&s.cluster, &new), 200);
    assert_eq!(
        documented_status(&s.cluster, &token),
        401,
        "old one revoked"
    );
    assert_no_token_shaped(&out.stderr, &[&token, &new]);
    assert_no_config_left(&s.env);

    // management revoke, authenticated by a management token from the
    // environment (never passed on to influxctl's environment: the stand-in
    // exits 3 if it sees one).
    let new_id = private_list(&s.cluster, &new)
        .into_iter()
        .find(|t| {
            t["revokedAt"].is_null() && crate::support::unmarked(&t["description"]) == "ci bot"
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = admin_token(&s.cluster);
    let out = s
        .env
        .cmd(["management", "revoke", "--force", &new_id])
        .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &admin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("Revoked {new_id}")), "{stderr}");
    assert_eq!(documented_status(&s.cluster, &new), 401);
    assert_no_token_shaped(&stderr, &[&admin, &new]);
    assert_no_config_left(&s.env);
}

#[test]
fn a_failing_store_revokes_the_new_token() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let out = s
        .env
        .cmd([
            "mint",
            "--description",
            "doomed",
            "--store",
            "exec:cat >/dev/null; exit 1",
        ])
        .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &admin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    let doomed = private_described(&s.cluster, &admin, "doomed");
    assert_eq!(doomed.len(), 1, "{doomed:?}");
    assert!(doomed[0]["revokedAt"].is_string(), "revoked: {doomed:?}");
    assert!(stderr.contains("revoked"), "{stderr}");
    assert_no_token_shaped(&stderr, &[&admin]);
    assert_no_config_left(&s.env);
}

#[test]
fn an_interrupted_login_leaves_no_config_and_no_token() {
    let s = setup();
    let file = s.env.home().join("mgmt-token");
    let run = s.env.spawn([
        "mint",
        "--description",
        "never",
        "--store",
        &format!("file:{}", file.display()),
    ]);
    run.wait_for_stderr("enter the code: ");
    let given = configs_given(&s.env);
    assert_eq!(given.len(), 1);
    assert!(given[0].exists(), "the config exists while influxctl runs");
    run.signal("INT");
    let out = run.wait_output();
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert_no_config_left(&s.env);
    assert!(!file.exists());
    let admin = admin_token(&s.cluster);
    assert!(
        private_list(&s.cluster, &admin)
            .iter()
            .all(|t| crate::support::unmarked(&t["description"]) != "never")
    );
}

#[test]
fn if_missing_keeps_a_working_token_and_replaces_a_revoked_one() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let file = s.env.home().join("mgmt-token");
    let store = format!("file:{}", file.display());
    let mint = || {
        let out = s
            .env
            .cmd([
                "mint",
                "--if-missing",
                "--description",
                "app",
                "--store",
                &store,
            ])
            .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &admin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert_no_token_shaped(&stderr, &[&admin]);
        stderr
    };
    mint();
    let first = read(&file);
    let stderr = mint();
    assert!(stderr.contains("nothing to do"), "{stderr}");
    assert_eq!(read(&file), first);

    // Revoked behind our back: influxctl rejects it, and it is replaced.
    let id = private_list(&s.cluster, &admin)
        .into_iter()
        .find(|t| crate::support::unmarked(&t["description"]) == "app")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http()
        .delete(format!(
            "{}/__test/private/management/tokens/{id}",
            s.cluster.url()
        ))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let stderr = mint();
    assert!(stderr.contains("minting a new one"), "{stderr}");
    let second = read(&file);
    assert_ne!(second, first);
    assert_eq!(documented_status(&s.cluster, &second), 200);
    assert_no_config_left(&s.env);
}

/// Issue 17, readiness through influxctl: with a cluster whose Management
/// API accepts a new management token only after a delay, `mint` and
/// `rotate` store the token once the documented API takes it (they wait
/// instead of failing verification), so what the store holds always works.
#[test]
fn influxctl_tokens_are_stored_once_the_cluster_accepts_them() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let r = http()
        .post(format!("{}/__test/activation", s.cluster.url()))
        .json(&json!({"management_ms": 1500}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // The delay counts from creation, the admin's token included: await
    // (bounded) the moment it works.
    let limit = Instant::now() + Duration::from_secs(30);
    while documented_status(&s.cluster, &admin) == 401 {
        assert!(Instant::now() < limit, "the admin token never worked");
        std::thread::sleep(Duration::from_millis(100));
    }
    let file = s.env.home().join("mgmt-token");
    let store = format!("file:{}", file.display());
    let run = |args: &[&str]| {
        let out = s
            .env
            .cmd(args.iter().copied())
            .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &admin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    let stderr = run(&["mint", "--description", "ready", "--store", &store]);
    assert!(
        stderr.contains("Waiting for the cluster to accept"),
        "{stderr}"
    );
    let minted = read(&file);
    assert_eq!(documented_status(&s.cluster, &minted), 200);
    let stderr = run(&["rotate", "--store", &store]);
    assert!(
        stderr.contains("Waiting for the cluster to accept"),
        "{stderr}"
    );
    let rotated = read(&file);
    assert_ne!(rotated, minted);
    assert_eq!(documented_status(&s.cluster, &rotated), 200);
    assert_no_config_left(&s.env);
}

#[test]
fn a_missing_influxctl_says_where_to_get_it() {
    let s = setup();
    let out = s.env.run(["config", "show"]);
    out.assert_success();
    for row in ["management_backend", "influxctl"] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{row} ")))
            .unwrap_or_else(|| panic!("no {row} row:\n{}", out.stdout));
        assert!(line.contains("file "), "{line}");
    }
    let cfg = std::fs::read_to_string(s.env.config_path()).unwrap();
    s.env
        .write_config(&cfg.replace(STANDIN, "/nonexistent/influxctl"));
    let out = s
        .env
        .cmd(["management", "list"])
        .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", admin_token(&s.cluster))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("/nonexistent/influxctl") && stderr.contains("docs.influxdata.com"),
        "{stderr}"
    );
}

#[test]
fn a_signal_during_the_create_revokes_what_it_made() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let gate = s.env.home().join("create.gate");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&gate)
            .status()
            .unwrap()
            .success()
    );
    let file = s.env.home().join("mgmt-token");
    let mut cmd = s.env.cmd([
        "mint",
        "--description",
        "in flight",
        "--store",
        &format!("file:{}", file.display()),
    ]);
    cmd.env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &admin)
        .env("STANDIN_CREATE_GATE", &gate);
    let run = Running::spawn(cmd);
    // With no person, influxctl's output is relayed once it exited (so the
    // token it printed is known and redacted): its first run (the create:
    // nothing is listed before it, issue 21) having started is the sign.
    let deadline = std::time::Instant::now() + crate::support::DEFAULT_TIMEOUT;
    while configs_given(&s.env).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the create never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run.signal("INT");
    // influxctl runs in its own process group: the signal reached only us,
    // and its create finishes once let go.
    std::fs::write(&gate, "go\n").unwrap();
    let out = run.wait_output();
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(!file.exists());
    let made = private_described(&s.cluster, &admin, "in flight");
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0]["revokedAt"].is_string(), "{made:?}");
    assert_no_token_shaped(&out.stderr, &[&admin]);
    assert_no_config_left(&s.env);
}
