//! The one printer every human line and every JSON document goes through.
//!
//! Modelled on uv's `Printer`: commands and domain code say *what* to tell
//! (a status line, a note, a warning, a data document); this type alone
//! knows about terminals, width, colour (`NO_COLOR`, `TERM=dumb`), `--quiet`,
//! broken pipes and the sanitising of text that may come from a server.
//!
//! - stderr is for people. Writing to it never fails the command: a closed
//!   or full stderr (`2>/dev/full`, an SSH session that went away) must not
//!   abort a pipeline that holds a freshly created token.
//! - stdout is for data. A reader that goes away (`| head`) is not an error:
//!   the rest of the data is dropped quietly, as ripgrep does.
//! - Every JSON document we print uses snake_case keys (as influxctl's
//!   `--format json` and the OAuth RFCs do), one document per line.
//!
//! A leaf module (it imports only `env` and `text`), so domain modules can
//! hold a `Printer` without import cycles.
use crate::env::Env;
use serde::Serialize;
use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Where lines go: the real streams, or memory (unit tests).
enum Sink {
    Process,
    Capture(Mutex<Captured>),
}

/// What a capturing printer saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captured {
    pub stderr: String,
    pub stdout: String,
}

struct Inner {
    quiet: bool,
    color: bool,
    stderr_tty: bool,
    /// stdin and stderr are terminals and `CI` is unset: a person can
    /// answer (a CI runner may give jobs a pseudo-terminal).
    person: bool,
    sink: Sink,
    /// Set once stdout's reader has gone away: later data is dropped.
    stdout_closed: AtomicBool,
}

/// Cheap to clone (an `Arc`); hold one wherever something may need saying.
#[derive(Clone)]
pub struct Printer(Arc<Inner>);

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("quiet", &self.0.quiet)
            .field("color", &self.0.color)
            .finish()
    }
}

impl Printer {
    /// The process's streams, with terminal detection and `NO_COLOR`.
    pub fn new(env: &Env, quiet: bool) -> Self {
        Self::with_color(env, quiet, true)
    }

