//! End to end through the real binary against the real OpenID provider
//! (tests/idp, `oidc-provider`): the device flow, the session cache, refresh,
//! logout, and the ways a login can fail.

use crate::support;

use serde_json::Value;
use std::path::Path;
use support::{DEFAULT_TIMEOUT, Idp, ProfileToml, Running, TestEnv, free_port, start_login};

fn login_as(env: &TestEnv, idp: &Idp, user: &str) -> Value {
    support::login(env, idp, user)
}

fn session_file(env: &TestEnv) -> std::path::PathBuf {
    support::session_file(env)
}

fn cached(env: &TestEnv) -> Value {
    support::cached_session(env)
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn approve_then_reuse_the_cached_session() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    // Let the CLI create the cache directory itself (0700).
    std::fs::remove_dir(env.cache_dir()).unwrap();

    let (mut run, ev) = start_login(&env, &[]);
    // The JSON event has everything a wrapper needs to relay the code.
    for f in [
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_at",
    ] {
        assert!(ev[f].is_string(), "{f} missing in {ev}");
    }
    assert_eq!(ev["interval"], 1);
    let code = ev["user_code"].as_str().unwrap().to_string();
    idp.approve(&code, "admin");
    let done = run.next_stdout_json(DEFAULT_TIMEOUT);
    let out = run.wait_output();
    out.assert_success();
    assert_eq!(done["event"], "authorized");
    assert_eq!(done["subject"], "admin");
    assert_eq!(done["email"], "ada@example.test");
    assert_eq!(done["issuer"], idp.issuer());
    assert_eq!(done["session"], "device_flow");
    assert_eq!(done["refreshable"], true);
    // What the person saw on stderr: the code, big; the URI; the §5.4 warning.
    // The code exactly as issued, inside the box (nothing inserted).
    assert!(
        out.stderr.contains(&format!("║   {code}   ║")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(ev["verification_uri"].as_str().unwrap())
    );
    assert!(
        out.stderr
            .contains("Approve only if the page shows the code")
    );
    // stdout holds only the two JSON events.
    assert_eq!(out.stdout_json_lines().len(), 2, "{}", out.stdout);

    #[cfg(unix)]
    {
        let f = session_file(&env);
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(f.parent().unwrap()), 0o700);
    }

    let status = env.run(["status", "--format", "json"]);
    status.assert_success();
    let s = status.stdout_json();
    assert_eq!(s["subject"], "admin");
    assert_eq!(s["identity_verified"], true, "ID token verified: {s}");
    assert_eq!(s["access_token_valid"], true);
    assert_eq!(s["refreshable"], true);

    // A second login reuses the session: no new device authorization.
    let again = env.run(["login", "--format", "json"]);
    again.assert_success();
    assert_eq!(again.stdout_json()["session"], "cached");
    assert_eq!(idp.stat("device_authorization"), 1);
    assert_eq!(idp.stat("token_refresh"), 0);

    // --force always starts a new flow.
    let (mut run, ev) = start_login(&env, &["--force"]);
    idp.approve(ev["user_code"].as_str().unwrap(), "viewer");
    assert_eq!(run.next_stdout_json(DEFAULT_TIMEOUT)["subject"], "viewer");
    run.wait_output().assert_success();
    assert_eq!(idp.stat("device_authorization"), 2);
}

#[test]
fn denied_exits_3_and_writes_nothing() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    let (run, ev) = start_login(&env, &[]);
    idp.deny(ev["user_code"].as_str().unwrap(), "admin");
    let out = run.wait_output();
    out.assert_code(3);
    assert!(out.stderr.contains("denied"), "{}", out.stderr);
    env.assert_no_session();
}

#[test]
fn expired_code_exits_4() {
    let idp = Idp::builder().interval(1).code_ttl(3).start();
    let env = TestEnv::for_idp(&idp);
    let (run, _) = start_login(&env, &[]);
    let out = run.wait_output();
    out.assert_code(4);
    assert!(out.stderr.contains("expired"), "{}", out.stderr);
    assert!(!out.stderr.contains("unreachable"), "{}", out.stderr);
}

#[test]
fn slow_down_grows_the_interval() {
    // The provider answers the first poll slow_down whenever it comes (a test
    // knob: no race against the clock), then requires 5 s between polls. The
    // client must move from 1 s to 1 + 5 = 6 s: had it kept polling every
    // second, its next poll would be answered slow_down again. (A loaded
    // machine only makes polls later, which the rule allows.)
    let idp = Idp::builder().interval(1).enforce_interval(5).start();
    idp.force_slow_down(1);
    let env = TestEnv::for_idp(&idp);
    let (run, ev) = start_login(&env, &[]);
    support::follow_slow_down(run, &ev, |code| idp.approve(code, "admin"));
    assert_eq!(idp.stat("slow_down"), 1);
    assert!(idp.stat("token_device_code") >= 2);
}

