//! Support code for the integration tests of the `influx-bootstrap` binary
//! (the modules of `tests/it`). Shared with the reference cluster's tests, from
//! the `test-support` crate: the IdP fixture ([`Idp`]), the
//! test CA, the cluster database. Here:
//!
//! * [`TestEnv`] / [`Running`] / [`Output`]: an isolated environment (temp
//!   `HOME`, config and cache dirs, cleared environment) for running the
//!   `influx-bootstrap` binary;
//! * [`ProfileToml`]: a config file pointing at an [`Idp`];
//! * [`cluster::Cluster`]: the reference cluster in-process;
//! * [`Stack`]: IdP + cluster + a logged-in environment; [`StoreGate`]: an
//!   `exec:` store that holds `mint` at the store step;
//! * [`as_unprivileged`]: runs the binary as an unprivileged user, also when the
//!   tests run as root;
//! * [`free_port`]: a loopback port with nothing listening on it.
//!
//! Waits in here are on events (a line on a pipe, a pipe closing, a process
//! exit), each bounded by a generous timeout that panics with the relevant
//! diagnostics; nothing sleeps for a fixed time.

pub mod canned;
pub mod cluster;
pub mod pty;
pub mod steps;
pub mod stock;

pub use steps::*;

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub use test_support::{DEFAULT_AUDIENCE, Idp};

/// Default bound for waiting on output from, or the exit of, the CLI.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of the `influx-bootstrap` binary built by cargo for this test run
/// (with the `test-keyring` feature: see the dev-dependencies in Cargo.toml).
pub fn bin_path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_influx-bootstrap"))
}

// ---------------------------------------------------------------------------
// Config profiles
// ---------------------------------------------------------------------------

/// Builder for a `[[profile]]` block of the CLI config file.
#[derive(Debug, Clone)]
pub struct ProfileToml {
    name: String,
    product: String,
    host: String,
    port: String,
    client_id: String,
    scopes: Vec<String>,
    issuer: String,
    resource: Option<String>,
    tls_disable: bool,
    tls_ca: Option<String>,
    mgmt_token: Option<String>,
    management_url: Option<String>,
    account_id: Option<String>,
    cluster_id: Option<String>,
}

impl ProfileToml {
    /// A profile named `default` for client `influx-bootstrap` against `idp`,
    /// with `resource` = the IdP's audience.
    pub fn new(idp: &Idp) -> Self {
        Self::for_issuer(idp.issuer(), Some(idp.audience()))
    }

    /// Same defaults for an arbitrary issuer (e.g. one with nothing listening).
    pub fn for_issuer(issuer: &str, resource: Option<&str>) -> Self {
        ProfileToml {
            name: "default".to_owned(),
            product: "clustered".to_owned(),
            host: "127.0.0.1".to_owned(),
            port: "8086".to_owned(),
            client_id: "influx-bootstrap".to_owned(),
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            issuer: issuer.to_owned(),
            resource: resource.map(str::to_owned),
            tls_disable: false,
            tls_ca: None,
            mgmt_token: None,
            management_url: None,
            account_id: None,
            cluster_id: None,
        }
    }

    /// Point the profile at a reference cluster (host, port, http or CA).
    pub fn cluster(mut self, c: &cluster::Cluster) -> Self {
        self.host = "127.0.0.1".into();
        self.port = c.port().to_string();
        match c.ca_path() {
            Some(ca) => self.tls_ca = Some(ca.display().to_string()),
            None => self.tls_disable = true,
        }
        self
    }
    /// A profile called `name` for `idp` (see [`ProfileToml::new`]).
    pub fn named(idp: &Idp, name: &str) -> Self {
        Self::new(idp).name(name)
    }

    /// The cluster at loopback `port` over plain http (`[profile.tls]
    /// disable = true`, which the CLI allows for loopback only).
    pub fn plain_http(self, port: impl ToString) -> Self {
        self.port(port).tls_disable(true)
    }

