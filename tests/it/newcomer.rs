//! What a newcomer trips over (issue 23, and items 10, 13 and 15 of issue
//! 19), each driven the way a person meets it: questions and Ctrl-C typed on
//! a real pseudo-terminal (util-linux `script`), completion through bash's
//! own completion machinery, lists on narrow terminals.

use crate::support;

use std::process::Command;
use support::cluster::Cluster;
use support::pty::Pty;
use support::{Idp, Output, ProfileToml, TestEnv};

fn width(l: &str) -> usize {
    console::measure_text_width(l)
}

/// Every row the terminal showed (a spinner redraws its row after `\r`).
fn rows(screen: &str) -> impl Iterator<Item = &str> {
    screen.lines().flat_map(|l| l.split('\r'))
}

// --- A1: Ctrl-C at a question --------------------------------------------------

#[test]
fn ctrl_c_at_a_question_exits_130_at_once_and_writes_nothing() {
    let env = TestEnv::new();
    let mut pty = Pty::start(&env, 80, 24, "config init --no-check --profile ctrlc");
    pty.wait_for("Identity provider");
    // Ctrl-C, then what the person types next (the old behaviour took these
    // lines as the answers and wrote the profile with exit 0).
    pty.type_in("\x03\n\n127.0.0.1\n8086\nhttp://127.0.0.1:1\nclient\n");
    let out = pty.wait();
    assert_eq!(out.code, Some(130), "{out}");
    assert!(
        out.stdout.contains("cancelled: nothing was changed"),
        "{out}"
    );
    assert!(!out.stdout.contains("wrote profile"), "{out}");
    assert!(!env.config_path().exists());
}

