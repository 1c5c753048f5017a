use super::*;
use crate::error::Classify;
use std::fs;
use std::path::Path;

const TOKEN: &str = "apiv1_TESTtoken-Zq9.x~y+z/w=";

fn tok() -> Secret {
    Secret::new(TOKEN)
}

/// A spec the test knows to be well formed.
fn parsed(text: impl AsRef<str>) -> StoreSpec {
    let text = text.as_ref();
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn opts() -> StoreOptions {
    StoreOptions::default()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    crate::fsutil::mode(p).unwrap().unwrap()
}

/// The message and Debug of an error, checked for the token on the way.
fn shown(e: &StoreError) -> String {
    let s = format!("{e} {e:?} {:?}", e.hint());
    assert!(!s.contains(TOKEN), "token leaked: {s}");
    assert!(!s.contains("Zq9"), "part of the token leaked: {s}");
    s
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Specs.

#[test]
fn parses_every_form() {
    let cases: Vec<(&str, StoreSpec)> = vec![
        (
            "file:/etc/influx/token",
            StoreSpec::File {
                path: "/etc/influx/token".into(),
            },
        ),
        (
            "file:rel/token",
            StoreSpec::File {
                path: std::env::current_dir().unwrap().join("rel/token"),
            },
        ),
        (
            "env-file:/srv/.env",
            StoreSpec::EnvFile {
                path: "/srv/.env".into(),
                key: "INFLUX_MGMT_TOKEN".into(),
            },
        ),
        (
            "env-file:/srv/.env#MY_TOKEN",
            StoreSpec::EnvFile {
                path: "/srv/.env".into(),
                key: "MY_TOKEN".into(),
            },
        ),
        (
            "env-file:/srv/a#b.env#_K1",
            StoreSpec::EnvFile {
                path: "/srv/a#b.env".into(),
                key: "_K1".into(),
            },
        ),
        (
            "keyring:influxdb/admin",
            StoreSpec::Keyring {
                service: "influxdb".into(),
                account: "admin".into(),
            },
        ),
        (
            "keyring:influxdb/admin/prod",
            StoreSpec::Keyring {
                service: "influxdb".into(),
                account: "admin/prod".into(),
            },
        ),
        (
            "exec:vault kv put secret/x token=-",
            StoreSpec::Exec {
                command: "vault kv put secret/x token=-".into(),
            },
        ),
        (
            "exec:a:b",
            StoreSpec::Exec {
                command: "a:b".into(),
            },
        ),
        (
            "influxctl:prod",
            StoreSpec::Influxctl {
                profile: "prod".into(),
            },
        ),
        ("stdout", StoreSpec::Stdout),
    ];
    for (text, want) in cases {
        let got: StoreSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want, "{text}");
        // Display gives a spec that parses back to the same store.
        let again: StoreSpec = got.to_string().parse().unwrap();
        assert_eq!(again, got, "{text} -> {got}");
    }
}

#[test]
fn displays_without_secrets() {
    let cases = [
        ("file:/etc/influx/token", "file:/etc/influx/token"),
        ("env-file:/srv/.env", "env-file:/srv/.env#INFLUX_MGMT_TOKEN"),
        ("keyring:s/a", "keyring:s/a"),
        ("influxctl:default", "influxctl:default"),
        ("stdout", "stdout"),
    ];
    for (spec, shown) in cases {
        assert_eq!(spec.parse::<StoreSpec>().unwrap().to_string(), shown);
    }
}

#[test]
fn a_misspelt_kind_gets_a_suggestion() {
    let cases = [
        ("fiel:/x", Some("`file:`")),
        ("envfile:/x/.env", Some("`env-file:`")),
        ("keyrng:svc/acct", Some("`keyring:`")),
        ("influx-ctl:prod", Some("`influxctl:`")),
        ("vault:secret/x", None),
    ];
    for (spec, want) in cases {
        let msg = spec.parse::<StoreSpec>().expect_err(spec).to_string();
        match want {
            Some(k) => assert!(msg.contains(&format!("did you mean {k}")), "{spec}: {msg}"),
            None => assert!(!msg.contains("did you mean"), "{spec}: {msg}"),
        }
    }
}

#[test]
fn rejects_bad_specs_with_every_form_in_one_line() {
    let bad = [
        "",
        "file",
        "file:",
        "file:~/token",
        "file:/etc/influx/",
        "env-file:",
        "env-file:/x/.env#",
        "env-file:/x/.env#1ABC",
        "env-file:/x/.env#A-B",
        "env-file:/x/a#b.env",
        "keyring:",
        "keyring:svc",
        "keyring:/acct",
        "keyring:svc/",
        "exec:",
        "exec:   ",
        "influxctl:",
        "influxctl: ",
        "stdout:x",
        "vault:secret/x",
        "/etc/influx/token",
    ];
    for spec in bad {
        let e = spec.parse::<StoreSpec>().expect_err(spec);
        assert!(matches!(e, StoreError::Spec { .. }), "{spec}: {e:?}");
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        for form in [
            "file:",
            "env-file:",
            "#INFLUX_MGMT_TOKEN",
            "keyring:",
            "exec:",
            "influxctl:",
            "stdout",
        ] {
            assert!(msg.contains(form), "{spec}: `{form}` missing from {msg}");
        }
        assert!(e.hint().is_some());
    }
}

#[test]
fn env_keys() {
    for ok in ["A", "_", "INFLUX_MGMT_TOKEN", "a1_b2"] {
        assert!(valid_env_key(ok), "{ok}");
    }
    for bad in ["", "1A", "A-B", "A B", "Ä", "A.B"] {
        assert!(!valid_env_key(bad), "{bad}");
    }
}

#[test]
fn store_errors_are_exit_10() {
    let e = StoreError::Exists { path: "/x".into() };
    assert_eq!(e.exit_code(), crate::error::exit::STORE_PARTIAL);
    assert!(e.hint().unwrap().contains("--force"));
}

#[test]
fn unreadable_kinds_say_so() {
    for spec in ["exec:cat", "stdout"] {
        let s: StoreSpec = spec.parse().unwrap();
        assert!(!s.can_read());
        let e = s.read(&opts()).unwrap_err();
        assert!(matches!(e, StoreError::Unreadable { .. }), "{e:?}");
        assert!(e.to_string().contains("cannot be read back"), "{e}");
        assert!(e.hint().unwrap().contains("file:"));
    }
}

#[test]
fn refuses_tokens_that_cannot_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let spec = StoreSpec::File { path: path.clone() };
    for bad in ["", "a b", "a\nb", "a\tb", "a\u{7f}b"] {
        let e = spec.write(&Secret::new(bad), &opts()).unwrap_err();
        assert!(matches!(e, StoreError::BadToken { .. }), "{bad:?}: {e:?}");
        assert!(!path.exists());
    }
}

