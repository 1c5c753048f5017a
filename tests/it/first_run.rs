//! The first ten minutes (issue 10): the pre-flight probe stops a wrong host,
//! port or TLS setting and a stock cluster before any device code is
//! requested; no config at all says which file is missing and what to run;
//! errors in plain words. Through the real binary, against the real OpenID
//! provider and the reference cluster.

use crate::support;

use std::time::Instant;
use support::cluster::Cluster;
use support::pty::{Pty, pty_command};
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
    env.write_config(&ProfileToml::new(&idp).plain_http(port).build());
    for args in [
        &["management", "list"][..],
        &["database", "list"][..],
        &support::mint_into("ci", "stdout")[..],
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
        out.assert_stderr_lacks(&["os error", "retrying"]);
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
    out.assert_stderr(&[
        &want,
        "set `[profile.tls] disable = true` (loopback only) or use the HTTPS port",
    ]);
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
    out.assert_fails(9, &["TLS certificate", "not trusted", "ca = "]);
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
    out.assert_fails(
        9,
        &["the host name `no-such-cluster.invalid` does not resolve"],
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
        &support::mint_into("ci", "stdout")[..],
    ] {
        let out = timed(&env, "probe, stock cluster", args);
        out.assert_fails(
            2,
            &[
                "stock InfluxDB 3 cluster",
                "management_backend = \"influxctl\"",
            ],
        );
        no_device_flow(Some(&idp), &out);
    }
    // The documented API is served: database commands log in and work.
    support::login(&env, &idp, "admin");
    let out = env.run(["database", "list", "--format", "json"]);
    out.assert_success();
    assert!(out.stdout_json().is_array(), "{out}");
}

/// Logged in (a cached session: no person needed), `management list` sends
/// its read first and it stands in for the probe (issue 21): on our cluster
/// it is the one request. Where the probe would have stopped the run, the
/// read's answer sends it to the probe, whose words and exit code end it,
/// still before any device code.
#[test]
fn a_list_with_a_session_is_one_request_and_still_stops_where_the_probe_would() {
    let s = support::Stack::start();
    let before = s.cluster.served();
    let out = s.env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    assert!(out.stdout_json().is_array(), "{out}");
    assert_eq!(s.cluster.served() - before, 1, "{out}");
    assert_eq!(s.cluster.requests("GET /api/v0/management/tokens"), 1);

    let (idp, cluster, env) = s.parts();
    let stock = Cluster::builder(&idp)
        .configure(|c| c.management_tokens = false)
        .start();
    env.write_config(&ProfileToml::new(&idp).cluster(&stock).build());
    // A session is per cluster: the profile's management token here.
    let mut cmd = env.cmd(["management", "list"]);
    cmd.env("INFLUX_BOOTSTRAP_MGMT_TOKEN", "M.V1.not-theirs");
    let out = support::Running::spawn(cmd).wait_output();
    out.assert_fails(2, &["stock InfluxDB 3 cluster"]);
    // The read (404), then the probe's own request to our route.
    assert_eq!(stock.requests("GET (no route)"), 2, "{}", stock.stats());
    let port = cluster.port();
    env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
    drop(cluster);
    let out = env.run(["management", "list"]);
    out.assert_fails(
        9,
        &[&format!("nothing is listening at http://127.0.0.1:{port}")],
    );
    out.assert_stderr_lacks(&["retrying"]);
    no_device_flow(None, &out);
    assert_eq!(idp.stat("device_authorization"), 1, "the login's only");
}

// --- no config at all, errors in plain words ---------------------------------

/// A command line without `INFLUX_BOOTSTRAP_CONFIG`: the default path in the
/// test's XDG config home, which does not exist.
fn bare(env: &TestEnv, args: &[&str]) -> Output {
    let mut cmd = env.cmd(args);
    cmd.env_remove("INFLUX_BOOTSTRAP_CONFIG");
    support::Running::spawn(cmd).wait_output()
}

