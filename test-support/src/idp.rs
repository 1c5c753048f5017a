//! The local OpenID provider of `tests/idp` (`server.mjs`, oidc-provider on
//! Node.js) for tests: [`ensure_npm_deps`] installs its npm packages (once,
//! safely across parallel test processes of both packages), [`IdpBuilder`]
//! starts it on a free loopback port, [`Idp`] wraps its test-only control
//! routes and a device flow driven over plain HTTP.
//!
//! [`Idp`] talks to the provider with a blocking HTTP client: use it from
//! plain `#[test]` functions (or from `spawn_blocking`), not inside an async
//! runtime.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::server::Endpoint;
use serde_json::{Value, json};

/// Default resource indicator / audience of the fixture's access tokens (and of
/// the profiles and cluster configs the tests write).
pub const DEFAULT_AUDIENCE: &str = "https://cluster.example.test";

/// How long to wait for the IdP fixture to print its ready line.
pub const IDP_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The client id the fixture registers (a public client, device grant).
pub const CLIENT_ID: &str = "influx-bootstrap";

/// The RFC 8628 grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `tests/idp`, the directory of the Node.js IdP fixture.
pub fn idp_dir() -> PathBuf {
    crate::workspace_root().join("tests").join("idp")
}

// ---------------------------------------------------------------------------
// npm dependencies
// ---------------------------------------------------------------------------

/// Makes sure `tests/idp/node_modules` is installed (runs `npm ci` in
/// `tests/idp` when `oidc-provider` is missing or `package-lock.json` is newer
/// than the installed tree).
///
/// Runs once per process (a failure is remembered and re-reported by every
/// later call); across processes (the test binaries of both packages) it is
/// serialized with an exclusive lock on a file in the temp dir named after
/// `tests/idp`'s path, and the check is repeated after the lock is acquired.
///
/// Panics with instructions if `node`/`npm` are missing or `npm ci` fails:
/// the end-to-end tests must never be skipped silently.
pub fn ensure_npm_deps() {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    crate::setup::once(&RESULT, ensure_npm_deps_locked);
}

