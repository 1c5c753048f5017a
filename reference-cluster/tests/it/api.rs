//! End-to-end tests of the API against an in-process server on 127.0.0.1:0.

use crate::support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use support::{
    AUDIENCE, Api, Issuer, admin_stack, assert_error, assert_invalid_token, cluster_config,
    dedicated_config, now, stack, stack_on_disk, start, stats,
};

fn is_rfc3339_z(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[tokio::test]
async fn admin_creates_lists_gets_and_revokes() {
    let (idp, server, api, db, _dir) = stack_on_disk().await;
    let admin = idp.token("admin");

    let r = api
        .create(&admin, json!({"description": "first", "expiresAt": null}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let created = r.body.clone();
    let obj = created.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "accessToken",
            "createdAt",
            "createdBy",
            "description",
            "expiresAt",
            "id",
            "revokedAt",
            "tokenPrefix"
        ]
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "UUID v4");
    let access = created["accessToken"].as_str().unwrap();
    assert!(access.starts_with("M.V1."));
    assert_eq!(URL_SAFE_NO_PAD.decode(&access[5..]).unwrap().len(), 32);
    assert_eq!(created["tokenPrefix"], &access[..11]);
    assert_eq!(created["createdBy"], "admin");
    assert_eq!(created["description"], "first");
    assert!(created["expiresAt"].is_null());
    assert!(created["revokedAt"].is_null());
    assert!(is_rfc3339_z(&created["createdAt"]));
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v0/management/tokens/{id}").as_str())
    );

    // expiresAt with an offset comes back normalised to UTC.
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1;
    let r = api
        .create(
            &admin,
            json!({"description": "second", "expiresAt": format!("{year}-06-01T12:00:00+02:00"), "unknown": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["expiresAt"], format!("{year}-06-01T10:00:00Z"));
    let second = r.body["id"].as_str().unwrap().to_string();

    // expiresAt omitted = null
    let r = api.create(&admin, json!({"description": "third"})).await;
    assert_eq!(r.status, 201);
    assert!(r.body["expiresAt"].is_null());

    let r = api.list(&admin).await;
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[1]["id"], second.as_str());
    for t in list {
        assert!(t.get("accessToken").is_none());
        assert_eq!(t.as_object().unwrap().len(), 7);
    }
    let mut without_secret = created.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("accessToken");
    assert_eq!(list[0], without_secret);

    let r = api.get(&admin, &id).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, without_secret);

    let r = api.revoke(&admin, &id).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(is_rfc3339_z(&r.body["revokedAt"]));
    assert!(r.body.get("accessToken").is_none());
    // Move the revocation an hour back, so that a second revoke that
    // overwrote it could not go unnoticed (whatever the clock's resolution).
    let earlier = test_support::cluster_db::now_micros() - 3_600_000_000;
    db.set_revoked_at(&id, earlier);
    let revoked_at = reference_cluster::token::format_micros(earlier);
    assert_ne!(r.body["revokedAt"], revoked_at.as_str());

    let r = api.revoke(&admin, &id).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["revokedAt"],
        revoked_at.as_str(),
        "second revoke keeps the first time"
    );

    let r = api.list(&admin).await;
    assert_eq!(
        r.body.as_array().unwrap().len(),
        3,
        "revoked tokens stay listed"
    );
    assert_eq!(r.body[0]["revokedAt"], revoked_at);

    let missing = "00000000-0000-4000-8000-000000000000";
    assert_error(&api.get(&admin, missing).await, 404);
    assert_error(&api.revoke(&admin, missing).await, 404);
    assert_error(&api.get(&admin, "not-a-uuid").await, 404);

    server.shutdown().await;
}

