//! Helpers for the reference cluster's tests: a tiny OIDC issuer (discovery +
//! JWKS) with an ES256 key from rcgen, JWT minting, a cluster starter and an
//! API client. (The IdP fixture, the test CA and the database editor are in the
//! workspace's `test-support` crate.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reference_cluster::{Config, RunningServer};
use serde_json::{Value, json};
use test_support::cluster_db::ClusterDb;

pub const AUDIENCE: &str = test_support::DEFAULT_AUDIENCE;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An ES256 signing key with its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    pub fn generate(kid: &str) -> SigningKey {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = kp.public_key_raw(); // 0x04 || x || y
        assert_eq!(raw.len(), 65);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
        });
        SigningKey {
            kid: kid.to_string(),
            encoding: EncodingKey::from_ec_der(&kp.serialize_der()),
            jwk,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_typed(claims, Some("at+jwt"))
    }

    /// Signs with the JOSE header `typ` given (`None`: no `typ`).
    pub fn sign_typed(&self, claims: &Value, typ: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A minimal OIDC issuer on 127.0.0.1:0 publishing discovery and a JWKS.
pub struct Issuer {
    pub url: String,
    pub key: SigningKey,
    pub jwks_hits: Arc<AtomicU64>,
    /// Extra JWKs published beside `key` (e.g. an RSA key, an encryption key).
    pub extra: Arc<std::sync::Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = SigningKey::generate("test-es256");
        let jwks_hits = Arc::new(AtomicU64::new(0));
        let extra = Arc::new(std::sync::Mutex::new(Vec::new()));
        let discovery = json!({
            "issuer": url,
            "jwks_uri": format!("{url}/jwks"),
        });
        let published = key.jwk.clone();
        let hits = jwks_hits.clone();
        let extra2 = extra.clone();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let d = discovery.clone();
                    async move { axum::Json(d) }
                }),
            )
            .route(
                "/jwks",
                get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let mut keys = vec![published.clone()];
                    keys.extend(extra2.lock().unwrap().iter().cloned());
                    async move { axum::Json(json!({ "keys": keys })) }
                }),
            );
        let task = serve(listener, app);
        Issuer {
            url,
            key,
            jwks_hits,
            extra,
            task,
        }
    }

    pub fn claims(&self, sub: &str) -> Value {
        let now = now();
        json!({
            "iss": self.url, "aud": AUDIENCE, "sub": sub,
            "iat": now, "exp": now + 3600, "client_id": "influx-bootstrap",
        })
    }

    pub fn token(&self, sub: &str) -> String {
        self.key.sign(&self.claims(sub))
    }

    pub fn token_with(&self, sub: &str, patch: Value) -> String {
        let mut claims = self.claims(sub);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        self.key.sign(&claims)
    }

    pub fn jwks_hits(&self) -> u64 {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `listener` until the returned task is aborted.
pub fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

/// A cluster config for `issuer` with admin `admin`, test control on, in memory.
pub fn cluster_config(issuer: &Issuer) -> Config {
    let mut c = Config::minimal(&issuer.url, AUDIENCE, &["admin"]);
    c.faults.test_control = true;
    c
}

/// Like [`cluster_config`], with the database in a file of a fresh temp dir
/// (removed when the returned guard is dropped): a restart keeps it, and a
/// test can edit it behind the server's back (`test_support::cluster_db`).
pub fn cluster_config_on_disk(issuer: &Issuer) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cluster_config(issuer);
    config.database = dir.path().join("cluster.sqlite").display().to_string();
    (config, dir)
}

/// Like [`cluster_config`], for Cloud Dedicated: account `acc-1`, cluster
/// `clu-1`.
pub fn dedicated_config(issuer: &Issuer) -> Config {
    let mut config = cluster_config(issuer);
    config.dedicated = Some(reference_cluster::config::Dedicated {
        account_id: "acc-1".into(),
        cluster_id: "clu-1".into(),
    });
    config
}

pub async fn start(config: Config) -> RunningServer {
    reference_cluster::start(config).await.unwrap()
}

/// A test issuer, a cluster started on `config(issuer)` and a client for it.
pub async fn stack(config: impl FnOnce(&Issuer) -> Config) -> (Issuer, RunningServer, Api) {
    let idp = Issuer::start().await;
    let server = start(config(&idp)).await;
    let api = Api::new(&server);
    (idp, server, api)
}

/// [`stack`] on [`cluster_config`] and the access token of its admin.
pub async fn admin_stack() -> (Issuer, RunningServer, Api, String) {
    let (idp, server, api) = stack(cluster_config).await;
    let admin = idp.token("admin");
    (idp, server, api, admin)
}

/// [`stack`] on [`cluster_config_on_disk`], with the database to edit and
/// the guard of its directory.
pub async fn stack_on_disk() -> (Issuer, RunningServer, Api, ClusterDb, tempfile::TempDir) {
    let idp = Issuer::start().await;
    let (config, dir) = cluster_config_on_disk(&idp);
    let server = start(config.clone()).await;
    let api = Api::new(&server);
    (idp, server, api, ClusterDb::new(&config.database), dir)
}

/// Client wrapper with the cluster's base URL and the clustered prefix.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub fn new(server: &RunningServer) -> Api {
        Api {
            base: format!("{}/api/v0", server.url()),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn create(&self, cred: &str, body: Value) -> Reply {
        self.send(
            self.http
                .post(self.url("/management/tokens"))
                .bearer_auth(cred)
                .json(&body),
        )
        .await
    }

    pub async fn create_idem(&self, cred: &str, key: &str, body: Value) -> Reply {
        self.send(
            self.http
                .post(self.url("/management/tokens"))
                .bearer_auth(cred)
                .header("Idempotency-Key", key)
                .json(&body),
        )
        .await
    }

    /// `method` on `/management/tokens{path}` with `cred`.
    async fn tokens(&self, method: reqwest::Method, cred: &str, path: &str) -> Reply {
        let url = self.url(&format!("/management/tokens{path}"));
        self.send(self.http.request(method, url).bearer_auth(cred))
            .await
    }

    pub async fn list(&self, cred: &str) -> Reply {
        self.tokens(reqwest::Method::GET, cred, "").await
    }

    pub async fn get(&self, cred: &str, id: &str) -> Reply {
        self.tokens(reqwest::Method::GET, cred, &format!("/{id}"))
            .await
    }

    pub async fn revoke(&self, cred: &str, id: &str) -> Reply {
        self.tokens(reqwest::Method::DELETE, cred, &format!("/{id}"))
            .await
    }
}

/// An error reply: `{code, message}` as JSON, with `status`.
pub fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "body: {}", r.text);
    assert_eq!(r.body["code"], status, "body: {}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

/// `GET /__test/stats`.
pub async fn stats(server: &RunningServer) -> Value {
    reqwest::get(format!("{}/__test/stats", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST /__test/faults`; panics unless the cluster takes them.
pub async fn set_faults(server: &RunningServer, faults: Value) {
    assert_eq!(post_faults(server, faults).await, 200);
}

/// `POST /__test/faults`: the status of the answer.
pub async fn post_faults(server: &RunningServer, faults: Value) -> u16 {
    let r = reqwest::Client::new()
        .post(format!("{}/__test/faults", server.url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// 401 with the `WWW-Authenticate` challenge of RFC 6750 section 3.1.
pub fn assert_invalid_token(r: &Reply) {
    assert_error(r, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#),
        "{}",
        r.text
    );
}