#[test]
fn no_config_at_all_gives_the_same_first_message_for_every_command() {
    let env = TestEnv::new();
    let ours = env.xdg_config_home().join("influx-bootstrap/config.toml");
    let theirs = env.xdg_config_home().join("influxctl/config.toml");
    let want = format!(
        "error: no configuration: {} does not exist, and influxctl's {} was not found either",
        ours.display(),
        theirs.display()
    );
    for args in [
        &["login"][..],
        &["status"][..],
        &["logout"][..],
        &["management", "list"][..],
        &["database", "list"][..],
        &["token", "list"][..],
        &support::mint_into("ci", "stdout")[..],
        &["rotate", "--store", "file:/nonexistent"][..],
    ] {
        let out = bare(&env, args);
        out.assert_code(2);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(want.as_str()),
            "{args:?}\n{out}"
        );
        assert!(
            lines
                .get(1)
                .is_some_and(|l| l.contains("influx-bootstrap config init")),
            "{args:?}\n{out}"
        );
        assert!(!out.stderr.contains("is not set"), "{out}");
    }
    // `config path` still works and shows what is missing.
    bare(&env, &["config", "path"]).assert_success();
}

#[test]
fn a_named_config_file_that_is_missing_is_one_plain_sentence() {
    let env = TestEnv::new(); // INFLUX_BOOTSTRAP_CONFIG names a missing file
    let out = env.run(["status"]);
    out.assert_code(2);
    let want = format!(
        "error: the config file {} (from env INFLUX_BOOTSTRAP_CONFIG) does not exist",
        env.config_path().display()
    );
    assert!(out.stderr.starts_with(&want), "{out}");
    out.assert_stderr_lacks(&["no such file"])
        .assert_stderr(&["config init --config"]);
}

#[test]
fn config_mistakes_in_plain_words() {
    // (file, args, first line must contain, hint must contain, must not contain)
    let cases: Vec<(&str, Vec<&str>, &str, &str, &str)> = vec![
        (
            "[profile]\nname = \"default\"\nhost = \"h\"\n",
            vec!["status"],
            "write `[[profile]]` (two brackets), not `[profile]`",
            "",
            "invalid type",
        ),
        (
            "[[profile]]\nname = \"default\"\nhots = \"h\"\n",
            vec!["config", "show"],
            "unknown key `profile[0].hots`",
            "hint: did you mean `host`?",
            "",
        ),
        (
            "[[profile]]\nname = \"default\"\nhost = \"h\"\n[profile.auth.oauth2]\nscope = [\"openid\"]\n",
            vec!["status"],
            "unknown key `profile[0].auth.oauth2.scope`",
            "hint: did you mean `scopes`?",
            "",
        ),
        (
            "[[profile]]\nname = \"default\"\nhost = \"h\"\n",
            vec!["--timeout", "90", "status"],
            "`90` has no unit",
            "did you mean `90d`",
            "supported units",
        ),
        (
            "[[profile]]\nname = \"default\"\nhost = \"h\"\n",
            vec![
                "management",
                "create",
                "--description",
                "x",
                "--expires-in",
                "90dys",
            ],
            "`dys` is not a unit of time",
            "did you mean `days`?",
            "supported units",
        ),
        (
            "[[profile]]\nname = \"default\"\nhost = \"h\"\n",
            vec![
                "management",
                "create",
                "--description",
                "x",
                "--expires-at",
                "2027-01-01",
            ],
            "`2027-01-01` is a date without a time and zone",
            "2027-01-01T00:00:00Z for midnight UTC",
            "premature end",
        ),
    ];
    for (toml, args, first, hint, never) in cases {
        let env = TestEnv::new();
        env.write_config(toml);
        let out = env.run(&args);
        out.assert_code(2);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(first),
            "{args:?}\n{out}"
        );
        assert!(out.stderr.contains(hint), "{args:?}\n{out}");
        if !never.is_empty() {
            assert!(!out.stderr.contains(never), "{args:?}\n{out}");
        }
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "one error line\n{out}"
        );
    }
}