fn npm_deps_need_install(dir: &Path) -> bool {
    let modules = dir.join("node_modules");
    if !modules.join("oidc-provider").join("package.json").is_file() {
        return true;
    }
    // npm writes this "hidden lockfile" at the end of every install; if the
    // committed lockfile is newer, the installed tree may be stale.
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        mtime(&modules.join(".package-lock.json")),
        mtime(&dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// The lock file that serializes `npm ci` in `dir` between processes: in the
/// temp dir (not in the source tree), one per checkout.
fn ensure_npm_deps_locked() {
    check_tool("node");
    crate::setup::install_locked("npm-ci", &idp_dir(), npm_deps_need_install, |dir| {
        check_tool("npm");
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("failed to run `npm ci` in {}: {e}", dir.display()));
        if !out.status.success() {
            panic!(
                "`npm ci` in {} failed ({}); the IdP fixture needs its Node.js dependencies \
                 (the npm registry must be reachable, or run `npm ci` there by hand).\n\
                 --- stdout ---\n{}\n--- stderr ---\n{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
        if !dir
            .join("node_modules/oidc-provider/package.json")
            .is_file()
        {
            panic!(
                "`npm ci` in {} succeeded but node_modules/oidc-provider is still missing",
                dir.display()
            );
        }
    });
}

/// Panics with install instructions if `tool --version` cannot be run.
fn check_tool(tool: &str) {
    match Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{tool} --version` failed ({}): {}\nThe end-to-end tests need Node.js >= 18 and npm \
             (Debian/Ubuntu: `apt-get install nodejs npm`).",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "`{tool}` not found or not runnable ({e}).\nThe end-to-end tests run a local OpenID \
             provider on Node.js: install Node.js >= 18 and npm (Debian/Ubuntu: \
             `apt-get install nodejs npm`) and make sure `{tool}` is on PATH."
        ),
    }
}

// ---------------------------------------------------------------------------
// IdP fixture
// ---------------------------------------------------------------------------

/// Builder for a running [`Idp`]. Every option maps to a `server.mjs` flag;
/// unset options keep the fixture's defaults.
#[derive(Debug, Default, Clone)]
pub struct IdpBuilder {
    port: Option<u16>,
    interval: Option<u64>,
    enforce_interval: Option<u64>,
    code_ttl: Option<u64>,
    access_token_ttl: Option<u64>,
    id_token_ttl: Option<u64>,
    refresh_token_ttl: Option<u64>,
    audience: Option<String>,
    log: bool,
    extra_args: Vec<String>,
}

/// One setter per `server.mjs` option that takes seconds: each sets its
/// field, so the options read as a list.
macro_rules! seconds_options {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, secs: u64) -> Self {
                self.$name = Some(secs);
                self
            }
        )*
    };
}

impl IdpBuilder {
    /// Listen on this port instead of an ephemeral one (`--port`).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    seconds_options! {
        /// Device flow polling interval in seconds advertised to clients (`--interval`).
        interval,
        /// Minimum seconds between token polls before `slow_down` (`--enforce-interval`).
        enforce_interval,
        /// Device code lifetime in seconds (`--code-ttl`).
        code_ttl,
        /// Access token lifetime in seconds (`--access-token-ttl`).
        access_token_ttl,
        /// ID token lifetime in seconds (`--id-token-ttl`).
        id_token_ttl,
        /// Refresh token lifetime in seconds (`--refresh-token-ttl`).
        refresh_token_ttl,
    }
    /// Resource indicator / audience of issued access tokens (`--audience`).
    pub fn audience(mut self, uri: impl Into<String>) -> Self {
        self.audience = Some(uri.into());
        self
    }
    /// Ask the fixture to log requests to its stderr (`--log`).
    pub fn log(mut self, on: bool) -> Self {
        self.log = on;
        self
    }
    /// Any other raw argument for `server.mjs`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "server.mjs".to_owned(),
            "--port".to_owned(),
            self.port.unwrap_or(0).to_string(),
        ];
        let mut num = |flag: &str, v: Option<u64>| {
            if let Some(v) = v {
                args.push(flag.to_owned());
                args.push(v.to_string());
            }
        };
        num("--interval", self.interval);
        num("--enforce-interval", self.enforce_interval);
        num("--code-ttl", self.code_ttl);
        num("--access-token-ttl", self.access_token_ttl);
        num("--id-token-ttl", self.id_token_ttl);
        num("--refresh-token-ttl", self.refresh_token_ttl);
        if let Some(aud) = &self.audience {
            args.push("--audience".to_owned());
            args.push(aud.clone());
        }
        if self.log {
            args.push("--log".to_owned());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// Installs npm deps if needed, starts `node tests/idp/server.mjs` and
    /// waits (up to [`IDP_READY_TIMEOUT`]) for its ready line.
    pub fn start(self) -> Idp {
        ensure_npm_deps();
        let args = self.args();
        let mut cmd = Command::new("node");
        cmd.args(&args).current_dir(idp_dir());
        Idp {
            endpoint: Endpoint::start("IdP fixture", cmd, IDP_READY_TIMEOUT),
            audience: self.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
        }
    }
}

/// A running IdP fixture. Dropping it closes its stdin and kills it.
/// If the current thread is panicking (a failed test), the fixture's stderr is
/// printed so it shows up in the test's captured output.
#[derive(Debug)]
pub struct Idp {
    endpoint: Endpoint,
    audience: String,
}

impl Idp {
    pub fn builder() -> IdpBuilder {
        IdpBuilder::default()
    }

    /// Starts a fixture with default settings.
    pub fn start() -> Idp {
        IdpBuilder::default().start()
    }

    /// `http://127.0.0.1:PORT` as printed by the fixture.
    pub fn issuer(&self) -> &str {
        &self.endpoint.issuer
    }

    pub fn port(&self) -> u16 {
        self.endpoint.port
    }

    /// The audience the fixture was started with ([`DEFAULT_AUDIENCE`] unless set).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// `issuer` + `path` (path starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint.issuer, path)
    }

    /// A blocking HTTP client (no proxy, 15 s timeout) for talking to the fixture.
    pub fn http(&self) -> &reqwest::blocking::Client {
        self.endpoint.http()
    }

    /// `GET /.well-known/openid-configuration`.
    pub fn discovery(&self) -> Value {
        self.get_json("/.well-known/openid-configuration")
    }

    /// Approve a pending device authorization as `user`; panics on failure.
    pub fn approve(&self, user_code: &str, user: &str) {
        if let Err(e) = self.try_approve(user_code, user) {
            panic!("IdP approve({user_code:?}, {user:?}) failed: {e}");
        }
    }

    /// Deny a pending device authorization as `user`; panics on failure.
    pub fn deny(&self, user_code: &str, user: &str) {
        if let Err(e) = self.try_deny(user_code, user) {
            panic!("IdP deny({user_code:?}, {user:?}) failed: {e}");
        }
    }

    /// Like [`Idp::approve`], returning the fixture's error body instead of panicking.
    pub fn try_approve(&self, user_code: &str, user: &str) -> Result<(), String> {
        self.decide("/__test/approve", user_code, user)
    }

    /// Like [`Idp::deny`], returning the fixture's error body instead of panicking.
    pub fn try_deny(&self, user_code: &str, user: &str) -> Result<(), String> {
        self.decide("/__test/deny", user_code, user)
    }

    fn decide(&self, path: &str, user_code: &str, user: &str) -> Result<(), String> {
        let resp = self
            .http()
            .post(self.url(path))
            .json(&serde_json::json!({ "user_code": user_code, "user": user }))
            .send()
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        if status == reqwest::StatusCode::OK {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {body}"))
        }
    }

    /// `GET /__test/workload`: the workload clients' credentials, made per
    /// process (`secret` of `workload-secret` and `workload-device`;
    /// `rsa_pem`, `ec_pem`: PKCS#8 keys of `workload-jwt`).
    pub fn workload(&self) -> Value {
        self.get_json("/__test/workload")
    }

    /// `POST /__test/platform-token`: a client assertion for
    /// `workload-platform` signed the way a platform would (Kubernetes, a CI
    /// system); `body` may set `aud`, `exp_in` (s) and `iat_offset` (s).
    pub fn platform_token(&self, body: Value) -> String {
        let resp = self
            .http()
            .post(self.url("/__test/platform-token"))
            .json(&body)
            .send()
            .expect("POST /__test/platform-token");
        let v: Value = resp.json().expect("platform token JSON");
        v["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {v}"))
            .to_owned()
    }

    /// `GET /__test/stats`: request counters and `pending_user_codes`.
    pub fn stats(&self) -> Value {
        self.get_json("/__test/stats")
    }

    /// One counter from [`Idp::stats`] (panics if missing).
    pub fn stat(&self, name: &str) -> u64 {
        let stats = self.stats();
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no numeric counter {name:?} in IdP stats: {stats}"))
    }

    /// User codes of device authorizations still awaiting a decision.
    pub fn pending_user_codes(&self) -> Vec<String> {
        let stats = self.stats();
        stats["pending_user_codes"]
            .as_array()
            .unwrap_or_else(|| panic!("no pending_user_codes in IdP stats: {stats}"))
            .iter()
            .map(|v| v.as_str().expect("user code is a string").to_owned())
            .collect()
    }

    /// `POST /__test/reset-stats`.
    pub fn reset_stats(&self) {
        self.post_ok("/__test/reset-stats", &json!({}));
    }

    /// `POST /__test/slow-down`: the next `polls` device-code polls are
    /// answered `slow_down` whenever they come (a knob, so a test need not
    /// race the clock to provoke one). The timing rule of
    /// [`IdpBuilder::enforce_interval`] still applies to later polls.
    pub fn force_slow_down(&self, polls: u32) {
        self.post_ok("/__test/slow-down", &json!({ "polls": polls }));
    }

    /// `POST` `body` to a test route of the fixture; panics unless it
    /// answers with success.
    fn post_ok(&self, path: &str, body: &Value) {
        let resp = self
            .http()
            .post(self.url(path))
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status();
        assert!(
            status.is_success(),
            "POST {path}: HTTP {status}: {}",
            resp.text().unwrap_or_default()
        );
    }

    /// POSTs `form` to the endpoint discovery names under `key`: the HTTP
    /// status and the JSON body (panics if discovery names none, or on a
    /// body that is not JSON).
    fn post_form_to(&self, key: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let discovery = self.discovery();
        let endpoint = discovery[key]
            .as_str()
            .unwrap_or_else(|| panic!("discovery names no {key}: {discovery}"));
        let (status, body) = self.endpoint.post_form(endpoint, form);
        let body = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{key} response is not JSON ({e}): {body}"));
        (status, body)
    }

    /// Starts a device authorization at the endpoint named by discovery, for
    /// client `influx-bootstrap`, `scope`, and this fixture's audience as the
    /// `resource`. Returns the (checked) JSON answer.
    pub fn device_authorization(&self, scope: &str) -> Value {
        let form = [
            ("client_id", CLIENT_ID),
            ("scope", scope),
            ("resource", self.audience.as_str()),
        ];
        let (status, body) = self.post_form_to("device_authorization_endpoint", &form);
        assert_eq!(status, 200, "device authorization: {body}");
        for field in ["device_code", "user_code", "verification_uri", "expires_in"] {
            assert!(!body[field].is_null(), "missing {field}: {body}");
        }
        body
    }

    /// One poll of the token endpoint (named by discovery) for the device
    /// authorization `device`; returns (HTTP status, body). No waiting: start
    /// the fixture with `enforce_interval(0)` to poll as soon as you like.
    pub fn poll_token(&self, device: &Value) -> (u16, Value) {
        let code = device["device_code"].as_str().expect("device_code");
        let form = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", code),
            ("client_id", CLIENT_ID),
        ];
        self.post_form_to("token_endpoint", &form)
    }

    /// A whole device flow over plain HTTP, approved as `user` before the
    /// first poll: returns the token response (`access_token`,
    /// `refresh_token`, `id_token`…). Needs a fixture started with
    /// `enforce_interval(0)` (else the one poll is answered `slow_down`).
    pub fn device_flow_tokens(&self, user: &str) -> Value {
        let device = self.device_authorization("openid profile email offline_access");
        self.approve(device["user_code"].as_str().expect("user_code"), user);
        let (status, tokens) = self.poll_token(&device);
        assert_eq!(
            status, 200,
            "token response (was the fixture started with enforce_interval(0)?): {tokens}"
        );
        tokens
    }

    /// The access token (an RS256 `at+jwt` for this fixture's audience) of a
    /// device flow approved as `user`; see [`Idp::device_flow_tokens`].
    pub fn access_token(&self, user: &str) -> String {
        let tokens = self.device_flow_tokens(user);
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token: {tokens}"))
            .to_owned()
    }

    fn get_json(&self, path: &str) -> Value {
        let resp = self
            .http()
            .get(self.url(path))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        assert!(status.is_success(), "GET {path}: HTTP {status}: {body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: invalid JSON ({e}): {body}"))
    }

    /// The fixture's stderr so far (useful with `--log`).
    pub fn stderr_log(&self) -> String {
        self.endpoint.server.stderr_log()
    }

    /// Directory holding the fixture's stderr log (removed on drop).
    pub fn log_dir(&self) -> &Path {
        self.endpoint.server.log_dir()
    }

    /// Process id of the node process.
    pub fn pid(&self) -> u32 {
        self.endpoint.server.pid()
    }
}
