//! End to end with the bundled IdP fixture (`tests/idp`, oidc-provider on
//! Node.js): a real RS256 `at+jwt` access token from the device flow, JWKS
//! found through OIDC discovery. Needs `node` and `npm` (like the root
//! package's tests; `test_support::idp` runs `npm ci` in tests/idp when
//! needed, under the same lock as they do).

use std::path::Path;

use reference_cluster::Config;
use serde_json::{Value, json};
use test_support::Idp;

use crate::support::Api;

#[test]
fn real_idp_rs256_tokens() {
    // Polls may come at once: each device flow is approved before its one poll.
    let idp = Idp::builder().interval(1).enforce_interval(0).start();
    let admin = idp.access_token("admin");
    let viewer = idp.access_token("viewer");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(check_cluster(idp.issuer(), &admin, &viewer));
}

async fn check_cluster(issuer: &str, admin: &str, viewer: &str) {
    let http = reqwest::Client::new();
    let header = jsonwebtoken::decode_header(admin).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);

    // The example config, pointed at this IdP instance.
    let mut config = Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/reference-cluster.toml"),
    )
    .unwrap();
    config.identity.issuer = issuer.to_owned();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database = ":memory:".into();
    let server = reference_cluster::start(config).await.unwrap();
    let api = Api::new(&server);

    let r = api
        .create(admin, json!({"description": "from the real IdP"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["createdBy"], "admin");

    let r = api.list(viewer).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.body["message"],
        r#"user "viewer" (claim sub) is not an admin of this cluster"#
    );

    // Dedicated path with the ids of the example config.
    let r = http
        .get(format!(
            "{}/api/v0/accounts/00000000-0000-0000-0000-000000000001/clusters/00000000-0000-0000-0000-000000000002/management/tokens",
            server.url()
        ))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.state().verifier.jwks_fetches(), 1);
    server.shutdown().await;
}

/// An ID token from the real provider is not an access token, even for a
/// cluster whose audience is the client id (its `aud`): oidc-provider types
/// access tokens `at+jwt` (RFC 9068) and ID tokens `JWT` (issue 11, item 18).
#[test]
fn real_id_tokens_are_not_access_tokens() {
    use base64::Engine as _;
    let idp = Idp::builder().interval(1).enforce_interval(0).start();
    let tokens = idp.device_flow_tokens("admin");
    let id_token = tokens["id_token"].as_str().expect("id_token").to_owned();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let client_id = claims["aud"].as_str().expect("one audience").to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = Config::minimal(idp.issuer(), &client_id, &["admin"]);
        config.listen = "127.0.0.1:0".parse().unwrap();
        let server = reference_cluster::start(config).await.unwrap();
        let r = Api::new(&server).list(&id_token).await;
        assert_eq!(r.status, 401, "{}", r.text);
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains("typ"), "{}", r.text);
        server.shutdown().await;
    });
}
