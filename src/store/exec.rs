//! `exec:COMMAND`: hand the token to another program on its stdin.
//!
//! The command runs as `sh -c COMMAND`. Its stdin gets the token and a
//! newline, then end-of-file; the token is never in its argv or environment.
//!
//! Environment: the child inherits ours (so `PATH`, `HOME`, `VAULT_ADDR`,
//! `KUBECONFIG`, cloud credentials… keep working) minus `INFLUX_MGMT_TOKEN`,
//! every name in [`crate::env::VARS`], and every name in
//! [`StoreOptions::exec_env_remove`] (the command fills it with the
//! `INFLUX_BOOTSTRAP_*` names actually present, which may include a
//! management token). We remove by name through `std::process::Command`, so
//! this module never reads the environment itself.
//!
//! Output: the child's stdout goes to our stderr (our stdout is for data),
//! line by line, with the token masked should the command echo it. Its stderr
//! is captured; on failure it is part of the error (token masked, control
//! characters removed, at most about 2 KB). A non-zero exit, death by signal
//! or running past [`StoreOptions::exec_timeout`] (SIGTERM, then SIGKILL a
//! second later) is a failure. The child stays in our process group, so it
//! can still prompt on the terminal and gets Ctrl-C with us.
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

/// `sh -n -c COMMAND`: parse without running anything.
pub(super) fn check(command: &str, opts: &StoreOptions) -> Result<(), StoreError> {
    let mut child = shell(command, opts, &[], true)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let stderr = capture(child.stderr.take());
    let status = wait(&mut child, CHECK_TIMEOUT)?;
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
    for name in ALWAYS_REMOVE
        .iter()
        .copied()
        .chain(crate::env::VARS.iter().copied())
        .chain(opts.exec_env_remove.iter().map(String::as_str))
    {
        cmd.env_remove(name);
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
    let mut child = shell(command, opts, inject, false)
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
    let status = wait(&mut child, opts.exec_timeout)?;
    let _ = stdout_done.recv_timeout(DRAIN_WAIT);
    let stderr_bytes = collect(stderr);
    let stderr = util::clean_output(&stderr_bytes, token);
    match status {
        None => Err(StoreError::ExecTimeout {
            after: opts.exec_timeout,
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
fn wait(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>, StoreError> {
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
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    #[cfg(unix)]
    {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: plain syscall on the pid of our own, not yet reaped child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let grace = Instant::now() + Duration::from_secs(1);
            while Instant::now() < grace {
                if child.try_wait().map_err(waited)?.is_some() {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(None)
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