#[test]
fn debug_output_never_holds_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::File {
        path: dir.path().join("t"),
    };
    let out = spec.write(&tok(), &opts()).unwrap();
    for s in [
        format!("{spec:?} {spec}"),
        format!("{:?}", opts()),
        format!("{out:?} {out}"),
        serde_json::to_string(&out).unwrap(),
    ] {
        assert!(!s.contains(TOKEN), "{s}");
    }
}

#[test]
fn stdout_prints_the_bare_token() {
    let mut buf = Vec::new();
    let out = write_stdout(&mut buf, TOKEN).unwrap();
    assert_eq!(buf, format!("{TOKEN}\n").as_bytes());
    assert_eq!(out.to_string(), "printed to stdout");
    assert!(StoreSpec::Stdout.check(&opts()).is_ok());
}

// ---------------------------------------------------------------------------
// file:

#[test]
fn file_round_trip_private_and_in_new_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/token");
    let spec = StoreSpec::File { path: path.clone() };
    assert_eq!(spec.read(&opts()).unwrap(), None);
    spec.check(&opts()).unwrap();
    assert!(!dir.path().join("a").exists(), "check created something");
    let out = spec.write(&tok(), &opts()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), format!("{TOKEN}\n").as_bytes());
    assert_eq!(spec.read(&opts()).unwrap(), Some(tok()));
    let text = out.to_string();
    assert!(text.contains("wrote") && text.contains("(0600)"), "{text}");
    assert!(
        text.contains("created directory") && text.contains("(0700)"),
        "{text}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    }
    // Only the token file: no temp files left behind.
    assert_eq!(listing(&dir.path().join("a/b")), vec!["token"]);
}

#[test]
fn file_refuses_to_clobber_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    fs::write(&path, "old\n").unwrap();
    let spec = StoreSpec::File { path: path.clone() };
    let e = spec.check(&opts()).unwrap_err();
    assert!(matches!(e.cause(), StoreError::Exists { .. }), "{e:?}");
    assert_eq!(e.exit_code(), crate::error::exit::USAGE, "found up front");
    let e = spec.write(&tok(), &opts()).unwrap_err();
    assert!(matches!(e, StoreError::Exists { .. }), "{e:?}");
    shown(&e);
    assert!(e.hint().unwrap().contains("--force"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    assert_eq!(listing(dir.path()), vec!["token"]);

    let force = StoreOptions {
        force: true,
        ..opts()
    };
    spec.check(&force).unwrap();
    #[cfg(unix)]
    let before = mode(&path);
    let out = spec.write(&tok(), &force).unwrap();
    assert!(out.to_string().contains("replaced"), "{out}");
    #[cfg(unix)]
    if before != 0o600 {
        assert!(out.to_string().contains("mode changed from"), "{out}");
    }
    assert_eq!(spec.read(&opts()).unwrap(), Some(tok()));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn no_clobber_rename_loses_the_race_safely() {
    // What happens when the file appears between the check and the rename.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    fs::write(&path, "theirs\n").unwrap();
    let how = util::Replace {
        noclobber: true,
        unchanged: None,
    };
    let e = util::write_atomic(&path, b"ours\n", how).unwrap_err();
    assert!(matches!(e, StoreError::Exists { .. }), "{e:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "theirs\n");
    assert_eq!(listing(dir.path()), vec!["token"]);
}

#[test]
fn file_read_takes_the_first_line_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let spec = StoreSpec::File { path: path.clone() };
    let cases: [(&str, Option<&str>); 5] = [
        ("abc\n", Some("abc")),
        ("  abc  \r\nsecond\n", Some("abc")),
        ("abc", Some("abc")),
        ("", None),
        ("\n\n", None),
    ];
    for (content, want) in cases {
        fs::write(&path, content).unwrap();
        assert_eq!(
            spec.read(&opts()).unwrap(),
            want.map(Secret::new),
            "{content:?}"
        );
    }
    // Readable by others: still read (a warning is logged).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::write(&path, "abc\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(spec.read(&opts()).unwrap(), Some(Secret::new("abc")));
    }
}

#[test]
fn check_catches_problems_before_anything_exists() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("plain-file");
    fs::write(&blocker, "x").unwrap();
    let under_file = blocker.join("sub/token");
    let cases: Vec<StoreSpec> = vec![
        StoreSpec::File {
            path: under_file.clone(),
        },
        StoreSpec::File {
            path: dir.path().to_path_buf(),
        },
        StoreSpec::EnvFile {
            path: under_file.clone(),
            key: "K".into(),
        },
        StoreSpec::EnvFile {
            path: dir.path().to_path_buf(),
            key: "K".into(),
        },
        StoreSpec::Keyring {
            service: "s".into(),
            account: "a".into(),
        },
    ];
    let o = StoreOptions {
        keyring_backend: KeyringBackend::TestDir(blocker.join("keyring")),
        force: true,
        ..opts()
    };
    for spec in cases {
        let e = spec.check(&o).expect_err(&spec.to_string());
        shown(&e);
        assert!(spec.write(&tok(), &o).is_err(), "{spec}");
    }
    assert_eq!(listing(dir.path()), vec!["plain-file"]);
}

