//! The influxctl child process: which program may get the management token
//! ([`locate`]), how long it may run, that it dies with us and its process
//! group with the run, and sweeping what a killed run left (issue 19 items 2
//! and 5).
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why [`locate`] found no program to run.
#[derive(Debug, PartialEq)]
pub enum Located {
    /// Not there (or not executable, or not on `PATH`).
    Missing,
    /// There, but not to be trusted with the management token: why.
    Untrusted(String),
}

/// The influxctl program we may hand the management token to (issue 19
/// item 5): an absolute path, or a bare name looked up on `PATH` — never a
/// relative path with a slash, which would resolve against whatever the
/// current directory is; and the file (links resolved) must be owned by root
/// or us, writable by nobody else, in directories nobody else can change
/// from `/` down ([`crate::fsutil::check_ancestors`]). `doctor` says the same.
pub fn locate(program: &Path, env: &crate::env::Env) -> Result<PathBuf, Located> {
    if !program.is_absolute() && program.components().count() > 1 {
        return Err(Located::Untrusted(format!(
            "`{}` is a relative path, which would run whatever the current directory holds",
            program.display()
        )));
    }
    let found = env.find_program(program).ok_or(Located::Missing)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let real = std::fs::canonicalize(&found).map_err(|_| Located::Missing)?;
        let m = std::fs::metadata(&real).map_err(|_| Located::Missing)?;
        let me = crate::fsutil::euid();
        if m.uid() != me && m.uid() != 0 {
            return Err(Located::Untrusted(format!(
                "{} belongs to another user (uid {})",
                real.display(),
                m.uid()
            )));
        }
        if m.mode() & 0o022 != 0 {
            return Err(Located::Untrusted(format!(
                "{} is writable by others (mode {:04o})",
                real.display(),
                m.mode() & 0o7777
            )));
        }
        if let Err((d, why)) = crate::fsutil::check_ancestors(&real) {
            return Err(Located::Untrusted(format!("{}: {why}", d.display())));
        }
    }
    Ok(found)
}

/// How long one influxctl run with a token may take (a create, a list, a
/// revoke: one gRPC call each).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// With a person: influxctl's own device login is part of the run (RFC 8628
/// device codes commonly live 10 to 15 minutes).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// How long its pipes are still read once it exited.
const DRAIN: Duration = Duration::from_secs(2);
/// The name our temporary config directories start with; the pid of the run
/// follows, so a sweep can tell a dead run's directory from a live one.
pub(super) const TEMP_PREFIX: &str = "influx-bootstrap-influxctl-";

/// The process group of a run with no person: SIGKILLed when dropped, so
/// nothing influxctl started outlives the run in its group.
pub(super) struct Group(pub(super) Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: a signal to the process group we created at spawn.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Linux: influxctl gets SIGKILL when we die (PR_SET_PDEATHSIG), even by
/// `kill -9`; it must not keep running with a management token. (It is tied
/// to the spawning thread: ours is the current-thread runtime's, which lives
/// as long as the process.) Elsewhere nothing.
pub(super) fn die_with_us(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; nothing is allocated after fork.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Remove temporary config directories of ours that a run which died (a
/// `kill -9`, a power cut) left behind with a management token in them: the
/// name is ours, the directory (not a link) is owned by us, and its run is
/// over: its pid is gone (and it is a minute old), or it is older than the
/// longest run could be. Returns how many were removed.
pub fn sweep_stale_configs(dir: &Path) -> usize {
    let mut removed = 0;
    for l in crate::fsutil::leftovers(dir, |n| n.strip_prefix(TEMP_PREFIX), true) {
        let over = l.age > LOGIN_TIMEOUT + Duration::from_secs(60)
            || l.pid.is_some_and(|p| {
                p != std::process::id()
                    && l.age >= Duration::from_secs(60)
                    && !crate::fsutil::process_alive(p)
            });
        if over && std::fs::remove_dir_all(&l.path).is_ok() {
            tracing::info!("removed a stale influxctl config {}", l.path.display());
            removed += 1;
        }
    }
    removed
}

/// Wait for `child` while `reading` (its pipes) runs, up to `limit`; `None`
/// when it ran out (the caller kills it). Once it exited, its pipes are read
/// for at most [`DRAIN`] more: a grandchild that inherited them must not
/// hold the run (issue 19 item 2).
pub(super) async fn bounded(
    child: &mut tokio::process::Child,
    reading: impl std::future::Future<Output = ()>,
    limit: Duration,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    tokio::pin!(reading);
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut read_all = false;
    let status = loop {
        tokio::select! {
            s = child.wait() => break Some(s),
            _ = &mut reading, if !read_all => read_all = true,
            _ = &mut deadline => break None,
        }
    };
    if !read_all {
        let _ = tokio::time::timeout(DRAIN, &mut reading).await;
    }
    status
}
