//! `mint` and `rotate` end to end: every store kind, never losing or
//! orphaning a token, `--if-missing`, rotation and its rollback.

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};

use support::cluster::Cluster;
use support::{Idp, Output, TestEnv};

struct Stack {
    idp: Idp,
    cluster: Cluster,
    env: TestEnv,
    admin_jwt: String,
}

/// IdP + cluster + a logged-in CLI environment (as admin).
fn stack() -> Stack {
    let support::Stack { idp, cluster, env } = support::Stack::start();
    let admin_jwt = support::session_jwt(&env);
    Stack {
        idp,
        cluster,
        env,
        admin_jwt,
    }
}

impl Stack {
    fn mint(&self, args: &[&str]) -> Output {
        let mut a = vec!["mint", "--browser", "never"];
        a.extend_from_slice(args);
        self.env.run(a)
    }
    /// `mint --format json` described `description` into `store`, with
    /// `extra` flags.
    fn mint_json(&self, description: &str, store: &str, extra: &[&str]) -> Output {
        let named = ["--description", description, "--store", store];
        self.mint(&[&named[..], extra, &["--format", "json"]].concat())
    }
    fn tokens(&self) -> Vec<Value> {
        self.cluster.list_with(&self.admin_jwt)
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.env.home().join(rel)
    }
    fn spec(&self, kind: &str, rel: &str) -> String {
        format!("{kind}:{}", self.path(rel).display())
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn read_token(p: &Path) -> String {
    let s = std::fs::read_to_string(p).unwrap();
    assert!(s.ends_with('\n'), "trailing newline");
    s.trim_end().to_string()
}

#[test]
fn mint_to_a_file_then_verify() {
    let s = stack();
    let file = s.spec("file", "secrets/new/token");
    let out = s.mint_json("telegraf", &file, &["--expires-in", "90d"]);
    out.assert_success();
    let summary = out.stdout_json();
    assert_eq!(summary["event"], "minted");
    assert_eq!(summary["verified"], true);
    assert_eq!(summary["stores"][0]["ok"], true);
    let path = s.path("secrets/new/token");
    let token = read_token(&path);
    assert!(token.starts_with("M.V1."));
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
    }
    // The token is nowhere but in the store.
    assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));
    let all = s.tokens();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], summary["id"]);
    s.cluster.assert_works(&token, &summary["id"]);
    // Readiness and verification used the new token itself, in one read
    // (issue 21: the verify takes what the readiness check read back).
    assert_eq!(
        s.cluster.requests("GET /api/v0/management/tokens/{id}"),
        2,
        "one readiness check (which is the verify's read) + the test's own check"
    );

    // No clobber: refused before a token is created.
    let out = s.mint(&["--description", "again", "--store", &file]);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(s.tokens().len(), 1, "nothing minted");
    assert_eq!(read_token(&path), token, "file untouched");
    // --force replaces it.
    s.mint(&["--description", "again", "--store", &file, "--force"])
        .assert_success();
    assert_ne!(read_token(&path), token);
    assert_eq!(s.tokens().len(), 2);
}

