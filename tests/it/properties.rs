//! Property tests (proptest) over the parsers that face untrusted input:
//! configuration files, the provider's JSON answers, timestamps and durations.
//! They run in CI with proptest's default 256 cases per property.

use influx_bootstrap::auth::device::{PollResponse, classify_poll, parse_device_authorization};
use influx_bootstrap::cli::GlobalArgs;
use influx_bootstrap::cluster::expiry::{check_description, parse_expiry};
use influx_bootstrap::env::Env;
use influx_bootstrap::http::Response;
use influx_bootstrap::settings::resolve;
use proptest::prelude::*;
use serde_json::{Value, json};

fn resp(status: u16, body: Vec<u8>) -> Response {
    Response {
        url: "https://idp.example/x".into(),
        status,
        content_type: "application/json".into(),
        retry_after: None,
        location: None,
        body,
    }
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const OAUTH_FIELDS: &[&str] = &[
    "device_code",
    "user_code",
    "verification_uri",
    "verification_url",
    "verification_uri_complete",
    "expires_in",
    "interval",
    "access_token",
    "token_type",
    "refresh_token",
    "id_token",
    "scope",
    "error",
    "error_description",
];

/// Objects that use the real field names with arbitrary values (so type
/// confusion is exercised, not just unknown keys).
fn oauth_like() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(OAUTH_FIELDS), json_value(), 0..10)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

proptest! {
    #[test]
    fn token_answers_never_panic(status in 100u16..600, body in prop_oneof![
        oauth_like().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]) {
        let r = resp(status, body);
        let _ = classify_poll(&r);
        let _ = parse_device_authorization(&r);
    }

    #[test]
    fn unknown_fields_are_ignored(extra in prop::collection::btree_map("x_[a-z]{1,8}", json_value(), 0..5)) {
        let mut dev = json!({
            "device_code": "d", "user_code": "U-C", "verification_uri": "https://idp/d",
            "expires_in": 60, "interval": 5
        });
        let mut tok = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60});
        for (k, v) in &extra {
            dev[k] = v.clone();
            tok[k] = v.clone();
        }
        prop_assert!(parse_device_authorization(&resp(200, dev.to_string().into_bytes())).is_ok());
        prop_assert!(matches!(classify_poll(&resp(200, tok.to_string().into_bytes())), PollResponse::Token(_)));
    }

    #[test]
    fn wrong_types_are_clear_errors(v in json_value().prop_filter("not a string", |v| !v.is_string())) {
        let dev = json!({
            "device_code": "d", "user_code": v, "verification_uri": "https://idp/d", "expires_in": 60
        });
        let err = parse_device_authorization(&resp(200, dev.to_string().into_bytes())).unwrap_err();
        let msg = format!("{err:#}");
        prop_assert!(msg.contains("user_code") || msg.contains("invalid type"), "{}", msg);
        prop_assert!(!msg.contains('\n'));
    }

    #[test]
    fn config_files_never_panic_and_name_unknown_keys(
        text in ".{0,300}",
        key in "[a-z][a-z_]{0,10}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let env = Env::from_pairs([("HOME", "/nonexistent"), ("INFLUX_BOOTSTRAP_CONFIG", path.to_str().unwrap())]);
        std::fs::write(&path, &text).unwrap();
        let _ = resolve(&env, &GlobalArgs::default());

        let known = ["name", "product", "host", "port", "account_id", "cluster_id", "mgmt_token", "tls", "auth"];
        prop_assume!(!known.contains(&key.as_str()));
        std::fs::write(&path, format!("[[profile]]\nname = \"default\"\n{key} = 1\n")).unwrap();
        let err = resolve(&env, &GlobalArgs::default()).unwrap_err().to_string();
        prop_assert!(err.contains(&format!("c.toml:3: unknown key `profile[0].{key}`")), "{}", err);
    }

    #[test]
    fn expiry_parsing_never_panics(at in ".{0,40}", inn in ".{0,20}") {
        let now = chrono::Utc::now();
        let _ = parse_expiry(Some(&at), None, now);
        let _ = parse_expiry(None, Some(&inn), now);
        let _ = check_description(&at);
    }

    #[test]
    fn future_rfc3339_round_trips(secs in 1i64..(200 * 365 * 86_400), offset_min in -840i32..=840) {
        let now = chrono::Utc::now();
        let t = now + chrono::Duration::seconds(secs);
        let tz = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
        let text = t.with_timezone(&tz).to_rfc3339();
        let parsed = parse_expiry(Some(&text), None, now).unwrap().unwrap();
        prop_assert_eq!(parsed, t);
    }

    #[test]
    fn past_times_are_refused(secs in 0i64..(50 * 365 * 86_400)) {
        let now = chrono::Utc::now();
        let t = now - chrono::Duration::seconds(secs);
        prop_assert!(parse_expiry(Some(&t.to_rfc3339()), None, now).is_err());
    }
}
