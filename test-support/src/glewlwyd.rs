//! Glewlwyd 2.7 (C, Debian's `glewlwyd` package) as a fourth real provider:
//! [`ensure_installed`] installs the package once (under the lock of
//! [`crate::setup`]) and [`Glewlwyd`] runs one per test on a free loopback
//! port with a throwaway SQLite database made from the package's own schema,
//! configured the way an administrator would, through its admin REST API:
//! the OIDC plugin (RS256 or ES256 signing, device grant, refresh,
//! revocation), a scope `influxdb`, a user, a public device client and a
//! confidential client.
//!
//! Glewlwyd's device verification pages are a separate web app; a person's
//! approval is the same REST calls that app makes: log in (`POST
//! /api/auth/`), grant the scopes to the client (`PUT /api/auth/grant/…`),
//! then open the verification URL with that session.
//!
//! Like the other fixtures, a missing package or tool is a loud failure,
//! never a skip.

use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::output_ok;
use crate::server::Server;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The package's SQLite schema (and seed: user `admin`, password `password`).
pub const SCHEMA: &str = "/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3";
/// Where the package puts its modules.
const LIB: &str = "/usr/lib/glewlwyd";
/// The package's seeded administrator.
const ADMIN: (&str, &str) = ("admin", "password");
/// The plugin instance's name: the issuer is `http://127.0.0.1:PORT/api/oidc`.
const PLUGIN: &str = "oidc";

/// The public client (device grant and refresh, no secret).
pub const PUBLIC_CLIENT: &str = "influx-bootstrap";
/// The confidential client (client credentials, `client_secret_basic`), for
/// workload login.
pub const CONFIDENTIAL_CLIENT: &str = "influx-bootstrap-workload";
pub const CONFIDENTIAL_SECRET: &str = "glewlwyd-test-secret";
/// The person who approves device codes, and the scopes they may grant.
pub const USER: (&str, &str) = ("ada", "ada-password-1");
pub const USER_EMAIL: &str = "ada@example.test";
/// A scope of ours next to the package's `openid`.
pub const INFLUX_SCOPE: &str = "influxdb";

/// Generous: a first run may install the package.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "the end-to-end tests run Glewlwyd 2.7 from Debian's packages: as root, \
     `echo 'glewlwyd glewlwyd/config_type select No configuration' | debconf-set-selections && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends glewlwyd openssl` \
     (what `.ci/run` does)";

fn installed(_: &Path) -> bool {
    Path::new(SCHEMA).is_file()
        && Path::new(LIB).join("plugin/libprotocol_oidc.so").is_file()
        && tool_runs("glewlwyd", &["--version"])
        && tool_runs("openssl", &["version"])
}

fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes sure the `glewlwyd` package (and `openssl`, for the signing keys)
/// is installed: once per process, under a lock shared between processes.
/// It installs them with apt-get (as root), answering the package's debconf
/// question "No configuration" (its install script otherwise asks for a
/// database); when that fails it panics with the command to run.
pub fn ensure_installed() {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    crate::setup::once(&RESULT, || {
        crate::setup::install_locked("glewlwyd", Path::new(LIB), |d| !installed(d), install);
        if !installed(Path::new(LIB)) {
            panic!("Glewlwyd is not installed; {INSTALL_HINT}");
        }
    });
}