#[test]
fn every_store_kind() {
    let s = stack();
    let dir = s.env.home().to_path_buf();
    // exec: a script that records its stdin, argv and environment.
    let script = dir.join("record.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > {d}/exec-stdin\nenv > {d}/exec-env\ntr '\\0' ' ' < /proc/$$/cmdline > {d}/exec-argv\necho stored-by-exec\n",
            d = dir.display()
        ),
    )
    .unwrap();
    // env-file with other content to keep.
    let envfile = dir.join("app.env");
    std::fs::write(
        &envfile,
        "# app settings\nFOO=bar\r\nINFLUX_MGMT_TOKEN=old\nexport BAZ='q x'\n",
    )
    .unwrap();
    // influxctl's config with comments and two profiles.
    let ctl = s.env.xdg_config_home().join("influxctl/config.toml");
    std::fs::create_dir_all(ctl.parent().unwrap()).unwrap();
    let ctl_before = "# managed by hand\n[[profile]]\n  name = \"default\"\n  product = \"clustered\"\n  host = \"h\"\n  port = \"443\"  # tls\n\n[[profile]]\n  name = \"prod\"\n  host = \"p\"\n  port = \"8443\"\n";
    std::fs::write(&ctl, ctl_before).unwrap();

    let keyring_dir = dir.join("keyring");
    let stores = [
        format!("env-file:{}", envfile.display()),
        "keyring:influxdb/automation".to_string(),
        format!("exec:sh {}", script.display()),
        "influxctl:prod".to_string(),
        "stdout".to_string(),
    ];
    // --force: the env-file holds a token already (replacing one needs it).
    let mut args = vec![
        "mint",
        "--browser",
        "never",
        "--force",
        "--description",
        "all stores",
    ];
    for st in &stores {
        args.push("--store");
        args.push(st);
    }
    let out = s
        .env
        .cmd(args)
        .env("INFLUX_BOOTSTRAP_TEST_KEYRING_DIR", &keyring_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    // stdout holds the bare token and nothing else.
    let token = stdout.trim_end().to_string();
    assert!(
        token.starts_with("M.V1.") && !token.contains('\n'),
        "{stdout:?}"
    );
    assert!(
        stderr.contains("stored-by-exec"),
        "exec stdout goes to our stderr: {stderr}"
    );
    assert!(!stderr.contains(&token));

    // env-file: replaced in place, other lines byte for byte.
    let e = std::fs::read_to_string(&envfile).unwrap();
    assert_eq!(
        e,
        format!("# app settings\nFOO=bar\r\nINFLUX_MGMT_TOKEN={token}\nexport BAZ='q x'\n")
    );
    #[cfg(unix)]
    assert_eq!(mode(&envfile), 0o600);

    // exec: token on stdin only.
    assert_eq!(
        std::fs::read_to_string(dir.join("exec-stdin"))
            .unwrap()
            .trim_end(),
        token
    );
    let argv = std::fs::read_to_string(dir.join("exec-argv")).unwrap();
    let envdump = std::fs::read_to_string(dir.join("exec-env")).unwrap();
    assert!(!argv.contains(&token) && !envdump.contains(&token));
    assert!(
        !envdump.contains("INFLUX_BOOTSTRAP_"),
        "our variables are not passed on"
    );
    assert!(envdump.contains("PATH="));

    // influxctl: mgmt_token set in `prod` only, every other byte kept, backup made.
    let after = std::fs::read_to_string(&ctl).unwrap();
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !ctl_before.lines().any(|b| b == *l))
        .collect();
    assert_eq!(added.len(), 1, "{after}");
    assert!(added[0].contains("mgmt_token") && added[0].contains(&token));
    let removed: Vec<&str> = ctl_before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    assert!(removed.is_empty(), "{removed:?}");
    let prod_pos = after.find("name = \"prod\"").unwrap();
    assert!(
        after.find("mgmt_token").unwrap() > prod_pos,
        "in the prod profile"
    );
    let backups: Vec<_> = std::fs::read_dir(ctl.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("config.toml.bak")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].path()).unwrap(),
        ctl_before
    );

    // keyring (directory-backed test backend of the keyring crate): read back
    // by --if-missing, which also proves the token works.
    let out = s
        .env
        .cmd([
            "mint",
            "--description",
            "all stores",
            "--if-missing",
            "--store",
            "keyring:influxdb/automation",
        ])
        .env("INFLUX_BOOTSTRAP_TEST_KEYRING_DIR", &keyring_dir)
        .output()
        .unwrap();
    let out = Output::from(out);
    out.assert_success();
    assert!(out.stderr.contains("nothing to do"), "{out}");
    assert_eq!(s.tokens().len(), 1);
}