    pub fn tls_disable(mut self, on: bool) -> Self {
        self.tls_disable = on;
        self
    }
    pub fn mgmt_token(mut self, token: Option<&str>) -> Self {
        self.mgmt_token = token.map(str::to_owned);
        self
    }
    pub fn management_url(mut self, url: &str) -> Self {
        self.management_url = Some(url.to_owned());
        self
    }
    pub fn dedicated(mut self, account: &str, cluster: &str) -> Self {
        self.product = "dedicated".into();
        self.account_id = Some(account.into());
        self.cluster_id = Some(cluster.into());
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }
    pub fn port(mut self, port: impl ToString) -> Self {
        self.port = port.to_string();
        self
    }
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Renders the `[[profile]]` block (concatenate several for multiple profiles).
    pub fn build(&self) -> String {
        let scopes = self
            .scopes
            .iter()
            .map(|s| toml_str(s))
            .collect::<Vec<_>>()
            .join(", ");
        let mut out = format!(
            "[[profile]]\nname = {}\nproduct = {}\nhost = {}\nport = {}\n\
             [profile.auth.oauth2]\nclient_id = {}\nscopes = [{scopes}]\nissuer = {}\n",
            toml_str(&self.name),
            toml_str(&self.product),
            toml_str(&self.host),
            toml_str(&self.port),
            toml_str(&self.client_id),
            toml_str(&self.issuer),
        );
        // Top-level profile keys must come before the first sub-table.
        let mut top = String::new();
        if let Some(u) = &self.management_url {
            top.push_str(&format!("management_url = {}\n", toml_str(u)));
        }
        if let Some(t) = &self.mgmt_token {
            top.push_str(&format!("mgmt_token = {}\n", toml_str(t)));
        }
        if let Some(a) = &self.account_id {
            top.push_str(&format!("account_id = {}\n", toml_str(a)));
        }
        if let Some(c) = &self.cluster_id {
            top.push_str(&format!("cluster_id = {}\n", toml_str(c)));
        }
        if self.tls_disable || self.tls_ca.is_some() {
            top.push_str("[profile.tls]\n");
            if self.tls_disable {
                top.push_str("disable = true\n");
            }
            if let Some(ca) = &self.tls_ca {
                top.push_str(&format!("ca = {}\n", toml_str(ca)));
            }
        }
        out = out.replacen(
            "[profile.auth.oauth2]\n",
            &format!("{top}[profile.auth.oauth2]\n"),
            1,
        );
        if let Some(resource) = &self.resource {
            out.push_str(&format!(
                "parameters = {{ resource = {} }}\n",
                toml_str(resource)
            ));
        }
        out
    }
}

impl fmt::Display for ProfileToml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.build())
    }
}

/// A TOML basic string literal.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

// ---------------------------------------------------------------------------
// CLI environment
// ---------------------------------------------------------------------------

/// An isolated environment for running the CLI: a temp dir used as `HOME`,
/// holding `config/` (with `config/config.toml` as `INFLUX_BOOTSTRAP_CONFIG`),
/// `cache/` (`INFLUX_BOOTSTRAP_CACHE_DIR`) and `xdg-config/`, `xdg-cache/`
/// (`XDG_CONFIG_HOME`, `XDG_CACHE_HOME`).
#[derive(Debug)]
pub struct TestEnv {
    dir: TempDir,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A new environment whose config holds the default profile for `idp`.
    pub fn for_idp(idp: &Idp) -> Self {
        let env = Self::new();
        env.write_config(&ProfileToml::new(idp).build());
        env
    }

