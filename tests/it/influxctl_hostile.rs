//! The influxctl driver against hostile `influxctl` programs (issue 19
//! items 1 to 4; the 2026-12-06 review's H2, M6, L1, L3, I3, I4):
//! `tests/idp/influxctl-hostile.mjs` wraps the stand-in, which does the real
//! work against the reference cluster, and misbehaves in one way per mode.
use crate::influxctl_backend::{
    STANDIN, Setup, admin_token, assert_no_config_left, documented_status, private_described, read,
    setup,
};
use crate::support::{self, DEFAULT_TIMEOUT, Running};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HOSTILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/idp/influxctl-hostile.mjs"
);

/// An executable shell script `dir/influxctl` (the directory made if
/// needed) running `body`; returns its path.
fn influxctl_script(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("influxctl");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Set the profile's `influxctl` to `program`.
fn use_program(s: &Setup, program: &str) {
    let cfg = std::fs::read_to_string(s.env.config_path()).unwrap();
    let current = cfg
        .lines()
        .find_map(|l| l.strip_prefix("influxctl = "))
        .unwrap()
        .to_string();
    s.env
        .write_config(&cfg.replace(&current, &toml::Value::String(program.into()).to_string()));
}

/// Point the profile at the hostile program in `mode`; returns the
/// directory where it leaves its pid files.
fn hostile(s: &Setup, mode: &str) -> PathBuf {
    let dir = s.env.home().join(format!("hostile-{mode}"));
    let run = format!("exec node {HOSTILE} {mode} {} \"$@\"", dir.display());
    let prog = influxctl_script(&dir, &run);
    use_program(s, &prog.display().to_string());
    dir
}

/// Back to the well-behaved stand-in.
fn plain(s: &Setup) {
    use_program(s, STANDIN);
}

/// A command with the admin's management token (no person) and a private
/// `TMPDIR` (where the temporary configs go).
fn cmd(s: &Setup, admin: &str, args: &[&str]) -> std::process::Command {
    let tmp = s.env.home().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut c = s.env.cmd(args);
    c.env("INFLUX_BOOTSTRAP_MGMT_TOKEN", admin)
        .env("TMPDIR", &tmp);
    c
}

fn temp_configs(s: &Setup) -> Vec<PathBuf> {
    std::fs::read_dir(s.env.home().join("tmp"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Await a file another process writes (there is no other event to wait on).
fn await_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// Await the death of `pid` (not our child: no wait to block on).
pub(crate) fn await_death(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The tokens described `description` (a run's marker taken off).
fn described(s: &Setup, admin: &str, description: &str) -> Vec<Value> {
    private_described(&s.cluster, admin, description)
}

fn run_ok(c: &mut std::process::Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// H2: with no `token_prefix` in the list, `rotate` revokes the token its
/// record names, never the first one listed; with no record it refuses and
/// names the candidates.
#[test]
fn rotate_never_revokes_a_token_it_cannot_identify() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let (file, store) = s.file_store("ctl-a");
    run_ok(&mut cmd(&s, &admin, &support::mint_into("ctl-a", &store)));
    let first = read(&file);
    hostile(&s, "noprefix");

    // The record names the stored token: that one is rotated and revoked.
    run_ok(&mut s.env.cmd(["rotate", "--store", &store]));
    let second = s.assert_replaced(&file, &first);
    assert_eq!(
        documented_status(&s.cluster, &admin),
        200,
        "the admin's token is untouched"
    );
    assert_eq!(
        documented_status(&s.cluster, &first),
        401,
        "the stored one was revoked"
    );

    // No record: nothing identifies it, so nothing is revoked.
    std::fs::remove_dir_all(s.env.home().join(".local/state/influx-bootstrap")).unwrap();
    let out = s.env.cmd(["rotate", "--store", &store]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot tell which management token"),
        "{stderr}"
    );
    let admin_id = described(&s, &admin, "admin automation")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stderr.contains(&admin_id), "names the candidates: {stderr}");
    assert_eq!(documented_status(&s.cluster, &admin), 200);
    assert_eq!(read(&file), second);
    assert_eq!(documented_status(&s.cluster, &second), 200);
}

/// M6: a listing that never returns stops on a signal (nothing created, no
/// config left, influxctl gone); after a `kill -9` influxctl dies with us
/// and the next run sweeps the config it left.
#[test]
fn a_hanging_influxctl_stops_on_a_signal_and_dies_with_us() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let dir = hostile(&s, "hang");
    let (file, store) = s.file_store("hang");
    let args = support::mint_into("hang", &store);

    for sig in ["TERM", "KILL"] {
        let _ = std::fs::remove_file(dir.join("pid"));
        let run = Running::spawn(cmd(&s, &admin, &args));
        let ctl = await_pid(&dir.join("pid"));
        assert_eq!(temp_configs(&s).len(), 1, "its config exists while it runs");
        run.signal(sig);
        let out = run.wait_output();
        assert!(await_death(ctl), "{sig}: influxctl outlived us");
        if sig == "TERM" {
            assert_eq!(out.code, Some(143), "{}", out.stderr);
            assert!(temp_configs(&s).is_empty(), "{:?}", temp_configs(&s));
        }
    }
    assert!(!file.exists());
    assert!(described(&s, &admin, "hang").is_empty());

    // The config the killed run left (0600, with the admin's token) is
    // swept by the next run once its run is over (pid gone, a minute old).
    let left = temp_configs(&s);
    assert_eq!(left.len(), 1, "{left:?}");
    let old = std::process::Command::new("touch")
        .args(["-d", "5 minutes ago"])
        .arg(&left[0])
        .status()
        .unwrap();
    assert!(old.success());
    plain(&s);
    run_ok(&mut cmd(&s, &admin, &["management", "list"]));
    assert!(temp_configs(&s).is_empty(), "{:?}", temp_configs(&s));
}

/// M6: a grandchild that keeps influxctl's stdout open does not hold the
/// run once influxctl exited.
#[test]
fn a_grandchild_holding_the_pipes_does_not_hold_the_run() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    let dir = hostile(&s, "grandchild");
    let run = Running::spawn(cmd(&s, &admin, &["management", "list", "--format", "json"]));
    let out = run.wait_output();
    let grandchild = await_pid(&dir.join("grandchild.pid"));
    let _ = std::process::Command::new("kill")
        .args(["-9", &grandchild.to_string()])
        .status();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    crate::support::steps::element(&list, "description", "admin automation");
    assert_no_config_left(&s.env);
}

/// L1: the token a create printed is redacted however it was printed:
/// wrapped, split by an escape sequence or a zero-width space, URL-encoded,
/// base64-encoded.
#[test]
fn relayed_output_is_redacted_by_value() {
    let s = setup();
    let admin = admin_token(&s.cluster);
    hostile(&s, "splitleak");
    let (file, store) = s.file_store("leak");
    let stderr = run_ok(&mut cmd(&s, &admin, &support::mint_into("leak", &store)));
    let token = read(&file);
    assert!(stderr.contains("tok4 [redacted]"), "{stderr}");
    let tail = &token["M.V1.".len()..];
    for w in 0..tail.len() - 8 {
        let piece = &tail[w..w + 8];
        assert!(
            !stderr.contains(piece),
            "`{piece}` of the token shows:\n{stderr}"
        );
    }
    assert!(!stderr.contains(&admin["M.V1.".len()..][..12]), "{stderr}");
}

/// L3, I3, I4: output is capped; an invalid UTF-8 byte does not end the
/// relay (the `Unauthenticated` line after it still classifies the error);
/// a JSON log line before the document does not fail the create.
#[test]
fn output_is_capped_decoded_lossily_and_its_document_found() {
    let s = setup();
    let admin = admin_token(&s.cluster);

    hostile(&s, "huge");
    let out = cmd(&s, &admin, &["management", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains("larger than 8 MiB"), "{stderr}");

    hostile(&s, "badutf8");
    let bogus = format!("M.V1.{}", "Ab3".repeat(15));
    let out = cmd(&s, &bogus, &["management", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(8),
        "rejected, not unreachable: {stderr}"
    );
    assert!(stderr.contains("influxctl: f\u{fffd}\u{fffd}"), "{stderr}");
    assert!(stderr.contains("code = Unauthenticated"), "{stderr}");

    hostile(&s, "twodocs");
    let (file, store) = s.file_store("twodocs");
    run_ok(&mut cmd(&s, &admin, &support::mint_into("twodocs", &store)));
    let made = described(&s, &admin, "twodocs");
    assert_eq!(made.len(), 1, "one create, nothing revoked: {made:?}");
    assert!(made[0]["revokedAt"].is_null(), "{made:?}");
    assert_eq!(documented_status(&s.cluster, &read(&file)), 200);
}

/// L2, I5 (item 5): a relative `influxctl` path, or a program another user
/// owns (also when `INFLUX_BOOTSTRAP_INFLUXCTL` names it), is never handed
/// the management token, and `doctor` says so instead of a tick.
#[test]
fn an_untrusted_influxctl_is_never_run() {
    test_support::users::require_root("a program of another user");
    let s = setup();
    let admin = admin_token(&s.cluster);
    let tools = s.env.home().join("tools");
    let run = format!("touch {0}/ran\nexec node {STANDIN} \"$@\"", tools.display());
    let prog = influxctl_script(&tools, &run);
    let cfg = std::fs::read_to_string(s.env.config_path()).unwrap();
    let standin = toml::Value::String(STANDIN.into()).to_string();

    // Relative (the working directory is the test home): refused.
    s.env
        .write_config(&cfg.replace(&standin, "\"tools/influxctl\""));
    let out = cmd(&s, &admin, &["management", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("relative path"), "{stderr}");
    // doctor wraps its lines: compare with the whitespace collapsed.
    let doctor = || {
        let out = s.env.run(["doctor"]);
        out.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let said = doctor();
    assert!(said.contains("✗ influxctl"), "{said}");
    assert!(said.contains("relative path"), "{said}");

    // Absolute, but another user's program: refused, from the profile and
    // from the environment alike.
    std::os::unix::fs::chown(&prog, Some(test_support::users::OTHER), None).unwrap();
    let abs = toml::Value::String(prog.display().to_string()).to_string();
    for from_env in [false, true] {
        let mut c = cmd(&s, &admin, &["management", "list"]);
        if from_env {
            s.env.write_config(&cfg);
            c.env("INFLUX_BOOTSTRAP_INFLUXCTL", &prog);
        } else {
            s.env.write_config(&cfg.replace(&standin, &abs));
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("belongs to another user"), "{stderr}");
    }
    s.env.write_config(&cfg.replace(&standin, &abs));
    let said = doctor();
    assert!(said.contains("belongs to another user"), "{said}");
    assert!(!tools.join("ran").exists(), "the program never ran");

    // Ours again: it runs.
    std::os::unix::fs::chown(&prog, Some(0), None).unwrap();
    run_ok(&mut cmd(&s, &admin, &["management", "list"]));
    assert!(tools.join("ran").exists());
}
