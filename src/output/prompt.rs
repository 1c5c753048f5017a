//! The device-code prompt on stderr (and the JSON event stream on stdout).
//!
//! RFC 8628 §3.3: show the user code and the verification URI; §3.3.1: the
//! complete URI is for non-textual transmission (a QR code); §5.4: warn the
//! person to approve only a code they initiated, since a phisher can relay a
//! device code of their own.
use crate::auth::LoginUi;
use crate::auth::device::DeviceAuthorization;
use crate::auth::poller::PollEvent;
use crate::cli::{DeviceArgs, When};
use crate::env::Env;
use crate::printer::Printer;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::time::Duration;

pub struct DevicePrompt {
    qr: bool,
    browser: bool,
    /// `$BROWSER` (the first of a `:`-separated list), else the OS opener.
    browser_cmd: Option<String>,
    json: bool,
    /// A terminal that takes a live spinner (not `TERM=dumb`).
    tty: bool,
    printer: Printer,
    spinner: Option<(ProgressBar, tokio::task::JoinHandle<()>)>,
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event<'a> {
    DeviceCode {
        user_code: &'a str,
        verification_uri: &'a str,
        verification_uri_complete: Option<&'a str>,
        expires_at: String,
        interval: u64,
    },
    SlowDown {
        interval: u64,
    },
    Retry {
        status: u16,
        wait: u64,
    },
    Unreachable {
        wait: u64,
        error: &'a str,
    },
    Authorized {
        profile: &'a str,
        subject: Option<&'a str>,
        name: Option<&'a str>,
        email: Option<&'a str>,
        /// The issuer, or absent when the profile names endpoints only
        /// (never the token URL: it is not an issuer and checks nothing).
        #[serde(skip_serializing_if = "Option::is_none")]
        issuer: Option<&'a str>,
        /// Whether the identity comes from a signature-checked ID token.
        #[serde(skip_serializing_if = "Option::is_none")]
        identity_verified: Option<bool>,
        expires_at: Option<String>,
        refreshable: bool,
        session: crate::auth::Obtained,
    },
}

impl DevicePrompt {
    pub fn new(args: &DeviceArgs, json: bool, env: &Env, printer: &Printer) -> Self {
        let tty = printer.stderr_is_terminal();
        let qr = match args.qr {
            When::Always => true,
            When::Never => false,
            When::Auto => tty,
        };
        let browser = match args.browser {
            When::Always => true,
            When::Never => false,
            // A browser opened on a server we reached over SSH is not the
            // person's browser; CI has nobody to look at one.
            When::Auto => env.has_display() && !env.over_ssh() && !env.in_ci(),
        };
        let browser_cmd = env.get("BROWSER").and_then(|b| {
            b.split(':')
                .map(str::trim)
                .find(|s| !s.is_empty())
                .map(str::to_string)
        });
        // TERM=dumb: no escape sequences at all, so no spinner either.
        let tty = tty && env.get("TERM").is_none_or(|t| t != "dumb");
        DevicePrompt {
            qr,
            browser,
            browser_cmd,
            json,
            tty,
            printer: printer.clone(),
            spinner: None,
        }
    }

    fn bold(&self, s: &str) -> String {
        self.printer.bold(s)
    }

    fn emit(&self, e: &Event) {
        if self.json
            && let Err(err) = self.printer.json(e)
        {
            tracing::warn!("cannot write event to stdout: {err}");
        }
    }

    /// The prompt, laid out for the terminal it is on: the QR code first
    /// (when it fits), then where to go and the code, then until when and
    /// the RFC 8628 §5.4 warning, so that on an 80×24 terminal the URL and
    /// the boxed code are on screen at the end even when the QR code has
    /// scrolled away. Text is wrapped to the width, never inside a word.
    fn compose(&self, a: &DeviceAuthorization, expires_at: DateTime<Utc>) -> String {
        // The block is printed as is (styles included): the two values the
        // provider chose are cleaned here so they cannot move the cursor.
        let uri = crate::text::sanitize(&a.verification_uri);
        let code = crate::text::sanitize(&a.user_code);
        let width = self.printer.width();
        let wrap = |t: &str| crate::output::wrap("", t, width);
        let mut s = String::new();
        s.push_str(&wrap(
            "\nTo sign in, open this page in a browser on any device:",
        ));
        s.push_str(&format!("\n  {}\n\n", self.bold(&uri)));
        s.push_str("and enter the code:\n");
        s.push_str(&indent(&big_code(&code), "  "));
        s.push_str(&wrap(&format!(
            "The code expires at {} ({} from now).",
            expires_at.format("%H:%M:%S UTC"),
            crate::text::countdown(a.expires_in),
        )));
        s.push_str(&wrap(&format!(
            "Approve only if the page shows the code {} and you started this login yourself.",
            self.bold(&code)
        )));
        if self.qr {
            // The QR code goes first, and only if all of it, the text above
            // and the wait line fit on the screen together: a QR code whose
            // top has scrolled away cannot be scanned (issue 23, A4).
            let below = s.lines().count() + 1;
            s.insert_str(0, &self.qr_block(a, width, below));
        }
        s
    }

