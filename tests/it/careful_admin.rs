//! What a careful admin trips over, second pass (issue 19 items 12, 14, 16),
//! through the real binary against the reference cluster.
use crate::support::Stack;
use serde_json::json;

/// Item 14: `management create` without an expiry warns as `mint` does.
#[test]
fn management_create_without_an_expiry_warns() {
    let s = Stack::start();
    let out = s
        .env
        .run(["management", "create", "--description", "forever"]);
    out.assert_success();
    assert!(out.stderr.contains("this token never expires"), "{out}");
    let out = s.env.run([
        "management",
        "create",
        "--description",
        "bounded",
        "--expires-in",
        "30d",
    ]);
    out.assert_success();
    assert!(!out.stderr.contains("never expires"), "{out}");
}

/// Item 12: `--format json` escapes C1 controls (an 8-bit CSI in a
/// description someone set through the API).
#[test]
fn json_output_escapes_c1_controls() {
    let s = Stack::start();
    let r = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/__test/management-tokens", s.cluster.url()))
        .json(&json!({"description": "evil\u{9b}31m\u{85}"}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let out = s.env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    assert!(!out.stdout.contains('\u{9b}'), "{out}");
    assert!(!out.stdout.contains('\u{85}'), "{out}");
    assert!(out.stdout.contains("evil\\u009b31m\\u0085"), "{out}");
    let v = out.stdout_json();
    // The same value for a JSON reader.
    crate::support::steps::element(&v, "description", "evil\u{9b}31m\u{85}");
}

/// Item 16: the suggested `rotate` keeps this run's `--config` and
/// `--profile`, and a fresh 90-day token reads "in 90 days".
#[test]
fn the_suggested_rotate_keeps_the_profile_and_the_config() {
    let s = Stack::start();
    let config = s.env.config_path();
    let out = s.env.run([
        "--config",
        config.to_str().unwrap(),
        "--profile",
        "default",
        "mint",
        "--description",
        "scheduled",
        "--expires-in",
        "90d",
        "--store",
        "file:tok",
    ]);
    out.assert_success();
    // (The store is named by its absolute path, so the command works from
    // any directory.)
    let want = format!(
        "influx-bootstrap --config {} --profile default rotate --store file:{}",
        config.display(),
        s.env.home().join("tok").display()
    );
    assert!(out.stderr.contains(&want), "{out}");
    assert!(out.stdout.contains("(in 90 days)"), "{out}");
}
