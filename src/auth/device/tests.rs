//! Classification of token and device-authorization answers, including the
//! quirks real providers and proxies produce.
use super::*;

fn resp(status: u16, ct: &str, body: &str) -> Response {
    Response {
        url: "https://idp.example.com/token".into(),
        status,
        content_type: ct.into(),
        retry_after: None,
        location: None,
        body: body.as_bytes().to_vec(),
    }
}

const JSON: &str = "application/json";

/// An OAuth error answer (RFC 6749 §5.2): `{"error": error}` as JSON.
fn oauth_error(status: u16, error: &str) -> Response {
    resp(status, JSON, &format!(r#"{{"error":"{error}"}}"#))
}

#[test]
fn token_endpoint_answers() {
    let cases: Vec<(&str, Response, &str)> = vec![
        (
            "pending",
            oauth_error(400, "authorization_pending"),
            "Pending",
        ),
        ("slow down", oauth_error(400, "slow_down"), "SlowDown"),
        ("denied", oauth_error(400, "access_denied"), "Denied"),
        ("expired", oauth_error(400, "expired_token"), "Expired"),
        (
            "GitHub: error inside HTTP 200",
            resp(
                200,
                JSON,
                r#"{"error":"authorization_pending","error_description":"pending"}"#,
            ),
            "Pending",
        ),
        (
            "JSON labelled text/plain",
            resp(400, "text/plain", r#"{"error":"slow_down"}"#),
            "SlowDown",
        ),
        (
            "other error keeps the description",
            resp(
                400,
                JSON,
                r#"{"error":"invalid_grant","error_description":"code\nreused"}"#,
            ),
            "OAuthError(invalid_grant: code reused)",
        ),
        (
            "503",
            resp(503, "text/html", "<html>busy</html>"),
            "RetryLater(503)",
        ),
        ("429", resp(429, "", ""), "RetryLater(429)"),
        (
            "429 with an OAuth-looking body",
            oauth_error(429, "too_many_requests"),
            "RetryLater(429)",
        ),
        (
            "temporarily_unavailable",
            oauth_error(400, "temporarily_unavailable"),
            "RetryLater(400)",
        ),
        (
            "proxy HTML 502",
            resp(502, "text/html", "<html>Bad Gateway</html>"),
            "Failed",
        ),
        ("200 garbage", resp(200, JSON, "{not json"), "Failed"),
        (
            "200 HTML",
            resp(200, "text/html", "<html>login</html>"),
            "Failed",
        ),
        ("redirect", resp(302, "", ""), "Failed"),
        (
            "success",
            resp(
                200,
                JSON,
                r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r","id_token":"i","scope":"openid x","unknown":1}"#,
            ),
            "Token",
        ),
        (
            "success without refresh token or expiry",
            resp(200, JSON, r#"{"access_token":"a","token_type":"bearer"}"#),
            "Token",
        ),
        (
            "empty access token",
            resp(200, JSON, r#"{"access_token":"","token_type":"bearer"}"#),
            "Failed",
        ),
        (
            "wrong types",
            resp(200, JSON, r#"{"access_token":5,"token_type":"bearer"}"#),
            "Failed",
        ),
    ];
    for (name, r, want) in cases {
        let got = match classify_poll(&r) {
            PollResponse::Token(_) => "Token".to_string(),
            PollResponse::Pending => "Pending".into(),
            PollResponse::SlowDown => "SlowDown".into(),
            PollResponse::Denied => "Denied".into(),
            PollResponse::Expired => "Expired".into(),
            PollResponse::OAuthError { error, description } => {
                format!("OAuthError({error}{description})")
            }
            PollResponse::RetryLater { status, .. } => format!("RetryLater({status})"),
            PollResponse::Unreachable(_) => "Unreachable".into(),
            PollResponse::Failed(e) => {
                let msg = e.to_string();
                assert!(
                    !msg.contains("Bad Gateway") && !msg.contains("login"),
                    "{name}: body leaked: {msg}"
                );
                "Failed".into()
            }
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn token_fields_are_read() {
    let r = resp(
        200,
        JSON,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r","id_token":"i","scope":"openid x"}"#,
    );
    let t = parse_tokens(&r).unwrap();
    assert_eq!(t.access_token.expose(), "a");
    assert_eq!(t.refresh_token.unwrap().expose(), "r");
    assert_eq!(t.id_token.unwrap().expose(), "i");
    assert_eq!(t.expires_in, Some(Duration::from_secs(60)));
    assert_eq!(t.scope.as_deref(), Some("openid x"));
}

#[test]
fn device_authorization_quirks() {
    let cases: Vec<(
        &str,
        Response,
        Result<(&str, &str, Option<&str>, u64), &str>,
    )> = vec![
        (
            "RFC 8628 with everything",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","user_code":"WDJB-MJHT","verification_uri":"https://idp/device","verification_uri_complete":"https://idp/device?user_code=WDJB-MJHT","expires_in":1800,"interval":7}"#,
            ),
            Ok((
                "WDJB-MJHT",
                "https://idp/device",
                Some("https://idp/device?user_code=WDJB-MJHT"),
                7,
            )),
        ),
        (
            "Google: verification_url, no interval",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","user_code":"ABC-DEF","verification_url":"https://www.google.com/device","expires_in":1800}"#,
            ),
            Ok(("ABC-DEF", "https://www.google.com/device", None, 5)),
        ),
        (
            "Entra: no verification_uri_complete, extra message",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","user_code":"F3KX2ZQ9L","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser..."}"#,
            ),
            Ok(("F3KX2ZQ9L", "https://microsoft.com/devicelogin", None, 5)),
        ),
        (
            "null interval means 5",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","user_code":"X","verification_uri":"https://idp/d","expires_in":60,"interval":null}"#,
            ),
            Ok(("X", "https://idp/d", None, 5)),
        ),
        (
            "error inside HTTP 200",
            resp(
                200,
                JSON,
                r#"{"error":"unauthorized_client","error_description":"device flow disabled"}"#,
            ),
            Err("unauthorized_client: device flow disabled"),
        ),
        (
            "error with 400",
            oauth_error(400, "invalid_client"),
            Err("invalid_client"),
        ),
        (
            "proxy HTML",
            resp(502, "text/html", "<html>Bad Gateway</html>"),
            Err("answered HTTP 502 (text/html"),
        ),
        (
            "missing user_code",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","verification_uri":"https://idp/d","expires_in":60}"#,
            ),
            Err("missing field `user_code`"),
        ),
        (
            "empty user_code",
            resp(
                200,
                JSON,
                r#"{"device_code":"d","user_code":" ","verification_uri":"https://idp/d","expires_in":60}"#,
            ),
            Err("empty user_code"),
        ),
    ];
    for (name, r, want) in cases {
        match (parse_device_authorization(&r), want) {
            (Ok(a), Ok((code, uri, complete, interval))) => {
                assert_eq!(a.user_code, code, "{name}");
                assert_eq!(a.verification_uri, uri, "{name}");
                assert_eq!(a.verification_uri_complete.as_deref(), complete, "{name}");
                assert_eq!(a.interval.as_secs(), interval, "{name}");
                assert!(
                    !format!("{a:?}").contains("\"d\""),
                    "{name}: device code in Debug"
                );
            }
            (Err(e), Err(fragment)) => {
                let msg = format!("{e:#}");
                assert!(msg.contains(fragment), "{name}: {msg}");
                assert!(!msg.contains("Bad Gateway"), "{name}: body leaked: {msg}");
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn configuration_errors_exit_2_with_a_hint_naming_the_setting() {
    use crate::error::{Classify, exit};
    // (status, error, setting the hint must name); the last is DOT's 404.
    let cases = [
        (401, "invalid_client", "client_id"),
        (400, "unauthorized_client", "device authorization grant"),
        (400, "unsupported_grant_type", "device authorization grant"),
        (400, "invalid_scope", "scopes"),
        (400, "invalid_request", "client_id"),
        (404, "device_not_found", "device_url"),
    ];
    for (status, error, setting) in cases {
        // From the device authorization endpoint.
        let err = parse_device_authorization(&oauth_error(status, error)).unwrap_err();
        let err = err.downcast_ref::<AuthError>().expect("an AuthError");
        assert_eq!(err.exit_code(), exit::USAGE, "{error}: {err}");
        let hint = err.hint().unwrap_or_default();
        assert!(hint.contains(setting), "{error}: {hint}");
        // From the token endpoint while polling.
        match classify_poll(&oauth_error(status, error)) {
            PollResponse::OAuthError { error: e, .. } => assert_eq!(e, error),
            other => panic!("{error}: {other:?}"),
        }
    }
    // A provider's own trouble stays "the identity provider" (exit 5).
    let err = AuthError::OAuth {
        error: "server_error".into(),
        description: String::new(),
    };
    assert_eq!(err.exit_code(), exit::IDP);
    assert_eq!(err.hint(), None);
}

#[test]
fn refresh_answers() {
    let tokens = r#"{"access_token":"a","token_type":"bearer","expires_in":60,"iat":1}"#;
    let cases: Vec<(&str, Response, Result<&str, &str>)> = vec![
        (
            "tokens (Glewlwyd: lower-case bearer, extra iat)",
            resp(200, JSON, tokens),
            Ok("Refreshed"),
        ),
        (
            "RFC 6749 §5.2",
            oauth_error(400, "invalid_grant"),
            Ok("invalid_grant"),
        ),
        (
            "GitHub: error inside HTTP 200",
            oauth_error(200, "invalid_grant"),
            Ok("invalid_grant"),
        ),
        (
            "Glewlwyd: bare 400",
            resp(400, "", ""),
            Ok("HTTP 400 with an empty body"),
        ),
        (
            "another client error with a body",
            oauth_error(401, "invalid_client"),
            Ok("HTTP 401 invalid_client"),
        ),
        (
            "a client error page",
            resp(403, "text/html", "<html>no</html>"),
            Ok("HTTP 403"),
        ),
        ("overload is not a refusal", resp(429, "", ""), Err("429")),
        ("a timeout is not a refusal", resp(408, "", ""), Err("408")),
        (
            "a server error is not a refusal",
            oauth_error(500, "server_error"),
            Err("server_error"),
        ),
        (
            "a proxy's page",
            resp(502, "text/html", "<html>bad gateway</html>"),
            Err("502"),
        ),
    ];
    for (name, r, want) in cases {
        match (classify_refresh(&r), want) {
            (Ok(RefreshOutcome::Refreshed(_)), Ok("Refreshed")) => {}
            (Ok(RefreshOutcome::Rejected(why)), Ok(w)) => assert_eq!(why, w, "{name}"),
            (Err(e), Err(w)) => assert!(format!("{e:#}").contains(w), "{name}: {e:#}"),
            (got, _) => panic!("{name}: {got:?}, wanted {want:?}"),
        }
    }
}
