use super::*;

const TOKEN: &str = "M.V1.Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6";
const OTHER: &str = "M.V1.b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyb3Ro";
const ID: &str = "0b6ea0a5-3e1e-4c36-a36a-2a8ef0a0c1f3";

#[test]
fn create_output_is_parsed_defensively() {
    // (document, Ok(token) or Err(part of the message))
    let cases: Vec<(String, Result<&str, &str>)> = vec![
        // Flat, with the documented token_prefix beside the token.
        (
            format!(
                r#"{{"id":"{ID}","description":"ci","token_prefix":"M.V1.+5Jk","token":"{TOKEN}","created_at":{{"seconds":1767225600,"nanos":5}}}}"#
            ),
            Ok(TOKEN),
        ),
        // Nested under another key, with a different name for the secret.
        (
            format!(
                r#"{{"token":{{"id":"{ID}","description":"ci","token_prefix":"M.V1.abc"}},"access_token":"{TOKEN}"}}"#
            ),
            Ok(TOKEN),
        ),
        // The same token twice (e.g. `token` and `access_token`) is one candidate.
        (
            format!(r#"{{"id":"{ID}","token":"{TOKEN}","access_token":"{TOKEN}"}}"#),
            Ok(TOKEN),
        ),
        // Only a prefix: no candidate.
        (
            format!(r#"{{"id":"{ID}","token_prefix":"M.V1.+5Jk"}}"#),
            Err("holds no string"),
        ),
        // A short M.V1. string that is not base64url all through.
        (
            format!(r#"{{"id":"{ID}","token":"M.V1.abc+def/ghi+jkl/mno+pqr/stu+vwx/yz01"}}"#),
            Err("holds no string"),
        ),
        // Two different tokens: refuse to guess.
        (
            format!(r#"{{"id":"{ID}","token":"{TOKEN}","old":"{OTHER}"}}"#),
            Err("2 strings"),
        ),
        // No UUID-shaped id.
        (
            format!(r#"{{"id":"42","token":"{TOKEN}"}}"#),
            Err("no UUID"),
        ),
        ("not json".into(), Err("not one JSON document")),
    ];
    for (doc, want) in cases {
        match (parse_created(&doc), want) {
            (Ok(c), Ok(t)) => {
                assert_eq!(c.token.expose(), t, "{doc}");
                assert_eq!(c.id, ID);
                assert!(!is_full_token(&c.meta.token_prefix), "{doc}");
            }
            (Err(e), Err(part)) => {
                assert!(e.contains(part), "{doc}: {e}");
                assert!(!e.contains(TOKEN) && !e.contains(OTHER), "{e}");
            }
            (Ok(_), Err(part)) => panic!("{doc}: parsed, expected an error with {part}"),
            (Err(e), Ok(_)) => panic!("{doc}: {e}"),
        }
    }
}

#[test]
fn create_output_keeps_the_metadata() {
    let doc = format!(
        r#"{{"id":"{ID}","description":"ci bot","token_prefix":"M.V1.+5Jk","token":"{TOKEN}","created_at":{{"seconds":1767225600,"nanos":0}},"expires_at":{{"seconds":1798761600,"nanos":0}}}}"#
    );
    let c = parse_created(&doc).unwrap();
    assert_eq!(c.meta.description, "ci bot");
    assert_eq!(c.meta.token_prefix, "M.V1.+5Jk");
    assert_eq!(
        crate::text::rfc3339(c.meta.created_at),
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(
        c.meta.expires_at.map(crate::text::rfc3339).as_deref(),
        Some("2027-01-01T00:00:00Z")
    );
    assert!(c.meta.revoked_at.is_none());
}

#[test]
fn list_output_shapes() {
    let entry = format!(
        r#"{{"id":"{ID}","description":"a","token_prefix":"M.V1.x","created_at":{{"seconds":1767225600,"nanos":500000000}},"revoked_at":{{"seconds":"1767229200","nanos":0}}}}"#
    );
    // (document, number of tokens, first token revoked?)
    let cases: Vec<(String, usize, bool)> = vec![
        (format!("[{entry}]"), 1, true),
        (format!(r#"{{"tokens":[{entry},{entry}]}}"#), 2, true),
        ("[]".into(), 0, false),
        ("".into(), 0, false),
        ("{}".into(), 0, false),
        (
            format!(r#"[{{"id":"{ID}","description":"b","created_at":"2026-01-01T00:00:00Z"}}]"#),
            1,
            false,
        ),
    ];
    for (doc, n, revoked) in cases {
        let all = parse_list(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(all.len(), n, "{doc}");
        if let Some(t) = all.first() {
            assert_eq!(t.id, ID);
            assert_eq!(t.revoked_at.is_some(), revoked, "{doc}");
            assert!(t.expires_at.is_none(), "absent means never: {doc}");
        }
    }
    // An entry without `created_at` is not dated "now" (which would widen
    // every "created since" filter): it is dated long ago.
    let undated = parse_list(&format!(r#"[{{"id":"{ID}","description":"c"}}]"#)).unwrap();
    assert_eq!(undated[0].created_at, DateTime::<Utc>::UNIX_EPOCH);
    for bad in [
        "42",
        r#"[{"description":"no id"}]"#,
        r#"[{"id":"x","created_at":{"nanos":1}}]"#,
    ] {
        assert!(parse_list(bad).is_err(), "{bad}");
    }
}

#[test]
fn relayed_lines_are_redacted() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let cases = [
        (format!("token: {TOKEN}"), "token: M.V1.[redacted]"),
        (
            "db apiv1_Zm9v+YmFy/YmF6== done".to_string(),
            "db apiv1_[redacted] done",
        ),
        (format!("Bearer {jwt}."), "Bearer eyJ[redacted]"),
        (
            "Visit https://idp.example/device and enter ABCD-EFGH".to_string(),
            "Visit https://idp.example/device and enter ABCD-EFGH",
        ),
        // "eyJ" without the JWT shape is left alone.
        ("keyJar eyJ".to_string(), "keyJar eyJ"),
        (format!("{TOKEN}{TOKEN}"), "M.V1.[redacted]"),
    ];
    for (line, want) in cases {
        assert_eq!(redact(&line), want, "{line}");
    }
}

#[test]
fn the_child_never_sees_token_variables() {
    for (name, scrubbed) in [
        ("INFLUX_BOOTSTRAP_MGMT_TOKEN", true),
        ("INFLUX_BOOTSTRAP_HOST", true),
        ("INFLUX_TOKEN", true),
        ("influxdb3_auth_token", true),
        ("INFLUX_MGMT_TOKEN", true),
        ("HOME", false),
        ("PATH", false),
        ("TOKEN", false),
    ] {
        assert_eq!(is_scrubbed(name), scrubbed, "{name}");
    }
}

#[test]
fn temporary_config_is_private_and_removed() {
    let dir;
    {
        let c = TempConfig::write("[[profile]]\nname = \"x\"\n").unwrap();
        dir = c.dir().to_path_buf();
        assert!(c.path().exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m(&dir), 0o700);
            assert_eq!(m(&c.path()), 0o600);
        }
    }
    assert!(!dir.exists());
}
