use super::*;
use crate::cli::GlobalArgs;
use crate::env::Env;

fn profile(pairs: &[(&str, &str)]) -> Profile {
    let mut v = vec![("HOME", "/nonexistent")];
    v.extend_from_slice(pairs);
    crate::settings::resolve(&Env::from_pairs(v), &GlobalArgs::default())
        .unwrap()
        .profile
}

#[test]
fn base_urls() {
    let cases: Vec<(Vec<(&str, &str)>, Result<&str, &str>)> = vec![
        (
            vec![("INFLUX_BOOTSTRAP_HOST", "cluster.example.com")],
            Ok("https://cluster.example.com/api/v0"),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "127.0.0.1"),
                ("INFLUX_BOOTSTRAP_PORT", "8086"),
                ("INFLUX_BOOTSTRAP_TLS_DISABLE", "true"),
            ],
            Ok("http://127.0.0.1:8086/api/v0"),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "::1"),
                ("INFLUX_BOOTSTRAP_PORT", "9"),
            ],
            Ok("https://[::1]:9/api/v0"),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "c.example.com"),
                ("INFLUX_BOOTSTRAP_PRODUCT", "dedicated"),
                ("INFLUX_BOOTSTRAP_ACCOUNT_ID", "acc 1"),
                ("INFLUX_BOOTSTRAP_CLUSTER_ID", "clu"),
            ],
            Ok("https://c.example.com/api/v0/accounts/acc%201/clusters/clu"),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "c.example.com"),
                ("INFLUX_BOOTSTRAP_PRODUCT", "dedicated"),
            ],
            Err("`account_id` is not set"),
        ),
        (vec![], Err("`host` is not set")),
        // management_url moves our routes too, for both products.
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "c.example.com"),
                ("INFLUX_BOOTSTRAP_MANAGEMENT_URL", "https://m.example.com/x"),
            ],
            Ok("https://m.example.com/x/api/v0"),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_MANAGEMENT_URL", "http://127.0.0.1:9/"),
                ("INFLUX_BOOTSTRAP_PRODUCT", "dedicated"),
                ("INFLUX_BOOTSTRAP_ACCOUNT_ID", "a"),
                ("INFLUX_BOOTSTRAP_CLUSTER_ID", "c"),
            ],
            Ok("http://127.0.0.1:9/api/v0/accounts/a/clusters/c"),
        ),
        (
            vec![("INFLUX_BOOTSTRAP_HOST", "https://c.example.com/")],
            Err("is not a host name"),
        ),
    ];
    for (env, want) in cases {
        let p = profile(&env);
        match (base_url(&p), want) {
            (Ok(u), Ok(w)) => assert_eq!(u.as_str(), w, "{env:?}"),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{env:?}: {e}"),
            (got, want) => panic!("{env:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn retry_waits() {
    let p = RetryPolicy::default();
    let cases = [
        (1, None, 500),
        (2, None, 1000),
        (3, None, 2000),
        (1, Some(7), 7000),
        (9, None, 30_000),
        (1, Some(3600), 30_000),
    ];
    for (n, ra, want) in cases {
        assert_eq!(
            p.wait(n, ra.map(Duration::from_secs)).as_millis(),
            want,
            "{n} {ra:?}"
        );
    }
}

fn resp(status: u16, ct: &str, body: &str) -> Response {
    Response {
        url: "https://c/api/v0/management/tokens".into(),
        status,
        content_type: ct.into(),
        retry_after: None,
        location: None,
        body: body.as_bytes().to_vec(),
    }
}

/// A JSON answer from the management API.
fn json(status: u16, body: &str) -> Response {
    resp(status, "application/json", body)
}

#[test]
fn errors_people_understand() {
    let oauth = Credential {
        token: Secret::new("t"),
        kind: CredentialKind::OAuth {
            subject: Some("viewer".into()),
        },
    };
    let mgmt = Credential {
        token: Secret::new("t"),
        kind: CredentialKind::ManagementToken,
    };
    let check = |r: Response, cred: &Credential, id: Option<&str>, want: &str| {
        let msg = status_error(&r, cred, id.map(management_token)).to_string();
        assert!(msg.contains(want), "got {msg:?}, want {want:?}");
        assert!(!msg.contains("secret-proxy"));
    };
    // (status, JSON body, what the error says): with a person's OAuth session.
    let oauth_cases = [
        (
            401,
            r#"{"code":401,"message":"token expired"}"#,
            "rejected the OAuth session (HTTP 401): token expired",
        ),
        (
            403,
            r#"{"code":403,"message":"user \"viewer\" (claim sub) is not an admin of this cluster"}"#,
            "user \"viewer\" (claim sub) is not an admin",
        ),
        (
            400,
            r#"{"code":400,"message":"description is empty"}"#,
            "description is empty (HTTP 400",
        ),
        (
            500,
            r#"{"code":500,"message":"db locked"}"#,
            "HTTP 500: db locked",
        ),
    ];
    for (status, body, want) in oauth_cases {
        check(json(status, body), &oauth, None, want);
    }
    // With a management token. `code` as a string (one of InfluxData's
    // clients decodes it so), as a number, or alone.
    let mgmt_cases = [
        (
            400,
            r#"{"code":"invalid","message":"bad name"}"#,
            "the cluster rejected the request: bad name (HTTP 400",
        ),
        (
            409,
            r#"{"code":"409","message":"exists"}"#,
            "exists (HTTP 409",
        ),
        (
            400,
            r#"{"code":400}"#,
            "rejected the request: code 400 (HTTP 400",
        ),
        (
            422,
            r#"{"code":"unprocessable","message":""}"#,
            "rejected the request: code unprocessable (HTTP 422",
        ),
        (
            500,
            r#"{"code":500.0,"message":"x\u001b[31m"}"#,
            "HTTP 500: x",
        ),
        (403, r#"{"code":"403"}"#, "code 403 (HTTP 403"),
        (400, r#"{"message":"no code"}"#, "no code (HTTP 400"),
    ];
    for (status, body, want) in mgmt_cases {
        check(json(status, body), &mgmt, None, want);
    }
    // Answers without a JSON body, and an item route's 404.
    check(
        resp(401, "", ""),
        &mgmt,
        None,
        "rejected the management token",
    );
    check(
        resp(403, "", ""),
        &oauth,
        None,
        "user viewer is not an admin of this cluster",
    );
    check(
        json(404, r#"{"code":404,"message":"not found"}"#),
        &oauth,
        Some("abc"),
        "no management token with id `abc`",
    );
    check(
        resp(502, "text/html", "<html>secret-proxy</html>"),
        &oauth,
        None,
        "answered HTTP 502 (text/html, 25 bytes)",
    );
}

#[test]
fn created_token_debug_is_redacted() {
    let c: CreatedToken = serde_json::from_str(
        r#"{"id":"1","description":"d","tokenPrefix":"M.V1.ab","createdAt":"2026-01-01T00:00:00Z","createdBy":"admin","expiresAt":null,"revokedAt":null,"accessToken":"M.V1.abcdefsecret"}"#,
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("abcdefsecret"));
    assert_eq!(c.access_token.expose(), "M.V1.abcdefsecret");
}