// ---------------------------------------------------------------------------
// env-file:

#[test]
fn env_edit_cases() {
    let cases: Vec<(&[u8], &[u8], bool, usize)> = vec![
        (b"", b"K=v\n", false, 0),
        (b"A=1\n", b"A=1\nK=v\n", false, 0),
        (b"A=1", b"A=1\nK=v\n", false, 0),
        (b"A=1\r\nB=2\r\n", b"A=1\r\nB=2\r\nK=v\r\n", false, 0),
        (b"A=1\r\nB=2", b"A=1\r\nB=2\r\nK=v\r\n", false, 0),
        // A dangling CR at the end of a CRLF file (found by cargo fuzz).
        (b"A=1\r\n\t\r", b"A=1\r\n\t\r\nK=v\r\n", false, 0),
        (b"# c\nK=old\nB=2", b"# c\nK=v\nB=2", true, 0),
        (b"K=old", b"K=v", true, 0),
        (b"export K=old\n", b"export K=v\n", true, 0),
        (
            b"  export\tK = 'old' # c\r\nX=1\r\n",
            b"  export\tK=v\r\nX=1\r\n",
            true,
            0,
        ),
        (b"K=a\nX=1\nK=b\n\nexport K=c\n", b"K=v\nX=1\n\n", true, 2),
        (b"X=1\nK=a\r\nK=b", b"X=1\nK=v\r\n", true, 1),
        (b"#K=old\n# K=old\n", b"#K=old\n# K=old\nK=v\n", false, 0),
        (
            b"K2=x\nKK=y\nexportK=z\nK\n",
            b"K2=x\nKK=y\nexportK=z\nK\nK=v\n",
            false,
            0,
        ),
        (
            b"A=\xff\xfe\n\n\nK=1\n  \n",
            b"A=\xff\xfe\n\n\nK=v\n  \n",
            true,
            0,
        ),
    ];
    for (input, want, replaced, removed) in cases {
        let e = envfile::edit(input, "K", "v");
        assert_eq!(
            String::from_utf8_lossy(&e.contents),
            String::from_utf8_lossy(want),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!((e.replaced, e.removed), (replaced, removed), "{input:?}");
    }
}

#[test]
fn env_lookup_cases() {
    let cases: [(&[u8], Option<&str>); 11] = [
        (b"K=abc\n", Some("abc")),
        (b"K='a b#c'\n", Some("a b#c")),
        (b"K=\"a\\\"b\"\n", Some("a\"b")),
        (b"K=abc # comment\n", Some("abc")),
        (b"K=abc#not-a-comment\n", Some("abc#not-a-comment")),
        (b"export K=x\r\n", Some("x")),
        (b"  K = y  \n", Some("y")),
        (b"K=a\nK=b\n", Some("b")),
        (b"#K=a\n", None),
        (b"K=\n", Some("")),
        (b"KK=a\n", None),
    ];
    for (input, want) in cases {
        let got = envfile::lookup(input, "K").map(|v| String::from_utf8(v).unwrap());
        assert_eq!(got.as_deref(), want, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn env_value_quoting() {
    assert_eq!(envfile::format_value("aZ09._~+/=-").unwrap(), "aZ09._~+/=-");
    assert_eq!(envfile::format_value("a$b").unwrap(), "'a$b'");
    assert_eq!(envfile::format_value("a\"b").unwrap(), "'a\"b'");
    assert!(envfile::format_value("a'b").is_err());
    // A quoted value reads back as written.
    let e = envfile::edit(b"", "K", &envfile::format_value("a$b#c").unwrap());
    assert_eq!(envfile::lookup(&e.contents, "K").unwrap(), b"a$b#c");
}

#[test]
fn env_file_round_trip_keeps_other_lines_and_tightens_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let before =
        "# app settings\r\nDB_URL=postgres://x\r\n\r\nexport INFLUX_MGMT_TOKEN=old\r\nLAST=1";
    fs::write(&path, before).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let spec = parsed(format!("env-file:{}", path.display()));
    // It holds a token: replacing it needs --force, up front and at write.
    let e = spec.check(&opts()).unwrap_err();
    assert!(matches!(e.cause(), StoreError::HoldsToken { .. }), "{e:?}");
    assert!(e.hint().unwrap().contains("--force"), "{e:?}");
    let e = spec.write(&tok(), &opts()).unwrap_err();
    assert!(matches!(e, StoreError::HoldsToken { .. }), "{e:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    let force = StoreOptions {
        force: true,
        ..opts()
    };
    spec.check(&force).unwrap();
    assert_eq!(spec.read(&opts()).unwrap(), Some(Secret::new("old")));
    let out = spec.write(&tok(), &force).unwrap().to_string();
    assert!(out.contains("replaced INFLUX_MGMT_TOKEN"), "{out}");
    assert!(out.contains("held before was replaced"), "{out}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!(
            "# app settings\r\nDB_URL=postgres://x\r\n\r\nexport INFLUX_MGMT_TOKEN={TOKEN}\r\nLAST=1"
        )
    );
    assert_eq!(spec.read(&opts()).unwrap(), Some(tok()));
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert!(out.contains("mode changed from 0644 to 0600"), "{out}");
    }
    assert_eq!(listing(dir.path()), vec![".env"]);
}

#[test]
fn env_file_created_fresh_with_custom_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf/app.env");
    let spec = parsed(format!("env-file:{}#APP_TOKEN", path.display()));
    assert_eq!(spec.read(&opts()).unwrap(), None);
    spec.check(&opts()).unwrap();
    assert!(!dir.path().join("conf").exists());
    let out = spec.write(&tok(), &opts()).unwrap().to_string();
    assert!(out.contains("created"), "{out}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("APP_TOKEN={TOKEN}\n")
    );
    assert_eq!(spec.read(&opts()).unwrap(), Some(tok()));
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("conf")), 0o700);
    }
    // Writing again replaces a live token: only with --force.
    let other = Secret::new("second-token");
    assert!(matches!(
        spec.write(&other, &opts()).unwrap_err(),
        StoreError::HoldsToken { .. }
    ));
    let force = StoreOptions {
        force: true,
        ..opts()
    };
    spec.write(&other, &force).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "APP_TOKEN=second-token\n"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_at_a_store_path_is_refused_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.env");
    let link = dir.path().join("link.env");
    fs::write(&real, "A=1\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let force = StoreOptions {
        force: true,
        ..opts()
    };
    let specs = [
        StoreSpec::EnvFile {
            path: link.clone(),
            key: "K".into(),
        },
        StoreSpec::File { path: link.clone() },
    ];
    for spec in specs {
        for o in [&opts(), &force] {
            let e = spec.check(o).unwrap_err();
            let msg = shown(&e);
            assert!(
                msg.contains("symbolic link") && msg.contains("link.env"),
                "{msg}"
            );
            assert_eq!(e.exit_code(), crate::error::exit::USAGE);
            let e = spec.write(&tok(), o).unwrap_err();
            assert!(shown(&e).contains("symbolic link"), "{spec}: {e}");
            assert!(
                spec.read(o)
                    .unwrap_err()
                    .to_string()
                    .contains("symbolic link")
            );
        }
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "A=1\n", "{spec}");
    }
    // influxctl: the config itself a symlink.
    let cfg = dir.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &cfg).unwrap();
    let o = StoreOptions {
        influxctl_config: Some(cfg.clone()),
        force: true,
        ..opts()
    };
    let spec = parsed("influxctl:default");
    assert!(
        spec.check(&o)
            .unwrap_err()
            .to_string()
            .contains("symbolic link")
    );
    assert!(
        spec.write(&tok(), &o)
            .unwrap_err()
            .to_string()
            .contains("symbolic link")
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "A=1\n");
}

