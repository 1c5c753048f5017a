//! Rotation a fleet can trust (issue 17): many hosts, each with its own HOME
//! and state directory, run the same `mint`/`rotate` with the same
//! description against one cluster. One regression test per item of the
//! issue (H1, M1, M3, M5, L4 of the 2026-12-06 security review), each through
//! the real binary against the reference cluster playing a stock cluster
//! (database tokens: no token prefix, no server idempotency — the case where
//! guessing "ours" from a description went furthest wrong).

use crate::support;

use reference_cluster::config::DocumentedPaths;
use std::path::PathBuf;
use support::cluster::Cluster;
use support::stock::{management_token, stock, write};
use support::{Idp, Output, ProfileToml, Running, StoreGate, TestEnv};

/// One simulated host: its own HOME (so its own state directory), the
/// cluster's profile, the automation's management token.
struct Host {
    env: TestEnv,
    mgmt: String,
}

impl Host {
    fn new(idp: &Idp, cluster: &Cluster, mgmt: &str) -> Host {
        let env = TestEnv::new();
        env.write_config(&ProfileToml::new(idp).cluster(cluster).build());
        Host {
            env,
            mgmt: mgmt.to_string(),
        }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.env.cmd(args);
        c.env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &self.mgmt);
        c
    }

    fn spawn(&self, args: &[&str]) -> Running {
        Running::spawn(self.cmd(args))
    }

    fn run(&self, args: &[&str]) -> Output {
        self.spawn(args).wait_output()
    }

    fn mint(&self, stores: &[&str]) -> Output {
        self.mint_with(&[], stores)
    }

    /// `mint` of the fleet's database token, with `extra` flags.
    fn mint_with(&self, extra: &[&str], stores: &[&str]) -> Output {
        let mut args = support::stock::telegraf_db(&["mint"], &["--create-database"]);
        args.extend_from_slice(extra);
        for s in stores {
            args.extend(["--store", s]);
        }
        self.run(&args)
    }

    fn state(&self) -> PathBuf {
        self.env.home().join(".local/state/influx-bootstrap")
    }

    fn journals(&self) -> usize {
        std::fs::read_dir(self.state().join("journal")).map_or(0, |d| d.count())
    }

    fn token(&self, name: &str) -> String {
        std::fs::read_to_string(self.env.home().join(name))
            .unwrap()
            .trim()
            .to_string()
    }
}

/// One host that minted a database token into `file:t`.
fn one_host() -> (Idp, Cluster, Host) {
    let (idp, cluster, mgmt) = setup();
    let x = Host::new(&idp, &cluster, &mgmt);
    x.mint(&["file:t"]).assert_success();
    (idp, cluster, x)
}

fn setup() -> (Idp, Cluster, String) {
    let idp = Idp::builder().interval(1).start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let mgmt = management_token(&cluster);
    (idp, cluster, mgmt)
}

/// Items 1 and 2 (H1): host x's rotation loses its create's answer (the
/// cluster commits, the connection drops, twice) and keeps its journal; host
/// y rotates its own token with the same description; x's next run finishes
/// its journal and revokes only what x's run provably made — y's token keeps
/// working. (Before: x revoked every same-description token created since.)
#[test]
fn a_lost_create_never_revokes_another_hosts_token() {
    let (idp, cluster, mgmt) = setup();
    let (x, y) = (
        Host::new(&idp, &cluster, &mgmt),
        Host::new(&idp, &cluster, &mgmt),
    );
    x.mint(&["file:t"]).assert_success();
    y.mint(&["file:t"]).assert_success();

    cluster.faults(serde_json::json!({"drop_after_create": 2}));
    let out = x.run(&["rotate", "--store", "file:t"]);
    assert!(!out.success(), "{out}");
    assert_eq!(
        x.journals(),
        1,
        "the unknown outcome keeps the journal\n{out}"
    );
    cluster.faults(serde_json::json!({"drop_after_create": 0}));

    y.run(&["rotate", "--store", "file:t"]).assert_success();
    let y_token = y.token("t");
    assert_eq!(write(&cluster, &y_token, "db"), 204);

    let out = x.run(&["rotate", "--store", "file:t"]);
    out.assert_success();
    assert!(out.stderr.contains("was interrupted"), "{out}");
    assert_eq!(x.journals(), 0, "a resolved journal is removed\n{out}");
    assert_eq!(
        write(&cluster, &y_token, "db"),
        204,
        "y's token was revoked\n{out}"
    );
    assert_eq!(write(&cluster, &x.token("t"), "db"), 204);
}

