use super::schema::parse_file;
use super::*;
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    p
}

fn flags(config: Option<&Path>) -> GlobalArgs {
    GlobalArgs {
        config: config.map(Path::to_path_buf),
        ..Default::default()
    }
}

const BASIC: &str = r#"
[[profile]]
name = "default"
product = "clustered"
host = "cluster.example.com"
port = "8443"

  [profile.auth.oauth2]
  client_id = "abc"
  scopes = [""]
  parameters = { audience = "https://api.example.com" }
  issuer = "https://idp.example.com/realms/influx"

[[profile]]
name = "prod"
product = "dedicated"
host = "prod.example.com"
port = 443
account_id = "acc"
cluster_id = "clu"
"#;

#[test]
fn layering_records_sources() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", BASIC);
    let cfg_s = cfg.to_str().unwrap();
    let home = dir.path().to_str().unwrap();

    // (env, --timeout flag, check)
    type Check = fn(&Config);
    let cases: Vec<(Vec<(&str, &str)>, Option<&str>, Check)> = vec![
        (vec![], None, |c| {
            assert_eq!(c.profile.port.value, 8443);
            assert!(matches!(c.profile.port.source, Source::File(_)));
            assert_eq!(c.profile.oauth2.client_id.as_ref().unwrap().value, "abc");
            // influxctl's `scopes = [""]` means "unset": defaults apply.
            assert_eq!(c.profile.oauth2.scopes.source, Source::Default);
            assert_eq!(c.profile.audience(), Some("https://api.example.com"));
            assert_eq!(c.timeout.value, DEFAULT_TIMEOUT);
            assert_eq!(c.files.kind, FileKind::Ours);
        }),
        (vec![("INFLUX_BOOTSTRAP_PORT", "9000")], None, |c| {
            assert_eq!(c.profile.port.value, 9000);
            assert_eq!(c.profile.port.source, Source::Env("INFLUX_BOOTSTRAP_PORT"));
        }),
        (vec![("INFLUX_BOOTSTRAP_TIMEOUT", "5s")], Some("7s"), |c| {
            assert_eq!(c.timeout.value, Duration::from_secs(7));
            assert_eq!(c.timeout.source, Source::Flag("--timeout"));
        }),
        (vec![("INFLUX_BOOTSTRAP_PROFILE", "prod")], None, |c| {
            assert_eq!(c.profile.name.value, "prod");
            assert_eq!(c.profile.product.value, Product::Dedicated);
            assert_eq!(c.profile.port.value, 443);
            assert_eq!(c.profile.oauth2.scopes.source, Source::Default);
        }),
        (
            vec![("INFLUX_BOOTSTRAP_SCOPES", "openid, api://x/.default")],
            None,
            |c| {
                assert_eq!(
                    c.profile.oauth2.scopes.value,
                    vec!["openid", "api://x/.default"]
                );
            },
        ),
        (vec![], None, |c| {
            assert!(c.profile.oauth2.revocation_url.is_none())
        }),
        (
            vec![(
                "INFLUX_BOOTSTRAP_REVOCATION_URL",
                "https://idp.example.com/o/revoke_token/",
            )],
            None,
            |c| {
                let r = c.profile.oauth2.revocation_url.as_ref().unwrap();
                assert_eq!(r.value.as_str(), "https://idp.example.com/o/revoke_token/");
                assert_eq!(r.source, Source::Env("INFLUX_BOOTSTRAP_REVOCATION_URL"));
            },
        ),
        (vec![("INFLUX_BOOTSTRAP_MGMT_TOKEN", "s3cret")], None, |c| {
            let t = c.profile.mgmt_token.as_ref().unwrap();
            assert_eq!(t.value.expose(), "s3cret");
            assert!(!format!("{c:?}").contains("s3cret"));
        }),
        (vec![], None, |c| {
            assert_eq!(c.management_backend(), ManagementBackend::Api);
            assert_eq!(c.profile.management_backend.source, Source::Default);
            assert_eq!(c.profile.influxctl.value, PathBuf::from("influxctl"));
            assert_eq!(c.profile.influxctl.source, Source::Default);
        }),
        (
            vec![
                ("INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND", "InfluxCtl"),
                ("INFLUX_BOOTSTRAP_INFLUXCTL", "/opt/bin/influxctl"),
            ],
            None,
            |c| {
                assert!(c.uses_influxctl());
                assert_eq!(
                    c.profile.management_backend.source,
                    Source::Env("INFLUX_BOOTSTRAP_MANAGEMENT_BACKEND")
                );
                assert_eq!(
                    c.profile.influxctl.value,
                    PathBuf::from("/opt/bin/influxctl")
                );
                assert_eq!(
                    c.profile.influxctl.source,
                    Source::Env("INFLUX_BOOTSTRAP_INFLUXCTL")
                );
            },
        ),
    ];
    for (mut env, timeout, check) in cases {
        env.push(("INFLUX_BOOTSTRAP_CONFIG", cfg_s));
        env.push(("HOME", home));
        let env = Env::from_pairs(env);
        let mut f = flags(None);
        f.timeout = timeout.map(str::to_string);
        let c = resolve(&env, &f).unwrap();
        check(&c);
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<(&str, &str)>, &str)> = vec![
        (
            "[[profile]]\nname = \"default\"\nhost = \"h\"\nbogus = 1\n",
            vec![],
            "c.toml:4: unknown key `profile[0].bogus`",
        ),
        (
            "[[profile]]\nname = \"default\"\n\n[profile.auth.oauth2]\nclient_id = \"x\"\nscope = [\"a\"]\n",
            vec![],
            "c.toml:6: unknown key `profile[0].auth.oauth2.scope`",
        ),
        (
            "[[profile]]\nname = \"default\"\n\n[profile.auth.oauth2]\nrevocation_url = \"not a url\"\n",
            vec![],
            "revocation_url",
        ),
        (
            "[[profile]]\nname = \"default\"\nport = \"http\"\n",
            vec![],
            "`http` is not a TCP port",
        ),
        (
            "[[profile]]\nname = \"default\"\nport = true\n",
            vec![],
            "c.toml:3:",
        ),
        ("[[profile]\n", vec![], "c.toml:1:"),
        // Found by `cargo fuzz run config`: a quoted key with an escaped
        // newline made a two-line error.
        ("[ \"\\n\"]", vec![], "c.toml:1:"),
        (
            "[[profile]]\nname = \"default\"\n\"evil\\nkey\" = 1\n",
            vec![],
            "unknown key `profile[0].evil key`",
        ),
        (
            "[[profile]]\nname = \"default\"\nproduct = \"serverless\"\n",
            vec![],
            "`serverless` is not a product",
        ),
        (
            "[[profile]]\nname = \"default\"\nmanagement_backend = \"grpc\"\n",
            vec![],
            "`grpc` is not a management backend",
        ),
        (
            "[[profile]]\nname = \"other\"\n",
            vec![],
            "profile `default` not found",
        ),
        (
            "[[profile]]\nname = \"default\"\n",
            vec![("INFLUX_BOOTSTRAP_TIMEOUT", "soon")],
            "invalid value for timeout (from env INFLUX_BOOTSTRAP_TIMEOUT)",
        ),
        (
            "[[profile]]\nname = \"default\"\n[profile.auth.oauth2]\nissuer = \"idp.example.com\"\n",
            vec![],
            "is not a URL",
        ),
        (
            "[[profile]]\nname = \"default\"\n",
            vec![("INFLUX_BOOTSTRAP_TLS_DISABLE", "maybe")],
            "is not a boolean",
        ),
    ];
    for (text, env, want) in cases {
        let cfg = write(dir.path(), "c.toml", text);
        let mut env = env;
        let s = cfg.to_str().unwrap().to_string();
        env.push(("INFLUX_BOOTSTRAP_CONFIG", &s));
        env.push(("HOME", "/nonexistent"));
        let err = resolve(&Env::from_pairs(env), &flags(None)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(want),
            "for {text:?}: got {msg:?}, want {want:?}"
        );
        assert!(!msg.contains('\n'), "one line: {msg:?}");
    }
}

