use super::*;
use crate::cli::GlobalArgs;
use crate::env::Env;

fn profile(pairs: &[(&str, &str)]) -> Profile {
    target_profile(pairs).unwrap()
}

fn target_profile(pairs: &[(&str, &str)]) -> Result<Profile, String> {
    let mut v = vec![("HOME", "/nonexistent")];
    v.extend_from_slice(pairs);
    crate::settings::resolve(&Env::from_pairs(v), &GlobalArgs::default())
        .map(|c| c.profile)
        .map_err(|e| e.to_string())
}

const ONES: &str = PLACEHOLDER_ID;

#[test]
fn base_url_forms() {
    let host = ("INFLUX_BOOTSTRAP_HOST", "c.example.com");
    let dedicated = ("INFLUX_BOOTSTRAP_PRODUCT", "dedicated");
    let account = ("INFLUX_BOOTSTRAP_ACCOUNT_ID", "acc");
    let cluster = ("INFLUX_BOOTSTRAP_CLUSTER_ID", "clu");
    let mgmt = |u| ("INFLUX_BOOTSTRAP_MANAGEMENT_URL", u);
    // (environment, fixed form, short base, long base) or the error
    let cases: Vec<(
        Vec<(&str, &str)>,
        Result<(Option<PathForm>, &str, String), &str>,
    )> = vec![
        (
            vec![host],
            Ok((
                None,
                "https://c.example.com/api/v0",
                format!("https://c.example.com/api/v0/accounts/{ONES}/clusters/{ONES}"),
            )),
        ),
        (
            vec![
                ("INFLUX_BOOTSTRAP_HOST", "127.0.0.1"),
                ("INFLUX_BOOTSTRAP_PORT", "8086"),
                ("INFLUX_BOOTSTRAP_TLS_DISABLE", "true"),
                account,
                cluster,
            ],
            Ok((
                None,
                "http://127.0.0.1:8086/api/v0",
                "http://127.0.0.1:8086/api/v0/accounts/acc/clusters/clu".into(),
            )),
        ),
        (
            vec![host, mgmt("https://mgmt.example.com:9443/prefix/")],
            Ok((
                None,
                "https://mgmt.example.com:9443/prefix/api/v0",
                format!(
                    "https://mgmt.example.com:9443/prefix/api/v0/accounts/{ONES}/clusters/{ONES}"
                ),
            )),
        ),
        (
            vec![dedicated, account, cluster],
            Ok((
                Some(PathForm::Long),
                "https://console.influxdata.com/api/v0",
                "https://console.influxdata.com/api/v0/accounts/acc/clusters/clu".into(),
            )),
        ),
        (
            vec![
                dedicated,
                host,
                account,
                cluster,
                mgmt("http://127.0.0.1:1234"),
            ],
            Ok((
                Some(PathForm::Long),
                "http://127.0.0.1:1234/api/v0",
                "http://127.0.0.1:1234/api/v0/accounts/acc/clusters/clu".into(),
            )),
        ),
        (vec![dedicated, account], Err("`cluster_id` is not set")),
        (vec![], Err("`host` is not set")),
        (
            vec![host, mgmt("https://m.example.com/?x=1")],
            Err("has a query or a fragment"),
        ),
        (
            vec![host, mgmt("ftp://m.example.com/")],
            Err("not an http(s) URL"),
        ),
    ];
    for (env, want) in cases {
        let target =
            target_profile(&env).and_then(|p| Target::from_profile(&p).map_err(|e| e.to_string()));
        match (target, want) {
            (Ok(t), Ok((fixed, short, long))) => {
                assert_eq!(t.fixed, fixed, "{env:?}");
                assert_eq!(t.base(PathForm::Short).as_str(), short, "{env:?}");
                assert_eq!(t.base(PathForm::Long).as_str(), long, "{env:?}");
            }
            (Err(e), Err(w)) => assert!(e.contains(w), "{env:?}: {e}"),
            (got, want) => panic!("{env:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn item_urls_encode_names() {
    let t = Target::from_profile(&profile(&[("INFLUX_BOOTSTRAP_HOST", "h")])).unwrap();
    let route = Route {
        collection: Collection::Databases,
        item: Some("a/b c"),
    };
    assert_eq!(
        t.url(PathForm::Short, route).as_str(),
        "https://h/api/v0/databases/a%2Fb%20c"
    );
    let route = Route {
        collection: Collection::Tokens,
        item: None,
    };
    assert_eq!(
        t.url(PathForm::Long, route).as_str(),
        format!("https://h/api/v0/accounts/{ONES}/clusters/{ONES}/tokens")
    );
}

#[test]
fn which_path_forms_a_request_tries() {
    use PathForm::{Long, Short};
    // (fixed, known, collection route) → plan
    let cases = [
        (Some(Long), None, true, Plan::Only(Long)),
        (Some(Long), Some(Short), false, Plan::Only(Long)),
        (None, None, true, Plan::Fallback(Short, Long)),
        (None, Some(Long), true, Plan::Fallback(Long, Short)),
        (None, Some(Short), true, Plan::Fallback(Short, Long)),
        (None, Some(Long), false, Plan::Only(Long)),
        (None, None, false, Plan::Probe),
    ];
    for (fixed, known, collection, want) in cases {
        assert_eq!(
            plan(fixed, known, collection),
            want,
            "{fixed:?} {known:?} {collection}"
        );
    }
}

#[test]
fn retention_periods() {
    const DAY: u64 = 86_400_000_000_000;
    let cases: Vec<(&str, Result<u64, &str>)> = vec![
        ("infinite", Ok(0)),
        ("INFINITE", Ok(0)),
        ("0", Ok(0)),
        ("30d", Ok(30 * DAY)),
        (" 1h ", Ok(3_600_000_000_000)),
        ("1y", Ok(31_557_600_000_000_000)),
        ("2w 1d", Ok(15 * DAY)),
        ("300y", Err("too long")),
        ("forever", Err("`forever`")),
        ("", Err("--retention-period")),
        ("-1d", Err("--retention-period")),
    ];
    for (s, want) in cases {
        match (parse_retention(s), want) {
            (Ok(n), Ok(w)) => assert_eq!(n, w, "{s:?}"),
            (Err(e), Err(w)) => {
                let shown = e.to_string();
                assert!(shown.contains(w), "{s:?}: {shown}");
                assert!(
                    crate::error::Classify::hint(&e).is_some_and(|h| h.contains("30d")),
                    "{s:?}"
                );
            }
            (got, want) => panic!("{s:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn retention_for_people() {
    let cases = [
        (0, "infinite"),
        (2_592_000_000_000_000, "30days"),
        (3_600_000_000_000, "1h"),
        (-5, "-5ns"),
    ];
    for (ns, want) in cases {
        assert_eq!(show_retention(ns), want);
    }
}

#[test]
fn permission_flags_become_permissions() {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let long = "x".repeat(65);
    // (read, write) → permissions as action:resource, or the error
    let cases: Vec<(Vec<String>, Vec<String>, Result<Vec<&str>, &str>)> = vec![
        (s(&["db"]), s(&[]), Ok(vec!["read:db"])),
        (s(&[]), s(&["db"]), Ok(vec!["write:db"])),
        (
            s(&["a", "b"]),
            s(&["a"]),
            Ok(vec!["read:a", "read:b", "write:a"]),
        ),
        (s(&["*"]), s(&["*"]), Ok(vec!["read:*", "write:*"])),
        (s(&["a", "a"]), s(&[]), Ok(vec!["read:a"])),
        (s(&[]), s(&[]), Err("at least one permission")),
        (s(&[""]), s(&[]), Err("--read-database")),
        (s(&[]), vec![long], Err("has 65")),
    ];
    for (read, write, want) in cases {
        let got = permissions(&read, &write);
        match (got, want) {
            (Ok(p), Ok(w)) => {
                let shown: Vec<String> = p.iter().map(|p| p.to_string()).collect();
                assert_eq!(shown, w, "{read:?} {write:?}");
            }
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
            (got, want) => panic!("{read:?} {write:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn database_names() {
    let cases = [
        ("telegraf", true),
        ("a", true),
        ("x".repeat(64).as_str(), true),
        ("é".repeat(64).as_str(), true),
        ("x".repeat(65).as_str(), false),
        ("", false),
    ]
    .map(|(n, ok)| (n.to_string(), ok));
    for (name, ok) in cases {
        assert_eq!(check_database_name("NAME", &name).is_ok(), ok, "{name:?}");
    }
}

#[test]
fn shapes_read_camel_case_and_print_snake_case() {
    let db: Database = serde_json::from_str(
        r#"{"accountId":"a","clusterId":"c","name":"db","maxTables":500,"maxColumnsPerTable":200,"retentionPeriod":0,"partitionTemplate":[{"type":"tag","value":"x"}]}"#,
    )
    .unwrap();
    assert_eq!(db.max_tables, Some(500));
    let out = serde_json::to_value(&db).unwrap();
    assert_eq!(out["max_columns_per_table"], 200);
    assert_eq!(out["account_id"], "a");
    assert_eq!(out["partition_template"][0]["type"], "tag");
    // Clustered's short form: no ids, no template; they are left out.
    let db: Database = serde_json::from_str(r#"{"name":"db"}"#).unwrap();
    let out = serde_json::to_value(&db).unwrap();
    assert!(out.get("account_id").is_none() && out.get("partition_template").is_none());
    assert_eq!(out["retention_period"], 0);

    let c: CreatedDatabaseToken = serde_json::from_str(
        r#"{"id":"6f1e","description":"d","permissions":[{"action":"read","resource":"*"}],"createdAt":"2026-01-01T00:00:00Z","accessToken":"apiv1_supersecretvalue"}"#,
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("supersecret"));
    assert_eq!(c.token.expires_at, None);
    let out = serde_json::to_value(&c).unwrap();
    assert_eq!(out["access_token"], "apiv1_supersecretvalue");
    assert_eq!(out["created_at"], "2026-01-01T00:00:00Z");
    assert!(out["expires_at"].is_null() && out["revoked_at"].is_null());
    assert_eq!(out["permissions"][0]["resource"], "*");
    // What we send is camelCase, unset fields left out.
    let new = NewDatabase {
        name: "db".into(),
        max_tables: Some(10),
        max_columns_per_table: None,
        retention_period: Some(0),
    };
    assert_eq!(
        serde_json::to_value(&new).unwrap(),
        serde_json::json!({"name": "db", "maxTables": 10, "retentionPeriod": 0})
    );
}

#[test]
fn path_memory_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let m = PathMemory::in_dir(&cache);
    assert_eq!(m.get("https://a/"), None);
    m.set("https://a/", PathForm::Long);
    m.set("https://b/", PathForm::Short);
    assert_eq!(m.get("https://a/"), Some(PathForm::Long));
    assert_eq!(m.get("https://b/"), Some(PathForm::Short));
    m.set("https://a/", PathForm::Short);
    assert_eq!(m.get("https://a/"), Some(PathForm::Short));
    let path = cache.join(PATH_MEMORY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A corrupt file is "nothing known", and is replaced on the next write.
    std::fs::write(&path, "{not json").unwrap();
    assert_eq!(m.get("https://a/"), None);
    m.set("https://a/", PathForm::Long);
    assert_eq!(m.get("https://a/"), Some(PathForm::Long));
    assert_eq!(PathMemory::none().get("https://a/"), None);
}