#[test]
fn expired_access_token_is_refreshed_without_a_new_device_flow() {
    // The cached access token is made expired by its recorded expiry, not by
    // waiting: the next command must refresh rather than reuse.
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");
    let status = env.run(["status", "--format", "json"]);
    assert_eq!(status.stdout_json()["access_token_valid"], true, "{status}");
    support::expire_cached_session(&env);
    let before = cached(&env);

    let status = env.run(["status", "--format", "json"]);
    status.assert_success();
    assert_eq!(status.stdout_json()["access_token_valid"], false);
    assert_eq!(status.stdout_json()["refreshable"], true);

    let jwks = idp.stat("jwks");
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["session"], "refreshed");
    assert_eq!(out.stdout_json()["subject"], "admin");
    // The refreshed ID token is checked with keys fetched once, beside the
    // refresh (issue 21).
    assert_eq!(idp.stat("jwks"), jwks + 1);
    let after = cached(&env);
    assert_ne!(before["access_token"], after["access_token"]);
    assert_ne!(
        before["refresh_token"], after["refresh_token"],
        "rotated and saved"
    );
    assert_eq!(idp.stat("device_authorization"), 1);
    assert_eq!(idp.stat("token_refresh"), 1);
}

#[test]
fn concurrent_refreshes_do_not_lose_the_rotated_refresh_token() {
    // Access tokens live 20 s, inside the client's 30 s expiry margin: every
    // command refreshes, however fast or slow the machine is.
    let idp = Idp::builder().interval(1).access_token_ttl(20).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");

    let runs: Vec<Running> = (0..4)
        .map(|_| env.spawn(["login", "--format", "json"]))
        .collect();
    for r in runs {
        let out = r.wait_output();
        out.assert_success();
        assert_eq!(out.stdout_json()["session"], "refreshed", "{out}");
    }
    // Every refresh used the latest refresh token: the grant is intact and
    // a later refresh still works without a device flow.
    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["session"], "refreshed");
    assert_eq!(idp.stat("device_authorization"), 1);
    assert_eq!(idp.stat("token_refresh"), 5);
}

#[test]
fn logout_revokes_and_forgets() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");
    let rt = cached(&env)["refresh_token"].as_str().unwrap().to_string();

    let out = env.run(["logout"]);
    out.assert_success();
    // oidc-provider's access tokens are JWTs the cluster checks on its own:
    // said plainly, with the time it stops working (not "revocation failed").
    assert!(
        out.stderr.contains("refresh token revoked; the access token is a JWT the cluster checks on its own: it cannot be revoked and expires at "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(" UTC"), "{}", out.stderr);
    assert!(out.stderr.contains("for cluster "), "{}", out.stderr);
    assert!(!out.stderr.contains("failed"), "{}", out.stderr);
    assert_eq!(idp.stat("revocation"), 2, "refresh and access token");
    env.run(["status"]).assert_code(6);

    // The refresh token is dead at the provider.
    let resp: Value = idp
        .http()
        .post(idp.discovery()["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "influx-bootstrap"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(resp["error"], "invalid_grant", "{resp}");

    // Nothing left to do: still success.
    env.run(["logout"]).assert_success();
}

#[test]
fn logout_all_covers_every_profile() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::new();
    let a = ProfileToml::new(&idp).name("default").build();
    let b = ProfileToml::new(&idp)
        .name("two")
        .client_id("influx-bootstrap-2")
        .build();
    env.write_config(&format!("{a}\n{b}"));
    login_as(&env, &idp, "admin");
    let (mut run, ev) = {
        let mut r = env.spawn([
            "--profile",
            "two",
            "login",
            "--format",
            "json",
            "--browser",
            "never",
        ]);
        let ev = r.next_stdout_json(DEFAULT_TIMEOUT);
        (r, ev)
    };
    idp.approve(ev["user_code"].as_str().unwrap(), "viewer");
    run.next_stdout_json(DEFAULT_TIMEOUT);
    run.wait_output().assert_success();

    env.run(["logout", "--all"]).assert_success();
    env.run(["status"]).assert_code(6);
    env.run(["--profile", "two", "status"]).assert_code(6);
    assert_eq!(idp.stat("revocation"), 4);
}

#[test]
fn sessions_are_isolated_between_profiles() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::new();
    let a = ProfileToml::new(&idp).name("default").build();
    // Same IdP and client, another cluster: must not share the session.
    let b = ProfileToml::new(&idp)
        .name("other-cluster")
        .host("127.0.0.2")
        .build();
    // Same cluster, another client.
    let c = ProfileToml::new(&idp)
        .name("other-client")
        .client_id("influx-bootstrap-2")
        .build();
    env.write_config(&format!("{a}\n{b}\n{c}"));
    login_as(&env, &idp, "admin");
    env.run(["status"]).assert_success();
    for p in ["other-cluster", "other-client"] {
        let out = env.run(["--profile", p, "status"]);
        out.assert_code(6);
        assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
    }
}

