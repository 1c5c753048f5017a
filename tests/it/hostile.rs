//! Hostile servers and terminals (issue 11, items 10, 11 and 13), through the
//! real binary: a cluster whose descriptions carry escape sequences and bidi
//! overrides, identity providers and clusters that answer huge bodies or
//! absurd lifetimes, and a proxy on loopback that must never see a request.

use crate::support;

use serde_json::{Value, json};
use support::cluster::Cluster;
use support::{Idp, ProfileToml, TestEnv};

/// Cursor up, erase the line, then a right-to-left override: on a terminal
/// the row above disappears and `evil` reads backwards.
const HOSTILE: &str = "ops\x1b[1A\x1b[2K\u{202e}live";

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// A management token handed out by the cluster with `description`.
fn management_token(cluster: &Cluster, description: &str) -> Value {
    http()
        .post(format!("{}/__test/management-tokens", cluster.url()))
        .json(&json!({ "description": description }))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Stdout shows the hostile text escaped, on the row of `id`, and carries
/// none of the raw characters.
#[track_caller]
fn shows_escaped(out: &support::Output, id: &str) {
    out.assert_success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("no row for {id}\n{out}"));
    assert!(
        row.contains(r"ops\x1b[1A\x1b[2K\u{202e}live"),
        "row not escaped: {row:?}\n{out}"
    );
    for raw in ['\x1b', '\u{202e}'] {
        assert!(!out.stdout.contains(raw), "raw {raw:?} on stdout\n{out}");
        assert!(!out.stderr.contains(raw), "raw {raw:?} on stderr\n{out}");
    }
}

