//! The device prompt on a real pseudo-terminal (util-linux `script`, sized
//! with `stty`): on 80×24 the URL and the boxed code are on screen at the
//! end, QR code first and never wider than the terminal, text wrapped at
//! words, "Signed in as" before anything is created; `TERM=dumb`,
//! `NO_COLOR` and `--no-color` get no escape sequences; `$BROWSER` is
//! honoured and a failure to start it is one plain line.

use crate::support;

use support::cluster::Cluster;
use support::pty::{in_pty, lines_until};
use support::{Idp, Output, ProfileToml, Running, TestEnv};

/// A provider, a cluster and a configured environment for runs on a
/// pseudo-terminal.
struct Tty {
    idp: Idp,
    _cluster: Cluster,
    env: TestEnv,
}

impl Tty {
    /// `args` on a `cols`×`rows` pseudo-terminal until it shows `until`,
    /// then approved as `admin`: the lines seen until then, and the run's
    /// output (exit 0 checked).
    fn approved(&self, size: (u16, u16), args: &str, until: &str) -> (Vec<String>, Output) {
        self.approved_with(size, args, &[], until)
    }

    /// [`Tty::approved`] with `env_vars` added to the test environment
    /// (`None` removes one).
    fn approved_with(
        &self,
        (cols, rows): (u16, u16),
        args: &str,
        env_vars: &[(&str, Option<&str>)],
        until: &str,
    ) -> (Vec<String>, Output) {
        let mut run = in_pty(&self.env, cols, rows, args, env_vars);
        let shown = lines_until(&mut run, until);
        approve(&self.idp);
        let out = run.wait_output();
        assert_eq!(out.code, Some(0), "{out}");
        (shown, out)
    }
}

/// Approve the one pending device code as `admin`.
fn approve(idp: &Idp) {
    let codes = idp.pending_user_codes();
    assert_eq!(codes.len(), 1, "{codes:?}");
    idp.approve(&codes[0], "admin");
}

fn setup() -> (Idp, Cluster, TestEnv) {
    let (idp, cluster, env) =
        support::Stack::configured(Idp::builder().interval(1).start()).parts();
    (idp, cluster, env)
}

fn tty() -> Tty {
    let (idp, _cluster, env) = setup();
    Tty { idp, _cluster, env }
}

fn width(l: &str) -> usize {
    console::measure_text_width(l)
}

#[test]
fn on_80x24_the_url_and_the_boxed_code_are_on_screen_at_the_end() {
    let t = tty();
    let args = "management list --browser never";
    let (shown, out) = t.approved((80, 24), args, "Approve only if");

    // The last 24 rows of the screen, when the person is asked to approve
    // (the wait line comes after them): the URL and the whole box are there.
    let screen: Vec<&String> = shown.iter().rev().take(23).collect();
    let url = format!("http://127.0.0.1:{}/device", t.idp.port());
    assert!(screen.iter().any(|l| l.contains(&url)), "{shown:#?}");
    for edge in ['╔', '║', '╚'] {
        assert!(screen.iter().any(|l| l.contains(edge)), "{edge} {shown:#?}");
    }
    // No QR code: with the text it would be taller than 24 rows, and a QR
    // code whose top scrolled away cannot be scanned (issue 23, A4).
    let text = shown.join("\n");
    assert!(
        text.contains("(QR code skipped: with the code it needs"),
        "{text}"
    );
    assert!(!text.contains('▀'), "{text}");
    // Every row the terminal shows (a spinner redraws its row after `\r`).
    for l in out.stdout.lines().flat_map(|l| l.split('\r')) {
        assert!(width(l) <= 80, "{} columns: {l:?}", width(l));
    }
    // Who approved is named before the command does anything with it.
    let signed = out
        .stdout
        .find("Signed in as Ada Admin <ada@example.test>.");
    assert!(signed.is_some(), "{out}");
}

#[test]
fn a_qr_code_only_when_all_of_it_and_the_code_fit_on_the_screen() {
    let t = tty();
    let (shown, _) = t.approved((80, 40), "login --browser never", "yourself.");
    // From the caption to the warning (and the wait line after it): all
    // on one screen of 40 rows.
    let qr_at = shown
        .iter()
        .position(|l| l.contains("Scan this QR code"))
        .unwrap_or_else(|| panic!("{shown:#?}"));
    assert!(shown.len() - qr_at < 40, "{shown:#?}");
    let url = format!("http://127.0.0.1:{}/device", t.idp.port());
    let url_at = shown.iter().position(|l| l.contains(&url)).unwrap();
    assert!(qr_at < url_at, "{shown:#?}");
}