#[cfg(unix)]
#[test]
fn directories_others_can_write_are_refused_unless_sticky_and_ours() {
    use std::os::unix::fs::PermissionsExt;
    let cases: [(u32, bool, bool); 5] = [
        // (directory mode, a file of ours exists there, accepted)
        (0o700, false, true),
        (0o755, true, true),
        (0o777, false, false),
        (0o770, true, false),
        (0o1777, true, true),
    ];
    for (dmode, exists, ok) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        fs::create_dir(&d).unwrap();
        let path = d.join("token");
        if exists {
            fs::write(&path, "old\n").unwrap();
        }
        fs::set_permissions(&d, fs::Permissions::from_mode(dmode)).unwrap();
        let spec = StoreSpec::File { path: path.clone() };
        let force = StoreOptions {
            force: true,
            ..opts()
        };
        let r = spec.write(&tok(), &force);
        assert_eq!(r.is_ok(), ok, "{dmode:o} {exists}: {r:?}");
        if let Err(e) = r {
            let msg = shown(&e);
            assert!(
                msg.contains("writable by") && msg.contains(&d.display().to_string()),
                "{msg}"
            );
        }
    }
}

mod env_props {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "INFLUX_MGMT_TOKEN";

    /// One line body of an existing dotenv file (without its ending).
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "#[ -~]{0,30}".prop_map(|s| s),
            "[ \t]{0,3}#[ -~]{0,20}".prop_map(|s| s),
            "[ \t]{0,3}".prop_map(|s| s),
            ("(export )?", "[A-Za-z_][A-Za-z0-9_]{0,8}", "[ -~]{0,30}")
                .prop_map(|(e, k, v)| format!("{e}{k}={v}")),
            // The key itself, in its various forms.
            ("[ \t]{0,2}", "(export[ \t])?", "[ ]?", "[ -~]{0,20}")
                .prop_map(|(i, e, sp, v)| format!("{i}{e}{KEY}{sp}={v}")),
        ]
    }

    fn file() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::collection::vec((line(), any::<bool>()), 0..12),
            any::<bool>(),
        )
            .prop_map(|(lines, final_newline)| {
                let n = lines.len();
                let mut out = Vec::new();
                for (i, (body, crlf)) in lines.into_iter().enumerate() {
                    out.extend_from_slice(body.as_bytes());
                    if i + 1 < n || final_newline {
                        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                    }
                }
                out
            })
    }

    fn is_key_line(line: &[u8]) -> bool {
        envfile::lookup(line, KEY).is_some()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn writing_keeps_every_other_line(input in file(), value in "[A-Za-z0-9._~+/=-]{1,40}") {
            let e = envfile::edit(&input, KEY, &value);
            let out = &e.contents;
            let in_lines: Vec<&[u8]> = input.split_inclusive(|b| *b == b'\n').collect();
            let out_lines: Vec<&[u8]> = out.split_inclusive(|b| *b == b'\n').collect();
            let in_other: Vec<&[u8]> = in_lines.iter().copied().filter(|l| !is_key_line(l)).collect();
            let out_other: Vec<&[u8]> = out_lines.iter().copied().filter(|l| !is_key_line(l)).collect();
            let had_key = in_lines.len() != in_other.len();
            prop_assert_eq!(in_other.len(), out_other.len());
            for (i, (a, b)) in in_other.iter().zip(&out_other).enumerate() {
                let last_unterminated = i + 1 == in_other.len()
                    && !a.ends_with(b"\n")
                    && in_lines.last() == Some(a);
                if last_unterminated && !had_key {
                    // The only change allowed: a newline so the key can follow.
                    prop_assert!(b.starts_with(a) && (b.len() - a.len() == 1 || b.len() - a.len() == 2));
                } else {
                    prop_assert_eq!(a, b);
                }
            }
            // Exactly one key line, where the first one was.
            let key_at: Vec<usize> = out_lines.iter().enumerate().filter(|(_, l)| is_key_line(l)).map(|(i, _)| i).collect();
            prop_assert_eq!(key_at.len(), 1);
            if let Some(first) = in_lines.iter().position(|l| is_key_line(l)) {
                prop_assert_eq!(key_at[0], first);
            } else {
                prop_assert_eq!(key_at[0], out_lines.len() - 1);
            }
            prop_assert_eq!(envfile::lookup(out, KEY), Some(value.clone().into_bytes()));
            prop_assert_eq!(e.replaced, had_key);
        }

        #[test]
        fn quoted_values_read_back(value in "[ -~]{1,30}") {
            prop_assume!(!value.contains('\''));
            let formatted = envfile::format_value(&value).unwrap();
            let e = envfile::edit(b"A=1\n", KEY, &formatted);
            prop_assert_eq!(envfile::lookup(&e.contents, KEY), Some(value.into_bytes()));
        }
    }

    #[test]
    fn through_the_store_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(40));
        runner
            .run(&file(), |input| {
                fs::write(&path, &input).unwrap();
                let spec = StoreSpec::EnvFile {
                    path: path.clone(),
                    key: KEY.into(),
                };
                let force = StoreOptions {
                    force: true,
                    ..opts()
                };
                spec.write(&tok(), &force).unwrap();
                prop_assert_eq!(spec.read(&opts()).unwrap(), Some(tok()));
                let out = fs::read(&path).unwrap();
                prop_assert_eq!(&out, &envfile::edit(&input, KEY, TOKEN).contents);
                Ok(())
            })
            .unwrap();
    }
}