    /// No session file (`*.json`) in the cache: nothing was saved.
    #[track_caller]
    pub fn assert_no_session(&self) {
        let sessions: Vec<_> = self
            .cache_files()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert!(sessions.is_empty(), "sessions saved: {sessions:?}");
    }

    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("influx-bootstrap-test-")
            .tempdir()
            .expect("create temp dir for TestEnv");
        for sub in ["config", "cache", "xdg-config", "xdg-cache"] {
            fs::create_dir_all(dir.path().join(sub)).expect("create TestEnv subdir");
        }
        TestEnv { dir }
    }

    /// The temp dir (also `HOME` and the working directory of commands).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `INFLUX_BOOTSTRAP_CONFIG` (not created until [`TestEnv::write_config`]).
    pub fn config_path(&self) -> PathBuf {
        self.home().join("config").join("config.toml")
    }

    /// `INFLUX_BOOTSTRAP_CACHE_DIR` (exists, initially empty).
    pub fn cache_dir(&self) -> PathBuf {
        self.home().join("cache")
    }

    pub fn xdg_config_home(&self) -> PathBuf {
        self.home().join("xdg-config")
    }

    pub fn xdg_cache_home(&self) -> PathBuf {
        self.home().join("xdg-cache")
    }

    /// Writes the config file.
    /// `program` (a wrapper such as `sh -c` or `script`) in the test's home
    /// with `cmd`'s environment and nothing else, to run `cmd` under it.
    pub fn wrapper(&self, program: &str, cmd: &Command) -> Command {
        let mut w = Command::new(program);
        w.env_clear().current_dir(self.home());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                w.env(k, v);
            }
        }
        w
    }

    /// A new environment whose config file holds `profiles`.
    pub fn with_profiles(profiles: &[ProfileToml]) -> Self {
        let env = TestEnv::new();
        let toml: Vec<String> = profiles.iter().map(ProfileToml::build).collect();
        env.write_config(&toml.join("\n"));
        env
    }

    pub fn write_config(&self, toml: &str) {
        fs::write(self.config_path(), toml).expect("write config file");
    }

    /// All regular files under the cache dir, relative to it, sorted.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
                }
            }
        }
        let mut out = Vec::new();
        let base = self.cache_dir();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }

    /// A `Command` for the CLI binary with a cleared environment plus only
    /// `PATH`, `HOME`, `XDG_CONFIG_HOME`, `XDG_CACHE_HOME`,
    /// `INFLUX_BOOTSTRAP_CONFIG`, `INFLUX_BOOTSTRAP_CACHE_DIR`, `NO_COLOR=1`
    /// and `RUST_BACKTRACE=1`; working dir = the temp dir; stdin = null.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(bin_path());
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.xdg_config_home())
            .env("XDG_CACHE_HOME", self.xdg_cache_home())
            .env("INFLUX_BOOTSTRAP_CONFIG", self.config_path())
            .env("INFLUX_BOOTSTRAP_CACHE_DIR", self.cache_dir())
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1")
            .current_dir(self.home())
            .stdin(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd
    }

    /// Spawns the CLI with stdout/stderr piped; see [`Running`].
    pub fn spawn<I, S>(&self, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Running::spawn(self.cmd(args))
    }

    /// Runs the CLI to completion (bounded by [`DEFAULT_TIMEOUT`]).
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.spawn(args).wait_output()
    }

    /// Runs the CLI with `INFLUX_BOOTSTRAP_MGMT_TOKEN=token` (stdin closed).
    pub fn run_with_mgmt_token<I, S>(&self, args: I, token: &str) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args)
            .env("INFLUX_BOOTSTRAP_MGMT_TOKEN", token)
            .output()
            .expect("run the CLI")
            .into()
    }
}

/// Result of a finished CLI run.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A run made with [`TestEnv::cmd`] and `Command::output`.
impl From<std::process::Output> for Output {
    fn from(o: std::process::Output) -> Output {
        Output {
            code: o.status.code(),
            status: o.status,
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics (showing stdout and stderr) unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self}");
        self
    }