/// Item 3 (M1): a state directory other users can write to is refused
/// before anything is created or revoked (exit 7), as the session cache is.
#[test]
fn a_state_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_idp, cluster, x) = one_host();
    let before = cluster.stats()["database_tokens"].clone();
    std::fs::set_permissions(x.state(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [
        &["rotate", "--store", "file:t"][..],
        &[
            "mint",
            "--force",
            "--description",
            "telegraf",
            "--write-database",
            "db",
            "--store",
            "file:t",
        ],
    ] {
        let out = x.run(args);
        out.assert_code(7);
        assert!(out.stderr.contains("writable by other users"), "{out}");
        assert!(
            out.stderr.contains("INFLUX_BOOTSTRAP_STATE_DIR"),
            "hint\n{out}"
        );
    }
    assert_eq!(
        cluster.stats()["database_tokens"],
        before,
        "nothing created"
    );
    assert_eq!(write(&cluster, &x.token("t"), "db"), 204, "nothing revoked");
}

/// Item 5 (M5): a second run of the same stores waits a bounded time for the
/// first, then stops with exit 14 naming it; the first finishes with the
/// store holding its live token.
#[test]
fn overlapping_runs_of_one_store_are_serialised() {
    let (idp, cluster, mgmt) = setup();
    let x = Host::new(&idp, &cluster, &mgmt);
    let gate = StoreGate::new(x.env.home(), "slow", 0);
    x.mint(&["file:t"]).assert_success();
    let first = x.spawn(&["rotate", "--store", "file:t", "--store", &gate.spec]);
    gate.wait_until_storing(&first);
    let mut second = x.cmd(&["rotate", "--store", "file:t"]);
    second.env("INFLUX_BOOTSTRAP_LOCK_WAIT", "300ms");
    let out = Running::spawn(second).wait_output();
    out.assert_code(14);
    assert!(
        out.stderr.contains(&format!("pid {}", first.pid())),
        "{out}"
    );
    gate.open();
    first.wait_output().assert_success();
    assert_eq!(write(&cluster, &x.token("t"), "db"), 204);
}

/// Item 6 (L4) and item 4 (M3): a rotation with `--keep-old`, killed after
/// every readable store took the new token, is finished forward by the next
/// run — and the old token, which the person asked to keep, stays valid. A
/// run with another cluster's profile finds the journal and sends nothing.
#[test]
fn recovery_keeps_the_old_token_and_stays_on_its_cluster() {
    let (idp, cluster, mgmt) = setup();
    let x = Host::new(&idp, &cluster, &mgmt);
    x.mint(&["file:a", "file:b"]).assert_success();
    let old = x.token("a");
    let gate = StoreGate::new(x.env.home(), "crash", 0);
    let rotate = [
        "rotate",
        "--keep-old",
        "--store",
        "file:a",
        "--store",
        "file:b",
        "--store",
        gate.spec.as_str(),
    ];
    let first = x.spawn(&rotate);
    assert_eq!(gate.interrupt(first, "KILL").code, None);
    let new = x.token("a");
    assert_ne!(new, old);
    assert_eq!(x.journals(), 1);

    // Another cluster's profile: refused before the journal's tokens are
    // sent anywhere.
    let other = stock(&idp, DocumentedPaths::Both, None);
    let other_toml = x.env.home().join("other.toml");
    std::fs::write(&other_toml, ProfileToml::new(&idp).cluster(&other).build()).unwrap();
    let other_mgmt = management_token(&other);
    let mut c = x.cmd(&rotate);
    c.env("INFLUX_BOOTSTRAP_CONFIG", &other_toml)
        .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", &other_mgmt);
    let out = Running::spawn(c).wait_output();
    out.assert_code(2);
    assert!(out.stderr.contains("belongs to"), "{out}");
    assert_eq!(x.journals(), 1, "kept for its own cluster");
    assert_eq!(other.stats()["database_tokens"], 0, "nothing created there");

    let second = x.spawn(&rotate);
    let out = gate.pass(second);
    out.assert_success();
    assert!(out.stderr.contains("kept (--keep-old)"), "{out}");
    assert_eq!(x.journals(), 0);
    assert_eq!(write(&cluster, &new, "db"), 204);
    assert_eq!(
        write(&cluster, &old, "db"),
        204,
        "the kept token was revoked\n{out}"
    );
}

/// Item 4 (M4): `management_url` decides where a stored token is sent, so
/// an `influxctl:` store's binding is compared with it, not with the
/// profile's host: a management token bound to this cluster is never sent
/// to another one through `INFLUX_BOOTSTRAP_MANAGEMENT_URL`.
#[test]
fn management_url_cannot_redirect_an_influxctl_stores_token() {
    let s = support::Stack::start();
    let out = s.env.run([
        "mint",
        "--browser",
        "never",
        "--description",
        "ctl",
        "--expires-in",
        "90d",
        "--store",
        "file:a.token",
    ]);
    out.assert_success();
    let token = std::fs::read_to_string(s.env.home().join("a.token")).unwrap();
    let ctl = s.env.xdg_config_home().join("influxctl/config.toml");
    std::fs::create_dir_all(ctl.parent().unwrap()).unwrap();
    let ctl_text = format!(
        "[[profile]]\n  name = \"prod\"\n  host = \"127.0.0.1\"\n  port = \"{}\"\n  mgmt_token = \"{}\"\n",
        s.cluster.port(),
        token.trim()
    );
    std::fs::write(&ctl, &ctl_text).unwrap();
    let elsewhere = Cluster::start(&s.idp);
    let mut cmd = s.env.cmd(["rotate", "--store", "influxctl:prod"]);
    cmd.env("INFLUX_BOOTSTRAP_MANAGEMENT_URL", elsewhere.url());
    let out = Running::spawn(cmd).wait_output();
    out.assert_code(2);
    assert!(out.stderr.contains("it was not sent"), "{out}");
    // Only the pre-flight probe's unauthenticated GET reached it (before
    // the fix, the list sent with the stored token made it two).
    let (list, create) = (
        elsewhere.requests("GET /api/v0/management/tokens"),
        elsewhere.requests("POST /api/v0/management/tokens"),
    );
    assert_eq!((list, create), (1, 0), "{out}");
    assert_eq!(std::fs::read_to_string(&ctl).unwrap(), ctl_text);
}

/// The sum of every request the cluster served.
fn served(cluster: &Cluster) -> u64 {
    cluster.served()
}

/// `rotate --when-remaining`: safe to run hourly on every host. A token
/// that does not expire within the window is left alone with one line (a
/// JSON `unchanged` event with `--format json`), exit 0, after one request
/// (issue 21: the stored token's read-back stands in for the pre-flight;
/// before, the pre-flight's `GET /api/v0/databases` made two; `mint
/// --if-missing` alike); one that is due is rotated.
#[test]
fn when_remaining_rotates_only_a_token_that_is_due() {
    let (idp, cluster, mgmt) = setup();
    let x = Host::new(&idp, &cluster, &mgmt);
    x.mint_with(&["--expires-in", "30d"], &["file:t"])
        .assert_success();
    let old = x.token("t");

    let before = served(&cluster);
    let out = x.run(&["rotate", "--when-remaining", "14d", "--store", "file:t"]);
    out.assert_success();
    assert_eq!(served(&cluster) - before, 1, "one request\n{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "one line\n{out}");
    assert!(out.stderr.contains("nothing to do"), "{out}");
    assert_eq!(x.token("t"), old);

    let before = served(&cluster);
    let out = x.mint_with(&["--if-missing", "--min-remaining", "14d"], &["file:t"]);
    out.assert_success();
    assert_eq!(served(&cluster) - before, 1, "one request\n{out}");
    assert!(out.stderr.contains("nothing to do"), "{out}");
    assert_eq!(x.token("t"), old);

    let out = x.run(&[
        "rotate",
        "--when-remaining",
        "14d",
        "--format",
        "json",
        "--store",
        "file:t",
    ]);
    out.assert_success();
    assert_eq!(out.stdout_json()["event"], "unchanged", "{out}");

    let out = x.run(&["rotate", "--when-remaining", "31d", "--store", "file:t"]);
    out.assert_success();
    let new = x.token("t");
    assert_ne!(new, old, "{out}");
    assert_eq!(write(&cluster, &new, "db"), 204);

    let out = x.run(&["rotate", "--when-remaining", "soon", "--store", "file:t"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--when-remaining"), "{out}");

    // A cluster that went away is still reported in the probe's words,
    // without the read-back's retries.
    drop(cluster);
    let out = x.run(&["rotate", "--when-remaining", "14d", "--store", "file:t"]);
    out.assert_code(9);
    assert!(out.stderr.contains("nothing is listening at"), "{out}");
    assert!(!out.stderr.contains("retrying"), "{out}");
    assert_eq!(x.token("t"), new);
}

/// Issue 21: a scheduled management-token run with nothing to do makes one
/// request — `rotate --when-remaining` and `mint --if-missing` alike: the
/// recorded token's read stands in for the pre-flight probe (before, the
/// probe and the list made two; a database token's, see above). A cluster that went away is
/// still reported in the probe's words, exit 9 and its hint, without the
/// list's retries.
#[test]
fn a_scheduled_management_token_run_with_nothing_to_do_is_one_request() {
    let support::Stack {
        idp: _idp,
        cluster,
        env,
    } = support::Stack::start();
    let path = env.home().join("mgmt.token");
    let file = format!("file:{}", path.display());
    let minted = env.run([
        "mint",
        "--browser",
        "never",
        "--description",
        "scheduled",
        "--expires-in",
        "30d",
        "--store",
        &file,
    ]);
    minted.assert_success();
    let held = std::fs::read_to_string(&path).unwrap();
    let idle: [&[&str]; 2] = [
        &["rotate", "--when-remaining", "14d", "--store", &file],
        &[
            "mint",
            "--description",
            "scheduled",
            "--if-missing",
            "--min-remaining",
            "14d",
            "--store",
            &file,
        ],
    ];
    // The one request reads the recorded token by id (a few hundred bytes),
    // not the whole list (2.7 MB on a cluster of 10,000 tokens).
    let by_id = || cluster.requests("GET /api/v0/management/tokens/{id}");
    for args in idle {
        let (before, reads) = (served(&cluster), by_id());
        let out = env.run(args);
        out.assert_success();
        assert!(out.stderr.contains("nothing to do"), "{out}");
        assert_eq!(served(&cluster) - before, 1, "one request\n{out}");
        assert_eq!(by_id() - reads, 1, "read by id\n{out}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), held);

    drop(cluster);
    let out = env.run(idle[0]);
    out.assert_code(9);
    assert!(out.stderr.contains("nothing is listening at"), "{out}");
    assert!(out.stderr.contains("check `host` and `port`"), "{out}");
    assert!(!out.stderr.contains("retrying"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), held);
}

/// Issue 21: a database token's scheduled no-op with the person's cached
/// session is one request too (the recorded token's read stands in for the
/// documented pre-flight). Where the run would have to ask a person to log
/// in (no session), the probe still comes first: a cluster that went away
/// stops it, in the probe's words, before any device code.
#[test]
fn a_scheduled_database_token_run_probes_before_any_login() {
    let support::Stack { idp, cluster, env } = support::Stack::start();
    let path = env.home().join("db.token");
    let file = format!("file:{}", path.display());
    let minted = env.run(support::stock::telegraf_db(
        &["mint", "--browser", "never"],
        &["--create-database", "--expires-in", "30d", "--store", &file],
    ));
    minted.assert_success();
    let held = std::fs::read_to_string(&path).unwrap();
    let idle = ["rotate", "--when-remaining", "14d", "--store", &file];

    let before = served(&cluster);
    let out = env.run(idle);
    out.assert_success();
    assert!(out.stderr.contains("nothing to do"), "{out}");
    assert_eq!(served(&cluster) - before, 1, "one request\n{out}");

    env.run(["logout"]).assert_success();
    idp.reset_stats();
    drop(cluster);
    let out = env.run(idle);
    out.assert_code(9);
    assert!(out.stderr.contains("nothing is listening at"), "{out}");
    assert_eq!(idp.stats()["device_authorization"], 0, "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), held);
}

/// `POST /__test/activation`: new database tokens start to work this long
/// after their creation, and the next one made is refused at least once
/// whatever its age (a delay alone races the client on a loaded machine).
fn activation(cluster: &Cluster, database_ms: u64) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/__test/activation", cluster.url()))
        .json(&serde_json::json!({"database_ms": database_ms, "database_refusals": 1}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Item 7 (readiness): with a cluster that accepts new database tokens on
/// its data path only after 2 s, a consumer re-reading the store and writing
/// with what it finds the whole time never gets a refusal: the store gets the
/// new token only once the data path accepts it. With a bound shorter than
/// the delay, the old token stays stored and valid and the new one is
/// revoked (exit 9).
#[test]
fn consumers_never_get_a_token_the_data_path_does_not_accept_yet() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_idp, cluster, x) = one_host();
    let old = x.token("t");
    // The delay counts from each token's creation: wait (bounded) until the
    // minted one is past it before the consumer starts.
    activation(&cluster, 2000);
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while write(&cluster, &old, "db") != 204 {
        assert!(
            std::time::Instant::now() < limit,
            "the minted token never worked"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let run = x.spawn(&["rotate", "--store", "file:t"]);
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let consumer = {
        let (done, url_home) = (done.clone(), x.env.home().join("t"));
        let cluster_url = cluster.url();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut answers = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let tok = std::fs::read_to_string(&url_home).unwrap();
                let status = client
                    .post(format!("{cluster_url}/api/v2/write?bucket=db"))
                    .header("Authorization", format!("Token {}", tok.trim()))
                    .body("m v=1")
                    .send()
                    .unwrap()
                    .status()
                    .as_u16();
                answers.push(status);
            }
            answers
        })
    };
    let out = run.wait_output();
    done.store(true, Ordering::SeqCst);
    let answers = consumer.join().unwrap();
    out.assert_success();
    let new = x.token("t");
    assert_ne!(new, old);
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|s| *s == 204), "{answers:?}\n{out}");
    assert!(
        out.stderr.contains("Waiting for the cluster to accept"),
        "{out}"
    );
    assert_eq!(write(&cluster, &new, "db"), 204);
    assert_eq!(write(&cluster, &old, "db"), 401, "the old one is retired");

    // Not accepted within the bound: the old token stays, the new is revoked.
    activation(&cluster, 600_000);
    let before = cluster.stats()["database_tokens"].clone();
    let mut c = x.cmd(&["rotate", "--store", "file:t"]);
    c.env("INFLUX_BOOTSTRAP_READY_TIMEOUT", "1s");
    let out = Running::spawn(c).wait_output();
    out.assert_code(9);
    assert!(out.stderr.contains("was not accepted"), "{out}");
    assert_eq!(x.token("t"), new, "the store kept the old token");
    activation(&cluster, 0);
    assert_eq!(write(&cluster, &new, "db"), 204);
    let after = cluster.stats()["database_tokens"].as_u64().unwrap();
    assert_eq!(after, before.as_u64().unwrap() + 1, "one made");
    assert_eq!(x.journals(), 0);
}

/// `--on-rotated CMD` runs once the store holds the new token (it sees it
/// there) and before the old one is retired; when it fails, the old token
/// stays valid, the run says so and exits non-zero.
#[test]
fn on_rotated_tells_the_consumers_before_the_old_token_goes() {
    let (_idp, cluster, x) = one_host();
    let old = x.token("t");
    let out = x.run(&["rotate", "--on-rotated", "cp t seen", "--store", "file:t"]);
    out.assert_success();
    let new = x.token("t");
    assert_ne!(new, old);
    assert_eq!(
        x.token("seen"),
        new,
        "the hook ran after the store took the new token"
    );
    assert_eq!(write(&cluster, &old, "db"), 401);

    let out = x.run(&["rotate", "--on-rotated", "exit 3", "--store", "file:t"]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("--on-rotated failed"), "{out}");
    let newer = x.token("t");
    assert_ne!(newer, new);
    assert_eq!(write(&cluster, &newer, "db"), 204);
    assert_eq!(write(&cluster, &new, "db"), 204, "kept\n{out}");
}

/// A consumer beside a host: re-reads the host's store and writes with what
/// it finds until told to stop; every answer is kept.
struct Consumer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u16>>,
}

impl Consumer {
    fn start(cluster: &Cluster, store: PathBuf) -> Consumer {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let url = format!("{}/api/v2/write?bucket=db", cluster.url());
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut answers = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let tok = std::fs::read_to_string(&store).unwrap();
                let r = client
                    .post(&url)
                    .header("Authorization", format!("Token {}", tok.trim()))
                    .body("m v=1")
                    .send()
                    .unwrap();
                answers.push(r.status().as_u16());
            }
            answers
        });
        Consumer { stop, thread }
    }

    fn finish(self) -> Vec<u16> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// The fleet (issue 17, "done means"): five hosts, each with its own HOME
/// and state directory, share one description and rotate at the same time
/// against a cluster that accepts new database tokens only after 1.5 s,
/// through injected faults (creates whose answer is lost, 502s) and a
/// `kill -9` of one host mid-rotation; beside each host a consumer uses the
/// stored token the whole time. Then every host runs once more (finishing
/// what was cut short). No consumer request is ever refused; every host
/// ends with exactly one live token, the one it stores (so none revoked
/// another's); nothing else of that description is live.
#[test]
fn five_hosts_rotate_at_once_and_no_consumer_is_refused() {
    let (idp, cluster, mgmt) = setup();
    let hosts: Vec<Host> = (0..5).map(|_| Host::new(&idp, &cluster, &mgmt)).collect();
    for h in &hosts {
        h.mint(&["file:t"]).assert_success();
    }
    activation(&cluster, 1500);
    // Wait (bounded) until the minted tokens are past the delay.
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for h in &hosts {
        while write(&cluster, &h.token("t"), "db") != 204 {
            assert!(
                std::time::Instant::now() < limit,
                "a minted token never worked"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let consumers: Vec<Consumer> = hosts
        .iter()
        .map(|h| Consumer::start(&cluster, h.env.home().join("t")))
        .collect();

    cluster.faults(serde_json::json!({"drop_after_create": 2, "fail_next": 2, "fail_status": 502, "retry_after": 0}));
    let runs: Vec<Running> = hosts
        .iter()
        .map(|h| h.spawn(&["rotate", "--store", "file:t"]))
        .collect();
    // Host 0 dies while it waits for its new token to be accepted.
    runs[0].wait_for_stderr("Waiting for the cluster to accept");
    runs[0].signal("KILL");
    let outs: Vec<Output> = runs.into_iter().map(Running::wait_output).collect();
    assert_eq!(outs[0].code, None, "killed\n{}", outs[0]);
    cluster.faults(serde_json::json!({"drop_after_create": 0, "fail_next": 0}));

    // Every host runs again: finishes or rolls back what was cut short, and
    // rotates.
    let again: Vec<Running> = hosts
        .iter()
        .map(|h| h.spawn(&["rotate", "--store", "file:t"]))
        .collect();
    for (i, r) in again.into_iter().enumerate() {
        let out = r.wait_output();
        assert!(
            out.success(),
            "host {i}, first run:\n{}\nsecond run:\n{out}",
            outs[i]
        );
    }
    let answers: Vec<Vec<u16>> = consumers.into_iter().map(Consumer::finish).collect();
    for (i, a) in answers.iter().enumerate() {
        // Refused = 401/403. The injected 502s hit consumers too (a flaky
        // gateway does): they are not refusals of the token.
        let count = |f: &dyn Fn(u16) -> bool| a.iter().filter(|s| f(**s)).count();
        let refused = count(&|s| s == 401 || s == 403);
        let other = count(&|s| s != 204 && s != 502 && s != 401 && s != 403);
        assert_eq!((refused, other), (0, 0), "host {i}'s consumer: {a:?}");
        assert!(count(&|s| s == 204) > 0, "host {i}'s consumer never wrote");
    }

    let stored: Vec<String> = hosts.iter().map(|h| h.token("t")).collect();
    for (i, t) in stored.iter().enumerate() {
        assert_eq!(write(&cluster, t, "db"), 204, "host {i}'s stored token");
        assert_eq!(hosts[i].journals(), 0, "host {i}");
    }
    let distinct: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), 5);
    // Exactly those five are live: list with the automation's token.
    let list = hosts[1].run(&["token", "list", "--format", "json"]);
    list.assert_success();
    let live: Vec<serde_json::Value> = list
        .stdout_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["revoked_at"].is_null() && support::unmarked(&t["description"]) == "telegraf")
        .cloned()
        .collect();
    assert_eq!(live.len(), 5, "{live:#?}");
}

/// `rotate --grace`: the old token stays valid, its revocation pending in
/// the state directory; a later run of the same stores that has nothing else
/// to do (`--when-remaining`) revokes it once the grace has passed — not
/// before — exactly once.
#[test]
fn a_grace_keeps_the_old_token_until_a_later_run_retires_it() {
    let (_idp, cluster, x) = one_host();
    let old = x.token("t");
    let started = std::time::Instant::now();
    let out = x.run(&["rotate", "--grace", "2s", "--store", "file:t"]);
    out.assert_success();
    assert!(out.stdout.contains("(--grace)"), "{out}");
    let new = x.token("t");
    assert_ne!(new, old);
    let pending = || std::fs::read_dir(x.state().join("pending")).map_or(0, |d| d.count());
    assert_eq!(pending(), 1);
    // `status` names it (this host never logged in: as a note, exit 6).
    let status = x.run(&["status"]);
    status.assert_code(6);
    assert!(
        status.stderr.contains("pending revocation: database token"),
        "{status}"
    );

    let idle = ["rotate", "--when-remaining", "1d", "--store", "file:t"];
    let mut runs = 0;
    loop {
        let out = x.run(&idle);
        out.assert_success();
        runs += 1;
        if write(&cluster, &old, "db") == 401 {
            assert!(
                started.elapsed() >= std::time::Duration::from_secs(2),
                "revoked early"
            );
            assert!(out.stderr.contains("its grace ended"), "{out}");
            break;
        }
        assert_eq!(pending(), 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "never retired"
        );
    }
    assert!(runs > 1, "the first idle run came before the grace ended");
    assert_eq!(pending(), 0);
    assert_eq!(write(&cluster, &new, "db"), 204);
    let out = x.run(&idle);
    assert!(!out.stderr.contains("its grace ended"), "once\n{out}");
}

/// A scheduled `mint --if-missing` of the same stores (the other command
/// fleets run on a timer) retires a pending revocation too, once its grace
/// has passed, and leaves the successor it found alone.
#[test]
fn a_later_mint_if_missing_retires_a_pending_revocation() {
    let (_idp, cluster, x) = one_host();
    let old = x.token("t");
    x.run(&["rotate", "--grace", "1s", "--store", "file:t"])
        .assert_success();
    let new = x.token("t");
    let pending = || std::fs::read_dir(x.state().join("pending")).map_or(0, |d| d.count());
    assert_eq!(pending(), 1);
    let started = std::time::Instant::now();
    loop {
        let out = x.mint_with(&["--if-missing"], &["file:t"]);
        out.assert_success();
        assert_eq!(x.token("t"), new, "a working token is kept\n{out}");
        if write(&cluster, &old, "db") == 401 {
            assert!(out.stderr.contains("its grace ended"), "{out}");
            break;
        }
        assert_eq!(pending(), 1, "{out}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "never retired"
        );
    }
    assert_eq!(pending(), 0);
    assert_eq!(write(&cluster, &new, "db"), 204);
}

/// A first `mint` waits the same way: once it returns, the stored token
/// works on the data path; `--no-wait` stores it at once.
#[test]
fn mint_stores_a_token_only_once_the_data_path_accepts_it() {
    let (idp, cluster, mgmt) = setup();
    let x = Host::new(&idp, &cluster, &mgmt);
    activation(&cluster, 1500);
    let out = x.mint(&["file:t"]);
    out.assert_success();
    assert!(
        out.stderr.contains("Waiting for the cluster to accept"),
        "{out}"
    );
    assert_eq!(write(&cluster, &x.token("t"), "db"), 204);

    let out = x.mint_with(&["--no-wait"], &["file:u"]);
    out.assert_success();
    assert!(!out.stderr.contains("Waiting"), "{out}");
    assert_eq!(
        write(&cluster, &x.token("u"), "db"),
        401,
        "not accepted yet"
    );
}

/// A management token is ready once the Management API accepts it: with a
/// delay there, `rotate` waits instead of failing verification and rolling
/// back, and the stored token works when it returns.
#[test]
fn a_management_token_is_stored_once_the_management_api_accepts_it() {
    let s = support::Stack::start();
    s.env
        .run([
            "mint",
            "--browser",
            "never",
            "--description",
            "ops",
            "--expires-in",
            "90d",
            "--store",
            "file:m.token",
        ])
        .assert_success();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/__test/activation", s.cluster.url()))
        .json(&serde_json::json!({"management_refusals": 1}))
        .send()
        .unwrap();
    // The next management token made is refused once, whatever its age.
    assert!(r.status().is_success());
    let out = s.env.run(["rotate", "--store", "file:m.token"]);
    out.assert_success();
    assert!(
        out.stderr.contains("Waiting for the cluster to accept"),
        "{out}"
    );
    let token = std::fs::read_to_string(s.env.home().join("m.token")).unwrap();
    let r = s.cluster.get_with(token.trim(), "self-check-unknown-id");
    assert_ne!(r.status().as_u16(), 401, "the stored token is accepted");
}