// ---------------------------------------------------------------------------
// keyring:

fn test_keyring(dir: &Path) -> StoreOptions {
    StoreOptions {
        keyring_backend: KeyringBackend::TestDir(dir.to_path_buf()),
        ..opts()
    }
}

#[test]
fn keyring_test_dir_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let kdir = dir.path().join("keyring");
    let o = test_keyring(&kdir);
    let spec = parsed("keyring:influxdb/admin@cluster.example.com");
    spec.check(&o).unwrap();
    assert!(!kdir.exists(), "check created the keyring dir");
    assert_eq!(spec.read(&o).unwrap(), None);
    let out = spec.write(&tok(), &o).unwrap().to_string();
    assert!(
        out.contains("test keyring") && out.contains("influxdb"),
        "{out}"
    );
    assert_eq!(spec.read(&o).unwrap(), Some(tok()));
    let file = test_keyring_file(&kdir, "influxdb", "admin@cluster.example.com");
    assert_eq!(
        file.file_name().unwrap(),
        "influxdb_admin%40cluster.example.com"
    );
    assert_eq!(fs::read(&file).unwrap(), TOKEN.as_bytes());
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&kdir), 0o700);
    }
    // Replacing needs --force (the entry holds a live token); other
    // accounts are separate.
    let e = spec.write(&Secret::new("second"), &o).unwrap_err();
    assert!(matches!(e, StoreError::HoldsToken { .. }), "{e:?}");
    assert!(matches!(
        spec.check(&o).unwrap_err().cause(),
        StoreError::HoldsToken { .. }
    ));
    let forced = StoreOptions {
        force: true,
        ..o.clone()
    };
    spec.write(&Secret::new("second"), &forced).unwrap();
    assert_eq!(spec.read(&o).unwrap(), Some(Secret::new("second")));
    let other = parsed("keyring:influxdb/other");
    assert_eq!(other.read(&o).unwrap(), None);
}

#[test]
fn keyring_test_backend_speaks_keyring_core() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        DirKeyring::new(dir.path().join("k"));
    let entry = keyring_core::Entry::new_in_store(&store, "svc", "acct").unwrap();
    assert!(matches!(
        entry.get_password(),
        Err(keyring_core::Error::NoEntry)
    ));
    entry.set_password("pw").unwrap();
    assert_eq!(entry.get_password().unwrap(), "pw");
    assert_eq!(entry.get_specifiers(), Some(("svc".into(), "acct".into())));
    entry.delete_credential().unwrap();
    assert!(matches!(
        entry.delete_credential(),
        Err(keyring_core::Error::NoEntry)
    ));
}

