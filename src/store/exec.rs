//! `exec:COMMAND`: hand the token to another program on its stdin.
//!
//! The command runs as `sh -c COMMAND`. Its stdin gets the token and a
//! newline, then end-of-file; the token is never in its argv or environment.
//!
//! Environment: the child inherits ours (so `PATH`, `HOME`, `VAULT_ADDR`,
//! `KUBECONFIG`, cloud credentials… keep working) minus `INFLUX_MGMT_TOKEN`,
//! every name in [`crate::env::VARS`], every name in
//! [`StoreOptions::exec_env_remove`] (the command fills it with the
//! `INFLUX_BOOTSTRAP_*` names actually present, which may include a
//! management token), and every variable whose name starts with `INFLUX` and
//! contains `TOKEN` (`INFLUX_TOKEN`, `INFLUXDB3_AUTH_TOKEN`,
//! `INFLUX_BOOTSTRAP_MGMT_TOKEN`…: other tools' tokens are no business of a
//! secret-manager command). We remove by name through `std::process::Command`
//! (the names come from [`crate::env::Env::process_names`]).
//!
//! Output: the child's stdout goes to our stderr (our stdout is for data),
//! line by line, with the token masked should the command echo it. Its stderr
//! is captured; on failure it is part of the error (token masked, control
//! characters removed, at most about 2 KB). A non-zero exit, death by signal
//! or running past [`StoreOptions::exec_timeout`] (SIGTERM, then SIGKILL a
//! second later) is a failure.
//!
//! The command runs in its **own process group** (`process_group(0)`): on a
//! timeout or a failure the whole group is killed (SIGTERM, then SIGKILL) and
//! waited for, so a background grandchild (`sh -c 'slow-upload &'`) that holds
//! the token cannot write it somewhere after we rolled back. The price: Ctrl-C
//! on the terminal no longer reaches the command directly; we stop it
//! ourselves.
use super::util;
use super::{StoreError, StoreOptions, StoreOutcome};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Cap on the captured stderr kept in memory (the rest is read and dropped).
const STDERR_CAP: usize = 256 * 1024;
/// How long to wait for output still buffered in pipes once the child exited
/// (a background grandchild may hold them open for ever).
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// Bound for `sh -n` in `check`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Variables never passed to the child, whatever the options say.
const ALWAYS_REMOVE: &[&str] = &[
    "INFLUX_MGMT_TOKEN",
    "INFLUX_BOOTSTRAP_TLS_CERT",
    "INFLUX_BOOTSTRAP_TLS_KEY",
];

pub(super) fn write(
    command: &str,
    token: &str,
    opts: &StoreOptions,
) -> Result<StoreOutcome, StoreError> {
    run(command, token, opts, &[], Box::new(std::io::stderr()))
}

pub(super) use crate::env::is_token_var;

/// The program a command starts with, when it is a plain word we can look
/// up (not a keyword, assignment, expansion, subshell…).
pub(super) fn first_program(command: &str) -> Option<&str> {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
        "in", "function", "select", "time", "!", "{", "}",
    ];
    let word = command.split_whitespace().next()?;
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-+/,@%:".contains(c));
    (plain && !KEYWORDS.contains(&word)).then_some(word)
}

/// `sh -n -c COMMAND`: parse without running anything; then, when the
/// command starts with a plain program name, that `sh` finds it
/// (`command -v`, which knows builtins, functions and `PATH` as `sh` does).
pub(super) fn check(command: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    parse_check(command, opts)?;
    let Some(program) = first_program(command) else {
        return Ok(());
    };
    let found = shell("command -v -- \"$1\" >/dev/null", opts, &[], false)
        .arg("sh")
        .arg(program)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(spawn_err)?;
    if found.success() {
        Ok(())
    } else {
        Err(StoreError::ExecNotFound {
            program: program.to_string(),
        })
    }
}

fn parse_check(command: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    let mut child = shell(command, opts, &[], true)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let stderr = capture(child.stderr.take());
    let status = wait(&mut child, CHECK_TIMEOUT, false)?;
    let stderr = util::clean_output(&collect(stderr), "");
    match status {
        Some(s) if s.success() => Ok(()),
        Some(_) => Err(StoreError::ExecSyntax { stderr }),
        None => Err(StoreError::ExecTimeout {
            after: CHECK_TIMEOUT,
            stderr,
        }),
    }
}