    /// The QR code with its caption, or one line saying why there is none.
    /// Only `https:` URLs (and `http:` on loopback) become QR codes.
    /// `below` is the number of lines printed after it.
    fn qr_block(&self, a: &DeviceAuthorization, width: usize, below: usize) -> String {
        let complete = a
            .verification_uri_complete
            .as_deref()
            .filter(|u| openable(u));
        let Some(target) = complete.or(Some(a.verification_uri.as_str()).filter(|u| openable(u)))
        else {
            return crate::output::wrap(
                "",
                "(no QR code: the verification URL is not an https:// address)\n",
                width,
            );
        };
        let Some(q) = qr_code(target) else {
            return String::new();
        };
        let q = indent(&q, "  ");
        let cols = q.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let rows = q.lines().count() + 1 + below;
        let too_small = cols > width || self.printer.height().is_some_and(|h| rows > h);
        if too_small {
            return crate::output::wrap(
                "",
                &format!(
                    "(QR code skipped: with the code it needs {cols}×{rows} characters and the terminal is {width} wide{})",
                    self.printer
                        .height()
                        .map(|h| format!(", {h} high"))
                        .unwrap_or_default()
                ),
                width,
            );
        }
        let caption = if complete.is_some() {
            "Scan this QR code with a phone (the code is filled in for you):"
        } else {
            "Scan this QR code with a phone to open the page:"
        };
        format!("{}{q}", crate::output::wrap("", caption, width))
    }

    /// Open the page: `$BROWSER` when set, else the OS's opener. A failure
    /// is one plain line.
    fn open_browser(&self, target: &str) {
        if !openable(target) {
            self.printer
                .note("not opening a browser: the verification URL is not an https:// address");
            return;
        }
        let result = match &self.browser_cmd {
            Some(cmd) => spawn_browser(cmd, target).map_err(|e| {
                format!(
                    "`{cmd}` (from $BROWSER) could not be started: {}",
                    crate::text::without_os_error(&e.to_string())
                )
            }),
            None => open::that_detached(target)
                .map_err(|e| crate::text::without_os_error(&e.to_string())),
        };
        if let Err(why) = result {
            self.printer.note(format!(
                "could not open a browser ({why}); open the page yourself"
            ));
        }
    }