#[test]
fn no_store_succeeded_revokes_the_token() {
    let s = stack();
    for policy in [None, Some("print")] {
        let mut args = vec![
            "--description",
            "doomed",
            "--store",
            "exec:echo vault is sealed >&2; exit 3",
        ];
        if let Some(p) = policy {
            // Without a terminal, `print` cannot show it: revoke instead.
            args.extend(["--on-store-failure", p]);
        }
        let out = s.mint(&args);
        out.assert_fails(11, &["vault is sealed", "revoked"]);
    }
    let all = s.tokens();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|t| t["revokedAt"].is_string()), "{all:?}");
}

#[test]
fn partial_store_failure_keeps_the_token() {
    let s = stack();
    let file = s.spec("file", "token");
    let out = s.mint_json("half", &file, &["--store", "exec:exit 1"]);
    out.assert_code(10);
    let summary = out.stdout_json();
    assert_eq!(summary["stores"][0]["ok"], true);
    assert_eq!(summary["stores"][1]["ok"], false);
    let all = s.tokens();
    assert_eq!(all.len(), 1);
    assert!(all[0]["revokedAt"].is_null(), "kept: a store holds it");
    let token = read_token(&s.path("token"));
    s.cluster.assert_works(&token, &all[0]["id"]);
}

#[test]
fn interrupted_after_creation_revokes_the_token() {
    let s = stack();
    // The store signals that it is running (the token exists by then), then
    // blocks until the test opens the gate, then fails.
    let gate = support::StoreGate::new(s.env.home(), "interrupted", 1);
    let run = s.env.spawn([
        "mint",
        "--browser",
        "never",
        "--description",
        "interrupted",
        "--store",
        &gate.spec,
    ]);
    let out = gate.interrupt(run, "INT");
    out.assert_fails(130, &["revoked"]);
    let all = s.tokens();
    assert_eq!(all.len(), 1);
    assert!(
        all[0]["revokedAt"].is_string(),
        "no orphaned token: {all:?}"
    );
}

