//! Hardening (issue 11): another local user as the attacker, signals, crashes
//! and broken output, each through the real binary. The tests run as root (as
//! CI does); the attacker is `nobody`, played with `setpriv`
//! (`test_support::users`). Waits are on events, never on the clock.

use crate::support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::pty::in_pty;
use support::{DEFAULT_TIMEOUT, Idp, ProfileToml, Running, Stack, TestEnv, login, session_jwt};
use test_support::users;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

// --- 1. symlinks and directories others control -------------------------------

#[test]
fn a_symlink_or_a_directory_of_another_user_is_refused_before_anything_exists() {
    users::require_root("planting a symlink as another user");
    let env = support::offline_env();
    // The attacker may enter our home, not write to it.
    set_mode(env.home(), 0o711);
    let victim = env.home().join("victim.conf");
    fs::write(&victim, "root's own file\n").unwrap();
    set_mode(&victim, 0o644);
    let shared = env.home().join("shared");
    users::dir_of_other(&shared, 0o755);
    users::sh_as_other(&format!(
        "ln -s {} {s}/app.env && ln -s {} {s}/token && echo A=1 > {s}/real.env",
        victim.display(),
        victim.display(),
        s = shared.display()
    ));
    let own_link = env.home().join("own.env");
    std::os::unix::fs::symlink(&victim, &own_link).unwrap();
    let (sh, own) = (shared.display(), own_link.display());
    // (store, with --force, why it is refused)
    let cases: [(String, bool, &str); 5] = [
        (format!("env-file:{sh}/app.env"), false, "symbolic link"),
        (format!("file:{sh}/token"), true, "symbolic link"),
        (format!("env-file:{own}"), true, "symbolic link"),
        (format!("env-file:{sh}/real.env"), false, "another user"),
        (format!("file:{sh}/new-token"), false, "another user"),
    ];
    for (spec, force, why) in &cases {
        let mut args = support::mint_into("x", spec).to_vec();
        if *force {
            args.push("--force");
        }
        let out = env.run(args);
        out.assert_code(2);
        assert!(out.stderr.contains(why), "{spec}: {out}");
        assert!(out.stderr.contains("refusing"), "{spec}: {out}");
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's own file\n");
    assert_eq!(mode(&victim), 0o644, "never chmodded through the link");
    assert_eq!(users::owner(&shared.join("real.env")), users::OTHER);
    assert!(!shared.join("new-token").exists());
}

#[test]
fn a_replaced_file_is_a_fresh_inode_of_ours_mode_0600() {
    let s = Stack::start();
    let path = s.env.home().join("token");
    fs::write(&path, "old\n").unwrap();
    set_mode(&path, 0o644);
    std::os::unix::fs::chown(&path, Some(users::OTHER), Some(users::OTHER)).unwrap();
    let ino = fs::metadata(&path).unwrap().ino();
    let out = s.env.run([
        "mint",
        "--description",
        "fresh",
        "--force",
        "--store",
        &format!("file:{}", path.display()),
    ]);
    out.assert_success();
    let m = fs::symlink_metadata(&path).unwrap();
    assert_eq!(m.uid(), users::euid(), "never the old owner's file");
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_ne!(m.ino(), ino, "a fresh inode");
}

// --- 2. the session cache ----------------------------------------------------

#[test]
fn a_planted_session_or_a_shared_cache_dir_is_refused() {
    let s = Stack::start();
    let status = || s.env.run(["status"]);
    status().assert_success();
    let file = support::session_file(&s.env);
    std::os::unix::fs::chown(&file, Some(users::OTHER), Some(users::OTHER)).unwrap();
    let out = status();
    out.assert_fails(7, &["another user", &file.display().to_string()]);
    std::os::unix::fs::chown(&file, Some(users::euid()), None).unwrap();
    status().assert_success();

    let dir = s.env.cache_dir();
    set_mode(&dir, 0o777);
    let out = status();
    out.assert_fails(7, &["writable by other users"]);
    set_mode(&dir, 0o700);
    status().assert_success();
}

// --- 3. temp files that held a token -------------------------------------------

#[test]
fn stale_temp_files_of_ours_are_removed_on_the_next_run() {
    let s = Stack::start();
    let dir = s.env.home().join("store");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    // Names as a run killed during the fsync leaves them; the pid is above
    // any pid_max, so that process is gone.
    let ours = dir.join(".influx-bootstrap-99999999-AbCdEf.tmp");
    let theirs = dir.join(".influx-bootstrap-99999998-GhIjKl.tmp");
    for p in [&ours, &theirs] {
        fs::File::create(p)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    std::os::unix::fs::chown(&theirs, Some(users::OTHER), Some(users::OTHER)).unwrap();
    s.env
        .run(support::mint_into(
            "clean",
            &format!("file:{}/token", dir.display()),
        ))
        .assert_success();
    assert!(!ours.exists(), "our stale temp file was removed");
    assert!(theirs.exists(), "another user's file is not ours to remove");
}

// --- 4. core dumps ------------------------------------------------------------

#[test]
fn core_dumps_are_off_and_the_process_is_not_dumpable() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    // Unprivileged, so that "not dumpable" is visible: its /proc files then
    // belong to root instead of to the user it runs as (proc(5)).
    let cmd = support::as_unprivileged(
        &env,
        env.cmd(["login", "--format", "json", "--browser", "never"]),
    );
    let mut run = Running::spawn(cmd);
    assert_eq!(
        run.next_stdout_json(DEFAULT_TIMEOUT)["event"],
        "device_code"
    );
    let pid = run.pid();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line.split_whitespace().nth(2) != Some("0") || !support::is_root(),
        "runs unprivileged: {uid_line}"
    );
    assert_eq!(
        fs::metadata(format!("/proc/{pid}/environ")).unwrap().uid(),
        0,
        "not dumpable: /proc/{pid} belongs to root"
    );
    // SIGQUIT (whose default would dump core) is handled: 128 + 3.
    run.signal("QUIT");
    run.wait_output().assert_code(131);
}