// --- config init ---------------------------------------------------------------

#[test]
fn config_init_scripted_writes_0600_checks_discovery_and_says_what_next() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let mut args = support::steps::config_init_args(&idp);
    args.extend(["--host", "influxdb.example.com"]);
    let out = env.run(&args);
    out.assert_success();
    let path = env.config_path();
    out.assert_stderr(&[
        &format!("wrote profile `default` to {}", path.display()),
        "✓ the identity provider answered discovery; device endpoint",
        "Next: influx-bootstrap login",
    ]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // What was written is what is read.
    let show = env.run(["config", "show", "--format", "json"]);
    show.assert_success();
    let v = show.stdout_json();
    let value = |k: &str| support::config_row(&v, k)["value"].clone();
    assert_eq!(value("host"), "influxdb.example.com");
    assert_eq!(value("port"), "443");
    assert_eq!(
        value("auth.oauth2.issuer")
            .as_str()
            .unwrap()
            .trim_end_matches('/'),
        idp.issuer().trim_end_matches('/')
    );
    assert_eq!(
        value("auth.oauth2.scopes"),
        "openid profile email offline_access"
    );
    assert_eq!(
        value("auth.oauth2.parameters"),
        format!("resource={}", idp.audience()).as_str()
    );
    // And a login works with it.
    support::login(&env, &idp, "admin");
}

#[test]
fn config_init_refuses_to_overwrite_and_keeps_other_profiles_with_force() {
    let env = TestEnv::new();
    env.write_config("# our clusters\n[[profile]]\nname = \"default\" # keep me\nhost = \"old\"\n\n[[profile]]\nname = \"prod\"\nhost = \"prod.example.com\"\n");
    let init = |force: bool| {
        let mut args = vec![
            "--profile",
            "prod",
            "config",
            "init",
            "--no-check",
            "--host",
            "new.example.com",
            "--issuer",
            "https://kc.example.com/realms/x",
            "--client-id",
            "cli",
            "--preset",
            "keycloak",
        ];
        if force {
            args.push("--force");
        }
        env.run(&args)
    };
    let out = init(false);
    out.assert_fails(2, &["profile `prod` already exists", "--force"]);
    assert!(
        std::fs::read_to_string(env.config_path())
            .unwrap()
            .contains("prod.example.com")
    );
    let out = init(true);
    out.assert_success();
    assert!(
        out.stderr
            .contains("Next: influx-bootstrap --profile prod login"),
        "{out}"
    );
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        text.starts_with(
            "# our clusters\n[[profile]]\nname = \"default\" # keep me\nhost = \"old\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("host = \"new.example.com\""), "{text}");
    assert!(!text.contains("prod.example.com"), "{text}");
}

#[test]
fn config_init_without_a_terminal_lists_the_missing_flags() {
    let env = TestEnv::new();
    let out = env.run(["config", "init", "--preset", "auth0", "--host", "h"]);
    out.assert_fails(2, &["missing --issuer, --client-id, --audience"]);
    assert!(!env.config_path().exists());
}