#[test]
fn descriptions_cannot_hide_rows_of_management_and_token_lists() {
    let idp = Idp::builder().interval(1).start();
    let cluster = Cluster::start(&idp);
    // A stolen management token was used to create a token with a hostile
    // description (the API accepts any text).
    let planted = management_token(&cluster, HOSTILE);
    let planted_id = planted["id"].as_str().unwrap().to_string();
    let mgmt = planted["accessToken"].as_str().unwrap().to_string();
    let env = support::env_with_mgmt_token(&idp, &cluster, &mgmt);

    shows_escaped(&env.run(["management", "list"]), &planted_id);
    // JSON is data: the same text comes back, but as escapes only.
    let out = env.run(["management", "list", "--format", "json"]);
    out.assert_success();
    assert!(!out.stdout.contains(['\x1b', '\u{202e}']), "{out}");
    let listed = out.stdout_json();
    let row = support::steps::element(&listed, "id", &planted_id);
    assert_eq!(row["description"], HOSTILE);

    // The same through the documented API's database tokens.
    let r: Value = http()
        .post(format!("{}/api/v0/tokens", cluster.url()))
        .bearer_auth(&mgmt)
        .json(&json!({
            "description": HOSTILE,
            "permissions": [{"action": "read", "resource": "*"}],
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token_id = r["id"].as_str().unwrap().to_string();
    shows_escaped(&env.run(["token", "list"]), &token_id);
    shows_escaped(&env.run(["token", "get", &token_id]), "DESCRIPTION");
}

// ---------------------------------------------------------------------------
// Item 11: resource limits
// ---------------------------------------------------------------------------

/// A server whose answers may be huge without the fixture ever holding them:
/// for each request, `answer(base, path)` gives a head, a number of padding
/// bytes (`a`, written 64 KiB at a time) and a tail. No `Content-Length`
/// (`Connection: close` ends the body), so only counting can stop a reader.
/// Counts the bytes it wrote.
struct Streamer {
    base: String,
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    paths: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Streamer {
    fn start(answer: impl Fn(&str, &str) -> (String, u64, String) + Send + 'static) -> Streamer {
        Streamer::serve(false, answer)
    }

    /// Like [`Streamer::start`], but a request without an `Authorization`
    /// header gets a bodiless 401, as a cluster serving our API answers the
    /// unauthenticated pre-flight probe.
    fn behind_auth(
        answer: impl Fn(&str, &str) -> (String, u64, String) + Send + 'static,
    ) -> Streamer {
        Streamer::serve(true, answer)
    }

    fn serve(
        guarded: bool,
        answer: impl Fn(&str, &str) -> (String, u64, String) + Send + 'static,
    ) -> Streamer {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (b, w, p) = (base.clone(), written.clone(), paths.clone());
        // Detached: it ends with the test process (one thread per fixture).
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut authorized = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    authorized |= h.to_ascii_lowercase().starts_with("authorization:");
                }
                if guarded && !authorized {
                    let _ = conn.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                p.lock().unwrap().push(path.clone());
                let (head, pad, tail) = answer(&b, &path);
                let chunk = vec![b'a'; 64 << 10];
                let mut send = |bytes: &[u8]| -> bool {
                    let ok = conn.write_all(bytes).is_ok();
                    if ok {
                        w.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                    }
                    ok
                };
                let mut ok = send(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{head}"
                    )
                    .as_bytes(),
                );
                let mut left = pad;
                while ok && left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    ok = send(&chunk[..n]);
                    left -= n as u64;
                }
                if ok {
                    send(tail.as_bytes());
                }
            }
        });
        Streamer {
            base,
            written,
            paths,
        }
    }

    fn written(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn served(&self, path: &str) -> usize {
        self.paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

#[test]
fn a_discovery_document_over_the_cap_fails_with_exit_5() {
    const PAD: u64 = 64 << 20;
    // Valid JSON with usable endpoints, padded to 64 MiB: without a cap it
    // would be read whole and the flow would go on to the device endpoint.
    let idp = Streamer::start(|base, path| match path {
        "/.well-known/openid-configuration" => (
            format!(
                r#"{{"issuer":"{base}","device_authorization_endpoint":"{base}/device/code","token_endpoint":"{base}/token","padding":""#
            ),
            PAD,
            r#""}"#.into(),
        ),
        _ => (r#"{"error":"not_found"}"#.into(), 0, String::new()),
    });
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&idp.base, None).build());
    let out = env.run(["login", "--format", "json", "--browser", "never"]);
    out.assert_fails(5, &["larger than 1 MiB"])
        .assert_stderr_lacks(&["panicked"]);
    assert_eq!(idp.served("/device/code"), 0, "{out}");
    // It stopped reading long before the end (the socket buffers hold a few
    // MiB at most).
    assert!(idp.written() < PAD / 2, "wrote {} bytes", idp.written());
}

#[test]
fn a_management_list_over_the_cap_fails_with_exit_9() {
    const PAD: u64 = 80 << 20;
    // One token whose description is 80 MiB: valid JSON, over 64 MiB.
    let cluster = Streamer::behind_auth(|_, path| {
        match path {
        "/api/v0/management/tokens" => (
            r#"[{"id":"t1","tokenPrefix":"M.x","createdAt":"2026-01-01T00:00:00Z","createdBy":"x","description":""#.into(),
            PAD,
            r#""}]"#.into(),
        ),
        _ => (r#"{"code":404,"message":"no"}"#.into(), 0, String::new()),
    }
    });
    let port = cluster.base.rsplit(':').next().unwrap().to_string();
    let env = TestEnv::new();
    env.write_config(
        &ProfileToml::for_issuer("http://127.0.0.1:9", None)
            .port(port)
            .tls_disable(true)
            .mgmt_token(Some("mgmt-token-for-the-test"))
            .build(),
    );
    let out = env.run(["management", "list"]);
    out.assert_fails(9, &["larger than 64 MiB"]);
    assert_eq!(cluster.served("/api/v0/management/tokens"), 1, "{out}");
}

#[test]
fn a_huge_expires_in_after_approval_does_not_panic() {
    use support::canned::{Reply, provider};
    let device = json!({
        "device_code": "dc", "user_code": "ABCD-EFGH",
        "verification_uri": "https://idp.example.test/device",
        "expires_in": u64::MAX, "interval": 1,
    });
    let c = provider(
        move |_| Reply::json(200, device.clone()),
        // Approved at once, with lifetimes no clock can hold.
        |_, _| Reply {
            status: 200,
            content_type: "application/json".into(),
            headers: vec![],
            body:
                r#"{"access_token":"at-1","token_type":"Bearer","expires_in":18446744073709551615}"#
                    .into(),
        },
    );
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    let out = env.run(["login", "--format", "json", "--browser", "never"]);
    out.assert_success();
    assert!(!out.stderr.contains("panicked"), "{out}");
    // The session's expiry is clamped to a year from now.
    let expires: chrono::DateTime<chrono::Utc> = support::cached_session(&env)["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .unwrap();
    let year = chrono::Utc::now() + chrono::Duration::days(366);
    assert!(expires <= year, "{expires}");
    env.run(["status"]).assert_success();
}

// ---------------------------------------------------------------------------
// Item 13: no proxy for loopback
// ---------------------------------------------------------------------------

/// A "proxy" on loopback that counts the connections it gets and answers
/// each with a 502 (so a proxied request fails loudly too).
struct CountingProxy {
    url: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxy {
    fn start() -> CountingProxy {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = connections.clone();
        // Detached: it ends with the test process.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = conn.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        CountingProxy { url, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn loopback_requests_never_go_through_a_proxy() {
    let proxy = CountingProxy::start();
    let idp = Idp::builder().interval(1).start();
    // The IdP over plain http, the cluster over https (both clients).
    let cluster = Cluster::builder(&idp).tls().start();
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).cluster(&cluster).build());
    let proxied = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env(var, &proxy.url);
        }
        support::Running::spawn(cmd)
    };

    let mut run = proxied(&["login", "--format", "json", "--browser", "never"]);
    let ev = run.next_stdout_json(support::DEFAULT_TIMEOUT);
    assert_eq!(ev["event"], "device_code", "{ev}");
    idp.approve(ev["user_code"].as_str().unwrap(), "admin");
    run.wait_output().assert_success();

    let file = env.home().join("mgmt-token");
    let store = format!("file:{}", file.display());
    proxied(&support::mint_into("proxy test", &store))
        .wait_output()
        .assert_success();
    assert!(file.exists());
    assert_eq!(proxy.connections(), 0, "the proxy saw loopback requests");

    // Other destinations still go through it (`.invalid` never resolves, so
    // only the proxy can be asked).
    env.write_config(&ProfileToml::for_issuer("https://idp.invalid", None).build());
    let out = proxied(&["login", "--format", "json", "--browser", "never"]).wait_output();
    out.assert_code(5);
    assert!(proxy.connections() >= 1, "{out}");
}

/// The provider's text (user code, verification URI, `error_description`)
/// reaches the terminal escaped.
#[test]
fn provider_text_reaches_the_terminal_escaped() {
    use support::canned::{Reply, provider};
    let device = json!({
        "device_code": "dc", "user_code": "AB\u{202e}CD\x1b[2J",
        "verification_uri": "https://idp.example.test/device\u{200b}",
        "expires_in": 60, "interval": 1,
    });
    let c = provider(
        move |_| Reply::json(200, device.clone()),
        |_, _| {
            Reply::json(
                400,
                json!({"error": "invalid_grant", "error_description": "no\x1b[1A\x1b[2K\u{202e}pe"}),
            )
        },
    );
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer(&c.base(), None).build());
    let out = env.run(["login", "--browser", "never", "--qr", "never"]);
    out.assert_code(5);
    for shown in [
        r"\u{202e}",
        r"\x1b[2J",
        r"device\u{200b}",
        r"no\x1b[1A\x1b[2K\u{202e}pe",
    ] {
        assert!(out.stderr.contains(shown), "{shown} not shown\n{out}");
    }
    for raw in ['\x1b', '\u{202e}', '\u{200b}'] {
        assert!(!out.stderr.contains(raw), "raw {raw:?} on stderr\n{out}");
    }
}
