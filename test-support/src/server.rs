//! A test server run as a child process (the Node and Python identity
//! providers, Glewlwyd): started with its stderr in a log file, ready once it
//! prints its ready line on stdout (a JSON line for ours; Glewlwyd's own
//! "started" log line), stdout drained after that so it can never block on a
//! full pipe, stopped on drop by closing its stdin and killing it, its stderr
//! printed when the test is panicking.

use serde_json::Value;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tempfile::TempDir;

/// A started server as its tests reach it: its process, the issuer and port
/// of its ready line (`{"issuer": …, "port": …}`), and a blocking HTTP client
/// (no proxy, 15 s timeout) made on first use: a blocking client must not be
/// built (or dropped) inside an async runtime, and some users never need one.
#[derive(Debug)]
pub struct Endpoint {
    pub server: Server,
    pub issuer: String,
    pub port: u16,
    http: OnceLock<reqwest::blocking::Client>,
}

impl Endpoint {
    /// [`Server::start`], then the issuer and port of the ready line.
    pub fn start(name: &str, cmd: Command, timeout: Duration) -> Endpoint {
        let (server, ready) = Server::start(name, cmd, timeout);
        let issuer = ready["issuer"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: ready line has no issuer: {ready}"))
            .to_owned();
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("{name}: ready line has no valid port: {ready}"));
        Endpoint {
            server,
            issuer,
            port,
            http: OnceLock::new(),
        }
    }

    pub fn http(&self) -> &reqwest::blocking::Client {
        self.http.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("build reqwest blocking client")
        })
    }

    /// POSTs `form` to `url`: the HTTP status and the body's text.
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self
            .http()
            .post(url)
            .form(form)
            .send()
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.text().unwrap_or_default())
    }
}

#[derive(Debug)]
pub struct Server {
    /// How panics and the log name it ("IdP fixture", "Dot server").
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    _reader: JoinHandle<()>,
    log_dir: TempDir,
    stderr_path: PathBuf,
}

impl Server {
    /// Spawn `cmd` (its stdio is set here) and wait up to `timeout` for its
    /// JSON ready line, which is returned. Panics with the server's stderr
    /// when it does not come.
    pub fn start(name: &str, cmd: Command, timeout: Duration) -> (Server, Value) {
        Self::start_until(name, cmd, timeout, |line| {
            serde_json::from_str(line)
                .map(Some)
                .map_err(|e| format!("ready line is not JSON ({e}): {line:?}"))
        })
    }

    /// Like [`Server::start`] for a server that is not ours: every stdout
    /// line goes to `ready` until it answers `Ok(Some(value))` (ready) or
    /// `Err(why)` (panic with the server's stderr); `Ok(None)` reads on.
    pub fn start_until(
        name: &str,
        mut cmd: Command,
        timeout: Duration,
        ready: impl Fn(&str) -> Result<Option<Value>, String>,
    ) -> (Server, Value) {
        let log_dir = tempfile::Builder::new()
            .prefix("test-server-log-")
            .tempdir()
            .expect("create a temp dir for the server log");
        let stderr_path = log_dir.path().join("stderr.log");
        let stderr_file = File::create(&stderr_path).expect("create the server's stderr log");
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .spawn()
            .unwrap_or_else(|e| panic!("failed to spawn {name} {shown}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let read_log = || fs::read_to_string(&stderr_path).unwrap_or_default();
        let deadline = std::time::Instant::now() + timeout;
        let parsed = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let why = match rx.recv_timeout(left) {
                Ok(line) => match ready(&line) {
                    Ok(Some(value)) => break value,
                    Ok(None) => continue,
                    Err(why) => {
                        let _ = child.kill();
                        why
                    }
                },
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    format!("no ready line within {timeout:?}")
                }
                Err(RecvTimeoutError::Disconnected) => "stdout closed before the ready line".into(),
            };
            let status = child.wait().ok();
            panic!(
                "{name} {shown} failed to start: {why} (exit: {status:?})\n--- stderr ---\n{}",
                read_log()
            );
        };
        let server = Server {
            name: name.to_string(),
            child,
            stdin,
            _reader: reader,
            log_dir,
            stderr_path,
        };
        (server, parsed)
    }

    /// The server's stderr so far.
    pub fn stderr_log(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The directory holding the stderr log (removed on drop).
    pub fn log_dir(&self) -> &Path {
        self.log_dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- {} stderr ---\n{}--- end of {} stderr ---",
                self.name,
                self.stderr_log(),
                self.name
            );
        }
    }
}