// --- 6. a failing stderr ------------------------------------------------------

#[test]
fn a_full_or_closed_stderr_never_aborts_the_pipeline() {
    let s = Stack::start();
    for how in ["full", "closed", "broken-pipe"] {
        let path = s.env.home().join(format!("token-{how}"));
        // -vv: log lines too go to the failing stderr.
        let cmd = s.env.cmd([
            "-vv",
            "mint",
            "--description",
            how,
            "--store",
            &format!("file:{}", path.display()),
        ]);
        let mut cmd = match how {
            "full" => {
                let mut cmd = cmd;
                cmd.stderr(
                    fs::OpenOptions::new()
                        .write(true)
                        .open("/dev/full")
                        .unwrap(),
                );
                cmd
            }
            "broken-pipe" => {
                // A pipe whose reader is gone before the first write (EPIPE).
                let (reader, writer) = std::io::pipe().unwrap();
                drop(reader);
                let mut cmd = cmd;
                cmd.stderr(writer);
                cmd
            }
            _ => {
                // The same command with descriptor 2 closed (`2>&-`).
                let mut sh = s.env.wrapper("sh", &cmd);
                sh.arg("-c")
                    .arg("exec \"$0\" \"$@\" 2>&-")
                    .arg(cmd.get_program())
                    .args(cmd.get_args())
                    .stdin(Stdio::null());
                sh
            }
        };
        let child = cmd.stdout(Stdio::null()).spawn().unwrap();
        let status = test_support::process::wait_or_panic(child, DEFAULT_TIMEOUT, how);
        assert_eq!(status.code(), Some(0), "{how}: {status}");
        // The token and a newline, nothing else (with descriptor 2 closed,
        // a file opened later would get number 2 and our messages with it).
        let token = fs::read_to_string(&path).unwrap();
        let bare = token
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{how}: {token:?}"));
        assert!(
            bare.starts_with("M.V1.") && !bare.contains(char::is_whitespace),
            "{how}: {token:?}"
        );
        let id = s.tokens().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            s.cluster.get_with(bare, &id).status(),
            200,
            "{how}: the stored token works"
        );
    }
    let all = s.tokens();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|t| t["revokedAt"].is_null()), "{all:?}");
}

// --- 7. management create: interrupted between commit and response -------------

/// A TCP proxy in front of the cluster that forwards everything, except that
/// the response to the first POST (which the cluster has committed by then)
/// is never passed on; `committed` receives a message when it arrived.
struct HoldFirstPost {
    port: u16,
    committed: std::sync::mpsc::Receiver<()>,
}

fn hold_first_post(upstream: u16) -> HoldFirstPost {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, committed) = std::sync::mpsc::channel();
    let first = Arc::new(AtomicBool::new(true));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let hold = Arc::new(AtomicBool::new(false));
            let (mut c, mut s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (h, f) = (hold.clone(), first.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n @ 1..) = c.read(&mut buf) {
                    if buf[..n].starts_with(b"POST ") && f.swap(false, Ordering::SeqCst) {
                        h.store(true, Ordering::SeqCst);
                    }
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s.shutdown(Shutdown::Write);
            });
            let (mut c, mut s) = (client, server);
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    if hold.load(Ordering::SeqCst) {
                        let _ = tx.send(());
                        // Never answer; the connection dies with the test.
                        loop {
                            std::thread::park();
                        }
                    }
                    if c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c.shutdown(Shutdown::Write);
            });
        }
    });
    HoldFirstPost { port, committed }
}