#[test]
fn keyring_errors_never_show_stored_bytes() {
    let e = keyring_store::describe_for_test(keyring_core::Error::BadEncoding(
        TOKEN.as_bytes().to_vec(),
    ));
    shown(&e);
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
#[test]
fn headless_keyring_fails_fast_with_a_hint() {
    let o = StoreOptions {
        dbus_session: false,
        ..opts()
    };
    let spec = parsed("keyring:influxdb/admin");
    // The outcome, not the time: without a session bus nothing is tried
    // (no D-Bus connection that could hang), the error says why.
    let errors = [
        spec.check(&o).unwrap_err(),
        spec.write(&tok(), &o).unwrap_err(),
        spec.read(&o).unwrap_err(),
    ];
    for (i, e) in errors.into_iter().enumerate() {
        assert!(
            matches!(e.cause(), StoreError::KeyringUnavailable { .. }),
            "{e:?}"
        );
        let msg = shown(&e);
        assert!(msg.contains("DBUS_SESSION_BUS_ADDRESS"), "{msg}");
        let hint = e.hint().unwrap();
        assert!(hint.contains("file:") && hint.contains("exec:"), "{hint}");
        let want = if i == 0 {
            crate::error::exit::USAGE
        } else {
            crate::error::exit::STORE_PARTIAL
        };
        assert_eq!(e.exit_code(), want);
    }
}

// ---------------------------------------------------------------------------
// exec: (needs sh)

#[cfg(unix)]
mod exec_tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can look into afterwards.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Sink {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    fn run(
        cmd: &str,
        o: &StoreOptions,
        inject: &[(&str, &str)],
    ) -> (Result<StoreOutcome, StoreError>, String) {
        let sink = Sink::default();
        let r = exec::run(cmd, TOKEN, o, inject, Box::new(sink.clone()));
        (r, sink.text())
    }

    #[test]
    fn token_on_stdin_not_in_argv_or_environment() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cmd = format!(
            r#"printf '%s\n' "$0" "$@" > {d}/argv; env > {d}/env; cat > {d}/stdin; \
               if [ -r /proc/$$/cmdline ]; then tr '\0' ' ' < /proc/$$/cmdline > {d}/cmdline; fi; echo done"#
        );
        let o = StoreOptions {
            exec_env_remove: vec!["INFLUX_BOOTSTRAP_CUSTOM".into()],
            ..opts()
        };
        let inject = [
            ("INFLUX_BOOTSTRAP_MGMT_TOKEN", "other-secret-1"),
            ("INFLUX_BOOTSTRAP_CUSTOM", "other-secret-2"),
            ("INFLUX_MGMT_TOKEN", "other-secret-3"),
            ("KEEP_ME", "kept"),
        ];
        let (r, stdout) = run(&cmd, &o, &inject);
        let out = r.unwrap();
        assert!(out.to_string().contains("stdin"), "{out}");
        // Its stdout came to our stand-in for stderr.
        assert_eq!(stdout, "done\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("stdin")).unwrap(),
            format!("{TOKEN}\n")
        );
        let argv = fs::read_to_string(dir.path().join("argv")).unwrap();
        assert!(!argv.contains(TOKEN), "{argv}");
        let env = fs::read_to_string(dir.path().join("env")).unwrap();
        assert!(!env.contains(TOKEN), "token in env");
        assert!(!env.contains("other-secret"), "{env}");
        assert!(
            !env.contains("INFLUX_BOOTSTRAP_") && !env.contains("INFLUX_MGMT_TOKEN"),
            "{env}"
        );
        assert!(env.contains("KEEP_ME=kept"), "{env}");
        assert!(
            env.lines().any(|l| l.starts_with("PATH=")),
            "PATH must be kept"
        );
        if let Ok(cmdline) = fs::read_to_string(dir.path().join("cmdline")) {
            assert!(!cmdline.contains(TOKEN), "{cmdline}");
        }
    }

    #[test]
    fn through_the_public_api() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("got");
        let spec = parsed(format!("exec:cat > '{}'", target.display()));
        spec.check(&opts()).unwrap();
        spec.write(&tok(), &opts()).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), format!("{TOKEN}\n"));
    }

    #[test]
    fn failure_carries_its_stderr() {
        let (r, _) = run(
            "cat >/dev/null; echo 'vault: permission denied' >&2; exit 3",
            &opts(),
            &[],
        );
        let e = r.unwrap_err();
        let msg = shown(&e);
        assert!(matches!(e, StoreError::ExecFailed { .. }), "{e:?}");
        assert!(e.to_string().contains("exit status 3"), "{msg}");
        assert!(e.to_string().contains("vault: permission denied"), "{msg}");
        assert!(e.hint().unwrap().contains("stdin"));
        assert_eq!(e.exit_code(), crate::error::exit::STORE_PARTIAL);
    }

    #[test]
    fn echoed_token_is_masked_everywhere() {
        let (r, stdout) = run(
            "cat; cat >&2 </dev/null; echo \"x $(echo)\" >&2; exit 1",
            &opts(),
            &[],
        );
        assert!(!stdout.contains(TOKEN), "{stdout}");
        assert!(stdout.contains("[redacted]"), "{stdout}");
        shown(&r.unwrap_err());
        let (r, _) = run("cat >&2; exit 1", &opts(), &[]);
        let e = r.unwrap_err();
        assert!(shown(&e).contains("[redacted]"));
    }

    #[test]
    fn stderr_is_cleaned_and_bounded() {
        let (r, _) = run(
            "printf 'bad \\033[31mred\\033[0m\\rline\\n\\nsecond\\n' >&2; head -c 20000 /dev/zero | tr '\\0' a >&2; exit 1",
            &opts(),
            &[],
        );
        let msg = r.unwrap_err().to_string();
        assert!(!msg.chars().any(|c| c.is_control()), "{msg:?}");
        assert!(msg.contains("bad") && msg.contains(" | second"), "{msg}");
        assert!(msg.len() < 2300, "{}", msg.len());
    }

    #[test]
    fn timeout_kills_it() {
        let o = StoreOptions {
            exec_timeout: Duration::from_millis(300),
            ..opts()
        };
        let (r, _) = run("echo starting >&2; sleep 30", &o, &[]);
        let e = r.unwrap_err();
        assert!(matches!(e, StoreError::ExecTimeout { .. }), "{e:?}");
        assert!(
            e.to_string().contains("300ms") && e.to_string().contains("starting"),
            "{e}"
        );
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        // `sh` starts a background grandchild that outlives it and would
        // still hold the token; on timeout the group is killed and waited for.
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let o = StoreOptions {
            exec_timeout: Duration::from_millis(500),
            ..opts()
        };
        let cmd = format!(
            "sh -c 'echo $$ > {p}.tmp; mv {p}.tmp {p}; exec sleep 300' & cat >/dev/null; wait",
            p = pidfile.display()
        );
        let (r, _) = run(&cmd, &o, &[]);
        assert!(matches!(r.unwrap_err(), StoreError::ExecTimeout { .. }));
        let pid: i32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!alive(pid), "grandchild {pid} survived the timeout");
    }

    #[test]
    fn a_failed_command_leaves_no_background_child() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("bg.pid");
        let cmd = format!(
            "sleep 300 & echo $! > {p}.tmp; mv {p}.tmp {p}; exit 4",
            p = pidfile.display()
        );
        let (r, _) = run(&cmd, &opts(), &[]);
        assert!(matches!(r.unwrap_err(), StoreError::ExecFailed { .. }));
        let pid: i32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!alive(pid), "background child {pid} survived");
    }

    /// Running and not a zombie (a killed orphan may wait for its reaper).
    fn alive(pid: i32) -> bool {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }

    #[test]
    fn influx_token_variables_are_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let envfile = dir.path().join("env");
        let cmd = format!("cat >/dev/null; env > {}", envfile.display());
        let inject = [
            ("INFLUX_TOKEN", "s1"),
            ("INFLUXDB3_AUTH_TOKEN", "s2"),
            ("INFLUX_BOOTSTRAP_MGMT_TOKEN", "s3"),
            ("influx_db_token", "s4"),
            ("INFLUX_HOST", "kept-host"),
            ("MY_TOKEN", "kept-token"),
        ];
        run(&cmd, &opts(), &inject).0.unwrap();
        let env = fs::read_to_string(&envfile).unwrap();
        for gone in ["s1", "s2", "s3", "s4"] {
            assert!(
                !env.lines().any(|l| l.ends_with(&format!("={gone}"))),
                "{gone}: {env}"
            );
        }
        assert!(env.contains("INFLUX_HOST=kept-host"), "{env}");
        assert!(env.contains("MY_TOKEN=kept-token"), "{env}");
    }

    #[test]
    fn a_program_not_on_path_is_found_up_front() {
        let cases: [(&str, bool); 6] = [
            ("cat >/dev/null", true),
            ("no-such-program-xyz --token -", false),
            ("/no/such/program", false),
            ("echo ok", true),
            ("VAR=1 no-such-program-xyz", true), // not a plain word: left to run time
            ("if true; then cat; fi", true),
        ];
        for (cmd, ok) in cases {
            let spec = parsed(format!("exec:{cmd}"));
            let r = spec.check(&opts());
            assert_eq!(r.is_ok(), ok, "{cmd}: {r:?}");
            if let Err(e) = r {
                assert!(
                    matches!(e.cause(), StoreError::ExecNotFound { .. }),
                    "{e:?}"
                );
                assert!(e.to_string().contains("not found"), "{e}");
                assert_eq!(e.exit_code(), crate::error::exit::USAGE);
            }
        }
        // At run time, exit 127 is said in words.
        let (r, _) = run("cat >/dev/null; no-such-program-xyz", &opts(), &[]);
        let e = r.unwrap_err();
        assert!(e.to_string().contains("command not found"), "{e}");
    }

    #[test]
    fn not_reading_stdin_is_fine() {
        let (r, out) = run("echo ok", &opts(), &[]);
        r.unwrap();
        assert_eq!(out, "ok\n");
    }

    #[test]
    fn check_parses_without_running() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let ok = parsed(format!("exec:touch '{}'", marker.display()));
        ok.check(&opts()).unwrap();
        assert!(!marker.exists(), "check ran the command");
        let bad = parsed("exec:echo \"unterminated");
        let e = bad.check(&opts()).unwrap_err();
        assert!(matches!(e.cause(), StoreError::ExecSyntax { .. }), "{e:?}");
        assert!(e.hint().is_some());
    }
}

