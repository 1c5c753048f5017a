//! The first ten minutes (issue 10): the pre-flight probe stops a wrong host,
//! port or TLS setting and a stock cluster before any device code is
//! requested; no config at all says which file is missing and what to run;
//! errors in plain words. Through the real binary, against the real OpenID
//! provider and the reference cluster.

use crate::support;

use std::time::Instant;
use support::cluster::Cluster;
use support::{Idp, Output, ProfileToml, TestEnv};

/// Runs `args` and reports how long it took on stderr of the test (a
/// measurement for the report, never asserted).
fn timed(env: &TestEnv, what: &str, args: &[&str]) -> Output {
    let start = Instant::now();
    let out = env.run(args);
    eprintln!("[measure] {what}: {} ms", start.elapsed().as_millis());
    out
}

/// No device code was asked for, and nothing says "device code".
#[track_caller]
fn no_device_flow(idp: Option<&Idp>, out: &Output) {
    assert!(!out.stderr.to_lowercase().contains("code"), "{out}");
    if let Some(idp) = idp {
        assert_eq!(idp.stat("device_authorization"), 0, "{out}");
    }
}

#[test]
fn refused_connection_stops_before_the_device_flow_with_exit_9() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let port = support::free_port();
    env.write_config(&ProfileToml::new(&idp).port(port).tls_disable(true).build());
    for args in [
        &["management", "list"][..],
        &["database", "list"][..],
        &["mint", "--description", "ci", "--store", "stdout"][..],
    ] {
        let out = timed(&env, "probe, connection refused", args);
        out.assert_code(9);
        let want = format!("nothing is listening at http://127.0.0.1:{port} (connection refused)");
        assert!(out.stderr.contains(&want), "{args:?}\n{out}");
        assert!(
            out.stderr.contains("hint: check `host` and `port`"),
            "{out}"
        );
        // One plain sentence: no library text, no retries.
        assert!(!out.stderr.contains("os error"), "{out}");
        assert!(!out.stderr.contains("retrying"), "{out}");
        no_device_flow(Some(&idp), &out);
    }
}

#[test]
fn plain_http_on_the_https_port_is_named_with_the_setting_to_change() {
    let idp = Idp::start();
    let cluster = Cluster::start(&idp); // plain HTTP
    let env = TestEnv::new();
    // https:// (no `disable`) against a plain-HTTP listener.
    env.write_config(&ProfileToml::new(&idp).port(cluster.port()).build());
    let out = timed(
        &env,
        "probe, plain HTTP on the HTTPS port",
        &["management", "list"],
    );
    out.assert_code(9);
    let want = format!(
        "the server at https://127.0.0.1:{} answers plain HTTP",
        cluster.port()
    );
    assert!(out.stderr.contains(&want), "{out}");
    assert!(
        out.stderr
            .contains("set `[profile.tls] disable = true` (loopback only) or use the HTTPS port"),
        "{out}"
    );
    no_device_flow(Some(&idp), &out);
}

#[test]
fn untrusted_certificate_is_named_with_the_ca_setting() {
    let idp = Idp::start();
    let cluster = Cluster::builder(&idp).tls().start();
    let env = TestEnv::new();
    // The cluster's CA is not given.
    env.write_config(&ProfileToml::new(&idp).port(cluster.port()).build());
    let out = timed(&env, "probe, untrusted certificate", &["token", "list"]);
    out.assert_code(9);
    assert!(out.stderr.contains("TLS certificate"), "{out}");
    assert!(out.stderr.contains("not trusted"), "{out}");
    assert!(out.stderr.contains("ca = "), "{out}");
    no_device_flow(Some(&idp), &out);
}

#[test]
fn a_host_that_does_not_resolve_is_named() {
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::for_issuer("https://idp.example.invalid/", None)
            .host("no-such-cluster.invalid")
            .build(),
    );
    let out = timed(&env, "probe, DNS failure", &["management", "list"]);
    out.assert_code(9);
    assert!(
        out.stderr
            .contains("the host name `no-such-cluster.invalid` does not resolve"),
        "{out}"
    );
    no_device_flow(None, &out);
}

/// A stock cluster (our management-token routes off): a command that needs
/// our API stops at once with exit 2 and names the influxctl backend; the
/// documented API's commands still work.
#[test]
fn stock_cluster_stops_management_commands_but_not_database_commands() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::builder(&idp)
        .configure(|c| c.management_tokens = false)
        .start();
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
    for args in [
        &["management", "list"][..],
        &["management", "create", "--description", "x"][..],
        &["mint", "--description", "ci", "--store", "stdout"][..],
    ] {
        let out = timed(&env, "probe, stock cluster", args);
        out.assert_code(2);
        assert!(out.stderr.contains("stock InfluxDB 3 cluster"), "{out}");
        assert!(
            out.stderr.contains("management_backend = \"influxctl\""),
            "{out}"
        );
        no_device_flow(Some(&idp), &out);
    }
    // The documented API is served: database commands log in and work.
    support::login(&env, &idp, "admin");
    let out = env.run(["database", "list", "--format", "json"]);
    out.assert_success();
    assert!(out.stdout_json().is_array(), "{out}");
}

/// The probe's one request does not disturb a cluster that serves our API.
#[test]
fn our_cluster_passes_the_probe() {
    let s = support::Stack::start();
    let out = s.env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    assert!(out.stdout_json().is_array(), "{out}");
}