    /// Panics (showing stdout and stderr) unless the run succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed\n{self}");
        self
    }

    /// "Run the CLI and expect exit `code` with hint `hints`": panics
    /// (showing stdout and stderr) unless the exit code is `code` and stderr
    /// holds every one of `hints`.
    #[track_caller]
    pub fn assert_fails(&self, code: i32, hints: &[&str]) -> &Self {
        self.assert_code(code).assert_stderr(hints)
    }

    /// Panics (showing stdout and stderr) unless stderr holds every one of
    /// `said`, naming the first one missing.
    #[track_caller]
    pub fn assert_stderr(&self, said: &[&str]) -> &Self {
        for s in said {
            assert!(self.stderr.contains(s), "stderr lacks {s:?}\n{self}");
        }
        self
    }

    /// Panics (showing stdout and stderr) unless stdout holds every one of
    /// `said`, naming the first one missing.
    #[track_caller]
    pub fn assert_stdout(&self, said: &[&str]) -> &Self {
        for s in said {
            assert!(self.stdout.contains(s), "stdout lacks {s:?}\n{self}");
        }
        self
    }

    /// Panics (showing stdout and stderr) unless stderr holds none of
    /// `unsaid`.
    #[track_caller]
    pub fn assert_stderr_lacks(&self, unsaid: &[&str]) -> &Self {
        for s in unsaid {
            assert!(!self.stderr.contains(s), "stderr has {s:?}\n{self}");
        }
        self
    }

    /// Parses the whole stdout as one JSON document.
    #[track_caller]
    pub fn stdout_json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e})\n{self}"))
    }

    /// Parses each non-empty stdout line as JSON.
    #[track_caller]
    pub fn stdout_json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l:?}\n{self}"))
            })
            .collect()
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A spawned CLI process. Stdout is read line by line in a background thread
/// (consume lines with [`Running::next_stdout_line`] /
/// [`Running::next_stdout_json`]); stderr is collected in the background (wait
/// for something on it with [`Running::wait_for_stderr`]).
/// Dropping it kills the process if it is still running.
pub struct Running {
    /// `None` once handed to the waiter thread in `wait_output`.
    child: Option<Child>,
    pid: u32,
    lines: Receiver<String>,
    stdout_all: Arc<Mutex<String>>,
    /// Stderr so far.
    stderr_all: Arc<Collected>,
    /// Receives one `()` per reader thread when its pipe reaches EOF.
    eof: Receiver<()>,
}

/// What a reader thread has read from a pipe so far, whether the pipe has
/// closed, and a signal for every chunk: what a test waits on instead of
/// sleeping.
#[derive(Default)]
pub struct Collected {
    /// The bytes so far; `true` once the pipe has closed.
    state: Mutex<(Vec<u8>, bool)>,
    added: Condvar,
}