#[test]
fn ctrl_c_at_a_confirmation_exits_130_at_once() {
    let (idp, _cluster, env) = support::Stack::configured(Idp::start()).parts();
    support::login(&env, &idp, "admin");
    let made = env.run([
        "management",
        "create",
        "--description",
        "keep me",
        "--format",
        "json",
    ]);
    made.assert_success();
    let id = made.stdout_json()["id"].as_str().unwrap().to_string();
    let mut pty = Pty::start(&env, 80, 24, &format!("management revoke {id}"));
    pty.wait_for("[y/N]");
    pty.type_in("\x03yes\n");
    let out = pty.wait();
    assert_eq!(out.code, Some(130), "{out}");
    let list = env.run(["management", "list", "--format", "json"]);
    list.assert_success();
    let still = list.stdout_json();
    let t = support::steps::element(&still, "id", &id);
    assert!(t["revoked_at"].is_null(), "{t}");

    // A3: the hint names the list command, not a template.
    let out = env.run(["token", "get", "abc"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("`influx-bootstrap token list`"),
        "{out}"
    );
    assert!(!out.stderr.contains("{list}"), "{out}");

    // A5: on 40 columns no row is wider than the terminal, whole words.
    let out = Pty::start(&env, 40, 24, "management list").wait();
    assert_eq!(out.code, Some(0), "{out}");
    for l in rows(&out.stdout) {
        assert!(width(l) <= 40, "{} columns: {l:?}\n{out}", width(l));
    }
    assert!(out.stdout.contains(&id[..8]), "{out}");
    assert!(out.stdout.contains("STATUS"), "{out}");
    assert!(out.stdout.contains("active"), "{out}");
}

// --- A2, A13, A14: completion, man pages, tokens on the command line -----------

/// What bash's completion function for us offers for `line` (the word
/// under the cursor is the last one; a trailing space starts a new word).
fn complete(script: &std::path::Path, line: &str) -> Vec<String> {
    let driver = r#"
set -u
source "$1"
COMP_LINE="$2"
COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<< "$COMP_LINE"
if [[ "$COMP_LINE" == *" " ]]; then COMP_WORDS+=(""); fi
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
prev=""
if (( COMP_CWORD > 0 )); then prev="${COMP_WORDS[COMP_CWORD-1]}"; fi
# The function `complete -p` names, called as bash calls it.
fn=$(complete -p influx-bootstrap | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
"$fn" influx-bootstrap "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", driver, "driver"])
        .arg(script)
        .arg(line)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_after_a_subcommand() {
    let env = TestEnv::new();
    let out = env.run(["completions", "bash"]);
    out.assert_success();
    let script = env.home().join("influx-bootstrap.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // (line, words that must be offered)
    let cases: [(&str, &[&str]); 6] = [
        ("influx-bootstrap to", &["token"]),
        ("influx-bootstrap mint --st", &["--store"]),
        ("influx-bootstrap mint --format ", &["table", "json"]),
        (
            "influx-bootstrap token ",
            &["create", "list", "get", "revoke"],
        ),
        ("influx-bootstrap management cr", &["create"]),
        ("influx-bootstrap config init --pre", &["--preset"]),
    ];
    for (line, want) in cases {
        let got = complete(&script, line);
        for w in want {
            assert!(got.iter().any(|g| g == w), "{line:?}: {w} not in {got:?}");
        }
    }
}

#[test]
fn a_man_page_for_every_command() {
    let env = TestEnv::new();
    let out = env.run(["man", "mint"]);
    out.assert_success();
    assert!(out.stdout.contains(".TH influx-bootstrap-mint 1"), "{out}");
    assert!(out.stdout.contains(r"\-\-store"), "{out}");
    let out = env.run(["man", "management", "create"]);
    out.assert_success();
    assert!(out.stdout.contains(r"\-\-expires\-in"), "{out}");
    // Every page in a directory, each one `man -l` can read.
    let dir = env.home().join("man1");
    env.run(["man", "--dir", dir.to_str().unwrap()])
        .assert_success();
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for p in [
        "influx-bootstrap.1",
        "influx-bootstrap-mint.1",
        "influx-bootstrap-token-revoke.1",
    ] {
        assert!(pages.iter().any(|n| n == p), "{p} not in {pages:?}");
    }
    let out = env.run(["man", "nosuch"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no man page for `nosuch`"), "{out}");
}

#[test]
fn a_token_on_the_command_line_is_never_echoed() {
    let env = TestEnv::new();
    let token = "M.V1.kFzqAbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    for args in [
        vec!["management", "list", token],
        vec!["management", "list", "--token", token],
        vec!["--mgmt-token", token, "management", "list"],
    ] {
        let out = env.run(&args);
        out.assert_code(2);
        assert!(!out.stderr.contains("kFzq"), "{args:?}\n{out}");
        assert!(!out.stdout.contains("kFzq"), "{args:?}\n{out}");
        assert!(
            out.stderr.contains("INFLUX_BOOTSTRAP_MGMT_TOKEN"),
            "{args:?}\n{out}"
        );
    }
    // influxctl's `auth login` habit gets a tip (P16).
    let out = env.run(["auth", "login"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("tip: influxctl's `auth login` is `influx-bootstrap login` here"),
        "{out}"
    );
    // --help names the variable.
    let out = env.run(["--help"]);
    out.assert_success();
    assert!(out.stdout.contains("INFLUX_BOOTSTRAP_MGMT_TOKEN"), "{out}");
}

// --- config init: shapes it does not edit, what it writes, TLS -----------------

fn init(env: &TestEnv, extra: &[&str]) -> Output {
    let mut args = vec![
        "config",
        "init",
        "--no-check",
        "--issuer",
        "https://kc.example.com/realms/x",
        "--client-id",
        "cli",
    ];
    if !extra.contains(&"--host") {
        args.extend(["--host", "db.example.com"]);
    }
    args.extend(extra);
    env.run(&args)
}

#[test]
fn config_init_keeps_profiles_it_cannot_edit_and_refuses_bad_values() {
    let env = TestEnv::new();
    // Profiles written as an inline array or a single [profile] table, with
    // their mgmt_token: refused, with or without --force, file unchanged.
    let shapes = [
        "profile = [{ name = \"a\", host = \"h\", mgmt_token = \"M.V1.keepme\" }]\n",
        "[profile]\nname = \"a\"\nhost = \"h\"\nmgmt_token = \"M.V1.keepme\"\n",
    ];
    for text in shapes {
        for force in [false, true] {
            env.write_config(text);
            let mut extra = vec!["--profile", "b"];
            if force {
                extra.push("--force");
            }
            let out = init(&env, &extra);
            out.assert_code(2);
            assert!(out.stderr.contains("[[profile]]"), "{out}");
            assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), text);
        }
    }
    std::fs::remove_file(env.config_path()).unwrap();
    // Values with newlines, spaces or no host in them: refused, nothing written.
    let bad: [&[&str]; 5] = [
        &["--profile", "a\nb"],
        &["--host", "db.example.com\nport = \"1\""],
        &["--host", "db example.com"],
        &["--client-id", "cli\n[x]"],
        &["--host", "db.example.com", "--tls-disable"],
    ];
    for extra in bad {
        let out = init(&env, extra);
        out.assert_code(2);
        assert!(!env.config_path().exists(), "{extra:?}\n{out}");
    }
    // Good values are written and read back.
    init(&env, &["--profile", "ok"]).assert_success();
    env.run(["--profile", "ok", "config", "show"])
        .assert_success();
}

#[test]
fn config_init_honours_http_on_loopback_and_checks_the_cluster() {
    let idp = Idp::start();
    let cluster = Cluster::start(&idp);
    let env = TestEnv::new();
    let plain = format!("http://127.0.0.1:{}", cluster.port());
    let base = support::steps::config_init_args(&idp);
    // The URL pasted as the host: plain HTTP kept, the cluster reached.
    let mut args = base.to_vec();
    args.extend(["--host", &plain]);
    let out = env.run(&args);
    out.assert_success();
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(text.contains("disable = true"), "{text}");
    assert!(out.stderr.contains("✓ the cluster answered"), "{out}");
    assert!(out.stderr.contains("Next: influx-bootstrap login"), "{out}");
    env.run(["doctor"]).assert_success();

    // Host and port without the scheme: the plain-HTTP cluster is found
    // out at once, and "Next" is not "login".
    let port = cluster.port().to_string();
    let mut args = base.to_vec();
    args.extend(["--host", "127.0.0.1", "--port", &port, "--force"]);
    let out = env.run(&args);
    out.assert_success();
    assert!(out.stderr.contains("answers plain HTTP"), "{out}");
    assert!(out.stderr.contains("--tls-disable"), "{out}");
    assert!(
        !out.stderr.contains("Next: influx-bootstrap login"),
        "{out}"
    );
    // And --tls-disable writes what doctor needs.
    args.push("--tls-disable");
    env.run(&args).assert_success();
    env.run(["doctor"]).assert_success();
}

// --- first run: an empty file, a file we may not read -------------------------

#[test]
fn an_empty_config_file_gets_the_first_run_advice() {
    let env = TestEnv::new();
    for text in ["", "\n# nothing yet\n"] {
        env.write_config(text);
        let out = env.run(["login", "--browser", "never"]);
        out.assert_code(2);
        assert!(out.stderr.contains("defines no profile"), "{out}");
        assert!(out.stderr.contains("config init"), "{out}");
        assert!(!out.stderr.contains("is not set for profile"), "{out}");
    }
    // P27: `config path` names the state directory too.
    let out = env.run(["config", "path"]);
    out.assert_success();
    assert!(out.stdout.contains("state dir"), "{out}");
}

#[test]
fn an_unreadable_config_file_is_not_reported_missing() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.write_config("[[profile]]\nname = \"default\"\nhost = \"h\"\n");
    let cmd = support::as_unprivileged(&env, env.cmd(["status"]));
    // The config's directory belongs to someone else (root, when the tests
    // run as root) and is 0700.
    let dir = env.config_path().parent().unwrap().to_path_buf();
    if support::is_root() {
        std::os::unix::fs::lchown(&dir, Some(0), Some(0)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if !support::is_root() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let out = support::Running::spawn(cmd).wait_output();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    out.assert_code(2);
    assert!(out.stderr.contains("cannot read config file"), "{out}");
    assert!(out.stderr.contains("permission denied"), "{out}");
    assert!(!out.stderr.contains("does not exist"), "{out}");
    assert_eq!(out.stderr.matches("ermission denied").count(), 1, "{out}");
}

// --- A10: another user's cache directory (the `sudo` case) ---------------------

#[test]
fn doctor_refuses_another_users_cache_directory_as_the_commands_do() {
    let env = TestEnv::new();
    env.write_config(&ProfileToml::for_issuer("https://idp.example.com/", None).build());
    // A cache directory someone else owns: as root, one of `nobody`'s; as
    // anyone else, a directory of root's.
    let dir = if support::is_root() {
        let d = env.home().join("their-cache");
        std::fs::create_dir(&d).unwrap();
        support::chown_tree(&d, support::UNPRIVILEGED, support::UNPRIVILEGED);
        d
    } else {
        std::path::PathBuf::from("/usr")
    };
    let run = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        cmd.env("INFLUX_BOOTSTRAP_CACHE_DIR", &dir);
        support::Running::spawn(cmd).wait_output()
    };
    let status = run(&["status"]);
    status.assert_code(7);
    let doctor = run(&["doctor"]);
    let line = doctor
        .stdout
        .lines()
        .find(|l| l.contains("cache directory"))
        .unwrap_or_else(|| panic!("{doctor}"))
        .to_string();
    assert!(line.contains('✗'), "{line}\n{doctor}");
    // Words, whatever the wrapping.
    let words = |o: &Output| {
        format!("{} {}", o.stdout, o.stderr)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        words(&doctor).contains("directory belongs to another user"),
        "{doctor}"
    );
    if support::is_root() {
        // Root is told not to delete that user's session.
        for out in [&status, &doctor] {
            let text = words(out);
            assert!(text.contains("sudo -H"), "{out}");
            assert!(!text.contains("remove it and log in again"), "{out}");
        }
    }
}

// --- A12: mint's JSON stream has the login's `authorized` event ---------------

#[test]
fn mint_json_emits_the_same_login_events_as_login() {
    let (idp, _cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    let out = support::mint_logging_in(&idp, &env, |_| {});
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    let at = |n: &str| names.iter().position(|e| *e == n);
    assert!(at("authorized").is_some(), "{names:?}\n{out}");
    assert!(at("authorized") < at("minted"), "{names:?}");
    let authorized = &events[at("authorized").unwrap()];
    assert_eq!(authorized["session"], "device_flow", "{authorized}");
    assert_eq!(authorized["email"], "ada@example.test", "{authorized}");
}

/// Issue 21: the provider's discovery runs beside the cluster's pre-flight
/// probe when a login is certain, and is never fetched twice; a saved
/// session fetches nothing from the provider.
#[test]
fn mint_discovers_once_and_a_saved_session_not_at_all() {
    let (idp, cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    support::mint_logging_in(&idp, &env, |_| {
        // The user code is out: the probe passed (it comes first), and the
        // discovery it ran beside is the one the device flow used.
        assert_eq!(cluster.requests("GET /api/v0/management/tokens"), 1);
        assert_eq!(idp.stat("discovery"), 1);
    });
    assert_eq!(idp.stat("device_authorization"), 1);
    // A saved session: nothing is asked of the provider (the cluster, which
    // found the provider's keys while checking the create, asks nothing
    // more either).
    let discovered = idp.stat("discovery");
    env.run(["management", "list", "--format", "json"])
        .assert_success();
    assert_eq!(idp.stat("discovery"), discovered);
    assert_eq!(idp.stat("device_authorization"), 1);
}

// --- A16: a relative `file:` store names one file from anywhere ---------------

#[test]
fn a_relative_file_store_is_made_absolute_for_the_record_and_the_hint() {
    let (idp, _cluster, env) = support::Stack::configured(Idp::start()).parts();
    support::login(&env, &idp, "admin");
    std::fs::create_dir(env.home().join("relative")).unwrap();
    let out = env.run([
        "mint",
        "--description",
        "relative store",
        "--expires-in",
        "1d",
        "--store",
        "file:relative/tok",
    ]);
    out.assert_success();
    let abs = env.home().join("relative/tok");
    assert!(abs.is_file());
    let hint = format!("rotate --store file:{}", abs.display());
    assert!(out.stderr.contains(&hint), "{hint}\n{out}");
    // What the hint says works from another directory, as cron runs it.
    let mut cmd = env.cmd(["rotate", "--store", &format!("file:{}", abs.display())]);
    cmd.current_dir("/");
    support::Running::spawn(cmd).wait_output().assert_success();
}

// --- A8: another web server on the cluster's port ------------------------------

/// A8 and A8b: the cluster's port is the identity provider's, a web server
/// that answers 404 to everything InfluxDB serves. `management` commands
/// used to call it "a stock cluster" (advising influxctl); `token` and
/// `database` commands (the documented API) accepted any answer from its
/// origin, so a person approved a login before the 404 arrived. Each stops
/// with exit 9 before any device code.
#[test]
fn another_web_server_stops_every_command_before_any_device_code() {
    // A short device-code lifetime: without the pre-flight a command would
    // wait for an approval that never comes; this way it ends.
    let idp = Idp::builder().interval(1).code_ttl(2).start();
    let env = TestEnv::new();
    env.write_config(&ProfileToml::new(&idp).plain_http(idp.port()).build());
    let documented = format!(
        "HTTP 404 at http://127.0.0.1:{}/api/v0/databases: not an InfluxDB 3 Management API; check host and port",
        idp.port()
    );
    let cases: [(&[&str], &str); 3] = [
        (
            &["management", "list"],
            "not like an InfluxDB 3 cluster's management API",
        ),
        (&["token", "list", "--browser", "never"], &documented),
        (
            &["database", "create", "db", "--browser", "never"],
            &documented,
        ),
    ];
    for (args, says) in cases {
        let out = env.run(args);
        out.assert_fails(9, &[says])
            .assert_stderr_lacks(&["stock InfluxDB 3 cluster", "influxctl"]);
        assert_eq!(idp.stat("device_authorization"), 0, "{out}");
    }
}

// --- A9: an https:// issuer that speaks plain HTTP ------------------------------

#[test]
fn login_says_plain_http_in_plain_words() {
    let idp = Idp::start();
    let env = TestEnv::new();
    let issuer = format!("https://127.0.0.1:{}", idp.port());
    env.write_config(&ProfileToml::for_issuer(&issuer, None).build());
    let out = env.run(["login", "--browser", "never"]);
    out.assert_code(5);
    assert!(
        out.stderr
            .contains("the server answers plain HTTP, not HTTPS"),
        "{out}"
    );
    assert!(!out.stderr.contains("InvalidContentType"), "{out}");
    assert!(out.stderr.contains("use http:// (loopback only)"), "{out}");
}

/// `config init` on a terminal, its first questions answered (preset,
/// product, host, port, issuer, client id) for `cluster` on loopback.
fn init_in_pty(env: &TestEnv, idp: &Idp, cluster: &Cluster) -> Pty {
    let mut pty = Pty::start(env, 100, 40, "config init");
    pty.wait_for("Identity provider");
    pty.type_in(&format!(
        "\n\n127.0.0.1\n{}\n{}\ninflux-bootstrap\n",
        cluster.port(),
        idp.issuer()
    ));
    pty
}

#[test]
fn config_init_on_a_terminal_offers_plain_http_for_a_local_cluster() {
    let idp = Idp::start();
    let cluster = Cluster::start(&idp);
    let env = TestEnv::new();
    // Then yes to TLS off.
    let mut pty = init_in_pty(&env, &idp, &cluster);
    pty.wait_for("Write `[profile.tls] disable = true`?");
    pty.type_in("y\n");
    let out = pty.wait();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("✓ the cluster answered"), "{out}");
    assert!(out.stdout.contains("Next: influx-bootstrap login"), "{out}");
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(text.contains("disable = true"), "{text}");
}

#[test]
fn config_init_on_a_terminal_asks_for_the_ca_of_an_untrusted_cluster() {
    let idp = Idp::start();
    let cluster = Cluster::builder(&idp).tls().start();
    let ca = cluster
        .ca_path()
        .expect("a TLS cluster has a CA")
        .to_owned();
    let env = TestEnv::new();
    // Then a wrong path, then the CA's PEM file.
    let mut pty = init_in_pty(&env, &idp, &cluster);
    pty.wait_for("Path to the PEM file of the CA");
    pty.type_in("/nonexistent/ca.pem\n");
    pty.wait_for("is not a file");
    pty.type_in(&format!("{}\n", ca.display()));
    let out = pty.wait();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("✓ wrote `[profile.tls] ca`"), "{out}");
    assert!(out.stdout.contains("✓ the cluster answered"), "{out}");
    assert!(out.stdout.contains("Next: influx-bootstrap login"), "{out}");
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(text.contains(&ca.display().to_string()), "{text}");
    env.run(["doctor"]).assert_success();
}