#[test]
fn a_small_terminal_skips_the_qr_code_and_wraps_at_words() {
    let t = tty();
    let (shown, out) = t.approved((40, 24), "login --browser never", "yourself.");
    // The redrawn wait line fits too: one that wraps leaves a copy of
    // itself at every redraw (issue 19, item 13).
    assert!(out.stdout.contains("waiting…"), "{out:?}");
    let redrawn = out.stdout.lines().flat_map(|l| l.split('\r'));
    for l in redrawn.filter(|l| l.contains("waiting")) {
        assert!(width(l) <= 40, "{} columns: {l:?}", width(l));
    }
    let text = shown.join("\n");
    assert!(text.contains("(QR code skipped:"), "{text}");
    assert!(!text.contains('█') && !text.contains('▀'), "{text}");
    for l in &shown {
        assert!(width(l) <= 40, "{} columns: {l:?}", width(l));
    }
    // Wrapped at spaces: every word of the warning is whole on some line.
    for word in ["Approve", "yourself."] {
        assert!(
            shown.iter().any(|l| l.split(' ').any(|w| w == word)),
            "{word}\n{text}"
        );
    }
}

/// Styles (SGR sequences such as bold) on a colour terminal only; none with
/// NO_COLOR or --no-color (the spinner may still redraw its row); no escape
/// sequence at all with TERM=dumb.
#[test]
fn colour_only_on_a_terminal_that_wants_it() {
    let t = tty();
    let bold = "\x1b[1m";
    let login = "login --browser never --force";
    // (args, variables, bold expected, any escape expected)
    let cases: Vec<(&str, Vec<(&str, Option<&str>)>, bool, bool)> = vec![
        (login, vec![("NO_COLOR", None)], true, true),
        (
            login,
            vec![("NO_COLOR", None), ("TERM", Some("dumb"))],
            false,
            false,
        ),
        (login, vec![("NO_COLOR", Some("1"))], false, true),
        (
            "--no-color login --browser never --force",
            vec![("NO_COLOR", None)],
            false,
            true,
        ),
    ];
    for (args, vars, styled, escapes) in cases {
        let (_, out) = t.approved_with((100, 40), args, &vars, "yourself.");
        assert_eq!(
            out.stdout.contains(bold),
            styled,
            "{args} {vars:?}\n{out:?}"
        );
        assert_eq!(
            out.stdout.contains('\x1b'),
            escapes,
            "{args} {vars:?}\n{out:?}"
        );
    }
}

#[test]
fn browser_is_honoured_and_a_failure_is_one_plain_line() {
    let (idp, _cluster, env) = setup();
    let browser = support::FifoBrowser::new(&env);
    let mut cmd = env.cmd(["login", "--browser", "always"]);
    cmd.env("BROWSER", browser.command());
    let run = Running::spawn(cmd);
    let opened = browser.opened();
    assert!(
        opened.starts_with(&format!("http://127.0.0.1:{}/device", idp.port())),
        "{opened}"
    );
    approve(&idp);
    run.wait_output().assert_success();

    // A $BROWSER that does not exist: one plain line, and the login goes on.
    let mut cmd = env.cmd(["login", "--force", "--browser", "always"]);
    cmd.env("BROWSER", "/nonexistent/browser");
    let run = Running::spawn(cmd);
    run.wait_for_stderr("open the page yourself");
    approve(&idp);
    let out: Output = run.wait_output();
    out.assert_success();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("could not open"))
        .collect();
    assert_eq!(
        lines,
        [
            "note: could not open a browser (`/nonexistent/browser` (from $BROWSER) could not be started: No such file or directory); open the page yourself"
        ],
        "{out}"
    );
    assert!(!out.stderr.contains("Os {"), "{out}");
}

#[test]
fn lists_fit_the_terminal_and_stay_whole_in_a_pipe() {
    let env = TestEnv::new();
    let issuer = "https://login.example.com/a/rather/long/path/to/the/realm/of/influxdb/admins/";
    env.write_config(&ProfileToml::for_issuer(issuer, None).build());
    let out = in_pty(&env, 60, 24, "config show", &[]).wait_output();
    assert_eq!(out.code, Some(0), "{out}");
    // The table's rows (the "Config file:" line above it is a path).
    for l in out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("Config file:"))
    {
        assert!(width(l) <= 60, "{} columns: {l:?}", width(l));
    }
    assert!(out.stdout.contains('…'), "{out}");
    // Piped: every value whole.
    let piped = env.run(["config", "show"]);
    piped.assert_success();
    assert!(piped.stdout.contains(issuer), "{piped}");
    assert!(!piped.stdout.contains('…'), "{piped}");
}

