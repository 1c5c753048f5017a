//! The Python device-flow servers of `tests/providers`: django-oauth-toolkit
//! (`dot/server.py`, OpenID Connect on) and Authlib (`authlib/server.py`,
//! plain OAuth 2.0 with RFC 8414 metadata). [`ensure_venv`] creates their
//! virtualenv from the pinned `requirements.txt` (once, under a lock shared by
//! parallel test processes); [`PyIdp`] runs one on a free loopback port and
//! wraps its test-only routes.
//!
//! Like [`crate::idp`], a missing tool is a loud failure, never a skip: the
//! tests that need these servers must not pass without them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::server::Endpoint;
use serde_json::{Value, json};

/// Generous: the DOT server migrates its SQLite database before it listens.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server of `tests/providers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// django-oauth-toolkit 3.4.1 (Django), issuer `http://127.0.0.1:PORT/o`.
    Dot,
    /// Authlib 1.9 (Flask), issuer `http://127.0.0.1:PORT`.
    Authlib,
}

impl Provider {
    fn script(self) -> &'static str {
        match self {
            Provider::Dot => "dot/server.py",
            Provider::Authlib => "authlib/server.py",
        }
    }
}

/// `tests/providers`.
pub fn providers_dir() -> PathBuf {
    crate::workspace_root().join("tests").join("providers")
}

/// The venv's interpreter.
pub fn venv_python() -> PathBuf {
    providers_dir().join(".venv").join("bin").join("python")
}

fn venv_up_to_date(dir: &Path) -> bool {
    match (
        fs::read(dir.join(".venv").join("installed-requirements.txt")),
        fs::read(dir.join("requirements.txt")),
    ) {
        (Ok(installed), Ok(wanted)) => installed == wanted,
        _ => false,
    }
}

/// Makes sure `tests/providers/.venv` holds exactly the pinned packages
/// (runs `python3 tests/providers/make_venv.py` when it does not). Once per
/// process, serialized between processes by an exclusive lock on a file in
/// the temp dir, with the check repeated under the lock. Panics with
/// instructions when python3 (or its venv module) is missing or pip fails.
pub fn ensure_venv() {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    crate::setup::once(&RESULT, ensure_venv_locked);
}