#[test]
fn management_create_interrupted_after_the_commit_revokes_the_token() {
    let idp = Idp::builder().interval(1).start();
    let cluster = support::cluster::Cluster::start(&idp);
    let proxy = hold_first_post(cluster.port());
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::new(&idp)
            .cluster(&cluster)
            .port(proxy.port)
            .build(),
    );
    login(&env, &idp, "admin");
    let run = env.spawn(["management", "create", "--description", "held"]);
    proxy
        .committed
        .recv_timeout(DEFAULT_TIMEOUT)
        .expect("the cluster committed the create");
    run.signal("INT");
    let out = run.wait_output();
    out.assert_fails(130, &["revoked"]);
    let all = cluster.list_with(&session_jwt(&env));
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0]["revokedAt"].is_string(),
        "no live, unseen token: {all:?}"
    );
}

// --- 9 and 17. exec: process groups and the environment --------------------------

#[test]
fn a_failed_exec_store_leaves_no_grandchild_and_the_token_is_revoked() {
    let s = Stack::start();
    let pidfile = s.env.home().join("bg.pid");
    let spec = format!(
        "exec:sleep 300 & echo $! > {p}.tmp; mv {p}.tmp {p}; cat >/dev/null; exit 3",
        p = pidfile.display()
    );
    let out = s.env.run(support::mint_into("bg", &spec));
    out.assert_code(11);
    let pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !test_support::process::alive(pid),
        "the background child {pid} still holds the token"
    );
    let all = s.tokens();
    assert_eq!(all.len(), 1);
    assert!(all[0]["revokedAt"].is_string(), "{all:?}");
}

#[test]
fn exec_children_never_see_influx_token_variables() {
    let s = Stack::start();
    let envfile = s.env.home().join("child.env");
    let mut cmd = s.env.cmd(support::mint_into(
        "env",
        &format!("exec:cat >/dev/null; env > {}", envfile.display()),
    ));
    cmd.env("INFLUX_TOKEN", "leak-one")
        .env("INFLUXDB3_AUTH_TOKEN", "leak-two")
        .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", "")
        .env("INFLUX_HOST", "kept");
    Running::spawn(cmd).wait_output().assert_success();
    let env = fs::read_to_string(&envfile).unwrap();
    assert!(!env.contains("leak-"), "{env}");
    assert!(!env.contains("INFLUX_BOOTSTRAP_"), "{env}");
    assert!(env.contains("INFLUX_HOST=kept"), "{env}");
}

// --- 14. a stored token only goes to the cluster it belongs to -------------------

#[test]
fn a_stored_token_is_never_sent_to_another_cluster() {
    let s = Stack::start();
    let home = s.env.home().to_path_buf();
    let file = home.join("a.token");
    let spec = format!("file:{}", file.display());
    let mint = |env_port: Option<u16>, extra: &[&str]| {
        let mut args = vec!["mint", "--browser", "never", "--description", "bound"];
        args.extend_from_slice(extra);
        let mut cmd = s.env.cmd(args);
        if let Some(p) = env_port {
            cmd.env("INFLUX_BOOTSTRAP_PORT", p.to_string());
        }
        Running::spawn(cmd).wait_output()
    };
    mint(None, &["--expires-in", "90d", "--store", &spec]).assert_success();
    let token = fs::read_to_string(&file).unwrap();

    // The record says cluster A; the profile now points at cluster B: the
    // token is not sent there (before, B was asked about it, said 401, and
    // `--if-missing` minted a new token on B over A's).
    let b = support::cluster::Cluster::start(&s.idp);
    let out = mint(
        Some(b.port()),
        &["--if-missing", "--expires-in", "90d", "--store", &spec],
    );
    out.assert_fails(2, &["was made for", "it was not sent"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), token);
    assert_eq!(b.token_count(), 0);

    // An influxctl profile names its own cluster: rotating its token while
    // our profile points elsewhere is refused, the profile left as it was.
    let ctl = s.env.xdg_config_home().join("influxctl/config.toml");
    fs::create_dir_all(ctl.parent().unwrap()).unwrap();
    let ctl_text = format!(
        "[[profile]]\n  name = \"prod\"\n  host = \"prod.example.com\"\n  port = \"443\"\n  mgmt_token = \"{}\"\n",
        token.trim()
    );
    fs::write(&ctl, &ctl_text).unwrap();
    let before = s.cluster.token_count();
    let out = Running::spawn(s.env.cmd(["rotate", "--store", "influxctl:prod"])).wait_output();
    out.assert_fails(2, &["prod.example.com:443"])
        .assert_stderr_lacks(&[token.trim()]);
    assert_eq!(fs::read_to_string(&ctl).unwrap(), ctl_text);
    assert_eq!(s.cluster.token_count(), before, "nothing was created");
}

