//! Child processes: a bounded wait for exit, and signals.
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Waits for `child` to exit, for at most `limit`. The wait happens in a
/// thread, so this returns as soon as the process is gone. On timeout the
/// process is killed (SIGKILL) and reaped, and `None` is returned.
pub fn wait_timeout(child: Child, limit: Duration) -> Option<ExitStatus> {
    let pid = child.id();
    let mut child = child;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(limit) {
        Ok(status) => Some(status.expect("wait for child")),
        Err(_) => {
            // Not reaped yet (the waiter is still blocked), so the pid still
            // names our child.
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
            let _ = rx.recv_timeout(Duration::from_secs(10));
            None
        }
    }
}

/// Like [`wait_timeout`], panicking (with `what`) on timeout.
#[track_caller]
pub fn wait_or_panic(child: Child, limit: Duration, what: &str) -> ExitStatus {
    let pid = child.id();
    wait_timeout(child, limit)
        .unwrap_or_else(|| panic!("{what} (pid {pid}) did not exit within {limit:?}; killed"))
}

/// Runs `cmd` to completion (stdin closed) and returns its stdout. Panics,
/// naming `what`, when it cannot start (with `hint`: how to get it) or fails
/// (with its stderr).
#[track_caller]
pub fn output_ok(mut cmd: Command, what: &str, hint: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}; {hint}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Sends `sig` (e.g. `"INT"`, `"TERM"`) to `pid` with `kill -s SIG PID`.
#[track_caller]
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("failed to run `kill -s {sig}`: {e}"));
    assert!(status.success(), "`kill -s {sig} {pid}` failed: {status}");
}

/// Like [`signal`], then waits until the process has taken the signal (on
/// Linux: it is no longer pending in /proc/PID/status, so the process's
/// handler has run; or the process is gone). `kill` only queues a signal;
/// what a test does next (open a gate, stop a server) must not overtake it.
#[track_caller]
pub fn signal_delivered(pid: u32, sig: &str) {
    signal(pid, sig);
    #[cfg(target_os = "linux")]
    {
        let bit = 1u64 << (signal_number(sig) - 1);
        wait_for_status(pid, &format!("SIG{sig} delivered"), |mask| {
            mask("SigPnd") & bit == 0 && mask("ShdPnd") & bit == 0
        });
    }
}

/// Waits until process `pid` has a handler for `sig` (on Linux, the SigCgt
/// mask of /proc/PID/status; elsewhere returns at once). For a server that
/// says it is ready before it installs its signal handlers.
#[track_caller]
pub fn wait_until_catching(pid: u32, sig: &str) {
    #[cfg(target_os = "linux")]
    {
        let bit = 1u64 << (signal_number(sig) - 1);
        wait_for_status(pid, &format!("a SIG{sig} handler"), |mask| {
            mask("SigCgt") & bit != 0
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (pid, sig);
}

#[cfg(target_os = "linux")]
fn signal_number(sig: &str) -> u32 {
    match sig {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        other => panic!("no number for signal {other}"),
    }
}

/// Reads /proc/PID/status until `done(mask)` holds (`mask(field)` is a
/// signal mask field as a number) or the process is gone. There is no event
/// to wait for, so this re-reads the state (yielding in between) up to a
/// deadline; it is normally true at the first or second read.
#[cfg(target_os = "linux")]
#[track_caller]
fn wait_for_status(pid: u32, what: &str, done: impl Fn(&dyn Fn(&str) -> u64) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return; // exited and reaped
        };
        if status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("zombie"))
        {
            return;
        }
        let mask = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .map(|hex| u64::from_str_radix(hex.trim(), 16).expect("hex signal mask"))
                .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        };
        if done(&mask) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid}: no {what} within 30 s\n{status}"
        );
        thread::yield_now();
    }
}

/// Whether process `pid` is running and not a zombie (a killed orphan may
/// wait for its reaper): its state in `/proc/PID/stat` (proc(5)).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
