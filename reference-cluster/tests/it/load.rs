//! The API end to end under retries, faults, restarts and load:
//! idempotency keys, injected failures, dropped connections, a restart on
//! the same file, ten thousand tokens, concurrent creates.

use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    Api, Issuer, admin_stack, assert_error, assert_invalid_token, cluster_config,
    cluster_config_on_disk, post_faults, set_faults, start, stats,
};

#[tokio::test]
async fn idempotent_create_replays_and_conflicts() {
    let (idp, server, api, admin) = admin_stack().await;
    let body = json!({"description": "ci", "expiresAt": null});

    let a = api.create_idem(&admin, "key-1", body.clone()).await;
    assert_eq!(a.status, 201);
    assert!(a.header("idempotent-replayed").is_none());
    let b = api.create_idem(&admin, "key-1", body.clone()).await;
    assert_eq!(b.status, 201);
    assert_eq!(b.text, a.text, "replay returns the identical body");
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(b.header("location"), a.header("location"));
    // Same meaning, different bytes: omitted expiresAt = null.
    let c = api
        .create_idem(&admin, "key-1", json!({"description": "ci"}))
        .await;
    assert_eq!(c.text, a.text);
    // A new JWT of the same user is the same caller.
    let again = idp.token_with("admin", json!({"jti": "another"}));
    assert_eq!(
        api.create_idem(&again, "key-1", body.clone()).await.text,
        a.text
    );
    assert_eq!(stats(&server).await["tokens"], 1);

    // The same key with another meaning: 409.
    for other in [
        json!({"description": "different"}),
        json!({"description": "ci", "expiresAt": "2999-01-01T00:00:00Z"}),
    ] {
        assert_error(&api.create_idem(&admin, "key-1", other).await, 409);
    }

    // Another caller (a management token) with the same key: no collision.
    let mgmt = a.body["accessToken"].as_str().unwrap();
    let d = api.create_idem(mgmt, "key-1", body.clone()).await;
    assert_eq!(d.status, 201);
    assert_ne!(d.body["id"], a.body["id"]);
    // A different key creates a new token.
    let e = api.create_idem(&admin, "key-2", body.clone()).await;
    assert_ne!(e.body["id"], a.body["id"]);
    // Without a key, every create is new.
    api.create(&admin, body.clone()).await;
    api.create(&admin, body.clone()).await;
    let s = stats(&server).await;
    assert_eq!(s["tokens"], 5);
    assert_eq!(s["idempotency_records"], 3);

    // A failed create does not reserve its key.
    let past = json!({"description": "x", "expiresAt": "2000-01-01T00:00:00Z"});
    assert_error(&api.create_idem(&admin, "key-3", past).await, 400);
    let r = api
        .create_idem(&admin, "key-3", json!({"description": "x"}))
        .await;
    assert_eq!(r.status, 201);
    server.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_tokens_and_revocations() {
    let idp = Issuer::start().await;
    let (config, dir) = cluster_config_on_disk(&idp);

    let server = start(config.clone()).await;
    let api = Api::new(&server);
    let admin = idp.token("admin");
    let revoked = api.create(&admin, json!({"description": "old"})).await;
    let kept = api.create(&admin, json!({"description": "kept"})).await;
    let revoked_token = revoked.body["accessToken"].as_str().unwrap().to_string();
    let kept_token = kept.body["accessToken"].as_str().unwrap().to_string();
    let r = api
        .revoke(&admin, revoked.body["id"].as_str().unwrap())
        .await;
    let revoked_at = r.body["revokedAt"].clone();
    let before = api.list(&admin).await.body;
    server.shutdown().await;

    let server = start(config).await;
    let api = Api::new(&server);
    assert_invalid_token(&api.list(&revoked_token).await);
    let r = api.list(&kept_token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, before);
    assert_eq!(r.body[0]["revokedAt"], revoked_at);

    // Only hashes are stored: the raw token is nowhere in the database files.
    server.shutdown().await;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for t in [&kept_token, &revoked_token] {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "raw token found on disk"
            );
        }
    }
}