// --- 15. replacing a live token needs --force ------------------------------------

#[test]
fn a_store_that_holds_a_token_is_not_replaced_without_force() {
    let env = support::offline_env();
    let dotenv = env.home().join(".env");
    fs::write(&dotenv, "INFLUX_MGMT_TOKEN=live-token\n").unwrap();
    let influxctl = env.xdg_config_home().join("influxctl");
    fs::create_dir_all(&influxctl).unwrap();
    fs::write(
        influxctl.join("config.toml"),
        "[[profile]]\n  name = \"default\"\n  host = \"h\"\n  port = \"443\"\n  mgmt_token = \"live\"\n",
    )
    .unwrap();
    let keyring = env.home().join("keyring");
    fs::create_dir(&keyring).unwrap();
    set_mode(&keyring, 0o700);
    let entry = influx_bootstrap::store::test_keyring_file(&keyring, "influxdb", "admin");
    fs::write(&entry, "live-token").unwrap();
    set_mode(&entry, 0o600);
    for spec in [
        format!("env-file:{}", dotenv.display()),
        "influxctl:default".to_string(),
        "keyring:influxdb/admin".to_string(),
    ] {
        let mut cmd = env.cmd(support::mint_into("x", &spec));
        cmd.env("INFLUX_BOOTSTRAP_TEST_KEYRING_DIR", &keyring);
        let out = Running::spawn(cmd).wait_output();
        out.assert_code(2);
        assert!(
            out.stderr.contains("already holds a token"),
            "{spec}: {out}"
        );
        assert!(out.stderr.contains("--force"), "{spec}: {out}");
    }
    assert_eq!(
        fs::read_to_string(&dotenv).unwrap(),
        "INFLUX_MGMT_TOKEN=live-token\n"
    );
    assert_eq!(fs::read_to_string(&entry).unwrap(), "live-token");
}

// --- 16. rotate never prints to stdout -----------------------------------------

#[test]
fn rotate_refuses_stdout() {
    let env = support::offline_env();
    let file = env.home().join("token");
    fs::write(&file, "old\n").unwrap();
    let out = env.run([
        "rotate",
        "--store",
        &format!("file:{}", file.display()),
        "--store",
        "stdout",
    ]);
    out.assert_fails(2, &["stdout"]);
    assert!(out.stdout.is_empty(), "{out}");
}

// --- issue 10: every store checked fully, up front ---------------------------------

#[test]
fn an_exec_program_not_on_path_is_refused_up_front() {
    let env = support::offline_env();
    let out = env.run(support::mint_into(
        "x",
        "exec:no-such-secret-manager put token=-",
    ));
    out.assert_fails(2, &["no-such-secret-manager", "not found"]);
}

/// A read-only directory (a probe file cannot be created, whatever the mode
/// bits say to root) is found before anything is created.
#[test]
fn a_store_directory_where_no_file_can_be_created_is_refused_up_front() {
    let env = support::offline_env();
    // /proc/self is a directory nobody, root included, can create files in.
    let spec = "file:/proc/self/token".to_string();
    let out = env.run(support::mint_into("x", &spec));
    out.assert_fails(2, &["/proc/self"]);
}

/// `'…'` for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `--on-store-failure print` shows the token only to a person: stdin and
/// stderr terminals and `CI` unset. A CI runner that gives its job a
/// pseudo-terminal gets the token revoked instead. Run under `script`
/// (util-linux), which gives the command a pseudo-terminal on 0, 1 and 2.
#[test]
fn print_on_store_failure_needs_a_person_not_a_ci_runner() {
    let s = Stack::start();
    for (ci, shown) in [(Some("true"), false), (None, true)] {
        let args = [
            "mint",
            "--description",
            "print",
            "--on-store-failure",
            "print",
            "--store",
            "exec:cat >/dev/null; exit 1",
        ];
        let line = args.map(sh_quote).join(" ");
        // No TERM, as in a bare CI environment.
        let vars = [("TERM", None), ("CI", ci)];
        let out = in_pty(&s.env, 80, 24, &line, &vars).wait_output();
        out.assert_code(11);
        assert_eq!(
            out.stdout.contains("save it now"),
            shown,
            "CI={ci:?}: {out}"
        );
        if !shown {
            assert!(out.stdout.contains("revoked"), "{out}");
        }
    }
    let all = s.tokens();
    assert_eq!(all.len(), 2);
    assert!(all[0]["revokedAt"].is_string(), "CI: revoked: {all:?}");
    assert!(all[1]["revokedAt"].is_null(), "a person saw it: {all:?}");
}