#[cfg(unix)]
#[test]
fn world_readable_cache_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");
    let f = session_file(&env);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    for cmd in [vec!["status"], vec!["login", "--format", "json"]] {
        let out = env.run(cmd);
        out.assert_code(7);
        assert!(
            out.stderr.contains("readable by other users"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    }
    // Unchanged: we neither used nor "fixed" it.
    assert_eq!(mode(&f), 0o644);
}

#[test]
fn corrupt_cache_is_discarded_with_a_warning() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");
    let f = session_file(&env);
    let text = std::fs::read(&f).unwrap();
    std::fs::write(&f, &text[..text.len() / 2]).unwrap();
    let out = env.run(["status"]);
    out.assert_code(6);
    assert!(out.stderr.contains("corrupt"), "{}", out.stderr);
}

#[test]
fn idp_down_exits_5_naming_the_url() {
    let env = TestEnv::new();
    let issuer = format!("http://127.0.0.1:{}", free_port());
    env.write_config(&ProfileToml::for_issuer(&issuer, None).build());
    let out = env.run(["login", "--browser", "never"]);
    out.assert_code(5);
    assert!(out.stderr.contains(&issuer), "{}", out.stderr);
    assert_eq!(
        out.stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_writes_nothing() {
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    let (run, _) = start_login(&env, &[]);
    run.signal("INT");
    let out = run.wait_output();
    out.assert_code(130);
    env.assert_no_session();
}

#[test]
fn no_token_bytes_on_stderr_at_debug_level() {
    // Access tokens live 20 s, inside the client's 30 s expiry margin, so the
    // second login refreshes.
    let idp = Idp::builder().interval(1).access_token_ttl(20).start();
    let env = TestEnv::for_idp(&idp);
    let mut stderr = String::new();

    let (mut run, ev) = start_login(&env, &["-vv"]);
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    run.next_stdout_json(DEFAULT_TIMEOUT);
    let out = run.wait_output();
    out.assert_success();
    stderr.push_str(&out.stderr);
    let first = cached(&env);

    let out = env.run(["-vv", "login", "--format", "json"]); // refresh
    out.assert_success();
    stderr.push_str(&out.stderr);
    let second = cached(&env);
    for cmd in [
        vec!["-vv", "status"],
        vec!["-vv", "config", "show"],
        vec!["-vv", "logout"],
    ] {
        let out = env.run(cmd);
        out.assert_success();
        stderr.push_str(&out.stderr);
    }
    assert!(
        stderr.contains("HTTP response"),
        "debug logging was on: {stderr}"
    );
    for s in [&first, &second] {
        for field in ["access_token", "refresh_token", "id_token"] {
            let tok = s[field].as_str().unwrap();
            assert!(tok.len() > 20);
            // Any 16-byte window of a token would be a leak.
            for i in (0..tok.len() - 16).step_by(8) {
                assert!(
                    !stderr.contains(&tok[i..i + 16]),
                    "{field} leaked on stderr"
                );
            }
        }
    }
}

#[test]
fn a_refreshed_id_token_that_fails_verification_keeps_the_new_tokens() {
    // The provider's keys cannot be fetched at refresh (the saved JWKS URL
    // answers 404): the ID token is not trusted, but the rotated tokens are
    // saved (the old refresh token is spent) and the earlier identity stays.
    let idp = Idp::builder().interval(1).start();
    let env = TestEnv::for_idp(&idp);
    login_as(&env, &idp, "admin");
    support::expire_cached_session(&env);
    let mut s = cached(&env);
    let before = s["refresh_token"].clone();
    s["jwks_uri"] = idp.url("/no-such-jwks").into();
    std::fs::write(session_file(&env), serde_json::to_vec(&s).unwrap()).unwrap();

    let out = env.run(["login", "--format", "json"]);
    out.assert_success();
    assert_eq!(out.stdout_json()["session"], "refreshed", "{out}");
    assert_eq!(out.stdout_json()["subject"], "admin");
    assert!(out.stderr.contains("was not accepted"), "{}", out.stderr);
    assert_ne!(cached(&env)["refresh_token"], before, "rotated and saved");
    assert_eq!(idp.stat("token_refresh"), 1);
}