#[tokio::test]
async fn non_admin_is_forbidden_with_user_and_claim_named() {
    let (idp, server, api) = stack(cluster_config).await;
    let viewer = idp.token("viewer");
    let r = api.list(&viewer).await;
    assert_error(&r, 403);
    assert_eq!(
        r.body["message"],
        r#"user "viewer" (claim sub) is not an admin of this cluster"#
    );
    let r = api.create(&viewer, json!({"description": "x"})).await;
    assert_error(&r, 403);
    assert_eq!(stats(&server).await["tokens"], 0);

    // A token without the user-id claim.
    let r = api
        .list(&idp.token_with("admin", json!({"sub": null})))
        .await;
    assert_error(&r, 403);
    assert!(r.body["message"].as_str().unwrap().contains("\"sub\""));
    server.shutdown().await;

    // Another user-id claim (Entra's oid).
    let mut config = cluster_config(&idp);
    config.identity.user_id_claim = "oid".into();
    let server = start(config).await;
    let api = Api::new(&server);
    let r = api
        .list(&idp.token_with("someone", json!({"oid": "admin"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .list(&idp.token_with("admin", json!({"oid": "x1"})))
        .await;
    assert_eq!(
        r.body["message"],
        r#"user "x1" (claim oid) is not an admin of this cluster"#
    );
    let r = api
        .create(
            &idp.token_with("someone", json!({"oid": "admin"})),
            json!({"description": "oid"}),
        )
        .await;
    assert_eq!(r.body["createdBy"], "admin");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_are_400() {
    let (_idp, server, api, admin) = admin_stack().await;
    let raw = |body: &'static str| {
        api.http
            .post(api.url("/management/tokens"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body)
    };
    for body in ["", "{", "not json", "[]", "\"x\"", "null"] {
        assert_error(&api.send(raw(body)).await, 400);
    }
    let long = "x".repeat(256);
    let ok_255 = "é".repeat(255);
    for body in [
        json!({}),
        json!({"description": ""}),
        json!({"description": "   \t\n"}),
        json!({"description": 5}),
        json!({"description": null}),
        json!({"description": long}),
        json!({"description": "x", "expiresAt": "tomorrow"}),
        json!({"description": "x", "expiresAt": "2030-01-01"}),
        json!({"description": "x", "expiresAt": 1_900_000_000}),
        json!({"description": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
        json!({"description": "x", "expiresAt": chrono::Utc::now().to_rfc3339()}),
    ] {
        let r = api.create(&admin, body.clone()).await;
        assert_error(&r, 400);
        println!("{body} -> {}", r.body["message"]);
    }
    let r = api
        .create(&admin, json!({"description": ok_255, "extra": [1, 2]}))
        .await;
    assert_eq!(r.status, 201, "255 characters are allowed: {}", r.text);

    for key in ["", "has space", &"k".repeat(256)] {
        let r = api
            .create_idem(&admin, key, json!({"description": "k"}))
            .await;
        assert_error(&r, 400);
    }
    assert_eq!(stats(&server).await["tokens"], 1);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_401_with_www_authenticate() {
    let (idp, server, api) = stack(cluster_config).await;

    // Missing header: just `Bearer`.
    let r = api.send(api.http.get(api.url("/management/tokens"))).await;
    assert_error(&r, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    // Not a bearer credential.
    let r = api
        .send(
            api.http
                .get(api.url("/management/tokens"))
                .basic_auth("admin", Some("pw")),
        )
        .await;
    assert_invalid_token(&r);

    let t = now();
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(idp.claims("admin").to_string());
    let alg_none = format!("{header_none}.{payload}.");
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &idp.claims("admin"),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    // Same kid, different key: bad signature.
    let impostor = support::SigningKey::generate("test-es256").sign(&idp.claims("admin"));
    let unknown_kid = support::SigningKey::generate("other").sign(&idp.claims("admin"));
    let mut tampered = idp.token("viewer");
    {
        // Swap the payload for an admin one, keeping the viewer's signature.
        let parts: Vec<&str> = tampered.split('.').collect();
        tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    }
    let cases: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("three garbage parts", "a.b.c".into()),
        (
            "unknown management token",
            format!("M.V1.{}", "A".repeat(43)),
        ),
        ("expired", idp.token_with("admin", json!({"exp": t - 120}))),
        (
            "not yet valid",
            idp.token_with("admin", json!({"nbf": t + 600})),
        ),
        ("no exp", idp.token_with("admin", json!({"exp": null}))),
        (
            "wrong aud",
            idp.token_with("admin", json!({"aud": "https://other.example"})),
        ),
        ("no aud", idp.token_with("admin", json!({"aud": null}))),
        (
            "wrong iss",
            idp.token_with("admin", json!({"iss": "http://evil.example"})),
        ),
        ("alg none", alg_none),
        ("HS256", hs256),
        ("bad signature", impostor),
        ("unknown kid", unknown_kid),
        ("tampered", tampered),
    ];
    for (what, cred) in &cases {
        let r = api.list(cred).await;
        println!("{what}: {}", r.body["message"]);
        assert_invalid_token(&r);
    }

    // Within the 60 s leeway, and aud as an array.
    assert_eq!(
        api.list(&idp.token_with("admin", json!({"exp": t - 30})))
            .await
            .status,
        200
    );
    assert_eq!(
        api.list(&idp.token_with("admin", json!({"aud": ["x", AUDIENCE]})))
            .await
            .status,
        200
    );
    assert_eq!(stats(&server).await["tokens"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn jwks_is_cached_and_refetched_for_new_kids() {
    let (idp, server, api) = stack(cluster_config).await;
    for _ in 0..3 {
        assert_eq!(api.list(&idp.token("admin")).await.status, 200);
    }
    assert_eq!(idp.jwks_hits(), 1, "JWKS fetched once and cached");

    // A rotated key is not published yet: the unknown kid triggers one refetch
    // at most every 10 s (the first fetch was just now, so none).
    let rotated = support::SigningKey::generate("rotated");
    let token = rotated.sign(&idp.claims("admin"));
    assert_invalid_token(&api.list(&token).await);
    assert_eq!(idp.jwks_hits(), 1);

    idp.extra.lock().unwrap().push(rotated.jwk.clone());
    server
        .state()
        .verifier
        .set_refetch_interval(Duration::from_millis(0));
    assert_eq!(api.list(&token).await.status, 200);
    assert_eq!(idp.jwks_hits(), 2);
    assert_eq!(api.list(&token).await.status, 200);
    assert_eq!(idp.jwks_hits(), 2, "known kid: no refetch");

    // Unknown kid keeps being 401 after a refetch.
    let stranger = support::SigningKey::generate("stranger").sign(&idp.claims("admin"));
    assert_invalid_token(&api.list(&stranger).await);
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_idp_is_503_with_retry_after() {
    let idp = Issuer::start().await;
    let token = idp.token("admin");
    let mut config = cluster_config(&idp);
    // A loopback port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.identity.jwks_endpoint = Some(format!("http://127.0.0.1:{port}/jwks"));
    let server = start(config).await;
    let api = Api::new(&server);
    let r = api.list(&token).await;
    assert_error(&r, 503);
    assert_eq!(r.header("retry-after"), Some("5"));
    server.shutdown().await;
}

#[tokio::test]
async fn management_tokens_authenticate_and_can_be_revoked() {
    let (idp, server, api, db, _dir) = stack_on_disk().await;
    let admin = idp.token("admin");

    let first = api
        .create(&admin, json!({"description": "automation"}))
        .await;
    assert_eq!(first.status, 201);
    let first_id = first.body["id"].as_str().unwrap().to_string();
    let first_token = first.body["accessToken"].as_str().unwrap().to_string();

    // The management token creates another one.
    let second = api
        .create(&first_token, json!({"description": "rotated"}))
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body["createdBy"], format!("token:{first_id}"));
    let second_token = second.body["accessToken"].as_str().unwrap().to_string();
    let second_id = second.body["id"].as_str().unwrap().to_string();

    // ... which revokes the first.
    let r = api.revoke(&second_token, &first_id).await;
    assert_eq!(r.status, 200);
    let r = api.list(&first_token).await;
    assert_invalid_token(&r);
    assert!(r.body["message"].as_str().unwrap().contains("revoked"));

    // A token may revoke itself.
    assert_eq!(api.revoke(&second_token, &second_id).await.status, 200);
    assert_invalid_token(&api.list(&second_token).await);

    // An expired management token: it works until its expiry, which the
    // database then moves into the past (no waiting for the clock).
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = api
        .create(&admin, json!({"description": "short", "expiresAt": later}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let short = r.body["accessToken"].as_str().unwrap().to_string();
    assert_eq!(api.list(&short).await.status, 200);
    db.expire(r.body["id"].as_str().unwrap());
    let r = api.list(&short).await;
    assert_invalid_token(&r);
    assert!(r.body["message"].as_str().unwrap().contains("expired"));

    // A token with a changed character is unknown.
    let mut forged = first_token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    assert_invalid_token(&api.list(&String::from_utf8(forged).unwrap()).await);
    server.shutdown().await;
}

#[tokio::test]
async fn dedicated_paths() {
    let (idp, server, _) = stack(dedicated_config).await;
    let admin = idp.token("admin");
    let api = Api {
        base: format!("{}/api/v0/accounts/acc-1/clusters/clu-1", server.url()),
        http: reqwest::Client::new(),
    };
    let r = api
        .create(&admin, json!({"description": "dedicated"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v0/accounts/acc-1/clusters/clu-1/management/tokens/{id}").as_str())
    );
    assert_eq!(api.get(&admin, &id).await.status, 200);
    assert_eq!(api.list(&admin).await.body.as_array().unwrap().len(), 1);
    // Same store as the clustered prefix.
    assert_eq!(Api::new(&server).get(&admin, &id).await.status, 200);
    assert_eq!(api.revoke(&admin, &id).await.status, 200);

    for base in ["acc-2/clusters/clu-1", "acc-1/clusters/clu-2"] {
        let wrong = Api {
            base: format!("{}/api/v0/accounts/{base}", server.url()),
            http: reqwest::Client::new(),
        };
        let r = wrong.list(&admin).await;
        assert_error(&r, 404);
        println!("{}", r.body["message"]);
        // The credential is checked first: without a valid one, wrong ids
        // look like right ones (issue 11, item 18).
        assert_error(&wrong.list("garbage").await, 401);
    }
    server.shutdown().await;

    // Without [dedicated], dedicated paths are 404.
    let server = start(cluster_config(&idp)).await;
    let api = Api {
        base: format!("{}/api/v0/accounts/acc-1/clusters/clu-1", server.url()),
        http: reqwest::Client::new(),
    };
    assert_error(&api.list(&admin).await, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn routing_errors_are_json() {
    let (_idp, server, api, admin) = admin_stack().await;
    // A path with other methods: 405 and `Allow` naming them (RFC 9110
    // section 15.5.6); no such path: 404.
    let cases = [
        (reqwest::Method::PUT, "/management/tokens", 405, "GET POST"),
        (reqwest::Method::POST, "/management/tokens/x", 405, ""),
        (reqwest::Method::GET, "/management/nothing", 404, ""),
    ];
    for (method, path, status, allowed) in cases {
        let req = api.http.request(method, api.url(path)).bearer_auth(&admin);
        let r = api.send(req).await;
        assert_error(&r, status);
        let allow = r.header("allow").unwrap_or_default().to_string();
        for m in allowed.split_whitespace() {
            assert!(allow.contains(m), "{path}: Allow: {allow}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn https_with_generated_ca() {
    let idp = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let files = test_support::tls::write_tls_files(dir.path());
    let mut config = cluster_config(&idp);
    config.tls = Some(reference_cluster::config::Tls {
        cert: files.cert.clone(),
        key: files.key.clone(),
    });
    let server = start(config).await;
    assert!(server.url().starts_with("https://127.0.0.1:"));
    assert!(server.ready_line().contains("\"https://127.0.0.1:"));
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(files.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let api = Api {
        base: format!("{}/api/v0", server.url()),
        http,
    };
    let admin = idp.token("admin");
    let r = api.create(&admin, json!({"description": "tls"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(api.list(&admin).await.status, 200);

    // A client that does not trust the CA fails the handshake.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(format!("{}/api/v0/management/tokens", server.url()))
            .send()
            .await
            .is_err()
    );
    server.shutdown().await;
}