    /// Like [`Printer::new`]; `color: false` is `--no-color`. Colour and
    /// styles only on a terminal, never with `NO_COLOR` or `TERM=dumb`
    /// (no-color.org).
    pub fn with_color(env: &Env, quiet: bool, color: bool) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let person = stderr_tty && std::io::stdin().is_terminal() && !env.in_ci();
        let color = color
            && stderr_tty
            && !env.is_set("NO_COLOR")
            && env.get("TERM").is_none_or(|t| t != "dumb");
        Printer(Arc::new(Inner {
            quiet,
            color,
            stderr_tty,
            person,
            sink: Sink::Process,
            stdout_closed: AtomicBool::new(false),
        }))
    }

    /// A printer that records everything in memory, for unit tests.
    pub fn capture() -> Self {
        Printer(Arc::new(Inner {
            quiet: false,
            color: false,
            stderr_tty: false,
            person: false,
            sink: Sink::Capture(Mutex::new(Captured::default())),
            stdout_closed: AtomicBool::new(false),
        }))
    }

    /// What a [`Printer::capture`] printer has recorded so far.
    pub fn captured(&self) -> Captured {
        match &self.0.sink {
            Sink::Capture(c) => c.lock().map(|c| c.clone()).unwrap_or_default(),
            Sink::Process => Captured::default(),
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.0.quiet
    }

    /// Is stderr a terminal (a person is probably reading)?
    pub fn stderr_is_terminal(&self) -> bool {
        self.0.stderr_tty
    }

    /// Is a person there to answer (stdin and stderr terminals, not CI)?
    pub fn person_present(&self) -> bool {
        self.0.person
    }

    /// Columns of the terminal on stderr (80 when unknown or not a terminal).
    pub fn width(&self) -> usize {
        if !self.0.stderr_tty {
            return 80;
        }
        console::Term::stderr()
            .size_checked()
            .map_or(80, |(_, cols)| usize::from(cols).max(20))
    }

    /// Rows of the terminal on stderr (None when not a terminal or unknown).
    pub fn height(&self) -> Option<usize> {
        if !self.0.stderr_tty {
            return None;
        }
        console::Term::stderr()
            .size_checked()
            .map(|(rows, _)| usize::from(rows))
    }

    /// Are colours and styles on?
    pub fn color(&self) -> bool {
        self.0.color
    }

    /// Bold, when colour is on.
    pub fn bold(&self, s: &str) -> String {
        if self.0.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Progress and results for people ("✓ file:/x: wrote …"). Silenced by
    /// `--quiet`.
    pub fn status(&self, line: impl std::fmt::Display) {
        if !self.0.quiet {
            self.stderr(&clean(&line.to_string()));
        }
    }

    /// "note: …": useful, not essential. Silenced by `--quiet`.
    pub fn note(&self, line: impl std::fmt::Display) {
        if !self.0.quiet {
            self.stderr(&format!("note: {}", clean(&line.to_string())));
        }
    }

    /// "warning: …": shown even with `--quiet`.
    pub fn warn(&self, line: impl std::fmt::Display) {
        self.stderr(&format!("warning: {}", clean(&line.to_string())));
    }

    /// An error report line ("error: …", "hint: …"): always shown.
    pub fn error(&self, line: impl std::fmt::Display) {
        self.stderr(&clean(&line.to_string()));
    }

    /// Text we composed ourselves, styles included (the device prompt, a
    /// summary table that cannot go to stdout). Always shown: a person must
    /// see the code they are asked to enter, whatever `--quiet` says. Callers
    /// sanitise the server-provided parts they embed.
    pub fn block(&self, text: &str) {
        self.stderr_raw(text);
    }

    /// A question on stderr, without a newline (the answer is typed after it).
    pub fn ask(&self, question: &str) {
        self.stderr_raw(&clean(question));
    }

    /// Data on stdout. A closed stdout drops the rest quietly; other
    /// failures (a full disk behind a redirect) are returned.
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        if self.0.stdout_closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let r = match &self.0.sink {
            Sink::Capture(c) => {
                if let Ok(mut c) = c.lock() {
                    c.stdout.push_str(text);
                }
                Ok(())
            }
            Sink::Process => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
        };
        match r {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.0.stdout_closed.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }

    /// One JSON document (or event) per line on stdout, flushed at once so a
    /// wrapper reading the stream sees it immediately.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> std::io::Result<()> {
        // No bidi or invisible character reaches a terminal.
        let mut line = Vec::with_capacity(256);
        crate::text::json_to_writer(&mut line, value).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.data(&String::from_utf8(line).map_err(std::io::Error::other)?)
    }

    /// Data on stdout written in pieces by `write` (a list of 10,000 tokens,
    /// never held whole in memory), through one buffered lock; flushed once
    /// at the end. A closed stdout drops the rest quietly, as [`Self::data`].
    pub fn data_with(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if self.0.stdout_closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let r = match &self.0.sink {
            Sink::Capture(c) => {
                let mut buf = Vec::new();
                let r = write(&mut buf);
                if let Ok(mut c) = c.lock() {
                    c.stdout.push_str(&String::from_utf8_lossy(&buf));
                }
                r
            }
            Sink::Process => {
                let mut out =
                    std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
                write(&mut out).and_then(|()| out.flush())
            }
        };
        match r {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.0.stdout_closed.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }

    fn stderr(&self, line: &str) {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.stderr_raw(&text);
    }

    fn stderr_raw(&self, text: &str) {
        match &self.0.sink {
            Sink::Capture(c) => {
                if let Ok(mut c) = c.lock() {
                    c.stderr.push_str(text);
                }
            }
            Sink::Process => {
                // Never `eprintln!`: it panics when stderr is gone.
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
            }
        }
    }
}

/// Keep line breaks and tabs, make every other control character (ESC
/// included) and every bidi or invisible format character visible
/// (`\x1b`, `\u{202e}`), so text a server chose cannot move the cursor,
/// recolour the terminal or disguise a line (issue 11, item 10).
fn clean(s: &str) -> String {
    crate::text::escape_keeping_lines(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cleaned_and_routed() {
        let p = Printer::capture();
        p.status("✓ stored\x1b[2J");
        p.note("two\nlines");
        p.warn("careful");
        p.data("token\n").unwrap();
        p.json(&serde_json::json!({"event": "minted"})).unwrap();
        let c = p.captured();
        assert_eq!(
            c.stderr,
            "✓ stored\\x1b[2J\nnote: two\nlines\nwarning: careful\n"
        );
        assert_eq!(c.stdout, "token\n{\"event\":\"minted\"}\n");
    }

    #[test]
    fn quiet_keeps_warnings_errors_and_blocks() {
        let p = Printer(Arc::new(Inner {
            quiet: true,
            color: false,
            stderr_tty: false,
            person: false,
            sink: Sink::Capture(Mutex::new(Captured::default())),
            stdout_closed: AtomicBool::new(false),
        }));
        let cases: [(&dyn Fn(&Printer), &str); 5] = [
            (&|p| p.status("progress"), ""),
            (&|p| p.note("n"), ""),
            (&|p| p.warn("w"), "warning: w\n"),
            (&|p| p.error("error: e"), "error: e\n"),
            (&|p| p.block("CODE\n"), "CODE\n"),
        ];
        for (say, want) in cases {
            let before = p.captured().stderr.len();
            say(&p);
            assert_eq!(&p.captured().stderr[before..], want);
        }
    }

    #[test]
    fn bold_only_with_colour() {
        assert_eq!(Printer::capture().bold("x"), "x");
    }
}