impl Collected {
    /// Reads `pipe` to its end on a thread of its own, then calls `closed`.
    pub fn read_from(
        mut pipe: impl Read + Send + 'static,
        closed: impl FnOnce() + Send + 'static,
    ) -> Arc<Collected> {
        let collected = Arc::new(Collected::default());
        let shared = Arc::clone(&collected);
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => shared
                        .state
                        .lock()
                        .unwrap()
                        .0
                        .extend_from_slice(&chunk[..n]),
                }
                shared.added.notify_all();
            }
            shared.state.lock().unwrap().1 = true;
            shared.added.notify_all();
            closed();
        });
        collected
    }

    /// What was read so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }

    /// Waits (woken by every chunk, at most [`DEFAULT_TIMEOUT`]) until what
    /// was read holds `needle`; `Err` says why it never did: the pipe closed
    /// or the time ran out.
    pub fn wait_for(&self, needle: &str) -> Result<(), &'static str> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        let mut state = self.state.lock().unwrap();
        loop {
            if String::from_utf8_lossy(&state.0).contains(needle) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.1 {
                return Err("closed");
            }
            if left.is_zero() {
                return Err("timed out");
            }
            state = self.added.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits until the pipe has closed (its writers are gone).
    pub fn wait_closed(&self) {
        let mut state = self.state.lock().unwrap();
        while !state.1 {
            state = self.added.wait_timeout(state, DEFAULT_TIMEOUT).unwrap().0;
        }
    }
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Spawns `cmd` with stdout and stderr piped (other settings kept).
    pub fn spawn(mut cmd: Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("failed to spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");

        let stdout_all = Arc::new(Mutex::new(String::new()));
        let (line_tx, lines) = mpsc::channel();
        let (eof_tx, eof) = mpsc::channel();

        let out_buf = Arc::clone(&stdout_all);
        let out_eof = eof_tx.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        out_buf.lock().unwrap().push_str(&text);
                        let line = text.trim_end_matches(['\n', '\r']).to_owned();
                        let _ = line_tx.send(line);
                    }
                }
            }
            let _ = out_eof.send(());
        });

        let stderr_all = Collected::read_from(stderr, move || {
            let _ = eof_tx.send(());
        });

        Running {
            pid: child.id(),
            child: Some(child),
            lines,
            stdout_all,
            stderr_all,
            eof,
        }
    }

    /// Sends a signal (e.g. `"INT"`, `"TERM"`) via `kill -s SIG PID`, and
    /// waits until the process has taken it (its handler ran), so that what
    /// the test does next cannot overtake the signal.
    pub fn signal(&self, sig: &str) {
        test_support::process::signal_delivered(self.pid, sig);
    }

    /// The process id (to look at `/proc/<pid>` while it runs).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stderr received so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr_all.text()
    }

    /// All stdout received so far (including lines already consumed).
    pub fn stdout_so_far(&self) -> String {
        self.stdout_all.lock().unwrap().clone()
    }

    /// Waits until stderr so far contains `needle` (woken by each chunk the
    /// process writes). Panics, showing the output so far, if stderr closes
    /// first or nothing matches within [`DEFAULT_TIMEOUT`].
    #[track_caller]
    pub fn wait_for_stderr(&self, needle: &str) {
        if let Err(why) = self.stderr_all.wait_for(needle) {
            panic!(
                "stderr {why} before {needle:?} showed on stderr\n--- stdout so far ---\n{}\n\
                 --- stderr so far ---\n{}\n--- end ---",
                self.stdout_so_far(),
                self.stderr_so_far()
            );
        }
    }

    /// Waits for the next stdout line (without the newline). Panics, showing
    /// stdout/stderr so far, on timeout or if stdout closes first.
    #[track_caller]
    pub fn next_stdout_line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(e) => {
                let why = match e {
                    RecvTimeoutError::Timeout => format!("no stdout line within {timeout:?}"),
                    RecvTimeoutError::Disconnected => {
                        let status = self
                            .child
                            .as_mut()
                            .and_then(|c| c.try_wait().ok().flatten());
                        format!("stdout closed (process exit: {status:?})")
                    }
                };
                panic!(
                    "{why}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}\n--- end ---",
                    self.stdout_so_far(),
                    self.stderr_so_far()
                );
            }
        }
    }

    /// Waits for the next stdout line and parses it as JSON (panics with the
    /// output so far on timeout, EOF or invalid JSON).
    #[track_caller]
    pub fn next_stdout_json(&mut self, timeout: Duration) -> Value {
        let line = self.next_stdout_line(timeout);
        serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "stdout line is not JSON ({e}): {line:?}\n--- stderr so far ---\n{}\n--- end ---",
                self.stderr_so_far()
            )
        })
    }

    /// Waits (up to [`DEFAULT_TIMEOUT`]) for the process to exit and returns
    /// everything it wrote (stdout includes lines already consumed).
    #[track_caller]
    pub fn wait_output(self) -> Output {
        self.wait_output_timeout(DEFAULT_TIMEOUT)
    }

    /// Like [`Running::wait_output`] with an explicit bound; on timeout the
    /// process is killed and the call panics with its output so far.
    #[track_caller]
    pub fn wait_output_timeout(mut self, timeout: Duration) -> Output {
        let child = self.child.take().expect("child already waited for");
        let Some(status) = test_support::process::wait_timeout(child, timeout) else {
            panic!(
                "process {} did not exit within {timeout:?}; killed\n\
                 --- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
                self.pid,
                self.stdout_so_far(),
                self.stderr_so_far()
            );
        };
        // The process has exited; its pipes close unless a grandchild (e.g. a
        // browser launcher) inherited them, so bound this wait.
        let deadline = Instant::now() + Duration::from_secs(5);
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.eof.recv_timeout(left).is_err() {
                break;
            }
        }
        Output {
            status,
            code: status.code(),
            stdout: self.stdout_so_far(),
            stderr: self.stderr_so_far(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Privileges
// ---------------------------------------------------------------------------

/// The uid and gid of an unprivileged run when the tests run as root (nobody).
#[cfg(unix)]
pub const UNPRIVILEGED: u32 = 65534;

/// Whether the tests run as root (as CI does).
#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `cmd` (from [`TestEnv::cmd`]) run by a user without privileges, so that a
/// permission check really meets its case: unchanged when the tests do not
/// run as root; as root, wrapped in `setpriv --reuid=65534 --regid=65534
/// --clear-groups` (util-linux), with `env`'s directory handed over to that
/// user first. Never a silent skip: without `setpriv` the spawn fails.
#[cfg(unix)]
pub fn as_unprivileged(env: &TestEnv, cmd: Command) -> Command {
    if !is_root() {
        return cmd;
    }
    chown_tree(env.home(), UNPRIVILEGED, UNPRIVILEGED);
    let mut wrapped = Command::new("setpriv");
    wrapped
        .arg(format!("--reuid={UNPRIVILEGED}"))
        .arg(format!("--regid={UNPRIVILEGED}"))
        .args(["--clear-groups", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// `chown -R uid:gid path` (without following symlinks).
#[cfg(unix)]
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

/// A loopback port that nothing listens on (bound to 127.0.0.1:0, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

// ---------------------------------------------------------------------------
// Shared steps
// ---------------------------------------------------------------------------

/// `login --format json` in `env`, approved at `idp` as `user`; returns the
/// `authorized` event.
pub fn login(env: &TestEnv, idp: &Idp, user: &str) -> Value {
    let mut run = env.spawn(["login", "--format", "json", "--browser", "never"]);
    let ev = run.next_stdout_json(DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    idp.approve(ev["user_code"].as_str().expect("user_code"), user);
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();
    done
}

/// Every session file in `env`'s cache (none when there is no cache yet).
pub fn session_files(env: &TestEnv) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(env.cache_dir()) else {
        return Vec::new();
    };
    dir.map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        // Other files live beside the sessions (the remembered API path
        // forms): only session files count.
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("session-"))
        })
        .collect()
}

/// The cached session file of `env` (there must be exactly one).
pub fn session_file(env: &TestEnv) -> PathBuf {
    let files = session_files(env);
    assert_eq!(files.len(), 1, "expected one session file: {files:?}");
    files[0].clone()
}

/// The cached session as JSON.
pub fn cached_session(env: &TestEnv) -> Value {
    serde_json::from_slice(&fs::read(session_file(env)).expect("read session"))
        .expect("session JSON")
}

/// Makes the cached session's access token expired, by its recorded expiry
/// (an hour ago): the next command refreshes it. No waiting for the clock.
pub fn expire_cached_session(env: &TestEnv) {
    let path = session_file(env);
    let mut session = cached_session(env);
    assert!(session["expires_at"].is_string(), "{session}");
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    session["expires_at"] = past
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .into();
    // Rewrites the existing (0600) file in place.
    fs::write(&path, serde_json::to_vec_pretty(&session).unwrap()).expect("write session");
}

/// The OAuth access token (a JWT the cluster accepts) of `env`'s session.
pub fn session_jwt(env: &TestEnv) -> String {
    cached_session(env)["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// An environment whose profile points at `cluster` and authenticates with
/// the management token `mgmt` (no person, no login).
pub fn env_with_mgmt_token(idp: &Idp, cluster: &cluster::Cluster, mgmt: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::new(idp)
            .cluster(cluster)
            .mgmt_token(Some(mgmt))
            .build(),
    );
    env
}

/// The whole local stack: an IdP (poll interval 1 s unless given), a
/// reference cluster, and a CLI environment pointed at both, logged in.
pub struct Stack {
    pub idp: Idp,
    pub cluster: cluster::Cluster,
    pub env: TestEnv,
}

impl Stack {
    /// (idp, cluster, env): the idp must be kept alive as long as the others.
    pub fn parts(self) -> (Idp, cluster::Cluster, TestEnv) {
        (self.idp, self.cluster, self.env)
    }

    /// Logged in as `admin`.
    pub fn start() -> Stack {
        Stack::with(Idp::builder().interval(1).start(), "admin")
    }

    pub fn with(idp: Idp, user: &str) -> Stack {
        let s = Stack::configured(idp);
        login(&s.env, &s.idp, user);
        s
    }

    /// Pointed at both, not logged in yet.
    pub fn configured(idp: Idp) -> Stack {
        let cluster = cluster::Cluster::start(&idp);
        let env = TestEnv::new();
        env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
        Stack { idp, cluster, env }
    }

    /// Every token on the cluster, read with the session's JWT.
    pub fn tokens(&self) -> Vec<Value> {
        self.cluster.list_with(&session_jwt(&self.env))
    }
}

/// An `exec:` store that holds `mint`/`rotate` at the store step (after the
/// token was created): it takes the token, says so on its stdout (which the
/// CLI forwards to its stderr at once), then blocks on a FIFO until the test
/// opens the gate, and exits with `exit_code`.
pub struct StoreGate {
    pub spec: String,
    /// What the store prints when it runs (not a substring of `spec`, which
    /// the CLI may echo before the store starts).
    storing: String,
    fifo: PathBuf,
}

impl StoreGate {
    pub fn new(dir: &Path, name: &str, exit_code: i32) -> StoreGate {
        let fifo = dir.join(format!("{name}.gate"));
        let ok = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(ok.success(), "mkfifo {}", fifo.display());
        let spec = format!(
            "exec:cat >/dev/null; printf 'store-gate %s: storing\\n' {name}; read x < {}; exit {exit_code}",
            fifo.display()
        );
        StoreGate {
            spec,
            storing: format!("store-gate {name}: storing"),
            fifo,
        }
    }

    /// Wait until the store is running (its line shows on `run`'s stderr).
    pub fn wait_until_storing(&self, run: &Running) {
        run.wait_for_stderr(&self.storing);
    }

    /// Let the store finish. The write happens on a thread of its own: a
    /// signal stops an `exec:` store at once (issue 19 item 7), and then
    /// nobody ever opens the FIFO to read.
    pub fn open(&self) {
        let fifo = self.fifo.clone();
        std::thread::spawn(move || {
            let _ = fs::write(&fifo, "go\n");
        });
    }

    /// `run` through the gate: once it is storing, the store may finish;
    /// the run's output.
    pub fn pass(&self, run: Running) -> Output {
        self.wait_until_storing(&run);
        self.open();
        run.wait_output()
    }

    /// `run` stopped by `sig` while it is storing (then the store may
    /// finish, as an orphaned store process would): the run's output.
    pub fn interrupt(&self, run: Running, sig: &str) -> Output {
        self.wait_until_storing(&run);
        run.signal(sig);
        self.open();
        run.wait_output()
    }
}

/// A description a run created: it must end with a run marker
/// (`cluster::ours`); returns the person's text before it.
pub fn described(v: &Value) -> &str {
    let d = v.as_str().unwrap_or_else(|| panic!("no description: {v}"));
    assert!(
        influx_bootstrap::cluster::ours::run_of(d).is_some(),
        "no run marker in {d:?}"
    );
    influx_bootstrap::cluster::ours::unmarked(d)
}

/// The person's part of any description (marked or not).
pub fn unmarked(v: &Value) -> &str {
    influx_bootstrap::cluster::ours::unmarked(v.as_str().unwrap_or_default())
}