#[test]
fn interrupted_while_waiting_for_approval_creates_nothing() {
    let (_idp, cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    let file = env.home().join("token");
    let store = format!("file:{}", file.display());
    let run = support::mint_awaiting_approval(
        &env,
        &[
            "--browser",
            "never",
            "--description",
            "x",
            "--store",
            &store,
        ],
    );
    run.signal("TERM");
    // 128 + SIGTERM
    run.wait_output().assert_code(143);
    assert_eq!(cluster.token_count(), 0);
    assert!(!file.exists());
}

/// Issue 19 item 16: `mint --if-missing` that finds nothing to keep asks
/// the cluster exactly what a plain `mint` asks — the pre-flight probe runs
/// once, not once for the stored token and again before the login.
#[test]
fn if_missing_probes_the_cluster_once() {
    let s = stack();
    let route = "GET /api/v0/management/tokens";
    let count = |args: &[&str], store: &str| {
        let before = s.cluster.requests(route);
        let spec = s.spec("file", store);
        let mut all = vec!["--description", "probe once", "--store", spec.as_str()];
        all.extend_from_slice(args);
        s.mint(&all).assert_success();
        s.cluster.requests(route) - before
    };
    let plain = count(&[], "a");
    let if_missing = count(&["--if-missing"], "b");
    assert_eq!(if_missing, plain, "one probe, as a plain mint");
}

#[test]
fn if_missing_is_idempotent() {
    let s = stack();
    let file = s.spec("file", "token");
    let args = [
        "--description",
        "provisioned",
        "--if-missing",
        "--expires-in",
        "30d",
        "--store",
        file.as_str(),
    ];
    s.mint(&args).assert_success();
    let out = s.mint(&args);
    out.assert_success();
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    assert_eq!(s.tokens().len(), 1);

    // A token that expires too soon is replaced (the file is overwritten).
    // The new one must outlive --min-remaining (else every run would mint).
    let out = s.mint(&[
        "--description",
        "provisioned",
        "--if-missing",
        "--expires-in",
        "60d",
        "--min-remaining",
        "31d",
        "--store",
        &file,
    ]);
    out.assert_success();
    assert!(out.stderr.contains("expires within"), "{}", out.stderr);
    assert_eq!(s.tokens().len(), 2);

    // A revoked token in the store is replaced too.
    let id = s
        .tokens()
        .iter()
        .find(|t| read_token(&s.path("token")).starts_with(t["tokenPrefix"].as_str().unwrap()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.env
        .run(["management", "revoke", &id, "--force"])
        .assert_success();
    let out = s.mint(&args);
    out.assert_success();
    assert!(out.stderr.contains("no longer works"), "{}", out.stderr);
    assert_eq!(s.tokens().len(), 3);
}

#[test]
fn rotate_replaces_and_revokes_the_old_token() {
    let s = stack();
    let file = s.spec("file", "token");
    let envfile = s.spec("env-file", "svc.env");
    s.mint(&[
        "--description",
        "rotating",
        "--expires-in",
        "30d",
        "--store",
        &file,
        "--store",
        &envfile,
    ])
    .assert_success();
    let old = read_token(&s.path("token"));
    let old_id = s.tokens()[0]["id"].as_str().unwrap().to_string();

    // No person involved: the CLI has no session for this run.
    std::fs::remove_dir_all(s.env.cache_dir()).unwrap();
    let out = s.env.run([
        "rotate", "--store", &file, "--store", &envfile, "--format", "json",
    ]);
    out.assert_success();
    let summary = out.stdout_json();
    assert_eq!(summary["event"], "rotated");
    let new = read_token(&s.path("token"));
    assert_ne!(new, old);
    assert!(
        std::fs::read_to_string(s.path("svc.env"))
            .unwrap()
            .contains(&new)
    );
    let all = s.tokens();
    let old_t = all.iter().find(|t| t["id"] == old_id.as_str()).unwrap();
    let new_t = all.iter().find(|t| t["id"] == summary["id"]).unwrap();
    assert!(old_t["revokedAt"].is_string());
    assert_eq!(support::described(&new_t["description"]), "rotating");
    assert_eq!(new_t["createdBy"], format!("token:{old_id}"));
    assert!(
        new_t["expiresAt"].is_string(),
        "same lifetime as the old one"
    );
    s.cluster.assert_works(&new, &new_t["id"]);
    assert_eq!(
        s.idp.stat("device_authorization"),
        1,
        "no device flow for rotate"
    );
}

#[test]
fn rotate_with_a_failing_store_keeps_the_old_token() {
    let s = stack();
    let file = s.spec("file", "token");
    s.mint(&["--description", "steady", "--store", &file])
        .assert_success();
    let old = read_token(&s.path("token"));
    let old_id = s.tokens()[0]["id"].as_str().unwrap().to_string();

    let out = s
        .env
        .run(["rotate", "--store", &file, "--store", "exec:exit 1"]);
    out.assert_fails(10, &["rolled back"]);
    assert_eq!(
        read_token(&s.path("token")),
        old,
        "old token restored in the file"
    );
    assert_eq!(
        s.cluster.get_with(&old, &old_id).status(),
        200,
        "old token still valid"
    );
    let all = s.tokens();
    assert_eq!(all.len(), 2);
    let new_t = all.iter().find(|t| t["id"] != old_id.as_str()).unwrap();
    assert!(
        new_t["revokedAt"].is_string(),
        "the replacement was revoked"
    );
}

// --- stores refused up front --------------------------------------------------

/// A store in a directory its user may not write is refused before any
/// token exists. Run as an unprivileged user, also when the tests run as root
/// (where every directory would be writable).
#[cfg(unix)]
#[test]
fn a_store_in_an_unwritable_directory_is_refused_up_front() {
    use std::os::unix::fs::PermissionsExt;
    let env = support::offline_env();
    let ro = env.home().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join(".env"), "A=1\n").unwrap();
    for spec in [
        format!("file:{}", ro.join("token").display()),
        format!("file:{}", ro.join("new/token").display()),
        format!("env-file:{}", ro.join(".env").display()),
    ] {
        let cmd = support::as_unprivileged(&env, env.cmd(support::mint_into("x", &spec)));
        // After the hand-over to the unprivileged user: read and enter only.
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let out = support::Running::spawn(cmd).wait_output();
        // Found up front, before anything exists: a usage/config problem.
        out.assert_code(2);
        assert!(out.stderr.contains("not writable"), "{spec}: {out}");
    }
    assert_eq!(std::fs::read_to_string(ro.join(".env")).unwrap(), "A=1\n");
    assert!(!ro.join("token").exists() && !ro.join("new").exists());
    // So that the temp dir can be removed.
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// With a session bus that is there but dead, `keyring:` fails at once with
/// the hint to use another store (exit 2, before any token exists), never
/// hangs: a socket path nobody listens on (connection refused), and a bus
/// that accepts connections and never answers (the keyring timeout, 5 s).
/// The binary runs without the test keyring, so this is the OS keyring path.
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
#[test]
fn keyring_with_a_dead_session_bus_fails_fast_with_a_hint() {
    let env = support::offline_env();
    let refused = env.home().join("no-bus");
    let silent = env.home().join("silent-bus");
    // Never accepts: the kernel queues connections, nobody ever reads them.
    let _silent_bus = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    for (bus, reason) in [(&refused, None), (&silent, Some("no answer within 5s"))] {
        let mut cmd = env.cmd(support::mint_into("x", "keyring:influxdb/admin"));
        cmd.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", bus.display()),
        );
        let out = support::Running::spawn(cmd).wait_output();
        out.assert_fails(2, &["Secret Service"]);
        assert!(
            !out.stderr.contains("is not set"),
            "a bus was given, so this is not the headless case: {out}"
        );
        if let Some(reason) = reason {
            assert!(out.stderr.contains(reason), "{out}");
        }
        let hint = out
            .stderr
            .lines()
            .find(|l| l.starts_with("hint:"))
            .unwrap_or_else(|| panic!("no hint: {out}"));
        assert!(hint.contains("file:") && hint.contains("exec:"), "{hint}");
    }
}

/// Replacing an env-file that belongs to another user (nobody, as root in
/// CI) leaves a fresh file that belongs to us, mode 0600: a file someone else
/// owns is one they can read (issue 11; it used to keep the old owner).
#[cfg(unix)]
#[test]
fn env_file_of_another_user_becomes_ours() {
    use std::os::unix::fs::MetadataExt;
    let s = stack();
    let path = s.path("app.env");
    std::fs::write(&path, "A=1\n").unwrap();
    let me = std::fs::metadata(&path).unwrap().uid();
    if support::is_root() {
        std::os::unix::fs::chown(&path, Some(support::UNPRIVILEGED), None).unwrap();
    }
    let spec = format!("env-file:{}", path.display());
    s.mint(&["--description", "owned", "--store", &spec])
        .assert_success();
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!(m.uid(), me);
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("A=1\nINFLUX_MGMT_TOKEN=M.V1."), "{text:?}");
    assert_eq!(s.tokens().len(), 1);
}

/// Issue 21: a `mint` that logs a person in writes the session beside its
/// create; when it exits, the session is in the cache (0600), so the next
/// command uses it without asking anyone to log in again.
#[test]
fn a_device_flow_mint_leaves_the_session_for_the_next_command() {
    let (idp, cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    support::mint_logging_in(&idp, &env, |_| {});
    let session = support::session_file(&env);
    #[cfg(unix)]
    assert_eq!(mode(&session), 0o600);

    env.run(["management", "list"]).assert_success();
    assert_eq!(idp.stat("device_authorization"), 1);
    assert_eq!(cluster.token_count(), 1);
}
