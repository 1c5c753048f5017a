//! Steps and checks that several test modules share: starting a login,
//! following `slow_down`, environments that must fail before the network,
//! reading `config show`, a `$BROWSER` to wait on.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{
    DEFAULT_AUDIENCE, DEFAULT_TIMEOUT, Idp, Output, ProfileToml, Running, TestEnv, free_port,
};

/// The smallest `mint` a test adds its flags to.
pub const MINT_X: [&str; 3] = ["mint", "--description", "x"];

/// The smallest `management create` a test adds its flags to.
pub const CREATE_X: [&str; 4] = ["management", "create", "--description", "x"];

/// `mint --description <description> --store <store>`: the arguments of a
/// management-token mint into one store.
pub fn mint_into<'a>(description: &'a str, store: &'a str) -> [&'a str; 5] {
    ["mint", "--description", description, "--store", store]
}

/// Starts `login --format json` with `extra` arguments; returns it with its
/// `device_code` event.
pub fn start_login(env: &TestEnv, extra: &[&str]) -> (Running, Value) {
    let mut args = vec!["login", "--format", "json", "--browser", "never"];
    args.extend_from_slice(extra);
    let mut run = env.spawn(args);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    (run, ev)
}

/// `rotate --store S` for each of `stores`.
pub fn rotate_of<'a>(stores: &[&'a str]) -> Vec<&'a str> {
    let flags = stores.iter().flat_map(|s| ["--store", *s]);
    std::iter::once("rotate").chain(flags).collect()
}

/// `mint --format json` into a file store with a device-flow login approved
/// as soon as the code appears; `at_code` looks at the world at that moment.
pub fn mint_logging_in(idp: &Idp, env: &TestEnv, at_code: impl FnOnce(&Value)) -> Output {
    let store = format!("file:{}", env.home().join("mgmt-token").display());
    let mut run = env.spawn([
        "mint",
        "--description",
        "json events",
        "--store",
        &store,
        "--browser",
        "never",
        "--format",
        "json",
    ]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    at_code(&ev);
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    let out = run.wait_output();
    out.assert_success();
    out
}

/// Spawns `mint --format json` with `args` and waits for its `device_code`
/// event: the run is then waiting for approval (RFC 8628 section 3.2).
pub fn mint_awaiting_approval(env: &TestEnv, args: &[&str]) -> Running {
    let mut run = env.spawn([&["mint", "--format", "json"], args].concat());
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    run
}

/// Follows a login whose first poll the provider answers `slow_down`
/// (RFC 8628 section 3.5): the interval must grow from 1 s to 1 + 5 = 6 s,
/// so that no later poll is slowed down. `approve` approves the user code.
pub fn follow_slow_down(mut run: Running, ev: &Value, approve: impl FnOnce(&str)) {
    let slow = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(slow["event"], "slow_down", "{slow}");
    assert_eq!(slow["interval"], 6, "{slow}");
    approve(ev["user_code"].as_str().unwrap());
    loop {
        let e = run.next_stdout_json(DEFAULT_TIMEOUT);
        assert_ne!(e["event"], "slow_down", "the interval did not grow: {e}");
        if e["event"] == "authorized" {
            break;
        }
    }
    run.wait_output().assert_success();
}

/// The row of `key` in the JSON of `config show --format json`
/// (`{"key", "value", "source"}`).
#[track_caller]
pub fn config_row(show: &Value, key: &str) -> Value {
    element(&show["values"], "key", key).clone()
}

/// The check `name` in the JSON of `doctor --format json`.
#[track_caller]
pub fn doctor_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    element(&report["checks"], "name", name)
}

/// The element of the JSON array `list` whose `field` is `value`.
#[track_caller]
pub fn element<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .find(|e| e[field] == value)
        .unwrap_or_else(|| panic!("no {field} {value:?} in {list}"))
}

/// The run was refused for its management token: exit 8 (authentication)
/// with the message; returns stderr for further checks.
#[track_caller]
pub fn assert_rejected_management_token(o: &Output) -> &str {
    o.assert_code(8);
    assert!(
        o.stderr.contains("rejected the management token"),
        "{}",
        o.stderr
    );
    &o.stderr
}

/// An environment whose profile names an issuer where nothing listens (and
/// no `resource`, the cluster's default port, TLS off): a network call would
/// fail with exit 5, so a refusal before it is seen as such.
pub fn unreachable_issuer_env() -> TestEnv {
    let env = TestEnv::new();
    let issuer = format!("http://127.0.0.1:{}", free_port());
    env.write_config(
        &ProfileToml::for_issuer(&issuer, None)
            .tls_disable(true)
            .build(),
    );
    env
}

/// An environment whose profile points at an identity provider and a
/// cluster that do not exist: anything that fails here failed before the
/// network (and before anyone was asked).
pub fn offline_env() -> TestEnv {
    let env = TestEnv::new();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    env.write_config(
        &ProfileToml::for_issuer(&nowhere, Some(DEFAULT_AUDIENCE))
            .port(free_port())
            .tls_disable(true)
            .build(),
    );
    env
}

/// A `$BROWSER` that writes the URL it was given into a FIFO the test
/// reads: an event to wait on (the browser is started detached), no polling.
pub struct FifoBrowser {
    script: PathBuf,
    opened: std::sync::mpsc::Receiver<std::io::Result<String>>,
}

impl FifoBrowser {
    /// The script and its FIFO, in `env`'s home.
    pub fn new(env: &TestEnv) -> FifoBrowser {
        use std::os::unix::fs::PermissionsExt;
        let fifo = env.home().join("browser.fifo");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let script = env.home().join("browser.sh");
        fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\n", fifo.display()),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let (tx, opened) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(fs::read_to_string(fifo));
        });
        FifoBrowser { script, opened }
    }

    /// The value for `BROWSER`.
    pub fn command(&self) -> String {
        self.script.display().to_string()
    }

    /// The URL the browser was started with (waits up to 60 s for it).
    pub fn opened(&self) -> String {
        self.opened
            .recv_timeout(Duration::from_secs(60))
            .expect("$BROWSER was not started")
            .unwrap()
    }
}

/// `config init` for the test provider's issuer, client `influx-bootstrap`
/// and its audience as the resource; the caller adds the host.
pub fn config_init_args(idp: &Idp) -> Vec<&str> {
    vec![
        "config",
        "init",
        "--issuer",
        idp.issuer(),
        "--client-id",
        "influx-bootstrap",
        "--resource",
        idp.audience(),
    ]
}