/// `sh [-n] -c COMMAND`, with `inject` set before the removals (tests use it
/// to stand in for a parent environment).
fn shell(command: &str, opts: &StoreOptions, inject: &[(&str, &str)], noexec: bool) -> Command {
    let mut cmd = Command::new("sh");
    if noexec {
        cmd.arg("-n");
    }
    cmd.arg("-c").arg(command);
    for (k, v) in inject {
        cmd.env(k, v);
    }
    let token_vars: Vec<String> = crate::env::Env::process_names()
        .into_iter()
        .chain(inject.iter().map(|(k, _)| k.to_string()))
        .filter(|n| is_token_var(n))
        .collect();
    for name in ALWAYS_REMOVE
        .iter()
        .copied()
        .chain(crate::env::VARS.iter().copied())
        .chain(opts.exec_env_remove.iter().map(String::as_str))
        .chain(token_vars.iter().map(String::as_str))
    {
        cmd.env_remove(name);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd
}

fn spawn_err(e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: "run",
        path: "sh".into(),
        source: e,
    }
}

pub(super) fn run(
    command: &str,
    token: &str,
    opts: &StoreOptions,
    inject: &[(&str, &str)],
    out: Box<dyn Write + Send>,
) -> Result<StoreOutcome, StoreError> {
    become_subreaper();
    let mark = uuid::Uuid::new_v4().simple().to_string();
    let mut child = shell(command, opts, inject, false)
        .env(MARK, &mark)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let stdout_done = forward(child.stdout.take(), out, token.to_string());
    let stderr = capture(child.stderr.take());
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is its own business: a
        // broken pipe here is not an error, its exit status tells.
        let mut line = Vec::with_capacity(token.len() + 1);
        line.extend_from_slice(token.as_bytes());
        line.push(b'\n');
        let _ = stdin.write_all(&line).and_then(|_| stdin.flush());
        // Dropping closes it: EOF for the child.
    }
    let status = wait(&mut child, opts.exec_timeout, opts.exec_stop_on_signal)
        .inspect_err(|_| kill_adopted(&mark))?;
    if !status.is_some_and(|s| s.success()) {
        // Failed or killed: whatever it left running in the background has
        // the token and must not store it after we roll back.
        kill_group(&child);
        kill_adopted(&mark);
    }
    let _ = stdout_done.recv_timeout(DRAIN_WAIT);
    let stderr_bytes = collect(stderr);
    let stderr = util::clean_output(&stderr_bytes, token);
    match status {
        None => Err(StoreError::ExecTimeout {
            after: opts.exec_timeout,
            stderr,
        }),
        Some(s) if s.code() == Some(127) => Err(StoreError::ExecFailed {
            status: "exit status 127: command not found".into(),
            stderr,
        }),
        Some(s) if s.success() => {
            if !stderr.is_empty() {
                tracing::info!("exec store command said on stderr: {stderr}");
            }
            Ok(StoreOutcome::new(
                "the command took the token on stdin and exited 0",
            ))
        }
        Some(s) => Err(StoreError::ExecFailed {
            status: describe_status(s),
            stderr,
        }),
    }
}

fn describe_status(s: ExitStatus) -> String {
    if let Some(code) = s.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("killed by signal {sig}");
        }
    }
    s.to_string()
}

