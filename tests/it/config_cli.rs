//! `config show`, `config path`, configuration errors and `--help`, through
//! the real binary (no network).

use crate::support;

use support::TestEnv;

const PROFILE: &str = r#"
[[profile]]
  name = "default"
  product = "clustered"
  host = "cluster.example.com"
  port = "8443"
  mgmt_token = "mgmt-secret-value-123"
  [profile.auth.oauth2]
    client_id = "cli"
    issuer = "https://idp.example.com"
"#;

#[test]
fn show_records_the_source_of_every_value() {
    let env = TestEnv::new();
    env.write_config(PROFILE);
    let out = env
        .cmd(["--timeout", "9s", "config", "show", "--format", "json"])
        .env("INFLUX_BOOTSTRAP_PORT", "9443")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let get = |k: &str| support::config_row(&v, k);
    assert_eq!(get("port")["value"], "9443");
    assert_eq!(get("port")["source"], "env INFLUX_BOOTSTRAP_PORT");
    assert_eq!(
        get("host")["source"],
        format!("file {}", env.config_path().display())
    );
    assert_eq!(get("timeout")["source"], "flag --timeout");
    assert_eq!(get("product")["value"], "clustered");
    assert_eq!(get("auth.oauth2.scopes")["source"], "default");
    assert_eq!(v["file_kind"], "ours");
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !all.contains("mgmt-secret-value-123"),
        "mgmt_token shown: {all}"
    );

    let table = env.run(["config", "show"]);
    table.assert_success();
    assert!(table.stdout.contains("KEY"), "{}", table.stdout);
    assert!(!table.stdout.contains("mgmt-secret-value-123"));
}

#[test]
fn reads_influxctl_config_when_ours_is_missing() {
    let env = TestEnv::new();
    let ctl = env.xdg_config_home().join("influxctl/config.toml");
    std::fs::create_dir_all(ctl.parent().unwrap()).unwrap();
    std::fs::write(&ctl, PROFILE).unwrap();
    let before = std::fs::read(&ctl).unwrap();
    let out: support::Output = env
        .cmd(["config", "show"])
        .env_remove("INFLUX_BOOTSTRAP_CONFIG")
        .output()
        .unwrap()
        .into();
    out.assert_success();
    let stdout = &out.stdout;
    assert!(stdout.contains("influxctl's config"), "{stdout}");
    assert!(stdout.contains("cluster.example.com"), "{stdout}");
    assert_eq!(std::fs::read(&ctl).unwrap(), before, "never written");

    let out = env
        .cmd(["config", "path", "--format", "json"])
        .env_remove("INFLUX_BOOTSTRAP_CONFIG")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["read_kind"], "influxctl");
    assert_eq!(v["read"], ctl.display().to_string());
    assert_eq!(v["config_file_exists"], false);
}

#[test]
fn config_errors_exit_2_with_one_line_and_a_hint() {
    let cases = [
        (
            "[[profile]]\n  name = \"default\"\n  [profile.auth.oauth2]\n    client_id = \"x\"\n    scope = [\"openid\"]\n",
            vec!["config", "show"],
            ":5: unknown key `profile[0].auth.oauth2.scope`",
        ),
        (
            "[[profile]]\n  name = \"prod\"\n",
            vec!["--profile", "staging", "status"],
            "profile `staging` not found",
        ),
        (
            "[[profile]]\n  name = \"default\"\n",
            vec!["status"],
            "`client_id` is not set",
        ),
        (
            "[[profile]]\n  name = \"default\"\n",
            vec!["--timeout", "forever", "config", "show"],
            "invalid value for timeout",
        ),
    ];
    for (toml, args, want) in cases {
        let env = TestEnv::new();
        env.write_config(toml);
        let out = env.run(args.clone());
        out.assert_code(2);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(want),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            lines.iter().any(|l| l.starts_with("hint: ")),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn help_documents_exit_codes_and_usage_errors_exit_2() {
    let env = TestEnv::new();
    let out = env.run(["--help"]);
    out.assert_success();
    for code in ["130", "denied", "expired", "unreachable"] {
        assert!(
            out.stdout.contains(code),
            "--help lacks {code}: {}",
            out.stdout
        );
    }
    env.run(["login", "--qr", "sometimes"]).assert_code(2);
    env.run(["frobnicate"]).assert_code(2);
}