#[test]
fn verbose_logs_in_a_pipe_or_file_have_no_escape_sequences() {
    let idp = Idp::start();
    let nothing_there = ProfileToml::new(&idp).plain_http(support::free_port());
    let env = TestEnv::with_profiles(&[nothing_there]);
    let mut cmd = env.cmd(["-vv", "doctor"]);
    cmd.env_remove("NO_COLOR").env("TERM", "xterm-256color");
    let out = Running::spawn(cmd).wait_output();
    assert!(out.stderr.contains("DEBUG"), "{out}");
    assert!(!out.stderr.contains('\x1b'), "{out:?}");
}

#[test]
fn token_lists_on_a_terminal_have_short_ids_a_status_and_relative_times() {
    let (idp, _cluster, env) = setup();
    support::login(&env, &idp, "admin");
    let id = created_id(&env, &["--description", "pty list", "--expires-in", "90d"]);
    let short = &id[..8];

    let out = in_pty(&env, 120, 24, "management list", &[]).wait_output();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("STATUS"), "{out}");
    assert!(out.stdout.contains(short), "{out}");
    assert!(!out.stdout.contains(&id), "the full id is for pipes: {out}");
    assert!(out.stdout.contains("active"), "{out}");
    // Nearest, as the summary says it (issue 19 item 16).
    assert!(out.stdout.contains("in 90 days"), "{out}");
    // Piped: the full id and RFC 3339 times, as before.
    let piped = env.run(["management", "list"]);
    piped.assert_success();
    assert!(piped.stdout.contains(&id), "{piped}");
    assert!(!piped.stdout.contains("in 90 days"), "{piped}");

    // What the terminal showed can be typed back.
    env.run(["management", "revoke", "--force", short])
        .assert_success();
    let out = in_pty(&env, 120, 24, "management list", &[]).wait_output();
    assert!(out.stdout.contains("revoked"), "{out}");

    // Database tokens the same way; `token get` takes the short id.
    let made = env.run([
        "token",
        "create",
        "--description",
        "pty db",
        "--read-database",
        "db",
        "--format",
        "json",
    ]);
    made.assert_success();
    let id = made.stdout_json()["id"].as_str().unwrap().to_string();
    let out = in_pty(&env, 120, 24, "token list", &[]).wait_output();
    assert!(out.stdout.contains(&id[..8]), "{out}");
    assert!(out.stdout.contains("never"), "{out}");
    assert!(out.stdout.contains("read:db"), "{out}");
    let got = env.run(["token", "get", &id[..8], "--format", "json"]);
    got.assert_success();
    assert_eq!(got.stdout_json()["id"], id.as_str());
    // Too short, or matching nothing: clear errors.
    env.run(["token", "get", "abc"]).assert_code(2);
    env.run(["token", "get", "zzzzzzzz"]).assert_code(1);
}

/// `management create ARGS`: the new token's id.
fn created_id(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["management", "create", "--format", "json"];
    all.extend_from_slice(args);
    let made = env.run(all);
    made.assert_success();
    made.stdout_json()["id"].as_str().unwrap().to_string()
}

/// Issue 19 item 11: `management revoke PREFIX` asks about the resolved id
/// and its description, never about the prefix as typed (a typo resolves to
/// another token). No answer (end of input): nothing is revoked.
#[test]
fn revoke_asks_about_the_resolved_id_and_its_description() {
    let (idp, _cluster, env) = setup();
    support::login(&env, &idp, "admin");
    let id = created_id(&env, &["--description", "the one to keep"]);
    let out = in_pty(
        &env,
        200,
        24,
        &format!("management revoke {}", &id[..6]),
        &[],
    )
    .wait_output();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        // The description as the cluster keeps it: with our run marker.
        out.stdout.contains(&format!(
            "Revoke 1 management token: {id} (the one to keep [ib:"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("nothing was revoked"), "{out}");
    let listed = env.run(["management", "list", "--format", "json"]);
    assert!(listed.stdout_json()[0]["revoked_at"].is_null(), "{listed}");
}
