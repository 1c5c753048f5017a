//! The `reference-cluster` binary and the example configuration.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reference_cluster::Config;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_reference-cluster");

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/reference-cluster.toml")
}

#[test]
fn example_config_parses() {
    let c = Config::load(&example_config()).expect("config/reference-cluster.toml");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8086");
    assert_eq!(c.database, "reference-cluster.sqlite");
    assert_eq!(c.identity.issuer, "http://127.0.0.1:4444");
    assert_eq!(c.identity.audience, "https://cluster.example.test");
    assert_eq!(c.identity.user_id_claim, "sub");
    assert!(c.identity.jwks_endpoint.is_none());
    assert!(c.is_admin("admin"));
    assert!(!c.is_admin("viewer"));
    assert_eq!(c.admin.users[0].first_name.as_deref(), Some("Ada"));
    assert_eq!(c.admin.users[0].email.as_deref(), Some("ada@example.test"));
    assert!(c.tls.is_none());
    let d = c.dedicated.as_ref().unwrap();
    // The ids of the `dedicated` profile in config/local.toml.
    assert_eq!(d.account_id, "00000000-0000-0000-0000-000000000001");
    assert_eq!(d.cluster_id, "00000000-0000-0000-0000-000000000002");
    assert_eq!(c.faults, reference_cluster::config::Faults::default());
}

const MINIMAL: &str = r#"
[identity]
issuer = "http://127.0.0.1:4444"
audience = "https://cluster.example.test"
[[admin.users]]
id = "admin"
"#;

#[test]
fn config_defaults_and_errors() {
    let c = Config::from_toml(MINIMAL).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8086");
    assert_eq!(c.identity.user_id_claim, "sub");
    assert_eq!(c.faults.fail_status, 503);
    assert_eq!(c.faults.retry_after, 1);
    assert!(!c.faults.test_control);

    for (text, needle) in [
        (format!("colour = 1\n{MINIMAL}"), "colour"),
        (MINIMAL.replace("issuer =", "issuerr ="), "issuerr"),
        (format!("{MINIMAL}email_address = \"x\"\n"), "email_address"),
        (format!("{MINIMAL}[faults]\nfail_nxt = 1\n"), "fail_nxt"),
        (
            format!("{MINIMAL}[tls]\ncert = \"a\"\nkey = \"b\"\npassword = \"c\"\n"),
            "password",
        ),
        (
            format!("{MINIMAL}[faults]\nfail_status = 418\n"),
            "fail_status",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:4444", "127.0.0.1:4444"),
            "not an http",
        ),
        ("listen = \"nowhere\"\n".to_string() + MINIMAL, "listen"),
        (
            MINIMAL.replace("[identity]", "[identity]\naudience2 = 1"),
            "audience2",
        ),
    ] {
        let err = Config::from_toml(&text).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    let missing = Config::from_toml("[[admin.users]]\nid = \"a\"\n").unwrap_err();
    assert!(missing.to_string().contains("identity"), "{missing}");
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    ready: Value,
    stderr: mpsc::Receiver<String>,
}

fn spawn(config: &Path, extra: &[&str], cwd: &Path) -> Proc {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--exit-on-stdin-eof"])
        .args(extra)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("ready line {line:?}: {e}; stderr: {:?}", rx.try_recv()));
    // Exactly one line on stdout, ever.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        assert!(rest.is_empty(), "unexpected stdout: {rest:?}");
    });
    Proc {
        child,
        stdin,
        ready,
        stderr: rx,
    }
}

fn wait_exit(child: Child, limit: Duration) -> std::process::ExitStatus {
    test_support::process::wait_or_panic(child, limit, "reference-cluster")
}

