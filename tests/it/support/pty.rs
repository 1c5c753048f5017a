//! The CLI on a real pseudo-terminal (util-linux `script`, sized with
//! `stty`): read line by line ([`in_pty`], [`lines_until`]) or typed into
//! ([`Pty`]).

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;

use super::{Collected, DEFAULT_TIMEOUT, Output, Running, TestEnv};

/// `script` running the binary with `args` on a `cols`×`rows`
/// pseudo-terminal, with the test environment only, `TERM=xterm` and
/// `env_vars` (`None` removes one); the caller chooses stdin, stdout and
/// stderr.
pub fn pty_command(
    env: &TestEnv,
    cols: u16,
    rows: u16,
    args: &str,
    env_vars: &[(&str, Option<&str>)],
) -> Command {
    let mut cmd = env.wrapper("script", &env.cmd(["unused"]));
    cmd.args(["-q", "-e", "-c"])
        .arg(format!(
            "stty cols {cols} rows {rows}; exec {} {args}",
            super::bin_path().display()
        ))
        .arg("/dev/null")
        .env("TERM", "xterm");
    for (k, v) in env_vars {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

/// `args` on a `cols`×`rows` pseudo-terminal with nothing typed in;
/// `env_vars` as for [`pty_command`].
pub fn in_pty(
    env: &TestEnv,
    cols: u16,
    rows: u16,
    args: &str,
    env_vars: &[(&str, Option<&str>)],
) -> Running {
    let mut cmd = pty_command(env, cols, rows, args, env_vars);
    cmd.stdin(Stdio::null());
    Running::spawn(cmd)
}

/// Read terminal lines until one contains `needle`; return them all.
pub fn lines_until(run: &mut Running, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let l = run.next_stdout_line(DEFAULT_TIMEOUT);
        let done = l.contains(needle);
        seen.push(l);
        if done {
            return seen;
        }
    }
}

/// A program on a `cols`×`rows` pseudo-terminal that the test types into.
pub struct Pty {
    child: Child,
    input: ChildStdin,
    /// What the terminal showed so far.
    screen: Arc<Collected>,
}

impl Pty {
    /// `args` on a `cols`×`rows` pseudo-terminal, to be typed into.
    pub fn start(env: &TestEnv, cols: u16, rows: u16, args: &str) -> Pty {
        Pty::spawn(pty_command(env, cols, rows, args, &[]))
    }

    /// Spawns `cmd` (from [`pty_command`]) to be typed into.
    pub fn spawn(mut cmd: Command) -> Pty {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn script");
        let input = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let screen = Collected::read_from(out, || ());
        Pty {
            child,
            input,
            screen,
        }
    }

    /// Wait (woken by every chunk) until the terminal shows `needle`.
    #[track_caller]
    pub fn wait_for(&self, needle: &str) {
        if let Err(why) = self.screen.wait_for(needle) {
            panic!("{needle:?} never showed ({why}):\n{}", self.screen.text());
        }
    }

    pub fn type_in(&mut self, keys: &str) {
        // The program may be gone already (that is what some tests expect).
        let _ = self.input.write_all(keys.as_bytes());
        let _ = self.input.flush();
    }

    /// Closes the input, waits for the end: all the terminal showed, as
    /// stdout.
    pub fn wait(self) -> Output {
        drop(self.input);
        let status = test_support::process::wait_or_panic(self.child, DEFAULT_TIMEOUT, "script");
        self.screen.wait_closed();
        Output {
            status,
            code: status.code(),
            stdout: self.screen.text(),
            stderr: String::new(),
        }
    }
}