// ---------------------------------------------------------------------------
// influxctl:

const INFLUXCTL: &str = r#"# influxctl config
[[profile]]
  name = "default"
  product = "clustered"
  host = "cluster.example.com"
  port = "443"
  mgmt_token = "old-token" # set by hand
  [profile.auth.oauth2]
    client_id = "abc"
    scopes = [""]
    parameters = { audience = "" }
    token_url = "https://idp/token"
    device_url = "https://idp/device"

# the production cluster
[[profile]]
  name = "prod"
  product = "clustered"
  # where it lives
  host = "prod.example.com"
  port = "443"

  account_id = ""
  [profile.tls]
    ca = "/etc/ssl/prod.pem"
  [profile.auth.oauth2]
    client_id = "def"
    token_url = "https://idp/token"
    device_url = "https://idp/device"

[[profile]]
  name = "noport"
  host = "x.example.com"
"#;

fn influxctl_setup() -> (tempfile::TempDir, PathBuf, StoreOptions) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, INFLUXCTL).unwrap();
    let o = StoreOptions {
        influxctl_config: Some(path.clone()),
        ..opts()
    };
    (dir, path, o)
}

/// The lines of `after` equal those of `before` except line `changed`
/// (0-based in `after`), which was inserted (`inserted`) or replaced.
fn same_but(before: &str, after: &str, changed: usize, inserted: bool) {
    let b: Vec<&str> = before.split_inclusive('\n').collect();
    let mut a: Vec<&str> = after.split_inclusive('\n').collect();
    a.remove(changed);
    let mut b2 = b.clone();
    if !inserted {
        b2.remove(changed);
    }
    assert_eq!(a, b2);
}

