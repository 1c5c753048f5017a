//! The one printer, through the binary: `--quiet`, a stderr that cannot be
//! written, a stdout whose reader has gone, snake_case JSON.

use crate::support;

use std::process::Stdio;

/// A pipe whose reader is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

/// Runs `args` with stdout a [`closed_pipe`]: its exit code and stderr.
fn with_stdout_closed(env: &support::TestEnv, args: &[&str]) -> (Option<i32>, String) {
    let o = env
        .cmd(args)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

#[test]
fn a_failing_stderr_does_not_stop_mint_storing_the_token() {
    let s = support::Stack::start();
    let path = s.env.home().join("token");
    let o = s
        .env
        .cmd(support::mint_into(
            "stderr is full",
            &format!("file:{}", path.display()),
        ))
        .stdout(Stdio::null())
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let token = std::fs::read_to_string(&path).unwrap();
    let live: Vec<_> = s
        .tokens()
        .into_iter()
        .filter(|t| t["revokedAt"].is_null())
        .collect();
    assert_eq!(live.len(), 1);
    assert!(token.starts_with(live[0]["tokenPrefix"].as_str().unwrap()));
}

#[test]
fn quiet_keeps_data_and_drops_progress() {
    let s = support::Stack::start();
    let path = s.env.home().join("token");
    let store = format!("file:{}", path.display());
    let loud = s.env.run(support::mint_into("a", &store));
    loud.assert_success();
    loud.assert_stderr(&["Created management token", "✓ file:"]);

    // With an expiry: a token that never expires is worth a warning, which
    // -q keeps.
    let quiet = s.env.run([
        "mint",
        "-q",
        "--force",
        "--description",
        "b",
        "--expires-in",
        "90d",
        "--store",
        &store,
        "--format",
        "json",
    ]);
    quiet.assert_success();
    assert_eq!(quiet.stderr, "", "nothing but warnings and errors");
    let summary = quiet.stdout_json();
    assert_eq!(summary["event"], "minted");
    // One casing for every document we print.
    for key in ["token_prefix", "created_at", "expires_at"] {
        assert!(summary.get(key).is_some(), "{key} in {summary}");
    }
}

#[test]
fn a_closed_stdout_ends_a_listing_quietly() {
    let s = support::Stack::start();
    s.env
        .run(support::mint_into("x", "file:t"))
        .assert_success();
    let (code, stderr) = with_stdout_closed(&s.env, &["management", "list", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_closed_stdout_store_revokes_the_token() {
    let s = support::Stack::start();
    let args = support::mint_into("to a closed pipe", "stdout");
    let (code, stderr) = with_stdout_closed(&s.env, &args);
    assert_eq!(code, Some(11), "{stderr}");
    assert!(stderr.contains("revoked"), "{stderr}");
    let tokens = s.tokens();
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0]["revokedAt"].is_string(), "no orphan: {tokens:?}");
}
