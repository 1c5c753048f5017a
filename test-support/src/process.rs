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

/// Sends `sig` (e.g. `"INT"`, `"TERM"`) to `pid` with `kill -s SIG PID`.
#[track_caller]
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("failed to run `kill -s {sig}`: {e}"));
    assert!(status.success(), "`kill -s {sig} {pid}` failed: {status}");
}
