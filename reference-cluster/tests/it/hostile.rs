//! The reference cluster against hostile or broken callers and identity
//! providers (issue 11, item 18): JWKS fetches are single-flight with
//! back-off, only access tokens pass for access tokens, ids are not revealed
//! to callers without a credential, and the database file is private.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::support::{
    Api, Issuer, cluster_config, cluster_config_on_disk, dedicated_config, serve, stack, start,
};

/// An identity provider whose JWKS endpoint fails (HTTP 500) and counts the
/// requests; the first one is held until `release` is notified, so that the
/// test can pile up requests behind it.
struct BrokenJwks {
    url: String,
    hits: Arc<AtomicU64>,
    release: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl BrokenJwks {
    async fn start() -> BrokenJwks {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let (h, r) = (hits.clone(), release.clone());
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let (h, r) = (h.clone(), r.clone());
                async move {
                    if h.fetch_add(1, Ordering::SeqCst) == 0 {
                        r.notified().await;
                    }
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down")
                }
            }),
        );
        let task = serve(listener, app);
        BrokenJwks {
            url,
            hits,
            release,
            task,
        }
    }
}

impl Drop for BrokenJwks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn jwks_fetches_are_single_flight_with_back_off() {
    let idp = Issuer::start().await;
    let broken = BrokenJwks::start().await;
    let mut config = cluster_config(&idp);
    config.identity.jwks_endpoint = Some(format!("{}/jwks", broken.url));
    let server = start(config).await;
    let api = Api::new(&server);
    let token = idp.token("admin");

    let mut calls = Vec::new();
    for _ in 0..20 {
        let (api, token) = (api.clone(), token.clone());
        calls.push(tokio::spawn(async move { api.list(&token).await }));
    }
    // The first request is fetching (and held); the others queue behind it.
    while broken.hits.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    broken.release.notify_one();
    for c in calls {
        let r = c.await.unwrap();
        assert_eq!(r.status, 503, "{}", r.text);
    }
    // One fetch for all 20, and none for a request within the back-off.
    assert_eq!(api.list(&token).await.status, 503);
    assert_eq!(broken.hits.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn only_typed_access_tokens_are_access_tokens() {
    let (idp, server, api) = stack(cluster_config).await;
    let claims = idp.claims("admin");
    let cases = [
        (Some("at+jwt"), 200),
        (Some("AT+JWT"), 200),
        (Some("application/at+jwt"), 200),
        // What an ID token carries (RFC 7519 §5.1), or nothing at all.
        (Some("JWT"), 401),
        (None, 401),
        (Some("logout+jwt"), 401),
    ];
    for (typ, status) in cases {
        let r = api.list(&idp.key.sign_typed(&claims, typ)).await;
        assert_eq!(r.status, status, "{typ:?}: {}", r.text);
    }
    server.shutdown().await;

    // A provider that does not type its access tokens: configured.
    let mut config = cluster_config(&idp);
    config.identity.access_token_types = vec!["at+jwt".into(), "JWT".into()];
    let server = start(config).await;
    let api = Api::new(&server);
    let r = api.list(&idp.key.sign_typed(&claims, Some("JWT"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.shutdown().await;
}

#[tokio::test]
async fn callers_without_a_credential_cannot_probe_ids() {
    let (_idp, server, _) = stack(dedicated_config).await;
    let http = reqwest::Client::new();
    for ids in [
        "acc-1/clusters/clu-1",
        "acc-2/clusters/clu-1",
        "acc-1/clusters/x",
    ] {
        for path in ["/management/tokens", "/databases", "/tokens"] {
            let url = format!("{}/api/v0/accounts/{ids}{path}", server.url());
            for auth in [None, Some("Bearer garbage")] {
                let mut req = http.get(&url);
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let status = req.send().await.unwrap().status().as_u16();
                assert_eq!(status, 401, "{url} with {auth:?}");
            }
        }
    }
    server.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let idp = Issuer::start().await;
    let (config, _dir) = cluster_config_on_disk(&idp);
    let path = config.database.clone();
    let server = start(config).await;
    let api = Api::new(&server);
    let r = api
        .create(&idp.token("admin"), json!({"description": "x"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{path}{suffix}");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    server.shutdown().await;
}