#[test]
fn binary_prints_ready_line_logs_safely_and_exits_on_stdin_eof() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&example_config(), &[], dir.path());
    let port = p.ready["port"].as_u64().unwrap();
    assert_eq!(
        serde_json::to_string(&p.ready).unwrap(),
        format!(r#"{{"listening":"http://127.0.0.1:{port}","port":{port}}}"#)
    );
    let url = p.ready["listening"].as_str().unwrap().to_string();
    let secret = format!("M.V1.{}", "s".repeat(43));
    let jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl";
    let r = raw_http::get(&format!("{url}/api/v0/management/tokens"), &secret);
    assert_eq!(r.0, 401, "{}", r.1);
    // 503 while nothing serves the example issuer's JWKS (401 if an IdP runs there).
    let r = raw_http::get(&format!("{url}/api/v0/management/tokens"), jwt_like);
    assert!(matches!(r.0, 401 | 503), "{}", r.1);
    let r = raw_http::get(&format!("{url}/api/v0/nothing"), "x");
    assert_eq!(r.0, 404);

    drop(p.stdin.take()); // EOF
    let status = wait_exit(p.child, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let log = p.stderr.recv_timeout(Duration::from_secs(5)).unwrap();
    println!("{log}");
    assert!(log.contains("GET /api/v0/management/tokens 401"), "{log}");
    assert!(log.contains("GET /api/v0/nothing 404"), "{log}");
    assert!(
        !log.contains(&secret) && !log.contains("sssss"),
        "token logged"
    );
    assert!(
        !log.contains(jwt_like) && !log.contains("eyJ"),
        "JWT logged"
    );
    assert!(
        !log.to_lowercase().contains("authorization"),
        "header logged"
    );
    // The SQLite file of the example config was created in the working directory.
    assert!(dir.path().join("reference-cluster.sqlite").is_file());
}

#[cfg(unix)]
#[test]
fn binary_exits_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(&example_config(), &[], dir.path());
    let pid = p.child.id();
    // The ready line comes just before the signal handlers are installed
    // (src/main.rs): a SIGTERM sent at once could meet the default action.
    test_support::process::wait_until_catching(pid, "TERM");
    test_support::process::signal(pid, "TERM");
    let status = wait_exit(p.child, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    drop(p.stdin);
}

#[test]
fn binary_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let files = test_support::tls::write_tls_files(dir.path());
    let text = format!(
        "database = \":memory:\"\n{MINIMAL}[tls]\ncert = {:?}\nkey = {:?}\n",
        files.cert.display().to_string(),
        files.key.display().to_string()
    );
    let config = dir.path().join("tls.toml");
    std::fs::write(&config, text).unwrap();
    let mut p = spawn(&config, &[], dir.path());
    let port = p.ready["port"].as_u64().unwrap();
    assert_eq!(
        p.ready["listening"],
        format!("https://127.0.0.1:{port}").as_str()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(files.ca_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        client
            .get(format!("https://127.0.0.1:{port}/api/v0/management/tokens"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 401);
    drop(p.stdin.take());
    assert!(wait_exit(p.child, Duration::from_secs(10)).success());
}

#[test]
fn binary_rejects_bad_arguments_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, format!("{MINIMAL}\nsurprise = true\n")).unwrap();
    for (args, needle) in [
        (vec!["--frobnicate"], "--frobnicate"),
        (vec![], "--config"),
        (vec!["--config"], "needs a value"),
        (
            vec![
                "--config",
                example_config().to_str().unwrap(),
                "--listen",
                "x",
            ],
            "--listen",
        ),
        (vec!["--config", bad.to_str().unwrap()], "surprise"),
        (vec!["--config", "/nonexistent.toml"], "cannot read"),
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--exit-on-stdin-eof"));
}

/// A minimal blocking HTTP/1.1 GET over std, so these tests need no runtime.
mod raw_http {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// Returns (status, body).
    pub fn get(url: &str, bearer: &str) -> (u16, String) {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = TcpStream::connect(host).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let body = resp.split_once("\r\n\r\n").unwrap().1.to_string();
        (status, body)
    }
}
