//! `doctor` end to end: one line per check against the real OpenID provider
//! and the reference cluster (ours, stock, HTTPS, unreachable), exit 1 when
//! a check fails, never a device flow.

use crate::support;

use reference_cluster::config::DocumentedPaths;
use serde_json::Value;
use support::cluster::Cluster;
use support::stock::{stock, stock_env};
use support::{Idp, Output, ProfileToml, TestEnv};

/// The line of the check called `name` (the mark, then the name).
/// Panics unless the check `name` is marked `mark` and its line holds each
/// of `has`.
#[track_caller]
fn assert_check(out: &Output, mark: char, name: &str, has: &[&str]) {
    let l = line(out, name);
    assert!(l.starts_with(&format!("{mark} {name}")), "{out}");
    for h in has {
        assert!(l.contains(h), "{name} line lacks {h:?}\n{out}");
    }
}

#[track_caller]
fn line<'a>(out: &'a Output, name: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| {
            let rest: String = l.chars().skip(2).collect();
            rest.starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no `{name}` line\n{out}"))
}

#[track_caller]
fn json_check(v: &Value, name: &str) -> Value {
    support::steps::doctor_check(v, name).clone()
}

#[test]
fn healthy_setup_is_all_ticks_and_no_device_flow() {
    let (idp, _cluster, env) = support::Stack::configured(Idp::start()).parts();
    let out = env.run(["doctor"]);
    out.assert_success();
    for name in [
        "config",
        "identity provider",
        "device endpoint",
        "clock",
        "cluster",
        "cache directory",
    ] {
        let l = line(&out, name);
        assert!(l.starts_with('✓') || l.starts_with('!'), "{l}\n{out}");
    }
    assert!(
        line(&out, "cluster").contains("serves influx-bootstrap's"),
        "{out}"
    );
    let flat = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("management-token API; the documented Management API"),
        "{out}"
    );
    assert!(line(&out, "clock").starts_with("✓ clock"), "{out}");
    assert!(
        line(&out, "TLS").starts_with("- TLS"),
        "plain HTTP on loopback\n{out}"
    );
    assert_eq!(idp.stat("device_authorization"), 0, "{out}");
    // Every line fits 80 columns.
    for l in out.stdout.lines() {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
}

#[test]
fn https_cluster_with_its_ca_has_a_trusted_certificate() {
    let idp = Idp::start();
    let cluster = Cluster::builder(&idp).tls().start();
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
    let out = env.run(["doctor", "--format", "json"]);
    out.assert_success();
    let v = out.stdout_json();
    assert_eq!(v["ok"], true, "{out}");
    let tls = json_check(&v, "TLS");
    assert_eq!(tls["status"], "ok", "{v}");
    assert!(
        tls["detail"]
            .as_str()
            .unwrap()
            .contains("certificate trusted"),
        "{v}"
    );
    // Without the CA: the TLS line fails and says why.
    env.write_config(&ProfileToml::new(&idp).port(cluster.port()).build());
    let out = env.run(["doctor", "--format", "json"]);
    out.assert_code(1);
    let v = out.stdout_json();
    assert_eq!(v["ok"], false);
    let tls = json_check(&v, "TLS");
    assert_eq!(tls["status"], "fail", "{v}");
    assert!(
        tls["detail"].as_str().unwrap().contains("not trusted"),
        "{v}"
    );
    assert!(tls["hint"].as_str().unwrap().contains("ca = "), "{v}");
}

#[test]
fn stock_cluster_is_a_warning_naming_the_influxctl_backend() {
    let idp = Idp::start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = stock_env(&idp, &cluster);
    let out = env.run(["doctor"]);
    out.assert_success();
    assert_check(&out, '!', "cluster", &["stock cluster"]);
    out.assert_stdout(&["management_backend = \"influxctl\""]);
}

#[test]
fn with_the_influxctl_backend_a_stock_cluster_is_fine_and_influxctl_is_checked() {
    let idp = Idp::start();
    let cluster = stock(&idp, DocumentedPaths::Both, None);
    let env = stock_env(&idp, &cluster);
    // Not installed: a cross naming where InfluxData documents installing it.
    let mut cmd = env.cmd(["doctor"]);
    cmd.env("INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND", "influxctl")
        .env("INFLUX_BOOTSTRAP_INFLUXCTL", "/nonexistent/influxctl");
    let out = support::Running::spawn(cmd).wait_output();
    out.assert_code(1);
    assert_check(&out, '✓', "cluster", &[]);
    assert_check(&out, '✗', "influxctl", &["/nonexistent/influxctl"]);
    out.assert_stdout(&["download-and-install-influxctl"]);
    // On PATH: a tick with where it is.
    let bin = env.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("influxctl");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut cmd = env.cmd(["doctor"]);
    cmd.env("INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND", "influxctl")
        .env("PATH", path);
    let out = support::Running::spawn(cmd).wait_output();
    out.assert_success();
    assert_check(&out, '✓', "influxctl", &[&fake.display().to_string()]);
}

#[test]
fn failures_are_crosses_with_hints_and_exit_1() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let port = support::free_port();
    env.write_config(
        &ProfileToml::new(&idp)
            .plain_http(port)
            .client_id("x")
            .build(),
    );
    // A session file others can read.
    std::fs::write(env.cache_dir().join("session.json"), "{}").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        env.cache_dir().join("session.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = env.run(["doctor"]);
    out.assert_code(1);
    assert!(line(&out, "config").starts_with('✓'), "{out}");
    assert_check(&out, '✗', "cluster", &[]);
    out.assert_stdout(&[&format!("nothing is listening at http://127.0.0.1:{port}")]);
    assert!(line(&out, "cache directory").starts_with("✗"), "{out}");
    assert!(out.stdout.contains("chmod 600"), "{out}");
    assert!(out.stderr.contains("checks failed"), "{out}");
    assert_eq!(idp.stat("device_authorization"), 0);
}

#[test]
fn no_config_is_the_first_cross() {
    let env = TestEnv::new();
    let mut cmd = env.cmd(["doctor"]);
    cmd.env_remove("INFLUX_BOOTSTRAP_CONFIG");
    let out = support::Running::spawn(cmd).wait_output();
    out.assert_code(1);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("✗ config") && first.contains("no configuration"),
        "{out}"
    );
    assert!(out.stdout.contains("config init"), "{out}");
}
