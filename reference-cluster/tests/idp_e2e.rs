//! End to end with the bundled IdP fixture (`tests/idp`, oidc-provider on
//! Node.js): a real RS256 `at+jwt` access token from the device flow, JWKS
//! found through OIDC discovery. Needs `node` and `npm` (like the root
//! package's tests; runs `npm ci` in tests/idp when needed, under the same
//! lock file as they do).

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reference_cluster::Config;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://cluster.example.test";

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/idp")
}

fn needs_install(dir: &Path) -> bool {
    let modules = dir.join("node_modules");
    if !modules.join("oidc-provider/package.json").is_file() {
        return true;
    }
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        mtime(&modules.join(".package-lock.json")),
        mtime(&dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

fn ensure_npm_deps() {
    let dir = idp_dir();
    if !needs_install(&dir) {
        return;
    }
    // Same lock as the root package's tests/support, so the two never run
    // `npm ci` at once.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("influx-bootstrap-idp-npm-ci.lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    if needs_install(&dir) {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run npm (the IdP fixture needs Node.js >= 18 and npm): {e}")
            });
        assert!(
            out.status.success(),
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(lock);
}

struct Idp {
    child: Child,
    _stdin: ChildStdin,
    issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_idp() -> Idp {
    ensure_npm_deps();
    let mut child = Command::new("node")
        .args([
            "server.mjs",
            "--port",
            "0",
            "--interval",
            "1",
            "--enforce-interval",
            "0",
        ])
        .current_dir(idp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (the IdP fixture needs Node.js >= 18): {e}"));
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("IdP ready line");
    let ready: Value = serde_json::from_str(&line).unwrap();
    Idp {
        child,
        _stdin: stdin,
        issuer: ready["issuer"].as_str().unwrap().to_string(),
    }
}

/// Device flow against the fixture, approved as `user`: returns the access token.
async fn access_token(http: &reqwest::Client, issuer: &str, user: &str) -> String {
    let auth: Value = http
        .post(format!("{issuer}/device/auth"))
        .form(&[
            ("client_id", "influx-bootstrap"),
            ("scope", "openid profile email"),
            ("resource", AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = auth["user_code"].as_str().expect("user_code");
    let r = http
        .post(format!("{issuer}/__test/approve"))
        .json(&json!({"user_code": user_code, "user": user}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let token: Value = http
        .post(format!("{issuer}/token"))
        .form(&[
            ("client_id", "influx-bootstrap"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth["device_code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token: {token}"))
        .to_string()
}

#[tokio::test]
async fn real_idp_rs256_tokens() {
    let idp = start_idp();
    let http = reqwest::Client::new();
    let admin = access_token(&http, &idp.issuer, "admin").await;
    let viewer = access_token(&http, &idp.issuer, "viewer").await;
    let header = jsonwebtoken::decode_header(&admin).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);

    // The example config, pointed at this IdP instance.
    let mut config = Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/reference-cluster.toml"),
    )
    .unwrap();
    config.identity.issuer = idp.issuer.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database = ":memory:".into();
    let server = reference_cluster::start(config).await.unwrap();
    let base = format!("{}/api/v0/management/tokens", server.url());

    let r = http
        .post(&base)
        .bearer_auth(&admin)
        .json(&json!({"description": "from the real IdP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["createdBy"], "admin");

    let r = http.get(&base).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        r#"user "viewer" (claim sub) is not an admin of this cluster"#
    );

    // Dedicated path with the ids of the example config.
    let r = http
        .get(format!(
            "{}/api/v0/accounts/00000000-0000-0000-0000-000000000001/clusters/00000000-0000-0000-0000-000000000002/management/tokens",
            server.url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.state().verifier.jwks_fetches(), 1);
    server.shutdown().await;
}