#[test]
fn falls_back_to_influxctl_config_without_writing_it() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    let p = write(
        &xdg,
        "influxctl/config.toml",
        "[[profile]]\n  name = \"default\"\n  product = \"clustered\"\n  host = \"h\"\n  port = \"443\"\n  new_influxctl_key = 1\n",
    );
    let env = Env::from_pairs([
        ("HOME", dir.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
    ]);
    let c = resolve(&env, &flags(None)).unwrap();
    assert_eq!(c.files.kind, FileKind::Influxctl);
    assert_eq!(c.files.read.as_deref(), Some(p.as_path()));
    assert_eq!(c.files.ours.value, xdg.join("influx-bootstrap/config.toml"));
    assert!(
        c.notes.iter().any(|n| n.contains("influxctl")),
        "{:?}",
        c.notes
    );
    assert_eq!(c.profile.host.unwrap().value, "h");
}

#[test]
fn no_file_at_all_uses_env_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([
        ("HOME", dir.path().to_str().unwrap()),
        ("INFLUX_BOOTSTRAP_ISSUER", "https://idp.example.com"),
        ("INFLUX_BOOTSTRAP_CLIENT_ID", "cli"),
    ]);
    let c = resolve(&env, &flags(None)).unwrap();
    assert_eq!(c.files.kind, FileKind::None);
    assert_eq!(c.profile.port.value, 443);
    assert_eq!(
        c.profile.oauth2.issuer.unwrap().source,
        Source::Env("INFLUX_BOOTSTRAP_ISSUER")
    );
    assert_eq!(
        c.files.cache_dir.value,
        dir.path().join(".cache/influx-bootstrap")
    );
}

#[test]
fn explicit_missing_config_is_an_error() {
    let env = Env::from_pairs([("HOME", "/nonexistent")]);
    let err = resolve(&env, &flags(Some(Path::new("/nonexistent/x.toml")))).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.toml"), "{err}");
}

/// Every example profile shipped in `config/` parses, strictly.
#[test]
fn shipped_examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".toml") || name.starts_with("reference-cluster") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut notes = Vec::new();
        let parsed =
            parse_file(&path, &text, true, &mut notes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!parsed.profile.is_empty(), "{name} has no profile");
        for p in &parsed.profile {
            let env = Env::from_pairs([
                ("HOME", "/nonexistent"),
                ("INFLUX_BOOTSTRAP_CONFIG", path.to_str().unwrap()),
            ]);
            let f = GlobalArgs {
                profile: Some(p.name.clone()),
                ..Default::default()
            };
            let c = resolve(&env, &f).unwrap_or_else(|e| panic!("{name}/{}: {e}", p.name));
            assert!(c.profile.oauth2.client_id.is_some(), "{name}: client_id");
            assert!(
                c.profile.oauth2.issuer.is_some()
                    || (c.profile.oauth2.device_url.is_some()
                        && c.profile.oauth2.token_url.is_some()),
                "{name}: needs issuer or device_url+token_url"
            );
        }
        n += 1;
    }
    assert!(n >= 5, "expected at least 5 example configs, found {n}");
}