fn ensure_venv_locked() {
    let stale = |dir: &Path| !venv_up_to_date(dir);
    crate::setup::install_locked("venv", &providers_dir(), stale, |dir| {
        check_python();
        let out = Command::new("python3")
            .arg(dir.join("make_venv.py"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("failed to run python3 make_venv.py: {e}"));
        if !out.status.success() || !venv_up_to_date(dir) {
            panic!(
                "creating the providers' virtualenv ({}) failed ({}); the django-oauth-toolkit and \
                 Authlib test servers need it (PyPI must be reachable, or run \
                 `python3 tests/providers/make_venv.py` by hand).\n--- stdout ---\n{}\n--- stderr ---\n{}",
                dir.join(".venv").display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
    });
}

/// Panics with install instructions unless `python3 -c 'import venv, ensurepip'` runs.
fn check_python() {
    let hint = "The end-to-end tests run django-oauth-toolkit and Authlib on Python: install \
                Python >= 3.10 with its venv module (Debian/Ubuntu: `apt-get install python3 \
                python3-venv`) and make sure `python3` is on PATH.";
    match Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "python3 has no working venv/ensurepip module ({}): {}\n{hint}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("`python3` not found or not runnable ({e}).\n{hint}"),
    }
}

/// Builder for a running [`PyIdp`]; every option maps to a `server.py` flag.
#[derive(Debug, Clone)]
pub struct PyIdpBuilder {
    provider: Provider,
    args: Vec<String>,
}

impl PyIdpBuilder {
    fn flag(mut self, flag: &str, v: impl ToString) -> Self {
        self.args.push(flag.to_owned());
        self.args.push(v.to_string());
        self
    }
    /// Polling interval advertised to clients (`--interval`; default 1 s).
    pub fn interval(self, secs: u64) -> Self {
        self.flag("--interval", secs)
    }
    /// `expires_in` of device codes (`--code-ttl`; default 600 s).
    pub fn code_ttl(self, secs: u64) -> Self {
        self.flag("--code-ttl", secs)
    }
    /// Authlib only: polls closer than this are answered `slow_down`.
    pub fn enforce_interval(self, secs: u64) -> Self {
        self.flag("--enforce-interval", secs)
    }
    /// Any other raw argument for `server.py`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Creates the venv if needed, starts the server and waits (up to
    /// [`READY_TIMEOUT`]) for its ready line.
    pub fn start(self) -> PyIdp {
        ensure_venv();
        let mut args = vec![
            self.provider.script().to_owned(),
            "--port".into(),
            "0".into(),
        ];
        args.extend(self.args);
        let mut cmd = Command::new(venv_python());
        cmd.args(&args)
            .current_dir(providers_dir())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        let name = format!("{:?} server", self.provider);
        PyIdp {
            provider: self.provider,
            endpoint: Endpoint::start(&name, cmd, READY_TIMEOUT),
        }
    }
}

/// A running Python provider. Dropping it closes its stdin and kills it; in a
/// panicking thread its stderr is printed first.
#[derive(Debug)]
pub struct PyIdp {
    provider: Provider,
    endpoint: Endpoint,
}

impl PyIdp {
    pub fn builder(provider: Provider) -> PyIdpBuilder {
        PyIdpBuilder {
            provider,
            args: Vec::new(),
        }
    }

    pub fn start(provider: Provider) -> PyIdp {
        Self::builder(provider).start()
    }

    pub fn issuer(&self) -> &str {
        &self.endpoint.issuer
    }

    pub fn port(&self) -> u16 {
        self.endpoint.port
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.endpoint.port)
    }

    fn http(&self) -> &reqwest::blocking::Client {
        self.endpoint.http()
    }

    /// Approves a pending device authorization as `user`; panics on failure.
    pub fn approve(&self, user_code: &str, user: &str) {
        if let Err(e) = self.try_approve(user_code, user) {
            panic!(
                "{:?} approve({user_code:?}, {user:?}) failed: {e}",
                self.provider
            );
        }
    }

    /// Like [`PyIdp::approve`], returning the server's answer on failure.
    pub fn try_approve(&self, user_code: &str, user: &str) -> Result<(), String> {
        self.post_test(
            "/__test/approve",
            json!({ "user_code": user_code, "user": user }),
        )
    }

    /// Denies a pending device authorization as `user`; panics on failure.
    pub fn deny(&self, user_code: &str, user: &str) {
        self.post_test(
            "/__test/deny",
            json!({ "user_code": user_code, "user": user }),
        )
        .unwrap_or_else(|e| panic!("deny({user_code:?}) failed: {e}"));
    }

    /// Authlib: the next `polls` device-code polls are answered `slow_down`.
    pub fn force_slow_down(&self, polls: u32) {
        self.post_test("/__test/slow-down", json!({ "polls": polls }))
            .unwrap_or_else(|e| panic!("slow-down failed: {e}"));
    }

    fn post_test(&self, path: &str, body: Value) -> Result<(), String> {
        let resp = self
            .http()
            .post(self.url(path))
            .json(&body)
            .send()
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {text}"))
        }
    }

    /// `GET /__test/stats`.
    pub fn stats(&self) -> Value {
        self.http()
            .get(self.url("/__test/stats"))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET /__test/stats: {e}"))
    }

    /// One counter from [`PyIdp::stats`].
    pub fn stat(&self, name: &str) -> u64 {
        let stats = self.stats();
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name:?} in {stats}"))
    }

    /// `POST` a form to `url` (an endpoint of this server), returning
    /// (status, JSON body or null).
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let (status, body) = self.endpoint.post_form(url, form);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The server's stderr so far.
    pub fn stderr_log(&self) -> String {
        self.endpoint.server.stderr_log()
    }
}