/// Wait for the child until `timeout`; on timeout stop it (SIGTERM, then
/// SIGKILL a second later) and return None.
fn wait(
    child: &mut Child,
    timeout: Duration,
    stop_on_signal: bool,
) -> Result<Option<ExitStatus>, StoreError> {
    let deadline = Instant::now() + timeout;
    let waited = |e| StoreError::Io {
        what: "wait for",
        path: "sh".into(),
        source: e,
    };
    loop {
        if let Some(s) = child.try_wait().map_err(waited)? {
            return Ok(Some(s));
        }
        // Ctrl-C at the terminal no longer reaches the command (its own
        // process group), so a signal to us stops it here, at once; the
        // pipeline then treats the store as failed and rolls back (issue 19
        // item 7).
        if stop_on_signal && crate::interrupt::delivered().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            kill_group(child);
            return Err(StoreError::ExecFailed {
                status: "stopped: a signal arrived, and the command's process group was killed"
                    .into(),
                stderr: String::new(),
            });
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: plain syscall; `pid` leads the process group it was put
        // in at spawn (`process_group(0)`), and is not reaped yet.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let grace = Instant::now() + Duration::from_secs(1);
        while Instant::now() < grace {
            if child.try_wait().map_err(waited)?.is_some() {
                kill_group(child);
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    kill_group(child);
    Ok(None)
}

/// Linux: make us the reaper of our orphaned descendants
/// (PR_SET_CHILD_SUBREAPER), so that a command's child that left its process
/// group (`setsid`) is re-parented to us rather than to init when its parent
/// dies, and [`kill_adopted`] can find it. What still escapes: a descendant
/// whose parent is alive when we look (it is not ours yet), and one that
/// double-forks after we looked; only a cgroup would hold those.
fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain prctl on our own process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// The variable that marks a command's descendants (a random id per run, not
/// a secret): [`kill_adopted`] kills only processes that carry it. (Not an
/// `INFLUX_BOOTSTRAP_*` name: none of those reach a child.)
const MARK: &str = "IB_EXEC_STORE_RUN";

/// Linux: SIGKILL and reap every process re-parented to us (see
/// [`become_subreaper`]) that carries this run's `mark` in its environment:
/// what the exec command left behind after it failed or was stopped.
fn kill_adopted(mark: &str) {
    #[cfg(not(target_os = "linux"))]
    let _ = mark;
    #[cfg(target_os = "linux")]
    for _ in 0..3 {
        let me = std::process::id();
        let mut found = false;
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces and parens.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            let needle = format!("{MARK}={mark}\0");
            let marked = std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()));
            if ppid == Some(me) && marked {
                found = true;
                // SAFETY: a signal to, then a wait for, a child of ours.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
        if !found {
            break;
        }
    }
}

/// SIGKILL what is left of the child's process group, then wait (bounded)
/// until the group is gone. Grandchildren are not our children, so we cannot
/// `waitpid` them: we poll `kill(-pgid, 0)` until it says no such process.
fn kill_group(child: &Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signals to the process group we created for the child.
        if unsafe { libc::kill(-pid, libc::SIGKILL) } != 0 {
            return;
        }
        let deadline = Instant::now() + DRAIN_WAIT;
        // SAFETY: signal 0 only checks that the group still exists.
        while unsafe { libc::kill(-pid, 0) } == 0 && Instant::now() < deadline {
            if group_only_zombies(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    #[cfg(not(unix))]
    let _ = child;
}

/// Linux: are all members of process group `pgid` zombies (dead, waiting for
/// whoever adopted them to reap them)? Elsewhere: unknown, so false.
#[cfg(unix)]
fn group_only_zombies(pgid: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return false;
        };
        for e in rd.flatten() {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) && f.first() != Some(&"Z")
            {
                return false;
            }
        }
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pgid;
        false
    }
}

/// Copy the child's stdout to `out` line by line, masking the token. The
/// receiver gets a message when the pipe is closed.
fn forward(
    pipe: Option<std::process::ChildStdout>,
    mut out: Box<dyn Write + Send>,
    token: String,
) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let Some(pipe) = pipe else {
        let _ = tx.send(());
        return rx;
    };
    std::thread::spawn(move || {
        let mut r = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let masked = mask(&line, token.as_bytes());
                    let _ = out.write_all(&masked);
                    let _ = out.flush();
                }
            }
        }
        let _ = tx.send(());
    });
    rx
}

/// `data` with every occurrence of `token` replaced by `[redacted]`.
pub(super) fn mask(data: &[u8], token: &[u8]) -> Vec<u8> {
    if token.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(token) {
            out.extend_from_slice(b"[redacted]");
            i += token.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// What a capture thread has read so far, and a signal for when it is done.
struct Captured {
    kept: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

/// Read a pipe to its end on a thread, keeping the first [`STDERR_CAP`] bytes.
fn capture(pipe: Option<impl Read + Send + 'static>) -> Captured {
    let (tx, done) = mpsc::channel();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let Some(mut pipe) = pipe else {
        let _ = tx.send(());
        return Captured { kept, done };
    };
    let sink = kept.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut k = sink.lock().unwrap_or_else(|p| p.into_inner());
                    let room = STDERR_CAP.saturating_sub(k.len());
                    k.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        let _ = tx.send(());
    });
    Captured { kept, done }
}

/// What was captured, waiting a little for the rest (a background
/// grandchild may keep the pipe open for ever).
fn collect(c: Captured) -> Vec<u8> {
    let _ = c.done.recv_timeout(DRAIN_WAIT);
    std::mem::take(&mut *c.kept.lock().unwrap_or_else(|p| p.into_inner()))
}