#[tokio::test]
async fn injected_failures_have_retry_after() {
    let idp = Issuer::start().await;
    let mut config = cluster_config(&idp);
    config.faults.fail_next = 1;
    config.faults.retry_after = 7;
    let server = start(config).await;
    let api = Api::new(&server);
    let admin = idp.token("admin");

    let r = api.list(&admin).await;
    assert_error(&r, 503);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(api.list(&admin).await.status, 200);

    set_faults(
        &server,
        json!({"fail_next": 2, "retry_after": 2, "fail_status": 429}),
    )
    .await;
    let r = api.create(&admin, json!({"description": "x"})).await;
    assert_error(&r, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    // Faults apply before authentication.
    let r = api.send(api.http.get(api.url("/management/tokens"))).await;
    assert_error(&r, 429);
    assert_eq!(
        api.create(&admin, json!({"description": "x"})).await.status,
        201
    );

    let s = stats(&server).await;
    assert_eq!(s["requests"]["GET /api/v0/management/tokens"], 3);
    assert_eq!(s["requests"]["POST /api/v0/management/tokens"], 2);
    assert_eq!(s["tokens"], 1);
    assert_eq!(s["faults"]["fail_next"], 0);

    // Invalid fault settings are rejected.
    assert_eq!(post_faults(&server, json!({"fail_status": 418})).await, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn test_control_routes_are_off_by_default() {
    let idp = Issuer::start().await;
    let mut config = cluster_config(&idp);
    config.faults.test_control = false;
    let server = start(config).await;
    let r = reqwest::get(format!("{}/__test/stats", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.shutdown().await;
}

#[tokio::test]
async fn dropped_create_is_a_transport_error_and_the_token_exists() {
    let (_idp, server, api, admin) = admin_stack().await;
    set_faults(&server, json!({"drop_after_create": 1})).await;

    let body = json!({"description": "lost response"});
    let err = api
        .http
        .post(api.url("/management/tokens"))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "retry-me")
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect_err("the connection must be dropped without a response");
    println!("client saw: {err:?}");
    assert!(err.status().is_none(), "no HTTP status: {err}");
    assert!(!err.is_timeout(), "closed at once, not timed out: {err}");

    let s = stats(&server).await;
    assert_eq!(s["tokens"], 1, "the token was committed");
    assert_eq!(s["faults"]["drop_after_create"], 0);

    // The retry with the same key gets the committed token, not a second one.
    let r = api.create_idem(&admin, "retry-me", body).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    let list = api.list(&admin).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], r.body["id"]);
    server.shutdown().await;
}

#[tokio::test]
async fn listing_ten_thousand_tokens() {
    let (_idp, server, api, admin) = admin_stack().await;
    let base = reference_cluster::token::now_micros();
    server
        .state()
        .store
        .run(move |s| {
            for i in 0..10_000i64 {
                let record = reference_cluster::store::TokenRecord {
                    id: reference_cluster::token::new_uuid_v4(),
                    description: format!("bulk {i}"),
                    token_prefix: "M.V1.abcdef".into(),
                    // Pairs share a createdAt so the id tie-break is exercised.
                    created_at: base + (9_999 - i) / 2,
                    created_by: "admin".into(),
                    expires_at: None,
                    revoked_at: None,
                };
                s.insert(&record, &reference_cluster::token::sha256(&i.to_le_bytes()))?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let started = Instant::now();
    let r = api.list(&admin).await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 10_000);
    let key = |t: &Value| {
        (
            chrono::DateTime::parse_from_rfc3339(t["createdAt"].as_str().unwrap()).unwrap(),
            t["id"].as_str().unwrap().to_string(),
        )
    };
    assert!(list.windows(2).all(|w| key(&w[0]) < key(&w[1])), "ordered");
    // For information only (bench/ measures this properly): no timing
    // assertion, a loaded machine must not fail the test.
    println!(
        "listed 10,000 tokens ({} bytes) in {elapsed:?}",
        r.text.len()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_creates_with_one_key_make_one_token() {
    let (_idp, server, api, admin) = admin_stack().await;
    let body = json!({"description": "race"});
    let replies = futures_join(
        (0..8)
            .map(|_| {
                let api = api.clone();
                let admin = admin.clone();
                let body = body.clone();
                tokio::spawn(async move { api.create_idem(&admin, "same", body).await })
            })
            .collect(),
    )
    .await;
    let mut created = BTreeSet::new();
    for r in &replies {
        match r.status {
            201 => {
                created.insert(r.text.clone());
            }
            // The first request was still being processed.
            409 => assert!(r.body["message"].as_str().unwrap().contains("processed")),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(created.len(), 1, "every 201 carries the same token");
    assert_eq!(stats(&server).await["tokens"], 1);
    server.shutdown().await;
}

async fn futures_join(
    handles: Vec<tokio::task::JoinHandle<support::Reply>>,
) -> Vec<support::Reply> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