/// apt-get needs root: without it this fails and the panic says what to run.
fn install(_: &Path) {
    let sh = "echo 'glewlwyd glewlwyd/config_type select No configuration' | debconf-set-selections \
              && { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends glewlwyd openssl \
              || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends glewlwyd openssl; }; }";
    let out = Command::new("sh")
        .args(["-c", sh])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh to install Glewlwyd: {e}; {INSTALL_HINT}"));
    if !out.status.success() {
        panic!(
            "installing Glewlwyd failed ({}); {INSTALL_HINT}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The ID token signing algorithm of the OIDC plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// RSA 2048, RS256.
    Rs256,
    /// ECDSA P-256, ES256.
    Es256,
}

impl Signing {
    /// The plugin's `jwt-type` and the `openssl genpkey` options of its key.
    fn plugin_type_and_keygen(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Signing::Rs256 => (
                "rsa",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
            Signing::Es256 => (
                "ecdsa",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
        }
    }

    pub fn alg(self) -> &'static str {
        match self {
            Signing::Rs256 => "RS256",
            Signing::Es256 => "ES256",
        }
    }
}

/// A fresh key pair as PEM (private PKCS#8, public SPKI), made by `openssl`.
fn key_pair(dir: &Path, signing: Signing) -> (String, String) {
    let (_, keygen) = signing.plugin_type_and_keygen();
    let key = dir.join("signing-key.pem");
    let openssl = |args: &[&str]| {
        let mut cmd = Command::new("openssl");
        cmd.args(args);
        output_ok(cmd, &format!("openssl {args:?}"), INSTALL_HINT)
    };
    let key_s = key.to_str().expect("temp paths are UTF-8");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(keygen);
    args.extend_from_slice(&["-out", key_s]);
    openssl(&args);
    let public = openssl(&["pkey", "-in", key_s, "-pubout"]);
    let private = std::fs::read_to_string(&key).expect("read the generated key");
    (private, String::from_utf8(public).expect("PEM is ASCII"))
}

/// Builder for a running [`Glewlwyd`].
#[derive(Debug, Clone)]
pub struct GlewlwydBuilder {
    signing: Signing,
}

impl GlewlwydBuilder {
    pub fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }
    /// Installs the package if needed, starts Glewlwyd on a free loopback
    /// port and configures it through its admin API.
    pub fn start(self) -> Glewlwyd {
        ensure_installed();
        let dir = tempfile::Builder::new()
            .prefix("glewlwyd-")
            .tempdir()
            .expect("temp dir for Glewlwyd");
        let db = dir.path().join("glewlwyd.db");
        let schema = std::fs::read_to_string(SCHEMA)
            .unwrap_or_else(|e| panic!("read {SCHEMA}: {e}; {INSTALL_HINT}"));
        rusqlite::Connection::open(&db)
            .and_then(|c| c.execute_batch(&schema))
            .unwrap_or_else(|e| panic!("create Glewlwyd's SQLite database from {SCHEMA}: {e}"));
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            l.local_addr().expect("local_addr").port()
        };
        let base = format!("http://127.0.0.1:{port}");
        let conf = dir.path().join("glewlwyd.conf");
        std::fs::write(&conf, config_file(port, &base, &db)).expect("write glewlwyd.conf");
        let mut cmd = Command::new("glewlwyd");
        cmd.arg("--config-file").arg(&conf);
        let (server, _) = Server::start_until("Glewlwyd", cmd, READY_TIMEOUT, |line| {
            Ok(line.contains("Glewlwyd started on port").then(|| json!({})))
        });
        let g = Glewlwyd {
            base,
            server,
            http: http_client(),
            admin_cookie: AdminCookie(String::new()),
            _dir: dir,
        };
        let admin_cookie = g.log_in(ADMIN.0, ADMIN.1);
        let g = Glewlwyd {
            admin_cookie: AdminCookie(admin_cookie),
            ..g
        };
        g.configure(&self);
        g
    }
}

/// Glewlwyd's configuration file (libconfig syntax): loopback only, SQLite,
/// the package's module directories, cookies without `Secure` (plain http on
/// loopback). `use_secure_connection` is left out: 2.7.5 refuses to start
/// when it is written as `false`.
fn config_file(port: u16, base: &str, db: &Path) -> String {
    format!(
        r#"port={port}
bind_address="127.0.0.1"
external_url="{base}"
login_url="login.html"
api_prefix="api"
log_mode="console"
log_level="INFO"
cookie_domain="127.0.0.1"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{LIB}/user"
user_middleware_module_path="{LIB}/user_middleware"
client_module_path="{LIB}/client"
user_auth_scheme_module_path="{LIB}/scheme"
plugin_module_path="{LIB}/plugin"
hash_algorithm="SHA512"
database = {{
  type = "sqlite3"
  path = "{}"
}};
"#,
        db.display()
    )
}

fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("build reqwest blocking client")
}

/// A running Glewlwyd. Dropping it stops it and removes its database.
#[derive(Debug)]
pub struct Glewlwyd {
    base: String,
    server: Server,
    http: reqwest::blocking::Client,
    admin_cookie: AdminCookie,
    _dir: TempDir,
}

/// The administrator's session cookie: a credential, so `Debug` never shows
/// it.
struct AdminCookie(String);

impl fmt::Debug for AdminCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminCookie([redacted])")
    }
}

impl Glewlwyd {
    pub fn builder() -> GlewlwydBuilder {
        GlewlwydBuilder {
            signing: Signing::Rs256,
        }
    }

    pub fn start(signing: Signing) -> Glewlwyd {
        Self::builder().signing(signing).start()
    }

    /// `http://127.0.0.1:PORT/api/oidc`.
    pub fn issuer(&self) -> String {
        self.url(&format!("/api/{PLUGIN}"))
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's stderr so far.
    pub fn stderr_log(&self) -> String {
        self.server.stderr_log()
    }

    /// `POST /api/auth/` as `user`: the session cookie (`name=value`).
    fn log_in(&self, user: &str, password: &str) -> String {
        let resp = self
            .http
            .post(self.url("/api/auth/"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .unwrap_or_else(|e| panic!("Glewlwyd login as {user}: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "Glewlwyd login as {user}");
        resp.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("GLEWLWYD2_SESSION_ID="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no session cookie from Glewlwyd login as {user}"))
    }

    /// One API call with `cookie`; panics unless the answer is 200. Returns
    /// the body as JSON (null when empty).
    fn call(&self, cookie: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = self.try_call(cookie, method, path, body);
        assert_eq!(
            status,
            200,
            "Glewlwyd {method} {path}: {text}\n--- stderr ---\n{}",
            self.stderr_log()
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn try_call(
        &self,
        cookie: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .header(reqwest::header::COOKIE, cookie);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("Glewlwyd {method} {path}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.text().unwrap_or_default())
    }

    fn admin(&self, method: &str, path: &str, body: Value) {
        self.call(&self.admin_cookie.0, method, path, Some(body));
    }

    fn configure(&self, b: &GlewlwydBuilder) {
        let dir = self._dir.path();
        let (jwt_type, _) = b.signing.plugin_type_and_keygen();
        let (key, cert) = key_pair(dir, b.signing);
        self.admin(
            "POST",
            "/api/mod/plugin/",
            json!({
                "module": "oidc",
                "name": PLUGIN,
                "display_name": "OpenID Connect",
                "enabled": true,
                "parameters": {
                    "iss": self.issuer(),
                    "jwt-type": jwt_type,
                    "jwt-key-size": "256",
                    "key": key,
                    "cert": cert,
                    "access-token-duration": 3600,
                    // Glewlwyd's default, 14 days. A refused refresh token is
                    // made by disabling it (`disable_refresh_tokens`), not by
                    // waiting for a short lifetime to run out.
                    "refresh-token-duration": 1_209_600,
                    "code-duration": 600,
                    "allow-non-oidc": true,
                    "auth-type-code-enabled": true,
                    "auth-type-device-enabled": true,
                    "auth-type-refresh-enabled": true,
                    "auth-type-client-enabled": true,
                    "device-authorization-expiration": 600,
                    // 1 s instead of 5: the tests poll as often as allowed.
                    "device-authorization-interval": 1,
                    // Revocation and introspection for authenticated
                    // clients only (the discovery document says
                    // `client_secret_basic`): a public client's revocation
                    // is refused, as on a stock installation.
                    "introspection-revocation-allowed": true,
                    "introspection-revocation-allow-target-client": true,
                }
            }),
        );
        self.admin(
            "POST",
            "/api/scope/",
            json!({
                "name": INFLUX_SCOPE,
                "display_name": "InfluxDB",
                "description": "InfluxDB cluster administration",
                "password_required": false,
                "scheme": {}
            }),
        );
        self.admin(
            "POST",
            "/api/user/",
            json!({
                "username": USER.0,
                "password": USER.1,
                "name": "Ada",
                "email": USER_EMAIL,
                "scope": ["openid", INFLUX_SCOPE],
                "enabled": true
            }),
        );
        self.admin(
            "POST",
            "/api/client/",
            json!({
                "client_id": PUBLIC_CLIENT,
                "name": "influx-bootstrap (device)",
                "confidential": false,
                "authorization_type": ["device_authorization", "refresh_token"],
                "enabled": true
            }),
        );
        self.admin(
            "POST",
            "/api/client/",
            json!({
                "client_id": CONFIDENTIAL_CLIENT,
                "name": "influx-bootstrap (workload)",
                "confidential": true,
                "client_secret": CONFIDENTIAL_SECRET,
                "token_endpoint_auth_method": ["client_secret_basic"],
                "authorization_type": ["client_credentials"],
                "scope": [INFLUX_SCOPE],
                "enabled": true
            }),
        );
    }

    /// Approves `user_code` as [`USER`], granting `scopes` (space-separated)
    /// to the public client, the REST calls Glewlwyd's own login app makes.
    /// Panics unless Glewlwyd confirms (a redirect to `prompt=deviceComplete`).
    pub fn approve(&self, user_code: &str, scopes: &str) {
        let cookie = self.log_in(USER.0, USER.1);
        self.call(
            &cookie,
            "PUT",
            &format!("/api/auth/grant/{PUBLIC_CLIENT}/"),
            Some(json!({ "scope": scopes })),
        );
        let resp = self
            .http
            .get(self.url(&format!("/api/{PLUGIN}/device")))
            .query(&[("code", user_code), ("g_continue", "")])
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .unwrap_or_else(|e| panic!("Glewlwyd device verification: {e}"));
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            location.contains("prompt=deviceComplete"),
            "Glewlwyd did not confirm user code {user_code:?}: HTTP {} Location {location:?}\n--- stderr ---\n{}",
            resp.status(),
            self.stderr_log()
        );
    }

    /// Disables every refresh token of [`USER`] through the profile API
    /// (`DELETE /api/oidc/token/{hash}`, what "sign out everywhere" in
    /// Glewlwyd's profile app does); returns how many there were.
    pub fn disable_refresh_tokens(&self) -> usize {
        let cookie = self.log_in(USER.0, USER.1);
        let list = self.call(&cookie, "GET", &format!("/api/{PLUGIN}/token"), None);
        let hashes: Vec<String> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|t| t["enabled"] == true)
                    .filter_map(|t| t["token_hash"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for h in &hashes {
            // The hash is `{SHA512}` + base64: one encoded path segment.
            let mut url = reqwest::Url::parse(&self.base).expect("base URL");
            url.path_segments_mut()
                .expect("http URL")
                .extend(["api", PLUGIN, "token", h]);
            self.call(&cookie, "DELETE", url.path(), None);
        }
        hashes.len()
    }

    /// `POST` a form to `path` (under this server), returning (status, body).
    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.text().unwrap_or_default())
    }

    /// The OpenID discovery document.
    pub fn discovery(&self) -> Value {
        self.http
            .get(format!(
                "{}/.well-known/openid-configuration",
                self.issuer()
            ))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("Glewlwyd discovery: {e}"))
    }
}