#[test]
fn influxctl_adds_after_port_keeping_everything_else() {
    let (dir, path, o) = influxctl_setup();
    let spec = parsed("influxctl:prod");
    spec.check(&o).unwrap();
    assert_eq!(spec.read(&o).unwrap(), None);
    let out = spec.write(&tok(), &o).unwrap();
    let after = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    let at = lines.iter().position(|l| l.contains(TOKEN)).unwrap();
    assert_eq!(lines[at], format!("  mgmt_token = \"{TOKEN}\""));
    assert_eq!(lines[at - 1], "  port = \"443\"");
    assert_eq!(lines[at - 2], "  host = \"prod.example.com\"");
    same_but(INFLUXCTL, &after, at, true);
    assert_eq!(spec.read(&o).unwrap(), Some(tok()));
    // The other profile's token is untouched.
    let default = parsed("influxctl:default");
    assert_eq!(default.read(&o).unwrap(), Some(Secret::new("old-token")));

    // Backup: the original bytes, 0600.
    let backup = out.backup.clone().unwrap();
    assert_eq!(backup.parent().unwrap(), dir.path());
    assert!(backup.file_name().unwrap().to_string_lossy() == "config.toml.bak");
    assert_eq!(fs::read_to_string(&backup).unwrap(), INFLUXCTL);
    assert!(out.to_string().contains("backup at"), "{out}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&backup), 0o600);
        assert_eq!(mode(&path), 0o600);
    }
    // Only the file and its backup (no temp files).
    assert_eq!(listing(dir.path()).len(), 2);

    // A second write replaces the live token only with --force, and keeps
    // one backup: it replaces the previous one, and removes the
    // timestamped backups of older versions (each held a token).
    let e = spec.write(&Secret::new("third"), &o).unwrap_err();
    assert!(matches!(e, StoreError::HoldsToken { .. }), "{e:?}");
    fs::write(dir.path().join("config.toml.bak.20250101T000000Z"), "old").unwrap();
    fs::write(dir.path().join("config.toml.bak.20250101T000000Z.1"), "old").unwrap();
    let force = StoreOptions {
        force: true,
        ..o.clone()
    };
    let out = spec.write(&Secret::new("third"), &force).unwrap();
    assert!(
        out.to_string().contains("held before was replaced"),
        "{out}"
    );
    let again = fs::read_to_string(&path).unwrap();
    same_but(&after, &again, at, false);
    assert_eq!(listing(dir.path()), vec!["config.toml", "config.toml.bak"]);
    assert_eq!(fs::read_to_string(&backup).unwrap(), after);
}

#[test]
fn influxctl_replaces_in_place_keeping_the_comment() {
    let (_dir, path, o) = influxctl_setup();
    let spec = parsed("influxctl:default");
    assert_eq!(spec.read(&o).unwrap(), Some(Secret::new("old-token")));
    assert!(matches!(
        spec.check(&o).unwrap_err().cause(),
        StoreError::HoldsToken { .. }
    ));
    let o = StoreOptions { force: true, ..o };
    let out = spec.write(&tok(), &o).unwrap();
    assert!(
        out.summary
            .starts_with("replaced mgmt_token in profile `default`"),
        "{out}"
    );
    let after = fs::read_to_string(&path).unwrap();
    let at = 6;
    assert_eq!(
        after.lines().nth(at).unwrap(),
        format!("  mgmt_token = \"{TOKEN}\" # set by hand")
    );
    same_but(INFLUXCTL, &after, at, false);
    assert_eq!(spec.read(&o).unwrap(), Some(tok()));
}

#[test]
fn influxctl_without_port_appends_to_the_plain_keys() {
    let (_dir, path, o) = influxctl_setup();
    let spec = parsed("influxctl:noport");
    spec.write(&tok(), &o).unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert!(
        after.ends_with(&format!(
            "  host = \"x.example.com\"\n  mgmt_token = \"{TOKEN}\"\n"
        )),
        "{after}"
    );
    let at = after.lines().count() - 1;
    same_but(INFLUXCTL, &after, at, true);
}

#[test]
fn influxctl_refuses_missing_profile_file_or_path() {
    let (dir, path, o) = influxctl_setup();
    let spec = parsed("influxctl:staging");
    for e in [
        spec.check(&o).unwrap_err(),
        spec.write(&tok(), &o).unwrap_err(),
        spec.read(&o).unwrap_err(),
    ] {
        assert!(matches!(e.cause(), StoreError::NoProfile { .. }), "{e:?}");
        assert!(
            e.hint().unwrap().contains("default, prod, noport"),
            "{:?}",
            e.hint()
        );
        shown(&e);
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), INFLUXCTL);
    assert_eq!(
        listing(dir.path()),
        vec!["config.toml"],
        "no backup for a refused write"
    );

    let missing = StoreOptions {
        influxctl_config: Some(dir.path().join("nope.toml")),
        ..opts()
    };
    let spec = parsed("influxctl:default");
    assert!(matches!(
        spec.check(&missing).unwrap_err().cause(),
        StoreError::NoInfluxctlFile { .. }
    ));
    assert!(matches!(
        spec.write(&tok(), &missing),
        Err(StoreError::NoInfluxctlFile { .. })
    ));
    assert_eq!(spec.read(&missing).unwrap(), None);
    assert!(!dir.path().join("nope.toml").exists());

    assert!(matches!(
        spec.check(&opts()).unwrap_err().cause(),
        StoreError::NoInfluxctlConfig
    ));
    assert!(matches!(
        spec.read(&opts()),
        Err(StoreError::NoInfluxctlConfig)
    ));
}

#[test]
fn influxctl_reports_parse_errors_with_a_line() {
    let (_dir, path, o) = influxctl_setup();
    fs::write(&path, "[[profile]]\n  name = \"default\"\n  port = \n").unwrap();
    let e = "influxctl:default"
        .parse::<StoreSpec>()
        .unwrap()
        .check(&o)
        .unwrap_err();
    match e.cause() {
        StoreError::InfluxctlParse { line, .. } => assert_eq!(*line, 3),
        other => panic!("{other:?}"),
    }
}