#[test]
fn config_init_asks_on_a_terminal() {
    let env = TestEnv::new();
    // A pseudo-terminal (util-linux `script`), answers typed on it; no
    // TERM, as in a bare environment.
    let no_term = [("TERM", None)];
    let mut pty = Pty::spawn(pty_command(
        &env,
        80,
        24,
        "config init --no-check",
        &no_term,
    ));
    let answers = "okta\n\ndb.example.com\n8443\nhttps://example.okta.com/oauth2/default\n0oa123\n";
    pty.type_in(answers);
    let out = pty.wait();
    assert_eq!(out.code, Some(0), "{out}");
    for q in [
        "Identity provider",
        "Product (clustered, dedicated) [clustered]",
        "Cluster host",
        "Issuer URL (e.g. https://example.okta.com/oauth2/default)",
        "OAuth client id",
    ] {
        assert!(out.stdout.contains(q), "{q}\n{out}");
    }
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    for want in [
        "host = \"db.example.com\"",
        "port = \"8443\"",
        "client_id = \"0oa123\"",
        "issuer = \"https://example.okta.com/oauth2/default\"",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
}

// --- completions, man, --version ------------------------------------------------

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let env = TestEnv::new();
    // (shell, a line every script of that shell has)
    let cases = [
        ("bash", "complete -F _influx__bootstrap"),
        ("zsh", "#compdef influx-bootstrap"),
        ("fish", "complete -c influx-bootstrap"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, want) in cases {
        let out = env.run(["completions", shell]);
        out.assert_success();
        assert!(
            out.stdout.contains(want),
            "{shell}\n{}",
            &out.stdout[..out.stdout.len().min(400)]
        );
        assert!(
            out.stdout.contains("doctor"),
            "{shell}: the new verbs are completed"
        );
        assert!(out.stderr.is_empty(), "{out}");
    }
    let out = env.run(["man"]);
    out.assert_success();
    assert!(out.stdout.contains(".TH influx-bootstrap 1"), "{out}");
    assert!(out.stdout.contains("doctor"), "{out}");
    // `completions bash | head -1`: a closed pipe ends quietly with exit 0.
    let mut cmd = env.cmd(["completions", "bash"]);
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn version_names_the_git_commit() {
    let env = TestEnv::new();
    let out = env.run(["--version"]);
    out.assert_success();
    let head = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let version = env!("CARGO_PKG_VERSION");
    match head {
        // Built from a git checkout: the commit is named.
        Some(h) => assert_eq!(
            out.stdout.trim(),
            format!("influx-bootstrap {version} (commit {h})")
        ),
        // From a tarball: the version alone.
        None => assert_eq!(out.stdout.trim(), format!("influx-bootstrap {version}")),
    }
}

// --- output that reads well ----------------------------------------------------

#[test]
fn mint_shows_the_expiry_relative_and_the_rotate_command_to_schedule() {
    let s = support::Stack::start();
    let file = s.env.home().join("secrets/token");
    let spec = format!("file:{}", file.display());
    let out = s.env.run([
        "mint",
        "--description",
        "ci",
        "--expires-in",
        "90d",
        "--store",
        &spec,
    ]);
    out.assert_success();
    assert!(out.stdout.contains("(in 90 days)"), "{out}");
    let want = format!("Next: schedule `influx-bootstrap rotate --store {spec}`");
    out.assert_stderr(&[&want, "a week before the token expires"])
        .assert_stderr_lacks(&["never expires"]);
    // Without an expiry: a warning, and no rotate schedule.
    let out = s
        .env
        .run(["mint", "--description", "ci2", "--store", &spec, "--force"]);
    out.assert_success();
    out.assert_stderr(&["warning: this token never expires"])
        .assert_stderr_lacks(&["Next: schedule"]);
}

#[test]
fn the_if_missing_trap_is_refused_up_front() {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer("https://idp.example.invalid/", None).build());
    let out = env.run([
        "mint",
        "--description",
        "ci",
        "--if-missing",
        "--expires-in",
        "3d",
        "--store",
        "file:/nonexistent/t",
    ]);
    out.assert_fails(
        2,
        &[
            "would live 3days but --min-remaining is 7days",
            "make --expires-in longer than --min-remaining",
        ],
    );
}

#[test]
fn a_config_file_others_can_read_holding_mgmt_token_is_a_warning() {
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::for_issuer("https://idp.example.invalid/", None)
            .mgmt_token(Some("not-a-real-token"))
            .build(),
    );
    use std::os::unix::fs::PermissionsExt;
    let path = env.config_path();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(["config", "show"]);
    out.assert_success();
    let want = format!(
        "warning: {} holds `mgmt_token` and is readable by other users (mode 644)",
        path.display()
    );
    assert!(out.stderr.contains(&want), "{out}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run(["config", "show"]);
    assert!(!out.stderr.contains("readable by other users"), "{out}");
}