    /// A live countdown on a terminal, one line otherwise.
    fn show_waiting(&mut self, expires_at: DateTime<Utc>) {
        if self.tty {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            let pb2 = pb.clone();
            let printer = self.printer.clone();
            let tick = tokio::spawn(async move {
                loop {
                    let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
                    // Read each time: the terminal may be resized.
                    pb2.set_message(waiting_line(&crate::text::countdown(left), printer.width()));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            self.spinner = Some((pb, tick));
        } else {
            self.printer.status(format!(
                "Waiting for approval (until {})…",
                expires_at.format("%H:%M:%S UTC")
            ));
        }
    }
}

/// The spinner's message, short enough that the spinner, a space and it fit
/// in `width` columns: a redrawn line that wraps leaves a copy of itself
/// behind at every redraw (issue 19, item 13). One column is kept free,
/// since some terminals wrap when the last column is written.
fn waiting_line(left: &str, width: usize) -> String {
    let room = width.saturating_sub(3);
    [
        format!("waiting for approval… (expires in {left})"),
        format!("waiting… (expires in {left})"),
        format!("waiting… ({left})"),
        left.to_string(),
    ]
    .into_iter()
    .find(|m| m.chars().count() <= room)
    .unwrap_or_default()
}

/// The user code in a box, letters spaced, so `0`/`O` and `1`/`I` confusions
/// are less likely and it stands out in a scrolling terminal.
pub fn big_code(code: &str) -> String {
    // The code exactly as issued, nothing inserted: some providers
    // (django-oauth-toolkit) compare user codes literally, so a space the
    // person copies from here is a refused code (RFC 8628 §6.1 leaves
    // normalisation to the server; we cannot count on it).
    let inner = code.chars().count() + 6;
    let bar: String = "═".repeat(inner);
    format!("╔{bar}╗\n║   {code}   ║\n╚{bar}╝")
}

pub fn qr_code(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Only `https:` URLs, and `http:` on a loopback host, are ever opened or
/// turned into QR codes (a provider's answer must not make us open
/// `file:`, `javascript:` or a plain-HTTP page elsewhere).
pub fn openable(u: &str) -> bool {
    match url::Url::parse(u) {
        Ok(url) => match url.scheme() {
            "https" => true,
            "http" => crate::http::is_loopback(&url),
            _ => false,
        },
        Err(_) => false,
    }
}

/// `$BROWSER URL` (`%s` in the command is replaced by the URL, as the
/// convention allows), detached, its output discarded.
fn spawn_browser(cmd: &str, url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut parts = cmd.split_whitespace();
    let program = parts.next().unwrap_or(cmd);
    let mut args: Vec<String> = parts.map(|p| p.replace("%s", url)).collect();
    if !cmd.contains("%s") {
        args.push(url.to_string());
    }
    Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

impl LoginUi for DevicePrompt {
    fn device_code(&mut self, a: &DeviceAuthorization, expires_at: DateTime<Utc>) {
        self.emit(&Event::DeviceCode {
            user_code: &a.user_code,
            verification_uri: &a.verification_uri,
            verification_uri_complete: a.verification_uri_complete.as_deref(),
            expires_at: crate::text::rfc3339(expires_at),
            interval: a.interval.as_secs(),
        });
        self.printer.block(&self.compose(a, expires_at));
        if self.browser {
            // A complete URI we would not open (`file:`, `javascript:`)
            // falls back to the plain one rather than to no browser at all.
            let target = a
                .verification_uri_complete
                .as_deref()
                .filter(|u| openable(u))
                .unwrap_or(&a.verification_uri);
            self.open_browser(target);
        }
        self.show_waiting(expires_at);
    }

    fn poll_event(&mut self, e: &PollEvent) {
        // One event for `--json-events` and one note for people, per answer.
        let (event, note) = match e {
            PollEvent::SlowDown { interval } => {
                let interval = interval.as_secs();
                let note =
                    format!("the identity provider asked to slow down; polling every {interval}s");
                (Event::SlowDown { interval }, note)
            }
            PollEvent::RetryLater { wait, status } => {
                let (status, wait) = (*status, wait.as_secs());
                let note =
                    format!("the identity provider is busy (HTTP {status}); retrying in {wait}s");
                (Event::Retry { status, wait }, note)
            }
            PollEvent::Unreachable { wait, error } => {
                let wait = wait.as_secs();
                let note =
                    format!("cannot reach the identity provider ({error}); retrying in {wait}s");
                (Event::Unreachable { wait, error }, note)
            }
        };
        self.emit(&event);
        match &self.spinner {
            Some((pb, _)) => pb.println(format!("note: {note}")),
            None => self.printer.note(note),
        }
    }

    fn authorized(&mut self, profile: &str, acquired: &crate::auth::Acquired) {
        let s = &acquired.session;
        let id = s.identity.as_ref();
        self.emit(&Event::Authorized {
            profile,
            subject: id.map(|i| i.subject.as_str()),
            name: id.and_then(|i| i.name.as_deref()),
            email: id.and_then(|i| i.email.as_deref()),
            issuer: s.issuer.as_deref(),
            identity_verified: id.map(|i| i.verified),
            expires_at: s.expires_at.map(crate::text::rfc3339),
            refreshable: s.refresh_token.is_some(),
            session: acquired.how,
        });
    }

    fn waiting_for_other_process(&mut self) {
        self.printer
            .status("Waiting for another influx-bootstrap process using this session…");
    }

    fn finish(&mut self) {
        if let Some((pb, tick)) = self.spinner.take() {
            tick.abort();
            pb.finish_and_clear();
        }
    }
}

impl Drop for DevicePrompt {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_code_boxes_the_code_exactly_as_issued() {
        for code in ["WDJB-MJHT", "9P7CT252", "ab1-l0O", "X"] {
            let b = big_code(code);
            let lines: Vec<&str> = b.lines().collect();
            assert_eq!(lines.len(), 3, "{b}");
            assert_eq!(lines[0].chars().count(), lines[1].chars().count(), "{b}");
            assert_eq!(lines[2].chars().count(), lines[1].chars().count(), "{b}");
            // Between the frame, only the code and its padding.
            let inside = lines[1].trim_matches('║');
            assert_eq!(inside.trim(), code, "{b}");
            assert_eq!(inside, format!("   {code}   "), "{b}");
        }
    }

    #[test]
    fn only_https_and_loopback_http_are_opened() {
        let cases = [
            ("https://idp.example.com/device", true),
            ("http://127.0.0.1:8080/device", true),
            ("http://localhost/device", true),
            ("http://idp.example.com/device", false),
            ("file:///etc/passwd", false),
            ("javascript:alert(1)", false),
            ("not a url", false),
        ];
        for (u, want) in cases {
            assert_eq!(openable(u), want, "{u}");
        }
    }

    #[test]
    fn the_waiting_line_fits_the_terminal() {
        for width in [20, 30, 40, 41, 43, 80] {
            for left in ["9:58", "10:00", "1:00:00"] {
                let line = format!("⠤ {}", waiting_line(left, width));
                assert!(line.chars().count() < width, "{width}: {line:?}");
                assert!(line.contains(left) || width < 10, "{width}: {line:?}");
            }
        }
        assert_eq!(
            waiting_line("9:58", 80),
            "waiting for approval… (expires in 9:58)"
        );
    }

    #[test]
    fn qr_renders() {
        let q = qr_code("https://idp.example.com/device?user_code=WDJB-MJHT").unwrap();
        assert!(q.lines().count() > 10);
    }
}
